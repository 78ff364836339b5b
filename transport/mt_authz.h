/*  mt_authz.h — who may do what (PROTOCOL.md, "Security").

    | role    | may                                                          |
    |---------|--------------------------------------------------------------|
    | admin   | every operation                                              |
    | reader  | node.get, node.list, node.changes, node.versions, rc.get     |
    |         | (refresh too), rc.list, cluster.info, replica.stats          |
    | node    | as its own node only: node.register (no label key under      |
    |         | metactor.io/), node.heartbeat, node.get; cluster.info        |
    | replica | cluster.info, replica.stats                                  |

    Subscribing to notices (admin, reader, replica) is decided when the
    connection is made (zap.c). */
#ifndef MT_AUTHZ_H_INCLUDED
#define MT_AUTHZ_H_INCLUDED

#include "mt_codec.h"
#include "mt_trust.h"

/*  Labels under this prefix are for administrators. */
#define MT_RESERVED_LABEL_PREFIX "metactor.io/"

/*  MT_OK, or MT_EUNAUTH with a message for the client. node is the node id
    of a node certificate. Looks at the decoded request only. */
int mt_authz_check(mt_role_t role, const char *node, const mt_request_t *req,
                   char *err, size_t errlen);

#endif
