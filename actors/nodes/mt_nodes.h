/*  mt_nodes.h — the node half of the service: node actors, the directory
    that finds them and answers lists, and the reload actor that merges the
    database into them.

    Requests (from the gateway, tests, anyone): mt_ask the directory
    (mt_nodes_directory) with an MT_NODE_REQ message built by one of the
    mt_node_req_* constructors; the answer is MT_NODE_REPLY carrying an
    mt_node_reply_t. Errors are mt_err_t / mt_model.h codes (MT_EBADREQ,
    MT_ENOTFOUND, MT_EUNAVAIL, ...) with a message for the client.

    Change notices: every committed or merged change of a node's view goes
    to the listener given in the options (if any) as MT_NODE_CHANGED with an
    mt_node_changed_t — the notice bus of the service subscribes this way. */
#ifndef MT_NODES_H_INCLUDED
#define MT_NODES_H_INCLUDED

#include "mt_core.h"
#include "mt_db_clock.h"
#include "mt_model.h"
#include "mt_node_msg.h"
#include "mt_store.h"

/* ---- the node service -------------------------------------------------- */

typedef struct mt_nodes mt_nodes_t;

typedef struct {
    mt_store_t *store;              /* required */
    int64_t health_timeout_ms;      /* 0 = 40,000 (seed: 30 s reload + 10 s) */
    int64_t reload_interval_ms;     /* 0 = 30,000; < 0 = no periodic reload */
    int full_resync_every;          /* every Nth reload is a full resync; 0 = 10 */
    int64_t tombstone_retention_ms; /* after a full resync, purge node tombstones
                                       older than this; 0 = 3,600,000; < 0 = never */
    int64_t store_timeout_ms;       /* ask timeout towards the store; 0 = 30,000 */
    int64_t txn_max_ms;             /* longest a write transaction holds a revision;
                                       0 = MT_STORE_TXN_MAX_MS (see reload.c) */
    int64_t lag_ms;                 /* added to txn_max_ms for the scan window:
                                       0 = the store's allowance (Galera:
                                       MT_STORE_GALERA_LAG_MS), < 0 = none (tests
                                       that shrink txn_max_ms to milliseconds) */
    mt_actor_t *listener;           /* gets MT_NODE_CHANGED / MT_NODE_RELOADED, or NULL */
    /*  Only this replica's own commits (`local`) go to the listener: the
        notice bus publishes nothing else, and two messages per heartbeat
        (the peers' notices merged here) would reach it for nothing. */
    bool listener_local_only;
    /*  Raised to every reload's mark (a revision the database has issued),
        for whoever judges notices (mt_bus_counters_t.horizon); or NULL.
        Must outlive the node service. */
    _Atomic int64_t *revision_horizon;
    /*  The estimate of the database's clock that health is judged by
        (kept by membership); NULL: this host's wall clock. Must outlive
        the node service. */
    const mt_db_clock_t *db_clock;
    uint32_t max_stash;             /* requests waiting for one node; 0 = 256; then busy */
} mt_nodes_opts_t;

mt_nodes_t *mt_nodes_new(mt_runtime_t *rt, const mt_nodes_opts_t *opts);
void mt_nodes_destroy(mt_nodes_t **nodes_p);
/*  Borrowed references. */
mt_actor_t *mt_nodes_directory(mt_nodes_t *nodes);
mt_actor_t *mt_nodes_reload(mt_nodes_t *nodes);

/*  node.get without a message: the view the node's actor would answer,
    read on the caller's thread (any thread) from what the actors publish
    before they answer a write. False when this replica holds no
    registration for id in memory: ask the directory then (it loads the
    node from the database). The view holds references (mt_node_view_clear). */
bool mt_nodes_peek(mt_nodes_t *nodes, const char *id, mt_node_view_t *view);
/*  True when this replica holds id in memory at these revisions or newer
    (0: that group is not asked about), from any thread: what a peer's
    notice need not bring again (an mt_node_held_fn). */
bool mt_nodes_holds(mt_nodes_t *nodes, const char *id, int64_t reg_revision,
                    int64_t status_revision);

typedef struct {
    uint64_t reloads;               /* reload passes completed */
    uint64_t reload_rows;           /* rows they read */
    uint64_t reload_known;          /* of those, held already: not merged again */
    uint64_t tombstones_purged;     /* node tombstones this replica purged */
    uint64_t absent_deleted;        /* nodes dropped because a full resync no
                                       longer found them (tombstone purged
                                       before this replica saw it) */
    uint64_t expired;               /* requests dropped: their client had been
                                       answered before work could start */
    uint64_t stash_busy;            /* requests refused busy: their node's stash was full */
    uint64_t nodes;                 /* registered nodes, as of the last reload pass */
    uint64_t healthy;               /* of them healthy then (database clock) */
} mt_nodes_stats_t;
void mt_nodes_stats(mt_nodes_t *nodes, mt_nodes_stats_t *out);

#endif
