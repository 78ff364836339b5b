/*  test_store_batch.c — group commit of heartbeats: many concurrent
    writers, all answered after their commit with distinct revisions that
    grow in each node's send order, in far fewer transactions and
    statements than writes; and a lone heartbeat does not wait. */
#include "store_testutil.h"
#include "mt_check.h"

#include <pthread.h>

static mt_runtime_t *rt;
static mt_store_t *store;
static char *dsn;
#define DB "metactor_t_store_batch"

static void setup(void)
{
    tu_open(&rt, &dsn, &store, NULL, DB, 2);
}

static void teardown(void)
{
    tu_close(&rt, &dsn, &store, NULL);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

enum { NODES = 200, ROUNDS = 10, TOTAL = NODES * ROUNDS };

START_TEST(many_heartbeats_few_transactions)
{
    char id[32];
    for (int n = 0; n < NODES; n++) {
        snprintf(id, sizeof id, "node-%04d", n);
        ck_assert_int_eq(tu_write(rt, store, id, mt_store_msg_register(id, tu_reg("h", NULL, NULL)),
                                  NULL, NULL), MT_OK);
    }
    mt_store_stats_t before, after;
    mt_store_stats(store, &before);

    /* every heartbeat in flight at once: asks from one probe, corr = index */
    mt_probe_t *probe = mt_probe_new(rt);
    for (int i = 0; i < TOTAL; i++) {
        int n = i % NODES, round = i / NODES;
        snprintf(id, sizeof id, "node-%04d", n);
        mt_msg_t *m = mt_store_msg_status(id, tu_status(1000 * round + n, round % 2 == 0), false);
        m->from = mt_actor_ref(mt_probe_actor(probe));
        m->corr = (uint64_t) i + 1;
        ck_assert_int_eq(mt_send(mt_store_writer(store, id), m), MT_OK);
    }
    int64_t *rev = calloc(TOTAL, sizeof *rev);
    for (int got = 0; got < TOTAL; got++) {
        mt_msg_t *r = mt_probe_recv(probe, 20000);
        ck_assert_msg(r != NULL, "only %d of %d answers", got, TOTAL);
        ck_assert_int_eq(r->type, MT_STORE_DONE);
        mt_store_done_t *d = mt_msg_data(r);
        ck_assert_msg(d->err == MT_OK, "%s", d->message);
        ck_assert(r->corr >= 1 && r->corr <= TOTAL);
        ck_assert(rev[r->corr - 1] == 0);
        rev[r->corr - 1] = d->revision;
        mt_msg_free(r);
    }
    mt_probe_destroy(&probe);
    mt_store_stats(store, &after);

    /* per node, revisions grow in send order */
    for (int n = 0; n < NODES; n++)
        for (int round = 1; round < ROUNDS; round++)
            ck_assert(rev[round * NODES + n] > rev[(round - 1) * NODES + n]);
    /* all distinct */
    int64_t *sorted = malloc(TOTAL * sizeof *sorted);
    memcpy(sorted, rev, TOTAL * sizeof *sorted);
    qsort(sorted, TOTAL, sizeof *sorted, cmp_i64);
    for (int i = 1; i < TOTAL; i++)
        ck_assert(sorted[i] > sorted[i - 1]);

    uint64_t batches = after.status_batches - before.status_batches;
    uint64_t rows = after.status_rows - before.status_rows;
    uint64_t stmts = after.statements - before.statements;
    ck_assert_uint_eq(rows, TOTAL);
    ck_assert_msg(batches * 10 <= TOTAL, "%llu transactions for %d writes",
                  (unsigned long long) batches, TOTAL);
    ck_assert_msg(stmts * 4 <= TOTAL, "%llu statements for %d writes",
                  (unsigned long long) stmts, TOTAL);

    /* what is stored is the last heartbeat of each node, with its revision */
    MYSQL *raw = tu_raw(dsn, DB);
    for (int n = 0; n < NODES; n += 37) {
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT status_revision FROM node_status WHERE id='node-%04d'", n);
        ck_assert_int_eq(tu_i64(raw, sql), rev[(ROUNDS - 1) * NODES + n]);
        snprintf(sql, sizeof sql, "SELECT heartbeat_at FROM node_status WHERE id='node-%04d'", n);
        ck_assert_int_eq(tu_i64(raw, sql), 1000 * (ROUNDS - 1) + n);
    }
    mysql_close(raw);
    free(sorted);
    free(rev);
}
END_TEST

/*  Heartbeats of unknown nodes in the same batch fail alone. */
START_TEST(mixed_batch)
{
    ck_assert_int_eq(tu_write(rt, store, "known", mt_store_msg_register("known", tu_reg("h", NULL, NULL)),
                              NULL, NULL), MT_OK);
    mt_probe_t *probe = mt_probe_new(rt);
    const char *ids[] = { "known", "unknown", "known", "unknown2", "known" };
    for (int i = 0; i < 5; i++) {
        mt_msg_t *m = mt_store_msg_status(ids[i], tu_status(i, true), false);
        m->from = mt_actor_ref(mt_probe_actor(probe));
        m->corr = (uint64_t) i + 1;
        mt_send(mt_store_writer(store, "known"), m);   /* one writer: one batch */
    }
    int64_t last = 0;
    for (int i = 0; i < 5; i++) {
        mt_msg_t *r = mt_probe_recv(probe, 20000);
        ck_assert_ptr_nonnull(r);
        mt_store_done_t *d = mt_msg_data(r);
        int k = (int) r->corr - 1;
        if (k % 2 == 0) {
            ck_assert_msg(d->err == MT_OK, "%s", d->message);
            ck_assert(d->revision > last);
            last = d->revision;
        }
        else
            ck_assert_int_eq(d->err, MT_ENOTFOUND);
        mt_msg_free(r);
    }
    mt_probe_destroy(&probe);
}
END_TEST

/*  Heartbeats sent as "registered" (as node actors send them) skip the
    registration lock; the store still answers exactly as the checked path
    would, and older never overwrites newer. The recheck counter shows which
    path decided. */
static uint64_t rechecks(void)
{
    mt_store_stats_t st;
    mt_store_stats(store, &st);
    return st.status_rechecks;
}

static int beat(const char *id, int64_t at, int64_t *rev)
{
    return tu_write(rt, store, id, mt_store_msg_status(id, tu_status(at, true), true), rev, NULL);
}

START_TEST(registered_heartbeats_skip_the_check)
{
    MYSQL *raw = tu_raw(dsn, DB);
    char id[16], sql[160];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "f%d", i);
        ck_assert_int_eq(tu_write(rt, store, id, mt_store_msg_register(id, tu_reg("h", NULL, NULL)),
                                  NULL, NULL), MT_OK);
    }
    /*  A first heartbeat inserts its row: the counts cannot vouch for it. */
    uint64_t before = rechecks();
    int64_t rev, last[5] = { 0 };
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "f%d", i);
        ck_assert_int_eq(beat(id, 100 + i, &last[i]), MT_OK);
    }
    ck_assert_uint_eq(rechecks(), before + 5);

    /*  Then they update: no recheck, revisions grow, values stored. */
    before = rechecks();
    for (int round = 1; round <= 3; round++)
        for (int i = 0; i < 5; i++) {
            snprintf(id, sizeof id, "f%d", i);
            ck_assert_int_eq(beat(id, 1000 * round + i, &rev), MT_OK);
            ck_assert_int_gt(rev, last[i]);
            last[i] = rev;
        }
    ck_assert_uint_eq(rechecks(), before);
    for (int i = 0; i < 5; i++) {
        snprintf(sql, sizeof sql, "SELECT heartbeat_at FROM node_status WHERE id='f%d'", i);
        ck_assert_int_eq(tu_i64(raw, sql), 3000 + i);
        snprintf(sql, sizeof sql, "SELECT status_revision FROM node_status WHERE id='f%d'", i);
        ck_assert_int_eq(tu_i64(raw, sql), last[i]);
    }

    /*  A node the sender wrongly believes registered: not found, nothing written. */
    ck_assert_int_eq(beat("ghost", 5, &rev), MT_ENOTFOUND);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM node_status WHERE id='ghost'"), 0);

    /*  Deleted (say by another replica) after the sender learnt of it. */
    ck_assert_int_eq(tu_write(rt, store, "f3", mt_store_msg_delete("f3"), NULL, NULL), MT_OK);
    ck_assert_int_eq(beat("f3", 6, &rev), MT_ENOTFOUND);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM node_status WHERE id='f3'"), 0);

    /*  A heartbeat committed first with a revision above every value this
        connection would draw (another replica's through another Galera
        node, whose copy of the sequence was ahead; forged here): the fast
        path finds the row left alone and rechecks; the checked path draws
        above the row (the sequence is raised), so this later heartbeat is
        stored — an acknowledged heartbeat is never one that was not. */
    tu_exec(raw, "UPDATE node_status SET heartbeat_at = 777,"
                 " status_revision = status_revision + 1000000 WHERE id='f4'");
    int64_t newer = tu_i64(raw, "SELECT status_revision FROM node_status WHERE id='f4'");
    before = rechecks();
    ck_assert_int_eq(beat("f4", 888, &rev), MT_OK);
    ck_assert_int_gt(rev, newer);
    ck_assert_uint_eq(rechecks(), before + 1);
    ck_assert_int_eq(tu_i64(raw, "SELECT heartbeat_at FROM node_status WHERE id='f4'"), 888);
    ck_assert_int_eq(tu_i64(raw, "SELECT status_revision FROM node_status WHERE id='f4'"), rev);
    mysql_close(raw);
}
END_TEST

/*  A lone heartbeat is committed on its own: it waits for no companion
    (each one a transaction of one row). How long that takes is a benchmark
    figure (scripts/bench store lone_heartbeat), not a test. */
START_TEST(lone_heartbeat_does_not_wait)
{
    ck_assert_int_eq(tu_write(rt, store, "solo", mt_store_msg_register("solo", tu_reg("h", NULL, NULL)),
                              NULL, NULL), MT_OK);
    for (int i = 0; i < 20; i++) {
        mt_store_stats_t before, after;
        mt_store_stats(store, &before);
        ck_assert_int_eq(tu_write(rt, store, "solo", mt_store_msg_status("solo", tu_status(i, true), false),
                                  NULL, NULL), MT_OK);
        mt_store_stats(store, &after);
        ck_assert_uint_eq(after.status_batches - before.status_batches, 1);
        ck_assert_uint_eq(after.status_rows - before.status_rows, 1);
    }
}
END_TEST

/*  Threads asking concurrently, as node actors on several workers would. */
typedef struct { int t; int errors; int64_t last; } worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    char id[32];
    snprintf(id, sizeof id, "node-%04d", w->t);
    for (int i = 0; i < 50; i++) {
        mt_msg_t *reply = NULL;
        if (mt_ask_wait(rt, mt_store_writer(store, id), mt_store_msg_status(id, tu_status(i, true), false),
                        20000, &reply) != MT_OK) {
            w->errors++;
            continue;
        }
        mt_store_done_t *d = mt_msg_data(reply);
        if (d->err != MT_OK || d->revision <= w->last)
            w->errors++;
        w->last = d->revision;
        mt_msg_free(reply);
    }
    return NULL;
}

START_TEST(threads_asking)
{
    enum { T = 16 };
    char id[32];
    for (int n = 0; n < T; n++) {
        snprintf(id, sizeof id, "node-%04d", n);
        ck_assert_int_eq(tu_write(rt, store, id, mt_store_msg_register(id, tu_reg("h", NULL, NULL)),
                                  NULL, NULL), MT_OK);
    }
    pthread_t th[T];
    worker_t w[T];
    for (int i = 0; i < T; i++) {
        w[i] = (worker_t) { .t = i };
        pthread_create(&th[i], NULL, worker, &w[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].errors, 0);
    }
}
END_TEST

int main(void)
{
    Suite *su = suite_create("store_batch");
    TCase *tc = tcase_create("batch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, many_heartbeats_few_transactions);
    tcase_add_test(tc, mixed_batch);
    tcase_add_test(tc, registered_heartbeats_skip_the_check);
    tcase_add_test(tc, lone_heartbeat_does_not_wait);
    tcase_add_test(tc, threads_asking);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
