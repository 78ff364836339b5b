/*  core_ask: mt_ask (reply, timeout, late reply dropped, exactly one answer
    per ask), mt_reply, blocking mt_ask_wait (reply, timeout, concurrency). */
#include "testutil.h"

enum {
    T_REQ = MT_MSG_USER,  /* i64 x: server answers T_RESP 2x; x < 0: holds it */
    T_RESP,
    T_RELEASE,            /* server: answer every held request with T_RESP 999 */
    T_GO,                 /* client: ask (payload go_t) */
    T_ASKED,              /* client -> probe: the corr mt_ask returned */
    T_SEEN,               /* client -> probe: a message it got (seen_t) */
    T_HELD,               /* server -> probe: -(number of held requests released) */
    T_GO_MANY,            /* client: i64 n asks at once, reports T_ASKED_MANY */
    T_ASKED_MANY,         /* client -> probe: the n corrs */
    T_NOISE,              /* server -> asker, before the reply, for x >= NOISY */
};
#define NOISY 1000000

/* ---- the server ------------------------------------------------------------ */

#define MAX_HELD 64
typedef struct {
    mt_actor_t *report;
    mt_msg_t *held[MAX_HELD];
    int nheld;
} server_state_t;

static void server_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    server_state_t *st = state;
    if (msg->type == T_REQ) {
        int64_t x = mt_msg_i64(msg);
        if (x >= NOISY) {
            /* A message to the asker that is not the reply (no corr). */
            if (msg->from)
                mt_send(msg->from, mt_msg_new_i64(T_NOISE, x));
            mt_reply(msg, mt_msg_new_i64(T_RESP, 2 * x));
        } else if (x >= 0) {
            mt_reply(msg, mt_msg_new_i64(T_RESP, 2 * x));
        } else if (st->nheld < MAX_HELD) {
            mt_msg_keep(msg);
            st->held[st->nheld++] = msg;
        }
    } else if (msg->type == T_RELEASE) {
        for (int i = 0; i < st->nheld; i++) {
            mt_reply(st->held[i], t_msg_counted(T_RESP, 999));
            mt_msg_free(st->held[i]);
        }
        t_tell(st->report, T_HELD, -st->nheld);
        st->nheld = 0;
    }
}

static void server_destroy(void *state)
{
    server_state_t *st = state;
    for (int i = 0; i < st->nheld; i++)
        mt_msg_free(st->held[i]);
    mt_actor_unref(&st->report);
    free(st);
}

static mt_actor_t *spawn_server(void)
{
    server_state_t *st = calloc(1, sizeof *st);
    st->report = t_probe_ref();
    mt_actor_t *a = mt_spawn(rt, server_behaviour, st, server_destroy);
    ck_assert_ptr_nonnull(a);
    return a;
}

/* ---- the client --------------------------------------------------------------- */

typedef struct { int64_t x; uint32_t timeout_ms; } go_t;
typedef struct { uint16_t type; uint64_t corr; int64_t value; uint64_t at_ms; } seen_t;

typedef struct {
    mt_actor_t *report;
    mt_actor_t *server;
} client_state_t;

static void client_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    client_state_t *st = state;
    if (msg->type == T_GO) {
        go_t g;
        memcpy(&g, mt_msg_data(msg), sizeof g);
        uint64_t corr = mt_ask(self, st->server, mt_msg_new_i64(T_REQ, g.x), g.timeout_ms);
        t_tell(st->report, T_ASKED, (int64_t) corr);
    } else if (msg->type == T_GO_MANY) {
        /* x = i, or -1 (held) for odd i; all from one handler, so the corrs
           reach the probe before any answer. */
        int64_t n = mt_msg_i64(msg);
        mt_msg_t *r = mt_msg_new(T_ASKED_MANY, (size_t) n * sizeof(uint64_t));
        uint64_t *corr = mt_msg_data(r);
        for (int64_t i = 0; i < n; i++)
            corr[i] = mt_ask(self, st->server, mt_msg_new_i64(T_REQ, i % 2 ? -1 : i), 1500);
        mt_send(st->report, r);
    } else {
        seen_t s = { msg->type, msg->corr, msg->size == 8 ? mt_msg_i64(msg) : 0, mt_now_ms() };
        mt_send(st->report, t_msg_blob(T_SEEN, &s, sizeof s));
    }
}

static void client_destroy(void *state)
{
    client_state_t *st = state;
    mt_actor_unref(&st->report);
    mt_actor_unref(&st->server);
    free(st);
}

static mt_actor_t *spawn_client(mt_actor_t *server)
{
    client_state_t *st = calloc(1, sizeof *st);
    st->report = t_probe_ref();
    st->server = mt_actor_ref(server);
    mt_actor_t *a = mt_spawn(rt, client_behaviour, st, client_destroy);
    ck_assert_ptr_nonnull(a);
    return a;
}

static uint64_t go(mt_actor_t *client, int64_t x, uint32_t timeout_ms)
{
    go_t g = { x, timeout_ms };
    ck_assert_int_eq(mt_send(client, t_msg_blob(T_GO, &g, sizeof g)), MT_OK);
    uint64_t corr = (uint64_t) t_recv_i64(T_ASKED);
    ck_assert_uint_ne(corr, 0);
    return corr;
}

static seen_t recv_seen(void)
{
    mt_msg_t *m = t_recv_type(T_SEEN);
    seen_t s;
    memcpy(&s, mt_msg_data(m), sizeof s);
    mt_msg_free(m);
    return s;
}

/* ---- tests ---------------------------------------------------------------------- */

START_TEST(ask_reply)
{
    mt_actor_t *server = spawn_server();
    mt_actor_t *client = spawn_client(server);
    uint64_t c1 = go(client, 21, 5000);
    seen_t s = recv_seen();
    ck_assert_uint_eq(s.type, T_RESP);
    ck_assert_uint_eq(s.corr, c1);
    ck_assert_int_eq(s.value, 42);

    /* A reply that came in time: no MT_MSG_TIMEOUT later. */
    uint64_t c2 = go(client, 5, 1000);
    ck_assert_uint_ne(c2, c1);
    s = recv_seen();
    ck_assert_uint_eq(s.type, T_RESP);
    ck_assert_uint_eq(s.corr, c2);
    ck_assert_int_eq(s.value, 10);
    mt_msg_t *m = mt_probe_recv(probe, 2000);
    ck_assert_msg(m == NULL, "a second answer to one ask (type %u)", m ? m->type : 0);

    mt_actor_unref(&client);
    mt_actor_unref(&server);
}
END_TEST

START_TEST(ask_timeout_late_reply_dropped)
{
    mt_actor_t *server = spawn_server();
    mt_actor_t *client = spawn_client(server);
    uint64_t t0 = mt_now_ms();
    uint64_t c = go(client, -1, 100);
    seen_t s = recv_seen();
    ck_assert_uint_eq(s.type, MT_MSG_TIMEOUT);
    ck_assert_uint_eq(s.corr, c);
    ck_assert_uint_ge(s.at_ms, t0 + 100);

    /* Now the server answers: the reply is late, dropped, never handled. */
    mt_stats_t s0 = t_stats();
    ck_assert_int_eq(mt_send_i64(server, T_RELEASE, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_HELD), -1);
    ck_assert_eventually(atomic_load(&t_drops) >= 1, T_WAIT);   /* reply freed */
    ck_assert_int_eq(atomic_load(&t_drops), 1);
    ck_assert_eventually(t_stats().msgs_dropped >= s0.msgs_dropped + 1, T_WAIT);
    t_assert_quiet();                    /* no T_SEEN of the late reply */

    /* The client still works. */
    uint64_t c2 = go(client, 4, 5000);
    s = recv_seen();
    ck_assert_uint_eq(s.type, T_RESP);
    ck_assert_uint_eq(s.corr, c2);
    ck_assert_int_eq(s.value, 8);

    mt_actor_unref(&client);
    mt_actor_unref(&server);
}
END_TEST

/*  Many asks in flight, half answered, half not: exactly one answer each,
    with the right corr and value; late replies never show. */
START_TEST(ask_many_exactly_one_answer)
{
    enum { N = 40 };
    mt_actor_t *server = spawn_server();
    mt_actor_t *client = spawn_client(server);
    uint64_t corr[N];
    ck_assert_int_eq(mt_send_i64(client, T_GO_MANY, N), MT_OK);
    mt_msg_t *m = t_recv_type(T_ASKED_MANY);
    ck_assert_uint_eq(m->size, sizeof corr);
    memcpy(corr, mt_msg_data(m), sizeof corr);
    mt_msg_free(m);
    for (int i = 0; i < N; i++) {
        ck_assert_uint_ne(corr[i], 0);
        for (int j = 0; j < i; j++)
            ck_assert_uint_ne(corr[i], corr[j]);
    }
    int answered[N] = { 0 };
    for (int k = 0; k < N; k++) {
        seen_t s = recv_seen();
        int i = 0;
        while (i < N && corr[i] != s.corr)
            i++;
        ck_assert_msg(i < N, "answer with unknown corr %llu", (unsigned long long) s.corr);
        ck_assert_int_eq(answered[i]++, 0);
        if (i % 2) {
            ck_assert_uint_eq(s.type, MT_MSG_TIMEOUT);
        } else {
            ck_assert_uint_eq(s.type, T_RESP);
            ck_assert_int_eq(s.value, 2 * i);
        }
    }
    ck_assert_int_eq(mt_send_i64(server, T_RELEASE, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_HELD), -N / 2);
    ck_assert_eventually(atomic_load(&t_drops) >= N / 2, T_WAIT);  /* late replies freed */
    ck_assert_int_eq(atomic_load(&t_drops), N / 2);
    t_assert_quiet();
    mt_actor_unref(&client);
    mt_actor_unref(&server);
}
END_TEST

START_TEST(ask_stopped_actor_times_out)
{
    mt_actor_t *server = spawn_server();
    ck_assert_int_eq(mt_monitor(t_probe_actor(), server), MT_OK);
    mt_stop(server, 0);
    mt_msg_free(t_recv_type(MT_MSG_DOWN));
    mt_actor_t *client = spawn_client(server);
    uint64_t c = go(client, 1, 100);
    seen_t s = recv_seen();
    ck_assert_uint_eq(s.type, MT_MSG_TIMEOUT);
    ck_assert_uint_eq(s.corr, c);
    t_assert_quiet();
    mt_actor_unref(&client);
    mt_actor_unref(&server);
}
END_TEST

/*  An actor asks the probe; the test thread answers with mt_reply. */
START_TEST(reply_from_probe)
{
    mt_actor_t *client = spawn_client(t_probe_actor());
    go_t g = { 7, 5000 };
    ck_assert_int_eq(mt_send(client, t_msg_blob(T_GO, &g, sizeof g)), MT_OK);
    /* The client sends the request (mt_ask) before it reports the corr. */
    mt_msg_t *req = t_recv_type(T_REQ);
    uint64_t c = (uint64_t) t_recv_i64(T_ASKED);
    ck_assert_uint_eq(req->corr, c);
    ck_assert_ptr_eq(req->from, client);
    ck_assert_int_eq(mt_msg_i64(req), 7);
    ck_assert_int_eq(mt_reply(req, mt_msg_new_i64(T_RESP, 70)), MT_OK);
    mt_msg_free(req);
    seen_t s = recv_seen();
    ck_assert_uint_eq(s.type, T_RESP);
    ck_assert_uint_eq(s.corr, c);
    ck_assert_int_eq(s.value, 70);
    mt_actor_unref(&client);
}
END_TEST

START_TEST(reply_without_reply_to)
{
    mt_msg_t *req = mt_msg_new_i64(T_REQ, 1);
    ck_assert_ptr_null(req->from);
    (void) mt_reply(req, t_msg_counted(T_RESP, 2));
    ck_assert_int_eq(atomic_load(&t_drops), 1);
    mt_msg_free(req);
    t_assert_quiet();
}
END_TEST

/* ---- mt_ask_wait ------------------------------------------------------------------- */

START_TEST(ask_wait_reply)
{
    mt_actor_t *server = spawn_server();
    for (int i = 0; i < 100; i++) {
        mt_msg_t *reply = NULL;
        ck_assert_int_eq(mt_ask_wait(rt, server, mt_msg_new_i64(T_REQ, i), 5000, &reply), MT_OK);
        ck_assert_ptr_nonnull(reply);
        ck_assert_uint_eq(reply->type, T_RESP);
        ck_assert_int_eq(mt_msg_i64(reply), 2 * i);
        ck_assert_uint_ne(reply->corr, 0);
        mt_msg_free(reply);
    }
    /* Other messages reaching the waiter are not the reply. */
    for (int i = 0; i < 100; i++) {
        mt_msg_t *reply = NULL;
        ck_assert_int_eq(mt_ask_wait(rt, server, mt_msg_new_i64(T_REQ, NOISY + i), 5000, &reply),
                         MT_OK);
        ck_assert_uint_eq(reply->type, T_RESP);
        ck_assert_int_eq(mt_msg_i64(reply), 2 * (NOISY + i));
        mt_msg_free(reply);
    }
    mt_actor_unref(&server);
}
END_TEST

START_TEST(ask_wait_timeout)
{
    mt_actor_t *server = spawn_server();
    mt_msg_t *reply = NULL;
    uint64_t t0 = mt_now_ms();
    ck_assert_int_eq(mt_ask_wait(rt, server, mt_msg_new_i64(T_REQ, -1), 150, &reply),
                     MT_ETIMEDOUT);
    ck_assert_uint_ge(mt_now_ms() - t0, 150);

    /* The late reply goes nowhere (no crash, freed)... */
    ck_assert_int_eq(mt_send_i64(server, T_RELEASE, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_HELD), -1);
    ck_assert_eventually(atomic_load(&t_drops) >= 1, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), 1);
    /* ...and is not mistaken for the answer to the next ask. */
    reply = NULL;
    ck_assert_int_eq(mt_ask_wait(rt, server, mt_msg_new_i64(T_REQ, 8), 5000, &reply), MT_OK);
    ck_assert_int_eq(mt_msg_i64(reply), 16);
    mt_msg_free(reply);

    /* Late reply racing the next ask_wait (same thread). */
    reply = NULL;
    ck_assert_int_eq(mt_ask_wait(rt, server, mt_msg_new_i64(T_REQ, -1), 50, &reply),
                     MT_ETIMEDOUT);
    ck_assert_int_eq(mt_send_i64(server, T_RELEASE, 0), MT_OK);
    reply = NULL;
    ck_assert_int_eq(mt_ask_wait(rt, server, mt_msg_new_i64(T_REQ, 9), 5000, &reply), MT_OK);
    ck_assert_int_eq(mt_msg_i64(reply), 18);
    mt_msg_free(reply);
    ck_assert_int_eq(t_recv_i64(T_HELD), -1);
    mt_actor_unref(&server);
}
END_TEST

START_TEST(ask_wait_stopped_actor)
{
    mt_actor_t *server = spawn_server();
    ck_assert_int_eq(mt_monitor(t_probe_actor(), server), MT_OK);
    mt_stop(server, 0);
    mt_msg_free(t_recv_type(MT_MSG_DOWN));
    mt_msg_t *reply = NULL;
    int rc = mt_ask_wait(rt, server, t_msg_counted(T_REQ, 1), 100, &reply);
    ck_assert_msg(rc == MT_ETIMEDOUT || rc == MT_ECLOSED, "rc %d", rc);
    ck_assert_eventually(atomic_load(&t_drops) >= 1, T_WAIT);   /* request freed */
    ck_assert_int_eq(atomic_load(&t_drops), 1);
    mt_actor_unref(&server);
}
END_TEST

typedef struct { mt_actor_t *server; int id; int failures; } asker_t;

static void *asker_main(void *arg)
{
    asker_t *a = arg;
    for (int i = 0; i < 2000; i++) {
        int64_t x = a->id * 100000 + i;
        mt_msg_t *reply = NULL;
        int rc = mt_ask_wait(rt, a->server, mt_msg_new_i64(T_REQ, x), T_WAIT, &reply);
        if (rc != MT_OK || reply == NULL || mt_msg_i64(reply) != 2 * x)
            a->failures++;
        if (rc == MT_OK && reply)
            mt_msg_free(reply);
    }
    return NULL;
}

START_TEST(ask_wait_many_threads)
{
    enum { NT = 4 };
    mt_actor_t *server = spawn_server();
    pthread_t th[NT];
    asker_t args[NT];
    for (int i = 0; i < NT; i++) {
        args[i] = (asker_t) { server, i, 0 };
        ck_assert_int_eq(pthread_create(&th[i], NULL, asker_main, &args[i]), 0);
    }
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].failures, 0);
    }
    mt_actor_unref(&server);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("core_ask");
    TCase *tc = t_tcase("ask", 60);
    tcase_add_test(tc, ask_reply);
    tcase_add_test(tc, ask_timeout_late_reply_dropped);
    tcase_add_test(tc, ask_many_exactly_one_answer);
    tcase_add_test(tc, ask_stopped_actor_times_out);
    tcase_add_test(tc, reply_from_probe);
    tcase_add_test(tc, reply_without_reply_to);
    tcase_add_test(tc, ask_wait_reply);
    tcase_add_test(tc, ask_wait_timeout);
    tcase_add_test(tc, ask_wait_stopped_actor);
    suite_add_tcase(s, tc);
    TCase *slow = t_tcase("ask_wait_threads", 300);
    tcase_add_test(slow, ask_wait_many_threads);
    suite_add_tcase(s, slow);
    return s;
}

T_MAIN(make_suite)
