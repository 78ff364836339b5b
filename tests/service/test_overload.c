/*  test_overload.c — admission control (PROTOCOL.md `busy`): a client that
    floods a replica gets `busy` for what is beyond its share while every
    other client is still served; one node's queue is bounded; work whose
    client was answered `unavailable` is never started. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define DB "metactor_it_overload"
#define TIMEOUT_S 240

enum { A, B };

static void setup(void)
{
    h_setup(DB, 2, TIMEOUT_S);
}

static void reg(int i, const char *id, const char *v)
{
    h_reply_t *r = h_ok(i, "{s:s, s:{s:s, s:{s:s}}}", "op", "node.register", "node", "id", id,
                        "labels", "v", v);
    h_reply_free(&r);
}

static int64_t stat_of(int i, const char *name)
{
    h_reply_t *r = h_ok(i, "{s:s}", "op", "replica.stats");
    int64_t v = h_int(r->result, name);
    h_reply_free(&r);
    return v;
}

/*  Sends n heartbeats of `id` on a DEALER of its own without reading, then
    reads every reply: how many were ok and how many busy (nothing else is
    acceptable). */
static void flood(int i, const char *id, int n, int *ok, int *busy)
{
    void *s = h_raw_connect(ZMQ_DEALER, i);
    for (int k = 0; k < n; k++) {
        msgpack_sbuffer *b = h_body("{s:s, s:U, s:s, s:b}", "op", "node.heartbeat",
                                    "rid", (uint64_t) k + 1, "id", id, "ready", 1);
        h_raw_dealer_send(s, b->data, b->size);
        msgpack_sbuffer_free(b);
    }
    *ok = *busy = 0;
    for (int k = 0; k < n; k++) {
        h_reply_t *r = h_raw_dealer_recv(s);
        H_ASSERT(r, "reply %d of %d never came", k + 1, n);
        if (r->ok)
            (*ok)++;
        else {
            H_ASSERT(strcmp(r->code, "busy") == 0, "a flooded replica answered %s (%s)", r->code,
                     r->message);
            (*busy)++;
        }
        h_reply_free(&r);
    }
    h_close(&s);
}

START_TEST(a_flood_gets_busy_and_others_are_served)
{
    h_set_args(A, "--max-inflight-client", "16", NULL);
    h_start_all();
    reg(A, "n1", "1");
    reg(A, "n2", "1");
    /*  The flood and, meanwhile, another client's requests. */
    void *flooder = h_raw_connect(ZMQ_DEALER, A);
    const int n = 4000;
    for (int k = 0; k < n; k++) {
        msgpack_sbuffer *b = h_body("{s:s, s:U, s:s, s:b}", "op", "node.heartbeat",
                                    "rid", (uint64_t) k + 1, "id", "n1", "ready", 1);
        h_raw_dealer_send(flooder, b->data, b->size);
        msgpack_sbuffer_free(b);
    }
    for (int k = 0; k < 20; k++) {
        h_reply_t *r = h_ok(A, "{s:s, s:s, s:b}", "op", "node.heartbeat", "id", "n2", "ready", 1);
        h_reply_free(&r);
    }
    int ok = 0, busy = 0;
    for (int k = 0; k < n; k++) {
        h_reply_t *r = h_raw_dealer_recv(flooder);
        H_ASSERT(r, "flood reply %d never came", k + 1);
        H_ASSERT(r->has_rid, "a busy reply echoes the rid");
        if (r->ok)
            ok++;
        else {
            H_ASSERT(strcmp(r->code, "busy") == 0, "%s (%s)", r->code, r->message);
            busy++;
        }
        h_reply_free(&r);
    }
    H_ASSERT(ok > 0 && busy > 0, "ok %d, busy %d: the flood was neither served nor bounded",
             ok, busy);
    H_ASSERT(stat_of(A, "requests_busy") == busy, "requests_busy counts them");
    /*  Another replica, untouched by the flood, agrees on n2. */
    H_WAIT(h_node_int(B, "n2", "status_revision") == h_node_int(A, "n2", "status_revision"),
           H_T, "B never caught up");
}
END_TEST

START_TEST(one_nodes_queue_is_bounded)
{
    h_set_args(A, "--max-stash", "2", NULL);
    h_start_all();
    reg(A, "n1", "1");
    int ok, busy;
    flood(A, "n1", 3000, &ok, &busy);
    H_ASSERT(ok > 0 && busy > 0, "ok %d, busy %d", ok, busy);
    /*  Most come from the node's full queue; on a slow machine the
        gateway's per-client bound may refuse some first. */
    int64_t stash = stat_of(A, "requests_busy_stash"), gw = stat_of(A, "requests_busy");
    H_ASSERT(stash > 0 && stash + gw == busy, "busy %d = %lld (node queue) + %lld (gateway)",
             busy, (long long) stash, (long long) gw);
    /*  The node itself still answers. */
    H_ASSERT(h_node_int(A, "n1", "status_revision") > 0, "n1 heartbeats were stored");
}
END_TEST

/*  A write blocked behind a lock: the requests queued behind it outlive
    their deadline (the client is answered unavailable) and are then never
    written, although the node becomes free. */
START_TEST(work_past_its_deadline_is_not_started)
{
    /*  Long enough for the set-up's own requests on a slow (sanitizer)
        build, short enough for the test. */
    h_set_args(A, "--request-timeout", "1500", NULL);
    h_start_all();
    reg(A, "n1", "1");
    void *lock = h_db_open(0);
    h_db_run(lock, "START TRANSACTION");
    h_db_run(lock, "SELECT * FROM node_registrations WHERE id = 'n1' FOR UPDATE");
    void *s = h_raw_connect(ZMQ_DEALER, A);
    for (int v = 2; v <= 4; v++) {
        char val[4];
        snprintf(val, sizeof val, "%d", v);
        msgpack_sbuffer *b = h_body("{s:s, s:U, s:{s:s, s:{s:s}}}", "op", "node.register",
                                    "rid", (uint64_t) v, "node", "id", "n1", "labels", "v", val);
        h_raw_dealer_send(s, b->data, b->size);
        msgpack_sbuffer_free(b);
    }
    for (int k = 0; k < 3; k++) {
        h_reply_t *r = h_raw_dealer_recv(s);
        H_ASSERT(r && !r->ok && strcmp(r->code, "unavailable") == 0,
                 "a request behind the lock was answered %s", r ? r->code : "(nothing)");
        h_reply_free(&r);
    }
    int64_t expired0 = stat_of(A, "requests_expired");
    h_db_close(&lock);              /* rolls back: the first register goes on */
    H_WAIT(stat_of(A, "requests_expired") >= expired0 + 2, H_T,
           "the requests queued behind the lock were started after their deadline");
    /*  Only the write that had begun was committed: v=2, never 3 or 4. */
    h_sleep_ms(500);
    char *v = h_db_query(0, "SELECT JSON_VALUE(labels, '$.v') FROM node_registrations"
                            " WHERE id = 'n1'");
    H_ASSERT(v && strcmp(v, "2") == 0, "stored v=%s", v ? v : "(null)");
    free(v);
    h_close(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service_overload");
    h_tcase(s, "overload", setup, TIMEOUT_S, a_flood_gets_busy_and_others_are_served,
            one_nodes_queue_is_bounded, work_past_its_deadline_is_not_started, NULL);
    return h_run(s);
}
