/*  test_nodes_clock.c — health by the database's clock, and schedulable.

    * The estimator (mt_db_clock): the midpoint of a reading's round trip,
      the shortest round trip of a window, readings that make no sense
      ignored.
    * Node services given an estimate that is off on purpose judge health
      by it, not by this host's clock: the same fresh heartbeat (seen_at
      stamped by the server) is healthy with a right estimate, stale with
      one an hour ahead, implausible with one an hour behind; expiry timers
      fire by the estimate.
    * schedulable = healthy, not cordoned, stored labels readable; the list
      filters on it (schedulable_only). */
#include "nodetest.h"
#include "mt_check.h"

#include "mt_db_clock.h"

#include <time.h>

#define DB "metactor_t_nodes_clock"

static mt_runtime_t *rt;
static mt_store_t *store;
static char *dsn;

static void setup(void)
{
    nt_fresh_db(DB);
    dsn = nt_dsn_for(DB);
    rt = mt_runtime_new(NULL);
    store = nt_store(rt, dsn);
}

static void teardown(void)
{
    mt_store_destroy(&store);
    mt_runtime_destroy(&rt);
    free(dsn);
}

/*  A clock whose one reading says the database is `ahead_ms` ahead of this
    host's wall clock (a round trip of 0). */
static void clock_ahead(mt_db_clock_t *c, int64_t ahead_ms)
{
    mt_db_clock_init(c);
    uint64_t now = mt_now_ms();
    int64_t wall = mt_wall_ms();
    mt_db_clock_sample(c, now, now, wall + ahead_ms);
}

static mt_nodes_t *service(const mt_db_clock_t *c, int64_t timeout_ms, mt_actor_t *listener)
{
    mt_nodes_opts_t o = {
        .store = store, .reload_interval_ms = -1, .health_timeout_ms = timeout_ms,
        .db_clock = c, .listener = listener,
    };
    mt_nodes_t *n = mt_nodes_new(rt, &o);
    ck_assert_ptr_nonnull(n);
    return n;
}

static void register_node(mt_nodes_t *n, const char *id, const char *const *labels)
{
    mt_msg_free(nt_ok(rt, n, mt_node_req_register(id, nt_reg("10.0.0.1", 9000, labels, NULL))));
}

/*  A heartbeat; returns its reply's view (healthy, schedulable, seen_at). */
static mt_node_view_t beat(mt_nodes_t *n, const char *id)
{
    mt_msg_t *r = nt_ok(rt, n, mt_node_req_heartbeat(id, nt_status(true, 0, NULL)));
    mt_node_view_t v;
    mt_node_view_copy(&v, &mt_node_reply(r)->view);
    mt_msg_free(r);
    return v;
}

static mt_node_view_t get(mt_nodes_t *n, const char *id)
{
    mt_msg_t *r = nt_ok(rt, n, mt_node_req_get(id));
    mt_node_view_t v;
    mt_node_view_copy(&v, &mt_node_reply(r)->view);
    mt_msg_free(r);
    return v;
}

static uint32_t count_listed(mt_nodes_t *n, bool healthy_only, bool schedulable_only)
{
    mt_msg_t *req = mt_node_req_list(healthy_only, NULL, "", 0);
    mt_node_req(req)->schedulable_only = schedulable_only;
    mt_msg_t *r = nt_ok(rt, n, req);
    uint32_t k = mt_node_reply(r)->nviews;
    for (uint32_t i = 0; i < k; i++) {
        const mt_node_view_t *v = &mt_node_reply(r)->views[i];
        ck_assert(!schedulable_only || v->schedulable);
        ck_assert(!healthy_only || v->healthy);
        ck_assert(!v->schedulable || v->healthy);
    }
    mt_msg_free(r);
    return k;
}

/* ---- the estimator ---------------------------------------------------- */

START_TEST(estimator)
{
    mt_db_clock_t c;
    mt_db_clock_init(&c);
    ck_assert_int_eq(mt_db_clock_rtt_ms(&c), -1);
    int64_t skew = mt_db_clock_skew_ms(&c);
    ck_assert(skew >= -2 && skew <= 2);         /* no reading yet: the wall clock */
    ck_assert_int_eq(mt_db_clock_now(NULL) / 100, mt_wall_ms() / 100);

    /*  The midpoint: server read 5000 between 1000 and 1010 → 5000 at 1005. */
    ck_assert(mt_db_clock_sample(&c, 1000, 1010, 5000));       /* the first: worth a log */
    ck_assert_int_eq(atomic_load(&c.offset), 5000 - 1005);
    ck_assert_int_eq(mt_db_clock_rtt_ms(&c), 10);
    /*  A shorter round trip wins, a longer one does not. */
    ck_assert(mt_db_clock_sample(&c, 2000, 2002, 7001));        /* offset 5000: moved 1005 */
    ck_assert_int_eq(atomic_load(&c.offset), 5000);
    ck_assert(!mt_db_clock_sample(&c, 3000, 3050, 9000));
    ck_assert_int_eq(atomic_load(&c.offset), 5000);
    ck_assert_int_eq(mt_db_clock_rtt_ms(&c), 2);
    /*  Readings that make no sense change nothing. */
    ck_assert(!mt_db_clock_sample(&c, 4000, 3999, 9000));
    ck_assert(!mt_db_clock_sample(&c, 4000, 4001, -1));
    ck_assert(!mt_db_clock_sample(&c, 4000, 4001, MT_TIME_MAX + 1));
    ck_assert_int_eq(atomic_load(&c.offset), 5000);
    /*  Once the best reading leaves the window, the best of the rest. */
    for (int i = 0; i < MT_DB_CLOCK_WINDOW; i++)
        mt_db_clock_sample(&c, 10000 + (uint64_t) i, 10000 + (uint64_t) i + 20,
                           100000 + i + 10);
    ck_assert_int_eq(mt_db_clock_rtt_ms(&c), 20);
    ck_assert_int_eq(atomic_load(&c.offset), 100000 - 10000);
    /*  mt_db_clock_now is mt_now_ms plus the offset. */
    uint64_t before = mt_now_ms();
    int64_t now = mt_db_clock_now(&c);
    ck_assert_int_ge(now, (int64_t) before + 90000);
    ck_assert_int_le(now, (int64_t) mt_now_ms() + 90000);
}
END_TEST

/* ---- health by the estimate ---------------------------------------------- */

START_TEST(health_by_the_database_clock)
{
    static const char *L[] = { "zone=a", NULL };
    mt_db_clock_t right, ahead, behind;
    clock_ahead(&right, 0);
    clock_ahead(&ahead, 3600 * 1000);           /* the database an hour ahead of us */
    clock_ahead(&behind, -3600 * 1000);
    mt_nodes_t *R = service(&right, 5000, NULL), *A = service(&ahead, 5000, NULL),
               *B = service(&behind, 5000, NULL);
    register_node(R, "n1", L);
    int64_t wall = mt_wall_ms();
    mt_node_view_t v = beat(R, "n1");
    /*  Stamped by the server (on this host: our wall clock, give or take). */
    ck_assert_int_ge(v.status->seen_at, wall - 1000);
    ck_assert_int_le(v.status->seen_at, mt_wall_ms() + 1000);
    ck_assert(v.healthy);
    ck_assert(v.schedulable);
    mt_node_view_clear(&v);
    /*  The others learn the row from the database. */
    nt_reload(rt, A);
    nt_reload(rt, B);
    v = get(A, "n1");
    ck_assert_msg(!v.healthy, "an hour old by the database's clock");
    ck_assert(!v.schedulable);
    mt_node_view_clear(&v);
    v = get(B, "n1");
    ck_assert_msg(!v.healthy, "an hour in the future: implausible, fails closed");
    mt_node_view_clear(&v);
    ck_assert_uint_eq(count_listed(R, true, false), 1);
    ck_assert_uint_eq(count_listed(A, true, false), 0);
    ck_assert_uint_eq(count_listed(A, false, false), 1);
    ck_assert_uint_eq(count_listed(B, true, false), 0);
    /*  A heartbeat through the skewed service: the store stamps it, and it is
        judged by the same estimate. */
    v = beat(A, "n1");
    ck_assert(!v.healthy);
    mt_node_view_clear(&v);
    mt_nodes_destroy(&R);
    mt_nodes_destroy(&A);
    mt_nodes_destroy(&B);
}
END_TEST

/*  The expiry timer is armed by the estimate: with the database 1.5 s
    ahead of us and a 2 s timeout, a fresh heartbeat expires after about
    0.5 s by our clock, not 2 s. */
START_TEST(timer_by_the_estimate)
{
    static const char *L[] = { "zone=a", NULL };
    mt_db_clock_t ahead;
    clock_ahead(&ahead, 1500);
    mt_probe_t *events = mt_probe_new(rt);
    mt_nodes_t *n = service(&ahead, 2000, mt_probe_actor(events));
    register_node(n, "t1", L);
    mt_node_view_t v = beat(n, "t1");
    uint64_t t0 = mt_now_ms();
    ck_assert(v.healthy);
    mt_node_view_clear(&v);
    bool flipped = false;
    while (!flipped && mt_now_ms() - t0 < 5000) {
        mt_msg_t *m = mt_probe_expect(events, MT_NODE_CHANGED, 5000);
        ck_assert_ptr_nonnull(m);
        mt_node_changed_t *c = mt_node_changed(m);
        flipped = c->revision == 0 && !c->view.healthy;
        mt_msg_free(m);
    }
    uint64_t took = mt_now_ms() - t0;
    ck_assert_msg(flipped, "no health flip");
    ck_assert_msg(took >= 300 && took <= 1300, "flipped after %llu ms, expected ~500",
                  (unsigned long long) took);
    mt_nodes_destroy(&n);
    mt_probe_destroy(&events);
}
END_TEST

/* ---- schedulable ---------------------------------------------------------- */

START_TEST(schedulable)
{
    static const char *plain[] = { "zone=a", NULL };
    static const char *cordoned[] = { "zone=a", MT_LABEL_CORDON "=true", NULL };
    static const char *not_cordoned[] = { "zone=a", MT_LABEL_CORDON "=false", NULL };
    mt_db_clock_t right;
    clock_ahead(&right, 0);
    mt_nodes_t *n = service(&right, 60000, NULL);
    const char *ids[] = { "s-plain", "s-cordoned", "s-false", "s-corrupt", "s-not-ready" };
    register_node(n, ids[0], plain);
    register_node(n, ids[1], cordoned);
    register_node(n, ids[2], not_cordoned);
    register_node(n, ids[3], plain);
    register_node(n, ids[4], plain);
    for (int i = 0; i < 4; i++) {
        mt_node_view_t v = beat(n, ids[i]);
        ck_assert(v.healthy);
        ck_assert_int_eq(v.schedulable, i != 1);
        mt_node_view_clear(&v);
    }
    mt_msg_free(nt_ok(rt, n, mt_node_req_heartbeat(ids[4], nt_status(false, 0, NULL))));
    ck_assert_uint_eq(count_listed(n, false, false), 5);
    ck_assert_uint_eq(count_listed(n, true, false), 4);
    ck_assert_uint_eq(count_listed(n, false, true), 3);
    /*  Its stored labels corrupted behind our back: listed, never schedulable. */
    MYSQL *m = nt_connect(dsn, true);
    nt_sql(m, "UPDATE node_registrations SET labels = '[\"zone\"]',"
              " reg_revision = NEXTVAL(mt_revision) WHERE id = 's-corrupt'");
    mysql_close(m);
    nt_reload(rt, n);
    mt_node_view_t v = get(n, "s-corrupt");
    ck_assert(v.healthy);
    ck_assert(!v.schedulable);
    ck_assert_str_eq(mt_str_map_get(v.reg->labels, v.reg->nlabels, MT_LABEL_UNREADABLE), "labels");
    mt_node_view_clear(&v);
    ck_assert_uint_eq(count_listed(n, false, false), 5);
    ck_assert_uint_eq(count_listed(n, false, true), 2);
    /*  A heartbeat keeps it healthy, never schedulable; a labels write
        refuses to merge into what it cannot read. */
    v = beat(n, "s-corrupt");
    ck_assert(v.healthy && !v.schedulable);
    mt_node_view_clear(&v);
    ck_assert_int_eq(nt_err(rt, n, mt_node_req_labels("s-corrupt", NULL,
                                                      (const char *[]) { "zone" }, 1)),
                     MT_EINTERNAL);
    mt_nodes_destroy(&n);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("nodes_clock");
    TCase *tc = tcase_create("clock");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, estimator);
    tcase_add_test(tc, health_by_the_database_clock);
    tcase_add_test(tc, timer_by_the_estimate);
    tcase_add_test(tc, schedulable);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
