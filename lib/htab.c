/*  htab.c — a hash table of intrusive entries in locked shards (mt_htab.h).

    Shards, not one lock: blocks are built and looked up on every thread at
    once (the gateway, the store's readers, the notice listener, node
    actors on every worker). A shard is picked by the hash's low bits and a
    bucket by the bits above them, so the two choices stay independent. */
#include "mt_htab.h"
#include "mt_alloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#define SHARDS 64
#define BUCKETS_MIN 64

struct mt_htab_shard {
    pthread_mutex_t mu;
    mt_htab_link_t **buckets;
    uint32_t nbuckets, count;
};

struct mt_htab {
    uint64_t seed;
    mt_htab_shard_t shards[SHARDS];
};

mt_htab_t *mt_htab_new(void)
{
    mt_htab_t *t = mt_xcalloc(1, sizeof *t);
    if (getrandom(&t->seed, sizeof t->seed, 0) != (ssize_t) sizeof t->seed)
        t->seed = (uint64_t) time(NULL) ^ (uint64_t) (uintptr_t) t;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_init(&t->shards[i].mu, NULL);
        t->shards[i].nbuckets = BUCKETS_MIN;
        t->shards[i].buckets = mt_xcalloc(BUCKETS_MIN, sizeof *t->shards[i].buckets);
    }
    return t;
}

void mt_htab_destroy(mt_htab_t **t_p, void (*free_fn)(mt_htab_link_t *e))
{
    mt_htab_t *t = *t_p;
    *t_p = NULL;
    if (!t)
        return;
    for (int i = 0; i < SHARDS; i++) {
        mt_htab_shard_t *s = &t->shards[i];
        for (uint32_t b = 0; free_fn && b < s->nbuckets; b++)
            for (mt_htab_link_t *e = s->buckets[b], *next; e; e = next) {
                next = e->next;
                free_fn(e);
            }
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    free(t);
}

uint64_t mt_htab_seed(const mt_htab_t *t)
{
    return t->seed;
}

mt_htab_shard_t *mt_htab_lock(mt_htab_t *t, uint64_t hash)
{
    mt_htab_shard_t *s = &t->shards[hash % SHARDS];
    pthread_mutex_lock(&s->mu);
    return s;
}

void mt_htab_unlock(mt_htab_shard_t *s)
{
    pthread_mutex_unlock(&s->mu);
}

static mt_htab_link_t **bucket(mt_htab_shard_t *s, uint64_t hash)
{
    return &s->buckets[(hash / SHARDS) & (s->nbuckets - 1)];
}

mt_htab_link_t *mt_htab_first(mt_htab_shard_t *s, uint64_t hash)
{
    return *bucket(s, hash);
}

/*  Doubles the buckets: chains stay about one entry long. */
static void grow(mt_htab_shard_t *s)
{
    uint32_t old_n = s->nbuckets;
    mt_htab_link_t **old = s->buckets;
    s->nbuckets = old_n * 2;
    s->buckets = mt_xcalloc(s->nbuckets, sizeof *s->buckets);
    for (uint32_t b = 0; b < old_n; b++)
        for (mt_htab_link_t *e = old[b], *next; e; e = next) {
            next = e->next;
            mt_htab_link_t **head = bucket(s, e->hash);
            e->next = *head;
            *head = e;
        }
    free(old);
}

void mt_htab_add(mt_htab_shard_t *s, mt_htab_link_t *e)
{
    mt_htab_link_t **head = bucket(s, e->hash);
    e->next = *head;
    *head = e;
    if (++s->count > s->nbuckets)
        grow(s);
}

void mt_htab_remove(mt_htab_shard_t *s, mt_htab_link_t *e)
{
    mt_htab_link_t **pp = bucket(s, e->hash);
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    s->count--;
}
