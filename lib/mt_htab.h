/*  mt_htab.h — a hash table of intrusive entries in locked shards, for
    tables many threads read and write (the node blocks' shared parts, the
    node views node.get reads). Not a map: the caller hashes (starting
    from mt_htab_seed, random per table, so keys that come from outside
    cannot pick a bucket), walks a bucket and compares; the table keeps
    the chains short (it doubles a shard's buckets when it holds more
    entries than buckets) and the shard locks.

        mt_htab_shard_t *s = mt_htab_lock(t, hash);
        for (mt_htab_link_t *e = mt_htab_first(s, hash); e; e = e->next)
            if (e->hash == hash && equal(e, key)) ...
        mt_htab_add(s, &fresh->link);
        mt_htab_unlock(s);

    Every call but mt_htab_new, mt_htab_destroy and mt_htab_seed wants the
    shard locked. */
#ifndef MT_HTAB_H_INCLUDED
#define MT_HTAB_H_INCLUDED

#include <stdint.h>

/*  The first member of an entry. */
typedef struct mt_htab_link {
    struct mt_htab_link *next;
    uint64_t hash;
} mt_htab_link_t;

typedef struct mt_htab mt_htab_t;
typedef struct mt_htab_shard mt_htab_shard_t;

mt_htab_t *mt_htab_new(void);
/*  free_fn (or nothing when NULL) for every entry still in it. */
void mt_htab_destroy(mt_htab_t **t_p, void (*free_fn)(mt_htab_link_t *e));
/*  The table's random seed: start the entries' hashes from it. */
uint64_t mt_htab_seed(const mt_htab_t *t);

/*  Locks the shard of hash and returns it. */
mt_htab_shard_t *mt_htab_lock(mt_htab_t *t, uint64_t hash);
void mt_htab_unlock(mt_htab_shard_t *s);
/*  The first entry of hash's bucket (its chain through next), or NULL. */
mt_htab_link_t *mt_htab_first(mt_htab_shard_t *s, uint64_t hash);
/*  Adds e (e->hash set) to its bucket. */
void mt_htab_add(mt_htab_shard_t *s, mt_htab_link_t *e);
/*  Removes e, which is in the table. */
void mt_htab_remove(mt_htab_shard_t *s, mt_htab_link_t *e);

#endif
