/*  codec_request.c — request bodies (PROTOCOL.md, "Requests and replies")
    into typed messages.

    Order of the checks: the size (too_large) before anything else; then the
    raw bytes (codec_check.c); the body must be a map; "rid" is read first so
    that every later error can still echo it; every key must be a string;
    "op" must be a known operation; then the operation's arguments. Node
    operations become an MT_NODE_REQ built with the mt_node_req_*
    constructors, reference operations an MT_RC_REQ (codec_rc.c); the
    others are answered by the gateway from the op alone. */
#include "codec_internal.h"
#include "mt_labels.h"

#include <string.h>

#define FAIL(...) return mt__codec_fail(d->err, d->errlen, __VA_ARGS__)
#define TRY(x) do { int rc_ = (x); if (rc_ != MT_OK) return rc_; } while (0)

static const char *const op_names[] = {
    [MT_OP_NODE_REGISTER] = "node.register",
    [MT_OP_NODE_HEARTBEAT] = "node.heartbeat",
    [MT_OP_NODE_LABELS] = "node.labels",
    [MT_OP_NODE_GET] = "node.get",
    [MT_OP_NODE_LIST] = "node.list",
    [MT_OP_NODE_DELETE] = "node.delete",
    [MT_OP_RC_ADD] = "rc.add",
    [MT_OP_RC_SET] = "rc.set",
    [MT_OP_RC_DEL] = "rc.del",
    [MT_OP_RC_GET] = "rc.get",
    [MT_OP_RC_LIST] = "rc.list",
    [MT_OP_CLUSTER_INFO] = "cluster.info",
    [MT_OP_REPLICA_STATS] = "replica.stats",
    [MT_OP_NODE_VERSIONS] = "node.versions",
    [MT_OP_NODE_CHANGES] = "node.changes",
};
#define NOPS (sizeof op_names / sizeof op_names[0])

const char *mt_op_name(mt_op_t op)
{
    return (unsigned) op < NOPS ? op_names[op] : "unknown";
}

/* ---- node operations --------------------------------------------------- */

/*  An optional template or image name: a string of 1-MT_STR_MAX bytes. */
static int opt_name(mt__codec_dec_t *d, const msgpack_object *body, const char *key,
                    const char **out)
{
    TRY(mt__codec_dec_opt_str(d, body, key, out));
    if (*out && (!**out || strlen(*out) > MT_STR_MAX))
        FAIL("%s: must be 1-%d bytes", key, MT_STR_MAX);
    return MT_OK;
}

static int node_register(mt__codec_dec_t *d, const msgpack_object *body, mt_msg_t **out)
{
    const msgpack_object *node = mt__codec_map_last(body, "node");
    if (!node)
        FAIL("node: required");
    if (node->type != MSGPACK_OBJECT_MAP)
        FAIL("node: expected a map");
    const char *id;
    mt_node_reg_t t;
    TRY(mt__codec_dec_node_id(d, node, &id));
    TRY(mt__codec_dec_reg(d, node, false, &t));
    *out = mt_node_req_register(id, mt_node_reg_build(&t));
    return MT_OK;
}

static int node_heartbeat(mt__codec_dec_t *d, const msgpack_object *body, mt_msg_t **out)
{
    const char *id;
    mt_node_status_t t;
    TRY(mt__codec_dec_node_id(d, body, &id));
    TRY(mt__codec_dec_status(d, body, false, &t));
    /*  Components: a node reports its versions with its status (stored
        only when they changed: the node actor compares digests). */
    mt_node_reg_t comp = { 0 };
    const msgpack_object *o;
    if ((o = mt__codec_map_last(body, "components")))
        TRY(mt__codec_dec_components(d, o, &comp));
    mt_node_live_t live = { 0 };
    bool has_live = false;
    if ((o = mt__codec_map_last(body, "metrics"))) {
        mt_int_pair_t *m;
        TRY(mt__codec_dec_int_map(d, o, "metrics", &m, &live.nmetrics));
        live.metrics = m;
        TRY(mt_node_live_check(&live, d->err, d->errlen));
        has_live = true;
    }
    *out = mt_node_req_heartbeat(id, mt_node_status_build(&t));
    mt_node_req_t *r = mt_node_req(*out);
    if (has_live)
        r->live = mt_node_live_build(&live);
    if (mt__codec_map_last(body, "components"))
        r->reg = mt_node_reg_build(&comp);
    return MT_OK;
}

static int node_labels(mt__codec_dec_t *d, const msgpack_object *body, mt_msg_t **out)
{
    const char *id;
    TRY(mt__codec_dec_node_id(d, body, &id));
    const msgpack_object *o;
    mt_node_reg_t set;
    bool has_set = false;
    if ((o = mt__codec_map_last(body, "set"))) {
        TRY(mt__codec_dec_labels(d, o, "set", &set));
        has_set = true;
    }
    const char **remove = NULL;
    uint32_t nremove = 0;
    if ((o = mt__codec_map_last(body, "remove"))) {
        TRY(mt__codec_dec_str_array(d, o, "remove", &remove, &nremove));
        if (nremove > MT_MAP_MAX)
            FAIL("remove: at most %d items", MT_MAP_MAX);
        for (uint32_t i = 0; i < nremove; i++) {
            size_t n = strlen(remove[i]);
            /*  Any key of a label's size, not only a valid one: labels
                stored before the syntax rules can still be removed. */
            if (n == 0 || n > MT_LABEL_KEY_MAX)
                FAIL("remove: label keys are 1-%d bytes", MT_LABEL_KEY_MAX);
        }
    }
    *out = mt_node_req_labels(id, has_set ? mt_node_reg_build(&set) : NULL, remove, nremove);
    return MT_OK;
}

static int node_list(mt__codec_dec_t *d, const msgpack_object *body, mt_msg_t **out)
{
    const msgpack_object *o;
    bool healthy_only = false, schedulable_only = false;
    if ((o = mt__codec_map_last(body, "healthy_only")))
        TRY(mt__codec_dec_bool(d, o, "healthy_only", &healthy_only));
    if ((o = mt__codec_map_last(body, "schedulable_only")))
        TRY(mt__codec_dec_bool(d, o, "schedulable_only", &schedulable_only));
    mt_node_reg_t sel;
    bool has_sel = false;
    if ((o = mt__codec_map_last(body, "selector"))) {
        TRY(mt__codec_dec_labels(d, o, "selector", &sel));
        has_sel = sel.nlabels > 0;
    }
    const char *after = "";
    if ((o = mt__codec_map_last(body, "after"))) {
        TRY(mt__codec_dec_str(d, o, "after", &after));
        char scratch[8];
        if (after[0] && mt_node_id_check(after, scratch, sizeof scratch) != MT_OK)
            FAIL("after: expected a node id (1-%d letters, digits, '.', '-', '_')",
                 MT_NODE_ID_MAX);
    }
    int64_t limit = 0;
    if ((o = mt__codec_map_last(body, "limit"))) {
        TRY(mt__codec_dec_i64(d, o, "limit", &limit));
        if (limit < 0 || limit > (int64_t) UINT32_MAX)
            FAIL("limit: must be 0-%u", UINT32_MAX);
    }
    const char *has_template = NULL, *has_image = NULL;
    TRY(opt_name(d, body, "has_template", &has_template));
    TRY(opt_name(d, body, "has_image", &has_image));
    *out = mt_node_req_list(healthy_only, has_sel ? mt_node_reg_build(&sel) : NULL, after,
                            (uint32_t) limit);
    mt_node_req(*out)->schedulable_only = schedulable_only;
    mt_node_req_list_has(*out, has_template, has_image);
    return MT_OK;
}

static int node_versions(mt__codec_dec_t *d, const msgpack_object *body, mt_msg_t **out)
{
    const msgpack_object *o;
    mt_node_reg_t sel;
    bool has_sel = false;
    if ((o = mt__codec_map_last(body, "selector"))) {
        TRY(mt__codec_dec_labels(d, o, "selector", &sel));
        has_sel = sel.nlabels > 0;
    }
    *out = mt_node_req_versions(has_sel ? mt_node_reg_build(&sel) : NULL);
    return MT_OK;
}

/*  PROTOCOL.md: node.changes' limit defaults to 10,000; more than that is
    refused rather than cut, so a client learns the bound. */
#define CHANGES_LIMIT_MAX 10000

static int node_changes(mt__codec_dec_t *d, const msgpack_object *body, mt_msg_t **out)
{
    const msgpack_object *o = mt__codec_map_last(body, "since");
    int64_t since = 0, limit = CHANGES_LIMIT_MAX;
    if (!o)
        FAIL("since: required");
    TRY(mt__codec_dec_i64(d, o, "since", &since));
    if (since < 0)
        FAIL("since: must not be negative");
    if ((o = mt__codec_map_last(body, "limit"))) {
        TRY(mt__codec_dec_i64(d, o, "limit", &limit));
        if (limit < 1 || limit > CHANGES_LIMIT_MAX)
            FAIL("limit: must be 1-%d", CHANGES_LIMIT_MAX);
    }
    *out = mt_node_req_changes(since, (uint32_t) limit);
    return MT_OK;
}

static int node_by_id(mt__codec_dec_t *d, const msgpack_object *body, bool del, mt_msg_t **out)
{
    const char *id;
    TRY(mt__codec_dec_node_id(d, body, &id));
    *out = del ? mt_node_req_delete(id) : mt_node_req_get(id);
    return MT_OK;
}

/* ---- the body ---------------------------------------------------------- */

static int find_op(mt__codec_dec_t *d, const msgpack_object *o, mt_op_t *op)
{
    const char *name;
    TRY(mt__codec_dec_str(d, o, "op", &name));
    for (size_t i = 0; i < NOPS; i++) {
        if (strcmp(name, op_names[i]) == 0) {
            *op = (mt_op_t) i;
            return MT_OK;
        }
    }
    /*  Echo the name when it is short; it is valid UTF-8 already. */
    if (strlen(name) <= 64)
        mt__codec_fail(d->err, d->errlen, "unknown op \"%s\"", name);
    else
        mt__codec_fail(d->err, d->errlen, "unknown op (a %zu-byte name)", strlen(name));
    return MT_EUNKNOWNOP;
}

static int decode(mt__codec_dec_t *d, const msgpack_object *body, mt_request_t *out)
{
    if (body->type != MSGPACK_OBJECT_MAP)
        FAIL("body: expected a map");
    bool bad_key = false;
    for (uint32_t i = 0; i < body->via.map.size; i++)
        bad_key |= body->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR;
    const msgpack_object *o = mt__codec_map_last(body, "rid");
    if (o) {
        TRY(mt__codec_dec_u64(d, o, "rid", &out->rid));
        out->has_rid = true;
    }
    if (bad_key)
        FAIL("body: keys must be strings");
    if (!(o = mt__codec_map_last(body, "op")))
        FAIL("op: required");
    TRY(find_op(d, o, &out->op));
    switch (out->op) {
    case MT_OP_NODE_REGISTER: return node_register(d, body, &out->msg);
    case MT_OP_NODE_HEARTBEAT: return node_heartbeat(d, body, &out->msg);
    case MT_OP_NODE_LABELS: return node_labels(d, body, &out->msg);
    case MT_OP_NODE_GET: return node_by_id(d, body, false, &out->msg);
    case MT_OP_NODE_DELETE: return node_by_id(d, body, true, &out->msg);
    case MT_OP_NODE_LIST: return node_list(d, body, &out->msg);
    case MT_OP_NODE_VERSIONS: return node_versions(d, body, &out->msg);
    case MT_OP_NODE_CHANGES: return node_changes(d, body, &out->msg);
    case MT_OP_RC_ADD: case MT_OP_RC_SET: case MT_OP_RC_DEL: case MT_OP_RC_GET:
    case MT_OP_RC_LIST:
        return mt__codec_dec_rc_request(d, body, out->op, &out->msg);
    default: return MT_OK;      /* cluster.info, replica.stats: the op is all */
    }
}

int mt_codec_decode_request(const void *body, size_t size, size_t max_size,
                            mt_request_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (max_size == 0)
        max_size = MT_CODEC_MAX_BODY_DEFAULT;
    if (size > max_size) {
        /*  A DEALER client matches replies by rid: find it without
            unpacking (no allocation), so even this answer can be matched. */
        out->has_rid = mt_codec_peek_rid(body, size, &out->rid);
        mt__codec_fail(err, errlen, "body: %zu bytes; the maximum is %zu", size, max_size);
        return MT_ETOOLARGE;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = mt__codec_unpack(body, size, &u, err, errlen);
    if (rc == MT_OK) {
        mt__codec_dec_t d = { u.zone, err, errlen };
        rc = decode(&d, &u.data, out);
    }
    mt__codec_unpack_done(&u);
    if (rc != MT_OK && out->msg)
        mt_msg_free(out->msg);
    if (rc != MT_OK)
        out->msg = NULL;
    return rc;
}
