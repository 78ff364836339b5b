/*  mt_msg_types.h — which message types each module owns.

    Message types never leave the process (nothing on the wire carries
    them); they only have to be distinct, since an actor that took another
    module's message for one of its own would misread its payload. So each
    module owns one range of MT_MSG_RANGE_WIDTH types, named here and
    nowhere else: its header numbers its types from MT_MSG_BASE(its range),
    ends the enum with a ..._MSG_END_ marker (one past the last type; a
    module's private actors may continue from it) and checks the marker with
    MT_MSG_RANGE_CHECK, so a module that outgrows its range stops compiling
    instead of silently taking its neighbour's numbers. The ranges cannot
    overlap: each is one enumerator below, times the width.

    Free for programs' own actors (tests, examples, benches): the types
    below MT_MSG_BASE(0) — MT_MSG_USER and the next MT_MSG_RANGE_WIDTH - 1
    — and from MT_MSG_BASE(MT_MSG_RANGES_) up.

    Here rather than in core: core knows no module above it (it only says
    where application types start, MT_MSG_USER); this is the lowest layer
    every module's messages are declared in or above. */
#ifndef MT_MSG_TYPES_H_INCLUDED
#define MT_MSG_TYPES_H_INCLUDED

#include "mt_core.h"

#define MT_MSG_RANGE_WIDTH 64

typedef enum {
    MT_MSGR_STORE,              /* store/mt_store.h, then the store's own */
    MT_MSGR_NODE,               /* mt_node_msg.h: node requests, replies, notices */
    MT_MSGR_NODES_INTERNAL,     /* actors/nodes/nodes_internal.h: directory, node, reload */
    MT_MSGR_CLUSTER,            /* mt_cluster_msg.h: cluster.info, replica.stats */
    MT_MSGR_BUS,                /* mt_bus.h */
    MT_MSGR_MEMBERSHIP,         /* actors/membership/mt_membership.h, then membership.c's own */
    MT_MSGR_RC,                 /* mt_rc.h: remote cluster references */
    MT_MSGR_RCS_INTERNAL,       /* actors/rc/rcs_internal.h: agents, probers, registry */
    MT_MSG_RANGES_              /* number of ranges */
} mt_msg_range_t;

/*  The first type of `range`. */
#define MT_MSG_BASE(range) (MT_MSG_USER + MT_MSG_RANGE_WIDTH * (1 + (int) (range)))

/*  `end`, one past a module's last type, is within `range`. */
#define MT_MSG_RANGE_CHECK(range, end)                                          \
    _Static_assert((int) (end) > MT_MSG_BASE(range)                             \
                   && (int) (end) <= MT_MSG_BASE((int) (range) + 1),            \
                   #end ": the module's message types run out of their range "  \
                   "(see mt_msg_types.h)")

_Static_assert(MT_MSG_BASE(MT_MSG_RANGES_) <= UINT16_MAX,
               "message type ranges exceed mt_msg_t's uint16_t type");

#endif
