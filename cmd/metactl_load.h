/*  metactl_load.h — the load generator's figures, shared by
    metactl_load.c (the engine) and metactl_load_report.c (histogram,
    error counts, the report). */
#ifndef METACTL_LOAD_H_INCLUDED
#define METACTL_LOAD_H_INCLUDED

#include "metactl.h"

/*  Latency histogram in µs: exact below 256, then 128 sub-buckets per
    power of two (< 0.8% error); the maximum is exact. */
#define LOAD_HIST_BUCKETS (256 + 25 * 128)

typedef struct {
    uint64_t n;
    uint64_t max;
    uint64_t buckets[LOAD_HIST_BUCKETS];
} load_hist_t;

void load_hist_add(load_hist_t *h, uint64_t us);
/*  The value at quantile q (0..1]; 0 when empty. */
uint64_t load_hist_quantile(const load_hist_t *h, double q);

#define LOAD_MAX_CODES 16

/*  One phase's figures (registration, or heartbeats). */
typedef struct {
    const char *name;               /* "register", "heartbeat" */
    uint64_t sent, acked, failed;   /* failed = error replies + timeouts */
    uint64_t timeouts;              /* no reply within the request timeout */
    uint64_t late;                  /* replies after their timeout (ignored) */
    uint32_t ncodes;
    struct {
        char code[32];
        uint64_t n;
    } codes[LOAD_MAX_CODES];        /* error replies by code, then "timeout" */
    int64_t start_us, end_us;       /* end: sending stopped or the last reply */
    load_hist_t lat;                /* acknowledged requests only */
} load_phase_t;

void load_phase_error(load_phase_t *p, const char *code);
double load_phase_seconds(const load_phase_t *p);
double load_phase_rate(const load_phase_t *p);     /* acked per second */

#define LOAD_IMAGES_MAX 64

typedef struct {
    int64_t nodes, rate, duration_s, concurrency;
    int64_t images;                 /* image names in each heartbeat's status */
    const char *prefix;
    bool reg, bench;
} load_args_t;

/*  Prints the report (table or JSON) on f; reg is NULL without
    --register. */
void load_report(FILE *f, const ctl_t *g, const load_args_t *a, const load_phase_t *reg,
                 const load_phase_t *hb, bool interrupted);

#endif
