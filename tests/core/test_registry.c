/*  core_registry: register, lookup, duplicates, auto-unregister on stop
    (spawn-time names and mt_register names), unregister, races. */
#include "testutil.h"

enum { T_WORK = MT_MSG_USER, T_ACK };

static void echo_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    mt_actor_t *report = state;
    if (report)
        t_tell(report, T_ACK, mt_msg_i64(msg));
}

static void unref_state(void *state)
{
    mt_actor_t *a = state;
    mt_actor_unref(&a);
}

/*  echo: acks every message to the probe. A spawn that fails (name taken)
    is done without state, so it is clear who frees what. */
static mt_actor_t *spawn_named(const char *name, bool echo)
{
    mt_spawn_opts_t o = { .behaviour = echo_behaviour, .name = name };
    if (echo) {
        o.state = t_probe_ref();
        o.destroy = unref_state;
    }
    return mt_spawn_opts(rt, &o);
}

static mt_actor_t *spawn_plain(void)
{
    mt_actor_t *a = mt_spawn(rt, echo_behaviour, NULL, NULL);
    ck_assert_ptr_nonnull(a);
    return a;
}

static void stop_and_wait(mt_actor_t *a)
{
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    mt_stop(a, 0);
    mt_msg_t *m = mt_probe_expect(probe, MT_MSG_DOWN, T_WAIT);
    ck_assert_ptr_nonnull(m);
    mt_msg_free(m);
}

/*  mt_lookup(name) is `want` (NULL: no such name); releases the new ref. */
static bool lookup_is(const char *name, mt_actor_t *want)
{
    mt_actor_t *got = mt_lookup(rt, name);
    bool ok = got == want;
    if (got)
        mt_actor_unref(&got);
    return ok;
}

START_TEST(register_lookup_unregister)
{
    mt_actor_t *a = spawn_plain();
    ck_assert_ptr_null(mt_lookup(rt, "alpha"));
    ck_assert_int_eq(mt_register(rt, "alpha", a), MT_OK);
    mt_actor_t *l = mt_lookup(rt, "alpha");
    ck_assert_ptr_eq(l, a);
    mt_actor_t *b = spawn_plain();
    ck_assert_int_eq(mt_register(rt, "alpha", b), MT_EEXIST);
    ck_assert_int_eq(mt_register(rt, "alpha", a), MT_EEXIST);
    ck_assert(lookup_is("alpha", a));
    ck_assert(lookup_is("alph", NULL));
    ck_assert(lookup_is("alpha2", NULL));
    ck_assert(lookup_is("", NULL));

    ck_assert_int_eq(mt_unregister(rt, "alpha"), MT_OK);
    ck_assert(lookup_is("alpha", NULL));
    ck_assert_int_eq(mt_unregister(rt, "alpha"), MT_ENOENT);
    ck_assert_int_eq(mt_unregister(rt, "never"), MT_ENOENT);
    ck_assert(mt_actor_alive(a));        /* unregister does not stop */
    ck_assert_int_eq(mt_register(rt, "alpha", b), MT_OK);
    ck_assert(lookup_is("alpha", b));

    /* The lookup's reference is a real one: it survives ours. */
    uint64_t id = mt_actor_id(a);
    mt_actor_unref(&a);
    ck_assert_uint_eq(mt_actor_id(l), id);
    ck_assert(mt_actor_alive(l));
    mt_actor_unref(&l);
    mt_actor_unref(&b);
}
END_TEST

/*  The registry copies the name. */
START_TEST(name_is_copied)
{
    char buf[32];
    strcpy(buf, "copied");
    mt_actor_t *a = spawn_plain();
    ck_assert_int_eq(mt_register(rt, buf, a), MT_OK);
    strcpy(buf, "changed");
    ck_assert(lookup_is("copied", a));
    ck_assert(lookup_is("changed", NULL));

    char name[32];
    strcpy(name, "spawned");
    mt_actor_t *s = spawn_named(name, false);
    ck_assert_ptr_nonnull(s);
    memset(name, 'x', sizeof name - 1);
    ck_assert(lookup_is("spawned", s));
    mt_actor_unref(&a);
    mt_actor_unref(&s);
}
END_TEST

START_TEST(spawn_with_name)
{
    mt_actor_t *a = spawn_named("svc", true);
    ck_assert_ptr_nonnull(a);
    ck_assert(lookup_is("svc", a));
    mt_stats_t s0 = t_stats();
    mt_actor_t *dup = spawn_named("svc", false);            /* name taken */
    ck_assert_ptr_null(dup);
    ck_assert_uint_eq(t_stats().actors_alive, s0.actors_alive);
    ck_assert(lookup_is("svc", a));

    /* Messages through a looked-up reference reach it. */
    mt_actor_t *l = mt_lookup(rt, "svc");
    ck_assert_int_eq(mt_send_i64(l, T_WORK, 77), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_ACK), 77);
    mt_actor_unref(&l);
    mt_actor_unref(&a);
}
END_TEST

START_TEST(auto_unregister_on_stop)
{
    mt_actor_t *a = spawn_named("auto1", false);         /* spawn-time name */
    mt_actor_t *b = spawn_plain();
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(mt_register(rt, "auto2", b), MT_OK);   /* mt_register name */
    mt_actor_t *held = mt_lookup(rt, "auto1");

    stop_and_wait(a);
    ck_assert_eventually(lookup_is("auto1", NULL), T_WAIT);
    stop_and_wait(b);
    ck_assert_eventually(lookup_is("auto2", NULL), T_WAIT);
    ck_assert_int_eq(mt_unregister(rt, "auto1"), MT_ENOENT);

    /* The names are free again. */
    mt_actor_t *c = spawn_named("auto1", false);
    ck_assert_ptr_nonnull(c);
    ck_assert(lookup_is("auto1", c));
    ck_assert_int_eq(mt_register(rt, "auto2", c), MT_OK);
    ck_assert(lookup_is("auto2", c));

    /* A reference from a lookup stays valid after the stop. */
    ck_assert(!mt_actor_alive(held));
    ck_assert_int_eq(mt_send_i64(held, T_WORK, 1), MT_ECLOSED);
    mt_actor_unref(&held);
    mt_actor_unref(&a);
    mt_actor_unref(&b);
    mt_actor_unref(&c);
}
END_TEST

/*  An actor whose name was unregistered and taken by another must not
    remove the new owner's name when it stops. */
START_TEST(stop_does_not_unregister_new_owner)
{
    mt_actor_t *a = spawn_named("shared", false);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(mt_unregister(rt, "shared"), MT_OK);
    mt_actor_t *b = spawn_plain();
    ck_assert_int_eq(mt_register(rt, "shared", b), MT_OK);
    stop_and_wait(a);
    t_sleep_ms(T_QUIET);
    ck_assert(lookup_is("shared", b));

    mt_actor_t *c = spawn_plain();
    ck_assert_int_eq(mt_register(rt, "other", c), MT_OK);
    ck_assert_int_eq(mt_unregister(rt, "other"), MT_OK);
    mt_actor_t *d = spawn_plain();
    ck_assert_int_eq(mt_register(rt, "other", d), MT_OK);
    stop_and_wait(c);
    t_sleep_ms(T_QUIET);
    ck_assert(lookup_is("other", d));

    mt_actor_unref(&a);
    mt_actor_unref(&b);
    mt_actor_unref(&c);
    mt_actor_unref(&d);
}
END_TEST

START_TEST(many_names)
{
    enum { N = 10000 };
    mt_actor_t **v = calloc(N, sizeof *v);
    char name[32];
    for (int i = 0; i < N; i++) {
        v[i] = spawn_plain();
        snprintf(name, sizeof name, "actor-%d", i);
        ck_assert_int_eq(mt_register(rt, name, v[i]), MT_OK);
    }
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "actor-%d", i);
        ck_assert(lookup_is(name, v[i]));
    }
    for (int i = 0; i < N; i++) {
        if (i % 2) {
            snprintf(name, sizeof name, "actor-%d", i);
            ck_assert_int_eq(mt_unregister(rt, name), MT_OK);
        }
        mt_stop(v[i], 0);
    }
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "actor-%d", i);
        ck_assert_eventually(lookup_is(name, NULL), T_WAIT);
        mt_actor_unref(&v[i]);
    }
    free(v);
}
END_TEST

/*  8 threads register 8 actors under one name at once: exactly one wins. */
typedef struct { mt_actor_t *a; pthread_barrier_t *start; int rc; } reg_arg_t;

static void *register_main(void *arg)
{
    reg_arg_t *r = arg;
    pthread_barrier_wait(r->start);
    r->rc = mt_register(rt, "race", r->a);
    return NULL;
}

START_TEST(register_race)
{
    enum { NT = 8 };
    for (int round = 0; round < 50; round++) {
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, NT);
        pthread_t th[NT];
        reg_arg_t r[NT];
        for (int i = 0; i < NT; i++) {
            r[i] = (reg_arg_t) { spawn_plain(), &start, -1 };
            ck_assert_int_eq(pthread_create(&th[i], NULL, register_main, &r[i]), 0);
        }
        int winner = -1;
        for (int i = 0; i < NT; i++) {
            pthread_join(th[i], NULL);
            if (r[i].rc == MT_OK) {
                ck_assert_int_eq(winner, -1);
                winner = i;
            } else {
                ck_assert_int_eq(r[i].rc, MT_EEXIST);
            }
        }
        pthread_barrier_destroy(&start);
        ck_assert_int_ne(winner, -1);
        ck_assert(lookup_is("race", r[winner].a));
        ck_assert_int_eq(mt_unregister(rt, "race"), MT_OK);
        for (int i = 0; i < NT; i++) {
            mt_stop(r[i].a, 0);
            mt_actor_unref(&r[i].a);
        }
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("core_registry");
    TCase *tc = t_tcase("registry", 60);
    tcase_add_test(tc, register_lookup_unregister);
    tcase_add_test(tc, name_is_copied);
    tcase_add_test(tc, spawn_with_name);
    tcase_add_test(tc, auto_unregister_on_stop);
    tcase_add_test(tc, stop_does_not_unregister_new_owner);
    tcase_add_test(tc, register_race);
    suite_add_tcase(s, tc);
    TCase *slow = t_tcase("many", 300);
    tcase_add_test(slow, many_names);
    suite_add_tcase(s, slow);
    return s;
}

T_MAIN(make_suite)
