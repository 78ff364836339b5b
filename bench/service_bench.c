/*  service_bench.c — figures of the whole service, measured from outside:
    real metactord processes sharing a real MariaDB, reached over the wire
    protocol (PROTOCOL.md) like any client.

    Usage: mt_bench_service FIGURE DSN BINDIR LOGDIR
      convergence              convergence_p50, convergence_p99 (ms): from the
                               reply to a heartbeat on replica A until replica B's
                               node.get shows it (its status_revision), notices on
      convergence_reload_only  convergence_reload_only_p99 (ms): the same with B
                               started --subscribe 0 (it learns by reload only, as
                               the seed did) and --reload-interval MT_BENCH_RELOAD_MS
      get                      get_rps (requests/s), get_p50, get_p99 (µs): node.get
                               through one replica's gateway; echo_rps: a bare zmq
                               ROUTER echo in this process (its own thread) answering
                               the same clients with a body of node.get's reply size
      e2e                      e2e_heartbeat_ingest (acks/s): `metactl load
                               --bench` against one replica (its nodes registered
                               by a metactl before); e2e_cpu_per_ack (µs, every
                               process), e2e_machine_busy (% of all CPUs)
      e2e_floor                e2e_floor (acks/s), e2e_floor_cpu_per_ack (µs): the
                               same metactl load against a bare zmq echo in this
                               process answering each heartbeat with a real
                               reply's bytes and its rid: the front's floor
                               (service_e2e.c)
      convergence_curve, get_curve, e2e_curve
                               the same figure measured the same way with
                               CURVE on every hop, its names ending in _curve
                               (convergence_p50_curve, convergence_p99_curve;
                               get_rps_curve, get_p50_curve, get_p99_curve,
                               echo_rps_curve; e2e_heartbeat_ingest_curve)
      flood                    flood_rss_growth, flood_rss_after (MB): one client
                               sending 300,000 heartbeats it never reads
                               (service_flood.c documents it)
      versions, locality, informer
                               issue 13 at 10,000 nodes: node.versions latency,
                               node.list has_template requests/s, the informer's
                               list and its catch-up after a replica restart
                               (service_v2.c documents them)
      list                     list_rps (requests/s), list_p50, list_p99 (ms),
                               list_bytes (bytes/list): etcd's workload 4, the
                               healthy nodes with zone=z3 among 10,000 of etcd's
                               documents, node.list answering the query itself
                               (service_list.c documents it)
      list_100k                the same among 100,000 nodes (list_100k_rps,
                               list_100k_p50, list_100k_p99, list_100k_bytes)
      soak                     soak_rss_drift (%), soak_p99_first, soak_p99_last
                               (ms), soak_errors: A, B and C for minutes
                               (service_soak.c; scripts/bench soak)
      e2e_3                    e2e_heartbeat_ingest_3 (acks/s): A, B and C, a metactl
                               load each, on one server
      galera_ingest, galera_convergence, galera_failover
                               galera_heartbeat_ingest, galera_convergence_p50/_p99,
                               galera_failover_ms: on a Galera cluster, each replica
                               attached to a node of its own (service_galera.c;
                               scripts/bench galera)

    CURVE: certificates are made for the run with czmq's zcert in a
    temporary directory ($TMPDIR or /tmp, mt_bench_curve.XXXXXX; removed at
    exit, left behind only when a signal ends the program): `cluster` (role
    replica), shared by A and B, which run with --cert and --trust; `admin`
    (role admin), the identity of every bench client and of metactl (--cert,
    --server-key); the trust store holds both public files. B subscribes to
    A with the cluster certificate. The echo server of get_curve is a CURVE
    server with the cluster's key and no ZAP handler (libzmq then admits any
    client key): its figure is libzmq's own cost of CURVE at node.get's sizes.

    DSN: the figure's database (scripts/bench service gives each figure a fresh
    one). BINDIR holds metactord and metactl (a Release build); LOGDIR gets
    their logs, FIGURE-NAME.log. Every process started here is stopped here
    (SIGTERM, then SIGKILL after 15 s), on a signal too; the children also get
    SIGTERM if this process dies (PR_SET_PDEATHSIG).

    Replicas: A on tcp://127.0.0.1:PORT (notices on PORT+1), B on PORT+2 (PORT+3),
    C on PORT+4 (PORT+5), the echo servers on PORT+9; PORT is MT_BENCH_SVC_PORT
    (default 7460).

    Node contents are the "typical" ones of the store figures: a registration
    with 10 labels, 5 component versions, 4 capacity and 3 quota entries; a
    status with 2 conditions, 3 images and 2 local templates. The list figures
    write etcd's node document instead (service_list.c).

    Files: this one (the replicas, the CPU window, main), service_nodes.c (node
    requests), service_rss.c (VmRSS over time), service_echo.c (the bare
    echo), service_conv.c, service_get.c, service_e2e.c, service_flood.c,
    service_soak.c, service_galera.c, service_failover.c and service_list.c
    (the figures).

    stdout: only figure lines, exactly `bench=NAME value=V unit=U` (3 decimals).
    stderr: diagnostics, every line starting with '#'.
    Exit status: 0 on success, 1 if anything misbehaved, 2 on a usage error.

    Environment (optional; scripts/bench passes these through):
      MT_BENCH_SVC_PORT       base port (default 7460)
      MT_BENCH_SVC_ARGS       more metactord flags for every replica, separated by
                              spaces (experiments, e.g. "--workers 1")
      MT_BENCH_SERVER_PID     the database server's pid: its CPU time is shown
      MT_BENCH_CONV_WRITES    convergence: measured writes (default 2000, after 100
                              not measured)
      MT_BENCH_POLL_US        convergence: pause between two polls of B (default 50)
      MT_BENCH_RELOAD_MS      convergence_reload_only: B's reload interval (default
                              1000 ms: the seed's 30 s scaled down 30x)
      MT_BENCH_RELOAD_WRITES  convergence_reload_only: measured writes (default 50)
      MT_BENCH_GET_CLIENTS    get: client threads, one DEALER each (default 8)
      MT_BENCH_GET_INFLIGHT   get: requests in flight per client (default 1)
      MT_BENCH_GET_S          get: timed seconds per target and round (default 5,
                              after 0.5 s of warm-up)
      MT_BENCH_GET_ROUNDS     get: rounds, echo then node.get in each (default 2)
      MT_BENCH_LIST_NODES     list: nodes (default 10000; list_100k: always 100000)
      MT_BENCH_LIST_S         list, list_100k: timed seconds (default 5)
      MT_BENCH_LIST_CLIENTS   list, list_100k: client threads, one DEALER and one
                              request in flight each (default 4)
      MT_BENCH_STEADY_NODES   steady: nodes (default 100000)
      MT_BENCH_STEADY_RATE    steady: heartbeats per second (default 10000)
      MT_BENCH_STEADY_S       steady: seconds measured (default 20)
      MT_BENCH_E2E_NODES      e2e: nodes (default 10000)
      MT_BENCH_E2E_S          e2e: seconds of heartbeats (default 10)
      MT_BENCH_E2E_CONC       e2e: requests in flight (default 256)
      MT_BENCH_E2E_IMAGES     e2e: image names in each heartbeat (default 3, as
                              etcd's peer puts them in its status; 0-64)
      MT_BENCH_FLOOR_RATE     e2e_floor: heartbeats/s (default 0: as fast as the
                              requests in flight allow)
      MT_BENCH_TRUST_NODES    FIGURE_curve: node certificates in the trust store
                              besides cluster and admin (default 0; a cluster
                              whose nodes each hold one trusts that many)
      MT_BENCH_FLOOD_N, MT_BENCH_FLOOD_WAIT_S, MT_BENCH_FLOOD_NODES
                              flood: see service_flood.c
      MT_BENCH_SOAK_S, MT_BENCH_SOAK_RATE, MT_BENCH_SOAK_...
                              soak: see service_soak.c
      MT_BENCH_GALERA_DIR     the Galera figures: scripts/galera's directory (the
                              nodes' pid files: CPU windows, the node to kill)
      MT_BENCH_GALERA_KILL    galera_failover: the node killed (default 1, the writers')
*/
#include "service_bench.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *g_dsn, *g_bindir;
int g_port;
bool g_spread;
const char *g_fig_prefix = "";
curve_t g_curve;

/* --------------------------------------------------------------- curve -- */

static const char *const cert_names[] = { "cluster", "admin" };

/*  The files curve_init made, then the directories; at exit, when the
    replicas are stopped (bp_die and cli_main stop them before). */
static void curve_remove(void)
{
    char path[400];
    for (size_t i = 0; i < sizeof cert_names / sizeof cert_names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", g_curve.dir, cert_names[i]);
        unlink(path);
        snprintf(path, sizeof path, "%s/%s_secret", g_curve.dir, cert_names[i]);
        unlink(path);
        snprintf(path, sizeof path, "%s/%s", g_curve.trust, cert_names[i]);
        unlink(path);
    }
    for (long i = 0; i < g_curve.nodes; i++) {
        snprintf(path, sizeof path, "%s/node-%ld", g_curve.trust, i);
        unlink(path);
    }
    if (rmdir(g_curve.trust) != 0 || rmdir(g_curve.dir) != 0)
        note("cannot remove %s: %s", g_curve.dir, strerror(errno));
    explicit_bzero(g_curve.server_sec, sizeof g_curve.server_sec);
    explicit_bzero(g_curve.admin_sec, sizeof g_curve.admin_sec);
}

/*  DIR/name and DIR/name_secret (0600), the public file in the trust
    store too; its keys into pub and sec. */
static void make_cert(const char *name, const char *role, char pub[41], char sec[41])
{
    char path[320], secret[400];
    snprintf(path, sizeof path, "%s/%s", g_curve.dir, name);
    snprintf(secret, sizeof secret, "%s_secret", path);
    zcert_t *c = zcert_new();
    if (!c)
        bp_die("zcert_new");
    zcert_set_meta(c, "role", "%s", role);
    zcert_set_meta(c, "name", "%s", name);
    if (zcert_save(c, path) != 0 || chmod(secret, 0600) != 0)
        bp_die("cannot save the certificate %s", path);
    snprintf(path, sizeof path, "%s/%s", g_curve.trust, name);
    if (zcert_save_public(c, path) != 0)
        bp_die("cannot save %s", path);
    snprintf(pub, 41, "%s", zcert_public_txt(c));
    snprintf(sec, 41, "%s", zcert_secret_txt(c));
    zcert_destroy(&c);
}

/*  The certificates of a CURVE figure (see the top of this file), and the
    bench clients' identity. */
static void curve_init(void)
{
    const char *tmp = getenv("TMPDIR");
    if ((size_t) snprintf(g_curve.dir, sizeof g_curve.dir, "%s/mt_bench_curve.XXXXXX",
                          tmp && *tmp ? tmp : "/tmp") >= sizeof g_curve.dir)
        bp_die("TMPDIR is longer than %zu bytes", sizeof g_curve.dir - 24);
    if (!mkdtemp(g_curve.dir))
        bp_die("mkdtemp %s: %s", g_curve.dir, strerror(errno));
    snprintf(g_curve.trust, sizeof g_curve.trust, "%s/trust", g_curve.dir);
    if (mkdir(g_curve.trust, 0700) != 0)
        bp_die("mkdir %s: %s", g_curve.trust, strerror(errno));
    atexit(curve_remove);
    make_cert(cert_names[0], "replica", g_curve.server_pub, g_curve.server_sec);
    make_cert(cert_names[1], "admin", g_curve.admin_pub, g_curve.admin_sec);
    /*  A cluster whose nodes each hold a certificate trusts that many more. */
    long nodes = env_long("MT_BENCH_TRUST_NODES", 0, 0, 1000000);
    for (; g_curve.nodes < nodes; g_curve.nodes++) {
        char path[320];
        snprintf(path, sizeof path, "%s/node-%ld", g_curve.trust, g_curve.nodes);
        zcert_t *c = zcert_new();
        if (!c)
            bp_die("zcert_new");
        zcert_set_meta(c, "role", "node");
        zcert_set_meta(c, "node", "node-%ld", g_curve.nodes);
        if (zcert_save_public(c, path) != 0)
            bp_die("cannot save %s", path);
        zcert_destroy(&c);
    }
    snprintf(g_curve.cert, sizeof g_curve.cert, "%s/%s", g_curve.dir, cert_names[0]);
    snprintf(g_curve.admin, sizeof g_curve.admin, "%s/%s", g_curve.dir, cert_names[1]);
    cli_set_curve(g_curve.server_pub, g_curve.admin_pub, g_curve.admin_sec);
    g_curve.on = true;
    note("CURVE on: certificates in %s (replicas: cluster, server key %s; clients: admin;"
         " %ld node certificates trusted too)", g_curve.dir, g_curve.server_pub, g_curve.nodes);
}

void emit_fig(const char *name, double value, const char *unit)
{
    char full[128];
    snprintf(full, sizeof full, "%s%s%s", g_fig_prefix, name, g_curve.on ? "_curve" : "");
    emit(full, value, unit);
}

/* ------------------------------------------------------------ replicas -- */

/*  A replica: index 0 = A (port), 1 = B (port + 2); under CURVE --cert and
    --trust, then the extra flags, then MT_BENCH_SVC_ARGS (experiments). */
bp_proc_t *start_replica(int index, const char *const *extra)
{
    char name[8], id[64];
    snprintf(name, sizeof name, "%c", 'A' + index);
    snprintf(id, sizeof id, "svcbench-%c", 'a' + index);
    const char *flags[BP_MAX_ARGS + 1];
    int n = 0;
    if (g_curve.on) {
        flags[n++] = "--cert";
        flags[n++] = g_curve.cert;
        flags[n++] = "--trust";
        flags[n++] = g_curve.trust;
    }
    for (int i = 0; extra && extra[i] && n < BP_MAX_ARGS; i++)
        flags[n++] = extra[i];
    flags[n] = NULL;
    char *own = g_spread ? spread_dsn(index) : NULL;
    bp_proc_t *p = bp_start_replica(name, id, g_bindir, g_port + 2 * index, own ? own : g_dsn,
                                    flags, "MT_BENCH_SVC_ARGS");
    free(own);
    return p;
}

/* ----------------------------------------------------------- cpu time -- */

void cpu_begin(cpu_win_t *w)
{
    w->t0_us = now_us();
    unsigned long long v[8];
    machine_ticks(v);
    w->busy0 = machine_busy(v);
    for (int i = 0; i < w->n; i++)
        w->p[i].t0 = proc_ticks(w->p[i].pid);
}

void cpu_add(cpu_win_t *w, const char *name, pid_t pid)
{
    if (pid > 0 && w->n < 8)
        w->p[w->n++] = (typeof(w->p[0])) { .name = name, .pid = pid };
}

void cpu_add_db(cpu_win_t *w)
{
    cpu_add(w, "database", server_pid());
}

double cpu_busy_pct(const cpu_win_t *w)
{
    double hz = (double) sysconf(_SC_CLK_TCK), secs = w->secs > 0 ? w->secs : 1;
    return 100.0 * (double) w->busy / hz / secs / (double) sysconf(_SC_NPROCESSORS_ONLN);
}

double ticks_us(double ticks, double count)
{
    return count > 0 ? ticks * 1e6 / (double) sysconf(_SC_CLK_TCK) / count : 0;
}

void cpu_end(cpu_win_t *w, const char *what, unsigned long long extra_ticks)
{
    w->secs = (double) (now_us() - w->t0_us) / 1e6;
    unsigned long long v[8];
    machine_ticks(v);
    w->busy = machine_busy(v) - w->busy0;
    double hz = (double) sysconf(_SC_CLK_TCK), secs = w->secs > 0 ? w->secs : 1;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned long long ours = extra_ticks;
    char line[1024];
    int len = snprintf(line, sizeof line, "# %s cpu over %.1f s (%% of one CPU):", what, secs);
    for (int i = 0; i < w->n; i++) {
        w->p[i].d = proc_ticks(w->p[i].pid) - w->p[i].t0;
        ours += w->p[i].d;
        len += snprintf(line + len, sizeof line - (size_t) len, " %s %.0f%%,", w->p[i].name,
                        100.0 * (double) w->p[i].d / hz / secs);
    }
    if (extra_ticks)
        len += snprintf(line + len, sizeof line - (size_t) len, " children %.0f%%,",
                        100.0 * (double) extra_ticks / hz / secs);
    double others = w->busy > ours ? (double) (w->busy - ours) : 0;
    snprintf(line + len, sizeof line - (size_t) len, " others %.0f%%; machine busy %.0f%% of %ld CPUs",
             100.0 * others / hz / secs, cpu_busy_pct(w), ncpu);
    fprintf(stderr, "%s\n", line);
}

/* --------------------------------------------------------------- main -- */

/*  A figure with CURVE on every hop: one code path per measurement. */
static int with_curve(int (*fig)(void))
{
    curve_init();
    return fig();
}

static int fig_convergence_curve(void) { return with_curve(fig_convergence); }
static int fig_get_curve(void) { return with_curve(fig_get); }
static int fig_e2e_curve(void) { return with_curve(fig_e2e); }

static const cli_figure_t figures[] = {
    { "convergence", fig_convergence },
    { "convergence_curve", fig_convergence_curve },
    { "convergence_reload_only", fig_convergence_reload_only },
    { "get", fig_get },
    { "get_curve", fig_get_curve },
    { "e2e", fig_e2e },
    { "e2e_curve", fig_e2e_curve },
    { "e2e_floor", fig_e2e_floor },
    { "steady", fig_steady },
    { "flood", fig_flood },
    { "soak", fig_soak },
    { "versions", fig_versions },
    { "locality", fig_locality },
    { "informer", fig_informer },
    { "list", fig_list },
    { "list_100k", fig_list_100k },
    { "e2e_3", fig_e2e_3 },
    { "galera_ingest", fig_galera_ingest },
    { "galera_convergence", fig_galera_convergence },
    { "galera_failover", fig_galera_failover },
};

int main(int argc, char **argv)
{
    static const cli_prog_t prog = { "mt_bench_service", "service_bench", "MT_BENCH_SVC_PORT",
                                     7460, 65525, figures, sizeof figures / sizeof figures[0] };
    return cli_main(argc, argv, &prog, &g_dsn, &g_bindir, &g_port);
}
