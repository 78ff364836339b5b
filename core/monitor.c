/*  monitor.c — being told when another actor stops.

    The target keeps its watchers in a list guarded by a one-byte spinlock
    (critical sections are a few pointer moves; a mutex would cost 40 bytes
    on every actor). Terminate marks the list closed under the lock, so a
    monitor set up concurrently either lands in the list and is fired, or
    sees the target dead and gets its MT_MSG_DOWN at once. */
#include "internal.h"

#include <sched.h>

struct mt__monitor {
    mt__monitor_t *next;
    mt_actor_t *watcher;        /* reference */
};

/*  Marks a closed list (target terminated). */
#define CLOSED ((mt__monitor_t *) 1)

static void lock(mt_actor_t *a)
{
    while (atomic_flag_test_and_set_explicit(&a->mon_lock, memory_order_acquire))
        sched_yield();
}

static void unlock(mt_actor_t *a)
{
    atomic_flag_clear_explicit(&a->mon_lock, memory_order_release);
}

static void send_down(mt_actor_t *watcher, mt_actor_t *target, int reason);

static void down_drop(mt_msg_t *msg)
{
    mt_down_t *d = mt_msg_data(msg);
    mt_actor_unref(&d->actor);
}

static void send_down(mt_actor_t *watcher, mt_actor_t *target, int reason)
{
    mt_msg_t *msg = mt_msg_new(MT_MSG_DOWN, sizeof(mt_down_t));
    mt_down_t *d = mt_msg_data(msg);
    d->actor = mt_actor_ref(target);
    d->reason = reason;
    msg->drop = down_drop;
    mt_send(watcher, msg);
}

int mt_monitor(mt_actor_t *watcher, mt_actor_t *target)
{
    lock(target);
    if (target->monitors == CLOSED) {
        int reason = target->stop_reason;
        unlock(target);
        send_down(watcher, target, reason);
        return MT_OK;
    }
    mt__monitor_t *m = mt__pool_alloc(sizeof *m);
    m->watcher = mt_actor_ref(watcher);
    m->next = target->monitors;
    target->monitors = m;
    unlock(target);
    return MT_OK;
}

int mt_demonitor(mt_actor_t *watcher, mt_actor_t *target)
{
    mt__monitor_t *found = NULL;
    lock(target);
    if (target->monitors != CLOSED) {
        for (mt__monitor_t **p = &target->monitors; *p; p = &(*p)->next) {
            if ((*p)->watcher == watcher) {
                found = *p;
                *p = found->next;
                break;
            }
        }
    }
    unlock(target);
    if (!found)
        return MT_ENOENT;
    mt_actor_unref(&found->watcher);
    mt__pool_free(found, sizeof *found);
    return MT_OK;
}

void mt__monitors_fire(mt_actor_t *a, int reason)
{
    lock(a);
    mt__monitor_t *list = a->monitors;
    a->monitors = CLOSED;
    unlock(a);
    while (list) {
        mt__monitor_t *m = list;
        list = m->next;
        send_down(m->watcher, a, reason);
        mt_actor_unref(&m->watcher);
        mt__pool_free(m, sizeof *m);
    }
}
