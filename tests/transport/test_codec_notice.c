/*  test_codec_notice.c — change notices: encode → decode round trips into
    MT_NODE_MERGE, the body's keys, deletes, malformed notices (rc notices:
    test_codec_rc.c). */
#include "mt_check.h"
#include <check.h>
#include <stdlib.h>

#include "codec_testutil.h"
#include "mt_codec.h"

static mt_node_reg_t *make_reg(int64_t revision)
{
    mt_str_pair_t labels[] = { { "zone", "a" }, { "city", "Z\xc3\xbcrich" } };
    mt_int_pair_t capacity[] = { { "cpu_milli", 4000 } };
    mt_int_pair_t quota[] = { { "pods", 110 }, { "gpus", 0 } };
    mt_str_pair_t versions[] = { { "agent", "1.2.3" }, { "os", "linux" } };
    mt_node_reg_t t = {
        .host_ip = "10.0.0.1", .grpc_port = 9090, .instance_type = "m5.large",
        .labels = labels, .nlabels = 2, .capacity = capacity, .ncapacity = 1,
        .quota = quota, .nquota = 2, .versions = versions, .nversions = 2,
        .registered_at = 1700000000000LL, .reg_revision = revision,
    };
    return mt_node_reg_build(&t);
}

static mt_node_status_t *make_status(int64_t revision)
{
    mt_condition_t conds[] = { { "Disk", "True", "pressure", "90% full" }, { "Mem", "", "", "" } };
    const char *images[] = { "a:1", "b:2", "c:3" };
    mt_node_status_t t = {
        .heartbeat_at = 1700000000500LL, .seen_at = 1700000000700LL, .ready = true,
        .conditions = conds, .nconditions = 2,
        .images = images, .nimages = 3, .status_revision = revision,
    };
    return mt_node_status_build(&t);
}

static void assert_reg_equal(const mt_node_reg_t *a, const mt_node_reg_t *b)
{
    ck_assert_str_eq(a->host_ip, b->host_ip);
    ck_assert_int_eq(a->grpc_port, b->grpc_port);
    ck_assert_str_eq(a->instance_type, b->instance_type);
    ck_assert_uint_eq(a->nlabels, b->nlabels);
    for (uint32_t i = 0; i < a->nlabels; i++) {
        ck_assert_str_eq(a->labels[i].key, b->labels[i].key);
        ck_assert_str_eq(a->labels[i].value, b->labels[i].value);
    }
    ck_assert_uint_eq(a->ncapacity, b->ncapacity);
    for (uint32_t i = 0; i < a->ncapacity; i++) {
        ck_assert_str_eq(a->capacity[i].key, b->capacity[i].key);
        ck_assert_int_eq(a->capacity[i].value, b->capacity[i].value);
    }
    ck_assert_uint_eq(a->nquota, b->nquota);
    for (uint32_t i = 0; i < a->nquota; i++) {
        ck_assert_str_eq(a->quota[i].key, b->quota[i].key);
        ck_assert_int_eq(a->quota[i].value, b->quota[i].value);
    }
    ck_assert_uint_eq(a->nversions, b->nversions);
    for (uint32_t i = 0; i < a->nversions; i++) {
        ck_assert_str_eq(a->versions[i].key, b->versions[i].key);
        ck_assert_str_eq(a->versions[i].value, b->versions[i].value);
    }
    ck_assert_str_eq(a->versions_hash, b->versions_hash);
    ck_assert_int_eq(a->registered_at, b->registered_at);
    ck_assert_int_eq(a->reg_revision, b->reg_revision);
}

static void assert_status_equal(const mt_node_status_t *a, const mt_node_status_t *b)
{
    ck_assert_int_eq(a->heartbeat_at, b->heartbeat_at);
    ck_assert_int_eq(a->seen_at, b->seen_at);
    ck_assert_int_eq(a->ready, b->ready);
    ck_assert_uint_eq(a->nconditions, b->nconditions);
    for (uint32_t i = 0; i < a->nconditions; i++) {
        ck_assert_str_eq(a->conditions[i].type, b->conditions[i].type);
        ck_assert_str_eq(a->conditions[i].status, b->conditions[i].status);
        ck_assert_str_eq(a->conditions[i].reason, b->conditions[i].reason);
        ck_assert_str_eq(a->conditions[i].message, b->conditions[i].message);
    }
    ck_assert_uint_eq(a->nimages, b->nimages);
    for (uint32_t i = 0; i < a->nimages; i++)
        ck_assert_str_eq(a->images[i], b->images[i]);
    ck_assert_uint_eq(a->ntemplates, b->ntemplates);
    for (uint32_t i = 0; i < a->ntemplates; i++)
        ck_assert_str_eq(a->local_templates[i], b->local_templates[i]);
    ck_assert_int_eq(a->status_revision, b->status_revision);
}

/*  Encodes a notice of change for view, decodes it. */
static mt_node_merge_t *round_trip(mt_node_change_t change, int64_t revision,
                                   const mt_node_view_t *view, mt_notice_t *out)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_msg_t *changed = mt_node_changed_new(change, revision, view);
    mt_codec_encode_node_notice(&buf, "replica-1", 42, mt_node_changed(changed));
    mt_msg_free(changed);
    char err[200];
    int rc = mt_codec_decode_notice(buf.data, buf.size, out, err, sizeof err);
    ck_assert_msg(rc == MT_OK, "%s", err);
    msgpack_sbuffer_destroy(&buf);
    ck_assert_str_eq(out->replica, "replica-1");
    ck_assert_uint_eq(out->seq, 42);
    ck_assert(out->node);
    ck_assert_int_eq(out->change, change);
    ck_assert_int_eq(out->revision, revision);
    ck_assert_ptr_nonnull(out->merge);
    ck_assert_int_eq(out->merge->type, MT_NODE_MERGE);
    mt_node_merge_t *m = mt_msg_data(out->merge);
    ck_assert_str_eq(m->id, view->id);
    return m;
}

START_TEST(upsert_round_trip)
{
    mt_node_view_t view = { .id = "node-7", .healthy = true };
    view.reg = make_reg(11);
    view.status = make_status(12);
    mt_notice_t n;
    mt_node_merge_t *m = round_trip(MT_NODE_UPSERT, 12, &view, &n);
    ck_assert(!m->deleted);
    ck_assert_ptr_nonnull(m->reg);
    ck_assert_ptr_nonnull(m->status);
    assert_reg_equal(m->reg, view.reg);
    assert_status_equal(m->status, view.status);
    mt_msg_free(n.merge);

    /* a group never written (revision 0 / NULL) is not merged */
    mt_node_status_unref(&view.status);
    m = round_trip(MT_NODE_UPSERT, 11, &view, &n);
    assert_reg_equal(m->reg, view.reg);
    ck_assert_ptr_null(m->status);
    mt_msg_free(n.merge);

    mt_node_reg_unref(&view.reg);
    view.reg = make_reg(0);
    view.status = make_status(3);
    m = round_trip(MT_NODE_UPSERT, 0, &view, &n);    /* revision 0: health only */
    ck_assert_ptr_null(m->reg);
    assert_status_equal(m->status, view.status);
    mt_msg_free(n.merge);
    mt_node_view_clear(&view);
}
END_TEST

/*  What the receiver says it holds (mt_codec_decode_notice_known). */
static int64_t held_revision;
static char held_asked[MT_NODE_ID_MAX + 1];     /* a copy: the id is the decoder's */

static bool held(void *arg, const char *id, int64_t reg_revision, int64_t status_revision)
{
    ck_assert_ptr_eq(arg, &held_revision);
    ck_assert_int_eq(status_revision, 0);           /* the status is merged anyway */
    snprintf(held_asked, sizeof held_asked, "%s", id);
    return reg_revision <= held_revision;
}

static mt_node_merge_t *decode_known(const mt_node_view_t *view, mt_notice_t *out)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_msg_t *changed = mt_node_changed_new(MT_NODE_UPSERT, view->status->status_revision, view);
    mt_codec_encode_node_notice(&buf, "replica-1", 43, mt_node_changed(changed));
    mt_msg_free(changed);
    char err[200];
    held_asked[0] = '\0';
    int rc = mt_codec_decode_notice_known(buf.data, buf.size, held, &held_revision, out, err,
                                          sizeof err);
    msgpack_sbuffer_destroy(&buf);
    ck_assert_msg(rc == MT_OK, "%s", err);
    ck_assert_str_eq(held_asked, view->id);
    return mt_msg_data(out->merge);
}

/*  A heartbeat's notice repeats the registration: at or below what the
    receiver holds it is not merged (the status is); above, it is. */
START_TEST(a_registration_held_already_is_not_merged_again)
{
    mt_node_view_t view = { .id = "node-8", .healthy = true };
    view.reg = make_reg(11);
    view.status = make_status(12);
    mt_notice_t n;
    /*  The receiver holds 11 (the notice's), 30, 10 or nothing. */
    const struct { int64_t held; bool merged; } cases[] = {
        { 11, false }, { 30, false }, { 10, true }, { 0, true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        held_revision = cases[i].held;
        mt_node_merge_t *m = decode_known(&view, &n);
        if (cases[i].merged) {
            ck_assert_ptr_nonnull(m->reg);
            assert_reg_equal(m->reg, view.reg);
        } else
            ck_assert_ptr_null(m->reg);
        assert_status_equal(m->status, view.status);
        mt_msg_free(n.merge);
    }
    mt_node_view_clear(&view);
}
END_TEST

START_TEST(delete_round_trip)
{
    mt_node_view_t view = { .id = "gone" };
    mt_notice_t n;
    mt_node_merge_t *m = round_trip(MT_NODE_DELETED, 99, &view, &n);
    ck_assert(m->deleted);
    ck_assert_int_eq(m->deleted_revision, 99);
    ck_assert_ptr_null(m->reg);
    ck_assert_ptr_null(m->status);
    mt_msg_free(n.merge);
}
END_TEST

START_TEST(body_keys)
{
    mt_node_view_t view = { .id = "n1" };
    view.reg = make_reg(5);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_msg_t *changed = mt_node_changed_new(MT_NODE_UPSERT, 5, &view);
    mt_codec_encode_node_notice(&buf, "r1", 1, mt_node_changed(changed));
    mt_msg_free(changed);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&u, buf.data, buf.size, &off), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *b = &u.data;
    ck_assert_uint_eq(b->via.map.size, 7);
    ck_assert(mp_str_is(mp_get(b, "replica"), "r1"));
    ck_assert_uint_eq(mp_get(b, "seq")->via.u64, 1);
    ck_assert(mp_str_is(mp_get(b, "kind"), "node"));
    ck_assert(mp_str_is(mp_get(b, "change"), "upsert"));
    ck_assert(mp_str_is(mp_get(b, "id"), "n1"));
    ck_assert_uint_eq(mp_get(b, "revision")->via.u64, 5);
    const msgpack_object *v = mp_get(b, "view");
    ck_assert_int_eq(v->type, MSGPACK_OBJECT_MAP);
    ck_assert_uint_eq(v->via.map.size, 23);
    ck_assert(mp_str_is(mp_get(v, "host_ip"), "10.0.0.1"));
    msgpack_unpacked_destroy(&u);

    changed = mt_node_changed_new(MT_NODE_DELETED, 6, &(mt_node_view_t) { .id = "n1" });
    mt_codec_encode_node_notice(&buf, "r1", 2, mt_node_changed(changed));
    mt_msg_free(changed);
    msgpack_unpacked_init(&u);
    off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&u, buf.data, buf.size, &off), MSGPACK_UNPACK_SUCCESS);
    b = &u.data;
    ck_assert(mp_str_is(mp_get(b, "change"), "delete"));
    v = mp_get(b, "view");
    ck_assert_uint_eq(v->via.map.size, 1);
    ck_assert(mp_str_is(mp_get(v, "id"), "n1"));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
    mt_node_view_clear(&view);
}
END_TEST

typedef struct {
    const char *name;
    const char *json;       /* NULL: hex */
    const char *hex;
    int rc;
    const char *err;
} notice_case_t;

#define N_HEAD "'replica':'r1','seq':3,'kind':'node'"

static const notice_case_t cases[] = {
    { "minimal delete", "{" N_HEAD ",'change':'delete','id':'n1','revision':4}", NULL, MT_OK, NULL },
    { "rc notice", "{'replica':'r1','seq':1,'kind':'rc','change':'upsert','id':'x','revision':3,"
      "'view':{'name':'east','hostname':'tcp://h:1'}}", NULL, MT_OK, NULL },
    { "rc notice, empty view", "{'replica':'r1','seq':1,'kind':'rc','change':'upsert','id':'x',"
      "'revision':3,'view':{}}", NULL, MT_EBADREQ, "name: must be 1-255 bytes" },
    { "upsert with a sparse view", "{" N_HEAD ",'change':'upsert','id':'n1','revision':4,"
      "'view':{'id':'n1','reg_revision':4,'labels':{'a':'b'}}}", NULL, MT_OK, NULL },
    /*  Views are checked for shape, not label syntax: labels stored before
        the rules must not make peers refuse the node's notices. */
    { "labels stored before the syntax rules", "{" N_HEAD ",'change':'upsert','id':'n1',"
      "'revision':4,'view':{'id':'n1','reg_revision':4,'labels':{'a b':'x y','-lead':''}}}",
      NULL, MT_OK, NULL },
    { "malformed", NULL, "c1", MT_EBADREQ, "invalid msgpack byte" },
    { "bomb", NULL, "dd ff ff ff ff", MT_EBADREQ, "declares more elements" },
    { "trailing", NULL, "80 80", MT_EBADREQ, "trailing" },
    { "not a map", "['r1']", NULL, MT_EBADREQ, "body: expected a map" },
    { "no replica", "{'seq':3,'kind':'node','change':'delete','id':'n1','revision':4}", NULL,
      MT_EBADREQ, "replica: required" },
    { "empty replica", "{'replica':'','seq':3,'kind':'node','change':'delete','id':'n1','revision':4}",
      NULL, MT_EBADREQ, "replica: must be 1-64 bytes" },
    { "long replica", "{'replica':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',"
      "'seq':3,'kind':'node','change':'delete','id':'n1','revision':4}", NULL,
      MT_EBADREQ, "replica: must be 1-64 bytes" },
    { "negative seq", "{'replica':'r1','seq':-3,'kind':'node','change':'delete','id':'n1','revision':4}",
      NULL, MT_EBADREQ, "seq: expected an unsigned integer" },
    { "no seq", "{'replica':'r1','kind':'node','change':'delete','id':'n1','revision':4}",
      NULL, MT_EBADREQ, "seq: required" },
    { "bad kind", "{'replica':'r1','seq':3,'kind':'pod','change':'delete','id':'n1','revision':4}",
      NULL, MT_EBADREQ, "kind: expected \"node\" or \"rc\"" },
    { "bad change", "{" N_HEAD ",'change':'create','id':'n1','revision':4}", NULL, MT_EBADREQ,
      "change: expected \"upsert\" or \"delete\"" },
    { "negative revision", "{" N_HEAD ",'change':'delete','id':'n1','revision':-4}", NULL, MT_EBADREQ,
      "revision: must not be negative" },
    { "no revision", "{" N_HEAD ",'change':'delete','id':'n1'}", NULL, MT_EBADREQ, "revision: required" },
    { "bad id", "{" N_HEAD ",'change':'delete','id':'a b','revision':4}", NULL, MT_EBADREQ, "id: only" },
    { "upsert without view", "{" N_HEAD ",'change':'upsert','id':'n1','revision':4}", NULL, MT_EBADREQ,
      "view: required" },
    { "view not a map", "{" N_HEAD ",'change':'upsert','id':'n1','revision':4,'view':[]}", NULL,
      MT_EBADREQ, "view: expected a map" },
    { "view of another node", "{" N_HEAD ",'change':'upsert','id':'n1','revision':4,'view':{'id':'n2'}}",
      NULL, MT_EBADREQ, "view.id: differs from id" },
    { "view with a bad port", "{" N_HEAD ",'change':'upsert','id':'n1','revision':4,"
      "'view':{'reg_revision':4,'grpc_port':70000}}", NULL, MT_EBADREQ, "grpc_port: must be 1-65535" },
    { "view with bad labels", "{" N_HEAD ",'change':'upsert','id':'n1','revision':4,"
      "'view':{'reg_revision':4,'labels':{'a':1}}}", NULL, MT_EBADREQ, "labels: values must be strings" },
    { "view with a bad ready", "{" N_HEAD ",'change':'upsert','id':'n1','revision':4,"
      "'view':{'status_revision':4,'ready':'yes'}}", NULL, MT_EBADREQ, "ready: expected a boolean" },
    { "view revision negative", "{" N_HEAD ",'change':'upsert','id':'n1','revision':4,"
      "'view':{'status_revision':-1}}", NULL, MT_EBADREQ, "status_revision: must not be negative" },
    /*  Timestamps are bounded (MT_TIME_MAX): health arithmetic never overflows. */
    { "view seen_at negative", "{" N_HEAD ",'change':'upsert','id':'n1','revision':4,"
      "'view':{'status_revision':4,'seen_at':-5}}", NULL, MT_EBADREQ, "seen_at: must not be negative" },
    { "view seen_at beyond the bound", "{" N_HEAD ",'change':'upsert','id':'n1','revision':4,"
      "'view':{'status_revision':4,'seen_at':9223372036854775807}}", NULL, MT_EBADREQ,
      "seen_at: must be 0-" },
    { "view heartbeat_at beyond the bound", "{" N_HEAD ",'change':'upsert','id':'n1','revision':4,"
      "'view':{'status_revision':4,'heartbeat_at':4611686018427387904}}", NULL, MT_EBADREQ,
      "heartbeat_at: at most" },
};

START_TEST(table)
{
    const notice_case_t *c = &cases[_i];
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    unsigned char raw[64];
    const void *body;
    size_t size;
    if (c->json) {
        tj_pack(c->json, &buf);
        body = buf.data;
        size = buf.size;
    } else {
        size = hex_bytes(c->hex, raw, sizeof raw);
        body = raw;
    }
    mt_notice_t n;
    char err[200];
    int rc = mt_codec_decode_notice(body, size, &n, err, sizeof err);
    ck_assert_msg(rc == c->rc, "%s: rc %d (%s)", c->name, rc, err);
    if (rc == MT_OK) {
        ck_assert_int_eq(n.merge != NULL, n.node);
        ck_assert_int_eq(n.rc_merge != NULL, !n.node);
        mt_msg_free(n.merge);
        mt_msg_free(n.rc_merge);
    } else {
        ck_assert_ptr_null(n.merge);
        ck_assert_ptr_null(n.rc_merge);
        ck_assert_msg(strstr(err, c->err), "%s: \"%s\", expected \"%s\"", c->name, err, c->err);
    }
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

START_TEST(sparse_view_content)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    tj_pack("{" N_HEAD ",'change':'upsert','id':'n1','revision':4,"
            "'view':{'id':'n1','reg_revision':4,'labels':{'a':'b'},'status_revision':0,'ready':true}}", &buf);
    mt_notice_t n;
    char err[200];
    ck_assert_int_eq(mt_codec_decode_notice(buf.data, buf.size, &n, err, sizeof err), MT_OK);
    mt_node_merge_t *m = mt_msg_data(n.merge);
    ck_assert_int_eq(m->reg->reg_revision, 4);
    ck_assert_uint_eq(m->reg->nlabels, 1);
    ck_assert_str_eq(m->reg->host_ip, "");
    ck_assert_ptr_null(m->status);
    ck_assert_str_eq(n.replica, "r1");
    ck_assert_uint_eq(n.seq, 3);
    mt_msg_free(n.merge);
    msgpack_sbuffer_destroy(&buf);

    ck_assert_int_eq(mt_codec_decode_notice(NULL, (size_t) 1 << 40, &n, err, sizeof err), MT_ETOOLARGE);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("codec_notice");
    TCase *tc = tcase_create("notice");
    tcase_add_test(tc, upsert_round_trip);
    tcase_add_test(tc, a_registration_held_already_is_not_merged_again);
    tcase_add_test(tc, delete_round_trip);
    tcase_add_test(tc, body_keys);
    tcase_add_loop_test(tc, table, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, sparse_view_content);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mt_check_run(make_suite());
}
