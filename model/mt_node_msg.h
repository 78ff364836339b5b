/*  mt_node_msg.h — node operations as typed messages: what the codec
    decodes a request into, what node actors answer, and the change notices
    they emit. Payload pointers are references owned by the message; its
    drop callback releases them, so a message dropped anywhere leaks nothing.

    A request (MT_NODE_REQ, mt_node_req_t) is asked (mt_ask / mt_ask_wait) of
    the node directory; the answer is MT_NODE_REPLY (mt_node_reply_t) with an
    error code of mt_model.h (MT_OK, MT_EBADREQ, MT_ENOTFOUND, ...). */
#ifndef MT_NODE_MSG_H_INCLUDED
#define MT_NODE_MSG_H_INCLUDED

#include "mt_core.h"
#include "mt_model.h"
#include "mt_msg_types.h"

enum {
    MT_NODE_REQ = MT_MSG_BASE(MT_MSGR_NODE),
    MT_NODE_REPLY,
    MT_NODE_CHANGED,
    MT_NODE_MERGE,          /* mt_node_merge_t: a group learned from elsewhere */
    MT_NODE_RELOAD,         /* to the reload actor: read the database now (e.g. a
                               notice sequence gap); asked, it answers RELOADED */
    MT_NODE_RELOADED,       /* mt_node_reloaded_t */
    MT_NODE_MSG_END_
};
MT_MSG_RANGE_CHECK(MT_MSGR_NODE, MT_NODE_MSG_END_);

typedef enum {
    MT_NODE_OP_REGISTER,
    MT_NODE_OP_HEARTBEAT,
    MT_NODE_OP_LABELS,
    MT_NODE_OP_GET,
    MT_NODE_OP_DELETE,
    MT_NODE_OP_LIST,
    MT_NODE_OP_VERSIONS,            /* answered by the directory, like LIST */
    MT_NODE_OP_CHANGES,             /* directory → store reader (since, upto) */
} mt_node_op_t;

typedef struct {
    mt_node_op_t op;
    /*  mt_now_ms after which nobody waits for the answer any more (the
        gateway has answered `unavailable`): work not started by then is
        not started at all. 0: no deadline. */
    int64_t deadline_ms;
    char id[MT_NODE_ID_MAX + 1];
    mt_node_reg_t *reg;             /* REGISTER; LABELS: labels to set */
    mt_node_status_t *status;       /* HEARTBEAT (heartbeat_at 0: replica clock) */
    mt_node_live_t *live;           /* HEARTBEAT: its metrics, or NULL */
    char **remove;                  /* LABELS */
    uint32_t nremove;
    /* LIST */
    bool healthy_only;
    bool schedulable_only;          /* set after mt_node_req_list */
    mt_node_reg_t *selector;        /* labels that must all be equal, or NULL */
    char after[MT_NODE_ID_MAX + 1]; /* "" = from the start */
    uint32_t limit;                 /* 0 = all (CHANGES: 0 = 10,000) */
    char *has_template;             /* LIST: NULL, or a name local_templates must hold */
    char *has_image;                /* LIST: NULL, or a name images must hold */
    /* CHANGES */
    int64_t since;                  /* changes with a revision above it */
    int64_t upto;                   /* set by the directory: every revision <= upto
                                       had committed before its last reload pass
                                       read (the highest mark it may give) */
    int64_t db_now_ms, health_timeout_ms;   /* set by the directory: health */
} mt_node_req_t;

/*  One cell of node.versions' matrix. */
typedef struct {
    char *component, *version;      /* owned */
    uint32_t count;
} mt_node_version_count_t;

typedef struct {
    MT_RESULT_HEAD;
    mt_node_view_t view;            /* single-node ops except DELETE */
    uint32_t nviews;                /* LIST */
    mt_node_view_t *views;
    char next[MT_NODE_ID_MAX + 1];  /* LIST: "" unless the limit cut the list */
    int64_t revision;               /* LIST: pass it to node.changes as since */
    uint32_t nchanges;              /* CHANGES: oldest first */
    struct mt_node_changed *changes;
    int64_t mark;                   /* CHANGES */
    uint32_t nmatrix;               /* VERSIONS: sorted by component, version */
    mt_node_version_count_t *matrix;
} mt_node_reply_t;

typedef enum { MT_NODE_UPSERT, MT_NODE_DELETED } mt_node_change_t;

typedef struct mt_node_changed {
    mt_node_change_t change;
    bool local;                     /* committed by this replica (not learned) */
    int64_t revision;               /* the change's revision (0: health only) */
    mt_node_view_t view;            /* after the change (DELETED: id only) */
    /*  From a node actor to the directory: MT_NODE_MERGE messages the actor
        had handled when it sent this (the directory knows how many it sent). */
    uint64_t merges;
} mt_node_changed_t;

/*  A group learned from the database or a peer; merged by revision. */
typedef struct {
    char id[MT_NODE_ID_MAX + 1];
    mt_node_reg_t *reg;             /* or NULL */
    mt_node_status_t *status;       /* or NULL */
    mt_node_live_t *live;           /* or NULL: metrics from a peer's notice */
    bool deleted;
    int64_t deleted_revision;
    /*  A full resync's row (0 otherwise): every revision <= resync_upto had
        committed when the database was read, so a group in memory with a
        revision in (the row's, resync_upto] was never committed — a forged
        notice, say — and the row replaces it. */
    int64_t resync_upto;
} mt_node_merge_t;

/*  A reload pass ended (to whoever asked for it, and to the directory). */
typedef struct {
    int err;
    uint32_t rows;                  /* rows merged */
    bool full;                      /* the pass read every stored row */
    int64_t covered;                /* every revision <= covered had committed
                                       before the pass read (0: none known) */
} mt_node_reloaded_t;

/* ---- constructors (take the references they are given) ---------------- */

mt_msg_t *mt_node_reloaded_new(int err, uint32_t rows, bool full, int64_t covered);

mt_msg_t *mt_node_reply_new(int err, const char *message);
mt_msg_t *mt_node_changed_new(mt_node_change_t change, int64_t revision,
                              const mt_node_view_t *view);
/*  Answers req (an asked message) with err and a formatted message. */
void mt_node_reply_error(mt_msg_t *req, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

mt_msg_t *mt_node_req_register(const char *id, mt_node_reg_t *reg);
mt_msg_t *mt_node_req_heartbeat(const char *id, mt_node_status_t *status);
mt_msg_t *mt_node_req_labels(const char *id, mt_node_reg_t *set,
                             const char *const *remove, uint32_t nremove);
mt_msg_t *mt_node_req_get(const char *id);
mt_msg_t *mt_node_req_delete(const char *id);
mt_msg_t *mt_node_req_list(bool healthy_only, mt_node_reg_t *selector,
                           const char *after, uint32_t limit);
/*  Sets a LIST's has_template / has_image (copied; NULL: no filter). */
void mt_node_req_list_has(mt_msg_t *list, const char *has_template, const char *has_image);
mt_msg_t *mt_node_req_versions(mt_node_reg_t *selector);
mt_msg_t *mt_node_req_changes(int64_t since, uint32_t limit);
mt_msg_t *mt_node_merge_new(const char *id, mt_node_reg_t *reg, mt_node_status_t *status,
                            bool deleted, int64_t deleted_revision);

static inline mt_node_req_t *mt_node_req(mt_msg_t *m) { return mt_msg_data(m); }
static inline mt_node_reply_t *mt_node_reply(mt_msg_t *m) { return mt_msg_data(m); }
static inline mt_node_changed_t *mt_node_changed(mt_msg_t *m) { return mt_msg_data(m); }

#endif
