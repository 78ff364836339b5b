/*  harness_db.c — the tests' databases on the fixture's server: created
    fresh for each test, dropped after it, and reached directly for what no
    replica would do (see harness.h). */
#include "harness_int.h"

#include "mt_dsn.h"

#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *hi_dsn_for(const char *db)
{
    const char *base = getenv("METACTOR_TEST_DSN");
    ck_assert_msg(base && *base, "METACTOR_TEST_DSN is not set: run through ctest");
    const char *slash = strstr(base, "://");
    ck_assert_ptr_nonnull(slash);
    slash = strchr(slash + 3, '/');
    ck_assert_ptr_nonnull(slash);
    const char *q = strchr(slash, '?');
    size_t n = (size_t) (slash - base) + 1 + strlen(db) + (q ? strlen(q) : 0) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s/%s%s", (int) (slash - base), base, db, q ? q : "");
    return out;
}

/*  The DSN's hosts in order, the first that answers: on a Galera cluster
    a test may have killed a node (h_galera), and the others serve. */
static MYSQL *db_connect(int c, bool with_db)
{
    mt_dsn_t *dsn;
    char err[256];
    ck_assert_msg(mt_dsn_parse(h_state.cl[c].dsn, &dsn, err, sizeof err) == 0, "%s", err);
    char msg[512] = "no host";
    unsigned n = dsn->nhosts ? dsn->nhosts : 1;
    for (unsigned k = 0; k < n; k++) {
        MYSQL *m = mysql_init(NULL);
        const char *host = dsn->socket ? "localhost" : dsn->hosts[k].host;
        unsigned port = dsn->nhosts ? dsn->hosts[k].port : dsn->port;
        if (mysql_real_connect(m, host, dsn->user, dsn->password, with_db ? dsn->db : NULL,
                               port, dsn->socket, 0)) {
            mt_dsn_destroy(&dsn);
            return m;
        }
        snprintf(msg, sizeof msg, "%s", mysql_error(m));
        mysql_close(m);
    }
    mt_dsn_destroy(&dsn);
    ck_abort_msg("connect to the test database: %s", msg);
    return NULL;
}

static void db_sql(MYSQL *m, const char *sql)
{
    ck_assert_msg(mysql_query(m, sql) == 0, "%s: %s", sql, mysql_error(m));
}

void h_db_exec_in(int c, const char *sql)
{
    hi_check_cluster(c);
    MYSQL *m = db_connect(c, true);
    db_sql(m, sql);
    mysql_close(m);
}

void h_db_exec(const char *sql)
{
    h_db_exec_in(0, sql);
}

char *h_db_query(int c, const char *sql)
{
    hi_check_cluster(c);
    MYSQL *m = db_connect(c, true);
    db_sql(m, sql);
    MYSQL_RES *res = mysql_store_result(m);
    char *out = NULL;
    if (res) {
        MYSQL_ROW row = mysql_fetch_row(res);
        if (row && mysql_num_fields(res) > 0 && row[0])
            out = strdup(row[0]);
        mysql_free_result(res);
    }
    mysql_close(m);
    return out;
}

void hi_db_fresh(int c)
{
    MYSQL *m = db_connect(c, false);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", h_state.cl[c].db);
    db_sql(m, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE `%s`", h_state.cl[c].db);
    db_sql(m, sql);
    mysql_close(m);
}

void hi_db_drop(int c)
{
    MYSQL *m = db_connect(c, false);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", h_state.cl[c].db);
    db_sql(m, sql);
    mysql_close(m);
}

void *h_db_open(int c)
{
    hi_check_cluster(c);
    return db_connect(c, true);
}

void h_db_run(void *conn, const char *sql)
{
    db_sql(conn, sql);
}

void h_db_close(void **conn)
{
    if (*conn)
        mysql_close(*conn);
    *conn = NULL;
}
