/*  test_store_json.c — the store's strict JSON: round trips of the four
    shapes, escapes, \uXXXX with surrogate pairs, and every refusal. */
#include "mt_json.h"

#include "mt_check.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

START_TEST(str_map_round_trip)
{
    mt_str_pair_t m[] = {
        { "a", "1" }, { "quote\"back\\slash", "tab\tnl\nnul-free\x01\x1f" },
        { "\xc3\xa9t\xc3\xa9", "\xf0\x9f\x98\x80 emoji" }, { "", "" }, { "/", "</script>" },
    };
    mt_buf_t b = { 0 };
    ck_assert_int_eq(mt_json_put_str_map(&b, m, N_ELEMS(m)), MT_OK);
    ck_assert_str_eq(b.data, "{\"a\":\"1\",\"quote\\\"back\\\\slash\":\"tab\\tnl\\nnul-free\\u0001\\u001f\","
                     "\"\xc3\xa9t\xc3\xa9\":\"\xf0\x9f\x98\x80 emoji\",\"\":\"\",\"/\":\"</script>\"}");
    mt_json_arena_t a = { 0 };
    mt_str_pair_t *out;
    uint32_t n;
    ck_assert_int_eq(mt_json_get_str_map(b.data, b.len, &a, &out, &n), MT_OK);
    ck_assert_uint_eq(n, N_ELEMS(m));
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_str_eq(out[i].key, m[i].key);
        ck_assert_str_eq(out[i].value, m[i].value);
    }
    mt_buf_reset(&b);
    ck_assert_int_eq(mt_json_put_str_map(&b, NULL, 0), MT_OK);
    ck_assert_str_eq(b.data, "{}");
    ck_assert_int_eq(mt_json_get_str_map(b.data, b.len, &a, &out, &n), MT_OK);
    ck_assert_uint_eq(n, 0);
    mt_json_arena_free(&a);
    mt_buf_free(&b);
}
END_TEST

START_TEST(int_map_round_trip)
{
    mt_int_pair_t m[] = { { "cpu_milli", 4000 }, { "min", INT64_MIN }, { "max", INT64_MAX }, { "z", 0 } };
    mt_buf_t b = { 0 };
    ck_assert_int_eq(mt_json_put_int_map(&b, m, N_ELEMS(m)), MT_OK);
    ck_assert_str_eq(b.data, "{\"cpu_milli\":4000,\"min\":-9223372036854775808,"
                     "\"max\":9223372036854775807,\"z\":0}");
    mt_json_arena_t a = { 0 };
    mt_int_pair_t *out;
    uint32_t n;
    ck_assert_int_eq(mt_json_get_int_map(b.data, b.len, &a, &out, &n), MT_OK);
    ck_assert_uint_eq(n, N_ELEMS(m));
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_str_eq(out[i].key, m[i].key);
        ck_assert(out[i].value == m[i].value);
    }
    mt_json_arena_free(&a);
    mt_buf_free(&b);
}
END_TEST

START_TEST(conditions_round_trip)
{
    mt_condition_t c[] = { { "Ready", "True", "KubeletReady", "kubelet is \"ready\"" },
                           { "Disk", "False", "", "" } };
    mt_buf_t b = { 0 };
    ck_assert_int_eq(mt_json_put_conditions(&b, c, 2), MT_OK);
    mt_json_arena_t a = { 0 };
    mt_condition_t *out;
    uint32_t n;
    ck_assert_int_eq(mt_json_get_conditions(b.data, b.len, &a, &out, &n), MT_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(out[0].message, "kubelet is \"ready\"");
    ck_assert_str_eq(out[1].type, "Disk");
    ck_assert_str_eq(out[1].reason, "");
    /* missing keys are "", order free, white space anywhere */
    const char *t = " [ { \"status\" : \"x\" } , {\"message\":\"m\",\"type\":\"t\"} ] \n";
    ck_assert_int_eq(mt_json_get_conditions(t, strlen(t), &a, &out, &n), MT_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(out[0].type, "");
    ck_assert_str_eq(out[0].status, "x");
    ck_assert_str_eq(out[1].type, "t");
    mt_json_arena_free(&a);
    mt_buf_free(&b);
}
END_TEST

START_TEST(str_array_round_trip)
{
    /* enough items to grow the arena's vectors and chunks several times */
    enum { N = 3000 };
    char **items = calloc(N, sizeof *items);
    for (int i = 0; i < N; i++) {
        items[i] = malloc(32);
        snprintf(items[i], 32, "image-%d:\xe2\x82\xac", i);
    }
    mt_buf_t b = { 0 };
    ck_assert_int_eq(mt_json_put_str_array(&b, (const char *const *) items, N), MT_OK);
    mt_json_arena_t a = { 0 };
    const char **out;
    uint32_t n;
    for (int round = 0; round < 3; round++) {
        mt_json_arena_reset(&a);
        ck_assert_int_eq(mt_json_get_str_array(b.data, b.len, &a, &out, &n), MT_OK);
        ck_assert_uint_eq(n, N);
        for (int i = 0; i < N; i++)
            ck_assert_str_eq(out[i], items[i]);
    }
    for (int i = 0; i < N; i++)
        free(items[i]);
    free(items);
    mt_json_arena_free(&a);
    mt_buf_free(&b);
}
END_TEST

typedef struct { const char *text, *want; } escape_case_t;

static const escape_case_t escapes[] = {
    { "[\"\\u0041\\u00e9\\u20AC\"]", "A\xc3\xa9\xe2\x82\xac" },
    { "[\"\\ud83d\\ude00\"]", "\xf0\x9f\x98\x80" },                 /* surrogate pair */
    { "[\"\\uD800\\uDC00\"]", "\xf0\x90\x80\x80" },                 /* U+10000 */
    { "[\"\\uDBFF\\uDFFF\"]", "\xf4\x8f\xbf\xbf" },                 /* U+10FFFF */
    { "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "\"\\/\b\f\n\r\t" },
    { "[\"\\u007f\\u0080\\u07ff\\u0800\\uffff\"]", "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf" },
};

START_TEST(escapes_decode)
{
    const escape_case_t *c = &escapes[_i];
    mt_json_arena_t a = { 0 };
    const char **out;
    uint32_t n;
    ck_assert_msg(mt_json_get_str_array(c->text, strlen(c->text), &a, &out, &n) == MT_OK, "%s", c->text);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(out[0], c->want);
    mt_json_arena_free(&a);
}
END_TEST

/*  Each must be refused as a string array (s), string map (m) or int map (i). */
typedef struct { char shape; const char *text; } bad_case_t;

static const bad_case_t bad[] = {
    { 's', "" }, { 's', "[" }, { 's', "[\"a\"" }, { 's', "[\"a\",]" }, { 's', "[,]" },
    { 's', "[\"a\"] x" }, { 's', "{}" }, { 's', "[1]" }, { 's', "[\"a\" \"b\"]" },
    { 's', "[\"\\ud83d\"]" },               /* high surrogate alone */
    { 's', "[\"\\ud83dx\"]" },
    { 's', "[\"\\ud83d\\u0041\"]" },        /* high surrogate, then not a low one */
    { 's', "[\"\\ude00\"]" },               /* low surrogate alone */
    { 's', "[\"\\u0000\"]" },               /* NUL */
    { 's', "[\"\\u12\"]" }, { 's', "[\"\\u12g4\"]" }, { 's', "[\"\\x\"]" }, { 's', "[\"\\\"]" },
    { 's', "[\"tab\there\"]" },             /* raw control character */
    { 's', "[\"\xc3\"]" }, { 's', "[\"\xc0\xaf\"]" }, { 's', "[\"\xed\xa0\x80\"]" },
    { 's', "[\"\xf4\x90\x80\x80\"]" }, { 's', "[\"\xff\"]" },
    { 'm', "{\"a\":1}" }, { 'm', "{\"a\"}" }, { 'm', "{\"a\":\"b\",}" }, { 'm', "[]" },
    { 'm', "{a:\"b\"}" }, { 'm', "{\"a\":\"b\"" },
    { 'i', "{\"a\":1.5}" }, { 'i', "{\"a\":1e3}" }, { 'i', "{\"a\":01}" }, { 'i', "{\"a\":-}" },
    { 'i', "{\"a\":9223372036854775808}" }, { 'i', "{\"a\":-9223372036854775809}" },
    { 'i', "{\"a\":\"1\"}" }, { 'i', "{\"a\":+1}" },
    { 'c', "[{\"type\":\"a\",\"extra\":\"b\"}]" }, { 'c', "[{\"type\":1}]" }, { 'c', "[[]]" },
};

START_TEST(refuses)
{
    const bad_case_t *c = &bad[_i];
    mt_json_arena_t a = { 0 };
    uint32_t n;
    int rc;
    size_t len = strlen(c->text);
    if (c->shape == 's') {
        const char **o;
        rc = mt_json_get_str_array(c->text, len, &a, &o, &n);
    } else if (c->shape == 'm') {
        mt_str_pair_t *o;
        rc = mt_json_get_str_map(c->text, len, &a, &o, &n);
    } else if (c->shape == 'i') {
        mt_int_pair_t *o;
        rc = mt_json_get_int_map(c->text, len, &a, &o, &n);
    } else {
        mt_condition_t *o;
        rc = mt_json_get_conditions(c->text, len, &a, &o, &n);
    }
    ck_assert_msg(rc == MT_EINVAL, "accepted (%c): %s", c->shape, c->text);
    mt_json_arena_free(&a);
}
END_TEST

START_TEST(encoder_refuses_bad_utf8)
{
    const char *bad_strings[] = { "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\xffz" };
    for (size_t i = 0; i < N_ELEMS(bad_strings); i++) {
        mt_buf_t b = { 0 };
        ck_assert_int_eq(mt_json_put_str_array(&b, &bad_strings[i], 1), MT_EINVAL);
        mt_str_pair_t p = { "k", bad_strings[i] };
        mt_buf_reset(&b);
        ck_assert_int_eq(mt_json_put_str_map(&b, &p, 1), MT_EINVAL);
        ck_assert(!mt_utf8_valid(bad_strings[i], strlen(bad_strings[i])));
        mt_buf_free(&b);
    }
    ck_assert(mt_utf8_valid("\xf0\x9f\x98\x80\xe2\x82\xac\xc3\xa9", 9));
}
END_TEST

/*  Not NUL-terminated input: the parser stays within len. */
START_TEST(respects_length)
{
    const char text[] = "[\"ab\"]garbage";
    mt_json_arena_t a = { 0 };
    const char **o;
    uint32_t n;
    ck_assert_int_eq(mt_json_get_str_array(text, 6, &a, &o, &n), MT_OK);
    ck_assert_str_eq(o[0], "ab");
    ck_assert_int_eq(mt_json_get_str_array(text, 5, &a, &o, &n), MT_EINVAL);
    mt_json_arena_free(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store_json");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, str_map_round_trip);
    tcase_add_test(tc, int_map_round_trip);
    tcase_add_test(tc, conditions_round_trip);
    tcase_add_test(tc, str_array_round_trip);
    tcase_add_loop_test(tc, escapes_decode, 0, N_ELEMS(escapes));
    tcase_add_loop_test(tc, refuses, 0, N_ELEMS(bad));
    tcase_add_test(tc, encoder_refuses_bad_utf8);
    tcase_add_test(tc, respects_length);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
