/*  informer_internal.h — what the informer's files share: its state
    (informer.c: requests, list, catch-up; informer_notice.c: notices,
    poll, accessors) and its cache (informer_cache.c). */
#ifndef MT_INFORMER_INTERNAL_H_INCLUDED
#define MT_INFORMER_INTERNAL_H_INCLUDED

#include "mt_client.h"
#include "mt_informer.h"

#include <czmq.h>

typedef struct mt__informer_cache mt__informer_cache_t;

#define MT__INFORMER_MAX_MEMBERS 64

typedef struct {
    char *endpoint;
    char *key;                      /* its server key, or NULL: plain */
} mt__informer_ep_t;

struct mt_informer {
    mt_informer_opts_t o;
    char *server_key, *public_key, *secret_key;
    bool curve;
    mt__informer_ep_t eps[MT__INFORMER_MAX_MEMBERS];      /* request endpoints; [0] is opts.endpoint */
    size_t neps, cur;
    mt_client_t *client;            /* to eps[cur], or NULL */
    mt__informer_ep_t pubs[MT__INFORMER_MAX_MEMBERS];     /* publish endpoints subscribed to */
    size_t npubs;
    zsock_t *sub;
    zhashx_t *seqs;                 /* publisher replica id → last seq (as a pointer) */
    mt__informer_cache_t *cache;
    int64_t mark;
    bool started, due;
    bool strict;                    /* starting from a revision: `expired` is an error */
    int64_t last_sync;              /* zclock_mono() of the last catch-up */
    mt_informer_stats_t st;
};

/*  node.changes from the mark (informer.c); clears `due`. */
int mt__informer_catch_up(mt_informer_t *inf);

mt__informer_cache_t *mt__informer_cache_new(mt_informer_fn *fn, void *arg);
void mt__informer_cache_destroy(mt__informer_cache_t **c_p);

/*  Merges one upsert (view: a node view map) or delete; true when the
    cache took it (the callback was told), false when it was not newer. */
bool mt__informer_cache_upsert(mt__informer_cache_t *c, const msgpack_object *view,
                               mt_informer_source_t source);
bool mt__informer_cache_delete(mt__informer_cache_t *c, const char *id, int64_t revision,
                               mt_informer_source_t source);

/*  A relist: begin, every listed view through _upsert, end. At the end
    every live node the list did not hold and whose revisions are at or
    below `revision` (the list's: its replica held every change up to it,
    so the node is gone) is deleted at that revision; a node above it is
    kept (the catch-up that follows settles it). */
void mt__informer_cache_list_begin(mt__informer_cache_t *c);
void mt__informer_cache_list_end(mt__informer_cache_t *c, int64_t revision);

size_t mt__informer_cache_size(const mt__informer_cache_t *c);
bool mt__informer_cache_get(const mt__informer_cache_t *c, const char *id, int64_t *reg,
                            int64_t *status, const char **view, size_t *size);
void mt__informer_cache_each(const mt__informer_cache_t *c, mt_informer_each_fn *fn,
                             void *arg);
/*  What the merges did: applied and stale counts. */
void mt__informer_cache_counts(const mt__informer_cache_t *c, uint64_t *applied,
                               uint64_t *stale);

#endif
