/*  rcs_internal.h — what the reference service's actors share. */
#ifndef MT_RCS_INTERNAL_H_INCLUDED
#define MT_RCS_INTERNAL_H_INCLUDED

#include "mt_cluster_msg.h"
#include "mt_rcs.h"

#include <stdatomic.h>

enum {
    MT__RC_PROBE = MT_MSG_USER + 450,   /* agent → prober: mt__rc_probe_t */
    MT__RC_PROBED,                      /* prober → agent: mt__rc_probed_t */
    MT__RC_PRIORITY,                    /* registry → agent: int our index, -1 unknown */
    MT__RC_GONE,                        /* agent → registry: stopped (payload id) */
    MT__RC_TICK,                        /* agent's refresh timer */
    MT__RC_WRITE,                       /* agent's hostname-writer timer */
    MT__RC_RELOAD,                      /* registry's reload timer */
    MT__RC_INIT,                        /* registry → new agent: what it starts from */
    MT__RC_IDLE,                        /* prober → dispatcher: int its index */
};

#define MT__RC_ENDPOINTS_MAX (MT_RC_NODES_MAX + 1)

typedef struct {
    char uuid[MT_RC_ID_MAX + 1];        /* expected; "" = learn it (rc.add) */
    uint64_t deadline_ms;               /* mt_now_ms after which nobody waits */
    uint32_t n;
    char endpoints[][MT_ENDPOINT_MAX];  /* the hostname first, then the cached list */
} mt__rc_probe_t;

typedef struct {
    int err;                            /* MT_OK, MT_EUNAVAIL, MT_ECONFLICT (uuid) */
    char message[200];
    char uuid[MT_RC_ID_MAX + 1];
    bool first_answered;                /* endpoints[0] (the hostname) answered */
    uint32_t nalive;
    char alive[][MT_ENDPOINT_MAX];      /* the remote's live members, sorted */
} mt__rc_probed_t;

typedef struct {
    _Atomic int refs;
    mt_store_t *store;
    char replica_id[MT_REPLICA_ID_MAX + 1];
    int64_t refresh_interval_ms, reload_interval_ms, txn_max_ms, store_timeout_ms;
    uint32_t probe_timeout_ms;
    mt_actor_t *registry;
    mt_actor_t **probers;
    int nprobers;
    mt_actor_t *dispatcher;             /* hands probes to idle probers */
    mt_actor_t *listener;
    _Atomic uint64_t refreshes, hostname_writes, hostname_cancelled;
} mt__rcs_cfg_t;

mt__rcs_cfg_t *mt__rcs_cfg_ref(mt__rcs_cfg_t *cfg);
void mt__rcs_cfg_unref(mt__rcs_cfg_t **cfg_p);

/*  What a new agent starts from: an add request (ADDING), or a reference
    learned from a notice or a reload (passive). */
typedef struct {
    mt_rc_t *ref;                       /* learned, or NULL */
    int priority;
} mt__rc_init_t;

mt_actor_t *mt__rc_agent_spawn(mt_runtime_t *rt, mt__rcs_cfg_t *cfg, const char *id);
mt_actor_t *mt__rc_registry_spawn(mt_runtime_t *rt, mt__rcs_cfg_t *cfg);
mt_actor_t *mt__rc_prober_spawn(mt_runtime_t *rt, uint32_t timeout_ms, int index,
                                mt_actor_t *dispatcher);
mt_actor_t *mt__rc_dispatcher_spawn(mt_runtime_t *rt, mt__rcs_cfg_t *cfg);
mt_msg_t *mt__rc_probe_new(const char *uuid, const char *hostname, const mt_rc_t *ref,
                           uint64_t wait_ms);
/*  Where agents send probes: the dispatcher. */
mt_actor_t *mt__rcs_prober(mt__rcs_cfg_t *cfg, const char *id);

#endif
