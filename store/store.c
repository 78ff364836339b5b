/*  store.c — the store: a pool of pinned actors, one connection each
    (store_actor.c, where their messages are). The writers take node and
    reference writes, a node's always to the same writer (mt_store_writer,
    by a hash of its id); the reader takes scans, loads and node.changes;
    the members actor takes the replica table's beats alone, so a beat
    never queues behind a batch or a scan. */
#include "store_internal.h"
#include "mt_hash.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the pool ------------------------------------------------------------------------------ */

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_rc;

static void library_init(void)
{
    /*  Once per process, before any thread uses the client library. */
    library_rc = mysql_library_init(0, NULL, NULL);
}

int mt_store_new(mt_runtime_t *rt, const mt_store_opts_t *opts, mt_store_t **out,
                 char *err, size_t errlen)
{
    *out = NULL;
    mt_dsn_t *dsn = NULL;
    int rc = mt_dsn_parse(opts ? opts->dsn : NULL, &dsn, err, errlen);
    if (rc != MT_OK)
        return rc;
    pthread_once(&library_once, library_init);
    if (library_rc != 0) {
        snprintf(err, errlen, "store: mysql_library_init failed");
        mt_dsn_destroy(&dsn);
        return MT_EINTERNAL;
    }
    mt_store_t *s = calloc(1, sizeof *s);
    if (!s) {
        mt_dsn_destroy(&dsn);
        return MT_ENOMEM;
    }
    s->rt = rt;
    s->dsn = dsn;
    s->nwriters = opts->writers > 0 ? opts->writers : 2;
    s->batch_max = opts->batch_max > 0 ? opts->batch_max : 256;
    s->reconnect_ms = opts->reconnect_ms > 0 ? opts->reconnect_ms : 1000;
    s->linger_ms = opts->linger_ms;
    int n = s->nactors = s->nwriters + 2;
    s->actors = calloc((size_t) n, sizeof *s->actors);
    s->ready = calloc((size_t) n, sizeof *s->ready);
    if (!s->actors || !s->ready) {
        mt_store_destroy(&s);
        return MT_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        if (!(s->actors[i] = mt__store_actor_spawn(s, i))) {
            snprintf(err, errlen, "store: cannot start an actor");
            mt_store_destroy(&s);
            return MT_ECLOSED;
        }
    }
    *out = s;
    return MT_OK;
}

void mt_store_destroy(mt_store_t **store_p)
{
    mt_store_t *s = *store_p;
    if (!s)
        return;
    *store_p = NULL;
    int n = s->nactors, live = 0;
    mt_probe_t *probe = s->actors ? mt_probe_new(s->rt) : NULL;
    for (int i = 0; s->actors && i < n; i++) {
        if (!s->actors[i])
            continue;
        if (probe && mt_monitor(mt_probe_actor(probe), s->actors[i]) == MT_OK)
            live++;
        mt_stop(s->actors[i], 0);
    }
    /*  Wait until every actor ran its destructor (connections closed). */
    while (live > 0) {
        mt_msg_t *m = mt_probe_expect(probe, MT_MSG_DOWN, 30000);
        if (!m)
            break;
        mt_msg_free(m);
        live--;
    }
    mt_probe_destroy(&probe);
    for (int i = 0; s->actors && i < n; i++)
        mt_actor_unref(&s->actors[i]);
    free(s->actors);
    free((void *) s->ready);
    mt_dsn_destroy(&s->dsn);
    free(s);
}

static uint32_t hash_id(const char *id)
{
    return mt_fnv1a32(MT_FNV1A32_INIT, id, strlen(id));
}

mt_actor_t *mt_store_writer(mt_store_t *store, const char *node_id)
{
    return store->actors[hash_id(node_id) % (uint32_t) store->nwriters];
}

mt_actor_t *mt_store_reader(mt_store_t *store)
{
    return store->actors[store->nwriters];
}

int64_t mt_store_lag_ms(mt_store_t *store)
{
    /*  Relaxed: a flag set once; a pass that starts just before sees it
        at the next pass (the first passes run before any write anyway). */
    return atomic_load_explicit(&store->galera, memory_order_relaxed) ? MT_STORE_GALERA_LAG_MS : 0;
}

mt_actor_t *mt_store_members(mt_store_t *store)
{
    return store->actors[store->nwriters + 1];
}

int mt_store_wait_ready(mt_store_t *store, int timeout_ms)
{
    uint64_t deadline = mt_now_ms() + (uint64_t) (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int ready = 0;
        for (int i = 0; i < store->nactors; i++)
            ready += atomic_load(&store->ready[i]);
        if (ready == store->nactors)
            return MT_OK;
        if (mt_now_ms() >= deadline)
            return MT_EUNAVAIL;
        nanosleep(&(struct timespec) { .tv_nsec = 2000000 }, NULL);
    }
}

void mt_store_stats(mt_store_t *store, mt_store_stats_t *out)
{
    out->status_batches = atomic_load(&store->batches);
    out->status_rows = atomic_load(&store->rows);
    out->status_rechecks = atomic_load(&store->rechecks);
    out->status_alone = atomic_load(&store->alone);
    out->statements = atomic_load(&store->statements);
    out->reconnects = atomic_load(&store->reconnects);
    out->rc_writes = atomic_load(&store->rc_writes);
    out->rc_conflicts = atomic_load(&store->rc_conflicts);
    out->rows_rejected = atomic_load(&store->rows_rejected);
    out->revision_raises = atomic_load(&store->raises);
}
