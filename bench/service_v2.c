/*  service_v2.c — mt_bench_service's issue-13 figures, on 10,000 nodes
    (MT_BENCH_V2_NODES) registered and heartbeating through replica A:

      versions   node_versions_p50, node_versions_p99 (ms): node.versions
                 over every node (the version matrix: 2 components, 4 and 3
                 versions), MT_BENCH_V2_CALLS sequential calls (default 300);
                 node_versions_selector_p99 (ms): with a label selector that
                 picks a third of them
      locality   node_list_has_template_100_rps, node_list_has_template_1000_rps
                 (requests/s): node.list with has_template naming a template
                 100 (resp. 1,000) of the nodes hold, from MT_BENCH_V2_CLIENTS
                 client threads (default 4) for MT_BENCH_V2_S seconds each
                 (default 5)
      informer   informer_list_ms: mt_informer_start (list + catch-up) of the
                 10,000 nodes through A; informer_catchup_restart_ms: the
                 informer unsubscribed while all 10,000 heartbeat again through
                 B, A is SIGKILLed and restarted; from its resubscription (A
                 answering again) until its cache holds every new status
                 (node.changes pages of 10,000 from a replica just back)

    Nodes: a registration with the labels zone (z0..z2) and pool, the
    versions agent 2.0.(i%4) and cubelet 1.8.(i%3); a heartbeat ready, with
    images [img-a, img-b] and the local template tpl-hot on every tenth node
    and tpl-(i%100) on the others. Written with 256 requests in flight. */
#include "service_bench.h"

#include "mt_err.h"
#include "mt_informer.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINDOW 256

static long s_nodes;

static void node_id(char *buf, size_t cap, long i)
{
    snprintf(buf, cap, "v2-%06ld", i);
}

static void pack_reg(cli_t *c, long i)
{
    char id[32], agent[16], cubelet[16], zone[8];
    node_id(id, sizeof id, i);
    snprintf(agent, sizeof agent, "2.0.%ld", i % 4);
    snprintf(cubelet, sizeof cubelet, "1.8.%ld", i % 3);
    snprintf(zone, sizeof zone, "z%ld", i % 3);
    cli_begin(c, "node.register", 1);
    msgpack_packer *pk = &c->pk;
    cli_pack_str(pk, "node");
    msgpack_pack_map(pk, 4);
    cli_pack_str(pk, "id");
    cli_pack_str(pk, id);
    cli_pack_str(pk, "host_ip");
    cli_pack_str(pk, "10.1.2.3");
    cli_pack_str(pk, "labels");
    msgpack_pack_map(pk, 2);
    cli_pack_str(pk, "zone");
    cli_pack_str(pk, zone);
    cli_pack_str(pk, "pool");
    cli_pack_str(pk, "general");
    cli_pack_str(pk, "versions");
    msgpack_pack_map(pk, 2);
    cli_pack_str(pk, "agent");
    cli_pack_str(pk, agent);
    cli_pack_str(pk, "cubelet");
    cli_pack_str(pk, cubelet);
}

static void pack_beat(cli_t *c, long i)
{
    char id[32], tpl[16];
    node_id(id, sizeof id, i);
    if (i % 10 == 0)
        snprintf(tpl, sizeof tpl, "tpl-hot");
    else
        snprintf(tpl, sizeof tpl, "tpl-%ld", i % 100);
    cli_begin(c, "node.heartbeat", 4);
    msgpack_packer *pk = &c->pk;
    cli_pack_str(pk, "id");
    cli_pack_str(pk, id);
    cli_pack_str(pk, "ready");
    msgpack_pack_true(pk);
    cli_pack_str(pk, "images");
    msgpack_pack_array(pk, 2);
    cli_pack_str(pk, "img-a");
    cli_pack_str(pk, "img-b");
    cli_pack_str(pk, "local_templates");
    msgpack_pack_array(pk, 1);
    cli_pack_str(pk, tpl);
}

/*  Every node through c, WINDOW requests in flight: registrations
    (beat false) or heartbeats. */
static void write_all(cli_t *c, bool beat)
{
    long sent = 0, done = 0;
    while (done < s_nodes) {
        while (sent < s_nodes && sent - done < WINDOW) {
            if (beat)
                pack_beat(c, sent);
            else
                pack_reg(c, sent);
            cli_send(c);
            sent++;
        }
        uint64_t rid;
        if (cli_recv(c, CLI_CALL_MS, &rid) != 0)
            bp_die("%s: no reply in %d ms", beat ? "node.heartbeat" : "node.register",
                   CLI_CALL_MS);
        if (cli_result(c, NULL) != 0)
            bp_die("%s on %s: %s", beat ? "node.heartbeat" : "node.register", c->name, c->code);
        done++;
    }
}

static void fill(cli_t *a)
{
    double t0 = now_s();
    write_all(a, false);
    write_all(a, true);
    note("# %ld nodes registered and heartbeating in %.1f s", s_nodes, now_s() - t0);
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *) x, b = *(const int64_t *) y;
    return (a > b) - (a < b);
}

/*  calls sequential node.versions (with selector zone=z1 when sel): p50, p99 in ms. */
static void versions_latency(cli_t *c, int calls, bool sel, double *p50, double *p99)
{
    int64_t *us = calloc((size_t) calls, sizeof *us);
    for (int k = 0; k < calls; k++) {
        cli_begin(c, "node.versions", sel ? 1 : 0);
        if (sel) {
            cli_pack_str(&c->pk, "selector");
            msgpack_pack_map(&c->pk, 1);
            cli_pack_str(&c->pk, "zone");
            cli_pack_str(&c->pk, "z1");
        }
        int64_t t0 = now_us();
        const msgpack_object *res;
        if (cli_call(c, CLI_CALL_MS, &res) != 0)
            bp_die("node.versions: %s", c->code);
        us[k] = now_us() - t0;
        if (k == 0) {
            const msgpack_object *comps = NULL;
            for (uint32_t i = 0; i < res->via.map.size; i++)
                if (cli_obj_is(&res->via.map.ptr[i].key, "components"))
                    comps = &res->via.map.ptr[i].val;
            if (!comps || comps->type != MSGPACK_OBJECT_MAP || comps->via.map.size != 2)
                bp_die("node.versions: not the two components of the fill");
        }
    }
    qsort(us, (size_t) calls, sizeof *us, cmp_i64);
    *p50 = us[calls / 2] / 1000.0;
    *p99 = us[(calls * 99) / 100] / 1000.0;
    free(us);
}

static bp_proc_t *replica_ready(int index, cli_t *c, const char *name)
{
    bp_proc_t *p = start_replica(index, NULL);
    cli_open(c, name, p->endpoint);
    cli_wait_ready(c, p, 30000);
    return p;
}

int fig_versions(void)
{
    s_nodes = env_long("MT_BENCH_V2_NODES", 10000, 100, 1000000);
    int calls = (int) env_long("MT_BENCH_V2_CALLS", 300, 10, 100000);
    cli_t a;
    bp_proc_t *pa = replica_ready(0, &a, "A");
    fill(&a);
    double p50, p99, s50, s99;
    versions_latency(&a, 20, false, &p50, &p99);      /* warm-up */
    cpu_win_t cpu = { 0 };
    cpu_add(&cpu, "A", pa->pid);
    cpu_begin(&cpu);
    versions_latency(&a, calls, false, &p50, &p99);
    cpu_end(&cpu, "node.versions", 0);
    versions_latency(&a, calls, true, &s50, &s99);
    note("# node.versions over %ld nodes: p50 %.3f ms p99 %.3f ms; selector (a third): "
         "p50 %.3f ms p99 %.3f ms", s_nodes, p50, p99, s50, s99);
    if (!bp_running(pa))
        bp_die("A ended during the run");
    emit_fig("node_versions_p50", p50, "ms");
    emit_fig("node_versions_p99", p99, "ms");
    emit_fig("node_versions_selector_p99", s99, "ms");
    cli_close(&a);
    return 0;
}

/* ---- locality ----------------------------------------------------------- */

typedef struct {
    const char *endpoint, *tpl;
    double secs;
    uint64_t done, bad;
    uint32_t nodes;                 /* in the first reply */
} list_load_t;

static void *list_main(void *arg)
{
    list_load_t *l = arg;
    cli_t c;
    cli_open(&c, "L", l->endpoint);
    double end = now_s() + l->secs;
    while (now_s() < end) {
        cli_begin(&c, "node.list", 1);
        cli_pack_str(&c.pk, "has_template");
        cli_pack_str(&c.pk, l->tpl);
        const msgpack_object *res;
        if (cli_call(&c, CLI_CALL_MS, &res) != 0) {
            l->bad++;
            continue;
        }
        if (l->done++ == 0)
            for (uint32_t i = 0; i < res->via.map.size; i++)
                if (cli_obj_is(&res->via.map.ptr[i].key, "nodes"))
                    l->nodes = res->via.map.ptr[i].val.via.array.size;
    }
    cli_close(&c);
    return NULL;
}

/*  node.list has_template=tpl from `clients` threads: requests/s. */
static double list_rps(bp_proc_t *pa, const char *tpl, int clients, double secs,
                       uint32_t expect)
{
    list_load_t l[64];
    pthread_t th[64];
    cpu_win_t cpu = { 0 };
    cpu_add(&cpu, "A", pa->pid);
    cpu_add(&cpu, "bench (clients)", getpid());
    cpu_begin(&cpu);
    double t0 = now_s();
    for (int i = 0; i < clients; i++) {
        l[i] = (list_load_t) { .endpoint = pa->endpoint, .tpl = tpl, .secs = secs };
        if (pthread_create(&th[i], NULL, list_main, &l[i]) != 0)
            bp_die("pthread_create");
    }
    uint64_t done = 0, bad = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        done += l[i].done;
        bad += l[i].bad;
        if (l[i].done && l[i].nodes != expect)
            bp_die("has_template %s: %u nodes, expected %u", tpl, l[i].nodes, expect);
    }
    double el = now_s() - t0;
    cpu_end(&cpu, tpl, 0);
    if (bad)
        bp_die("%" PRIu64 " node.list calls failed", bad);
    note("# node.list has_template=%s (%u nodes of %ld): %" PRIu64 " calls in %.1f s from %d "
         "clients", tpl, expect, s_nodes, done, el, clients);
    return (double) done / el;
}

int fig_locality(void)
{
    s_nodes = env_long("MT_BENCH_V2_NODES", 10000, 1000, 1000000);
    int clients = (int) env_long("MT_BENCH_V2_CLIENTS", 4, 1, 64);
    double secs = (double) env_long("MT_BENCH_V2_S", 5, 1, 3600);
    cli_t a;
    bp_proc_t *pa = replica_ready(0, &a, "A");
    fill(&a);
    /*  tpl-7: i % 100 == 7 (never a multiple of ten): s_nodes / 100. */
    list_rps(pa, "tpl-7", clients, 1, (uint32_t) (s_nodes / 100));     /* warm-up */
    double r100 = list_rps(pa, "tpl-7", clients, secs, (uint32_t) (s_nodes / 100));
    double r1000 = list_rps(pa, "tpl-hot", clients, secs, (uint32_t) (s_nodes / 10));
    if (!bp_running(pa))
        bp_die("A ended during the run");
    emit_fig("node_list_has_template_100_rps", r100, "requests/s");
    emit_fig("node_list_has_template_1000_rps", r1000, "requests/s");
    cli_close(&a);
    return 0;
}

/* ---- informer ----------------------------------------------------------- */

/*  k[0]: a status revision; k[1] counts the nodes above it, k[2] is the
    highest seen. */
static void count_beaten(const char *id, int64_t reg, int64_t status, void *arg)
{
    (void) id;
    (void) reg;
    int64_t *k = arg;
    if (status > k[0])
        k[1]++;
    if (status > k[2])
        k[2] = status;
}

int fig_informer(void)
{
    s_nodes = env_long("MT_BENCH_V2_NODES", 10000, 100, 1000000);
    cli_t a, b;
    bp_proc_t *pa = replica_ready(0, &a, "A");
    bp_proc_t *pb = replica_ready(1, &b, "B");
    cli_wait_members(&a, 2, 30000);
    fill(&a);
    mt_informer_opts_t o = { .endpoint = pa->endpoint, .timeout_ms = 20000, .resync_ms = -1 };
    mt_informer_t *inf = mt_informer_new(&o);
    if (!inf)
        bp_die("mt_informer_new");
    double t0 = now_s();
    int rc = mt_informer_start(inf, -1);
    double list_ms = (now_s() - t0) * 1000;
    if (rc != MT_OK || mt_informer_size(inf) != (size_t) s_nodes)
        bp_die("informer start: %s, %zu nodes", mt_strerror(rc), mt_informer_size(inf));
    /*  The highest status revision it holds: every new heartbeat is above. */
    int64_t k[3] = { 0, 0, 0 };
    int64_t mark = mt_informer_mark(inf);
    mt_informer_each(inf, count_beaten, k);
    k[0] = k[2];
    k[1] = 0;
    note("# informer: %ld nodes listed and caught up in %.1f ms (mark %" PRId64 ")", s_nodes,
         list_ms, mark);

    mt_informer_unsubscribe(inf);
    write_all(&b, true);            /* every node heartbeats again, through B */
    bp_kill(pa);
    bp_restart(pa);
    cli_reopen(&a, pa->endpoint);
    cli_wait_ready(&a, pa, 30000);
    /*  From here: the informer learns of the restart (it resubscribes) and
        must end holding every new status. */
    t0 = now_s();
    if (mt_informer_resubscribe(inf) != MT_OK)
        bp_die("resubscribe");
    int64_t beaten = 0;
    while (beaten < s_nodes) {
        if (now_s() - t0 > 120)
            bp_die("the informer did not catch up in 120 s (%" PRId64 " of %ld)", beaten,
                   s_nodes);
        mt_informer_poll(inf, 0);
        k[1] = 0;
        mt_informer_each(inf, count_beaten, k);
        beaten = k[1];
    }
    double catch_ms = (now_s() - t0) * 1000;
    mt_informer_stats_t st;
    mt_informer_stats(inf, &st);
    note("# informer: caught up %ld new statuses in %.1f ms after A's restart (%" PRIu64
         " catch-up rounds, %" PRIu64 " failovers, %" PRIu64 " changes applied)", s_nodes,
         catch_ms, st.catchups, st.failovers, st.applied);
    mt_informer_destroy(&inf);
    if (!bp_running(pa) || !bp_running(pb))
        bp_die("a replica ended during the run");
    emit_fig("informer_list_ms", list_ms, "ms");
    emit_fig("informer_catchup_restart_ms", catch_ms, "ms");
    cli_close(&a);
    cli_close(&b);
    return 0;
}
