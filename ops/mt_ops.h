/*  mt_ops.h — what an operator's tools talk to: the HTTP listener
    (Prometheus metrics, health and readiness) and the service manager
    (systemd's notify protocol).

    HTTP, served by libmicrohttpd on a thread of its own:
      GET /metrics   the Prometheus text format (version 0.0.4): every
                     replica.stats counter with # HELP and # TYPE, the
                     process's latency histograms (mt_metrics.h) and the
                     gauges the caller gives;
      GET /healthz   200 "ok": the process serves;
      GET /readyz    200 "ready", or 503 with the reason the ready
                     function gives;
    anything else is 404, a method other than GET or HEAD 405. Nothing is
    authenticated: bind loopback unless the network is trusted.

    The HTTP thread never waits for an actor: the functions it calls read
    atomics (mt_ops_opts_t says what they must be). It stops serving with
    mt_ops_http_destroy, before anything those functions read is freed. */
#ifndef MT_OPS_H_INCLUDED
#define MT_OPS_H_INCLUDED

#include "mt_cluster_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  A gauge that is not a replica.stats counter (it may be negative or
    fractional), e.g. the database clock offset in seconds. */
typedef struct {
    const char *name;               /* without the metactor_ prefix; static */
    const char *help;               /* static */
    double value;
} mt_ops_gauge_t;

/*  Called on the HTTP thread, concurrently with the actors: must only read
    atomics (or take locks held for a moment, never the actors'). */
typedef uint32_t (mt_ops_stats_fn) (void *arg, mt_stat_t *out, uint32_t cap);
typedef uint32_t (mt_ops_gauges_fn) (void *arg, mt_ops_gauge_t *out, uint32_t cap);
/*  true when ready; else false and a one-line reason in why. */
typedef bool (mt_ops_ready_fn) (void *arg, char *why, size_t whylen);

typedef struct {
    const char *listen;             /* ADDR:PORT: 127.0.0.1:9400, [::1]:9400, 0.0.0.0:9400 */
    const char *version;            /* for metactor_build_info */
    const char *replica_id;         /* a label of metactor_build_info */
    mt_ops_stats_fn *stats;         /* replica.stats, as the gateway answers it */
    mt_ops_gauges_fn *gauges;       /* or NULL */
    mt_ops_ready_fn *ready;
    void *arg;                      /* given to the three */
} mt_ops_opts_t;

typedef struct mt_ops_http mt_ops_http_t;

/*  Binds and starts serving. MT_OK, or MT_EINVAL / MT_ESYSTEM with one
    line in err (an address in use, not of this host, ...). */
int mt_ops_http_start(const mt_ops_opts_t *opts, mt_ops_http_t **out, char *err,
                      size_t errlen);
/*  Stops the thread and closes the socket; NULL and repeats are fine. */
void mt_ops_http_destroy(mt_ops_http_t **self_p);

/*  The /metrics body (malloc'd, NUL-terminated; NULL on out of memory).
    For mt_ops_http and tests. */
char *mt_ops_metrics_render(const mt_ops_opts_t *opts);

/*  systemd's notify protocol (sd_notify), each a no-op when the process
    was not started by systemd with Type=notify (no NOTIFY_SOCKET). */
void mt_ops_notify_ready(const char *status);       /* READY=1, serving */
void mt_ops_notify_stopping(const char *status);    /* STOPPING=1, draining */
void mt_ops_notify_status(const char *status);      /* STATUS=... */

#ifdef __cplusplus
}
#endif

#endif
