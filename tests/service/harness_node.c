/*  harness_node.c — shortcuts for the node operations most tests read
    back with (see harness.h). */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

h_reply_t *h_node_get(int i, const char *id)
{
    h_reply_t *r = h_call(i, "{s:s, s:s}", "op", "node.get", "id", id);
    H_ASSERT(r, "replica %s: no reply to node.get %s", h_replica(i)->id, id);
    if (!r->ok && strcmp(r->code, "not_found") == 0) {
        h_reply_free(&r);
        return NULL;
    }
    char msg[600];
    snprintf(msg, sizeof msg, "%s: %s", r->code, r->message);
    H_ASSERT(r->ok && h_get(r->result, "node"), "replica %s: node.get %s: %s", h_replica(i)->id,
             id, msg);
    return r;
}

int64_t h_node_int(int i, const char *id, const char *field)
{
    h_reply_t *r = h_node_get(i, id);
    if (!r)
        return -1;
    char path[128];
    snprintf(path, sizeof path, "node/%s", field);
    int64_t v = h_int(r->result, path);
    h_reply_free(&r);
    return v;
}

char *h_list_ids(int i)
{
    h_reply_t *r = h_ok(i, "{s:s}", "op", "node.list");
    const msgpack_object *nodes = h_get(r->result, "nodes");
    H_ASSERT(nodes && nodes->type == MSGPACK_OBJECT_ARRAY, "node.list: no nodes array");
    size_t cap = 16, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    for (uint32_t k = 0; k < nodes->via.array.size; k++) {
        const msgpack_object *id = h_get(&nodes->via.array.ptr[k], "id");
        H_ASSERT(id && id->type == MSGPACK_OBJECT_STR, "node.list: a view without id");
        while (len + id->via.str.size + 2 > cap)
            out = realloc(out, cap *= 2);
        if (len)
            out[len++] = ',';
        memcpy(out + len, id->via.str.ptr, id->via.str.size);
        len += id->via.str.size;
        out[len] = '\0';
    }
    h_reply_free(&r);
    return out;
}

bool h_list_is(int i, const char *expect)
{
    char *ids = h_list_ids(i);
    bool eq = strcmp(ids, expect) == 0;
    free(ids);
    return eq;
}

bool h_lists_equal(int i, int k)
{
    h_reply_t *a = h_ok(i, "{s:s}", "op", "node.list");
    h_reply_t *b = h_ok(k, "{s:s}", "op", "node.list");
    bool eq = msgpack_object_equal(*h_get(a->result, "nodes"), *h_get(b->result, "nodes"));
    h_reply_free(&a);
    h_reply_free(&b);
    return eq;
}
