/*  store_testutil.h — helpers shared by the store's tests (test_store_*.c):
    a DSN for a test's own database, a raw connection to look at tables,
    node blocks from short literals, a blocking ask. */
#ifndef STORE_TESTUTIL_H_INCLUDED
#define STORE_TESTUTIL_H_INCLUDED

#include "mt_core.h"
#include "mt_model.h"
#include "mt_store.h"
#include "mt_dsn.h"

#include <check.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  METACTOR_TEST_DSN (or `base`) with its database replaced by db. */
static inline char *tu_dsn_for(const char *base, const char *db)
{
    if (!base)
        base = getenv("METACTOR_TEST_DSN");
    ck_assert_msg(base && *base, "METACTOR_TEST_DSN is not set: run through ctest (fixture mariadb)");
    const char *auth = strstr(base, "://");
    ck_assert_ptr_nonnull(auth);
    const char *slash = strchr(auth + 3, '/');
    ck_assert_ptr_nonnull(slash);
    const char *q = strchr(slash, '?');
    size_t head = (size_t) (slash + 1 - base);
    const char *tail = q ? q : "";
    char *out = malloc(head + strlen(db) + strlen(tail) + 1);
    ck_assert_ptr_nonnull(out);
    memcpy(out, base, head);
    strcpy(out + head, db);
    strcat(out, tail);
    return out;
}

/*  dsn with its list of hosts rotated by k (host k first): replicas of a
    test attached to different Galera nodes. One host: dsn itself. */
static inline char *tu_dsn_rotate(const char *dsn, unsigned k)
{
    const char *auth = strstr(dsn, "://") + 3;
    const char *slash = strchr(auth, '/');
    const char *at = memchr(auth, '@', (size_t) (slash - auth));
    const char *hosts = at ? at + 1 : auth;
    unsigned n = 1;
    for (const char *p = hosts; p < slash; p++)
        n += *p == ',';
    const char *start[16], *end[16];
    unsigned i = 0;
    for (const char *p = hosts; i < n && i < 16; i++) {
        const char *c = memchr(p, ',', (size_t) (slash - p));
        start[i] = p;
        end[i] = c ? c : slash;
        p = c ? c + 1 : slash;
    }
    char *out = malloc(strlen(dsn) + 2);
    ck_assert_ptr_nonnull(out);
    size_t w = (size_t) (hosts - dsn);
    memcpy(out, dsn, w);
    for (unsigned j = 0; j < n; j++) {
        unsigned x = (j + k) % n;
        if (j)
            out[w++] = ',';
        memcpy(out + w, start[x], (size_t) (end[x] - start[x]));
        w += (size_t) (end[x] - start[x]);
    }
    strcpy(out + w, slash);
    return out;
}

/*  How many hosts the DSN names (3 on the galera fixture). */
static inline unsigned tu_dsn_hosts(const char *dsn)
{
    mt_dsn_t *d = NULL;
    ck_assert_int_eq(mt_dsn_parse(dsn, &d, NULL, 0), MT_OK);
    unsigned n = d->nhosts ? d->nhosts : 1;
    mt_dsn_destroy(&d);
    return n;
}

/*  A raw connection as the DSN says, to db (NULL: none). */
static inline MYSQL *tu_raw(const char *dsn_text, const char *db)
{
    mt_dsn_t *d = NULL;
    char err[256];
    ck_assert_msg(mt_dsn_parse(dsn_text, &d, err, sizeof err) == MT_OK, "%s", err);
    MYSQL *m = mysql_init(NULL);
    ck_assert_ptr_nonnull(m);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (d->socket) {
        unsigned proto = MYSQL_PROTOCOL_SOCKET;
        mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
    }
    ck_assert_msg(mysql_real_connect(m, d->socket ? "localhost" : d->host, d->user, d->password,
                                     db, d->socket ? 0 : d->port, d->socket, 0),
                  "raw connect: %s", mysql_error(m));
    mt_dsn_destroy(&d);
    return m;
}

static inline void tu_exec(MYSQL *m, const char *sql)
{
    ck_assert_msg(mysql_query(m, sql) == 0, "%s: %s", sql, mysql_error(m));
}

/*  First column of the first row as an integer (-1 if no row or NULL). */
static inline long long tu_i64(MYSQL *m, const char *sql)
{
    tu_exec(m, sql);
    MYSQL_RES *res = mysql_store_result(m);
    ck_assert_msg(res, "%s: %s", sql, mysql_error(m));
    MYSQL_ROW row = mysql_fetch_row(res);
    long long v = row && row[0] ? strtoll(row[0], NULL, 10) : -1;
    mysql_free_result(res);
    return v;
}

/*  First column of the first row as a new string ("" if none). */
static inline char *tu_str(MYSQL *m, const char *sql)
{
    tu_exec(m, sql);
    MYSQL_RES *res = mysql_store_result(m);
    ck_assert_msg(res, "%s: %s", sql, mysql_error(m));
    MYSQL_ROW row = mysql_fetch_row(res);
    char *v = strdup(row && row[0] ? row[0] : "");
    mysql_free_result(res);
    return v;
}

/*  A fresh database for one test: dropped if it exists. */
static inline void tu_drop_db(const char *base, const char *db)
{
    char *dsn = tu_dsn_for(base, db);
    MYSQL *m = tu_raw(dsn, NULL);
    char sql[200];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", db);
    tu_exec(m, sql);
    mysql_close(m);
    free(dsn);
}

/*  A registration from "k=v,k=v" lists (NULL or "" = empty). */
static inline uint32_t tu_pairs(char *buf, mt_str_pair_t *out, uint32_t max)
{
    uint32_t n = 0;
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv && n < max;
         kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        ck_assert_ptr_nonnull(eq);
        *eq = '\0';
        out[n++] = (mt_str_pair_t) { kv, eq + 1 };
    }
    return n;
}

static inline mt_node_reg_t *tu_reg(const char *host, const char *labels, const char *versions)
{
    char lb[1024] = "", vb[1024] = "";
    snprintf(lb, sizeof lb, "%s", labels ? labels : "");
    snprintf(vb, sizeof vb, "%s", versions ? versions : "");
    mt_str_pair_t l[32], v[32];
    mt_int_pair_t cap[2] = { { "cpu_milli", 4000 }, { "memory_mb", 8192 } };
    mt_int_pair_t quota[1] = { { "pods", 110 } };
    mt_node_reg_t t = {
        .host_ip = host, .grpc_port = 7000, .instance_type = "c5.large",
        .labels = l, .nlabels = tu_pairs(lb, l, 32),
        .capacity = cap, .ncapacity = 2, .quota = quota, .nquota = 1,
        .versions = v, .nversions = tu_pairs(vb, v, 32),
        .registered_at = 1700000000000,
    };
    return mt_node_reg_build(&t);
}

static inline mt_node_status_t *tu_status(int64_t heartbeat_at, bool ready)
{
    mt_condition_t conds[1] = { { "Ready", ready ? "True" : "False", "Kubelet\"Ready\"",
                                  "line\nbreak \xe2\x9c\x93 \xf0\x9f\x98\x80" } };
    const char *images[2] = { "nginx:1.25", "redis:7" };
    const char *tpls[1] = { "tpl-a" };
    mt_node_status_t t = {
        .heartbeat_at = heartbeat_at, .ready = ready,
        .conditions = conds, .nconditions = 1,
        .images = images, .nimages = 2,
        .local_templates = tpls, .ntemplates = 1,
    };
    return mt_node_status_build(&t);
}

/*  Blocking ask; the reply is the caller's. */
static inline mt_msg_t *tu_ask(mt_runtime_t *rt, mt_actor_t *to, mt_msg_t *req)
{
    mt_msg_t *reply = NULL;
    ck_assert_int_eq(mt_ask_wait(rt, to, req, 20000, &reply), MT_OK);
    return reply;
}

/*  A write and its DONE answer: returns err, *rev the revision. */
static inline int tu_write(mt_runtime_t *rt, mt_store_t *s, const char *id, mt_msg_t *req,
                           int64_t *rev, mt_node_reg_t **reg)
{
    mt_msg_t *r = tu_ask(rt, mt_store_writer(s, id), req);
    ck_assert_int_eq(r->type, MT_STORE_DONE);
    mt_store_done_t *d = mt_msg_data(r);
    int err = d->err;
    if (rev)
        *rev = d->revision;
    if (reg)
        *reg = mt_node_reg_ref(d->reg);
    mt_msg_free(r);
    return err;
}

static inline mt_store_t *tu_store(mt_runtime_t *rt, const char *dsn, int writers)
{
    mt_store_t *s = NULL;
    char err[256] = "";
    mt_store_opts_t o = { .dsn = dsn, .writers = writers, .reconnect_ms = 200 };
    ck_assert_msg(mt_store_new(rt, &o, &s, err, sizeof err) == MT_OK, "%s", err);
    /*  Bounds a hang only: on a loaded machine a migration on Galera (each
        DDL replicated in total order, under the lease) has taken over 30 s. */
    ck_assert_int_eq(mt_store_wait_ready(s, 120000), MT_OK);
    return s;
}

/*  The store tests' fixture: a runtime, database `db` created afresh, a
    store with `writers` writer connections on it, and (raw not NULL) a raw
    connection for looking underneath. tu_close undoes it. */
static inline void tu_open(mt_runtime_t **rt, char **dsn, mt_store_t **store, MYSQL **raw,
                           const char *db, int writers)
{
    *rt = mt_runtime_new(NULL);
    ck_assert_ptr_nonnull(*rt);
    tu_drop_db(NULL, db);
    *dsn = tu_dsn_for(NULL, db);
    *store = tu_store(*rt, *dsn, writers);
    if (raw)
        *raw = tu_raw(*dsn, db);
}

static inline void tu_close(mt_runtime_t **rt, char **dsn, mt_store_t **store, MYSQL **raw)
{
    if (raw && *raw)
        mysql_close(*raw);
    if (raw)
        *raw = NULL;
    mt_store_destroy(store);
    mt_runtime_destroy(rt);
    free(*dsn);
    *dsn = NULL;
}

#endif
