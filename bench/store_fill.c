/*  store_fill.c — the 100,000-node fill of mt_bench_store. */
#include "store_bench.h"

#include <stdlib.h>
#include <string.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

/*  Stores nodes exactly as the store would after a registration and one
    heartbeat each, but 256 nodes per transaction with multi-row statements:
      node_registrations  the registration block's fields; labels, capacity and
                          quota encoded by the store's JSON encoder; versions_hash
                          from the block; registered_at the wall clock;
                          reg_revision drawn from mt_revision; deleted 0
      node_component_versions  one row per component of the block
      node_status         the heartbeat's JSON by the same encoder; status_revision
                          drawn from mt_revision after the registration's
    Revisions are drawn with the store's own statement (NEXTVAL over seq_1_to_256),
    ascending in id order, as a batch of the store's would. fill_check() proves the
    rows equal to what the store itself writes for the same node. */

typedef struct {
    MYSQL *m;
    MYSQL_STMT *draw;
    MYSQL_STMT *reg[2], *vers[2], *status[2];   /* [0]: ROWS rows, [1]: the remainder */
    unsigned rem;
    params_t p;
    mt_buf_t json;
} filler_t;

static void filler_prepare(filler_t *f, unsigned rem)
{
    f->rem = rem;
    f->draw = prepare(f->m, "SELECT NEXTVAL(mt_revision) FROM seq_1_to_256 LIMIT ?");
    for (int v = 0; v < 2; v++) {
        unsigned n = v == 0 ? ROWS : rem;
        if (!n)
            continue;
        char *s = repeat_sql("INSERT INTO node_registrations (id, host_ip, grpc_port,"
                             " instance_type, labels, capacity, quota, versions_hash,"
                             " registered_at, reg_revision, deleted) VALUES ",
                             "(?,?,?,?,?,?,?,?,?,?,0)", n, "");
        f->reg[v] = prepare(f->m, s);
        free(s);
        s = repeat_sql("INSERT INTO node_component_versions (node_id, component, version) VALUES ",
                       "(?,?,?)", n * 5, "");
        f->vers[v] = prepare(f->m, s);
        free(s);
        s = repeat_sql("INSERT INTO node_status (id, heartbeat_at, ready, conditions, images,"
                       " local_templates, status_revision) VALUES ", "(?,?,?,?,?,?,?)", n, "");
        f->status[v] = prepare(f->m, s);
        free(s);
    }
    p_init(&f->p, ROWS * 15);
}

static void filler_close(filler_t *f)
{
    mysql_stmt_close(f->draw);
    for (int v = 0; v < 2; v++) {
        if (f->reg[v]) {
            mysql_stmt_close(f->reg[v]);
            mysql_stmt_close(f->vers[v]);
            mysql_stmt_close(f->status[v]);
        }
    }
    p_free(&f->p);
    mt_buf_free(&f->json);
}

static void draw(filler_t *f, unsigned n, int64_t *rev)
{
    f->p.n = 0;
    p_i64(&f->p, n);
    execute(f->draw, &f->p, "draw");
    long long v = 0;
    MYSQL_BIND out = { .buffer_type = MYSQL_TYPE_LONGLONG, .buffer = &v };
    if (mysql_stmt_bind_result(f->draw, &out) != 0 || mysql_stmt_store_result(f->draw) != 0)
        die("draw: %s", mysql_stmt_error(f->draw));
    unsigned got = 0;
    while (got < n && mysql_stmt_fetch(f->draw) == 0)
        rev[got++] = v;
    mysql_stmt_free_result(f->draw);
    if (got != n)
        die("draw: %u of %u revisions", got, n);
    qsort(rev, n, sizeof *rev, cmp_i64);
}

/*  One transaction: n nodes (ids sorted), their registrations and statuses. */
static void fill_chunk(filler_t *f, char (*ids)[32], mt_node_reg_t **regs,
                       mt_node_status_t **sts, unsigned n, int64_t registered_at)
{
    int v = n == ROWS ? 0 : 1;
    if (v == 1 && n != f->rem)
        die("fill: chunk of %u rows", n);
    /*  JSON first (the buffer may move while it grows), then the binds. */
    size_t off[ROWS][6], len[ROWS][6];
    mt_buf_reset(&f->json);
    for (unsigned i = 0; i < n; i++) {
        size_t o[7];
        o[0] = f->json.len;
        int bad = mt_json_put_str_map(&f->json, regs[i]->labels, regs[i]->nlabels);
        o[1] = f->json.len;
        bad |= mt_json_put_int_map(&f->json, regs[i]->capacity, regs[i]->ncapacity);
        o[2] = f->json.len;
        bad |= mt_json_put_int_map(&f->json, regs[i]->quota, regs[i]->nquota);
        o[3] = f->json.len;
        bad |= mt_json_put_conditions(&f->json, sts[i]->conditions, sts[i]->nconditions);
        o[4] = f->json.len;
        bad |= mt_json_put_str_array(&f->json, sts[i]->images, sts[i]->nimages);
        o[5] = f->json.len;
        bad |= mt_json_put_str_array(&f->json, sts[i]->local_templates, sts[i]->ntemplates);
        o[6] = f->json.len;
        if (bad)
            die("fill: JSON");
        for (int c = 0; c < 6; c++) {
            off[i][c] = o[c];
            len[i][c] = o[c + 1] - o[c];
        }
    }
    int64_t rrev[ROWS], srev[ROWS];
    draw(f, n, rrev);
    f->p.n = 0;
    for (unsigned i = 0; i < n; i++) {
        const mt_node_reg_t *r = regs[i];
        p_cstr(&f->p, ids[i]);
        p_cstr(&f->p, r->host_ip);
        p_i64(&f->p, r->grpc_port);
        p_cstr(&f->p, r->instance_type);
        for (int c = 0; c < 3; c++)
            p_str(&f->p, f->json.data + off[i][c], len[i][c]);
        p_cstr(&f->p, r->versions_hash);
        p_i64(&f->p, registered_at);
        p_i64(&f->p, rrev[i]);
    }
    execute(f->reg[v], &f->p, "fill registrations");
    f->p.n = 0;
    for (unsigned i = 0; i < n; i++) {
        if (regs[i]->nversions != 5)
            die("fill: %u versions", regs[i]->nversions);
        for (uint32_t c = 0; c < 5; c++) {
            p_cstr(&f->p, ids[i]);
            p_cstr(&f->p, regs[i]->versions[c].key);
            p_cstr(&f->p, regs[i]->versions[c].value);
        }
    }
    execute(f->vers[v], &f->p, "fill versions");
    draw(f, n, srev);
    f->p.n = 0;
    for (unsigned i = 0; i < n; i++) {
        p_cstr(&f->p, ids[i]);
        p_i64(&f->p, sts[i]->heartbeat_at);
        p_i64(&f->p, sts[i]->ready);
        for (int c = 3; c < 6; c++)
            p_str(&f->p, f->json.data + off[i][c], len[i][c]);
        p_i64(&f->p, srev[i]);
    }
    execute(f->status[v], &f->p, "fill statuses");
    commit(f->m);
}

static void filler_open(filler_t *f, unsigned rem)
{
    memset(f, 0, sizeof *f);
    f->m = raw_connect(g_dsn, true);
    raw_sql(f->m, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    if (mysql_autocommit(f->m, 0) != 0)
        die("autocommit off: %s", mysql_error(f->m));
    filler_prepare(f, rem);
}

/*  A blocking ask to a store actor; the reply's err must be MT_OK. */
static mt_msg_t *store_call(mt_runtime_t *rt, mt_actor_t *to, mt_msg_t *req)
{
    mt_msg_t *reply = NULL;
    if (mt_ask_wait(rt, to, req, ASK_MS, &reply) != MT_OK)
        die("store: no answer");
    int err = *(int *) mt_msg_data(reply);      /* DONE, LOADED, SCANNED begin with err */
    if (err != MT_OK)
        die("store: %s: %s", mt_err_code(err), ((mt_store_done_t *) mt_msg_data(reply))->message);
    return reply;
}

/*  The fill's fidelity: one node written by the store (register, heartbeat)
    and the same node written by fill_chunk must be equal column for column
    (but id, time stamps and revisions). The two check nodes are removed after. */
static void fill_check(mt_runtime_t *rt, mt_store_t *store)
{
    int64_t hb = mt_wall_ms();
    const char *a = "check-store";
    mt_msg_free(store_call(rt, mt_store_writer(store, a),
                           mt_store_msg_register(a, typical_reg(7, "standard"))));
    mt_msg_free(store_call(rt, mt_store_writer(store, a),
                           mt_store_msg_status(a, typical_status(hb), true)));
    filler_t f;
    filler_open(&f, 1);
    char ids[1][32] = { "check-raw" };
    mt_node_reg_t *reg = typical_reg(7, "standard");
    mt_node_status_t *st = typical_status(hb);
    fill_chunk(&f, ids, &reg, &st, 1, mt_wall_ms());
    mt_node_reg_unref(&reg);
    mt_node_status_unref(&st);
    struct { const char *sql; long long want; } checks[] = {
        { "SELECT COUNT(*) FROM node_registrations WHERE id IN ('check-store','check-raw')"
          " AND reg_revision > 0 AND registered_at > 0", 2 },
        { "SELECT COUNT(DISTINCT host_ip, grpc_port, instance_type, labels, capacity, quota,"
          " versions_hash, deleted) FROM node_registrations"
          " WHERE id IN ('check-store','check-raw')", 1 },
        { "SELECT COUNT(*) FROM node_component_versions WHERE node_id IN ('check-store','check-raw')", 10 },
        { "SELECT COUNT(*) FROM (SELECT component, version FROM node_component_versions"
          " WHERE node_id IN ('check-store','check-raw') GROUP BY component, version"
          " HAVING COUNT(*) = 2) t", 5 },
        { "SELECT COUNT(*) FROM node_status WHERE id IN ('check-store','check-raw')"
          " AND status_revision > 0", 2 },
        { "SELECT COUNT(DISTINCT heartbeat_at, ready, conditions, images, local_templates)"
          " FROM node_status WHERE id IN ('check-store','check-raw')", 1 },
        { "SELECT COUNT(*) FROM node_status s JOIN node_registrations r ON r.id = s.id"
          " WHERE s.id IN ('check-store','check-raw') AND s.status_revision > r.reg_revision", 2 },
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        long long got = raw_i64(f.m, checks[i].sql);
        if (got != checks[i].want)
            die("fill differs from the store: %s gave %lld, want %lld", checks[i].sql, got,
                checks[i].want);
    }
    raw_sql(f.m, "DELETE FROM node_component_versions WHERE node_id IN ('check-store','check-raw')");
    raw_sql(f.m, "DELETE FROM node_status WHERE id IN ('check-store','check-raw')");
    raw_sql(f.m, "DELETE FROM node_registrations WHERE id IN ('check-store','check-raw')");
    commit(f.m);
    filler_close(&f);
    mysql_close(f.m);
    note("fill check: rows written by the fill equal the store's own for the same node");
}

/*  Stores n typical nodes (ids node-000000 ...) as the store would. */
void fill(mt_runtime_t *rt, mt_store_t *store, uint32_t n)
{
    fill_check(rt, store);
    double t0 = now_s();
    filler_t f;
    filler_open(&f, n % ROWS);
    static char ids[ROWS][32];
    mt_node_reg_t *regs[ROWS];
    mt_node_status_t *sts[ROWS];
    for (uint32_t k = 0; k < n; k += ROWS) {
        unsigned c = n - k < ROWS ? n - k : ROWS;
        int64_t now = mt_wall_ms();
        for (unsigned i = 0; i < c; i++) {
            node_id(ids[i], sizeof ids[i], k + i);
            regs[i] = typical_reg(k + i, "standard");
            sts[i] = typical_status(now);
        }
        fill_chunk(&f, ids, regs, sts, c, now);
        for (unsigned i = 0; i < c; i++) {
            mt_node_reg_unref(&regs[i]);
            mt_node_status_unref(&sts[i]);
        }
    }
    /*  Seen now by the database's clock, as the store stamps a heartbeat it
        commits: the nodes load healthy, each with its health timer armed. */
    raw_sql(f.m, "UPDATE node_status SET seen_at = CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)");
    raw_sql(f.m, "COMMIT");
    long long nr = raw_i64(f.m, "SELECT COUNT(*) FROM node_registrations");
    long long ns = raw_i64(f.m, "SELECT COUNT(*) FROM node_status");
    long long nv = raw_i64(f.m, "SELECT COUNT(*) FROM node_component_versions");
    filler_close(&f);
    mysql_close(f.m);
    if (nr != n || ns != n || nv != 5LL * n)
        die("fill: %lld registrations, %lld statuses, %lld versions for %u nodes", nr, ns, nv, n);
    note("fill: %u nodes stored in %.3f s (raw multi-row SQL, 256 nodes per transaction), untimed",
         n, now_s() - t0);
}

