/*  test_membership.c — the membership actor (actors/membership/) against
    the fixture's MariaDB: its beat writes this replica's row and reads
    everyone's; the live set goes to the bus (peers: the others) and to the
    listener (members, sorted: the reference writer's priority) only when it
    changes; cluster.info is answered from the last read; leaving deletes
    the row; every beat feeds the estimate of the database's clock.

    Probes stand in for the bus and the listener. Other replicas are rows
    the test beats and deletes through the store's members actor. The
    liveness window is a minute, so no row dies during a test; when the
    test needs "a beat has been handled since", it waits for this replica's
    heartbeat_at to move twice (a beat is sent only once the previous one
    was answered and handled).

    Cases:
      first_beat_lists_itself  row written; peers: none; members: itself;
                               cluster.info names the database's cluster
      peers_come_and_go        another replica's row appears, then leaves:
                               one message each, sorted, ourselves left out
                               of the peers; nothing while nothing changes
      leave_deletes_row        MT_MEMBERSHIP_LEAVE: the row is gone, LEFT ok
      db_clock_estimate        the estimate lies within the sample's round
                               trip of the database's own clock */
#include "mt_membership.h"
#include "mt_check.h"
#include "store_testutil.h"

#include <stdio.h>
#include <string.h>

#define DB "metactor_t_membership"
#define T 30000                     /* bounds a hang only */

static mt_runtime_t *rt;
static mt_store_t *store;
static char *dsn;
static MYSQL *raw;
static mt_probe_t *bus, *listener;
static mt_db_clock_t clock_;
static mt_actor_t *members;

static void setup(void)
{
    tu_open(&rt, &dsn, &store, &raw, DB, 1);
    bus = mt_probe_new(rt);
    listener = mt_probe_new(rt);
    mt_db_clock_init(&clock_);
    mt_membership_opts_t o = {
        .store = store, .replica_id = "r1", .endpoint = "tcp://r1:1", .pub_endpoint = "tcp://r1:2",
        .beat_ms = 100, .alive_ms = 60000, .bus = mt_probe_actor(bus),
        .listener = mt_probe_actor(listener), .db_clock = &clock_,
    };
    members = mt_membership_new(rt, &o);
    ck_assert_ptr_nonnull(members);
}

static void teardown(void)
{
    mt_stop(members, 0);
    mt_actor_unref(&members);
    mt_probe_destroy(&bus);
    mt_probe_destroy(&listener);
    tu_close(&rt, &dsn, &store, &raw);
}

/*  The next live set the bus hears: n peers, ids in order ("a,b"). */
static void peers(uint32_t n, const char *ids)
{
    mt_msg_t *m = mt_probe_expect(bus, MT_BUS_PEERS, T);
    ck_assert_msg(m, "the bus heard of no peers");
    mt_bus_peers_t *p = mt_msg_data(m);
    char got[256] = "";
    for (uint32_t i = 0; i < p->n; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? "," : "",
                 p->peers[i].replica_id);
    ck_assert_uint_eq(p->n, n);
    ck_assert_str_eq(got, ids);
    mt_msg_free(m);
}

/*  The next members list the listener hears, ids in order. */
static void members_are(const char *ids)
{
    mt_msg_t *m = mt_probe_expect(listener, MT_MEMBERS, T);
    ck_assert_msg(m, "the listener heard of no members");
    mt_cluster_info_t *info = mt_msg_data(m);
    char got[256] = "";
    for (uint32_t i = 0; i < info->nmembers; i++) {
        ck_assert(info->members[i].alive);
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? "," : "",
                 info->members[i].replica_id);
    }
    ck_assert_str_eq(got, ids);
    mt_msg_free(m);
}

/*  Another replica's row, beaten or deleted through the store. */
static void other(const char *id, bool leave)
{
    mt_msg_t *m = tu_ask(rt, mt_store_members(store),
                         leave ? mt_store_msg_replica_leave(id)
                               : mt_store_msg_replica_beat(id, "tcp://x:1", "tcp://x:2", 0, 60000));
    ck_assert_int_eq(((mt_result_t *) mt_msg_data(m))->err, MT_OK);
    mt_msg_free(m);
}

static long long heartbeat_at(void)
{
    return tu_i64(raw, "SELECT heartbeat_at FROM replicas WHERE replica_id = 'r1'");
}

/*  At least one beat begun after this call has been answered and handled. */
static void a_beat_handled(void)
{
    long long h = heartbeat_at();
    for (int moved = 0; moved < 2;) {
        long long now = heartbeat_at();
        ck_assert(now >= h);
        moved += now > h;
        h = now;
        nanosleep(&(struct timespec) { .tv_nsec = 20000000 }, NULL);
    }
}

START_TEST(first_beat_lists_itself)
{
    peers(0, "");
    members_are("r1");
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM replicas WHERE replica_id = 'r1'"), 1);
    mt_msg_t *m = tu_ask(rt, members, mt_msg_new(MT_CLUSTER_INFO_REQ, 0));
    ck_assert_int_eq(m->type, MT_CLUSTER_INFO);
    mt_cluster_info_t *info = mt_msg_data(m);
    ck_assert_int_eq(info->err, MT_OK);
    ck_assert_str_eq(info->replica_id, "r1");
    ck_assert_uint_eq(info->nmembers, 1);
    ck_assert_str_eq(info->members[0].endpoint, "tcp://r1:1");
    char *uuid = tu_str(raw, "SELECT uuid FROM mt_cluster WHERE id = 1");
    ck_assert_str_eq(info->cluster_uuid, uuid);
    free(uuid);
    mt_msg_free(m);
}
END_TEST

START_TEST(peers_come_and_go)
{
    peers(0, "");
    members_are("r1");
    other("r2", false);
    peers(1, "r2");
    members_are("r1,r2");
    a_beat_handled();               /* the same live set again: no message */
    other("r0", false);
    peers(2, "r0,r2");              /* the next message is the change */
    members_are("r0,r1,r2");        /* r1's priority: 1 */
    a_beat_handled();
    other("r2", true);
    peers(1, "r0");
    members_are("r0,r1");
}
END_TEST

START_TEST(leave_deletes_row)
{
    members_are("r1");
    mt_msg_t *m = tu_ask(rt, members, mt_msg_new(MT_MEMBERSHIP_LEAVE, 0));
    ck_assert_int_eq(m->type, MT_MEMBERSHIP_LEFT);
    ck_assert_int_eq(*(int *) mt_msg_data(m), MT_OK);
    mt_msg_free(m);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM replicas WHERE replica_id = 'r1'"), 0);
}
END_TEST

START_TEST(db_clock_estimate)
{
    members_are("r1");              /* the first beat's sample is in */
    for (int tries = 0;; tries++) {
        ck_assert_int_lt(tries, 100);
        int64_t rtt = mt_db_clock_rtt_ms(&clock_);
        ck_assert_int_ge(rtt, 0);
        long long before = tu_i64(raw, "SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)");
        int64_t estimate = mt_db_clock_now(&clock_);
        long long after = tu_i64(raw, "SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)");
        if (mt_db_clock_rtt_ms(&clock_) != rtt)
            continue;               /* a new sample meanwhile: read again */
        /*  The server's reading is taken at the midpoint of its round trip:
            off by at most half of it, plus a millisecond of truncation. */
        ck_assert_msg(estimate >= before - rtt - 2 && estimate <= after + rtt + 2,
                      "estimate %lld outside [%lld, %lld] ± %lld", (long long) estimate,
                      before, after, (long long) rtt);
        break;
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("membership");
    TCase *tc = tcase_create("membership");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, first_beat_lists_itself);
    tcase_add_test(tc, peers_come_and_go);
    tcase_add_test(tc, leave_deletes_row);
    tcase_add_test(tc, db_clock_estimate);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
