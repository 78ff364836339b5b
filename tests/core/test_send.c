/*  core_send: mt_send from many threads (complete, per-sender FIFO), message
    basics, sends to stopped actors, stats counters. */
#include "testutil.h"

enum { T_SEQ = MT_MSG_USER, T_FLUSH, T_REPORT, T_DATA, T_ACK, T_SENDTO, T_RC, T_WORK };

/* ---- 8 threads x 100,000 sends to one actor ------------------------------ */

#define NSENDERS 8
#define NPER 100000

typedef struct { uint32_t sender; uint32_t magic; uint64_t seq; } seq_t;
#define SEQ_MAGIC 0x5e90u

typedef struct {
    uint64_t total;
    uint64_t errors;             /* bad size, bad sender, out of order */
    uint64_t first_bad_sender, first_bad_seq, first_bad_expected;
    uint64_t next[NSENDERS];     /* next expected seq = messages seen */
} fifo_report_t;

typedef struct {
    mt_actor_t *report;
    fifo_report_t r;
} fifo_state_t;

static void fifo_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    fifo_state_t *st = state;
    if (msg->type == T_SEQ) {
        st->r.total++;
        const seq_t *p = mt_msg_data(msg);
        if (msg->size != sizeof(seq_t) || p->magic != SEQ_MAGIC || p->sender >= NSENDERS) {
            st->r.errors++;
            return;
        }
        if (p->seq != st->r.next[p->sender]) {
            if (st->r.errors++ == 0) {
                st->r.first_bad_sender = p->sender;
                st->r.first_bad_seq = p->seq;
                st->r.first_bad_expected = st->r.next[p->sender];
            }
        }
        st->r.next[p->sender] = p->seq + 1;
    } else if (msg->type == T_FLUSH) {
        mt_send(st->report, t_msg_blob(T_REPORT, &st->r, sizeof st->r));
    }
}

static void fifo_destroy(void *state)
{
    fifo_state_t *st = state;
    mt_actor_unref(&st->report);
    free(st);
}

typedef struct {
    mt_actor_t *to;
    uint32_t id;
    pthread_barrier_t *start;
    uint64_t failures;
} sender_arg_t;

static void *sender_main(void *arg)
{
    sender_arg_t *a = arg;
    pthread_barrier_wait(a->start);
    for (uint64_t i = 0; i < NPER; i++) {
        mt_msg_t *m = mt_msg_new(T_SEQ, sizeof(seq_t));
        seq_t *p = mt_msg_data(m);
        p->sender = a->id;
        p->magic = SEQ_MAGIC;
        p->seq = i;
        if (mt_send(a->to, m) != MT_OK)
            a->failures++;
    }
    return NULL;
}

START_TEST(many_senders_fifo)
{
    fifo_state_t *st = calloc(1, sizeof *st);
    st->report = t_probe_ref();
    mt_actor_t *a = mt_spawn(rt, fifo_behaviour, st, fifo_destroy);
    ck_assert_ptr_nonnull(a);

    pthread_t th[NSENDERS];
    sender_arg_t args[NSENDERS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, NSENDERS);
    for (int i = 0; i < NSENDERS; i++) {
        args[i] = (sender_arg_t) { .to = a, .id = (uint32_t) i, .start = &start };
        ck_assert_int_eq(pthread_create(&th[i], NULL, sender_main, &args[i]), 0);
    }
    for (int i = 0; i < NSENDERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < NSENDERS; i++)
        ck_assert_uint_eq(args[i].failures, 0);

    /* Every send above returned before this one: FLUSH is behind them all. */
    ck_assert_int_eq(mt_send_i64(a, T_FLUSH, 0), MT_OK);
    mt_msg_t *m = mt_probe_recv(probe, 120000);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->type, T_REPORT);
    ck_assert_uint_eq(m->size, sizeof(fifo_report_t));
    fifo_report_t r;
    memcpy(&r, mt_msg_data(m), sizeof r);
    mt_msg_free(m);

    ck_assert_msg(r.errors == 0,
                  "%llu ordering errors; first: sender %llu seq %llu, expected %llu",
                  (unsigned long long) r.errors, (unsigned long long) r.first_bad_sender,
                  (unsigned long long) r.first_bad_seq,
                  (unsigned long long) r.first_bad_expected);
    ck_assert_uint_eq(r.total, (uint64_t) NSENDERS * NPER);
    for (int i = 0; i < NSENDERS; i++)
        ck_assert_uint_eq(r.next[i], NPER);
    mt_actor_unref(&a);
}
END_TEST

/* ---- message basics -------------------------------------------------------- */

START_TEST(msg_new_fields)
{
    mt_msg_t *m = mt_msg_new(T_DATA, 1000);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->type, T_DATA);
    ck_assert_uint_eq(m->size, 1000);
    ck_assert_ptr_null(m->from);
    ck_assert_uint_eq(m->corr, 0);
    ck_assert_ptr_null(m->drop);
    const unsigned char *p = mt_msg_data(m);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(p[i], 0);
    mt_msg_free(m);

    m = mt_msg_new(T_DATA, 0);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->size, 0);
    mt_msg_free(m);

    m = mt_msg_new_i64(T_DATA, -1234567890123LL);
    ck_assert_uint_eq(m->type, T_DATA);
    ck_assert_uint_eq(m->size, sizeof(int64_t));
    ck_assert_int_eq(mt_msg_i64(m), -1234567890123LL);
    mt_msg_free(m);

    /* mt_msg_free calls drop exactly once, also for a never-sent message. */
    m = t_msg_counted(T_DATA, 1);
    mt_msg_free(m);
    ck_assert_int_eq(atomic_load(&t_drops), 1);
}
END_TEST

/*  Checks the payload pattern, then acks with (index, ok). */
static void pattern_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    mt_actor_t *report = state;
    const unsigned char *p = mt_msg_data(msg);
    int64_t ok = 1;
    if (msg->size < 4) {
        ok = 0;
    } else {
        uint32_t idx;
        memcpy(&idx, p, 4);
        if (msg->size != (idx * 37u) % 5000u + 4u)
            ok = 0;
        for (uint32_t i = 4; ok && i < msg->size; i++)
            if (p[i] != (unsigned char) (idx + i))
                ok = 0;
        t_tell(report, T_ACK, ((int64_t) idx << 1) | ok);
        return;
    }
    t_tell(report, T_ACK, -1);
}

static void unref_state(void *state)
{
    mt_actor_t *a = state;
    mt_actor_unref(&a);
}

START_TEST(payload_and_order_one_sender)
{
    mt_actor_t *a = mt_spawn(rt, pattern_behaviour, t_probe_ref(), unref_state);
    ck_assert_ptr_nonnull(a);
    enum { N = 2000 };
    for (uint32_t idx = 0; idx < N; idx++) {
        uint32_t size = (idx * 37u) % 5000u + 4u;
        mt_msg_t *m = mt_msg_new(T_DATA, size);
        unsigned char *p = mt_msg_data(m);
        memcpy(p, &idx, 4);
        for (uint32_t i = 4; i < size; i++)
            p[i] = (unsigned char) (idx + i);
        ck_assert_int_eq(mt_send(a, m), MT_OK);
    }
    for (int64_t idx = 0; idx < N; idx++) {
        int64_t v = t_recv_i64(T_ACK);
        ck_assert_int_eq(v, (idx << 1) | 1);
    }
    t_assert_quiet();
    mt_actor_unref(&a);
}
END_TEST

/* ---- sends to a stopped actor --------------------------------------------- */

static void noop_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg) { }

/*  T_SENDTO carries a reference to an actor: send it a counted message from
    this behaviour and report mt_send's result. */
static void relay_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    mt_actor_t *report = state;
    if (msg->type == T_SENDTO) {
        mt_actor_t *to;
        memcpy(&to, mt_msg_data(msg), sizeof to);
        int rc = mt_send(to, t_msg_counted(T_DATA, 0));
        mt_actor_unref(&to);
        t_tell(report, T_RC, rc);
    }
}

/*  Stops `a` from outside and waits for its DOWN on the probe. */
static void stop_and_wait(mt_actor_t *a, int reason)
{
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    mt_stop(a, reason);
    mt_msg_t *d = t_recv_type(MT_MSG_DOWN);
    mt_msg_free(d);
    ck_assert_eventually(!mt_actor_alive(a), T_WAIT);
}

START_TEST(send_to_stopped_actor)
{
    mt_actor_t *a = mt_spawn(rt, noop_behaviour, NULL, NULL);
    ck_assert_ptr_nonnull(a);
    ck_assert(mt_actor_alive(a));
    uint64_t id = mt_actor_id(a);
    ck_assert_int_eq(mt_send_i64(a, T_DATA, 1), MT_OK);
    stop_and_wait(a, 0);

    mt_stats_t s0 = t_stats();
    ck_assert_int_eq(mt_send(a, t_msg_counted(T_DATA, 2)), MT_ECLOSED);
    ck_assert_eventually(atomic_load(&t_drops) >= 1, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), 1);
    mt_stats_t s1 = t_stats();
    ck_assert_uint_eq(s1.msgs_dropped, s0.msgs_dropped + 1);

    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(mt_send(a, t_msg_counted(T_DATA, i)), MT_ECLOSED);
    ck_assert_eventually(atomic_load(&t_drops) >= 1001, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), 1001);
    s1 = t_stats();
    ck_assert_uint_eq(s1.msgs_dropped, s0.msgs_dropped + 1001);
    ck_assert_uint_eq(s1.msgs_delivered, s0.msgs_delivered);

    /* The reference stays valid and usable. */
    ck_assert(!mt_actor_alive(a));
    ck_assert_uint_eq(mt_actor_id(a), id);
    ck_assert_ptr_eq(mt_actor_runtime(a), rt);
    mt_actor_t *b = mt_actor_ref(a);
    ck_assert_ptr_eq(b, a);
    mt_actor_unref(&b);
    ck_assert_ptr_null(b);
    mt_stop(a, 0);                                   /* stopping again: no-op */
    ck_assert_int_eq(mt_send_i64(a, T_DATA, 3), MT_ECLOSED);
    ck_assert_uint_eq(mt_actor_id(a), id);

    /* From inside another actor as well. */
    mt_actor_t *relay = mt_spawn(rt, relay_behaviour, t_probe_ref(), unref_state);
    ck_assert_ptr_nonnull(relay);
    mt_actor_t *ref = mt_actor_ref(a);
    ck_assert_int_eq(mt_send(relay, t_msg_blob(T_SENDTO, &ref, sizeof ref)), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_RC), MT_ECLOSED);
    ck_assert_eventually(atomic_load(&t_drops) >= 1002, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), 1002);

    mt_actor_unref(&relay);
    mt_actor_unref(&a);
    ck_assert_ptr_null(a);
}
END_TEST

static atomic_int handled_count;

static void count_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    atomic_fetch_add(&handled_count, 1);
}

/*  The caller drops its only reference right after spawning; the actor
    keeps running (sending to itself through mt_self) until it stops. */
static void countdown_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    int64_t n = mt_msg_i64(msg);
    if (mt_self() != self) {
        t_tell(t_probe_actor(), T_ACK, -2);
    } else if (n > 0) {
        if (mt_send_i64(mt_self(), T_WORK, n - 1) != MT_OK)
            t_tell(t_probe_actor(), T_ACK, -1);
    } else {
        t_tell(t_probe_actor(), T_ACK, 0);
    }
}

START_TEST(unref_while_running)
{
    mt_actor_t *a = mt_spawn(rt, countdown_behaviour, NULL, NULL);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(mt_send_i64(a, T_WORK, 10000), MT_OK);
    mt_actor_unref(&a);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(t_recv_i64(T_ACK), 0);
}
END_TEST

/*  MT_ECLOSED means "had stopped, dropped". An actor that stops itself while
    handling a message must not make the send of that very message report
    MT_ECLOSED: it was alive and the message was delivered. (A race: an
    mt_send that checks liveness after the push fails this, reliably, with
    several workers: the receiver runs and stops in between.) */
static atomic_long stop_on_msg_handled;

static void stop_on_msg_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    atomic_fetch_add(&stop_on_msg_handled, 1);
    mt_stop(self, 0);
}

START_TEST(send_result_when_receiver_stops_itself)
{
    enum { N = 50000 };
    atomic_store(&stop_on_msg_handled, 0);
    long eclosed = 0;
    for (int i = 0; i < N; i++) {
        mt_actor_t *a = mt_spawn(rt, stop_on_msg_behaviour, NULL, NULL);
        ck_assert_ptr_nonnull(a);
        int rc = mt_send(a, t_msg_counted(T_WORK, i));
        ck_assert(rc == MT_OK || rc == MT_ECLOSED);
        if (rc == MT_ECLOSED)
            eclosed++;
        mt_actor_unref(&a);
    }
    /* The first message to a live actor is always delivered... */
    ck_assert_eventually(atomic_load(&stop_on_msg_handled) >= N, T_WAIT);
    ck_assert_int_eq(atomic_load(&stop_on_msg_handled), N);
    ck_assert_eventually(atomic_load(&t_drops) >= N, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), N);
    /* ...so none of those sends may say it was dropped. */
    ck_assert_msg(eclosed == 0, "%ld of %d delivered messages were reported MT_ECLOSED",
                  eclosed, (int) N);
}
END_TEST

/* ---- stats ------------------------------------------------------------------ */

START_TEST(stats_counters)
{
    atomic_store(&handled_count, 0);
    mt_stats_t s0 = t_stats();
    ck_assert_int_eq(s0.workers, t_workers);

    mt_actor_t *a = mt_spawn(rt, count_behaviour, NULL, NULL);
    ck_assert_ptr_nonnull(a);
    mt_stats_t s1 = t_stats();
    ck_assert_uint_eq(s1.actors_alive, s0.actors_alive + 1);
    ck_assert_uint_eq(s1.actors_spawned, s0.actors_spawned + 1);

    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(mt_send_i64(a, T_WORK, i), MT_OK);
    ck_assert_eventually(atomic_load(&handled_count) >= 100, T_WAIT);
    ck_assert_int_eq(atomic_load(&handled_count), 100);
    ck_assert_eventually(t_stats().msgs_delivered - s0.msgs_delivered >= 100, T_WAIT);
    t_sleep_ms(T_QUIET);
    s1 = t_stats();
    ck_assert_uint_eq(s1.msgs_sent - s0.msgs_sent, 100);
    ck_assert_uint_eq(s1.msgs_delivered - s0.msgs_delivered, 100);
    ck_assert_uint_eq(s1.msgs_dropped, s0.msgs_dropped);
    uint64_t runs = 0;
    for (int i = 0; i < MT_MAX_WORKERS; i++) {
        if (i >= s1.workers)
            ck_assert_uint_eq(s1.worker_runs[i], 0);
        runs += s1.worker_runs[i];
    }
    ck_assert_uint_gt(runs, 0);

    mt_stop(a, 0);
    ck_assert_eventually(t_stats().actors_alive == s0.actors_alive, T_WAIT);
    ck_assert(!mt_actor_alive(a));
    mt_stats_t s2 = t_stats();
    ck_assert_uint_eq(s2.actors_spawned, s0.actors_spawned + 1);
    ck_assert_int_eq(mt_send_i64(a, T_WORK, 0), MT_ECLOSED);
    mt_stats_t s3 = t_stats();
    ck_assert_uint_eq(s3.msgs_dropped, s2.msgs_dropped + 1);
    ck_assert_uint_eq(s3.msgs_delivered, s2.msgs_delivered);
    ck_assert_int_eq(atomic_load(&handled_count), 100);
    mt_actor_unref(&a);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("core_send");
    TCase *tc = t_tcase("send", 60);
    tcase_add_test(tc, msg_new_fields);
    tcase_add_test(tc, payload_and_order_one_sender);
    tcase_add_test(tc, send_to_stopped_actor);
    tcase_add_test(tc, unref_while_running);
    tcase_add_test(tc, stats_counters);
    tcase_add_test(tc, send_result_when_receiver_stops_itself);
    suite_add_tcase(s, tc);

    TCase *slow = t_tcase("many_senders", 300);
    tcase_add_test(slow, many_senders_fifo);
    suite_add_tcase(s, slow);
    return s;
}

T_MAIN(make_suite)
