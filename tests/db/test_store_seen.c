/*  test_store_seen.c — a heartbeat's commit is stamped with the database's
    clock (seen_at, schema v5): answered in DONE, stored, read back by loads
    and scans; it grows with every heartbeat whatever the node says its
    time is (heartbeat_at is stored as given). The membership beat measures
    its round trip around the server's now (a clock sample). */
#include "store_testutil.h"
#include "mt_check.h"

#include <time.h>

static mt_runtime_t *rt;
static mt_store_t *store;
static MYSQL *raw;
static char *dsn;
#define DB "metactor_t_store_seen"

static void setup(void)
{
    tu_open(&rt, &dsn, &store, &raw, DB, 2);
}

static void teardown(void)
{
    tu_close(&rt, &dsn, &store, &raw);
}

static long long db_now(void)
{
    return tu_i64(raw, "SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)");
}

/*  A heartbeat; returns DONE's seen_at. */
static int64_t beat(const char *id, int64_t heartbeat_at, bool registered, int64_t *rev)
{
    mt_msg_t *r = tu_ask(rt, mt_store_writer(store, id),
                         mt_store_msg_status(id, tu_status(heartbeat_at, true), registered));
    ck_assert_int_eq(r->type, MT_STORE_DONE);
    mt_store_done_t *d = mt_msg_data(r);
    ck_assert_msg(d->err == MT_OK, "%s", d->message);
    int64_t seen = d->seen_at;
    if (rev)
        *rev = d->revision;
    mt_msg_free(r);
    return seen;
}

static long long stored(const char *what, const char *id)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT %s FROM node_status WHERE id = '%s'", what, id);
    return tu_i64(raw, sql);
}

START_TEST(stamped_by_the_server)
{
    ck_assert_int_eq(tu_write(rt, store, "n1", mt_store_msg_register("n1", tu_reg("h", NULL, NULL)),
                              NULL, NULL), MT_OK);
    long long before = db_now();
    /*  The node's own idea of time is data: long ago, then ten years ahead. */
    int64_t seen1 = beat("n1", 5, false, NULL);
    long long after = db_now();
    ck_assert_int_ge(seen1, before);
    ck_assert_int_le(seen1, after);
    ck_assert_int_eq(stored("seen_at", "n1"), seen1);
    ck_assert_int_eq(stored("heartbeat_at", "n1"), 5);

    nanosleep(&(struct timespec) { .tv_nsec = 30000000 }, NULL);
    int64_t ahead = mt_wall_ms() + 10LL * 365 * 24 * 3600 * 1000;
    int64_t seen2 = beat("n1", ahead, true, NULL);
    ck_assert_int_ge(seen2, seen1 + 25);         /* it grows with the server's clock */
    ck_assert_int_le(seen2, db_now());
    ck_assert_int_eq(stored("seen_at", "n1"), seen2);
    ck_assert_int_eq(stored("heartbeat_at", "n1"), ahead);

    /*  A load and a scan read it back. */
    mt_msg_t *m = tu_ask(rt, mt_store_reader(store), mt_store_msg_load("n1"));
    mt_store_loaded_t *l = mt_msg_data(m);
    ck_assert_int_eq(l->err, MT_OK);
    ck_assert_int_eq(l->row.status->seen_at, seen2);
    ck_assert_int_eq(l->row.status->heartbeat_at, ahead);
    mt_msg_free(m);
    m = tu_ask(rt, mt_store_reader(store), mt_store_msg_scan(0, true));
    mt_store_scanned_t *s = mt_msg_data(m);
    ck_assert_int_eq(s->err, MT_OK);
    ck_assert_uint_eq(s->nrows, 1);
    ck_assert_int_eq(s->rows[0].status->seen_at, seen2);
    mt_msg_free(m);
}
END_TEST

/*  Heartbeats of one batch share the transaction's stamp; every later
    batch's is later (the fast path and the checked path alike). */
START_TEST(batches_grow)
{
    enum { N = 40 };
    char id[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(id[i], sizeof id[i], "b%02d", i);
        ck_assert_int_eq(tu_write(rt, store, id[i], mt_store_msg_register(id[i],
                                  tu_reg("h", NULL, NULL)), NULL, NULL), MT_OK);
    }
    int64_t last = 0;
    for (int round = 0; round < 3; round++) {
        /*  Sent at once, answered as their batches commit. */
        mt_probe_t *p = mt_probe_new(rt);
        for (int i = 0; i < N; i++) {
            mt_msg_t *m = mt_store_msg_status(id[i], tu_status(1000 + round, true), round > 0);
            m->from = mt_actor_ref(mt_probe_actor(p));
            m->corr = (uint64_t) i + 1;
            ck_assert_int_eq(mt_send(mt_store_writer(store, id[i]), m), MT_OK);
        }
        int64_t lo = INT64_MAX, hi = 0;
        for (int i = 0; i < N; i++) {
            mt_msg_t *r = mt_probe_expect(p, MT_STORE_DONE, 20000);
            ck_assert_ptr_nonnull(r);
            mt_store_done_t *d = mt_msg_data(r);
            ck_assert_msg(d->err == MT_OK, "%s", d->message);
            lo = d->seen_at < lo ? d->seen_at : lo;
            hi = d->seen_at > hi ? d->seen_at : hi;
            mt_msg_free(r);
        }
        mt_probe_destroy(&p);
        ck_assert_int_gt(lo, last);
        last = hi;
        nanosleep(&(struct timespec) { .tv_nsec = 5000000 }, NULL);
    }
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM node_status WHERE seen_at = 0"), 0);
    ck_assert_int_le(tu_i64(raw, "SELECT MAX(seen_at) FROM node_status"), db_now());
}
END_TEST

/*  A heartbeat_at beyond MT_TIME_MAX or below 0 is never stored. */
START_TEST(heartbeat_at_bounds)
{
    ck_assert_int_eq(tu_write(rt, store, "n2", mt_store_msg_register("n2", tu_reg("h", NULL, NULL)),
                              NULL, NULL), MT_OK);
    char err[200];
    mt_node_status_t *st = tu_status(MT_TIME_MAX, true);
    ck_assert_int_eq(mt_node_status_check(st, err, sizeof err), MT_OK);
    mt_node_status_unref(&st);
    st = tu_status(MT_TIME_MAX + 1, true);
    ck_assert_int_eq(mt_node_status_check(st, err, sizeof err), MT_EBADREQ);
    ck_assert_msg(strstr(err, "heartbeat_at"), "%s", err);
    mt_node_status_unref(&st);
    st = tu_status(-1, true);
    ck_assert_int_eq(mt_node_status_check(st, err, sizeof err), MT_EBADREQ);
    mt_node_status_unref(&st);
    /*  MT_TIME_MAX itself is stored and read back. */
    beat("n2", MT_TIME_MAX, false, NULL);
    ck_assert_int_eq(stored("heartbeat_at", "n2"), MT_TIME_MAX);
}
END_TEST

/*  The beat's sample: the server's now lies within the round trip the
    store measured (on this host both clocks are one, up to the
    granularity of ms). */
START_TEST(beat_samples_the_clock)
{
    for (int i = 0; i < 5; i++) {
        int64_t wall_before = mt_wall_ms();
        uint64_t mono_before = mt_now_ms();
        mt_msg_t *m = tu_ask(rt, mt_store_members(store),
                             mt_store_msg_replica_beat("r1", "tcp://a:1", "tcp://a:2", 1, 3000));
        ck_assert_int_eq(m->type, MT_STORE_REPLICAS);
        mt_store_replicas_t *r = mt_msg_data(m);
        ck_assert_msg(r->err == MT_OK, "%s", r->message);
        ck_assert_uint_ge(r->sent_ms, mono_before);
        ck_assert_uint_ge(r->received_ms, r->sent_ms);
        ck_assert_uint_le(r->received_ms, mt_now_ms());
        /*  The server runs on this host: its now, placed on our monotonic
            clock through the wall clock, falls within the round trip. */
        int64_t shift = wall_before - (int64_t) mono_before;
        ck_assert_int_ge(r->now_ms, (int64_t) r->sent_ms + shift - 5);
        ck_assert_int_le(r->now_ms, (int64_t) r->received_ms + shift + 5);
        mt_msg_free(m);
    }
}
END_TEST

int main(void)
{
    Suite *su = suite_create("store_seen");
    TCase *tc = tcase_create("seen_at");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, stamped_by_the_server);
    tcase_add_test(tc, batches_grow);
    tcase_add_test(tc, heartbeat_at_bounds);
    tcase_add_test(tc, beat_samples_the_clock);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
