/*  probe.c — an actor whose messages a plain thread can wait for.

    The probe's state is shared by the actor (which appends) and the thread
    (which takes), so it is refcounted: the user's handle and the actor each
    hold one, and whichever lets go last frees it. */
#include "internal.h"

#include <errno.h>
#include <time.h>

struct mt_probe {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    mt_msg_t *head, *tail;      /* linked through next (relaxed, under lock) */
    _Atomic int refs;
    mt_actor_t *actor;
};

static void probe_unref(mt_probe_t *p)
{
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (mt_msg_t *m = p->head, *n; m; m = n) {
        n = atomic_load_explicit(&m->next, memory_order_relaxed);
        mt_msg_free(m);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}

static void probe_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    mt_probe_t *p = state;
    mt_msg_keep(msg);
    atomic_store_explicit(&msg->next, NULL, memory_order_relaxed);
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        atomic_store_explicit(&p->tail->next, msg, memory_order_relaxed);
    else
        p->head = msg;
    p->tail = msg;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static void probe_destroy_state(void *state)
{
    probe_unref(state);
}

mt_probe_t *mt_probe_new(mt_runtime_t *rt)
{
    mt_probe_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &attr);
    pthread_condattr_destroy(&attr);
    atomic_init(&p->refs, 2);
    p->actor = mt_spawn(rt, probe_behaviour, p, probe_destroy_state);
    if (!p->actor) {
        /*  spawn failure ran no destructor: drop both references. */
        atomic_store(&p->refs, 1);
        probe_unref(p);
        return NULL;
    }
    return p;
}

void mt_probe_destroy(mt_probe_t **p_p)
{
    mt_probe_t *p = *p_p;
    if (!p)
        return;
    *p_p = NULL;
    mt_stop(p->actor, 0);
    mt_actor_unref(&p->actor);
    probe_unref(p);
}

mt_actor_t *mt_probe_actor(mt_probe_t *p)
{
    return p->actor;
}

mt_msg_t *mt_probe_recv(mt_probe_t *p, int timeout_ms)
{
    struct timespec ts;
    if (timeout_ms >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&p->lock);
    while (!p->head) {
        int rc = timeout_ms < 0 ? pthread_cond_wait(&p->cond, &p->lock)
                                : pthread_cond_timedwait(&p->cond, &p->lock, &ts);
        if (rc == ETIMEDOUT && !p->head)
            break;
    }
    mt_msg_t *msg = p->head;
    if (msg) {
        p->head = atomic_load_explicit(&msg->next, memory_order_relaxed);
        if (!p->head)
            p->tail = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    return msg;
}

mt_msg_t *mt_probe_expect(mt_probe_t *p, uint16_t type, int timeout_ms)
{
    uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : mt_now_ms() + (uint64_t) timeout_ms;
    for (;;) {
        uint64_t now = mt_now_ms();
        if (now >= deadline)
            return NULL;
        int left = deadline == UINT64_MAX ? -1 : (int) (deadline - now);
        mt_msg_t *msg = mt_probe_recv(p, left);
        if (!msg || msg->type == type)
            return msg;
        mt_msg_free(msg);
    }
}
