/*  views.c — every node's current blocks, readable from any thread.

    node.get used to cross three threads (gateway → directory → node actor
    → gateway); each crossing wakes a sleeping thread, which on this class
    of machine costs more than the lookup itself. The node actors now also
    publish their blocks here, under a lock per shard, before they answer
    the request that changed them; the gateway answers node.get from here
    on its own thread (mt_nodes_peek). A node this replica holds no
    registration for is not here: its get takes the old way, which loads
    it from the database.

    Read-your-writes holds: an actor publishes a merge before it answers
    the write, so a get sent after the answer finds the new blocks. Health
    is not published: it is judged at read time, as the actor judges it. */
#include "views.h"

#include "mt_alloc.h"
#include "mt_hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define SHARDS 64
#define BUCKETS_MIN 64

typedef struct view {
    struct view *next;
    uint64_t hash;
    mt_node_reg_t *reg;
    mt_node_status_t *status;
    mt_node_live_t *live;
    char id[];
} view_t;

typedef struct {
    pthread_mutex_t mu;
    view_t **buckets;
    uint32_t nbuckets, count;
} shard_t;

struct mt__views {
    uint64_t seed;                  /* ids come from clients: buckets are not theirs to pick */
    shard_t shards[SHARDS];
};

mt__views_t *mt__views_new(void)
{
    mt__views_t *v = mt_xcalloc(1, sizeof *v);
    if (getrandom(&v->seed, sizeof v->seed, 0) != (ssize_t) sizeof v->seed)
        v->seed = (uint64_t) time(NULL) ^ (uint64_t) (uintptr_t) v;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_init(&v->shards[i].mu, NULL);
        v->shards[i].nbuckets = BUCKETS_MIN;
        v->shards[i].buckets = mt_xcalloc(BUCKETS_MIN, sizeof *v->shards[i].buckets);
    }
    return v;
}

static void view_free(view_t *e)
{
    mt_node_reg_unref(&e->reg);
    mt_node_status_unref(&e->status);
    mt_node_live_unref(&e->live);
    free(e);
}

void mt__views_destroy(mt__views_t **views_p)
{
    mt__views_t *v = *views_p;
    *views_p = NULL;
    if (!v)
        return;
    for (int i = 0; i < SHARDS; i++) {
        shard_t *s = &v->shards[i];
        for (uint32_t b = 0; b < s->nbuckets; b++)
            for (view_t *e = s->buckets[b], *next; e; e = next) {
                next = e->next;
                view_free(e);
            }
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    free(v);
}

static uint64_t hash_of(const mt__views_t *v, const char *id)
{
    return mt_fnv1a64(MT_FNV1A64_INIT ^ v->seed, id, strlen(id));
}

static view_t **slot_of(shard_t *s, uint64_t hash, const char *id)
{
    view_t **pp = &s->buckets[(hash / SHARDS) & (s->nbuckets - 1)];
    while (*pp && ((*pp)->hash != hash || strcmp((*pp)->id, id) != 0))
        pp = &(*pp)->next;
    return pp;
}

static void grow(shard_t *s)
{
    uint32_t old_n = s->nbuckets;
    view_t **old = s->buckets;
    s->nbuckets = old_n * 2;
    s->buckets = mt_xcalloc(s->nbuckets, sizeof *s->buckets);
    for (uint32_t b = 0; b < old_n; b++)
        for (view_t *e = old[b], *next; e; e = next) {
            next = e->next;
            view_t **head = &s->buckets[(e->hash / SHARDS) & (s->nbuckets - 1)];
            e->next = *head;
            *head = e;
        }
    free(old);
}

void mt__views_set(mt__views_t *v, const char *id, mt_node_reg_t *reg,
                   mt_node_status_t *status, mt_node_live_t *live)
{
    uint64_t hash = hash_of(v, id);
    shard_t *s = &v->shards[hash % SHARDS];
    /*  References taken and dropped outside the lock: only swaps inside. */
    mt_node_reg_t *old_reg = NULL;
    mt_node_status_t *old_status = NULL;
    mt_node_live_t *old_live = NULL;
    view_t *gone = NULL;
    if (reg) {
        reg = mt_node_reg_ref(reg);
        status = mt_node_status_ref(status);
        live = mt_node_live_ref(live);
    }
    pthread_mutex_lock(&s->mu);
    view_t **pp = slot_of(s, hash, id);
    if (!reg) {
        if ((gone = *pp)) {
            *pp = gone->next;
            s->count--;
        }
    } else if (*pp) {
        view_t *e = *pp;
        old_reg = e->reg, old_status = e->status, old_live = e->live;
        e->reg = reg, e->status = status, e->live = live;
    } else {
        size_t n = strlen(id) + 1;
        view_t *e = mt_xmalloc(sizeof *e + n);
        *e = (view_t) { .hash = hash, .reg = reg, .status = status, .live = live };
        memcpy(e->id, id, n);
        *pp = e;
        if (++s->count > s->nbuckets)
            grow(s);
    }
    pthread_mutex_unlock(&s->mu);
    if (gone)
        view_free(gone);
    mt_node_reg_unref(&old_reg);
    mt_node_status_unref(&old_status);
    mt_node_live_unref(&old_live);
}

bool mt__views_get(mt__views_t *v, const char *id, mt_node_view_t *out)
{
    uint64_t hash = hash_of(v, id);
    shard_t *s = &v->shards[hash % SHARDS];
    pthread_mutex_lock(&s->mu);
    view_t *e = *slot_of(s, hash, id);
    if (e) {
        out->reg = mt_node_reg_ref(e->reg);
        out->status = mt_node_status_ref(e->status);
        out->live = mt_node_live_ref(e->live);
    }
    pthread_mutex_unlock(&s->mu);
    return e != NULL;
}
