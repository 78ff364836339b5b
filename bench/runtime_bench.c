/*  runtime_bench.c — the actor-runtime peer workloads on metactor's core.

    Usage: mt_bench_runtime <pingpong|fanin|spawn|ring> [param]
      pingpong N   (default 2,000,000 messages)
      fanin M      (64 senders × M messages, default M = 62,500)
      spawn K      (default 100,000 actors)
      ring H       (1000 nodes, default H = 1,000,000 hops)

    The workloads, counts and timed regions are those of
    ../shared/peers/README.md (CAF, Erlang, zactor programs), one workload
    per process, no warm-up. The coordinator is the main thread, receiving
    through an mt_probe (like CAF's scoped_actor); every data message is an
    int64 message (mt_send_i64), control messages are payload-less or carry
    one int64 for the correctness checks below. Partner/next addresses are
    sent as setup messages before t0, as CAF does.

    stdout: only figure lines, exactly
        peer=metactor bench=<name> value=<v with 3 decimals> unit=<unit>
    stderr: diagnostics, every line starting with '#'.
    Exit status: 0 on success, 1 if the runtime misbehaved (wrong payload,
    wrong count, timeout, spawn failure), 2 on a usage error.

    Environment (optional, for experiments only; scripts/bench sets none):
      MT_BENCH_WORKERS  worker threads (default 0 = one per online CPU)
*/
#include "benchutil.h"
#include "mt_core.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FANIN_SENDERS 64
#define RING_SIZE 1000

#define DEF_PINGPONG_N 2000000
#define DEF_FANIN_M 62500
#define DEF_SPAWN_K 100000
#define DEF_RING_H 1000000

/*  How long the coordinator waits for `done` before declaring the runtime
    stuck. scripts/bench also runs every process under timeout(1). */
#define WAIT_MS (300 * 1000)

enum {
    M_DATA = MT_MSG_USER,   /* payload: int64 */
    M_SETUP,                /* payload: setup_t (partner / next address) */
    M_START,                /* pingpong: A starts */
    M_GO,                   /* fanin: a sender starts */
    M_ACK,                  /* spawn: child -> collector */
    M_DONE,                 /* -> coordinator; payload: int64 or fanin_done_t */
    M_ERR                   /* -> coordinator; payload: int64 (the bad value) */
};

/* ------------------------------------------------------------- helpers -- */

static mt_actor_t *g_coord;     /* the probe's actor (borrowed reference) */

/*  Our figure line: the peers' format (../shared/peers/summarize.sh reads
    it), not benchutil.h's emit. */
static void emit_peer(const char *bench, double value, const char *unit)
{
    printf("peer=metactor bench=%s value=%.3f unit=%s\n", bench, value, unit);
    fflush(stdout);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(NULL, fmt, ap);
    va_end(ap);
    exit(1);
}

/*  Setup message: gives an actor the address of its partner / successor.
    The payload owns `peer` (a reference) until the behaviour takes it. */
typedef struct {
    mt_actor_t *peer;
    int64_t index;
} setup_t;

static void setup_drop(mt_msg_t *msg)
{
    setup_t *s = mt_msg_data(msg);
    if (s->peer)
        mt_actor_unref(&s->peer);
}

static void send_setup(mt_actor_t *to, mt_actor_t *peer, int64_t index)
{
    mt_msg_t *m = mt_msg_new(M_SETUP, sizeof(setup_t));
    setup_t *s = mt_msg_data(m);
    s->peer = mt_actor_ref(peer);
    s->index = index;
    m->drop = setup_drop;
    if (mt_send(to, m) != MT_OK)
        die("setup message to a fresh actor was refused");
}

/*  Takes the peer reference out of a setup message. */
static mt_actor_t *take_setup(mt_msg_t *msg, int64_t *index)
{
    setup_t *s = mt_msg_data(msg);
    mt_actor_t *peer = s->peer;
    s->peer = NULL;
    if (index)
        *index = s->index;
    return peer;
}

static void report_err(int64_t value)
{
    mt_send_i64(g_coord, M_ERR, value);
}

/*  Waits for M_DONE on the probe; M_ERR or anything else is fatal. */
static mt_msg_t *wait_done(mt_probe_t *p, const char *bench)
{
    for (;;) {
        mt_msg_t *m = mt_probe_recv(p, WAIT_MS);
        if (!m)
            die("%s: no done within %d s", bench, WAIT_MS / 1000);
        if (m->type == M_DONE)
            return m;
        if (m->type == M_ERR)
            die("%s: an actor reported a wrong value %" PRId64, bench,
                m->size >= 8 ? mt_msg_i64(m) : -1);
        die("%s: unexpected message type %u at the coordinator", bench,
            (unsigned) m->type);
    }
}

static mt_actor_t *spawn_inline(mt_runtime_t *rt, mt_behaviour_fn *fn,
                                size_t state_size, void (*destroy)(void *))
{
    mt_spawn_opts_t o = {
        .behaviour = fn, .state_size = state_size, .destroy = destroy };
    mt_actor_t *a = mt_spawn_opts(rt, &o);
    if (!a)
        die("mt_spawn_opts returned NULL (errno %d)", errno);
    return a;
}

/*  Actors whose inline state starts with a peer reference. */
typedef struct {
    mt_actor_t *peer;
} peer_state_t;

static void peer_state_destroy(void *state)
{
    peer_state_t *st = state;
    if (st->peer)
        mt_actor_unref(&st->peer);
}

static mt_stats_t g_stats0;

static void stats_begin(mt_runtime_t *rt)
{
    mt_runtime_stats(rt, &g_stats0);
}

/*  Diagnostics: runtime counters over the timed region. */
static void stats_end(mt_runtime_t *rt, const char *bench)
{
    mt_stats_t s;
    mt_runtime_stats(rt, &s);
    char runs[512];
    size_t off = 0;
    runs[0] = '\0';
    for (int i = 0; i < s.workers && i < MT_MAX_WORKERS && off < sizeof runs - 32; i++)
        off += (size_t) snprintf(runs + off, sizeof runs - off, "%s%" PRIu64,
                                 i ? "," : "",
                                 s.worker_runs[i] - g_stats0.worker_runs[i]);
    fprintf(stderr,
            "# %s stats: sent=%" PRIu64 " delivered=%" PRIu64
            " dropped=%" PRIu64 " spawned=%" PRIu64 " alive=%" PRIu64
            " steals=%" PRIu64 " parks=%" PRIu64 " worker_runs=%s\n",
            bench, s.msgs_sent - g_stats0.msgs_sent,
            s.msgs_delivered - g_stats0.msgs_delivered,
            s.msgs_dropped - g_stats0.msgs_dropped,
            s.actors_spawned - g_stats0.actors_spawned, s.actors_alive,
            s.steals - g_stats0.steals, s.parks - g_stats0.parks, runs);
    if (s.msgs_dropped != g_stats0.msgs_dropped)
        fprintf(stderr, "# WARNING: %s: %" PRIu64 " messages dropped in the "
                "timed region (none expected)\n", bench,
                s.msgs_dropped - g_stats0.msgs_dropped);
}

/* ------------------------------------------------------------ pingpong -- */
/*  Two identical actors. The message is the int64 n = number of
    actor-to-actor messages delivered so far (1..N); whoever receives N
    sends done(N). A (index 0) receives the even ones, B the odd ones: each
    checks that it gets exactly its sequence. */

static int64_t g_pp_n;

typedef struct {
    mt_actor_t *peer;       /* first: peer_state_destroy */
    int64_t expect;         /* next payload this actor must receive */
} pp_state_t;

static void pp_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    pp_state_t *st = state;
    switch (msg->type) {
    case M_DATA: {
        int64_t n = mt_msg_i64(msg);
        if (n != st->expect)
            report_err(n);
        st->expect += 2;
        if (n == g_pp_n)
            mt_send_i64(g_coord, M_DONE, n);
        else
            mt_send_i64(st->peer, M_DATA, n + 1);
        break;
    }
    case M_SETUP: {
        int64_t index;
        st->peer = take_setup(msg, &index);
        st->expect = index == 0 ? 2 : 1;
        break;
    }
    case M_START:
        mt_send_i64(st->peer, M_DATA, 1);
        break;
    default:
        report_err(-(int64_t) msg->type);
    }
}

static void run_pingpong(mt_runtime_t *rt, mt_probe_t *probe, int64_t n)
{
    g_pp_n = n;
    mt_actor_t *a = spawn_inline(rt, pp_behaviour, sizeof(pp_state_t), peer_state_destroy);
    mt_actor_t *b = spawn_inline(rt, pp_behaviour, sizeof(pp_state_t), peer_state_destroy);
    send_setup(a, b, 0);
    send_setup(b, a, 1);
    stats_begin(rt);

    double t0 = now_s();
    mt_send(a, mt_msg_new(M_START, 0));
    mt_msg_t *done = wait_done(probe, "pingpong");
    double t1 = now_s();

    int64_t last = mt_msg_i64(done);
    mt_msg_free(done);
    stats_end(rt, "pingpong");
    if (last != n)
        die("pingpong: done carried %" PRId64 ", expected %" PRId64, last, n);
    emit_peer("pingpong", (double) n / (t1 - t0), "msgs/s");
    fprintf(stderr, "# pingpong N=%" PRId64 " elapsed=%.6f s\n", n, t1 - t0);

    mt_stop(a, 0);
    mt_stop(b, 0);
    mt_actor_unref(&a);
    mt_actor_unref(&b);
}

/* --------------------------------------------------------------- fanin -- */
/*  64 senders, each sends M int64 messages (0..M-1) to R on `go`, then
    stops. R counts them and sums the payloads; at S·M it sends done with
    both, then stops. */

static int64_t g_fanin_m;

typedef struct {
    int64_t count;
    int64_t sum;
} fanin_done_t;

typedef struct {
    int64_t count;
    int64_t sum;
    int64_t total;
} fanin_recv_state_t;

static void fanin_recv_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    fanin_recv_state_t *st = state;
    if (msg->type == M_DATA) {
        st->sum += mt_msg_i64(msg);
        if (++st->count == st->total) {
            mt_msg_t *d = mt_msg_new(M_DONE, sizeof(fanin_done_t));
            fanin_done_t *fd = mt_msg_data(d);
            fd->count = st->count;
            fd->sum = st->sum;
            mt_send(g_coord, d);
            mt_stop(self, 0);
        }
    } else if (msg->type == M_GO && st->total == 0) {
        st->total = mt_msg_i64(msg);    /* setup: the target count S·M */
    } else {
        report_err(-(int64_t) msg->type);
    }
}

static void fanin_sender_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    peer_state_t *st = state;
    switch (msg->type) {
    case M_SETUP:
        st->peer = take_setup(msg, NULL);
        break;
    case M_GO: {
        mt_actor_t *r = st->peer;
        int64_t m = g_fanin_m;
        for (int64_t i = 0; i < m; i++)
            mt_send_i64(r, M_DATA, i);
        mt_stop(self, 0);
        break;
    }
    default:
        report_err(-(int64_t) msg->type);
    }
}

static void run_fanin(mt_runtime_t *rt, mt_probe_t *probe, int64_t m)
{
    g_fanin_m = m;
    int64_t total = m * FANIN_SENDERS;
    mt_actor_t *r = spawn_inline(rt, fanin_recv_behaviour, sizeof(fanin_recv_state_t), NULL);
    mt_send_i64(r, M_GO, total);
    mt_actor_t *senders[FANIN_SENDERS];
    for (int i = 0; i < FANIN_SENDERS; i++) {
        senders[i] = spawn_inline(rt, fanin_sender_behaviour, sizeof(peer_state_t),
                                  peer_state_destroy);
        send_setup(senders[i], r, i);
    }
    stats_begin(rt);

    double t0 = now_s();
    for (int i = 0; i < FANIN_SENDERS; i++)
        mt_send(senders[i], mt_msg_new(M_GO, 0));
    mt_msg_t *done = wait_done(probe, "fanin");
    double t1 = now_s();

    fanin_done_t fd = *(fanin_done_t *) mt_msg_data(done);
    mt_msg_free(done);
    stats_end(rt, "fanin");
    int64_t want_sum = FANIN_SENDERS * (m * (m - 1) / 2);
    if (fd.count != total || fd.sum != want_sum)
        die("fanin: count=%" PRId64 " sum=%" PRId64 ", expected %" PRId64
            " and %" PRId64, fd.count, fd.sum, total, want_sum);
    emit_peer("fanin", (double) total / (t1 - t0), "msgs/s");
    fprintf(stderr, "# fanin S=%d M=%" PRId64 " elapsed=%.6f s\n",
            FANIN_SENDERS, m, t1 - t0);

    for (int i = 0; i < FANIN_SENDERS; i++)
        mt_actor_unref(&senders[i]);
    mt_actor_unref(&r);
}

/* --------------------------------------------------------------- spawn -- */
/*  The coordinator spawns K children (no state: the collector's address is
    a global, as in a closure), samples RSS, sends each one int64; each
    child sends ack to the collector and stops; the collector sends done(K)
    to the coordinator after K acks (as CAF's program does). */

static mt_actor_t *g_collector;   /* borrowed; outlives the children */

typedef struct {
    int64_t count;
    int64_t k;
} collector_state_t;

static void collector_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    collector_state_t *st = state;
    if (msg->type == M_ACK) {
        if (++st->count == st->k) {
            mt_send_i64(g_coord, M_DONE, st->count);
            mt_stop(self, 0);
        }
    } else if (msg->type == M_GO) {     /* setup: K */
        st->k = mt_msg_i64(msg);
    } else {
        report_err(-(int64_t) msg->type);
    }
}

static void child_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    if (msg->type != M_DATA || mt_msg_i64(msg) != 1)
        report_err(msg->type == M_DATA ? mt_msg_i64(msg) : -(int64_t) msg->type);
    mt_send(g_collector, mt_msg_new(M_ACK, 0));
    mt_stop(self, 0);
}

static void run_spawn(mt_runtime_t *rt, mt_probe_t *probe, int64_t k)
{
    mt_actor_t *collector = spawn_inline(rt, collector_behaviour,
                                         sizeof(collector_state_t), NULL);
    g_collector = collector;
    mt_send_i64(collector, M_GO, k);
    /*  Handle storage: allocated, not touched (like CAF's reserved vector:
        its pages are faulted in during the loop and count in spawn_rss). */
    mt_actor_t **kids = malloc((size_t) k * sizeof *kids);
    if (!kids)
        die("spawn: cannot allocate %" PRId64 " handles", k);
    stats_begin(rt);

    long rss0 = rss_bytes();
    double t0 = now_s();
    for (int64_t i = 0; i < k; i++) {
        kids[i] = mt_spawn(rt, child_behaviour, NULL, NULL);
        if (!kids[i])
            die("spawn: mt_spawn returned NULL at child %" PRId64, i);
    }
    long rss1 = rss_bytes();
    for (int64_t i = 0; i < k; i++)
        mt_send_i64(kids[i], M_DATA, 1);
    mt_msg_t *done = wait_done(probe, "spawn");
    double t1 = now_s();

    int64_t acks = mt_msg_i64(done);
    mt_msg_free(done);
    stats_end(rt, "spawn");
    if (acks != k)
        die("spawn: collector counted %" PRId64 " acks, expected %" PRId64, acks, k);
    if (rss0 < 0 || rss1 < 0)
        die("spawn: cannot read VmRSS from /proc/self/status");
    emit_peer("spawn_time", (t1 - t0) * 1e6 / (double) k, "us/actor");
    emit_peer("spawn_rss", (double) (rss1 - rss0) / (double) k, "bytes/actor");
    fprintf(stderr, "# spawn K=%" PRId64 " elapsed=%.6f s rss0=%ld rss1=%ld\n",
            k, t1 - t0, rss0, rss1);

    for (int64_t i = 0; i < k; i++)
        mt_actor_unref(&kids[i]);
    free(kids);
    g_collector = NULL;
    mt_actor_unref(&collector);
}

/* ---------------------------------------------------------------- ring -- */
/*  RING_SIZE nodes; node i knows node (i+1) mod R. The token r is the
    number of hops left; the node receiving 0 sends done(its index): it must
    be node H mod R. */

typedef struct {
    mt_actor_t *peer;       /* first: peer_state_destroy */
    int64_t index;
} ring_state_t;

static void ring_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    ring_state_t *st = state;
    switch (msg->type) {
    case M_DATA: {
        int64_t r = mt_msg_i64(msg);
        if (r == 0)
            mt_send_i64(g_coord, M_DONE, st->index);
        else
            mt_send_i64(st->peer, M_DATA, r - 1);
        break;
    }
    case M_SETUP:
        st->peer = take_setup(msg, &st->index);
        break;
    default:
        report_err(-(int64_t) msg->type);
    }
}

static void run_ring(mt_runtime_t *rt, mt_probe_t *probe, int64_t h)
{
    mt_actor_t *nodes[RING_SIZE];
    for (int i = 0; i < RING_SIZE; i++)
        nodes[i] = spawn_inline(rt, ring_behaviour, sizeof(ring_state_t),
                                peer_state_destroy);
    for (int i = 0; i < RING_SIZE; i++)
        send_setup(nodes[i], nodes[(i + 1) % RING_SIZE], i);
    stats_begin(rt);

    double t0 = now_s();
    mt_send_i64(nodes[0], M_DATA, h);
    mt_msg_t *done = wait_done(probe, "ring");
    double t1 = now_s();

    int64_t last = mt_msg_i64(done);
    mt_msg_free(done);
    stats_end(rt, "ring");
    if (last != h % RING_SIZE)
        die("ring: token ended at node %" PRId64 ", expected %" PRId64,
            last, h % RING_SIZE);
    emit_peer("ring", (double) h / (t1 - t0), "hops/s");
    fprintf(stderr, "# ring R=%d H=%" PRId64 " elapsed=%.6f s\n",
            RING_SIZE, h, t1 - t0);

    for (int i = 0; i < RING_SIZE; i++)
        mt_stop(nodes[i], 0);
    for (int i = 0; i < RING_SIZE; i++)
        mt_actor_unref(&nodes[i]);
}

/* ---------------------------------------------------------------- main -- */

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s <pingpong|fanin|spawn|ring> [param]\n"
            "  pingpong N  messages               (default %d)\n"
            "  fanin M     messages per sender, %d senders (default %d)\n"
            "  spawn K     actors                 (default %d)\n"
            "  ring H      hops, %d nodes        (default %d)\n",
            argv0, DEF_PINGPONG_N, FANIN_SENDERS, DEF_FANIN_M, DEF_SPAWN_K,
            RING_SIZE, DEF_RING_H);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        return usage(argv[0]);
    const char *bench = argv[1];
    void (*run)(mt_runtime_t *, mt_probe_t *, int64_t);
    int64_t param;
    if (strcmp(bench, "pingpong") == 0)
        run = run_pingpong, param = DEF_PINGPONG_N;
    else if (strcmp(bench, "fanin") == 0)
        run = run_fanin, param = DEF_FANIN_M;
    else if (strcmp(bench, "spawn") == 0)
        run = run_spawn, param = DEF_SPAWN_K;
    else if (strcmp(bench, "ring") == 0)
        run = run_ring, param = DEF_RING_H;
    else
        return usage(argv[0]);
    if (argc == 3) {
        char *end;
        errno = 0;
        param = strtoll(argv[2], &end, 10);
        if (errno || *end || end == argv[2] || param < 1)
            return usage(argv[0]);
    }

    mt_runtime_opts_t opts = { .workers = 0, .batch = 0 };
    const char *w = getenv("MT_BENCH_WORKERS");
    if (w && *w)
        opts.workers = atoi(w);
    mt_runtime_t *rt = mt_runtime_new(&opts);
    if (!rt)
        die("mt_runtime_new: %s", strerror(errno));
    mt_stats_t s;
    mt_runtime_stats(rt, &s);
    fprintf(stderr, "# metactor bench=%s param=%" PRId64 " workers=%d batch=%d\n",
            bench, param, s.workers, opts.batch ? opts.batch : 64);

    mt_probe_t *probe = mt_probe_new(rt);
    if (!probe)
        die("mt_probe_new returned NULL");
    g_coord = mt_probe_actor(probe);

    run(rt, probe, param);

    /* Teardown, untimed. */
    double t2 = now_s();
    mt_probe_destroy(&probe);
    mt_runtime_destroy(&rt);
    fprintf(stderr, "# teardown %.6f s\n", now_s() - t2);
    return 0;
}
