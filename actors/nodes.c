/*  nodes.c — the node service's facade and its message constructors.

    Every payload pointer is a reference owned by its message; the drop
    callbacks below release them, so a message dropped anywhere (a stopped
    actor, shutdown) leaks nothing. */
#include "nodes_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mt_nodes {
    mt__nodes_cfg_t *cfg;
    mt_actor_t *directory;
    mt_actor_t *reload;
};

/* ---- settings ---------------------------------------------------------- */

mt__nodes_cfg_t *mt__nodes_cfg_ref(mt__nodes_cfg_t *cfg)
{
    atomic_fetch_add_explicit(&cfg->refs, 1, memory_order_relaxed);
    return cfg;
}

void mt__nodes_cfg_unref(mt__nodes_cfg_t **cfg_p)
{
    mt__nodes_cfg_t *cfg = *cfg_p;
    if (!cfg)
        return;
    *cfg_p = NULL;
    if (atomic_fetch_sub_explicit(&cfg->refs, 1, memory_order_acq_rel) != 1)
        return;
    mt_actor_unref(&cfg->directory);
    mt_actor_unref(&cfg->listener);
    free(cfg);
}

/* ---- requests ---------------------------------------------------------- */

static void copy_id(char *dst, const char *id)
{
    /*  Ids longer than the limit are cut here and rejected by the node's
        validation of the original text in the codec; the cut copy is only
        ever used for routing a request that already failed. */
    snprintf(dst, MT_NODE_ID_MAX + 1, "%s", id ? id : "");
}

static void req_drop(mt_msg_t *msg)
{
    mt_node_req_t *r = mt_node_req(msg);
    mt_node_reg_unref(&r->reg);
    mt_node_status_unref(&r->status);
    mt_node_reg_unref(&r->selector);
    for (uint32_t i = 0; i < r->nremove; i++)
        free(r->remove[i]);
    free(r->remove);
    r->remove = NULL;
    r->nremove = 0;
}

static mt_msg_t *req_new(mt_node_op_t op, const char *id)
{
    mt_msg_t *msg = mt_msg_new(MT_NODE_REQ, sizeof(mt_node_req_t));
    mt_node_req_t *r = mt_node_req(msg);
    r->op = op;
    copy_id(r->id, id);
    msg->drop = req_drop;
    return msg;
}

mt_msg_t *mt_node_req_register(const char *id, mt_node_reg_t *reg)
{
    mt_msg_t *msg = req_new(MT_NODE_OP_REGISTER, id);
    mt_node_req(msg)->reg = reg;
    return msg;
}

mt_msg_t *mt_node_req_heartbeat(const char *id, mt_node_status_t *status)
{
    mt_msg_t *msg = req_new(MT_NODE_OP_HEARTBEAT, id);
    mt_node_req(msg)->status = status;
    return msg;
}

mt_msg_t *mt_node_req_labels(const char *id, mt_node_reg_t *set,
                             const char *const *remove, uint32_t nremove)
{
    mt_msg_t *msg = req_new(MT_NODE_OP_LABELS, id);
    mt_node_req_t *r = mt_node_req(msg);
    r->reg = set;
    if (nremove) {
        r->remove = calloc(nremove, sizeof(char *));
        if (!r->remove)
            abort();
        for (uint32_t i = 0; i < nremove; i++)
            if (!(r->remove[i] = strdup(remove[i])))
                abort();
        r->nremove = nremove;
    }
    return msg;
}

mt_msg_t *mt_node_req_get(const char *id)
{
    return req_new(MT_NODE_OP_GET, id);
}

mt_msg_t *mt_node_req_delete(const char *id)
{
    return req_new(MT_NODE_OP_DELETE, id);
}

mt_msg_t *mt_node_req_list(bool healthy_only, mt_node_reg_t *selector,
                           const char *after, uint32_t limit)
{
    mt_msg_t *msg = req_new(MT_NODE_OP_LIST, "");
    mt_node_req_t *r = mt_node_req(msg);
    r->healthy_only = healthy_only;
    r->selector = selector;
    copy_id(r->after, after);
    r->limit = limit;
    return msg;
}

static void merge_drop(mt_msg_t *msg)
{
    mt_node_merge_t *m = mt_msg_data(msg);
    mt_node_reg_unref(&m->reg);
    mt_node_status_unref(&m->status);
}

mt_msg_t *mt_node_merge_new(const char *id, mt_node_reg_t *reg, mt_node_status_t *status,
                            bool deleted, int64_t deleted_revision)
{
    mt_msg_t *msg = mt_msg_new(MT_NODE_MERGE, sizeof(mt_node_merge_t));
    mt_node_merge_t *m = mt_msg_data(msg);
    copy_id(m->id, id);
    m->reg = reg;
    m->status = status;
    m->deleted = deleted;
    m->deleted_revision = deleted_revision;
    msg->drop = merge_drop;
    return msg;
}

/* ---- replies and notices ----------------------------------------------- */

static void reply_drop(mt_msg_t *msg)
{
    mt_node_reply_t *r = mt_node_reply(msg);
    mt_node_view_clear(&r->view);
    for (uint32_t i = 0; i < r->nviews; i++)
        mt_node_view_clear(&r->views[i]);
    free(r->views);
    r->views = NULL;
}

mt_msg_t *mt__node_reply_new(int err, const char *message)
{
    mt_msg_t *msg = mt_msg_new(MT_NODE_REPLY, sizeof(mt_node_reply_t));
    mt_node_reply_t *r = mt_node_reply(msg);
    r->err = err;
    if (message)
        snprintf(r->message, sizeof r->message, "%s", message);
    msg->drop = reply_drop;
    return msg;
}

void mt__node_reply_error(mt_msg_t *req, int err, const char *fmt, ...)
{
    mt_msg_t *reply = mt__node_reply_new(err, NULL);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(mt_node_reply(reply)->message, sizeof mt_node_reply(reply)->message, fmt, ap);
    va_end(ap);
    mt_reply(req, reply);
}

static void changed_drop(mt_msg_t *msg)
{
    mt_node_view_clear(&mt_node_changed(msg)->view);
}

mt_msg_t *mt__node_changed_new(mt_node_change_t change, int64_t revision,
                               const mt_node_view_t *view)
{
    mt_msg_t *msg = mt_msg_new(MT_NODE_CHANGED, sizeof(mt_node_changed_t));
    mt_node_changed_t *c = mt_node_changed(msg);
    c->change = change;
    c->revision = revision;
    mt_node_view_copy(&c->view, view);
    msg->drop = changed_drop;
    return msg;
}

/* ---- the service ------------------------------------------------------- */

mt_nodes_t *mt_nodes_new(mt_runtime_t *rt, const mt_nodes_opts_t *opts)
{
    if (!opts || !opts->store)
        return NULL;
    mt_nodes_t *nodes = calloc(1, sizeof *nodes);
    mt__nodes_cfg_t *cfg = calloc(1, sizeof *cfg);
    if (!nodes || !cfg) {
        free(nodes);
        free(cfg);
        return NULL;
    }
    atomic_init(&cfg->refs, 1);
    cfg->store = opts->store;
    cfg->health_timeout_ms = opts->health_timeout_ms > 0 ? opts->health_timeout_ms : 40000;
    cfg->reload_interval_ms = opts->reload_interval_ms ? opts->reload_interval_ms : 30000;
    cfg->full_resync_every = opts->full_resync_every > 0 ? opts->full_resync_every : 10;
    cfg->store_timeout_ms = opts->store_timeout_ms > 0 ? opts->store_timeout_ms : 30000;
    cfg->txn_max_ms = opts->txn_max_ms > 0 ? opts->txn_max_ms : MT_STORE_TXN_MAX_MS;
    cfg->listener = opts->listener ? mt_actor_ref(opts->listener) : NULL;
    nodes->cfg = cfg;
    nodes->directory = mt__directory_spawn(rt, cfg);
    if (nodes->directory) {
        cfg->directory = mt_actor_ref(nodes->directory);
        nodes->reload = mt__reload_spawn(rt, cfg);
    }
    if (!nodes->directory || !nodes->reload) {
        mt_nodes_destroy(&nodes);
        return NULL;
    }
    return nodes;
}

void mt_nodes_destroy(mt_nodes_t **nodes_p)
{
    mt_nodes_t *nodes = *nodes_p;
    if (!nodes)
        return;
    *nodes_p = NULL;
    if (nodes->reload)
        mt_stop(nodes->reload, 0);
    if (nodes->directory)
        mt_stop(nodes->directory, 0);   /* stops every node actor it knows */
    mt_actor_unref(&nodes->reload);
    mt_actor_unref(&nodes->directory);
    /*  cfg->directory is a cycle (directory → cfg → directory) only through
        the node actors' references; drop ours now. */
    mt__nodes_cfg_unref(&nodes->cfg);
    free(nodes);
}

mt_actor_t *mt_nodes_directory(mt_nodes_t *nodes) { return nodes->directory; }
mt_actor_t *mt_nodes_reload(mt_nodes_t *nodes) { return nodes->reload; }
