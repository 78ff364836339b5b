/*  test_db_tls.c — TLS to the database through the DSN's ssl_* parameters
    (conn.c, Connector/C's own options), against a private MariaDB started
    with TLS and require_secure_transport=ON (scripts/mariadb, MT_DB_TLS_DIR)
    in its own directory and on its own port. The certificates are made
    here with openssl: a CA, a server certificate for localhost and
    127.0.0.1, a client certificate, and a second CA nobody uses.

    Verified TLS connects and the session is encrypted (Ssl_cipher); plain
    text is refused by the server; a server whose certificate another CA
    signed is refused by the client (ssl_verify=false or not: the chain is
    checked whenever ssl_ca is given); a certificate for another name is
    refused with ssl_verify (the default) and accepted without; ssl_verify=
    false alone encrypts without checking anything; a user that REQUIRE
    X509 gets in with ssl_cert + ssl_key only; TLS works over the unix
    socket too (the name checked: localhost); the store itself (every
    connection) works over TLS. */
#include "store_testutil.h"
#include "mt_check.h"
#include "store_internal.h"

#include <sys/stat.h>
#include <time.h>

#define DB "metactor_t_tls"

static char dir[512], certs[600], port[16];

static void run(const char *what, const char *cmd)
{
    ck_assert_msg(system(cmd) == 0, "%s failed: %s", what, cmd);
}

/*  The certificates, once per build directory (they last ten days). */
static void make_certs(void)
{
    char probe[700];
    snprintf(probe, sizeof probe, "%s/elsewhere/server-key.pem", certs);  /* made last */
    struct stat st;
    if (stat(probe, &st) == 0 && time(NULL) - st.st_mtime < 5 * 86400)
        return;
    char *cmd = NULL;
    ck_assert_int_ne(asprintf(&cmd,
        "( set -e; rm -rf '%1$s'; mkdir -p '%1$s'; cd '%1$s'\n"
        "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1\"; }\n"
        "ca() { key $1-key.pem; openssl req -x509 -new -key $1-key.pem -days 10 -subj /CN=$1"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign -out $1.pem; }\n"
        "leaf() { key $1-key.pem; openssl req -new -key $1-key.pem -subj /CN=$2 -out $1.csr;"
        " printf '%%s\\n' \"$3\" > $1.ext;"
        " openssl x509 -req -in $1.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 10"
        " -extfile $1.ext -out $1-cert.pem; }\n"
        "ca ca; ca other-ca\n"
        "leaf server localhost 'subjectAltName=DNS:localhost,IP:127.0.0.1'\n"
        "leaf client metactor-client 'extendedKeyUsage=clientAuth'\n"
        "leaf elsewhere elsewhere.example 'subjectAltName=DNS:elsewhere.example'\n"
        "mkdir elsewhere; cp ca.pem elsewhere/; cp elsewhere-cert.pem elsewhere/server-cert.pem\n"
        "cp elsewhere-key.pem elsewhere/server-key.pem\n"
        "chmod 600 *-key.pem ) >'%1$s.log' 2>&1", certs), -1);
    run("openssl", cmd);
    free(cmd);
}

/*  root's SQL on the server's socket, on the client's standard input
    (never a password on a command line). */
static void root_sql(const char *sql)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "'%s' sql '%s' >/dev/null", getenv("METACTOR_TEST_MARIADB"), dir);
    FILE *p = popen(cmd, "w");
    ck_assert_ptr_nonnull(p);
    fputs(sql, p);
    ck_assert_int_eq(pclose(p), 0);
}

/*  scripts/mariadb VERB with the server certificate in tls_dir. */
static void server_with(const char *verb, const char *tls_dir)
{
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "MT_DB_PORT=%s MT_DB_TLS_DIR='%s' '%s' %s '%s' >/dev/null 2>&1",
             port, tls_dir, getenv("METACTOR_TEST_MARIADB"), verb, dir);
    run(verb, cmd);
}

static void server(const char *verb)
{
    server_with(verb, certs);
}

static void setup(void)
{
    const char *d = getenv("METACTOR_TEST_TLS_DIR"), *p = getenv("METACTOR_TEST_TLS_PORT");
    ck_assert_msg(d && p && getenv("METACTOR_TEST_MARIADB"),
                  "run through ctest (METACTOR_TEST_MARIADB, _TLS_DIR, _TLS_PORT)");
    snprintf(dir, sizeof dir, "%s", d);
    snprintf(certs, sizeof certs, "%s-certs", d);
    snprintf(port, sizeof port, "%s", p);
    make_certs();
    server("stop");         /* a server left running may lack TLS */
    server("start");
    root_sql("CREATE USER IF NOT EXISTS 'x509'@'127.0.0.1' IDENTIFIED BY 'x509' REQUIRE X509;\n"
             "GRANT ALL PRIVILEGES ON `" DB "`.* TO 'x509'@'127.0.0.1';\n"
             "DROP DATABASE IF EXISTS `" DB "`;\n");
}

static void teardown(void)
{
    server("stop");
}

/*  A DSN over TCP (not the socket, which the server counts as secure). */
static char *dsn(const char *user, const char *params)
{
    char *s = NULL;
    ck_assert_int_ne(asprintf(&s, "mysql://%s:%s@127.0.0.1:%s/" DB "%s%s", user, user, port,
                              *params ? "?" : "", params), -1);
    return s;
}

/*  Opens c on the DSN; MT_OK or the error. */
static int open_conn(mt__store_conn_t *c, const char *text)
{
    mt_dsn_t *d = NULL;
    char err[256];
    ck_assert_msg(mt_dsn_parse(text, &d, err, sizeof err) == MT_OK, "%s", err);
    *c = (mt__store_conn_t) { .dsn = d };
    return mt__store_conn_open(c);
}

static void close_conn(mt__store_conn_t *c)
{
    mt__store_conn_close(c);
    mt_dsn_t *d = (mt_dsn_t *) c->dsn;
    mt_dsn_destroy(&d);
}

/*  The session's status variable (caller frees). */
static char *status(mt__store_conn_t *c, const char *name)
{
    char sql[100];
    snprintf(sql, sizeof sql, "SHOW SESSION STATUS LIKE '%s'", name);
    ck_assert_msg(mysql_query(c->m, sql) == 0, "%s", mysql_error(c->m));
    MYSQL_RES *res = mysql_store_result(c->m);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    char *v = strdup(row && row[1] ? row[1] : "");
    if (res)
        mysql_free_result(res);
    return v;
}

static char *ca(const char *file)
{
    char *s = NULL;
    ck_assert_int_ne(asprintf(&s, "%s/%s", certs, file), -1);
    return s;
}

START_TEST(verified)
{
    char *ca_pem = ca("ca.pem"), params[800];
    snprintf(params, sizeof params, "ssl_ca=%s&ssl_verify=true", ca_pem);
    char *text = dsn("metactor", params);
    mt__store_conn_t c;
    ck_assert_msg(open_conn(&c, text) == MT_OK, "%s", c.err);
    char *cipher = status(&c, "Ssl_cipher"), *version = status(&c, "Ssl_version");
    ck_assert_msg(cipher[0], "no cipher: the session is not encrypted");
    fprintf(stderr, "# TLS: %s, %s\n", version, cipher);
    free(cipher);
    free(version);
    close_conn(&c);

    /* the store, every one of its connections */
    mt_runtime_t *rt = mt_runtime_new(NULL);
    mt_store_t *s = tu_store(rt, text, 2);
    ck_assert_int_eq(tu_write(rt, s, "n1", mt_store_msg_register("n1", tu_reg("h", NULL, NULL)),
                              NULL, NULL), MT_OK);
    mt_store_destroy(&s);
    mt_runtime_destroy(&rt);
    free(text);
    free(ca_pem);
}
END_TEST

START_TEST(plain_refused)
{
    /*  MariaDB 10.11 answers a plain-text login on a server that requires
        secure transport with "access denied" (1045); the same user and
        password get in over TLS (verified). */
    char *text = dsn("metactor", "");
    mt__store_conn_t c;
    int rc = open_conn(&c, text);
    ck_assert_int_ne(rc, MT_OK);
    fprintf(stderr, "# without TLS: %s\n", c.err);
    ck_assert_ptr_null(strstr(c.err, "127.0.0.1"));
    close_conn(&c);
    free(text);
}
END_TEST

/*  TLS over the unix socket: the name checked is localhost. */
START_TEST(over_the_socket)
{
    char *ca_pem = ca("ca.pem"), *text = NULL;
    ck_assert_int_ne(asprintf(&text, "mysql://metactor:metactor@/" DB "?socket=%s/mysqld.sock"
                              "&ssl_ca=%s", dir, ca_pem), -1);
    mt__store_conn_t c;
    ck_assert_msg(open_conn(&c, text) == MT_OK, "%s", c.err);
    char *cipher = status(&c, "Ssl_cipher");
    ck_assert_msg(cipher[0], "not encrypted over the socket");
    free(cipher);
    close_conn(&c);
    free(text);
    free(ca_pem);
}
END_TEST

/*  Opens the DSN with params; the connection's cipher, "" if it failed. */
static char *try_params(const char *params, char *why, size_t whylen)
{
    char *text = dsn("metactor", params);
    mt__store_conn_t c;
    char *cipher = open_conn(&c, text) == MT_OK ? status(&c, "Ssl_cipher") : strdup("");
    snprintf(why, whylen, "%s", c.err);
    close_conn(&c);
    free(text);
    return cipher;
}

START_TEST(wrong_ca)
{
    char *other = ca("other-ca.pem"), params[800], why[256];
    const char *verify[] = { "", "&ssl_verify=true", "&ssl_verify=false" };
    for (int i = 0; i < 3; i++) {
        snprintf(params, sizeof params, "ssl_ca=%s%s", other, verify[i]);
        char *cipher = try_params(params, why, sizeof why);
        ck_assert_msg(!cipher[0], "%s: connected", params);
        ck_assert_str_eq(why, "the database is unavailable (error 2026)");
        free(cipher);
    }
    /* ssl_verify=false alone: encrypted, nothing checked */
    char *cipher = try_params("ssl_verify=false", why, sizeof why);
    ck_assert_msg(cipher[0], "ssl_verify=false: %s", why);
    free(cipher);
    /* ssl_verify=true alone: the system's CAs do not know ours */
    cipher = try_params("ssl_verify=true", why, sizeof why);
    ck_assert(!cipher[0]);
    free(cipher);
    free(other);
}
END_TEST

/*  The server restarted with a certificate of our CA for another name. */
START_TEST(wrong_name)
{
    char elsewhere[700], params[800], why[256];
    snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", certs);
    server("stop");
    server_with("start", elsewhere);
    char *ca_pem = ca("ca.pem");
    snprintf(params, sizeof params, "ssl_ca=%s", ca_pem);
    char *cipher = try_params(params, why, sizeof why);
    ck_assert_msg(!cipher[0], "a certificate for elsewhere.example passed for 127.0.0.1");
    ck_assert_str_eq(why, "the database is unavailable (error 2026)");
    free(cipher);
    snprintf(params, sizeof params, "ssl_ca=%s&ssl_verify=false", ca_pem);
    cipher = try_params(params, why, sizeof why);
    ck_assert_msg(cipher[0], "%s", why);
    free(cipher);
    free(ca_pem);
    server("stop");
    server("start");
}
END_TEST

START_TEST(client_certificate)
{
    char *ca_pem = ca("ca.pem"), *cert = ca("client-cert.pem"), *key = ca("client-key.pem");
    char params[2000];
    snprintf(params, sizeof params, "ssl_ca=%s", ca_pem);
    char *text = dsn("x509", params);
    mt__store_conn_t c;
    ck_assert_int_ne(open_conn(&c, text), MT_OK);
    ck_assert_str_eq(c.err, "the database refused access (error 1045)");
    close_conn(&c);
    free(text);
    snprintf(params, sizeof params, "ssl_ca=%s&ssl_cert=%s&ssl_key=%s", ca_pem, cert, key);
    text = dsn("x509", params);
    ck_assert_msg(open_conn(&c, text) == MT_OK, "%s", c.err);
    close_conn(&c);
    free(text);
    free(ca_pem);
    free(cert);
    free(key);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("db_tls");
    TCase *tc = tcase_create("tls");
    /*  One server for the case (unchecked: set up once, not per test). */
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, verified);
    tcase_add_test(tc, plain_refused);
    tcase_add_test(tc, over_the_socket);
    tcase_add_test(tc, wrong_ca);
    tcase_add_test(tc, wrong_name);
    tcase_add_test(tc, client_certificate);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
