/*  informer_cache.c — the informer's cache: node id → the newest view seen,
    merged by revision per group (mt_informer.h says the rules). Views are
    kept as msgpack bytes, one allocation each; a deleted node keeps its
    tombstone's revision so that an older upsert cannot bring it back. */
#include "informer_internal.h"
#include "mt_codec.h"
#include "mt_alloc.h"

#include <czmq.h>
#include <string.h>

typedef struct {
    char *view;                     /* packed view; NULL once deleted */
    size_t size;
    int64_t reg, status, metrics_at;
    int64_t deleted;                /* the tombstone's revision; 0: live */
    uint64_t listed;                /* the last list generation that held it */
} entry_t;

struct mt__informer_cache {
    zhashx_t *map;                  /* id → entry_t */
    size_t live;
    uint64_t gen;                   /* list generation; odd while a list runs */
    uint64_t applied, stale;
    mt_informer_fn *fn;
    void *arg;
    msgpack_sbuffer sb;             /* scratch for merged views */
};

/*  The status group's keys and what rides with it (derived, live); every
    other key of a view is the registration group's. */
static const char *const status_keys[] = {
    "heartbeat_at", "seen_at", "ready", "conditions", "images", "local_templates",
    "status_revision", "metrics", "metrics_at", "healthy", "schedulable",
};

static void entry_free(void **p)
{
    entry_t *e = *p;
    if (e) {
        free(e->view);
        free(e);
        *p = NULL;
    }
}

mt__informer_cache_t *mt__informer_cache_new(mt_informer_fn *fn, void *arg)
{
    mt__informer_cache_t *c = mt_xcalloc(1, sizeof *c);
    c->map = zhashx_new();
    zhashx_set_destructor(c->map, entry_free);
    c->fn = fn;
    c->arg = arg;
    msgpack_sbuffer_init(&c->sb);
    return c;
}

void mt__informer_cache_destroy(mt__informer_cache_t **c_p)
{
    mt__informer_cache_t *c = *c_p;
    if (!c)
        return;
    *c_p = NULL;
    zhashx_destroy(&c->map);
    msgpack_sbuffer_destroy(&c->sb);
    free(c);
}

static const msgpack_object *lookup(const msgpack_object *map, const msgpack_object *key)
{
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == key->via.str.size
            && memcmp(k->via.str.ptr, key->via.str.ptr, k->via.str.size) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static bool is_status_key(const msgpack_object *k)
{
    for (size_t i = 0; i < sizeof status_keys / sizeof status_keys[0]; i++)
        if (mt_codec_str_is(k, status_keys[i]))
            return true;
    return false;
}

static int64_t int_at(const msgpack_object *map, const char *key)
{
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (mt_codec_str_is(&map->via.map.ptr[i].key, key)) {
            const msgpack_object *v = &map->via.map.ptr[i].val;
            if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX)
                return (int64_t) v->via.u64;
            return 0;
        }
    return 0;
}

/*  The view's id into buf; false unless a string of 1-253 bytes. */
static bool view_id(const msgpack_object *view, char *buf, size_t cap)
{
    for (uint32_t i = 0; i < view->via.map.size; i++)
        if (mt_codec_str_is(&view->via.map.ptr[i].key, "id")) {
            const msgpack_object *v = &view->via.map.ptr[i].val;
            if (v->type != MSGPACK_OBJECT_STR || v->via.str.size == 0
                || v->via.str.size >= cap || memchr(v->via.str.ptr, 0, v->via.str.size))
                return false;
            memcpy(buf, v->via.str.ptr, v->via.str.size);
            buf[v->via.str.size] = '\0';
            return true;
        }
    return false;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static void tell(mt__informer_cache_t *c, const char *id, const entry_t *e,
                 mt_informer_source_t source)
{
    c->applied++;
    if (!c->fn)
        return;
    mt_informer_change_t ch = { .source = source, .id = id };
    if (!e->view) {
        ch.kind = MT_INFORMER_DELETE;
        ch.revision = e->deleted;
        c->fn(&ch, c->arg);
        return;
    }
    ch.kind = MT_INFORMER_UPSERT;
    ch.revision = max64(e->reg, e->status);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, e->view, e->size, &off) == MSGPACK_UNPACK_SUCCESS) {
        ch.view = &u.data;
        c->fn(&ch, c->arg);
    }
    msgpack_unpacked_destroy(&u);
}

static void store_bytes(entry_t *e, const char *data, size_t size)
{
    char *copy = mt_xmalloc(size);
    memcpy(copy, data, size);
    free(e->view);
    e->view = copy;
    e->size = size;
}

static void store_view(mt__informer_cache_t *c, entry_t *e, const msgpack_object *view)
{
    msgpack_sbuffer_clear(&c->sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &c->sb, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *view);
    store_bytes(e, c->sb.data, c->sb.size);
}

/*  One group newer in the view, the other in the cache: each key from
    the side whose group is newer (the view's keys, in its order). */
static void store_merged(mt__informer_cache_t *c, entry_t *e, const msgpack_object *nv,
                         bool reg_from_new, bool status_from_new)
{
    msgpack_unpacked old;
    msgpack_unpacked_init(&old);
    size_t off = 0;
    bool have_old = msgpack_unpack_next(&old, e->view, e->size, &off) == MSGPACK_UNPACK_SUCCESS
                    && old.data.type == MSGPACK_OBJECT_MAP;
    msgpack_sbuffer_clear(&c->sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &c->sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, nv->via.map.size);
    for (uint32_t i = 0; i < nv->via.map.size; i++) {
        const msgpack_object_kv *kv = &nv->via.map.ptr[i];
        const msgpack_object *val = &kv->val;
        bool from_new = is_status_key(&kv->key) ? status_from_new : reg_from_new;
        if (!from_new && have_old && kv->key.type == MSGPACK_OBJECT_STR) {
            const msgpack_object *o = lookup(&old.data, &kv->key);
            if (o)
                val = o;
        }
        msgpack_pack_object(&pk, kv->key);
        msgpack_pack_object(&pk, *val);
    }
    msgpack_unpacked_destroy(&old);
    store_bytes(e, c->sb.data, c->sb.size);
}

bool mt__informer_cache_upsert(mt__informer_cache_t *c, const msgpack_object *view,
                               mt_informer_source_t source)
{
    char id[256];
    if (view->type != MSGPACK_OBJECT_MAP || !view_id(view, id, sizeof id))
        return false;
    int64_t r = int_at(view, "reg_revision"), s = int_at(view, "status_revision");
    int64_t ma = int_at(view, "metrics_at");
    entry_t *e = zhashx_lookup(c->map, id);
    if (!e) {
        e = mt_xcalloc(1, sizeof *e);
        zhashx_insert(c->map, id, e);
        e->deleted = -1;            /* below anything: taken as new below */
    }
    if (c->gen & 1)
        e->listed = c->gen;
    if (!e->view) {
        if (max64(r, s) <= e->deleted) {
            c->stale++;
            return false;
        }
        store_view(c, e, view);
        e->deleted = 0;
        c->live++;
    }
    else {
        bool reg_new = r > e->reg, reg_eq = r == e->reg;
        bool st_new = s > e->status || (s == e->status && ma > e->metrics_at);
        bool st_eq = s == e->status && ma == e->metrics_at;
        if (!reg_new && !st_new) {
            c->stale++;
            return false;
        }
        if ((reg_new || reg_eq) && (st_new || st_eq))
            store_view(c, e, view);
        else
            store_merged(c, e, view, reg_new, st_new);
        r = max64(r, e->reg);
        if (!st_new) {
            s = e->status;
            ma = e->metrics_at;
        }
    }
    e->reg = r;
    e->status = s;
    e->metrics_at = ma;
    tell(c, id, e, source);
    return true;
}

static void drop(mt__informer_cache_t *c, const char *id, entry_t *e, int64_t revision,
                 mt_informer_source_t source)
{
    free(e->view);
    e->view = NULL;
    e->size = 0;
    e->deleted = revision;
    c->live--;
    tell(c, id, e, source);
}

bool mt__informer_cache_delete(mt__informer_cache_t *c, const char *id, int64_t revision,
                               mt_informer_source_t source)
{
    entry_t *e = zhashx_lookup(c->map, id);
    if (!e) {
        /*  Never cached (an informer started from a revision, or a node
            that came and went between two looks): remembered, and told,
            since it is a change. */
        e = mt_xcalloc(1, sizeof *e);
        e->deleted = revision;
        zhashx_insert(c->map, id, e);
        tell(c, id, e, source);
        return true;
    }
    if (!e->view) {
        e->deleted = max64(e->deleted, revision);
        c->stale++;
        return false;
    }
    if (revision <= max64(e->reg, e->status)) {
        c->stale++;
        return false;
    }
    drop(c, id, e, revision, source);
    return true;
}

void mt__informer_cache_list_begin(mt__informer_cache_t *c)
{
    c->gen += (c->gen & 1) ? 2 : 1;
}

void mt__informer_cache_list_end(mt__informer_cache_t *c, int64_t revision)
{
    for (entry_t *e = zhashx_first(c->map); e; e = zhashx_next(c->map)) {
        if (e->view && e->listed != c->gen && max64(e->reg, e->status) <= revision)
            drop(c, zhashx_cursor(c->map), e, revision, MT_INFORMER_FROM_LIST);
    }
    c->gen++;
}

size_t mt__informer_cache_size(const mt__informer_cache_t *c)
{
    return c->live;
}

bool mt__informer_cache_get(const mt__informer_cache_t *c, const char *id, int64_t *reg,
                            int64_t *status, const char **view, size_t *size)
{
    const entry_t *e = zhashx_lookup(c->map, id);
    if (!e || !e->view)
        return false;
    if (reg)
        *reg = e->reg;
    if (status)
        *status = e->status;
    if (view)
        *view = e->view;
    if (size)
        *size = e->size;
    return true;
}

void mt__informer_cache_each(const mt__informer_cache_t *c, mt_informer_each_fn *fn, void *arg)
{
    /*  zhashx's cursor is the table's own: a callback must not use the
        cache (mt_informer.h says so). */
    zhashx_t *map = c->map;
    for (entry_t *e = zhashx_first(map); e; e = zhashx_next(map))
        if (e->view)
            fn(zhashx_cursor(map), e->reg, e->status, arg);
}

void mt__informer_cache_counts(const mt__informer_cache_t *c, uint64_t *applied,
                               uint64_t *stale)
{
    *applied = c->applied;
    *stale = c->stale;
}
