/*  fuzz_notice.c — libFuzzer target: change notices from peers.

    For every input: mt_codec_decode_notice never crashes or leaks; an
    error comes with a message and no merge; a node notice that decodes
    round-trips: its merge's groups, encoded again as a notice and decoded,
    come back equal (ids, every field, revisions); so does an rc notice's
    reference (keys included; never with a password or client_secret). */
#include "fuzz_common.h"
#include "mt_key.h"

static bool str_pairs_equal(const mt_str_pair_t *a, const mt_str_pair_t *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(a[i].key, b[i].key) || strcmp(a[i].value, b[i].value))
            return false;
    return true;
}

static bool int_pairs_equal(const mt_int_pair_t *a, const mt_int_pair_t *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(a[i].key, b[i].key) || a[i].value != b[i].value)
            return false;
    return true;
}

static bool reg_equal(const mt_node_reg_t *a, const mt_node_reg_t *b)
{
    if (!a || !b)
        return a == b;
    return !strcmp(a->host_ip, b->host_ip) && a->grpc_port == b->grpc_port
        && !strcmp(a->instance_type, b->instance_type)
        && a->nlabels == b->nlabels && str_pairs_equal(a->labels, b->labels, a->nlabels)
        && a->ncapacity == b->ncapacity && int_pairs_equal(a->capacity, b->capacity, a->ncapacity)
        && a->nquota == b->nquota && int_pairs_equal(a->quota, b->quota, a->nquota)
        && a->nversions == b->nversions && str_pairs_equal(a->versions, b->versions, a->nversions)
        && !strcmp(a->versions_hash, b->versions_hash)
        && a->registered_at == b->registered_at && a->reg_revision == b->reg_revision;
}

static bool status_equal(const mt_node_status_t *a, const mt_node_status_t *b)
{
    if (!a || !b)
        return a == b;
    if (a->heartbeat_at != b->heartbeat_at || a->seen_at != b->seen_at || a->ready != b->ready
        || a->status_revision != b->status_revision || a->nconditions != b->nconditions
        || a->nimages != b->nimages || a->ntemplates != b->ntemplates)
        return false;
    for (uint32_t i = 0; i < a->nconditions; i++) {
        const mt_condition_t *x = &a->conditions[i], *y = &b->conditions[i];
        if (strcmp(x->type, y->type) || strcmp(x->status, y->status)
            || strcmp(x->reason, y->reason) || strcmp(x->message, y->message))
            return false;
    }
    for (uint32_t i = 0; i < a->nimages; i++)
        if (strcmp(a->images[i], b->images[i]))
            return false;
    for (uint32_t i = 0; i < a->ntemplates; i++)
        if (strcmp(a->local_templates[i], b->local_templates[i]))
            return false;
    return true;
}

static void round_trip(const mt_notice_t *n)
{
    mt_node_merge_t *m = mt_msg_data(n->merge);
    FUZZ_ASSERT(n->merge->type == MT_NODE_MERGE);
    char err[200];
    FUZZ_ASSERT(mt_node_id_check(m->id, err, sizeof err) == MT_OK);
    FUZZ_ASSERT(m->deleted == (n->change == MT_NODE_DELETED));
    FUZZ_ASSERT(!m->reg || m->reg->reg_revision > 0);
    FUZZ_ASSERT(!m->status || m->status->status_revision > 0);
    /*  Times are bounded: health arithmetic never overflows. */
    FUZZ_ASSERT(!m->status || (m->status->seen_at >= 0 && m->status->seen_at <= MT_TIME_MAX
                               && m->status->heartbeat_at >= 0
                               && m->status->heartbeat_at <= MT_TIME_MAX));

    mt_node_view_t view = { 0 };
    snprintf(view.id, sizeof view.id, "%s", m->id);
    view.reg = mt_node_reg_ref(m->reg);
    view.status = mt_node_status_ref(m->status);
    mt_msg_t *changed = mt_node_changed_new(n->change, n->revision, &view);
    mt_node_view_clear(&view);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_codec_encode_node_notice(&buf, n->replica, n->seq, mt_node_changed(changed));
    mt_msg_free(changed);
    fuzz_check_encoded(&buf);

    mt_notice_t again;
    int rc = mt_codec_decode_notice(buf.data, buf.size, &again, err, sizeof err);
    if (rc != MT_OK)
        fprintf(stderr, "re-decoding failed: %s\n", err);
    FUZZ_ASSERT(rc == MT_OK);
    msgpack_sbuffer_destroy(&buf);
    mt_node_merge_t *m2 = mt_msg_data(again.merge);
    FUZZ_ASSERT(!strcmp(again.replica, n->replica) && again.seq == n->seq && again.node);
    FUZZ_ASSERT(again.change == n->change && again.revision == n->revision);
    FUZZ_ASSERT(!strcmp(m2->id, m->id) && m2->deleted == m->deleted
                && m2->deleted_revision == m->deleted_revision);
    FUZZ_ASSERT(reg_equal(m->reg, m2->reg));
    FUZZ_ASSERT(status_equal(m->status, m2->status));
    mt_msg_free(again.merge);
}

static void rc_round_trip(const mt_notice_t *n)
{
    FUZZ_ASSERT(n->rc_merge->type == MT_RC_MERGE);
    mt_rc_t *ref = ((mt_rc_merge_t *) mt_msg_data(n->rc_merge))->ref;
    char err[200];
    FUZZ_ASSERT(ref && !ref->password && !ref->client_secret);
    FUZZ_ASSERT(mt_key_check("server_key", ref->server_key, err, sizeof err) == MT_OK);
    FUZZ_ASSERT(mt_key_check("client_public", ref->client_public, err, sizeof err) == MT_OK);
    FUZZ_ASSERT(ref->deleted == (n->change == MT_NODE_DELETED));
    FUZZ_ASSERT(ref->revision == n->revision);
    FUZZ_ASSERT(ref->id[0] && strlen(ref->id) <= MT_RC_ID_MAX);
    if (!ref->deleted) {
        FUZZ_ASSERT(mt_rc_name_check(ref->name, err, sizeof err) == MT_OK);
        FUZZ_ASSERT(mt_rc_endpoint_check(ref->hostname, err, sizeof err) == MT_OK);
    }
    FUZZ_ASSERT(ref->nnodes <= MT_RC_NODES_MAX);
    for (uint32_t i = 0; i < ref->nnodes; i++) {
        FUZZ_ASSERT(mt_rc_endpoint_check(ref->node_list[i], err, sizeof err) == MT_OK);
        FUZZ_ASSERT(i == 0 || strcmp(ref->node_list[i - 1], ref->node_list[i]) <= 0);
    }

    mt_msg_t *changed = mt_rc_changed_new(n->change, false, n->revision, mt_rc_ref(ref));
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_codec_encode_rc_notice(&buf, n->replica, n->seq, mt_msg_data(changed));
    mt_msg_free(changed);
    fuzz_check_encoded(&buf);
    mt_notice_t again;
    int rc = mt_codec_decode_notice(buf.data, buf.size, &again, err, sizeof err);
    if (rc != MT_OK)
        fprintf(stderr, "re-decoding failed: %s\n", err);
    FUZZ_ASSERT(rc == MT_OK);
    msgpack_sbuffer_destroy(&buf);
    FUZZ_ASSERT(!again.node && !again.merge && again.rc_merge);
    FUZZ_ASSERT(!strcmp(again.replica, n->replica) && again.seq == n->seq);
    FUZZ_ASSERT(again.change == n->change && again.revision == n->revision);
    mt_rc_t *r2 = ((mt_rc_merge_t *) mt_msg_data(again.rc_merge))->ref;
    FUZZ_ASSERT(!strcmp(r2->id, ref->id) && !strcmp(r2->name, ref->name)
                && !strcmp(r2->hostname, ref->hostname) && !strcmp(r2->uuid, ref->uuid)
                && !strcmp(r2->username, ref->username) && !r2->password && !r2->client_secret
                && !strcmp(r2->server_key, ref->server_key)
                && !strcmp(r2->client_public, ref->client_public)
                && r2->demand_encryption == ref->demand_encryption
                && r2->deleted == ref->deleted && r2->revision == ref->revision
                && r2->refreshed_at == ref->refreshed_at && r2->nnodes == ref->nnodes);
    for (uint32_t i = 0; i < ref->nnodes; i++)
        FUZZ_ASSERT(!strcmp(r2->node_list[i], ref->node_list[i]));
    mt_msg_free(again.rc_merge);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[200];
    mt_notice_t n;
    int rc = mt_codec_decode_notice(data, size, &n, err, sizeof err);
    FUZZ_ASSERT(rc == MT_OK || rc == MT_EBADREQ || rc == MT_ETOOLARGE);
    if (rc == MT_OK) {
        FUZZ_ASSERT(err[0] == '\0');
        FUZZ_ASSERT(n.node == (n.merge != NULL));
        FUZZ_ASSERT(!n.node == (n.rc_merge != NULL));
        FUZZ_ASSERT(n.replica[0] && n.revision >= 0);
        if (n.merge) {
            round_trip(&n);
            mt_msg_free(n.merge);
        }
        if (n.rc_merge) {
            rc_round_trip(&n);
            mt_msg_free(n.rc_merge);
        }
    } else {
        FUZZ_ASSERT(n.merge == NULL && n.rc_merge == NULL);
        fuzz_check_message(err, sizeof err);
    }
    fuzz_check_raw(data, size);
    return 0;
}
