/*  mt_metrics.h — latency histograms, and the process's own set of them.

    A histogram counts observations into fixed buckets (Prometheus's
    cumulative `le` buckets, in seconds) and sums them. Observing is a few
    relaxed atomic adds, from any thread, never a lock: the actors that
    observe (gateway, store, reload, bus) must never wait for the thread
    that reads (the HTTP listener). A reader's snapshot is therefore not
    one instant: a bucket may already count an observation whose sum has
    not been added yet. The snapshot derives the count from the buckets,
    so `_count` always equals the `+Inf` bucket, as Prometheus requires.

    The process's histograms (mt_metrics()) are one set per process, as a
    Prometheus client library's default registry is: a replica is one
    process. In a test that runs several stores in one process they add up.

    Threads: every function may be called from any thread, except
    mt_metrics_set_db_clock, which is called once before the threads that
    observe start. Depends on libc only. */
#ifndef MT_METRICS_H_INCLUDED
#define MT_METRICS_H_INCLUDED

#include <stdatomic.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MT_HISTO_BUCKETS 16         /* finite upper bounds; +Inf is one more */

/*  The buckets' upper bounds, microseconds, ascending (100 µs ... 10 s). */
extern const uint64_t mt_histo_bounds_us[MT_HISTO_BUCKETS];

typedef struct {
    _Atomic uint64_t bucket[MT_HISTO_BUCKETS + 1];  /* not cumulative; last: > 10 s */
    _Atomic uint64_t sum_us;
} mt_histo_t;

void mt_histo_observe_us(mt_histo_t *h, uint64_t us);
/*  Observes the time since start_us (mt_metrics_now_us); a start in the
    future counts as 0. */
void mt_histo_observe_since(mt_histo_t *h, uint64_t start_us);

typedef struct {
    uint64_t cumulative[MT_HISTO_BUCKETS + 1];  /* le bound i; last: +Inf */
    uint64_t count;                             /* = cumulative[MT_HISTO_BUCKETS] */
    uint64_t sum_us;
} mt_histo_snap_t;

void mt_histo_snapshot(const mt_histo_t *h, mt_histo_snap_t *out);

/*  CLOCK_MONOTONIC in microseconds. */
uint64_t mt_metrics_now_us(void);

#define MT_METRICS_OPS 16           /* request histograms, by the transport's op number */

typedef struct {
    mt_histo_t request[MT_METRICS_OPS];     /* the gateway: request to reply, by op */
    mt_histo_t store_commit;                /* a COMMIT's round trip */
    mt_histo_t reload_pass;                 /* a reload pass: scan asked to rows merged */
    mt_histo_t notice_convergence;          /* a peer's heartbeat commit (database clock)
                                               to its notice read here */
    _Atomic uint64_t reload_failures;       /* reload passes that failed */
} mt_metrics_t;

/*  The process's set. */
mt_metrics_t *mt_metrics(void);

/*  The clock notice convergence is measured with: the database's, as this
    replica estimates it (ms since the epoch), since a heartbeat's seen_at
    is the database's stamp. Without one, this host's wall clock. */
typedef int64_t (mt_metrics_clock_fn) (const void *arg);
void mt_metrics_set_db_clock(mt_metrics_clock_fn *fn, const void *arg);

/*  A notice of a commit stamped seen_at_ms (database clock) arrived now. */
void mt_metrics_observe_convergence(int64_t seen_at_ms);

#ifdef __cplusplus
}
#endif

#endif
