/*  test_restart.c — replicas that die (SIGKILL) or stop (SIGTERM) and come
    back: the others carry on, the returning replica catches up through its
    start-up reload, and no acknowledged write is ever lost. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define DB "metactor_it_restart"
#define TIMEOUT_S 240

enum { A, B, C };

static void setup(void)
{
    h_setup(DB, 3, TIMEOUT_S);
    h_start_all();
}

static void setup2(void)
{
    h_setup(DB, 2, TIMEOUT_S);
    h_start_all();
}

static void reg(int i, const char *id, const char *type)
{
    h_reply_t *r = h_ok(i, "{s:s, s:{s:s, s:s, s:i, s:s, s:{s:s}}}", "op", "node.register",
                        "node", "id", id, "host_ip", "10.0.0.1", "grpc_port", 9000,
                        "instance_type", type, "labels", "zone", "a");
    h_reply_free(&r);
}

static void beat(int i, const char *id)
{
    h_reply_t *r = h_ok(i, "{s:s, s:s, s:b, s:[s]}", "op", "node.heartbeat", "id", id,
                        "ready", 1, "images", "img");
    h_reply_free(&r);
}

static void print_list(int i)
{
    h_reply_t *a = h_ok(i, "{s:s}", "op", "node.list");
    fprintf(stderr, "replica %c's list: ", 'A' + i);
    msgpack_object_print(stderr, *h_get(a->result, "nodes"));
    fputc('\n', stderr);
    h_reply_free(&a);
}

/*  alive: 1 listed alive, 0 listed dead, -1 not listed. */
static int member_state(int i, const char *id)
{
    h_reply_t *r = h_ok(i, "{s:s}", "op", "cluster.info");
    const msgpack_object *m = h_get(r->result, "members");
    int state = -1;
    for (uint32_t k = 0; m && k < m->via.array.size; k++)
        if (h_is_str(&m->via.array.ptr[k], "replica_id", id))
            state = h_bool(&m->via.array.ptr[k], "alive") ? 1 : 0;
    h_reply_free(&r);
    return state;
}

START_TEST(killed_replica_catches_up_on_restart)
{
    reg(A, "n1", "small");
    reg(A, "n2", "small");
    reg(A, "n3", "small");
    beat(A, "n1");
    H_WAIT(h_list_is(C, "n1,n2,n3"), H_T, "C never listed n1..n3");

    h_kill(C);
    H_WAIT(member_state(A, "C") == 0, H_T, "A never saw C dead");
    H_WAIT(member_state(B, "C") == 0, H_T, "B never saw C dead");

    /*  While C is down. */
    reg(A, "n4", "small");
    beat(A, "n1");
    h_reply_t *r = h_ok(A, "{s:s, s:s, s:{s:s}}", "op", "node.labels", "id", "n2",
                        "set", "team", "x");
    h_reply_free(&r);
    r = h_ok(A, "{s:s, s:s}", "op", "node.delete", "id", "n3");
    h_reply_free(&r);
    reg(B, "n5", "large");
    reg(B, "n1", "xlarge");
    beat(B, "n2");
    H_WAIT(h_list_is(A, "n1,n2,n4,n5") && h_lists_equal(A, B), H_T, "A and B never agreed");

    /*  Back, with no periodic reload to help: only the start-up pass (and
        whatever notices come from now on) can tell it. */
    h_set_args(C, "--reload-interval", "3600000", NULL);
    h_start(C);
    h_wait_cluster();
    H_ASSERT(member_state(A, "C") == 1, "A sees C alive again");
    H_WAIT(h_lists_equal(A, C), H_T, "C never caught up");
    if (!h_list_is(C, "n1,n2,n4,n5"))
        print_list(C);
    H_ASSERT(h_list_is(C, "n1,n2,n4,n5"), "C's list");
    h_reply_t *g = h_node_get(C, "n1");
    H_ASSERT(g && h_is_str(g->result, "node/instance_type", "xlarge"), "C: n1 re-registered");
    h_reply_free(&g);
    g = h_node_get(C, "n2");
    H_ASSERT(g && h_is_str(g->result, "node/labels/team", "x") && h_bool(g->result, "node/ready"),
             "C: n2's labels and heartbeat");
    h_reply_free(&g);
    g = h_node_get(C, "n3");
    H_ASSERT(!g, "C: n3 deleted");

    /*  And it takes part again, both ways. */
    reg(C, "n6", "small");
    H_WAIT(h_list_is(A, "n1,n2,n4,n5,n6") && h_list_is(B, "n1,n2,n4,n5,n6"), H_T,
           "C's change never reached A and B");
    reg(A, "n7", "small");
    H_WAIT(h_list_is(C, "n1,n2,n4,n5,n6,n7"), H_T, "A's change never reached C");
}
END_TEST

START_TEST(stopped_replica_leaves_and_rejoins)
{
    reg(A, "n1", "small");
    H_WAIT(h_list_is(C, "n1"), H_T, "C never listed n1");
    h_stop(C);                       /* exit status 0 checked */
    /*  A clean stop deletes the replica's membership row. */
    H_WAIT(member_state(A, "C") == -1 && member_state(B, "C") == -1, H_T,
           "C still listed after a clean stop");
    reg(B, "n2", "small");
    beat(A, "n1");
    h_reply_t *r = h_ok(A, "{s:s, s:s}", "op", "node.delete", "id", "n1");
    h_reply_free(&r);
    reg(A, "n3", "small");
    h_start(C);
    h_wait_cluster();
    H_WAIT(h_list_is(C, "n2,n3") && h_lists_equal(A, C), H_T, "C never caught up");
    /*  Its seq restarted at 1: the others still take its notices. */
    reg(C, "n4", "small");
    H_WAIT(h_list_is(A, "n2,n3,n4") && h_list_is(B, "n2,n3,n4"), H_T,
           "C's change never reached A and B");
}
END_TEST

/*  Pipelined registrations through A; A is killed right after it has
    acknowledged some of them: each acknowledged one is in the database
    (seen through B), whatever became of the others. */
START_TEST(acknowledged_writes_survive_sigkill)
{
    enum { N = 300, KILL_AFTER = 60 };
    void *s = h_socket(ZMQ_DEALER);
    ck_assert_int_eq(zmq_connect(s, h_replica(A)->endpoint), 0);
    for (int k = 0; k < N; k++) {
        msgpack_sbuffer buf;
        msgpack_sbuffer_init(&buf);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
        char id[32];
        snprintf(id, sizeof id, "p%03d", k);
        h_pack(&pk, "{s:s, s:U, s:{s:s, s:s, s:i}}", "op", "node.register", "rid",
               (uint64_t) k + 1, "node", "id", id, "host_ip", "10.0.0.2", "grpc_port", 9000);
        ck_assert_int_eq(zmq_send(s, "", 0, ZMQ_SNDMORE), 0);
        ck_assert_int_eq(zmq_send(s, buf.data, buf.size, 0), (int) buf.size);
        msgpack_sbuffer_destroy(&buf);
    }
    bool acked[N] = { false };
    int nacked = 0;
    while (nacked < KILL_AFTER) {
        zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
        H_ASSERT(zmq_poll(&it, 1, H_CALL_MS) == 1, "no reply from A");
        char body[65536];
        int more = 1, n = 0;
        while (more) {
            n = zmq_recv(s, body, sizeof body, 0);
            H_ASSERT(n >= 0, "recv");
            size_t ml = sizeof more;
            zmq_getsockopt(s, ZMQ_RCVMORE, &more, &ml);
        }
        h_reply_t *r = h_reply_parse(body, (size_t) n);
        H_ASSERT(r && r->has_rid && r->rid >= 1 && r->rid <= N, "a reply with our rid");
        H_ASSERT(r->ok, "register p%03llu: %s %s", (unsigned long long) r->rid - 1, r->code,
                 r->message);
        acked[r->rid - 1] = true;
        nacked++;
        h_reply_free(&r);
    }
    h_kill(A);
    h_close(&s);
    /*  B reads each acknowledged node (from the database on first sight). */
    int seen = 0;
    for (int k = 0; k < N; k++) {
        if (!acked[k])
            continue;
        char id[32];
        snprintf(id, sizeof id, "p%03d", k);
        h_reply_t *g = h_node_get(B, id);
        H_ASSERT(g, "acknowledged %s lost", id);
        h_reply_free(&g);
        seen++;
    }
    H_ASSERT(seen == KILL_AFTER, "all %d acknowledged found", KILL_AFTER);

    /*  A comes back and agrees with B on everything that was committed. */
    h_start(A);
    h_wait_cluster();
    H_WAIT(h_lists_equal(A, B), H_T, "A and B never agreed after A's restart");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service_restart");
    h_tcase(s, "restart", setup, TIMEOUT_S, killed_replica_catches_up_on_restart,
            stopped_replica_leaves_and_rejoins, NULL);
    h_tcase(s, "acknowledged", setup2, TIMEOUT_S, acknowledged_writes_survive_sigkill, NULL);
    return h_run(s);
}
