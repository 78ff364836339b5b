/*  mt_bus.h — the change-notice bus: a PUB socket for this replica's
    notices and a SUB socket connected to every live peer's, on a pinned
    actor.

    Messages handled:
      MT_NODE_CHANGED   a committed change of this replica (the node
                        directory's listener): published as one notice,
                        topic "node/<id>", with the next sequence number.
      MT_RC_CHANGED     the same for a remote cluster reference ("rc/<id>").
      MT_BUS_PEERS      the live peers (from membership): SUB connects to
                        new ones and disconnects from gone ones.
    From the SUB socket: a peer's notice is merged (MT_NODE_MERGE to the
    directory, MT_RC_MERGE to the reference registry; revisions decide). A gap in a publisher's sequence — or a
    publisher seen for the first time past seq 1, or restarted — asks the
    reload actor for an immediate pass (MT_NODE_RELOAD). */
#ifndef MT_BUS_H_INCLUDED
#define MT_BUS_H_INCLUDED

#include "mt_cluster_msg.h"
#include "mt_codec.h"
#include "mt_core.h"
#include "mt_msg_types.h"
#include "mt_security.h"

enum {
    MT_BUS_PEERS = MT_MSG_BASE(MT_MSGR_BUS),   /* mt_bus_peers_t */
    MT_BUS_ROUTE,                       /* mt_bus_route_t: where merges and reloads go */
    MT_BUS_MSG_END_
};
MT_MSG_RANGE_CHECK(MT_MSGR_BUS, MT_BUS_MSG_END_);

/*  The bus is started before the node service (which publishes through it),
    so the service's actors reach it afterwards in this message. */
typedef struct {
    mt_actor_t *directory;          /* references, released with the message */
    mt_actor_t *reload;
    mt_actor_t *rc;                 /* the reference registry: gets MT_RC_MERGE */
    /*  Optional, called on the bus's thread: whether this replica holds a
        node's registration at a revision (mt_nodes_holds) — a peer's
        notice of one held merges its status alone
        (mt_codec_decode_notice_known). */
    mt_node_held_fn *held;
    void *held_arg;
} mt_bus_route_t;

mt_msg_t *mt_bus_route_new(mt_actor_t *directory, mt_actor_t *reload, mt_actor_t *rc,
                           mt_node_held_fn *held, void *held_arg);

typedef struct {
    uint32_t n;
    struct {
        char replica_id[MT_REPLICA_ID_MAX + 1];
        char pub_endpoint[MT_ENDPOINT_MAX];
        char public_key[MT_KEY_Z85_LEN + 1];   /* its CURVE server key, or "" */
    } peers[];
} mt_bus_peers_t;

typedef struct {
    const char *replica_id;
    const char *endpoint;           /* PUB, bound */
    mt_actor_t *directory;          /* gets MT_NODE_MERGE */
    mt_actor_t *reload;             /* gets MT_NODE_RELOAD on a gap */
    bool subscribe;                 /* false: publish only (tests, seed-style runs) */
    mt_security_t *security;        /* CURVE on PUB and SUB, or NULL */
    /*  Required; the caller's, kept by pointer: it must outlive the bus and
        everyone who reads it (the gateway's stats, the reload's horizon). */
    struct mt_bus_counters *counters;
} mt_bus_opts_t;

/*  Written by the bus's thread alone (mt_counter.h), read by any; horizon
    is raised by several (mt_bus_horizon_raise). */
typedef struct mt_bus_counters {
    _Atomic uint64_t sent, received, gaps, dropped, peers;
    _Atomic uint64_t peers_without_key;     /* security on, peer publishes no key */
    _Atomic uint64_t implausible;           /* notices dropped: revision beyond the horizon */
    /*  The highest revision this replica knows the database has issued
        (reload marks, its own commits); 0 until known. A notice beyond it
        by more than MT_BUS_REVISION_MARGIN is not merged, and the database
        is read instead: a notice is a hint, the database is the truth. */
    _Atomic int64_t horizon;
} mt_bus_counters_t;

/*  Raises *horizon to revision if it is higher (any thread). */
void mt_bus_horizon_raise(_Atomic int64_t *horizon, int64_t revision);

/*  Revisions other replicas may have drawn since this replica last read
    the database: a second of writes at far beyond this machine's rate,
    plus every connection's cached block of the sequence. */
#define MT_BUS_REVISION_MARGIN 1000000

/*  Binds the PUB socket and starts the bus's pinned actor. MT_OK with *out
    a reference the caller owns, or an error with a message. */
int mt_bus_new(mt_runtime_t *rt, const mt_bus_opts_t *opts, mt_actor_t **out, char *err,
               size_t errlen);

mt_msg_t *mt_bus_peers_new(uint32_t n);

#endif
