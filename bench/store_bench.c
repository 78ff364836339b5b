/*  store_bench.c — the store and node-service figures, against a real MariaDB.

    Usage: mt_bench_store FIGURE DSN
      heartbeat_ingest    acks/s    acknowledged heartbeats through the directory,
                                    the node actors and the store's group commit
      raw_upsert          rows/s    the server's limit for the same rows: 256-row
                                    prepared upserts, one per transaction, 2 connections
      single_stmt         rows/s    one autocommit single-row prepared upsert per
                                    heartbeat on one connection (the seed's way)
      reload_incremental  ms        an incremental reload pass with 100,000 nodes
                                    stored and 1,000 changed since the previous one
      reload_full         ms        a full resync pass of 100,000 nodes into a fresh
                                    node service (its node actors get spawned)
      node_actor_rss      bytes/node resident bytes per node held by a node service
      store_txn           rows/s    (diagnostic) raw_upsert running the store's whole
                                    heartbeat transaction (lock FOR UPDATE, draw, upsert,
                                    commit) on raw connections, no actors

    DSN: what scripts/mariadb prints; its user must be allowed to drop and create
    databases named metactor_bench_*. Each figure works in a database of its own,
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
      MT_BENCH_WINDOW_S  timed window of the rate figures (default 5 s)
      MT_BENCH_ROUNDS    reload_incremental: measured passes (default 3; median)
      MT_BENCH_KEEP_DB   set: do not drop the figure's database at the end
      MT_BENCH_SERVER_PID  the server's pid: its CPU time is shown apart
      MT_BENCH_SKIP      store_txn only: "lock", "draw" or "lock,draw" leaves those
                         statements out (to see what each costs)
*/
#include "json.h"
#include "mt_core.h"
#include "mt_dsn.h"
#include "mt_model.h"
#include "mt_nodes.h"
#include "mt_store.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <mysql.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HB_NODES 10000              /* heartbeat_ingest, raw_upsert, single_stmt */
#define RELOAD_NODES 100000         /* reload_*, node_actor_rss */
#define RELOAD_CHANGED 1000         /* reload_incremental: nodes changed per pass */
#define RELOAD_REREG 100            /* ... of which re-registered (label change) */
#define ROWS 256                    /* rows per multi-row statement (the store's largest) */
#define RAW_CONNS 2                 /* = the store's default writers (mt_store_opts_t) */
#define ASK_MS 120000               /* asks that should never time out */
#define WAIT_MS (600 * 1000)        /* longest wait for a driver's done */

static const char *g_figure;
static char *g_dsn;                 /* the figure's database */
static mt_store_t *g_store;         /* the figure's store, for diagnostics */

/* ------------------------------------------------------------- helpers -- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "# FAILED: %s: ", g_figure ? g_figure : "store_bench");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void emit(const char *bench, double value, const char *unit)
{
    printf("bench=%s value=%.3f unit=%s\n", bench, value, unit);
    fflush(stdout);
}

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/*  CPU time over a window, to tell the figure's own work from interference:
    this process, the server (MT_BENCH_SERVER_PID, set by scripts/bench), the
    rest of the machine, idle, and the hypervisor's steal. In clock ticks. */
typedef struct {
    unsigned long long busy, idle, steal, self, server;
} cpu_t;

static unsigned long long proc_ticks(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');        /* comm may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu", &ut, &st) != 2)
        return 0;
    return ut + st;
}

static void cpu_sample(cpu_t *c)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = { 0 };
    if (f) {
        if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]) != 8)
            memset(v, 0, sizeof v);
        fclose(f);
    }
    c->busy = v[0] + v[1] + v[2] + v[5] + v[6];
    c->idle = v[3] + v[4];
    c->steal = v[7];
    c->self = proc_ticks("/proc/self/stat");
    const char *pid = getenv("MT_BENCH_SERVER_PID");
    if (pid && *pid) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%s/stat", pid);
        c->server = proc_ticks(path);
    }
}

/*  count > 0: also the CPU time per item (row, ack) of the bench and the server. */
static void cpu_note(const char *what, const cpu_t *a, const cpu_t *b, uint64_t count,
                     const char *item)
{
    double total = (double) ((b->busy - a->busy) + (b->idle - a->idle) + (b->steal - a->steal));
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
    if (count) {
        double us = 1e6 / (double) sysconf(_SC_CLK_TCK) / (double) count;
        fprintf(stderr, "# %s cpu per %s: bench %.1f us, server %.1f us\n", what, item,
                self * us, server * us);
    }
}

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x <= 0)
        die("%s must be a positive integer: %s", name, v);
    return x;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = { (time_t) s, (long) ((s - (double) (time_t) s) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static void node_id(char *out, size_t n, uint32_t k)
{
    snprintf(out, n, "node-%06u", k);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

/* --------------------------------------------------------- node content -- */

/*  A typical registration of node k. `tier` lets reload_incremental change a
    label. registered_at 0: the store stamps it (the raw fill stamps it too). */
static mt_node_reg_t *typical_reg(uint32_t k, const char *tier)
{
    char zone[16], rack[16], host[32];
    snprintf(zone, sizeof zone, "zone-%u", k % 4);
    snprintf(rack, sizeof rack, "rack-%02u", k % 64);
    snprintf(host, sizeof host, "10.%u.%u.%u", (k >> 16) & 255, (k >> 8) & 255, k & 255);
    mt_str_pair_t labels[] = {
        { "zone", zone }, { "rack", rack }, { "region", "eu-west-1" },
        { "pool", "general" }, { "arch", "amd64" }, { "os", "linux" },
        { "gpu", "none" }, { "tier", tier }, { "team", "infra" },
        { "cluster", "cube-prod-1" },
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
        .labels = labels, .nlabels = 10, .versions = versions, .nversions = 5,
        .capacity = capacity, .ncapacity = 4, .quota = quota, .nquota = 3,
    };
    return mt_node_reg_build(&t);
}

/*  A typical heartbeat. heartbeat_at 0: the node actor stamps it. */
static mt_node_status_t *typical_status(int64_t heartbeat_at)
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

/* ------------------------------------------------------------ raw MySQL -- */

/*  The DSN with its database replaced by db (caller frees). */
static char *dsn_with_db(const char *base, const char *db)
{
    const char *auth = strstr(base, "://");
    const char *slash = auth ? strchr(auth + 3, '/') : NULL;
    if (!slash)
        die("DSN without a database part: %s", base);
    const char *q = strchr(slash, '?');
    size_t n = (size_t) (slash - base) + 1 + strlen(db) + (q ? strlen(q) : 0) + 1;
    char *out = malloc(n);
    if (!out)
        die("out of memory");
    snprintf(out, n, "%.*s/%s%s", (int) (slash - base), base, db, q ? q : "");
    return out;
}

/*  A connection as the store makes it (socket if the DSN names one). */
static MYSQL *raw_connect(const char *dsn_text, bool with_db)
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

static void raw_sql(MYSQL *m, const char *sql)
{
    if (mysql_query(m, sql) != 0)
        die("%s: %s", sql, mysql_error(m));
}

static long long raw_i64(MYSQL *m, const char *sql)
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

static void fresh_db(const char *base_dsn, const char *db)
{
    MYSQL *m = raw_connect(base_dsn, false);
    char sql[200];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", db);
    raw_sql(m, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", db);
    raw_sql(m, sql);
    mysql_close(m);
}

static void drop_db(const char *base_dsn, const char *db)
{
    if (getenv("MT_BENCH_KEEP_DB"))
        return;
    MYSQL *m = raw_connect(base_dsn, false);
    char sql[200];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", db);
    raw_sql(m, sql);
    mysql_close(m);
}

/*  Parameters of one prepared statement: binds point into iv / lens. */
typedef struct {
    MYSQL_BIND *b;
    long long *iv;
    unsigned long *lens;
    unsigned n, cap;
} params_t;

static void p_init(params_t *p, unsigned cap)
{
    p->b = calloc(cap, sizeof *p->b);
    p->iv = calloc(cap, sizeof *p->iv);
    p->lens = calloc(cap, sizeof *p->lens);
    if (!p->b || !p->iv || !p->lens)
        die("out of memory");
    p->n = 0;
    p->cap = cap;
}

static void p_free(params_t *p)
{
    free(p->b);
    free(p->iv);
    free(p->lens);
}

static void p_i64(params_t *p, int64_t v)
{
    if (p->n == p->cap)
        die("params: more than %u", p->cap);
    unsigned i = p->n++;
    p->iv[i] = v;
    p->b[i] = (MYSQL_BIND) { .buffer_type = MYSQL_TYPE_LONGLONG, .buffer = &p->iv[i] };
}

static void p_str(params_t *p, const char *s, size_t len)
{
    if (p->n == p->cap)
        die("params: more than %u", p->cap);
    unsigned i = p->n++;
    p->lens[i] = (unsigned long) len;
    p->b[i] = (MYSQL_BIND) { .buffer_type = MYSQL_TYPE_STRING, .buffer = (void *) s,
                             .buffer_length = (unsigned long) len, .length = &p->lens[i] };
}

static void p_cstr(params_t *p, const char *s)
{
    p_str(p, s, strlen(s));
}

/*  head, then n × row separated by ',', then tail (caller frees). */
static char *repeat_sql(const char *head, const char *row, unsigned n, const char *tail)
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

static MYSQL_STMT *prepare(MYSQL *m, const char *sql)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    if (!st)
        die("mysql_stmt_init: %s", mysql_error(m));
    if (mysql_stmt_prepare(st, sql, (unsigned long) strlen(sql)) != 0)
        die("prepare %.80s...: %s", sql, mysql_stmt_error(st));
    return st;
}

static void execute(MYSQL_STMT *st, params_t *p, const char *what)
{
    if (p->n != mysql_stmt_param_count(st))
        die("%s: %u parameters for %lu", what, p->n, mysql_stmt_param_count(st));
    if ((p->n && mysql_stmt_bind_param(st, p->b) != 0) || mysql_stmt_execute(st) != 0)
        die("%s: %s", what, mysql_stmt_error(st));
}

static void commit(MYSQL *m)
{
    if (mysql_commit(m) != 0)
        die("commit: %s", mysql_error(m));
}

/*  The store's heartbeat upsert (actors/store/sql.c, SQL_STATUS_UPSERT), n rows. */
static char *status_upsert_sql(unsigned n)
{
    return repeat_sql("INSERT INTO node_status (id, heartbeat_at, ready, conditions, images,"
                      " local_templates, status_revision) VALUES ", "(?,?,?,?,?,?,?)", n,
                      " ON DUPLICATE KEY UPDATE heartbeat_at = VALUES(heartbeat_at),"
                      " ready = VALUES(ready), conditions = VALUES(conditions),"
                      " images = VALUES(images), local_templates = VALUES(local_templates),"
                      " status_revision = VALUES(status_revision)");
}

/*  The JSON columns of a status, encoded by the store's own encoder. */
typedef struct {
    mt_json_buf_t buf;
    size_t off[3], len[3];
} status_json_t;

static void status_json(status_json_t *j, const mt_node_status_t *st)
{
    mt_json_buf_reset(&j->buf);
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
static void make_schema(mt_runtime_t *rt, const char *dsn)
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

/* ---------------------------------------------------------- the driver -- */
/*  An actor that keeps up to `inflight` requests outstanding through the
    directory, at most one per node: a node gets its next request only after
    the previous one was answered (as a real node's heartbeat loop). Free nodes
    wait in a FIFO, so with inflight < nodes the load rotates over all of them.

    Count mode (total > 0): `total` requests, then done; elapsed = first send to
    last answer. Time mode: a warm-up, then a window of at least window_s and
    window_min acks (at most window_max_s); elapsed and acks are the window's
    (answers that arrive inside it), then it drains and reports. */

typedef enum { OP_REGISTER, OP_HEARTBEAT, OP_GET } op_t;

enum { D_START = MT_MSG_USER + 900, D_DONE };

typedef struct {
    op_t op;
    uint32_t nnodes, inflight;
    uint64_t total;
    double warmup_s, window_s, window_max_s;
    uint64_t window_min;
    mt_store_t *store;              /* stats over the window, or NULL */
    mt_runtime_t *rt;
} drive_opts_t;

typedef struct {
    uint64_t sent, acks, errors, timeouts, incomplete;  /* incomplete: GET without reg/status */
    double elapsed_s;
    uint64_t window_acks;
    mt_store_stats_t st0, st1;
    mt_stats_t rs0, rs1;
    cpu_t cpu0, cpu1;
    char first_error[240];
    uint32_t *lat_us;               /* latencies of the window's acks */
    size_t nlat, latcap;
    uint32_t reg_size, status_size; /* GET: block sizes seen (last) */
} drive_result_t;

typedef struct {
    drive_opts_t o;
    drive_result_t *r;
    mt_actor_t *dir;                /* borrowed: the service outlives the drive */
    mt_actor_t *coord;              /* borrowed: the main thread's probe */
    double *sent_at;
    uint64_t *ckey;                 /* corr → node, open addressing */
    uint32_t *cval, cmask;
    uint32_t *fq, fq_head, fq_len;  /* free nodes, a ring of nnodes */
    uint32_t outstanding;
    int phase;                      /* 0 warm-up, 1 window, 2 draining */
    double t_start, t_win0;
    uint64_t acks_win0;
    bool stop, done;
} driver_t;

static uint32_t corr_hash(uint64_t corr, uint32_t mask)
{
    return (uint32_t) ((corr * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static void cmap_put(driver_t *d, uint64_t corr, uint32_t node)
{
    uint32_t i = corr_hash(corr, d->cmask);
    while (d->ckey[i])
        i = (i + 1) & d->cmask;
    d->ckey[i] = corr;
    d->cval[i] = node;
}

static bool cmap_take(driver_t *d, uint64_t corr, uint32_t *node)
{
    uint32_t mask = d->cmask, i = corr_hash(corr, mask);
    while (d->ckey[i] != corr) {
        if (!d->ckey[i])
            return false;
        i = (i + 1) & mask;
    }
    *node = d->cval[i];
    d->ckey[i] = 0;
    for (uint32_t j = (i + 1) & mask; d->ckey[j]; j = (j + 1) & mask) {
        uint32_t home = corr_hash(d->ckey[j], mask);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            d->ckey[i] = d->ckey[j];
            d->cval[i] = d->cval[j];
            d->ckey[j] = 0;
            i = j;
        }
    }
    return true;
}

static mt_msg_t *make_request(driver_t *d, uint32_t k)
{
    char id[32];
    node_id(id, sizeof id, k);
    switch (d->o.op) {
    case OP_REGISTER: return mt_node_req_register(id, typical_reg(k, "standard"));
    case OP_HEARTBEAT: return mt_node_req_heartbeat(id, typical_status(0));
    case OP_GET: return mt_node_req_get(id);
    }
    return NULL;
}

static void issue(mt_actor_t *self, driver_t *d)
{
    while (!d->stop && d->outstanding < d->o.inflight && d->fq_len > 0) {
        if (d->o.total && d->r->sent == d->o.total) {
            d->stop = true;
            break;
        }
        uint32_t k = d->fq[d->fq_head];
        d->fq_head = (d->fq_head + 1) % d->o.nnodes;
        d->fq_len--;
        d->sent_at[k] = now_s();
        uint64_t corr = mt_ask(self, d->dir, make_request(d, k), ASK_MS);
        cmap_put(d, corr, k);
        d->outstanding++;
        d->r->sent++;
    }
}

static void finish_if_drained(driver_t *d)
{
    if (d->done || !d->stop || d->outstanding)
        return;
    d->done = true;
    if (d->o.total)
        d->r->elapsed_s = now_s() - d->t_start;
    mt_send(d->coord, mt_msg_new(D_DONE, 0));
}

static void answered(mt_actor_t *self, driver_t *d, mt_msg_t *msg)
{
    uint32_t k;
    if (!cmap_take(d, msg->corr, &k))
        return;
    double now = now_s();
    d->outstanding--;
    d->fq[(d->fq_head + d->fq_len) % d->o.nnodes] = k;
    d->fq_len++;
    drive_result_t *r = d->r;
    if (msg->type == MT_MSG_TIMEOUT) {
        if (!r->timeouts++)
            snprintf(r->first_error, sizeof r->first_error, "node %u: no answer in %d ms",
                     k, ASK_MS);
    }
    else {
        mt_node_reply_t *rep = mt_node_reply(msg);
        if (rep->err != MT_OK) {
            if (!r->errors++)
                snprintf(r->first_error, sizeof r->first_error, "node %u: %s: %s", k,
                         mt_err_code(rep->err), rep->message);
        }
        else {
            r->acks++;
            if (d->o.op == OP_GET) {
                if (!rep->view.reg || !rep->view.status)
                    r->incomplete++;
                else {
                    r->reg_size = rep->view.reg->size;
                    r->status_size = rep->view.status->size;
                }
            }
            if (d->phase == 1) {
                if (r->nlat == r->latcap) {
                    r->latcap = r->latcap ? r->latcap * 2 : 65536;
                    r->lat_us = realloc(r->lat_us, r->latcap * sizeof *r->lat_us);
                    if (!r->lat_us)
                        die("out of memory");
                }
                r->lat_us[r->nlat++] = (uint32_t) ((now - d->sent_at[k]) * 1e6);
            }
        }
    }
    if (!d->o.total) {
        if (d->phase == 0 && now - d->t_start >= d->o.warmup_s) {
            d->phase = 1;
            d->t_win0 = now;
            d->acks_win0 = r->acks;
            if (d->o.store)
                mt_store_stats(d->o.store, &r->st0);
            mt_runtime_stats(d->o.rt, &r->rs0);
            cpu_sample(&r->cpu0);
        }
        else if (d->phase == 1
                 && ((now - d->t_win0 >= d->o.window_s && r->acks - d->acks_win0 >= d->o.window_min)
                     || now - d->t_win0 >= d->o.window_max_s)) {
            d->phase = 2;
            r->elapsed_s = now - d->t_win0;
            r->window_acks = r->acks - d->acks_win0;
            if (d->o.store)
                mt_store_stats(d->o.store, &r->st1);
            mt_runtime_stats(d->o.rt, &r->rs1);
            cpu_sample(&r->cpu1);
            d->stop = true;
        }
    }
    issue(self, d);
    finish_if_drained(d);
}

static void driver_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    driver_t *d = state;
    switch (msg->type) {
    case D_START:
        d->t_start = now_s();
        if (d->o.total) {
            d->phase = 1;
            if (d->o.store)
                mt_store_stats(d->o.store, &d->r->st0);
            mt_runtime_stats(d->o.rt, &d->r->rs0);
        }
        issue(self, d);
        finish_if_drained(d);
        break;
    case MT_NODE_REPLY:
    case MT_MSG_TIMEOUT:
        answered(self, d, msg);
        break;
    default:
        break;
    }
}

/*  Runs one drive to its end on the runtime; the caller's probe gets D_DONE. */
static void drive(mt_runtime_t *rt, mt_nodes_t *nodes, const drive_opts_t *o, drive_result_t *r)
{
    memset(r, 0, sizeof *r);
    driver_t *d = calloc(1, sizeof *d);
    if (!d)
        die("out of memory");
    d->o = *o;
    d->o.rt = rt;
    if (d->o.inflight > d->o.nnodes)
        d->o.inflight = d->o.nnodes;
    d->r = r;
    d->dir = mt_nodes_directory(nodes);
    uint32_t cap = 16;
    while (cap < 4 * d->o.inflight)
        cap *= 2;
    d->cmask = cap - 1;
    d->ckey = calloc(cap, sizeof *d->ckey);
    d->cval = calloc(cap, sizeof *d->cval);
    d->sent_at = calloc(o->nnodes, sizeof *d->sent_at);
    d->fq = malloc(o->nnodes * sizeof *d->fq);
    if (!d->ckey || !d->cval || !d->sent_at || !d->fq)
        die("out of memory");
    for (uint32_t k = 0; k < o->nnodes; k++)
        d->fq[k] = k;
    d->fq_len = o->nnodes;

    mt_probe_t *probe = mt_probe_new(rt);
    d->coord = mt_probe_actor(probe);
    mt_spawn_opts_t so = { .behaviour = driver_behaviour, .state = d };
    mt_actor_t *a = mt_spawn_opts(rt, &so);
    if (!a)
        die("cannot spawn the driver");
    mt_send(a, mt_msg_new(D_START, 0));
    mt_msg_t *done = mt_probe_expect(probe, D_DONE, WAIT_MS);
    if (!done)
        die("driver: no done within %d s (sent %" PRIu64 ", answered %" PRIu64 ")",
            WAIT_MS / 1000, r->sent, r->acks + r->errors);
    mt_msg_free(done);
    mt_stop(a, 0);
    mt_actor_unref(&a);
    mt_probe_destroy(&probe);
    /*  The driver has stopped issuing and has nothing outstanding: its state
        is ours again (D_DONE came through the probe's lock). */
    free(d->ckey);
    free(d->cval);
    free(d->sent_at);
    free(d->fq);
    free(d);
}

static void drive_check(const char *what, const drive_result_t *r, uint64_t want_acks)
{
    if (r->errors || r->timeouts || (want_acks && r->acks != want_acks) || r->incomplete)
        die("%s: %" PRIu64 " acks (want %" PRIu64 "), %" PRIu64 " errors, %" PRIu64
            " timeouts, %" PRIu64 " incomplete views; first: %s", what, r->acks, want_acks,
            r->errors, r->timeouts, r->incomplete, r->first_error[0] ? r->first_error : "-");
}

static void latency_note(const char *what, drive_result_t *r)
{
    if (!r->nlat)
        return;
    qsort(r->lat_us, r->nlat, sizeof *r->lat_us, cmp_u32);
    note("%s latency (send to ack, %zu samples): p50=%.1f ms p90=%.1f ms p99=%.1f ms max=%.1f ms",
         what, r->nlat, r->lat_us[r->nlat / 2] / 1e3, r->lat_us[r->nlat * 9 / 10] / 1e3,
         r->lat_us[r->nlat * 99 / 100] / 1e3, r->lat_us[r->nlat - 1] / 1e3);
}

static void runtime_note(const char *what, const drive_result_t *r)
{
    note("%s runtime: sent=%" PRIu64 " delivered=%" PRIu64 " dropped=%" PRIu64
         " steals=%" PRIu64 " parks=%" PRIu64, what,
         r->rs1.msgs_sent - r->rs0.msgs_sent, r->rs1.msgs_delivered - r->rs0.msgs_delivered,
         r->rs1.msgs_dropped - r->rs0.msgs_dropped, r->rs1.steals - r->rs0.steals,
         r->rs1.parks - r->rs0.parks);
}

/* ------------------------------------------------- service construction -- */

static mt_runtime_t *runtime(void)
{
    mt_runtime_opts_t o = { .workers = (int) env_long("MT_BENCH_WORKERS", 0) };
    mt_runtime_t *rt = mt_runtime_new(&o);
    if (!rt)
        die("mt_runtime_new: %s", strerror(errno));
    return rt;
}

static mt_store_t *store_new(mt_runtime_t *rt)
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
static mt_nodes_t *service(mt_runtime_t *rt, mt_store_t *store, int64_t health_timeout_ms)
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

/* ------------------------------------------------------ heartbeat_ingest -- */

static void run_heartbeat_ingest(void)
{
    mt_runtime_t *rt = runtime();
    mt_store_t *store = store_new(rt);
    mt_nodes_t *nodes = service(rt, store, 0);
    drive_result_t r;

    /*  Untimed: register every node through the directory (each one a store
        transaction: lock, draw, upsert, versions, commit). */
    drive_opts_t reg = { .op = OP_REGISTER, .nnodes = HB_NODES, .inflight = 1000,
                         .total = HB_NODES, .store = store };
    drive(rt, nodes, &reg, &r);
    drive_check("register", &r, HB_NODES);
    note("heartbeat_ingest: registered %d nodes in %.3f s (%.0f/s), untimed",
         HB_NODES, r.elapsed_s, HB_NODES / r.elapsed_s);
    free(r.lat_us);

    double window = (double) env_long("MT_BENCH_WINDOW_S", 5);
    drive_opts_t hb = {
        .op = OP_HEARTBEAT, .nnodes = HB_NODES,
        .inflight = (uint32_t) env_long("MT_BENCH_INFLIGHT", HB_NODES),
        .warmup_s = 2.0, .window_s = window, .window_min = 50000, .window_max_s = 60.0,
        .store = store,
    };
    drive(rt, nodes, &hb, &r);
    drive_check("heartbeat", &r, 0);
    double rate = (double) r.window_acks / r.elapsed_s;
    uint64_t batches = r.st1.status_batches - r.st0.status_batches;
    uint64_t rows = r.st1.status_rows - r.st0.status_rows;
    uint64_t stmts = r.st1.statements - r.st0.statements;
    note("heartbeat_ingest: nodes=%d inflight=%u warmup=%.1f s window=%.3f s acks=%" PRIu64
         " total sent=%" PRIu64, HB_NODES, hb.inflight > HB_NODES ? HB_NODES : hb.inflight,
         hb.warmup_s, r.elapsed_s, r.window_acks, r.sent);
    note("heartbeat_ingest store over the window: %" PRIu64 " transactions, %" PRIu64
         " rows (%.1f rows/txn), %" PRIu64 " statements (%.2f/txn), reconnects=%" PRIu64,
         batches, rows, batches ? (double) rows / (double) batches : 0.0, stmts,
         batches ? (double) stmts / (double) batches : 0.0,
         r.st1.reconnects - r.st0.reconnects);
    latency_note("heartbeat_ingest", &r);
    runtime_note("heartbeat_ingest", &r);
    cpu_note("heartbeat_ingest", &r.cpu0, &r.cpu1, r.window_acks, "ack");
    free(r.lat_us);
    emit("heartbeat_ingest", rate, "acks/s");

    mt_nodes_destroy(&nodes);
    mt_store_destroy(&store);
    mt_runtime_destroy(&rt);
}

/* ----------------------------------------------- raw_upsert, single_stmt -- */

typedef struct {
    int index, nconns;
    unsigned rows_per_stmt;         /* ROWS, or 1 with autocommit */
    bool autocommit;
    bool store_shape;               /* the store's whole transaction (store_txn) */
    _Atomic int *ready;
    _Atomic int *phase;             /* 0 warm-up, 1 window, 2 stop */
    _Atomic int64_t *rev;
    uint64_t window_rows, window_stmts;
    pthread_t thread;
} upserter_t;

/*  One connection upserting the same rows the store writes for heartbeats,
    into its share of HB_NODES (node k with k % nconns == index, disjoint as the
    store's writers' are). The first pass inserts them (untimed), then it
    upserts in rounds until told to stop. */
static void *upserter(void *arg)
{
    upserter_t *u = arg;
    mysql_thread_init();
    MYSQL *m = raw_connect(g_dsn, true);
    raw_sql(m, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    raw_sql(m, "SET SESSION innodb_lock_wait_timeout = 2");
    if (mysql_autocommit(m, 0) != 0)
        die("autocommit off: %s", mysql_error(m));
    char *big_sql = status_upsert_sql(ROWS), *small_sql = status_upsert_sql(u->rows_per_stmt);
    MYSQL_STMT *big = prepare(m, big_sql), *st = prepare(m, small_sql);
    free(big_sql);
    free(small_sql);
    mt_node_status_t *status = typical_status(0);
    status_json_t js = { 0 };
    status_json(&js, status);
    /*  store_txn: the store's other two statements (actors/store/sql.c:
        SQL_LOCK, SQL_DRAW; node_sql.c status_once runs them in this order). */
    MYSQL_STMT *lock = NULL, *drawst = NULL;
    if (u->store_shape) {
        char *lock_sql = repeat_sql("SELECT id FROM node_registrations WHERE deleted = 0 AND id IN (",
                                    "?", ROWS, ") FOR UPDATE");
        lock = prepare(m, lock_sql);
        free(lock_sql);
        drawst = prepare(m, "SELECT NEXTVAL(mt_revision) FROM seq_1_to_256 LIMIT ?");
    }

    uint32_t mine = 0;
    char (*ids)[16] = malloc(HB_NODES * sizeof *ids);
    if (!ids)
        die("out of memory");
    for (uint32_t k = (uint32_t) u->index; k < HB_NODES; k += (uint32_t) u->nconns)
        node_id(ids[mine++], sizeof ids[0], k);
    params_t p;
    p_init(&p, ROWS * 7);

    /*  Untimed first pass: the rows exist, as after every node's first heartbeat. */
    for (uint32_t i = 0; i < mine; i += ROWS) {
        p.n = 0;
        for (unsigned j = 0; j < ROWS; j++) {
            uint32_t x = i + j < mine ? i + j : mine - 1;       /* pad with the last row */
            p_cstr(&p, ids[x]);
            p_i64(&p, mt_wall_ms());
            p_i64(&p, 1);
            for (int f = 0; f < 3; f++)
                p_str(&p, js.buf.data + js.off[f], js.len[f]);
            p_i64(&p, atomic_fetch_add(u->rev, 1) + 1);
        }
        execute(big, &p, "first upsert");
        commit(m);
    }
    if (u->autocommit && mysql_autocommit(m, 1) != 0)
        die("autocommit on: %s", mysql_error(m));
    atomic_fetch_add(u->ready, 1);

    const char *skip = getenv("MT_BENCH_SKIP");
    bool skip_lock = skip && strstr(skip, "lock"), skip_draw = skip && strstr(skip, "draw");
    uint32_t next = 0;
    int phase;
    int64_t revs[ROWS];
    while ((phase = atomic_load(u->phase)) < 2) {
        int64_t now = mt_wall_ms();
        int64_t rev = atomic_fetch_add(u->rev, u->rows_per_stmt) + 1;
        for (unsigned j = 0; j < u->rows_per_stmt; j++)
            revs[j] = rev + j;
        if (u->store_shape) {
            /*  Ids ascend within a round (node-%06u), as the store sorts them. */
            if (next + u->rows_per_stmt > mine)
                next = 0;
        }
        if (u->store_shape && !skip_lock) {
            p.n = 0;
            for (unsigned j = 0; j < ROWS; j++)
                p_cstr(&p, ids[next + j]);
            execute(lock, &p, "lock");
            if (mysql_stmt_store_result(lock) != 0)
                die("lock: %s", mysql_stmt_error(lock));
            if (mysql_stmt_num_rows(lock) != ROWS)
                die("lock: %llu rows", (unsigned long long) mysql_stmt_num_rows(lock));
            mysql_stmt_free_result(lock);
        }
        if (u->store_shape && !skip_draw) {
            p.n = 0;
            p_i64(&p, ROWS);
            execute(drawst, &p, "draw");
            long long v = 0;
            MYSQL_BIND out = { .buffer_type = MYSQL_TYPE_LONGLONG, .buffer = &v };
            if (mysql_stmt_bind_result(drawst, &out) != 0 || mysql_stmt_store_result(drawst) != 0)
                die("draw: %s", mysql_stmt_error(drawst));
            for (unsigned j = 0; j < ROWS && mysql_stmt_fetch(drawst) == 0; j++)
                revs[j] = v;
            mysql_stmt_free_result(drawst);
        }
        p.n = 0;
        for (unsigned j = 0; j < u->rows_per_stmt; j++) {
            p_cstr(&p, ids[next]);
            p_i64(&p, now);
            p_i64(&p, 1);
            for (int f = 0; f < 3; f++)
                p_str(&p, js.buf.data + js.off[f], js.len[f]);
            p_i64(&p, revs[j]);
            next = (next + 1) % mine;
        }
        execute(st, &p, "upsert");
        if (!u->autocommit)
            commit(m);
        if (phase == 1 && atomic_load(u->phase) == 1) {
            u->window_rows += u->rows_per_stmt;
            u->window_stmts++;
        }
    }
    p_free(&p);
    free(ids);
    mt_json_buf_free(&js.buf);
    mt_node_status_unref(&status);
    mysql_stmt_close(big);
    mysql_stmt_close(st);
    if (lock) {
        mysql_stmt_close(lock);
        mysql_stmt_close(drawst);
    }
    mysql_close(m);
    mysql_thread_end();
    return NULL;
}

static void fill(mt_runtime_t *rt, mt_store_t *store, uint32_t n);
static mt_store_t *store_new(mt_runtime_t *rt);

static void run_upserts(const char *figure, int nconns, unsigned rows_per_stmt, bool autocommit,
                        double warmup_s, bool store_shape)
{
    mt_runtime_t *rt = runtime();
    if (store_shape) {
        /*  The lock needs the registrations: HB_NODES stored nodes. */
        mt_store_t *store = store_new(rt);
        fill(rt, store, HB_NODES);
        mt_store_destroy(&store);
    }
    else
        make_schema(rt, g_dsn);
    mt_runtime_destroy(&rt);

    _Atomic int ready = 0, phase = 0;
    _Atomic int64_t rev = 0;
    upserter_t u[RAW_CONNS];
    for (int i = 0; i < nconns; i++) {
        u[i] = (upserter_t) { .index = i, .nconns = nconns, .rows_per_stmt = rows_per_stmt,
                              .autocommit = autocommit, .store_shape = store_shape,
                              .ready = &ready, .phase = &phase, .rev = &rev };
        if (pthread_create(&u[i].thread, NULL, upserter, &u[i]) != 0)
            die("pthread_create");
    }
    while (atomic_load(&ready) < nconns)
        sleep_s(0.01);
    sleep_s(warmup_s);
    double window = (double) env_long("MT_BENCH_WINDOW_S", 5);
    cpu_t c0, c1;
    cpu_sample(&c0);
    double t0 = now_s();
    atomic_store(&phase, 1);
    sleep_s(window);
    atomic_store(&phase, 2);
    double t1 = now_s();
    cpu_sample(&c1);
    uint64_t rows = 0, stmts = 0;
    for (int i = 0; i < nconns; i++) {
        pthread_join(u[i].thread, NULL);
        rows += u[i].window_rows;
        stmts += u[i].window_stmts;
    }
    note("%s: connections=%d rows/statement=%u %s window=%.3f s rows=%" PRIu64
         " transactions=%" PRIu64 " (%.3f ms per transaction per connection)", figure, nconns,
         rows_per_stmt, autocommit ? "autocommit, one statement"
                        : store_shape ? "the store's transaction: lock, draw, upsert, commit"
                                      : "one upsert per transaction",
         t1 - t0, rows, stmts, stmts ? (t1 - t0) * 1e3 * nconns / (double) stmts : 0.0);
    cpu_note(figure, &c0, &c1, rows, "row");
    emit(figure, (double) rows / (t1 - t0), "rows/s");
}

static void run_raw_upsert(void)
{
    run_upserts("raw_upsert", RAW_CONNS, ROWS, false, 1.0, false);
}

static void run_single_stmt(void)
{
    run_upserts("single_stmt", 1, 1, true, 0.5, false);
}

/*  Diagnostic (not one of the issue's figures): raw_upsert with the store's
    whole heartbeat transaction, without any actor: what the SQL shape costs. */
static void run_store_txn(void)
{
    run_upserts("store_txn", RAW_CONNS, ROWS, false, 1.0, true);
}

/* ------------------------------------------------------- the 100k fill -- */
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
    mt_json_buf_t json;
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
    mt_json_buf_free(&f->json);
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
    mt_json_buf_reset(&f->json);
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
static void fill(mt_runtime_t *rt, mt_store_t *store, uint32_t n)
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
    int err;
    memcpy(&err, mt_msg_data(reply), sizeof err);
    memcpy(&p.nrows, (char *) mt_msg_data(reply) + sizeof err, sizeof p.nrows);
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

static void run_reload_full(void)
{
    mt_runtime_t *rt = runtime();
    mt_store_t *store = store_new(rt);
    fill(rt, store, RELOAD_NODES);
    mt_nodes_t *nodes = service(rt, store, 0);

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

    mt_nodes_destroy(&nodes);
    mt_store_destroy(&store);
    mt_runtime_destroy(&rt);
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

static void run_reload_incremental(void)
{
    mt_runtime_t *rt = runtime();
    mt_store_t *store = store_new(rt);
    fill(rt, store, RELOAD_NODES);
    mt_nodes_t *nodes = service(rt, store, 0);
    drive_result_t r;

    /*  Pass A: the first pass is full; every node actor is spawned and loads. */
    pass_t a = reload_pass(rt, nodes);
    double settle_s = settle(rt, nodes, RELOAD_NODES, &r);
    double last_done = a.reloaded_at;
    note("reload_incremental: pass A (full, %u rows) %.3f ms, settled %.3f s later, untimed",
         a.nrows, a.total_ms, settle_s);

    /*  Steady state: a pass uses as `after` the mark of the newest pass that
        finished >= MT_STORE_TXN_MAX_MS before the previous pass started
        (actors/reload.c, safe_after). So each round waits that long after the
        last pass, runs an untimed pass (its start makes the last measured
        pass's mark usable), changes RELOAD_CHANGED nodes, then measures a pass:
        it reads exactly the rows changed since the previous pass. */
    int rounds = (int) env_long("MT_BENCH_ROUNDS", 3);
    double *ms = calloc((size_t) rounds, sizeof *ms);
    if (!ms)
        die("out of memory");
    for (int round = 0; round < rounds; round++) {
        double wait = MT_STORE_TXN_MAX_MS / 1e3 + 0.5 - (now_s() - last_done);
        note("reload_incremental round %d: waiting %.1f s (MT_STORE_TXN_MAX_MS after the last pass)",
             round + 1, wait > 0 ? wait : 0);
        sleep_s(wait);
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

    mt_nodes_destroy(&nodes);
    mt_store_destroy(&store);
    mt_runtime_destroy(&rt);
}

/* ------------------------------------------------------- node_actor_rss -- */

/*  The heap as malloc sees it: bytes in use, free inside the heap
    (fragmentation that malloc_trim cannot give back), mmapped. */
static void heap_note(const char *when)
{
    struct mallinfo2 mi = mallinfo2();
    note("node_actor_rss heap %s: in use %.1f MB, free in heap %.1f MB, mmapped %.1f MB", when,
         (double) mi.uordblks / 1e6, (double) mi.fordblks / 1e6, (double) mi.hblkhd / 1e6);
}

static void run_node_actor_rss(void)
{
    mt_runtime_t *rt = runtime();
    mt_store_t *store = store_new(rt);
    fill(rt, store, RELOAD_NODES);
    /*  A health timeout far beyond the run: every node is healthy, with its
        health timer armed, as a live node is. */
    mt_nodes_t *nodes = service(rt, store, 3600 * 1000);
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
    malloc_trim(0);
    long rss1 = rss_bytes();
    heap_note("after");
    if (rss0 < 0 || rss1 < 0)
        die("cannot read VmRSS from /proc/self/status");
    mt_stats_t s;
    mt_runtime_stats(rt, &s);
    note("node_actor_rss: %d nodes, each a registration block of %u B and a status block of"
         " %u B; actors alive=%" PRIu64 " timers armed=%" PRIu64, RELOAD_NODES, r.reg_size,
         r.status_size, s.actors_alive, s.timers_armed);
    note("node_actor_rss: rss before=%ld after=%ld (after malloc_trim(0) both; untrimmed after=%ld,"
         " before=%ld) → %.1f B/node untrimmed", rss0, rss1, rss1_raw, rss0_raw,
         (double) (rss1_raw - rss0_raw) / RELOAD_NODES);
    emit("node_actor_rss", (double) (rss1 - rss0) / RELOAD_NODES, "bytes/node");

    mt_nodes_destroy(&nodes);
    mt_store_destroy(&store);
    mt_runtime_destroy(&rt);
}

/* ---------------------------------------------------------------- main -- */

static const struct { const char *name; void (*run)(void); } figures[] = {
    { "heartbeat_ingest", run_heartbeat_ingest },
    { "raw_upsert", run_raw_upsert },
    { "single_stmt", run_single_stmt },
    { "reload_incremental", run_reload_incremental },
    { "reload_full", run_reload_full },
    { "node_actor_rss", run_node_actor_rss },
    { "store_txn", run_store_txn },             /* diagnostic */
};

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
    fresh_db(argv[2], db);
    g_dsn = dsn_with_db(argv[2], db);
    note("%s: database %s, %ld CPUs", g_figure, db, sysconf(_SC_NPROCESSORS_ONLN));
    double t0 = now_s();
    run();
    drop_db(argv[2], db);
    note("%s: %.1f s in all", g_figure, now_s() - t0);
    free(g_dsn);
    mysql_library_end();
    return 0;
}
