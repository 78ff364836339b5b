/*  model.c — node groups as immutable blocks; lookups, digests, views.

    A block is its struct with the strings of its own (host_ip,
    instance_type) behind it; every map and list is a part (part.c), shared
    with every other block whose map or list is equal. Building a block
    looks its parts up; freeing it lets go of them. */
#include "mt_model.h"
#include "mt_hash.h"
#include "mt_alloc.h"

#include "block.h"
#include "components.h"
#include "mt_labels.h"
#include "part.h"
#include "sort.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>



int64_t mt_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- packing ----------------------------------------------------------- */

typedef struct {
    char *base;         /* the block */
    size_t strings;     /* next free byte of the string area */
} packer_t;

static size_t str_size(const char *s)
{
    return (s ? strlen(s) : 0) + 1;
}

static const char *pack_str(packer_t *p, const char *s)
{
    size_t n = str_size(s);
    char *dst = p->base + p->strings;
    if (s)
        memcpy(dst, s, n);
    else
        *dst = '\0';
    p->strings += n;
    return dst;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/*  Sort keys: a NULL key (never from a decoder) sorts as "", as it is kept. */
static const char *str_pair_key(const void *p)
{
    return or_empty(((const mt_str_pair_t *) p)->key);
}

static int cmp_str_pair(const void *a, const void *b)
{
    return strcmp(str_pair_key(a), str_pair_key(b));
}

static const char *int_pair_key(const void *p)
{
    return or_empty(((const mt_int_pair_t *) p)->key);
}

#define ALIGN8(x) (((x) + 7u) & ~(size_t) 7u)

/*  A map of the template, sorted by key with the last of equal keys kept,
    as the part every equal map shares. */
static const void *map_part(mt__part_kind_t k, const void *items, uint32_t n, size_t size,
                            mt__sort_key_fn *key_of, uint32_t *nout, size_t *bytes)
{
    void *tmp = mt_xmalloc(n * size);
    if (n)
        memcpy(tmp, items, n * size);
    *nout = n ? mt__sort_unique(tmp, n, size, key_of) : 0;
    const void *part = mt__part_get(k, tmp, *nout, bytes);
    free(tmp);
    return part;
}

/*  One representation for every registration: a template with versions
    but no components (a client of protocol v1, a row stored before schema
    v6) gets components with empty detail, so equal data gives equal
    blocks and digests wherever it came from. The versions are always the
    components' (component → version); the template's own are then
    ignored. */
static uint32_t components_of(const mt_node_reg_t *t, mt_component_t **out)
{
    uint32_t n = t->ncomponents ? t->ncomponents : t->nversions;
    mt_component_t *c = mt_xmalloc(n * sizeof *c);
    for (uint32_t i = 0; i < n; i++) {
        if (t->ncomponents) {
            const mt_component_t *s = &t->components[i];
            c[i] = (mt_component_t) { or_empty(s->component), or_empty(s->version),
                                      or_empty(s->commit), or_empty(s->build_time),
                                      or_empty(s->source) };
        } else {
            c[i] = (mt_component_t) { or_empty(t->versions[i].key),
                                      or_empty(t->versions[i].value), "", "", "" };
        }
    }
    *out = c;
    return n ? mt__components_normalise(c, n) : 0;
}

mt_node_reg_t *mt_node_reg_build(const mt_node_reg_t *t)
{
    size_t head = sizeof(mt_node_reg_t), size = ALIGN8(head + str_size(t->host_ip)
                                                       + str_size(t->instance_type));
    mt_node_reg_t *r = mt_xmalloc(size);
    *r = *t;
    atomic_init(&r->refs, 1);
    packer_t p = { (char *) r, head };
    r->host_ip = pack_str(&p, t->host_ip);
    r->instance_type = pack_str(&p, t->instance_type);

    size_t bytes = size;
    r->labels = map_part(MT__PART_STR_MAP, t->labels, t->nlabels, sizeof *t->labels,
                         str_pair_key, &r->nlabels, &bytes);
    r->capacity = map_part(MT__PART_INT_MAP, t->capacity, t->ncapacity, sizeof *t->capacity,
                           int_pair_key, &r->ncapacity, &bytes);
    r->quota = map_part(MT__PART_INT_MAP, t->quota, t->nquota, sizeof *t->quota,
                        int_pair_key, &r->nquota, &bytes);
    mt_component_t *comp;
    uint32_t nc = components_of(t, &comp);
    mt_str_pair_t *vers = mt_xmalloc(nc * sizeof *vers);
    for (uint32_t i = 0; i < nc; i++)
        vers[i] = (mt_str_pair_t) { comp[i].component, comp[i].version };
    r->ncomponents = r->nversions = nc;
    r->components = mt__part_get(MT__PART_COMPONENTS, comp, nc, &bytes);
    r->versions = mt__part_get(MT__PART_STR_MAP, vers, nc, &bytes);
    free(vers);
    free(comp);
    mt_components_hash(r->components, nc, r->components_hash);
    mt_versions_hash(r->versions, nc, r->versions_hash);
    r->size = (uint32_t) bytes;
    return r;
}

mt_node_reg_t *mt_node_reg_ref(mt_node_reg_t *reg)
{
    if (reg)
        mt__block_hold(&reg->refs);
    return reg;
}

void mt_node_reg_unref(mt_node_reg_t **reg_p)
{
    mt_node_reg_t *reg = *reg_p;
    *reg_p = NULL;
    if (!reg || !mt__block_release(&reg->refs))
        return;
    mt__part_put(reg->labels);
    mt__part_put(reg->capacity);
    mt__part_put(reg->quota);
    mt__part_put(reg->versions);
    mt__part_put(reg->components);
    free(reg);
}

/*  Lists keep their order (a condition list, images, templates): no sorting. */
mt_node_status_t *mt_node_status_build(const mt_node_status_t *t)
{
    mt_node_status_t *s = mt_xmalloc(sizeof *s);
    *s = *t;
    atomic_init(&s->refs, 1);
    size_t bytes = sizeof *s;
    s->conditions = mt__part_get(MT__PART_CONDITIONS, t->conditions, t->nconditions, &bytes);
    s->images = mt__part_get(MT__PART_STRINGS, t->images, t->nimages, &bytes);
    s->local_templates = mt__part_get(MT__PART_STRINGS, t->local_templates, t->ntemplates,
                                      &bytes);
    s->size = (uint32_t) bytes;
    return s;
}

mt_node_status_t *mt_node_status_ref(mt_node_status_t *st)
{
    if (st)
        mt__block_hold(&st->refs);
    return st;
}

void mt_node_status_unref(mt_node_status_t **st_p)
{
    mt_node_status_t *st = *st_p;
    *st_p = NULL;
    if (!st || !mt__block_release(&st->refs))
        return;
    mt__part_put(st->conditions);
    mt__part_put(st->images);
    mt__part_put(st->local_templates);
    free(st);
}

/* ---- lookups, digest, views ------------------------------------------- */

const char *mt_str_map_get(const mt_str_pair_t *map, uint32_t n, const char *key)
{
    mt_str_pair_t probe = { key, NULL };
    const mt_str_pair_t *hit = bsearch(&probe, map, n, sizeof *map, cmp_str_pair);
    return hit ? hit->value : NULL;
}

void mt_versions_hash(const mt_str_pair_t *versions, uint32_t n, char out[17])
{
    uint64_t h = MT_FNV1A64_INIT;
    for (uint32_t i = 0; i < n; i++) {
        /*  The terminating NULs are hashed too: ("ab","c") ≠ ("a","bc"). */
        h = mt_fnv1a64(h, versions[i].key, strlen(versions[i].key) + 1);
        h = mt_fnv1a64(h, versions[i].value, strlen(versions[i].value) + 1);
    }
    snprintf(out, 17, "%016llx", (unsigned long long) h);
}

void mt_node_view_copy(mt_node_view_t *dst, const mt_node_view_t *src)
{
    memcpy(dst->id, src->id, sizeof dst->id);
    dst->reg = mt_node_reg_ref(src->reg);
    dst->status = mt_node_status_ref(src->status);
    dst->live = mt_node_live_ref(src->live);
    dst->healthy = src->healthy;
    dst->schedulable = src->schedulable;
}

void mt_node_view_clear(mt_node_view_t *view)
{
    mt_node_reg_unref(&view->reg);
    mt_node_status_unref(&view->status);
    mt_node_live_unref(&view->live);
}

bool mt_node_healthy(const mt_node_status_t *st, int64_t db_now_ms, int64_t timeout_ms)
{
    /*  seen_at is checked to lie in [0, MT_TIME_MAX] wherever a block is
        made from outside input; the clamps keep the arithmetic defined for
        any block (and any caller's now and timeout) all the same. */
    if (!st || !st->ready || st->seen_at <= 0 || st->seen_at > MT_TIME_MAX)
        return false;
    int64_t now = db_now_ms < 0 ? 0 : db_now_ms > MT_TIME_MAX ? MT_TIME_MAX : db_now_ms;
    int64_t timeout = timeout_ms < 0 ? 0 : timeout_ms > MT_TIME_MAX ? MT_TIME_MAX : timeout_ms;
    int64_t age = now - st->seen_at;
    return age <= timeout && -age <= timeout;
}

bool mt_node_schedulable(const mt_node_reg_t *reg, bool healthy)
{
    if (!healthy || !reg || mt_str_map_get(reg->labels, reg->nlabels, MT_LABEL_UNREADABLE))
        return false;
    const char *cordon = mt_str_map_get(reg->labels, reg->nlabels, MT_LABEL_CORDON);
    return !cordon || strcmp(cordon, "true") != 0;
}
