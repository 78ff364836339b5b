/*  metactord_ops.h — what metactord shows operators: replica.stats beyond
    the gateway's own counters, and the HTTP listener's metrics, gauges and
    readiness (mt_ops.h), read from the replica's parts. Every function
    here may run on any thread: it reads atomics only. */
#ifndef METACTORD_OPS_H_INCLUDED
#define METACTORD_OPS_H_INCLUDED

#include "heap_trim.h"
#include "mt_bus.h"
#include "mt_config.h"
#include "mt_db_clock.h"
#include "mt_gateway.h"
#include "mt_nodes.h"
#include "mt_ops.h"
#include "mt_rcs.h"
#include "mt_store.h"

#include <stdatomic.h>

typedef struct {
    mt_runtime_t *rt;
    mt_store_t *store;
    mt_bus_counters_t *bus;
    mt_rcs_t *rcs;
    mt_nodes_t *nodes;
    mt_security_t *sec;
    const mt_db_clock_t *db_clock;
    heap_trim_t *trim;              /* or NULL: no trimmer thread */
    int64_t alive_ms;               /* a beat older than this: not a live member */
    mt_gateway_counters_t gateway;  /* the gateway counts here */
    _Atomic uint64_t live_at;       /* membership's (mt_membership_opts_t.live_at) */
    uint64_t quiet_trim_requests;   /* requests at the last quiet trim (md_ops_quiet) */
    atomic_bool stopping;           /* set when draining starts: not ready */
} md_ops_t;

/*  mt_db_clock_now for mt_metrics_set_db_clock (arg: the mt_db_clock_t). */
int64_t md_ops_db_now(const void *arg);

/*  For the heap trimmer (heap_trim_quiet_fn): no request in flight and at
    least 20,000 requests since the last quiet trim. */
bool md_ops_quiet(void *arg);

/*  replica.stats after the gateway's own counters (mt_stats_fn). */
uint32_t md_ops_extra_stats(void *arg, mt_stat_t *out, uint32_t cap);

/*  Starts the HTTP listener of cfg->http (none if NULL: *out stays NULL).
    Stop it with mt_ops_http_destroy before any part of ops is freed. */
int md_ops_http_start(md_ops_t *ops, const mt_config_t *cfg, mt_ops_http_t **out, char *err,
                      size_t errlen);

#endif
