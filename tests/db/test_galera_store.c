/*  test_galera_store.c — the store on a real 3-node Galera cluster (the CTest
    fixture `galera`): what the design relies on, and what must hold when
    writers sit on different nodes and a node dies.

    * draws_above_a_committed_mark: a mark drawn and committed on one node
      is below every revision drawn afterwards on any node once that node
      has caught up (wsrep_sync_wait) — what the scan window's lag
      allowance rests on (galera.c).
    * writers_on_three_nodes: a store per node registering and
      heartbeating the same nodes at once (certification conflicts, retried
      whole): every acknowledged write is stored (the row's revision is at
      least the acknowledged one, and equal for the last writer), no
      revision is acknowledged twice, a delete is never undone, and a full
      scan through every node reads the same rows.
    * node_killed_mid_load: the store on node 3 writes while node 3 is
      SIGKILLed: writes in flight are answered unavailable, later ones
      succeed on another node, nothing acknowledged is lost, and node 3
      rejoins by IST with every row. RUN_SERIAL: it kills a node of the
      shared cluster. */
#include "store_testutil.h"
#include "mt_check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define NODES 3
#define IDS 24

static mt_runtime_t *rt;

static void setup(void) { rt = mt_runtime_new(NULL); ck_assert_ptr_nonnull(rt); }
static void teardown(void) { mt_runtime_destroy(&rt); }

static void galera(const char *cmd, int node)
{
    const char *script = getenv("METACTOR_TEST_GALERA"), *dir = getenv("METACTOR_TEST_GALERA_DIR");
    ck_assert_msg(script && dir, "METACTOR_TEST_GALERA(_DIR) not set: run through ctest");
    char line[1024];
    snprintf(line, sizeof line, "%s %s %d %s", script, cmd, node, dir);
    ck_assert_msg(system(line) == 0, "%s failed", line);
}

/*  A raw connection to node k (0-based) of the DSN. */
static MYSQL *raw_node(const char *dsn, unsigned k, const char *db)
{
    char *d = tu_dsn_rotate(dsn, k);
    MYSQL *m = tu_raw(d, db);
    free(d);
    return m;
}

START_TEST(draws_above_a_committed_mark)
{
    const char *db = "metactor_t_galera_draw";
    tu_drop_db(NULL, db);
    char *dsn = tu_dsn_for(NULL, db);
    ck_assert_uint_eq(tu_dsn_hosts(dsn), NODES);
    mt_store_t *s = tu_store(rt, dsn, 1);          /* creates the schema */
    MYSQL *m[NODES];
    for (unsigned k = 0; k < NODES; k++) {
        m[k] = raw_node(dsn, k, db);
        tu_exec(m[k], "SET SESSION wsrep_sync_wait = 1");
        tu_exec(m[k], "SET autocommit = 0");
    }
    for (int i = 0; i < 60; i++) {
        MYSQL *a = m[i % NODES], *b = m[(i + 1 + i / NODES) % NODES];
        long long mark = tu_i64(a, "SELECT NEXTVAL(mt_revision)");
        tu_exec(a, "COMMIT");
        tu_i64(b, "SELECT 1");                       /* causal: waits for the mark */
        long long later = tu_i64(b, "SELECT NEXTVAL(mt_revision)");
        tu_exec(b, "COMMIT");
        ck_assert_msg(later > mark, "round %d: drew %lld after mark %lld", i, later, mark);
    }
    for (unsigned k = 0; k < NODES; k++)
        mysql_close(m[k]);
    mt_store_destroy(&s);
    free(dsn);
}
END_TEST

/* ---- writers on three nodes ------------------------------------------------------ */

typedef struct {
    mt_store_t *store;
    int index;
    int64_t max_reg[IDS];           /* highest acknowledged registration revision */
    int64_t max_status[IDS];
    int64_t deleted_at[IDS];        /* acknowledged delete's revision, 0 none */
    int64_t *acked;                 /* every acknowledged revision */
    int nacked, ok, unavailable, other;
} writer_t;

static void node_id(char *out, size_t n, int i) { snprintf(out, n, "g%02d", i); }

static void note_ack(writer_t *w, int64_t rev)
{
    w->acked = realloc(w->acked, (size_t) (w->nacked + 1) * sizeof *w->acked);
    w->acked[w->nacked++] = rev;
}

static void *write_loop(void *arg)
{
    writer_t *w = arg;
    for (int round = 0; round < 40; round++) {
        for (int i = w->index % 3; i < IDS; i += 2) {
            char id[16], host[32];
            node_id(id, sizeof id, i);
            snprintf(host, sizeof host, "10.0.%d.%d", w->index, round);
            int64_t rev = 0;
            int err;
            if (i == IDS - 1 && round == 30 && w->index == 0)
                err = tu_write(rt, w->store, id, mt_store_msg_delete(id), &rev, NULL);
            else if ((round + i) % 3 == 0)
                err = tu_write(rt, w->store, id, mt_store_msg_register(id, tu_reg(host, "zone=a",
                               NULL)), &rev, NULL);
            else
                err = tu_write(rt, w->store, id, mt_store_msg_status(id,
                               tu_status(1700000000000 + round, true), false), &rev, NULL);
            if (err == MT_OK) {
                w->ok++;
                note_ack(w, rev);
                if (i == IDS - 1 && round == 30 && w->index == 0)
                    w->deleted_at[i] = rev;
                else if ((round + i) % 3 == 0)
                    w->max_reg[i] = rev > w->max_reg[i] ? rev : w->max_reg[i];
                else
                    w->max_status[i] = rev > w->max_status[i] ? rev : w->max_status[i];
            }
            else if (err == MT_EUNAVAIL)
                w->unavailable++;
            else
                w->other++;         /* not_found: a heartbeat before any register */
        }
    }
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

static mt_store_scanned_t *full_scan(mt_store_t *s, mt_msg_t **keep)
{
    *keep = tu_ask(rt, mt_store_reader(s), mt_store_msg_scan(0, true));
    mt_store_scanned_t *sc = mt_msg_data(*keep);
    ck_assert_int_eq(sc->err, MT_OK);
    return sc;
}

START_TEST(writers_on_three_nodes)
{
    const char *db = "metactor_t_galera_writers";
    tu_drop_db(NULL, db);
    char *dsn = tu_dsn_for(NULL, db);
    writer_t w[NODES];
    pthread_t th[NODES];
    char *dsns[NODES];
    for (int k = 0; k < NODES; k++) {
        dsns[k] = tu_dsn_rotate(dsn, (unsigned) k);
        w[k] = (writer_t) { .store = tu_store(rt, dsns[k], 2), .index = k };
    }
    for (int k = 0; k < NODES; k++)
        pthread_create(&th[k], NULL, write_loop, &w[k]);
    for (int k = 0; k < NODES; k++)
        pthread_join(th[k], NULL);

    /*  No revision acknowledged twice, across every writer. */
    int n = 0;
    for (int k = 0; k < NODES; k++)
        n += w[k].nacked;
    int64_t *all = malloc((size_t) n * sizeof *all);
    for (int k = 0, x = 0; k < NODES; k++)
        for (int j = 0; j < w[k].nacked; j++)
            all[x++] = w[k].acked[j];
    qsort(all, (size_t) n, sizeof *all, cmp_i64);
    for (int i = 1; i < n; i++)
        ck_assert_msg(all[i] != all[i - 1], "revision %lld acknowledged twice", (long long) all[i]);
    free(all);
    int ok = 0, unavailable = 0;
    for (int k = 0; k < NODES; k++) {
        ok += w[k].ok;
        unavailable += w[k].unavailable;
    }
    ck_assert_int_gt(ok, 0);
    fprintf(stderr, "writers_on_three_nodes: %d acknowledged, %d unavailable\n", ok, unavailable);

    /*  Every node's full scan: the same rows, every acknowledged write in. */
    mt_msg_t *keep[NODES];
    mt_store_scanned_t *sc[NODES];
    for (int k = 0; k < NODES; k++)
        sc[k] = full_scan(w[k].store, &keep[k]);
    for (int k = 1; k < NODES; k++) {
        ck_assert_uint_eq(sc[k]->nrows, sc[0]->nrows);
        for (uint32_t r = 0; r < sc[0]->nrows; r++) {
            mt_store_row_t *a = &sc[0]->rows[r], *b = &sc[k]->rows[r];
            ck_assert_str_eq(a->id, b->id);
            ck_assert_int_eq(a->deleted, b->deleted);
            ck_assert_int_eq(a->reg ? a->reg->reg_revision : a->deleted_revision,
                             b->reg ? b->reg->reg_revision : b->deleted_revision);
            ck_assert_int_eq(a->status ? a->status->status_revision : 0,
                             b->status ? b->status->status_revision : 0);
        }
    }
    for (uint32_t r = 0; r < sc[0]->nrows; r++) {
        mt_store_row_t *row = &sc[0]->rows[r];
        int i = atoi(row->id + 1);
        for (int k = 0; k < NODES; k++) {
            int64_t reg = row->reg ? row->reg->reg_revision : row->deleted_revision;
            if (w[k].deleted_at[i]) {
                ck_assert_msg(row->deleted, "%s: deleted at %lld, alive again", row->id,
                              (long long) w[k].deleted_at[i]);
                ck_assert_int_ge(reg, w[k].deleted_at[i]);
            }
            else if (!row->deleted)
                ck_assert_msg(reg >= w[k].max_reg[i], "%s: stored registration %lld, "
                              "acknowledged %lld", row->id, (long long) reg,
                              (long long) w[k].max_reg[i]);
            if (!row->deleted && row->status)
                ck_assert_msg(row->status->status_revision >= w[k].max_status[i],
                              "%s: stored status %lld, acknowledged %lld", row->id,
                              (long long) row->status->status_revision,
                              (long long) w[k].max_status[i]);
        }
    }
    for (int k = 0; k < NODES; k++) {
        mt_msg_free(keep[k]);
        mt_store_destroy(&w[k].store);
        free(w[k].acked);
        free(dsns[k]);
    }
    free(dsn);
}
END_TEST

/* ---- a node killed mid-load --------------------------------------------------------- */

typedef struct {
    mt_store_t *store;
    atomic_bool stop, killed;
    int64_t acked[IDS];             /* highest acknowledged status revision per node */
    int ok_after_kill, unavailable;
    uint64_t killed_ms, first_ok_after_ms;
} load_t;

static void *load_loop(void *arg)
{
    load_t *l = arg;
    for (int round = 0; !atomic_load(&l->stop); round++) {
        for (int i = 0; i < IDS && !atomic_load(&l->stop); i++) {
            char id[16];
            node_id(id, sizeof id, i);
            bool after = atomic_load(&l->killed);
            int64_t rev = 0;
            int err = tu_write(rt, l->store, id, mt_store_msg_status(id,
                               tu_status(1700000000000 + round, true), true), &rev, NULL);
            if (err == MT_OK) {
                l->acked[i] = rev > l->acked[i] ? rev : l->acked[i];
                if (after && !l->ok_after_kill++)
                    l->first_ok_after_ms = mt_now_ms();
            }
            else
                l->unavailable++;
        }
    }
    return NULL;
}

START_TEST(node_killed_mid_load)
{
    const char *db = "metactor_t_galera_kill";
    tu_drop_db(NULL, db);
    char *dsn = tu_dsn_for(NULL, db);
    char *on3 = tu_dsn_rotate(dsn, 2);              /* node 3 first */
    load_t l = { .store = tu_store(rt, on3, 2) };
    for (int i = 0; i < IDS; i++) {
        char id[16];
        node_id(id, sizeof id, i);
        ck_assert_int_eq(tu_write(rt, l.store, id, mt_store_msg_register(id,
                         tu_reg("h", NULL, NULL)), NULL, NULL), MT_OK);
    }
    pthread_t th;
    pthread_create(&th, NULL, load_loop, &l);
    usleep(500 * 1000);
    l.killed_ms = mt_now_ms();
    atomic_store(&l.killed, true);
    galera("kill", 3);
    /*  Writes again on another node: wait for some, then stop. */
    for (int i = 0; i < 600 && l.ok_after_kill < 50; i++)
        usleep(100 * 1000);
    atomic_store(&l.stop, true);
    pthread_join(th, NULL);
    ck_assert_int_ge(l.ok_after_kill, 50);
    fprintf(stderr, "node_killed_mid_load: first write acknowledged %llu ms after the kill,"
            " %d unavailable\n", (unsigned long long) (l.first_ok_after_ms - l.killed_ms),
            l.unavailable);

    /*  Node 3 rejoins (IST from a donor's gcache) and holds every
        acknowledged heartbeat, as node 1 does. */
    galera("rejoin", 3);
    for (unsigned k = 0; k < NODES; k++) {
        MYSQL *m = raw_node(dsn, k, db);
        tu_exec(m, "SET SESSION wsrep_sync_wait = 1");
        for (int i = 0; i < IDS; i++) {
            char sql[160], id[16];
            node_id(id, sizeof id, i);
            snprintf(sql, sizeof sql, "SELECT status_revision FROM node_status WHERE id = '%s'",
                     id);
            ck_assert_msg(tu_i64(m, sql) >= l.acked[i], "node %u, %s: acknowledged %lld lost",
                          k + 1, id, (long long) l.acked[i]);
        }
        mysql_close(m);
    }
    const char *dir = getenv("METACTOR_TEST_GALERA_DIR");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "tail -n 200 %s/node3/error.log | grep -q 'IST received'", dir);
    ck_assert_msg(system(cmd) == 0, "node 3 did not rejoin by IST (see %s/node3/error.log)", dir);
    mt_store_destroy(&l.store);
    free(on3);
    free(dsn);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("galera_store");
    TCase *tc = tcase_create("galera");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, draws_above_a_committed_mark);
    tcase_add_test(tc, writers_on_three_nodes);
    tcase_add_test(tc, node_killed_mid_load);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
