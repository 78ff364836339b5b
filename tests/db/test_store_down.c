/*  test_store_down.c — the database goes away and comes back. A private
    server (its own directory and port, so tests running in parallel keep
    theirs) is stopped under a store that keeps writing: requests are
    answered MT_EUNAVAIL without waiting on a client timeout; after the
    restart the store reconnects by itself, writes (and membership beats)
    succeed again, and no acknowledged heartbeat is lost. */
#include "store_testutil.h"
#include "mt_check.h"

#include <pthread.h>
#include <stdatomic.h>

static mt_runtime_t *rt;
static mt_store_t *store;
static char *dsn;
static char base[512];
#define DB "metactor_t_store_down"

static void server(const char *cmd)
{
    const char *script = getenv("METACTOR_TEST_MARIADB");
    const char *dir = getenv("METACTOR_TEST_DOWN_DIR");
    const char *port = getenv("METACTOR_TEST_DOWN_PORT");
    ck_assert_msg(script && dir && port, "run through ctest (METACTOR_TEST_MARIADB, _DOWN_DIR, _DOWN_PORT)");
    char line[1200];
    snprintf(line, sizeof line, "MT_DB_PORT=%s '%s' %s '%s' >/dev/null 2>&1", port, script, cmd, dir);
    ck_assert_msg(system(line) == 0, "%s failed", line);
    if (strcmp(cmd, "start") == 0) {
        snprintf(line, sizeof line, "'%s' dsn '%s'", script, dir);
        FILE *f = popen(line, "r");
        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(fgets(base, sizeof base, f));
        pclose(f);
        base[strcspn(base, "\n")] = '\0';
    }
}

static void setup(void)
{
    server("start");
    rt = mt_runtime_new(NULL);
    ck_assert_ptr_nonnull(rt);
    tu_drop_db(base, DB);
    /*  Client timeouts far beyond the asks' deadline (see the top). */
    char *plain = tu_dsn_for(base, DB);
    dsn = malloc(strlen(plain) + 80);
    ck_assert_ptr_nonnull(dsn);
    sprintf(dsn, "%s%cconnect_timeout=120&read_timeout=120&write_timeout=120", plain,
            strchr(plain, '?') ? '&' : '?');
    free(plain);
    store = tu_store(rt, dsn, 2);
}

static void teardown(void)
{
    mt_store_destroy(&store);
    mt_runtime_destroy(&rt);
    free(dsn);
    server("stop");
}

/*  A node heartbeating as fast as it is answered; remembers the last
    heartbeat acknowledged. */
typedef struct {
    const char *id;
    atomic_bool stop;
    int64_t last_ok_at, last_ok_rev;
    int ok, other;
    atomic_int unavail;
} beater_t;

static void *beater(void *arg)
{
    beater_t *b = arg;
    for (int64_t at = 1; !atomic_load(&b->stop); at++) {
        mt_msg_t *reply = NULL;
        if (mt_ask_wait(rt, mt_store_writer(store, b->id), mt_store_msg_status(b->id, tu_status(at, true), false),
                        20000, &reply) != MT_OK) {
            b->other++;
            continue;
        }
        mt_store_done_t *d = mt_msg_data(reply);
        if (d->err == MT_OK) {
            b->ok++;
            b->last_ok_at = at;
            b->last_ok_rev = d->revision;
        }
        else if (d->err == MT_EUNAVAIL) {
            atomic_fetch_add(&b->unavail, 1);
            nanosleep(&(struct timespec) { .tv_nsec = 5000000 }, NULL);
        }
        else
            b->other++;
        mt_msg_free(reply);
    }
    return NULL;
}

static int write_status(const char *id, int64_t at, int64_t *rev)
{
    return tu_write(rt, store, id, mt_store_msg_status(id, tu_status(at, true), false), rev, NULL);
}

static uint64_t statements(void)
{
    mt_store_stats_t st;
    mt_store_stats(store, &st);
    return st.statements;
}

START_TEST(stop_and_restart)
{
    ck_assert_int_eq(tu_write(rt, store, "n1", mt_store_msg_register("n1", tu_reg("h", NULL, NULL)),
                              NULL, NULL), MT_OK);
    ck_assert_int_eq(tu_write(rt, store, "n2", mt_store_msg_register("n2", tu_reg("h", NULL, NULL)),
                              NULL, NULL), MT_OK);
    int64_t rev_before;
    ck_assert_int_eq(write_status("n2", 1, &rev_before), MT_OK);

    beater_t b = { .id = "n1" };
    pthread_t th;
    pthread_create(&th, NULL, beater, &b);
    nanosleep(&(struct timespec) { .tv_nsec = 200000000 }, NULL);

    server("stop");
    /*  Each actor in use finds the database gone (a statement fails) ... */
    ck_assert_int_eq(write_status("n2", 99, NULL), MT_EUNAVAIL);
    mt_msg_t *m = tu_ask(rt, mt_store_reader(store), mt_store_msg_load("n2"));
    ck_assert_int_eq(((mt_store_loaded_t *) mt_msg_data(m))->err, MT_EUNAVAIL);
    mt_msg_free(m);
    m = tu_ask(rt, mt_store_members(store),
               mt_store_msg_replica_beat("r-a", "tcp://a:1", "tcp://a:2", 0, 3000));
    ck_assert_int_eq(((mt_store_replicas_t *) mt_msg_data(m))->err, MT_EUNAVAIL);
    mt_msg_free(m);
    for (int i = 0; atomic_load(&b.unavail) == 0; i++) {
        ck_assert_msg(i < 2000, "the beater was never answered unavailable");
        nanosleep(&(struct timespec) { .tv_nsec = 10000000 }, NULL);
    }
    /*  ... and from then on answers without going to the database. */
    uint64_t before = statements();
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(write_status("n2", 100 + i, NULL), MT_EUNAVAIL);
    ck_assert_int_eq(tu_write(rt, store, "n2", mt_store_msg_register("n2", tu_reg("h", NULL, NULL)),
                              NULL, NULL), MT_EUNAVAIL);
    m = tu_ask(rt, mt_store_reader(store), mt_store_msg_load("n2"));
    ck_assert_int_eq(((mt_store_loaded_t *) mt_msg_data(m))->err, MT_EUNAVAIL);
    mt_msg_free(m);
    m = tu_ask(rt, mt_store_reader(store), mt_store_msg_scan(0, true));
    ck_assert_int_eq(((mt_store_scanned_t *) mt_msg_data(m))->err, MT_EUNAVAIL);
    mt_msg_free(m);
    /* membership too: a beat gets no list while down */
    m = tu_ask(rt, mt_store_members(store),
               mt_store_msg_replica_beat("r-a", "tcp://a:1", "tcp://a:2", 0, 3000));
    ck_assert_int_eq(m->type, MT_STORE_REPLICAS);
    ck_assert_int_eq(((mt_store_replicas_t *) mt_msg_data(m))->err, MT_EUNAVAIL);
    ck_assert_uint_eq(((mt_store_replicas_t *) mt_msg_data(m))->nreplicas, 0);
    mt_msg_free(m);
    m = tu_ask(rt, mt_store_members(store), mt_store_msg_replica_leave("r-a"));
    ck_assert_int_eq(((mt_store_done_t *) mt_msg_data(m))->err, MT_EUNAVAIL);
    mt_msg_free(m);
    ck_assert_uint_eq(statements(), before);
    ck_assert_int_eq(mt_store_wait_ready(store, 10), MT_EUNAVAIL);
    nanosleep(&(struct timespec) { .tv_nsec = 500000000 }, NULL);   /* retries meanwhile */

    server("start");
    ck_assert_int_eq(mt_store_wait_ready(store, 20000), MT_OK);
    nanosleep(&(struct timespec) { .tv_nsec = 200000000 }, NULL);
    atomic_store(&b.stop, true);
    pthread_join(th, NULL);
    ck_assert_int_eq(b.other, 0);
    ck_assert_int_gt(b.ok, 0);

    /* up again: writes succeed, revisions keep growing */
    int64_t rev_after;
    ck_assert_int_eq(write_status("n2", 200, &rev_after), MT_OK);
    ck_assert(rev_after > rev_before);
    m = tu_ask(rt, mt_store_members(store),
               mt_store_msg_replica_beat("r-a", "tcp://a:1", "tcp://a:2", 0, 3000));
    ck_assert_int_eq(((mt_store_replicas_t *) mt_msg_data(m))->err, MT_OK);
    ck_assert_uint_eq(((mt_store_replicas_t *) mt_msg_data(m))->nreplicas, 1);
    mt_msg_free(m);
    mt_store_stats_t st;
    mt_store_stats(store, &st);
    ck_assert_uint_ge(st.reconnects, 3);    /* every actor came back */

    /* nothing acknowledged was lost: n1 holds its last acknowledged heartbeat
       (or a later one whose answer was unavailable: outcome unknown) */
    m = tu_ask(rt, mt_store_reader(store), mt_store_msg_load("n1"));
    mt_store_loaded_t *l = mt_msg_data(m);
    ck_assert_msg(l->err == MT_OK, "%s", l->message);
    ck_assert_ptr_nonnull(l->row.status);
    ck_assert(l->row.status->heartbeat_at >= b.last_ok_at);
    ck_assert(l->row.status->status_revision >= b.last_ok_rev);
    mt_msg_free(m);
    m = tu_ask(rt, mt_store_reader(store), mt_store_msg_load("n2"));
    l = mt_msg_data(m);
    ck_assert_int_eq(l->err, MT_OK);
    ck_assert(l->row.status->heartbeat_at == 200 && l->row.status->status_revision == rev_after);
    mt_msg_free(m);
}
END_TEST

/*  A store started while the database is down answers unavailable, then
    connects (and creates its schema) once the server is there. */
START_TEST(start_while_down)
{
    mt_store_destroy(&store);
    server("stop");
    char err[256];
    mt_store_opts_t o = { .dsn = dsn, .writers = 1, .reconnect_ms = 100 };
    ck_assert_int_eq(mt_store_new(rt, &o, &store, err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_store_wait_ready(store, 300), MT_EUNAVAIL);
    ck_assert_int_eq(write_status("n1", 1, NULL), MT_EUNAVAIL);
    ck_assert_uint_eq(statements(), 0);     /* answered without a database */
    server("start");
    ck_assert_int_eq(mt_store_wait_ready(store, 20000), MT_OK);
    ck_assert_int_eq(tu_write(rt, store, "n9", mt_store_msg_register("n9", tu_reg("h", NULL, NULL)),
                              NULL, NULL), MT_OK);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("store_down");
    TCase *tc = tcase_create("down");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, stop_and_restart);
    tcase_add_test(tc, start_while_down);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
