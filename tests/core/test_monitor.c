/*  core_monitor: MT_MSG_DOWN with the right actor and reason, DOWN at once
    for an already-stopped target, demonitor, several monitors, an actor as
    watcher of many targets. */
#include "testutil.h"

enum { T_WORK = MT_MSG_USER, T_STOP_SELF, T_REPORT };

static void target_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    if (msg->type == T_STOP_SELF)
        mt_stop(self, (int) mt_msg_i64(msg));
}

static mt_actor_t *spawn_target(void)
{
    mt_actor_t *a = mt_spawn(rt, target_behaviour, NULL, NULL);
    ck_assert_ptr_nonnull(a);
    return a;
}

/*  Next message on probe `p` must be a DOWN for `a` with `reason`. */
static void expect_down_on(mt_probe_t *p, mt_actor_t *a, int reason)
{
    mt_msg_t *m = mt_probe_recv(p, T_WAIT);
    ck_assert_msg(m != NULL, "no DOWN");
    ck_assert_uint_eq(m->type, MT_MSG_DOWN);
    ck_assert_uint_eq(m->size, sizeof(mt_down_t));
    mt_down_t *d = mt_msg_data(m);
    ck_assert_ptr_eq(d->actor, a);
    ck_assert_int_eq(d->reason, reason);
    mt_msg_free(m);                      /* releases d->actor */
}

static void expect_down(mt_actor_t *a, int reason) { expect_down_on(probe, a, reason); }

START_TEST(down_on_stop_from_outside)
{
    mt_actor_t *a = spawn_target();
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    t_assert_quiet();                    /* nothing while it lives */
    mt_stop(a, 42);
    expect_down(a, 42);
    t_assert_quiet();
    mt_actor_unref(&a);
}
END_TEST

START_TEST(down_on_stop_from_inside)
{
    mt_actor_t *a = spawn_target();
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    ck_assert_int_eq(mt_send_i64(a, T_STOP_SELF, -9), MT_OK);
    expect_down(a, -9);
    t_assert_quiet();
    mt_actor_unref(&a);
}
END_TEST

/*  The DOWN message owns its reference: the target can be unreferenced by
    everyone else and the DOWN's actor pointer stays valid. */
START_TEST(down_holds_a_reference)
{
    mt_actor_t *a = spawn_target();
    uint64_t id = mt_actor_id(a);
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    mt_stop(a, 5);
    mt_actor_unref(&a);
    mt_msg_t *m = t_recv_type(MT_MSG_DOWN);
    mt_down_t *d = mt_msg_data(m);
    ck_assert_uint_eq(mt_actor_id(d->actor), id);
    ck_assert_eventually(!mt_actor_alive(d->actor), T_WAIT);
    ck_assert_int_eq(d->reason, 5);
    mt_msg_free(m);
}
END_TEST

START_TEST(monitor_stopped_actor_down_at_once)
{
    mt_actor_t *a = spawn_target();
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    mt_stop(a, 17);
    expect_down(a, 17);
    ck_assert_eventually(!mt_actor_alive(a), T_WAIT);
    /* Monitoring the dead actor: DOWN right away (without any stop). */
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    mt_msg_t *m = t_recv_type(MT_MSG_DOWN);
    mt_down_t *d = mt_msg_data(m);
    ck_assert_ptr_eq(d->actor, a);
    mt_msg_free(m);
    /* Every call adds one. */
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    mt_msg_free(t_recv_type(MT_MSG_DOWN));
    mt_msg_free(t_recv_type(MT_MSG_DOWN));
    t_assert_quiet();
    mt_actor_unref(&a);
}
END_TEST

/*  The reason of a DOWN for an already-stopped actor is its stop reason. */
START_TEST(monitor_stopped_actor_reason)
{
    mt_actor_t *a = spawn_target();
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    mt_stop(a, 17);
    expect_down(a, 17);
    ck_assert_eventually(!mt_actor_alive(a), T_WAIT);
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    expect_down(a, 17);
    mt_actor_unref(&a);
}
END_TEST

START_TEST(demonitor_prevents_down)
{
    mt_probe_t *other = mt_probe_new(rt);
    ck_assert_ptr_nonnull(other);
    mt_actor_t *a = spawn_target();
    ck_assert_int_eq(mt_demonitor(t_probe_actor(), a), MT_ENOENT);   /* none yet */
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    ck_assert_int_eq(mt_demonitor(t_probe_actor(), a), MT_OK);
    ck_assert_int_eq(mt_demonitor(t_probe_actor(), a), MT_ENOENT);   /* gone */
    /* `other` sees the stop, so we know it happened. */
    ck_assert_int_eq(mt_monitor(mt_probe_actor(other), a), MT_OK);
    mt_stop(a, 1);
    expect_down_on(other, a, 1);
    t_assert_quiet();                    /* the demonitored watcher: nothing */
    mt_probe_destroy(&other);
    mt_actor_unref(&a);
}
END_TEST

/*  Two monitors, one demonitor: exactly one DOWN. */
START_TEST(monitors_count)
{
    mt_actor_t *a = spawn_target();
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    ck_assert_int_eq(mt_demonitor(t_probe_actor(), a), MT_OK);
    mt_stop(a, 3);
    expect_down(a, 3);
    expect_down(a, 3);
    t_assert_quiet();
    mt_actor_unref(&a);
}
END_TEST

/*  A watcher that stopped before its target: the DOWN is dropped quietly. */
START_TEST(watcher_stopped_first)
{
    mt_actor_t *w = spawn_target();
    mt_actor_t *a = spawn_target();
    ck_assert_int_eq(mt_monitor(w, a), MT_OK);
    ck_assert_int_eq(mt_monitor(t_probe_actor(), w), MT_OK);
    mt_stop(w, 0);
    expect_down(w, 0);
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    mt_stop(a, 0);
    expect_down(a, 0);
    t_assert_quiet();
    mt_actor_unref(&w);
    mt_actor_unref(&a);
}
END_TEST

/*  An actor watches 200 targets that stop with reason 1000+i (half from
    outside, half from inside); it checks each DOWN against its table. */
#define NT 200
typedef struct {
    mt_actor_t *report;
    mt_actor_t *targets[NT];
    int seen[NT];
    int errors, downs;
} watcher_state_t;

static void watcher_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    watcher_state_t *st = state;
    if (msg->type != MT_MSG_DOWN || msg->size != sizeof(mt_down_t)) {
        st->errors++;
        return;
    }
    mt_down_t *d = mt_msg_data(msg);
    int i = 0;
    while (i < NT && st->targets[i] != d->actor)
        i++;
    if (i == NT || st->seen[i]++ || d->reason != 1000 + i)
        st->errors++;
    if (++st->downs == NT)
        t_tell(st->report, T_REPORT, st->errors);
}

static void watcher_destroy(void *state)
{
    watcher_state_t *st = state;
    for (int i = 0; i < NT; i++)
        mt_actor_unref(&st->targets[i]);
    mt_actor_unref(&st->report);
    free(st);
}

START_TEST(actor_watches_many)
{
    watcher_state_t *st = calloc(1, sizeof *st);
    st->report = t_probe_ref();
    mt_actor_t *t[NT];
    for (int i = 0; i < NT; i++) {
        t[i] = spawn_target();
        st->targets[i] = mt_actor_ref(t[i]);
    }
    mt_actor_t *w = mt_spawn(rt, watcher_behaviour, st, watcher_destroy);
    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < NT; i++)
        ck_assert_int_eq(mt_monitor(w, t[i]), MT_OK);
    for (int i = 0; i < NT; i++) {
        if (i % 2)
            mt_stop(t[i], 1000 + i);
        else
            ck_assert_int_eq(mt_send_i64(t[i], T_STOP_SELF, 1000 + i), MT_OK);
        mt_actor_unref(&t[i]);
    }
    ck_assert_int_eq(t_recv_i64(T_REPORT), 0);
    t_assert_quiet();
    mt_actor_unref(&w);
}
END_TEST

/*  Stopping the watcher and the target at the same time from different
    threads: no crash, no leak (sanitizers). */
static void *stop_thread(void *arg)
{
    mt_stop(arg, 0);
    return NULL;
}

START_TEST(concurrent_stop_watcher_and_target)
{
    for (int round = 0; round < 200; round++) {
        mt_actor_t *w = spawn_target();
        mt_actor_t *a = spawn_target();
        ck_assert_int_eq(mt_monitor(w, a), MT_OK);
        ck_assert_int_eq(mt_monitor(a, w), MT_OK);
        pthread_t th;
        ck_assert_int_eq(pthread_create(&th, NULL, stop_thread, w), 0);
        mt_stop(a, 0);
        pthread_join(th, NULL);
        ck_assert_eventually(!mt_actor_alive(a) && !mt_actor_alive(w), T_WAIT);
        mt_actor_unref(&w);
        mt_actor_unref(&a);
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("core_monitor");
    TCase *tc = t_tcase("monitor", 60);
    tcase_add_test(tc, down_on_stop_from_outside);
    tcase_add_test(tc, down_on_stop_from_inside);
    tcase_add_test(tc, down_holds_a_reference);
    tcase_add_test(tc, monitor_stopped_actor_down_at_once);
    tcase_add_test(tc, monitor_stopped_actor_reason);
    tcase_add_test(tc, demonitor_prevents_down);
    tcase_add_test(tc, monitors_count);
    tcase_add_test(tc, watcher_stopped_first);
    tcase_add_test(tc, actor_watches_many);
    tcase_add_test(tc, concurrent_stop_watcher_and_target);
    suite_add_tcase(s, tc);
    return s;
}

T_MAIN(make_suite)
