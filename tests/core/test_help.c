/*  core_help: a pinned thread that makes actors runnable while every
    worker sleeps runs them itself (sched.c, "Helping") — at most HELP_MAX
    (64) in a row, the rest going to the workers; an actor it took does not
    wait out a long turn of the thread's own; an actor whose helped turn
    ran long goes to the workers next time — and messages keep their order
    whichever thread runs their receiver. */
#include "testutil.h"

enum { T_FAN = MT_MSG_USER, T_SEQ, T_HIT, T_NUM, T_LONG, T_SLOW, T_IGNORE, T_DONE };

#define HELP_MAX 64                 /* sched.c */
#define FAN 1000

/*  Shared by the pinned sender and its receivers: read-only once set. */
typedef struct {
    pthread_t pinned;               /* the pinned actor's thread */
    mt_actor_t *report;             /* the probe */
    mt_actor_t *to[FAN];            /* receivers */
} fan_t;

static void busy_ms(uint64_t ms)
{
    uint64_t end = mt_now_ms() + ms;
    while (mt_now_ms() < end)
        ;
}

/*  A receiver: reports whether it runs on the pinned actor's thread (T_HIT
    1 or 0), or passes a numbered message on (T_NUM). */
static void receiver(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    (void) self;
    fan_t *f = state;
    if (msg->type == T_SLOW)
        busy_ms(5);                 /* a long turn (HELP_TURN_NS is 0.5 ms) */
    if (msg->type == T_HIT || msg->type == T_SLOW)
        t_tell(f->report, T_HIT, pthread_equal(pthread_self(), f->pinned) ? 1 : 0);
    else if (msg->type == T_NUM)
        t_tell(f->report, T_NUM, mt_msg_i64(msg));
}

/*  The pinned sender: T_FAN n → one T_HIT to each of n receivers; T_SEQ n
    → n numbered messages to the first receiver. */
static void sender(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    (void) self;
    fan_t *f = state;
    f->pinned = pthread_self();
    int64_t n = mt_msg_i64(msg);
    if (msg->type == T_LONG) {
        /*  A long turn of its own after waking a receiver, sending on. */
        t_tell(f->to[0], T_HIT, 0);
        uint64_t end = mt_now_ms() + (uint64_t) n;
        while (mt_now_ms() < end)
            t_tell(f->to[1], T_IGNORE, 0);
        t_tell(f->report, T_DONE, 0);
        return;
    }
    if (msg->type == T_SLOW) {
        t_tell(f->to[0], T_SLOW, 0);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        if (msg->type == T_FAN)
            t_tell(f->to[i], T_HIT, 0);
        else
            t_tell(f->to[0], T_NUM, i);
    }
}

static fan_t *fan_new(mt_actor_t **pinned)
{
    fan_t *f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    f->report = t_probe_actor();
    for (int i = 0; i < FAN; i++) {
        f->to[i] = mt_spawn(rt, receiver, f, NULL);
        ck_assert_ptr_nonnull(f->to[i]);
    }
    mt_spawn_opts_t o = { .behaviour = sender, .state = f, .pinned = true };
    *pinned = mt_spawn_opts(rt, &o);
    ck_assert_ptr_nonnull(*pinned);
    return f;
}

static void fan_free(fan_t *f, mt_actor_t *pinned)
{
    mt_actor_unref(&pinned);
    for (int i = 0; i < FAN; i++)
        mt_actor_unref(&f->to[i]);
    t_destroy_runtime();            /* no behaviour runs after this */
    free(f);
}

/*  Runs after the workers had time to park; returns how many of n
    receivers ran on the pinned thread. */
static int fan_out(mt_actor_t *pinned, int n)
{
    t_sleep_ms(20);
    ck_assert_int_eq(mt_send_i64(pinned, T_FAN, n), MT_OK);
    int here = 0;
    for (int i = 0; i < n; i++)
        here += (int) t_recv_i64(T_HIT);
    return here;
}

/*  Parked workers are the usual state between requests, but a worker may
    still be awake now and then: the test asks for one helped run in 50
    tries, so it fails only if helping never happens. */
START_TEST(a_pinned_thread_runs_what_it_wakes_while_the_workers_sleep)
{
    mt_actor_t *pinned;
    fan_t *f = fan_new(&pinned);
    int helped = 0;
    for (int i = 0; i < 50 && !helped; i++)
        helped = fan_out(pinned, 1);
    ck_assert_int_eq(helped, 1);
    fan_free(f, pinned);
}
END_TEST

/*  A burst bigger than the bound: at most HELP_MAX run on the pinned
    thread, whatever the workers do; the rest reach the workers. */
START_TEST(helping_stops_at_its_bound)
{
    mt_actor_t *pinned;
    fan_t *f = fan_new(&pinned);
    uint64_t before = 0, after = 0;
    mt_stats_t s = t_stats();
    for (int i = 0; i < s.workers; i++)
        before += s.worker_runs[i];
    int here = fan_out(pinned, FAN);
    ck_assert_int_le(here, HELP_MAX);
    s = t_stats();
    for (int i = 0; i < s.workers; i++)
        after += s.worker_runs[i];
    ck_assert_uint_ge(after - before, (uint64_t) (FAN - here));
    fan_free(f, pinned);
}
END_TEST

/*  One sender's messages arrive in order, though the first run of their
    receiver may be helped and the rest a worker's (a batch of 1 leaves it
    runnable after each message). */
START_TEST(order_holds_across_helped_and_worker_runs)
{
    mt_actor_t *pinned;
    fan_t *f = fan_new(&pinned);
    for (int round = 0; round < 5; round++) {
        t_sleep_ms(20);
        ck_assert_int_eq(mt_send_i64(pinned, T_SEQ, FAN), MT_OK);
        for (int64_t i = 0; i < FAN; i++)
            ck_assert_int_eq(t_recv_i64(T_NUM), i);
    }
    fan_free(f, pinned);
}
END_TEST

/*  The receiver taken at the start of the pinned thread's 300-ms turn
    runs on a worker long before that turn ends (HELP_WAIT_NS, 0.2 ms). */
START_TEST(an_actor_taken_does_not_wait_out_a_long_turn)
{
    mt_actor_t *pinned;
    fan_t *f = fan_new(&pinned);
    t_sleep_ms(20);
    ck_assert_int_eq(mt_send_i64(pinned, T_LONG, 300), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_HIT), 0);     /* on a worker, before T_DONE */
    ck_assert_int_eq(t_recv_i64(T_DONE), 0);
    fan_free(f, pinned);
}
END_TEST

/*  A helped turn of 5 ms: the next one runs on a worker (HELP_BAN_MS). The
    first must be helped for this to tell anything; tries until it is. */
START_TEST(an_actor_whose_helped_turn_ran_long_goes_to_the_workers)
{
    mt_actor_t *pinned;
    fan_t *f = fan_new(&pinned);
    int helped = 0;
    for (int i = 0; i < 50 && !helped; i++) {
        t_sleep_ms(20);
        ck_assert_int_eq(mt_send_i64(pinned, T_SLOW, 0), MT_OK);
        helped = (int) t_recv_i64(T_HIT);
    }
    ck_assert_int_eq(helped, 1);
    t_sleep_ms(20);                             /* the workers park again */
    ck_assert_int_eq(mt_send_i64(pinned, T_SLOW, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_HIT), 0);
    fan_free(f, pinned);
}
END_TEST

static void setup_batch_1(void)
{
    int saved = t_batch;
    t_batch = 1;
    rt_setup();
    t_batch = saved;
}

static Suite *help_suite(void)
{
    Suite *s = suite_create("core_help");
    TCase *tc = t_tcase("help", 120);
    tcase_add_test(tc, a_pinned_thread_runs_what_it_wakes_while_the_workers_sleep);
    tcase_add_test(tc, helping_stops_at_its_bound);
    tcase_add_test(tc, order_holds_across_helped_and_worker_runs);
    tcase_add_test(tc, an_actor_taken_does_not_wait_out_a_long_turn);
    tcase_add_test(tc, an_actor_whose_helped_turn_ran_long_goes_to_the_workers);
    suite_add_tcase(s, tc);
    TCase *one = tcase_create("batch_1");
    tcase_add_checked_fixture(one, setup_batch_1, rt_teardown);
    tcase_set_timeout(one, 120);
    tcase_add_test(one, order_holds_across_helped_and_worker_runs);
    suite_add_tcase(s, one);
    return s;
}

T_MAIN(help_suite)
