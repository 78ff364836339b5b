/*  rcs_internal.h — what the reference service's actors share. */
#ifndef MT_RCS_INTERNAL_H_INCLUDED
#define MT_RCS_INTERNAL_H_INCLUDED

#include "mt_cluster_msg.h"
#include "mt_msg_types.h"
#include "mt_rcs.h"

#include <stdatomic.h>

enum {
    MT__RC_PROBE = MT_MSG_BASE(MT_MSGR_RCS_INTERNAL),  /* agent → prober: mt__rc_probe_t */
    MT__RC_PROBED,                      /* prober → agent: mt__rc_probed_t */
    MT__RC_PRIORITY,                    /* registry → agent: int our index, -1 unknown */
    MT__RC_GONE,                        /* agent → registry: stopped (payload id) */
    MT__RC_TICK,                        /* agent's refresh timer */
    MT__RC_WRITE,                       /* agent's hostname-writer timer */
    MT__RC_RELOAD,                      /* registry's reload timer */
    MT__RC_INIT,                        /* registry → new agent: what it starts from */
    MT__RC_IDLE,                        /* prober → dispatcher: int its index */
    MT__RC_VALIDATED,                   /* agent → registry: mt__rc_validated_t */
    MT__RC_MSG_END_
};
MT_MSG_RANGE_CHECK(MT_MSGR_RCS_INTERNAL, MT__RC_MSG_END_);

#define MT__RC_ENDPOINTS_MAX (MT_RC_NODES_MAX + 1)

/*  The largest cluster.info answer a prober reads (ZMQ_MAXMSGSIZE of its
    clients): 256 alive members at their largest (two 255-byte endpoints,
    a 64-byte id, a key: ~700 bytes with the keys) are ~180 KiB; 1 MiB is
    the service's own default request limit and leaves room for a thousand
    rows of dead replicas. A bigger answer drops the connection: the
    endpoint does not answer. */
#define MT__RC_MAX_REPLY (1024 * 1024)

/*  How a remote is contacted (PROTOCOL.md, "Security"). */
typedef struct {
    bool demand_encryption;             /* never in plain */
    char server_key[MT_RC_KEY_LEN + 1];     /* "" = plain */
    char client_public[MT_RC_KEY_LEN + 1];  /* "" = an ephemeral keypair */
    char client_secret[MT_RC_KEY_LEN + 1];  /* wiped when the probe is freed */
} mt__rc_keys_t;

typedef struct {
    char uuid[MT_RC_ID_MAX + 1];        /* expected; "" = learn it (rc.add) */
    uint64_t deadline_ms;               /* mt_now_ms after which nobody waits */
    mt__rc_keys_t keys;
    uint32_t n;
    char endpoints[][MT_ENDPOINT_MAX];  /* the hostname first, then the cached list */
} mt__rc_probe_t;

/*  One endpoint that did not answer in a probe round. */
typedef struct {
    int64_t at;                         /* mt_wall_ms() */
    char endpoint[MT_ENDPOINT_MAX];
    char message[MT_RC_ERROR_MESSAGE_MAX];
} mt__rc_probe_error_t;

typedef struct {
    MT_RESULT_HEAD;                       /* MT_OK, MT_EUNAVAIL, MT_ECONFLICT (uuid) */
    char uuid[MT_RC_ID_MAX + 1];
    bool first_answered;                /* endpoints[0] (the hostname) answered */
    uint32_t nerrors;                   /* the endpoints that did not, in the order asked */
    mt__rc_probe_error_t errors[MT_RC_ERRORS_MAX];
    uint32_t nalive;
    char alive[][MT_ENDPOINT_MAX];      /* the remote's live members, sorted */
} mt__rc_probed_t;

typedef struct {
    _Atomic int refs;
    mt_store_t *store;
    char replica_id[MT_REPLICA_ID_MAX + 1];
    int64_t refresh_interval_ms, reload_interval_ms, txn_max_ms, store_timeout_ms;
    uint32_t probe_timeout_ms;
    bool allow_ipc;                     /* ipc:// endpoints may be contacted */
    mt_actor_t *registry;
    mt_actor_t **probers;
    int nprobers;
    mt_actor_t *dispatcher;             /* hands probes to idle probers */
    mt_actor_t *listener;
    _Atomic uint64_t refreshes, hostname_writes, hostname_cancelled, hostname_restricted;
} mt__rcs_cfg_t;

/*  A just_validate rc.add or rc.set that passed the agent's checks and its
    probe: the registry makes the checks that need every reference (a
    remote already referenced, a name taken) and answers req with ref
    (nothing stored). The message owns both until taken (NULLed). */
typedef struct {
    mt_msg_t *req;
    mt_rc_t *ref;                       /* without secrets */
} mt__rc_validated_t;
mt_msg_t *mt__rc_validated_new(mt_msg_t *req, mt_rc_t *ref);

mt__rcs_cfg_t *mt__rcs_cfg_ref(mt__rcs_cfg_t *cfg);
void mt__rcs_cfg_unref(mt__rcs_cfg_t **cfg_p);

/*  What a new agent starts from: an add request (ADDING), or a reference
    learned from a notice or a reload (passive). */
typedef struct {
    mt_rc_t *ref;                       /* learned, or NULL */
    int priority;
} mt__rc_init_t;

mt_actor_t *mt__rc_agent_spawn(mt_runtime_t *rt, mt__rcs_cfg_t *cfg, const char *id);
/*  Sets cfg->registry itself, before the registry's first message. */
mt_actor_t *mt__rc_registry_spawn(mt_runtime_t *rt, mt__rcs_cfg_t *cfg);
mt_actor_t *mt__rc_prober_spawn(mt_runtime_t *rt, uint32_t timeout_ms, bool allow_ipc,
                                int index, mt_actor_t *dispatcher);
mt_actor_t *mt__rc_dispatcher_spawn(mt_runtime_t *rt, mt__rcs_cfg_t *cfg);
/*  A probe of hostname, then of ref's node list (ref may be NULL), over
    keys (copied; the message wipes its copy of the secret when freed). */
mt_msg_t *mt__rc_probe_new(const char *uuid, const char *hostname, const mt_rc_t *ref,
                           const mt__rc_keys_t *keys, uint64_t wait_ms);
/*  The client secret an agent holds, beside the public key it belongs to
    (rc_keys.c). Wiped when replaced and when the agent stops. */
typedef struct {
    char public_key[MT_RC_KEY_LEN + 1];
    char secret_key[MT_RC_KEY_LEN + 1];
} mt__rc_secret_t;

/*  Keeps sec as pub's secret when they are a valid keypair (else keeps
    what it had); pub "" or NULL: the reference has no keypair, wipe. */
void mt__rc_secret_learn(mt__rc_secret_t *s, const char *pub, const char *sec);
void mt__rc_secret_wipe(mt__rc_secret_t *s);
/*  ref has a client_public whose secret s does not hold. */
bool mt__rc_secret_missing(const mt__rc_secret_t *s, const mt_rc_t *ref);
/*  How to contact ref: its server key and demand, and our keypair when it
    is ref's client_public (else none: ephemeral). */
void mt__rc_keys_of(const mt__rc_secret_t *s, const mt_rc_t *ref, mt__rc_keys_t *out);
/*  The same with a request's fields over ref's (ref NULL: rc.add). */
void mt__rc_keys_merge(const mt__rc_secret_t *s, const mt_rc_t *ref, const mt_rc_req_t *r,
                       mt__rc_keys_t *out);
/*  Does rc.set r change how ref's remote is contacted (server key, client
    keypair, demand_encryption turned on)? Then it is probed first. */
bool mt__rc_keys_change_contact(const mt_rc_t *ref, const mt_rc_req_t *r);
/*  An RC_SCAN of one reference's row: its client_secret, for the reader. */
mt_msg_t *mt__rc_secret_load_new(const char *id);

#endif
