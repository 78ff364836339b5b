/*  part.c — arrays of node blocks shared by content (see part.h).

    One table for the process (lib's mt_htab: locked shards; blocks are
    built on every thread), and a heartbeat looks up three parts.

    The reference count reaches zero only under the shard's lock, in the
    same critical section that unlinks the part, so a lookup (also under
    the lock) never finds a part on its way out and can simply add a
    reference. Letting go of one reference of several needs no lock. */
#include "part.h"

#include "mt_alloc.h"
#include "mt_hash.h"
#include "mt_htab.h"
#include "mt_model.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PART_CHAIN_MAX 8

typedef struct part {
    mt_htab_link_t link;        /* hash, and the bucket's chain */
    _Atomic uint32_t refs;
    uint32_t n;                 /* records */
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

static mt_htab_t *s_table;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t s_parts, s_bytes, s_unshared;

static void init_once(void)
{
    s_table = mt_htab_new();
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
    uint64_t h = mt_fnv1a64(MT_FNV1A64_INIT ^ mt_htab_seed(s_table), &n, sizeof n);
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
    *p = (part_t) { .link.hash = hash, .n = n, .bytes = (uint32_t) bytes,
                    .kind = (uint8_t) k, .shared = shared };
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

const void *mt__part_get(mt__part_kind_t k, const void *src, uint32_t n, size_t *bytes)
{
    pthread_once(&s_once, init_once);
    uint64_t hash = hash_of(k, src, n);
    mt_htab_shard_t *s = mt_htab_lock(s_table, hash);
    part_t *p = NULL;
    unsigned chain = 0;
    for (mt_htab_link_t *e = mt_htab_first(s, hash); e && !p; e = e->next, chain++)
        if (e->hash == hash && equal((part_t *) e, k, src, n)) {
            p = (part_t *) e;
            atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
        }
    if (!p && chain < PART_CHAIN_MAX) {
        p = make(k, src, n, hash, true);
        mt_htab_add(s, &p->link);
    }
    mt_htab_unlock(s);
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
    mt_htab_shard_t *s = mt_htab_lock(s_table, p->link.hash);
    bool last = atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1;
    if (last)
        mt_htab_remove(s, &p->link);
    mt_htab_unlock(s);
    if (last)
        destroy(p);
}

void mt__part_stats(mt__part_stats_t *out)
{
    out->parts = atomic_load_explicit(&s_parts, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&s_bytes, memory_order_relaxed);
    out->unshared = atomic_load_explicit(&s_unshared, memory_order_relaxed);
}
