/*  test_db_smoke.c — the `mariadb` fixture works: the server started by
    scripts/mariadb answers at METACTOR_TEST_DSN, through its unix socket and
    over loopback TCP, as the metactor user, with prepared statements, utf8mb4
    and durable commits. */
#include "mt_core.h"
#include "mt_dsn.h"

#include "mt_check.h"
#include <check.h>
#include <mysql.h>
#include <stdlib.h>
#include <string.h>

static mt_dsn_t *dsn;

static void load_dsn(void)
{
    const char *text = getenv("METACTOR_TEST_DSN");
    ck_assert_msg(text && *text,
                  "METACTOR_TEST_DSN is not set: run through ctest (fixture mariadb)");
    char err[256];
    ck_assert_msg(mt_dsn_parse(text, &dsn, err, sizeof err) == MT_OK, "%s", err);
}

static void free_dsn(void)
{
    mt_dsn_destroy(&dsn);
}

/*  Connects as the DSN says, through the socket or over TCP. */
static MYSQL *connect_db(int use_socket)
{
    MYSQL *m = mysql_init(NULL);
    ck_assert_ptr_nonnull(m);
    unsigned protocol = use_socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    ck_assert_int_eq(mysql_options(m, MYSQL_OPT_PROTOCOL, &protocol), 0);
    ck_assert_int_eq(mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &dsn->connect_timeout_s), 0);
    ck_assert_int_eq(mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &dsn->read_timeout_s), 0);
    ck_assert_int_eq(mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &dsn->write_timeout_s), 0);
    ck_assert_int_eq(mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4"), 0);
    if (use_socket)
        ck_assert_ptr_nonnull(dsn->socket);
    const char *host = use_socket ? "localhost" : dsn->host;
    ck_assert_msg(mysql_real_connect(m, host, dsn->user, dsn->password, NULL,
                                     use_socket ? 0 : dsn->port,
                                     use_socket ? dsn->socket : NULL, 0),
                  "connect (%s): %s", use_socket ? "socket" : "tcp", mysql_error(m));
    return m;
}

static void exec_sql(MYSQL *m, const char *sql)
{
    ck_assert_msg(mysql_query(m, sql) == 0, "%s: %s", sql, mysql_error(m));
}

/*  The single value of a one-row, one-column query, as text (caller frees). */
static char *query_value(MYSQL *m, const char *sql)
{
    exec_sql(m, sql);
    MYSQL_RES *res = mysql_store_result(m);
    ck_assert_msg(res, "%s: %s", sql, mysql_error(m));
    MYSQL_ROW row = mysql_fetch_row(res);
    ck_assert_ptr_nonnull(row);
    char *v = strdup(row[0] ? row[0] : "NULL");
    mysql_free_result(res);
    return v;
}

static MYSQL_STMT *prepare(MYSQL *m, const char *sql)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    ck_assert_ptr_nonnull(st);
    ck_assert_msg(mysql_stmt_prepare(st, sql, strlen(sql)) == 0, "%s: %s", sql,
                  mysql_stmt_error(st));
    return st;
}

START_TEST(connects_as_metactor)
{
    MYSQL *m = connect_db(_i == 0);
    char *user = query_value(m, "SELECT CURRENT_USER()");
    ck_assert_str_eq(user, _i == 0 ? "metactor@localhost" : "metactor@127.0.0.1");
    free(user);
    char *db = query_value(m, "SELECT DATABASE() IS NULL");
    ck_assert_str_eq(db, "1");
    free(db);
    mysql_close(m);
}
END_TEST

/*  Nothing acknowledged may be lost (DESIGN.md): the fixture keeps InnoDB's
    flush at every commit. */
START_TEST(commits_are_durable)
{
    MYSQL *m = connect_db(1);
    char *v = query_value(m, "SELECT @@innodb_flush_log_at_trx_commit");
    ck_assert_str_eq(v, "1");
    free(v);
    v = query_value(m, "SELECT @@default_storage_engine");
    ck_assert_str_eq(v, "InnoDB");
    free(v);
    mysql_close(m);
}
END_TEST

START_TEST(prepared_round_trip)
{
    MYSQL *m = connect_db(1);
    exec_sql(m, "CREATE DATABASE IF NOT EXISTS metactor_smoke CHARACTER SET utf8mb4");
    ck_assert_msg(mysql_select_db(m, "metactor_smoke") == 0, "%s", mysql_error(m));
    exec_sql(m, "DROP TABLE IF EXISTS smoke");
    exec_sql(m, "CREATE TABLE smoke (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,"
                " name VARCHAR(64) NOT NULL, revision BIGINT UNSIGNED NOT NULL) ENGINE=InnoDB");

    /* insert one row through a prepared statement, in a transaction */
    const char *name = "n\xc5\x93ud-\xe2\x9c\x93";   /* "nœud-✓": utf8mb4 survives */
    unsigned long long revision = 18446744073709551615ull;
    unsigned long name_len = (unsigned long)strlen(name);
    ck_assert_int_eq(mysql_autocommit(m, 0), 0);
    MYSQL_STMT *ins = prepare(m, "INSERT INTO smoke (name, revision) VALUES (?, ?)");
    ck_assert_uint_eq(mysql_stmt_param_count(ins), 2);
    MYSQL_BIND in[2];
    memset(in, 0, sizeof in);
    in[0].buffer_type = MYSQL_TYPE_STRING;
    in[0].buffer = (void *)name;
    in[0].buffer_length = name_len;
    in[0].length = &name_len;
    in[1].buffer_type = MYSQL_TYPE_LONGLONG;
    in[1].buffer = &revision;
    in[1].is_unsigned = 1;
    ck_assert_msg(mysql_stmt_bind_param(ins, in) == 0, "%s", mysql_stmt_error(ins));
    ck_assert_msg(mysql_stmt_execute(ins) == 0, "%s", mysql_stmt_error(ins));
    ck_assert_uint_eq(mysql_stmt_affected_rows(ins), 1);
    unsigned long long id = mysql_stmt_insert_id(ins);
    ck_assert_uint_gt(id, 0);
    mysql_stmt_close(ins);
    ck_assert_msg(mysql_commit(m) == 0, "%s", mysql_error(m));

    /* read it back through another prepared statement */
    MYSQL_STMT *sel = prepare(m, "SELECT name, revision FROM smoke WHERE id = ?");
    MYSQL_BIND key;
    memset(&key, 0, sizeof key);
    key.buffer_type = MYSQL_TYPE_LONGLONG;
    key.buffer = &id;
    key.is_unsigned = 1;
    ck_assert_msg(mysql_stmt_bind_param(sel, &key) == 0, "%s", mysql_stmt_error(sel));
    ck_assert_msg(mysql_stmt_execute(sel) == 0, "%s", mysql_stmt_error(sel));

    char got_name[65] = "";
    unsigned long got_name_len = 0;
    unsigned long long got_revision = 0;
    my_bool is_null[2] = { 0, 0 };
    MYSQL_BIND out[2];
    memset(out, 0, sizeof out);
    out[0].buffer_type = MYSQL_TYPE_STRING;
    out[0].buffer = got_name;
    out[0].buffer_length = sizeof got_name - 1;
    out[0].length = &got_name_len;
    out[0].is_null = &is_null[0];
    out[1].buffer_type = MYSQL_TYPE_LONGLONG;
    out[1].buffer = &got_revision;
    out[1].is_unsigned = 1;
    out[1].is_null = &is_null[1];
    ck_assert_msg(mysql_stmt_bind_result(sel, out) == 0, "%s", mysql_stmt_error(sel));
    ck_assert_int_eq(mysql_stmt_fetch(sel), 0);
    ck_assert(!is_null[0] && !is_null[1]);
    ck_assert_uint_eq(got_name_len, name_len);
    got_name[got_name_len] = '\0';
    ck_assert_str_eq(got_name, name);
    ck_assert_uint_eq(got_revision, revision);
    ck_assert_int_eq(mysql_stmt_fetch(sel), MYSQL_NO_DATA);
    mysql_stmt_close(sel);

    exec_sql(m, "DROP TABLE smoke");
    mysql_close(m);
}
END_TEST

/*  The metactor user owns metactor% databases only. */
START_TEST(privileges_are_scoped)
{
    MYSQL *m = connect_db(1);
    ck_assert_int_ne(mysql_query(m, "CREATE DATABASE other_smoke"), 0);
    ck_assert_uint_eq(mysql_errno(m), 1044);   /* ER_DBACCESS_DENIED_ERROR */
    mysql_close(m);
}
END_TEST

static Suite *smoke_suite(void)
{
    Suite *s = suite_create("db_smoke");
    TCase *tc = tcase_create("mariadb");
    tcase_add_checked_fixture(tc, load_dsn, free_dsn);
    tcase_add_loop_test(tc, connects_as_metactor, 0, 2);   /* 0: socket, 1: TCP */
    tcase_add_test(tc, commits_are_durable);
    tcase_add_test(tc, prepared_round_trip);
    tcase_add_test(tc, privileges_are_scoped);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (mysql_library_init(0, NULL, NULL) != 0)
        return EXIT_FAILURE;
    int rc = mt_check_run(smoke_suite());
    mysql_library_end();
    return rc;
}
