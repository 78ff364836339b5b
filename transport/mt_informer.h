/*  mt_informer.h — an exact client-side cache of a cluster's nodes (as a
    Kubernetes informer): list once (remembering the list's `revision`),
    subscribe to the publish endpoint of every member of cluster.info,
    catch up with node.changes from that revision, and from then on merge
    notices by revision; on a gap in any publisher's `seq` (a first notice
    from a publisher, a sequence that skipped or went back: it restarted)
    catch up again from the last `mark`, and list again on `expired`.
    A callback is told every change the cache takes.

    Merging is by revision, per group, as the replicas merge
    (PROTOCOL.md: a node is a registration group and a status group, each
    with its own revision): a view whose groups are both newer replaces
    the cached one, one whose groups are both older is dropped, and a view
    newer in one group only is merged key by key. A delete is taken when
    its revision is above both of the cached node's; the cache keeps the
    deleted id's revision so that an older upsert arriving late cannot
    bring the node back. A delete of an id the cache never held is told as
    well (the informer started from a revision, or the node came and went
    between two looks): take deletes as idempotent. Derived keys (`healthy`, `schedulable`) and the
    live `metrics` ride with the status group: they are what the source of
    the newest status said (a replica publishes no health flips, and
    node.changes views carry no metrics), so a reader that needs health now
    asks node.list with `healthy_only`.

    Catch-ups also run every `resync_ms` (a safety net: a replica killed
    between its commit and its notice leaves no gap to see, and notices sent
    before a SUB connection completes are lost silently), and re-read
    cluster.info to subscribe to members that joined. Requests go to one
    member at a time; when it does not answer, the next one is asked.

    Single-threaded: everything happens in the caller's thread, inside
    mt_informer_start, _poll, _resync and _relist (the callback too). One
    informer per thread. */
#ifndef MT_INFORMER_H_INCLUDED
#define MT_INFORMER_H_INCLUDED

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mt_informer mt_informer_t;

typedef enum { MT_INFORMER_UPSERT = 1, MT_INFORMER_DELETE } mt_informer_kind_t;

/*  Where a change came from. */
typedef enum {
    MT_INFORMER_FROM_LIST = 1,      /* node.list (start, or a relist) */
    MT_INFORMER_FROM_CHANGES,       /* node.changes (a catch-up) */
    MT_INFORMER_FROM_NOTICE         /* a change notice */
} mt_informer_source_t;

typedef struct {
    mt_informer_kind_t kind;
    mt_informer_source_t source;
    const char *id;
    /*  upsert: the highest of the cached view's two revisions; delete: the
        tombstone's revision (a relist that no longer finds the node: the
        list's revision). */
    int64_t revision;
    const msgpack_object *view;     /* upsert: the cached view after the change;
                                       delete: NULL. Valid during the call only. */
} mt_informer_change_t;

typedef void (mt_informer_fn) (const mt_informer_change_t *change, void *arg);

typedef struct {
    const char *endpoint;           /* a member's request endpoint: the first asked */
    /*  CURVE as mt_client_opts_t (NULL: plain). Subscriptions use each
        member's `public_key` from cluster.info, else server_key. */
    const char *server_key, *public_key, *secret_key;
    int timeout_ms;                 /* one request; 0: 5000 */
    int resync_ms;                  /* catch up at least this often; 0: 30000, < 0: never */
    int sub_hwm;                    /* the SUB socket's receive high-water mark (notices
                                       beyond it are dropped by libzmq); 0: unlimited */
    uint32_t page;                  /* node.list page size; 0: 5000 */
    uint32_t changes_limit;         /* node.changes limit; 0: 10000 */
    mt_informer_fn *on_change;      /* or NULL */
    void *arg;
} mt_informer_opts_t;

typedef struct {
    uint64_t notices;               /* node notices received */
    uint64_t gaps;                  /* sequence gaps (skips, restarts, new publishers) */
    uint64_t catchups;              /* node.changes rounds finished */
    uint64_t relists;               /* node.list rounds finished (the first included) */
    uint64_t expired;               /* node.changes answered `expired` */
    uint64_t applied;               /* changes the cache took */
    uint64_t stale;                 /* changes dropped: not newer than the cache */
    uint64_t failovers;             /* requests moved to another member */
    uint64_t bad_notices;           /* notices that were not valid notice maps */
} mt_informer_stats_t;

/*  NULL when the options are invalid (no endpoint, a bad key). */
mt_informer_t *mt_informer_new(const mt_informer_opts_t *opts);
void mt_informer_destroy(mt_informer_t **inf_p);

/*  Subscribes to every member, then fills the cache: since < 0 lists
    (every node is told as an upsert from the list), since >= 0 starts
    from an empty cache at that revision and catches up (what changed
    since it is told). MT_OK, MT_ETIMEDOUT / MT_EUNAVAIL when no member
    answered, MT_EEXPIRED when `since` is older than the tombstone
    retention (only with since >= 0: a list has no such limit), MT_EBADREQ
    for answers that are not what PROTOCOL.md says. */
int mt_informer_start(mt_informer_t *inf, int64_t since);

/*  Takes the notices that arrive within timeout_ms (0: those waiting),
    then catches up when a gap or resync_ms asks for it. Returns MT_OK, or
    the error of a catch-up that failed (the cache stays as it was and the
    catch-up is tried again at the next poll). */
int mt_informer_poll(mt_informer_t *inf, int timeout_ms);
/*  Catches up now (node.changes from the mark; a relist on `expired`). */
int mt_informer_resync(mt_informer_t *inf);
/*  Lists again now, then catches up. */
int mt_informer_relist(mt_informer_t *inf);
/*  Closes the subscriptions: notices published from now on are lost until
    mt_informer_resubscribe (polls still catch up every resync_ms). */
void mt_informer_unsubscribe(mt_informer_t *inf);
/*  Subscribes to every known member again, on a new socket, and catches
    up at the next poll. The publishers' last sequence numbers are kept,
    so their next notices show what was lost as a gap. */
int mt_informer_resubscribe(mt_informer_t *inf);

/*  The revision up to which the cache holds every change. */
int64_t mt_informer_mark(const mt_informer_t *inf);
/*  Live (not deleted) nodes in the cache. */
size_t mt_informer_size(const mt_informer_t *inf);
void mt_informer_stats(const mt_informer_t *inf, mt_informer_stats_t *stats);

/*  Node id's cached revisions (false if not cached or deleted); the view's
    msgpack bytes when view/size are given (valid until the next call). */
bool mt_informer_get(const mt_informer_t *inf, const char *id, int64_t *reg_revision,
                     int64_t *status_revision, const char **view, size_t *size);

/*  Every live node, in no particular order. */
typedef void (mt_informer_each_fn) (const char *id, int64_t reg_revision,
                                    int64_t status_revision, void *arg);
void mt_informer_each(const mt_informer_t *inf, mt_informer_each_fn *fn, void *arg);

#endif
