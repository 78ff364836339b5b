/*  codec_field.c — typed fields of decoded msgpack: strings, integers,
    booleans, maps and arrays, and the node groups built from them.

    Each reader checks the type and names the field in its message
    ("grpc_port: expected an integer"). Copies go to the unpacked object's
    zone (see codec_internal.h). */
#include "codec_internal.h"
#include "mt_alloc.h"
#include "mt_labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...) return mt__codec_fail(d->err, d->errlen, __VA_ARGS__)
#define TRY(x) do { int rc_ = (x); if (rc_ != MT_OK) return rc_; } while (0)

static void *zalloc(mt__codec_dec_t *d, size_t n)
{
    void *p = msgpack_zone_malloc(d->zone, n ? n : 1);
    if (!p)
        mt_oom("msgpack zone");
    return p;
}

bool mt_codec_str_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n
        && memcmp(o->via.str.ptr, s, n) == 0;
}

const msgpack_object *mt__codec_map_last(const msgpack_object *map, const char *key)
{
    const msgpack_object *found = NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (mt_codec_str_is(&map->via.map.ptr[i].key, key))
            found = &map->via.map.ptr[i].val;
    return found && found->type != MSGPACK_OBJECT_NIL ? found : NULL;
}

/* ---- scalars ----------------------------------------------------------- */

/*  `part` is NULL for the field itself, else "keys", "values" or "items". */
static int str_of(mt__codec_dec_t *d, const msgpack_object *o, const char *field,
                  const char *part, const char **out)
{
    if (o->type != MSGPACK_OBJECT_STR) {
        if (part)
            FAIL("%s: %s must be strings", field, part);
        FAIL("%s: expected a string", field);
    }
    const char *s = o->via.str.ptr;
    uint32_t n = o->via.str.size;
    if (n && memchr(s, 0, n)) {
        if (part)
            FAIL("%s: %s must not contain NUL bytes", field, part);
        FAIL("%s: must not contain NUL bytes", field);
    }
    if (!mt_utf8_valid(s, n)) {
        if (part)
            FAIL("%s: %s must be valid UTF-8", field, part);
        FAIL("%s: not valid UTF-8", field);
    }
    char *copy = zalloc(d, (size_t) n + 1);
    if (n)
        memcpy(copy, s, n);
    copy[n] = '\0';
    *out = copy;
    return MT_OK;
}

static int i64_of(mt__codec_dec_t *d, const msgpack_object *o, const char *field,
                  const char *part, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t) INT64_MAX)
            FAIL("%s: integer out of range", field);
        *out = (int64_t) o->via.u64;
        return MT_OK;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return MT_OK;
    }
    if (part)
        FAIL("%s: %s must be integers", field, part);
    FAIL("%s: expected an integer", field);
}

int mt__codec_dec_str(mt__codec_dec_t *d, const msgpack_object *o, const char *field, const char **out)
{
    return str_of(d, o, field, NULL, out);
}

int mt__codec_dec_i64(mt__codec_dec_t *d, const msgpack_object *o, const char *field, int64_t *out)
{
    return i64_of(d, o, field, NULL, out);
}

int mt__codec_dec_u64(mt__codec_dec_t *d, const msgpack_object *o, const char *field, uint64_t *out)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        FAIL("%s: expected an unsigned integer", field);
    *out = o->via.u64;
    return MT_OK;
}

int mt__codec_dec_bool(mt__codec_dec_t *d, const msgpack_object *o, const char *field, bool *out)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        FAIL("%s: expected a boolean", field);
    *out = o->via.boolean;
    return MT_OK;
}

/* ---- maps and arrays --------------------------------------------------- */

int mt__codec_dec_str_map(mt__codec_dec_t *d, const msgpack_object *o, const char *field,
                    mt_str_pair_t **out, uint32_t *n)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        FAIL("%s: expected a map", field);
    uint32_t size = o->via.map.size;
    mt_str_pair_t *pairs = zalloc(d, (size_t) size * sizeof *pairs);
    for (uint32_t i = 0; i < size; i++) {
        TRY(str_of(d, &o->via.map.ptr[i].key, field, "keys", &pairs[i].key));
        TRY(str_of(d, &o->via.map.ptr[i].val, field, "values", &pairs[i].value));
    }
    *out = pairs;
    *n = size;
    return MT_OK;
}

int mt__codec_dec_int_map(mt__codec_dec_t *d, const msgpack_object *o, const char *field,
                    mt_int_pair_t **out, uint32_t *n)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        FAIL("%s: expected a map", field);
    uint32_t size = o->via.map.size;
    mt_int_pair_t *pairs = zalloc(d, (size_t) size * sizeof *pairs);
    for (uint32_t i = 0; i < size; i++) {
        TRY(str_of(d, &o->via.map.ptr[i].key, field, "keys", &pairs[i].key));
        TRY(i64_of(d, &o->via.map.ptr[i].val, field, "values", &pairs[i].value));
    }
    *out = pairs;
    *n = size;
    return MT_OK;
}

int mt__codec_dec_str_array(mt__codec_dec_t *d, const msgpack_object *o, const char *field,
                      const char ***out, uint32_t *n)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        FAIL("%s: expected an array", field);
    uint32_t size = o->via.array.size;
    const char **items = zalloc(d, (size_t) size * sizeof *items);
    for (uint32_t i = 0; i < size; i++)
        TRY(str_of(d, &o->via.array.ptr[i], field, "items", &items[i]));
    *out = items;
    *n = size;
    return MT_OK;
}

static int dec_conditions(mt__codec_dec_t *d, const msgpack_object *o,
                          mt_condition_t **out, uint32_t *n)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        FAIL("conditions: expected an array");
    uint32_t size = o->via.array.size;
    mt_condition_t *conds = zalloc(d, (size_t) size * sizeof *conds);
    static const char *const keys[4] = { "type", "status", "reason", "message" };
    static const char *const fields[4] = {
        "conditions.type", "conditions.status", "conditions.reason", "conditions.message",
    };
    for (uint32_t i = 0; i < size; i++) {
        const msgpack_object *c = &o->via.array.ptr[i];
        if (c->type != MSGPACK_OBJECT_MAP)
            FAIL("conditions: items must be maps");
        const char **dst[4] = { &conds[i].type, &conds[i].status, &conds[i].reason,
                                &conds[i].message };
        for (int k = 0; k < 4; k++) {
            const msgpack_object *v = mt__codec_map_last(c, keys[k]);
            *dst[k] = "";
            if (v)
                TRY(str_of(d, v, fields[k], NULL, dst[k]));
        }
    }
    *out = conds;
    *n = size;
    return MT_OK;
}

int mt__codec_dec_components(mt__codec_dec_t *d, const msgpack_object *o, mt_node_reg_t *t)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        FAIL("components: expected an array");
    uint32_t size = o->via.array.size;
    if (size > MT_MAP_MAX)      /* before allocating for them */
        FAIL("components: at most %d entries", MT_MAP_MAX);
    mt_component_t *c = zalloc(d, (size_t) size * sizeof *c);
    static const char *const keys[5] = { "component", "version", "commit", "build_time",
                                         "source" };
    static const char *const fields[5] = {
        "components.component", "components.version", "components.commit",
        "components.build_time", "components.source",
    };
    for (uint32_t i = 0; i < size; i++) {
        const msgpack_object *m = &o->via.array.ptr[i];
        if (m->type != MSGPACK_OBJECT_MAP)
            FAIL("components: items must be maps");
        const char **dst[5] = { &c[i].component, &c[i].version, &c[i].commit,
                                &c[i].build_time, &c[i].source };
        for (int k = 0; k < 5; k++) {
            const msgpack_object *v = mt__codec_map_last(m, keys[k]);
            *dst[k] = "";
            if (v)
                TRY(str_of(d, v, fields[k], NULL, dst[k]));
        }
    }
    t->components = c;
    t->ncomponents = size;
    return mt_components_check(c, size, d->err, d->errlen);
}

int mt__codec_dec_live(mt__codec_dec_t *d, const msgpack_object *view, mt_node_live_t *t, bool *has)
{
    memset(t, 0, sizeof *t);
    *has = false;
    TRY(mt__codec_dec_opt_count(d, view, "metrics_at", &t->metrics_at));
    const msgpack_object *o = mt__codec_map_last(view, "metrics");
    if (o) {
        mt_int_pair_t *m;
        TRY(mt__codec_dec_int_map(d, o, "metrics", &m, &t->nmetrics));
        t->metrics = m;
    }
    TRY(mt__codec_dec_opt_count(d, view, "status_revision", &t->status_revision));
    TRY(mt_node_live_check(t, d->err, d->errlen));
    *has = t->metrics_at > 0;
    return MT_OK;
}

/* ---- node groups ------------------------------------------------------- */

int mt__codec_dec_node_id(mt__codec_dec_t *d, const msgpack_object *map, const char **id)
{
    const msgpack_object *o = mt__codec_map_last(map, "id");
    if (!o)
        FAIL("id: required");
    TRY(mt__codec_dec_str(d, o, "id", id));
    return mt_node_id_check(*id, d->err, d->errlen);
}

int mt__codec_dec_opt_str(mt__codec_dec_t *d, const msgpack_object *map, const char *key, const char **out)
{
    const msgpack_object *o = mt__codec_map_last(map, key);
    return o ? mt__codec_dec_str(d, o, key, out) : MT_OK;
}

int mt__codec_dec_opt_count(mt__codec_dec_t *d, const msgpack_object *map, const char *key, int64_t *out)
{
    const msgpack_object *o = mt__codec_map_last(map, key);
    if (!o)
        return MT_OK;
    TRY(mt__codec_dec_i64(d, o, key, out));
    if (*out < 0)
        FAIL("%s: must not be negative", key);
    return MT_OK;
}

int mt__codec_dec_reg(mt__codec_dec_t *d, const msgpack_object *map, bool view, mt_node_reg_t *t)
{
    memset(t, 0, sizeof *t);
    const msgpack_object *o;
    TRY(mt__codec_dec_opt_str(d, map, "host_ip", &t->host_ip));
    if ((o = mt__codec_map_last(map, "grpc_port"))) {
        int64_t port = 0;
        TRY(mt__codec_dec_i64(d, o, "grpc_port", &port));
        if (port < (view ? 0 : 1) || port > 65535)
            FAIL("grpc_port: must be 1-65535");
        t->grpc_port = (int32_t) port;
    }
    TRY(mt__codec_dec_opt_str(d, map, "instance_type", &t->instance_type));
    mt_str_pair_t *labels = NULL, *versions = NULL;
    mt_int_pair_t *capacity = NULL, *quota = NULL;
    if ((o = mt__codec_map_last(map, "labels")))
        TRY(mt__codec_dec_str_map(d, o, "labels", &labels, &t->nlabels));
    if ((o = mt__codec_map_last(map, "capacity")))
        TRY(mt__codec_dec_int_map(d, o, "capacity", &capacity, &t->ncapacity));
    if ((o = mt__codec_map_last(map, "quota")))
        TRY(mt__codec_dec_int_map(d, o, "quota", &quota, &t->nquota));
    if ((o = mt__codec_map_last(map, "versions")))
        TRY(mt__codec_dec_str_map(d, o, "versions", &versions, &t->nversions));
    t->labels = labels;
    t->capacity = capacity;
    t->quota = quota;
    t->versions = versions;
    if ((o = mt__codec_map_last(map, "components")))
        TRY(mt__codec_dec_components(d, o, t));
    TRY(mt__codec_dec_opt_count(d, map, "registered_at", &t->registered_at));
    if (view)
        TRY(mt__codec_dec_opt_count(d, map, "reg_revision", &t->reg_revision));
    TRY(mt_node_reg_check(t, d->err, d->errlen));
    /*  A view (a peer's notice) is checked for shape only: labels stored
        before the syntax rules must not make peers refuse its notices. */
    return view ? MT_OK : mt_labels_check("labels", t->labels, t->nlabels, d->err, d->errlen);
}

int mt__codec_dec_status(mt__codec_dec_t *d, const msgpack_object *map, bool view, mt_node_status_t *t)
{
    memset(t, 0, sizeof *t);
    const msgpack_object *o = mt__codec_map_last(map, "ready");
    if (o)
        TRY(mt__codec_dec_bool(d, o, "ready", &t->ready));
    else if (!view)
        FAIL("ready: required");
    TRY(mt__codec_dec_opt_count(d, map, "heartbeat_at", &t->heartbeat_at));
    mt_condition_t *conds = NULL;
    if ((o = mt__codec_map_last(map, "conditions")))
        TRY(dec_conditions(d, o, &conds, &t->nconditions));
    t->conditions = conds;
    const char **images = NULL, **templates = NULL;
    if ((o = mt__codec_map_last(map, "images")))
        TRY(mt__codec_dec_str_array(d, o, "images", &images, &t->nimages));
    if ((o = mt__codec_map_last(map, "local_templates")))
        TRY(mt__codec_dec_str_array(d, o, "local_templates", &templates, &t->ntemplates));
    t->images = images;
    t->local_templates = templates;
    /*  seen_at is the database's stamp: read from views (notices) only,
        never from a node's heartbeat. */
    if (view) {
        TRY(mt__codec_dec_opt_count(d, map, "seen_at", &t->seen_at));
        TRY(mt__codec_dec_opt_count(d, map, "status_revision", &t->status_revision));
    }
    return mt_node_status_check(t, d->err, d->errlen);
}

int mt__codec_dec_labels(mt__codec_dec_t *d, const msgpack_object *o, const char *field,
                   mt_node_reg_t *t)
{
    memset(t, 0, sizeof *t);
    mt_str_pair_t *labels;
    TRY(mt__codec_dec_str_map(d, o, field, &labels, &t->nlabels));
    t->labels = labels;
    return mt_labels_check(field, labels, t->nlabels, d->err, d->errlen);
}
