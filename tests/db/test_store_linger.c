/*  test_store_linger.c — heartbeats wait for company only while others
    heartbeat too (store.c, on_status; the policy: linger.c, and its own
    test with made-up times, test_store_linger_policy.c).

    The store here lingers up to 60 s, far beyond any answer the tests
    wait for, so an answer within seconds proves a heartbeat did not wait
    the whole linger; commits are counted, not timed: no clock bound on
    the database's speed. */
#include "mt_check.h"
#include "store_testutil.h"

#include <check.h>
#include <unistd.h>

#define DB "metactor_t_store_linger"
#define LINGER_MS 60000
#define BATCH 64

static mt_runtime_t *rt;
static mt_store_t *store;
static char *dsn;

static void setup(void)
{
    rt = mt_runtime_new(NULL);
    tu_drop_db(NULL, DB);
    dsn = tu_dsn_for(NULL, DB);
    mt_store_opts_t o = { .dsn = dsn, .writers = 1, .batch_max = BATCH, .linger_ms = LINGER_MS };
    char err[256] = "";
    ck_assert_msg(mt_store_new(rt, &o, &store, err, sizeof err) == MT_OK, "%s", err);
    ck_assert_int_eq(mt_store_wait_ready(store, 120000), MT_OK);
    for (int i = 0; i < BATCH; i++) {
        char id[32];
        snprintf(id, sizeof id, "l%02d", i);
        ck_assert_int_eq(tu_write(rt, store, id, mt_store_msg_register(id, tu_reg("10.0.0.1", "a=1", "")),
                                  NULL, NULL), MT_OK);
    }
}

static void teardown(void)
{
    mt_store_destroy(&store);
    mt_runtime_destroy(&rt);
    free(dsn);
}

static int64_t stored_heartbeat(const char *id)
{
    mt_msg_t *r = tu_ask(rt, mt_store_writer(store, id), mt_store_msg_load(id));
    mt_store_loaded_t *l = mt_msg_data(r);
    ck_assert_int_eq(l->err, MT_OK);
    int64_t hb = l->row.status ? l->row.status->heartbeat_at : 0;
    mt_msg_free(r);
    return hb;
}

START_TEST(a_lone_client_never_waits)
{
    for (int i = 1; i <= 5; i++)        /* one at a time: every flush holds one */
        ck_assert_int_eq(tu_write(rt, store, "l00", mt_store_msg_status("l00", tu_status(i, true), true),
                                  NULL, NULL), MT_OK);
    ck_assert_int_eq(stored_heartbeat("l00"), 5);
}
END_TEST

/*  A heartbeat sent from the probe, answered to it with corr. */
static void send_status(mt_probe_t *p, const char *id, int64_t hb, uint64_t corr)
{
    mt_msg_t *m = mt_store_msg_status(id, tu_status(hb, true), true);
    m->from = mt_actor_ref(mt_probe_actor(p));
    m->corr = corr;
    ck_assert_int_eq(mt_send(mt_store_writer(store, id), m), MT_OK);
}

static mt_msg_t *answer(mt_probe_t *p, int timeout_ms)
{
    mt_msg_t *r = mt_probe_recv(p, timeout_ms);
    if (r) {
        ck_assert_int_eq(r->type, MT_STORE_DONE);
        ck_assert_int_eq(((mt_store_done_t *) mt_msg_data(r))->err, MT_OK);
    }
    return r;
}

/*  Sends n heartbeats at once (ids l00..), then collects answers until n
    came or none for a second; returns how many came. */
static int burst(mt_probe_t *p, int n, int64_t hb)
{
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "l%02d", i);
        send_status(p, id, hb, (uint64_t) i + 1);
    }
    int got = 0;
    for (mt_msg_t *r; got < n && (r = answer(p, 1000)); got++)
        mt_msg_free(r);
    return got;
}

static uint64_t status_batches(void)
{
    mt_store_stats_t st;
    mt_store_stats(store, &st);
    return st.status_batches;
}

/*  Once flushes carry several heartbeats, a heartbeat waits for company
    while others keep coming (a fleet's pace: here one every 20 ms), and
    the wait ends once they stop — long before LINGER_MS. A request for
    the writer commits what is pending first; a full batch does not wait. */
START_TEST(a_stream_waits_for_company_and_silence_ends_the_wait)
{
    mt_probe_t *p = mt_probe_new(rt);
    /*  Traffic: heartbeats arriving while a commit runs join the next. */
    for (int round = 0; round < 2; round++) {
        int got = burst(p, BATCH, 100 + round);
        ck_assert_int_eq(stored_heartbeat("l00"), 100 + round);     /* flushes the rest */
        for (mt_msg_t *r; got < BATCH && (r = answer(p, 20000)); got++)
            mt_msg_free(r);
        ck_assert_int_eq(got, BATCH);
    }
    /*  A stream: 40 heartbeats 20 ms apart commit in a few transactions
        (a few go alone while the writer still answers the bursts above
        at once), not 40; all are answered once it stops. */
    enum { STREAM = 40 };
    uint64_t before = status_batches();
    for (int i = 0; i < STREAM; i++) {
        char id[32];
        snprintf(id, sizeof id, "l%02d", i);
        send_status(p, id, 200, (uint64_t) 1000 + (uint64_t) i);
        usleep(20 * 1000);
    }
    int got = 0;
    for (mt_msg_t *r; got < STREAM && (r = answer(p, 20000)); got++)
        mt_msg_free(r);
    ck_assert_int_eq(got, STREAM);
    uint64_t commits = status_batches() - before;
    ck_assert_msg(commits <= STREAM / 4, "%d heartbeats took %llu commits", STREAM,
                  (unsigned long long) commits);
    /*  A request for the writer commits what is pending first. */
    send_status(p, "l01", 300, 2000);
    ck_assert_int_eq(stored_heartbeat("l01"), 300);
    mt_msg_t *r = answer(p, 20000);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->corr, 2000);
    mt_msg_free(r);
    /*  A full batch commits without waiting: all answered long before a minute. */
    ck_assert_int_eq(burst(p, BATCH, 400), BATCH);
    mt_probe_destroy(&p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store_linger");
    TCase *tc = tcase_create("linger");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, a_lone_client_never_waits);
    tcase_add_test(tc, a_stream_waits_for_company_and_silence_ends_the_wait);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
