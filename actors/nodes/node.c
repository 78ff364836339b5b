/*  node.c — one actor per node: its mailbox serialises every write to it.

    Messages handled:
      MT__NODE_INIT     from the directory, first: load the node from the
                        database (LOADING) before anything else is handled —
                        unless a merge carrying both groups follows it.
      MT_NODE_REQ       register / heartbeat / labels / delete → a store
                        write (WRITING); get → answered from memory. A
                        heartbeat whose components differ from the stored
                        ones (by digest) writes them first, then its status
                        (two writes, one answer). One
                        past its deadline is not started (its client was
                        answered already); beyond max_stash waiting: busy.
      MT_NODE_MERGE     a group learned from a reload or a peer: taken only
                        if its revision is newer than what we hold; metrics
                        (never stored) by the revision of the heartbeat that
                        carried them, then their time.
      MT_STORE_DONE, MT_STORE_LOADED, MT_MSG_TIMEOUT
                        the answer to our one store request in flight. A
                        write answered not_found while we hold the node
                        means a delete we have not heard of: LOADING again.
      MT__NODE_HEALTH   our health timer: the last heartbeat just expired.
      MT__NODE_RETIRE   the directory asks an absent node to stop.

    States:
      LOADING   waiting for the stored row; every other message is stashed.
      IDLE      nothing in flight: messages are handled as they come.
      WRITING   one store write in flight. Later messages are stashed and
                handled in order once it is answered: database commit, then
                memory, then the notice, then the reply, one write at a time.
                When the stash holds a run of heartbeats, only the last is
                written and the earlier ones are answered with its result:
                a later heartbeat may supersede an earlier unsent one, never
                the reverse.

    Merge rule: a group is replaced only by a higher revision. A write's own
    result goes through the same rule, so a reload snapshot taken before a
    write (the seed's T0–T3 race) can never undo it. */
#include "node_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Returns true when it kept msg (stashed, in flight, waiting); the
    caller frees it otherwise. */
static bool handle(mt_actor_t *self, node_t *n, mt_msg_t *msg);
static void unstash(mt_actor_t *self, node_t *n);
static void start_load(mt_actor_t *self, node_t *n);

/* ---- small helpers ----------------------------------------------------- */

static void stash_push(node_t *n, mt_msg_t *msg)
{
    n->nstash_req += msg->type == MT_NODE_REQ;
    mt_msgq_push(&n->stash, msg);
}

static mt_msg_t *stash_pop(node_t *n)
{
    mt_msg_t *msg = mt_msgq_pop(&n->stash);
    if (msg)
        n->nstash_req -= msg->type == MT_NODE_REQ;
    return msg;
}

static void reply_view(node_t *n, mt_msg_t *req)
{
    mt_msg_t *reply = mt_node_reply_new(MT_OK, NULL);
    mt__node_view_of(n, &mt_node_reply(reply)->view);
    mt_reply(req, reply);
}

/* ---- writes ------------------------------------------------------------ */

static void start_write(mt_actor_t *self, node_t *n, mt_msg_t *req, mt_msg_t *store_msg)
{
    n->inflight = req;
    n->state = WRITING;
    mt_actor_t *writer = mt_store_writer(n->cfg->store, n->id);
    n->corr = mt_ask(self, writer, store_msg, (uint32_t) n->cfg->store_timeout_ms);
}

/*  A heartbeat's status write. */
static void write_status(mt_actor_t *self, node_t *n, mt_msg_t *req)
{
    mt_node_status_t *st = mt_node_req(req)->status;
    if (st->heartbeat_at == 0)      /* not yet shared: still ours to set */
        st->heartbeat_at = mt_wall_ms();
    /*  Registered: we hold the registration (checked above). A first
        heartbeat (no status yet) inserts its row, which the store's fast
        path would roll back and redo: send it checked at once. */
    start_write(self, n, req, mt_store_msg_status(n->id, mt_node_status_ref(st),
                                                  n->status != NULL));
}

static bool heartbeat_valid(mt_msg_t *msg, char *err, size_t errlen)
{
    mt_node_req_t *r = mt_node_req(msg);
    if (!r->status) {
        snprintf(err, errlen, "status: missing");
        return false;
    }
    return mt_node_status_check(r->status, err, errlen) == MT_OK;
}

/*  A run of valid stashed heartbeats after req: all but the last become
    waiters, answered with the last one's result. Returns the last. */
static mt_msg_t *supersede(node_t *n, mt_msg_t *req)
{
    char err[200];
    mt_msg_t *next;
    while ((next = mt_msgq_peek(&n->stash)) && next->type == MT_NODE_REQ
           && mt_node_req(next)->op == MT_NODE_OP_HEARTBEAT
           && heartbeat_valid(next, err, sizeof err)) {
        /*  A later heartbeat without components or metrics says nothing
            of them: the newest given are still to be written or taken. */
        mt_node_req_t *r = mt_node_req(req), *nr = mt_node_req(next);
        if (!nr->reg) {
            nr->reg = r->reg;
            r->reg = NULL;
        }
        if (!nr->live) {
            nr->live = r->live;
            r->live = NULL;
        }
        mt_msgq_push(&n->waiters, req);
        req = stash_pop(n);
    }
    return req;
}

static bool handle_request(mt_actor_t *self, node_t *n, mt_msg_t *msg)
{
    mt_node_req_t *r = mt_node_req(msg);
    char err[200];
    /*  Its client was told `unavailable` already: doing it now would be a
        write nobody asked for any more, and work a flood piled up. */
    if (r->deadline_ms && (int64_t) mt_now_ms() > r->deadline_ms) {
        atomic_fetch_add_explicit(&n->cfg->expired, 1, memory_order_relaxed);
        mt_node_reply_error(msg, MT_EUNAVAIL, "node %s: the request outlived its deadline", n->id);
        return false;
    }
    if (r->op != MT_NODE_OP_REGISTER && !n->reg) {
        mt_node_reply_error(msg, MT_ENOTFOUND, "node %s is not registered", n->id);
        return false;
    }
    switch (r->op) {
    case MT_NODE_OP_GET:
        reply_view(n, msg);
        return false;
    case MT_NODE_OP_REGISTER:
        if (!r->reg || mt_node_reg_check(r->reg, err, sizeof err) != MT_OK) {
            mt_node_reply_error(msg, MT_EBADREQ, "%s", r->reg ? err : "node: missing");
            return false;
        }
        start_write(self, n, msg, mt_store_msg_register(n->id, mt_node_reg_ref(r->reg)));
        return true;
    case MT_NODE_OP_HEARTBEAT: {
        if (!heartbeat_valid(msg, err, sizeof err)) {
            mt_node_reply_error(msg, MT_EBADREQ, "%s", err);
            return false;
        }
        mt_msg_t *last = supersede(n, msg);
        mt_node_req_t *lr = mt_node_req(last);
        if (lr->live)                   /* not yet shared: still ours to set */
            lr->live->metrics_at = mt_wall_ms();
        if (lr->reg && mt_node_reg_check(lr->reg, err, sizeof err) == MT_OK
            && strcmp(lr->reg->components_hash, n->reg->components_hash) != 0) {
            n->components_first = true;
            start_write(self, n, last, mt_store_msg_components(n->id, mt_node_reg_ref(lr->reg)));
        }
        else
            write_status(self, n, last);
        return true;                    /* msg is in flight or waiting */
    }
    case MT_NODE_OP_LABELS:
        if (r->reg && mt_node_reg_check(r->reg, err, sizeof err) != MT_OK) {
            mt_node_reply_error(msg, MT_EBADREQ, "%s", err);
            return false;
        }
        start_write(self, n, msg, mt_store_msg_labels(n->id, mt_node_reg_ref(r->reg),
                                                      (const char *const *) r->remove, r->nremove));
        return true;
    case MT_NODE_OP_DELETE:
        start_write(self, n, msg, mt_store_msg_delete(n->id));
        return true;
    case MT_NODE_OP_LIST: case MT_NODE_OP_VERSIONS: case MT_NODE_OP_CHANGES:
        break;
    }
    mt_node_reply_error(msg, MT_EINTERNAL, "node actor got a directory's request");
    return false;
}

static void answer(node_t *n, mt_msg_t *req, int err, const char *message)
{
    if (err != MT_OK)
        mt_node_reply_error(req, err, "%s", message);
    else if (mt_node_req(req)->op == MT_NODE_OP_DELETE)
        mt_reply(req, mt_node_reply_new(MT_OK, NULL));
    else
        reply_view(n, req);
}

/*  Commit is done (or failed): memory, notice, replies, then the stash. */
static void finish_write(mt_actor_t *self, node_t *n, int err, const char *message,
                         const mt_store_done_t *done)
{
    mt_msg_t *req = n->inflight;
    mt_node_req_t *r = mt_node_req(req);
    if (n->components_first) {
        n->components_first = false;
        if (err == MT_OK) {         /* then the status, answered after both */
            mt__node_merge_and_notify(self, n, done->reg, NULL, NULL, false, 0, true, 0);
            if (n->reg) {
                write_status(self, n, req);
                return;
            }
            err = MT_ENOTFOUND, message = "the node was deleted meanwhile";
        }
    }
    if (err == MT_OK) {
        switch (r->op) {
        case MT_NODE_OP_REGISTER:
        case MT_NODE_OP_LABELS:
            mt__node_merge_and_notify(self, n, done->reg, NULL, NULL, false, 0, true, 0);
            break;
        case MT_NODE_OP_HEARTBEAT:
            r->status->status_revision = done->revision;
            r->status->seen_at = done->seen_at;     /* the database's stamp */
            if (r->live)                /* ordered by the heartbeat that carried it */
                r->live->status_revision = done->revision;
            mt__node_merge_and_notify(self, n, NULL, r->status, r->live, false, 0, true, 0);
            break;
        case MT_NODE_OP_DELETE:
            mt__node_merge_and_notify(self, n, NULL, NULL, NULL, true, done->revision, true, 0);
            break;
        default:
            break;
        }
    }
    /*  Superseded heartbeats were sent first: answered first. */
    mt_msg_t *w;
    while ((w = mt_msgq_pop(&n->waiters))) {
        answer(n, w, err, message);
        mt_msg_free(w);
    }
    answer(n, req, err, message);
    mt_msg_free(req);
    n->inflight = NULL;
    /*  The database says the node is not live while we hold it: deleted on
        another replica, its notice not here yet. Learn the delete now from
        the stored row rather than at the next notice or reload, so later
        requests are answered from memory. */
    if (err == MT_ENOTFOUND && n->reg)
        start_load(self, n);
    else
        unstash(self, n);
}

/* ---- the behaviour ----------------------------------------------------- */

/*  Back to IDLE: handle the stash in order until a write starts again. */
static void unstash(mt_actor_t *self, node_t *n)
{
    n->state = IDLE;
    n->corr = 0;
    while (n->state == IDLE && !mt_msgq_empty(&n->stash)) {
        mt_msg_t *next = stash_pop(n);
        if (!handle(self, n, next))
            mt_msg_free(next);
    }
}

/*  LOADING: read the stored row; everything else waits in the stash. */
static void start_load(mt_actor_t *self, node_t *n)
{
    n->state = LOADING;
    n->corr = mt_ask(self, mt_store_reader(n->cfg->store), mt_store_msg_load(n->id),
                     (uint32_t) n->cfg->store_timeout_ms);
}

static void loaded(mt_actor_t *self, node_t *n, mt_msg_t *msg)
{
    mt_store_loaded_t *l = mt_msg_data(msg);
    if (l->err == MT_OK)
        mt__node_merge_and_notify(self, n, l->row.reg, l->row.status, NULL, l->row.deleted,
                         l->row.deleted_revision, false, 0);
    /*  Not found or unavailable: the node stays absent in memory; requests
        answer not_found, and the next reload fills in what the database has. */
    unstash(self, n);
}

static bool handle(mt_actor_t *self, node_t *n, mt_msg_t *msg)
{
    switch (msg->type) {
    case MT__NODE_INIT:
        if (!*(bool *) mt_msg_data(msg))
            return false;           /* the merge behind it carries the node */
        start_load(self, n);
        return false;
    case MT_STORE_DONE:
        if (n->state == WRITING && msg->corr == n->corr) {
            mt_store_done_t *d = mt_msg_data(msg);
            finish_write(self, n, d->err, d->message, d);
        }
        return false;
    case MT_STORE_LOADED:
        if (n->state == LOADING && msg->corr == n->corr)
            loaded(self, n, msg);
        return false;
    case MT_MSG_TIMEOUT:
        if (n->state == WRITING && msg->corr == n->corr)
            finish_write(self, n, MT_EUNAVAIL, "the database did not answer in time", NULL);
        else if (n->state == LOADING && msg->corr == n->corr)
            unstash(self, n);
        return false;
    case MT__NODE_HEALTH: {
        n->health_armed = false;
        bool healthy = mt_node_healthy(n->status, mt__nodes_db_now(n->cfg),
                                       n->cfg->health_timeout_ms);
        if (healthy != n->healthy)
            mt__node_notify(n, MT_NODE_UPSERT, 0, false);
        if (healthy)
            mt__node_arm_health(self, n);    /* a later heartbeat moved the moment */
        return false;
    }
    default:
        break;
    }
    if (n->state != IDLE) {
        /*  One node's queue is bounded like the gateway's: a client that
            floods one node gets busy, everyone else is still served. */
        if (msg->type == MT_NODE_REQ && n->nstash_req >= n->cfg->max_stash) {
            atomic_fetch_add_explicit(&n->cfg->stash_busy, 1, memory_order_relaxed);
            mt_node_reply_error(msg, MT_EBUSY, "node %s: %u requests wait already; retry later",
                                n->id, n->nstash_req);
            return false;
        }
        stash_push(n, msg);
        return true;
    }
    switch (msg->type) {
    case MT_NODE_REQ:
        return handle_request(self, n, msg);
    case MT_NODE_MERGE: {
        mt_node_merge_t *m = mt_msg_data(msg);
        n->merges++;                /* before its notice: see directory.c, changed */
        mt__node_merge_and_notify(self, n, m->reg, m->status, m->live, m->deleted, m->deleted_revision,
                         false, m->resync_upto);
        break;
    }
    case MT__NODE_RETIRE: {
        bool retire = !n->reg && mt_msgq_empty(&n->stash);
        mt_msg_t *ack = mt_msg_new(retire ? MT__NODE_RETIRED : MT__NODE_KEPT,
                                   strlen(n->id) + 1);
        memcpy(mt_msg_data(ack), n->id, strlen(n->id) + 1);
        mt_send(n->cfg->directory, ack);
        if (retire)
            mt_stop(self, 0);
        break;
    }
    default:
        break;
    }
    return false;
}

static void behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    if (handle(self, state, msg))
        mt_msg_keep(msg);
}

static void destroy(void *state)
{
    node_t *n = state;
    if (n->reg)                     /* stopped while registered (shutdown) */
        mt__views_set(n->cfg->views, n->id, NULL, NULL, NULL);
    mt_node_reg_unref(&n->reg);
    mt_node_status_unref(&n->status);
    mt_node_live_unref(&n->live);
    mt_timer_destroy(&n->health);
    mt_msg_free(n->inflight);
    mt_msgq_free_all(&n->waiters);
    mt_msgq_free_all(&n->stash);
    mt__nodes_cfg_unref(&n->cfg);
}

typedef struct {
    mt__nodes_cfg_t *cfg;
    const char *id;
    size_t idlen;
} init_t;

static void init(void *state, void *arg)
{
    node_t *n = state;
    init_t *in = arg;
    n->cfg = mt__nodes_cfg_ref(in->cfg);
    n->state = IDLE;
    memcpy(n->id, in->id, in->idlen);
}

mt_actor_t *mt__node_spawn(mt_runtime_t *rt, mt__nodes_cfg_t *cfg, const char *id)
{
    init_t in = { cfg, id, strlen(id) + 1 };
    mt_spawn_opts_t o = {
        .behaviour = behaviour,
        .state_size = sizeof(node_t) + in.idlen,
        .init = init,
        .init_arg = &in,
        .destroy = destroy,
    };
    return mt_spawn_opts(rt, &o);
}
