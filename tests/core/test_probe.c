/*  core_probe: mt_probe_recv (timeout → NULL, order, blocking forever),
    mt_probe_expect (skips and frees others, keeps later ones), destroy. */
#include "testutil.h"

enum { T_A = MT_MSG_USER, T_B, T_C, T_FWD };

START_TEST(recv_timeout_returns_null)
{
    uint64_t t0 = mt_now_ms();
    ck_assert_ptr_null(mt_probe_recv(probe, 100));
    ck_assert_uint_ge(mt_now_ms() - t0, 100);
    ck_assert_ptr_null(mt_probe_recv(probe, 0));       /* poll */
    ck_assert_ptr_null(mt_probe_recv(probe, 1));
}
END_TEST

START_TEST(recv_in_order)
{
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(mt_send_i64(t_probe_actor(), T_A, i), MT_OK);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(t_recv_i64(T_A), i);
    ck_assert_ptr_null(mt_probe_recv(probe, 0));
    /* (recv(0) is not promised to see a message whose mt_send just returned:
       the probe's actor must run first. So no assertion on that.) */
}
END_TEST

/*  recv(-1) waits for a message that comes later from another thread. */
START_TEST(recv_forever)
{
    uint64_t t0 = mt_now_ms();     /* before arming: the delay runs from the call */
    mt_send_after(t_probe_actor(), mt_msg_new_i64(T_C, 9), 100);
    mt_msg_t *m = mt_probe_recv(probe, -1);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->type, T_C);
    ck_assert_int_eq(mt_msg_i64(m), 9);
    ck_assert_uint_ge(mt_now_ms() - t0, 99);
    mt_msg_free(m);
}
END_TEST

START_TEST(expect_skips_and_frees)
{
    mt_actor_t *p = t_probe_actor();
    ck_assert_int_eq(mt_send(p, t_msg_counted(T_A, 1)), MT_OK);
    ck_assert_int_eq(mt_send(p, t_msg_counted(T_A, 2)), MT_OK);
    ck_assert_int_eq(mt_send(p, t_msg_counted(T_B, 3)), MT_OK);
    ck_assert_int_eq(mt_send(p, t_msg_counted(T_C, 4)), MT_OK);
    ck_assert_int_eq(mt_send(p, t_msg_counted(T_B, 5)), MT_OK);
    mt_msg_t *m = mt_probe_expect(probe, T_B, T_WAIT);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->type, T_B);
    ck_assert_int_eq(mt_msg_i64(m), 3);
    ck_assert_int_eq(atomic_load(&t_drops), 2);        /* the two T_A freed */
    mt_msg_free(m);
    /* Later messages stay queued, in order. */
    m = mt_probe_recv(probe, T_WAIT);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->type, T_C);
    ck_assert_int_eq(mt_msg_i64(m), 4);
    mt_msg_free(m);
    m = mt_probe_expect(probe, T_B, T_WAIT);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(mt_msg_i64(m), 5);
    mt_msg_free(m);
    ck_assert_int_eq(atomic_load(&t_drops), 5);
}
END_TEST

START_TEST(expect_timeout)
{
    mt_actor_t *p = t_probe_actor();
    ck_assert_int_eq(mt_send(p, t_msg_counted(T_A, 1)), MT_OK);
    uint64_t t0 = mt_now_ms();
    ck_assert_ptr_null(mt_probe_expect(probe, T_B, 150));
    ck_assert_uint_ge(mt_now_ms() - t0, 150);
    ck_assert_ptr_null(mt_probe_expect(probe, T_B, 0));
    /* A T_B arriving later, while expect waits among other messages. */
    mt_send_after(p, t_msg_counted(T_A, 2), 20);
    mt_send_after(p, t_msg_counted(T_B, 3), 80);
    mt_msg_t *m = mt_probe_expect(probe, T_B, T_WAIT);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(mt_msg_i64(m), 3);
    mt_msg_free(m);
    ck_assert_int_eq(atomic_load(&t_drops), 3);
}
END_TEST

/*  Messages from an actor; a DOWN through expect. */
static void fwd_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    mt_actor_t *to = state;
    t_tell(to, T_FWD, mt_msg_i64(msg) * 3);
}

static void unref_state(void *state)
{
    mt_actor_t *a = state;
    mt_actor_unref(&a);
}

START_TEST(from_actor_and_down)
{
    mt_actor_t *a = mt_spawn(rt, fwd_behaviour, t_probe_ref(), unref_state);
    ck_assert_ptr_nonnull(a);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(mt_send_i64(a, T_A, i), MT_OK);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(t_recv_i64(T_FWD), 3 * i);
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    ck_assert_int_eq(mt_send_i64(a, T_A, 1000), MT_OK);
    mt_stop(a, 4);
    mt_msg_t *m = mt_probe_expect(probe, MT_MSG_DOWN, T_WAIT);  /* skips T_FWD */
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(((mt_down_t *) mt_msg_data(m))->reason, 4);
    mt_msg_free(m);
    mt_actor_unref(&a);
}
END_TEST

/*  Destroying a probe frees what it still holds; its actor is stopped and a
    kept reference stays valid. */
START_TEST(destroy_frees_queued)
{
    mt_probe_t *p = mt_probe_new(rt);
    ck_assert_ptr_nonnull(p);
    mt_actor_t *pa = mt_actor_ref(mt_probe_actor(p));
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(mt_send(pa, t_msg_counted(T_A, i)), MT_OK);
    mt_probe_destroy(&p);
    ck_assert_ptr_null(p);
    ck_assert_eventually(atomic_load(&t_drops) >= 100, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), 100);
    ck_assert_eventually(!mt_actor_alive(pa), T_WAIT);
    ck_assert_int_eq(mt_send(pa, t_msg_counted(T_A, 0)), MT_ECLOSED);
    ck_assert_eventually(atomic_load(&t_drops) >= 101, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), 101);
    mt_actor_unref(&pa);
}
END_TEST

/*  Two threads feed one probe; recv sees all, per-sender in order. */
static void *feeder_main(void *arg)
{
    int64_t base = (int64_t) (intptr_t) arg;
    for (int i = 0; i < 20000; i++)
        mt_send_i64(mt_probe_actor(probe), T_A, base + i);
    return NULL;
}

START_TEST(many_threads_to_probe)
{
    pthread_t a, b;
    ck_assert_int_eq(pthread_create(&a, NULL, feeder_main, (void *) (intptr_t) 0), 0);
    ck_assert_int_eq(pthread_create(&b, NULL, feeder_main, (void *) (intptr_t) 1000000), 0);
    int64_t next0 = 0, next1 = 1000000;
    for (int k = 0; k < 40000; k++) {
        int64_t v = t_recv_i64(T_A);
        if (v < 1000000)
            ck_assert_int_eq(v, next0++);
        else
            ck_assert_int_eq(v, next1++);
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    ck_assert_ptr_null(mt_probe_recv(probe, 0));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("core_probe");
    TCase *tc = t_tcase("probe", 60);
    tcase_add_test(tc, recv_timeout_returns_null);
    tcase_add_test(tc, recv_in_order);
    tcase_add_test(tc, recv_forever);
    tcase_add_test(tc, expect_skips_and_frees);
    tcase_add_test(tc, expect_timeout);
    tcase_add_test(tc, from_actor_and_down);
    tcase_add_test(tc, destroy_frees_queued);
    tcase_add_test(tc, many_threads_to_probe);
    suite_add_tcase(s, tc);
    return s;
}

T_MAIN(make_suite)
