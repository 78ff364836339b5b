/*  ask.c — request/reply with a correlation id and a timeout.

    The asking actor keeps its pending asks in a small open-addressing table
    (corr → deadline); the gateway may have thousands in flight. One timer
    per actor, not one per ask: it is armed for the earliest deadline when
    an ask would otherwise expire unnoticed, and left alone by every ask
    that ends sooner or later than that (all of the gateway's, which share
    one timeout) — an ask then costs no timer allocation and no trip
    through the runtime's timer heap and its lock, which every thread
    shares. When the timer fires, each ask past its deadline gets its
    MT_MSG_TIMEOUT, sent to the actor itself, and the timer is armed for
    the next deadline. The first of reply and timeout to be handled
    completes the ask; the other is dropped in actor.c because its corr is
    no longer pending. */
#include "internal.h"

#include <string.h>

typedef struct {
    uint64_t corr;              /* 0 = empty slot */
    uint64_t deadline;          /* mt_now_ms; 0 = its timeout is sent */
} slot_t;

struct mt__asks {
    uint32_t cap, len;          /* cap is a power of two */
    slot_t *slots;
    mt_timer_t *timer;          /* fires an MT__MSG_ASK_TICK */
    uint64_t armed_for;         /* the deadline it fires at; 0 = not armed */
};

static uint32_t hash(uint64_t corr, uint32_t cap)
{
    return (uint32_t) ((corr * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static void table_put(mt__asks_t *t, uint64_t corr, uint64_t deadline);

static void table_grow(mt__asks_t *t)
{
    uint32_t old_cap = t->cap;
    slot_t *old = t->slots;
    t->cap = old_cap ? old_cap * 2 : 8;
    t->slots = calloc(t->cap, sizeof(slot_t));
    if (!t->slots)
        mt__panic("out of memory (ask table)");
    t->len = 0;
    for (uint32_t i = 0; i < old_cap; i++)
        if (old[i].corr)
            table_put(t, old[i].corr, old[i].deadline);
    free(old);
}

static void table_put(mt__asks_t *t, uint64_t corr, uint64_t deadline)
{
    if ((t->len + 1) * 4 > t->cap * 3)
        table_grow(t);
    uint32_t i = hash(corr, t->cap);
    while (t->slots[i].corr)
        i = (i + 1) & (t->cap - 1);
    t->slots[i] = (slot_t) { corr, deadline };
    t->len++;
}

/*  Removes corr; backward-shift deletion keeps probe chains intact. */
static bool table_take(mt__asks_t *t, uint64_t corr)
{
    if (!t || !t->len)
        return false;
    uint32_t mask = t->cap - 1, i = hash(corr, t->cap);
    while (t->slots[i].corr != corr) {
        if (!t->slots[i].corr)
            return false;
        i = (i + 1) & mask;
    }
    t->len--;
    for (uint32_t j = (i + 1) & mask; t->slots[j].corr; j = (j + 1) & mask) {
        uint32_t home = hash(t->slots[j].corr, t->cap);
        /*  Move j back to i if its home is not in the cyclic range (i, j]. */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i] = (slot_t) { 0, 0 };
    return true;
}

/*  The timer fires no later than `deadline`: armed already for that or
    sooner, it is left alone. */
static void arm(mt_actor_t *a, mt__asks_t *t, uint64_t deadline, uint64_t now)
{
    if (t->armed_for && t->armed_for <= deadline)
        return;
    if (!t->timer)
        t->timer = mt_timer_new(a->rt);
    mt_timer_start(t->timer, a, mt_msg_new(MT__MSG_ASK_TICK, 0),
                   deadline > now ? deadline - now : 0);
    t->armed_for = deadline;
}

uint64_t mt_ask(mt_actor_t *self, mt_actor_t *to, mt_msg_t *req, uint32_t timeout_ms)
{
    uint64_t corr = atomic_fetch_add_explicit(&self->rt->next_corr, 1, memory_order_relaxed) + 1;
    if (!self->asks) {
        self->asks = mt__pool_calloc(sizeof(mt__asks_t));
        atomic_fetch_or_explicit(&self->flags, MT__A_ASKED, memory_order_relaxed);
    }
    uint64_t now = mt_now_ms(), deadline = now + timeout_ms;
    table_put(self->asks, corr, deadline ? deadline : 1);
    arm(self, self->asks, deadline, now);

    mt_actor_unref(&req->from);
    req->from = mt_actor_ref(self);
    req->corr = corr;
    mt_send(to, req);
    return corr;
}

void mt__asks_tick(mt_actor_t *a)
{
    mt__asks_t *t = a->asks;
    if (!t)
        return;
    t->armed_for = 0;
    uint64_t now = mt_now_ms(), next = 0;
    for (uint32_t i = 0; i < t->cap; i++) {
        slot_t *s = &t->slots[i];
        if (!s->corr || !s->deadline)
            continue;
        if (s->deadline <= now) {
            /*  Queued behind what has arrived: a reply already there wins. */
            mt_msg_t *timeout = mt_msg_new(MT_MSG_TIMEOUT, 0);
            timeout->corr = s->corr;
            timeout->flags |= MT__F_REPLY;
            mt_send(a, timeout);
            s->deadline = 0;
        }
        else if (!next || s->deadline < next)
            next = s->deadline;
    }
    if (next)
        arm(a, t, next, now);
}

bool mt__ask_complete(mt_actor_t *a, mt_msg_t *msg)
{
    if (!table_take(a->asks, msg->corr))
        return false;
    /*  Most actors ask one thing at a time: an empty table is freed rather
        than kept (144 bytes on each of 100,000 node actors), its timer
        with it. */
    if (a->asks->len == 0)
        mt__asks_free(a);
    return true;
}

void mt__asks_free(mt_actor_t *a)
{
    mt__asks_t *t = a->asks;
    if (!t)
        return;
    mt_timer_destroy(&t->timer);
    free(t->slots);
    mt__pool_free(t, sizeof *t);
    a->asks = NULL;
}

int mt_reply(mt_msg_t *req, mt_msg_t *reply)
{
    if (!req->from) {
        mt_msg_free(reply);
        return MT_EINVAL;
    }
    reply->corr = req->corr;
    reply->flags |= MT__F_REPLY;
    return mt_send(req->from, reply);
}

int mt_ask_wait(mt_runtime_t *rt, mt_actor_t *to, mt_msg_t *req,
                uint32_t timeout_ms, mt_msg_t **reply)
{
    *reply = NULL;
    mt_probe_t *probe = mt_probe_new(rt);
    if (!probe) {
        mt_msg_free(req);
        return MT_ECLOSED;
    }
    uint64_t corr = atomic_fetch_add_explicit(&rt->next_corr, 1, memory_order_relaxed) + 1;
    mt_actor_unref(&req->from);
    req->from = mt_actor_ref(mt_probe_actor(probe));
    req->corr = corr;
    mt_send(to, req);
    uint64_t deadline = mt_now_ms() + timeout_ms;
    int rc = MT_ETIMEDOUT;
    for (;;) {
        uint64_t now = mt_now_ms();
        if (now >= deadline)
            break;
        mt_msg_t *msg = mt_probe_recv(probe, (int) (deadline - now));
        if (!msg)
            break;
        if (msg->corr == corr) {
            msg->flags &= (uint16_t) ~MT__F_REPLY;
            *reply = msg;
            rc = MT_OK;
            break;
        }
        mt_msg_free(msg);
    }
    mt_probe_destroy(&probe);
    return rc;
}
