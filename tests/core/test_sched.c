/*  core_sched: many actors on several workers: a ring of 1000 actors
    passing a token 100,000 hops, many tokens at once, fan-out/fan-in,
    ping-pong, one worker and batch 1. */
#include <sched.h>

#include "testutil.h"

enum { T_TOKEN = MT_MSG_USER, T_DONE, T_WORK, T_PING, T_PONG };

#define RING 1000
#define HOPS 100000

/*  Each ring member counts the hops it handled in its own slot of a global
    array (written only by that actor; read by the test after the DONE,
    which comes after every hop through a chain of sends). */
static int64_t ring_count[RING];

typedef struct {
    mt_actor_t *next;
    mt_actor_t *report;
    int index;
} ring_state_t;

/*  Token payload: hops left; the token message itself is passed on
    (mt_msg_keep), or a new one when `fresh` is set. */
typedef struct { int64_t left; int64_t hops; int64_t id; } token_t;

static void ring_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    ring_state_t *st = state;
    if (msg->type != T_TOKEN)
        return;
    ring_count[st->index]++;
    token_t *t = mt_msg_data(msg);
    t->hops++;
    if (--t->left == 0) {
        mt_msg_keep(msg);
        msg->type = T_DONE;
        mt_send(st->report, msg);
    } else if (t->id % 2 == 0) {
        mt_msg_keep(msg);                /* pass the same message on */
        mt_send(st->next, msg);
    } else {
        mt_send(st->next, t_msg_blob(T_TOKEN, t, sizeof *t));
    }
}

static void ring_destroy(void *state)
{
    ring_state_t *st = state;
    mt_actor_unref(&st->next);
    mt_actor_unref(&st->report);
    free(st);
}

/*  Builds the ring; returns member 0's reference in a[0].. (all kept). */
static void build_ring(mt_actor_t **a)
{
    ring_state_t *st[RING];
    for (int i = 0; i < RING; i++) {
        st[i] = calloc(1, sizeof *st[i]);
        st[i]->index = i;
        st[i]->report = t_probe_ref();
        a[i] = mt_spawn(rt, ring_behaviour, st[i], ring_destroy);
        ck_assert_ptr_nonnull(a[i]);
    }
    /* Linking after spawn: the states are read only once tokens flow, and a
       send from this thread orders these writes before that. */
    for (int i = 0; i < RING; i++)
        st[i]->next = mt_actor_ref(a[(i + 1) % RING]);
    memset(ring_count, 0, sizeof ring_count);
}

static void send_token(mt_actor_t *to, int64_t hops, int64_t id)
{
    token_t t = { hops, 0, id };
    ck_assert_int_eq(mt_send(to, t_msg_blob(T_TOKEN, &t, sizeof t)), MT_OK);
}

static token_t recv_done(int timeout_ms)
{
    mt_msg_t *m = mt_probe_recv(probe, timeout_ms);
    ck_assert_msg(m != NULL, "token did not come back");
    ck_assert_uint_eq(m->type, T_DONE);
    ck_assert_uint_eq(m->size, sizeof(token_t));
    token_t t;
    memcpy(&t, mt_msg_data(m), sizeof t);
    mt_msg_free(m);
    return t;
}

static void drop_ring(mt_actor_t **a)
{
    for (int i = 0; i < RING; i++)
        mt_actor_unref(&a[i]);
}

START_TEST(ring_one_token)
{
    mt_actor_t *a[RING];
    build_ring(a);
    send_token(a[0], HOPS, 0);
    token_t t = recv_done(240000);
    ck_assert_int_eq(t.left, 0);
    ck_assert_int_eq(t.hops, HOPS);
    int64_t total = 0;
    for (int i = 0; i < RING; i++) {
        ck_assert_int_eq(ring_count[i], HOPS / RING);
        total += ring_count[i];
    }
    ck_assert_int_eq(total, HOPS);
    t_assert_quiet();
    mt_stats_t s = t_stats();
    ck_assert_uint_ge(s.msgs_delivered, HOPS);
    drop_ring(a);
}
END_TEST

/*  100 tokens at once, half passed as the same message, half re-created:
    10,000 hops each, 1,000,000 in all. */
START_TEST(ring_many_tokens)
{
    enum { NTOK = 100, EACH = 10000 };
    mt_actor_t *a[RING];
    build_ring(a);
    for (int k = 0; k < NTOK; k++)
        send_token(a[(k * 37) % RING], EACH, k);
    int64_t hops = 0;
    for (int k = 0; k < NTOK; k++) {
        token_t t = recv_done(240000);
        ck_assert_int_eq(t.hops, EACH);
        hops += t.hops;
    }
    ck_assert_int_eq(hops, (int64_t) NTOK * EACH);
    int64_t total = 0;
    for (int i = 0; i < RING; i++)
        total += ring_count[i];
    ck_assert_int_eq(total, (int64_t) NTOK * EACH);
    t_assert_quiet();
    drop_ring(a);
}
END_TEST

/*  Fan-out/fan-in: the test sends 100 messages to each of 1000 workers,
    each forwards to one collector, which counts per source. */
#define FAN 1000
#define FAN_MSGS 100

typedef struct {
    mt_actor_t *report;
    int64_t per[FAN];
    int64_t total, errors;
} coll_state_t;

static void coll_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    coll_state_t *st = state;
    int64_t v = mt_msg_i64(msg);          /* src * 1000 + seq */
    int64_t src = v / 1000, seq = v % 1000;
    if (src < 0 || src >= FAN || seq != st->per[src])
        st->errors++;                     /* per-sender FIFO through the hop */
    else
        st->per[src]++;
    if (++st->total == (int64_t) FAN * FAN_MSGS)
        t_tell(st->report, T_DONE, st->errors);
}

static void coll_destroy(void *state)
{
    coll_state_t *st = state;
    mt_actor_unref(&st->report);
    free(st);
}

static void fan_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    mt_actor_t *coll = state;
    t_tell(coll, T_WORK, mt_msg_i64(msg));
}

static void unref_state(void *state)
{
    mt_actor_t *a = state;
    mt_actor_unref(&a);
}

START_TEST(fan_out_fan_in)
{
    coll_state_t *cs = calloc(1, sizeof *cs);
    cs->report = t_probe_ref();
    mt_actor_t *coll = mt_spawn(rt, coll_behaviour, cs, coll_destroy);
    ck_assert_ptr_nonnull(coll);
    mt_actor_t **f = calloc(FAN, sizeof *f);
    for (int i = 0; i < FAN; i++) {
        f[i] = mt_spawn(rt, fan_behaviour, mt_actor_ref(coll), unref_state);
        ck_assert_ptr_nonnull(f[i]);
    }
    for (int seq = 0; seq < FAN_MSGS; seq++)
        for (int i = 0; i < FAN; i++)
            ck_assert_int_eq(mt_send_i64(f[i], T_WORK, (int64_t) i * 1000 + seq), MT_OK);
    mt_msg_t *m = mt_probe_recv(probe, 240000);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->type, T_DONE);
    ck_assert_int_eq(mt_msg_i64(m), 0);
    mt_msg_free(m);
    for (int i = 0; i < FAN; i++)
        mt_actor_unref(&f[i]);
    free(f);
    mt_actor_unref(&coll);
}
END_TEST

/*  Ping-pong between pairs of actors, many pairs at once. */
typedef struct { mt_actor_t *peer; mt_actor_t *report; } pp_state_t;

static void pp_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    pp_state_t *st = state;
    int64_t n = mt_msg_i64(msg);
    if (n == 0)
        t_tell(st->report, T_DONE, 1);
    else
        t_tell(st->peer, T_PING, n - 1);
}

static void pp_destroy(void *state)
{
    pp_state_t *st = state;
    mt_actor_unref(&st->peer);
    mt_actor_unref(&st->report);
    free(st);
}

START_TEST(ping_pong_pairs)
{
    enum { PAIRS = 50, ROUNDS = 2000 };
    mt_actor_t *a[2 * PAIRS];
    pp_state_t *st[2 * PAIRS];
    for (int i = 0; i < 2 * PAIRS; i++) {
        st[i] = calloc(1, sizeof *st[i]);
        st[i]->report = t_probe_ref();
        a[i] = mt_spawn(rt, pp_behaviour, st[i], pp_destroy);
        ck_assert_ptr_nonnull(a[i]);
    }
    for (int i = 0; i < 2 * PAIRS; i++)
        st[i]->peer = mt_actor_ref(a[i ^ 1]);
    for (int p = 0; p < PAIRS; p++)
        ck_assert_int_eq(mt_send_i64(a[2 * p], T_PING, ROUNDS), MT_OK);
    for (int p = 0; p < PAIRS; p++)
        ck_assert_int_eq(t_recv_i64(T_DONE), 1);
    t_assert_quiet();
    for (int i = 0; i < 2 * PAIRS; i++)
        mt_actor_unref(&a[i]);
}
END_TEST

/*  Lost wake-ups: NT threads each send one message to an idle actor at the
    same moment, then the test waits for all of them to be handled before
    the next round. A message pushed while a worker is giving the actor's
    turn back must still be handled; later traffic cannot rescue it here,
    because there is none until it is. */
#define WK_THREADS 3
#define WK_ROUNDS 20000
static atomic_long wk_count;
static atomic_bool wk_stuck;
static pthread_barrier_t wk_barrier;

static void wk_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    atomic_fetch_add(&wk_count, 1);
}

static void *wk_main(void *arg)
{
    mt_actor_t *a = arg;
    for (long r = 0; r < WK_ROUNDS && !atomic_load(&wk_stuck); r++) {
        pthread_barrier_wait(&wk_barrier);
        mt_send_i64(a, T_WORK, r);
        pthread_barrier_wait(&wk_barrier);
    }
    return NULL;
}

START_TEST(no_lost_wakeup)
{
    atomic_store(&wk_count, 0);
    atomic_store(&wk_stuck, false);
    mt_actor_t *a = mt_spawn(rt, wk_behaviour, NULL, NULL);
    ck_assert_ptr_nonnull(a);
    pthread_barrier_init(&wk_barrier, NULL, WK_THREADS + 1);
    pthread_t th[WK_THREADS];
    for (int i = 0; i < WK_THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, wk_main, a), 0);
    long r = 0, got = 0;
    for (; r < WK_ROUNDS; r++) {
        pthread_barrier_wait(&wk_barrier);          /* they send... */
        pthread_barrier_wait(&wk_barrier);          /* ...sent */
        long want = (r + 1) * WK_THREADS;
        uint64_t dl = mt_now_ms() + 10000;
        while (atomic_load(&wk_count) < want && mt_now_ms() < dl)
            sched_yield();
        if ((got = atomic_load(&wk_count)) < want) {
            atomic_store(&wk_stuck, true);
            break;
        }
    }
    if (r < WK_ROUNDS) {                             /* release the threads */
        pthread_barrier_wait(&wk_barrier);
        pthread_barrier_wait(&wk_barrier);
    }
    for (int i = 0; i < WK_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&wk_barrier);
    ck_assert_msg(r == WK_ROUNDS, "round %ld: %ld of %ld messages handled after 10 s",
                  r, got, (r + 1) * WK_THREADS);
    mt_actor_unref(&a);
}
END_TEST

/*  The same ring on one worker with a batch of 1, and on many workers. */
static void setup_w1_b1(void)
{
    int w = t_workers, b = t_batch;
    t_workers = 1;
    t_batch = 1;
    rt_setup();
    t_workers = w;
    t_batch = b;
}

static void setup_w16(void)
{
    int w = t_workers;
    t_workers = 16;
    rt_setup();
    t_workers = w;
}

START_TEST(ring_small_config)
{
    mt_stats_t s = t_stats();
    mt_actor_t *a[RING];
    build_ring(a);
    for (int k = 0; k < 4; k++)
        send_token(a[k * 250], 5000, k);
    for (int k = 0; k < 4; k++)
        ck_assert_int_eq(recv_done(240000).hops, 5000);
    int64_t total = 0;
    for (int i = 0; i < RING; i++)
        total += ring_count[i];
    ck_assert_int_eq(total, 20000);
    s = t_stats();
    uint64_t runs = 0;
    for (int i = 0; i < s.workers; i++)
        runs += s.worker_runs[i];
    ck_assert_uint_gt(runs, 0);
    drop_ring(a);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("core_sched");
    TCase *tc = t_tcase("sched", 600);
    tcase_add_test(tc, ring_one_token);
    tcase_add_test(tc, ring_many_tokens);
    tcase_add_test(tc, fan_out_fan_in);
    tcase_add_test(tc, ping_pong_pairs);
    tcase_add_test(tc, no_lost_wakeup);
    suite_add_tcase(s, tc);

    TCase *w1 = tcase_create("one_worker_batch_1");
    tcase_add_checked_fixture(w1, setup_w1_b1, rt_teardown);
    tcase_set_timeout(w1, 600);
    tcase_add_test(w1, ring_small_config);
    tcase_add_test(w1, ping_pong_pairs);
    tcase_add_test(w1, no_lost_wakeup);
    suite_add_tcase(s, w1);

    TCase *w16 = tcase_create("sixteen_workers");
    tcase_add_checked_fixture(w16, setup_w16, rt_teardown);
    tcase_set_timeout(w16, 600);
    tcase_add_test(w16, ring_small_config);
    tcase_add_test(w16, ring_one_token);
    suite_add_tcase(s, w16);
    return s;
}

T_MAIN(make_suite)
