/*  codec_reply.c — reply bodies and node views (PROTOCOL.md).

    {"ok": true,  "rid"?: n, "result": {...}}
    {"ok": false, "rid"?: n, "error": {"code": mt_err_code(err), "message": "..."}}

    A node view always carries every key of the table in PROTOCOL.md; a
    group the view does not hold (reg or status NULL) is written with its
    defaults: empty strings and maps, 0, false, revision 0. */
#include "codec_internal.h"

#include <string.h>

void mt__codec_pack_str(msgpack_packer *pk, const char *s)
{
    if (!s)
        s = "";
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

void mt__codec_pack_key_str(msgpack_packer *pk, const char *key, const char *value)
{
    mt__codec_pack_str(pk, key);
    mt__codec_pack_str(pk, value);
}

void mt__codec_pack_key_int(msgpack_packer *pk, const char *key, int64_t value)
{
    mt__codec_pack_str(pk, key);
    msgpack_pack_int64(pk, value);
}

static void pack_bool(msgpack_packer *pk, bool b)
{
    if (b)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

void mt__codec_reply_begin(msgpack_sbuffer *buf, msgpack_packer *pk, bool ok,
                     bool has_rid, uint64_t rid)
{
    msgpack_sbuffer_clear(buf);
    msgpack_packer_init(pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(pk, has_rid ? 3 : 2);
    mt__codec_pack_str(pk, "ok");
    pack_bool(pk, ok);
    if (has_rid) {
        mt__codec_pack_str(pk, "rid");
        msgpack_pack_uint64(pk, rid);
    }
    mt__codec_pack_str(pk, ok ? "result" : "error");
}

void mt_codec_encode_error(msgpack_sbuffer *buf, bool has_rid, uint64_t rid,
                           int err, const char *message)
{
    msgpack_packer pk;
    mt__codec_reply_begin(buf, &pk, false, has_rid, rid);
    msgpack_pack_map(&pk, 2);
    mt__codec_pack_str(&pk, "code");
    mt__codec_pack_str(&pk, mt_err_code(err));
    mt__codec_pack_str(&pk, "message");
    /*  Messages may quote client input; never send invalid UTF-8 back. */
    if (message && !mt_utf8_valid(message, strlen(message)))
        message = "(message not valid UTF-8)";
    mt__codec_pack_str(&pk, message ? message : "");
}

/* ---- node views -------------------------------------------------------- */

static void pack_str_map(msgpack_packer *pk, const mt_str_pair_t *m, uint32_t n)
{
    msgpack_pack_map(pk, n);
    for (uint32_t i = 0; i < n; i++) {
        mt__codec_pack_str(pk, m[i].key);
        mt__codec_pack_str(pk, m[i].value);
    }
}

static void pack_int_map(msgpack_packer *pk, const mt_int_pair_t *m, uint32_t n)
{
    msgpack_pack_map(pk, n);
    for (uint32_t i = 0; i < n; i++) {
        mt__codec_pack_str(pk, m[i].key);
        msgpack_pack_int64(pk, m[i].value);
    }
}

static void pack_str_array(msgpack_packer *pk, const char *const *a, uint32_t n)
{
    msgpack_pack_array(pk, n);
    for (uint32_t i = 0; i < n; i++)
        mt__codec_pack_str(pk, a[i]);
}

#define NODE_VIEW_KEYS 23

void mt_codec_pack_node_view(msgpack_packer *pk, const mt_node_view_t *view)
{
    static const mt_node_reg_t no_reg;
    static const mt_node_status_t no_status;
    const mt_node_reg_t *r = view->reg ? view->reg : &no_reg;
    const mt_node_status_t *s = view->status ? view->status : &no_status;
    char empty_hash[17];
    const char *hash = r->versions_hash;
    if (!view->reg) {
        mt_versions_hash(NULL, 0, empty_hash);
        hash = empty_hash;
    }

    msgpack_pack_map(pk, NODE_VIEW_KEYS);
    mt__codec_pack_key_str(pk, "id", view->id);
    /* registration */
    mt__codec_pack_key_str(pk, "host_ip", r->host_ip);
    mt__codec_pack_key_int(pk, "grpc_port", r->grpc_port);
    mt__codec_pack_key_str(pk, "instance_type", r->instance_type);
    mt__codec_pack_str(pk, "labels");
    pack_str_map(pk, r->labels, r->nlabels);
    mt__codec_pack_str(pk, "capacity");
    pack_int_map(pk, r->capacity, r->ncapacity);
    mt__codec_pack_str(pk, "quota");
    pack_int_map(pk, r->quota, r->nquota);
    mt__codec_pack_str(pk, "versions");
    pack_str_map(pk, r->versions, r->nversions);
    mt__codec_pack_key_str(pk, "versions_hash", hash);
    mt__codec_pack_str(pk, "components");
    msgpack_pack_array(pk, r->ncomponents);
    for (uint32_t i = 0; i < r->ncomponents; i++) {
        const mt_component_t *c = &r->components[i];
        msgpack_pack_map(pk, 5);
        mt__codec_pack_key_str(pk, "component", c->component);
        mt__codec_pack_key_str(pk, "version", c->version);
        mt__codec_pack_key_str(pk, "commit", c->commit);
        mt__codec_pack_key_str(pk, "build_time", c->build_time);
        mt__codec_pack_key_str(pk, "source", c->source);
    }
    mt__codec_pack_key_int(pk, "registered_at", r->registered_at);
    mt__codec_pack_key_int(pk, "reg_revision", r->reg_revision);
    /* status */
    mt__codec_pack_key_int(pk, "heartbeat_at", s->heartbeat_at);
    mt__codec_pack_key_int(pk, "seen_at", s->seen_at);
    mt__codec_pack_str(pk, "ready");
    pack_bool(pk, s->ready);
    mt__codec_pack_str(pk, "conditions");
    msgpack_pack_array(pk, s->nconditions);
    for (uint32_t i = 0; i < s->nconditions; i++) {
        const mt_condition_t *c = &s->conditions[i];
        msgpack_pack_map(pk, 4);
        mt__codec_pack_key_str(pk, "type", c->type);
        mt__codec_pack_key_str(pk, "status", c->status);
        mt__codec_pack_key_str(pk, "reason", c->reason);
        mt__codec_pack_key_str(pk, "message", c->message);
    }
    mt__codec_pack_str(pk, "images");
    pack_str_array(pk, s->images, s->nimages);
    mt__codec_pack_str(pk, "local_templates");
    pack_str_array(pk, s->local_templates, s->ntemplates);
    mt__codec_pack_key_int(pk, "status_revision", s->status_revision);
    /* live: never stored, from the heartbeat's replica by notices */
    mt__codec_pack_str(pk, "metrics");
    if (view->live)
        pack_int_map(pk, view->live->metrics, view->live->nmetrics);
    else
        msgpack_pack_map(pk, 0);
    mt__codec_pack_key_int(pk, "metrics_at", view->live ? view->live->metrics_at : 0);
    /* derived */
    mt__codec_pack_str(pk, "healthy");
    pack_bool(pk, view->healthy);
    mt__codec_pack_str(pk, "schedulable");
    pack_bool(pk, view->schedulable);
}

/*  {"components": {component: {version: count}}}: the matrix is sorted by
    component then version, so each component's versions are one run. */
static void pack_matrix(msgpack_packer *pk, const mt_node_reply_t *r)
{
    msgpack_pack_map(pk, 1);
    mt__codec_pack_str(pk, "components");
    uint32_t ncomp = 0;
    for (uint32_t i = 0; i < r->nmatrix; i++)
        ncomp += i == 0 || strcmp(r->matrix[i].component, r->matrix[i - 1].component) != 0;
    msgpack_pack_map(pk, ncomp);
    for (uint32_t i = 0; i < r->nmatrix;) {
        uint32_t j = i;
        while (j < r->nmatrix && strcmp(r->matrix[j].component, r->matrix[i].component) == 0)
            j++;
        mt__codec_pack_str(pk, r->matrix[i].component);
        msgpack_pack_map(pk, j - i);
        for (uint32_t k = i; k < j; k++)
            mt__codec_pack_key_int(pk, r->matrix[k].version, r->matrix[k].count);
        i = j;
    }
}

/*  {"changes": [{"change", "id", "revision", "view"?}, ...], "mark"}. */
static void pack_changes(msgpack_packer *pk, const mt_node_reply_t *r)
{
    msgpack_pack_map(pk, 2);
    mt__codec_pack_str(pk, "changes");
    msgpack_pack_array(pk, r->nchanges);
    for (uint32_t i = 0; i < r->nchanges; i++) {
        const mt_node_changed_t *c = &r->changes[i];
        bool deleted = c->change == MT_NODE_DELETED;
        msgpack_pack_map(pk, deleted ? 3 : 4);
        mt__codec_pack_key_str(pk, "change", deleted ? "delete" : "upsert");
        mt__codec_pack_key_str(pk, "id", c->view.id);
        mt__codec_pack_key_int(pk, "revision", c->revision);
        if (!deleted) {
            mt__codec_pack_str(pk, "view");
            mt_codec_pack_node_view(pk, &c->view);
        }
    }
    mt__codec_pack_key_int(pk, "mark", r->mark);
}

void mt_codec_encode_node_reply(msgpack_sbuffer *buf, bool has_rid, uint64_t rid,
                                mt_op_t op, const mt_node_reply_t *r)
{
    if (r->err != MT_OK) {
        mt_codec_encode_error(buf, has_rid, rid, r->err, r->message);
        return;
    }
    msgpack_packer pk;
    switch (op) {
    case MT_OP_NODE_REGISTER:
    case MT_OP_NODE_HEARTBEAT:
    case MT_OP_NODE_LABELS:
    case MT_OP_NODE_GET:
        mt__codec_reply_begin(buf, &pk, true, has_rid, rid);
        msgpack_pack_map(&pk, 1);
        mt__codec_pack_str(&pk, "node");
        mt_codec_pack_node_view(&pk, &r->view);
        return;
    case MT_OP_NODE_DELETE:
        mt__codec_reply_begin(buf, &pk, true, has_rid, rid);
        msgpack_pack_map(&pk, 0);
        return;
    case MT_OP_NODE_VERSIONS:
        mt__codec_reply_begin(buf, &pk, true, has_rid, rid);
        pack_matrix(&pk, r);
        return;
    case MT_OP_NODE_CHANGES:
        mt__codec_reply_begin(buf, &pk, true, has_rid, rid);
        pack_changes(&pk, r);
        return;
    case MT_OP_NODE_LIST: {
        mt__codec_reply_begin(buf, &pk, true, has_rid, rid);
        bool next = r->next[0] != '\0';
        msgpack_pack_map(&pk, next ? 3 : 2);
        mt__codec_pack_key_int(&pk, "revision", r->revision);
        mt__codec_pack_str(&pk, "nodes");
        msgpack_pack_array(&pk, r->nviews);
        for (uint32_t i = 0; i < r->nviews; i++)
            mt_codec_pack_node_view(&pk, &r->views[i]);
        if (next) {
            mt__codec_pack_str(&pk, "next");
            mt__codec_pack_str(&pk, r->next);
        }
        return;
    }
    default:
        mt_codec_encode_error(buf, has_rid, rid, MT_EINTERNAL, "node reply for a non-node op");
        return;
    }
}

/* ---- cluster ----------------------------------------------------------- */

void mt_codec_encode_cluster_info(msgpack_sbuffer *buf, bool has_rid, uint64_t rid,
                                  const mt_cluster_info_t *info)
{
    if (info->err != MT_OK) {
        mt_codec_encode_error(buf, has_rid, rid, info->err,
                              "cluster membership is not known yet");
        return;
    }
    msgpack_packer pk;
    mt__codec_reply_begin(buf, &pk, true, has_rid, rid);
    msgpack_pack_map(&pk, 3);
    mt__codec_pack_key_str(&pk, "cluster_uuid", info->cluster_uuid);
    mt__codec_pack_key_str(&pk, "replica_id", info->replica_id);
    mt__codec_pack_str(&pk, "members");
    msgpack_pack_array(&pk, info->nmembers);
    for (uint32_t i = 0; i < info->nmembers; i++) {
        const mt_member_t *m = &info->members[i];
        msgpack_pack_map(&pk, 5);
        mt__codec_pack_key_str(&pk, "replica_id", m->replica_id);
        mt__codec_pack_key_str(&pk, "endpoint", m->endpoint);
        mt__codec_pack_key_str(&pk, "pub_endpoint", m->pub_endpoint);
        /*  "" when the member runs without a certificate. */
        mt__codec_pack_key_str(&pk, "public_key", m->public_key);
        mt__codec_pack_str(&pk, "alive");
        pack_bool(&pk, m->alive);
    }
}

void mt_codec_encode_stats(msgpack_sbuffer *buf, bool has_rid, uint64_t rid,
                           const mt_stats_list_t *stats)
{
    msgpack_packer pk;
    mt__codec_reply_begin(buf, &pk, true, has_rid, rid);
    uint32_t n = stats ? stats->n : 0;
    msgpack_pack_map(&pk, n);
    for (uint32_t i = 0; i < n; i++) {
        mt__codec_pack_str(&pk, stats->stats[i].name);
        msgpack_pack_uint64(&pk, stats->stats[i].value);
    }
}
