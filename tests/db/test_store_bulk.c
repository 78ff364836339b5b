/*  test_store_bulk.c — a batch of heartbeats as one bulk execution
    (MariaDB's array binding, conn.c) and as padded multi-row statements
    (the path for servers without it): the same rows stored either way, the
    row counts still telling a row left alone from one updated, and how many
    statements each takes — the bulk path's point. Underneath the store
    actor: one writer connection of the test's own (store_internal.h). */
#include "store_testutil.h"
#include "mt_check.h"
#include "store_internal.h"

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
    ck_assert_msg(mt__store_sql_status_txn(&w->c, &w->s, w->e, w->enc, n, rechecked) == MT_OK,
                  "%s", w->c.err);
    for (uint32_t i = 0; i < n; i++) {
        mt_node_status_unref(&st[i]);
        w->e[i].status = NULL;
    }
    return w->c.statements - before;
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

int main(void)
{
    Suite *s = suite_create("store_bulk");
    TCase *tc = tcase_create("bulk");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, one_statement_for_a_batch);
    tcase_add_test(tc, a_row_left_alone_is_told);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
