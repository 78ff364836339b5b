/*  service_rss.c — the replicas' resident memory over time, sampled by a
    thread of its own (the figures' own threads are busy sending): see
    service_bench.h. */
#include "service_bench.h"

#include <pthread.h>

long rss_now(const pid_t *pids, int n, long *each)
{
    long sum = 0;
    for (int i = 0; i < n; i++) {
        long b = proc_rss_bytes(pids[i]);
        if (b < 0)
            return -1;              /* gone: no sum means anything */
        if (each)
            each[i] = b;
        sum += b;
    }
    return sum;
}

static void *sampler_main(void *arg)
{
    rss_sampler_t *r = arg;
    int64_t next = r->t0_us;
    while (!atomic_load(&r->stop)) {
        rss_sample_t s = { .t = (double) (now_us() - r->t0_us) / 1e6 };
        s.sum = rss_now(r->pid, r->n, s.each);
        if (s.sum >= 0) {
            pthread_mutex_lock(&r->mu);
            if (r->len == r->cap) {
                size_t cap = r->cap ? 2 * r->cap : 1024;
                rss_sample_t *p = realloc(r->s, cap * sizeof *p);
                if (!p)
                    bp_die("out of memory");
                r->s = p;
                r->cap = cap;
            }
            r->s[r->len++] = s;
            pthread_mutex_unlock(&r->mu);
        }
        /*  On a fixed grid: a slow /proc read does not stretch the period. */
        next += (int64_t) r->period_ms * 1000;
        int64_t now = now_us();
        if (next < now)
            next = now;
        sleep_us(next - now);
    }
    return NULL;
}

void rss_start(rss_sampler_t *r, const pid_t *pids, int n, int period_ms)
{
    memset(r, 0, sizeof *r);
    if (n < 1 || n > RSS_MAX_PIDS)
        bp_die("rss_start: 1-%d processes", RSS_MAX_PIDS);
    memcpy(r->pid, pids, (size_t) n * sizeof *pids);
    r->n = n;
    r->period_ms = period_ms;
    r->t0_us = now_us();
    pthread_mutex_init(&r->mu, NULL);
    if (pthread_create(&r->th, NULL, sampler_main, r) != 0)
        bp_die("pthread_create");
}

void rss_stop(rss_sampler_t *r)
{
    atomic_store(&r->stop, true);
    pthread_join(r->th, NULL);
    pthread_mutex_destroy(&r->mu);
}

void rss_free(rss_sampler_t *r)
{
    free(r->s);
    r->s = NULL;
    r->len = r->cap = 0;
}

size_t rss_peak(const rss_sampler_t *r)
{
    size_t best = 0;
    for (size_t i = 1; i < r->len; i++)
        if (r->s[i].sum > r->s[best].sum)
            best = i;
    return best;
}

double rss_mean(const rss_sampler_t *r, int which, double t_from, double t_to, size_t *count)
{
    double total = 0;
    size_t n = 0;
    for (size_t i = 0; i < r->len; i++)
        if (r->s[i].t >= t_from && r->s[i].t < t_to) {
            total += (double) (which < 0 ? r->s[i].sum : r->s[i].each[which]);
            n++;
        }
    if (count)
        *count = n;
    return n ? total / (double) n : 0;
}
