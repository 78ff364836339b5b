/*  fuzz_request.c — libFuzzer target: request bodies from anyone.

    For every input: mt_codec_decode_request must return one of its four
    codes, never crash, leak or read out of bounds (ASan, UBSan); an error
    comes with a UTF-8 message and no message object; a success builds an
    MT_NODE_REQ exactly for the node ops, whose groups pass the model's
    validation; replies built from what was decoded are well-formed msgpack
    and JSON. Independently, mt_codec_check agrees with msgpack-c.

    Build and run: scripts/fuzz [seconds] (see tests/transport/CMakeLists.txt). */
#include "fuzz_common.h"

static void check_request(const mt_request_t *req)
{
    mt_node_req_t *r = mt_node_req(req->msg);
    char err[200];
    FUZZ_ASSERT(req->msg->type == MT_NODE_REQ);
    static const mt_node_op_t node_op[] = {
        [MT_OP_NODE_REGISTER] = MT_NODE_OP_REGISTER, [MT_OP_NODE_HEARTBEAT] = MT_NODE_OP_HEARTBEAT,
        [MT_OP_NODE_LABELS] = MT_NODE_OP_LABELS, [MT_OP_NODE_GET] = MT_NODE_OP_GET,
        [MT_OP_NODE_LIST] = MT_NODE_OP_LIST, [MT_OP_NODE_DELETE] = MT_NODE_OP_DELETE,
    };
    FUZZ_ASSERT(r->op == node_op[req->op]);
    if (r->op != MT_NODE_OP_LIST)
        FUZZ_ASSERT(mt_node_id_check(r->id, err, sizeof err) == MT_OK);
    else if (r->after[0])
        FUZZ_ASSERT(mt_node_id_check(r->after, err, sizeof err) == MT_OK);
    if (r->reg)
        FUZZ_ASSERT(mt_node_reg_check(r->reg, err, sizeof err) == MT_OK);
    if (r->status)
        FUZZ_ASSERT(mt_node_status_check(r->status, err, sizeof err) == MT_OK);
    if (r->selector)
        FUZZ_ASSERT(mt_node_reg_check(r->selector, err, sizeof err) == MT_OK);
    FUZZ_ASSERT((r->op == MT_NODE_OP_REGISTER) == (r->reg != NULL) || r->op == MT_NODE_OP_LABELS);
    FUZZ_ASSERT((r->op == MT_NODE_OP_HEARTBEAT) == (r->status != NULL));
    for (uint32_t i = 0; i < r->nremove; i++)
        FUZZ_ASSERT(r->remove[i][0] && mt__utf8_valid(r->remove[i], strlen(r->remove[i])));

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
    snprintf(v->id, sizeof v->id, "%s", r->op == MT_NODE_OP_LIST ? r->after : r->id);
    v->reg = mt_node_reg_ref(r->op == MT_NODE_OP_LIST ? r->selector : r->reg);
    v->status = mt_node_status_ref(r->status);
    v->healthy = r->healthy_only;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_codec_encode_node_reply(&buf, req->has_rid, req->rid, req->op, out);
    fuzz_check_encoded(&buf);
    msgpack_sbuffer_destroy(&buf);
    mt_msg_free(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[200];
    mt_request_t req;
    int rc = mt_codec_decode_request(data, size, 0, &req, err, sizeof err);
    FUZZ_ASSERT(rc == MT_OK || rc == MT_EBADREQ || rc == MT_EUNKNOWNOP || rc == MT_ETOOLARGE);
    if (rc == MT_OK) {
        FUZZ_ASSERT(err[0] == '\0');
        FUZZ_ASSERT((req.op <= MT_OP_NODE_DELETE) == (req.msg != NULL));
        if (req.msg) {
            check_request(&req);
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
    /* a limit smaller than the body: too_large, before anything is read
       (max_size 0 means the default, so only from 2 bytes on) */
    if (size > 1) {
        rc = mt_codec_decode_request(data, size, size - 1, &req, err, sizeof err);
        FUZZ_ASSERT(rc == MT_ETOOLARGE && !req.has_rid && !req.msg);
    }
    fuzz_check_raw(data, size);
    return 0;
}
