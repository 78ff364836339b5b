/*  test_dsn.c — the DSN parser: valid forms, every malformed input with its
    message, percent-decoding, redaction. Each table row is one named case. */
#include "mt_core.h"
#include "mt_dsn.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define S64 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$"
#define P100 "/aaaaaaaaa/aaaaaaaaa/aaaaaaaaa/aaaaaaaaa/aaaaaaaaa/aaaaaaaaa/aaaaaaaaa/aaaaaaaaa/aaaaaaaaa/aaaaaaaaa"

/* ---- valid forms ----------------------------------------------------------- */

typedef struct {
    const char *text;
    const char *user, *password, *host, *db, *socket;
    unsigned port, connect_timeout_s, read_timeout_s, write_timeout_s;  /* 0: default */
    const char *redacted;
} valid_case_t;

static const valid_case_t valid[] = {
    { "mysql://metactor:metactor@127.0.0.1:3407/metactor?socket=/work/var/mariadb/mysqld.sock",
      "metactor", "metactor", "127.0.0.1", "metactor", "/work/var/mariadb/mysqld.sock", 3407, 0, 0, 0,
      "mysql://metactor:***@127.0.0.1:3407/metactor?socket=/work/var/mariadb/mysqld.sock" },
    { "mysql://u:p@db.example.com/app", "u", "p", "db.example.com", "app", NULL, 0, 0, 0, 0,
      "mysql://u:***@db.example.com:3306/app" },
    { "mariadb://u:p@h/app", "u", "p", "h", "app", NULL, 0, 0, 0, 0, "mysql://u:***@h:3306/app" },
    { "mysql://localhost/app", "", "", "localhost", "app", NULL, 0, 0, 0, 0,
      "mysql://localhost:3306/app" },
    { "mysql://u@h/app", "u", "", "h", "app", NULL, 0, 0, 0, 0, "mysql://u@h:3306/app" },
    { "mysql://@h/app", "", "", "h", "app", NULL, 0, 0, 0, 0, "mysql://h:3306/app" },
    { "mysql://:@h/app", "", "", "h", "app", NULL, 0, 0, 0, 0, "mysql://h:3306/app" },
    { "mysql://:pw@h/app", "", "pw", "h", "app", NULL, 0, 0, 0, 0, "mysql://:***@h:3306/app" },
    { "mysql://h:1/app", "", "", "h", "app", NULL, 1, 0, 0, 0, "mysql://h:1/app" },
    { "mysql://h:65535/app", "", "", "h", "app", NULL, 65535, 0, 0, 0, "mysql://h:65535/app" },
    { "mysql://h:00080/app", "", "", "h", "app", NULL, 80, 0, 0, 0, "mysql://h:80/app" },
    { "mysql://my_host-1.local/app", "", "", "my_host-1.local", "app", NULL, 0, 0, 0, 0,
      "mysql://my_host-1.local:3306/app" },
    /* percent-decoding of user and password; ':' and '@' may stay raw in a password */
    { "mysql://us%40er:p%3A%2F%3f%40%25s@h/app", "us@er", "p:/?@%s", "h", "app", NULL, 0, 0, 0, 0,
      "mysql://us%40er:***@h:3306/app" },
    { "mysql://u:a:b@h/app", "u", "a:b", "h", "app", NULL, 0, 0, 0, 0, "mysql://u:***@h:3306/app" },
    { "mysql://u:a@b@h/app", "u", "a@b", "h", "app", NULL, 0, 0, 0, 0, "mysql://u:***@h:3306/app" },
    { "mysql://%C3%A9l%C3%A8ve:%2b@h/app", "\xc3\xa9l\xc3\xa8ve", "+", "h", "app", NULL, 0, 0, 0, 0,
      "mysql://%C3%A9l%C3%A8ve:***@h:3306/app" },
    { "mysql://u:p+q!~*@h/app", "u", "p+q!~*", "h", "app", NULL, 0, 0, 0, 0,
      "mysql://u:***@h:3306/app" },
    /* socket without host */
    { "mysql://u:p@/app?socket=/run/mysqld/mysqld.sock", "u", "p", NULL, "app",
      "/run/mysqld/mysqld.sock", 0, 0, 0, 0, "mysql://u:***@/app?socket=/run/mysqld/mysqld.sock" },
    { "mysql:///app?socket=/s", "", "", NULL, "app", "/s", 0, 0, 0, 0, "mysql:///app?socket=/s" },
    { "mysql://:3307/app?socket=/s", "", "", NULL, "app", "/s", 3307, 0, 0, 0,
      "mysql://:3307/app?socket=/s" },
    { "mysql://h/app?socket=/a%25b%26c%40d%3Fe%23f", "", "", "h", "app", "/a%b&c@d?e#f", 0, 0, 0, 0,
      "mysql://h:3306/app?socket=/a%25b%26c%40d%3Fe%23f" },
    { "mysql://h/app?socket=" P100, "", "", "h", "app", P100, 0, 0, 0, 0,
      "mysql://h:3306/app?socket=" P100 },
    /* IPv6 */
    { "mysql://[::1]:3307/app", "", "", "::1", "app", NULL, 3307, 0, 0, 0, "mysql://[::1]:3307/app" },
    { "mysql://u@[fe80::1:2]/app", "u", "", "fe80::1:2", "app", NULL, 0, 0, 0, 0,
      "mysql://u@[fe80::1:2]:3306/app" },
    { "mysql://[::ffff:10.0.0.1]/app", "", "", "::ffff:10.0.0.1", "app", NULL, 0, 0, 0, 0,
      "mysql://[::ffff:10.0.0.1]:3306/app" },
    /* database names */
    { "mysql://h/" S64, "", "", "h", S64, NULL, 0, 0, 0, 0, "mysql://h:3306/" S64 },
    { "mysql://h/a", "", "", "h", "a", NULL, 0, 0, 0, 0, "mysql://h:3306/a" },
    /* timeouts, in any order, with the socket */
    { "mysql://h/app?read_timeout=7&socket=/s&write_timeout=3600&connect_timeout=1",
      "", "", "h", "app", "/s", 0, 1, 7, 3600,
      "mysql://h:3306/app?socket=/s&connect_timeout=1&read_timeout=7&write_timeout=3600" },
    { "mysql://h/app?connect_timeout=2", "", "", "h", "app", NULL, 0, 2, 0, 0, "mysql://h:3306/app" },
};

static void assert_str(const char *what, const char *got, const char *want)
{
    if (!want)
        ck_assert_msg(got == NULL, "%s: got \"%s\", want NULL", what, got);
    else
        ck_assert_msg(got && strcmp(got, want) == 0, "%s: got \"%s\", want \"%s\"", what,
                      got ? got : "(null)", want);
}

static void assert_fields(const mt_dsn_t *d, const valid_case_t *c)
{
    assert_str("user", d->user, c->user);
    assert_str("password", d->password, c->password);
    assert_str("host", d->host, c->host);
    assert_str("db", d->db, c->db);
    assert_str("socket", d->socket, c->socket);
    ck_assert_uint_eq(d->port, c->port ? c->port : MT_DSN_DEFAULT_PORT);
    ck_assert_uint_eq(d->connect_timeout_s,
                      c->connect_timeout_s ? c->connect_timeout_s : MT_DSN_DEFAULT_CONNECT_TIMEOUT_S);
    ck_assert_uint_eq(d->read_timeout_s,
                      c->read_timeout_s ? c->read_timeout_s : MT_DSN_DEFAULT_READ_TIMEOUT_S);
    ck_assert_uint_eq(d->write_timeout_s,
                      c->write_timeout_s ? c->write_timeout_s : MT_DSN_DEFAULT_WRITE_TIMEOUT_S);
}

START_TEST(parses_valid)
{
    const valid_case_t *c = &valid[_i];
    mt_dsn_t *d = NULL;
    char err[256] = "untouched";
    int rc = mt_dsn_parse(c->text, &d, err, sizeof err);
    ck_assert_msg(rc == MT_OK, "%s: rc %d: %s", c->text, rc, err);
    ck_assert_str_eq(err, "");
    assert_fields(d, c);
    mt_dsn_destroy(&d);
    ck_assert_ptr_null(d);
}
END_TEST

START_TEST(redacts)
{
    const valid_case_t *c = &valid[_i];
    mt_dsn_t *d = NULL;
    ck_assert_int_eq(mt_dsn_parse(c->text, &d, NULL, 0), MT_OK);
    char *text = mt_dsn_format_redacted(d);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, c->redacted);

    /* The redacted form parses back to the same DSN, password aside. */
    mt_dsn_t *back = NULL;
    char err[256];
    ck_assert_msg(mt_dsn_parse(text, &back, err, sizeof err) == MT_OK, "%s: %s", text, err);
    valid_case_t again = *c;
    again.password = c->password[0] ? "***" : "";
    assert_fields(back, &again);
    mt_dsn_destroy(&back);
    free(text);
    mt_dsn_destroy(&d);
}
END_TEST

/* ---- malformed input --------------------------------------------------------- */

typedef struct {
    const char *text;
    const char *message;
} invalid_case_t;

static const invalid_case_t invalid[] = {
    { "", "dsn: empty" },
    { "postgres://u@h/app", "dsn: unsupported scheme \"postgres\" (expected mysql://)" },
    { "MYSQL://h/app", "dsn: unsupported scheme \"MYSQL\" (expected mysql://)" },
    { "h:3306/app", "dsn: must start with mysql://" },
    { "mysql:/h/app", "dsn: must start with mysql://" },
    { "mysql://h/app ", "dsn: invalid character (code 32) at offset 13" },
    { "mysql://h/app\n", "dsn: invalid character (code 10) at offset 13" },
    { "mysql://h\t/app", "dsn: invalid character (code 9) at offset 9" },
    /* port */
    { "mysql://h:70000/app", "dsn: port out of range (1-65535): 70000" },
    { "mysql://h:65536/app", "dsn: port out of range (1-65535): 65536" },
    { "mysql://h:0/app", "dsn: port out of range (1-65535): 0" },
    { "mysql://h:99999999999999999999999/app",
      "dsn: port out of range (1-65535): 99999999999999999999999" },
    { "mysql://h:/app", "dsn: empty port" },
    { "mysql://h:abc/app", "dsn: port is not a number: abc" },
    { "mysql://h:-1/app", "dsn: port is not a number: -1" },
    { "mysql://h:33o6/app", "dsn: port is not a number: 33o6" },
    /* host */
    { "mysql://u:p@/app", "dsn: host required (or ?socket=PATH)" },
    { "mysql:///app", "dsn: host required (or ?socket=PATH)" },
    { "mysql://:3306/app", "dsn: host required (or ?socket=PATH)" },
    { "mysql://h$t/app", "dsn: invalid character '$' in host: h$t" },
    { "mysql://h%41/app", "dsn: invalid character '%' in host: h%41" },
    { "mysql://::1/app", "dsn: IPv6 address must be in brackets: ::1" },
    { "mysql://h:1:2/app", "dsn: IPv6 address must be in brackets: h:1:2" },
    { "mysql://[::1/app", "dsn: missing ']' after IPv6 address" },
    { "mysql://[]/app", "dsn: invalid IPv6 address: []" },
    { "mysql://[h]/app", "dsn: invalid IPv6 address: [h]" },
    { "mysql://[1.2.3.4]/app", "dsn: invalid IPv6 address: [1.2.3.4]" },
    { "mysql://[::1]x/app", "dsn: unexpected text after ']': x" },
    { "mysql://[::1]:/app", "dsn: empty port" },
    { "mysql://[::1]:0/app", "dsn: port out of range (1-65535): 0" },
    /* database */
    { "mysql://h", "dsn: database name required (mysql://HOST/DB)" },
    { "mysql://h/", "dsn: database name required (mysql://HOST/DB)" },
    { "mysql://h?socket=/s", "dsn: database name required (mysql://HOST/DB)" },
    { "mysql://h/?socket=/s", "dsn: database name required (mysql://HOST/DB)" },
    { "mysql://h/my-db",
      "dsn: invalid character '-' in database name (letters, digits, _ and $): my-db" },
    { "mysql://h/app/x",
      "dsn: invalid character '/' in database name (letters, digits, _ and $): app/x" },
    { "mysql://h/app#x",
      "dsn: invalid character '#' in database name (letters, digits, _ and $): app#x" },
    { "mysql://h/" S64 "x", "dsn: database name longer than 64 characters" },
    /* parameters */
    { "mysql://h/app?", "dsn: empty parameter (stray '?' or '&')" },
    { "mysql://h/app?socket=/s&", "dsn: empty parameter (stray '?' or '&')" },
    { "mysql://h/app?&socket=/s", "dsn: empty parameter (stray '?' or '&')" },
    { "mysql://h/app?timeout=5", "dsn: unknown parameter: timeout" },
    { "mysql://h/app?Socket=/s", "dsn: unknown parameter: Socket" },
    { "mysql://h/app?socket", "dsn: parameter without value: socket" },
    { "mysql://h/app?socket=", "dsn: empty value for parameter: socket" },
    { "mysql://h/app?socket=/a&socket=/b", "dsn: duplicate parameter: socket" },
    { "mysql://h/app?read_timeout=1&read_timeout=1", "dsn: duplicate parameter: read_timeout" },
    { "mysql://h/app?socket=mysqld.sock", "dsn: socket path must be absolute: mysqld.sock" },
    { "mysql://h/app?socket=/" P100 "/aaaaaa", "dsn: socket path longer than 107 bytes" },
    { "mysql://h/app?socket=/a%00b", "dsn: NUL byte (%00) in socket" },
    { "mysql://h/app?socket=/a%2", "dsn: bad percent-escape in socket (expected %XX)" },
    { "mysql://h/app?connect_timeout=0", "dsn: connect_timeout out of range (1-3600): 0" },
    { "mysql://h/app?read_timeout=3601", "dsn: read_timeout out of range (1-3600): 3601" },
    { "mysql://h/app?write_timeout=1s", "dsn: write_timeout is not a number: 1s" },
    { "mysql://h/app?write_timeout=", "dsn: empty value for parameter: write_timeout" },
    /* user and password: the message never quotes them */
    { "mysql://u:SECRET%zz@h/app", "dsn: bad percent-escape in password (expected %XX)" },
    { "mysql://u:SECRET%4@h/app", "dsn: bad percent-escape in password (expected %XX)" },
    { "mysql://u:SECRET%@h/app", "dsn: bad percent-escape in password (expected %XX)" },
    { "mysql://u%g0:SECRET@h/app", "dsn: bad percent-escape in user (expected %XX)" },
    { "mysql://u:SECRET%00@h/app", "dsn: NUL byte (%00) in password" },
    { "mysql://u%00:SECRET@h/app", "dsn: NUL byte (%00) in user" },
    { "mysql://u:SEC/RET@h/app",
      "dsn: '@' after the host: percent-encode '/', '?' and '@' in the user and password "
      "(%2F %3F %40) and '@' in a socket path" },
    { "mysql://u:SEC?RET@h/app",
      "dsn: '@' after the host: percent-encode '/', '?' and '@' in the user and password "
      "(%2F %3F %40) and '@' in a socket path" },
    { "mysql://u:SECRET@h/app?socket=/a@b",
      "dsn: '@' after the host: percent-encode '/', '?' and '@' in the user and password "
      "(%2F %3F %40) and '@' in a socket path" },
    { "mysql://u:SECRET@h:SECRET/app", "dsn: port is not a number: SECRET" },  /* it is the port here */
};

START_TEST(rejects_invalid)
{
    const invalid_case_t *c = &invalid[_i];
    static mt_dsn_t sentinel;
    mt_dsn_t *d = &sentinel;   /* must come back NULL */
    char err[256] = "untouched";
    int rc = mt_dsn_parse(c->text, &d, err, sizeof err);
    ck_assert_msg(rc == MT_EINVAL, "%s: rc %d, want MT_EINVAL", c->text, rc);
    ck_assert_ptr_null(d);
    ck_assert_msg(strcmp(err, c->message) == 0, "%s:\n got \"%s\"\nwant \"%s\"", c->text, err,
                  c->message);
    if (strstr(c->text, ":SECRET") && !strstr(c->text, "h:SECRET"))
        ck_assert_msg(!strstr(err, "SEC"), "%s: message quotes the password: %s", c->text, err);
}
END_TEST

/* ---- edges of the API -------------------------------------------------------- */

START_TEST(api_edges)
{
    static mt_dsn_t sentinel;
    mt_dsn_t *d = &sentinel;
    char err[256];

    ck_assert_int_eq(mt_dsn_parse(NULL, &d, err, sizeof err), MT_EINVAL);
    ck_assert_ptr_null(d);
    ck_assert_str_eq(err, "dsn: empty");

    ck_assert_int_eq(mt_dsn_parse("mysql://h/app", NULL, err, sizeof err), MT_EINVAL);
    ck_assert_str_eq(err, "dsn: no place for the result (out is NULL)");

    /* err may be NULL or short: the message is cut, never overflows */
    ck_assert_int_eq(mt_dsn_parse("mysql://h:0/app", &d, NULL, 0), MT_EINVAL);
    char small[8];
    memset(small, 'x', sizeof small);
    ck_assert_int_eq(mt_dsn_parse("mysql://h:0/app", &d, small, sizeof small), MT_EINVAL);
    ck_assert_str_eq(small, "dsn: po");

    /* overlong input is refused before any parsing */
    size_t n = 5000;
    char *big = malloc(n + 1);
    ck_assert_ptr_nonnull(big);
    memcpy(big, "mysql://h/", 10);
    memset(big + 10, 'a', n - 10);
    big[n] = '\0';
    ck_assert_int_eq(mt_dsn_parse(big, &d, err, sizeof err), MT_EINVAL);
    ck_assert_str_eq(err, "dsn: longer than 4096 characters");
    free(big);

    /* a long bad port is quoted only in part */
    char longport[200] = "mysql://h:";
    memset(longport + 10, '9', 150);
    strcpy(longport + 160, "/app");
    ck_assert_int_eq(mt_dsn_parse(longport, &d, err, sizeof err), MT_EINVAL);
    ck_assert_uint_eq(strlen(err), strlen("dsn: port out of range (1-65535): ") + 64);

    mt_dsn_destroy(NULL);
    d = NULL;
    mt_dsn_destroy(&d);
    ck_assert_ptr_null(mt_dsn_format_redacted(NULL));
}
END_TEST

static Suite *dsn_suite(void)
{
    Suite *s = suite_create("dsn");
    TCase *tc = tcase_create("parse");
    tcase_add_loop_test(tc, parses_valid, 0, (int)N_ELEMS(valid));
    tcase_add_loop_test(tc, rejects_invalid, 0, (int)N_ELEMS(invalid));
    tcase_add_test(tc, api_edges);
    suite_add_tcase(s, tc);
    tc = tcase_create("redact");
    tcase_add_loop_test(tc, redacts, 0, (int)N_ELEMS(valid));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dsn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
