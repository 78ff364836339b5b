/*  test_protocol.c — conformance with PROTOCOL.md as a client in another
    language would see it: plain libzmq REQ and DEALER sockets, bodies
    packed byte by byte or with msgpack-c, replies checked key by key and
    type by type against the tables of PROTOCOL.md. Nothing of the
    service's own client or codec is used. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define DB "metactor_it_protocol"
#define TIMEOUT_S 180

enum { A, B };

static void *g_dealer[2];

static void setup(void)
{
    g_dealer[A] = g_dealer[B] = NULL;
    h_setup(DB, 2, TIMEOUT_S);
    h_start_all();
}

/*  Replica i's DEALER, connected on first use. */
static void *dealer(int i)
{
    if (!g_dealer[i])
        g_dealer[i] = h_raw_connect(ZMQ_DEALER, i);
    return g_dealer[i];
}

/*  One call on replica i's DEALER, expecting ok: the reply. */
static h_reply_t *call_ok(int i, msgpack_sbuffer *b)
{
    h_reply_t *r = h_raw_dealer_call(dealer(i), b->data, b->size);
    msgpack_sbuffer_free(b);
    H_ASSERT(r->ok, "expected ok, got %s: %s", r->code, r->message);
    return r;
}

/* ---- the tests ------------------------------------------------------------------- */

START_TEST(req_client)
{
    void *s = h_raw_connect(ZMQ_REQ, A);
    msgpack_sbuffer *b = h_body("{s:s, s:U}", "op", "cluster.info", "rid", (uint64_t) 7);
    h_reply_t *r = h_raw_req_call(s, b->data, b->size);
    h_check_ok_reply(r, 7);
    h_reply_free(&r);
    msgpack_sbuffer_free(b);
    b = h_body("{s:s}", "op", "cluster.info");
    r = h_raw_req_call(s, b->data, b->size);
    h_check_ok_reply(r, -1);
    h_reply_free(&r);
    msgpack_sbuffer_free(b);
    /*  An error through REQ, then a success on the same socket. */
    b = h_body("{s:s, s:U}", "op", "no.such", "rid", (uint64_t) 8);
    r = h_raw_req_call(s, b->data, b->size);
    H_ASSERT(!r->ok && strcmp(r->code, "unknown_op") == 0 && r->rid == 8, "unknown_op via REQ");
    H_ASSERT(r->top->via.map.size == 3 && h_has(r->top, "error"), "{ok, rid, error}");
    h_reply_free(&r);
    msgpack_sbuffer_free(b);
    b = h_body("{s:s, s:{s:s}}", "op", "node.register", "node", "id", "req1");
    r = h_raw_req_call(s, b->data, b->size);
    h_check_ok_reply(r, -1);
    h_check_view(h_get(r->result, "node"));
    h_reply_free(&r);
    msgpack_sbuffer_free(b);
}
END_TEST

START_TEST(dealer_client_pipelined)
{
    void *s = h_raw_connect(ZMQ_DEALER, A);
    enum { N = 100 };
    /*  Mixed operations, all sent before any reply is read. */
    for (int k = 0; k < N; k++) {
        msgpack_sbuffer *b;
        char id[16];
        snprintf(id, sizeof id, "d%02d", k % 10);
        uint64_t rid = 1000 + (uint64_t) k;
        switch (k % 4) {
        case 0:
            b = h_body("{s:U, s:s, s:{s:s}}", "rid", rid, "op", "node.register", "node", "id", id);
            break;
        case 1:
            b = h_body("{s:U, s:s}", "rid", rid, "op", "cluster.info");
            break;
        case 2:
            b = h_body("{s:U, s:s}", "rid", rid, "op", "replica.stats");
            break;
        default:
            b = h_body("{s:U, s:s}", "rid", rid, "op", "node.list");
            break;
        }
        h_raw_dealer_send(s, b->data, b->size);
        msgpack_sbuffer_free(b);
    }
    bool seen[N] = { false };
    for (int k = 0; k < N; k++) {
        h_reply_t *r = h_raw_dealer_recv(s);
        H_ASSERT(r->has_rid && r->rid >= 1000 && r->rid < 1000 + N, "a rid of ours");
        int idx = (int) (r->rid - 1000);
        H_ASSERT(!seen[idx], "rid %d answered twice", idx + 1000);
        seen[idx] = true;
        h_check_ok_reply(r, (int64_t) r->rid);
        switch (idx % 4) {
        case 0: H_ASSERT(h_has(r->result, "node"), "register → node"); break;
        case 1: H_ASSERT(h_has(r->result, "members"), "cluster.info → members"); break;
        case 2: H_ASSERT(!h_has(r->result, "members"), "stats"); break;
        default: H_ASSERT(h_has(r->result, "nodes"), "list → nodes"); break;
        }
        h_reply_free(&r);
    }
    /*  rid 0 and the largest rid are echoed as given. */
    msgpack_sbuffer *b = h_body("{s:s, s:U}", "op", "cluster.info", "rid", (uint64_t) 0);
    h_reply_t *r = h_raw_dealer_call(s, b->data, b->size);
    h_check_ok_reply(r, 0);
    h_reply_free(&r);
    msgpack_sbuffer_free(b);
    b = h_body("{s:s, s:U}", "op", "cluster.info", "rid", UINT64_MAX);
    r = h_raw_dealer_call(s, b->data, b->size);
    H_ASSERT(r->ok && r->has_rid && r->rid == UINT64_MAX, "rid 2^64-1 echoed");
    h_reply_free(&r);
    msgpack_sbuffer_free(b);
}
END_TEST

START_TEST(node_ops_reply_shapes)
{
    /*  register: {"node": view} */
    h_reply_t *r = call_ok(A, h_body(
        "{s:s, s:U, s:{s:s, s:s, s:i, s:s, s:{s:s, s:s}, s:{s:i, s:i}, s:{s:i},"
        "              s:{s:s, s:s}, s:I}, s:s}",
        "op", "node.register", "rid", (uint64_t) 1,
        "node", "id", "v1", "host_ip", "192.168.7.7", "grpc_port", 50051,
        "instance_type", "cube.2xlarge", "labels", "zone", "z1", "gpu", "a100",
        "capacity", "cpu_milli", 64000, "memory_mb", 262144, "quota", "sandboxes", 500,
        "versions", "cubelet", "1.4.2", "runc", "1.1.9", "registered_at",
        (int64_t) 1700000000123, "unknown_extra_key", "ignored"));
    h_check_ok_reply(r, 1);
    H_ASSERT(r->result->via.map.size == 1, "register: {node}");
    const msgpack_object *v = h_get(r->result, "node");
    h_check_view(v);
    H_ASSERT(h_is_str(v, "id", "v1") && h_is_str(v, "host_ip", "192.168.7.7")
             && h_int(v, "grpc_port") == 50051 && h_is_str(v, "instance_type", "cube.2xlarge"),
             "scalars round-trip");
    H_ASSERT(h_size(v, "labels") == 2 && h_is_str(v, "labels/zone", "z1")
             && h_is_str(v, "labels/gpu", "a100"), "labels round-trip");
    H_ASSERT(h_size(v, "capacity") == 2 && h_int(v, "capacity/cpu_milli") == 64000
             && h_int(v, "capacity/memory_mb") == 262144, "capacity round-trips");
    H_ASSERT(h_size(v, "quota") == 1 && h_int(v, "quota/sandboxes") == 500, "quota");
    H_ASSERT(h_size(v, "versions") == 2 && h_is_str(v, "versions/runc", "1.1.9"), "versions");
    H_ASSERT(h_int(v, "registered_at") == 1700000000123, "registered_at round-trips");
    H_ASSERT(h_int(v, "reg_revision") > 0, "reg_revision > 0");
    H_ASSERT(h_int(v, "heartbeat_at") == 0 && h_int(v, "status_revision") == 0,
             "no heartbeat yet: heartbeat_at 0");
    H_ASSERT(!h_bool(v, "ready") && !h_bool(v, "healthy"), "not healthy before a heartbeat");
    H_ASSERT(h_size(v, "conditions") == 0 && h_size(v, "images") == 0
             && h_size(v, "local_templates") == 0, "empty status arrays");
    char *hash = h_sdup(v, "versions_hash");
    H_ASSERT(hash[0], "versions_hash not empty");
    h_reply_free(&r);

    /*  versions_hash: equal maps (in another order) hash equal; others not. */
    r = call_ok(A, h_body("{s:s, s:{s:s, s:{s:s, s:s}}}", "op", "node.register", "node",
                          "id", "v2", "versions", "runc", "1.1.9", "cubelet", "1.4.2"));
    H_ASSERT(h_is_str(r->result, "node/versions_hash", hash), "same versions, same hash");
    h_reply_free(&r);
    r = call_ok(A, h_body("{s:s, s:{s:s, s:{s:s, s:s}}}", "op", "node.register", "node",
                          "id", "v3", "versions", "runc", "1.1.10", "cubelet", "1.4.2"));
    H_ASSERT(!h_is_str(r->result, "node/versions_hash", hash), "other versions, other hash");
    h_reply_free(&r);
    free(hash);

    /*  heartbeat: conditions are maps of four strings. */
    int64_t before = h_wall_ms();
    r = call_ok(A, h_body("{s:s, s:s, s:b, s:[{s:s, s:s, s:s, s:s}, {s:s, s:s}],"
                          " s:[s, s, s], s:[s, s]}",
                          "op", "node.heartbeat", "id", "v1", "ready", 1,
                          "conditions", "type", "Ready", "status", "True", "reason", "KubeletReady",
                          "message", "kubelet is posting ready status",
                          "type", "DiskPressure", "status", "False",
                          "images", "a:1", "b:2", "c:3", "local_templates", "t1", "t2"));
    int64_t after = h_wall_ms();
    h_check_ok_reply(r, -1);
    H_ASSERT(r->result->via.map.size == 1, "heartbeat: {node}");
    v = h_get(r->result, "node");
    h_check_view(v);
    H_ASSERT(h_bool(v, "ready") && h_bool(v, "healthy"), "ready and healthy");
    H_ASSERT(h_int(v, "heartbeat_at") >= before - 1000 && h_int(v, "heartbeat_at") <= after + 1000,
             "heartbeat_at: the replica's clock in ms");
    H_ASSERT(h_int(v, "status_revision") > 0, "status_revision > 0");
    H_ASSERT(h_size(v, "conditions") == 2, "two conditions");
    H_ASSERT(h_is_str(v, "conditions/0/type", "Ready")
             && h_is_str(v, "conditions/0/message", "kubelet is posting ready status")
             && h_is_str(v, "conditions/1/type", "DiskPressure")
             && h_is_str(v, "conditions/1/reason", "")
             && h_is_str(v, "conditions/1/message", ""),
             "conditions round-trip, missing strings empty");
    H_ASSERT(h_size(v, "images") == 3 && h_is_str(v, "images/2", "c:3"), "images");
    H_ASSERT(h_size(v, "local_templates") == 2 && h_is_str(v, "local_templates/1", "t2"),
             "local_templates");
    H_ASSERT(h_is_str(v, "labels/zone", "z1"), "the registration group is in the view too");
    h_reply_free(&r);

    /*  An explicit heartbeat_at. */
    r = call_ok(A, h_body("{s:s, s:s, s:b, s:I}", "op", "node.heartbeat", "id", "v2", "ready", 0,
                          "heartbeat_at", (int64_t) 1600000000000));
    H_ASSERT(h_int(r->result, "node/heartbeat_at") == 1600000000000, "heartbeat_at given");
    H_ASSERT(!h_bool(r->result, "node/healthy"), "not ready: not healthy");
    h_reply_free(&r);
    /*  heartbeat_at is data, never health: a ready node that says it is
        2020 is healthy, judged by seen_at — the database's stamp of the
        commit (on this host, the wall clock give or take). */
    before = h_wall_ms();
    r = call_ok(A, h_body("{s:s, s:s, s:b, s:I}", "op", "node.heartbeat", "id", "v3", "ready", 1,
                          "heartbeat_at", (int64_t) 1600000000000));
    H_ASSERT(h_int(r->result, "node/heartbeat_at") == 1600000000000, "heartbeat_at given");
    H_ASSERT(h_int(r->result, "node/seen_at") >= before - 1000
             && h_int(r->result, "node/seen_at") <= h_wall_ms() + 1000, "seen_at: the commit");
    H_ASSERT(h_bool(r->result, "node/healthy") && h_bool(r->result, "node/schedulable"),
             "healthy by seen_at");
    h_reply_free(&r);

    /*  labels: {"node": view} */
    r = call_ok(A, h_body("{s:s, s:s, s:{s:s}, s:[s]}", "op", "node.labels", "id", "v1",
                          "set", "team", "infra", "remove", "gpu"));
    H_ASSERT(r->result->via.map.size == 1, "labels: {node}");
    h_check_view(h_get(r->result, "node"));
    H_ASSERT(h_size(r->result, "node/labels") == 2 && h_is_str(r->result, "node/labels/team", "infra")
             && !h_has(r->result, "node/labels/gpu"), "labels set and removed");
    h_reply_free(&r);

    /*  get: {"node": view} */
    r = call_ok(B, h_body("{s:s, s:s}", "op", "node.get", "id", "v1"));
    H_ASSERT(r->result->via.map.size == 1, "get: {node}");
    h_check_view(h_get(r->result, "node"));
    h_reply_free(&r);

    /*  list: {"nodes": [view...], "revision"}, sorted by id, no "next"
        without a limit. */
    r = call_ok(A, h_body("{s:s}", "op", "node.list"));
    H_ASSERT(r->result->via.map.size == 2 && h_size(r->result, "nodes") == 3
             && h_is_int(h_get(r->result, "revision")),
             "list: {nodes, revision} with three views");
    for (int k = 0; k < 3; k++) {
        char p[16];
        snprintf(p, sizeof p, "nodes/%d", k);
        h_check_view(h_get(r->result, p));
    }
    H_ASSERT(h_is_str(r->result, "nodes/0/id", "v1") && h_is_str(r->result, "nodes/2/id", "v3"),
             "sorted by id");
    h_reply_free(&r);

    /*  delete: {} */
    r = call_ok(A, h_body("{s:s, s:s, s:U}", "op", "node.delete", "id", "v3", "rid",
                          (uint64_t) 9));
    h_check_ok_reply(r, 9);
    H_ASSERT(r->result->via.map.size == 0, "delete: an empty map");
    h_reply_free(&r);
}
END_TEST

static h_reply_t *list(int i, const char *after, int limit)
{
    if (after)
        return call_ok(i, h_body("{s:s, s:s, s:i}", "op", "node.list", "after", after,
                                 "limit", limit));
    return call_ok(i, h_body("{s:s, s:i}", "op", "node.list", "limit", limit));
}

static void check_page(h_reply_t *r, const char *const *ids, const char *next)
{
    uint32_t n = 0;
    while (ids[n])
        n++;
    H_ASSERT(h_size(r->result, "nodes") == n, "a page of %u, got %u", n,
             h_size(r->result, "nodes"));
    for (uint32_t k = 0; k < n; k++) {
        char p[32];
        snprintf(p, sizeof p, "nodes/%u/id", k);
        H_ASSERT(h_is_str(r->result, p, ids[k]), "page item %u is %s", k, ids[k]);
    }
    if (next) {
        H_ASSERT(h_is_str(r->result, "next", next), "next is %s", next);
        H_ASSERT(r->result->via.map.size == 3, "{nodes, next, revision}");
    } else {
        H_ASSERT(!h_has(r->result, "next"), "no next on the last page");
        H_ASSERT(r->result->via.map.size == 2, "{nodes, revision}");
    }
}

START_TEST(node_list_paging)
{
    const char *all[] = { "p1", "p2", "p3", "p4", "p5", "p6", "p7" };
    for (int k = 6; k >= 0; k--) {                /* registered out of order */
        h_reply_t *r = call_ok(A, h_body("{s:s, s:{s:s, s:{s:s}}}", "op", "node.register",
                                         "node", "id", all[k], "labels", "parity",
                                         k % 2 ? "even" : "odd"));
        h_reply_free(&r);
    }
    h_reply_t *r = list(A, NULL, 3);
    check_page(r, (const char *[]) { "p1", "p2", "p3", NULL }, "p3");
    h_reply_free(&r);
    r = list(A, "p3", 3);
    check_page(r, (const char *[]) { "p4", "p5", "p6", NULL }, "p6");
    h_reply_free(&r);
    r = list(A, "p6", 3);
    check_page(r, (const char *[]) { "p7", NULL }, NULL);
    h_reply_free(&r);
    r = list(A, "p7", 3);
    check_page(r, (const char *[]) { NULL }, NULL);
    h_reply_free(&r);
    r = list(A, NULL, 0);                          /* 0: no limit */
    check_page(r, (const char *[]) { "p1", "p2", "p3", "p4", "p5", "p6", "p7", NULL }, NULL);
    h_reply_free(&r);
    r = list(A, "p25", 2);                          /* after an id that does not exist */
    check_page(r, (const char *[]) { "p3", "p4", NULL }, "p4");
    h_reply_free(&r);
    r = list(A, NULL, 7);                           /* exactly all: not cut */
    check_page(r, (const char *[]) { "p1", "p2", "p3", "p4", "p5", "p6", "p7", NULL }, NULL);
    h_reply_free(&r);
    /*  With a selector: pages of the selected nodes. */
    r = call_ok(A, h_body("{s:s, s:{s:s}, s:i}", "op", "node.list", "selector", "parity", "odd",
                          "limit", 2));
    check_page(r, (const char *[]) { "p1", "p3", NULL }, "p3");
    h_reply_free(&r);
    r = call_ok(A, h_body("{s:s, s:{s:s}, s:i, s:s}", "op", "node.list", "selector", "parity",
                          "odd", "limit", 2, "after", "p3"));
    check_page(r, (const char *[]) { "p5", "p7", NULL }, NULL);
    h_reply_free(&r);
    /*  Paging through B (its own snapshot) gives the same pages. */
    H_WAIT(({
               h_reply_t *l = list(B, NULL, 0);
               bool all7 = h_size(l->result, "nodes") == 7;
               h_reply_free(&l);
               all7;
           }), H_T, "B never listed the seven nodes");
    r = list(B, "p3", 3);
    check_page(r, (const char *[]) { "p4", "p5", "p6", NULL }, "p6");
    h_reply_free(&r);
}
END_TEST

START_TEST(cluster_info_shape)
{
    char *uuid[2];
    for (int i = A; i <= B; i++) {
        h_reply_t *r = call_ok(i, h_body("{s:s}", "op", "cluster.info"));
        static const char *const keys[] = { "cluster_uuid", "replica_id", "members" };
        h_check_keys(r->result, "cluster.info", keys, "ssa");
        uuid[i] = h_sdup(r->result, "cluster_uuid");
        H_ASSERT(strlen(uuid[i]) == 36 && uuid[i][8] == '-' && uuid[i][13] == '-',
                 "cluster_uuid is a uuid: %s", uuid[i]);
        H_ASSERT(h_is_str(r->result, "replica_id", h_replica(i)->id), "replica_id");
        const msgpack_object *m = h_get(r->result, "members");
        H_ASSERT(m->via.array.size == 2, "two members");
        for (uint32_t k = 0; k < 2; k++) {
            static const char *const mkeys[] = { "replica_id", "endpoint", "pub_endpoint",
                                                 "public_key", "alive" };
            const msgpack_object *e = &m->via.array.ptr[k];
            h_check_keys(e, "member", mkeys, "ssssb");
            /*  No certificate here: the key is "" (protocol-notes.md). */
            H_ASSERT(h_is_str(e, "public_key", ""), "member public_key");
            h_replica_t *rep = h_replica(h_is_str(e, "replica_id", "A") ? A : B);
            H_ASSERT(h_is_str(e, "replica_id", rep->id), "member id");
            H_ASSERT(h_is_str(e, "endpoint", rep->endpoint), "member endpoint");
            H_ASSERT(h_is_str(e, "pub_endpoint", rep->pub_endpoint), "member pub_endpoint");
            H_ASSERT(h_bool(e, "alive"), "member alive");
        }
        H_ASSERT(!h_is_str(m, "0/replica_id", "B") || !h_is_str(m, "1/replica_id", "B"),
                 "each member once");
        h_reply_free(&r);
    }
    H_ASSERT(strcmp(uuid[A], uuid[B]) == 0, "one cluster uuid");
    free(uuid[A]);
    free(uuid[B]);
}
END_TEST

START_TEST(replica_stats_shape)
{
    h_reply_t *r = call_ok(A, h_body("{s:s, s:U}", "op", "replica.stats", "rid", (uint64_t) 3));
    h_check_ok_reply(r, 3);
    const msgpack_object *m = r->result;
    H_ASSERT(m->via.map.size > 0, "some counters");
    for (uint32_t k = 0; k < m->via.map.size; k++) {
        const msgpack_object *key = &m->via.map.ptr[k].key;
        H_ASSERT(key->type == MSGPACK_OBJECT_STR && key->via.str.size > 0, "keys are names");
        H_ASSERT(h_is_type(&m->via.map.ptr[k].val, 'i'), "counter %.*s is an integer",
                 (int) key->via.str.size, key->via.str.ptr);
    }
    h_reply_free(&r);
}
END_TEST

/* ---- integer widths ---------------------------------------------------------- */

typedef enum { FIX, U8, U16, U32, U64, I8, I16, I32, I64, NWIDTHS } width_t;
static const char *const width_name[] = { "positive fixint", "uint8", "uint16", "uint32",
                                          "uint64", "int8", "int16", "int32", "int64" };

/*  Encodes v (>= 0) in exactly this width: out gets the bytes; returns
    their count, 0 if v does not fit. */
static size_t encode(width_t w, uint64_t v, unsigned char *out)
{
    static const unsigned char tag[] = { 0, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3 };
    static const int bytes[] = { 0, 1, 2, 4, 8, 1, 2, 4, 8 };
    static const uint64_t max[] = { 127, 0xff, 0xffff, 0xffffffffu, UINT64_MAX, 127, 32767,
                                    2147483647, INT64_MAX };
    if (v > max[w])
        return 0;
    if (w == FIX) {
        out[0] = (unsigned char) v;
        return 1;
    }
    out[0] = tag[w];
    for (int k = 0; k < bytes[w]; k++)
        out[1 + k] = (unsigned char) (v >> (8 * (bytes[w] - 1 - k)));
    return (size_t) bytes[w] + 1;
}

START_TEST(integers_in_every_width)
{
    for (int w = FIX; w < NWIDTHS; w++) {
        unsigned char rid[9], port[9], cap[9], ts[9], lim[9];
        uint64_t port_v = w == FIX ? 80 : w == U8 || w == I8 ? 100 : 9000 + (uint64_t) w;
        uint64_t cap_v = w == FIX ? 5 : w == U8 || w == I8 ? 120
                       : w == I16 || w == U16 ? 30000 : 3000000000ull + (uint64_t) w;
        if (w == I32 || w == U32)
            cap_v = w == I32 ? 2000000000u : 4000000000u;
        uint64_t ts_v = w == U64 || w == I64 ? 1700000000000ull + (uint64_t) w
                      : w == U32 ? 4000000000u : w == I32 ? 2000000000u
                      : w == U16 || w == I16 ? 30000 : w == FIX ? 99 : 120;
        size_t nrid = encode((width_t) w, 40 + (uint64_t) w, rid);
        size_t nport = encode((width_t) w, port_v, port);
        size_t ncap = encode((width_t) w, cap_v, cap);
        size_t nts = encode((width_t) w, ts_v, ts);
        size_t nlim = encode((width_t) w, 2, lim);
        H_ASSERT(nrid && nport && ncap && nts && nlim, "encodable");
        char id[32];
        snprintf(id, sizeof id, "w-%s", width_name[w]);
        for (char *p = id; *p; p++)
            if (*p == ' ')
                *p = '-';
        /*  register: rid, grpc_port, capacity and registered_at. */
        h_reply_t *r = call_ok(A, h_body("{s:r, s:s, s:{s:s, s:r, s:{s:r}, s:r}}",
                                         "rid", rid, nrid, "op", "node.register", "node",
                                         "id", id, "grpc_port", port, nport,
                                         "capacity", "cpu_milli", cap, ncap,
                                         "registered_at", ts, nts));
        H_ASSERT(r->has_rid && r->rid == 40 + (uint64_t) w, "%s rid echoed", width_name[w]);
        H_ASSERT(h_int(r->result, "node/grpc_port") == (int64_t) port_v, "%s grpc_port",
                 width_name[w]);
        H_ASSERT(h_int(r->result, "node/capacity/cpu_milli") == (int64_t) cap_v,
                 "%s capacity", width_name[w]);
        H_ASSERT(h_int(r->result, "node/registered_at") == (int64_t) ts_v,
                 "%s registered_at", width_name[w]);
        h_reply_free(&r);
        /*  heartbeat_at and list's limit. */
        r = call_ok(A, h_body("{s:s, s:s, s:b, s:r}", "op", "node.heartbeat", "id", id,
                              "ready", 0, "heartbeat_at", ts, nts));
        H_ASSERT(h_int(r->result, "node/heartbeat_at") == (int64_t) ts_v, "%s heartbeat_at",
                 width_name[w]);
        h_reply_free(&r);
        r = call_ok(A, h_body("{s:s, s:r}", "op", "node.list", "limit", lim, nlim));
        H_ASSERT(h_size(r->result, "nodes") == (w == FIX ? 1 : 2), "%s limit", width_name[w]);
        h_reply_free(&r);
    }
    /*  Strings in every width too: op as str8, str16 and str32. */
    static const unsigned char str8[] = { 0x81, 0xa2, 'o', 'p', 0xd9, 12, 'c', 'l', 'u', 's',
                                          't', 'e', 'r', '.', 'i', 'n', 'f', 'o' };
    static const unsigned char str16[] = { 0x81, 0xda, 0, 2, 'o', 'p', 0xda, 0, 12, 'c', 'l',
                                           'u', 's', 't', 'e', 'r', '.', 'i', 'n', 'f', 'o' };
    static const unsigned char str32[] = { 0x81, 0xdb, 0, 0, 0, 2, 'o', 'p', 0xdb, 0, 0, 0, 12,
                                           'c', 'l', 'u', 's', 't', 'e', 'r', '.', 'i', 'n', 'f',
                                           'o' };
    const unsigned char *bodies[] = { str8, str16, str32 };
    size_t sizes[] = { sizeof str8, sizeof str16, sizeof str32 };
    for (int k = 0; k < 3; k++) {
        void *s = dealer(A);
        h_reply_t *r = h_raw_dealer_call(s, bodies[k], sizes[k]);
        H_ASSERT(r->ok && h_has(r->result, "members"), "op as str%d", 8 << k);
        h_reply_free(&r);
    }
    /*  map16 and array16 containers. */
    static const unsigned char map16[] = { 0xde, 0, 2, 0xa2, 'o', 'p', 0xa8, 'n', 'o', 'd', 'e',
                                           '.', 'g', 'e', 't', 0xa2, 'i', 'd', 0xa6, 'w', '-',
                                           'i', 'n', 't', '8' };
    h_reply_t *r = h_raw_dealer_call(g_dealer[A], map16, sizeof map16);
    H_ASSERT(r->ok && h_is_str(r->result, "node/id", "w-int8"), "map16 body: %s", r->code);
    h_reply_free(&r);
    /*  {"op": "node.list", "selector": map32 {}, "limit": 1} with an array16
        of removals elsewhere: node.labels remove as array16. */
    static const unsigned char arr16[] = { 0x83, 0xa2, 'o', 'p', 0xab, 'n', 'o', 'd', 'e', '.',
                                           'l', 'a', 'b', 'e', 'l', 's', 0xa2, 'i', 'd', 0xa6,
                                           'w', '-', 'i', 'n', 't', '8', 0xa6, 'r', 'e', 'm',
                                           'o', 'v', 'e', 0xdc, 0, 1, 0xa1, 'x' };
    r = h_raw_dealer_call(g_dealer[A], arr16, sizeof arr16);
    H_ASSERT(r->ok && h_is_str(r->result, "node/id", "w-int8"), "array16 in a body: %s %s",
             r->code, r->message);
    h_reply_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service_protocol");
    h_tcase(s, "protocol", setup, TIMEOUT_S, req_client, dealer_client_pipelined,
            node_ops_reply_shapes, node_list_paging, cluster_info_shape, replica_stats_shape,
            integers_in_every_width, NULL);
    return h_run(s);
}
