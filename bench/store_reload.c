/*  store_reload.c — mt_bench_store's figures over 100,000 stored nodes:
    reload_full, reload_incremental and node_actor_rss. */
#include "store_bench.h"

#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------- reloading -- */

typedef struct {
    double reloaded_ms;             /* RELOAD asked → RELOADED */
    double total_ms;                /* ... → the list barrier answered */
    double reloaded_at;             /* now_s() when RELOADED came: the reload actor
                                       recorded the pass as done before sending it */
    uint32_t nrows;
} pass_t;

/*  One reload pass through the reload actor, then one node.list round trip
    through the directory (limit 1: a barrier, not a 100,000-view reply): the
    reload actor sends every merge to the directory before RELOADED, so the
    list is answered after the directory applied them all. */
static pass_t reload_pass(mt_runtime_t *rt, mt_nodes_t *nodes)
{
    pass_t p;
    mt_msg_t *reply = NULL;
    double t0 = now_s();
    if (mt_ask_wait(rt, mt_nodes_reload(nodes), mt_msg_new(MT_NODE_RELOAD, 0), ASK_MS, &reply)
        != MT_OK)
        die("reload: no answer");
    double t1 = now_s();
    if (reply->type != MT_NODE_RELOADED)
        die("reload: answer of type %u", reply->type);
    const mt_node_reloaded_t *rl = mt_msg_data(reply);
    int err = rl->err;
    p.nrows = rl->rows;
    mt_msg_free(reply);
    if (err != MT_OK) {
        /*  RELOADED carries no message: ask the reader for an incremental
            scan directly, to see whether the failure persists. */
        mt_msg_t *scan = NULL;
        if (mt_ask_wait(rt, mt_store_reader(g_store), mt_store_msg_scan(0, false), ASK_MS, &scan)
            == MT_OK) {
            mt_store_scanned_t *sc = mt_msg_data(scan);
            note("reload failed; a direct incremental scan right after: err=%d %s (%u rows)",
                 sc->err, sc->err ? sc->message : "ok", sc->nrows);
            mt_msg_free(scan);
        }
        die("reload: err=%d (%s: %s)", err, mt_err_code(err), mt_strerror(err));
    }
    if (mt_ask_wait(rt, mt_nodes_directory(nodes), mt_node_req_list(false, NULL, "", 1), ASK_MS,
                    &reply) != MT_OK)
        die("list: no answer");
    double t2 = now_s();
    if (mt_node_reply(reply)->err != MT_OK)
        die("list: %s", mt_node_reply(reply)->message);
    mt_msg_free(reply);
    p.reloaded_ms = (t1 - t0) * 1e3;
    p.total_ms = (t2 - t0) * 1e3;
    p.reloaded_at = t1;
    return p;
}

/*  Waits until every node actor has loaded and answers: a GET to each. */
static double settle(mt_runtime_t *rt, mt_nodes_t *nodes, uint32_t n, drive_result_t *r)
{
    drive_opts_t o = { .op = OP_GET, .nnodes = n, .inflight = 4096, .total = n };
    drive(rt, nodes, &o, r);
    drive_check("settle (GET every node)", r, n);
    free(r->lat_us);
    r->lat_us = NULL;
    return r->elapsed_s;
}

/*  The node count the directory lists (a full list, timed for the record). */
static uint32_t list_count(mt_runtime_t *rt, mt_nodes_t *nodes, double *ms)
{
    mt_msg_t *reply = NULL;
    double t0 = now_s();
    if (mt_ask_wait(rt, mt_nodes_directory(nodes), mt_node_req_list(false, NULL, "", 0), ASK_MS,
                    &reply) != MT_OK)
        die("list: no answer");
    *ms = (now_s() - t0) * 1e3;
    uint32_t n = mt_node_reply(reply)->nviews;
    mt_msg_free(reply);
    return n;
}

/*  Runs fig on a node service over RELOAD_NODES stored nodes (filled,
    not loaded yet); health_timeout_ms as service(). */
static void with_filled(int64_t health_timeout_ms,
                        void (*fig)(mt_runtime_t *, mt_store_t *, mt_nodes_t *))
{
    mt_runtime_t *rt = runtime();
    mt_store_t *store = store_new(rt);
    fill(rt, store, RELOAD_NODES);
    mt_nodes_t *nodes = service(rt, store, health_timeout_ms);
    fig(rt, store, nodes);
    mt_nodes_destroy(&nodes);
    mt_store_destroy(&store);
    mt_runtime_destroy(&rt);
}

static void reload_full(mt_runtime_t *rt, mt_store_t *store, mt_nodes_t *nodes)
{
    cpu_t c0, c1;
    cpu_sample(&c0);
    pass_t p = reload_pass(rt, nodes);
    cpu_sample(&c1);
    double t_settle0 = now_s();
    drive_result_t r;
    double settle_s = settle(rt, nodes, RELOAD_NODES, &r);
    double list_ms;
    uint32_t listed = list_count(rt, nodes, &list_ms);
    note("reload_full: rows read=%u; RELOAD→RELOADED %.3f ms, + list barrier %.3f ms;"
         " then every node actor loaded and answering after +%.3f s more (GET to each)",
         p.nrows, p.reloaded_ms, p.total_ms - p.reloaded_ms, now_s() - t_settle0);
    /*  The reader's share of the pass: the same full scan, asked directly. */
    mt_msg_t *scan = NULL;
    double ts = now_s();
    if (mt_ask_wait(rt, mt_store_reader(store), mt_store_msg_scan(0, true), ASK_MS, &scan)
        != MT_OK)
        die("direct scan: no answer");
    double scan_ms = (now_s() - ts) * 1e3;
    mt_msg_free(scan);
    note("reload_full: settle drive %.3f s; a full list of %u nodes took %.3f ms; the same"
         " full scan asked of the reader directly took %.3f ms", settle_s, listed, list_ms,
         scan_ms);
    cpu_note("reload_full (the measured pass)", &c0, &c1, p.nrows, "node");
    if (p.nrows != RELOAD_NODES || listed != RELOAD_NODES)
        die("reload_full: %u rows read, %u listed, want %d", p.nrows, listed, RELOAD_NODES);
    emit("reload_full", p.total_ms, "ms");

}

/*  Changes nodes first, first + step, ... (count of them) as another replica
    would, straight through the store: a heartbeat each, and for the first
    `rereg` of them a re-registration with a changed label. Returns the
    heartbeat_at written. */
static int64_t change_nodes(mt_runtime_t *rt, mt_store_t *store, uint32_t first, uint32_t step,
                            uint32_t count, uint32_t rereg, const char *tier)
{
    mt_probe_t *probe = mt_probe_new(rt);
    int64_t hb = mt_wall_ms();
    uint32_t sent = 0;
    char id[32];
    for (uint32_t i = 0; i < count; i++) {
        uint32_t k = (first + i * step) % RELOAD_NODES;
        node_id(id, sizeof id, k);
        if (i < rereg) {
            mt_msg_t *m = mt_store_msg_register(id, typical_reg(k, tier));
            m->from = mt_actor_ref(mt_probe_actor(probe));
            m->corr = ++sent;
            mt_send(mt_store_writer(store, id), m);
        }
        mt_msg_t *m = mt_store_msg_status(id, typical_status(hb), true);
        m->from = mt_actor_ref(mt_probe_actor(probe));
        m->corr = ++sent;
        mt_send(mt_store_writer(store, id), m);
    }
    for (uint32_t got = 0; got < sent; got++) {
        mt_msg_t *r = mt_probe_recv(probe, ASK_MS);
        if (!r)
            die("change: %u of %u answers", got, sent);
        mt_store_done_t *d = mt_msg_data(r);
        if (r->type != MT_STORE_DONE || d->err != MT_OK)
            die("change: %s", d->message);
        mt_msg_free(r);
    }
    mt_probe_destroy(&probe);
    return hb;
}

static void reload_incremental(mt_runtime_t *rt, mt_store_t *store, mt_nodes_t *nodes)
{
    drive_result_t r;

    /*  Pass A: the first pass is full; every node actor is spawned and loads. */
    pass_t a = reload_pass(rt, nodes);
    double settle_s = settle(rt, nodes, RELOAD_NODES, &r);
    double last_done = a.reloaded_at;
    note("reload_incremental: pass A (full, %u rows) %.3f ms, settled %.3f s later, untimed",
         a.nrows, a.total_ms, settle_s);

    /*  Steady state: a pass uses as `after` the mark of the newest pass that
        finished >= MT_STORE_TXN_MAX_MS before the previous pass started
        (actors/nodes/reload.c, safe_after). So each round waits that long after the
        last pass, runs an untimed pass (its start makes the last measured
        pass's mark usable), changes RELOAD_CHANGED nodes, then measures a pass:
        it reads exactly the rows changed since the previous pass. */
    int rounds = (int) env_long("MT_BENCH_ROUNDS", 3, 1, 100000);
    double *ms = calloc((size_t) rounds, sizeof *ms);
    if (!ms)
        die("out of memory");
    for (int round = 0; round < rounds; round++) {
        double wait = MT_STORE_TXN_MAX_MS / 1e3 + 0.5 - (now_s() - last_done);
        note("reload_incremental round %d: waiting %.1f s (MT_STORE_TXN_MAX_MS after the last pass)",
             round + 1, wait > 0 ? wait : 0);
        sleep_us((int64_t) ((wait) * 1e6));
        pass_t b = reload_pass(rt, nodes);
        char tier[16];
        snprintf(tier, sizeof tier, "gold-%d", round);
        uint32_t first = (uint32_t) round * 37 + 1;
        int64_t hb = change_nodes(rt, store, first, RELOAD_NODES / RELOAD_CHANGED,
                                  RELOAD_CHANGED, RELOAD_REREG, tier);
        pass_t c = reload_pass(rt, nodes);
        last_done = c.reloaded_at;
        ms[round] = c.total_ms;
        note("reload_incremental round %d: untimed pass read %u rows (%.3f ms); changed %d nodes"
             " (%d re-registered); measured pass read %u rows: RELOAD→RELOADED %.3f ms,"
             " + list barrier %.3f ms = %.3f ms", round + 1, b.nrows, b.total_ms,
             RELOAD_CHANGED, RELOAD_REREG, c.nrows, c.reloaded_ms, c.total_ms - c.reloaded_ms,
             c.total_ms);
        if (c.nrows != RELOAD_CHANGED)
            die("reload_incremental: the measured pass read %u rows, want %d", c.nrows,
                RELOAD_CHANGED);
        /*  The merges arrived: a changed node shows the new heartbeat and label. */
        char id[32];
        node_id(id, sizeof id, first);
        mt_msg_t *reply = NULL;
        if (mt_ask_wait(rt, mt_nodes_directory(nodes), mt_node_req_get(id), ASK_MS, &reply)
            != MT_OK)
            die("get: no answer");
        mt_node_view_t *v = &mt_node_reply(reply)->view;
        const char *t = v->reg ? mt_str_map_get(v->reg->labels, v->reg->nlabels, "tier") : NULL;
        if (mt_node_reply(reply)->err != MT_OK || !v->status || v->status->heartbeat_at != hb
            || !t || strcmp(t, tier) != 0)
            die("reload_incremental: %s does not show the change after the pass", id);
        mt_msg_free(reply);
    }
    double *sorted = malloc((size_t) rounds * sizeof *sorted);
    memcpy(sorted, ms, (size_t) rounds * sizeof *sorted);
    qsort(sorted, (size_t) rounds, sizeof *sorted, cmp_double);
    double median = sorted[rounds / 2];
    note("reload_incremental: %d measured passes, median %.3f ms (min %.3f, max %.3f)", rounds,
         median, sorted[0], sorted[rounds - 1]);
    emit("reload_incremental", median, "ms");
    free(sorted);
    free(ms);

}

/* ------------------------------------------------------- node_actor_rss -- */

static const char *g_rss_figure = "node_actor_rss";

/*  The heap as malloc sees it: bytes in use, free inside the heap
    (fragmentation that malloc_trim cannot give back), mmapped. */
static void heap_note(const char *when)
{
    struct mallinfo2 mi = mallinfo2();
    note("node_actor_rss heap %s: in use %.1f MB, free in heap %.1f MB, mmapped %.1f MB", when,
         (double) mi.uordblks / 1e6, (double) mi.fordblks / 1e6, (double) mi.hblkhd / 1e6);
}

/*  Waits until the pool stopped shrinking for two housekeeping sweeps (at
    most 20 s); returns its bytes then. */
static uint64_t rest_pool(mt_runtime_t *rt)
{
    mt_stats_t s;
    mt_runtime_stats(rt, &s);
    uint64_t last = s.pool_bytes;
    for (int quiet = 0, waited = 0; quiet < 5 && waited < 20000; waited += 1000) {
        sleep_us(1000 * 1000);
        mt_runtime_stats(rt, &s);
        quiet = s.pool_bytes < last ? 0 : quiet + 1;
        last = s.pool_bytes;
    }
    return last;
}

static void node_actor_rss(mt_runtime_t *rt, mt_store_t *store, mt_nodes_t *nodes)
{
    malloc_trim(0);
    long rss0 = rss_bytes(), rss0_raw = rss0;
    heap_note("before");

    reload_pass(rt, nodes);
    drive_result_t r;
    settle(rt, nodes, RELOAD_NODES, &r);
    double list_ms;
    uint32_t listed = list_count(rt, nodes, &list_ms);
    if (listed != RELOAD_NODES)
        die("node_actor_rss: %u nodes listed, want %d", listed, RELOAD_NODES);
    long rss1_raw = rss_bytes();
    mt_stats_t s;
    mt_runtime_stats(rt, &s);
    uint64_t pool_burst = s.pool_bytes;
    /*  The figure is the service at rest: what the reload's burst of
        messages left in the pool goes back within two housekeeping sweeps
        (core/pool.c), as it does in metactord. */
    uint64_t pool_rest = rest_pool(rt);
    malloc_trim(0);
    long rss1 = rss_bytes();
    heap_note("after");
    if (rss0 < 0 || rss1 < 0)
        die("cannot read VmRSS from /proc/self/status");
    mt_runtime_stats(rt, &s);
    note("node_actor_rss: pool %.1f MB after the reload, %.1f MB at rest (%.0f B/node)",
         (double) pool_burst / 1e6, (double) pool_rest / 1e6,
         (double) pool_rest / RELOAD_NODES);
    note("node_actor_rss: %d nodes, each a registration block of %u B and a status block of"
         " %u B; actors alive=%" PRIu64 " timers armed=%" PRIu64, RELOAD_NODES, r.reg_size,
         r.status_size, s.actors_alive, s.timers_armed);
    note("node_actor_rss: rss before=%ld after=%ld (after malloc_trim(0) both; untrimmed after=%ld,"
         " before=%ld) → %.1f B/node untrimmed", rss0, rss1, rss1_raw, rss0_raw,
         (double) (rss1_raw - rss0_raw) / RELOAD_NODES);
    emit(g_rss_figure, (double) (rss1 - rss0) / RELOAD_NODES, "bytes/node");

}


void run_reload_full(void)
{
    with_filled(0, reload_full);
}

void run_reload_incremental(void)
{
    with_filled(0, reload_incremental);
}

void run_node_actor_rss(void)
{
    /*  A health timeout far beyond the run: every node is healthy, with its
        health timer armed, as a live node is. */
    with_filled(3600 * 1000, node_actor_rss);
}

void run_node_actor_rss_unique_labels(void)
{
    g_unique_labels = true;
    g_rss_figure = "node_actor_rss_unique_labels";
    with_filled(3600 * 1000, node_actor_rss);
}
