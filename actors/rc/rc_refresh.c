/*  rc_refresh.c — a reference agent's probe rounds and the hostname
    writer's plan (see rc_agent.c for the messages and states).

    Refresh (every replica, every refresh interval, and rc.get with
    refresh): a prober asks the stored hostname, then the cached node list,
    for cluster.info; the answer replaces the cached node list in memory
    (never written: each replica keeps its own). Concurrent refreshes share
    one round; a user write makes a round in flight stale (gen).

    Keys: a round uses the reference's server_key and the client keypair
    whose secret the agent holds (rc_keys.c). When the reference names a
    client_public we hold no secret for (a notice carries none), the round
    first reads our row from the database, then probes; with no secret
    there either, the round fails rather than present another key.

    The hostname writer (updatekv in the seed): see evaluate(). */
#include "rc_agent.h"

#include <stdio.h>
#include <string.h>

/*  The reference with a new node list and refresh time (memory only). */
static void take_refresh(agent_t *a, const mt__rc_probed_t *p)
{
    const char *nodes[MT_RC_NODES_MAX];
    uint32_t n = p->nalive < MT_RC_NODES_MAX ? p->nalive : MT_RC_NODES_MAX;
    for (uint32_t i = 0; i < n; i++)
        nodes[i] = p->alive[i];
    mt_rc_t t = *a->ref;
    t.node_list = nodes;
    t.nnodes = n;
    t.refreshed_at = mt_wall_ms();
    mt_rc_t *r = mt_rc_build(&t);
    mt_rc_unref(&a->ref);
    a->ref = r;
}

void mt__rca_cancel_plan(agent_t *a, bool someone_else_wrote)
{
    if (!a->planned)
        return;
    a->planned = false;
    mt_timer_cancel(a->writer);
    if (someone_else_wrote)
        atomic_fetch_add(&a->cfg->hostname_cancelled, 1);
}

uint64_t mt__rca_ask_probe(mt_actor_t *self, agent_t *a, const char *uuid, const char *host,
                          const mt_rc_t *list, mt__rc_keys_t *keys, uint32_t wait)
{
    mt_msg_t *m = mt__rc_probe_new(uuid, host, list, keys, wait);
    explicit_bzero(keys, sizeof *keys);
    return mt_ask(self, a->cfg->dispatcher, m, wait);
}

static void really_probe(mt_actor_t *self, agent_t *a)
{
    a->probe_gen = a->gen;
    uint32_t wait = a->cfg->probe_timeout_ms * (a->ref->nnodes + 2) + 1000;
    mt__rc_keys_t keys;
    mt__rc_keys_of(&a->secret, a->ref, &keys);
    a->probe_corr = mt__rca_ask_probe(self, a, a->ref->uuid, a->ref->hostname, a->ref, &keys, wait);
}

void mt__rca_start_probe(mt_actor_t *self, agent_t *a)
{
    if (a->probe_corr || a->load_corr || !a->ref)
        return;                     /* one round at a time; waiters share it */
    if (mt__rc_secret_missing(&a->secret, a->ref)) {
        /*  A notice told us of keys whose secret only the database has. */
        a->load_corr = mt_ask(self, mt_store_reader(a->cfg->store), mt__rc_secret_load_new(a->id),
                              (uint32_t) a->cfg->store_timeout_ms);
        return;
    }
    really_probe(self, a);
}

/*  Our row, read for its secret: probe now, with it if it came. */
void mt__rca_secret_loaded(mt_actor_t *self, agent_t *a, const mt_store_rc_scanned_t *s)
{
    a->load_corr = 0;
    for (uint32_t i = 0; s && s->err == MT_OK && i < s->nrefs; i++)
        if (strcmp(s->refs[i]->id, a->id) == 0)
            mt__rc_secret_learn(&a->secret, s->refs[i]->client_public, s->refs[i]->client_secret);
    if (a->state == GONE || !a->ref)
        mt__rca_answer_waiters(a, MT_OK, NULL);
    else if (a->probe_corr)
        return;                     /* rc.set's probe began meanwhile: waiters share the next */
    else if (mt__rc_secret_missing(&a->secret, a->ref))
        mt__rca_answer_waiters(a, MT_EUNAVAIL, "the reference's client_secret could not be read from"
                       " the database");
    else
        really_probe(self, a);
}

/*  Is our hostname still a live, answering member? If not, plan the write. */
static void evaluate(mt_actor_t *self, agent_t *a, const mt__rc_probed_t *p)
{
    bool listed = false;
    const char *replacement = NULL;
    for (uint32_t i = 0; i < p->nalive; i++) {
        if (strcmp(p->alive[i], a->ref->hostname) == 0)
            listed = true;
        else if (!replacement)
            replacement = p->alive[i];
    }
    if ((listed && p->first_answered) || !replacement) {
        mt__rca_cancel_plan(a, false);
        return;
    }
    if (a->priority < 0)
        return;                     /* our place in the order is not known yet */
    if (a->planned && a->planned_rev == a->ref->revision
        && strcmp(a->planned_host, replacement) == 0)
        return;                     /* already waiting for our turn */
    a->planned = true;
    a->planned_rev = a->ref->revision;
    snprintf(a->planned_host, sizeof a->planned_host, "%s", replacement);
    mt_timer_start(a->writer, self, mt_msg_new(MT__RC_WRITE, 0),
                   (uint64_t) a->priority * (uint64_t) a->cfg->refresh_interval_ms);
}

void mt__rca_answer_waiters(agent_t *a, int err, const char *message)
{
    mt_msg_t *w;
    while ((w = mt_msgq_pop(&a->probe_waiters))) {
        if (err != MT_OK)
            mt_rc_reply_error(w, err, "%s", message);
        else if (a->state == GONE)
            mt_rc_reply_error(w, MT_ENOTFOUND, "the reference was deleted");
        else
            mt__rca_reply_ref(a, w);
        mt_msg_free(w);
    }
}

void mt__rca_probed(mt_actor_t *self, agent_t *a, mt_msg_t *msg)
{
    const mt__rc_probed_t *p = mt_msg_data(msg);
    a->probe_corr = 0;
    if (a->probe_gen != a->gen || a->state == GONE) {
        /*  A write came in meanwhile: this answer is about an older state. */
        mt__rca_answer_waiters(a, MT_OK, NULL);
        return;
    }
    atomic_fetch_add(&a->cfg->refreshes, 1);
    if (p->err == MT_OK) {
        take_refresh(a, p);
        mt__rca_notify(a, MT_NODE_UPSERT, false);
        evaluate(self, a, p);
    }
    mt__rca_answer_waiters(a, p->err, p->message);
}
