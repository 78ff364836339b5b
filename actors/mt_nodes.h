/*  mt_nodes.h — the node half of the service: node actors, the directory
    that finds them and answers lists, and the reload actor that merges the
    database into them.

    Requests (from the gateway, tests, anyone): mt_ask the directory
    (mt_nodes_directory) with an MT_NODE_REQ message built by one of the
    mt_node_req_* constructors; the answer is MT_NODE_REPLY carrying an
    mt_node_reply_t. Errors are mt_err_t / mt_model.h codes (MT_EBADREQ,
    MT_ENOTFOUND, MT_EUNAVAIL, ...) with a message for the client.

    Change notices: every committed or merged change of a node's view goes
    to the listener given in the options (if any) as MT_NODE_CHANGED with an
    mt_node_changed_t — the notice bus of the service subscribes this way. */
#ifndef MT_NODES_H_INCLUDED
#define MT_NODES_H_INCLUDED

#include "mt_core.h"
#include "mt_model.h"
#include "mt_store.h"

enum {
    MT_NODE_REQ = MT_MSG_USER + 200,
    MT_NODE_REPLY,
    MT_NODE_CHANGED,
    MT_NODE_MERGE,          /* mt_node_merge_t: a group learned from elsewhere */
    MT_NODE_RELOAD,         /* to the reload actor: scan now */
    MT_NODE_RELOADED,       /* reload actor → listener/asker: a pass finished */
};

typedef enum {
    MT_NODE_OP_REGISTER,
    MT_NODE_OP_HEARTBEAT,
    MT_NODE_OP_LABELS,
    MT_NODE_OP_GET,
    MT_NODE_OP_DELETE,
    MT_NODE_OP_LIST,
} mt_node_op_t;

typedef struct {
    mt_node_op_t op;
    char id[MT_NODE_ID_MAX + 1];
    mt_node_reg_t *reg;             /* REGISTER; LABELS: labels to set */
    mt_node_status_t *status;       /* HEARTBEAT (heartbeat_at 0: replica clock) */
    char **remove;                  /* LABELS */
    uint32_t nremove;
    /* LIST */
    bool healthy_only;
    mt_node_reg_t *selector;        /* labels that must all be equal, or NULL */
    char after[MT_NODE_ID_MAX + 1]; /* "" = from the start */
    uint32_t limit;                 /* 0 = all */
} mt_node_req_t;

typedef struct {
    int err;
    char message[200];
    mt_node_view_t view;            /* single-node ops except DELETE */
    uint32_t nviews;                /* LIST */
    mt_node_view_t *views;
    char next[MT_NODE_ID_MAX + 1];  /* LIST: "" unless the limit cut the list */
} mt_node_reply_t;

typedef enum { MT_NODE_UPSERT, MT_NODE_DELETED } mt_node_change_t;

typedef struct {
    mt_node_change_t change;
    int64_t revision;               /* the change's revision (0: health only) */
    mt_node_view_t view;            /* after the change (DELETED: id only) */
} mt_node_changed_t;

/*  A group learned from the database or a peer; merged by revision. */
typedef struct {
    char id[MT_NODE_ID_MAX + 1];
    mt_node_reg_t *reg;             /* or NULL */
    mt_node_status_t *status;       /* or NULL */
    bool deleted;
    int64_t deleted_revision;
} mt_node_merge_t;

/* ---- constructors (take the references they are given) ---------------- */

mt_msg_t *mt_node_req_register(const char *id, mt_node_reg_t *reg);
mt_msg_t *mt_node_req_heartbeat(const char *id, mt_node_status_t *status);
mt_msg_t *mt_node_req_labels(const char *id, mt_node_reg_t *set,
                             const char *const *remove, uint32_t nremove);
mt_msg_t *mt_node_req_get(const char *id);
mt_msg_t *mt_node_req_delete(const char *id);
mt_msg_t *mt_node_req_list(bool healthy_only, mt_node_reg_t *selector,
                           const char *after, uint32_t limit);
mt_msg_t *mt_node_merge_new(const char *id, mt_node_reg_t *reg, mt_node_status_t *status,
                            bool deleted, int64_t deleted_revision);

static inline mt_node_req_t *mt_node_req(mt_msg_t *m) { return mt_msg_data(m); }
static inline mt_node_reply_t *mt_node_reply(mt_msg_t *m) { return mt_msg_data(m); }
static inline mt_node_changed_t *mt_node_changed(mt_msg_t *m) { return mt_msg_data(m); }

/* ---- the node service -------------------------------------------------- */

typedef struct mt_nodes mt_nodes_t;

typedef struct {
    mt_store_t *store;              /* required */
    int64_t health_timeout_ms;      /* 0 = 40,000 (seed: 30 s reload + 10 s) */
    int64_t reload_interval_ms;     /* 0 = 30,000; < 0 = no periodic reload */
    int full_resync_every;          /* every Nth reload is a full resync; 0 = 10 */
    int64_t store_timeout_ms;       /* ask timeout towards the store; 0 = 30,000 */
    int64_t txn_max_ms;             /* longest a write transaction holds a revision;
                                       0 = MT_STORE_TXN_MAX_MS (see reload.c) */
    mt_actor_t *listener;           /* gets MT_NODE_CHANGED / MT_NODE_RELOADED, or NULL */
} mt_nodes_opts_t;

mt_nodes_t *mt_nodes_new(mt_runtime_t *rt, const mt_nodes_opts_t *opts);
void mt_nodes_destroy(mt_nodes_t **nodes_p);
/*  Borrowed references. */
mt_actor_t *mt_nodes_directory(mt_nodes_t *nodes);
mt_actor_t *mt_nodes_reload(mt_nodes_t *nodes);

#endif
