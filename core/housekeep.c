/*  housekeep.c — the runtime's housekeeping thread.

    Every MT__HOUSEKEEP_MS it sweeps the pool (pool.c): slabs whose blocks
    are all back in the stock after a burst are given back to the system,
    beyond what each size class's traffic used since the last sweep
    (mt__pool_sweep_idle: taking a stock in use makes threads carve new
    slabs).

    A thread of its own rather than the timer thread or a worker: a sweep
    after a large backlog walks every block of the stock (hundreds of
    thousands, milliseconds), while the timer thread must fire health
    expiries and ask timeouts on time and the workers run the actors. It
    sleeps on a condition variable (monotonic clock) in between; stopping
    wakes and joins it. Several runtimes in one process each have one; the
    pool serialises their sweeps. */
#include "internal.h"

#include <errno.h>
#include <time.h>

struct mt__housekeep {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool stop;                  /* guarded by lock */
};

static void deadline_in(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *housekeep_main(void *arg)
{
    mt__housekeep_t *h = arg;
    pthread_setname_np(pthread_self(), "mt-housekeep");
    pthread_mutex_lock(&h->lock);
    while (!h->stop) {
        struct timespec ts;
        deadline_in(&ts, MT__HOUSEKEEP_MS);
        int rc = 0;
        while (!h->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&h->cond, &h->lock, &ts);
        if (h->stop)
            break;
        pthread_mutex_unlock(&h->lock);
        mt__pool_sweep_idle(MT__POOL_KEEP_BATCHES);
        pthread_mutex_lock(&h->lock);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

int mt__housekeep_start(mt_runtime_t *rt)
{
    mt__housekeep_t *h = calloc(1, sizeof *h);
    if (!h)
        return MT_ENOMEM;
    pthread_mutex_init(&h->lock, NULL);
    mt__cond_init_monotonic(&h->cond);
    int rc = pthread_create(&h->thread, NULL, housekeep_main, h);
    if (rc != 0) {
        pthread_mutex_destroy(&h->lock);
        pthread_cond_destroy(&h->cond);
        free(h);
        errno = rc;
        return MT_ESYSTEM;
    }
    rt->housekeep = h;
    return MT_OK;
}

void mt__housekeep_stop(mt_runtime_t *rt)
{
    mt__housekeep_t *h = rt->housekeep;
    if (!h)
        return;
    rt->housekeep = NULL;
    pthread_mutex_lock(&h->lock);
    h->stop = true;
    pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->cond);
    free(h);
}
