/*  test_nodes_peek.c — mt_nodes_peek (node.get on the caller's thread, the
    gateway's) answers what node.get through the directory answers: the
    write just acknowledged, nothing for a node deleted or never loaded,
    health judged when read. Two node services on one database stand for
    two replicas, as in test_nodes.c. */
#include "nodetest.h"
#include "mt_check.h"

#include <unistd.h>

#define DB "metactor_t_nodes_peek"

static mt_runtime_t *rt;
static mt_store_t *store;
static mt_nodes_t *A, *B;
static char *dsn;

static void setup(void)
{
    nt_fresh_db(DB);
    dsn = nt_dsn_for(DB);
    rt = mt_runtime_new(NULL);
    store = nt_store(rt, dsn);
    A = nt_nodes(rt, store, 0, NULL);
    B = nt_nodes(rt, store, 0, NULL);
}

static void teardown(void)
{
    mt_nodes_destroy(&A);
    mt_nodes_destroy(&B);
    mt_store_destroy(&store);
    mt_runtime_destroy(&rt);
    free(dsn);
}

static const char *L1[] = { "zone=a", "gpu=none", NULL };
static const char *L2[] = { "zone=b", NULL };
static const char *V1[] = { "cubelet=1.0", NULL };

/*  node.get on n (which loads id if n never had it), then a peek: the
    same view. */
static void peek_equals_get(mt_nodes_t *n, const char *id)
{
    mt_msg_t *reply = nt_ok(rt, n, mt_node_req_get(id));
    mt_node_view_t v;
    ck_assert_msg(mt_nodes_peek(n, id, &v), "%s: not in memory", id);
    const mt_node_view_t *g = &mt_node_reply(reply)->view;
    ck_assert_str_eq(v.id, id);
    ck_assert_ptr_eq(v.reg, g->reg);            /* the very blocks the actor holds */
    ck_assert_ptr_eq(v.status, g->status);
    ck_assert_ptr_eq(v.live, g->live);
    ck_assert_int_eq(v.healthy, g->healthy);
    ck_assert_int_eq(v.schedulable, g->schedulable);
    mt_msg_free(reply);
    mt_node_view_clear(&v);
}

static bool peek_image(mt_nodes_t *n, const char *id, const char *image)
{
    mt_node_view_t v;
    if (!mt_nodes_peek(n, id, &v))
        return false;
    bool has = v.status && v.status->nimages == 1 && strcmp(v.status->images[0], image) == 0;
    mt_node_view_clear(&v);
    return has;
}

START_TEST(a_node_never_seen_is_not_there)
{
    mt_node_view_t v;
    ck_assert(!mt_nodes_peek(A, "nobody", &v));
    ck_assert_ptr_null(v.reg);
    ck_assert_int_eq(nt_err(rt, A, mt_node_req_get("nobody")), MT_ENOTFOUND);
    ck_assert(!mt_nodes_peek(A, "nobody", &v));     /* the failed get published nothing */
}
END_TEST

START_TEST(an_acknowledged_write_is_read_at_once)
{
    mt_msg_free(nt_ok(rt, A, mt_node_req_register("n1", nt_reg("10.0.0.1", 9000, L1, V1))));
    peek_equals_get(A, "n1");
    for (int i = 0; i < 50; i++) {
        char img[32];
        snprintf(img, sizeof img, "img:%d", i);
        mt_msg_free(nt_ok(rt, A, mt_node_req_heartbeat("n1", nt_status(true, 0, img))));
        /*  No wait between the answer and the read. */
        ck_assert_msg(peek_image(A, "n1", img), "heartbeat %d not read back", i);
    }
    peek_equals_get(A, "n1");
    mt_node_view_t v;
    ck_assert(mt_nodes_peek(A, "n1", &v));
    ck_assert(v.healthy);
    ck_assert_str_eq(nt_label(&v, "zone"), "a");
    mt_node_view_clear(&v);

    mt_str_pair_t set = { "zone", "c" };
    mt_node_reg_t t = { .labels = &set, .nlabels = 1 };
    mt_msg_free(nt_ok(rt, A, mt_node_req_labels("n1", mt_node_reg_build(&t), NULL, 0)));
    ck_assert(mt_nodes_peek(A, "n1", &v));
    ck_assert_str_eq(nt_label(&v, "zone"), "c");
    mt_node_view_clear(&v);
}
END_TEST

START_TEST(another_replica_has_it_once_it_loaded_it)
{
    mt_msg_free(nt_ok(rt, A, mt_node_req_register("n2", nt_reg("10.0.0.2", 9000, L2, V1))));
    mt_node_view_t v;
    ck_assert(!mt_nodes_peek(B, "n2", &v));         /* B never loaded it: ask, which loads */
    peek_equals_get(B, "n2");
    mt_msg_free(nt_ok(rt, A, mt_node_req_heartbeat("n2", nt_status(true, 0, "img:a"))));
    /*  B merges A's heartbeat. A reload's answer says its merges are on
        their way; a get through the directory comes after them, a peek
        reads what the node's actor has published so far: get first. */
    nt_reload(rt, B);
    peek_equals_get(B, "n2");
    ck_assert(peek_image(B, "n2", "img:a"));
}
END_TEST

static uint64_t reload_known(mt_nodes_t *n)
{
    mt_nodes_stats_t st;
    mt_nodes_stats(n, &st);
    return st.reload_known;
}

/*  An incremental pass does not merge again a row the replica holds at
    its revisions (what the notices brought, at a fleet's pace nearly all);
    a row it lacks is merged. */
START_TEST(a_reload_merges_only_what_the_replica_lacks)
{
    nt_reload(rt, B);                               /* past a first, full pass */
    mt_msg_free(nt_ok(rt, A, mt_node_req_register("n4", nt_reg("10.0.0.4", 9000, L1, V1))));
    mt_msg_free(nt_ok(rt, A, mt_node_req_heartbeat("n4", nt_status(true, 0, "img:a"))));
    peek_equals_get(B, "n4");                       /* B loads it as stored */
    uint64_t known = reload_known(B);
    nt_reload(rt, B);
    ck_assert_uint_gt(reload_known(B), known);      /* n4's rows: held already */
    mt_msg_free(nt_ok(rt, A, mt_node_req_heartbeat("n4", nt_status(true, 0, "img:b"))));
    known = reload_known(B);
    nt_reload(rt, B);
    ck_assert_uint_eq(reload_known(B), known);      /* newer than B's: merged */
    peek_equals_get(B, "n4");                       /* get first (see above) */
    ck_assert(peek_image(B, "n4", "img:b"));
}
END_TEST

/*  A heartbeat's row is read without its registration once that is older
    than a pass's window: held already, it is left out all the same (the
    reader asks before it decodes); newer than the replica holds, merged. */
START_TEST(a_reload_leaves_out_a_heartbeat_held_already)
{
    mt_nodes_opts_t o = { .store = store, .reload_interval_ms = -1, .txn_max_ms = 50,
                          .lag_ms = -1 };
    mt_nodes_t *C = mt_nodes_new(rt, &o);
    ck_assert_ptr_nonnull(C);
    mt_msg_free(nt_ok(rt, C, mt_node_req_register("n5", nt_reg("10.0.0.5", 9000, L1, V1))));
    /*  A window starts at the mark of a pass that ended txn_max_ms before
        the previous one began: after these, past the registration. */
    for (int i = 0; i < 4; i++) {
        nt_reload(rt, C);
        usleep(60 * 1000);
    }
    mt_msg_free(nt_ok(rt, C, mt_node_req_heartbeat("n5", nt_status(true, 0, "img:a"))));
    peek_equals_get(C, "n5");
    uint64_t known = reload_known(C);
    nt_reload(rt, C);
    ck_assert_uint_eq(reload_known(C), known + 1);  /* its own heartbeat: held */
    mt_msg_free(nt_ok(rt, A, mt_node_req_heartbeat("n5", nt_status(true, 0, "img:b"))));
    known = reload_known(C);
    nt_reload(rt, C);
    ck_assert_uint_eq(reload_known(C), known);      /* A's, newer: merged */
    peek_equals_get(C, "n5");
    ck_assert(peek_image(C, "n5", "img:b"));
    mt_nodes_destroy(&C);
}
END_TEST

START_TEST(a_deleted_node_is_gone_at_once_and_elsewhere_after_a_merge)
{
    mt_msg_free(nt_ok(rt, A, mt_node_req_register("n3", nt_reg("10.0.0.3", 9000, L1, V1))));
    peek_equals_get(B, "n3");
    mt_msg_free(nt_ok(rt, A, mt_node_req_delete("n3")));
    mt_node_view_t v;
    ck_assert(!mt_nodes_peek(A, "n3", &v));
    ck_assert(mt_nodes_peek(B, "n3", &v));          /* B has not heard yet, as get would say */
    mt_node_view_clear(&v);
    nt_reload(rt, B);
    ck_assert_int_eq(nt_err(rt, B, mt_node_req_get("n3")), MT_ENOTFOUND);   /* get first, as above */
    ck_assert(!mt_nodes_peek(B, "n3", &v));
    /*  Registered again: back. */
    mt_msg_free(nt_ok(rt, A, mt_node_req_register("n3", nt_reg("10.0.0.3", 9000, L2, V1))));
    peek_equals_get(A, "n3");
}
END_TEST

/*  Health is judged when the view is read, by the same rule as node.get:
    the view turns unhealthy with no merge, no message, nothing published. */
START_TEST(health_is_judged_when_read)
{
    mt_nodes_t *C = nt_nodes(rt, store, 1500, NULL);
    mt_msg_free(nt_ok(rt, C, mt_node_req_register("n4", nt_reg("10.0.0.4", 9000, L1, V1))));
    mt_msg_free(nt_ok(rt, C, mt_node_req_heartbeat("n4", nt_status(true, 0, "img:1"))));
    mt_node_view_t v;
    ck_assert(mt_nodes_peek(C, "n4", &v));
    mt_node_status_t *seen = v.status;
    /*  A stall of a whole timeout between the answer and this read would
        say so here (the one clock bound, 1.5 s, for a read in memory). */
    ck_assert_msg(v.healthy && v.schedulable, "not healthy right after its heartbeat");
    mt_node_view_clear(&v);
    bool healthy = true;
    for (int waited = 0; healthy && waited < 20000; waited += 100) {
        usleep(100 * 1000);
        ck_assert(mt_nodes_peek(C, "n4", &v));
        ck_assert_ptr_eq(v.status, seen);           /* nothing new was published */
        healthy = v.healthy;
        ck_assert(!v.schedulable || healthy);
        mt_node_view_clear(&v);
    }
    ck_assert_msg(!healthy, "still healthy 20 s after a 1.5 s timeout");
    peek_equals_get(C, "n4");
    mt_nodes_destroy(&C);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("nodes_peek");
    TCase *tc = tcase_create("peek");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_node_never_seen_is_not_there);
    tcase_add_test(tc, an_acknowledged_write_is_read_at_once);
    tcase_add_test(tc, another_replica_has_it_once_it_loaded_it);
    tcase_add_test(tc, a_reload_merges_only_what_the_replica_lacks);
    tcase_add_test(tc, a_reload_leaves_out_a_heartbeat_held_already);
    tcase_add_test(tc, a_deleted_node_is_gone_at_once_and_elsewhere_after_a_merge);
    tcase_add_test(tc, health_is_judged_when_read);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mt_check_run(suite());
}
