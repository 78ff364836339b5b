/*  metactl_view.c — views for humans: a view as key/value lines (node and
    reference views alike: keys a newer service adds are shown too, after
    the known ones, so the client never hides data), node views and the
    node list table. */
#include "metactl.h"
#include "mt_codec.h"
#include "mt_model.h"

#include <string.h>

/* ---- any view ---------------------------------------------------------- */

bool ctl_is_empty(const msgpack_object *o)
{
    return !o || o->type == MSGPACK_OBJECT_NIL
           || (o->type == MSGPACK_OBJECT_MAP && o->via.map.size == 0)
           || (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 0)
           || (o->type == MSGPACK_OBJECT_STR && o->via.str.size == 0);
}

void ctl_buf_time(ctl_buf_t *b, const msgpack_object *view, const char *key, int64_t now)
{
    int64_t ms;
    if (!ctl_get_i64(view, key, &ms)) {
        ctl_buf_obj(b, ctl_get(view, key));
        return;
    }
    if (ms == 0) {
        mt_buf_printf(b, "never");
        return;
    }
    char t[48], d[32];
    ctl_fmt_time(ms, t, sizeof t);
    if (now >= ms)
        mt_buf_printf(b, "%s (%s ago)", t, ctl_fmt_duration(now - ms, d, sizeof d));
    else
        mt_buf_printf(b, "%s (in %s)", t, ctl_fmt_duration(ms - now, d, sizeof d));
}

void ctl_buf_value(ctl_buf_t *b, const msgpack_object *o)
{
    if (ctl_is_empty(o))
        mt_buf_printf(b, "-");
    else if (o->type == MSGPACK_OBJECT_MAP || o->type == MSGPACK_OBJECT_ARRAY)
        ctl_buf_pairs(b, o, ", ");
    else
        ctl_buf_obj(b, o);
}

void ctl_print_view(const msgpack_object *view, const char *what, const char *const *known,
                    size_t nknown, int width, ctl_value_fn *value)
{
    if (!view || view->type != MSGPACK_OBJECT_MAP) {
        printf("(no %s view)\n", what);
        return;
    }
    int64_t now = mt_wall_ms();
    ctl_buf_t b = { 0 };
    for (size_t i = 0; i < nknown; i++) {
        if (!ctl_get(view, known[i]))
            continue;
        mt_buf_reset(&b);
        value(&b, view, known[i], now);
        ctl_print_kv(known[i], width, mt_buf_str(&b));
    }
    for (uint32_t i = 0; i < view->via.map.size; i++) {
        const msgpack_object *k = &view->via.map.ptr[i].key;
        bool is_known = false;
        for (size_t j = 0; j < nknown && !is_known; j++)
            is_known = mt_codec_str_is(k, known[j]);
        if (is_known || k->type != MSGPACK_OBJECT_STR)
            continue;
        char key[64];
        size_t n = k->via.str.size < sizeof key - 1 ? k->via.str.size : sizeof key - 1;
        memcpy(key, k->via.str.ptr, n);
        key[n] = '\0';
        mt_buf_reset(&b);
        ctl_buf_obj(&b, &view->via.map.ptr[i].val);
        ctl_print_kv(key, width, mt_buf_str(&b));
    }
    mt_buf_free(&b);
}

/* ---- node views -------------------------------------------------------- */

#define KV_WIDTH 18                 /* "local_templates:" + 2 */

static const char *const known_keys[] = {
    "id", "host_ip", "grpc_port", "instance_type", "labels", "capacity", "quota",
    "versions", "versions_hash", "registered_at", "reg_revision", "heartbeat_at",
    "seen_at", "ready", "healthy", "schedulable", "conditions", "images", "local_templates",
    "status_revision",
};
#define NKNOWN (sizeof known_keys / sizeof known_keys[0])

static bool is_time_key(const char *key)
{
    return strcmp(key, "registered_at") == 0 || strcmp(key, "heartbeat_at") == 0
        || strcmp(key, "seen_at") == 0;
}

/*  TYPE=STATUS (REASON: MESSAGE); conditions separated by "; ". */
static void add_conditions(ctl_buf_t *b, const msgpack_object *o)
{
    if (!o || o->type != MSGPACK_OBJECT_ARRAY) {
        ctl_buf_obj(b, o);
        return;
    }
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *c = &o->via.array.ptr[i];
        if (i)
            mt_buf_printf(b, "; ");
        if (c->type != MSGPACK_OBJECT_MAP) {
            ctl_buf_obj(b, c);
            continue;
        }
        ctl_buf_obj(b, ctl_get(c, "type"));
        mt_buf_put(b, "=", 1);
        ctl_buf_obj(b, ctl_get(c, "status"));
        const msgpack_object *reason = ctl_get(c, "reason");
        const msgpack_object *message = ctl_get(c, "message");
        bool has_reason = reason && !(reason->type == MSGPACK_OBJECT_STR
                                      && reason->via.str.size == 0);
        bool has_message = message && !(message->type == MSGPACK_OBJECT_STR
                                        && message->via.str.size == 0);
        if (has_reason || has_message) {
            mt_buf_printf(b, " (");
            ctl_buf_obj(b, reason);
            if (has_message) {
                if (has_reason)
                    mt_buf_printf(b, ": ");
                ctl_buf_obj(b, message);
            }
            mt_buf_printf(b, ")");
        }
    }
}

static void add_value(ctl_buf_t *b, const msgpack_object *view, const char *key, int64_t now)
{
    const msgpack_object *o = ctl_get(view, key);
    if (is_time_key(key))
        ctl_buf_time(b, view, key, now);
    else if (strcmp(key, "conditions") == 0 && !ctl_is_empty(o))
        add_conditions(b, o);
    else if (strcmp(key, "grpc_port") == 0 && o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
             && o->via.u64 == 0)
        mt_buf_printf(b, "-");
    else
        ctl_buf_value(b, o);
}

void ctl_print_node(const msgpack_object *view)
{
    ctl_print_view(view, "node", known_keys, NKNOWN, KV_WIDTH, add_value);
}

typedef struct {
    const msgpack_object *const *views;
    int64_t now;
} node_rows_t;

static void node_row(ctl_buf_t *cell, uint32_t i, void *arg)
{
    const node_rows_t *nr = arg;
    const msgpack_object *v = nr->views[i];
    ctl_buf_obj(&cell[0], ctl_get(v, "id"));
    ctl_buf_obj(&cell[1], ctl_get(v, "healthy"));
    ctl_buf_obj(&cell[2], ctl_get(v, "ready"));
    add_value(&cell[3], v, "host_ip", nr->now);
    add_value(&cell[4], v, "grpc_port", nr->now);
    const msgpack_object *labels = ctl_get(v, "labels");
    if (ctl_is_empty(labels))
        mt_buf_printf(&cell[5], "-");
    else
        ctl_buf_pairs(&cell[5], labels, ",");
    int64_t hb;
    char d[32];
    if (!ctl_get_i64(v, "heartbeat_at", &hb) || hb == 0)
        mt_buf_printf(&cell[6], "-");
    else
        mt_buf_printf(&cell[6], "%s", ctl_fmt_duration(nr->now - hb, d, sizeof d));
}

void ctl_print_node_list(const msgpack_object *const *views, uint32_t n)
{
    static const char *const headers[] = {
        "ID", "HEALTHY", "READY", "HOST_IP", "PORT", "LABELS", "HEARTBEAT_AGE",
    };
    node_rows_t nr = { .views = views, .now = mt_wall_ms() };
    ctl_table_show(sizeof headers / sizeof headers[0], headers, n, node_row, &nr, stdout);
}
