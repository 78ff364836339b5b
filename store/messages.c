/*  messages.c — the store's request constructors and replies, and what
    their payloads own. Every request owns its references; its drop callback releases
    them, so a request dropped anywhere (stopped actor, shutdown) leaks
    nothing. Ids longer than MT_NODE_ID_MAX (replica ids and endpoints
    longer than their fields) become "" and are refused by the store
    (bad_request) rather than truncated into another node's id. */
#include "store_internal.h"
#include "mt_alloc.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy_id(char dst[MT_NODE_ID_MAX + 1], const char *id)
{
    if (id && strlen(id) <= MT_NODE_ID_MAX)
        memcpy(dst, id, strlen(id) + 1);
    else
        dst[0] = '\0';
}

static void reg_drop(mt_msg_t *m)
{
    mt_store_node_reg_t *p = mt_msg_data(m);
    mt_node_reg_unref(&p->reg);
    mt_node_reg_unref(&p->labels);
    for (uint32_t i = 0; i < p->nremove; i++)
        free(p->remove[i]);
    free(p->remove);
    p->remove = NULL;
    p->nremove = 0;
}

/*  A registration write of kind op for node id (takes nothing yet). */
static mt_msg_t *reg_msg(mt_store_reg_op_t op, const char *id, mt_store_node_reg_t **p)
{
    mt_msg_t *m = mt_msg_new(MT_STORE_NODE_REG, sizeof(mt_store_node_reg_t));
    *p = mt_msg_data(m);
    (*p)->op = op;
    copy_id((*p)->id, id);
    m->drop = reg_drop;
    return m;
}

mt_msg_t *mt_store_msg_register(const char *id, mt_node_reg_t *reg)
{
    mt_store_node_reg_t *p;
    mt_msg_t *m = reg_msg(MT_STORE_REGISTER, id, &p);
    p->reg = reg;
    return m;
}

mt_msg_t *mt_store_msg_components(const char *id, mt_node_reg_t *components)
{
    mt_store_node_reg_t *p;
    mt_msg_t *m = reg_msg(MT_STORE_COMPONENTS, id, &p);
    p->reg = components;
    return m;
}

mt_msg_t *mt_store_msg_labels(const char *id, mt_node_reg_t *set,
                              const char *const *remove, uint32_t nremove)
{
    mt_store_node_reg_t *p;
    mt_msg_t *m = reg_msg(MT_STORE_LABELS, id, &p);
    p->labels = set;
    if (nremove) {
        p->remove = mt_xcalloc(nremove, sizeof *p->remove);
        for (uint32_t i = 0; i < nremove; i++)
            p->remove[i] = mt_xstrdup(remove[i]);
        p->nremove = nremove;
    }
    return m;
}

static void status_drop(mt_msg_t *m)
{
    mt_store_node_status_t *p = mt_msg_data(m);
    mt_node_status_unref(&p->status);
}

mt_msg_t *mt_store_msg_status(const char *id, mt_node_status_t *status, bool registered)
{
    mt_msg_t *m = mt_msg_new(MT_STORE_NODE_STATUS, sizeof(mt_store_node_status_t));
    mt_store_node_status_t *p = mt_msg_data(m);
    copy_id(p->id, id);
    p->status = status;
    p->registered = registered;
    p->sent_ms = mt_now_ms();
    m->drop = status_drop;
    return m;
}

mt_msg_t *mt_store_msg_delete(const char *id)
{
    mt_msg_t *m = mt_msg_new(MT_STORE_NODE_DELETE, sizeof(mt_store_node_delete_t));
    copy_id(((mt_store_node_delete_t *) mt_msg_data(m))->id, id);
    return m;
}

mt_msg_t *mt_store_msg_purge(int64_t older_than_ms)
{
    mt_msg_t *m = mt_msg_new(MT_STORE_NODE_PURGE, sizeof(mt_store_node_purge_t));
    ((mt_store_node_purge_t *) mt_msg_data(m))->older_than_ms = older_than_ms;
    return m;
}

mt_msg_t *mt_store_msg_load(const char *id)
{
    mt_msg_t *m = mt_msg_new(MT_STORE_NODE_LOAD, sizeof(mt_store_node_load_t));
    copy_id(((mt_store_node_load_t *) mt_msg_data(m))->id, id);
    return m;
}

mt_msg_t *mt_store_msg_scan(int64_t after, bool full)
{
    mt_msg_t *m = mt_msg_new(MT_STORE_SCAN, sizeof(mt_store_scan_req_t));
    mt_store_scan_req_t *p = mt_msg_data(m);
    p->after = after;
    p->full = full;
    return m;
}

static void scan_req_drop(mt_msg_t *m)
{
    mt_store_held_t *h = &((mt_store_scan_req_t *) mt_msg_data(m))->held;
    if (h->release)
        h->release(h->arg);
    h->release = NULL;
}

mt_msg_t *mt_store_msg_scan_unheld(int64_t after, const mt_store_held_t *held)
{
    mt_msg_t *m = mt_store_msg_scan(after, false);
    ((mt_store_scan_req_t *) mt_msg_data(m))->held = *held;
    m->drop = scan_req_drop;
    return m;
}

/*  Copies s into dst, or "" if it does not fit (refused by the store as a
    bad request rather than cut into another replica's id or address). */
static void copy_fit(char *dst, size_t size, const char *s)
{
    if (s && strlen(s) < size)
        memcpy(dst, s, strlen(s) + 1);
    else
        dst[0] = '\0';
}

mt_msg_t *mt_store_msg_replica_beat(const char *replica_id, const char *endpoint,
                                    const char *pub_endpoint, int64_t started_at,
                                    int64_t alive_ms)
{
    mt_msg_t *m = mt_msg_new(MT_STORE_REPLICA_BEAT, sizeof(mt_store_replica_beat_t));
    mt_store_replica_beat_t *p = mt_msg_data(m);
    copy_fit(p->replica_id, sizeof p->replica_id, replica_id);
    copy_fit(p->endpoint, sizeof p->endpoint, endpoint);
    copy_fit(p->pub_endpoint, sizeof p->pub_endpoint, pub_endpoint);
    p->started_at = started_at;
    p->alive_ms = alive_ms;
    return m;
}

mt_msg_t *mt_store_msg_replica_leave(const char *replica_id)
{
    mt_msg_t *m = mt_msg_new(MT_STORE_REPLICA_LEAVE, sizeof(mt_store_replica_leave_t));
    mt_store_replica_leave_t *p = mt_msg_data(m);
    copy_fit(p->replica_id, sizeof p->replica_id, replica_id);
    return m;
}

/* ---- remote cluster references ---------------------------------------------- */

static void rc_write_drop(mt_msg_t *m)
{
    mt_rc_unref(&((mt_store_rc_write_t *) mt_msg_data(m))->ref);     /* wipes a password */
}

static mt_msg_t *rc_write(int type, mt_rc_t *ref)
{
    mt_msg_t *m = mt_msg_new(type, sizeof(mt_store_rc_write_t));
    ((mt_store_rc_write_t *) mt_msg_data(m))->ref = ref;
    m->drop = rc_write_drop;
    return m;
}

mt_msg_t *mt_store_msg_rc_add(mt_rc_t *ref)
{
    return rc_write(MT_STORE_RC_ADD, ref);
}

mt_msg_t *mt_store_msg_rc_set(mt_rc_t *ref, bool has_name, bool has_hostname,
                              bool has_username, bool has_password,
                              bool has_demand_encryption, int64_t expected_revision)
{
    mt_msg_t *m = rc_write(MT_STORE_RC_SET, ref);
    mt_store_rc_write_t *p = mt_msg_data(m);
    p->has_name = has_name;
    p->has_hostname = has_hostname;
    p->has_username = has_username;
    p->has_password = has_password;
    p->has_demand_encryption = has_demand_encryption;
    p->expected_revision = expected_revision;
    return m;
}

mt_msg_t *mt_store_msg_rc_del(const char *id, int64_t expected_revision)
{
    mt_msg_t *m = rc_write(MT_STORE_RC_DEL, mt_rc_build(&(mt_rc_t) { .id = id }));
    ((mt_store_rc_write_t *) mt_msg_data(m))->expected_revision = expected_revision;
    return m;
}

mt_msg_t *mt_store_msg_rc_scan(int64_t after)
{
    mt_msg_t *m = mt_msg_new(MT_STORE_RC_SCAN, sizeof(mt_store_scan_req_t));
    ((mt_store_scan_req_t *) mt_msg_data(m))->after = after;
    return m;
}

void mt_store_row_clear(mt_store_row_t *row)
{
    mt_node_reg_unref(&row->reg);
    mt_node_status_unref(&row->status);
}

/* ---- replies (for store_actor.c) ------------------------------------------- */

static void done_drop(mt_msg_t *m)
{
    mt_store_done_t *d = mt_msg_data(m);
    mt_node_reg_unref(&d->reg);
    mt_rc_unref(&d->rc);
}

mt_msg_t *mt__store_done(int err, const char *message, int64_t revision)
{
    mt_msg_t *r = mt_msg_new(MT_STORE_DONE, sizeof(mt_store_done_t));
    mt_store_done_t *d = mt_msg_data(r);
    d->err = err;
    if (err != MT_OK)
        snprintf(d->message, sizeof d->message, "%.199s", message ? message : mt_strerror(err));
    d->revision = revision;
    r->drop = done_drop;
    return r;
}

void mt__store_reply_done(mt_msg_t *req, int err, const char *message, int64_t revision,
                       mt_node_reg_t *reg)
{
    mt_msg_t *r = mt__store_done(err, message, revision);
    ((mt_store_done_t *) mt_msg_data(r))->reg = reg;
    mt_reply(req, r);
}

mt_msg_t *mt__store_done_rc(int err, const char *message, int64_t revision, mt_rc_t *rc)
{
    mt_msg_t *r = mt__store_done(err, message, revision);
    ((mt_store_done_t *) mt_msg_data(r))->rc = rc;
    return r;
}

void mt__store_rc_scanned_drop(mt_msg_t *m)
{
    mt_store_rc_scanned_t *s = mt_msg_data(m);
    for (uint32_t i = 0; i < s->nrefs; i++)
        mt_rc_unref(&s->refs[i]);
    free(s->refs);
    s->refs = NULL;
    s->nrefs = 0;
}

void mt__store_loaded_drop(mt_msg_t *m)
{
    mt_store_loaded_t *l = mt_msg_data(m);
    mt_store_row_clear(&l->row);
}

void mt__store_scanned_drop(mt_msg_t *m)
{
    mt_store_scanned_t *s = mt_msg_data(m);
    for (uint32_t i = 0; i < s->nrows; i++)
        mt_store_row_clear(&s->rows[i]);
    free(s->rows);
    s->rows = NULL;
}

void mt__store_replicas_drop(mt_msg_t *m)
{
    mt_store_replicas_t *r = mt_msg_data(m);
    free(r->replicas);
    r->replicas = NULL;
    r->nreplicas = 0;
}

/*  What no request may be, whatever the database holds. */
int mt__store_check(mt_msg_t *msg, char *why, size_t whylen)
{
    const char *id = NULL;
    switch (msg->type) {
    case MT_STORE_NODE_REG: id = ((mt_store_node_reg_t *) mt_msg_data(msg))->id; break;
    case MT_STORE_NODE_DELETE: id = ((mt_store_node_delete_t *) mt_msg_data(msg))->id; break;
    case MT_STORE_NODE_LOAD: id = ((mt_store_node_load_t *) mt_msg_data(msg))->id; break;
    case MT_STORE_REPLICA_BEAT: {
        mt_store_replica_beat_t *b = mt_msg_data(msg);
        return mt__store_sql_replica_check(b, b->replica_id, why, whylen);
    }
    case MT_STORE_REPLICA_LEAVE:
        return mt__store_sql_replica_check(NULL, ((mt_store_replica_leave_t *) mt_msg_data(msg))->replica_id,
                                    why, whylen);
    case MT_STORE_RC_ADD: case MT_STORE_RC_SET: case MT_STORE_RC_DEL:
        return mt__store_sql_rc_check(msg, why, whylen);
    case MT_STORE_NODE_PURGE:
        if (((mt_store_node_purge_t *) mt_msg_data(msg))->older_than_ms < 0) {
            snprintf(why, whylen, "purge: older_than_ms must be >= 0");
            return MT_EBADREQ;
        }
        return MT_OK;
    }
    return id ? mt_node_id_check(id, why, whylen) : MT_OK;
}

/*  Every answer begins with `int err; char message[200];` (checked below),
    so one table says which answer type, size and drop each request gets. */
#define SAME_HEAD(T)                                                             \
    _Static_assert(offsetof(T, err) == 0 && offsetof(T, message) == sizeof(int)  \
                   && sizeof(((T *) 0)->message) == 200, #T " starts err, message")
SAME_HEAD(mt_store_done_t);
SAME_HEAD(mt_store_loaded_t);
SAME_HEAD(mt_store_scanned_t);
SAME_HEAD(mt_store_rc_scanned_t);
SAME_HEAD(mt_store_replicas_t);

static const struct {
    uint16_t request, answer;
    size_t size;
    void (*drop)(mt_msg_t *);
} s_answers[] = {
    { MT_STORE_NODE_LOAD, MT_STORE_LOADED, sizeof(mt_store_loaded_t), mt__store_loaded_drop },
    { MT_STORE_SCAN, MT_STORE_SCANNED, sizeof(mt_store_scanned_t), mt__store_scanned_drop },
    { MT_STORE_RC_SCAN, MT_STORE_RC_SCANNED, sizeof(mt_store_rc_scanned_t),
      mt__store_rc_scanned_drop },
    { MT_STORE_REPLICA_BEAT, MT_STORE_REPLICAS, sizeof(mt_store_replicas_t),
      mt__store_replicas_drop },
};

/*  An error answer of the right type for any request. */
void mt__store_reply_error(mt_msg_t *req, int err, const char *message)
{
    if (!message)
        message = mt_strerror(err);
    for (size_t i = 0; i < sizeof s_answers / sizeof s_answers[0]; i++) {
        if (s_answers[i].request != req->type)
            continue;
        mt_msg_t *r = mt_msg_new(s_answers[i].answer, s_answers[i].size);
        mt_result_set(mt_msg_data(r), err, "%s", message);
        r->drop = s_answers[i].drop;
        mt_reply(req, r);
        return;
    }
    mt__store_reply_done(req, err, message, 0, NULL);
}
