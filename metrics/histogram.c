/*  histogram.c — fixed-bucket latency histograms of relaxed atomics.

    Relaxed order everywhere: each bucket and the sum are independent
    counters that publish no other memory, and a reader takes whatever
    recent values it finds (mt_metrics.h says what a snapshot promises). */
#include "mt_metrics.h"

#include <time.h>

/*  Prometheus's usual shape for request latencies, from 100 µs (a read
    answered from memory) to 10 s (the default request timeout). */
const uint64_t mt_histo_bounds_us[MT_HISTO_BUCKETS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 5000000, 10000000,
};

uint64_t mt_metrics_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

void mt_histo_observe_us(mt_histo_t *h, uint64_t us)
{
    int i = 0;
    while (i < MT_HISTO_BUCKETS && us > mt_histo_bounds_us[i])
        i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

void mt_histo_observe_since(mt_histo_t *h, uint64_t start_us)
{
    uint64_t now = mt_metrics_now_us();
    mt_histo_observe_us(h, now > start_us ? now - start_us : 0);
}

void mt_histo_snapshot(const mt_histo_t *h, mt_histo_snap_t *out)
{
    uint64_t total = 0;
    for (int i = 0; i <= MT_HISTO_BUCKETS; i++) {
        total += atomic_load_explicit(&((mt_histo_t *) h)->bucket[i], memory_order_relaxed);
        out->cumulative[i] = total;
    }
    out->count = total;
    out->sum_us = atomic_load_explicit(&((mt_histo_t *) h)->sum_us, memory_order_relaxed);
}
