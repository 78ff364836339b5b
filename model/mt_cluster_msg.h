/*  mt_cluster_msg.h — cluster-level messages the gateway asks of the
    service: cluster.info (of the membership actor) and replica.stats (of
    whoever the daemon names). Both are answered with the ask's corr. */
#ifndef MT_CLUSTER_MSG_H_INCLUDED
#define MT_CLUSTER_MSG_H_INCLUDED

#include "mt_core.h"
#include "mt_msg_types.h"

enum {
    MT_CLUSTER_INFO_REQ = MT_MSG_BASE(MT_MSGR_CLUSTER),    /* no payload */
    MT_CLUSTER_INFO,                            /* mt_cluster_info_t */
    MT_STATS_REQ,                               /* no payload */
    MT_STATS,                                   /* mt_stats_list_t */
    MT_CLUSTER_MSG_END_
};
MT_MSG_RANGE_CHECK(MT_MSGR_CLUSTER, MT_CLUSTER_MSG_END_);

#define MT_REPLICA_ID_MAX 64
#define MT_ENDPOINT_MAX 256

typedef struct {
    char replica_id[MT_REPLICA_ID_MAX + 1];
    char endpoint[MT_ENDPOINT_MAX];
    char pub_endpoint[MT_ENDPOINT_MAX];
    char public_key[41];            /* CURVE server key (Z85), or "" */
    bool alive;
} mt_member_t;

typedef struct {
    int err;                        /* MT_OK, or MT_EUNAVAIL before the first database contact */
    char cluster_uuid[37];
    char replica_id[MT_REPLICA_ID_MAX + 1];
    uint32_t nmembers;
    mt_member_t members[];          /* sorted by replica_id */
} mt_cluster_info_t;

typedef struct {
    const char *name;               /* static strings */
    uint64_t value;
} mt_stat_t;

typedef struct {
    uint32_t n;
    mt_stat_t stats[];
} mt_stats_list_t;

#endif
