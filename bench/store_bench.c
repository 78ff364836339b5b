/*  store_bench.c — the store and node-service figures, against a real MariaDB.

    Usage: mt_bench_store FIGURE DSN
      heartbeat_ingest    acks/s    acknowledged heartbeats through the directory,
                                    the node actors and the store's group commit;
                                    also heartbeat_ingest_machine_busy (% of all
                                    CPUs) and, with MT_BENCH_SERVER_PID,
                                    heartbeat_ingest_cpu_per_ack (µs of this process
                                    and the database an ack)
      lone_heartbeat      ms        p50 and p99 of one heartbeat at a time through a
                                    node actor: a lone write's own commit, no batching
                                    delay (prints lone_heartbeat_p50, _p99)
      raw_upsert          rows/s    the server's limit for the same rows: 256-row
                                    prepared upserts, one per transaction, 2 connections
      single_stmt         rows/s    one autocommit single-row prepared upsert per
                                    heartbeat on one connection (the seed's way)
      reload_incremental  ms        an incremental reload pass with 100,000 nodes
                                    stored and 1,000 changed since the previous one
      reload_full         ms        a full resync pass of 100,000 nodes into a fresh
                                    node service (its node actors get spawned)
      node_actor_rss      bytes/node resident bytes per node held by a node service
      node_actor_rss_unique_labels  bytes/node  the same, each node with a label
                          of its own (a hostname), so no two label maps are equal
      store_txn           rows/s    (diagnostic) raw_upsert running the store's whole
                                    heartbeat transaction (lock FOR UPDATE, draw, upsert,
                                    commit) on raw connections, no actors

    DSN: what scripts/mariadb prints; its user must be allowed to drop and create
    databases named metactor_bench_*. A password in METACTOR_DB_PASSWORD replaces
    the DSN's (scripts/bench passes the DSN without one: command lines are
    visible to every user). Each figure works in a database of its own,
    metactor_bench_FIGURE, dropped and created at the start (dropped again at the end
    on success). One figure per process: scripts/bench store runs them.

    stdout: only figure lines, exactly `bench=NAME value=V unit=U` (3 decimals).
    stderr: diagnostics, every line starting with '#'.
    Exit status: 0 on success, 1 if anything misbehaved (an error reply, a wrong
    count, a timeout), 2 on a usage error.

    The node contents are "typical": a registration with 10
    labels, 5 component versions, 4 capacity and 3 quota entries; a status with 2
    conditions, 3 images and 2 local templates. Heartbeats, raw rows and stored rows
    all carry this same content, so every figure moves rows of the same size.

    Environment (optional, for experiments; scripts/bench sets none):
      MT_BENCH_WORKERS   runtime worker threads (default 0 = one per online CPU)
      MT_BENCH_INFLIGHT  heartbeat_ingest: heartbeats in flight (default 10,000:
                         one per node)
      MT_BENCH_HEARTBEAT_IMAGES  heartbeat_ingest, lone_heartbeat: K (0-64) sends
                         e2e's heartbeat, ready and K image names, instead of
                         the typical one (scripts/bench peers: 3, as e2e)
      MT_BENCH_WINDOW_S  timed window of the rate figures (default 5 s)
      MT_BENCH_ROUNDS    reload_incremental: measured passes (default 3; median)
      MT_BENCH_KEEP_DB   set: do not drop the figure's database at the end
      MT_BENCH_SERVER_PID  the server's pid: its CPU time is shown apart
      MT_BENCH_SKIP      store_txn only: "lock", "draw" or "lock,draw" leaves those
                         statements out (to see what each costs)

    Files: this one (main, the node contents, the service under test),
    store_sql.c (raw MySQL), store_driver.c (the driver actor), store_fill.c
    (the 100,000-node fill), store_ingest.c and store_reload.c (the figures).
*/
#include "store_bench.h"

#include "mt_dsn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *g_figure;
const char *g_dsn;
mt_store_t *g_store;

/* ------------------------------------------------------------- helpers -- */

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(g_figure ? g_figure : "store_bench", fmt, ap);
    va_end(ap);
    exit(1);
}

void cpu_sample(cpu_t *c)
{
    unsigned long long v[8];
    machine_ticks(v);
    memset(c, 0, sizeof *c);
    c->busy = machine_busy(v);
    c->idle = v[3] + v[4];
    c->steal = v[7];
    c->self = proc_ticks(0);
    pid_t server = server_pid();
    if (server > 0)
        c->server = proc_ticks(server);
}

/*  The machine's clock ticks between a and b: busy, idle and stolen. */
static double window_ticks(const cpu_t *a, const cpu_t *b)
{
    return (double) ((b->busy - a->busy) + (b->idle - a->idle) + (b->steal - a->steal));
}

/*  ticks clock ticks as µs per one of count (0 when count is). */
static double per_item_us(double ticks, uint64_t count)
{
    return count ? ticks * 1e6 / (double) sysconf(_SC_CLK_TCK) / (double) count : 0;
}

double cpu_us(const cpu_t *a, const cpu_t *b, uint64_t count)
{
    return per_item_us((double) ((b->self - a->self) + (b->server - a->server)), count);
}

double cpu_busy_pct(const cpu_t *a, const cpu_t *b)
{
    double total = window_ticks(a, b);
    return total > 0 ? 100 * (double) (b->busy - a->busy) / total : 0;
}

void cpu_note(const char *what, const cpu_t *a, const cpu_t *b, uint64_t count,
              const char *item)
{
    double total = window_ticks(a, b);
    if (total <= 0)
        return;
    double self = (double) (b->self - a->self), server = (double) (b->server - a->server);
    double others = (double) (b->busy - a->busy) - self - server;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    fprintf(stderr, "# %s cpu over the window (%% of %ld CPUs): bench %.0f%%, server %s%.0f%%,"
            " others %.0f%%, idle %.0f%%, steal %.0f%%\n", what, ncpu, 100 * self / total,
            getenv("MT_BENCH_SERVER_PID") ? "" : "(unknown, in others) ", 100 * server / total,
            100 * (others > 0 ? others : 0) / total,
            100 * (double) (b->idle - a->idle) / total, 100 * (double) (b->steal - a->steal) / total);
    if (count)
        fprintf(stderr, "# %s cpu per %s: bench %.1f us, server %.1f us\n", what, item,
                per_item_us(self, count), per_item_us(server, count));
}

/* --------------------------------------------------------- node content -- */

void node_id(char *out, size_t n, uint32_t k)
{
    snprintf(out, n, "node-%06u", k);
}

bool g_unique_labels;

/*  A typical registration of node k. `tier` lets reload_incremental change a
    label. registered_at 0: the store stamps it (the raw fill stamps it too). */
mt_node_reg_t *typical_reg(uint32_t k, const char *tier)
{
    char zone[16], rack[16], host[32];
    snprintf(zone, sizeof zone, "zone-%u", k % 4);
    snprintf(rack, sizeof rack, "rack-%02u", k % 64);
    snprintf(host, sizeof host, "10.%u.%u.%u", (k >> 16) & 255, (k >> 8) & 255, k & 255);
    char hostname[32];
    snprintf(hostname, sizeof hostname, "host-%06u.cube-prod-1", k);
    mt_str_pair_t labels[] = {
        { "zone", zone }, { "rack", rack }, { "region", "eu-west-1" },
        { "pool", "general" }, { "arch", "amd64" }, { "os", "linux" },
        { "gpu", "none" }, { "tier", tier }, { "team", "infra" },
        { "cluster", "cube-prod-1" }, { "hostname", hostname },
    };
    mt_str_pair_t versions[] = {
        { "cubelet", "1.4.2" }, { "runc", "1.1.12" }, { "containerd", "1.7.13" },
        { "shim", "0.3.1" }, { "kernel", "6.1.0-18-amd64" },
    };
    mt_int_pair_t capacity[] = {
        { "cpu_milli", 16000 }, { "memory_mb", 65536 }, { "disk_gb", 500 }, { "pods", 110 },
    };
    mt_int_pair_t quota[] = { { "cpu_milli", 14000 }, { "memory_mb", 60000 }, { "pods", 100 } };
    mt_node_reg_t t = {
        .host_ip = host, .grpc_port = 9000, .instance_type = "cube.xlarge",
        .labels = labels, .nlabels = g_unique_labels ? 11 : 10, .versions = versions, .nversions = 5,
        .capacity = capacity, .ncapacity = 4, .quota = quota, .nquota = 3,
    };
    return mt_node_reg_build(&t);
}

/*  A typical heartbeat. heartbeat_at 0: the node actor stamps it. */
mt_node_status_t *typical_status(int64_t heartbeat_at)
{
    mt_condition_t conds[] = {
        { "Ready", "True", "KubeletReady", "kubelet is posting ready status" },
        { "DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure" },
    };
    const char *images[] = {
        "registry.local/cube/base:1.4.2", "registry.local/cube/python:3.11",
        "registry.local/cube/node:20",
    };
    const char *templates[] = { "tpl-python-3.11", "tpl-node-20" };
    mt_node_status_t t = {
        .heartbeat_at = heartbeat_at, .ready = true,
        .conditions = conds, .nconditions = 2,
        .images = images, .nimages = 3,
        .local_templates = templates, .ntemplates = 2,
    };
    return mt_node_status_build(&t);
}

mt_node_status_t *ingest_status(void)
{
    /*  Read once, by the driver actor (one at a time): -1 the typical
        heartbeat. The names are metactl_load.c's, so that the store alone
        and e2e carry byte for byte the same heartbeat. */
    static long images = -2;
    static char names[64][64];
    static const char *list[64];
    if (images == -2) {
        images = env_long("MT_BENCH_HEARTBEAT_IMAGES", -1, -1, 64);
        for (long i = 0; i < images; i++) {
            snprintf(names[i], sizeof names[i], "reg.cube.io/cube/image-%d:1.0.%d", (int) i + 1,
                     (int) i + 1);
            list[i] = names[i];
        }
    }
    if (images < 0)
        return typical_status(0);
    mt_node_status_t t = { .ready = true, .images = list, .nimages = (uint32_t) images };
    return mt_node_status_build(&t);
}

/* ------------------------------------------------- service construction -- */

mt_runtime_t *runtime(void)
{
    mt_runtime_opts_t o = { .workers = (int) env_long("MT_BENCH_WORKERS", 0, 1, 4096) };
    mt_runtime_t *rt = mt_runtime_new(&o);
    if (!rt)
        die("mt_runtime_new: %s", strerror(errno));
    return rt;
}

mt_store_t *store_new(mt_runtime_t *rt)
{
    mt_store_opts_t o = { .dsn = g_dsn };
    mt_store_t *store;
    char err[256];
    if (mt_store_new(rt, &o, &store, err, sizeof err) != MT_OK)
        die("store: %s", err);
    if (mt_store_wait_ready(store, 30000) != MT_OK) {
        /*  A down actor answers at once with its connection's last error. */
        mt_msg_t *r = NULL;
        if (mt_ask_wait(rt, mt_store_reader(store), mt_store_msg_load("x"), 5000, &r) == MT_OK) {
            mt_store_loaded_t *l = mt_msg_data(r);
            note("the store's reader says: %s: %s", mt_err_code(l->err), l->message);
            mt_msg_free(r);
        }
        die("store not ready within 30 s");
    }
    g_store = store;
    return store;
}

/*  A node service with reloads on demand only; its first pass is full, every
    later one incremental. */
mt_nodes_t *service(mt_runtime_t *rt, mt_store_t *store, int64_t health_timeout_ms)
{
    mt_nodes_opts_t o = {
        .store = store, .reload_interval_ms = -1, .full_resync_every = 1000000,
        .health_timeout_ms = health_timeout_ms, .store_timeout_ms = ASK_MS,
    };
    mt_nodes_t *n = mt_nodes_new(rt, &o);
    if (!n)
        die("mt_nodes_new failed");
    return n;
}

/* ---------------------------------------------------------------- main -- */

static const struct { const char *name; void (*run)(void); } figures[] = {
    { "heartbeat_ingest", run_heartbeat_ingest },
    { "lone_heartbeat", run_lone_heartbeat },
    { "raw_upsert", run_raw_upsert },
    { "single_stmt", run_single_stmt },
    { "reload_incremental", run_reload_incremental },
    { "reload_full", run_reload_full },
    { "node_actor_rss", run_node_actor_rss },
    { "node_actor_rss_unique_labels", run_node_actor_rss_unique_labels },
    { "store_txn", run_store_txn },             /* diagnostic */
};

/*  text with METACTOR_DB_PASSWORD's password, if that is set (static). */
static const char *with_env_password(const char *text)
{
    const char *pw = getenv("METACTOR_DB_PASSWORD");
    if (!pw || !*pw)
        return text;
    static char out[1024];
    mt_dsn_t *d = NULL;
    char err[256], *full = NULL;
    if (mt_dsn_parse(text, &d, err, sizeof err) != MT_OK)
        die("%s", err);
    if (mt_dsn_set_password(d, pw) != MT_OK || !(full = mt_dsn_format(d))
        || strlen(full) >= sizeof out)
        die("DSN with METACTOR_DB_PASSWORD: out of memory or too long");
    snprintf(out, sizeof out, "%s", full);
    explicit_bzero(full, strlen(full));
    free(full);
    mt_dsn_destroy(&d);
    return out;
}

static int usage(const char *argv0)
{
    fprintf(stderr, "usage: %s FIGURE DSN\n  FIGURE:", argv0);
    for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
        fprintf(stderr, " %s", figures[i].name);
    fputc('\n', stderr);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return usage(argv[0]);
    void (*run)(void) = NULL;
    for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
        if (strcmp(argv[1], figures[i].name) == 0)
            run = figures[i].run, g_figure = figures[i].name;
    if (!run)
        return usage(argv[0]);
    if (mysql_library_init(0, NULL, NULL) != 0)
        die("mysql_library_init");
    char db[64];
    snprintf(db, sizeof db, "metactor_bench_%s", g_figure);
    const char *base = with_env_password(argv[2]);
    fresh_db(base, db);
    static char dsn[1024];
    if (!dsn_with_db(dsn, sizeof dsn, base, db))
        die("DSN without a database part, or too long");
    g_dsn = dsn;
    note("%s: database %s, %ld CPUs", g_figure, db, sysconf(_SC_NPROCESSORS_ONLN));
    double t0 = now_s();
    run();
    drop_db(base, db);
    note("%s: %.1f s in all", g_figure, now_s() - t0);
    mysql_library_end();
    return 0;
}
