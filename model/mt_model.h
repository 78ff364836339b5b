/*  mt_model.h — the entities' data as the wire and the store see it.

    A node is two groups, each merged and persisted separately by revision
    (PROTOCOL.md, "node view"): the registration group and the status group.
    Each group is one immutable, reference-counted block: strings, maps and
    arrays packed into a single allocation. A node actor swaps whole blocks;
    a reply, the directory's snapshot and a notice share them by reference,
    so reading a node never copies it and never races with its writer.

    Build a block from a template whose pointers reference the caller's
    memory (mt_node_reg_build / mt_node_status_build): maps are sorted by key
    and de-duplicated (the last occurrence wins). A block is immutable once
    shared; its owner may still set the revision fields before sharing. */
#ifndef MT_MODEL_H_INCLUDED
#define MT_MODEL_H_INCLUDED

#include "mt_core.h"
#include "mt_err.h"    /* the service's error codes */
#include "mt_utf8.h"   /* every string the model accepts is checked with it */

#include <stdatomic.h>

#ifdef __cplusplus
extern "C" {
#endif


/*  Limits on what one node may carry (beyond them: bad_request). */
#define MT_NODE_ID_MAX 253
#define MT_KEY_MAX 255             /* a map key (label, resource, component) */
#define MT_STR_MAX 1024            /* any other string */
#define MT_MAP_MAX 256             /* entries in a map */
#define MT_LIST_MAX 4096           /* items in an array */
/*  Timestamps (ms) are 0..MT_TIME_MAX: far beyond any real date, yet a sum
    or difference of two of them, or of one and a timeout, cannot overflow. */
#define MT_TIME_MAX (INT64_MAX / 2)

/*  Labels the service reads (PROTOCOL.md): "true" cordons a node; the
    other is set on a registration read from the database whose stored
    labels (or other maps) could not be decoded — its value names the first
    such column — so the node fails closed on every replica (the label
    travels in views and notices like any other) and never reaches the
    database (writes refuse such a registration). */
#define MT_LABEL_CORDON "metactor.io/scheduling-disabled"
#define MT_LABEL_UNREADABLE "metactor.io/unreadable"

typedef struct { const char *key; const char *value; } mt_str_pair_t;
typedef struct { const char *key; int64_t value; } mt_int_pair_t;
typedef struct { const char *type, *status, *reason, *message; } mt_condition_t;
/*  One component's version in detail (the seed's ComponentVersion). source
    is "manifest", "binary", "file" or "" (not said). */
typedef struct {
    const char *component, *version, *commit, *build_time, *source;
} mt_component_t;

/*  Registration group. */
typedef struct {
    _Atomic uint32_t refs;          /* (internal) */
    uint32_t size;                  /* (internal) bytes of the block */
    const char *host_ip;            /* "" when not given */
    int32_t grpc_port;              /* 0 when not given, else 1..65535 */
    const char *instance_type;
    uint32_t nlabels, ncapacity, nquota, nversions;
    const mt_str_pair_t *labels;    /* sorted by key */
    const mt_int_pair_t *capacity;
    const mt_int_pair_t *quota;
    const mt_str_pair_t *versions;
    char versions_hash[17];         /* 16 hex digits; stable for equal maps */
    /*  The detail behind versions, sorted by component (the last given
        wins). When a template has any, the block's versions are derived
        from them (component → version) and the template's versions are
        ignored. components_hash digests every field of every component:
        the store rewrites the component rows only when it changed. */
    uint32_t ncomponents;
    const mt_component_t *components;
    char components_hash[17];
    int64_t registered_at;          /* ms since the epoch */
    int64_t reg_revision;
} mt_node_reg_t;

/*  Status group. */
typedef struct {
    _Atomic uint32_t refs;
    uint32_t size;
    int64_t heartbeat_at;           /* ms; 0 before the first heartbeat: as the node
                                       gave it, never used for health */
    int64_t seen_at;                /* ms by the database's clock when the last
                                       heartbeat committed; 0 before the first */
    bool ready;
    uint32_t nconditions, nimages, ntemplates;
    const mt_condition_t *conditions;
    const char *const *images;
    const char *const *local_templates;
    int64_t status_revision;
} mt_node_status_t;

/*  Live group (PROTOCOL.md, "metrics"): what a node reported of its usage
    with a heartbeat. Never stored in the database: it travels from the
    replica that took the heartbeat to the others in notices. Ordered by
    the status revision of the heartbeat that carried it, then metrics_at. */
typedef struct {
    _Atomic uint32_t refs;
    uint32_t size;
    int64_t metrics_at;             /* ms, the receiving replica's clock */
    int64_t status_revision;        /* of the heartbeat that carried it */
    uint32_t nmetrics;
    const mt_int_pair_t *metrics;   /* sorted by key; values >= 0 */
} mt_node_live_t;

mt_node_live_t *mt_node_live_build(const mt_node_live_t *tmpl);
mt_node_live_t *mt_node_live_ref(mt_node_live_t *live);
void mt_node_live_unref(mt_node_live_t **live_p);
/*  Whether a is newer than b (NULL is older than anything). */
bool mt_node_live_newer(const mt_node_live_t *a, const mt_node_live_t *b);
int mt_node_live_check(const mt_node_live_t *live, char *err, size_t errlen);

/*  True when a replica holds node id in memory at these revisions or
    newer (0: that group is not asked about): a merge of them would change
    nothing. What reads nodes from outside — a peer's notice (transport's
    codec), a reload's scan (the store's reader) — asks it, from its own
    thread, before decoding a group, so nothing held is built again. */
typedef bool mt_node_held_fn(void *arg, const char *id, int64_t reg_revision,
                             int64_t status_revision);

/*  Copies tmpl (and everything it points to) into one new block with one
    reference. NULL strings become "". Does not validate: see
    mt_node_reg_check. versions_hash is computed, not copied. */
mt_node_reg_t *mt_node_reg_build(const mt_node_reg_t *tmpl);
mt_node_reg_t *mt_node_reg_ref(mt_node_reg_t *reg);
void mt_node_reg_unref(mt_node_reg_t **reg_p);
mt_node_status_t *mt_node_status_build(const mt_node_status_t *tmpl);
mt_node_status_t *mt_node_status_ref(mt_node_status_t *st);
void mt_node_status_unref(mt_node_status_t **st_p);

/*  Validation, with a message for the client ("grpc_port: must be 1-65535").
    Return MT_OK or MT_EBADREQ. */
int mt_node_id_check(const char *id, char *err, size_t errlen);

int mt_node_reg_check(const mt_node_reg_t *reg, char *err, size_t errlen);
int mt_node_status_check(const mt_node_status_t *st, char *err, size_t errlen);

/*  Lookups in sorted maps; NULL / false when absent. */
const char *mt_str_map_get(const mt_str_pair_t *map, uint32_t n, const char *key);

/*  Digest of a versions map: FNV-1a 64 over sorted "key\0value\0" pairs. */
void mt_versions_hash(const mt_str_pair_t *versions, uint32_t n, char out[17]);
/*  The same over every field of sorted components (components.c). */
void mt_components_hash(const mt_component_t *c, uint32_t n, char out[17]);
/*  Components: at most MT_MAP_MAX, component 1-MT_KEY_MAX bytes, the other
    strings at most MT_STR_MAX, source one of the four values. */
int mt_components_check(const mt_component_t *c, uint32_t n, char *err, size_t errlen);
/*  Whether s (an image or template list) holds name. */
bool mt_str_list_has(const char *const *s, uint32_t n, const char *name);

/*  A node as a reply, the directory or a notice sees it. Holds references. */
typedef struct {
    char id[MT_NODE_ID_MAX + 1];
    mt_node_reg_t *reg;             /* NULL: not registered (never replied) */
    mt_node_status_t *status;       /* NULL: no heartbeat yet */
    mt_node_live_t *live;           /* NULL: no metrics known */
    bool healthy;
    bool schedulable;               /* mt_node_schedulable(reg, healthy) */
} mt_node_view_t;

void mt_node_view_copy(mt_node_view_t *dst, const mt_node_view_t *src);
void mt_node_view_clear(mt_node_view_t *view);

/*  Health as PROTOCOL.md: ready and db_now - seen_at <= timeout, where
    db_now is the caller's estimate of the database's clock (mt_db_clock).
    A seen_at more than a timeout ahead of db_now is implausible (a clock
    estimate is off by far less) and counts as unhealthy: fail closed. */
bool mt_node_healthy(const mt_node_status_t *st, int64_t db_now_ms, int64_t timeout_ms);
/*  healthy, not cordoned (MT_LABEL_CORDON = "true") and its stored labels
    were readable (no MT_LABEL_UNREADABLE). */
bool mt_node_schedulable(const mt_node_reg_t *reg, bool healthy);

/*  Wall clock, ms since the Unix epoch (timestamps on the wire). */
int64_t mt_wall_ms(void);

#ifdef __cplusplus
}
#endif

#endif
