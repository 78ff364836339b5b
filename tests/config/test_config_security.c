/*  test_config_security.c — the security settings: the certificate and
    its trust store (every way a pair can be wrong, and no key text in any
    message or on stdout), the bind rule without a certificate, boolean
    settings, and the database password from a file, the environment or
    the config file (precedence, encoding into the DSN, warnings, and the
    password never in a message, a warning or the printout). */
#include "test_config_util.h"
#include "mt_check.h"
#include "mt_dsn.h"

#include <fcntl.h>

/* ---- certificate and trust store ------------------------------------------------- */

static void make_trust(void)
{
    ck_assert_int_eq(mkdir(in_dir("trust"), 0700), 0);
}

START_TEST(cert_and_trust)
{
    const char *cert = make_cert("replica");
    make_trust();
    mt_config_t c;
    char err[512];
    /* with a certificate, any address may be bound */
    ck_assert_msg(LOAD(&c, err, "--cert", cert, "--trust", in_dir("trust"), "--endpoint",
                       "tcp://*:7400", "--publish", "tcp://0.0.0.0:7401") == MT_OK, "%s", err);
    ck_assert_str_eq(c.cert, cert);
    ck_assert_str_eq(c.trust, in_dir("trust"));
    ck_assert(!c.insecure);
    ck_assert_int_eq(c.source[MT_CONFIG_S_CERT], MT_CONFIG_FLAG);
    ck_assert_ptr_null(c.warnings);                 /* the secret file is 600 */
    mt_config_free(&c);
    /* from the environment, and from the file */
    setenv("METACTOR_CERT", cert, 1);
    setenv("METACTOR_TRUST", in_dir("trust"), 1);
    ck_assert_msg(LOAD0(&c, err) == MT_OK, "%s", err);
    ck_assert_int_eq(c.source[MT_CONFIG_S_TRUST], MT_CONFIG_ENV);
    mt_config_free(&c);
    unsetenv("METACTOR_CERT");
    unsetenv("METACTOR_TRUST");
    char text[1200];
    snprintf(text, sizeof text, "security\n    cert = \"%s\"\n    trust = \"%s\"\n", cert,
             in_dir("trust"));
    write_file(path, text);
    ck_assert_msg(LOAD(&c, err, "--config", path) == MT_OK, "%s", err);
    ck_assert_str_eq(c.cert, cert);
    ck_assert_int_eq(c.source[MT_CONFIG_S_CERT], MT_CONFIG_FILE);
    /* printed, they load again */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mt_config_print(&c, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "    cert = \""));
    write_file(in_dir("printed.cfg"), buf);
    free(buf);
    mt_config_free(&c);
    ck_assert_msg(LOAD(&c, err, "--config", in_dir("printed.cfg")) == MT_OK, "%s", err);
    ck_assert_str_eq(c.cert, cert);
    mt_config_free(&c);
}
END_TEST

/*  stdout of one load, to show that czmq printed nothing of a key. */
static char *load_capturing_stdout(const char *const *args, int *rc, char err[512])
{
    fflush(stdout);
    int saved = dup(1);
    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    dup2(fileno(tmp), 1);
    mt_config_t c;
    *rc = load_v(&c, err, (const char **) args);
    mt_config_free(&c);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    long n = ftell(tmp);
    char *out = calloc(1, (size_t) (n > 0 ? n : 0) + 1);
    rewind(tmp);
    if (n > 0)
        ck_assert_uint_eq(fread(out, 1, (size_t) n, tmp), (size_t) n);
    fclose(tmp);
    return out;
}

START_TEST(cert_errors)
{
    const char *cert = make_cert("a"), *other = make_cert("b");
    make_trust();
    const char *trust = in_dir("trust");
    char secret[420], want[600];
    snprintf(secret, sizeof secret, "%s_secret", cert);

    EXPECT_ERR(ARGS("--cert", in_dir("nope"), "--trust", trust),
               "--cert: cannot read the public certificate", "nope': No such file");
    EXPECT_ERR(ARGS("--cert", dir, "--trust", trust), "is not a regular file");
    EXPECT_ERR(ARGS("--cert", cert), "--cert: a certificate needs a trust store", "--trust DIR");
    EXPECT_ERR(ARGS("--trust", trust), "--trust: a trust store is used only with",
               "--cert FILE");
    EXPECT_ERR(ARGS("--cert", cert, "--trust", in_dir("none")), "--trust: cannot use '",
               "No such file");
    EXPECT_ERR(ARGS("--cert", cert, "--trust", cert), "--trust: '", "is not a directory");
    char longp[300];
    memset(longp, 'x', 260);
    longp[0] = '/';
    longp[260] = '\0';
    EXPECT_ERR(ARGS("--cert", longp, "--trust", trust), "--cert: path longer than 248 bytes");

    /* the secret file missing */
    char saved[440];
    snprintf(saved, sizeof saved, "%s.saved", secret);
    ck_assert_int_eq(rename(secret, saved), 0);
    snprintf(want, sizeof want, "cannot read the secret certificate '%s'", secret);
    EXPECT_ERR(ARGS("--cert", cert, "--trust", trust), want);
    /* the public file where the secret one should be: no secret key */
    FILE *f = fopen(cert, "r"), *g = fopen(secret, "w");
    for (int ch; (ch = fgetc(f)) != EOF;)
        fputc(ch, g);
    fclose(f);
    fclose(g);
    EXPECT_ERR(ARGS("--cert", cert, "--trust", trust), "is not a czmq certificate",
               "(no curve/secret-key)");
    /* another certificate's secret file */
    char other_secret[420];
    snprintf(other_secret, sizeof other_secret, "%s_secret", other);
    ck_assert_int_eq(rename(other_secret, secret), 0);
    EXPECT_ERR(ARGS("--cert", cert, "--trust", trust), "are not one certificate");
    ck_assert_int_eq(rename(saved, secret), 0);

    /* a damaged secret file: zconfig would print the line with the key on
       stdout; it is refused before czmq reads it, and nothing is printed */
    zcert_t *z = zcert_load(cert);
    ck_assert_ptr_nonnull(z);
    char key[41], pub[41];
    snprintf(key, sizeof key, "%s", zcert_secret_txt(z));
    snprintf(pub, sizeof pub, "%s", zcert_public_txt(z));
    char damaged[400];
    snprintf(damaged, sizeof damaged, "curve\n    public-key = \"%s\"\n    secret-key \"%s\"\n",
             zcert_public_txt(z), key);
    zcert_destroy(&z);
    write_file(secret, damaged);
    int rc;
    char err[512];
    char *out = load_capturing_stdout(ARGS("--cert", cert, "--trust", trust), &rc, err);
    ck_assert_int_eq(rc, MT_EINVAL);
    ck_assert_msg(strstr(err, "is not a czmq certificate"), "%s", err);
    ck_assert_msg(!strstr(out, key) && !strstr(err, key), "the key was shown: %s / %s", out, err);
    ck_assert_str_eq(out, "");
    free(out);
    /* a secret key of zeros is none */
    snprintf(damaged, sizeof damaged, "curve\n    public-key = \"%s\"\n    secret-key = "
             "\"0000000000000000000000000000000000000000\"\n", pub);
    write_file(secret, damaged);
    EXPECT_ERR(ARGS("--cert", cert, "--trust", trust), "finds no secret key in");
    /* not ZPL at all (a PEM key, say) */
    write_file(secret, "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n");
    out = load_capturing_stdout(ARGS("--cert", cert, "--trust", trust), &rc, err);
    ck_assert_int_eq(rc, MT_EINVAL);
    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

START_TEST(cert_warning)
{
    const char *cert = make_cert("replica");
    make_trust();
    char secret[420];
    snprintf(secret, sizeof secret, "%s_secret", cert);
    chmod(secret, 0644);
    zcert_t *z = zcert_load(cert);
    char key[41];
    snprintf(key, sizeof key, "%s", zcert_secret_txt(z));
    zcert_destroy(&z);
    mt_config_t c;
    char err[512];
    ck_assert_msg(LOAD(&c, err, "--cert", cert, "--trust", in_dir("trust")) == MT_OK, "%s", err);
    ck_assert_ptr_nonnull(c.warnings);
    ck_assert_msg(strstr(c.warnings, "can be read by other users (mode 0644): chmod 600 it"),
                  "%s", c.warnings);
    ck_assert_ptr_null(strstr(c.warnings, key));
    mt_config_free(&c);
}
END_TEST

/* ---- the bind rule ---------------------------------------------------------------- */

START_TEST(bind_rule)
{
    const char *outs[] = { "--cert FILE", "--trust DIR", "--insecure" };
    EXPECT_ERR(ARGS("--endpoint", "tcp://10.0.0.1:7400"),
               "--endpoint: 'tcp://10.0.0.1:7400' is not loopback or ipc://", "requests are not"
               " authenticated", outs[0], outs[1], outs[2]);
    EXPECT_ERR(ARGS("--publish", "tcp://*:7401"), "--publish: 'tcp://*:7401' is not loopback",
               "change notices", outs[0], outs[2]);
    const char *refused[] = {
        "tcp://0.0.0.0:7400", "tcp://[::]:7400", "tcp://example.com:7400",
        "tcp://[::ffff:10.0.0.1]:7400", "tcp://128.0.0.1:7400", "tcp://127.0.0.999:7400",
        "tcp://eth0:7400", "tcp://localhost.example.com:7400",
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        EXPECT_ERR(ARGS("--endpoint", refused[i]), "is not loopback or ipc://");
    mt_config_t c;
    char err[512];
    const char *fine[] = {
        "tcp://127.0.0.1:7400", "tcp://127.255.3.4:7400", "tcp://localhost:7400",
        "tcp://LocalHost:7400", "tcp://[::1]:7400", "tcp://[::ffff:127.0.0.1]:7400",
        "ipc:///tmp/metactor-test.sock",
    };
    for (size_t i = 0; i < sizeof fine / sizeof *fine; i++) {
        ck_assert_msg(LOAD(&c, err, "--endpoint", fine[i], "--publish", "ipc://@x") == MT_OK,
                      "%s: %s", fine[i], err);
        mt_config_free(&c);
    }
    /* where the endpoint came from is named */
    setenv("METACTOR_PUBLISH", "tcp://192.168.1.1:7401", 1);
    EXPECT_ERR(ARGS("--workers", "1"), "METACTOR_PUBLISH: 'tcp://192.168.1.1:7401'");
    /* the ways out: --insecure (any source), a certificate */
    ck_assert_msg(LOAD(&c, err, "--insecure") == MT_OK, "%s", err);
    ck_assert(c.insecure);
    ck_assert_int_eq(c.source[MT_CONFIG_S_INSECURE], MT_CONFIG_FLAG);
    mt_config_free(&c);
    EXPECT_ERR(ARGS("--insecure=false"), "METACTOR_PUBLISH: 'tcp://192.168.1.1:7401'");
    setenv("METACTOR_INSECURE", "1", 1);
    ck_assert_msg(LOAD0(&c, err) == MT_OK, "%s", err);
    mt_config_free(&c);
    unsetenv("METACTOR_INSECURE");
    write_file(path, "security\n    insecure = true\n");
    ck_assert_msg(LOAD(&c, err, "--config", path) == MT_OK, "%s", err);
    mt_config_free(&c);
    const char *cert = make_cert("replica");
    make_trust();
    ck_assert_msg(LOAD(&c, err, "--cert", cert, "--trust", in_dir("trust")) == MT_OK, "%s", err);
    mt_config_free(&c);
}
END_TEST

START_TEST(bools)
{
    mt_config_t c;
    char err[512];
    /* a flag alone is true and never takes the next word */
    ck_assert_msg(LOAD(&c, err, "--rc-allow-ipc", "--workers", "2") == MT_OK, "%s", err);
    ck_assert(c.rc_allow_ipc);
    ck_assert_int_eq(c.workers, 2);
    mt_config_free(&c);
    ck_assert_msg(LOAD(&c, err, "--rc-allow-ipc=0") == MT_OK, "%s", err);
    ck_assert(!c.rc_allow_ipc);
    ck_assert_int_eq(c.source[MT_CONFIG_S_RC_ALLOW_IPC], MT_CONFIG_FLAG);
    mt_config_free(&c);
    EXPECT_ERR(ARGS("--rc-allow-ipc", "true"), "unexpected argument 'true'");
    EXPECT_ERR(ARGS("--insecure=maybe"), "--insecure: 'maybe' is not true or false (or 1 or 0)");
    EXPECT_ERR(ARGS("--insecure="), "--insecure: empty value");
    setenv("METACTOR_RC_ALLOW_IPC", "yes", 1);
    EXPECT_ERR(ARGS("--workers", "1"), "METACTOR_RC_ALLOW_IPC: 'yes' is not true or false");
    unsetenv("METACTOR_RC_ALLOW_IPC");
    write_file(path, "rc\n    allow_ipc = \"TRUE\"\n");
    EXPECT_ERR(ARGS("--config", path), "line 2: rc/allow_ipc: 'TRUE' is not true or false");
    write_file(path, "rc\n    allow_ipc = true\n");
    ck_assert_msg(LOAD(&c, err, "--config", path) == MT_OK, "%s", err);
    ck_assert(c.rc_allow_ipc);
    mt_config_free(&c);
}
END_TEST

/* ---- the database password ------------------------------------------------------------ */

/*  The password of c.dsn. */
static void assert_password(const mt_config_t *c, const char *want)
{
    mt_dsn_t *d = NULL;
    ck_assert_int_eq(mt_dsn_parse(c->dsn, &d, NULL, 0), MT_OK);
    ck_assert_str_eq(d->password, want);
    mt_dsn_destroy(&d);
}

static void write_mode(const char *p, const char *text, mode_t mode)
{
    write_file(p, text);
    ck_assert_int_eq(chmod(p, mode), 0);
}

START_TEST(password_sources)
{
    mt_config_t c;
    char err[512];
    /* the environment over the DSN's own; the DSN keeps everything else */
    setenv("METACTOR_DB_PASSWORD", "env-pw", 1);
    ck_assert_msg(LOAD(&c, err, "--db", "mysql://u@h:3307/db?socket=/s&read_timeout=9") == MT_OK,
                  "%s", err);
    ck_assert_str_eq(c.dsn, "mysql://u:env-pw@h:3307/db?socket=/s&read_timeout=9");
    ck_assert_int_eq(c.source[MT_CONFIG_S_DB_PASSWORD], MT_CONFIG_ENV);
    ck_assert_ptr_null(c.warnings);
    mt_config_free(&c);
    ck_assert_msg(LOAD0(&c, err) == MT_OK, "%s", err);        /* the default DSN's too */
    ck_assert_str_eq(c.dsn, "mysql://metactor:env-pw@127.0.0.1:3407/metactor");
    mt_config_free(&c);
    /* the config file's, below the environment's */
    write_mode(path, "store\n    dsn = \"mysql://u@h/db\"\n    password = \"file-pw\"\n", 0600);
    ck_assert_msg(LOAD(&c, err, "--config", path) == MT_OK, "%s", err);
    assert_password(&c, "env-pw");
    mt_config_free(&c);
    unsetenv("METACTOR_DB_PASSWORD");
    ck_assert_msg(LOAD(&c, err, "--config", path) == MT_OK, "%s", err);
    assert_password(&c, "file-pw");
    ck_assert_int_eq(c.source[MT_CONFIG_S_DB_PASSWORD], MT_CONFIG_FILE);
    ck_assert_ptr_null(c.warnings);                      /* the file is 600 */
    mt_config_free(&c);
    /* a password file over both; its line end dropped; any bytes encoded */
    const char *pw = "p@ss:w/rd?&%# \"'\xc3\xa9";
    char text[200];
    snprintf(text, sizeof text, "%s\r\n", pw);
    write_mode(in_dir("pw"), text, 0600);
    setenv("METACTOR_DB_PASSWORD", "env-pw", 1);
    ck_assert_msg(LOAD(&c, err, "--config", path, "--db-password-file", in_dir("pw")) == MT_OK,
                  "%s", err);
    assert_password(&c, pw);
    ck_assert_str_eq(c.db_password_file, in_dir("pw"));
    ck_assert_ptr_null(c.warnings);
    mt_config_free(&c);
    /* the password file named by the environment or the config file */
    setenv("METACTOR_DB_PASSWORD_FILE", in_dir("pw"), 1);
    ck_assert_msg(LOAD(&c, err, "--db", "mysql://u@h/db") == MT_OK, "%s", err);
    assert_password(&c, pw);
    mt_config_free(&c);
    unsetenv("METACTOR_DB_PASSWORD_FILE");
    snprintf(text, sizeof text, "store\n    password_file = \"%s\"\n", in_dir("pw"));
    write_mode(path, text, 0644);
    ck_assert_msg(LOAD(&c, err, "--config", path) == MT_OK, "%s", err);
    assert_password(&c, pw);
    ck_assert_int_eq(c.source[MT_CONFIG_S_DB_PASSWORD_FILE], MT_CONFIG_FILE);
    ck_assert_ptr_null(c.warnings);      /* the config file names a file: no secret in it */
    mt_config_free(&c);
}
END_TEST

START_TEST(password_warnings)
{
    mt_config_t c;
    char err[512];
    /* in --db: works, and says it shows in ps */
    ck_assert_msg(LOAD(&c, err, "--db", "mysql://u:hunter2@h/db") == MT_OK, "%s", err);
    assert_password(&c, "hunter2");
    ck_assert_ptr_nonnull(c.warnings);
    ck_assert_msg(strstr(c.warnings, "--db: the DSN holds a password, which every user of this"
                         " machine can read on the command line (ps); use --db-password-file"),
                  "%s", c.warnings);
    ck_assert_ptr_null(strstr(c.warnings, "hunter2"));
    mt_config_free(&c);
    setenv("METACTOR_DB_PASSWORD", "env-pw", 1);
    ck_assert_msg(LOAD(&c, err, "--db", "mysql://u:hunter2@h/db") == MT_OK, "%s", err);
    assert_password(&c, "env-pw");
    ck_assert_ptr_nonnull(strstr(c.warnings, "is not used: another password setting wins"));
    mt_config_free(&c);
    unsetenv("METACTOR_DB_PASSWORD");
    /* in the environment: nothing to say */
    setenv("METACTOR_DB", "mysql://u:hunter2@h/db", 1);
    ck_assert_msg(LOAD0(&c, err) == MT_OK, "%s", err);
    ck_assert_ptr_null(c.warnings);
    mt_config_free(&c);
    unsetenv("METACTOR_DB");
    /* files other users can read */
    write_mode(in_dir("pw"), "hunter2\n", 0644);
    ck_assert_msg(LOAD(&c, err, "--db-password-file", in_dir("pw")) == MT_OK, "%s", err);
    ck_assert_msg(c.warnings && strstr(c.warnings, "--db-password-file: '")
                  && strstr(c.warnings, "can be read by every user (mode 0644): chmod 600 it"),
                  "%s", c.warnings);
    ck_assert_ptr_null(strstr(c.warnings, "hunter2"));
    mt_config_free(&c);
    write_mode(path, "store\n    password = hunter2\n", 0644);
    ck_assert_msg(LOAD(&c, err, "--config", path) == MT_OK, "%s", err);
    ck_assert_msg(c.warnings && strstr(c.warnings, "holds the database password and can be read"
                                       " by every user (mode 0644)"), "%s", c.warnings);
    mt_config_free(&c);
    write_mode(path, "store\n    dsn = \"mysql://u:hunter2@h/db\"\n", 0604);
    ck_assert_msg(LOAD(&c, err, "--config", path) == MT_OK, "%s", err);
    ck_assert_ptr_nonnull(c.warnings);
    ck_assert_ptr_null(strstr(c.warnings, "hunter2"));
    mt_config_free(&c);
}
END_TEST

START_TEST(password_errors)
{
    /* never a flag, and the value is not quoted back */
    EXPECT_ERR(ARGS("--db-password=hunter2"), "--db-password: not a flag",
               "--db-password-file FILE, METACTOR_DB_PASSWORD or store/password");
    mt_config_t c;
    char err[512];
    ck_assert_int_eq(LOAD(&c, err, "--db-password", "hunter2"), MT_EINVAL);
    ck_assert_ptr_null(strstr(err, "hunter2"));
    setenv("METACTOR_DB_PASSWORD", "", 1);                  /* empty: unset */
    ck_assert_msg(LOAD(&c, err, "--db", "mysql://u:dsn-pw@h/db") == MT_OK, "%s", err);
    assert_password(&c, "dsn-pw");
    mt_config_free(&c);
    unsetenv("METACTOR_DB_PASSWORD");
    write_file(path, "store\n    password = \"\"\n");
    EXPECT_ERR(ARGS("--config", path), "line 2: store/password: empty value");

    /* the file: every way it is not a password file, none quoting it */
    const char *pwf = in_dir("pw");
    EXPECT_ERR(ARGS("--db-password-file", in_dir("none")), "--db-password-file: cannot read '",
               "No such file");
    EXPECT_ERR(ARGS("--db-password-file", dir), "is not a regular file");
    write_mode(pwf, "", 0600);
    EXPECT_ERR(ARGS("--db-password-file", pwf), "' is empty");
    write_mode(pwf, "\n", 0600);
    EXPECT_ERR(ARGS("--db-password-file", pwf), "' is empty");
    write_mode(pwf, "hunter2\nsecond line\n", 0600);
    EXPECT_ERR(ARGS("--db-password-file", pwf), "holds more than one line");
    char big[1100];
    memset(big, 'h', 1025);
    big[1025] = '\0';
    write_mode(pwf, big, 0600);
    EXPECT_ERR(ARGS("--db-password-file", pwf), "is longer than 1024 bytes");
    big[1024] = '\n';                                       /* 1024 and a newline: fine */
    write_mode(pwf, big, 0600);
    ck_assert_msg(LOAD(&c, err, "--db-password-file", pwf) == MT_OK, "%s", err);
    mt_config_free(&c);
    int fd = open(pwf, O_WRONLY | O_TRUNC);
    ck_assert_int_eq(write(fd, "hun\0ter2", 8), 8);
    close(fd);
    EXPECT_ERR(ARGS("--db-password-file", pwf), "holds a NUL byte");
    /* a password that makes the DSN too long for the store */
    memset(big, '%', 1024);                                 /* 3 bytes each, encoded */
    big[1024] = '\0';
    write_mode(pwf, big, 0600);
    char dsn[2000] = "mysql://u@h/db?ssl_ca=/";
    memset(dsn + strlen(dsn), 'c', 1500);
    EXPECT_ERR(ARGS("--db", dsn, "--db-password-file", pwf),
               "--db-password-file: with this password, dsn: longer than 4096 characters");
}
END_TEST

/*  The printout: the password nowhere, and it loads again. */
START_TEST(password_print)
{
    write_mode(in_dir("pw"), "from-file\n", 0600);
    setenv("METACTOR_DB_PASSWORD", "from-env", 1);
    mt_config_t c, d;
    char err[512];
    ck_assert_msg(LOAD(&c, err, "--db", "mysql://u@h/db", "--db-password-file", in_dir("pw"))
                  == MT_OK, "%s", err);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mt_config_print(&c, f);
    fclose(f);
    ck_assert_ptr_null(strstr(buf, "from-file"));
    ck_assert_ptr_null(strstr(buf, "from-env"));
    ck_assert_msg(strstr(buf, "    # password = ***   (env, not shown)"), "%s", buf);
    ck_assert_msg(strstr(buf, "    dsn = \"mysql://u:***@h:3306/db\""), "%s", buf);
    ck_assert_msg(strstr(buf, "    # cert = (not set)"), "%s", buf);
    ck_assert_msg(strstr(buf, "    insecure = false"), "%s", buf);
    write_file(in_dir("printed.cfg"), buf);
    free(buf);
    unsetenv("METACTOR_DB_PASSWORD");
    ck_assert_msg(LOAD(&d, err, "--config", in_dir("printed.cfg")) == MT_OK, "%s", err);
    ck_assert_str_eq(d.dsn, c.dsn);                         /* through the password file */
    mt_config_free(&d);
    mt_config_free(&c);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("config_security");
    TCase *tc = tcase_create("security");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cert_and_trust);
    tcase_add_test(tc, cert_errors);
    tcase_add_test(tc, cert_warning);
    tcase_add_test(tc, bind_rule);
    tcase_add_test(tc, bools);
    tcase_add_test(tc, password_sources);
    tcase_add_test(tc, password_warnings);
    tcase_add_test(tc, password_errors);
    tcase_add_test(tc, password_print);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
