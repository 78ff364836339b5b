/*  test_dsn.c — the DSN parser: valid forms, every malformed input with its
    message, percent-decoding, redaction, formatting with the password, the
    TLS parameters. Each table row is one named case. No message ever quotes
    a password, wherever a mistyped DSN puts it. */
#include "mt_core.h"
#include "mt_dsn.h"

#include "mt_check.h"
#include <check.h>
#include <stdbool.h>
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
    ck_assert(!d->tls && !d->ssl_verify);
    ck_assert(!d->ssl_ca && !d->ssl_cert && !d->ssl_key);
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

/*  mt_dsn_format keeps the password: the text parses back to the same DSN. */
START_TEST(formats_with_password)
{
    const valid_case_t *c = &valid[_i];
    mt_dsn_t *d = NULL, *back = NULL;
    ck_assert_int_eq(mt_dsn_parse(c->text, &d, NULL, 0), MT_OK);
    char *text = mt_dsn_format(d);
    ck_assert_ptr_nonnull(text);
    char err[256];
    ck_assert_msg(mt_dsn_parse(text, &back, err, sizeof err) == MT_OK, "%s: %s", text, err);
    assert_fields(back, c);
    free(text);
    mt_dsn_destroy(&back);
    mt_dsn_destroy(&d);
}
END_TEST

/*  A password set after parsing (from a file or the environment) goes into
    the formatted DSN percent-encoded, whatever it holds. */
START_TEST(set_password)
{
    mt_dsn_t *d = NULL, *back = NULL;
    ck_assert_int_eq(mt_dsn_parse("mysql://u:old@h/app?socket=/s", &d, NULL, 0), MT_OK);
    const char *pw = "p@ss:/?&%w rd\t\"'#\xc3\xa9";
    ck_assert_int_eq(mt_dsn_set_password(d, pw), MT_OK);
    ck_assert_str_eq(d->password, pw);
    char *text = mt_dsn_format(d);
    ck_assert_str_eq(text, "mysql://u:p%40ss%3A%2F%3F%26%25w%20rd%09%22%27%23%C3%A9@h:3306/app"
                     "?socket=/s");
    char err[256];
    ck_assert_msg(mt_dsn_parse(text, &back, err, sizeof err) == MT_OK, "%s", err);
    ck_assert_str_eq(back->password, pw);
    free(text);
    mt_dsn_destroy(&back);
    /* an empty password: no ':' at all */
    ck_assert_int_eq(mt_dsn_set_password(d, ""), MT_OK);
    text = mt_dsn_format(d);
    ck_assert_str_eq(text, "mysql://u@h:3306/app?socket=/s");
    free(text);
    ck_assert_int_eq(mt_dsn_set_password(d, NULL), MT_EINVAL);
    ck_assert_int_eq(mt_dsn_set_password(NULL, "x"), MT_EINVAL);
    mt_dsn_destroy(&d);
    ck_assert_ptr_null(mt_dsn_format(NULL));
}
END_TEST

/* ---- TLS parameters ------------------------------------------------------------ */

typedef struct {
    const char *text;
    const char *ca, *cert, *key;
    bool tls, verify;
    const char *redacted;
} tls_case_t;

static const tls_case_t tls_valid[] = {
    { "mysql://u:p@h/app?ssl_ca=/etc/ca.pem", "/etc/ca.pem", NULL, NULL, true, true,
      "mysql://u:***@h:3306/app?ssl_ca=/etc/ca.pem" },
    { "mysql://h/app?ssl_ca=/ca.pem&ssl_verify=false", "/ca.pem", NULL, NULL, true, false,
      "mysql://h:3306/app?ssl_ca=/ca.pem&ssl_verify=false" },
    { "mysql://h/app?ssl_ca=/ca.pem&ssl_verify=0", "/ca.pem", NULL, NULL, true, false,
      "mysql://h:3306/app?ssl_ca=/ca.pem&ssl_verify=false" },
    { "mysql://h/app?ssl_verify=true", NULL, NULL, NULL, true, true,
      "mysql://h:3306/app?ssl_verify=true" },
    { "mysql://h/app?ssl_verify=1&ssl_ca=/a", "/a", NULL, NULL, true, true,
      "mysql://h:3306/app?ssl_ca=/a" },
    /* ssl_verify alone asks for TLS: with the system's CAs, or unverified */
    { "mysql://h/app?ssl_verify=false", NULL, NULL, NULL, true, false,
      "mysql://h:3306/app?ssl_verify=false" },
    { "mysql://h/app?ssl_verify=0", NULL, NULL, NULL, true, false,
      "mysql://h:3306/app?ssl_verify=false" },
    /* a client certificate; relative paths are kept as given */
    { "mysql://h/app?ssl_cert=c.pem&ssl_key=k.pem", NULL, "c.pem", "k.pem", true, true,
      "mysql://h:3306/app?ssl_cert=c.pem&ssl_key=k.pem" },
    { "mysql://h/app?ssl_key=/k&ssl_verify=false&ssl_cert=/c&socket=/s&ssl_ca=/a%20b%26c",
      "/a b&c", "/c", "/k", true, false,
      "mysql://h:3306/app?socket=/s&ssl_ca=/a%20b%26c&ssl_cert=/c&ssl_key=/k&ssl_verify=false" },
};

START_TEST(tls_parses)
{
    const tls_case_t *c = &tls_valid[_i];
    mt_dsn_t *d = NULL, *back = NULL;
    char err[256];
    ck_assert_msg(mt_dsn_parse(c->text, &d, err, sizeof err) == MT_OK, "%s: %s", c->text, err);
    assert_str("ssl_ca", d->ssl_ca, c->ca);
    assert_str("ssl_cert", d->ssl_cert, c->cert);
    assert_str("ssl_key", d->ssl_key, c->key);
    ck_assert_msg(d->tls == c->tls && d->ssl_verify == c->verify, "%s: tls %d verify %d", c->text,
                  d->tls, d->ssl_verify);
    char *text = mt_dsn_format_redacted(d);
    ck_assert_str_eq(text, c->redacted);
    ck_assert_msg(mt_dsn_parse(text, &back, err, sizeof err) == MT_OK, "%s: %s", text, err);
    assert_str("ssl_ca", back->ssl_ca, c->ca);
    assert_str("ssl_cert", back->ssl_cert, c->cert);
    assert_str("ssl_key", back->ssl_key, c->key);
    ck_assert(back->tls == c->tls && back->ssl_verify == c->verify);
    free(text);
    mt_dsn_destroy(&back);
    mt_dsn_destroy(&d);
}
END_TEST

/* ---- malformed input --------------------------------------------------------- */

typedef struct {
    const char *text;
    const char *message;
} invalid_case_t;

#define FORM " (mysql://[USER[:PASSWORD]@]HOST[:PORT]/DB)"
#define HOSTCHAR "dsn: invalid character in host (letters, digits, '-', '.' and '_'; an IPv6 " \
    "address in brackets)"
#define COLONS "dsn: more than one ':' after the host (an IPv6 address goes in brackets: " \
    "[::1]:3306)"
#define BADV6 "dsn: invalid IPv6 address in brackets (hex digits, ':' and '.')"
#define DBCHAR "dsn: invalid character in database name (letters, digits, _ and $)"

static const invalid_case_t invalid[] = {
    { "", "dsn: empty" },
    { "postgres://u@h/app", "dsn: unsupported scheme \"postgres\" (expected mysql://)" },
    { "MYSQL://h/app", "dsn: unsupported scheme \"MYSQL\" (expected mysql://)" },
    { "h:3306/app", "dsn: must start with mysql://" },
    { "mysql:/h/app", "dsn: must start with mysql://" },
    { "mysql://h/app ", "dsn: invalid character (code 32) at offset 13" },
    { "mysql://h/app\n", "dsn: invalid character (code 10) at offset 13" },
    { "mysql://h\t/app", "dsn: space or control character in the user, password or host "
      "(percent-encode it in the user and password)" },
    { "mysql://h/app?socket=/a\tb", "dsn: invalid character (code 9) at offset 23" },
    /* port */
    { "mysql://h:70000/app", "dsn: port out of range (1-65535)" FORM },
    { "mysql://h:65536/app", "dsn: port out of range (1-65535)" FORM },
    { "mysql://h:0/app", "dsn: port out of range (1-65535)" FORM },
    { "mysql://h:99999999999999999999999/app", "dsn: port out of range (1-65535)" FORM },
    { "mysql://h:/app", "dsn: empty port" },
    { "mysql://h:abc/app", "dsn: port is not a number" FORM },
    { "mysql://h:-1/app", "dsn: port is not a number" FORM },
    { "mysql://h:33o6/app", "dsn: port is not a number" FORM },
    /* host */
    { "mysql://u:p@/app", "dsn: host required (or ?socket=PATH)" },
    { "mysql:///app", "dsn: host required (or ?socket=PATH)" },
    { "mysql://:3306/app", "dsn: host required (or ?socket=PATH)" },
    { "mysql://h$t/app", HOSTCHAR },
    { "mysql://h%41/app", HOSTCHAR },
    { "mysql://::1/app", COLONS },
    { "mysql://h:1:2/app", COLONS },
    { "mysql://[::1/app", "dsn: missing ']' after IPv6 address" },
    { "mysql://[]/app", BADV6 },
    { "mysql://[h]/app", BADV6 },
    { "mysql://[1.2.3.4]/app", BADV6 },
    { "mysql://[::1]x/app", "dsn: unexpected text after ']' (expected :PORT)" },
    { "mysql://[::1]:/app", "dsn: empty port" },
    { "mysql://[::1]:0/app", "dsn: port out of range (1-65535)" FORM },
    /* database */
    { "mysql://h", "dsn: database name required (mysql://HOST/DB)" },
    { "mysql://h/", "dsn: database name required (mysql://HOST/DB)" },
    { "mysql://h?socket=/s", "dsn: database name required (mysql://HOST/DB)" },
    { "mysql://h/?socket=/s", "dsn: database name required (mysql://HOST/DB)" },
    { "mysql://h/my-db", DBCHAR },
    { "mysql://h/app/x", DBCHAR },
    { "mysql://h/app#x", DBCHAR },
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
    { "mysql://h/app?ssl_verify=yes", "dsn: ssl_verify must be true or false (or 1 or 0): yes" },
    { "mysql://h/app?ssl_verify=", "dsn: empty value for parameter: ssl_verify" },
    { "mysql://h/app?ssl_cert=/c", "dsn: ssl_cert and ssl_key go together (a client "
      "certificate and its key)" },
    { "mysql://h/app?ssl_key=/k&ssl_ca=/a", "dsn: ssl_cert and ssl_key go together (a client "
      "certificate and its key)" },
    { "mysql://h/app?ssl_ca=", "dsn: empty value for parameter: ssl_ca" },
    { "mysql://h/app?ssl_ca=/a&ssl_ca=/b", "dsn: duplicate parameter: ssl_ca" },
    { "mysql://h/app?ssl_key=/a%00", "dsn: NUL byte (%00) in ssl_key" },
    { "mysql://h/app?ssl_capath=/a", "dsn: unknown parameter: ssl_capath" },
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
    /* a password where the host, port or database belongs: never quoted either */
    { "mysql://admin:SECRET/db", "dsn: port is not a number" FORM },
    { "mysql://admin:123456/db", "dsn: port out of range (1-65535)" FORM },
    { "mysql://admin:SECRET:x/db", COLONS },
    { "mysql://u:p@SECRET:x/db", "dsn: port is not a number" FORM },  /* password "p@SECRET:x" */
    { "mysql://u:p@SEC$RET/db", HOSTCHAR },
    { "mysql://u:SECRET@h:SECRET/app", "dsn: port is not a number" FORM },
    { "mysql://u:SECRET@[SECRET]/app", BADV6 },
    { "mysql://u:SECRET@[::1]SECRET/app", "dsn: unexpected text after ']' (expected :PORT)" },
    { "mysql://u:12/SEC-RET/db", DBCHAR },               /* password "12/SEC-RET/db" */
    { "mysql://u:12:SEC-RET/db", COLONS },
    { "mysql://u:1/SEC-RET", DBCHAR },                  /* password "1/SEC-RET", host forgotten */
    { "mysql://u:SEC RET@h/app", "dsn: space or control character in the user, password or "
      "host (percent-encode it in the user and password)" },
    { "mysql://u:SEC\x7fRET@h/app", "dsn: space or control character in the user, password or "
      "host (percent-encode it in the user and password)" },
    { "mysql://u:SECRET@a:1,,b:2/app", "dsn: empty host in a list of hosts (HOST:PORT,HOST:PORT)" },
    { "mysql://u:SECRET@a:1,/app", "dsn: empty host in a list of hosts (HOST:PORT,HOST:PORT)" },
    { "mysql://a:1,b:2/app?socket=/s", "dsn: socket= names one server: not with several hosts" },
    { "mysql://a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q/app", "dsn: more than 16 hosts" },
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
    /*  Whatever part of the DSN a secret ended up in, it is never quoted. */
    ck_assert_msg(!strstr(err, "SEC") && !strstr(err, "RET") && !strstr(err, "123456"),
                  "%s: message quotes the password: %s", c->text, err);
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

    /* a long bad parameter is quoted only in part */
    char longparam[200] = "mysql://h/app?read_timeout=";
    size_t at = strlen(longparam);
    memset(longparam + at, '9', 150);
    longparam[at + 150] = '\0';
    ck_assert_int_eq(mt_dsn_parse(longparam, &d, err, sizeof err), MT_EINVAL);
    ck_assert_uint_eq(strlen(err), strlen("dsn: read_timeout out of range (1-3600): ") + 64);

    mt_dsn_destroy(NULL);
    d = NULL;
    mt_dsn_destroy(&d);
    ck_assert_ptr_null(mt_dsn_format_redacted(NULL));
}
END_TEST

/* ---- several hosts (a Galera cluster) ------------------------------------------- */

START_TEST(parses_hosts)
{
    mt_dsn_t *d = NULL;
    char err[256] = "";
    const char *text = "mysql://u:pw@127.0.0.1:3660,db2,[::1]:3662/app";
    ck_assert_msg(mt_dsn_parse(text, &d, err, sizeof err) == MT_OK, "%s", err);
    ck_assert_uint_eq(d->nhosts, 3);
    ck_assert_str_eq(d->hosts[0].host, "127.0.0.1");
    ck_assert_uint_eq(d->hosts[0].port, 3660);
    ck_assert_str_eq(d->hosts[1].host, "db2");
    ck_assert_uint_eq(d->hosts[1].port, MT_DSN_DEFAULT_PORT);
    ck_assert_str_eq(d->hosts[2].host, "::1");
    ck_assert_uint_eq(d->hosts[2].port, 3662);
    ck_assert_str_eq(d->host, "127.0.0.1");        /* the first, for one-host callers */
    ck_assert_uint_eq(d->port, 3660);
    char *red = mt_dsn_format_redacted(d);
    ck_assert_str_eq(red, "mysql://u:***@127.0.0.1:3660,db2:3306,[::1]:3662/app");
    free(red);
    char *full = mt_dsn_format(d);
    mt_dsn_t *back = NULL;
    ck_assert_int_eq(mt_dsn_parse(full, &back, err, sizeof err), MT_OK);
    ck_assert_uint_eq(back->nhosts, 3);
    ck_assert_str_eq(back->hosts[2].host, "::1");
    ck_assert_str_eq(back->password, "pw");
    mt_dsn_destroy(&back);
    free(full);
    mt_dsn_destroy(&d);
}
END_TEST

static Suite *dsn_suite(void)
{
    Suite *s = suite_create("dsn");
    TCase *tc = tcase_create("parse");
    tcase_add_loop_test(tc, parses_valid, 0, (int)N_ELEMS(valid));
    tcase_add_loop_test(tc, rejects_invalid, 0, (int)N_ELEMS(invalid));
    tcase_add_test(tc, api_edges);
    tcase_add_test(tc, parses_hosts);
    tcase_add_loop_test(tc, tls_parses, 0, (int)N_ELEMS(tls_valid));
    suite_add_tcase(s, tc);
    tc = tcase_create("redact");
    tcase_add_loop_test(tc, redacts, 0, (int)N_ELEMS(valid));
    tcase_add_loop_test(tc, formats_with_password, 0, (int)N_ELEMS(valid));
    tcase_add_test(tc, set_password);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mt_check_run(dsn_suite());
}
