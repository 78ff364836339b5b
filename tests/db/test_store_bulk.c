/*  test_store_bulk.c — a batch of heartbeats as one bulk execution
    (MariaDB's array binding, conn.c) and as padded multi-row statements
    (the path for servers without it): the same rows stored either way, the
    row counts still telling a row left alone from one updated, and how many
    statements each takes — the bulk path's point. Underneath the store
    actor: one writer connection of the test's own (store_internal.h).

    The writers' pipeline (store.c): a batch whose COMMIT is only sent is
    stored once settled; one whose session is lost before its answer is
    read is answered unavailable, never ok; and a writer under a burst
    opens its second session and commits on both, where a store of one
    session per writer does not. */
#include "store_testutil.h"
#include "mt_check.h"
#include "store_internal.h"

#include <sys/socket.h>
#include <unistd.h>

#define DB "metactor_t_store_bulk"
#define NODES 100

static mt_runtime_t *rt;
static char *dsn;
static mt_store_t *store;
static MYSQL *raw;

static void setup(void)
{
    tu_open(&rt, &dsn, &store, &raw, DB, 1);
    char id[16];
    for (int i = 0; i < NODES; i++) {
        snprintf(id, sizeof id, "b%03d", i);
        ck_assert_int_eq(tu_write(rt, store, id, mt_store_msg_register(id, tu_reg("h", NULL, NULL)),
                                  NULL, NULL), MT_OK);
        ck_assert_int_eq(tu_write(rt, store, id, mt_store_msg_status(id, tu_status(1, true), true),
                                  NULL, NULL), MT_OK);
    }
}

static void teardown(void)
{
    tu_close(&rt, &dsn, &store, &raw);
}

typedef struct {
    mt__store_conn_t c;
    mt_dsn_t *dsn;
    mt__store_scratch_t s;
    char ids[NODES][16];
    mt__store_status_entry_t e[NODES];
    mt__store_status_enc_t enc[NODES];
    mt_node_status_t *st[NODES];    /* send_batch's, until release */
} writer_t;

static void writer_open(writer_t *w)
{
    memset(w, 0, sizeof *w);
    char err[256];
    ck_assert_msg(mt_dsn_parse(dsn, &w->dsn, err, sizeof err) == MT_OK, "%s", err);
    w->c.dsn = w->dsn;
    ck_assert_msg(mt__store_conn_open(&w->c) == MT_OK, "%s", w->c.err);
}

static void writer_close(writer_t *w)
{
    mt__store_conn_close(&w->c);
    mt__store_scratch_free(&w->s);
    mt_dsn_destroy(&w->dsn);
}

/*  Heartbeats of the first n nodes at `at + i`, each with empty JSON
    columns, as one transaction; returns the statements it took, the commit
    one of them. Each entry's err and revision are left in w->e. */
static uint64_t beat(writer_t *w, uint32_t n, int64_t at, bool *rechecked)
{
    mt_buf_reset(&w->s.json);
    mt_buf_puts(&w->s.json, "[]");
    mt_node_status_t *st[NODES];
    for (uint32_t i = 0; i < n; i++) {
        snprintf(w->ids[i], sizeof w->ids[i], "b%03u", i);
        st[i] = tu_status(at + i, true);
        w->e[i] = (mt__store_status_entry_t) { .id = w->ids[i], .status = st[i], .registered = true };
        for (int f = 0; f < 3; f++)
            w->enc[i].off[f] = 0, w->enc[i].len[f] = 2;
    }
    uint64_t before = w->c.statements;
    ck_assert_msg(mt__store_sql_status_txn(&w->c, &w->s, w->e, w->enc, n, MT__COMMIT_WAIT, rechecked) == MT_OK,
                  "%s", w->c.err);
    for (uint32_t i = 0; i < n; i++) {
        mt_node_status_unref(&st[i]);
        w->e[i].status = NULL;
    }
    return w->c.statements - before;
}

/*  Heartbeats of the first n nodes at `at + i` through the group commit's
    entry point, their COMMIT only sent (*ss says so); the statements it
    took. The statuses stay in w until release (a settle may run the batch
    again). */
static uint64_t send_batch(writer_t *w, uint32_t n, int64_t at, mt__store_status_stats_t *ss)
{
    for (uint32_t i = 0; i < n; i++) {
        snprintf(w->ids[i], sizeof w->ids[i], "b%03u", i);
        w->st[i] = tu_status(at + i, true);
        w->e[i] = (mt__store_status_entry_t) { .id = w->ids[i], .status = w->st[i], .registered = true };
    }
    uint64_t before = w->c.statements;
    ck_assert_int_eq(mt__store_sql_status_batch(&w->c, &w->s, w->e, n, MT__COMMIT_SEND, ss), MT_OK);
    return w->c.statements - before;
}

static void release(writer_t *w, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        mt_node_status_unref(&w->st[i]);
}

/*  Every one of the first n answered ok and stored as sent. */
static void assert_stored(const writer_t *w, uint32_t n, int64_t at)
{
    char sql[160];
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_int_eq(w->e[i].err, MT_OK);
        snprintf(sql, sizeof sql, "SELECT heartbeat_at FROM node_status WHERE id='b%03u'", i);
        ck_assert_int_eq(tu_i64(raw, sql), at + i);
        snprintf(sql, sizeof sql, "SELECT status_revision FROM node_status WHERE id='b%03u'", i);
        ck_assert_int_eq(tu_i64(raw, sql), w->e[i].revision);
    }
}

/*  On MariaDB a batch of 100 is the draw, one statement and the commit;
    the padded path writes it as 64 + 36 (as 64) — and both store every
    row. */
START_TEST(one_statement_for_a_batch)
{
    writer_t w;
    writer_open(&w);
    ck_assert_msg(w.c.bulk, "the test server (MariaDB) offers bulk execution");
    bool again = true;
    ck_assert_uint_eq(beat(&w, NODES, 1000, &again), 3);
    ck_assert(!again);
    assert_stored(&w, NODES, 1000);
    ck_assert_uint_eq(beat(&w, 3, 5000, &again), 3);     /* any count: no sizes */
    ck_assert(!again);
    assert_stored(&w, 3, 5000);

    w.c.bulk = false;
    ck_assert_uint_eq(beat(&w, NODES, 2000, &again), 4);
    ck_assert(!again);
    assert_stored(&w, NODES, 2000);
    writer_close(&w);
}
END_TEST

/*  One row among a hundred already newer (another replica's heartbeat
    through a Galera node whose sequence was ahead; forged here), one
    deleted: the bulk statement's summed count tells, nothing of the fast
    attempt commits, and the checked path stores the live rows above the
    newer one and answers not_found for the deleted. */
START_TEST(a_row_left_alone_is_told)
{
    writer_t w;
    writer_open(&w);
    tu_exec(raw, "UPDATE node_status SET heartbeat_at = 777,"
                 " status_revision = status_revision + 1000000 WHERE id='b050'");
    int64_t newer = tu_i64(raw, "SELECT status_revision FROM node_status WHERE id='b050'");
    bool again = false;
    beat(&w, NODES, 3000, &again);
    ck_assert(again);
    assert_stored(&w, NODES, 3000);
    ck_assert_int_gt(w.e[50].revision, newer);

    ck_assert_int_eq(tu_write(rt, store, "b007", mt_store_msg_delete("b007"), NULL, NULL), MT_OK);
    again = false;
    beat(&w, NODES, 4000, &again);
    ck_assert(again);
    ck_assert_int_eq(w.e[7].err, MT_ENOTFOUND);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM node_status WHERE id='b007'"), 0);
    assert_stored(&w, 7, 4000);
    ck_assert_int_eq(w.e[99].err, MT_OK);
    ck_assert_int_eq(tu_i64(raw, "SELECT heartbeat_at FROM node_status WHERE id='b099'"), 4099);
    writer_close(&w);
}
END_TEST

/* ---- the pipeline ----------------------------------------------------------------- */

/*  Sent, the batch is the same three statements and not yet counted as
    committed; settled, it is, and every row is stored with the revision
    its entry carries. */
START_TEST(a_sent_commit_is_settled)
{
    writer_t w;
    writer_open(&w);
    mt__store_status_stats_t ss;
    ck_assert_uint_eq(send_batch(&w, NODES, 6000, &ss), 3);
    ck_assert(ss.sent);
    ck_assert_uint_eq(ss.commits, 0);
    ck_assert_int_eq(mt__store_sql_status_settle(&w.c, &w.s, w.e, NODES, &ss), MT_OK);
    ck_assert(!ss.sent);
    ck_assert_uint_eq(ss.commits, 1);
    assert_stored(&w, NODES, 6000);
    release(&w, NODES);
    writer_close(&w);
}
END_TEST

/*  The session goes before the COMMIT's answer is read: whether it
    committed is unknown, so every heartbeat is answered unavailable —
    never ok — and the session is down. */
START_TEST(a_commit_lost_in_flight_is_unavailable)
{
    writer_t w;
    writer_open(&w);
    mt__store_status_stats_t ss;
    send_batch(&w, NODES, 7000, &ss);
    ck_assert(ss.sent);
    ck_assert_int_eq(shutdown(mysql_get_socket(w.c.m), SHUT_RDWR), 0);
    ck_assert_int_eq(mt__store_sql_status_settle(&w.c, &w.s, w.e, NODES, &ss), MT_EUNAVAIL);
    for (uint32_t i = 0; i < NODES; i++)
        ck_assert_int_eq(w.e[i].err, MT_EUNAVAIL);
    ck_assert(!mt__store_conn_up(&w.c));
    ck_assert_uint_eq(ss.commits, 0);
    release(&w, NODES);
    writer_close(&w);
}
END_TEST

/*  The sessions on this test's database, the raw one included, once
    there are `want` (a session closed by a test before may take the
    server a moment to forget). */
static int64_t sessions(int64_t want)
{
    int64_t n = 0;
    for (int i = 0; i < 500 && n != want; i++) {
        n = tu_i64(raw, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '" DB "'");
        if (n != want)
            usleep(10000);
    }
    return n;
}

/*  A burst of one heartbeat from each node at once, through a store of one
    writer: every one answered ok and stored. */
static void burst(mt_store_t *s, int64_t at)
{
    mt_probe_t *p = mt_probe_new(rt);
    char id[16];
    for (int i = 0; i < NODES; i++) {
        snprintf(id, sizeof id, "b%03d", i);
        mt_ask(mt_probe_actor(p), mt_store_writer(s, id),
               mt_store_msg_status(id, tu_status(at + i, true), true), 60000);
    }
    for (int i = 0; i < NODES; i++) {
        mt_msg_t *r = mt_probe_expect(p, MT_STORE_DONE, 60000);
        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(((mt_store_done_t *) mt_msg_data(r))->err, MT_OK);
        mt_msg_free(r);
    }
    mt_probe_destroy(&p);
    char sql[160];
    for (int i = 0; i < NODES; i++) {
        snprintf(sql, sizeof sql, "SELECT heartbeat_at FROM node_status WHERE id='b%03d'", i);
        ck_assert_int_eq(tu_i64(raw, sql), at + i);
    }
}

START_TEST(a_writer_commits_on_two_sessions)
{
    burst(store, 8000);
    /*  The writer's two, the reader's, the members actor's, raw. */
    ck_assert_int_eq(sessions(5), 5);
    /*  Other requests wait for the batch in flight: a delete right after
        the burst finds the heartbeat committed. */
    ck_assert_int_eq(tu_write(rt, store, "b010", mt_store_msg_delete("b010"), NULL, NULL), MT_OK);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM node_status WHERE id='b010'"), 0);

    /*  One session a writer: the same burst, no second session. */
    mt_store_t *one = NULL;
    char err[256] = "";
    mt_store_opts_t o = { .dsn = dsn, .writers = 1, .one_session = true };
    ck_assert_msg(mt_store_new(rt, &o, &one, err, sizeof err) == MT_OK, "%s", err);
    ck_assert_int_eq(mt_store_wait_ready(one, 60000), MT_OK);
    ck_assert_int_eq(tu_write(rt, one, "b010", mt_store_msg_register("b010", tu_reg("h", NULL, NULL)),
                              NULL, NULL), MT_OK);
    burst(one, 9000);
    ck_assert_int_eq(sessions(8), 8);
    mt_store_destroy(&one);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store_bulk");
    TCase *tc = tcase_create("bulk");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, one_statement_for_a_batch);
    tcase_add_test(tc, a_row_left_alone_is_told);
    suite_add_tcase(s, tc);
    tc = tcase_create("pipeline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_sent_commit_is_settled);
    tcase_add_test(tc, a_commit_lost_in_flight_is_unavailable);
    tcase_add_test(tc, a_writer_commits_on_two_sessions);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
