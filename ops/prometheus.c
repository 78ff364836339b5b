/*  prometheus.c — the /metrics body in Prometheus's text format 0.0.4.

    Names: metactor_ + the replica.stats name, + _total for counters (the
    format's convention, which promtool checks); histograms in seconds,
    with cumulative le buckets, _sum and _count. A snapshot is not one
    instant (mt_metrics.h): each series is read once, on its own. */
#include "mt_metrics.h"
#include "mt_codec.h"
#include "ops_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATS_CAP 128
#define GAUGES_CAP 16

void mt__ops_printf(mt__ops_buf_t *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0,
                          fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->data && b->len + (size_t) n < b->cap) {
            b->len += (size_t) n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 16384;
        while (cap <= b->len + (size_t) n)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            free(b->data);
            b->data = NULL;
            b->failed = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
}

static void render_stats(mt__ops_buf_t *b, const mt_ops_opts_t *o)
{
    mt_stat_t stats[STATS_CAP];
    uint32_t n = o->stats ? o->stats(o->arg, stats, STATS_CAP) : 0;
    for (uint32_t i = 0; i < n; i++) {
        const mt__ops_metric_t *m = mt__ops_metric(stats[i].name);
        const char *suffix = m && m->kind == MT__OPS_COUNTER ? "_total" : "";
        const char *type = !m ? "untyped" : m->kind == MT__OPS_COUNTER ? "counter" : "gauge";
        mt__ops_printf(b, "# HELP metactor_%s%s %s\n# TYPE metactor_%s%s %s\n"
                       "metactor_%s%s %llu\n", stats[i].name, suffix,
                       m ? m->help : "A replica.stats counter.", stats[i].name, suffix, type,
                       stats[i].name, suffix, (unsigned long long) stats[i].value);
    }
}

static void render_gauges(mt__ops_buf_t *b, const mt_ops_opts_t *o)
{
    mt_ops_gauge_t g[GAUGES_CAP];
    uint32_t n = o->gauges ? o->gauges(o->arg, g, GAUGES_CAP) : 0;
    for (uint32_t i = 0; i < n; i++)
        mt__ops_printf(b, "# HELP metactor_%s %s\n# TYPE metactor_%s gauge\nmetactor_%s %.6g\n",
                       g[i].name, g[i].help, g[i].name, g[i].name, g[i].value);
}

/*  One histogram's series; labels is "" or `op="node.get"` and the like. */
static void render_series(mt__ops_buf_t *b, const char *name, const char *labels,
                          const mt_histo_t *h)
{
    mt_histo_snap_t s;
    mt_histo_snapshot(h, &s);
    const char *sep = *labels ? "," : "";
    for (int i = 0; i < MT_HISTO_BUCKETS; i++)
        mt__ops_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
                       (double) mt_histo_bounds_us[i] / 1e6,
                       (unsigned long long) s.cumulative[i]);
    mt__ops_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                   (unsigned long long) s.count);
    const char *open = *labels ? "{" : "", *close = *labels ? "}" : "";
    mt__ops_printf(b, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n", name, open, labels, close,
                   (double) s.sum_us / 1e6, name, open, labels, close,
                   (unsigned long long) s.count);
}

static void render_head(mt__ops_buf_t *b, const char *name, const char *help)
{
    mt__ops_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
}

static void render_histograms(mt__ops_buf_t *b)
{
    mt_metrics_t *m = mt_metrics();
    render_head(b, "metactor_request_duration_seconds",
                "Client requests asked of the actors, from receipt to reply, by operation.");
    /*  The ops asked of actors: replica.stats is answered by the gateway
        itself and has no latency to speak of. */
    for (int op = 0; op < MT_OP_REPLICA_STATS && op < MT_METRICS_OPS; op++) {
        char labels[64];
        snprintf(labels, sizeof labels, "op=\"%s\"", mt_op_name((mt_op_t) op));
        render_series(b, "metactor_request_duration_seconds", labels, &m->request[op]);
    }
    render_head(b, "metactor_store_commit_duration_seconds",
                "Round trip of a database COMMIT.");
    render_series(b, "metactor_store_commit_duration_seconds", "", &m->store_commit);
    render_head(b, "metactor_reload_duration_seconds",
                "Successful reload passes, from the scan asked to its rows merged.");
    render_series(b, "metactor_reload_duration_seconds", "", &m->reload_pass);
    render_head(b, "metactor_notice_convergence_seconds",
                "A peer's heartbeat, from its commit (database clock) to its notice here.");
    render_series(b, "metactor_notice_convergence_seconds", "", &m->notice_convergence);
    mt__ops_printf(b, "# HELP metactor_reload_failures_total Reload passes that failed (database"
                   " unavailable or too slow).\n# TYPE metactor_reload_failures_total counter\n"
                   "metactor_reload_failures_total %llu\n",
                   (unsigned long long) atomic_load_explicit(&m->reload_failures,
                                                             memory_order_relaxed));
}

char *mt_ops_metrics_render(const mt_ops_opts_t *o)
{
    mt__ops_buf_t b = { 0 };
    char why[200];
    bool ready = o->ready ? o->ready(o->arg, why, sizeof why) : true;
    mt__ops_printf(&b, "# HELP metactor_build_info The running build; always 1.\n"
                   "# TYPE metactor_build_info gauge\n"
                   "metactor_build_info{version=\"%s\",replica=\"%s\"} 1\n"
                   "# HELP metactor_ready 1 when /readyz answers 200.\n"
                   "# TYPE metactor_ready gauge\nmetactor_ready %d\n",
                   o->version ? o->version : "", o->replica_id ? o->replica_id : "", ready);
    render_stats(&b, o);
    render_gauges(&b, o);
    render_histograms(&b);
    return b.failed ? NULL : b.data;
}
