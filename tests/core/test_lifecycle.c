/*  core_lifecycle: spawn, stop from inside and outside, destructors (exactly
    once: on stop and on runtime destroy), inline state, mt_self, ids,
    100,000 actors spawned and stopped. */
#include "testutil.h"

enum { T_WORK = MT_MSG_USER, T_STOP_SELF, T_GATE, T_ACK, T_CHECK, T_REPORT };

typedef struct {
    atomic_int handled;          /* T_WORK handled */
    atomic_int destroyed;        /* destructor calls */
    atomic_int after_stop;       /* handled after calling mt_stop(self) */
    atomic_bool stopping;
    atomic_bool gate_open;
    atomic_bool gate_timeout;
} lc_state_t;

static void lc_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    lc_state_t *st = state;
    if (atomic_load(&st->stopping))
        atomic_fetch_add(&st->after_stop, 1);
    switch (msg->type) {
    case T_WORK:
        atomic_fetch_add(&st->handled, 1);
        break;
    case T_STOP_SELF:
        atomic_store(&st->stopping, true);
        mt_stop(self, (int) mt_msg_i64(msg));
        break;
    case T_GATE: {
        uint64_t dl = mt_now_ms() + T_WAIT;
        while (!atomic_load(&st->gate_open)) {
            if (mt_now_ms() > dl) {
                atomic_store(&st->gate_timeout, true);
                break;
            }
            t_sleep_ms(1);
        }
        break;
    }
    }
}

static void lc_destroy(void *state)
{
    lc_state_t *st = state;
    atomic_fetch_add(&st->destroyed, 1);
}

/*  Receives the DOWN for `a` on the probe and returns its reason. */
static int expect_down(mt_actor_t *a)
{
    mt_msg_t *m = t_recv_type(MT_MSG_DOWN);
    ck_assert_uint_eq(m->size, sizeof(mt_down_t));
    mt_down_t *d = mt_msg_data(m);
    ck_assert_ptr_eq(d->actor, a);
    int reason = d->reason;
    mt_msg_free(m);
    return reason;
}

START_TEST(stop_from_inside)
{
    lc_state_t *st = calloc(1, sizeof *st);
    mt_actor_t *a = mt_spawn(rt, lc_behaviour, st, lc_destroy);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);

    ck_assert_int_eq(mt_send(a, t_msg_counted(T_WORK, 0)), MT_OK);
    ck_assert_int_eq(mt_send(a, t_msg_counted(T_STOP_SELF, 7)), MT_OK);
    /* Queued behind the stop: must never be handled. Their sends may
       succeed (queued, dropped later) or fail with MT_ECLOSED. */
    for (int i = 0; i < 5; i++) {
        int rc = mt_send(a, t_msg_counted(T_WORK, 0));
        ck_assert(rc == MT_OK || rc == MT_ECLOSED);
    }
    ck_assert_int_eq(expect_down(a), 7);
    ck_assert_eventually(atomic_load(&st->destroyed) >= 1, T_WAIT);
    ck_assert_int_eq(atomic_load(&st->destroyed), 1);
    ck_assert_eventually(!mt_actor_alive(a), T_WAIT);
    ck_assert_eventually(atomic_load(&t_drops) >= 7, T_WAIT);   /* all freed */
    ck_assert_int_eq(atomic_load(&t_drops), 7);

    mt_stop(a, 1);                       /* stopping again is a no-op */
    ck_assert_int_eq(mt_send(a, t_msg_counted(T_WORK, 0)), MT_ECLOSED);
    t_sleep_ms(T_QUIET);
    ck_assert_int_eq(atomic_load(&st->handled), 1);
    ck_assert_int_eq(atomic_load(&st->after_stop), 0);
    ck_assert_int_eq(atomic_load(&st->destroyed), 1);
    t_assert_quiet();                    /* no second DOWN */

    mt_actor_unref(&a);
    t_destroy_runtime();
    ck_assert_int_eq(atomic_load(&st->destroyed), 1);
    ck_assert_int_eq(atomic_load(&t_drops), 8);
    free(st);
}
END_TEST

START_TEST(stop_from_outside_is_queued)
{
    lc_state_t *st = calloc(1, sizeof *st);
    mt_actor_t *a = mt_spawn(rt, lc_behaviour, st, lc_destroy);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);

    /* Block the actor so everything below is really queued. */
    ck_assert_int_eq(mt_send(a, t_msg_counted(T_GATE, 0)), MT_OK);
    for (int i = 0; i < 99; i++)
        ck_assert_int_eq(mt_send(a, t_msg_counted(T_WORK, i)), MT_OK);
    mt_stop(a, 3);
    mt_stop(a, 4);                       /* a second stop changes nothing */
    for (int i = 0; i < 5; i++) {
        int rc = mt_send(a, t_msg_counted(T_WORK, 0));
        ck_assert(rc == MT_OK || rc == MT_ECLOSED);
    }
    atomic_store(&st->gate_open, true);

    ck_assert_int_eq(expect_down(a), 3);
    ck_assert_eventually(atomic_load(&st->destroyed) >= 1, T_WAIT);
    ck_assert_int_eq(atomic_load(&st->destroyed), 1);
    ck_assert_eventually(atomic_load(&t_drops) >= 105, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), 105);
    ck_assert(!atomic_load(&st->gate_timeout));
    ck_assert_int_eq(atomic_load(&st->handled), 99);   /* all sent before stop */
    t_sleep_ms(T_QUIET);
    ck_assert_int_eq(atomic_load(&st->handled), 99);   /* none sent after */
    ck_assert_int_eq(atomic_load(&st->destroyed), 1);
    t_assert_quiet();

    mt_actor_unref(&a);
    t_destroy_runtime();
    ck_assert_int_eq(atomic_load(&st->destroyed), 1);
    free(st);
}
END_TEST

/*  Destructors run exactly once, whether the actor was stopped before the
    runtime was destroyed or by the destroy itself; pinned ones too. */
START_TEST(destructor_once_on_runtime_destroy)
{
    enum { N = 24 };
    lc_state_t *st = calloc(N, sizeof *st);
    mt_actor_t *a[N];
    for (int i = 0; i < N; i++) {
        mt_spawn_opts_t o = { .behaviour = lc_behaviour, .state = &st[i],
                              .destroy = lc_destroy, .pinned = (i % 6 == 0) };
        a[i] = mt_spawn_opts(rt, &o);
        ck_assert_ptr_nonnull(a[i]);
        for (int k = 0; k < 10; k++)
            ck_assert_int_eq(mt_send_i64(a[i], T_WORK, k), MT_OK);
    }
    for (int i = 0; i < N; i += 2) {     /* stop half of them first */
        ck_assert_int_eq(mt_monitor(t_probe_actor(), a[i]), MT_OK);
        mt_stop(a[i], 0);
    }
    for (int i = 0; i < N; i += 2) {
        mt_msg_t *m = t_recv_type(MT_MSG_DOWN);
        mt_msg_free(m);
    }
    for (int i = 0; i < N; i += 2) {
        ck_assert_eventually(atomic_load(&st[i].destroyed) >= 1, T_WAIT);
        ck_assert_int_eq(atomic_load(&st[i].destroyed), 1);
        ck_assert_int_eq(atomic_load(&st[i].handled), 10);
    }
    for (int i = 1; i < N; i += 2)
        ck_assert_int_eq(atomic_load(&st[i].destroyed), 0);
    for (int i = 0; i < N; i++)
        mt_actor_unref(&a[i]);

    t_destroy_runtime();
    for (int i = 0; i < N; i++)
        ck_assert_msg(atomic_load(&st[i].destroyed) == 1, "actor %d destroyed %d times",
                      i, atomic_load(&st[i].destroyed));
    free(st);
}
END_TEST

/* ---- inline state (state_size) ----------------------------------------- */

#define INLINE_SIZE 256
static void *_Atomic inline_seen;        /* state pointer seen by the behaviour */
static atomic_int inline_destroyed, inline_destroy_ok;

static void inline_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    unsigned char *p = state;
    if (msg->type == T_CHECK) {
        int64_t zero = 1;
        for (int i = 0; i < INLINE_SIZE; i++)
            if (p[i] != 0)
                zero = 0;
        memset(p, 0xAB, INLINE_SIZE);
        atomic_store(&inline_seen, state);
        t_tell(t_probe_actor(), T_ACK, zero);
    } else if (msg->type == T_WORK) {
        int64_t ok = state == atomic_load(&inline_seen);
        for (int i = 0; ok && i < INLINE_SIZE; i++)
            if (p[i] != 0xAB)
                ok = 0;
        t_tell(t_probe_actor(), T_ACK, ok);
    }
}

static void inline_destroy(void *state)
{
    const unsigned char *p = state;
    int ok = state == atomic_load(&inline_seen);
    for (int i = 0; ok && i < INLINE_SIZE; i++)
        if (p[i] != 0xAB)
            ok = 0;
    if (ok)
        atomic_fetch_add(&inline_destroy_ok, 1);
    atomic_fetch_add(&inline_destroyed, 1);
}

START_TEST(inline_state)
{
    atomic_store(&inline_seen, NULL);
    atomic_store(&inline_destroyed, 0);
    atomic_store(&inline_destroy_ok, 0);
    mt_spawn_opts_t o = { .behaviour = inline_behaviour, .state_size = INLINE_SIZE,
                          .destroy = inline_destroy };
    mt_actor_t *a = mt_spawn_opts(rt, &o);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(mt_send_i64(a, T_CHECK, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_ACK), 1);          /* zeroed */
    ck_assert_int_eq(mt_send_i64(a, T_WORK, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_ACK), 1);          /* same, kept */
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    mt_stop(a, 0);
    ck_assert_int_eq(expect_down(a), 0);
    ck_assert_eventually(atomic_load(&inline_destroyed) >= 1, T_WAIT);
    ck_assert_int_eq(atomic_load(&inline_destroyed), 1);
    ck_assert_int_eq(atomic_load(&inline_destroy_ok), 1);
    mt_actor_unref(&a);

    /* And on runtime destroy. */
    atomic_store(&inline_seen, NULL);
    a = mt_spawn_opts(rt, &o);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(mt_send_i64(a, T_CHECK, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_ACK), 1);
    mt_actor_unref(&a);
    t_destroy_runtime();
    ck_assert_int_eq(atomic_load(&inline_destroyed), 2);
    ck_assert_int_eq(atomic_load(&inline_destroy_ok), 2);
}
END_TEST

/* ---- init hook, and who owns the state when spawn fails ------------------ */

typedef struct { int64_t a, b; } init_state_t;
static atomic_int init_calls, init_destroys, init_destroy_ok;

static void init_fn(void *state, void *arg)
{
    init_state_t *st = state;
    int64_t v = *(const int64_t *) arg;
    /* Inline state arrives zeroed. */
    st->a = st->a == 0 && st->b == 0 ? v : -1;
    st->b = 2 * v;
    atomic_fetch_add(&init_calls, 1);
}

static void init_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    init_state_t *st = state;
    t_tell(t_probe_actor(), T_ACK, st->a + st->b);
}

static void init_destroy(void *state)
{
    init_state_t *st = state;
    if (st->a > 0 && st->b == 2 * st->a)
        atomic_fetch_add(&init_destroy_ok, 1);
    atomic_fetch_add(&init_destroys, 1);
}

START_TEST(init_hook)
{
    atomic_store(&init_calls, 0);
    atomic_store(&init_destroys, 0);
    atomic_store(&init_destroy_ok, 0);
    int64_t v = 21;
    mt_spawn_opts_t o = { .behaviour = init_behaviour, .state_size = sizeof(init_state_t),
                          .init = init_fn, .init_arg = &v, .destroy = init_destroy };
    mt_actor_t *a = mt_spawn_opts(rt, &o);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(atomic_load(&init_calls), 1);       /* before spawn returns */
    ck_assert_int_eq(mt_send_i64(a, T_WORK, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_ACK), 63);
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    mt_stop(a, 0);
    ck_assert_int_eq(expect_down(a), 0);
    ck_assert_eventually(atomic_load(&init_destroys) >= 1, T_WAIT);
    ck_assert_int_eq(atomic_load(&init_destroys), 1);
    ck_assert_int_eq(atomic_load(&init_destroy_ok), 1);
    ck_assert_int_eq(atomic_load(&init_calls), 1);
    mt_actor_unref(&a);
}
END_TEST

/*  A spawn that fails (name taken): with `init` the state was the runtime's
    and its destructor runs (once); without, the caller keeps its state and
    the destructor does not run. Nothing is left alive either way. */
START_TEST(spawn_failure_ownership)
{
    atomic_store(&init_calls, 0);
    atomic_store(&init_destroys, 0);
    atomic_store(&init_destroy_ok, 0);
    mt_actor_t *holder = mt_spawn(rt, init_behaviour, NULL, NULL);
    ck_assert_ptr_nonnull(holder);
    ck_assert_int_eq(mt_register(rt, "taken", holder), MT_OK);
    mt_stats_t s0 = t_stats();

    int64_t v = 5;
    mt_spawn_opts_t o = { .behaviour = init_behaviour, .state_size = sizeof(init_state_t),
                          .init = init_fn, .init_arg = &v, .destroy = init_destroy,
                          .name = "taken" };
    ck_assert_ptr_null(mt_spawn_opts(rt, &o));
    /* The destructor ran exactly when init did. */
    ck_assert_int_eq(atomic_load(&init_destroys), atomic_load(&init_calls));
    ck_assert_int_le(atomic_load(&init_calls), 1);
    ck_assert_int_eq(atomic_load(&init_destroy_ok), atomic_load(&init_calls));

    lc_state_t *st = calloc(1, sizeof *st);
    mt_spawn_opts_t o2 = { .behaviour = lc_behaviour, .state = st, .destroy = lc_destroy,
                           .name = "taken" };
    ck_assert_ptr_null(mt_spawn_opts(rt, &o2));
    ck_assert_int_eq(atomic_load(&st->destroyed), 0);    /* still ours */
    o2.pinned = true;
    ck_assert_ptr_null(mt_spawn_opts(rt, &o2));
    ck_assert_int_eq(atomic_load(&st->destroyed), 0);

    ck_assert_uint_eq(t_stats().actors_alive, s0.actors_alive);
    mt_actor_t *l = mt_lookup(rt, "taken");
    ck_assert_ptr_eq(l, holder);
    mt_actor_unref(&l);
    mt_actor_unref(&holder);
    t_destroy_runtime();
    ck_assert_int_eq(atomic_load(&st->destroyed), 0);
    free(st);
}
END_TEST

/* ---- mt_self, ids --------------------------------------------------------- */

static void self_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    mt_actor_t *me = state;          /* set by the test: NULL = not yet */
    int64_t ok = mt_self() == self && (me == NULL || me == self)
                 && mt_actor_runtime(self) == mt_actor_runtime(t_probe_actor())
                 && mt_actor_alive(self);
    t_tell(t_probe_actor(), T_ACK, ok);
}

START_TEST(self_and_ids)
{
    ck_assert_ptr_null(mt_self());
    mt_actor_t *a = mt_spawn(rt, self_behaviour, NULL, NULL);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(mt_actor_runtime(a), rt);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(mt_send_i64(a, T_WORK, i), MT_OK);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(t_recv_i64(T_ACK), 1);
    ck_assert_ptr_null(mt_self());
    mt_actor_unref(&a);

    enum { N = 1000 };
    mt_actor_t **v = calloc(N, sizeof *v);
    uint64_t *ids = calloc(N, sizeof *ids);
    for (int i = 0; i < N; i++) {
        v[i] = mt_spawn(rt, self_behaviour, NULL, NULL);
        ck_assert_ptr_nonnull(v[i]);
        ids[i] = mt_actor_id(v[i]);
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            ck_assert_msg(ids[i] != ids[j], "actors %d and %d share id %llu", i, j,
                          (unsigned long long) ids[i]);
    for (int i = 0; i < N; i++) {
        mt_stop(v[i], 0);
        ck_assert_uint_eq(mt_actor_id(v[i]), ids[i]);
        mt_actor_unref(&v[i]);
    }
    free(v);
    free(ids);
}
END_TEST

/* ---- 100,000 actors --------------------------------------------------------- */

#define MANY 100000
static atomic_long many_destroyed, many_handled;

static void many_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    atomic_fetch_add(&many_handled, 1);
    *(int64_t *) state += mt_msg_i64(msg);
}

static void many_destroy(void *state)
{
    atomic_fetch_add(&many_destroyed, 1);
}

START_TEST(hundred_thousand_actors)
{
    atomic_store(&many_destroyed, 0);
    atomic_store(&many_handled, 0);
    mt_stats_t s0 = t_stats();
    mt_actor_t **v = calloc(MANY, sizeof *v);
    mt_spawn_opts_t o = { .behaviour = many_behaviour, .state_size = sizeof(int64_t),
                          .destroy = many_destroy };
    for (int i = 0; i < MANY; i++) {
        v[i] = mt_spawn_opts(rt, &o);
        ck_assert_msg(v[i] != NULL, "spawn %d failed", i);
        if (i % 2 == 0)
            ck_assert_int_eq(mt_send_i64(v[i], T_WORK, i), MT_OK);
    }
    mt_stats_t s1 = t_stats();
    ck_assert_uint_eq(s1.actors_alive, s0.actors_alive + MANY);
    ck_assert_uint_eq(s1.actors_spawned, s0.actors_spawned + MANY);

    for (int i = 0; i < MANY; i++) {
        mt_stop(v[i], 0);
        mt_actor_unref(&v[i]);
    }
    ck_assert_eventually(atomic_load(&many_destroyed) >= MANY, 240000);
    ck_assert_int_eq(atomic_load(&many_destroyed), MANY);
    ck_assert_eventually(t_stats().actors_alive == s0.actors_alive, T_WAIT);
    ck_assert_int_eq(atomic_load(&many_handled), MANY / 2);  /* stop is queued */

    /* Spawn-stop churn: never more than a few alive at once. */
    for (int i = 0; i < MANY; i++) {
        mt_actor_t *a = mt_spawn_opts(rt, &o);
        ck_assert_ptr_nonnull(a);
        ck_assert_int_eq(mt_send_i64(a, T_WORK, 1), MT_OK);
        mt_stop(a, 0);
        mt_actor_unref(&a);
    }
    ck_assert_eventually(atomic_load(&many_destroyed) >= 2 * MANY, 240000);
    ck_assert_int_eq(atomic_load(&many_destroyed), 2 * MANY);
    ck_assert_eventually(t_stats().actors_alive == s0.actors_alive, T_WAIT);
    ck_assert_int_eq(atomic_load(&many_handled), MANY / 2 + MANY);
    mt_stats_t s2 = t_stats();
    ck_assert_uint_eq(s2.actors_spawned, s0.actors_spawned + 2 * MANY);
    free(v);
    /* Leaks, if any, are reported by LSan when this test's process exits. */
}
END_TEST

/*  Churn from several threads: spawn, send, stop from outside, drop the
    only reference at once. The actor's last turn and its terminate may run
    on different workers while nobody but the runtime holds it: whatever
    touches the actor after its terminate freed it is a use-after-free
    (TSan reports the race, ASan the access when it hits). */
static void *churn_main(void *arg)
{
    const mt_spawn_opts_t *o = arg;
    for (int i = 0; i < 20000; i++) {
        mt_actor_t *a = mt_spawn_opts(rt, o);
        if (!a)
            return (void *) 1;
        mt_send_i64(a, T_WORK, 1);
        mt_send_i64(a, T_WORK, 1);
        mt_stop(a, 0);
        mt_actor_unref(&a);
    }
    return NULL;
}

START_TEST(churn_spawn_send_stop_unref)
{
    enum { NT = 4 };
    atomic_store(&many_destroyed, 0);
    atomic_store(&many_handled, 0);
    mt_stats_t s0 = t_stats();
    mt_spawn_opts_t o = { .behaviour = many_behaviour, .state_size = sizeof(int64_t),
                          .destroy = many_destroy };
    pthread_t th[NT];
    for (int i = 0; i < NT; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, churn_main, &o), 0);
    for (int i = 0; i < NT; i++) {
        void *r;
        pthread_join(th[i], &r);
        ck_assert_ptr_null(r);
    }
    ck_assert_eventually(atomic_load(&many_destroyed) >= NT * 20000, 240000);
    ck_assert_int_eq(atomic_load(&many_destroyed), NT * 20000);
    ck_assert_eventually(t_stats().actors_alive == s0.actors_alive, T_WAIT);
    ck_assert_int_eq(atomic_load(&many_handled), NT * 20000 * 2);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("core_lifecycle");
    TCase *tc = t_tcase("lifecycle", 60);
    tcase_add_test(tc, stop_from_inside);
    tcase_add_test(tc, stop_from_outside_is_queued);
    tcase_add_test(tc, destructor_once_on_runtime_destroy);
    tcase_add_test(tc, inline_state);
    tcase_add_test(tc, init_hook);
    tcase_add_test(tc, spawn_failure_ownership);
    tcase_add_test(tc, self_and_ids);
    suite_add_tcase(s, tc);

    TCase *slow = t_tcase("many", 600);
    tcase_add_test(slow, hundred_thousand_actors);
    tcase_add_test(slow, churn_spawn_send_stop_unref);
    suite_add_tcase(s, slow);
    return s;
}

T_MAIN(make_suite)
