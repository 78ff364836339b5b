/*  test_codec_check.c — the bounds pre-check of untrusted msgpack
    (mt_codec_check): every msgpack type, truncation, length bombs, depth
    bombs, trailing bytes; and that whatever it accepts msgpack-c unpacks.
    Also the peek at a reply's rid and ok (mt_codec_peek_reply). */
#include "mt_check.h"
#include <check.h>
#include <stdlib.h>

#include "codec_testutil.h"
#include "mt_codec.h"

typedef struct {
    const char *name;
    const char *hex;
    bool ok;
    const char *err;        /* substring of the message when !ok */
} check_case_t;

static const check_case_t cases[] = {
    /* every type, well formed */
    { "positive fixint", "7f", true, NULL },
    { "negative fixint", "e0", true, NULL },
    { "nil", "c0", true, NULL },
    { "false", "c2", true, NULL },
    { "true", "c3", true, NULL },
    { "fixstr", "a3 61 62 63", true, NULL },
    { "str8", "d9 02 61 62", true, NULL },
    { "str16", "da 00 01 61", true, NULL },
    { "str32", "db 00 00 00 01 61", true, NULL },
    { "bin8", "c4 01 00", true, NULL },
    { "bin16", "c5 00 02 00 01", true, NULL },
    { "bin32", "c6 00 00 00 00", true, NULL },
    { "ext8", "c7 01 05 aa", true, NULL },
    { "ext16", "c8 00 00 05", true, NULL },
    { "ext32", "c9 00 00 00 02 05 aa bb", true, NULL },
    { "fixext1", "d4 01 aa", true, NULL },
    { "fixext2", "d5 01 aa bb", true, NULL },
    { "fixext4", "d6 01 00 00 00 00", true, NULL },
    { "fixext8", "d7 ff 00 00 00 00 00 00 00 00", true, NULL },
    { "fixext16", "d8 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", true, NULL },
    { "float32", "ca 3f 80 00 00", true, NULL },
    { "float64", "cb 3f f0 00 00 00 00 00 00", true, NULL },
    { "uint8", "cc ff", true, NULL },
    { "uint16", "cd ff ff", true, NULL },
    { "uint32", "ce ff ff ff ff", true, NULL },
    { "uint64", "cf ff ff ff ff ff ff ff ff", true, NULL },
    { "int8", "d0 80", true, NULL },
    { "int16", "d1 80 00", true, NULL },
    { "int32", "d2 80 00 00 00", true, NULL },
    { "int64", "d3 80 00 00 00 00 00 00 00", true, NULL },
    { "fixarray", "93 01 02 03", true, NULL },
    { "array16", "dc 00 02 01 02", true, NULL },
    { "array32", "dd 00 00 00 01 c0", true, NULL },
    { "fixmap", "82 a1 61 01 a1 62 02", true, NULL },
    { "map16", "de 00 01 01 02", true, NULL },
    { "map32", "df 00 00 00 01 c0 c0", true, NULL },
    { "empty containers", "83 a1 61 90 a1 62 80 a1 63 dc 00 00", true, NULL },
    { "nested", "81 a1 61 92 81 a1 62 91 90 a0", true, NULL },
    /* malformed */
    { "c1 is never used", "c1", false, "invalid msgpack byte 0xc1" },
    { "c1 inside", "92 01 c1", false, "invalid msgpack byte" },
    { "truncated fixstr", "a3 61 62", false, "exceeds the body" },
    { "truncated str8 length", "d9", false, "truncated" },
    { "truncated str32 length", "db 00 00", false, "truncated" },
    { "truncated uint32", "ce 00 00", false, "exceeds the body" },
    { "truncated float64", "cb 00", false, "exceeds the body" },
    { "truncated fixext16", "d8 01 00", false, "exceeds the body" },
    { "truncated ext8 type", "c7 00", false, "exceeds the body" },
    { "truncated array", "93 01 02", false, "declares more elements" },
    { "truncated map value", "81 a1 61", false, "truncated" },
    { "array missing a nested element", "92 91 01", false, "declares more elements" },
    { "map missing its last length", "82 01 02 03 d9", false, "truncated" },
    /* bombs: declared lengths far beyond the body */
    { "array32 bomb", "dd ff ff ff ff", false, "declares more elements" },
    { "map32 bomb", "df ff ff ff ff", false, "declares more elements" },
    { "array16 bomb", "dc ff ff 00 00 00", false, "declares more elements" },
    { "nested array bomb", "92 dd ff ff ff ff 00", false, "declares more elements" },
    { "two arrays claim the same bytes", "92 92 c0 c0 92 c0", false, "declares more elements" },
    { "str32 bomb", "db ff ff ff ff", false, "exceeds the body" },
    { "bin32 bomb", "c6 ff ff ff ff", false, "exceeds the body" },
    { "ext32 bomb", "c9 ff ff ff ff 01", false, "exceeds the body" },
    { "map16 one short", "de 00 02 01 02 03", false, "declares more elements" },
    /* trailing bytes */
    { "trailing byte", "80 c0", false, "1 trailing bytes" },
    { "two objects", "01 02", false, "trailing" },
};

START_TEST(table)
{
    const check_case_t *c = &cases[_i];
    unsigned char body[256];
    size_t n = hex_bytes(c->hex, body, sizeof body);
    char err[200] = "";
    int rc = mt_codec_check(body, n, err, sizeof err);
    if (c->ok) {
        ck_assert_msg(rc == MT_OK, "%s: %s", c->name, err);
        /* msgpack-c agrees and consumes the whole body */
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        size_t off = 0;
        ck_assert_int_eq(msgpack_unpack_next(&u, (const char *) body, n, &off),
                         MSGPACK_UNPACK_SUCCESS);
        ck_assert_uint_eq(off, n);
        msgpack_unpacked_destroy(&u);
    } else {
        ck_assert_msg(rc == MT_EBADREQ, "%s: accepted", c->name);
        ck_assert_msg(strstr(err, c->err), "%s: message \"%s\", expected \"%s\"",
                      c->name, err, c->err);
    }
}
END_TEST

START_TEST(empty_and_null)
{
    char err[100];
    ck_assert_int_eq(mt_codec_check("", 0, err, sizeof err), MT_EBADREQ);
    ck_assert_str_eq(err, "body: empty");
    ck_assert_int_eq(mt_codec_check(NULL, 0, err, sizeof err), MT_EBADREQ);
    /* a NULL err buffer is allowed */
    ck_assert_int_eq(mt_codec_check("\xc1", 1, NULL, 0), MT_EBADREQ);
}
END_TEST

/*  n nested arrays around nil: depth n. */
static size_t nested(unsigned char *buf, int n, unsigned char open)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        buf[len++] = open;
        if (open == 0x81)
            buf[len++] = 0x01;     /* a key before each nested map value */
    }
    buf[len++] = 0xc0;
    return len;
}

START_TEST(depth)
{
    unsigned char buf[1024];
    char err[100];
    size_t n = nested(buf, MT_CODEC_DEPTH, 0x91);
    ck_assert_int_eq(mt_codec_check(buf, n, err, sizeof err), MT_OK);
    n = nested(buf, MT_CODEC_DEPTH + 1, 0x91);
    ck_assert_int_eq(mt_codec_check(buf, n, err, sizeof err), MT_EBADREQ);
    ck_assert_str_eq(err, "body: nested deeper than 16");
    n = nested(buf, MT_CODEC_DEPTH, 0x81);
    ck_assert_int_eq(mt_codec_check(buf, n, err, sizeof err), MT_OK);
    n = nested(buf, MT_CODEC_DEPTH + 1, 0x81);
    ck_assert_int_eq(mt_codec_check(buf, n, err, sizeof err), MT_EBADREQ);
    /* empty containers count as a level too */
    n = nested(buf, MT_CODEC_DEPTH, 0x91);
    buf[n - 1] = 0x90;
    ck_assert_int_eq(mt_codec_check(buf, n, err, sizeof err), MT_EBADREQ);
    /* a deep bomb: 1000 levels */
    n = nested(buf, 1000, 0x91);
    ck_assert_int_eq(mt_codec_check(buf, n, err, sizeof err), MT_EBADREQ);
    /* depth comes back down: siblings at depth 16 are fine */
    unsigned char wide[64];
    size_t w = 0;
    wide[w++] = 0x92;
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < MT_CODEC_DEPTH - 1; i++)
            wide[w++] = 0x91;
        wide[w++] = 0xc0;
    }
    ck_assert_int_eq(mt_codec_check(wide, w, err, sizeof err), MT_OK);
}
END_TEST

START_TEST(large_flat)
{
    /* 100k nils in an array32: exactly as many bytes as elements */
    size_t count = 100000, n = 5 + count;
    unsigned char *buf = malloc(n);
    buf[0] = 0xdd;
    buf[1] = 0, buf[2] = 0x01, buf[3] = 0x86, buf[4] = 0xa0;
    memset(buf + 5, 0xc0, count);
    char err[100];
    ck_assert_int_eq(mt_codec_check(buf, n, err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_codec_check(buf, n - 1, err, sizeof err), MT_EBADREQ);
    free(buf);
}
END_TEST

/*  mt_codec_peek_reply: what metactl load accounts an acknowledgement by. */
START_TEST(peek_reply)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    uint64_t rid = 0;
    bool ok = true;

    /*  A real error reply: its rid, not ok. */
    mt_codec_encode_error(&buf, true, 7, MT_ENOTFOUND, "no such node");
    ck_assert(mt_codec_peek_reply(buf.data, buf.size, &rid, &ok));
    ck_assert_uint_eq(rid, 7);
    ck_assert(!ok);
    msgpack_sbuffer_clear(&buf);

    /*  An acknowledgement, rid in two bytes. */
    tj_pack("{\"ok\": true, \"rid\": 300, \"result\": {\"node\": {\"id\": \"n-1\"}}}", &buf);
    ck_assert(mt_codec_peek_reply(buf.data, buf.size, &rid, &ok));
    ck_assert_uint_eq(rid, 300);
    ck_assert(ok);
    /*  Cut short anywhere: not an acknowledgement. */
    for (size_t n = 0; n < buf.size; n++)
        ck_assert_msg(!mt_codec_peek_reply(buf.data, n, &rid, &ok) || !ok, "cut at %zu", n);
    msgpack_sbuffer_clear(&buf);

    /*  No rid; no ok; an "ok" that is not a boolean; a negative rid: all
        left to the full decode. */
    tj_pack("{\"ok\": true, \"result\": {}}", &buf);
    ck_assert(!mt_codec_peek_reply(buf.data, buf.size, &rid, &ok));
    msgpack_sbuffer_clear(&buf);
    tj_pack("{\"rid\": 5, \"result\": {}}", &buf);
    ck_assert(!mt_codec_peek_reply(buf.data, buf.size, &rid, &ok));
    msgpack_sbuffer_clear(&buf);
    tj_pack("{\"ok\": 1, \"rid\": 5}", &buf);
    ck_assert(!mt_codec_peek_reply(buf.data, buf.size, &rid, &ok));
    ck_assert(!ok);
    msgpack_sbuffer_clear(&buf);
    tj_pack("{\"ok\": true, \"rid\": -5}", &buf);
    ck_assert(!mt_codec_peek_reply(buf.data, buf.size, &rid, &ok));
    msgpack_sbuffer_destroy(&buf);

    /*  Whatever the full decode could read otherwise is left to it: a
        second "ok" or "rid", bytes after the map, a long-form key. A rid
        in a signed width is still a rid. */
    const struct { const char *hex; bool peeks; uint64_t rid; } more[] = {
        { "82 a2 6f 6b c3 a3 72 69 64 d0 05", true, 5 },            /* {ok: true, rid: int8 5} */
        { "83 a2 6f 6b c2 a3 72 69 64 05 a2 6f 6b c3", false, 0 },  /* ok false, then ok true */
        { "83 a2 6f 6b c3 a3 72 69 64 05 a3 72 69 64 06", false, 0 },
        { "82 a2 6f 6b c3 a3 72 69 64 05 c0", false, 0 },          /* trailing nil */
        { "82 a2 6f 6b c3 d9 03 72 69 64 05", false, 0 },          /* str8 "rid" */
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        unsigned char b[32];
        size_t len = hex_bytes(more[i].hex, b, sizeof b);
        bool peeked = mt_codec_peek_reply(b, len, &rid, &ok);
        ck_assert_msg(peeked == more[i].peeks, "case %zu", i);
        if (peeked)
            ck_assert_uint_eq(rid, more[i].rid);
    }

    /*  A map that claims three pairs and holds two: refused, where the
        request's peek (an error answered cheaply) still tells its rid. */
    unsigned char body[32];
    size_t n = hex_bytes("83 a2 6f 6b c3 a3 72 69 64 05", body, sizeof body);
    ck_assert(!mt_codec_peek_reply(body, n, &rid, &ok));
    ck_assert(mt_codec_peek_rid(body, n, &rid));
    ck_assert_uint_eq(rid, 5);
    ck_assert(!mt_codec_peek_reply(NULL, 0, &rid, &ok));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("codec_check");
    TCase *tc = tcase_create("check");
    tcase_add_loop_test(tc, table, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, empty_and_null);
    tcase_add_test(tc, depth);
    tcase_add_test(tc, large_flat);
    tcase_add_test(tc, peek_reply);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mt_check_run(make_suite());
}
