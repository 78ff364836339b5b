/*  mt_membership.h — this replica's row in the replicas table, and the
    sorted list of live replicas.

    Messages handled:
      (timer)               every beat_ms: upsert our row, read everyone's
                            and the database's clock (a sample for db_clock).
      MT_CLUSTER_INFO_REQ   answered from the last read (cluster.info).
      MT_MEMBERSHIP_LEAVE   asked at shutdown: delete our row, then answer.
    When the live set changes it tells the bus (MT_BUS_PEERS) and the
    listener (MT_MEMBERS, for the remote-cluster priority writer). */
#ifndef MT_MEMBERSHIP_H_INCLUDED
#define MT_MEMBERSHIP_H_INCLUDED

#include "mt_bus.h"
#include "mt_cluster_msg.h"
#include "mt_core.h"
#include "mt_db_clock.h"
#include "mt_msg_types.h"
#include "mt_store.h"

enum {
    MT_MEMBERSHIP_LEAVE = MT_MSG_BASE(MT_MSGR_MEMBERSHIP),
    MT_MEMBERSHIP_LEFT,             /* payload int err */
    MT_MEMBERS,                     /* mt_cluster_info_t: the live members only */
    MT_MEMBERSHIP_MSG_END_          /* first type free for membership.c's own */
};
MT_MSG_RANGE_CHECK(MT_MSGR_MEMBERSHIP, MT_MEMBERSHIP_MSG_END_);

typedef struct {
    mt_store_t *store;
    const char *replica_id, *endpoint, *pub_endpoint;
    const char *public_key;         /* this replica's CURVE server key (Z85), or NULL */
    int64_t beat_ms;                /* 0 = 1000 */
    int64_t alive_ms;               /* 0 = 3000 */
    mt_actor_t *bus;                /* or NULL */
    mt_actor_t *listener;           /* or NULL */
    /*  Fed with every beat's reading of the database's clock (this actor is
        its one sampler), or NULL. Must outlive the actor. */
    mt_db_clock_t *db_clock;
    /*  Set to mt_now_ms() at each beat that found this replica alive in
        the table, and to 0 when it leaves (readiness: a live member), or
        NULL. Relaxed: one word, any recent value will do. */
    _Atomic uint64_t *live_at;
} mt_membership_opts_t;

mt_actor_t *mt_membership_new(mt_runtime_t *rt, const mt_membership_opts_t *opts);

#endif
