/*  model.c — packing node groups into immutable blocks; validation.

    A block is laid out as: the struct, then the pair/condition/pointer
    arrays, then every string. One allocation, one free, no pointer into
    anyone else's memory. */
#include "mt_model.h"
#include "mt_hash.h"
#include "mt_alloc.h"

#include "block.h"
#include "components.h"
#include "mt_labels.h"
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

static const char *str_pair_key(const void *p) { return ((const mt_str_pair_t *) p)->key; }

static int cmp_str_pair(const void *a, const void *b)
{
    return strcmp(str_pair_key(a), str_pair_key(b));
}
static const char *int_pair_key(const void *p) { return ((const mt_int_pair_t *) p)->key; }

static uint32_t normalise_str_map(mt_str_pair_t *map, uint32_t n)
{
    return mt__sort_unique(map, n, sizeof *map, str_pair_key);
}

static uint32_t normalise_int_map(mt_int_pair_t *map, uint32_t n)
{
    return mt__sort_unique(map, n, sizeof *map, int_pair_key);
}

static size_t str_map_bytes(const mt_str_pair_t *m, uint32_t n)
{
    size_t s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += str_size(m[i].key) + str_size(m[i].value);
    return s;
}

static size_t int_map_bytes(const mt_int_pair_t *m, uint32_t n)
{
    size_t s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += str_size(m[i].key);
    return s;
}

static mt_str_pair_t *pack_str_map(packer_t *p, mt_str_pair_t *dst,
                                   const mt_str_pair_t *src, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        dst[i].key = pack_str(p, src[i].key);
        dst[i].value = pack_str(p, src[i].value);
    }
    return dst;
}

static mt_int_pair_t *pack_int_map(packer_t *p, mt_int_pair_t *dst,
                                   const mt_int_pair_t *src, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        dst[i].key = pack_str(p, src[i].key);
        dst[i].value = src[i].value;
    }
    return dst;
}

static size_t components_bytes(const mt_component_t *c, uint32_t n)
{
    size_t s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += str_size(c[i].component) + str_size(c[i].version) + str_size(c[i].commit)
            + str_size(c[i].build_time) + str_size(c[i].source);
    return s;
}

static mt_component_t *pack_components(packer_t *p, mt_component_t *dst,
                                       const mt_component_t *src, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        dst[i].component = pack_str(p, src[i].component);
        dst[i].version = pack_str(p, src[i].version);
        dst[i].commit = pack_str(p, src[i].commit);
        dst[i].build_time = pack_str(p, src[i].build_time);
        dst[i].source = pack_str(p, src[i].source);
    }
    return dst;
}

#define ALIGN8(x) (((x) + 7u) & ~(size_t) 7u)

/*  One representation for every registration: a template with versions
    but no components (a client of protocol v1, a row stored before schema
    v6) gets components with empty detail, so equal data gives equal
    blocks and digests wherever it came from. */
static mt_node_reg_t *build(const mt_node_reg_t *t);

mt_node_reg_t *mt_node_reg_build(const mt_node_reg_t *tmpl)
{
    if (tmpl->ncomponents || !tmpl->nversions)
        return build(tmpl);
    mt_component_t *c = malloc(tmpl->nversions * sizeof *c);
    if (!c)
        mt_oom("model");
    for (uint32_t i = 0; i < tmpl->nversions; i++)
        c[i] = (mt_component_t) { tmpl->versions[i].key, tmpl->versions[i].value, "", "", "" };
    mt_node_reg_t t = *tmpl;
    t.components = c;
    t.ncomponents = tmpl->nversions;
    mt_node_reg_t *r = build(&t);
    free(c);
    return r;
}

static mt_node_reg_t *build(const mt_node_reg_t *t)
{
    size_t arrays = sizeof(mt_node_reg_t);
    size_t off_labels = arrays;
    arrays += t->nlabels * sizeof(mt_str_pair_t);
    size_t off_cap = arrays;
    arrays += t->ncapacity * sizeof(mt_int_pair_t);
    size_t off_quota = arrays;
    arrays += t->nquota * sizeof(mt_int_pair_t);
    /*  With components, versions are theirs: pairs pointing at the
        components' own strings, no bytes of their own. */
    bool derived = t->ncomponents > 0;
    uint32_t nvers = derived ? t->ncomponents : t->nversions;
    size_t off_vers = arrays;
    arrays += nvers * sizeof(mt_str_pair_t);
    size_t off_comp = arrays;
    arrays += t->ncomponents * sizeof(mt_component_t);
    size_t size = ALIGN8(arrays + str_size(t->host_ip) + str_size(t->instance_type)
        + str_map_bytes(t->labels, t->nlabels) + int_map_bytes(t->capacity, t->ncapacity)
        + int_map_bytes(t->quota, t->nquota)
        + (derived ? 0 : str_map_bytes(t->versions, t->nversions))
        + components_bytes(t->components, t->ncomponents));

    char *block = malloc(size);
    if (!block)
        mt_oom("model");
    mt_node_reg_t *r = (mt_node_reg_t *) block;
    *r = *t;
    atomic_init(&r->refs, 1);
    r->size = (uint32_t) size;
    packer_t p = { block, arrays };
    r->host_ip = pack_str(&p, t->host_ip);
    r->instance_type = pack_str(&p, t->instance_type);
    mt_str_pair_t *labels = pack_str_map(&p, (mt_str_pair_t *) (block + off_labels), t->labels, t->nlabels);
    mt_int_pair_t *cap = pack_int_map(&p, (mt_int_pair_t *) (block + off_cap), t->capacity, t->ncapacity);
    mt_int_pair_t *quota = pack_int_map(&p, (mt_int_pair_t *) (block + off_quota), t->quota, t->nquota);
    mt_component_t *comp = pack_components(&p, (mt_component_t *) (block + off_comp),
                                           t->components, t->ncomponents);
    r->ncomponents = mt__components_normalise(comp, t->ncomponents);
    r->components = comp;
    mt_components_hash(comp, r->ncomponents, r->components_hash);
    mt_str_pair_t *vers = (mt_str_pair_t *) (block + off_vers);
    if (derived) {
        for (uint32_t i = 0; i < r->ncomponents; i++)
            vers[i] = (mt_str_pair_t) { comp[i].component, comp[i].version };
        r->nversions = r->ncomponents;  /* sorted and unique already */
    }
    else
        r->nversions = normalise_str_map(pack_str_map(&p, vers, t->versions, t->nversions),
                                         t->nversions);
    r->nlabels = normalise_str_map(labels, t->nlabels);
    r->ncapacity = normalise_int_map(cap, t->ncapacity);
    r->nquota = normalise_int_map(quota, t->nquota);
    r->labels = labels;
    r->capacity = cap;
    r->quota = quota;
    r->versions = vers;
    mt_versions_hash(vers, r->nversions, r->versions_hash);
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
    if (reg && mt__block_release(&reg->refs))
        free(reg);
}

mt_node_status_t *mt_node_status_build(const mt_node_status_t *t)
{
    size_t arrays = sizeof(mt_node_status_t);
    size_t off_cond = arrays;
    arrays += t->nconditions * sizeof(mt_condition_t);
    size_t off_img = arrays;
    arrays += t->nimages * sizeof(char *);
    size_t off_tpl = arrays;
    arrays += t->ntemplates * sizeof(char *);
    size_t strings = 0;
    for (uint32_t i = 0; i < t->nconditions; i++) {
        const mt_condition_t *c = &t->conditions[i];
        strings += str_size(c->type) + str_size(c->status) + str_size(c->reason)
            + str_size(c->message);
    }
    for (uint32_t i = 0; i < t->nimages; i++)
        strings += str_size(t->images[i]);
    for (uint32_t i = 0; i < t->ntemplates; i++)
        strings += str_size(t->local_templates[i]);
    size_t size = ALIGN8(arrays + strings);

    char *block = malloc(size);
    if (!block)
        mt_oom("model");
    mt_node_status_t *s = (mt_node_status_t *) block;
    *s = *t;
    atomic_init(&s->refs, 1);
    s->size = (uint32_t) size;
    packer_t p = { block, arrays };
    mt_condition_t *conds = (mt_condition_t *) (block + off_cond);
    for (uint32_t i = 0; i < t->nconditions; i++) {
        const mt_condition_t *c = &t->conditions[i];
        conds[i].type = pack_str(&p, c->type);
        conds[i].status = pack_str(&p, c->status);
        conds[i].reason = pack_str(&p, c->reason);
        conds[i].message = pack_str(&p, c->message);
    }
    const char **imgs = (const char **) (block + off_img);
    for (uint32_t i = 0; i < t->nimages; i++)
        imgs[i] = pack_str(&p, t->images[i]);
    const char **tpls = (const char **) (block + off_tpl);
    for (uint32_t i = 0; i < t->ntemplates; i++)
        tpls[i] = pack_str(&p, t->local_templates[i]);
    s->conditions = conds;
    s->images = imgs;
    s->local_templates = tpls;
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
    if (st && mt__block_release(&st->refs))
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
