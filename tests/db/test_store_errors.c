/*  test_store_errors.c — what the store tells a client when the database
    fails: the class and the error number, never the server's own text,
    which names the user and the host and quotes SQL (conn.c). That text
    goes to the log instead, once per reason while the server cannot be
    used. The log is captured (log_capture.h). */
#include "store_testutil.h"
#include "mt_check.h"
#include "log_capture.h"
#include "store_internal.h"

#include <mysqld_error.h>
#include <unistd.h>

#define DB "metactor_t_store_errors"

/*  The test DSN with another password (caller frees). */
static char *dsn_with_password(const char *password)
{
    char *base = tu_dsn_for(NULL, DB);
    mt_dsn_t *d = NULL;
    ck_assert_int_eq(mt_dsn_parse(base, &d, NULL, 0), MT_OK);
    ck_assert_int_eq(mt_dsn_set_password(d, password), MT_OK);
    char *text = mt_dsn_format(d);
    ck_assert_ptr_nonnull(text);
    mt_dsn_destroy(&d);
    free(base);
    return text;
}

static void assert_no_detail(const char *message)
{
    const char *never[] = { "metactor", "localhost", "127.0.0.1", "Access denied", "SECRET",
                            "secret_", "SELECT", "@" };
    for (size_t i = 0; i < sizeof never / sizeof *never; i++)
        ck_assert_msg(!strstr(message, never[i]), "'%s' tells the client '%s'", message,
                      never[i]);
}

/*  A refused login: every answer says so in general terms; the log has the
    server's words (user and host) once, not the password. */
START_TEST(access_denied)
{
    char *dsn = dsn_with_password("wrong-SECRET");
    mt_runtime_t *rt = mt_runtime_new(NULL);
    mt_store_t *s = NULL;
    char err[256] = "";
    mt_store_opts_t o = { .dsn = dsn, .writers = 1, .reconnect_ms = 100 };
    ck_assert_msg(mt_store_new(rt, &o, &s, err, sizeof err) == MT_OK, "%s", err);
    char message[200] = "";
    int code = MT_OK;
    for (int i = 0; i < 200; i++) {         /* until the first attempt failed */
        mt_msg_t *r = tu_ask(rt, mt_store_writer(s, "n1"),
                             mt_store_msg_register("n1", tu_reg("h", NULL, NULL)));
        mt_store_done_t *d = mt_msg_data(r);
        code = d->err;
        snprintf(message, sizeof message, "%s", d->message);
        mt_msg_free(r);
        if (strstr(message, "refused"))
            break;
        usleep(50 * 1000);
    }
    ck_assert_int_ne(code, MT_OK);
    ck_assert_str_eq(message, "the database refused access (error 1045)");
    assert_no_detail(message);
    usleep(300 * 1000);          /* every connection has tried once */
    char *log = log_capture_text();
    unsigned first = log_capture_count_in(log, "Access denied");
    free(log);
    usleep(600 * 1000);          /* a few more attempts each */
    mt_store_destroy(&s);
    mt_runtime_destroy(&rt);

    log = log_capture_text();
    ck_assert_msg(strstr(log, "Access denied for user 'metactor'"), "log: %s", log);
    ck_assert_msg(!strstr(log, "SECRET"), "the log has the password: %s", log);
    /*  Once per connection (writer, reader, membership), not per attempt. */
    ck_assert_msg(first >= 1 && log_capture_count_in(log, "Access denied") == first
                  && first == log_capture_count_in(log, "cannot use the database"),
                  "logged at every attempt: %s", log);
    free(log);
    free(dsn);
}
END_TEST

/*  A statement the server rejects: the client learns the number only; the
    log has the server's text and the statement. */
START_TEST(sql_error)
{
    char *dsn = tu_dsn_for(NULL, DB);
    mt_dsn_t *d = NULL;
    ck_assert_int_eq(mt_dsn_parse(dsn, &d, NULL, 0), MT_OK);
    mt__store_conn_t c = { .dsn = d };
    ck_assert_msg(mt__store_conn_open(&c) == MT_OK, "%s", c.err);
    ck_assert_int_eq(mt__store_conn_sql(&c, "SELECT secret_column FROM secret_table"), MT_EINTERNAL);
    ck_assert_str_eq(c.err, "database error 1146");
    assert_no_detail(c.err);
    ck_assert(mt__store_conn_up(&c));              /* not a connection error */
    /* a duplicate key is the caller's to answer (a conflict): not logged */
    ck_assert_int_eq(mt__store_conn_sql(&c, "CREATE TEMPORARY TABLE t (k INT PRIMARY KEY)"), MT_OK);
    ck_assert_int_eq(mt__store_conn_sql(&c, "INSERT INTO t VALUES (1), (1)"), MT_EINTERNAL);
    ck_assert_uint_eq(c.err_no, ER_DUP_ENTRY);
    ck_assert_str_eq(c.err, "database error 1062");
    ck_assert_int_eq(mt__store_conn_sql(&c, "DROP DATABASE " DB), MT_OK);
    mt__store_conn_close(&c);

    char *log = log_capture_text();
    ck_assert_msg(strstr(log, "database error 1146 while SELECT secret_column FROM secret_table"),
                  "log: %s", log);
    ck_assert_msg(strstr(log, "secret_table' doesn't exist"), "log: %s", log);
    ck_assert_msg(!strstr(log, "Duplicate entry"), "log: %s", log);
    free(log);
    mt_dsn_destroy(&d);
    free(dsn);
}
END_TEST

/*  No server at the address: "unavailable", without the host; the log
    says it once however often the store retries, and again after the
    connection was back in between. */
START_TEST(unreachable)
{
    mt_dsn_t *d = NULL;
    /* port 1 on loopback: nothing listens (connect refused at once) */
    ck_assert_int_eq(mt_dsn_parse("mysql://metactor:SECRET@127.0.0.1:1/" DB, &d, NULL, 0), MT_OK);
    mt__store_conn_t c = { .dsn = d };
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(mt__store_conn_open(&c), MT_EUNAVAIL);
        /* 2002 or 2003, as the library sees it */
        ck_assert_msg(strncmp(c.err, "the database is unavailable (error 200", 38) == 0, "%s",
                      c.err);
        assert_no_detail(c.err);
    }
    char *log = log_capture_text();
    ck_assert_msg(log_capture_count_in(log, "Can't connect") == 1, "log: %s", log);
    ck_assert_msg(strstr(log, "127.0.0.1"), "the operator is told the address: %s", log);
    ck_assert_msg(!strstr(log, "SECRET"), "log: %s", log);
    free(log);
    mt_dsn_destroy(&d);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("store_errors");
    TCase *tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, log_capture_start, log_capture_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, access_denied);
    tcase_add_test(tc, sql_error);
    tcase_add_test(tc, unreachable);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
