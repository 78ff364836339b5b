/*  fuzz_request.c — libFuzzer target: request bodies from anyone.

    For every input: mt_codec_decode_request must return one of its four
    codes, never crash, leak or read out of bounds (ASan, UBSan); an error
    comes with a UTF-8 message and no message object; a success builds an
    MT_NODE_REQ exactly for the node ops, whose groups pass the model's
    validation and whose labels and selector follow the label syntax; an MT_RC_REQ exactly for the rc ops, whose selector, names
    and endpoints pass the reference checks, and whose replies and notices,
    built around a reference holding a password, never carry it; replies
    built from what was decoded are well-formed msgpack and JSON.
    Independently, mt_codec_check agrees with msgpack-c.

    Build and run: scripts/fuzz [seconds] (see tests/transport/CMakeLists.txt). */
#include "fuzz_common.h"
#include "mt_key.h"
#include "mt_labels.h"

static void check_request(const mt_request_t *req)
{
    mt_node_req_t *r = mt_node_req(req->msg);
    char err[200];
    FUZZ_ASSERT(req->msg->type == MT_NODE_REQ);
    static const mt_node_op_t node_op[] = {
        [MT_OP_NODE_REGISTER] = MT_NODE_OP_REGISTER, [MT_OP_NODE_HEARTBEAT] = MT_NODE_OP_HEARTBEAT,
        [MT_OP_NODE_LABELS] = MT_NODE_OP_LABELS, [MT_OP_NODE_GET] = MT_NODE_OP_GET,
        [MT_OP_NODE_LIST] = MT_NODE_OP_LIST, [MT_OP_NODE_DELETE] = MT_NODE_OP_DELETE,
        [MT_OP_NODE_VERSIONS] = MT_NODE_OP_VERSIONS, [MT_OP_NODE_CHANGES] = MT_NODE_OP_CHANGES,
    };
    FUZZ_ASSERT(r->op == node_op[req->op]);
    bool by_id = r->op != MT_NODE_OP_LIST && r->op != MT_NODE_OP_VERSIONS
              && r->op != MT_NODE_OP_CHANGES;
    if (by_id)
        FUZZ_ASSERT(mt_node_id_check(r->id, err, sizeof err) == MT_OK);
    else if (r->after[0])
        FUZZ_ASSERT(mt_node_id_check(r->after, err, sizeof err) == MT_OK);
    if (r->reg)
        FUZZ_ASSERT(mt_node_reg_check(r->reg, err, sizeof err) == MT_OK
                    && mt_labels_check("labels", r->reg->labels, r->reg->nlabels, err,
                                       sizeof err) == MT_OK);
    if (r->status)
        FUZZ_ASSERT(mt_node_status_check(r->status, err, sizeof err) == MT_OK);
    if (r->selector)
        FUZZ_ASSERT(mt_node_reg_check(r->selector, err, sizeof err) == MT_OK
                    && mt_labels_check("selector", r->selector->labels, r->selector->nlabels,
                                       err, sizeof err) == MT_OK);
    /*  A heartbeat's reg carries its components only. */
    FUZZ_ASSERT((r->op == MT_NODE_OP_REGISTER) == (r->reg != NULL) || r->op == MT_NODE_OP_LABELS
                || r->op == MT_NODE_OP_HEARTBEAT);
    if (r->live)
        FUZZ_ASSERT(r->op == MT_NODE_OP_HEARTBEAT
                    && mt_node_live_check(r->live, err, sizeof err) == MT_OK);
    if (r->has_template)
        FUZZ_ASSERT(r->has_template[0] && strlen(r->has_template) <= MT_STR_MAX);
    if (r->has_image)
        FUZZ_ASSERT(r->has_image[0] && strlen(r->has_image) <= MT_STR_MAX);
    if (r->op == MT_NODE_OP_CHANGES)
        FUZZ_ASSERT(r->since >= 0 && r->limit >= 1 && r->limit <= 10000);
    FUZZ_ASSERT((r->op == MT_NODE_OP_HEARTBEAT) == (r->status != NULL));
    for (uint32_t i = 0; i < r->nremove; i++)
        FUZZ_ASSERT(r->remove[i][0] && strlen(r->remove[i]) <= MT_LABEL_KEY_MAX
                    && mt_utf8_valid(r->remove[i], strlen(r->remove[i])));

    /* a reply carrying what was decoded */
    mt_msg_t *reply = mt_node_reply_new(MT_OK, NULL);
    mt_node_reply_t *out = mt_node_reply(reply);
    mt_node_view_t *v = &out->view;
    if (r->op == MT_NODE_OP_LIST) {
        out->nviews = 1;
        out->views = calloc(1, sizeof *out->views);
        FUZZ_ASSERT(out->views);
        v = &out->views[0];
        snprintf(out->next, sizeof out->next, "%s", r->after);
    }
    snprintf(v->id, sizeof v->id, "%s", by_id ? r->id : r->after[0] ? r->after : "n");
    v->reg = mt_node_reg_ref(by_id ? r->reg : r->selector);
    v->status = mt_node_status_ref(r->status);
    v->live = mt_node_live_ref(r->live);
    v->healthy = r->healthy_only;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_codec_encode_node_reply(&buf, req->has_rid, req->rid, req->op, out);
    fuzz_check_encoded(&buf);
    msgpack_sbuffer_destroy(&buf);
    mt_msg_free(reply);
}

static bool utf8_str(const char *s)
{
    return mt_utf8_valid(s, strlen(s));
}

static bool id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MT_RC_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')
              || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-'))
            return false;
    return true;
}

#define SENTINEL "\x01\x02fuzz-password\x03"
#define SECRET_SENTINEL "\x01\x02fuzz-client-secret\x03"

static void check_rc_request(const mt_request_t *req)
{
    FUZZ_ASSERT(req->msg->type == MT_RC_REQ);
    mt_rc_req_t *r = mt_rc_req(req->msg);
    char err[200];
    static const mt_rc_op_t rc_op[] = {
        [MT_OP_RC_ADD] = MT_RC_OP_ADD, [MT_OP_RC_SET] = MT_RC_OP_SET, [MT_OP_RC_DEL] = MT_RC_OP_DEL,
        [MT_OP_RC_GET] = MT_RC_OP_GET, [MT_OP_RC_LIST] = MT_RC_OP_LIST,
    };
    FUZZ_ASSERT(r->op == rc_op[req->op]);
    /* selectors */
    if (r->id[0])
        FUZZ_ASSERT(id_ok(r->id));
    if (r->uuid[0])
        FUZZ_ASSERT(id_ok(r->uuid) && r->op == MT_RC_OP_GET);
    if (r->name[0])
        FUZZ_ASSERT(mt_rc_name_check(r->name, err, sizeof err) == MT_OK && utf8_str(r->name));
    if (r->new_name[0])
        FUZZ_ASSERT(mt_rc_name_check(r->new_name, err, sizeof err) == MT_OK
                    && utf8_str(r->new_name) && r->op == MT_RC_OP_SET);
    switch (r->op) {
    case MT_RC_OP_ADD:
        FUZZ_ASSERT(r->name[0] && r->hostname && !r->id[0]);
        break;
    case MT_RC_OP_SET:
        FUZZ_ASSERT(r->id[0] || r->name[0]);
        FUZZ_ASSERT(r->hostname || r->username || r->password || r->has_demand_encryption
                    || r->server_key || r->client_public || r->new_name[0]);
        break;
    case MT_RC_OP_DEL:
        FUZZ_ASSERT(r->id[0] || r->name[0]);
        FUZZ_ASSERT(!r->hostname && !r->username && !r->password && !r->has_demand_encryption
                    && !r->server_key && !r->client_public && !r->client_secret);
        break;
    case MT_RC_OP_GET:
        FUZZ_ASSERT(r->id[0] || r->name[0] || r->uuid[0]);
        FUZZ_ASSERT(!r->hostname && !r->username && !r->password && !r->server_key
                    && !r->client_secret);
        break;
    case MT_RC_OP_LIST:
        FUZZ_ASSERT(!r->id[0] && !r->name[0] && !r->uuid[0] && !r->hostname);
        break;
    }
    if (r->hostname)
        FUZZ_ASSERT(mt_rc_endpoint_check(r->hostname, err, sizeof err) == MT_OK
                    && utf8_str(r->hostname));
    if (r->username)
        FUZZ_ASSERT(strlen(r->username) <= 255 && utf8_str(r->username));
    if (r->password)
        FUZZ_ASSERT(strlen(r->password) <= 1024 && utf8_str(r->password));
    /* keys: valid or empty; the client pair complete and matching */
    FUZZ_ASSERT(mt_key_check("server_key", r->server_key, err, sizeof err) == MT_OK);
    FUZZ_ASSERT(!r->client_public == !r->client_secret);
    if (r->client_public)
        FUZZ_ASSERT(mt_key_pair_check(r->client_public, r->client_secret, err, sizeof err)
                    == MT_OK);
    if (r->op == MT_RC_OP_ADD && r->demand_encryption)
        FUZZ_ASSERT(r->server_key && r->server_key[0]);
    FUZZ_ASSERT(!r->has_revision || r->revision >= 1);
    FUZZ_ASSERT(r->has_revision || r->revision == 0);

    /* replies and notices around a reference that holds a password */
    mt_rc_t t = {
        .id = r->id, .name = r->new_name[0] ? r->new_name : r->name, .hostname = r->hostname,
        .uuid = r->uuid, .username = r->username, .password = SENTINEL,
        .server_key = r->server_key, .client_public = r->client_public,
        .client_secret = SECRET_SENTINEL,
        .demand_encryption = r->demand_encryption, .revision = r->revision,
    };
    if (r->hostname) {
        t.nnodes = 1;
        t.node_list = (const char *const *) &r->hostname;
    }
    mt_rc_t *ref = mt_rc_build(&t);
    /* (a client's value may contain the sentinel: then it proves nothing) */
    bool quoted = (r->hostname && strstr(r->hostname, SENTINEL))
                  || (r->username && strstr(r->username, SENTINEL));
    bool quoted_secret = r->username && strstr(r->username, SECRET_SENTINEL);
    mt_msg_t *reply = mt_rc_reply_new(MT_OK, NULL);
    mt_rc_reply_t *out = mt_rc_reply(reply);
    out->ref = mt_rc_ref(ref);
    out->nrefs = 1;
    out->refs = calloc(1, sizeof *out->refs);
    FUZZ_ASSERT(out->refs);
    out->refs[0] = mt_rc_ref(ref);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_codec_encode_rc_reply(&buf, req->has_rid, req->rid, req->op, out);
    fuzz_check_encoded(&buf);
    FUZZ_ASSERT(quoted || !memmem(buf.data, buf.size, SENTINEL, strlen(SENTINEL)));
    FUZZ_ASSERT(quoted_secret
                || !memmem(buf.data, buf.size, SECRET_SENTINEL, strlen(SECRET_SENTINEL)));
    mt_msg_free(reply);
    mt_msg_t *changed = mt_rc_changed_new(r->op == MT_RC_OP_DEL ? MT_NODE_DELETED : MT_NODE_UPSERT,
                                          true, r->revision, ref);
    mt_codec_encode_rc_notice(&buf, "fuzz", 1, mt_msg_data(changed));
    fuzz_check_encoded(&buf);
    FUZZ_ASSERT(quoted || !memmem(buf.data, buf.size, SENTINEL, strlen(SENTINEL)));
    FUZZ_ASSERT(quoted_secret
                || !memmem(buf.data, buf.size, SECRET_SENTINEL, strlen(SECRET_SENTINEL)));
    mt_msg_free(changed);
    msgpack_sbuffer_destroy(&buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[200];
    mt_request_t req;
    int rc = mt_codec_decode_request(data, size, 0, &req, err, sizeof err);
    FUZZ_ASSERT(rc == MT_OK || rc == MT_EBADREQ || rc == MT_EUNKNOWNOP || rc == MT_ETOOLARGE);
    bool full_rid = rc == MT_OK && req.has_rid;
    uint64_t rid = req.rid;
    if (rc == MT_OK) {
        FUZZ_ASSERT(err[0] == '\0');
        FUZZ_ASSERT((req.op <= MT_OP_RC_LIST) == (req.msg != NULL));
        if (req.msg) {
            if (req.op <= MT_OP_NODE_DELETE)
                check_request(&req);
            else
                check_rc_request(&req);
            mt_msg_free(req.msg);
        }
    } else {
        FUZZ_ASSERT(req.msg == NULL);
        fuzz_check_message(err, sizeof err);
        msgpack_sbuffer buf;
        msgpack_sbuffer_init(&buf);
        mt_codec_encode_error(&buf, req.has_rid, req.rid, rc, err);
        fuzz_check_encoded(&buf);
        msgpack_sbuffer_destroy(&buf);
    }
    /* a limit smaller than the body: too_large, nothing unpacked, but the
       rid found when a full decode finds one, and the same one
       (max_size 0 means the default, so only from 2 bytes on) */
    if (size > 1) {
        rc = mt_codec_decode_request(data, size, size - 1, &req, err, sizeof err);
        FUZZ_ASSERT(rc == MT_ETOOLARGE && !req.msg);
        FUZZ_ASSERT(!full_rid || (req.has_rid && req.rid == rid));
    }
    fuzz_check_raw(data, size);
    return 0;
}
