/*  node_internal.h — (internal) a node actor's state, shared by node.c
    (requests and writes) and node_merge.c (merging, health, change
    notices). */
#ifndef MT_NODE_INTERNAL_H_INCLUDED
#define MT_NODE_INTERNAL_H_INCLUDED

#include "nodes_internal.h"

typedef enum { LOADING, IDLE, WRITING } state_t;

typedef struct {
    mt__nodes_cfg_t *cfg;
    mt_node_reg_t *reg;             /* NULL: absent (never stored, or deleted) */
    mt_node_status_t *status;
    mt_node_live_t *live;           /* metrics (never stored), or NULL */
    int64_t deleted_revision;       /* revision of the last delete seen */
    mt_timer_t *health;             /* armed while a ready node is healthy */
    bool health_armed;
    int64_t health_fire;            /* mt_now_ms when the armed timer fires */
    state_t state;
    bool healthy;
    bool components_first;          /* WRITING a heartbeat's components; its
                                       status follows */
    uint64_t corr;                  /* the store request in flight */
    uint64_t merges;                /* MT_NODE_MERGE messages handled */
    mt_msg_t *inflight;             /* the request being written */
    mt_msgq_t waiters;              /* superseded heartbeats, answered with it */
    mt_msgq_t stash;
    uint32_t nstash_req;            /* requests in the stash (merges are not counted) */
    char id[];
} node_t;

static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t reg_rev(const node_t *n) { return n->reg ? n->reg->reg_revision : 0; }
static inline int64_t status_rev(const node_t *n)
{
    return n->status ? n->status->status_revision : 0;
}

/*  The node's view as replies and notices show it (holds references). */
void mt__node_view_of(const node_t *n, mt_node_view_t *v);
/*  Tells the directory (snapshot, then the notice listener). */
void mt__node_notify(node_t *n, mt_node_change_t change, int64_t revision, bool local);
/*  Arms (or cancels) the timer for the moment health expires. */
void mt__node_arm_health(mt_actor_t *self, node_t *n);
/*  Merges by revision (see node_merge.c) and tells the directory of what
    was taken. local: this replica's own commit. */
void mt__node_merge_and_notify(mt_actor_t *self, node_t *n, mt_node_reg_t *reg,
                               mt_node_status_t *status, mt_node_live_t *live, bool deleted,
                               int64_t deleted_rev, bool local, int64_t upto);

#endif
