/*  core_runtime: options and defaults, mt_strerror, mt_now_ms, and
    shutdown: mt_runtime_destroy frees every queued message (delivered or
    dropped, each exactly once), pending timers' messages, kept messages;
    the pool's memory after a burst goes back without anyone asking. */
#include "testutil.h"
#include "internal.h"               /* the pool's counters */

enum { T_WORK = MT_MSG_USER, T_GATE, T_ACK };

START_TEST(default_options)
{
    mt_runtime_t *r = mt_runtime_new(NULL);
    ck_assert_ptr_nonnull(r);
    mt_stats_t s;
    mt_runtime_stats(r, &s);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus > MT_MAX_WORKERS)
        cpus = MT_MAX_WORKERS;
    ck_assert_int_eq(s.workers, cpus);
    mt_runtime_destroy(&r);
    ck_assert_ptr_null(r);

    mt_runtime_opts_t o = { .workers = 0, .batch = 0 };
    r = mt_runtime_new(&o);
    ck_assert_ptr_nonnull(r);
    mt_runtime_stats(r, &s);
    ck_assert_int_eq(s.workers, cpus);
    mt_runtime_destroy(&r);

    o.workers = 3;
    r = mt_runtime_new(&o);
    ck_assert_ptr_nonnull(r);
    mt_runtime_stats(r, &s);
    ck_assert_int_eq(s.workers, 3);
    mt_runtime_destroy(&r);
}
END_TEST

/*  Several runtimes at once and in a row; idle create/destroy. */
START_TEST(runtimes_new_destroy)
{
    for (int i = 0; i < 20; i++) {
        mt_runtime_opts_t o = { .workers = 1 + i % 4 };
        mt_runtime_t *a = mt_runtime_new(&o);
        mt_runtime_t *b = mt_runtime_new(&o);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        mt_probe_t *p = mt_probe_new(a);
        mt_actor_t *pa = mt_probe_actor(p);
        ck_assert_ptr_eq(mt_actor_runtime(pa), a);
        ck_assert_int_eq(mt_send_i64(pa, T_WORK, i), MT_OK);
        mt_msg_t *m = mt_probe_recv(p, T_WAIT);
        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(mt_msg_i64(m), i);
        mt_msg_free(m);
        mt_probe_destroy(&p);
        mt_runtime_destroy(&a);
        mt_runtime_destroy(&b);
    }
}
END_TEST

START_TEST(strerror_all_codes)
{
    for (int e = MT_OK; e < MT_ECOUNT_; e++) {
        const char *s = mt_strerror(e);
        ck_assert_ptr_nonnull(s);
        ck_assert_int_gt(strlen(s), 0);
        for (int f = MT_OK; f < e; f++)
            ck_assert_str_ne(s, mt_strerror(f));
    }
    ck_assert_ptr_nonnull(mt_strerror(-1));
    ck_assert_ptr_nonnull(mt_strerror(100000));
}
END_TEST

/*  A higher layer's range: its texts, no overlap, the same table twice. */
START_TEST(strerror_ranges)
{
    enum { FIRST = MT_ECOUNT_ + 1000 };
    static const char *const texts[] = { "first", "second", "third" };
    static const char *const other[] = { "other" };
    static const char *const holed[] = { "a", NULL };
    ck_assert_str_eq(mt_strerror(FIRST), "unknown error");
    ck_assert_int_eq(mt_strerror_range(FIRST, 3, texts), MT_OK);
    ck_assert_str_eq(mt_strerror(FIRST), "first");
    ck_assert_str_eq(mt_strerror(FIRST + 2), "third");
    ck_assert_str_eq(mt_strerror(FIRST + 3), "unknown error");
    ck_assert_str_eq(mt_strerror(FIRST - 1), "unknown error");
    ck_assert_str_eq(mt_strerror(MT_ETIMEDOUT), "timed out");
    ck_assert_int_eq(mt_strerror_range(FIRST, 3, texts), MT_OK);       /* again */
    ck_assert_int_eq(mt_strerror_range(FIRST + 2, 1, other), MT_EEXIST);
    ck_assert_int_eq(mt_strerror_range(FIRST - 1, 2, texts), MT_EEXIST);
    ck_assert_int_eq(mt_strerror_range(MT_EINVAL, 1, other), MT_EINVAL);  /* core's */
    ck_assert_int_eq(mt_strerror_range(FIRST + 10, 2, holed), MT_EINVAL);
    ck_assert_int_eq(mt_strerror_range(FIRST + 10, 0, other), MT_EINVAL);
    ck_assert_str_eq(mt_strerror(FIRST + 10), "unknown error");
    ck_assert_int_eq(mt_strerror_range(FIRST + 3, 1, other), MT_OK);   /* adjacent */
    ck_assert_str_eq(mt_strerror(FIRST + 3), "other");
}
END_TEST

START_TEST(now_ms_monotonic)
{
    uint64_t a = mt_now_ms();
    t_sleep_ms(20);
    uint64_t b = mt_now_ms();
    ck_assert_uint_ge(b, a + 20);
    for (int i = 0; i < 1000; i++) {
        uint64_t c = mt_now_ms();
        ck_assert_uint_ge(c, b);
        b = c;
    }
}
END_TEST

/* ---- shutdown ----------------------------------------------------------------- */

/*  Payload of counted messages: a value and a "handled" mark set by the
    behaviour. The drop callback sorts frees into handled / not handled. */
typedef struct { int64_t v; atomic_int handled; } sd_t;
static atomic_long sd_handled, sd_freed_handled, sd_freed_unhandled, sd_bad;
static atomic_bool destroy_started;

static void sd_drop(mt_msg_t *m)
{
    sd_t *p = mt_msg_data(m);
    int h = atomic_load(&p->handled);
    if (h == 1)
        atomic_fetch_add(&sd_freed_handled, 1);
    else if (h == 0)
        atomic_fetch_add(&sd_freed_unhandled, 1);
    else
        atomic_fetch_add(&sd_bad, 1);
    atomic_store(&p->handled, 99);       /* a second drop would count as bad */
}

static mt_msg_t *sd_msg(uint16_t type, int64_t v)
{
    mt_msg_t *m = mt_msg_new(type, sizeof(sd_t));
    sd_t *p = mt_msg_data(m);
    p->v = v;
    m->drop = sd_drop;
    return m;
}

typedef struct {
    mt_msg_t *kept[16];
    int nkept;
} sd_state_t;

static void sd_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    sd_state_t *st = state;
    if (msg->drop == sd_drop) {
        sd_t *p = mt_msg_data(msg);
        if (atomic_exchange(&p->handled, 1) != 0)
            atomic_fetch_add(&sd_bad, 1);           /* handled twice */
        atomic_fetch_add(&sd_handled, 1);
        if (st && p->v % 1000 == 0 && st->nkept < 16) {
            mt_msg_keep(msg);                        /* freed by the destructor */
            st->kept[st->nkept++] = msg;
        }
    }
    if (msg->type == T_GATE) {
        /* Hold this worker until mt_runtime_destroy has begun, so the
           destroy finds full mailboxes. */
        uint64_t dl = mt_now_ms() + T_WAIT;
        while (!atomic_load(&destroy_started) && mt_now_ms() < dl)
            t_sleep_ms(1);
        t_sleep_ms(20);
    }
}

static void sd_destroy(void *state)
{
    sd_state_t *st = state;
    for (int i = 0; i < st->nkept; i++)
        mt_msg_free(st->kept[i]);
    free(st);
}

START_TEST(shutdown_frees_queued)
{
    atomic_store(&sd_handled, 0);
    atomic_store(&sd_freed_handled, 0);
    atomic_store(&sd_freed_unhandled, 0);
    atomic_store(&sd_bad, 0);
    atomic_store(&destroy_started, false);

    enum { NA = 8, PER = 5000 };
    long sent = 0;
    mt_actor_t *a[NA];
    for (int i = 0; i < NA; i++) {
        mt_spawn_opts_t o = { .behaviour = sd_behaviour, .state = calloc(1, sizeof(sd_state_t)),
                              .destroy = sd_destroy, .pinned = (i == NA - 1) };
        a[i] = mt_spawn_opts(rt, &o);
        ck_assert_ptr_nonnull(a[i]);
    }
    /* Actor 0 and the pinned one block on their first message. */
    ck_assert_int_eq(mt_send(a[0], sd_msg(T_GATE, 1)), MT_OK);
    ck_assert_int_eq(mt_send(a[NA - 1], sd_msg(T_GATE, 1)), MT_OK);
    sent += 2;
    for (int k = 0; k < PER; k++)
        for (int i = 0; i < NA; i++) {
            ck_assert_int_eq(mt_send(a[i], sd_msg(T_WORK, k)), MT_OK);
            sent++;
        }
    /* Timers and send_after still pending at destroy. */
    for (int i = 0; i < 100; i++) {
        mt_send_after(a[i % NA], sd_msg(T_WORK, 1), 3600000);
        sent++;
    }
    /* Messages queued on a probe that is destroyed first. */
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(mt_send(t_probe_actor(), sd_msg(T_WORK, 1)), MT_OK);
        sent++;
    }
    for (int i = 0; i < NA; i++)
        mt_actor_unref(&a[i]);

    mt_probe_destroy(&probe);
    atomic_store(&destroy_started, true);
    mt_runtime_destroy(&rt);
    ck_assert_ptr_null(rt);

    long h = atomic_load(&sd_handled);
    long fh = atomic_load(&sd_freed_handled), fu = atomic_load(&sd_freed_unhandled);
    ck_assert_int_eq(atomic_load(&sd_bad), 0);
    ck_assert_int_eq(fh, h);                         /* every handled one freed */
    ck_assert_int_eq(fh + fu, sent);                 /* every message freed once */
    ck_assert_int_le(h, sent - 200);                 /* timers and probe: never handled */
}
END_TEST

/*  Destroy while other threads are still sending: sends fail cleanly
    (MT_ECLOSED) or succeed; every message is freed. The senders stop before
    their references are dropped (references must go before the runtime),
    so they only race with the stop of the actors, not with the destroy. */
typedef struct { mt_actor_t *to; atomic_bool *stop; long sent; } snd_t;

static void *snd_main(void *arg)
{
    snd_t *s = arg;
    while (!atomic_load(s->stop)) {
        (void) mt_send(s->to, sd_msg(T_WORK, 1));
        s->sent++;
    }
    return NULL;
}

START_TEST(stop_while_sending)
{
    atomic_store(&sd_handled, 0);
    atomic_store(&sd_freed_handled, 0);
    atomic_store(&sd_freed_unhandled, 0);
    atomic_store(&sd_bad, 0);
    enum { NT = 4 };
    atomic_bool stop = false;
    mt_actor_t *a = mt_spawn(rt, sd_behaviour, NULL, NULL);
    ck_assert_ptr_nonnull(a);
    snd_t s[NT];
    pthread_t th[NT];
    for (int i = 0; i < NT; i++) {
        s[i] = (snd_t) { a, &stop, 0 };
        ck_assert_int_eq(pthread_create(&th[i], NULL, snd_main, &s[i]), 0);
    }
    t_sleep_ms(100);
    mt_stop(a, 0);                       /* stop while they send */
    t_sleep_ms(100);
    atomic_store(&stop, true);
    long sent = 0;
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        sent += s[i].sent;
    }
    ck_assert_eventually(!mt_actor_alive(a), T_WAIT);
    mt_actor_unref(&a);
    t_destroy_runtime();
    ck_assert_int_eq(atomic_load(&sd_bad), 0);
    ck_assert_int_eq(atomic_load(&sd_freed_handled), atomic_load(&sd_handled));
    ck_assert_int_eq(atomic_load(&sd_freed_handled) + atomic_load(&sd_freed_unhandled), sent);
}
END_TEST

/*  After a burst the housekeeping thread gives the pool's slabs back by
    itself (core/pool.c's sweep; its details are core_pool's). The actor
    keeps every message until the gate opens, so that they are all
    allocated before any is freed: a burst, not a stream recycling a few
    slabs. Sanitizer builds have no pool (MT_POOL_DISABLE). */
static void hoard(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    (void) self;
    mt_msgq_t *q = state;
    if (msg->type == T_WORK) {
        mt_msg_keep(msg);
        mt_msgq_push(q, msg);
    } else if (msg->type == T_GATE) {
        mt_msgq_free_all(q);
    }
}

START_TEST(burst_memory_is_given_back)
{
    static mt_msgq_t q;
    mt_msgq_init(&q);
    mt_actor_t *a = mt_spawn(rt, hoard, &q, NULL);
    ck_assert_ptr_nonnull(a);
    mt__pool_stats_t before, now;
    mt__pool_stats(&before);
    enum { N = 50000 };
    mt_stats_t s0 = t_stats();
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(mt_send(a, mt_msg_new(T_WORK, 100)), MT_OK);
    ck_assert_int_eq(mt_send_i64(a, T_GATE, 0), MT_OK);
    ck_assert_eventually(t_stats().msgs_delivered >= s0.msgs_delivered + N + 1, T_WAIT);
#if !MT_POOL_DISABLE
    mt__pool_stats(&now);
    ck_assert_uint_gt(now.slabs, before.slabs + 100);   /* the burst took slabs */
    ck_assert_eventually((mt__pool_stats(&now), now.slabs_freed > before.slabs_freed + 100),
                         T_WAIT);
#endif
    (void) now;
    mt_stop(a, 0);
    mt_actor_unref(&a);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("core_runtime");
    TCase *plain = tcase_create("no_fixture");
    tcase_set_timeout(plain, 60);
    tcase_add_test(plain, default_options);
    tcase_add_test(plain, runtimes_new_destroy);
    tcase_add_test(plain, strerror_all_codes);
    tcase_add_test(plain, strerror_ranges);
    tcase_add_test(plain, now_ms_monotonic);
    suite_add_tcase(s, plain);

    TCase *tc = t_tcase("shutdown", 120);
    tcase_add_test(tc, shutdown_frees_queued);
    tcase_add_test(tc, stop_while_sending);
    tcase_add_test(tc, burst_memory_is_given_back);
    suite_add_tcase(s, tc);
    return s;
}

T_MAIN(make_suite)
