/*  mt_rcs.h — remote cluster references: one agent actor per reference, a
    registry that finds them (by id, name, uuid) and answers rc.list, and
    probers that ask remote clusters for their cluster.info.

    Everything a remote answers is untrusted (mt_remote_info_parse); with a
    reference's server_key the remote is asked over CURVE with that key
    pinned, presenting the reference's client keypair (an ephemeral one
    when it has none). client_secret reaches the agents of other replicas
    through the database only (reloads, or a read of the one row after a
    notice said the keys changed), never through a notice.

    Requests: mt_ask the registry (mt_rcs_registry) with an MT_RC_REQ; the
    answer is MT_RC_REPLY. The registry also takes MT_RC_MERGE (peers'
    notices) and MT_MEMBERS (this cluster's live replicas, from membership:
    they give this replica its priority as hostname writer). Committed
    changes go to the listener as MT_RC_CHANGED. */
#ifndef MT_RCS_H_INCLUDED
#define MT_RCS_H_INCLUDED

#include "mt_core.h"
#include "mt_rc.h"
#include "mt_store.h"

typedef struct mt_rcs mt_rcs_t;

typedef struct {
    mt_store_t *store;              /* required */
    const char *replica_id;         /* required: our place in the priority order */
    int64_t refresh_interval_ms;    /* 0 = 15,000 */
    int64_t reload_interval_ms;     /* 0 = 5,000; < 0: none */
    uint32_t probe_timeout_ms;      /* per remote endpoint; 0 = 1,000 */
    int probers;                    /* pinned threads asking remotes; 0 = 4 */
    bool allow_ipc;                 /* ipc:// hostnames and members may be used
                                       (--rc-allow-ipc); default false: only tcp */
    int64_t txn_max_ms;             /* 0 = MT_STORE_TXN_MAX_MS */
    int64_t store_timeout_ms;       /* 0 = 30,000 */
    mt_actor_t *listener;           /* MT_RC_CHANGED, or NULL */
} mt_rcs_opts_t;

mt_rcs_t *mt_rcs_new(mt_runtime_t *rt, const mt_rcs_opts_t *opts);
void mt_rcs_destroy(mt_rcs_t **rcs_p);
mt_actor_t *mt_rcs_registry(mt_rcs_t *rcs);

/*  Counters for replica.stats and the benchmarks. */
typedef struct {
    uint64_t refreshes;             /* probe rounds completed */
    uint64_t hostname_writes;       /* hostname replacements written by us */
    uint64_t hostname_cancelled;    /* planned writes cancelled: someone else wrote */
} mt_rcs_stats_t;
void mt_rcs_stats(mt_rcs_t *rcs, mt_rcs_stats_t *out);

#endif
