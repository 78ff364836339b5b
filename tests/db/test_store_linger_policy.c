/*  test_store_linger_policy.c — when a writer's heartbeats commit
    (store/linger.c), driven with made-up times: no database, no clock. */
#include "mt_check.h"
#include "linger.h"

#include <check.h>

#define MAX_MS 20
#define GAP_MS 2

static mt__store_linger_shared_t shared;

/*  A policy that has seen flushes of n heartbeats (what the store has
    been doing before the test's traffic). */
static mt__store_linger_t policy_after(uint32_t n)
{
    mt__store_linger_t l;
    mt__store_linger_init(&l, &shared, MAX_MS, GAP_MS);
    for (int i = 0; i < 32; i++)
        mt__store_linger_flushed(&l, n, 0);
    return l;
}

static void setup(void)
{
    shared = (mt__store_linger_shared_t) { 0 };
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

/*  A window of n requests at t, then silence until the policy flushes;
    returns when. */
static uint64_t window(mt__store_linger_t *l, uint64_t t, int n)
{
    mt__store_linger_arrival(l, t);
    uint64_t wait = mt__store_linger_begin(l, t);
    ck_assert_uint_gt(wait, 0);
    for (int i = 1; i < n; i++)
        mt__store_linger_arrival(l, t);
    while (mt__store_linger_due(l, t) > 0)
        t++;
    mt__store_linger_flushed(l, (uint32_t) n, t);
    return t;
}

START_TEST(off_or_a_lone_client_never_waits)
{
    mt__store_linger_t off;
    mt__store_linger_init(&off, &shared, 0, GAP_MS);
    for (int i = 0; i < 32; i++)
        mt__store_linger_flushed(&off, 50, 0);
    ck_assert_uint_eq(mt__store_linger_begin(&off, 100), 0);

    mt__store_linger_t lone = policy_after(1);      /* one heartbeat per flush */
    ck_assert_uint_eq(mt__store_linger_begin(&lone, 100), 0);
    ck_assert(!lone.lingering);
}
END_TEST

/*  A wait whose heartbeats were answered otherwise (the connection went
    down) is over: the next heartbeat starts a wait of its own, it does not
    join one nobody will end. */
START_TEST(a_cancelled_wait_is_over)
{
    mt__store_linger_t l = policy_after(8);
    mt__store_linger_arrival(&l, 100);
    ck_assert_uint_gt(mt__store_linger_begin(&l, 100), 0);
    ck_assert(l.lingering);
    mt__store_linger_cancel(&l);
    ck_assert(!l.lingering);
    ck_assert_uint_eq(mt__store_linger_due(&l, 101), 0);
    mt__store_linger_arrival(&l, 5000);
    ck_assert_uint_gt(mt__store_linger_begin(&l, 5000), 0);
    ck_assert_uint_eq(l.first_ms, 5000);
    ck_assert_uint_eq(shared.eager_run_ms, 0);      /* learnt nothing */
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
        ck_assert_uint_eq(shared.eager_until_ms, 0);
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
    wait after gap_ms (their pace: none apart), and every writer then
    commits at once for a while — longer each time it happens again; a
    steady stream resets that. */
START_TEST(silence_ends_a_wait_and_every_writer_then_commits_at_once)
{
    mt__store_linger_t l = policy_after(64), other = policy_after(64);
    uint64_t t = window(&l, 5000, 64);
    ck_assert_uint_eq(t, 5000 + GAP_MS);
    uint64_t run = shared.eager_run_ms;
    ck_assert_uint_gt(run, 0);
    ck_assert_uint_eq(shared.eager_until_ms, t + run);
    mt__store_linger_arrival(&l, t + 1);
    ck_assert_uint_eq(mt__store_linger_begin(&l, t + 1), 0);
    mt__store_linger_arrival(&other, t + 1);
    ck_assert_uint_eq(mt__store_linger_begin(&other, t + 1), 0);
    /*  Once it is over: a wait again, silence again, a longer period. */
    t = window(&l, t + run, 64);
    ck_assert_uint_gt(shared.eager_run_ms, run);
    run = shared.eager_run_ms;
    /*  A wait under way on another writer ends when one hears silence. */
    uint64_t u = t + run;
    mt__store_linger_arrival(&other, u);
    ck_assert_uint_gt(mt__store_linger_begin(&other, u), 0);
    mt__store_linger_arrival(&other, u + 1);
    ck_assert_uint_gt(mt__store_linger_due(&other, u + 1), 0);
    window(&l, u + 1, 32);
    ck_assert_uint_eq(mt__store_linger_due(&other, u + 4), 0);
    mt__store_linger_flushed(&other, 2, u + 4);         /* cut short: learns nothing */
    ck_assert_uint_gt(shared.eager_run_ms, run);
    /*  A wait cut short (batch_max, another request) learns nothing. */
    run = shared.eager_run_ms;
    uint64_t v = shared.eager_until_ms + 1;
    mt__store_linger_arrival(&l, v);
    ck_assert_uint_gt(mt__store_linger_begin(&l, v), 0);
    mt__store_linger_flushed(&l, 256, v);
    ck_assert_uint_eq(shared.eager_run_ms, run);
    /*  A steady stream again: back to waiting every time. */
    ck_assert_uint_eq(feed(&l, v + 100, 1, v + 300), v + 100 + MAX_MS);
    mt__store_linger_flushed(&l, MAX_MS, v + 100 + MAX_MS);
    ck_assert_uint_eq(shared.eager_run_ms, 0);
    mt__store_linger_arrival(&l, v + 500);
    ck_assert_uint_gt(mt__store_linger_begin(&l, v + 500), 0);
}
END_TEST

/*  However many windows, the period of commits at once stops at a second
    (a fleet that starts after a loader is lingered for again within one). */
START_TEST(the_period_of_commits_at_once_is_bounded)
{
    mt__store_linger_t l = policy_after(64);
    uint64_t t = 0;
    for (int i = 0; i < 64; i++)
        t = window(&l, shared.eager_until_ms + 1, 64);
    ck_assert_uint_eq(shared.eager_run_ms, 1000);
    ck_assert_uint_eq(shared.eager_until_ms, t + shared.eager_run_ms);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store_linger_policy");
    TCase *tc = tcase_create("policy");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, off_or_a_lone_client_never_waits);
    tcase_add_test(tc, a_cancelled_wait_is_over);
    tcase_add_test(tc, a_steady_stream_waits_the_whole_linger);
    tcase_add_test(tc, silence_ends_a_wait_and_every_writer_then_commits_at_once);
    tcase_add_test(tc, the_period_of_commits_at_once_is_bounded);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
