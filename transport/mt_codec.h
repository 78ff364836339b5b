/*  mt_codec.h — the wire format of PROTOCOL.md: msgpack request and reply
    bodies, and change notices, to and from typed messages.

    Decoding is strict and safe on untrusted input: the body must be one
    msgpack map; before msgpack-c unpacks it (its unpacker allocates for a
    declared element count before reading the elements), every declared
    count is bounded by the bytes that remain and nesting by MT_CODEC_DEPTH.
    Errors come back as mt_model.h codes with a message for the client. */
#ifndef MT_CODEC_H_INCLUDED
#define MT_CODEC_H_INCLUDED

#include "mt_cluster_msg.h"
#include "mt_core.h"
#include "mt_model.h"
#include "mt_node_msg.h"
#include "mt_rc.h"

#include <msgpack.h>

#define MT_CODEC_DEPTH 16
#define MT_CODEC_MAX_BODY_DEFAULT (1024 * 1024)

typedef enum {
    MT_OP_NODE_REGISTER, MT_OP_NODE_HEARTBEAT, MT_OP_NODE_LABELS,
    MT_OP_NODE_GET, MT_OP_NODE_LIST, MT_OP_NODE_DELETE,
    MT_OP_RC_ADD, MT_OP_RC_SET, MT_OP_RC_DEL, MT_OP_RC_GET, MT_OP_RC_LIST,
    MT_OP_CLUSTER_INFO, MT_OP_REPLICA_STATS,
    MT_OP_NODE_VERSIONS, MT_OP_NODE_CHANGES,
} mt_op_t;

/*  "node.register", ... */
const char *mt_op_name(mt_op_t op);

typedef struct {
    mt_op_t op;
    bool has_rid;
    uint64_t rid;
    mt_msg_t *msg;          /* node ops: an MT_NODE_REQ ready to ask; rc ops: an
                               MT_RC_REQ; else NULL */
} mt_request_t;

/*  Decodes one request body. On error returns MT_EBADREQ, MT_EUNKNOWNOP or
    MT_ETOOLARGE with err filled; rid is still extracted when the body was a
    map with a valid "rid", so the error reply can echo it. On MT_OK the
    caller owns out->msg. max_size 0 means MT_CODEC_MAX_BODY_DEFAULT. */
int mt_codec_decode_request(const void *body, size_t size, size_t max_size,
                            mt_request_t *out, char *err, size_t errlen);

/*  Replies, packed into buf (cleared first). `now_ms` is not needed: views
    carry `healthy` as computed by their producer. */
void mt_codec_encode_error(msgpack_sbuffer *buf, bool has_rid, uint64_t rid,
                           int err, const char *message);
/*  A node reply for op (get/register/...: {"node": view}; delete: {};
    list: {"nodes": [...], "next"?}); an error reply if r->err != MT_OK. */
void mt_codec_encode_node_reply(msgpack_sbuffer *buf, bool has_rid, uint64_t rid,
                                mt_op_t op, const mt_node_reply_t *r);
/*  A reference reply for op (add/set/get: {"ref": view}; del: {}; list:
    {"refs": [...]}); an error reply if r->err != MT_OK. The view never
    carries the password. */
void mt_codec_encode_rc_reply(msgpack_sbuffer *buf, bool has_rid, uint64_t rid,
                              mt_op_t op, const mt_rc_reply_t *r);
void mt_codec_encode_cluster_info(msgpack_sbuffer *buf, bool has_rid, uint64_t rid,
                                  const mt_cluster_info_t *info);
void mt_codec_encode_stats(msgpack_sbuffer *buf, bool has_rid, uint64_t rid,
                           const mt_stats_list_t *stats);
/*  A view as PROTOCOL.md's node view map (for replies and notices). */
void mt_codec_pack_node_view(msgpack_packer *pk, const mt_node_view_t *view);

/*  Change notices: the body map of PROTOCOL.md (the publisher sends it
    under the topic "node/<id>" or "rc/<id>"). An rc notice's view is the
    reference view of change->ref, for a delete too. */
void mt_codec_encode_node_notice(msgpack_sbuffer *buf, const char *replica, uint64_t seq,
                                 const mt_node_changed_t *change);
void mt_codec_encode_rc_notice(msgpack_sbuffer *buf, const char *replica, uint64_t seq,
                               const mt_rc_changed_t *change);
typedef struct {
    char replica[MT_REPLICA_ID_MAX + 1];
    uint64_t seq;
    bool node;              /* kind "node" (false: "rc") */
    mt_node_change_t change;
    int64_t revision;
    mt_msg_t *merge;        /* node notices: an MT_NODE_MERGE of the view's groups */
    mt_msg_t *rc_merge;     /* rc notices: an MT_RC_MERGE (ref->deleted for "delete";
                               its revision is the notice's) */
} mt_notice_t;
/*  Decodes a notice body (same safety as requests; bodies over 16 MiB are
    MT_ETOOLARGE, malformed ones MT_EBADREQ). On MT_OK exactly one of
    out->merge, out->rc_merge is set, and the caller owns it. */
int mt_codec_decode_notice(const void *body, size_t size, mt_notice_t *out,
                           char *err, size_t errlen);
/*  Same, but a node notice's registration group that held(arg, id, its
    revision, 0) says the receiver has is neither decoded nor merged
    (out->merge has no registration): a revision is one write. A
    heartbeat's notice repeats its node's whole registration, and building
    it again was most of what a peer's notice cost. held NULL: as above. */
int mt_codec_decode_notice_known(const void *body, size_t size, mt_node_held_fn *held,
                                 void *arg, mt_notice_t *out, char *err, size_t errlen);

/*  A remote cluster's cluster.info answer, parsed as untrusted input
    (codec_cluster_info.c: the rules, the limits). Members kept are the
    alive, valid, distinct ones, sorted by endpoint: at most
    MT_RC_NODES_MAX, more is MT_EBADREQ. */
typedef struct {
    char endpoint[MT_ENDPOINT_MAX];
    char public_key[MT_RC_KEY_LEN + 1];     /* "" when the member gave none */
} mt_remote_member_t;

typedef struct {
    char cluster_uuid[MT_RC_ID_MAX + 1];
    uint32_t listed;                        /* entries of "members" */
    uint32_t rejected;                      /* entries that were not valid members */
    uint32_t nalive;
    mt_remote_member_t alive[];
} mt_remote_info_t;

/*  From the result map of a cluster.info reply (msgpack_object, as
    mt_client_call returns it) or from its bytes. MT_OK and *out (free it
    with mt_remote_info_destroy), or MT_EBADREQ with a message and *out NULL.
    allow_ipc: ipc:// members are kept (else refused like garbage). */
int mt_remote_info_parse(const msgpack_object *result, bool allow_ipc, mt_remote_info_t **out,
                         char *err, size_t errlen);
int mt_remote_info_decode(const void *body, size_t size, bool allow_ipc, mt_remote_info_t **out,
                          char *err, size_t errlen);
void mt_remote_info_destroy(mt_remote_info_t **info);

/*  The "rid" of a request body without decoding it (for an answer that
    must be cheap: too_large, busy). false when there is none. */
bool mt_codec_peek_rid(const void *body, size_t size, uint64_t *rid);
/*  A reply's "rid" and whether its "ok" is true, without decoding: enough
    for a load generator to account an acknowledgement (metactl load).
    false — decode it in full — unless the body is one whole map with
    fixstr keys, one "rid" (a non-negative integer) and one boolean "ok". */
bool mt_codec_peek_reply(const void *body, size_t size, uint64_t *rid, bool *ok);
/*  True if o (NULL: false) is the string s: map keys, op names, enums. */
bool mt_codec_str_is(const msgpack_object *o, const char *s);

/*  Bounds-checks an untrusted msgpack body: MT_OK or MT_EBADREQ. */
int mt_codec_check(const void *body, size_t size, char *err, size_t errlen);

#endif
