/*  service_bench.h — what the files of mt_bench_service share: its
    settings, the replicas, the CPU window, the node requests and the
    figures (documented in service_bench.c). */
#ifndef MT_SERVICE_BENCH_H_INCLUDED
#define MT_SERVICE_BENCH_H_INCLUDED

#include "benchcli.h"
#include "benchproc.h"
#include "benchutil.h"

#include <pthread.h>
#include <stdatomic.h>

extern const char *g_dsn;           /* the figure's database */
extern const char *g_bindir;        /* metactord and metactl */
extern int g_port;                  /* MT_BENCH_SVC_PORT */
/*  The Galera figures (service_galera.c): replica i's DSN lists the
    cluster's nodes from node i + 1 on; their figure names get a prefix. */
extern bool g_spread;
extern const char *g_fig_prefix;    /* "" or "galera_" */

/*  The CURVE figures (FIGURE_curve): certificates made for the run in a
    temporary directory, removed at exit. */
typedef struct {
    bool on;
    char dir[192];                  /* the temporary directory */
    char cert[224];                 /* the replicas' certificate (role replica) */
    char trust[224];                /* the trust store: cluster and admin */
    char admin[224];                /* the bench clients' certificate (role admin) */
    char server_pub[41], server_sec[41];
    char admin_pub[41], admin_sec[41];
    long nodes;                     /* MT_BENCH_TRUST_NODES: node certificates trusted */
} curve_t;

extern curve_t g_curve;

/* ---- service_bench.c --------------------------------------------------- */

/*  Replica A (index 0, port g_port), B (1, g_port + 2), C (2, g_port + 4);
    under CURVE with --cert and --trust; extra flags (NULL-terminated, may
    be NULL) appended. */
bp_proc_t *start_replica(int index, const char *const *extra);

/*  A figure line: g_fig_prefix, then its name, then "_curve" under CURVE. */
void emit_fig(const char *name, double value, const char *unit);

/*  CPU time over a window: named processes, the database server
    (MT_BENCH_SERVER_PID), and the rest of the machine ("others": other
    people's work on a shared machine shows up here). */
typedef struct {
    int n;
    struct { const char *name; pid_t pid; unsigned long long t0, d; } p[8];
    unsigned long long busy0, busy;
    int64_t t0_us;
    double secs;
} cpu_win_t;

void cpu_add(cpu_win_t *w, const char *name, pid_t pid);
void cpu_add_db(cpu_win_t *w);
void cpu_begin(cpu_win_t *w);
/*  Prints the window's line; extra_ticks: CPU of processes already gone
    (e.g. metactl), counted as "children". */
void cpu_end(cpu_win_t *w, const char *what, unsigned long long extra_ticks);
/*  After cpu_end: the machine's busy share over the window, in % of all
    its CPUs. */
double cpu_busy_pct(const cpu_win_t *w);
/*  ticks clock ticks as µs per one of count (0 when count is). */
double ticks_us(double ticks, double count);

/* ---- service_loader.c -------------------------------------------------- */

typedef struct {
    bp_proc_t *proc;
    int fd;                         /* its stdout */
    bool failed;                    /* loader_finish: some requests failed */
    char out[4096];
} loader_t;

/*  `metactl load --bench` against endpoint: nodes ids prefix-NNNNN, rate
    heartbeats/s in all (0: as fast as conc in flight allow) for secs
    seconds, each heartbeat with `images` image names; reg: register them
    first. Under CURVE it connects with the cluster's key and the admin
    certificate. */
void loader_start(loader_t *ld, const char *endpoint, const char *prefix, long nodes, long rate,
                  long secs, long conc, long images, bool reg);
/*  The ingest figures' load (e2e, e2e_floor, e2e_3, galera_ingest):
    MT_BENCH_E2E_NODES nodes (default 10,000), MT_BENCH_E2E_S seconds of
    heartbeats (10), MT_BENCH_E2E_CONC in flight (256), and
    MT_BENCH_E2E_IMAGES image names in each heartbeat (3: etcd's peer puts
    a status with three, ../shared/peers/etcd, so ours carries as many). */
typedef struct {
    long nodes, secs, conc, images;
} e2e_shape_t;
e2e_shape_t e2e_shape(void);
/*  Waits for the loader's end: its rate (the heartbeat phase's acks/s);
    ld->failed if it exited non-zero. */
double loader_finish(loader_t *ld);
/*  CPU time of this process's waited-for children so far, in clock ticks. */
double children_ticks(void);
/*  Replicas 0 .. n-1 started (p), a client on each (c), each ready and
    all members of one cluster. */
void replicas_start(int n, bp_proc_t **p, cli_t *c);

/* ---- service_nodes.c --------------------------------------------------- */

void reg_node(cli_t *c, const char *id);
/*  "conditions" and two conditions (type, status, reason, message each). */
void pack_conditions(msgpack_packer *pk, const char *const conds[2][4]);
/*  A heartbeat with the typical status; returns its status_revision. */
uint64_t heartbeat(cli_t *c, const char *id, int64_t hb_at);
/*  node.get: 0 and the node's status_revision, 1 not_found. */
int get_rev(cli_t *c, const char *id, uint64_t *rev);
/*  Until the replica's bus has at least n peers. */
void wait_peers(cli_t *c, uint64_t n, int timeout_ms);
/*  Until node `id` on c shows status_revision >= rev. */
void wait_visible(cli_t *c, const char *id, uint64_t rev, int timeout_ms);

/* ---- service_echo.c ---------------------------------------------------- */
/*  A bare zmq ROUTER on its own thread of this process, answering every
    request (identity, delimiter, body) with blob — or, with_rid, with
    {"ok": true, "rid": the request's rid, "result": blob}, blob a packed
    result. Under CURVE a CURVE server with the cluster's key. */
typedef struct {
    const char *endpoint;
    const void *blob;
    size_t size;
    bool with_rid;
    atomic_bool stop;
    atomic_bool bound;
    uint64_t requests;
    pthread_t thread;
} echo_t;
/*  Returns once it is bound. */
void echo_start(echo_t *e);
void echo_stop(echo_t *e);

/* ---- service_rss.c ----------------------------------------------------- */

/*  Resident memory (VmRSS) of up to RSS_MAX_PIDS processes, sampled every
    period_ms by a thread of its own from rss_start to rss_stop; read the
    samples only after rss_stop. */
#define RSS_MAX_PIDS 4

typedef struct {
    double t;                       /* seconds since rss_start */
    long sum;                       /* bytes, all the processes */
    long each[RSS_MAX_PIDS];
} rss_sample_t;

typedef struct {
    int n;
    pid_t pid[RSS_MAX_PIDS];
    int period_ms;
    int64_t t0_us;
    pthread_t th;
    pthread_mutex_t mu;
    atomic_bool stop;
    rss_sample_t *s;                /* a sample where every process was there */
    size_t len, cap;
} rss_sampler_t;

/*  The processes' summed VmRSS now (each: per process, may be NULL); -1 if
    one is gone. */
long rss_now(const pid_t *pids, int n, long *each);
void rss_start(rss_sampler_t *r, const pid_t *pids, int n, int period_ms);
void rss_stop(rss_sampler_t *r);
void rss_free(rss_sampler_t *r);
/*  The index of the largest sum (0 when none). */
size_t rss_peak(const rss_sampler_t *r);
/*  Mean over the samples with t in [t_from, t_to) of process `which`, or of
    the sum (which < 0); *count: how many (may be NULL). */
double rss_mean(const rss_sampler_t *r, int which, double t_from, double t_to, size_t *count);

/* ---- the figures ------------------------------------------------------- */

int fig_convergence(void);              /* service_conv.c */
int fig_convergence_reload_only(void);
int fig_get(void);                      /* service_get.c */
int fig_e2e(void);                      /* service_e2e.c */
int fig_e2e_floor(void);
int fig_steady(void);                   /* service_steady.c */
int fig_flood(void);                    /* service_flood.c */
int fig_soak(void);                     /* service_soak.c */
int fig_versions(void);                 /* service_v2.c */
int fig_locality(void);
int fig_informer(void);
int fig_list(void);                     /* service_list.c */
int fig_list_100k(void);
int fig_e2e_3(void);                    /* service_galera.c */
int fig_galera_ingest(void);
int fig_galera_convergence(void);
int fig_galera_failover(void);          /* service_failover.c */
/*  g_dsn with its hosts rotated, node index + 1 first (caller frees). */
char *spread_dsn(int index);

#endif
