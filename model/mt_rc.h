/*  mt_rc.h — remote cluster references: the reference block and its
    messages (requests, replies, notices, merges).

    A reference is one immutable, reference-counted block like a node group
    (see mt_model.h): build it from a template, share it by reference, swap
    it whole. The two secrets, the password and client_secret (the CURVE
    secret key this cluster presents to the remote), travel only inside the
    messages that write them to the store and, for client_secret, the
    store's answers to a reload (so that every replica can probe): a
    reference held in memory, replied, listed or published never carries
    them (NULL there). The last unref of a block wipes them.

    Requests (MT_RC_REQ, mt_rc_req_t) are asked of the rc registry; the
    answer is MT_RC_REPLY (mt_rc_reply_t). */
#ifndef MT_RC_H_INCLUDED
#define MT_RC_H_INCLUDED

#include "mt_core.h"
#include "mt_model.h"
#include "mt_node_msg.h"
#include "mt_msg_types.h"

enum {
    MT_RC_REQ = MT_MSG_BASE(MT_MSGR_RC),
    MT_RC_REPLY,
    MT_RC_CHANGED,          /* mt_rc_changed_t: agent → registry → bus */
    MT_RC_MERGE,            /* mt_rc_merge_t: learned from a notice or a reload */
    MT_RC_MSG_END_
};
MT_MSG_RANGE_CHECK(MT_MSGR_RC, MT_RC_MSG_END_);

#define MT_RC_ID_MAX 36             /* a uuid */
#define MT_RC_NAME_MAX 255
#define MT_RC_NODES_MAX 256
#define MT_RC_KEY_LEN 40            /* a CURVE key in Z85 (MT_KEY_LEN) */

typedef struct {
    _Atomic uint32_t refs;          /* (internal) */
    uint32_t size;                  /* (internal) */
    const char *id;                 /* assigned by the service (uuid v4) */
    const char *name;               /* unique */
    const char *hostname;           /* request endpoint of a remote replica */
    const char *uuid;               /* the remote cluster's uuid */
    const char *username;
    const char *password;           /* NULL except on the way to the store */
    bool demand_encryption;         /* contacted over CURVE only (needs server_key) */
    const char *server_key;         /* Z85 of the remote's pinned server key, or "" */
    const char *client_public;      /* Z85 of the key presented to the remote, or "" */
    const char *client_secret;      /* its secret: NULL except to and from the store */
    bool deleted;                   /* a tombstone (merges, scans) */
    uint32_t nnodes;
    const char *const *node_list;   /* remote request endpoints, sorted */
    int64_t revision;
    int64_t refreshed_at;           /* ms, 0 = never */
} mt_rc_t;

mt_rc_t *mt_rc_build(const mt_rc_t *tmpl);
mt_rc_t *mt_rc_ref(mt_rc_t *rc);
void mt_rc_unref(mt_rc_t **rc_p);
/*  A copy of rc with both secrets (password, client_secret) dropped: what
    memory keeps, replies and notices carry. */
mt_rc_t *mt_rc_without_password(const mt_rc_t *rc);

/*  Validation with a message for the client: name 1-255 printable, no
    control characters.

    Endpoints (a hostname, the members a remote lists) are untrusted:
      tcp://HOST:PORT  HOST a DNS name or IPv4 address (1-253 of letters,
                       digits, '.', '-', '_') or [IPv6] (hex digits, ':',
                       '.'); PORT 1-65535 in decimal without a leading 0
      ipc://PATH       PATH 1-107 bytes of printable ASCII without spaces
    at most 255 bytes in all; nothing else (no ';', which zmq reads as a
    source address, no '*', spaces, control characters, non-ASCII).
    mt_rc_endpoint_check accepts both forms; whether ipc:// may be used
    is the operator's choice (mt_rcs_opts_t.allow_ipc), asked with
    mt_rc_endpoint_allowed. */
int mt_rc_name_check(const char *name, char *err, size_t errlen);
int mt_rc_endpoint_check(const char *endpoint, char *err, size_t errlen);
bool mt_rc_endpoint_is_ipc(const char *endpoint);
bool mt_rc_endpoint_allowed(const char *endpoint, bool allow_ipc);

/*  Overwrites a secret string in place (explicit_bzero); NULL is fine. */
void mt_rc_wipe(char *secret);

typedef enum { MT_RC_OP_ADD, MT_RC_OP_SET, MT_RC_OP_DEL, MT_RC_OP_GET, MT_RC_OP_LIST } mt_rc_op_t;

/*  A request. Selector (set/del/get): name, id or uuid — the first given of
    id, name, uuid is used. Fields marked has_* are optional. */
typedef struct {
    mt_rc_op_t op;
    char id[MT_RC_ID_MAX + 1];
    char name[MT_RC_NAME_MAX + 1];
    char uuid[MT_RC_ID_MAX + 1];
    char new_name[MT_RC_NAME_MAX + 1];      /* set: rename ("" = keep) */
    char *hostname;                         /* add: required; set: optional */
    char *username, *password;              /* optional (NULL: not given) */
    bool has_demand_encryption, demand_encryption;
    char *server_key;                       /* optional: "" clears */
    char *client_public, *client_secret;    /* optional, given together: "" clears */
    bool has_revision;                      /* set/del: compare-and-set */
    int64_t revision;
    bool refresh;                           /* get: refresh first */
} mt_rc_req_t;

typedef struct {
    MT_RESULT_HEAD;
    mt_rc_t *ref;                   /* add/set/get (reference) */
    uint32_t nrefs;                 /* list, sorted by name */
    mt_rc_t **refs;
} mt_rc_reply_t;

typedef struct {
    mt_node_change_t change;        /* MT_NODE_UPSERT / MT_NODE_DELETED */
    bool local;                     /* committed by this replica */
    int64_t revision;
    mt_rc_t *ref;                   /* without password */
} mt_rc_changed_t;

typedef struct {
    mt_rc_t *ref;                   /* ref->deleted for a tombstone */
} mt_rc_merge_t;

static inline mt_rc_req_t *mt_rc_req(mt_msg_t *m) { return mt_msg_data(m); }
static inline mt_rc_reply_t *mt_rc_reply(mt_msg_t *m) { return mt_msg_data(m); }

mt_msg_t *mt_rc_req_new(mt_rc_op_t op);        /* fill the payload after */
mt_msg_t *mt_rc_reply_new(int err, const char *message);
void mt_rc_reply_error(mt_msg_t *req, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
mt_msg_t *mt_rc_changed_new(mt_node_change_t change, bool local, int64_t revision, mt_rc_t *ref);
mt_msg_t *mt_rc_merge_new(mt_rc_t *ref);

#endif
