/*  harness_shape.c — replies checked key by key and type by type against
    the tables of PROTOCOL.md: a missing key, an extra key or a wrong msgpack
    type fails the test. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

bool h_is_type(const msgpack_object *o, char t)
{
    if (!o)
        return false;
    switch (t) {
    case 's': return o->type == MSGPACK_OBJECT_STR;
    case 'i': return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                  || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
    case 'b': return o->type == MSGPACK_OBJECT_BOOLEAN;
    case 'm': return o->type == MSGPACK_OBJECT_MAP;
    case 'a': return o->type == MSGPACK_OBJECT_ARRAY;
    default: return false;
    }
}

void h_check_keys(const msgpack_object *m, const char *what, const char *const *keys,
                  const char *types)
{
    H_ASSERT(h_is_type(m, 'm'), "%s: a map", what);
    size_t n = strlen(types);
    for (size_t k = 0; k < n; k++) {
        const msgpack_object *v = h_get(m, keys[k]);
        H_ASSERT(v, "%s: key %s missing", what, keys[k]);
        H_ASSERT(h_is_type(v, types[k]), "%s: %s is not of type '%c' (msgpack type %d)", what,
                 keys[k], types[k], v->type);
    }
    H_ASSERT(m->via.map.size == n, "%s: %u keys, PROTOCOL.md lists %zu", what, m->via.map.size,
             n);
    for (uint32_t k = 0; k < m->via.map.size; k++)
        H_ASSERT(m->via.map.ptr[k].key.type == MSGPACK_OBJECT_STR, "%s: keys are strings", what);
}

static void check_str_map(const msgpack_object *m, const char *what, char vt)
{
    H_ASSERT(h_is_type(m, 'm'), "%s: a map", what);
    for (uint32_t k = 0; k < m->via.map.size; k++) {
        H_ASSERT(h_is_type(&m->via.map.ptr[k].key, 's'), "%s: keys are strings", what);
        H_ASSERT(h_is_type(&m->via.map.ptr[k].val, vt), "%s: values of type '%c'", what, vt);
    }
}

static void check_str_array(const msgpack_object *a, const char *what)
{
    H_ASSERT(h_is_type(a, 'a'), "%s: an array", what);
    for (uint32_t k = 0; k < a->via.array.size; k++)
        H_ASSERT(h_is_type(&a->via.array.ptr[k], 's'), "%s: strings", what);
}

void h_check_view(const msgpack_object *v)
{
    static const char *const keys[] = {
        "id", "host_ip", "grpc_port", "instance_type", "labels", "capacity", "quota",
        "versions", "versions_hash", "components", "registered_at", "reg_revision",
        "heartbeat_at", "seen_at", "ready", "conditions", "images", "local_templates",
        "status_revision", "metrics", "metrics_at", "healthy", "schedulable",
    };
    h_check_keys(v, "node view", keys, "ssismmmmsaiiiibaaaimibb");
    check_str_map(h_get(v, "metrics"), "metrics", 'i');
    const msgpack_object *comps = h_get(v, "components");
    static const char *const compkeys[] = { "component", "version", "commit", "build_time",
                                            "source" };
    for (uint32_t k = 0; k < comps->via.array.size; k++)
        h_check_keys(&comps->via.array.ptr[k], "component", compkeys, "sssss");
    H_ASSERT(comps->via.array.size == h_get(v, "versions")->via.map.size,
             "one component per version");
    check_str_map(h_get(v, "labels"), "labels", 's');
    check_str_map(h_get(v, "capacity"), "capacity", 'i');
    check_str_map(h_get(v, "quota"), "quota", 'i');
    check_str_map(h_get(v, "versions"), "versions", 's');
    check_str_array(h_get(v, "images"), "images");
    check_str_array(h_get(v, "local_templates"), "local_templates");
    const msgpack_object *c = h_get(v, "conditions");
    static const char *const ckeys[] = { "type", "status", "reason", "message" };
    for (uint32_t k = 0; k < c->via.array.size; k++)
        h_check_keys(&c->via.array.ptr[k], "condition", ckeys, "ssss");
    /*  Derived: schedulable only when healthy; seen_at is set with a status. */
    H_ASSERT(!h_bool(v, "schedulable") || h_bool(v, "healthy"), "schedulable but not healthy");
    H_ASSERT(h_int(v, "status_revision") != 0 || h_int(v, "seen_at") == 0,
             "seen_at without a status");
    int64_t port = h_int(v, "grpc_port");
    H_ASSERT(port >= 0 && port <= 65535, "grpc_port %lld", (long long) port);
    char *id = h_sdup(v, "id");
    H_ASSERT(strlen(id) >= 1 && strlen(id) <= 253, "id length");
    free(id);
}

void h_check_ok_reply(const h_reply_t *r, int64_t rid)
{
    H_ASSERT(r->ok, "ok: %s %s", r->code, r->message);
    H_ASSERT(h_get(r->top, "ok")->type == MSGPACK_OBJECT_BOOLEAN, "ok is a boolean");
    H_ASSERT(h_is_type(r->result, 'm'), "result is a map");
    if (rid >= 0) {
        H_ASSERT(h_get(r->top, "rid")->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                 && r->rid == (uint64_t) rid, "rid %lld echoed", (long long) rid);
        H_ASSERT(r->top->via.map.size == 3, "{ok, rid, result}");
    } else {
        H_ASSERT(!h_has(r->top, "rid"), "no rid when the request had none");
        H_ASSERT(r->top->via.map.size == 2, "{ok, result}");
    }
}
