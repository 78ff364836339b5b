/*  actor.c — spawning, references, sending, running and stopping actors.

    Life of an actor: spawned (alive, holds a reference to itself) → runs
    whenever its mailbox becomes non-empty → stopped (destructor, monitors,
    name, pending asks; flagged dead; queued messages dropped; self
    reference released) → freed when the last reference goes. */
#include "internal.h"

#include <stddef.h>
#include <string.h>

_Thread_local mt__tls_t mt__tls;

/*  A worker's counters are written by that worker alone: a plain
    load-and-store (no locked instruction; ~40% of a ping-pong message's
    cost otherwise). Threads that are not workers share rt->foreign. */
static inline void count(mt_runtime_t *rt, size_t field)
{
    mt__counters_t *own = mt__tls.ctr;
    if (own && mt__tls.rt == rt) {
        _Atomic uint64_t *c = (_Atomic uint64_t *) ((char *) own + field);
        atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
    else
        atomic_fetch_add_explicit((_Atomic uint64_t *) ((char *) &rt->foreign + field), 1,
                                  memory_order_relaxed);
}

#define COUNT(rt, name) count((rt), offsetof(mt__counters_t, name))

/* ---- spawn and references ---------------------------------------------- */

mt_actor_t *mt_spawn_opts(mt_runtime_t *rt, const mt_spawn_opts_t *opts)
{
    if (!opts || !opts->behaviour || atomic_load(&rt->stopping))
        return NULL;
    size_t size = sizeof(mt_actor_t) + opts->state_size;
    mt_actor_t *a = mt__pool_alloc_lasting(size);
    memset(a, 0, size);
    mt__mailbox_init(&a->mbox);
    atomic_init(&a->refs, 2);          /* the caller's and its own */
    atomic_flag_clear(&a->mon_lock);
    a->rt = rt;
    a->behaviour = opts->behaviour;
    a->destroy = opts->destroy;
    if (opts->state_size) {
        a->state = a + 1;
        if (opts->init)
            opts->init(a->state, opts->init_arg);
    }
    else
        a->state = opts->state;
    a->size = (uint32_t) size;
    a->id = atomic_fetch_add_explicit(&rt->next_id, 1, memory_order_relaxed) + 1;
    mt__runtime_link(rt, a);
    atomic_fetch_add_explicit(&rt->actors_alive, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rt->actors_spawned, 1, memory_order_relaxed);

    if (opts->name && mt_register(rt, opts->name, a) != MT_OK)
        goto fail;
    if (opts->pinned && mt__pinned_start(a, opts) != MT_OK)
        goto fail;
    return a;
fail:
    atomic_fetch_sub_explicit(&rt->actors_spawned, 1, memory_order_relaxed);
    if (!(opts->state_size && opts->init))
        a->destroy = NULL;
    mt__actor_terminate(a);
    mt__actor_free(a);
    return NULL;
}

mt_actor_t *mt_spawn(mt_runtime_t *rt, mt_behaviour_fn *fn, void *state,
                     void (*destroy)(void *state))
{
    mt_spawn_opts_t o = { .behaviour = fn, .state = state, .destroy = destroy };
    return mt_spawn_opts(rt, &o);
}

mt_actor_t *mt_actor_ref(mt_actor_t *a)
{
    /*  relaxed: the caller already holds a reference, as with any refcount. */
    atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
    return a;
}

void mt_actor_unref(mt_actor_t **a_p)
{
    mt_actor_t *a = *a_p;
    if (!a)
        return;
    *a_p = NULL;
    /*  acq_rel: every use of the actor by other holders happens before the
        free by the last one. */
    if (atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) == 1)
        mt__actor_free(a);
}

void mt__actor_free(mt_actor_t *a)
{
    mt__runtime_unlink(a->rt, a);
    mt__pinned_free(a);
    mt__pool_free_lasting(a, a->size);
}

bool mt_actor_alive(mt_actor_t *a)
{
    return !(atomic_load_explicit(&a->flags, memory_order_acquire) & MT__A_DEAD);
}

uint64_t mt_actor_id(mt_actor_t *a) { return a->id; }
mt_runtime_t *mt_actor_runtime(mt_actor_t *a) { return a->rt; }
mt_actor_t *mt_self(void) { return mt__tls.current; }

/* ---- sending ----------------------------------------------------------- */

int mt_send(mt_actor_t *to, mt_msg_t *msg)
{
    /*  Known dead: dropped here. Otherwise accepted — it may still be
        dropped if the actor stops before handling it, as with any stop. */
    COUNT(to->rt, sent);
    if (atomic_load_explicit(&to->flags, memory_order_acquire) & MT__A_DEAD) {
        mt__msg_drop(to->rt, msg);
        return MT_ECLOSED;
    }
    if (mt__mailbox_push(&to->mbox, msg))
        mt__schedule(to);       /* it was empty: we hold its token */
    if (mt__tls.nhelp)
        mt__sched_help_due();
    return MT_OK;
}

void mt_stop(mt_actor_t *a, int reason)
{
    if (mt__tls.current == a) {
        a->stop_reason = reason;
        atomic_fetch_or_explicit(&a->flags, MT__A_STOPPING, memory_order_relaxed);
        return;
    }
    mt_msg_t *msg = mt_msg_new(MT__MSG_STOP, sizeof(int));
    *(int *) mt_msg_data(msg) = reason;
    mt_send(a, msg);
}

void mt__msg_drop(mt_runtime_t *rt, mt_msg_t *msg)
{
    COUNT(rt, dropped);
    mt_msg_free(msg);
}

/* ---- running ----------------------------------------------------------- */

/*  Hands one message to the behaviour, or consumes it when it is the
    runtime's own (stop request, stale timer, late reply). */
static void deliver(mt_actor_t *a, mt_msg_t *msg)
{
    if (msg->timer && !mt__timer_claim(msg)) {
        mt__msg_drop(a->rt, msg);
        return;
    }
    if (msg->type == MT__MSG_STOP) {
        COUNT(a->rt, delivered);        /* handled, by the runtime */
        a->stop_reason = *(int *) mt_msg_data(msg);
        atomic_fetch_or_explicit(&a->flags, MT__A_STOPPING, memory_order_relaxed);
        mt_msg_free(msg);
        return;
    }
    if (msg->type == MT__MSG_ASK_TICK) {
        COUNT(a->rt, delivered);        /* handled, by the runtime */
        mt__asks_tick(a);
        mt_msg_free(msg);
        return;
    }
    /*  Only an actor that asked filters answers: a probe takes any. */
    if ((msg->flags & MT__F_REPLY)
        && (atomic_load_explicit(&a->flags, memory_order_relaxed) & MT__A_ASKED)
        && !mt__ask_complete(a, msg)) {
        mt__msg_drop(a->rt, msg);      /* answer to an ask that timed out */
        return;
    }
    COUNT(a->rt, delivered);
    mt__tls.kept = NULL;
    mt__tls.handling = msg;
    a->behaviour(a, a->state, msg);
    mt__tls.handling = NULL;
    if (mt__tls.kept != msg)
        mt_msg_free(msg);
    mt__tls.kept = NULL;
}

bool mt__actor_run(mt_actor_t *a, int batch, int *handled)
{
    mt_actor_t *prev = mt__tls.current;
    mt__tls.current = a;
    int n = 0;
    for (; n < batch; n++) {
        mt_msg_t *msg = mt__mailbox_pop(&a->mbox);
        if (!msg)
            break;
        deliver(a, msg);
        /*  A pinned actor's next message may block (a commit): what this
            one made runnable runs first (sched.c, "Helping"). */
        if (mt__tls.help_head && !mt__tls.helping)
            mt__sched_help();
        if (atomic_load_explicit(&a->flags, memory_order_relaxed) & MT__A_STOPPING) {
            mt__actor_terminate(a);
            mt__tls.current = prev;
            if (handled)
                *handled = n + 1;
            return false;
        }
    }
    mt__tls.current = prev;
    if (handled)
        *handled = n;
    if (n == batch)
        return true;            /* probably more: keep the token, requeue */
    return !mt__mailbox_release(&a->mbox);
}

/*  Pops and drops everything, then gives the token back; goes on if a
    sender slipped a message in meanwhile. The caller holds the token and
    the actor is dead, so no behaviour runs. */
void mt__actor_drain_dead(mt_actor_t *a)
{
    do {
        mt_msg_t *msg;
        while ((msg = mt__mailbox_pop(&a->mbox)))
            mt__msg_drop(a->rt, msg);
    } while (!mt__mailbox_release(&a->mbox));
}

void mt__actor_terminate(mt_actor_t *a)
{
    mt_actor_t *prev = mt__tls.current;
    mt__tls.current = a;
    if (a->destroy)
        a->destroy(a->state);
    a->destroy = NULL;
    mt__tls.current = prev;
    /*  release: whoever sees DEAD also sees everything the actor did. */
    atomic_fetch_or_explicit(&a->flags, MT__A_DEAD, memory_order_seq_cst);
    if (atomic_load_explicit(&a->flags, memory_order_seq_cst) & MT__A_NAMED)
        mt__registry_drop(a->rt, a);
    mt__asks_free(a);
    mt__monitors_fire(a, a->stop_reason);
    atomic_fetch_sub_explicit(&a->rt->actors_alive, 1, memory_order_relaxed);
    /*  On a worker we hold the token already; a pinned thread or shutdown
        may find it free and take it. */
    mt__mailbox_acquire(&a->mbox);
    mt__actor_drain_dead(a);
    mt_actor_unref(&a);         /* its reference to itself */
}
