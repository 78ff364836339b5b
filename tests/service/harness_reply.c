/*  harness_reply.c — replies and notices as parsed msgpack maps, read by
    '/'-separated paths; a wrong type fails the test at the read instead
    of as a puzzling value later (see harness.h). */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static void copy_str(char *dst, size_t cap, const msgpack_object *o)
{
    dst[0] = '\0';
    if (o && o->type == MSGPACK_OBJECT_STR) {
        size_t n = o->via.str.size < cap - 1 ? o->via.str.size : cap - 1;
        memcpy(dst, o->via.str.ptr, n);
        dst[n] = '\0';
    }
}

h_reply_t *h_reply_parse(const void *data, size_t size)
{
    h_reply_t *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    r->data = malloc(size ? size : 1);
    ck_assert_ptr_nonnull(r->data);
    memcpy(r->data, data, size);
    r->size = size;
    msgpack_unpacked_init(&r->u);
    size_t off = 0;
    if (msgpack_unpack_next(&r->u, r->data, size, &off) != MSGPACK_UNPACK_SUCCESS
        || off != size || r->u.data.type != MSGPACK_OBJECT_MAP) {
        h_reply_free(&r);
        return NULL;
    }
    r->top = &r->u.data;
    const msgpack_object *ok = h_get(r->top, "ok");
    r->ok = ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean;
    const msgpack_object *rid = h_get(r->top, "rid");
    if (rid && rid->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        r->has_rid = true;
        r->rid = rid->via.u64;
    }
    r->result = h_get(r->top, "result");
    copy_str(r->code, sizeof r->code, h_get(r->top, "error/code"));
    copy_str(r->message, sizeof r->message, h_get(r->top, "error/message"));
    return r;
}

void h_reply_free(h_reply_t **rp)
{
    h_reply_t *r = *rp;
    if (!r)
        return;
    *rp = NULL;
    msgpack_unpacked_destroy(&r->u);
    free(r->data);
    free(r);
}

/* ---- paths ------------------------------------------------------------------------- */

static const msgpack_object *map_key(const msgpack_object *o, const char *key, size_t n)
{
    if (!o || o->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t k = 0; k < o->via.map.size; k++) {
        const msgpack_object *ko = &o->via.map.ptr[k].key;
        if (ko->type == MSGPACK_OBJECT_STR && ko->via.str.size == n
            && memcmp(ko->via.str.ptr, key, n) == 0)
            return &o->via.map.ptr[k].val;
    }
    return NULL;
}

const msgpack_object *h_get(const msgpack_object *o, const char *path)
{
    while (o && *path) {
        const char *end = strchr(path, '/');
        size_t n = end ? (size_t) (end - path) : strlen(path);
        if (o->type == MSGPACK_OBJECT_ARRAY) {
            char *stop;
            unsigned long idx = strtoul(path, &stop, 10);
            if (stop != path + n || idx >= o->via.array.size)
                return NULL;
            o = &o->via.array.ptr[idx];
        }
        else
            o = map_key(o, path, n);
        path += n;
        if (*path == '/')
            path++;
    }
    return o;
}

bool h_has(const msgpack_object *o, const char *path)
{
    return h_get(o, path) != NULL;
}

bool h_is_int(const msgpack_object *o)
{
    return o && (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                 || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER);
}

int64_t h_int(const msgpack_object *o, const char *path)
{
    const msgpack_object *v = h_get(o, path);
    H_ASSERT(h_is_int(v), "%s: not an integer", path);
    return v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t) v->via.u64 : v->via.i64;
}

bool h_bool(const msgpack_object *o, const char *path)
{
    const msgpack_object *v = h_get(o, path);
    H_ASSERT(v && v->type == MSGPACK_OBJECT_BOOLEAN, "%s: not a boolean", path);
    return v->via.boolean;
}

bool h_obj_is_str(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n
        && memcmp(o->via.str.ptr, s, n) == 0;
}

bool h_is_str(const msgpack_object *o, const char *path, const char *s)
{
    return h_obj_is_str(h_get(o, path), s);
}

char *h_sdup(const msgpack_object *o, const char *path)
{
    const msgpack_object *v = h_get(o, path);
    H_ASSERT(v && v->type == MSGPACK_OBJECT_STR, "%s: not a string", path);
    return strndup(v->via.str.ptr, v->via.str.size);
}

uint32_t h_size(const msgpack_object *o, const char *path)
{
    const msgpack_object *v = h_get(o, path);
    H_ASSERT(v && (v->type == MSGPACK_OBJECT_MAP || v->type == MSGPACK_OBJECT_ARRAY),
             "%s: not a map or an array", path);
    return v->type == MSGPACK_OBJECT_MAP ? v->via.map.size : v->via.array.size;
}
