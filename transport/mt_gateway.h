/*  mt_gateway.h — the request endpoint: a ROUTER socket on a pinned actor.

    Messages handled (besides the socket): the answers to the asks it makes
    on behalf of clients — MT_NODE_REPLY, MT_RC_REPLY, MT_CLUSTER_INFO,
    MT_MSG_TIMEOUT —
    each encoded and sent back to the client that asked, with its rid. */
#ifndef MT_GATEWAY_H_INCLUDED
#define MT_GATEWAY_H_INCLUDED

#include "mt_codec.h"
#include "mt_core.h"
#include "mt_security.h"

/*  Extra counters for replica.stats, read on the gateway's thread: the
    function appends up to `cap` entries to out and returns how many. */
typedef uint32_t (mt_stats_fn) (void *arg, mt_stat_t *out, uint32_t cap);

/*  The gateway's own counters. Written by the gateway's thread alone,
    read from any (the HTTP listener's): relaxed atomics, each a counter on
    its own that publishes nothing else. */
typedef struct {
    _Atomic uint64_t requests, errors, timeouts, unauthorized, busy, dropped;
    _Atomic uint64_t in_flight;     /* requests asked and not answered yet */
} mt_gateway_counters_t;

typedef struct {
    const char *endpoint;           /* e.g. tcp://127.0.0.1:7400 (bound) */
    size_t max_body;                /* 0 = MT_CODEC_MAX_BODY_DEFAULT */
    uint32_t request_timeout_ms;    /* 0 = 10,000: then `unavailable` */
    uint32_t max_inflight;          /* in all; 0 = default; then `busy` */
    uint32_t max_inflight_client;   /* from one connection; 0 = default */
    mt_actor_t *nodes;              /* the node directory (required) */
    mt_actor_t *cluster;            /* answers MT_CLUSTER_INFO_REQ, or NULL */
    mt_actor_t *rc;                 /* the reference registry (rc.*), or NULL */
    mt_security_t *security;        /* CURVE + roles, or NULL: plain, all allowed */
    mt_stats_fn *stats_fn;          /* optional */
    void *stats_arg;
    /*  Answers node.get on the gateway's own thread when it can (metactord
        gives mt_nodes_peek): true with the view filled (it holds
        references); false: the request is asked of `nodes` like any other.
        Optional. */
    bool (*peek_fn)(void *arg, const char *id, mt_node_view_t *view);
    void *peek_arg;
    /*  Where the gateway counts (zeroed by the caller; must outlive the
        gateway), or NULL: a set of its own. */
    mt_gateway_counters_t *counters;
} mt_gateway_opts_t;

#define MT_GATEWAY_MAX_INFLIGHT_DEFAULT 20000
#define MT_GATEWAY_MAX_INFLIGHT_CLIENT_DEFAULT 2048

/*  Binds and starts. MT_OK, or an error with a message (e.g. address in
    use). *out is a reference the caller owns; mt_stop it to close. */
/*  The counters replica.stats begins with — the runtime's, the gateway's,
    authentication's — into out (up to cap); returns how many. Any thread:
    everything it reads is atomic (the timer count and the trust store's
    size take their own short locks, never the gateway's). */
uint32_t mt_gateway_stats(mt_runtime_t *rt, mt_gateway_counters_t *c, mt_security_t *sec,
                          mt_stat_t *out, uint32_t cap);

int mt_gateway_new(mt_runtime_t *rt, const mt_gateway_opts_t *opts, mt_actor_t **out,
                     char *err, size_t errlen);

#endif
