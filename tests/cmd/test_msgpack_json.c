/*  test_msgpack_json.c — msgpack → strict JSON (ctl_json_of): exact
    output for every msgpack type, escaping, invalid UTF-8, base64, non-string
    keys; and every output passes a strict RFC 8259 validator. */
#include "mt_check.h"
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "codec_testutil.h"
#include "json_check.h"
#include "msgpack_json.h"
#include "mt_codec.h"

/*  JSON text of the bytes in buf. Caller frees. */
static char *json_of(const msgpack_sbuffer *buf)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&u, buf->data, buf->size, &off), MSGPACK_UNPACK_SUCCESS);
    char *json = ctl_json_of(&u.data);
    msgpack_unpacked_destroy(&u);
    ck_assert_msg(json_valid(json), "not valid JSON: %s", json);
    return json;
}

static void expect_text(const char *text, const char *want)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    tj_pack(text, &buf);
    char *json = json_of(&buf);
    ck_assert_str_eq(json, want);
    free(json);
    msgpack_sbuffer_destroy(&buf);
}

typedef void (pack_fn) (msgpack_packer *pk);

static void expect_packed(pack_fn *fn, const char *want)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    fn(&pk);
    char *json = json_of(&buf);
    ck_assert_str_eq(json, want);
    free(json);
    msgpack_sbuffer_destroy(&buf);
}

START_TEST(scalars_and_containers)
{
    expect_text("{'a':1,'b':[true,false,null],'c':-5,'d':'x','e':{},'f':[]}",
                "{\"a\":1,\"b\":[true,false,null],\"c\":-5,\"d\":\"x\",\"e\":{},\"f\":[]}");
    expect_text("18446744073709551615", "18446744073709551615");
    expect_text("-9223372036854775808", "-9223372036854775808");
    expect_text("0", "0");
    expect_text("''", "\"\"");
    expect_text("[[[[1]]]]", "[[[[1]]]]");
    expect_text("1.5", "1.5");
    expect_text("-0.25e3", "-250");
    char *json = ctl_json_of(NULL);
    ck_assert_str_eq(json, "null");
    free(json);
}
END_TEST

START_TEST(string_escapes)
{
    expect_text("'a\"b'", "\"a\\\"b\"");
    expect_text("'back\\\\slash'", "\"back\\\\slash\"");
    expect_text("'\\n\\t\\x08\\x0c\\x0d'", "\"\\n\\t\\b\\f\\r\"");
    expect_text("'\\x00\\x01\\x1f'", "\"\\u0000\\u0001\\u001f\"");
    expect_text("'\\x7f/'", "\"\x7f/\"");
    /* valid UTF-8 passes through; each invalid byte becomes U+FFFD */
    expect_text("'Z\\u00fcrich \\u6771 \\xf0\\x9f\\x98\\x80'", "\"Z\xc3\xbcrich \xe6\x9d\xb1 \xf0\x9f\x98\x80\"");
    expect_text("'a\\xffb'", "\"a\\ufffdb\"");
    expect_text("'\\xc0\\xaf'", "\"\\ufffd\\ufffd\"");                 /* overlong */
    expect_text("'\\xed\\xa0\\x80'", "\"\\ufffd\\ufffd\\ufffd\"");       /* surrogate */
    expect_text("'\\xe6\\x9d'", "\"\\ufffd\\ufffd\"");                 /* truncated */
    expect_text("{'k\"\\x01':'v'}", "{\"k\\\"\\u0001\":\"v\"}");
}
END_TEST

static void pack_bins(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 6);
    msgpack_pack_bin_with_body(pk, "", 0);
    msgpack_pack_bin_with_body(pk, "f", 1);
    msgpack_pack_bin_with_body(pk, "fo", 2);
    msgpack_pack_bin_with_body(pk, "foo", 3);
    msgpack_pack_bin_with_body(pk, "foob", 4);
    msgpack_pack_bin_with_body(pk, "\xff\xfe\x00", 3);
}

static void pack_ext(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_ext_with_body(pk, "ab", 2, 5);
    msgpack_pack_ext_with_body(pk, "", 0, -1);
}

static void pack_floats(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 6);
    msgpack_pack_double(pk, NAN);
    msgpack_pack_double(pk, INFINITY);
    msgpack_pack_double(pk, -INFINITY);
    msgpack_pack_float(pk, 0.25f);
    msgpack_pack_double(pk, 0.1);
    msgpack_pack_double(pk, 1e300);
}

static void pack_odd_keys(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 5);
    msgpack_pack_int(pk, 1);
    msgpack_pack_str_with_body(pk, "a", 1);
    msgpack_pack_array(pk, 2);
    msgpack_pack_int(pk, 1);
    msgpack_pack_int(pk, 2);
    msgpack_pack_str_with_body(pk, "b", 1);
    msgpack_pack_nil(pk);
    msgpack_pack_str_with_body(pk, "c", 1);
    msgpack_pack_map(pk, 1);
    msgpack_pack_str_with_body(pk, "x", 1);
    msgpack_pack_str_with_body(pk, "y", 1);
    msgpack_pack_int(pk, 4);
    msgpack_pack_bin_with_body(pk, "hi", 2);
    msgpack_pack_true(pk);
}

START_TEST(binary_ext_floats_keys)
{
    expect_packed(pack_bins, "[\"\",\"Zg==\",\"Zm8=\",\"Zm9v\",\"Zm9vYg==\",\"//4A\"]");
    expect_packed(pack_ext, "[{\"ext\":5,\"data\":\"YWI=\"},{\"ext\":-1,\"data\":\"\"}]");
    expect_packed(pack_floats, "[null,null,null,0.25,0.10000000000000001,1.0000000000000001e+300]");
    expect_packed(pack_odd_keys,
                  "{\"1\":\"a\",\"[1,2]\":\"b\",\"null\":\"c\",\"{\\\"x\\\":\\\"y\\\"}\":4,\"aGk=\":true}");
}
END_TEST

START_TEST(reply_as_json)
{
    /* a whole node reply, as metactl -o json would print it */
    mt_str_pair_t labels[] = { { "zone", "a\"b" } };
    mt_node_reg_t t = { .host_ip = "10.0.0.1", .grpc_port = 1, .labels = labels, .nlabels = 1,
                        .reg_revision = 2 };
    mt_msg_t *reply = mt_node_reply_new(MT_OK, NULL);
    mt_node_reply_t *r = mt_node_reply(reply);
    snprintf(r->view.id, sizeof r->view.id, "n1");
    r->view.reg = mt_node_reg_build(&t);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_codec_encode_node_reply(&buf, true, 9, MT_OP_NODE_GET, r);
    char *json = json_of(&buf);
    ck_assert_ptr_nonnull(strstr(json, "{\"ok\":true,\"rid\":9,\"result\":{\"node\":{\"id\":\"n1\","
                                       "\"host_ip\":\"10.0.0.1\",\"grpc_port\":1,"));
    ck_assert_ptr_nonnull(strstr(json, "\"labels\":{\"zone\":\"a\\\"b\"}"));
    ck_assert_ptr_nonnull(strstr(json, "\"healthy\":false,\"schedulable\":false}}}"));
    free(json);
    mt_msg_free(reply);
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

START_TEST(validator_self_test)
{
    /* the validator used here and in the fuzzers rejects what it must */
    ck_assert(json_valid("{\"a\":[1,-2.5e3,true,null,\"\\u00e9\"]}"));
    ck_assert(!json_valid("{\"a\":1,}"));
    ck_assert(!json_valid("[1 2]"));
    ck_assert(!json_valid("\"\x01\""));
    ck_assert(!json_valid("\"\xff\""));
    ck_assert(!json_valid("\"\\x41\""));
    ck_assert(!json_valid("01"));
    ck_assert(!json_valid("nan"));
    ck_assert(!json_valid("{1:2}"));
    ck_assert(!json_valid("[] []"));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("codec_json");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, scalars_and_containers);
    tcase_add_test(tc, string_escapes);
    tcase_add_test(tc, binary_ext_floats_keys);
    tcase_add_test(tc, reply_as_json);
    tcase_add_test(tc, validator_self_test);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mt_check_run(make_suite());
}
