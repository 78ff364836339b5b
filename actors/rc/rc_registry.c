/*  rc_registry.c — finds reference agents by id, name and uuid; answers
    rc.list; reloads references from the database.

    Messages handled:
      MT_RC_REQ         add → a new agent (its id a fresh uuid) takes it; an
                        ipc:// hostname is refused unless allowed (allow_ipc);
                        set/del/get → forwarded (sender and corr kept) to the
                        agent the selector names; list → from the snapshot.
      MT_RC_MERGE       from the bus or a reload: to the agent, spawning a
                        passive one for a reference seen the first time —
                        unless the row is not newer than a delete we keep
                        (tomb_t).
      MT_RC_CHANGED     an agent's new state: into the snapshot and the
                        indexes, then on to the listener (the bus, which
                        publishes only this replica's own commits).
      MT__RC_GONE       an agent's reference is deleted (or its add failed):
                        forget it and stop the agent; a delete is kept as a
                        tombstone for a while (see tomb_t).
      MT__RC_VALIDATED  a just_validate add/set passed its agent's checks and
                        probe: a remote referenced already (add) or a new
                        name taken (set) is conflict; else the would-be view
                        is the answer. Nothing is stored.
      MT_MEMBERS        this cluster's live replicas: our index is our
                        priority as hostname writer; agents are told.
      MT__RC_RELOAD, MT_STORE_RC_SCANNED, MT_MSG_TIMEOUT
                        the periodic reload (see mt_scan_window.h).
    A name taken by an add in progress counts as taken. */
#include "mt_membership.h"
#include "mt_uuid.h"
#include "mt_alloc.h"
#include "mt_scan_window.h"
#include "rcs_internal.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char id[MT_RC_ID_MAX + 1];
    char name[MT_RC_NAME_MAX + 1];  /* the key in by_name */
    char uuid[MT_RC_ID_MAX + 1];    /* the key in by_uuid, "" if none yet */
    mt_actor_t *agent;
    mt_rc_t *ref;                   /* NULL while the add is in progress */
} entry_t;

/*  A delete learned recently, kept after the reference's agent stopped
    (or, from a notice, for a reference we had no agent for). Rows older
    than the delete still arrive after that: from a reload pass whose read
    began before the delete committed, or in a peer's notice overtaken by
    the delete's (each peer publishes on a connection of its own). Taken
    for a reference seen the first time, such a row would spawn an agent
    and bring the deleted reference back until a later pass read the
    tombstone again — or for good, once the tombstone's revision has left
    the scan window. So any row of that id not newer than the delete is
    dropped.

    Kept until a reload pass begun after it has started (the pass in
    flight when the delete was learned is the only one whose answer can be
    older; the next starts only once it has answered or timed out, and an
    answer after the timeout is dropped) and at least MT__RC_TOMB_KEEP_MS
    (notices: each is published just after its commit, so a minute is far
    beyond any overtaking). The database keeps the tombstone row for good;
    this is only the memory of recent deletes, so it stays small. */
typedef struct {
    int64_t revision;               /* the delete's */
    uint64_t pass;                  /* reload passes started when it was kept */
    uint64_t kept_ms;
} tomb_t;

#define MT__RC_TOMB_KEEP_MS 60000

typedef struct {
    mt__rcs_cfg_t *cfg;
    mt_runtime_t *rt;
    zhashx_t *by_id;                /* owns entries */
    zhashx_t *by_name, *by_uuid;    /* borrow them */
    zhashx_t *tombs;                /* id → tomb_t (owned): deletes recently learned */
    int priority;
    mt_timer_t *reload;
    uint64_t scan_corr;
    uint64_t passes;                /* reload passes started */
    mt_scan_window_t window;
} registry_t;

static void entry_free(void **item)
{
    entry_t *e = *item;
    if (!e)
        return;
    if (e->agent)
        mt_stop(e->agent, 0);
    mt_actor_unref(&e->agent);
    mt_rc_unref(&e->ref);
    free(e);
    *item = NULL;
}

/* ---- indexes ----------------------------------------------------------- */

static void unindex(registry_t *r, entry_t *e)
{
    if (e->name[0] && zhashx_lookup(r->by_name, e->name) == e)
        zhashx_delete(r->by_name, e->name);
    if (e->uuid[0] && zhashx_lookup(r->by_uuid, e->uuid) == e)
        zhashx_delete(r->by_uuid, e->uuid);
}

static void reindex(registry_t *r, entry_t *e, const char *name, const char *uuid)
{
    unindex(r, e);
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->uuid, sizeof e->uuid, "%s", uuid ? uuid : "");
    zhashx_update(r->by_name, e->name, e);
    if (e->uuid[0])
        zhashx_update(r->by_uuid, e->uuid, e);
}

static void forget(registry_t *r, const char *id)
{
    entry_t *e = zhashx_lookup(r->by_id, id);
    if (!e)
        return;
    unindex(r, e);
    zhashx_delete(r->by_id, id);     /* stops the agent */
}

/* ---- tombstones (see tomb_t) --------------------------------------------- */

static void tomb_free(void **item)
{
    free(*item);
    *item = NULL;
}

static void keep_tomb(registry_t *r, const char *id, int64_t revision)
{
    tomb_t *t = zhashx_lookup(r->tombs, id);
    if (!t) {
        t = mt_xcalloc(1, sizeof *t);
        zhashx_insert(r->tombs, id, t);
    }
    if (revision > t->revision)
        t->revision = revision;
    t->pass = r->passes;
    t->kept_ms = mt_now_ms();
}

/*  Drops the tombstones no older row can arrive after any more. Without
    reloads only notices bring rows, and time alone decides. */
static void sweep_tombs(registry_t *r)
{
    if (!zhashx_size(r->tombs))
        return;
    uint64_t now = mt_now_ms();
    bool reloads = r->cfg->reload_interval_ms > 0;
    zlistx_t *ids = zhashx_keys(r->tombs);
    for (const char *id = zlistx_first(ids); id; id = zlistx_next(ids)) {
        const tomb_t *t = zhashx_lookup(r->tombs, id);
        if (now - t->kept_ms >= MT__RC_TOMB_KEEP_MS && (!reloads || r->passes > t->pass))
            zhashx_delete(r->tombs, id);
    }
    zlistx_destroy(&ids);
}

/*  An agent stopped: a deleted reference leaves its tombstone behind. */
static void agent_gone(registry_t *r, const char *id)
{
    entry_t *e = zhashx_lookup(r->by_id, id);
    if (e && e->ref && e->ref->deleted)
        keep_tomb(r, id, e->ref->revision);
    forget(r, id);
    sweep_tombs(r);
}

static void init_drop(mt_msg_t *msg)
{
    mt_rc_unref(&((mt__rc_init_t *) mt_msg_data(msg))->ref);
}

static entry_t *spawn(registry_t *r, const char *id, mt_rc_t *learned)
{
    entry_t *e = mt_xcalloc(1, sizeof *e);
    snprintf(e->id, sizeof e->id, "%s", id);
    e->agent = mt__rc_agent_spawn(r->rt, r->cfg, id);
    if (!e->agent) {
        free(e);
        return NULL;
    }
    mt_msg_t *init = mt_msg_new(MT__RC_INIT, sizeof(mt__rc_init_t));
    mt__rc_init_t *in = mt_msg_data(init);
    in->priority = r->priority;
    in->ref = mt_rc_ref(learned);   /* NULL for an add; a reload's carries the secret */
    init->drop = init_drop;
    e->ref = learned ? mt_rc_without_password(learned) : NULL;     /* the snapshot: no secret */
    zhashx_insert(r->by_id, e->id, e);
    mt_send(e->agent, init);
    return e;
}

/* ---- requests ---------------------------------------------------------- */

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(mt_rc_t *const *) a)->name, (*(mt_rc_t *const *) b)->name);
}

static void list(registry_t *r, mt_msg_t *msg)
{
    mt_msg_t *reply = mt_rc_reply_new(MT_OK, NULL);
    mt_rc_reply_t *out = mt_rc_reply(reply);
    size_t n = zhashx_size(r->by_id);
    out->refs = mt_xcalloc(n, sizeof *out->refs);
    for (entry_t *e = zhashx_first(r->by_id); e; e = zhashx_next(r->by_id))
        if (e->ref && !e->ref->deleted)
            out->refs[out->nrefs++] = mt_rc_ref(e->ref);
    qsort(out->refs, out->nrefs, sizeof *out->refs, cmp_name);
    mt_reply(msg, reply);
}

static entry_t *select_entry(registry_t *r, const mt_rc_req_t *q)
{
    if (q->id[0])
        return zhashx_lookup(r->by_id, q->id);
    if (q->name[0])
        return zhashx_lookup(r->by_name, q->name);
    if (q->uuid[0])
        return zhashx_lookup(r->by_uuid, q->uuid);
    return NULL;
}

/*  Returns true when msg was passed on (no longer the caller's). */
static bool request(registry_t *r, mt_msg_t *msg)
{
    mt_rc_req_t *q = mt_rc_req(msg);
    if (q->op == MT_RC_OP_LIST) {
        list(r, msg);
        return false;
    }
    if (q->hostname && mt_rc_endpoint_is_ipc(q->hostname) && !r->cfg->allow_ipc) {
        mt_rc_reply_error(msg, MT_EBADREQ, "hostname: ipc:// endpoints are not allowed on this"
                          " replica (only tcp://HOST:PORT)");
        return false;
    }
    if (q->op == MT_RC_OP_ADD) {
        if (zhashx_lookup(r->by_name, q->name)) {
            mt_rc_reply_error(msg, MT_ECONFLICT, "a reference named %s exists already", q->name);
            return false;
        }
        char id[MT_UUID_LEN + 1];
        if (mt_uuid_v4(id) != MT_OK) {
            mt_rc_reply_error(msg, MT_EINTERNAL, "no random bytes for a reference's id");
            return false;
        }
        entry_t *e = spawn(r, id, NULL);
        if (!e) {
            mt_rc_reply_error(msg, MT_EUNAVAIL, "the replica is stopping");
            return false;
        }
        reindex(r, e, q->name, NULL);   /* taken while the add runs */
        mt_send(e->agent, msg);
        return true;
    }
    entry_t *e = select_entry(r, q);
    if (!e || (e->ref && e->ref->deleted)) {
        mt_rc_reply_error(msg, MT_ENOTFOUND, "no such reference");
        return false;
    }
    mt_send(e->agent, msg);
    return true;
}

/* ---- learning ---------------------------------------------------------- */

/*  notice: from a peer's notice (else a reload pass). */
static void merge(registry_t *r, mt_rc_t *ref, bool notice)
{
    entry_t *e = zhashx_lookup(r->by_id, ref->id);
    if (e) {
        mt_send(e->agent, mt_rc_merge_new(mt_rc_ref(ref)));
        return;
    }
    if (ref->deleted) {
        /*  Nothing here to delete, but the add's notice may come after
            this one. A pass's tombstone needs no keeping: a later pass
            reads after it, and the first (full) one would keep them all. */
        if (notice)
            keep_tomb(r, ref->id, ref->revision);
        return;
    }
    const tomb_t *t = zhashx_lookup(r->tombs, ref->id);
    if (t && ref->revision <= t->revision)
        return;                     /* a row from before its delete */
    if (t)
        zhashx_delete(r->tombs, ref->id);   /* newer than the delete: by revision */
    /*  A different id holding the name is stale: the database keeps live
        names unique, and this reference is newer than whatever we had. */
    entry_t *holder = zhashx_lookup(r->by_name, ref->name);
    if (holder && holder->ref && holder->ref->revision < ref->revision)
        forget(r, holder->id);
    if ((e = spawn(r, ref->id, ref)))
        reindex(r, e, ref->name, ref->uuid);
}

static void changed(registry_t *r, mt_msg_t *msg)
{
    mt_rc_changed_t *c = mt_msg_data(msg);
    entry_t *e = zhashx_lookup(r->by_id, c->ref->id);
    if (e) {
        mt_rc_unref(&e->ref);
        e->ref = mt_rc_ref(c->ref);
        if (c->change == MT_NODE_UPSERT)
            reindex(r, e, c->ref->name, c->ref->uuid);
    }
    if (r->cfg->listener) {
        mt_msg_keep(msg);
        mt_send(r->cfg->listener, msg);
    }
}

static void members(registry_t *r, const mt_cluster_info_t *info)
{
    int priority = -1;
    for (uint32_t i = 0; i < info->nmembers; i++)
        if (strcmp(info->members[i].replica_id, r->cfg->replica_id) == 0)
            priority = (int) i;
    if (priority == r->priority)
        return;
    r->priority = priority;
    for (entry_t *e = zhashx_first(r->by_id); e; e = zhashx_next(r->by_id)) {
        mt_msg_t *m = mt_msg_new(MT__RC_PRIORITY, sizeof(int));
        *(int *) mt_msg_data(m) = priority;
        mt_send(e->agent, m);
    }
}

static void validated(registry_t *r, mt_msg_t *msg)
{
    mt__rc_validated_t *v = mt_msg_data(msg);
    const mt_rc_req_t *q = mt_rc_req(v->req);
    entry_t *e = NULL;
    if (q->op == MT_RC_OP_ADD && v->ref->uuid[0]
        && (e = zhashx_lookup(r->by_uuid, v->ref->uuid)) && e->ref && !e->ref->deleted)
        mt_rc_reply_error(v->req, MT_ECONFLICT, "the remote cluster %s is referenced already"
                          " (by %s)", v->ref->uuid, e->ref->name);
    else if (q->op == MT_RC_OP_SET && q->new_name[0]
             && (e = zhashx_lookup(r->by_name, q->new_name)) && strcmp(e->id, v->ref->id) != 0)
        mt_rc_reply_error(v->req, MT_ECONFLICT, "a reference named %s exists already",
                          q->new_name);
    else {
        mt_msg_t *out = mt_rc_reply_new(MT_OK, NULL);
        mt_rc_reply(out)->ref = v->ref;
        v->ref = NULL;
        mt_reply(v->req, out);
    }
}

static void validated_drop(mt_msg_t *m)
{
    mt__rc_validated_t *v = mt_msg_data(m);
    mt_msg_free(v->req);
    mt_rc_unref(&v->ref);
}

mt_msg_t *mt__rc_validated_new(mt_msg_t *req, mt_rc_t *ref)
{
    mt_msg_t *m = mt_msg_new(MT__RC_VALIDATED, sizeof(mt__rc_validated_t));
    m->drop = validated_drop;
    mt__rc_validated_t *v = mt_msg_data(m);
    v->req = req;
    v->ref = ref;
    return m;
}

static void scanned(registry_t *r, mt_msg_t *msg)
{
    mt_store_rc_scanned_t *s = mt_msg_data(msg);
    r->scan_corr = 0;
    if (s->err != MT_OK)
        return;
    for (uint32_t i = 0; i < s->nrefs; i++)
        merge(r, s->refs[i], false);
    mt_scan_window_done(&r->window, mt_now_ms(), s->mark);
}

static void behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    registry_t *r = state;
    switch (msg->type) {
    case MT_RC_REQ:
        if (request(r, msg))
            mt_msg_keep(msg);
        break;
    case MT_RC_MERGE:
        merge(r, ((mt_rc_merge_t *) mt_msg_data(msg))->ref, true);
        break;
    case MT_RC_CHANGED:
        changed(r, msg);
        break;
    case MT__RC_GONE:
        agent_gone(r, mt_msg_data(msg));
        break;
    case MT__RC_VALIDATED:
        validated(r, msg);
        break;
    case MT_MEMBERS:
        members(r, mt_msg_data(msg));
        break;
    case MT__RC_RELOAD:
        if (!r->scan_corr) {
            r->passes++;
            r->window.txn_max_ms = r->cfg->txn_max_ms + mt_store_lag_ms(r->cfg->store);
            r->scan_corr = mt_ask(self, mt_store_reader(r->cfg->store),
                                  mt_store_msg_rc_scan(mt_scan_window_start(&r->window, mt_now_ms())),
                                  (uint32_t) r->cfg->store_timeout_ms);
        }
        sweep_tombs(r);
        mt_timer_start(r->reload, self, mt_msg_new(MT__RC_RELOAD, 0),
                       (uint64_t) r->cfg->reload_interval_ms);
        break;
    case MT_STORE_RC_SCANNED:
        if (msg->corr == r->scan_corr)
            scanned(r, msg);
        break;
    case MT_MSG_TIMEOUT:
        if (msg->corr == r->scan_corr)
            r->scan_corr = 0;
        break;
    default:
        break;
    }
}

static void destroy(void *state)
{
    registry_t *r = state;
    zhashx_destroy(&r->by_name);
    zhashx_destroy(&r->by_uuid);
    zhashx_destroy(&r->by_id);
    zhashx_destroy(&r->tombs);
    mt_timer_destroy(&r->reload);
    mt__rcs_cfg_unref(&r->cfg);
    free(r);
}

mt_actor_t *mt__rc_registry_spawn(mt_runtime_t *rt, mt__rcs_cfg_t *cfg)
{
    registry_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cfg = mt__rcs_cfg_ref(cfg);
    r->rt = rt;
    r->priority = -1;
    r->window.txn_max_ms = cfg->txn_max_ms;
    r->by_id = zhashx_new();
    zhashx_set_destructor(r->by_id, entry_free);
    r->by_name = zhashx_new();
    r->by_uuid = zhashx_new();
    r->tombs = zhashx_new();
    zhashx_set_destructor(r->tombs, tomb_free);
    r->reload = mt_timer_new(rt);
    mt_actor_t *a = mt_spawn(rt, behaviour, r, destroy);
    if (!a) {
        destroy(r);
        return NULL;
    }
    /*  Agents address the registry through cfg. Published before the first
        message, so that no agent spawned by the first reload can run
        before the address is there (the mailbox then orders the write
        before every agent's read). */
    cfg->registry = a;
    if (cfg->reload_interval_ms > 0)
        mt_send(a, mt_msg_new(MT__RC_RELOAD, 0));   /* learn what is stored at once */
    return a;
}
