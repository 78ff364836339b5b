/*  test_rc_writer.c — remote cluster references (see test_rc.c and
    harness_rc.h): the refreshes every replica of A runs and the one write
    of a new hostname when the stored one stops answering for B.

    One test uses an alive window of 8 s for cluster A so that a killed a0
    stays "alive" in A's live list throughout the event: a1 must then take
    over by waiting out its own turn, not by becoming priority 0.

    Cases (each on fresh databases and processes):
      passive_replicas_never_write refreshes everywhere, writes only where a user
                                   wrote
      priority_writer_one_write    b0 dies: one write, by a0; all of A on b1; no
                                   further write (no ping-pong)
      priority_writer_takeover     a0 dies first: one write, by a1
      priority_writer_takeover_while_listed
                                   the same while a0 still counts alive: a1
                                   waits its turn, then writes
      hostname_moved_to_another_cluster
                                   b0's endpoint answers for C: replaced by b1
      dead_remotes_do_not_starve_healthy_ones (TCase "many": a0 and nine
                                   one-replica clusters r0- .. r8-)
                                   the remotes sharing one prober with a
                                   healthy reference die: it still refreshes,
                                   promptly */
#include "harness_rc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Passive replicas refresh but never write. */
START_TEST(passive_replicas_never_write)
{
    h_start_all();
    char *id = rc_add_ref_to_b("to-b");
    int64_t rev = rc_rev_of(A0, "to-b");
    int64_t refreshes[3], refreshed_at[3];
    for (int i = A0; i <= A2; i++) {
        refreshes[i] = rc_stat(i, "rc_refreshes");
        h_reply_t *g = rc_get(i, "name", "to-b");
        refreshed_at[i] = h_int(g->result, "ref/refreshed_at");
        h_reply_free(&g);
    }
    rc_sleep_intervals(5);
    rc_print_stats("after 5 intervals");
    for (int i = A0; i <= A2; i++) {
        H_ASSERT(rc_stat(i, "store_rc_writes") == (i == A0 ? 1 : 0),
                 "replica %s wrote (store_rc_writes %lld)", h_replica(i)->id,
                 (long long) rc_stat(i, "store_rc_writes"));
        H_ASSERT(rc_stat(i, "rc_hostname_writes") == 0, "a hostname write on %s", h_replica(i)->id);
        H_ASSERT(rc_stat(i, "store_rc_conflicts") == 0, "a refused write on %s", h_replica(i)->id);
        H_ASSERT(rc_stat(i, "rc_refreshes") >= refreshes[i] + 3, "replica %s refreshed %lld times",
                 h_replica(i)->id, (long long) (rc_stat(i, "rc_refreshes") - refreshes[i]));
        h_reply_t *g = rc_get(i, "name", "to-b");
        H_ASSERT(h_int(g->result, "ref/refreshed_at") > refreshed_at[i],
                 "refreshed_at did not move on %s", h_replica(i)->id);
        H_ASSERT(h_int(g->result, "ref/revision") == rev, "the revision moved on %s",
                 h_replica(i)->id);
        h_reply_free(&g);
    }
    /*  a read with refresh on a passive replica writes nothing either */
    for (int i = A1; i <= A2; i++) {
        h_reply_t *g = h_ok(i, "{s:s, s:s, s:b}", "op", "rc.get", "name", "to-b", "refresh", 1);
        H_ASSERT(h_size(g->result, "ref/node_list") == 2, "refresh: both of B");
        h_reply_free(&g);
    }
    /*  a user write on a1 is a1's, and only a1's */
    h_reply_t *r = h_ok(A1, "{s:s, s:s, s:s}", "op", "rc.set", "id", id, "username", "ops");
    rev = h_int(r->result, "ref/revision");
    h_reply_free(&r);
    H_WAIT(rc_all_rev("to-b", rev), H_T, "A never learned the set");
    rc_sleep_intervals(3);
    H_ASSERT(rc_stat(A0, "store_rc_writes") == 1 && rc_stat(A1, "store_rc_writes") == 1
             && rc_stat(A2, "store_rc_writes") == 0, "writes after a1's set: a0 1, a1 1, a2 0");
    free(id);
}
END_TEST

/*  The event: b0, the reference's hostname, dies. Checks exactly one
    write of the new hostname, by replica `writer`; all of A converge on
    b1; nothing more is written afterwards. `kill_first`: SIGKILLed just
    before b0. Leaves in s_members_at_convergence how many members the
    writer's cluster.info listed the moment all of A held b1 (a dead
    replica, once unlisted, is never listed again: so a member listed then
    was listed when the write happened). */
static uint32_t s_members_at_convergence;

static void hostname_event(int writer, int kill_first)
{
    char *id = rc_add_ref_to_b("to-b");
    int64_t rev0 = rc_rev_of(A0, "to-b");
    if (kill_first >= 0)
        h_kill(kill_first);
    int64_t writes0 = rc_sum_a("store_rc_writes"), hw0 = rc_sum_a("rc_hostname_writes");
    int64_t conflicts0 = rc_sum_a("store_rc_conflicts");
    int64_t mine0 = rc_stat(writer, "store_rc_writes");
    rc_print_stats("before the event");

    int64_t t0 = h_now_ms();
    h_kill(B0);
    H_WAIT(rc_all_host("to-b", rc_ep(B1)), H_T, "A's replicas never all moved to b1");
    h_reply_t *info = h_ok(writer, "{s:s}", "op", "cluster.info");
    s_members_at_convergence = h_size(info->result, "members");
    h_reply_free(&info);
    fprintf(stderr, "b0 killed: all of A hold b1 after %lld ms\n", (long long) (h_now_ms() - t0));
    rc_print_stats("converged");
    H_ASSERT(rc_sum_a("rc_hostname_writes") == hw0 + 1, "%lld hostname writes, expected 1",
             (long long) (rc_sum_a("rc_hostname_writes") - hw0));
    H_ASSERT(rc_stat(writer, "rc_hostname_writes") == 1, "the write was not %s's",
             h_replica(writer)->id);

    /*  several more intervals: the lowest priority waits 2, so 5 covers it */
    rc_sleep_intervals(5);
    rc_print_stats("5 intervals later");
    H_ASSERT(rc_sum_a("store_rc_writes") == writes0 + 1, "%lld database writes, expected exactly 1",
             (long long) (rc_sum_a("store_rc_writes") - writes0));
    H_ASSERT(rc_sum_a("rc_hostname_writes") == hw0 + 1, "%lld hostname writes, expected 1",
             (long long) (rc_sum_a("rc_hostname_writes") - hw0));
    H_ASSERT(rc_stat(writer, "store_rc_writes") == mine0 + 1, "the write was not %s's",
             h_replica(writer)->id);
    H_ASSERT(rc_sum_a("store_rc_conflicts") == conflicts0,
             "%lld refused compare-and-sets: a second writer tried",
             (long long) (rc_sum_a("store_rc_conflicts") - conflicts0));
    int64_t rev1 = rc_rev_of(writer, "to-b");
    H_ASSERT(rev1 > rev0, "the revision grew");
    H_ASSERT(rc_all_host("to-b", rc_ep(B1)) && rc_all_rev("to-b", rev1), "A still agrees on b1");
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT CONCAT(hostname, ' ', revision) FROM rc_refs WHERE id = '%s'",
             id);
    char *row = h_db_query(CL_A, sql);
    char want[128];
    snprintf(want, sizeof want, "%s %lld", rc_ep(B1), (long long) rev1);
    H_ASSERT(row && strcmp(row, want) == 0, "stored: '%s', expected '%s'", row ? row : "(none)",
             want);
    free(row);
    free(id);
}

/*  a0 (priority 0: the lowest replica id) writes; a1 and a2 cancel. */
START_TEST(priority_writer_one_write)
{
    h_start_all();
    hostname_event(A0, -1);
    for (int i = A1; i <= A2; i++)
        H_ASSERT(rc_stat(i, "store_rc_writes") == 0, "%s wrote", h_replica(i)->id);
}
END_TEST

/*  a0 is SIGKILLed just before b0: a1 writes, once; a2 never. */
START_TEST(priority_writer_takeover)
{
    h_start_all();
    hostname_event(A1, A0);
    H_ASSERT(rc_stat(A2, "store_rc_writes") == 0, "a2 wrote");
}
END_TEST

/*  The same with a0 still counted alive by A (alive window 8 s) for the
    whole event: a1 keeps priority 1, waits its interval, hears nothing,
    writes. */
START_TEST(priority_writer_takeover_while_listed)
{
    for (int i = A0; i <= A2; i++)
        rc_args(i, "8000", false);
    h_start_all();
    hostname_event(A1, A0);
    H_ASSERT(rc_stat(A2, "store_rc_writes") == 0, "a2 wrote");
    H_ASSERT(s_members_at_convergence == 3, "a1 listed %u members when the write was seen: "
             "it wrote only after a0 left the live list", s_members_at_convergence);
}
END_TEST

/*  b0's endpoint now answers for another cluster: b0 restarted on C's
    database (same endpoint, C's uuid). The seed's case "a hostname moved out
    of the cluster": the stored hostname is no longer a member of B, so it
    must be replaced by b1, once. */
START_TEST(hostname_moved_to_another_cluster)
{
    h_start_all();
    char *id = rc_add_ref_to_b("to-b");
    int64_t writes0 = rc_sum_a("store_rc_writes");
    h_kill(B0);
    h_set_args(B0, "--refresh-interval", "1000", "--reload-interval", "1000", "--beat-interval",
               "200", "--alive-window", "600", "--db", h_cluster_dsn(CL_C), NULL);
    h_start(B0);
    char *u = rc_cluster_uuid(B0), *c_uuid = rc_cluster_uuid(C0);
    H_ASSERT(strcmp(u, c_uuid) == 0, "b0 now answers for C");
    free(u);
    free(c_uuid);
    int64_t t0 = h_now_ms();
    int64_t deadline = t0 + 15 * REFRESH_MS;
    while (!rc_all_host("to-b", rc_ep(B1)) && h_now_ms() < deadline)
        h_sleep_ms(100);
    if (!rc_all_host("to-b", rc_ep(B1))) {
        /*  What a refresh says now, for the report. */
        h_reply_t *r = h_call(A0, "{s:s, s:s, s:b}", "op", "rc.get", "name", "to-b", "refresh", 1);
        char got[700];
        snprintf(got, sizeof got, "%s", !r ? "no reply" : r->ok ? "ok" : r->code);
        if (r && !r->ok)
            snprintf(got + strlen(got), sizeof got - strlen(got), ": %s", r->message);
        h_reply_free(&r);
        rc_print_stats("not converged");
        H_ASSERT(false, "after %d intervals A still holds b0's endpoint (now a replica of C) as "
                 "to-b's hostname; rc.get refresh on a0: %s", 15, got);
    }
    fprintf(stderr, "b0 moved to C: all of A hold b1 after %lld ms\n", (long long) (h_now_ms() - t0));
    rc_sleep_intervals(5);
    rc_print_stats("5 intervals later");
    H_ASSERT(rc_sum_a("store_rc_writes") == writes0 + 1 && rc_sum_a("rc_hostname_writes") == 1,
             "exactly one write");
    free(id);
}
END_TEST

/* ---- many remote clusters: one replica of A, nine one-replica clusters ---- */

enum { M_A0, M_R0, M_NREMOTES = 9 };

static void setup_many(void)
{
    static const char *const prefixes[M_NREMOTES] = { "r0-", "r1-", "r2-", "r3-", "r4-", "r5-",
                                                      "r6-", "r7-", "r8-" };
    h_cluster_spec_t spec[1 + M_NREMOTES] = { { rc_db("rc_many", "a"), 1, "a" } };
    for (int r = 0; r < M_NREMOTES; r++) {
        char cluster[8];
        snprintf(cluster, sizeof cluster, "r%d", r);
        spec[1 + r] = (h_cluster_spec_t) { rc_db("rc_many", cluster), 1, prefixes[r] };
    }
    h_setup_clusters(spec, 1 + M_NREMOTES, TIMEOUT_S);
    for (int i = 0; i < 1 + M_NREMOTES; i++)
        rc_args(i, "600", false);
}

/*  Remote clusters die; a healthy reference must still refresh (rc.get
    refresh answers ok: a live cluster answers in milliseconds) while eight
    dead references' probes each hold a prober for their 1 s timeout. The
    dispatcher (rc_dispatch.c) hands each probe to an idle prober and
    queues the rest, so if probes of dead remotes could hold every prober
    the healthy one would wait behind them and fail its own deadline
    (1 s × (nodes + 2) + 1 s). Nine one-replica clusters, all but ref-0
    killed; ref-0 is asked for a refresh every 200 ms for 20 intervals. */
START_TEST(dead_remotes_do_not_starve_healthy_ones)
{
    h_start_all();
    for (int r = 0; r < M_NREMOTES; r++) {
        char name[16];
        snprintf(name, sizeof name, "ref-%d", r);
        h_reply_t *a = rc_add(M_A0, name, rc_ep(M_R0 + r), PASSWORD);
        h_reply_free(&a);
    }
    for (int r = 1; r < M_NREMOTES; r++)
        h_kill(M_R0 + r);
    int64_t until = h_now_ms() + 20 * REFRESH_MS;
    int bad = 0, calls = 0;
    char last[600] = "";
    while (h_now_ms() < until) {
        h_reply_t *g = h_call(M_A0, "{s:s, s:s, s:b}", "op", "rc.get", "name", "ref-0",
                              "refresh", 1);
        calls++;
        if (!g || !g->ok) {
            bad++;
            snprintf(last, sizeof last, "%s %s", g ? g->code : "no reply", g ? g->message : "");
        }
        h_reply_free(&g);
        h_sleep_ms(200);
    }
    H_ASSERT(bad == 0, "%d of %d refreshes of a healthy reference failed beside %d dead ones "
             "(e.g. %s)", bad, calls, M_NREMOTES - 1, last);
}
END_TEST

static void setup(void) { rc_setup("rc_writer"); }

int main(void)
{
    Suite *s = suite_create("service_rc_writer");
    h_tcase(s, "rc", setup, TIMEOUT_S, passive_replicas_never_write,
            priority_writer_one_write, priority_writer_takeover,
            priority_writer_takeover_while_listed, hostname_moved_to_another_cluster, NULL);
    h_tcase(s, "many", setup_many, TIMEOUT_S, dead_remotes_do_not_starve_healthy_ones, NULL);
    return h_run(s);
}
