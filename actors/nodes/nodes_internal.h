/*  nodes_internal.h — what node.c, directory.c, reload.c and nodes.c share. */
#ifndef MT_NODES_INTERNAL_H_INCLUDED
#define MT_NODES_INTERNAL_H_INCLUDED

#include "mt_msg_types.h"
#include "mt_nodes.h"
#include "views.h"

#include <stdatomic.h>

/*  Messages among the node service's own actors. */
enum {
    MT__NODE_INIT = MT_MSG_BASE(MT_MSGR_NODES_INTERNAL),  /* directory → new node: load first */
    MT__NODE_HEALTH,                    /* node's timer: heartbeat expired */
    MT__NODE_RETIRE,                    /* directory → absent node: may stop? */
    MT__NODE_RETIRED,                   /* node → directory: stopped (payload id) */
    MT__NODE_KEPT,                      /* node → directory: did not stop */
    MT__RELOAD_TICK,                    /* reload's interval timer */
    MT__NODES_MSG_END_
};
MT_MSG_RANGE_CHECK(MT_MSGR_NODES_INTERNAL, MT__NODES_MSG_END_);

/*  Settings every actor of one node service reads; refcounted because node
    actors may outlive mt_nodes_destroy until the runtime stops them. */
typedef struct {
    _Atomic int refs;
    mt_store_t *store;
    int64_t health_timeout_ms;
    int64_t reload_interval_ms;
    int full_resync_every;
    int64_t store_timeout_ms;
    int64_t txn_max_ms;
    int64_t lag_ms;                 /* mt_nodes_opts_t.lag_ms */
    int64_t tombstone_retention_ms;     /* < 0: never purge */
    _Atomic uint64_t reloads, reload_rows;  /* passes done, rows they read */
    _Atomic uint64_t reload_known;          /* rows held already, not merged */
    _Atomic uint64_t purged, absent_deleted;
    _Atomic uint64_t expired, stash_busy;   /* requests past their deadline, refused busy */
    _Atomic uint64_t present, healthy;      /* nodes, and healthy ones, at the last pass */
    uint32_t max_stash;                 /* requests one node keeps waiting */
    mt_actor_t *directory;              /* set once spawned */
    mt_actor_t *listener;               /* or NULL */
    bool listener_local_only;           /* see mt_nodes_opts_t */
    _Atomic int64_t *horizon;           /* or NULL: see mt_nodes_opts_t */
    const mt_db_clock_t *db_clock;      /* or NULL: see mt_nodes_opts_t */
    mt__views_t *views;                 /* what node actors publish for mt_nodes_peek */
} mt__nodes_cfg_t;

/*  The database's now as this replica estimates it: what health is
    judged by (PROTOCOL.md, healthy). */
static inline int64_t mt__nodes_db_now(const mt__nodes_cfg_t *cfg)
{
    return mt_db_clock_now(cfg->db_clock);
}

mt__nodes_cfg_t *mt__nodes_cfg_ref(mt__nodes_cfg_t *cfg);
void mt__nodes_cfg_unref(mt__nodes_cfg_t **cfg_p);

mt_actor_t *mt__node_spawn(mt_runtime_t *rt, mt__nodes_cfg_t *cfg, const char *id);
mt_actor_t *mt__directory_spawn(mt_runtime_t *rt, mt__nodes_cfg_t *cfg);
mt_actor_t *mt__reload_spawn(mt_runtime_t *rt, mt__nodes_cfg_t *cfg);

#endif
