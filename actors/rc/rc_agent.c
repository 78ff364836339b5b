/*  rc_agent.c — one actor per remote cluster reference.

    Messages handled:
      MT__RC_INIT       from the registry, first: a reference learned from a
                        notice or a reload (passive), or none (an add follows).
      MT_RC_REQ         add (probe the remote, then store), get (with refresh:
                        after a probe round), set, del — the active writes:
                        database (compare-and-set), memory, notice, reply.
      MT_RC_MERGE       a newer revision learned from a peer or a reload:
                        taken as is, never written back.
      MT__RC_TICK       refresh: probe the remote cluster (every replica).
      MT__RC_PROBED     a probe round's answer: the cached node list, then
                        the hostname check below.
      MT__RC_WRITE      this replica's turn to write the planned hostname.
      MT__RC_PRIORITY   our index among this cluster's live replicas.
      MT_STORE_DONE, MT_MSG_TIMEOUT
                        the answer to our one store write in flight.
      MT_STORE_RC_SCANNED
                        our row, read for its client_secret (below).

    States: ADDING (the add's probe and insert), IDLE, WRITING (one store
    write in flight; requests are stashed and handled in order after), GONE
    (deleted: answers not_found until the registry lets it stop).

    The hostname writer (updatekv in the seed): when a probe shows the
    stored hostname is no longer a live member of the remote cluster (or
    does not answer while other members do), every replica computes the same
    replacement — the first live member in sorted order — and plans to
    write it after priority × refresh_interval. A notice or reload showing
    a new revision meanwhile cancels the plan; otherwise the write is a
    compare-and-set on the revision the plan was made from. So replica 0
    writes at once, replica 1 only if replica 0 has not written one interval
    later, and a lost race costs a refused compare-and-set, never a second
    write. A user write, or a delete, makes any probe in flight stale.
    Probe rounds and the plan are in rc_refresh.c (shared state: rc_agent.h).

    Keys (rc_keys.c). A probe uses the reference's server_key and the
    client keypair; the agent holds the secret beside its public key,
    outside the reference block. A notice carries no secret: when the
    reference's client_public is one we hold no secret for, the next probe
    round first reads our row from the database (the reader), then probes;
    a reload brings the secret as well. rc.add, and rc.set of a hostname or
    of how the remote is contacted (server_key, client keypair,
    demand_encryption turned on), probe with the new values before
    anything is stored. demand_encryption without a server_key, after
    rc.set's fields are merged with the stored ones, is bad_request. */
#include "rc_agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool handle(mt_actor_t *self, agent_t *a, mt_msg_t *msg);
static void gone(agent_t *a);

/* ---- helpers ----------------------------------------------------------- */

void mt__rca_notify(agent_t *a, mt_node_change_t change, bool local)
{
    mt_send(a->cfg->registry, mt_rc_changed_new(change, local, a->ref->revision, mt_rc_ref(a->ref)));
}

void mt__rca_reply_ref(agent_t *a, mt_msg_t *req)
{
    mt_msg_t *r = mt_rc_reply_new(MT_OK, NULL);
    if (mt_rc_req(req)->op != MT_RC_OP_DEL)
        mt_rc_reply(r)->ref = mt_rc_ref(a->ref);
    mt_reply(req, r);
}

/* ---- writes ------------------------------------------------------------ */

static void start_write(mt_actor_t *self, agent_t *a, write_t kind, mt_msg_t *req,
                        mt_msg_t *store_msg)
{
    a->gen++;
    a->writing = kind;
    a->inflight = req;
    a->state = kind == W_ADD ? ADDING : WRITING;
    a->store_corr = mt_ask(self, mt_store_writer(a->cfg->store, a->id), store_msg,
                           (uint32_t) a->cfg->store_timeout_ms);
}

/*  rc.add: the probe answered; insert what it learned. */
static void add_probed(mt_actor_t *self, agent_t *a, mt_msg_t *msg)
{
    const mt__rc_probed_t *p = mt_msg_data(msg);
    mt_msg_t *req = a->inflight;
    a->probe_corr = 0;
    if (p->err != MT_OK) {
        mt_rc_reply_error(req, p->err == MT_ECONFLICT ? MT_ECONFLICT : MT_EUNAVAIL,
                          "cannot reach the remote cluster: %s", p->message);
        mt_msg_free(req);
        a->inflight = NULL;
        gone(a);
        return;
    }
    mt_rc_req_t *r = mt_rc_req(req);
    const char *nodes[MT_RC_NODES_MAX];
    uint32_t n = p->nalive < MT_RC_NODES_MAX ? p->nalive : MT_RC_NODES_MAX;
    for (uint32_t i = 0; i < n; i++)
        nodes[i] = p->alive[i];
    mt_rc_t t = {
        .id = a->id, .name = r->name, .hostname = r->hostname, .uuid = p->uuid,
        .username = r->username ? r->username : "", .password = r->password ? r->password : "",
        .demand_encryption = r->demand_encryption, .node_list = nodes, .nnodes = n,
        .refreshed_at = mt_wall_ms(), .server_key = r->server_key ? r->server_key : "",
        .client_public = r->client_public ? r->client_public : "",
        .client_secret = r->client_secret && r->client_secret[0] ? r->client_secret : NULL,
    };
    a->inflight = NULL;             /* start_write takes it again */
    start_write(self, a, W_ADD, req, mt_store_msg_rc_add(mt_rc_build(&t)));
}

static void set_request(mt_actor_t *self, agent_t *a, mt_msg_t *req)
{
    mt_rc_req_t *r = mt_rc_req(req);
    mt_rc_t t = *a->ref;
    t.password = r->password;
    if (r->new_name[0])
        t.name = r->new_name;
    if (r->hostname)
        t.hostname = r->hostname;
    if (r->username)
        t.username = r->username;
    if (r->has_demand_encryption)
        t.demand_encryption = r->demand_encryption;
    if (r->server_key)
        t.server_key = r->server_key;
    t.client_secret = NULL;
    if (r->client_public) {
        t.client_public = r->client_public;
        t.client_secret = r->client_secret;
    }
    mt_msg_t *w = mt_store_msg_rc_set(mt_rc_build(&t), r->new_name[0] != 0, r->hostname != NULL,
                                      r->username != NULL, r->password != NULL,
                                      r->has_demand_encryption, r->has_revision ? r->revision : 0);
    mt_store_rc_write_t *wp = mt_msg_data(w);
    wp->has_server_key = r->server_key != NULL;
    wp->has_client_keys = r->client_public != NULL;
    start_write(self, a, W_SET, req, w);
}

/*  A new hostname must belong to the same remote cluster, and new keys
    must reach it: probe first. */
static void set_probed(mt_actor_t *self, agent_t *a, mt_msg_t *msg)
{
    const mt__rc_probed_t *p = mt_msg_data(msg);
    mt_msg_t *req = a->inflight;
    a->probe_corr = 0;
    a->inflight = NULL;
    a->state = IDLE;
    if (p->err == MT_OK) {
        set_request(self, a, req);
        return;
    }
    if (p->err == MT_ECONFLICT)
        mt_rc_reply_error(req, MT_EBADREQ, "refused: %s", p->message);
    else
        mt_rc_reply_error(req, MT_EUNAVAIL, "cannot reach the remote cluster with the new"
                          " settings: %s", p->message);
    mt_msg_free(req);
}

static void unstash(mt_actor_t *self, agent_t *a)
{
    while ((a->state == IDLE || a->state == GONE) && !mt_msgq_empty(&a->stash)) {
        mt_msg_t *m = mt_msgq_pop(&a->stash);
        if (!handle(self, a, m))
            mt_msg_free(m);
    }
}

static void gone(agent_t *a)
{
    a->state = GONE;
    mt__rca_cancel_plan(a, false);
    mt_timer_cancel(a->tick);
    size_t n = strlen(a->id) + 1;
    mt_msg_t *m = mt_msg_new(MT__RC_GONE, n);
    memcpy(mt_msg_data(m), a->id, n);
    mt_send(a->cfg->registry, m);
}

static void write_done(mt_actor_t *self, agent_t *a, int err, const char *message,
                       const mt_store_done_t *d)
{
    write_t kind = a->writing;
    mt_msg_t *req = a->inflight;
    a->writing = W_NONE;
    a->inflight = NULL;
    a->store_corr = 0;
    a->state = IDLE;
    if (err == MT_OK && (kind == W_ADD || kind == W_SET || kind == W_HOSTNAME)) {
        mt_rc_unref(&a->ref);
        a->ref = mt_rc_ref(d->rc);
        if (req && mt_rc_req(req)->client_public)
            mt__rc_secret_learn(&a->secret, mt_rc_req(req)->client_public,
                                mt_rc_req(req)->client_secret);
        mt__rca_cancel_plan(a, false);
        mt__rca_notify(a, MT_NODE_UPSERT, true);
        if (kind == W_HOSTNAME)
            atomic_fetch_add(&a->cfg->hostname_writes, 1);
        if (kind == W_ADD)
            mt_timer_start(a->tick, self, mt_msg_new(MT__RC_TICK, 0),
                           (uint64_t) a->cfg->refresh_interval_ms);
    }
    else if (err == MT_OK && kind == W_DEL) {
        mt_rc_t t = *a->ref;
        t.deleted = true;
        t.revision = d->revision;
        mt_rc_t *tomb = mt_rc_build(&t);    /* before the unref: t points into a->ref */
        mt_rc_unref(&a->ref);
        a->ref = tomb;
        mt__rca_notify(a, MT_NODE_DELETED, true);
        gone(a);
    }
    else if (kind == W_ADD)
        gone(a);                    /* nothing was stored: this agent has no reference */
    if (req) {
        if (err != MT_OK)
            mt_rc_reply_error(req, err, "%s", message);
        else
            mt__rca_reply_ref(a, req);
        mt_msg_free(req);
    }
    unstash(self, a);
}

/* ---- requests and merges ----------------------------------------------- */

static bool request(mt_actor_t *self, agent_t *a, mt_msg_t *msg)
{
    mt_rc_req_t *r = mt_rc_req(msg);
    if (r->op == MT_RC_OP_ADD) {
        if (a->ref || a->state == GONE) {
            mt_rc_reply_error(msg, MT_ECONFLICT, "a reference named %s exists already", r->name);
            return false;
        }
        a->state = ADDING;
        a->inflight = msg;
        a->probe_gen = a->gen;
        mt__rc_keys_t keys;
        mt__rc_keys_merge(&a->secret, NULL, r, &keys);
        a->probe_corr = mt__rca_ask_probe(self, a, NULL, r->hostname, NULL, &keys,
                                  a->cfg->probe_timeout_ms + 1000);
        return true;
    }
    if (a->state == GONE || !a->ref) {
        mt_rc_reply_error(msg, MT_ENOTFOUND, "no such reference");
        return false;
    }
    switch (r->op) {
    case MT_RC_OP_GET:
        if (!r->refresh) {
            mt__rca_reply_ref(a, msg);
            return false;
        }
        mt_msgq_push(&a->probe_waiters, msg);
        mt__rca_start_probe(self, a);
        return true;
    case MT_RC_OP_SET: {
        bool new_host = r->hostname && strcmp(r->hostname, a->ref->hostname) != 0;
        const char *key = r->server_key ? r->server_key : a->ref->server_key;
        bool demand = r->has_demand_encryption ? r->demand_encryption
                                               : a->ref->demand_encryption;
        if (demand && !key[0]) {
            mt_rc_reply_error(msg, MT_EBADREQ, "demand_encryption: needs a server_key");
            return false;
        }
        if (new_host || mt__rc_keys_change_contact(a->ref, r)) {
            a->gen++;               /* a user write supersedes a refresh in flight */
            a->state = WRITING;
            a->inflight = msg;
            a->probe_gen = a->gen;
            /*  A new hostname alone is asked (it must be the same cluster);
                new keys with the old hostname may be tried on every member. */
            mt__rc_keys_t keys;
            mt__rc_keys_merge(&a->secret, a->ref, r, &keys);
            uint32_t wait = a->cfg->probe_timeout_ms * (new_host ? 1 : a->ref->nnodes + 2) + 1000;
            a->probe_corr = mt__rca_ask_probe(self, a, a->ref->uuid, new_host ? r->hostname : a->ref->hostname,
                                      new_host ? NULL : a->ref, &keys, wait);
            return true;
        }
        set_request(self, a, msg);
        return true;
    }
    case MT_RC_OP_DEL:
        start_write(self, a, W_DEL, msg,
                    mt_store_msg_rc_del(a->id, r->has_revision ? r->revision : 0));
        return true;
    default:
        mt_rc_reply_error(msg, MT_EINTERNAL, "agent got a list request");
        return false;
    }
}

static void merge(mt_actor_t *self, agent_t *a, mt_rc_t *m)
{
    /*  A reload's block carries the secret (a notice's never does); it
        belongs to its own client_public whatever the revision. */
    if (m->client_secret)
        mt__rc_secret_learn(&a->secret, m->client_public, m->client_secret);
    if (a->ref && m->revision <= a->ref->revision)
        return;                     /* not newer: nothing to learn */
    if (a->ref && a->ref->revision != m->revision)
        mt__rca_cancel_plan(a, true);       /* someone wrote meanwhile */
    a->gen++;
    /*  The node list is each replica's own cache: keep ours if fresher. */
    mt_rc_t t = *m;
    t.password = NULL;
    t.client_secret = NULL;
    if (!t.client_public || !t.client_public[0])
        mt__rc_secret_wipe(&a->secret);     /* no keypair any more */
    if (a->ref && a->ref->refreshed_at > m->refreshed_at) {
        t.node_list = a->ref->node_list;
        t.nnodes = a->ref->nnodes;
        t.refreshed_at = a->ref->refreshed_at;
    }
    mt_rc_t *r = mt_rc_build(&t);
    mt_rc_unref(&a->ref);
    a->ref = r;
    if (m->deleted) {
        mt__rca_notify(a, MT_NODE_DELETED, false);
        gone(a);
        return;
    }
    mt__rca_notify(a, MT_NODE_UPSERT, false);
    if (!mt_timer_armed(a->tick))
        mt_timer_start(a->tick, self, mt_msg_new(MT__RC_TICK, 0),
                       (uint64_t) a->cfg->refresh_interval_ms);
}

/* ---- the behaviour ----------------------------------------------------- */

static bool handle(mt_actor_t *self, agent_t *a, mt_msg_t *msg)
{
    switch (msg->type) {
    case MT__RC_INIT: {
        mt__rc_init_t *in = mt_msg_data(msg);
        a->priority = in->priority;
        if (in->ref) {
            merge(self, a, in->ref);
            a->state = in->ref->deleted ? GONE : IDLE;
        }
        return false;
    }
    case MT__RC_PRIORITY:
        a->priority = *(int *) mt_msg_data(msg);
        return false;
    case MT__RC_TICK:
        if (a->state != GONE) {
            mt__rca_start_probe(self, a);
            mt_timer_start(a->tick, self, mt_msg_new(MT__RC_TICK, 0),
                           (uint64_t) a->cfg->refresh_interval_ms);
        }
        return false;
    case MT__RC_PROBED:
        if (msg->corr != a->probe_corr)
            return false;
        if (a->state == ADDING && a->inflight)
            add_probed(self, a, msg);
        else if (a->state == WRITING && a->writing == W_NONE && a->inflight)
            set_probed(self, a, msg);
        else
            mt__rca_probed(self, a, msg);
        unstash(self, a);
        return false;
    case MT__RC_WRITE:
        /*  Our turn, and nobody has written since the plan was made. */
        if (a->planned && a->state == IDLE && a->ref && a->ref->revision == a->planned_rev) {
            a->planned = false;
            mt_rc_t t = *a->ref;
            t.password = NULL;
            t.client_secret = NULL;
            t.hostname = a->planned_host;
            start_write(self, a, W_HOSTNAME, NULL,
                        mt_store_msg_rc_set(mt_rc_build(&t), false, true, false, false, false,
                                            a->planned_rev));
        }
        return false;
    case MT_STORE_DONE:
        if (msg->corr == a->store_corr) {
            mt_store_done_t *d = mt_msg_data(msg);
            write_done(self, a, d->err, d->message, d);
        }
        return false;
    case MT_STORE_RC_SCANNED:
        if (msg->corr == a->load_corr && a->load_corr)
            mt__rca_secret_loaded(self, a, mt_msg_data(msg));
        return false;
    case MT_MSG_TIMEOUT:
        if (msg->corr == a->load_corr && a->load_corr)
            mt__rca_secret_loaded(self, a, NULL);
        else if (msg->corr == a->store_corr && a->store_corr)
            write_done(self, a, MT_EUNAVAIL, "the database did not answer in time", NULL);
        else if (msg->corr == a->probe_corr && a->probe_corr) {
            a->probe_corr = 0;
            if (a->inflight && (a->state == ADDING || a->writing == W_NONE)) {
                mt_rc_reply_error(a->inflight, MT_EUNAVAIL, "the remote cluster did not answer");
                mt_msg_free(a->inflight);
                a->inflight = NULL;
                if (a->state == ADDING)
                    gone(a);
                else
                    a->state = IDLE;
            }
            mt__rca_answer_waiters(a, MT_EUNAVAIL, "the remote cluster did not answer");
            unstash(self, a);
        }
        return false;
    default:
        break;
    }
    if (a->state == ADDING || a->state == WRITING) {
        mt_msgq_push(&a->stash, msg);
        return true;
    }
    switch (msg->type) {
    case MT_RC_REQ:
        return request(self, a, msg);
    case MT_RC_MERGE:
        if (a->state != GONE)
            merge(self, a, ((mt_rc_merge_t *) mt_msg_data(msg))->ref);
        return false;
    default:
        return false;
    }
}

static void behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    if (handle(self, state, msg))
        mt_msg_keep(msg);
}

static void destroy(void *state)
{
    agent_t *a = state;
    mt__rc_secret_wipe(&a->secret);
    mt_rc_unref(&a->ref);
    mt_timer_destroy(&a->tick);
    mt_timer_destroy(&a->writer);
    mt_msg_free(a->inflight);
    mt_msgq_free_all(&a->probe_waiters);
    mt_msgq_free_all(&a->stash);
    mt__rcs_cfg_unref(&a->cfg);
}

typedef struct {
    mt__rcs_cfg_t *cfg;
    mt_runtime_t *rt;
    const char *id;
} init_t;

static void init(void *state, void *arg)
{
    agent_t *a = state;
    init_t *in = arg;
    a->cfg = mt__rcs_cfg_ref(in->cfg);
    a->priority = -1;
    a->state = IDLE;
    a->tick = mt_timer_new(in->rt);
    a->writer = mt_timer_new(in->rt);
    snprintf(a->id, sizeof a->id, "%s", in->id);
}

mt_actor_t *mt__rc_agent_spawn(mt_runtime_t *rt, mt__rcs_cfg_t *cfg, const char *id)
{
    init_t in = { cfg, rt, id };
    mt_spawn_opts_t o = {
        .behaviour = behaviour, .state_size = sizeof(agent_t),
        .init = init, .init_arg = &in, .destroy = destroy,
    };
    return mt_spawn_opts(rt, &o);
}
