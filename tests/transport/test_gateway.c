/*  test_gateway.c — the request endpoint (transport/gateway.c) in one
    process: a real ROUTER (the gateway's) and DEALER sockets (the test's
    clients, framed as mt_client frames them), with probes standing in for
    the node directory, the reference registry and membership. The test
    answers what the probes receive as those actors would, or does not.

    Cases:
      routes_each_op            node.* to the directory (with its deadline),
                                rc.* to the registry, cluster.info to
                                membership; replica.stats and unknown ops
                                answered by the gateway itself; every answer
                                echoes its rid
      slow_answer_holds_nobody  answers go back in the order they come, not
                                the order asked
      busy_per_client_and_total past max_inflight_client from one connection,
                                or max_inflight in all: `busy` at once, the
                                actors never asked; freed by the answers
      deadline_is_unavailable   no answer within request_timeout_ms:
                                `unavailable`; the late answer is dropped
      envelope_frames_come_back_up_to_the_bound
                                a reply carries every routing frame back
                                (up to 8); a request with more is dropped */
#include "mt_check.h"
#include "mt_cluster_msg.h"
#include "mt_gateway.h"
#include "mt_node_msg.h"
#include "mt_rc.h"

#include "codec_testutil.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

#define T 30000                     /* bounds a hang only */
#define EP "inproc://test-gateway"

static mt_runtime_t *rt;
static mt_probe_t *nodes, *rc, *cluster;
static mt_actor_t *gw;

static void setup(void)
{
    rt = mt_runtime_new(NULL);
    ck_assert_ptr_nonnull(rt);
    nodes = mt_probe_new(rt);
    rc = mt_probe_new(rt);
    cluster = mt_probe_new(rt);
}

static void teardown(void)
{
    if (gw)
        mt_stop(gw, 0);
    mt_actor_unref(&gw);
    mt_probe_destroy(&nodes);
    mt_probe_destroy(&rc);
    mt_probe_destroy(&cluster);
    mt_runtime_destroy(&rt);
}

static void start(uint32_t timeout_ms, uint32_t max_inflight, uint32_t max_client)
{
    mt_gateway_opts_t o = {
        .endpoint = EP, .request_timeout_ms = timeout_ms, .max_inflight = max_inflight,
        .max_inflight_client = max_client, .nodes = mt_probe_actor(nodes),
        .rc = mt_probe_actor(rc), .cluster = mt_probe_actor(cluster),
    };
    char err[256];
    ck_assert_msg(mt_gateway_new(rt, &o, &gw, err, sizeof err) == MT_OK, "%s", err);
}

static zsock_t *dealer(void)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    ck_assert_ptr_nonnull(s);
    zsock_set_rcvtimeo(s, T);
    ck_assert_int_eq(zsock_connect(s, EP), 0);
    return s;
}

/*  Sends a request written as tj_pack text, framed as mt_client does. */
static void send_req(zsock_t *s, const char *text)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    tj_pack(text, &buf);
    zmsg_t *m = zmsg_new();
    zmsg_addmem(m, NULL, 0);
    zmsg_addmem(m, buf.data, buf.size);
    ck_assert_int_eq(zmsg_send(&m, s), 0);
    msgpack_sbuffer_destroy(&buf);
}

/*  A reply: its message (the unpacked objects point into its frame). */
typedef struct {
    zmsg_t *m;
    msgpack_unpacked u;
} reply_t;

static void reply_free(reply_t *r)
{
    msgpack_unpacked_destroy(&r->u);
    zmsg_destroy(&r->m);
}

/*  The next reply on s: it must carry rid and be ok or have the error
    code `code`. Free it with reply_free. */
static void recv_reply(zsock_t *s, uint64_t rid, const char *code, reply_t *out)
{
    out->m = zmsg_recv(s);
    ck_assert_msg(out->m, "no reply for rid %llu", (unsigned long long) rid);
    ck_assert_uint_eq(zmsg_size(out->m), 2);
    zframe_t *body = zmsg_last(out->m);
    msgpack_unpacked_init(&out->u);
    ck_assert_int_eq(msgpack_unpack_next(&out->u, (const char *) zframe_data(body),
                                         zframe_size(body), NULL), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *top = &out->u.data;
    const msgpack_object *r = mp_get(top, "rid");
    ck_assert_msg(r && r->type == MSGPACK_OBJECT_POSITIVE_INTEGER && r->via.u64 == rid,
                  "a reply for another rid than %llu", (unsigned long long) rid);
    const msgpack_object *ok = mp_get(top, "ok");
    ck_assert(ok && ok->type == MSGPACK_OBJECT_BOOLEAN);
    if (!code)
        ck_assert_msg(ok->via.boolean, "rid %llu: not ok", (unsigned long long) rid);
    else {
        ck_assert_msg(!ok->via.boolean, "rid %llu: ok, expected %s", (unsigned long long) rid, code);
        ck_assert(mp_str_is(mp_get(mp_get(top, "error"), "code"), code));
    }
}

static void reply(zsock_t *s, uint64_t rid, const char *code)
{
    reply_t r;
    recv_reply(s, rid, code, &r);
    reply_free(&r);
}

/*  A counter of replica.stats, asked on s with rid. */
static uint64_t stat_of(zsock_t *s, uint64_t rid, const char *name)
{
    char text[80];
    snprintf(text, sizeof text, "{'op':'replica.stats','rid':%llu}", (unsigned long long) rid);
    send_req(s, text);
    reply_t r;
    recv_reply(s, rid, NULL, &r);
    const msgpack_object *v = mp_get(mp_get(&r.u.data, "result"), name);
    ck_assert_msg(v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER, "no stat %s", name);
    uint64_t n = v->via.u64;
    reply_free(&r);
    return n;
}

/*  What an actor got: a message of type (NULL after the deadline). */
static mt_msg_t *asked(mt_probe_t *p, uint16_t type)
{
    mt_msg_t *m = mt_probe_expect(p, type, T);
    ck_assert_msg(m, "the actor was not asked (type %u)", type);
    return m;
}

static void answer_node(mt_msg_t *req)
{
    ck_assert_int_eq(mt_reply(req, mt_node_reply_new(MT_ENOTFOUND, "no such node")), MT_OK);
    mt_msg_free(req);
}

START_TEST(routes_each_op)
{
    start(T, 0, 0);
    zsock_t *c = dealer();
    send_req(c, "{'op':'node.get','rid':1,'id':'n1'}");
    mt_msg_t *q = asked(nodes, MT_NODE_REQ);
    ck_assert_int_eq(mt_node_req(q)->op, MT_NODE_OP_GET);
    ck_assert_str_eq(mt_node_req(q)->id, "n1");
    ck_assert_int_gt(mt_node_req(q)->deadline_ms, 0);   /* work past it is not started */
    answer_node(q);
    reply(c, 1, "not_found");

    send_req(c, "{'op':'rc.list','rid':2}");
    q = asked(rc, MT_RC_REQ);
    ck_assert_int_eq(mt_rc_req(q)->op, MT_RC_OP_LIST);
    ck_assert_int_eq(mt_reply(q, mt_rc_reply_new(MT_OK, NULL)), MT_OK);
    mt_msg_free(q);
    reply(c, 2, NULL);

    send_req(c, "{'op':'cluster.info','rid':3}");
    q = asked(cluster, MT_CLUSTER_INFO_REQ);
    mt_msg_t *info = mt_msg_new(MT_CLUSTER_INFO, sizeof(mt_cluster_info_t));
    mt_cluster_info_t *ci = mt_msg_data(info);
    snprintf(ci->cluster_uuid, sizeof ci->cluster_uuid, "9b0d4f3e-5c1a-4e62-8f7d-2a6b1c3d4e5f");
    snprintf(ci->replica_id, sizeof ci->replica_id, "r0");
    ck_assert_int_eq(mt_reply(q, info), MT_OK);
    mt_msg_free(q);
    reply_t ri;
    recv_reply(c, 3, NULL, &ri);
    ck_assert(mp_str_is(mp_get(mp_get(&ri.u.data, "result"), "replica_id"), "r0"));
    reply_free(&ri);

    send_req(c, "{'op':'no.such.op','rid':4}");
    reply(c, 4, "unknown_op");
    send_req(c, "{'op':'node.get','rid':5}");           /* no id: the codec refuses */
    reply(c, 5, "bad_request");
    ck_assert_uint_eq(stat_of(c, 6, "requests"), 6);
    ck_assert_uint_eq(stat_of(c, 7, "requests_in_flight"), 0);
    zsock_destroy(&c);
}
END_TEST

START_TEST(slow_answer_holds_nobody)
{
    start(T, 0, 0);
    zsock_t *c = dealer();
    send_req(c, "{'op':'node.get','rid':1,'id':'slow'}");
    mt_msg_t *slow = asked(nodes, MT_NODE_REQ);
    send_req(c, "{'op':'node.get','rid':2,'id':'fast'}");
    mt_msg_t *fast = asked(nodes, MT_NODE_REQ);
    ck_assert_str_eq(mt_node_req(fast)->id, "fast");
    answer_node(fast);
    reply(c, 2, "not_found");
    answer_node(slow);
    reply(c, 1, "not_found");
    zsock_destroy(&c);
}
END_TEST

START_TEST(busy_per_client_and_total)
{
    start(T, 3, 2);
    zsock_t *a = dealer(), *b = dealer();
    mt_msg_t *held[3];
    send_req(a, "{'op':'node.get','rid':1,'id':'n1'}");
    held[0] = asked(nodes, MT_NODE_REQ);
    send_req(a, "{'op':'node.get','rid':2,'id':'n2'}");
    held[1] = asked(nodes, MT_NODE_REQ);
    send_req(a, "{'op':'node.get','rid':3,'id':'n3'}");    /* a's third */
    reply(a, 3, "busy");
    send_req(b, "{'op':'node.get','rid':1,'id':'n4'}");    /* another connection */
    held[2] = asked(nodes, MT_NODE_REQ);
    ck_assert_str_eq(mt_node_req(held[2])->id, "n4");      /* n3 was never asked */
    send_req(b, "{'op':'node.get','rid':2,'id':'n5'}");    /* 3 in flight in all */
    reply(b, 2, "busy");
    for (int i = 0; i < 3; i++)
        answer_node(held[i]);
    reply(a, 1, "not_found");
    reply(a, 2, "not_found");
    reply(b, 1, "not_found");
    send_req(a, "{'op':'node.get','rid':4,'id':'n6'}");    /* room again */
    answer_node(asked(nodes, MT_NODE_REQ));
    reply(a, 4, "not_found");
    ck_assert_uint_eq(stat_of(a, 5, "requests_busy"), 2);
    zsock_destroy(&a);
    zsock_destroy(&b);
}
END_TEST

START_TEST(deadline_is_unavailable)
{
    start(300, 0, 0);
    zsock_t *c = dealer();
    send_req(c, "{'op':'node.get','rid':1,'id':'n1'}");
    mt_msg_t *q = asked(nodes, MT_NODE_REQ);   /* never answered in time */
    reply(c, 1, "unavailable");
    answer_node(q);                            /* too late: dropped */
    /*  The next reply on c is the stats', not the late answer. */
    ck_assert_uint_eq(stat_of(c, 2, "request_timeouts"), 1);
    ck_assert_uint_eq(stat_of(c, 3, "requests_in_flight"), 0);
    zsock_destroy(&c);
}
END_TEST

/*  replica.stats with rid sent on s after `extra` frames of its own (the
    routing frames of proxies between): the reply, or NULL. */
static zmsg_t *stats_through(zsock_t *s, int extra, uint64_t rid)
{
    char text[80];
    snprintf(text, sizeof text, "{'op':'replica.stats','rid':%llu}", (unsigned long long) rid);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    tj_pack(text, &buf);
    zmsg_t *m = zmsg_new();
    for (int i = 0; i < extra; i++)
        zmsg_addstrf(m, "hop-%d", i);
    zmsg_addmem(m, buf.data, buf.size);
    ck_assert_int_eq(zmsg_send(&m, s), 0);
    msgpack_sbuffer_destroy(&buf);
    return zmsg_recv(s);
}

/*  A reply goes back through every routing frame a request came with (the
    client's id is the ROUTER's, the rest the client's: REQ's delimiter,
    proxies), up to the gateway's bound of 8; a request with more is
    dropped unanswered and counted. */
START_TEST(envelope_frames_come_back_up_to_the_bound)
{
    start(0, 0, 0);
    zsock_t *c = dealer();
    zsock_set_rcvtimeo(c, 500);
    for (int extra = 0; extra <= 7; extra++) {
        zmsg_t *r = stats_through(c, extra, 10 + (uint64_t) extra);
        ck_assert_msg(r, "no reply through %d frames", extra);
        ck_assert_uint_eq(zmsg_size(r), (size_t) extra + 1);
        for (int i = 0; i < extra; i++) {
            char want[16], *got = zmsg_popstr(r);
            snprintf(want, sizeof want, "hop-%d", i);
            ck_assert_str_eq(got, want);
            free(got);
        }
        zmsg_destroy(&r);
    }
    ck_assert_ptr_null(stats_through(c, 8, 20));   /* 9 routing frames: beyond */
    zsock_set_rcvtimeo(c, T);
    ck_assert_uint_eq(stat_of(c, 21, "replies_dropped"), 1);
    zsock_destroy(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gateway");
    TCase *tc = tcase_create("gateway");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, routes_each_op);
    tcase_add_test(tc, slow_answer_holds_nobody);
    tcase_add_test(tc, busy_per_client_and_total);
    tcase_add_test(tc, deadline_is_unavailable);
    tcase_add_test(tc, envelope_frames_come_back_up_to_the_bound);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
