/*  test_scan_window.c — which revisions a reload pass reads (start) and
    which it vouches for (covered): only marks whose pass ended at least
    txn_max_ms before count, since a revision drawn before a mark may still
    be committing until then. */
#include "mt_scan_window.h"

#include "mt_check.h"
#include <check.h>
#include <stdlib.h>

START_TEST(nothing_settled_at_first)
{
    mt_scan_window_t w = { .txn_max_ms = 100 };
    ck_assert_int_eq(mt_scan_window_start(&w, 1000), 0);
    ck_assert_int_eq(mt_scan_window_covered(&w), 0);
    mt_scan_window_done(&w, 1010, 50);
    /*  Ended 90 ms before this pass: not yet settled. */
    ck_assert_int_eq(mt_scan_window_start(&w, 1100), 0);
    ck_assert_int_eq(mt_scan_window_covered(&w), 0);
}
END_TEST

START_TEST(covered_runs_one_pass_ahead_of_after)
{
    mt_scan_window_t w = { .txn_max_ms = 100 };
    mt_scan_window_start(&w, 0);
    mt_scan_window_done(&w, 10, 50);         /* settled from 110 */
    mt_scan_window_start(&w, 200);
    mt_scan_window_done(&w, 210, 80);        /* settled from 310 */
    /*  A pass at 320: covered judges by its own start (both marks settled),
        after by the previous pass's start (200: only the first). */
    ck_assert_int_eq(mt_scan_window_start(&w, 320), 50);
    ck_assert_int_eq(mt_scan_window_covered(&w), 80);
    mt_scan_window_done(&w, 330, 120);
    ck_assert_int_eq(mt_scan_window_start(&w, 340), 80);
    ck_assert_int_eq(mt_scan_window_covered(&w), 80);     /* 120 ended 10 ms ago */
}
END_TEST

START_TEST(history_keeps_the_newest)
{
    mt_scan_window_t w = { .txn_max_ms = 10 };
    for (int i = 1; i <= 3 * MT_SCAN_WINDOW_HISTORY; i++) {
        mt_scan_window_start(&w, (uint64_t) i * 100);
        mt_scan_window_done(&w, (uint64_t) i * 100 + 1, i);
    }
    ck_assert_int_eq(w.nhist, MT_SCAN_WINDOW_HISTORY);
    /*  The previous pass (mark 3 × HISTORY) had not settled when the one
        before this started; by now it has. */
    ck_assert_int_eq(mt_scan_window_start(&w, 1000000), 3 * MT_SCAN_WINDOW_HISTORY - 1);
    ck_assert_int_eq(mt_scan_window_covered(&w), 3 * MT_SCAN_WINDOW_HISTORY);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scan_window");
    TCase *tc = tcase_create("window");
    tcase_add_test(tc, nothing_settled_at_first);
    tcase_add_test(tc, covered_runs_one_pass_ahead_of_after);
    tcase_add_test(tc, history_keeps_the_newest);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
