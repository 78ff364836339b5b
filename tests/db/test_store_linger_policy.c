/*  test_store_linger_policy.c — when a writer's heartbeats commit
    (store/linger.c), driven with made-up times: no database, no clock. */
#include "mt_check.h"
#include "linger.h"

#include <check.h>

#define MAX_MS 20
#define GAP_MS 2

/*  A policy that has seen flushes of n heartbeats (what the store has
    been doing before the test's traffic). */
static mt__store_linger_t policy_after(uint32_t n)
{
    mt__store_linger_t l;
    mt__store_linger_init(&l, MAX_MS, GAP_MS);
    for (int i = 0; i < 32; i++)
        mt__store_linger_flushed(&l, n, 0);
    return l;
}

/*  Heartbeats every `every` ms from t until the policy says flush (or
    `until`); returns the time it said so. */
static uint64_t feed(mt__store_linger_t *l, uint64_t t, uint64_t every, uint64_t until)
{
    mt__store_linger_arrival(l, t);
    ck_assert_uint_gt(mt__store_linger_begin(l, t), 0);
    uint64_t next = t + every;
    for (; t <= until; t++) {
        if (mt__store_linger_due(l, t) == 0)
            return t;
        if (t == next) {
            mt__store_linger_arrival(l, t);
            next += every;
        }
    }
    return until;
}

START_TEST(off_or_a_lone_client_never_waits)
{
    mt__store_linger_t off;
    mt__store_linger_init(&off, 0, GAP_MS);
    for (int i = 0; i < 32; i++)
        mt__store_linger_flushed(&off, 50, 0);
    ck_assert_uint_eq(mt__store_linger_begin(&off, 100), 0);

    mt__store_linger_t lone = policy_after(1);      /* one heartbeat per flush */
    ck_assert_uint_eq(mt__store_linger_begin(&lone, 100), 0);
    ck_assert(!lone.lingering);
}
END_TEST

/*  A fleet's pace: heartbeats keep coming, so the wait runs to max_ms
    and the next heartbeat waits again. */
START_TEST(a_steady_stream_waits_the_whole_linger)
{
    mt__store_linger_t l = policy_after(5);
    for (int round = 0; round < 3; round++) {
        uint64_t start = 1000 + (uint64_t) round * 100;
        ck_assert_uint_eq(feed(&l, start, 1, start + 100), start + MAX_MS);
        mt__store_linger_flushed(&l, MAX_MS, start + MAX_MS);
        ck_assert_uint_eq(l.eager_left, 0);
    }
    /*  A sparser stream (one every 3 ms, once its pace is learnt):
        pauses longer than gap_ms but short for that pace do not end the
        wait. */
    for (uint64_t t = 1500; t < 1600; t += 3)
        mt__store_linger_arrival(&l, t);
    mt__store_linger_flushed(&l, 33, 1600);
    ck_assert_uint_eq(feed(&l, 1603, 3, 1700), 1603 + MAX_MS);
}
END_TEST

/*  A window of requests arrives at once, then nothing: silence ends the
    wait after gap_ms (their pace: none apart), and the next flushes commit at once — more of them
    each time the same happens again; a steady stream resets that. */
START_TEST(silence_ends_a_wait_and_bursts_then_commit_at_once)
{
    mt__store_linger_t l = policy_after(64);
    uint64_t t = 5000;
    mt__store_linger_arrival(&l, t);
    ck_assert_uint_eq(mt__store_linger_begin(&l, t), GAP_MS);
    for (int i = 0; i < 63; i++)
        mt__store_linger_arrival(&l, t);
    ck_assert_uint_eq(mt__store_linger_due(&l, t + 1), 1);
    ck_assert_uint_eq(mt__store_linger_due(&l, t + GAP_MS), 0);
    mt__store_linger_flushed(&l, 64, t + GAP_MS);
    uint32_t run = l.eager_run;
    ck_assert_uint_gt(run, 0);
    for (uint32_t i = 0; i < run; i++)
        ck_assert_uint_eq(mt__store_linger_begin(&l, t + 10 + i), 0);
    /*  The next burst: a longer run of flushes at once. */
    t += 1000;
    mt__store_linger_arrival(&l, t);
    ck_assert_uint_gt(mt__store_linger_begin(&l, t), 0);
    for (int i = 0; i < 63; i++)
        mt__store_linger_arrival(&l, t);
    mt__store_linger_flushed(&l, 64, t + GAP_MS);
    ck_assert_uint_gt(l.eager_run, run);
    /*  A wait cut short (batch_max, another request) learns nothing. */
    l.eager_left = 0;
    uint32_t before = l.eager_run;
    ck_assert_uint_gt(mt__store_linger_begin(&l, t + 100), 0);
    mt__store_linger_flushed(&l, 256, t + 100);
    ck_assert_uint_eq(l.eager_run, before);
    /*  A steady stream again: back to waiting every time. */
    ck_assert_uint_eq(feed(&l, t + 200, 1, t + 400), t + 200 + MAX_MS);
    mt__store_linger_flushed(&l, MAX_MS, t + 200 + MAX_MS);
    ck_assert_uint_eq(l.eager_run, 0);
    ck_assert_uint_eq(l.eager_left, 0);
    ck_assert_uint_gt(mt__store_linger_begin(&l, t + 500), 0);
}
END_TEST

/*  However many bursts, the run of flushes at once is bounded (a fleet
    that starts after a loader is lingered for again soon enough). */
START_TEST(the_run_of_flushes_at_once_is_bounded)
{
    mt__store_linger_t l = policy_after(64);
    uint64_t t = 0;
    for (int i = 0; i < 64; i++) {
        while (l.eager_left)
            ck_assert_uint_eq(mt__store_linger_begin(&l, ++t), 0);
        mt__store_linger_arrival(&l, ++t);
        ck_assert_uint_gt(mt__store_linger_begin(&l, t), 0);
        for (int j = 0; j < 63; j++)
            mt__store_linger_arrival(&l, t);
        t += GAP_MS;
        mt__store_linger_flushed(&l, 64, t);
    }
    ck_assert_uint_le(l.eager_run, 4096);
    ck_assert_uint_gt(l.eager_run, 1000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store_linger_policy");
    TCase *tc = tcase_create("policy");
    tcase_add_test(tc, off_or_a_lone_client_never_waits);
    tcase_add_test(tc, a_steady_stream_waits_the_whole_linger);
    tcase_add_test(tc, silence_ends_a_wait_and_bursts_then_commit_at_once);
    tcase_add_test(tc, the_run_of_flushes_at_once_is_bounded);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
