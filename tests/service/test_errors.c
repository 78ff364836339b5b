/*  test_errors.c — bad input over the wire: the right error code
    (bad_request, too_large, unknown_op, not_found), the request's rid
    echoed when it had one, nothing changed, and the replica serving on.
    The replica runs with --max-body 4096. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define DB "metactor_it_errors"
#define TIMEOUT_S 180
#define MAX_BODY 4096

enum { A, B };

static void setup(void)
{
    h_setup(DB, 2, TIMEOUT_S);
    h_set_args(A, "--max-body", "4096", NULL);
    h_start_all();
    h_reply_t *r = h_ok(A, "{s:s, s:{s:s, s:s, s:i}}", "op", "node.register", "node",
                        "id", "ok1", "host_ip", "10.0.0.1", "grpc_port", 9000);
    h_reply_free(&r);
}

/*  The replica still serves, and its state is what it was. */
static void still_serving(void)
{
    h_reply_t *r = h_ok(A, "{s:s, s:s}", "op", "node.get", "id", "ok1");
    H_ASSERT(h_is_str(r->result, "node/id", "ok1"), "node.get after bad input");
    h_reply_free(&r);
}

/*  Sends body raw; expects error `code` and the rid (-1: no rid). */
static void expect_raw(const char *what, const void *body, size_t size, const char *code,
                       int64_t rid)
{
    h_reply_t *r = h_raw(A, body, size, H_CALL_MS);
    H_ASSERT(r, "%s: no reply", what);
    const msgpack_object *top = r->top;
    H_ASSERT(!r->ok && h_get(top, "ok") && h_get(top, "ok")->type == MSGPACK_OBJECT_BOOLEAN,
             "%s: ok is false", what);
    H_ASSERT(strcmp(r->code, code) == 0, "%s: expected %s, got %s (%s)", what, code,
             r->code, r->message);
    H_ASSERT(h_get(top, "error/code")->type == MSGPACK_OBJECT_STR
             && h_get(top, "error/message")
             && h_get(top, "error/message")->type == MSGPACK_OBJECT_STR
             && h_size(top, "error") == 2, "%s: error is {code, message}", what);
    H_ASSERT(r->message[0], "%s: the message says what is wrong", what);
    H_ASSERT(!h_has(top, "result"), "%s: no result in an error", what);
    if (rid < 0) {
        H_ASSERT(!h_has(top, "rid"), "%s: no rid to echo, yet one came back", what);
        H_ASSERT(top->via.map.size == 2, "%s: {ok, error}", what);
    } else {
        H_ASSERT(r->has_rid && r->rid == (uint64_t) rid, "%s: rid %lld echoed", what,
                 (long long) rid);
        H_ASSERT(top->via.map.size == 3, "%s: {ok, rid, error}", what);
    }
    h_reply_free(&r);
}

/*  Packs fmt and expects error `code` with rid. */
static void expect(const char *what, const char *code, int64_t rid, const char *fmt, ...)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    va_list ap;
    va_start(ap, fmt);
    h_vpack(&pk, fmt, &ap);
    va_end(ap);
    expect_raw(what, buf.data, buf.size, code, rid);
    msgpack_sbuffer_destroy(&buf);
}

START_TEST(malformed_bodies)
{
    static const unsigned char never_used[] = { 0xc1 };
    expect_raw("0xc1 (never used)", never_used, 1, "bad_request", -1);
    static const unsigned char truncated[] = { 0x82, 0xa2, 'o', 'p' };
    expect_raw("truncated map", truncated, sizeof truncated, "bad_request", -1);
    static const unsigned char truncated_str[] = { 0x81, 0xa2, 'o', 'p', 0xa8, 'n', 'o' };
    expect_raw("truncated string", truncated_str, sizeof truncated_str, "bad_request", -1);
    expect_raw("empty body", "", 0, "bad_request", -1);
    static const char text[] = "{\"op\": \"node.get\", \"id\": \"ok1\"}";
    expect_raw("JSON text", text, sizeof text - 1, "bad_request", -1);
    /*  A huge declared count with nothing behind it. */
    static const unsigned char bomb[] = { 0xdf, 0xff, 0xff, 0xff, 0xff };
    expect_raw("map32 of 4 Gi pairs", bomb, sizeof bomb, "bad_request", -1);
    static const unsigned char abomb[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x00 };
    expect_raw("array32 of 4 Gi items", abomb, sizeof abomb, "bad_request", -1);
    /*  Deep nesting. */
    unsigned char deep[200];
    for (size_t k = 0; k < sizeof deep - 1; k++)
        deep[k] = 0x91;             /* fixarray of 1 */
    deep[sizeof deep - 1] = 0xc0;
    expect_raw("200 nested arrays", deep, sizeof deep, "bad_request", -1);
    /*  A valid map followed by trailing bytes. */
    static const unsigned char trailing[] = { 0x81, 0xa2, 'o', 'p', 0xa8, 'n', 'o', 'd', 'e',
                                              '.', 'g', 'e', 't', 0xc0 };
    expect_raw("trailing bytes", trailing, sizeof trailing, "bad_request", -1);
    /*  Invalid UTF-8 in a string. */
    static const unsigned char bad_utf8[] = { 0x81, 0xa2, 'o', 'p', 0xa2, 0xff, 0xfe };
    expect_raw("invalid UTF-8 op", bad_utf8, sizeof bad_utf8, "bad_request", -1);
    still_serving();
}
END_TEST

START_TEST(not_a_map)
{
    expect("an array", "bad_request", -1, "[s, s]", "op", "node.get");
    expect("a string", "bad_request", -1, "s", "node.get");
    expect("an integer", "bad_request", -1, "i", 7);
    expect("nil", "bad_request", -1, "n");
    expect("a boolean", "bad_request", -1, "b", 1);
    still_serving();
}
END_TEST

START_TEST(missing_or_bad_op)
{
    expect("no op", "bad_request", 11, "{s:U, s:s}", "rid", (uint64_t) 11, "id", "ok1");
    expect("empty map", "bad_request", -1, "{}");
    expect("op not a string", "bad_request", 12, "{s:U, s:i}", "rid", (uint64_t) 12, "op", 5);
    expect("op nil", "bad_request", 16, "{s:U, s:n}", "rid", (uint64_t) 16, "op");
    expect("unknown op", "unknown_op", 13, "{s:U, s:s}", "rid", (uint64_t) 13, "op",
           "node.explode");
    expect("unknown op, no rid", "unknown_op", -1, "{s:s}", "op", "");
    expect("op in the wrong case", "unknown_op", 14, "{s:s, s:U}", "op", "NODE.GET", "rid",
           (uint64_t) 14);
    /*  The rid comes after op and a key that is not a string: still echoed. */
    expect("a non-string key", "bad_request", 15, "{s:s, i:i, s:U}", "op", "node.get", 1, 2,
           "rid", (uint64_t) 15);
    expect("rid a string", "bad_request", -1, "{s:s, s:s, s:s}", "op", "node.get", "id", "ok1",
           "rid", "17");
    expect("rid negative", "bad_request", -1, "{s:s, s:s, s:i}", "op", "node.get", "id", "ok1",
           "rid", -1);
    still_serving();
}
END_TEST

START_TEST(wrong_field_types)
{
    uint64_t rid = 100;
#define E(what, fmt, ...) expect(what, "bad_request", (int64_t) rid, "{s:U, " fmt "}", "rid", \
                                 rid, __VA_ARGS__), rid++
    E("get: id an integer", "s:s, s:i", "op", "node.get", "id", 5);
    E("get: no id", "s:s", "op", "node.get");
    E("delete: id a map", "s:s, s:{}", "op", "node.delete", "id");
    E("register: no node", "s:s", "op", "node.register");
    E("register: node a string", "s:s, s:s", "op", "node.register", "node", "ok1");
    E("register: node without id", "s:s, s:{s:s}", "op", "node.register", "node",
      "host_ip", "1.2.3.4");
    E("register: grpc_port a string", "s:s, s:{s:s, s:s}", "op", "node.register", "node",
      "id", "x1", "grpc_port", "9000");
    E("register: grpc_port 0", "s:s, s:{s:s, s:i}", "op", "node.register", "node",
      "id", "x1", "grpc_port", 0);
    E("register: grpc_port 70000", "s:s, s:{s:s, s:i}", "op", "node.register", "node",
      "id", "x1", "grpc_port", 70000);
    E("register: labels values integers", "s:s, s:{s:s, s:{s:i}}", "op", "node.register",
      "node", "id", "x1", "labels", "a", 1);
    E("register: labels an array", "s:s, s:{s:s, s:[s]}", "op", "node.register", "node",
      "id", "x1", "labels", "a");
    E("register: capacity values strings", "s:s, s:{s:s, s:{s:s}}", "op", "node.register",
      "node", "id", "x1", "capacity", "cpu_milli", "lots");
    E("register: versions values integers", "s:s, s:{s:s, s:{s:i}}", "op", "node.register",
      "node", "id", "x1", "versions", "runc", 1);
    E("register: host_ip an integer", "s:s, s:{s:s, s:i}", "op", "node.register", "node",
      "id", "x1", "host_ip", 10);
    E("heartbeat: no ready", "s:s, s:s", "op", "node.heartbeat", "id", "ok1");
    E("heartbeat: ready a string", "s:s, s:s, s:s", "op", "node.heartbeat", "id", "ok1",
      "ready", "yes");
    E("heartbeat: ready an integer", "s:s, s:s, s:i", "op", "node.heartbeat", "id", "ok1",
      "ready", 1);
    E("heartbeat: conditions not maps", "s:s, s:s, s:b, s:[s]", "op", "node.heartbeat",
      "id", "ok1", "ready", 1, "conditions", "Ready");
    E("heartbeat: a condition's type an integer", "s:s, s:s, s:b, s:[{s:i}]", "op",
      "node.heartbeat", "id", "ok1", "ready", 1, "conditions", "type", 1);
    E("heartbeat: images a string", "s:s, s:s, s:b, s:s", "op", "node.heartbeat", "id", "ok1",
      "ready", 1, "images", "img");
    E("heartbeat: heartbeat_at a string", "s:s, s:s, s:b, s:s", "op", "node.heartbeat",
      "id", "ok1", "ready", 1, "heartbeat_at", "now");
    /*  A time far beyond any real one (its expiry arithmetic could
        overflow): refused, as a negative one is. */
    E("heartbeat: heartbeat_at INT64_MAX", "s:s, s:s, s:b, s:I", "op", "node.heartbeat",
      "id", "ok1", "ready", 1, "heartbeat_at", (int64_t) INT64_MAX);
    E("heartbeat: heartbeat_at negative", "s:s, s:s, s:b, s:I", "op", "node.heartbeat",
      "id", "ok1", "ready", 1, "heartbeat_at", (int64_t) -1);
    E("list: schedulable_only a string", "s:s, s:s", "op", "node.list", "schedulable_only",
      "yes");
    E("labels: set an array", "s:s, s:s, s:[s]", "op", "node.labels", "id", "ok1", "set", "a");
    E("labels: remove a string", "s:s, s:s, s:s", "op", "node.labels", "id", "ok1",
      "remove", "zone");
    E("labels: remove integers", "s:s, s:s, s:[i]", "op", "node.labels", "id", "ok1",
      "remove", 1);
    E("list: limit a string", "s:s, s:s", "op", "node.list", "limit", "10");
    E("list: limit negative", "s:s, s:i", "op", "node.list", "limit", -1);
    E("list: healthy_only an integer", "s:s, s:i", "op", "node.list", "healthy_only", 1);
    E("list: selector a string", "s:s, s:s", "op", "node.list", "selector", "a=b");
    E("list: after an integer", "s:s, s:i", "op", "node.list", "after", 5);
#undef E
    /*  Nothing of the above was written. */
    char *ids = h_list_ids(A);
    H_ASSERT(strcmp(ids, "ok1") == 0, "only ok1 exists: %s", ids);
    free(ids);
    h_reply_t *r = h_ok(A, "{s:s, s:s}", "op", "node.get", "id", "ok1");
    H_ASSERT(h_int(r->result, "node/status_revision") == 0, "ok1 never heartbeat");
    H_ASSERT(h_size(r->result, "node/labels") == 0, "ok1 has no labels");
    h_reply_free(&r);
    still_serving();
}
END_TEST

START_TEST(invalid_ids)
{
    char long_id[300];
    memset(long_id, 'a', sizeof long_id);
    long_id[254] = '\0';                    /* 254 characters: one too many */
    const char *bad[] = { "", "has space", "slash/x", "colon:x", "tab\tx", "\xc3\xbc-umlaut",
                          "star*", long_id };
    uint64_t rid = 200;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char what[128];
        snprintf(what, sizeof what, "register id '%.20s' (%zu bytes)", bad[k], strlen(bad[k]));
        expect(what, "bad_request", (int64_t) rid, "{s:U, s:s, s:{s:s}}", "rid", rid, "op",
               "node.register", "node", "id", bad[k]);
        rid++;
        snprintf(what, sizeof what, "get id '%.20s'", bad[k]);
        expect(what, "bad_request", (int64_t) rid, "{s:U, s:s, s:s}", "rid", rid, "op",
               "node.get", "id", bad[k]);
        rid++;
        snprintf(what, sizeof what, "heartbeat id '%.20s'", bad[k]);
        expect(what, "bad_request", (int64_t) rid, "{s:U, s:s, s:s, s:b}", "rid", rid, "op",
               "node.heartbeat", "id", bad[k], "ready", 1);
        rid++;
    }
    char *ids = h_list_ids(A);
    H_ASSERT(strcmp(ids, "ok1") == 0, "nothing registered: %s", ids);
    free(ids);
    /*  The longest valid id (253) and every allowed character. */
    long_id[253] = '\0';
    h_reply_t *r = h_ok(A, "{s:s, s:{s:s}}", "op", "node.register", "node", "id", long_id);
    h_reply_free(&r);
    r = h_ok(A, "{s:s, s:{s:s}}", "op", "node.register", "node", "id", "Az09.-_");
    h_reply_free(&r);
    h_err(A, "not_found", "{s:s, s:s}", "op", "node.get", "id", "never-registered");
    h_err(A, "not_found", "{s:s, s:s}", "op", "node.delete", "id", "never-registered");
    still_serving();
}
END_TEST

static void pad_body(msgpack_sbuffer *buf, size_t total, uint64_t rid)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    /*  {"rid": rid, "op": "node.get", "id": "ok1", "pad": "xxx..."} */
    msgpack_pack_map(&pk, 4);
    h_pack(&pk, "s", "rid");
    msgpack_pack_uint64(&pk, rid);
    h_pack(&pk, "s", "op");
    h_pack(&pk, "s", "node.get");
    h_pack(&pk, "s", "id");
    h_pack(&pk, "s", "ok1");
    h_pack(&pk, "s", "pad");
    size_t rest = total - buf->size, n = rest - 5;     /* str32 */
    if (rest - 3 < 65536)
        n = rest - 3;                                 /* str16 */
    char *pad = malloc(n);
    memset(pad, 'x', n);
    msgpack_pack_str(&pk, (uint32_t) n);
    msgpack_pack_str_body(&pk, pad, n);
    free(pad);
    ck_assert_uint_eq(buf->size, total);
}

START_TEST(oversized_bodies)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    /*  Just within the limit: served. */
    pad_body(&buf, MAX_BODY, 300);
    h_reply_t *r = h_raw(A, buf.data, buf.size, H_CALL_MS);
    H_ASSERT(r && r->ok && r->has_rid && r->rid == 300, "a body of exactly --max-body is served");
    h_reply_free(&r);
    msgpack_sbuffer_clear(&buf);
    /*  Over it. */
    pad_body(&buf, 5000, 301);
    r = h_raw(A, buf.data, buf.size, H_CALL_MS);
    H_ASSERT(r && !r->ok && strcmp(r->code, "too_large") == 0, "5000 bytes: too_large, got %s",
             r ? r->code : "no reply");
    h_reply_free(&r);
    msgpack_sbuffer_clear(&buf);
    /*  Garbage over the limit: too_large too (size first). */
    char junk[MAX_BODY + 1];
    memset(junk, 0xc1, sizeof junk);
    expect_raw("junk over the limit", junk, sizeof junk, "too_large", -1);
    still_serving();

    /*  Far over it: the connection may be dropped without a reply; the
        replica serves on (a new connection). */
    pad_body(&buf, 20 * MAX_BODY, 302);
    r = h_raw(A, buf.data, buf.size, 2000);
    if (r)
        H_ASSERT(!r->ok && strcmp(r->code, "too_large") == 0, "80 KiB: too_large or nothing");
    h_reply_free(&r);
    msgpack_sbuffer_destroy(&buf);
    h_reconnect(A);
    still_serving();
    /*  The other replica's default limit (1 MiB) takes 5000 bytes. */
    msgpack_sbuffer_init(&buf);
    pad_body(&buf, 5000, 303);
    r = h_raw(B, buf.data, buf.size, H_CALL_MS);
    H_ASSERT(r && r->ok && r->rid == 303, "B (default max body) serves 5000 bytes");
    h_reply_free(&r);
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

/*  PROTOCOL.md: "rid" is "echoed in the reply, so a DEALER client can
    match replies to requests" — for a too_large reply as well, when the
    body begins with it. */
START_TEST(too_large_echoes_rid)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    pad_body(&buf, 5000, 301);
    expect_raw("5000 bytes with rid 301", buf.data, buf.size, "too_large", 301);
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

/*  A flood of bad requests, pipelined; then a good one is answered. */
START_TEST(flood_of_garbage)
{
    void *s = h_socket(ZMQ_DEALER);
    ck_assert_int_eq(zmq_connect(s, h_replica(A)->endpoint), 0);
    enum { N = 2000 };
    for (int k = 0; k < N; k++) {
        unsigned char body[8] = { 0xc1, (unsigned char) k, 0x92, 0x93, 0xdf, 0xff, 0xff, 0xff };
        zmq_send(s, "", 0, ZMQ_SNDMORE);
        zmq_send(s, body, (size_t) (k % 8) + 1, 0);
    }
    int replies = 0;
    while (replies < N) {
        zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
        H_ASSERT(zmq_poll(&it, 1, H_CALL_MS) == 1, "only %d replies of %d", replies, N);
        char b[4096];
        int more = 1, n = 0;
        while (more) {
            n = zmq_recv(s, b, sizeof b, 0);
            size_t ml = sizeof more;
            zmq_getsockopt(s, ZMQ_RCVMORE, &more, &ml);
        }
        h_reply_t *r = h_reply_parse(b, (size_t) n);
        H_ASSERT(r && !r->ok && strcmp(r->code, "bad_request") == 0, "reply %d: bad_request",
                 replies);
        h_reply_free(&r);
        replies++;
    }
    h_close(&s);
    still_serving();
    h_reply_t *st = h_ok(A, "{s:s}", "op", "replica.stats");
    if (h_has(st->result, "request_errors"))
        H_ASSERT(h_int(st->result, "request_errors") >= N, "request_errors counts them");
    h_reply_free(&st);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service_errors");
    h_tcase(s, "errors", setup, TIMEOUT_S, malformed_bodies, not_a_map, missing_or_bad_op,
            wrong_field_types, invalid_ids, oversized_bodies, too_large_echoes_rid,
            flood_of_garbage, NULL);
    return h_run(s);
}
