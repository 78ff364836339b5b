/*  test_store_linger.c — heartbeats wait for company only while others
    heartbeat too (store.c, on_status; mt_store_opts_t.linger_ms).

    The store here lingers 60 s, far beyond any answer the tests wait for,
    so an answer within seconds proves a heartbeat did not linger, and no
    answer within one second proves it did: no clock bound on the
    database's speed. */
#include "mt_check.h"
#include "store_testutil.h"

#include <check.h>

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

/*  Once flushes carry several heartbeats, a heartbeat waits for company —
    until batch_max are pending, or another request for its writer
    commits what is pending first. */
START_TEST(heartbeats_of_many_wait_for_company_and_a_full_batch_does_not)
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
    /*  Now a heartbeat waits (LINGER_MS, a minute) ... */
    send_status(p, "l01", 200, 1000);
    ck_assert_msg(answer(p, 1000) == NULL, "a heartbeat did not wait for company");
    /*  ... until a request for its writer commits it first. */
    ck_assert_int_eq(stored_heartbeat("l01"), 200);
    mt_msg_t *r = answer(p, 20000);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->corr, 1000);
    mt_msg_free(r);
    /*  A full batch commits without waiting: all answered long before a minute. */
    ck_assert_int_eq(burst(p, BATCH, 300), BATCH);
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
    tcase_add_test(tc, heartbeats_of_many_wait_for_company_and_a_full_batch_does_not);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
