/*  store_sql.c — raw MySQL for mt_bench_store: connections as the store
    makes them, prepared statements with their parameters, the store's own
    upsert and JSON columns, and the schema made through a store. */
#include "store_bench.h"

#include "mt_dsn.h"

#include <stdlib.h>
#include <string.h>

/*  A connection as the store makes it (socket if the DSN names one). */
MYSQL *raw_connect(const char *dsn_text, bool with_db)
{
    mt_dsn_t *d;
    char err[256];
    if (mt_dsn_parse(dsn_text, &d, err, sizeof err) != MT_OK)
        die("%s", err);
    MYSQL *m = mysql_init(NULL);
    if (!m)
        die("mysql_init");
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (d->socket) {
        unsigned proto = MYSQL_PROTOCOL_SOCKET;
        mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
    }
    if (!mysql_real_connect(m, d->socket ? "localhost" : d->host, d->user, d->password,
                            with_db ? d->db : NULL, d->socket ? 0 : d->port, d->socket, 0))
        die("connect: %s", mysql_error(m));
    mt_dsn_destroy(&d);
    return m;
}

void raw_sql(MYSQL *m, const char *sql)
{
    if (mysql_query(m, sql) != 0)
        die("%s: %s", sql, mysql_error(m));
}

long long raw_i64(MYSQL *m, const char *sql)
{
    raw_sql(m, sql);
    MYSQL_RES *res = mysql_store_result(m);
    if (!res)
        die("%s: %s", sql, mysql_error(m));
    MYSQL_ROW row = mysql_fetch_row(res);
    long long v = row && row[0] ? strtoll(row[0], NULL, 10) : -1;
    mysql_free_result(res);
    return v;
}

void fresh_db(const char *base_dsn, const char *db)
{
    MYSQL *m = raw_connect(base_dsn, false);
    char sql[200];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", db);
    raw_sql(m, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", db);
    raw_sql(m, sql);
    mysql_close(m);
}

void drop_db(const char *base_dsn, const char *db)
{
    if (getenv("MT_BENCH_KEEP_DB"))
        return;
    MYSQL *m = raw_connect(base_dsn, false);
    char sql[200];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", db);
    raw_sql(m, sql);
    mysql_close(m);
}

void p_init(params_t *p, unsigned cap)
{
    p->b = calloc(cap, sizeof *p->b);
    p->iv = calloc(cap, sizeof *p->iv);
    p->lens = calloc(cap, sizeof *p->lens);
    if (!p->b || !p->iv || !p->lens)
        die("out of memory");
    p->n = 0;
    p->cap = cap;
}

void p_free(params_t *p)
{
    free(p->b);
    free(p->iv);
    free(p->lens);
}

void p_i64(params_t *p, int64_t v)
{
    if (p->n == p->cap)
        die("params: more than %u", p->cap);
    unsigned i = p->n++;
    p->iv[i] = v;
    p->b[i] = (MYSQL_BIND) { .buffer_type = MYSQL_TYPE_LONGLONG, .buffer = &p->iv[i] };
}

void p_str(params_t *p, const char *s, size_t len)
{
    if (p->n == p->cap)
        die("params: more than %u", p->cap);
    unsigned i = p->n++;
    p->lens[i] = (unsigned long) len;
    p->b[i] = (MYSQL_BIND) { .buffer_type = MYSQL_TYPE_STRING, .buffer = (void *) s,
                             .buffer_length = (unsigned long) len, .length = &p->lens[i] };
}

void p_cstr(params_t *p, const char *s)
{
    p_str(p, s, strlen(s));
}

/*  head, then n × row separated by ',', then tail (caller frees). */
char *repeat_sql(const char *head, const char *row, unsigned n, const char *tail)
{
    size_t len = strlen(head) + n * (strlen(row) + 1) + strlen(tail) + 1;
    char *s = malloc(len), *w = s;
    if (!s)
        die("out of memory");
    w = stpcpy(w, head);
    for (unsigned i = 0; i < n; i++) {
        if (i)
            *w++ = ',';
        w = stpcpy(w, row);
    }
    stpcpy(w, tail);
    return s;
}

MYSQL_STMT *prepare(MYSQL *m, const char *sql)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    if (!st)
        die("mysql_stmt_init: %s", mysql_error(m));
    if (mysql_stmt_prepare(st, sql, (unsigned long) strlen(sql)) != 0)
        die("prepare %.80s...: %s", sql, mysql_stmt_error(st));
    return st;
}

void execute(MYSQL_STMT *st, params_t *p, const char *what)
{
    if (p->n != mysql_stmt_param_count(st))
        die("%s: %u parameters for %lu", what, p->n, mysql_stmt_param_count(st));
    if ((p->n && mysql_stmt_bind_param(st, p->b) != 0) || mysql_stmt_execute(st) != 0)
        die("%s: %s", what, mysql_stmt_error(st));
}

void commit(MYSQL *m)
{
    if (mysql_commit(m) != 0)
        die("commit: %s", mysql_error(m));
}

/*  The store's heartbeat upsert (store/sql.c, SQL_STATUS_UPSERT), n rows. */
char *status_upsert_sql(unsigned n)
{
    return repeat_sql("INSERT INTO node_status (id, heartbeat_at, ready, conditions, images,"
                      " local_templates, status_revision) VALUES ", "(?,?,?,?,?,?,?)", n,
                      " ON DUPLICATE KEY UPDATE heartbeat_at = VALUES(heartbeat_at),"
                      " ready = VALUES(ready), conditions = VALUES(conditions),"
                      " images = VALUES(images), local_templates = VALUES(local_templates),"
                      " status_revision = VALUES(status_revision)");
}

void status_json(status_json_t *j, const mt_node_status_t *st)
{
    mt_buf_reset(&j->buf);
    j->off[0] = j->buf.len;
    int bad = mt_json_put_conditions(&j->buf, st->conditions, st->nconditions);
    j->off[1] = j->buf.len;
    bad |= mt_json_put_str_array(&j->buf, st->images, st->nimages);
    j->off[2] = j->buf.len;
    bad |= mt_json_put_str_array(&j->buf, st->local_templates, st->ntemplates);
    if (bad)
        die("status JSON");
    for (int f = 0; f < 3; f++)
        j->len[f] = (f < 2 ? j->off[f + 1] : j->buf.len) - j->off[f];
}

/*  Creates the schema exactly as the service does: through a store. */
void make_schema(mt_runtime_t *rt, const char *dsn)
{
    mt_store_opts_t o = { .dsn = dsn };
    mt_store_t *store;
    char err[256];
    if (mt_store_new(rt, &o, &store, err, sizeof err) != MT_OK)
        die("store: %s", err);
    if (mt_store_wait_ready(store, 30000) != MT_OK)
        die("store not ready within 30 s");
    mt_store_destroy(&store);
}

