/*  metrics.c — the process's histograms, and the clock that notice
    convergence is measured with. */
#include "mt_metrics.h"

#include <stddef.h>
#include <time.h>

static mt_metrics_t s_metrics;
static mt_metrics_clock_fn *s_clock;
static const void *s_clock_arg;

mt_metrics_t *mt_metrics(void)
{
    return &s_metrics;
}

void mt_metrics_set_db_clock(mt_metrics_clock_fn *fn, const void *arg)
{
    s_clock = fn;
    s_clock_arg = arg;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mt_metrics_observe_convergence(int64_t seen_at_ms)
{
    if (seen_at_ms <= 0)
        return;                     /* a heartbeat of a build that stamps none */
    int64_t now = s_clock ? s_clock(s_clock_arg) : wall_ms();
    /*  Earlier than its stamp: the clock estimate's error; counts as 0. */
    int64_t ms = now > seen_at_ms ? now - seen_at_ms : 0;
    mt_histo_observe_us(&s_metrics.notice_convergence, (uint64_t) ms * 1000u);
}
