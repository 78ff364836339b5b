/*  core_timer: timers fire no earlier than their delay, cancel (also after
    the timer fired but before the actor handled it), re-arm, 100,000
    timers, mt_send_after, stats.timers_armed. */
#include "testutil.h"

enum { T_TICK = MT_MSG_USER, T_SEEN, T_BLOCK, T_FLUSH, T_REPORT, T_MARK, T_START };

/*  Payload of T_SEEN: a tick's value and when the actor handled it. */
typedef struct { int64_t value; uint64_t at_ms; } seen_t;

/*  Forwards every T_TICK to the probe as T_SEEN; counts them. */
typedef struct {
    mt_actor_t *report;
    atomic_long ticks;
} rec_state_t;

static void rec_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    rec_state_t *st = state;
    if (msg->type == T_TICK) {
        atomic_fetch_add(&st->ticks, 1);
        seen_t s = { mt_msg_i64(msg), mt_now_ms() };
        mt_send(st->report, t_msg_blob(T_SEEN, &s, sizeof s));
    } else if (msg->type == T_FLUSH) {
        t_tell(st->report, T_REPORT, atomic_load(&st->ticks));
    }
}

static void rec_destroy(void *state)
{
    rec_state_t *st = state;
    mt_actor_unref(&st->report);
    free(st);
}

static mt_actor_t *spawn_rec(void)
{
    rec_state_t *st = calloc(1, sizeof *st);
    st->report = t_probe_ref();
    mt_actor_t *a = mt_spawn(rt, rec_behaviour, st, rec_destroy);
    ck_assert_ptr_nonnull(a);
    return a;
}

static seen_t recv_seen(void)
{
    mt_msg_t *m = t_recv_type(T_SEEN);
    ck_assert_uint_eq(m->size, sizeof(seen_t));
    seen_t s;
    memcpy(&s, mt_msg_data(m), sizeof s);
    mt_msg_free(m);
    return s;
}

static int64_t flush_ticks(mt_actor_t *a)
{
    ck_assert_int_eq(mt_send_i64(a, T_FLUSH, 0), MT_OK);
    return t_recv_i64(T_REPORT);
}

/* ---- fire after the delay ------------------------------------------------ */

START_TEST(fires_not_before_delay)
{
    static const uint64_t delays[] = { 0, 1, 20, 100, 250 };
    enum { N = sizeof delays / sizeof delays[0] };
    mt_actor_t *a = spawn_rec();
    mt_timer_t *t[N];
    uint64_t t0[N];
    for (int i = 0; i < N; i++) {
        t[i] = mt_timer_new(rt);
        ck_assert_ptr_nonnull(t[i]);
        ck_assert(!mt_timer_armed(t[i]));
        t0[i] = mt_now_ms();
        mt_timer_start(t[i], a, mt_msg_new_i64(T_TICK, i), delays[i]);
    }
    bool got[N] = { false };
    for (int k = 0; k < N; k++) {
        seen_t s = recv_seen();
        ck_assert(s.value >= 0 && s.value < N);
        ck_assert(!got[s.value]);
        got[s.value] = true;
        ck_assert_msg(s.at_ms >= t0[s.value] + delays[s.value],
                      "timer %llu ms handled after %llu ms",
                      (unsigned long long) delays[s.value],
                      (unsigned long long) (s.at_ms - t0[s.value]));
    }
    for (int i = 0; i < N; i++) {
        ck_assert_eventually(!mt_timer_armed(t[i]), T_WAIT);   /* one-shot */
        mt_timer_destroy(&t[i]);
        ck_assert_ptr_null(t[i]);
    }
    ck_assert_int_eq(flush_ticks(a), N);
    mt_actor_unref(&a);
}
END_TEST

/*  A timer can target the probe directly; a fired timer can be re-used. */
START_TEST(fires_to_probe_and_reuse)
{
    mt_timer_t *t = mt_timer_new(rt);
    for (int round = 0; round < 3; round++) {
        uint64_t t0 = mt_now_ms();
        mt_timer_start(t, t_probe_actor(), mt_msg_new_i64(T_TICK, round), 60);
        ck_assert(mt_timer_armed(t));
        ck_assert_int_eq(t_recv_i64(T_TICK), round);
        ck_assert_uint_ge(mt_now_ms() - t0, 60);
        ck_assert_eventually(!mt_timer_armed(t), T_WAIT);
    }
    t_assert_quiet();
    mt_timer_destroy(&t);
}
END_TEST

START_TEST(timers_armed_stat)
{
    mt_stats_t s0 = t_stats();
    mt_actor_t *a = spawn_rec();
    mt_timer_t *t = mt_timer_new(rt);
    mt_timer_start(t, a, mt_msg_new_i64(T_TICK, 1), 3600000);
    ck_assert_uint_eq(t_stats().timers_armed, s0.timers_armed + 1);
    mt_timer_start(t, a, mt_msg_new_i64(T_TICK, 2), 3600000);     /* re-arm */
    ck_assert_uint_eq(t_stats().timers_armed, s0.timers_armed + 1);
    ck_assert(mt_timer_cancel(t));
    ck_assert_uint_eq(t_stats().timers_armed, s0.timers_armed);
    mt_timer_start(t, a, mt_msg_new_i64(T_TICK, 3), 10);
    recv_seen();
    ck_assert_eventually(t_stats().timers_armed == s0.timers_armed, T_WAIT);
    mt_timer_destroy(&t);
    mt_actor_unref(&a);
}
END_TEST

/* ---- cancel ---------------------------------------------------------------- */

START_TEST(cancel_never_fires)
{
    mt_stats_t s0 = t_stats();
    mt_actor_t *a = spawn_rec();
    mt_timer_t *t = mt_timer_new(rt);
    ck_assert(!mt_timer_cancel(t));                 /* never armed */
    mt_timer_start(t, a, t_msg_counted(T_TICK, 1), 300);
    ck_assert(mt_timer_armed(t));
    ck_assert(mt_timer_cancel(t));
    ck_assert(!mt_timer_armed(t));
    ck_assert(!mt_timer_cancel(t));                 /* already cancelled */
    ck_assert_eventually(atomic_load(&t_drops) >= 1, T_WAIT);   /* msg freed */
    ck_assert_int_eq(atomic_load(&t_drops), 1);
    ck_assert_uint_eq(t_stats().timers_armed, s0.timers_armed);
    t_sleep_ms(500);
    ck_assert_int_eq(flush_ticks(a), 0);
    t_assert_quiet();

    /* mt_timer_destroy cancels as well. */
    mt_timer_start(t, a, t_msg_counted(T_TICK, 2), 300);
    mt_timer_destroy(&t);
    ck_assert_ptr_null(t);
    ck_assert_eventually(atomic_load(&t_drops) >= 2, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), 2);
    t_sleep_ms(500);
    ck_assert_int_eq(flush_ticks(a), 0);
    ck_assert_uint_eq(t_stats().timers_armed, s0.timers_armed);
    mt_actor_unref(&a);
}
END_TEST

/*  The actor blocks in a handler while its timer fires (the message is then
    in its mailbox), and cancels — or re-arms — from inside that handler.
    The fired message must never be handled. How we know it fired: a
    send_after with the same delay, armed just after, reached the probe. */
static atomic_bool fired_seen;

typedef struct {
    mt_actor_t *report;
    mt_timer_t *t;
    bool rearm;                  /* re-arm instead of cancel */
    int64_t ticks[3];            /* ticks[v]: T_TICK with value v handled */
    bool cancel_ret, armed_after, waited_out;
} block_state_t;

static void block_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    block_state_t *st = state;
    switch (msg->type) {
    case T_BLOCK: {
        mt_timer_start(st->t, self, t_msg_counted(T_TICK, 1), 10);
        mt_send_after(st->report, mt_msg_new_i64(T_MARK, 0), 10);
        uint64_t dl = mt_now_ms() + T_WAIT;
        while (!atomic_load(&fired_seen) && mt_now_ms() < dl)
            t_sleep_ms(1);
        st->waited_out = !atomic_load(&fired_seen);
        t_sleep_ms(50);
        if (st->rearm) {
            mt_timer_start(st->t, self, t_msg_counted(T_TICK, 2), 10);
        } else {
            st->cancel_ret = mt_timer_cancel(st->t);
            st->armed_after = mt_timer_armed(st->t);
        }
        break;
    }
    case T_TICK: {
        int64_t v = mt_msg_i64(msg);
        st->ticks[v >= 0 && v < 3 ? v : 0]++;
        t_tell(st->report, T_SEEN, v);
        break;
    }
    case T_FLUSH: {
        int64_t r = st->ticks[0] | st->ticks[1] << 8 | st->ticks[2] << 16
                    | (int64_t) st->armed_after << 24 | (int64_t) st->waited_out << 25;
        t_tell(st->report, T_REPORT, r);
        break;
    }
    }
}

static void block_destroy(void *state)
{
    block_state_t *st = state;
    mt_timer_destroy(&st->t);
    mt_actor_unref(&st->report);
    free(st);
}

static mt_actor_t *spawn_block(bool rearm)
{
    atomic_store(&fired_seen, false);
    block_state_t *st = calloc(1, sizeof *st);
    st->report = t_probe_ref();
    st->t = mt_timer_new(rt);
    st->rearm = rearm;
    mt_actor_t *a = mt_spawn(rt, block_behaviour, st, block_destroy);
    ck_assert_ptr_nonnull(a);
    return a;
}

START_TEST(cancel_after_fire_before_handled)
{
    mt_stats_t s0 = t_stats();
    mt_actor_t *a = spawn_block(false);
    ck_assert_int_eq(mt_send_i64(a, T_BLOCK, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_MARK), 0);
    atomic_store(&fired_seen, true);
    ck_assert_int_eq(mt_send_i64(a, T_FLUSH, 0), MT_OK);
    int64_t r = t_recv_i64(T_REPORT);        /* T_SEEN would fail here */
    ck_assert_msg((r & 0xffffff) == 0, "ticks handled after cancel: %lld",
                  (long long) ((r >> 8) & 0xff));
    ck_assert_msg(!(r & (1 << 24)), "armed after cancel");
    ck_assert(!(r & (1 << 25)));
    ck_assert_eventually(atomic_load(&t_drops) >= 1, T_WAIT);   /* stale msg freed */
    ck_assert_int_eq(atomic_load(&t_drops), 1);
    ck_assert_eventually(t_stats().msgs_dropped > s0.msgs_dropped, T_WAIT);
    t_assert_quiet();
    mt_actor_unref(&a);
}
END_TEST

START_TEST(rearm_after_fire_before_handled)
{
    mt_actor_t *a = spawn_block(true);
    ck_assert_int_eq(mt_send_i64(a, T_BLOCK, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_MARK), 0);
    atomic_store(&fired_seen, true);
    ck_assert_int_eq(t_recv_i64(T_SEEN), 2);           /* never 1 */
    ck_assert_int_eq(mt_send_i64(a, T_FLUSH, 0), MT_OK);
    int64_t r = t_recv_i64(T_REPORT);
    ck_assert_int_eq(r & 0xffffff, 1 << 16);            /* one tick, value 2 */
    ck_assert_eventually(atomic_load(&t_drops) >= 2, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), 2);
    t_assert_quiet();
    mt_actor_unref(&a);
}
END_TEST

/* ---- re-arm ------------------------------------------------------------------ */

START_TEST(rearm_replaces)
{
    mt_actor_t *a = spawn_rec();
    mt_timer_t *t = mt_timer_new(rt);

    /* Longer re-arm: the first message (due earlier) must not come. */
    /* (Delays of re-armed messages are long enough that they cannot fire
       before the re-arm on this thread: only the owner's cancel/re-arm
       covers a message that is being handled right now.) */
    mt_timer_start(t, a, t_msg_counted(T_TICK, 1), 200);
    uint64_t t0 = mt_now_ms();
    mt_timer_start(t, a, t_msg_counted(T_TICK, 2), 500);
    ck_assert(mt_timer_armed(t));
    seen_t s = recv_seen();
    ck_assert_int_eq(s.value, 2);
    ck_assert_uint_ge(s.at_ms, t0 + 500);

    /* Shorter re-arm: the first message (due later) must not come. */
    mt_timer_start(t, a, t_msg_counted(T_TICK, 3), 800);
    mt_timer_start(t, a, t_msg_counted(T_TICK, 4), 20);
    s = recv_seen();
    ck_assert_int_eq(s.value, 4);
    t_sleep_ms(1000);                                  /* past 800 ms */
    ck_assert_int_eq(flush_ticks(a), 2);
    t_assert_quiet();

    /* Many re-arms: only the last one comes. */
    for (int i = 0; i < 999; i++)
        mt_timer_start(t, a, t_msg_counted(T_TICK, 100 + i), 2000 + (uint64_t) (i * 7919 % 1000));
    mt_timer_start(t, a, t_msg_counted(T_TICK, 100 + 999), 20);
    s = recv_seen();
    ck_assert_int_eq(s.value, 100 + 999);
    t_sleep_ms(3200);                                  /* past 3000 ms */
    ck_assert_int_eq(flush_ticks(a), 3);
    ck_assert_eventually(atomic_load(&t_drops) >= 1004, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), 1004);
    mt_timer_destroy(&t);
    mt_actor_unref(&a);
}
END_TEST

/* ---- 100,000 timers ------------------------------------------------------------ */

#define NTIMERS 100000

START_TEST(many_armed_and_cancelled)
{
    mt_stats_t s0 = t_stats();
    mt_actor_t *a = spawn_rec();
    mt_timer_t **t = calloc(NTIMERS, sizeof *t);
    for (int i = 0; i < NTIMERS; i++) {
        t[i] = mt_timer_new(rt);
        ck_assert_ptr_nonnull(t[i]);
        /* Far in the future, in scrambled order (exercises the heap). */
        uint64_t d = 3600000 + (uint64_t) ((i * 7919) % NTIMERS) * 10;
        mt_timer_start(t[i], a, t_msg_counted(T_TICK, i), d);
    }
    ck_assert_uint_eq(t_stats().timers_armed, s0.timers_armed + NTIMERS);
    /* Cancel in another scrambled order (a permutation: 7 is prime to 1e5). */
    for (long k = 0; k < NTIMERS; k++) {
        long i = (k * 7 + 13) % NTIMERS;
        ck_assert(mt_timer_armed(t[i]));
        ck_assert_msg(mt_timer_cancel(t[i]), "timer %ld was not armed", i);
        ck_assert(!mt_timer_armed(t[i]));
    }
    ck_assert_uint_eq(t_stats().timers_armed, s0.timers_armed);
    ck_assert_eventually(atomic_load(&t_drops) >= NTIMERS, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), NTIMERS);
    /* Destroying armed timers frees their messages too. */
    for (int i = 0; i < NTIMERS; i++)
        mt_timer_start(t[i], a, t_msg_counted(T_TICK, i), 3600000 + (uint64_t) i);
    for (int i = 0; i < NTIMERS; i++)
        mt_timer_destroy(&t[i]);
    ck_assert_uint_eq(t_stats().timers_armed, s0.timers_armed);
    ck_assert_eventually(atomic_load(&t_drops) >= 2 * NTIMERS, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), 2 * NTIMERS);
    ck_assert_int_eq(flush_ticks(a), 0);
    free(t);
    mt_actor_unref(&a);
}
END_TEST

/*  One actor owns 100,000 timers with short delays, arms them all and, in
    the same handler, cancels the even ones: many have fired by then and
    sit in its mailbox. Only odd ticks may ever be handled. */
typedef struct {
    mt_actor_t *report;
    mt_timer_t **t;
    int64_t odd, even;
} race_state_t;

static void race_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    race_state_t *st = state;
    switch (msg->type) {
    case T_START:
        st->t = calloc(NTIMERS, sizeof *st->t);
        for (int i = 0; i < NTIMERS; i++) {
            st->t[i] = mt_timer_new(mt_actor_runtime(self));
            mt_timer_start(st->t[i], self, t_msg_counted(T_TICK, i), (uint64_t) (i % 50));
        }
        for (int i = 0; i < NTIMERS; i += 2)
            mt_timer_cancel(st->t[i]);
        break;
    case T_TICK:
        if (mt_msg_i64(msg) % 2 == 0)
            st->even++;
        else if (++st->odd == NTIMERS / 2)
            t_tell(st->report, T_MARK, 0);
        break;
    case T_FLUSH:
        t_tell(st->report, T_REPORT, st->even);
        t_tell(st->report, T_REPORT, st->odd);
        break;
    }
}

static void race_destroy(void *state)
{
    race_state_t *st = state;
    if (st->t) {
        for (int i = 0; i < NTIMERS; i++)
            mt_timer_destroy(&st->t[i]);
        free(st->t);
    }
    mt_actor_unref(&st->report);
    free(st);
}

START_TEST(many_fire_cancel_race_in_actor)
{
    race_state_t *st = calloc(1, sizeof *st);
    st->report = t_probe_ref();
    mt_actor_t *a = mt_spawn(rt, race_behaviour, st, race_destroy);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(mt_send_i64(a, T_START, 0), MT_OK);
    mt_msg_t *m = mt_probe_recv(probe, 240000);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->type, T_MARK);
    mt_msg_free(m);
    t_sleep_ms(200);                     /* every timer was due long ago */
    ck_assert_int_eq(mt_send_i64(a, T_FLUSH, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_REPORT), 0);              /* even */
    ck_assert_int_eq(t_recv_i64(T_REPORT), NTIMERS / 2);    /* odd */
    ck_assert_eventually(atomic_load(&t_drops) >= NTIMERS, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), NTIMERS);
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    mt_stop(a, 0);
    mt_msg_free(t_recv_type(MT_MSG_DOWN));
    mt_actor_unref(&a);
}
END_TEST

/* ---- mt_send_after ---------------------------------------------------------------- */

START_TEST(send_after)
{
    mt_actor_t *a = spawn_rec();
    uint64_t t0 = mt_now_ms();
    mt_send_after(a, mt_msg_new_i64(T_TICK, 150), 150);
    mt_send_after(a, mt_msg_new_i64(T_TICK, 0), 0);
    mt_send_after(t_probe_actor(), mt_msg_new_i64(T_MARK, 80), 80);
    bool got0 = false, got150 = false, gotmark = false;
    for (int k = 0; k < 3; k++) {
        mt_msg_t *m = mt_probe_recv(probe, T_WAIT);
        ck_assert_ptr_nonnull(m);
        uint64_t now = mt_now_ms();
        if (m->type == T_MARK) {
            ck_assert(!gotmark);
            gotmark = true;
            ck_assert_uint_ge(now, t0 + 80);
        } else {
            ck_assert_uint_eq(m->type, T_SEEN);
            seen_t s;
            memcpy(&s, mt_msg_data(m), sizeof s);
            if (s.value == 0) {
                ck_assert(!got0);
                got0 = true;
            } else {
                ck_assert_int_eq(s.value, 150);
                ck_assert(!got150);
                got150 = true;
                ck_assert_uint_ge(s.at_ms, t0 + 150);
            }
        }
        mt_msg_free(m);
    }
    ck_assert(got0 && got150 && gotmark);

    /* Many, random delays: all arrive, each once. */
    enum { N = 2000 };
    for (int i = 0; i < N; i++)
        mt_send_after(a, t_msg_counted(T_TICK, 1000 + i), (uint64_t) ((i * 31) % 101));
    char *seen = calloc(N, 1);
    for (int k = 0; k < N; k++) {
        seen_t s = recv_seen();
        ck_assert(s.value >= 1000 && s.value < 1000 + N);
        ck_assert(!seen[s.value - 1000]);
        seen[s.value - 1000] = 1;
    }
    free(seen);
    ck_assert_eventually(atomic_load(&t_drops) >= N, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), N);
    ck_assert_int_eq(flush_ticks(a), N + 2);
    mt_actor_unref(&a);
}
END_TEST

/*  The target stops before the timer fires: the message is dropped (and
    freed), nothing crashes. Same for mt_send_after. */
START_TEST(fire_to_stopped_actor)
{
    mt_actor_t *a = spawn_rec();
    mt_timer_t *t = mt_timer_new(rt);
    mt_timer_start(t, a, t_msg_counted(T_TICK, 1), 100);
    mt_send_after(a, t_msg_counted(T_TICK, 2), 100);
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    mt_stop(a, 0);
    mt_msg_free(t_recv_type(MT_MSG_DOWN));
    mt_stats_t s0 = t_stats();
    ck_assert_eventually(atomic_load(&t_drops) >= 2, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), 2);
    ck_assert_eventually(t_stats().msgs_dropped >= s0.msgs_dropped + 2, T_WAIT);
    ck_assert_eventually(!mt_timer_armed(t), T_WAIT);
    t_assert_quiet();
    /* Arming at a stopped actor: dropped as well. */
    mt_timer_start(t, a, t_msg_counted(T_TICK, 3), 1);
    mt_send_after(a, t_msg_counted(T_TICK, 4), 0);
    ck_assert_eventually(atomic_load(&t_drops) >= 4, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), 4);
    mt_timer_destroy(&t);
    mt_actor_unref(&a);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("core_timer");
    TCase *tc = t_tcase("timer", 60);
    tcase_add_test(tc, fires_not_before_delay);
    tcase_add_test(tc, fires_to_probe_and_reuse);
    tcase_add_test(tc, timers_armed_stat);
    tcase_add_test(tc, cancel_never_fires);
    tcase_add_test(tc, cancel_after_fire_before_handled);
    tcase_add_test(tc, rearm_after_fire_before_handled);
    tcase_add_test(tc, rearm_replaces);
    tcase_add_test(tc, send_after);
    tcase_add_test(tc, fire_to_stopped_actor);
    suite_add_tcase(s, tc);

    TCase *slow = t_tcase("many", 300);
    tcase_add_test(slow, many_armed_and_cancelled);
    tcase_add_test(slow, many_fire_cancel_race_in_actor);
    suite_add_tcase(s, slow);
    return s;
}

T_MAIN(make_suite)
