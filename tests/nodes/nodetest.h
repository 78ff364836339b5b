/*  nodetest.h — helpers for the node service's tests: a real MariaDB (the
    CTest fixture's, METACTOR_TEST_DSN), a database of the test's own, a
    runtime, a store, and blocking calls through the directory. */
#ifndef MT_NODETEST_H_INCLUDED
#define MT_NODETEST_H_INCLUDED

#include "mt_core.h"
#include "mt_dsn.h"
#include "mt_nodes.h"
#include "mt_store.h"

#include <check.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CALL_TIMEOUT_MS 15000

/*  The fixture's DSN with the database replaced by `db`; caller frees. */
static inline char *nt_dsn_for(const char *db)
{
    const char *base = getenv("METACTOR_TEST_DSN");
    ck_assert_msg(base && *base, "METACTOR_TEST_DSN is not set: run through ctest");
    const char *slash = strstr(base, "://");
    slash = strchr(slash + 3, '/');
    const char *q = strchr(slash, '?');
    size_t n = (size_t) (slash - base) + 1 + strlen(db) + (q ? strlen(q) : 0) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s/%s%s", (int) (slash - base), base, db, q ? q : "");
    return out;
}

/*  A raw connection, for setting a database up and looking underneath. */
static inline MYSQL *nt_connect(const char *dsn_text, bool with_db)
{
    mt_dsn_t *dsn;
    char err[256];
    ck_assert_msg(mt_dsn_parse(dsn_text, &dsn, err, sizeof err) == MT_OK, "%s", err);
    MYSQL *m = mysql_init(NULL);
    const char *host = dsn->socket ? "localhost" : dsn->host;
    ck_assert_msg(mysql_real_connect(m, host, dsn->user, dsn->password,
                                     with_db ? dsn->db : NULL, dsn->port, dsn->socket, 0),
                  "connect: %s", mysql_error(m));
    mt_dsn_destroy(&dsn);
    return m;
}

static inline void nt_sql(MYSQL *m, const char *sql)
{
    ck_assert_msg(mysql_query(m, sql) == 0, "%s: %s", sql, mysql_error(m));
}

/*  Drops and creates `db`: each test program starts from nothing. */
static inline void nt_fresh_db(const char *db)
{
    char *dsn = nt_dsn_for(db);
    MYSQL *m = nt_connect(dsn, false);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", db);
    nt_sql(m, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE `%s`", db);
    nt_sql(m, sql);
    mysql_close(m);
    free(dsn);
}

static inline mt_store_t *nt_store(mt_runtime_t *rt, const char *dsn)
{
    mt_store_opts_t o = { .dsn = dsn };
    mt_store_t *store;
    char err[256];
    ck_assert_msg(mt_store_new(rt, &o, &store, err, sizeof err) == MT_OK, "%s", err);
    ck_assert_int_eq(mt_store_wait_ready(store, 20000), MT_OK);
    return store;
}

/*  A node service on store whose reloads run on demand only (nt_reload),
    so every interleaving a test makes is deterministic. */
static inline mt_nodes_t *nt_nodes(mt_runtime_t *rt, mt_store_t *store,
                                   int64_t health_timeout_ms, mt_actor_t *listener)
{
    mt_nodes_opts_t o = { .store = store, .reload_interval_ms = -1,
                          .health_timeout_ms = health_timeout_ms, .listener = listener };
    mt_nodes_t *n = mt_nodes_new(rt, &o);
    ck_assert_ptr_nonnull(n);
    return n;
}

/*  Sends req to the directory and waits for the reply (caller frees). */
static inline mt_msg_t *nt_call(mt_runtime_t *rt, mt_nodes_t *nodes, mt_msg_t *req)
{
    mt_msg_t *reply = NULL;
    int rc = mt_ask_wait(rt, mt_nodes_directory(nodes), req, CALL_TIMEOUT_MS, &reply);
    ck_assert_msg(rc == MT_OK, "no reply from the directory: %s", mt_strerror(rc));
    ck_assert_int_eq(reply->type, MT_NODE_REPLY);
    return reply;
}

/*  Expects success; returns the reply (caller frees). */
static inline mt_msg_t *nt_ok(mt_runtime_t *rt, mt_nodes_t *nodes, mt_msg_t *req)
{
    mt_msg_t *reply = nt_call(rt, nodes, req);
    mt_node_reply_t *r = mt_node_reply(reply);
    ck_assert_msg(r->err == MT_OK, "error %s: %s", mt_err_code(r->err), r->message);
    return reply;
}

static inline int nt_err(mt_runtime_t *rt, mt_nodes_t *nodes, mt_msg_t *req)
{
    mt_msg_t *reply = nt_call(rt, nodes, req);
    int err = mt_node_reply(reply)->err;
    mt_msg_free(reply);
    return err;
}

/*  A reload pass, merged: returns once the pass finished. Merges reach
    node actors through the directory before any later request does. */
static inline void nt_reload(mt_runtime_t *rt, mt_nodes_t *nodes)
{
    mt_msg_t *reply = NULL;
    int rc = mt_ask_wait(rt, mt_nodes_reload(nodes), mt_msg_new(MT_NODE_RELOAD, 0),
                         CALL_TIMEOUT_MS, &reply);
    ck_assert_int_eq(rc, MT_OK);
    ck_assert_int_eq(reply->type, MT_NODE_RELOADED);
    int err;
    memcpy(&err, mt_msg_data(reply), sizeof err);
    ck_assert_msg(err == MT_OK, "reload failed: %s", mt_err_code(err));
    mt_msg_free(reply);
}

/*  A registration: labels and versions as "k=v" strings, NULL-terminated. */
static inline mt_node_reg_t *nt_reg(const char *host, int port, const char *const *labels,
                                    const char *const *versions)
{
    mt_str_pair_t l[32], v[32];
    char buf[64][128];
    uint32_t nl = 0, nv = 0, nb = 0;
    for (; labels && labels[nl]; nl++) {
        snprintf(buf[nb], sizeof buf[nb], "%s", labels[nl]);
        char *eq = strchr(buf[nb], '=');
        *eq = '\0';
        l[nl] = (mt_str_pair_t) { buf[nb], eq + 1 };
        nb++;
    }
    for (; versions && versions[nv]; nv++) {
        snprintf(buf[nb], sizeof buf[nb], "%s", versions[nv]);
        char *eq = strchr(buf[nb], '=');
        *eq = '\0';
        v[nv] = (mt_str_pair_t) { buf[nb], eq + 1 };
        nb++;
    }
    mt_int_pair_t cap[] = { { "cpu_milli", 8000 }, { "memory_mb", 16384 } };
    mt_node_reg_t t = {
        .host_ip = host, .grpc_port = port, .instance_type = "cube.large",
        .labels = l, .nlabels = nl, .versions = v, .nversions = nv,
        .capacity = cap, .ncapacity = 2, .registered_at = 0,
    };
    return mt_node_reg_build(&t);
}

static inline mt_node_status_t *nt_status(bool ready, int64_t heartbeat_at, const char *image)
{
    const char *images[] = { image };
    mt_condition_t cond = { "Ready", ready ? "True" : "False", "kubelet", "ok" };
    mt_node_status_t t = {
        .ready = ready, .heartbeat_at = heartbeat_at,
        .conditions = &cond, .nconditions = 1,
        .images = images, .nimages = image ? 1 : 0,
    };
    return mt_node_status_build(&t);
}

static inline const char *nt_label(const mt_node_view_t *v, const char *key)
{
    return v->reg ? mt_str_map_get(v->reg->labels, v->reg->nlabels, key) : NULL;
}

#endif
