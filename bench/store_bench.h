/*  store_bench.h — what the files of mt_bench_store share: sizes, the
    figure's database and store, the node contents, raw MySQL, the driver,
    the service under test, the fill and the figures (documented in
    store_bench.c). */
#ifndef MT_STORE_BENCH_H_INCLUDED
#define MT_STORE_BENCH_H_INCLUDED

#include "benchutil.h"
#include "mt_json.h"
#include "mt_core.h"
#include "mt_model.h"
#include "mt_nodes.h"
#include "mt_store.h"

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

#define HB_NODES 10000              /* heartbeat_ingest, raw_upsert, single_stmt */
#define RELOAD_NODES 100000         /* reload_*, node_actor_rss */
#define RELOAD_CHANGED 1000         /* reload_incremental: nodes changed per pass */
#define RELOAD_REREG 100            /* ... of which re-registered (label change) */
#define ROWS 256                    /* rows per multi-row statement (the store's largest) */
#define RAW_CONNS 2                 /* = the store's default writers (mt_store_opts_t) */
#define ASK_MS 120000               /* asks that should never time out */
#define WAIT_MS (600 * 1000)        /* longest wait for a driver's done */

extern const char *g_figure;
extern const char *g_dsn;           /* the figure's database */
extern mt_store_t *g_store;         /* the figure's store, for diagnostics */

/* ---- store_bench.c ----------------------------------------------------- */

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*  CPU time over a window, to tell the figure's own work from interference:
    this process, the server (MT_BENCH_SERVER_PID, set by scripts/bench), the
    rest of the machine, idle, and the hypervisor's steal. In clock ticks. */
typedef struct {
    unsigned long long busy, idle, steal, self, server;
} cpu_t;

void cpu_sample(cpu_t *c);
/*  CPU of this process and the database server (MT_BENCH_SERVER_PID)
    between a and b, in µs per one of count. */
double cpu_us(const cpu_t *a, const cpu_t *b, uint64_t count);
/*  The machine's busy share between a and b, in % of all its CPUs. */
double cpu_busy_pct(const cpu_t *a, const cpu_t *b);
/*  count > 0: also the CPU time per item (row, ack) of the bench and the server. */
void cpu_note(const char *what, const cpu_t *a, const cpu_t *b, uint64_t count,
              const char *item);

void node_id(char *out, size_t n, uint32_t k);
/*  A typical registration of node k. `tier` lets reload_incremental change a
    label. registered_at 0: the store stamps it (the raw fill stamps it too). */
/*  g_unique_labels: an 11th label, hostname, of the node's own. */
extern bool g_unique_labels;
mt_node_reg_t *typical_reg(uint32_t k, const char *tier);
/*  A typical heartbeat. heartbeat_at 0: the node actor stamps it. */
mt_node_status_t *typical_status(int64_t heartbeat_at);
/*  The heartbeat of heartbeat_ingest and lone_heartbeat: the typical one, or with
    MT_BENCH_HEARTBEAT_IMAGES=K what `metactl load --images K` sends (ready
    and K image names, nothing else): the store alone measured on the
    service's end-to-end heartbeats. */
mt_node_status_t *ingest_status(void);

mt_runtime_t *runtime(void);
/*  The figure's store (g_dsn), ready; also g_store. */
mt_store_t *store_new(mt_runtime_t *rt);
/*  A node service with reloads on demand only; its first pass is full, every
    later one incremental. */
mt_nodes_t *service(mt_runtime_t *rt, mt_store_t *store, int64_t health_timeout_ms);

/* ---- store_sql.c: raw MySQL -------------------------------------------- */

/*  A connection as the store makes it (socket if the DSN names one). */
MYSQL *raw_connect(const char *dsn_text, bool with_db);
void raw_sql(MYSQL *m, const char *sql);
long long raw_i64(MYSQL *m, const char *sql);
void fresh_db(const char *base_dsn, const char *db);
void drop_db(const char *base_dsn, const char *db);

/*  Parameters of one prepared statement: binds point into iv / lens. */
typedef struct {
    MYSQL_BIND *b;
    long long *iv;
    unsigned long *lens;
    unsigned n, cap;
} params_t;

void p_init(params_t *p, unsigned cap);
void p_free(params_t *p);
void p_i64(params_t *p, int64_t v);
void p_str(params_t *p, const char *s, size_t len);
void p_cstr(params_t *p, const char *s);

/*  head, then n × row separated by ',', then tail (caller frees). */
char *repeat_sql(const char *head, const char *row, unsigned n, const char *tail);
MYSQL_STMT *prepare(MYSQL *m, const char *sql);
void execute(MYSQL_STMT *st, params_t *p, const char *what);
void commit(MYSQL *m);
/*  The store's heartbeat upsert (store/sql.c, SQL_STATUS_UPSERT), n rows. */
char *status_upsert_sql(unsigned n);

/*  The JSON columns of a status, encoded by the store's own encoder. */
typedef struct {
    mt_buf_t buf;
    size_t off[3], len[3];
} status_json_t;

void status_json(status_json_t *j, const mt_node_status_t *st);
/*  Creates the schema exactly as the service does: through a store. */
void make_schema(mt_runtime_t *rt, const char *dsn);

/* ---- store_driver.c: requests through the directory -------------------- */

/*  An actor that keeps up to `inflight` requests outstanding through the
    directory, at most one per node: a node gets its next request only after
    the previous one was answered (as a real node's heartbeat loop). Free nodes
    wait in a FIFO, so with inflight < nodes the load rotates over all of them.

    Count mode (total > 0): `total` requests, then done; elapsed = first send to
    last answer. Time mode: a warm-up, then a window of at least window_s and
    window_min acks (at most window_max_s); elapsed and acks are the window's
    (answers that arrive inside it), then it drains and reports. */

typedef enum { OP_REGISTER, OP_HEARTBEAT, OP_GET } op_t;

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

/*  Runs one drive to its end on the runtime. */
void drive(mt_runtime_t *rt, mt_nodes_t *nodes, const drive_opts_t *o, drive_result_t *r);
void drive_check(const char *what, const drive_result_t *r, uint64_t want_acks);
/*  Notes p50/p90/p99/max; leaves r->lat_us sorted. */
void latency_note(const char *what, drive_result_t *r);
void runtime_note(const char *what, const drive_result_t *r);

/* ---- store_fill.c ------------------------------------------------------ */

/*  Stores n typical nodes (ids node-000000 ...) as the store would. */
void fill(mt_runtime_t *rt, mt_store_t *store, uint32_t n);

/* ---- the figures ------------------------------------------------------- */

void run_heartbeat_ingest(void);        /* store_ingest.c */
void run_lone_heartbeat(void);
void run_raw_upsert(void);
void run_single_stmt(void);
void run_store_txn(void);
void run_reload_incremental(void);      /* store_reload.c */
void run_reload_full(void);
void run_node_actor_rss(void);
void run_node_actor_rss_unique_labels(void);

#endif
