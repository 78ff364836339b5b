/*  test_codec_reply.c — reply bodies: encode with the codec, unpack with
    msgpack-c, check every key and type against PROTOCOL.md. */
#include "mt_check.h"
#include <check.h>
#include <stdlib.h>

#include "codec_testutil.h"
#include "mt_codec.h"

/* ---- fixtures ---------------------------------------------------------- */

static mt_node_reg_t *full_reg(void)
{
    mt_str_pair_t labels[] = { { "zone", "a" }, { "gpu", "no" } };
    mt_int_pair_t capacity[] = { { "cpu_milli", 4000 }, { "memory_mb", 16384 } };
    mt_int_pair_t quota[] = { { "pods", 110 } };
    mt_str_pair_t versions[] = { { "agent", "1.2.3" } };
    mt_node_reg_t t = {
        .host_ip = "10.0.0.1", .grpc_port = 9090, .instance_type = "m5.large",
        .labels = labels, .nlabels = 2, .capacity = capacity, .ncapacity = 2,
        .quota = quota, .nquota = 1, .versions = versions, .nversions = 1,
        .registered_at = 1700000000000LL, .reg_revision = 7,
    };
    return mt_node_reg_build(&t);
}

static mt_node_status_t *full_status(void)
{
    mt_condition_t conds[] = { { "Disk", "True", "pressure", "90% full" } };
    const char *images[] = { "a:1", "b:2" };
    const char *tpls[] = { "t1" };
    mt_node_status_t t = {
        .heartbeat_at = 1700000000500LL, .seen_at = 1700000000600LL, .ready = true,
        .conditions = conds, .nconditions = 1, .images = images, .nimages = 2,
        .local_templates = tpls, .ntemplates = 1, .status_revision = 3,
    };
    return mt_node_status_build(&t);
}

static void full_view(mt_node_view_t *v, const char *id)
{
    memset(v, 0, sizeof *v);
    snprintf(v->id, sizeof v->id, "%s", id);
    v->reg = full_reg();
    v->status = full_status();
    v->healthy = true;
    v->schedulable = true;
}

/* ---- checks ------------------------------------------------------------ */

static const msgpack_object *key(const msgpack_object *map, const char *k, msgpack_object_type type)
{
    const msgpack_object *o = mp_get(map, k);
    ck_assert_msg(o, "key %s missing", k);
    ck_assert_msg(o->type == type, "key %s: type %d, expected %d", k, o->type, type);
    return o;
}

static int64_t int_of(const msgpack_object *o)
{
    ck_assert(o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER);
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t) o->via.u64 : o->via.i64;
}

static int64_t int_key(const msgpack_object *map, const char *k)
{
    const msgpack_object *o = mp_get(map, k);
    ck_assert_msg(o, "key %s missing", k);
    return int_of(o);
}

/*  Unpacks buf and checks the reply envelope; returns result or error. */
static const msgpack_object *envelope(msgpack_unpacked *u, const msgpack_sbuffer *buf,
                                      bool ok, bool has_rid, uint64_t rid)
{
    char err[200];
    ck_assert_msg(mt_codec_check(buf->data, buf->size, err, sizeof err) == MT_OK, "%s", err);
    msgpack_unpacked_init(u);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(u, buf->data, buf->size, &off), MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, buf->size);
    const msgpack_object *root = &u->data;
    ck_assert_int_eq(root->type, MSGPACK_OBJECT_MAP);
    ck_assert_uint_eq(root->via.map.size, has_rid ? 3 : 2);
    ck_assert_int_eq(key(root, "ok", MSGPACK_OBJECT_BOOLEAN)->via.boolean, ok);
    if (has_rid)
        ck_assert_uint_eq(key(root, "rid", MSGPACK_OBJECT_POSITIVE_INTEGER)->via.u64, rid);
    else
        ck_assert_ptr_null(mp_get(root, "rid"));
    return key(root, ok ? "result" : "error", MSGPACK_OBJECT_MAP);
}

static void check_error(const msgpack_sbuffer *buf, bool has_rid, uint64_t rid,
                        const char *code, const char *message)
{
    msgpack_unpacked u;
    const msgpack_object *e = envelope(&u, buf, false, has_rid, rid);
    ck_assert_uint_eq(e->via.map.size, 2);
    ck_assert(mp_str_is(key(e, "code", MSGPACK_OBJECT_STR), code));
    ck_assert(mp_str_is(key(e, "message", MSGPACK_OBJECT_STR), message));
    msgpack_unpacked_destroy(&u);
}

static void check_str_map(const msgpack_object *m, const mt_str_pair_t *p, uint32_t n)
{
    ck_assert_uint_eq(m->via.map.size, n);
    for (uint32_t i = 0; i < n; i++)
        ck_assert(mp_str_is(mp_get(m, p[i].key), p[i].value));
}

static void check_int_map(const msgpack_object *m, const mt_int_pair_t *p, uint32_t n)
{
    ck_assert_uint_eq(m->via.map.size, n);
    for (uint32_t i = 0; i < n; i++)
        ck_assert_int_eq(int_key(m, p[i].key), p[i].value);
}

static void check_str_array(const msgpack_object *a, const char *const *s, uint32_t n)
{
    ck_assert_uint_eq(a->via.array.size, n);
    for (uint32_t i = 0; i < n; i++)
        ck_assert(mp_str_is(&a->via.array.ptr[i], s[i]));
}

/*  Every key of PROTOCOL.md's node view, with its type and value. */
static void check_view(const msgpack_object *v, const mt_node_view_t *view)
{
    static const mt_node_reg_t no_reg;
    static const mt_node_status_t no_status;
    const mt_node_reg_t *r = view->reg ? view->reg : &no_reg;
    const mt_node_status_t *s = view->status ? view->status : &no_status;
    ck_assert_int_eq(v->type, MSGPACK_OBJECT_MAP);
    ck_assert_uint_eq(v->via.map.size, 23);
    ck_assert(mp_str_is(key(v, "id", MSGPACK_OBJECT_STR), view->id));
    ck_assert(mp_str_is(key(v, "host_ip", MSGPACK_OBJECT_STR), r->host_ip ? r->host_ip : ""));
    ck_assert_int_eq(int_of(key(v, "grpc_port", MSGPACK_OBJECT_POSITIVE_INTEGER)), r->grpc_port);
    ck_assert(mp_str_is(key(v, "instance_type", MSGPACK_OBJECT_STR),
                        r->instance_type ? r->instance_type : ""));
    check_str_map(key(v, "labels", MSGPACK_OBJECT_MAP), r->labels, r->nlabels);
    check_int_map(key(v, "capacity", MSGPACK_OBJECT_MAP), r->capacity, r->ncapacity);
    check_int_map(key(v, "quota", MSGPACK_OBJECT_MAP), r->quota, r->nquota);
    check_str_map(key(v, "versions", MSGPACK_OBJECT_MAP), r->versions, r->nversions);
    char hash[17];
    mt_versions_hash(r->versions, r->nversions, hash);
    ck_assert(mp_str_is(key(v, "versions_hash", MSGPACK_OBJECT_STR), hash));
    ck_assert_int_eq(int_of(key(v, "registered_at", MSGPACK_OBJECT_POSITIVE_INTEGER)), r->registered_at);
    ck_assert_int_eq(int_of(key(v, "reg_revision", MSGPACK_OBJECT_POSITIVE_INTEGER)), r->reg_revision);
    ck_assert_int_eq(int_of(key(v, "heartbeat_at", MSGPACK_OBJECT_POSITIVE_INTEGER)), s->heartbeat_at);
    ck_assert_int_eq(int_of(key(v, "seen_at", MSGPACK_OBJECT_POSITIVE_INTEGER)), s->seen_at);
    ck_assert_int_eq(key(v, "ready", MSGPACK_OBJECT_BOOLEAN)->via.boolean, s->ready);
    const msgpack_object *conds = key(v, "conditions", MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(conds->via.array.size, s->nconditions);
    for (uint32_t i = 0; i < s->nconditions; i++) {
        const msgpack_object *c = &conds->via.array.ptr[i];
        ck_assert_uint_eq(c->via.map.size, 4);
        ck_assert(mp_str_is(key(c, "type", MSGPACK_OBJECT_STR), s->conditions[i].type));
        ck_assert(mp_str_is(key(c, "status", MSGPACK_OBJECT_STR), s->conditions[i].status));
        ck_assert(mp_str_is(key(c, "reason", MSGPACK_OBJECT_STR), s->conditions[i].reason));
        ck_assert(mp_str_is(key(c, "message", MSGPACK_OBJECT_STR), s->conditions[i].message));
    }
    check_str_array(key(v, "images", MSGPACK_OBJECT_ARRAY), s->images, s->nimages);
    check_str_array(key(v, "local_templates", MSGPACK_OBJECT_ARRAY), s->local_templates, s->ntemplates);
    ck_assert_int_eq(int_of(key(v, "status_revision", MSGPACK_OBJECT_POSITIVE_INTEGER)),
                     s->status_revision);
    ck_assert_int_eq(key(v, "healthy", MSGPACK_OBJECT_BOOLEAN)->via.boolean, view->healthy);
    ck_assert_int_eq(key(v, "schedulable", MSGPACK_OBJECT_BOOLEAN)->via.boolean,
                     view->schedulable);
}

/* ---- tests ------------------------------------------------------------- */

START_TEST(error_replies)
{
    static const struct { int err; const char *code; } codes[] = {
        { MT_EBADREQ, "bad_request" }, { MT_EUNKNOWNOP, "unknown_op" },
        { MT_ENOTFOUND, "not_found" }, { MT_ECONFLICT, "conflict" },
        { MT_EUNAVAIL, "unavailable" }, { MT_ETOOLARGE, "too_large" },
        { MT_EUNAUTH, "unauthorized" }, { MT_EINTERNAL, "internal" },
        { MT_ENOENT, "not_found" }, { MT_ETIMEDOUT, "unavailable" }, { 12345, "internal" },
    };
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        mt_codec_encode_error(&buf, true, 77, codes[i].err, "what happened");
        check_error(&buf, true, 77, codes[i].code, "what happened");
    }
    mt_codec_encode_error(&buf, false, 0, MT_EBADREQ, NULL);
    check_error(&buf, false, 0, "bad_request", "");
    mt_codec_encode_error(&buf, true, UINT64_MAX, MT_EBADREQ, "x");
    check_error(&buf, true, UINT64_MAX, "bad_request", "x");
    /* a message that is not UTF-8 is not sent as is */
    mt_codec_encode_error(&buf, false, 0, MT_EINTERNAL, "bad \xff byte");
    check_error(&buf, false, 0, "internal", "(message not valid UTF-8)");
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

START_TEST(node_views)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    static const mt_op_t ops[] = { MT_OP_NODE_REGISTER, MT_OP_NODE_HEARTBEAT, MT_OP_NODE_LABELS,
                                   MT_OP_NODE_GET };
    mt_msg_t *reply = mt_node_reply_new(MT_OK, NULL);
    mt_node_reply_t *r = mt_node_reply(reply);
    full_view(&r->view, "n-1");
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        mt_codec_encode_node_reply(&buf, i % 2, i, ops[i], r);
        msgpack_unpacked u;
        const msgpack_object *res = envelope(&u, &buf, true, i % 2, i);
        ck_assert_uint_eq(res->via.map.size, 1);
        check_view(key(res, "node", MSGPACK_OBJECT_MAP), &r->view);
        msgpack_unpacked_destroy(&u);
    }
    mt_msg_free(reply);

    /* groups missing: their defaults */
    reply = mt_node_reply_new(MT_OK, NULL);
    r = mt_node_reply(reply);
    snprintf(r->view.id, sizeof r->view.id, "bare");
    mt_codec_encode_node_reply(&buf, false, 0, MT_OP_NODE_GET, r);
    msgpack_unpacked u;
    const msgpack_object *res = envelope(&u, &buf, true, false, 0);
    const msgpack_object *v = key(res, "node", MSGPACK_OBJECT_MAP);
    check_view(v, &r->view);
    ck_assert_int_eq(int_key(v, "heartbeat_at"), 0);
    ck_assert(!mp_get(v, "ready")->via.boolean);
    ck_assert_uint_eq(mp_get(v, "images")->via.array.size, 0);
    ck_assert_int_eq(int_key(v, "status_revision"), 0);
    msgpack_unpacked_destroy(&u);
    /* the registration group present, the status group not yet */
    r->view.reg = full_reg();
    mt_codec_encode_node_reply(&buf, false, 0, MT_OP_NODE_REGISTER, r);
    res = envelope(&u, &buf, true, false, 0);
    check_view(key(res, "node", MSGPACK_OBJECT_MAP), &r->view);
    msgpack_unpacked_destroy(&u);
    mt_msg_free(reply);
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

START_TEST(delete_and_errors)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_msg_t *reply = mt_node_reply_new(MT_OK, NULL);
    mt_codec_encode_node_reply(&buf, true, 5, MT_OP_NODE_DELETE, mt_node_reply(reply));
    msgpack_unpacked u;
    const msgpack_object *res = envelope(&u, &buf, true, true, 5);
    ck_assert_uint_eq(res->via.map.size, 0);
    msgpack_unpacked_destroy(&u);
    mt_msg_free(reply);

    reply = mt_node_reply_new(MT_ENOTFOUND, "node n9 is not registered");
    mt_codec_encode_node_reply(&buf, true, 6, MT_OP_NODE_GET, mt_node_reply(reply));
    check_error(&buf, true, 6, "not_found", "node n9 is not registered");
    mt_msg_free(reply);

    reply = mt_node_reply_new(MT_OK, NULL);
    mt_codec_encode_node_reply(&buf, false, 0, MT_OP_RC_ADD, mt_node_reply(reply));
    check_error(&buf, false, 0, "internal", "node reply for a non-node op");
    mt_msg_free(reply);
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

START_TEST(lists)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_msg_t *reply = mt_node_reply_new(MT_OK, NULL);
    mt_node_reply_t *r = mt_node_reply(reply);
    r->nviews = 3;
    r->views = calloc(3, sizeof *r->views);
    full_view(&r->views[0], "n1");
    full_view(&r->views[1], "n2");
    snprintf(r->views[2].id, sizeof r->views[2].id, "n3");
    r->views[2].reg = full_reg();
    snprintf(r->next, sizeof r->next, "n3");
    mt_codec_encode_node_reply(&buf, true, 1, MT_OP_NODE_LIST, r);
    msgpack_unpacked u;
    const msgpack_object *res = envelope(&u, &buf, true, true, 1);
    ck_assert_uint_eq(res->via.map.size, 3);     /* nodes, next, revision */
    const msgpack_object *nodes = key(res, "nodes", MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(nodes->via.array.size, 3);
    for (uint32_t i = 0; i < 3; i++)
        check_view(&nodes->via.array.ptr[i], &r->views[i]);
    ck_assert(mp_str_is(key(res, "next", MSGPACK_OBJECT_STR), "n3"));
    msgpack_unpacked_destroy(&u);

    r->next[0] = '\0';              /* the limit did not cut: no "next" */
    mt_codec_encode_node_reply(&buf, false, 0, MT_OP_NODE_LIST, r);
    res = envelope(&u, &buf, true, false, 0);
    ck_assert_uint_eq(res->via.map.size, 2);     /* nodes, revision */
    ck_assert_ptr_null(mp_get(res, "next"));
    msgpack_unpacked_destroy(&u);
    mt_msg_free(reply);

    reply = mt_node_reply_new(MT_OK, NULL);     /* empty list */
    mt_codec_encode_node_reply(&buf, false, 0, MT_OP_NODE_LIST, mt_node_reply(reply));
    res = envelope(&u, &buf, true, false, 0);
    ck_assert_uint_eq(key(res, "nodes", MSGPACK_OBJECT_ARRAY)->via.array.size, 0);
    msgpack_unpacked_destroy(&u);
    mt_msg_free(reply);
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

START_TEST(cluster_info)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_cluster_info_t *info = calloc(1, sizeof *info + 2 * sizeof(mt_member_t));
    snprintf(info->cluster_uuid, sizeof info->cluster_uuid, "0d3c4a5e-1111-2222-3333-444455556666");
    snprintf(info->replica_id, sizeof info->replica_id, "r1");
    info->nmembers = 2;
    snprintf(info->members[0].replica_id, MT_REPLICA_ID_MAX + 1, "r1");
    snprintf(info->members[0].endpoint, MT_ENDPOINT_MAX, "tcp://127.0.0.1:7400");
    snprintf(info->members[0].pub_endpoint, MT_ENDPOINT_MAX, "tcp://127.0.0.1:7401");
    info->members[0].alive = true;
    snprintf(info->members[1].replica_id, MT_REPLICA_ID_MAX + 1, "r2");
    mt_codec_encode_cluster_info(&buf, true, 3, info);
    msgpack_unpacked u;
    const msgpack_object *res = envelope(&u, &buf, true, true, 3);
    ck_assert_uint_eq(res->via.map.size, 3);
    ck_assert(mp_str_is(key(res, "cluster_uuid", MSGPACK_OBJECT_STR), info->cluster_uuid));
    ck_assert(mp_str_is(key(res, "replica_id", MSGPACK_OBJECT_STR), "r1"));
    const msgpack_object *m = key(res, "members", MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(m->via.array.size, 2);
    const msgpack_object *m0 = &m->via.array.ptr[0], *m1 = &m->via.array.ptr[1];
    ck_assert_uint_eq(m0->via.map.size, 5);
    ck_assert(mp_str_is(key(m0, "replica_id", MSGPACK_OBJECT_STR), "r1"));
    ck_assert(mp_str_is(key(m0, "endpoint", MSGPACK_OBJECT_STR), "tcp://127.0.0.1:7400"));
    ck_assert(mp_str_is(key(m0, "pub_endpoint", MSGPACK_OBJECT_STR), "tcp://127.0.0.1:7401"));
    ck_assert(key(m0, "alive", MSGPACK_OBJECT_BOOLEAN)->via.boolean);
    ck_assert(mp_str_is(key(m1, "endpoint", MSGPACK_OBJECT_STR), ""));
    ck_assert(!key(m1, "alive", MSGPACK_OBJECT_BOOLEAN)->via.boolean);
    msgpack_unpacked_destroy(&u);

    info->err = MT_EUNAVAIL;
    mt_codec_encode_cluster_info(&buf, false, 0, info);
    check_error(&buf, false, 0, "unavailable", "cluster membership is not known yet");
    free(info);
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

START_TEST(stats)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_stats_list_t *st = calloc(1, sizeof *st + 3 * sizeof(mt_stat_t));
    st->n = 3;
    st->stats[0] = (mt_stat_t) { "actors", 12 };
    st->stats[1] = (mt_stat_t) { "messages", UINT64_MAX };
    st->stats[2] = (mt_stat_t) { "notice_gaps", 0 };
    mt_codec_encode_stats(&buf, true, 8, st);
    msgpack_unpacked u;
    const msgpack_object *res = envelope(&u, &buf, true, true, 8);
    ck_assert_uint_eq(res->via.map.size, 3);
    ck_assert_uint_eq(key(res, "actors", MSGPACK_OBJECT_POSITIVE_INTEGER)->via.u64, 12);
    ck_assert_uint_eq(key(res, "messages", MSGPACK_OBJECT_POSITIVE_INTEGER)->via.u64, UINT64_MAX);
    ck_assert_uint_eq(key(res, "notice_gaps", MSGPACK_OBJECT_POSITIVE_INTEGER)->via.u64, 0);
    msgpack_unpacked_destroy(&u);
    st->n = 0;
    mt_codec_encode_stats(&buf, false, 0, st);
    res = envelope(&u, &buf, true, false, 0);
    ck_assert_uint_eq(res->via.map.size, 0);
    msgpack_unpacked_destroy(&u);
    free(st);
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

START_TEST(buffer_is_cleared)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_codec_encode_error(&buf, true, 1, MT_EBADREQ, "a long message to fill the buffer first");
    size_t first = buf.size;
    mt_codec_encode_error(&buf, false, 0, MT_EBADREQ, "x");
    ck_assert_uint_lt(buf.size, first);
    check_error(&buf, false, 0, "bad_request", "x");
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("codec_reply");
    TCase *tc = tcase_create("reply");
    tcase_add_test(tc, error_replies);
    tcase_add_test(tc, node_views);
    tcase_add_test(tc, delete_and_errors);
    tcase_add_test(tc, lists);
    tcase_add_test(tc, cluster_info);
    tcase_add_test(tc, stats);
    tcase_add_test(tc, buffer_is_cleared);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mt_check_run(make_suite());
}
