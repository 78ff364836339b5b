/*  node_msg.c — constructors and drop callbacks of the node messages. */
#include "mt_node_msg.h"
#include "mt_alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- requests ---------------------------------------------------------- */

static void copy_id(char *dst, const char *id)
{
    /*  Ids longer than the limit are cut here and rejected by the node's
        validation of the original text in the codec; the cut copy is only
        ever used for routing a request that already failed. Not snprintf:
        once a request, it was 3.5 % of the gateway thread's samples. */
    const char *s = id ? id : "";
    size_t n = strnlen(s, MT_NODE_ID_MAX);
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static void req_drop(mt_msg_t *msg)
{
    mt_node_req_t *r = mt_node_req(msg);
    mt_node_reg_unref(&r->reg);
    mt_node_status_unref(&r->status);
    mt_node_live_unref(&r->live);
    mt_node_reg_unref(&r->selector);
    free(r->has_template);
    free(r->has_image);
    r->has_template = r->has_image = NULL;
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
        r->remove = mt_xcalloc(nremove, sizeof(char *));
        for (uint32_t i = 0; i < nremove; i++)
            r->remove[i] = mt_xstrdup(remove[i]);
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

void mt_node_req_list_has(mt_msg_t *list, const char *has_template, const char *has_image)
{
    mt_node_req_t *r = mt_node_req(list);
    if (has_template)
        r->has_template = mt_xstrdup(has_template);
    if (has_image)
        r->has_image = mt_xstrdup(has_image);
}

mt_msg_t *mt_node_req_versions(mt_node_reg_t *selector)
{
    mt_msg_t *msg = req_new(MT_NODE_OP_VERSIONS, "");
    mt_node_req(msg)->selector = selector;
    return msg;
}

mt_msg_t *mt_node_req_changes(int64_t since, uint32_t limit)
{
    mt_msg_t *msg = req_new(MT_NODE_OP_CHANGES, "");
    mt_node_req(msg)->since = since;
    mt_node_req(msg)->limit = limit;
    return msg;
}

static void merge_drop(mt_msg_t *msg)
{
    mt_node_merge_t *m = mt_msg_data(msg);
    mt_node_live_unref(&m->live);
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

mt_msg_t *mt_node_reloaded_new(int err, uint32_t rows, bool full, int64_t covered)
{
    mt_msg_t *msg = mt_msg_new(MT_NODE_RELOADED, sizeof(mt_node_reloaded_t));
    *(mt_node_reloaded_t *) mt_msg_data(msg) =
        (mt_node_reloaded_t) { .err = err, .rows = rows, .full = full, .covered = covered };
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
    for (uint32_t i = 0; i < r->nchanges; i++)
        mt_node_view_clear(&r->changes[i].view);
    free(r->changes);
    r->changes = NULL;
    for (uint32_t i = 0; i < r->nmatrix; i++) {
        free(r->matrix[i].component);
        free(r->matrix[i].version);
    }
    free(r->matrix);
    r->matrix = NULL;
}

mt_msg_t *mt_node_reply_new(int err, const char *message)
{
    mt_msg_t *msg = mt_msg_new(MT_NODE_REPLY, sizeof(mt_node_reply_t));
    mt_node_reply_t *r = mt_node_reply(msg);
    r->err = err;
    if (message)
        snprintf(r->message, sizeof r->message, "%s", message);
    msg->drop = reply_drop;
    return msg;
}

void mt_node_reply_error(mt_msg_t *req, int err, const char *fmt, ...)
{
    mt_msg_t *reply = mt_node_reply_new(err, NULL);
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

mt_msg_t *mt_node_changed_new(mt_node_change_t change, int64_t revision,
                               const mt_node_view_t *view)
{
    mt_msg_t *msg = mt_msg_new(MT_NODE_CHANGED, sizeof(mt_node_changed_t));
    mt_node_changed_t *c = mt_node_changed(msg);
    c->change = change;
    c->revision = revision;
    c->merges = 0;
    mt_node_view_copy(&c->view, view);
    msg->drop = changed_drop;
    return msg;
}

