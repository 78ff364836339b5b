/*  test_rc_delete.c — remote cluster references (see test_rc.c and
    harness_rc.h): a deleted reference never comes back.

    Cases (each on fresh databases and processes):
      deleted_stays_deleted        delete while refreshes run: never back, a
                                   tombstone, no agent left (b0's death later
                                   writes nothing)
      delete_not_undone_by_a_reload
                                   40 deletes under a reload every 10 ms: once
                                   gone on a replica, never back there (the
                                   registry's tombstones; the same race made
                                   to happen every time: tests/rcs) */
#include "harness_rc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  A delete made while refreshes run stays a delete: never seen again on
    any replica, a tombstone in the table, no agent left refreshing or
    writing (not even when b0 dies afterwards). */
START_TEST(deleted_stays_deleted)
{
    h_start_all();
    char *id = rc_add_ref_to_b("to-b");
    char *uuid = rc_cluster_uuid(B0);
    int64_t ref0[3];
    for (int i = A0; i <= A2; i++)
        ref0[i] = rc_stat(i, "rc_refreshes");
    for (int i = A0; i <= A2; i++)
        H_WAIT(rc_stat(i, "rc_refreshes") >= ref0[i] + 2, H_T, "%s does not refresh",
               h_replica(i)->id);
    h_reply_t *r = h_ok(A1, "{s:s, s:s}", "op", "rc.del", "name", "to-b");
    h_reply_free(&r);
    H_WAIT(rc_gone_everywhere("name", "to-b"), H_T, "to-b still found after its delete");
    int64_t writes = rc_sum_a("store_rc_writes");
    H_ASSERT(writes == 2, "add and delete: 2 writes, not %lld", (long long) writes);

    /*  never back, on any replica, for several intervals */
    int64_t until = h_now_ms() + 5 * REFRESH_MS;
    int polls = 0;
    while (h_now_ms() < until) {
        for (int i = A0; i <= A2; i++) {
            H_ASSERT(rc_list_size(i) == 0, "to-b is back in %s's rc.list after %d polls",
                     h_replica(i)->id, polls);
            H_ASSERT(!rc_found(i, "to-b"), "to-b is back on %s after %d polls", h_replica(i)->id,
                     polls);
        }
        polls++;
        h_sleep_ms(50);
    }
    for (int i = A0; i <= A2; i++) {
        H_ASSERT(rc_gone_everywhere("id", id) && rc_gone_everywhere("uuid", uuid),
                 "found by id or uuid");
        h_err(i, "not_found", "{s:s, s:s, s:b}", "op", "rc.get", "name", "to-b", "refresh", 1);
    }
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT CONCAT(deleted, ' [', password, ']') FROM rc_refs WHERE id = '%s'", id);
    char *row = h_db_query(CL_A, sql);
    H_ASSERT(row && strcmp(row, "1 []") == 0, "the row is '%s', not a tombstone with no password",
             row ? row : "(none)");
    free(row);
    row = h_db_query(CL_A, "SELECT COUNT(*) FROM rc_refs");
    H_ASSERT(row && strcmp(row, "1") == 0, "rc_refs has %s rows", row ? row : "no");
    free(row);

    /*  no agent is left: refreshes stop, and b0's death writes nothing */
    int64_t ref1[3];
    for (int i = A0; i <= A2; i++)
        ref1[i] = rc_stat(i, "rc_refreshes");
    h_kill(B0);
    rc_sleep_intervals(5);
    rc_print_stats("5 intervals after b0 died");
    for (int i = A0; i <= A2; i++) {
        H_ASSERT(rc_stat(i, "rc_refreshes") == ref1[i], "%s still refreshes a deleted reference",
                 h_replica(i)->id);
        H_ASSERT(rc_list_size(i) == 0 && !rc_found(i, "to-b"), "to-b is back on %s",
                 h_replica(i)->id);
    }
    H_ASSERT(rc_sum_a("store_rc_writes") == writes && rc_sum_a("rc_hostname_writes") == 0,
             "a write after the delete");
    row = h_db_query(CL_A, sql);
    H_ASSERT(row && strcmp(row, "1 []") == 0, "the row is '%s' after b0 died", row ? row : "(none)");
    free(row);
    free(uuid);
    free(id);
}
END_TEST

/*  A reload pass whose read began before a delete committed must not bring
    the deleted reference back once the delete is known. With a reload every
    10 ms on A a pass is nearly always in flight when a delete arrives;
    each replica is polled from the delete's reply on: once it has answered
    not_found it must never find the reference again. */
START_TEST(delete_not_undone_by_a_reload)
{
    for (int i = A0; i <= A2; i++)
        h_set_args(i, "--refresh-interval", "1000", "--reload-interval", "10",
                   "--beat-interval", "200", "--alive-window", "600", NULL);
    h_start_all();
    int rounds = getenv("MT_TEST_ROUNDS") ? atoi(getenv("MT_TEST_ROUNDS")) : 40, back = 0;
    char detail[300] = "";
    for (int k = 0; k < rounds; k++) {
        char name[32];
        snprintf(name, sizeof name, "r-%d", k);
        h_reply_t *r = rc_add(A0, name, rc_ep(k % 2 ? B0 : B1), PASSWORD);
        int64_t rev = h_int(r->result, "ref/revision");
        h_reply_free(&r);
        H_WAIT(rc_all_rev(name, rev), H_T, "%s never reached all of A", name);
        int del_on = A0 + k % 3;
        r = h_ok(del_on, "{s:s, s:s}", "op", "rc.del", "name", name);
        h_reply_free(&r);
        bool seen_gone[3] = { false, false, false };
        int64_t until = h_now_ms() + 300;
        while (h_now_ms() < until) {
            for (int i = A0; i <= A2; i++) {
                bool f = rc_found(i, name);
                if (!f)
                    seen_gone[i] = true;
                else if (seen_gone[i]) {
                    if (!back)
                        snprintf(detail, sizeof detail, "%s (deleted on %s) came back on %s",
                                 name, h_replica(del_on)->id, h_replica(i)->id);
                    back++;
                    seen_gone[i] = false;
                }
            }
        }
        H_WAIT(rc_gone_everywhere("name", name), H_T, "%s is still found", name);
    }
    fprintf(stderr, "deleted references seen again: %d times in %d rounds\n", back, rounds);
    H_ASSERT(back == 0, "a deleted reference came back %d times in %d rounds, e.g. %s", back,
             rounds, detail);
}
END_TEST

static void setup(void) { rc_setup("rc_delete"); }

int main(void)
{
    Suite *s = suite_create("service_rc_delete");
    h_tcase(s, "rc", setup, TIMEOUT_S, deleted_stays_deleted,
            delete_not_undone_by_a_reload, NULL);
    return h_run(s);
}
