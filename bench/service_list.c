/*  service_list.c — mt_bench_service's list figures: the scheduler's query
    of etcd's workload 4 (../shared/peers/etcd/README.md, "Workloads" 4),
    the healthy nodes matching a label selector. etcd cannot filter by
    value, so its client gets every document and filters; metactor answers
    the query itself (node.list with selector and healthy_only), and that
    is what is measured:

      list       list_rps (requests/s), list_p50, list_p99 (ms), list_bytes
                 (bytes/list: one reply's body): MT_BENCH_LIST_CLIENTS client
                 threads (default 4, one DEALER each, one request in flight)
                 repeat node.list {selector: {zone: z3}, healthy_only: true}
                 on replica A for MT_BENCH_LIST_S seconds (default 5), after
                 one untimed call each; every reply must hold the expected
                 number of nodes. MT_BENCH_LIST_NODES nodes (default 10,000)
      list_100k  the same on 100,000 nodes: list_100k_rps, list_100k_p50,
                 list_100k_p99, list_100k_bytes

    Nodes: etcd's document (bench/main.go, nodeValue) for node i: id
    node-NNNNN, host_ip 10.(20 + i / 65536).(i / 256 % 256).(i % 256),
    grpc_port 9090, instance_type cube.c8m32, 10 labels (zone z(i % 10),
    pool p(i / 10 % 4), rack r(i % 200) and seven the same on every node),
    capacity of 3 and 5 versions; a heartbeat with 2 conditions and 3
    images, not ready when i % 30 == 13. Written with 256 requests in
    flight.

    etcd's 1 node in 25 (i % 25 == 3) is unhealthy because its document's
    heartbeat_at is 2 minutes old. metactor judges health by when the
    database committed the last heartbeat, never by heartbeat_at
    (PROTOCOL.md, `healthy`), so those nodes are registered and never
    heartbeat: unhealthy for the same reason, no beat within the timeout.
    At 10,000 nodes 533 match, as for etcd. A runs with --health-timeout 1h
    so that a slow fill or a long window never sees a fresh heartbeat age
    out (the count would change under the clients). */
#include "service_bench.h"

#include "mt_client.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINDOW 256                  /* requests in flight while filling */
#define MAX_CLIENTS 64

static bool never_beats(long i)
{
    return i % 25 == 3;
}

static bool ready(long i)
{
    return i % 30 != 13;
}

/*  How many nodes the query finds among the first n. */
static uint32_t expected(long n)
{
    uint32_t k = 0;
    for (long i = 3; i < n; i += 10)    /* zone z3 */
        if (ready(i) && !never_beats(i))
            k++;
    return k;
}

static void node_id(char *buf, size_t cap, long i)
{
    snprintf(buf, cap, "node-%05ld", i);
}

static void pack_pairs(msgpack_packer *pk, const char *const (*kv)[2], uint32_t n)
{
    msgpack_pack_map(pk, n);
    for (uint32_t k = 0; k < n; k++) {
        cli_pack_str(pk, kv[k][0]);
        cli_pack_str(pk, kv[k][1]);
    }
}

static void pack_labels(msgpack_packer *pk, long i)
{
    char zone[8], pool[8], rack[8];
    snprintf(zone, sizeof zone, "z%ld", i % 10);
    snprintf(pool, sizeof pool, "p%ld", i / 10 % 4);
    snprintf(rack, sizeof rack, "r%03ld", i % 200);
    const char *const labels[10][2] = {
        { "zone", zone }, { "pool", pool }, { "rack", rack }, { "arch", "amd64" },
        { "os", "linux" }, { "kernel", "6.1.0-18" }, { "gpu", "none" }, { "tier", "general" },
        { "owner", "platform-team" }, { "cube.io/runtime-flavor", "firecracker" },
    };
    pack_pairs(pk, labels, 10);
}

static void pack_reg(cli_t *c, long i)
{
    static const char *const versions[5][2] = {
        { "agent", "1.14.2" }, { "runtime", "2.0.7" }, { "sidecar", "0.9.13" },
        { "kernel", "6.1.0-18" }, { "firmware", "2024.11" },
    };
    char id[32], ip[32];
    node_id(id, sizeof id, i);
    snprintf(ip, sizeof ip, "10.%ld.%ld.%ld", 20 + i / 65536, i / 256 % 256, i % 256);
    cli_begin(c, "node.register", 1);
    msgpack_packer *pk = &c->pk;
    cli_pack_str(pk, "node");
    msgpack_pack_map(pk, 7);
    cli_pack_str(pk, "id");
    cli_pack_str(pk, id);
    cli_pack_str(pk, "host_ip");
    cli_pack_str(pk, ip);
    cli_pack_str(pk, "grpc_port");
    msgpack_pack_uint32(pk, 9090);
    cli_pack_str(pk, "instance_type");
    cli_pack_str(pk, "cube.c8m32");
    cli_pack_str(pk, "labels");
    pack_labels(pk, i);
    cli_pack_str(pk, "capacity");
    msgpack_pack_map(pk, 3);
    cli_pack_str(pk, "cpu_milli");
    msgpack_pack_uint32(pk, 8000);
    cli_pack_str(pk, "memory_mb");
    msgpack_pack_uint32(pk, 32768);
    cli_pack_str(pk, "disk_gb");
    msgpack_pack_uint32(pk, 200);
    cli_pack_str(pk, "versions");
    pack_pairs(pk, versions, 5);
}

static void pack_beat(cli_t *c, long i, int64_t now_ms)
{
    static const char *const conds[2][4] = {
        { "DiskPressure", "False", "NoDiskPressure", "disk ok" },
        { "MemoryPressure", "False", "SufficientMemory", "memory ok" },
    };
    char id[32];
    node_id(id, sizeof id, i);
    cli_begin(c, "node.heartbeat", 5);
    msgpack_packer *pk = &c->pk;
    cli_pack_str(pk, "id");
    cli_pack_str(pk, id);
    cli_pack_str(pk, "ready");
    if (ready(i))
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    cli_pack_str(pk, "heartbeat_at");
    msgpack_pack_int64(pk, now_ms);
    pack_conditions(pk, conds);
    cli_pack_str(pk, "images");
    msgpack_pack_array(pk, 3);
    cli_pack_str(pk, "reg.cube.io/cube/agent:1.14.2");
    cli_pack_str(pk, "reg.cube.io/cube/runtime:2.0.7");
    cli_pack_str(pk, "reg.cube.io/cube/sidecar:0.9.13");
}

/*  Nodes 0..n-1 through c, WINDOW requests in flight: registrations, or
    (beat) heartbeats of every node but the silent ones. How many written. */
static long write_all(cli_t *c, long n, bool beat)
{
    const char *op = beat ? "node.heartbeat" : "node.register";
    int64_t now_ms = wall_ms();
    long next = 0, inflight = 0, sent = 0;
    for (;;) {
        while (inflight < WINDOW && next < n) {
            long i = next++;
            if (beat && never_beats(i))
                continue;
            if (beat)
                pack_beat(c, i, now_ms);
            else
                pack_reg(c, i);
            cli_send(c);
            inflight++;
            sent++;
        }
        if (inflight == 0)
            return sent;
        uint64_t rid;
        if (cli_recv(c, CLI_CALL_MS, &rid) != 0)
            bp_die("%s: no reply in %d ms", op, CLI_CALL_MS);
        if (cli_result(c, NULL) != 0)
            bp_die("%s on %s: %s", op, c->name, c->code);
        inflight--;
    }
}

/*  One node.list of the query: 0 with the nodes it returned and the
    reply's size, 1 on an error reply (c->code), -1 on a timeout. */
static int list_once(cli_t *c, uint32_t *count, size_t *bytes)
{
    cli_begin(c, "node.list", 2);
    cli_pack_str(&c->pk, "selector");
    msgpack_pack_map(&c->pk, 1);
    cli_pack_str(&c->pk, "zone");
    cli_pack_str(&c->pk, "z3");
    cli_pack_str(&c->pk, "healthy_only");
    msgpack_pack_true(&c->pk);
    const msgpack_object *res;
    int rc = cli_call(c, CLI_CALL_MS, &res);
    if (rc != 0)
        return rc;
    const msgpack_object *nodes = mt_client_map_first(res, "nodes");
    *count = nodes && nodes->type == MSGPACK_OBJECT_ARRAY ? nodes->via.array.size : UINT32_MAX;
    *bytes = zmq_msg_size(&c->in);
    return 0;
}

/*  A client thread: its window starts when every client has made its
    untimed call (the barrier) and lasts secs; a call answered after it
    is not counted, and none starts after it. */
typedef struct {
    const char *endpoint;
    uint32_t expect;
    double secs;
    pthread_barrier_t *start;
    double *lat;                    /* ms, of the calls answered in the window */
    size_t n, cap;
    int rc;                         /* the first failed call's (0: none) */
    uint32_t count;                 /* the last reply's */
    size_t bytes;
    char code[32];
} lister_t;

static void lat_push(lister_t *l, double ms)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->lat = realloc(l->lat, l->cap * sizeof *l->lat);
        if (!l->lat)
            bp_die("out of memory");
    }
    l->lat[l->n++] = ms;
}

static void *lister_main(void *arg)
{
    lister_t *l = arg;
    cli_t c;
    cli_open(&c, "L", l->endpoint);
    l->rc = list_once(&c, &l->count, &l->bytes);
    pthread_barrier_wait(l->start);
    double end = now_s() + l->secs;
    while (l->rc == 0 && l->count == l->expect) {
        double t0 = now_s();
        if (t0 >= end)
            break;
        l->rc = list_once(&c, &l->count, &l->bytes);
        double t1 = now_s();
        if (l->rc == 0 && t1 <= end)
            lat_push(l, (t1 - t0) * 1e3);
    }
    snprintf(l->code, sizeof l->code, "%s", l->rc > 0 ? c.code : l->rc < 0 ? "timeout" : "");
    cli_close(&c);
    return NULL;
}

typedef struct {
    double rps, p50, p99;
    size_t bytes;
} list_result_t;

/*  `clients` threads against A for secs: the pooled figures. */
static list_result_t run_listers(bp_proc_t *pa, int clients, double secs, uint32_t expect)
{
    lister_t l[MAX_CLIENTS];
    pthread_t th[MAX_CLIENTS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned) clients + 1);
    for (int i = 0; i < clients; i++) {
        l[i] = (lister_t) { .endpoint = pa->endpoint, .expect = expect, .secs = secs,
                            .start = &start };
        if (pthread_create(&th[i], NULL, lister_main, &l[i]) != 0)
            bp_die("pthread_create");
    }
    cpu_win_t cpu = { 0 };
    cpu_add(&cpu, "A", pa->pid);
    cpu_add(&cpu, "bench (clients)", getpid());
    pthread_barrier_wait(&start);
    cpu_begin(&cpu);
    size_t n = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        n += l[i].n;
    }
    cpu_end(&cpu, "node.list", 0);
    pthread_barrier_destroy(&start);
    double *all = malloc((n + 1) * sizeof *all);
    if (!all)
        bp_die("out of memory");
    list_result_t r = { .bytes = l[0].bytes };
    n = 0;
    for (int i = 0; i < clients; i++) {
        if (l[i].rc != 0)
            bp_die("node.list on client %d: %s", i, l[i].code);
        if (l[i].count != expect)
            bp_die("node.list on client %d: %" PRIu32 " nodes, expected %" PRIu32, i,
                   l[i].count, expect);
        memcpy(all + n, l[i].lat, l[i].n * sizeof *all);
        n += l[i].n;
        free(l[i].lat);
    }
    qsort(all, n, sizeof *all, cmp_double);
    r.rps = (double) n / secs;
    r.p50 = pct(all, n, 0.5);
    r.p99 = pct(all, n, 0.99);
    note("node.list selector zone=z3, healthy_only: %zu calls in %.0f s from %d clients x 1 in "
         "flight: %.1f req/s, latency ms p50 %.3f p90 %.3f p99 %.3f max %.3f; reply %zu bytes",
         n, secs, clients, r.rps, r.p50, pct(all, n, 0.9), r.p99, n ? all[n - 1] : 0.0, r.bytes);
    free(all);
    return r;
}

static int list_figure(const char *name, long nodes)
{
    int clients = (int) env_long("MT_BENCH_LIST_CLIENTS", 4, 1, MAX_CLIENTS);
    double secs = (double) env_long("MT_BENCH_LIST_S", 5, 1, 3600);
    static const char *const flags[] = { "--health-timeout", "1h", NULL };
    bp_proc_t *pa = start_replica(0, flags);
    cli_t a;
    cli_open(&a, "A", pa->endpoint);
    cli_wait_ready(&a, pa, 30000);
    double t0 = now_s();
    write_all(&a, nodes, false);
    long beating = write_all(&a, nodes, true);
    uint32_t expect = expected(nodes);
    note("%ld nodes registered, %ld heartbeating, in %.1f s; the query matches %" PRIu32, nodes,
         beating, now_s() - t0, expect);
    list_result_t r = run_listers(pa, clients, secs, expect);
    if (!bp_running(pa))
        bp_die("A ended during the run");
    char fig[64];
    snprintf(fig, sizeof fig, "%s_rps", name);
    emit_fig(fig, r.rps, "requests/s");
    snprintf(fig, sizeof fig, "%s_p50", name);
    emit_fig(fig, r.p50, "ms");
    snprintf(fig, sizeof fig, "%s_p99", name);
    emit_fig(fig, r.p99, "ms");
    snprintf(fig, sizeof fig, "%s_bytes", name);
    emit_fig(fig, (double) r.bytes, "bytes/list");
    cli_close(&a);
    return 0;
}

int fig_list(void)
{
    return list_figure("list", env_long("MT_BENCH_LIST_NODES", 10000, 100, 1000000));
}

int fig_list_100k(void)
{
    return list_figure("list_100k", 100000);
}
