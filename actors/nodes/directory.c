/*  directory.c — finds node actors by id and answers node.list.

    Messages handled:
      MT_NODE_REQ       list, versions → answered here from the snapshot;
                        changes → to the store's reader, with the revision
                        every change up to which had committed (see
                        `covered`) and the clock health is judged by; any other op
                        → forwarded (sender and corr kept, so the node answers
                        the asker directly) to the node's actor, spawned on
                        first sight (it loads itself from the database).
      MT_NODE_MERGE     from the reload actor: forwarded the same way.
      MT_NODE_CHANGED   from a node actor: its new view goes into the
                        snapshot, then on to the listener (the notice bus;
                        only our own commits with listener_local_only).
      MT_NODE_RELOADED  from the reload actor, after a pass's merges: after a
                        full pass, nodes it did not meet are deleted (see
                        delete_unmet); absent nodes (deleted, or asked for
                        but never registered) are asked to retire.
      MT__NODE_RETIRED / MT__NODE_KEPT
                        a node's answer to RETIRE.

    The snapshot holds, per node, references to its current registration and
    status blocks (shared with the node actor, never copied), so a list is
    answered without asking 100,000 actors. While a node is retiring, requests
    for it wait here; once it has stopped they go to a fresh actor, so no
    request is ever sent to an actor that is about to vanish. */
#include "nodes_internal.h"
#include "mt_alloc.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *id;
    mt_actor_t *actor;
    mt_node_reg_t *reg;             /* NULL: absent */
    mt_node_status_t *status;
    mt_node_live_t *live;           /* metrics, or NULL */
    int64_t deleted_revision;       /* of the last delete seen */
    bool retiring;
    uint64_t met;                   /* passes when the last merge came */
    uint64_t merges;                /* MT_NODE_MERGE messages sent to actor */
    mt_msgq_t stash;                /* requests waiting while retiring */
} entry_t;

typedef struct {
    mt__nodes_cfg_t *cfg;
    zhashx_t *by_id;                /* id → entry_t (owns entries) */
    entry_t **sorted;               /* every entry, by id, when !dirty */
    size_t nsorted, cap;
    bool dirty;
    uint64_t passes;                /* RELOADED messages seen */
    /*  The `covered` of the newest reload pass that ended well: every
        revision up to it had committed before that pass read, and its
        merges are in the snapshot (they reach us before its RELOADED). So
        the snapshot holds every change up to it — node.list's `revision`
        — and node.changes may promise no more than it (its `mark`). */
    int64_t covered;
} directory_t;

static void entry_free(void **item)
{
    entry_t *e = *item;
    if (!e)
        return;
    *item = NULL;
    if (e->actor)
        mt_stop(e->actor, 0);
    mt_actor_unref(&e->actor);
    mt_node_reg_unref(&e->reg);
    mt_node_status_unref(&e->status);
    mt_node_live_unref(&e->live);
    mt_msgq_free_all(&e->stash);
    free(e->id);
    free(e);
}

/* ---- the sorted index -------------------------------------------------- */

static int cmp_entry(const void *a, const void *b)
{
    return strcmp((*(entry_t *const *) a)->id, (*(entry_t *const *) b)->id);
}

/*  Rebuilt only after ids came or went: steady heartbeats never sort. */
static void ensure_sorted(directory_t *d)
{
    if (!d->dirty)
        return;
    size_t n = zhashx_size(d->by_id);
    if (n > d->cap) {
        d->cap = n * 2;
        d->sorted = mt_xreallocarray(d->sorted, d->cap, sizeof *d->sorted);
    }
    size_t i = 0;
    for (entry_t *e = zhashx_first(d->by_id); e; e = zhashx_next(d->by_id))
        d->sorted[i++] = e;
    if (i)                          /* d->sorted is NULL until a node exists */
        qsort(d->sorted, i, sizeof *d->sorted, cmp_entry);
    d->nsorted = i;
    d->dirty = false;
}

/* ---- list -------------------------------------------------------------- */

/*  Locality (has_template, has_image): from the snapshot, so any replica
    answers it from memory. */
static bool holds(const entry_t *e, const mt_node_req_t *r)
{
    const mt_node_status_t *s = e->status;
    if (r->has_template && (!s || !mt_str_list_has(s->local_templates, s->ntemplates,
                                                    r->has_template)))
        return false;
    return !r->has_image || (s && mt_str_list_has(s->images, s->nimages, r->has_image));
}

static bool selected(const entry_t *e, const mt_node_reg_t *sel)
{
    for (uint32_t i = 0; sel && i < sel->nlabels; i++) {
        const char *v = mt_str_map_get(e->reg->labels, e->reg->nlabels, sel->labels[i].key);
        if (!v || strcmp(v, sel->labels[i].value) != 0)
            return false;
    }
    return true;
}

static void list(directory_t *d, mt_msg_t *msg)
{
    mt_node_req_t *r = mt_node_req(msg);
    ensure_sorted(d);
    size_t lo = 0, hi = d->nsorted;
    if (r->after[0]) {             /* first id > after */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (strcmp(d->sorted[mid]->id, r->after) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    mt_msg_t *reply = mt_node_reply_new(MT_OK, NULL);
    mt_node_reply_t *out = mt_node_reply(reply);
    out->revision = d->covered;
    size_t cap = 0;
    /*  Health by the database's clock, one reading for the whole list. */
    int64_t now = mt__nodes_db_now(d->cfg), timeout = d->cfg->health_timeout_ms;
    for (size_t i = lo; i < d->nsorted; i++) {
        entry_t *e = d->sorted[i];
        if (!e->reg)
            continue;
        bool healthy = mt_node_healthy(e->status, now, timeout);
        bool schedulable = mt_node_schedulable(e->reg, healthy);
        if ((r->healthy_only && !healthy) || (r->schedulable_only && !schedulable)
            || !selected(e, r->selector) || !holds(e, r))
            continue;
        if (r->limit && out->nviews == r->limit) {
            snprintf(out->next, sizeof out->next, "%s", out->views[out->nviews - 1].id);
            break;
        }
        if (out->nviews == cap) {
            cap = cap ? cap * 2 : 64;
            out->views = mt_xreallocarray(out->views, cap, sizeof *out->views);
        }
        mt_node_view_t *v = &out->views[out->nviews++];
        memset(v, 0, sizeof *v);
        snprintf(v->id, sizeof v->id, "%s", e->id);
        v->reg = mt_node_reg_ref(e->reg);
        v->status = mt_node_status_ref(e->status);
        v->live = mt_node_live_ref(e->live);
        v->healthy = healthy;
        v->schedulable = schedulable;
    }
    mt_reply(msg, reply);
}

/*  The gauges of nodes and healthy nodes, recounted after each reload pass
    (a few ms for 100,000 nodes every reload interval): health changes with
    time alone, so a running count would need every expiry to report. */
static void count_nodes(directory_t *d)
{
    int64_t now = mt__nodes_db_now(d->cfg), timeout = d->cfg->health_timeout_ms;
    uint64_t present = 0, healthy = 0;
    for (entry_t *e = zhashx_first(d->by_id); e; e = zhashx_next(d->by_id)) {
        present += e->reg != NULL;
        healthy += e->reg && mt_node_healthy(e->status, now, timeout);
    }
    atomic_store_explicit(&d->cfg->present, present, memory_order_relaxed);
    atomic_store_explicit(&d->cfg->healthy, healthy, memory_order_relaxed);
}

/* ---- the version matrix ------------------------------------------------ */

typedef struct { const char *component, *version; } cell_t;

static int cmp_cell(const void *a, const void *b)
{
    const cell_t *x = a, *y = b;
    int c = strcmp(x->component, y->component);
    return c ? c : strcmp(x->version, y->version);
}

/*  node.versions: every (component, version) of the selected nodes,
    sorted and counted in runs. Strings are borrowed from the snapshot's
    blocks while sorting and copied into the reply. */
static void versions(directory_t *d, mt_msg_t *msg)
{
    mt_node_req_t *r = mt_node_req(msg);
    size_t n = 0, cap = 0;
    cell_t *cells = NULL;
    for (entry_t *e = zhashx_first(d->by_id); e; e = zhashx_next(d->by_id)) {
        if (!e->reg || !selected(e, r->selector))
            continue;
        for (uint32_t i = 0; i < e->reg->nversions; i++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                cells = mt_xreallocarray(cells, cap, sizeof *cells);
            }
            cells[n++] = (cell_t) { e->reg->versions[i].key, e->reg->versions[i].value };
        }
    }
    if (n)                          /* qsort(NULL, 0, ...) is undefined */
        qsort(cells, n, sizeof *cells, cmp_cell);
    mt_msg_t *reply = mt_node_reply_new(MT_OK, NULL);
    mt_node_reply_t *out = mt_node_reply(reply);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && cmp_cell(&cells[i], &cells[j]) == 0)
            j++;
        out->matrix = mt_xreallocarray(out->matrix, out->nmatrix + 1, sizeof *out->matrix);
        mt_node_version_count_t *c = &out->matrix[out->nmatrix++];
        c->component = mt_xstrdup(cells[i].component);
        c->version = mt_xstrdup(cells[i].version);
        c->count = (uint32_t) (j - i);
        i = j;
    }
    free(cells);
    mt_reply(msg, reply);
}

/* ---- routing ----------------------------------------------------------- */

/*  load: the new node reads its row first. Not needed when the message that
    made us spawn it is a merge carrying both groups (a full resync): it
    would be 100,000 point reads queued behind one reader. */
static entry_t *spawn_entry(mt_actor_t *self, directory_t *d, const char *id, bool load)
{
    entry_t *e = mt_xcalloc(1, sizeof *e);
    e->id = mt_xstrdup(id);
    e->actor = mt__node_spawn(mt_actor_runtime(self), d->cfg, id);
    if (!e->actor) {               /* runtime shutting down */
        free(e->id);
        free(e);
        return NULL;
    }
    mt_msg_t *init = mt_msg_new(MT__NODE_INIT, sizeof(bool));
    *(bool *) mt_msg_data(init) = load;
    mt_send(e->actor, init);
    zhashx_insert(d->by_id, e->id, e);
    d->dirty = true;
    return e;
}

/*  A merge also updates the snapshot at once (by the nodes' own rule:
    only a newer revision replaces), so a list right after a reload pass
    shows what it brought; the node's MT_NODE_CHANGED follows and agrees. */
/*  Each group replaces the entry's only if it is newer — a registration
    also only above the last delete seen — as every merge is decided. */
static void take_newer(entry_t *e, mt_node_reg_t *reg, mt_node_status_t *status,
                       mt_node_live_t *live)
{
    int64_t floor = e->reg && e->reg->reg_revision > e->deleted_revision
                  ? e->reg->reg_revision : e->deleted_revision;
    if (reg && reg->reg_revision > floor) {
        mt_node_reg_unref(&e->reg);
        e->reg = mt_node_reg_ref(reg);
    }
    if (status && e->reg
        && (!e->status || status->status_revision > e->status->status_revision)) {
        mt_node_status_unref(&e->status);
        e->status = mt_node_status_ref(status);
    }
    if (e->reg && mt_node_live_newer(live, e->live)) {
        mt_node_live_unref(&e->live);
        e->live = mt_node_live_ref(live);
    }
    if (!e->reg)
        mt_node_live_unref(&e->live);
}

static void snapshot_merge(entry_t *e, const mt_node_merge_t *m)
{
    if (m->deleted && m->deleted_revision > e->deleted_revision) {
        e->deleted_revision = m->deleted_revision;
        if (e->reg && m->deleted_revision > e->reg->reg_revision) {
            mt_node_reg_unref(&e->reg);
            mt_node_status_unref(&e->status);
        }
    }
    take_newer(e, m->reg, m->status, m->live);
}

/*  Returns true when msg was passed on (sent or stashed: no longer the
    caller's), false when it was answered or dropped here. */
static bool route(mt_actor_t *self, directory_t *d, const char *id, mt_msg_t *msg)
{
    entry_t *e = zhashx_lookup(d->by_id, id);
    if (!e) {
        if (msg->type == MT_NODE_MERGE && ((mt_node_merge_t *) mt_msg_data(msg))->deleted)
            return false;           /* nothing here to delete */
        char err[200];
        if (mt_node_id_check(id, err, sizeof err) != MT_OK) {
            if (msg->type == MT_NODE_REQ)
                mt_node_reply_error(msg, MT_EBADREQ, "%s", err);
            return false;
        }
        const mt_node_merge_t *m = msg->type == MT_NODE_MERGE ? mt_msg_data(msg) : NULL;
        if (!(e = spawn_entry(self, d, id, !m || !m->reg || !m->status)))
            return false;
    }
    if (msg->type == MT_NODE_MERGE)
        e->met = d->passes;
    if (e->retiring) {
        mt_msgq_push(&e->stash, msg);
        return true;
    }
    if (msg->type == MT_NODE_MERGE) {
        snapshot_merge(e, mt_msg_data(msg));
        e->merges++;
    }
    mt_send(e->actor, msg);
    return true;
}

/*  The node stopped: requests that waited go to a fresh actor. */
static void retired(mt_actor_t *self, directory_t *d, const char *id, bool stopped)
{
    entry_t *e = zhashx_lookup(d->by_id, id);
    if (!e || !e->retiring)
        return;
    mt_msgq_t waiting = e->stash;      /* route may stash them again */
    mt_msgq_init(&e->stash);
    e->retiring = false;
    if (stopped) {
        mt_actor_unref(&e->actor);      /* stopped itself: nothing to stop */
        zhashx_delete(d->by_id, id);     /* frees e */
        d->dirty = true;
    }
    mt_msg_t *m;
    while ((m = mt_msgq_pop(&waiting))) {
        const char *mid = m->type == MT_NODE_REQ ? mt_node_req(m)->id
                                                 : ((mt_node_merge_t *) mt_msg_data(m))->id;
        if (!route(self, d, mid, m))
            mt_msg_free(m);
    }
}

/*  A node's view while merges the snapshot already took are still on their
    way to the node (or stashed behind its write in flight): the view was
    made before them, so each group is taken only if newer, as
    snapshot_merge takes it — replacing the snapshot wholesale would show
    a revision going back until the node's next view (a peer's heartbeat
    merged here while this replica's registration commits). Once the node
    has handled every merge, its view is taken whole again (it may
    legitimately drop a group: a resync's never-committed revision). */
static void changed(directory_t *d, mt_msg_t *msg)
{
    mt_node_changed_t *c = mt_node_changed(msg);
    entry_t *e = zhashx_lookup(d->by_id, c->view.id);
    if (e && c->change == MT_NODE_UPSERT && c->merges < e->merges)
        take_newer(e, c->view.reg, c->view.status, c->view.live);
    else if (e) {
        mt_node_reg_unref(&e->reg);
        mt_node_status_unref(&e->status);
        mt_node_live_unref(&e->live);
        if (c->change == MT_NODE_UPSERT) {
            e->reg = mt_node_reg_ref(c->view.reg);
            e->status = mt_node_status_ref(c->view.status);
            e->live = mt_node_live_ref(c->view.live);
        }
        else if (c->revision > e->deleted_revision)
            e->deleted_revision = c->revision;
    }
    if (d->cfg->listener && (c->local || !d->cfg->listener_local_only)) {
        mt_msg_keep(msg);
        mt_send(d->cfg->listener, msg);
    }
}

/*  A full pass read every stored row, and every revision <= covered had
    committed before it read. So a node it did not meet whose registration
    is older than covered has no row at all: deleted, and its tombstone
    purged before this replica saw it. The node itself decides (a merge of
    a delete at revision covered): it may hold a newer registration than
    this snapshot shows. Nodes registered since have higher revisions;
    merges from elsewhere (notices) only spare a node, never condemn one. */
static void delete_unmet(directory_t *d, const mt_node_reloaded_t *r)
{
    if (r->err != MT_OK || !r->full || r->covered <= 0)
        return;
    for (entry_t *e = zhashx_first(d->by_id); e; e = zhashx_next(d->by_id)) {
        if (e->met == d->passes || e->retiring || !e->reg || e->reg->reg_revision >= r->covered)
            continue;
        atomic_fetch_add_explicit(&d->cfg->absent_deleted, 1, memory_order_relaxed);
        mt_send(e->actor, mt_node_merge_new(e->id, NULL, NULL, true, r->covered));
    }
}

static void retire_absent(directory_t *d)
{
    for (entry_t *e = zhashx_first(d->by_id); e; e = zhashx_next(d->by_id)) {
        if (!e->reg && !e->retiring) {
            e->retiring = true;
            mt_send(e->actor, mt_msg_new(MT__NODE_RETIRE, 0));
        }
    }
}

static void behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    directory_t *d = state;
    switch (msg->type) {
    case MT_NODE_REQ:
        if (mt_node_req(msg)->op == MT_NODE_OP_LIST)
            list(d, msg);
        else if (mt_node_req(msg)->op == MT_NODE_OP_VERSIONS)
            versions(d, msg);
        else if (mt_node_req(msg)->op == MT_NODE_OP_CHANGES) {
            mt_node_req_t *r = mt_node_req(msg);
            r->upto = d->covered;
            r->db_now_ms = mt__nodes_db_now(d->cfg);
            r->health_timeout_ms = d->cfg->health_timeout_ms;
            mt_msg_keep(msg);       /* the reader answers the asker */
            mt_send(mt_store_reader(d->cfg->store), msg);
        }
        else if (route(self, d, mt_node_req(msg)->id, msg))
            mt_msg_keep(msg);
        break;
    case MT_NODE_MERGE:
        if (route(self, d, ((mt_node_merge_t *) mt_msg_data(msg))->id, msg))
            mt_msg_keep(msg);
        break;
    case MT_NODE_CHANGED:
        changed(d, msg);
        break;
    case MT__NODE_RETIRED:
    case MT__NODE_KEPT:
        retired(self, d, mt_msg_data(msg), msg->type == MT__NODE_RETIRED);
        break;
    case MT_NODE_RELOADED: {
        const mt_node_reloaded_t *rl = mt_msg_data(msg);
        if (rl->err == MT_OK && rl->covered > d->covered)
            d->covered = rl->covered;
        delete_unmet(d, rl);
        d->passes++;
        retire_absent(d);
        count_nodes(d);
        if (d->cfg->listener) {
            mt_msg_keep(msg);
            mt_send(d->cfg->listener, msg);
        }
        break;
    }
    default:
        break;
    }
}

static void destroy(void *state)
{
    directory_t *d = state;
    zhashx_destroy(&d->by_id);
    free(d->sorted);
    mt__nodes_cfg_unref(&d->cfg);
    free(d);
}

mt_actor_t *mt__directory_spawn(mt_runtime_t *rt, mt__nodes_cfg_t *cfg)
{
    directory_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->by_id = zhashx_new();
    /*  Keys point into the entries: no copies, freed with the entry. */
    zhashx_set_key_duplicator(d->by_id, NULL);
    zhashx_set_key_destructor(d->by_id, NULL);
    zhashx_set_destructor(d->by_id, entry_free);
    d->cfg = mt__nodes_cfg_ref(cfg);
    mt_actor_t *a = mt_spawn(rt, behaviour, d, destroy);
    if (!a)
        destroy(d);
    return a;
}
