/*  test_heal.c — notices that never arrive, and the reload that makes up
    for them. Four ways to miss notices, each deterministic:
      * a replica that starts after the changes (it missed them all);
      * a replica frozen (SIGSTOP) while many changes are made;
      * a replica that does not subscribe at all (--subscribe 0);
      * a change committed to the database with no notice at all (what a
        replica that dies between its commit and its notice leaves): made
        here with a raw SQL connection.
    In every case the replicas converge within a few reload intervals
    (1 s here); the tests wait "until equal or timeout".
    And one more, the gap itself: a publisher whose sequence skips makes a
    replica with no periodic reload run one at once (the test plays the
    publisher: a row in the replicas table and an XPUB socket). */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define DB "metactor_it_heal"
#define TIMEOUT_S 240

enum { A, B, C };

static void setup(void)
{
    h_setup(DB, 3, TIMEOUT_S);
}

static void reg(int i, const char *id, const char *zone)
{
    h_reply_t *r = h_ok(i, "{s:s, s:{s:s, s:s, s:i, s:{s:s}, s:{s:s}}}", "op", "node.register",
                        "node", "id", id, "host_ip", "10.0.0.3", "grpc_port", 9000,
                        "labels", "zone", zone, "versions", "cubelet", "3.1");
    h_reply_free(&r);
}

static void beat(int i, const char *id, bool ready)
{
    h_reply_t *r = h_ok(i, "{s:s, s:s, s:b, s:[s]}", "op", "node.heartbeat", "id", id,
                        "ready", ready, "images", "img");
    h_reply_free(&r);
}

static void del(int i, const char *id)
{
    h_reply_t *r = h_ok(i, "{s:s, s:s}", "op", "node.delete", "id", id);
    h_reply_free(&r);
}

static void print_lists(void)
{
    for (int i = A; i <= C; i++) {
        if (!h_running(i))
            continue;
        char *ids = h_list_ids(i);
        fprintf(stderr, "replica %c lists: %s\n", 'A' + i, ids);
        free(ids);
    }
}

/*  A mix of changes through replica i: n registrations (prefix-k), a
    heartbeat for each, labels on every third, a delete of every fifth. */
static void churn(int i, const char *prefix, int n)
{
    char id[32];
    for (int k = 0; k < n; k++) {
        snprintf(id, sizeof id, "%s-%03d", prefix, k);
        reg(i, id, k % 2 ? "odd" : "even");
    }
    for (int k = 0; k < n; k++) {
        snprintf(id, sizeof id, "%s-%03d", prefix, k);
        beat(i, id, k % 4 != 0);
        if (k % 3 == 0) {
            h_reply_t *r = h_ok(i, "{s:s, s:s, s:{s:s}}", "op", "node.labels", "id", id,
                                "set", "third", "yes");
            h_reply_free(&r);
        }
    }
    for (int k = 0; k < n; k += 5) {
        snprintf(id, sizeof id, "%s-%03d", prefix, k);
        del(i, id);
    }
}

static void converge(int ref, int i, const char *what)
{
    H_WAIT(h_lists_equal(ref, i), H_T, "%s: replica %c never converged with %c", what, 'A' + i,
           'A' + ref);
}

START_TEST(late_joiners_load_everything)
{
    h_start(A);
    h_wait_cluster();
    churn(A, "a", 40);
    /*  No periodic reload for the late joiners: what they have not been
        told by a notice, only their start-up pass can bring. */
    h_set_args(B, "--reload-interval", "3600000", NULL);
    h_set_args(C, "--reload-interval", "3600000", NULL);
    h_start(B);
    h_start(C);
    h_wait_cluster();
    converge(A, B, "late start");
    converge(A, C, "late start");
    char *ids = h_list_ids(C);
    H_ASSERT(strncmp(ids, "a-001,a-002,a-003,a-004,a-006", 29) == 0, "C's list: %s", ids);
    free(ids);
}
END_TEST

START_TEST(frozen_replica_converges)
{
    h_start_all();
    churn(A, "pre", 10);
    converge(A, C, "before the freeze");

    h_pause(C);
    churn(A, "a", 60);
    churn(B, "b", 60);
    /*  Also changes to the nodes C knew. */
    for (int k = 1; k < 10; k++) {
        if (k % 5 == 0)
            continue;           /* deleted already */
        char id[32];
        snprintf(id, sizeof id, "pre-%03d", k);
        if (k % 3)
            del(B, id);
        else
            beat(B, id, false);
    }
    h_resume(C);
    h_wait_cluster();
    converge(A, B, "after the freeze");
    H_WAIT(h_lists_equal(A, C), H_T, "C never converged after SIGCONT");
    if (!h_lists_equal(B, C))
        print_lists();
    H_ASSERT(h_lists_equal(B, C), "B and C agree");
}
END_TEST

static int64_t stat_of(int i, const char *name)
{
    h_reply_t *r = h_ok(i, "{s:s}", "op", "replica.stats");
    int64_t v = h_has(r->result, name) ? h_int(r->result, name) : -1;
    h_reply_free(&r);
    return v;
}

START_TEST(unsubscribed_replica_learns_by_reload)
{
    h_set_args(C, "--subscribe", "0", NULL);
    h_start_all();
    churn(A, "a", 20);
    reg(B, "b-1", "z");
    beat(B, "a-001", false);
    converge(A, B, "notices");
    converge(A, C, "reload only");
    int64_t received = stat_of(C, "notices_received");
    H_ASSERT(received <= 0, "C does not subscribe, yet received %lld notices",
             (long long) received);
    /*  C still publishes: its changes reach A and B. */
    reg(C, "c-1", "z");
    H_WAIT(h_list_is(A, "a-001,a-002,a-003,a-004,a-006,a-007,a-008,a-009,a-011,a-012,a-013,"
                        "a-014,a-016,a-017,a-018,a-019,b-1,c-1"), H_T, "A never saw c-1");
    converge(A, B, "C's change");
    converge(A, C, "C's change");
}
END_TEST

/*  A commit that no notice ever announces. */
START_TEST(database_change_without_notice_reloaded)
{
    h_start_all();
    reg(A, "n1", "a");
    reg(A, "n2", "a");
    beat(A, "n1", true);
    for (int i = B; i <= C; i++)
        H_WAIT(h_list_is(i, "n1,n2"), H_T, "replica %c never listed n1,n2", 'A' + i);
    int64_t before = h_node_int(A, "n1", "reg_revision");

    h_db_exec("UPDATE node_registrations SET instance_type = 'set-in-db',"
              " reg_revision = NEXT VALUE FOR mt_revision WHERE id = 'n1'");
    h_db_exec("UPDATE node_registrations SET deleted = 1,"
              " reg_revision = NEXT VALUE FOR mt_revision WHERE id = 'n2'");
    for (int i = A; i <= C; i++) {
        H_WAIT(({
                   h_reply_t *g = h_node_get(i, "n1");
                   bool seen = g && h_is_str(g->result, "node/instance_type", "set-in-db");
                   h_reply_free(&g);
                   seen;
               }), H_T, "replica %c never reloaded n1's change", 'A' + i);
        H_ASSERT(h_node_int(i, "n1", "reg_revision") > before, "a newer revision");
        H_WAIT(h_list_is(i, "n1"), H_T, "replica %c never reloaded n2's delete", 'A' + i);
    }
    converge(A, B, "database change");
    converge(A, C, "database change");
}
END_TEST

/*  A notice of "publisher" F, PROTOCOL.md's body: about n1, with a stale
    revision, so that merging it changes nothing. */
/*  A notice from F for n1 at `revision` (whatever the database says). */
static void publish_forged(void *pub, uint64_t seq, int64_t revision, const char *host)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    h_pack(&pk,
           "{s:s, s:U, s:s, s:s, s:s, s:I, s:{s:s, s:s, s:i, s:s, s:{}, s:{}, s:{}, s:{},"
           " s:s, s:i, s:I, s:i, s:b, s:[], s:[], s:[], s:i, s:b}}",
           "replica", "F", "seq", seq, "kind", "node", "change", "upsert", "id", "n1",
           "revision", revision, "view", "id", "n1", "host_ip", host, "grpc_port", 6666,
           "instance_type", "stale", "labels", "capacity", "quota", "versions",
           "versions_hash", "0000000000000000", "registered_at", 0, "reg_revision", revision,
           "heartbeat_at", 0, "ready", 0, "conditions", "images", "local_templates",
           "status_revision", 0, "healthy", 0);
    ck_assert_int_eq(zmq_send(pub, "node/n1", 7, ZMQ_SNDMORE), 7);
    ck_assert_int_eq(zmq_send(pub, buf.data, buf.size, 0), (int) buf.size);
    msgpack_sbuffer_destroy(&buf);
}

static void publish_stale(void *pub, uint64_t seq)
{
    publish_forged(pub, seq, 1, "10.6.6.6");
}

static bool instance_type_is(int i, const char *id, const char *type)
{
    h_reply_t *g = h_node_get(i, id);
    bool is = g && h_is_str(g->result, "node/instance_type", type);
    h_reply_free(&g);
    return is;
}

/*  Publisher F: alive in the replicas table for an hour (the database's
    clock), publishing on an XPUB socket, which shows subscriptions; returns
    once `nsubs` replicas subscribed to it. */
static void *fake_publisher(int nsubs)
{
    int port = h_replica(A)->port + 10;
    char ep[64], pub_ep[64], sql[512];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    snprintf(pub_ep, sizeof pub_ep, "tcp://127.0.0.1:%d", port + 1);
    void *pub = h_socket(ZMQ_XPUB);
    int verbose = 1;            /* every subscription, duplicates included */
    ck_assert_int_eq(zmq_setsockopt(pub, ZMQ_XPUB_VERBOSE, &verbose, sizeof verbose), 0);
    ck_assert_int_eq(zmq_bind(pub, pub_ep), 0);
    snprintf(sql, sizeof sql,
             "INSERT INTO replicas (replica_id, endpoint, pub_endpoint, heartbeat_at, started_at)"
             " VALUES ('F', '%s', '%s', CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED) + 3600000,"
             " CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED))", ep, pub_ep);
    h_db_exec(sql);
    /*  Every running replica subscribes to F: one subscription message each. */
    int subs = 0;
    int64_t deadline = h_now_ms() + H_T;
    while (subs < nsubs && h_now_ms() < deadline) {
        zmq_pollitem_t it = { pub, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&it, 1, 200) == 1) {
            char msg[64];
            int n = zmq_recv(pub, msg, sizeof msg, 0);
            if (n >= 1 && msg[0] == 1)
                subs++;
        }
    }
    H_ASSERT(subs == nsubs, "the replicas never subscribed to F (%d subscriptions)", subs);
    return pub;
}

START_TEST(sequence_gap_triggers_reload)
{
    /*  C reloads only at start-up and when asked (by a gap). */
    h_set_args(C, "--reload-interval", "3600000", NULL);
    h_start(A);
    h_start(C);
    h_wait_cluster();
    reg(A, "n1", "a");
    H_WAIT(h_list_is(C, "n1"), H_T, "C never listed n1");

    void *pub = fake_publisher(2);
    int64_t gaps0 = stat_of(C, "notice_gaps");

    /*  A commit no notice announces: C does not reload by itself... */
    h_db_exec("UPDATE node_registrations SET instance_type = 'gap-test',"
              " reg_revision = NEXT VALUE FOR mt_revision WHERE id = 'n1'");
    H_ASSERT(!instance_type_is(C, "n1", "gap-test"), "C has no reason to reload yet");
    /*  ... until F's first notice is seq 5: notices 1-4 were missed. */
    publish_stale(pub, 5);
    H_WAIT(instance_type_is(C, "n1", "gap-test"), H_T, "the gap never made C reload");
    if (gaps0 >= 0)
        H_WAIT(stat_of(C, "notice_gaps") == gaps0 + 1, H_T, "notice_gaps counts the gap");
    /*  seq 6 is no gap; 9 is. */
    h_db_exec("UPDATE node_registrations SET instance_type = 'gap-test-2',"
              " reg_revision = NEXT VALUE FOR mt_revision WHERE id = 'n1'");
    publish_stale(pub, 6);
    publish_stale(pub, 9);
    H_WAIT(instance_type_is(C, "n1", "gap-test-2"), H_T, "the second gap never made C reload");
    if (gaps0 >= 0)
        H_WAIT(stat_of(C, "notice_gaps") == gaps0 + 2, H_T, "notice_gaps: two gaps");
    /*  The stale notices changed nothing anywhere. */
    H_WAIT(instance_type_is(A, "n1", "gap-test-2"), H_T, "A never reloaded");
    converge(A, C, "after the gaps");
    h_reply_t *g = h_node_get(C, "n1");
    H_ASSERT(h_is_str(g->result, "node/host_ip", "10.0.0.3"), "the stale notice was not merged");
    h_reply_free(&g);
}
END_TEST

static bool host_is(int i, const char *id, const char *host)
{
    h_reply_t *g = h_node_get(i, id);
    bool is = g && h_is_str(g->result, "node/host_ip", host);
    h_reply_free(&g);
    return is;
}

/*  Defence in depth against a peer that publishes lies (PROTOCOL.md
    allows any trusted replica to publish): a revision far beyond what the
    database has issued is not merged at all; a plausible one is merged
    but does not outlive the next full resync. */
START_TEST(forged_notices_do_not_stick)
{
    h_set_args(C, "--reload-interval", "3000", "--full-resync-every", "1", NULL);
    h_start(A);
    h_start(C);
    h_wait_cluster();
    reg(A, "n1", "a");
    H_WAIT(host_is(C, "n1", "10.0.0.3"), H_T, "C never saw n1");
    void *pub = fake_publisher(2);
    int64_t rev = h_node_int(C, "n1", "reg_revision");
    int64_t implausible0 = stat_of(C, "notices_implausible");
    H_ASSERT(implausible0 >= 0, "replica.stats has notices_implausible");

    publish_forged(pub, 1, rev + 1000000000000ll, "10.6.6.6");
    H_WAIT(stat_of(C, "notices_implausible") == implausible0 + 1, H_T,
           "the implausible notice was not counted");
    H_ASSERT(host_is(C, "n1", "10.0.0.3") && host_is(A, "n1", "10.0.0.3"),
             "an implausible notice was merged");

    /*  Plausible: the next revision or so. Merged at once (a notice is
        believed), gone after a full resync that covers it. */
    publish_forged(pub, 2, rev + 3, "10.7.7.7");
    H_WAIT(host_is(C, "n1", "10.7.7.7"), H_T, "the plausible forged notice was not merged");
    for (int k = 0; k < 5; k++)
        reg(A, "filler", "a");          /* the sequence moves past the forged revision */
    H_WAIT(host_is(C, "n1", "10.0.0.3"), H_T, "the forged view survived full resyncs");
    H_ASSERT(h_node_int(C, "n1", "reg_revision") == rev, "the stored revision is back");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service_heal");
    h_tcase(s, "heal", setup, TIMEOUT_S, late_joiners_load_everything, frozen_replica_converges,
            unsubscribed_replica_learns_by_reload, database_change_without_notice_reloaded,
            sequence_gap_triggers_reload, forged_notices_do_not_stick, NULL);
    return h_run(s);
}
