/*  runtime.c — creating and destroying a runtime, the actor list, stats.

    Shutdown order matters: the housekeeping thread stops first (it only
    sweeps the pool, which outlives every runtime), then timers (no new
    sends from them), then the workers (no behaviour runs after), then
    pinned threads (each terminates its own actor, on its own thread, as
    its socket or connection requires); then the remaining actors are
    terminated here, which drops every queued message; then whatever
    timers and names are left go. */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

mt_runtime_t *mt_runtime_new(const mt_runtime_opts_t *opts)
{
    mt_runtime_opts_t o = opts ? *opts : (mt_runtime_opts_t) { 0 };
    if (o.workers <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o.workers = n > 0 ? (int) n : 1;
    }
    if (o.workers > MT_MAX_WORKERS)
        o.workers = MT_MAX_WORKERS;
    if (o.batch <= 0)
        o.batch = 64;

    /*  aligned_alloc wants a multiple of the alignment. */
    size_t rt_size = (sizeof(mt_runtime_t) + MT__CACHE_LINE - 1) & ~(size_t) (MT__CACHE_LINE - 1);
    mt_runtime_t *rt = aligned_alloc(MT__CACHE_LINE, rt_size);
    if (!rt)
        return NULL;
    memset(rt, 0, sizeof *rt);
    rt->nworkers = o.workers;
    rt->batch = o.batch;
    rt->workers = aligned_alloc(MT__CACHE_LINE, sizeof(mt__worker_t) * (size_t) o.workers);
    if (!rt->workers) {
        free(rt);
        return NULL;
    }
    memset(rt->workers, 0, sizeof(mt__worker_t) * (size_t) o.workers);
    pthread_mutex_init(&rt->inject_lock, NULL);
    pthread_mutex_init(&rt->idle_lock, NULL);
    pthread_mutex_init(&rt->pinned_lock, NULL);
    pthread_cond_init(&rt->pinned_cond, NULL);
    for (int s = 0; s < MT__SHARDS; s++) {
        pthread_mutex_init(&rt->shards[s].lock, NULL);
        rt->shards[s].head.all_next = rt->shards[s].head.all_prev = &rt->shards[s].head;
    }
    mt__registry_init(rt);
    if (mt__timers_start(rt) != MT_OK || mt__housekeep_start(rt) != MT_OK
        || mt__sched_start(rt) != MT_OK) {
        int err = errno;
        mt__housekeep_stop(rt);
        mt__timers_stop(rt);
        mt__timers_free(rt);
        free(rt->workers);
        free(rt);
        errno = err;
        return NULL;
    }
    return rt;
}

void mt__runtime_link(mt_runtime_t *rt, mt_actor_t *a)
{
    a->shard = (uint8_t) (a->id % MT__SHARDS);
    mt_actor_t *head = &rt->shards[a->shard].head;
    pthread_mutex_lock(&rt->shards[a->shard].lock);
    a->all_next = head;
    a->all_prev = head->all_prev;
    head->all_prev->all_next = a;
    head->all_prev = a;
    pthread_mutex_unlock(&rt->shards[a->shard].lock);
}

void mt__runtime_unlink(mt_runtime_t *rt, mt_actor_t *a)
{
    pthread_mutex_lock(&rt->shards[a->shard].lock);
    a->all_prev->all_next = a->all_next;
    a->all_next->all_prev = a->all_prev;
    pthread_mutex_unlock(&rt->shards[a->shard].lock);
}

/*  Terminates every actor still alive; the destructors may release other
    actors, so the list is walked again until nothing alive is left. */
static void terminate_all(mt_runtime_t *rt)
{
    for (int s = 0; s < MT__SHARDS; s++) {
        for (;;) {
            mt_actor_t *victim = NULL;
            pthread_mutex_lock(&rt->shards[s].lock);
            mt_actor_t *head = &rt->shards[s].head;
            for (mt_actor_t *a = head->all_next; a != head; a = a->all_next) {
                if (mt_actor_alive(a)) {
                    victim = mt_actor_ref(a);
                    break;
                }
            }
            pthread_mutex_unlock(&rt->shards[s].lock);
            if (!victim)
                break;
            victim->stop_reason = MT_ECLOSED;
            mt__actor_terminate(victim);
            mt_actor_unref(&victim);
        }
    }
}

/*  Actors whose references the application still holds: freed anyway, so
    the process ends clean; those references must not be used again. */
static void free_leftovers(mt_runtime_t *rt)
{
    for (int s = 0; s < MT__SHARDS; s++) {
        mt_actor_t *head = &rt->shards[s].head;
        while (head->all_next != head)
            mt__actor_free(head->all_next);
        pthread_mutex_destroy(&rt->shards[s].lock);
    }
}

void mt_runtime_destroy(mt_runtime_t **rt_p)
{
    mt_runtime_t *rt = *rt_p;
    if (!rt)
        return;
    *rt_p = NULL;
    mt__housekeep_stop(rt);
    mt__timers_stop(rt);
    mt__sched_stop(rt);
    mt__pinned_stop_all(rt);
    terminate_all(rt);
    mt__registry_free(rt);
    mt__timers_free(rt);
    free_leftovers(rt);
    pthread_mutex_destroy(&rt->inject_lock);
    pthread_mutex_destroy(&rt->idle_lock);
    pthread_mutex_destroy(&rt->pinned_lock);
    pthread_cond_destroy(&rt->pinned_cond);
    free(rt->workers);
    free(rt);
}

void mt_runtime_stats(mt_runtime_t *rt, mt_stats_t *out)
{
    memset(out, 0, sizeof *out);
    out->workers = rt->nworkers;
    out->actors_alive = atomic_load_explicit(&rt->actors_alive, memory_order_relaxed);
    out->actors_spawned = atomic_load_explicit(&rt->actors_spawned, memory_order_relaxed);
    const mt__counters_t *c = &rt->foreign;
    out->msgs_sent = atomic_load_explicit(&c->sent, memory_order_relaxed);
    out->msgs_delivered = atomic_load_explicit(&c->delivered, memory_order_relaxed);
    out->msgs_dropped = atomic_load_explicit(&c->dropped, memory_order_relaxed);
    for (int i = 0; i < rt->nworkers; i++) {
        mt__worker_t *w = &rt->workers[i];
        out->msgs_sent += atomic_load_explicit(&w->ctr.sent, memory_order_relaxed);
        out->msgs_delivered += atomic_load_explicit(&w->ctr.delivered, memory_order_relaxed);
        out->msgs_dropped += atomic_load_explicit(&w->ctr.dropped, memory_order_relaxed);
        out->worker_runs[i] = atomic_load_explicit(&w->runs, memory_order_relaxed);
        out->steals += atomic_load_explicit(&w->steals, memory_order_relaxed);
        out->parks += atomic_load_explicit(&w->parks, memory_order_relaxed);
    }
    out->timers_armed = rt->timers ? mt__timers_count(rt) : 0;
    mt__pool_stats_t ps;
    mt__pool_stats(&ps);
    out->pool_bytes = ps.slabs * ps.slab_bytes;
}
