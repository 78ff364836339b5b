/*  part.c — arrays of node blocks shared by content (see part.h).

    One table for the process, in SHARDS shards each with its own lock:
    blocks are built on every thread (the gateway's decoders, the store's
    readers, the notice listener), and a heartbeat looks up three parts.

    The reference count reaches zero only under the shard's lock, in the
    same critical section that unlinks the part, so a lookup (also under
    the lock) never finds a part on its way out and can simply add a
    reference. Letting go of one reference of several needs no lock. */
#include "part.h"

#include "mt_alloc.h"
#include "mt_hash.h"
#include "mt_model.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define SHARDS 16
#define BUCKETS_MIN 64
#define PART_CHAIN_MAX 8

typedef struct part {
    _Atomic uint32_t refs;
    uint32_t n;                 /* records */
    uint64_t hash;
    struct part *next;          /* in its bucket */
    uint32_t bytes;             /* the whole allocation */
    uint8_t kind;
    bool shared;                /* in the table (else never looked up) */
} part_t;                       /* the records follow, then their strings */

_Static_assert(sizeof(part_t) % 8 == 0, "records start 8-aligned");

/*  Slots per record: strings first, then an int64 for the int maps. */
static const struct { uint8_t nstr, nint; } s_kind[MT__PART_KINDS] = {
    [MT__PART_STR_MAP] = { 2, 0 },
    [MT__PART_INT_MAP] = { 1, 1 },
    [MT__PART_COMPONENTS] = { 5, 0 },
    [MT__PART_CONDITIONS] = { 4, 0 },
    [MT__PART_STRINGS] = { 1, 0 },
};
_Static_assert(sizeof(mt_str_pair_t) == 16 && sizeof(mt_int_pair_t) == 16
               && sizeof(mt_component_t) == 40 && sizeof(mt_condition_t) == 32
               && sizeof(const char *) == 8, "records are arrays of 8-byte slots");

typedef struct {
    pthread_mutex_t mu;
    part_t **buckets;
    uint32_t nbuckets, count;
} shard_t;

static shard_t s_shards[SHARDS];
static uint64_t s_seed;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t s_parts, s_bytes, s_unshared;

/*  Seeded, so which records share a bucket cannot be chosen from outside
    without knowing the process's seed. */
static void init_once(void)
{
    if (getrandom(&s_seed, sizeof s_seed, 0) != (ssize_t) sizeof s_seed)
        s_seed = (uint64_t) time(NULL) ^ (uint64_t) (uintptr_t) &s_seed;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_init(&s_shards[i].mu, NULL);
        s_shards[i].nbuckets = BUCKETS_MIN;
        s_shards[i].buckets = mt_xcalloc(BUCKETS_MIN, sizeof *s_shards[i].buckets);
    }
}

static size_t rec_size(mt__part_kind_t k)
{
    return 8u * (s_kind[k].nstr + s_kind[k].nint);
}

static const char *str_at(const void *records, mt__part_kind_t k, uint32_t r, unsigned i)
{
    const char *s = ((const char *const *) records)[(size_t) r * (rec_size(k) / 8) + i];
    return s ? s : "";
}

static int64_t int_at(const void *records, mt__part_kind_t k, uint32_t r)
{
    int64_t v;
    memcpy(&v, (const char *) records + r * rec_size(k) + 8u * s_kind[k].nstr, sizeof v);
    return v;
}

static const void *records_of(const part_t *p)
{
    return p + 1;
}

static uint64_t hash_of(mt__part_kind_t k, const void *src, uint32_t n)
{
    uint64_t h = mt_fnv1a64(MT_FNV1A64_INIT ^ s_seed, &n, sizeof n);
    h = mt_fnv1a64(h, &k, sizeof k);
    for (uint32_t r = 0; r < n; r++) {
        for (unsigned i = 0; i < s_kind[k].nstr; i++) {
            const char *s = str_at(src, k, r, i);
            h = mt_fnv1a64(h, s, strlen(s) + 1);    /* NULs keep fields apart */
        }
        if (s_kind[k].nint) {
            int64_t v = int_at(src, k, r);
            h = mt_fnv1a64(h, &v, sizeof v);
        }
    }
    return h;
}

static bool equal(const part_t *p, mt__part_kind_t k, const void *src, uint32_t n)
{
    if (p->kind != k || p->n != n)
        return false;
    const void *mine = records_of(p);
    for (uint32_t r = 0; r < n; r++) {
        for (unsigned i = 0; i < s_kind[k].nstr; i++)
            if (strcmp(str_at(mine, k, r, i), str_at(src, k, r, i)) != 0)
                return false;
        if (s_kind[k].nint && int_at(mine, k, r) != int_at(src, k, r))
            return false;
    }
    return true;
}

/*  One allocation: the header, the records, every string. */
static part_t *make(mt__part_kind_t k, const void *src, uint32_t n, uint64_t hash, bool shared)
{
    size_t rs = rec_size(k), strings = 0;
    for (uint32_t r = 0; r < n; r++)
        for (unsigned i = 0; i < s_kind[k].nstr; i++)
            strings += strlen(str_at(src, k, r, i)) + 1;
    size_t bytes = sizeof(part_t) + n * rs + strings;
    part_t *p = mt_xmalloc(bytes);
    *p = (part_t) { .n = n, .hash = hash, .bytes = (uint32_t) bytes, .kind = (uint8_t) k,
                    .shared = shared };
    atomic_init(&p->refs, 1);
    char *rec = (char *) (p + 1), *str = rec + n * rs;
    if (n)                          /* src may be NULL then */
        memcpy(rec, src, n * rs);
    for (uint32_t r = 0; r < n; r++)
        for (unsigned i = 0; i < s_kind[k].nstr; i++) {
            const char *s = str_at(src, k, r, i);
            size_t len = strlen(s) + 1;
            memcpy(str, s, len);
            memcpy(rec + r * rs + 8u * i, &str, sizeof str);
            str += len;
        }
    atomic_fetch_add_explicit(&s_parts, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s_bytes, bytes, memory_order_relaxed);
    return p;
}

static void destroy(part_t *p)
{
    atomic_fetch_sub_explicit(&s_parts, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&s_bytes, p->bytes, memory_order_relaxed);
    free(p);
}

static part_t **bucket_of(shard_t *s, uint64_t hash)
{
    return &s->buckets[(hash / SHARDS) & (s->nbuckets - 1)];
}

/*  Doubles the buckets when there are more parts than buckets: chains stay
    short, so a lookup compares one or two parts. */
static void grow(shard_t *s)
{
    uint32_t old_n = s->nbuckets;
    part_t **old = s->buckets;
    s->nbuckets = old_n * 2;
    s->buckets = mt_xcalloc(s->nbuckets, sizeof *s->buckets);
    for (uint32_t b = 0; b < old_n; b++)
        for (part_t *p = old[b], *next; p; p = next) {
            next = p->next;
            part_t **head = bucket_of(s, p->hash);
            p->next = *head;
            *head = p;
        }
    free(old);
}

const void *mt__part_get(mt__part_kind_t k, const void *src, uint32_t n, size_t *bytes)
{
    pthread_once(&s_once, init_once);
    uint64_t hash = hash_of(k, src, n);
    shard_t *s = &s_shards[hash % SHARDS];
    pthread_mutex_lock(&s->mu);
    part_t **head = bucket_of(s, hash), *p = *head;
    unsigned chain = 0;
    for (; p; p = p->next, chain++)
        if (p->hash == hash && equal(p, k, src, n)) {
            atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
            break;
        }
    if (!p && chain < PART_CHAIN_MAX) {
        p = make(k, src, n, hash, true);
        p->next = *head;
        *head = p;
        if (++s->count > s->nbuckets)
            grow(s);
    }
    pthread_mutex_unlock(&s->mu);
    if (!p) {
        p = make(k, src, n, hash, false);
        atomic_fetch_add_explicit(&s_unshared, 1, memory_order_relaxed);
    }
    *bytes += p->bytes;
    return records_of(p);
}

void mt__part_put(const void *records)
{
    if (!records)
        return;
    part_t *p = (part_t *) records - 1;
    uint32_t r = atomic_load_explicit(&p->refs, memory_order_relaxed);
    while (r > 1)
        if (atomic_compare_exchange_weak_explicit(&p->refs, &r, r - 1, memory_order_acq_rel,
                                                  memory_order_relaxed))
            return;
    if (!p->shared) {
        if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
            destroy(p);
        return;
    }
    shard_t *s = &s_shards[p->hash % SHARDS];
    pthread_mutex_lock(&s->mu);
    bool last = atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1;
    if (last) {
        part_t **pp = bucket_of(s, p->hash);
        while (*pp != p)
            pp = &(*pp)->next;
        *pp = p->next;
        s->count--;
    }
    pthread_mutex_unlock(&s->mu);
    if (last)
        destroy(p);
}

void mt__part_stats(mt__part_stats_t *out)
{
    out->parts = atomic_load_explicit(&s_parts, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&s_bytes, memory_order_relaxed);
    out->unshared = atomic_load_explicit(&s_unshared, memory_order_relaxed);
}
