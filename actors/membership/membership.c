/*  membership.c — see mt_membership.h for the messages.

    Liveness is judged by the database's clock (the store computes `alive`),
    so every replica derives the same sorted live list from the same rows
    whatever its own clock says: the priority writer of remote cluster
    references depends on all replicas agreeing on it. Each beat's reading
    of the database's clock also feeds this replica's estimate of it
    (mt_db_clock), which node health is judged by. */
#include "mt_membership.h"
#include "mt_log.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TICK = MT_MEMBERSHIP_MSG_END_, MEMBERSHIP_OWN_END_ };
MT_MSG_RANGE_CHECK(MT_MSGR_MEMBERSHIP, MEMBERSHIP_OWN_END_);

typedef struct {
    mt_store_t *store;
    char replica_id[MT_REPLICA_ID_MAX + 1];
    char endpoint[MT_ENDPOINT_MAX], pub_endpoint[MT_ENDPOINT_MAX];
    char public_key[41];            /* published for peers and clients */
    int64_t beat_ms, alive_ms, started_at;
    mt_actor_t *bus, *listener;
    mt_db_clock_t *db_clock;        /* or NULL */
    _Atomic uint64_t *live_at;      /* or NULL (mt_membership_opts_t) */
    mt_timer_t *timer;
    uint64_t beat_corr, leave_corr;
    mt_msg_t *leaver;               /* the MEMBERSHIP_LEAVE request */
    mt_msg_t *info;                 /* last MT_CLUSTER_INFO built, or NULL */
    char live_key[4096];            /* live ids+endpoints, to notice changes */
} membership_t;

static mt_msg_t *info_new(const membership_t *m, const mt_store_replicas_t *r, bool live_only)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->nreplicas; i++)
        n += !live_only || r->replicas[i].alive;
    mt_msg_t *msg = mt_msg_new(live_only ? MT_MEMBERS : MT_CLUSTER_INFO,
                               sizeof(mt_cluster_info_t) + n * sizeof(mt_member_t));
    mt_cluster_info_t *info = mt_msg_data(msg);
    snprintf(info->cluster_uuid, sizeof info->cluster_uuid, "%s", r->cluster_uuid);
    snprintf(info->replica_id, sizeof info->replica_id, "%s", m->replica_id);
    for (uint32_t i = 0; i < r->nreplicas; i++) {
        const mt_store_replica_t *s = &r->replicas[i];
        if (live_only && !s->alive)
            continue;
        mt_member_t *d = &info->members[info->nmembers++];
        snprintf(d->replica_id, sizeof d->replica_id, "%s", s->replica_id);
        snprintf(d->endpoint, sizeof d->endpoint, "%s", s->endpoint);
        snprintf(d->pub_endpoint, sizeof d->pub_endpoint, "%s", s->pub_endpoint);
        memcpy(d->public_key, s->public_key, sizeof d->public_key);
        d->alive = s->alive;
    }
    return msg;
}

static mt_msg_t *copy_msg(const mt_msg_t *src)
{
    mt_msg_t *m = mt_msg_new(src->type, src->size);
    memcpy(mt_msg_data(m), (const char *) (src + 1), src->size);
    return m;
}

/*  Tells the bus and the listener when the set of live replicas changed. */
static void live_changed(membership_t *m, const mt_store_replicas_t *r)
{
    char key[sizeof m->live_key] = "";
    size_t off = 0;
    for (uint32_t i = 0; i < r->nreplicas && off < sizeof key; i++)
        if (r->replicas[i].alive)
            off += (size_t) snprintf(key + off, sizeof key - off, "%s %s %s %s;",
                                     r->replicas[i].replica_id, r->replicas[i].endpoint,
                                     r->replicas[i].pub_endpoint, r->replicas[i].public_key);
    if (strcmp(key, m->live_key) == 0)
        return;
    memcpy(m->live_key, key, sizeof key);
    if (m->bus) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < r->nreplicas; i++)
            n += r->replicas[i].alive && strcmp(r->replicas[i].replica_id, m->replica_id) != 0;
        mt_msg_t *peers = mt_bus_peers_new(n);
        mt_bus_peers_t *p = mt_msg_data(peers);
        uint32_t j = 0;
        for (uint32_t i = 0; i < r->nreplicas; i++) {
            const mt_store_replica_t *s = &r->replicas[i];
            if (!s->alive || strcmp(s->replica_id, m->replica_id) == 0)
                continue;
            snprintf(p->peers[j].replica_id, sizeof p->peers[j].replica_id, "%s", s->replica_id);
            snprintf(p->peers[j].pub_endpoint, sizeof p->peers[j].pub_endpoint, "%s", s->pub_endpoint);
            memcpy(p->peers[j].public_key, s->public_key, sizeof p->peers[j].public_key);
            j++;
        }
        mt_send(m->bus, peers);
    }
    if (m->listener)
        mt_send(m->listener, info_new(m, r, true));
}

static void answer_leave(membership_t *m, int err)
{
    if (!m->leaver)
        return;
    mt_msg_t *left = mt_msg_new(MT_MEMBERSHIP_LEFT, sizeof(int));
    *(int *) mt_msg_data(left) = err;
    mt_reply(m->leaver, left);
    mt_msg_free(m->leaver);
    m->leaver = NULL;
    m->leave_corr = 0;
}

/*  Readiness: our own row alive in what the beat read, unless leaving. */
static void note_live(membership_t *m, const mt_store_replicas_t *r)
{
    if (!m->live_at || m->leaver)
        return;
    for (uint32_t i = 0; i < r->nreplicas; i++)
        if (r->replicas[i].alive && strcmp(r->replicas[i].replica_id, m->replica_id) == 0)
            atomic_store_explicit(m->live_at, mt_now_ms(), memory_order_relaxed);
}

static void beat(mt_actor_t *self, membership_t *m)
{
    if (!m->beat_corr) {
        mt_msg_t *req = mt_store_msg_replica_beat(m->replica_id, m->endpoint, m->pub_endpoint,
                                                  m->started_at, m->alive_ms);
        mt_store_replica_beat_t *b = mt_msg_data(req);
        memcpy(b->public_key, m->public_key, sizeof b->public_key);
        m->beat_corr = mt_ask(self, mt_store_members(m->store), req, (uint32_t) (m->beat_ms * 3));
    }
    mt_timer_start(m->timer, self, mt_msg_new(TICK, 0), (uint64_t) m->beat_ms);
}

static void behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    membership_t *m = state;
    switch (msg->type) {
    case TICK:
        beat(self, m);
        break;
    case MT_STORE_REPLICAS: {
        if (msg->corr != m->beat_corr)
            break;
        m->beat_corr = 0;
        mt_store_replicas_t *r = mt_msg_data(msg);
        if (r->err != MT_OK)
            break;                  /* database away: keep the last view */
        if (m->db_clock && mt_db_clock_sample(m->db_clock, r->sent_ms, r->received_ms, r->now_ms)) {
            long long skew = (long long) mt_db_clock_skew_ms(m->db_clock);
            mt_log_info("database clock: this host's clock is %lld ms %s it (round trip %lld ms)",
                      llabs(skew), skew >= 0 ? "behind" : "ahead of",
                      (long long) mt_db_clock_rtt_ms(m->db_clock));
        }
        mt_msg_free(m->info);
        m->info = info_new(m, r, false);
        live_changed(m, r);
        note_live(m, r);
        break;
    }
    case MT_MSG_TIMEOUT:
        if (msg->corr == m->beat_corr)
            m->beat_corr = 0;
        else if (msg->corr == m->leave_corr)
            answer_leave(m, MT_EUNAVAIL);
        break;
    case MT_CLUSTER_INFO_REQ:
        if (m->info)
            mt_reply(msg, copy_msg(m->info));
        else {
            mt_msg_t *none = mt_msg_new(MT_CLUSTER_INFO, sizeof(mt_cluster_info_t));
            mt_cluster_info_t *i = mt_msg_data(none);
            i->err = MT_EUNAVAIL;
            snprintf(i->replica_id, sizeof i->replica_id, "%s", m->replica_id);
            mt_reply(msg, none);
        }
        break;
    case MT_MEMBERSHIP_LEAVE:
        mt_timer_cancel(m->timer);
        if (m->live_at)
            atomic_store_explicit(m->live_at, 0, memory_order_relaxed);
        answer_leave(m, MT_ECLOSED);    /* a second leave supersedes */
        mt_msg_keep(msg);
        m->leaver = msg;
        m->leave_corr = mt_ask(self, mt_store_members(m->store),
                               mt_store_msg_replica_leave(m->replica_id), 5000);
        break;
    case MT_STORE_DONE:
        if (msg->corr == m->leave_corr)
            answer_leave(m, ((mt_store_done_t *) mt_msg_data(msg))->err);
        break;
    default:
        break;
    }
}

static void destroy(void *state)
{
    membership_t *m = state;
    mt_timer_destroy(&m->timer);
    mt_msg_free(m->info);
    mt_msg_free(m->leaver);
    mt_actor_unref(&m->bus);
    mt_actor_unref(&m->listener);
}

typedef struct {
    const mt_membership_opts_t *opts;
    mt_runtime_t *rt;
} init_t;

static void init(void *state, void *arg)
{
    membership_t *m = state;
    const init_t *in = arg;
    const mt_membership_opts_t *o = in->opts;
    m->store = o->store;
    snprintf(m->replica_id, sizeof m->replica_id, "%s", o->replica_id);
    snprintf(m->endpoint, sizeof m->endpoint, "%s", o->endpoint);
    snprintf(m->pub_endpoint, sizeof m->pub_endpoint, "%s", o->pub_endpoint);
    snprintf(m->public_key, sizeof m->public_key, "%s", o->public_key ? o->public_key : "");
    m->beat_ms = o->beat_ms > 0 ? o->beat_ms : 1000;
    m->alive_ms = o->alive_ms > 0 ? o->alive_ms : 3000;
    m->started_at = mt_wall_ms();
    m->bus = o->bus ? mt_actor_ref(o->bus) : NULL;
    m->listener = o->listener ? mt_actor_ref(o->listener) : NULL;
    m->db_clock = o->db_clock;
    m->live_at = o->live_at;
    m->timer = mt_timer_new(in->rt);
}

mt_actor_t *mt_membership_new(mt_runtime_t *rt, const mt_membership_opts_t *opts)
{
    init_t in = { opts, rt };
    mt_spawn_opts_t o = {
        .behaviour = behaviour, .state_size = sizeof(membership_t),
        .init = init, .init_arg = &in, .destroy = destroy,
    };
    mt_actor_t *a = mt_spawn_opts(rt, &o);
    if (a)
        mt_send(a, mt_msg_new(TICK, 0));    /* the first beat at once */
    return a;
}
