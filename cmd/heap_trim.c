/*  heap_trim.c — gives glibc's free heap back to the system, under load too.

    glibc returns freed heap to the system only from the top of an arena;
    what a burst frees elsewhere (zmq messages, request buffers, replies
    encoded while a database stall held thousands of requests) stays
    resident until malloc_trim. Trimming only when no request is pending
    never happens under load: after a 4-s stall a replica kept +58 MB
    (docs/benchmarks.md). So every 5 s, whatever the load: mallinfo2() and,
    if the arenas hold more than 8 MB free, malloc_trim(0). Below 8 MB it
    trims only when quiet (the caller says: metactord asks the gateway's
    counters), because a trim under load costs each allocating thread a
    wait on its arena — but a flood leaves less than 8 MB free, which
    must go back too (flood_rss_after).

    Why a thread of its own, not the gateway's: one check and trim took
    0.15–12 ms (mostly under 4) in that experiment, with 10–31 MB free in
    31–68 MB of arenas. On the gateway's thread that stalls every client's
    requests and replies for as long; here it only holds each arena's lock
    while that arena is trimmed, so another thread waits only if it
    allocates from that arena meanwhile. Not the runtime's timer thread
    either (health expiries and ask timeouts fire there), nor a worker (it
    would hold up the actors queued on it). replica.stats shows what the
    trims cost (metactor_heap_trim_max_seconds in /metrics). */
#include "heap_trim.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct heap_trim {
    size_t threshold;
    int period_ms;
    heap_trim_quiet_fn *quiet;
    void *arg;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;                      /* guarded by lock */
    /*  Written by the trimmer thread, read by replica.stats on the
        gateway's: relaxed, each a figure on its own. */
    _Atomic uint64_t checks, trims, free_kb, us_last, us_max;
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void check_and_trim(heap_trim_t *t)
{
    uint64_t t0 = now_us();
    struct mallinfo2 mi = mallinfo2();
    atomic_store_explicit(&t->free_kb, mi.fordblks / 1024, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->checks, 1, memory_order_relaxed);
    if (mi.fordblks <= t->threshold && !(t->quiet && t->quiet(t->arg)))
        return;
    malloc_trim(0);
    uint64_t us = now_us() - t0;
    atomic_fetch_add_explicit(&t->trims, 1, memory_order_relaxed);
    atomic_store_explicit(&t->us_last, us, memory_order_relaxed);
    if (us > atomic_load_explicit(&t->us_max, memory_order_relaxed))
        atomic_store_explicit(&t->us_max, us, memory_order_relaxed);
}

static void *trim_main(void *arg)
{
    heap_trim_t *t = arg;
    pthread_mutex_lock(&t->lock);
    while (!t->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += t->period_ms / 1000;
        ts.tv_nsec += (long) (t->period_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!t->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&t->cond, &t->lock, &ts);
        if (t->stop)
            break;
        pthread_mutex_unlock(&t->lock);
        check_and_trim(t);
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

heap_trim_t *heap_trim_start(size_t threshold, int period_ms, heap_trim_quiet_fn *quiet,
                             void *arg)
{
    heap_trim_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->threshold = threshold;
    t->period_ms = period_ms;
    t->quiet = quiet;
    t->arg = arg;
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&t->thread, NULL, trim_main, t) != 0) {
        pthread_mutex_destroy(&t->lock);
        pthread_cond_destroy(&t->cond);
        free(t);
        return NULL;
    }
    return t;
}

void heap_trim_stats(heap_trim_t *t, heap_trim_stats_t *out)
{
    *out = (heap_trim_stats_t) { 0 };
    if (!t)
        return;
    out->checks = atomic_load_explicit(&t->checks, memory_order_relaxed);
    out->trims = atomic_load_explicit(&t->trims, memory_order_relaxed);
    out->free_kb = atomic_load_explicit(&t->free_kb, memory_order_relaxed);
    out->trim_us_last = atomic_load_explicit(&t->us_last, memory_order_relaxed);
    out->trim_us_max = atomic_load_explicit(&t->us_max, memory_order_relaxed);
}

void heap_trim_stop(heap_trim_t **t_p)
{
    heap_trim_t *t = *t_p;
    if (!t)
        return;
    *t_p = NULL;
    pthread_mutex_lock(&t->lock);
    t->stop = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
    free(t);
}
