/*  test_store_nodes.c — registration, labels, versions, delete, revive and
    point loads, observed through the store's answers and the tables. */
#include "store_testutil.h"
#include "mt_check.h"

#include <pthread.h>
#include <unistd.h>

static mt_runtime_t *rt;
static mt_store_t *store;
static char *dsn;
static MYSQL *raw;
#define DB "metactor_t_store_nodes"

static void setup(void)
{
    tu_open(&rt, &dsn, &store, &raw, DB, 2);
}

static void teardown(void)
{
    tu_close(&rt, &dsn, &store, &raw);
}

static int reg_write(const char *id, mt_node_reg_t *reg, int64_t *rev, mt_node_reg_t **out)
{
    return tu_write(rt, store, id, mt_store_msg_register(id, reg), rev, out);
}

static mt_store_loaded_t *load(const char *id, mt_msg_t **msg)
{
    *msg = tu_ask(rt, mt_store_reader(store), mt_store_msg_load(id));
    ck_assert_int_eq((*msg)->type, MT_STORE_LOADED);
    return mt_msg_data(*msg);
}

static void assert_labels(const mt_node_reg_t *r, const char *want)
{
    char buf[512] = "";
    for (uint32_t i = 0; i < r->nlabels; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s=%s", i ? "," : "",
                 r->labels[i].key, r->labels[i].value);
    ck_assert_str_eq(buf, want);
}

START_TEST(register_answers_committed_block)
{
    int64_t rev = 0;
    mt_node_reg_t *out = NULL;
    ck_assert_int_eq(reg_write("n1", tu_reg("10.0.0.1", "zone=a,role=db", "kubelet=1.28,cri=2.0"),
                               &rev, &out), MT_OK);
    ck_assert_int_gt(rev, 0);
    ck_assert_ptr_nonnull(out);
    ck_assert(out->reg_revision == rev);
    ck_assert_str_eq(out->host_ip, "10.0.0.1");
    ck_assert_int_eq(out->grpc_port, 7000);
    ck_assert_str_eq(out->instance_type, "c5.large");
    assert_labels(out, "role=db,zone=a");
    ck_assert_uint_eq(out->nversions, 2);
    ck_assert_str_eq(mt_str_map_get(out->versions, 2, "cri"), "2.0");
    ck_assert_uint_eq(out->ncapacity, 2);
    ck_assert(out->capacity[0].value == 4000);
    ck_assert(out->registered_at == 1700000000000);

    /* the table holds the same */
    ck_assert_int_eq(tu_i64(raw, "SELECT reg_revision FROM node_registrations WHERE id='n1'"), rev);
    char *labels = tu_str(raw, "SELECT labels FROM node_registrations WHERE id='n1'");
    ck_assert_str_eq(labels, "{\"role\":\"db\",\"zone\":\"a\"}");
    free(labels);
    char *hash = tu_str(raw, "SELECT versions_hash FROM node_registrations WHERE id='n1'");
    ck_assert_str_eq(hash, out->versions_hash);
    free(hash);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM node_component_versions WHERE node_id='n1'"), 2);

    /* a load gives the same block */
    mt_msg_t *m;
    mt_store_loaded_t *l = load("n1", &m);
    ck_assert_int_eq(l->err, MT_OK);
    ck_assert(!l->row.deleted);
    ck_assert_ptr_nonnull(l->row.reg);
    ck_assert_ptr_null(l->row.status);
    ck_assert(l->row.reg->reg_revision == rev);
    ck_assert_str_eq(l->row.reg->versions_hash, out->versions_hash);
    assert_labels(l->row.reg, "role=db,zone=a");
    ck_assert_str_eq(mt_str_map_get(l->row.reg->versions, l->row.reg->nversions, "kubelet"), "1.28");
    mt_msg_free(m);
    mt_node_reg_unref(&out);
}
END_TEST

START_TEST(labels_merge_rule)
{
    int64_t r1, r2, r3, r4;
    mt_node_reg_t *out = NULL;
    ck_assert_int_eq(reg_write("n2", tu_reg("h", "a=1,b=2", NULL), &r1, NULL), MT_OK);

    /* LABELS: set then remove */
    mt_str_pair_t set[] = { { "c", "3" }, { "a", "9" } };
    mt_node_reg_t st = { .labels = set, .nlabels = 2 };
    const char *remove[] = { "b", "absent" };
    ck_assert_int_eq(tu_write(rt, store, "n2",
                              mt_store_msg_labels("n2", mt_node_reg_build(&st), remove, 2),
                              &r2, &out), MT_OK);
    ck_assert_int_gt(r2, r1);
    assert_labels(out, "a=9,c=3");
    ck_assert_str_eq(out->host_ip, "h");            /* the rest as stored */
    mt_node_reg_unref(&out);

    /* REGISTER merges: stored labels survive, the request wins a conflict */
    ck_assert_int_eq(reg_write("n2", tu_reg("h2", "a=10,d=4", NULL), &r3, &out), MT_OK);
    ck_assert_int_gt(r3, r2);
    assert_labels(out, "a=10,c=3,d=4");
    ck_assert_str_eq(out->host_ip, "h2");
    mt_node_reg_unref(&out);

    /* LABELS with only a removal, and a removal of everything set */
    const char *rm2[] = { "a", "c", "d", "a" };
    ck_assert_int_eq(tu_write(rt, store, "n2", mt_store_msg_labels("n2", NULL, rm2, 4), &r4, &out),
                     MT_OK);
    ck_assert_int_gt(r4, r3);
    ck_assert_uint_eq(out->nlabels, 0);
    mt_node_reg_unref(&out);
    char *labels = tu_str(raw, "SELECT labels FROM node_registrations WHERE id='n2'");
    ck_assert_str_eq(labels, "{}");
    free(labels);

    /* LABELS on an unknown node */
    ck_assert_int_eq(tu_write(rt, store, "ghost", mt_store_msg_labels("ghost", NULL, rm2, 1),
                              NULL, NULL), MT_ENOTFOUND);
}
END_TEST

START_TEST(versions_rewritten_only_on_hash_change)
{
    ck_assert_int_eq(reg_write("n3", tu_reg("h", NULL, "a=1,b=1"), NULL, NULL), MT_OK);
    /* tamper with a stored version: a rewrite would undo it */
    tu_exec(raw, "UPDATE node_component_versions SET version='tampered' WHERE node_id='n3' AND component='a'");
    ck_assert_int_eq(reg_write("n3", tu_reg("h-new", "x=y", "b=1,a=1"), NULL, NULL), MT_OK);
    char *v = tu_str(raw, "SELECT version FROM node_component_versions WHERE node_id='n3' AND component='a'");
    ck_assert_str_eq(v, "tampered");                /* same hash: untouched */
    free(v);
    /* a different map: rewritten, removed components gone */
    ck_assert_int_eq(reg_write("n3", tu_reg("h", NULL, "a=2,c=3"), NULL, NULL), MT_OK);
    v = tu_str(raw, "SELECT GROUP_CONCAT(component, '=', version ORDER BY component)"
                    " FROM node_component_versions WHERE node_id='n3'");
    ck_assert_str_eq(v, "a=2,c=3");
    free(v);
    /* to no versions at all */
    ck_assert_int_eq(reg_write("n3", tu_reg("h", NULL, NULL), NULL, NULL), MT_OK);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM node_component_versions WHERE node_id='n3'"), 0);
}
END_TEST

START_TEST(delete_tombstone_and_revive)
{
    int64_t r1, rd, rs, rr;
    ck_assert_int_eq(reg_write("n4", tu_reg("h", "keep=no", "a=1"), &r1, NULL), MT_OK);
    ck_assert_int_eq(tu_write(rt, store, "n4", mt_store_msg_status("n4", tu_status(111, true), false),
                              &rs, NULL), MT_OK);
    ck_assert_int_gt(rs, r1);
    ck_assert_int_eq(tu_write(rt, store, "n4", mt_store_msg_delete("n4"), &rd, NULL), MT_OK);
    ck_assert_int_gt(rd, rs);
    ck_assert_int_eq(tu_i64(raw, "SELECT deleted FROM node_registrations WHERE id='n4'"), 1);
    ck_assert_int_eq(tu_i64(raw, "SELECT reg_revision FROM node_registrations WHERE id='n4'"), rd);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM node_status WHERE id='n4'"), 0);

    mt_msg_t *m;
    mt_store_loaded_t *l = load("n4", &m);
    ck_assert_int_eq(l->err, MT_OK);
    ck_assert(l->row.deleted);
    ck_assert(l->row.deleted_revision == rd);
    ck_assert_ptr_null(l->row.reg);
    mt_msg_free(m);

    /* a tombstone takes no heartbeat, no labels, no second delete */
    ck_assert_int_eq(tu_write(rt, store, "n4", mt_store_msg_status("n4", tu_status(222, true), false),
                              NULL, NULL), MT_ENOTFOUND);
    ck_assert_int_eq(tu_write(rt, store, "n4", mt_store_msg_labels("n4", NULL, NULL, 0), NULL, NULL),
                     MT_ENOTFOUND);
    ck_assert_int_eq(tu_write(rt, store, "n4", mt_store_msg_delete("n4"), NULL, NULL), MT_ENOTFOUND);

    /* register revives it, with only the new labels */
    mt_node_reg_t *out = NULL;
    ck_assert_int_eq(reg_write("n4", tu_reg("h", "fresh=yes", "a=1"), &rr, &out), MT_OK);
    ck_assert_int_gt(rr, rd);
    assert_labels(out, "fresh=yes");
    mt_node_reg_unref(&out);
    l = load("n4", &m);
    ck_assert_int_eq(l->err, MT_OK);
    ck_assert(!l->row.deleted);
    ck_assert_ptr_nonnull(l->row.reg);
    ck_assert_uint_eq(l->row.reg->nversions, 1);
    ck_assert_ptr_null(l->row.status);
    mt_msg_free(m);
    ck_assert_int_eq(tu_write(rt, store, "n4", mt_store_msg_status("n4", tu_status(333, false), false),
                              NULL, NULL), MT_OK);
}
END_TEST

/*  A delete racing a heartbeat that holds the node's status row (a fast
    heartbeat does not take the registration's lock): the delete waits for
    it and only then draws, so the tombstone's revision is above the
    heartbeat's and no replica can take that heartbeat as newer than the
    delete. The heartbeat is played by a raw session. */
typedef struct { const char *id; int64_t rev; int err; } delete_arg_t;

static void *delete_thread(void *arg)
{
    delete_arg_t *d = arg;
    d->err = tu_write(rt, store, d->id, mt_store_msg_delete(d->id), &d->rev, NULL);
    return NULL;
}

START_TEST(delete_draws_after_a_heartbeat_in_flight)
{
    ck_assert_int_eq(reg_write("n7", tu_reg("h", NULL, NULL), NULL, NULL), MT_OK);
    ck_assert_int_eq(tu_write(rt, store, "n7", mt_store_msg_status("n7", tu_status(1, true), false),
                              NULL, NULL), MT_OK);
    MYSQL *hb = tu_raw(dsn, DB);
    tu_exec(hb, "START TRANSACTION");
    tu_exec(hb, "UPDATE node_status SET heartbeat_at = 2 WHERE id = 'n7'");
    delete_arg_t d = { "n7", 0, -1 };
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, delete_thread, &d), 0);
    usleep(300 * 1000);             /* the delete reaches the status row's lock */
    int64_t rh = tu_i64(hb, "SELECT NEXTVAL(mt_revision)");
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE node_status SET status_revision = %lld WHERE id = 'n7'",
             (long long) rh);
    tu_exec(hb, sql);
    tu_exec(hb, "COMMIT");
    pthread_join(t, NULL);
    mysql_close(hb);
    ck_assert_int_eq(d.err, MT_OK);
    ck_assert_int_gt(d.rev, rh);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM node_status WHERE id='n7'"), 0);
}
END_TEST

/*  On Galera each node draws revisions from its own copy of the sequence,
    which learns other nodes' draws only when their commits reach it: a row
    committed through another node can hold a revision above every value
    this node would draw next. Played here by moving rows far above the
    sequence. Every write must still commit a revision above the row it
    replaces and store its data: a heartbeat (fast, then checked), labels,
    and a delete above its status row. The sequence is moved past them
    (store_revision_raises). */
static int64_t raises(void)
{
    mt_store_stats_t st;
    mt_store_stats(store, &st);
    return (int64_t) st.revision_raises;
}

START_TEST(writes_stay_above_rows_from_another_node)
{
    ck_assert_int_eq(reg_write("g1", tu_reg("h", "a=1", NULL), NULL, NULL), MT_OK);
    ck_assert_int_eq(tu_write(rt, store, "g1", mt_store_msg_status("g1", tu_status(1, true), false),
                              NULL, NULL), MT_OK);
    int64_t raised = raises();
    tu_exec(raw, "UPDATE node_status SET status_revision = status_revision + 1000000"
                 " WHERE id = 'g1'");
    int64_t above = tu_i64(raw, "SELECT status_revision FROM node_status WHERE id = 'g1'");
    int64_t rev = 0;
    ck_assert_int_eq(tu_write(rt, store, "g1", mt_store_msg_status("g1", tu_status(2, true), true),
                              &rev, NULL), MT_OK);
    ck_assert_int_gt(rev, above);
    ck_assert_int_eq(tu_i64(raw, "SELECT status_revision FROM node_status WHERE id = 'g1'"), rev);
    ck_assert_int_eq(tu_i64(raw, "SELECT heartbeat_at FROM node_status WHERE id = 'g1'"), 2);
    ck_assert_int_gt(raises(), raised);

    tu_exec(raw, "UPDATE node_registrations SET reg_revision = reg_revision + 2000000"
                 " WHERE id = 'g1'");
    above = tu_i64(raw, "SELECT reg_revision FROM node_registrations WHERE id = 'g1'");
    mt_str_pair_t set[] = { { "b", "2" } };
    mt_node_reg_t st = { .labels = set, .nlabels = 1 };
    mt_node_reg_t *out = NULL;
    ck_assert_int_eq(tu_write(rt, store, "g1", mt_store_msg_labels("g1", mt_node_reg_build(&st),
                                                                    NULL, 0), &rev, &out), MT_OK);
    ck_assert_int_gt(rev, above);
    ck_assert(out->reg_revision == rev);
    assert_labels(out, "a=1,b=2");
    mt_node_reg_unref(&out);
    ck_assert_int_eq(tu_i64(raw, "SELECT reg_revision FROM node_registrations WHERE id = 'g1'"), rev);

    tu_exec(raw, "UPDATE node_status SET status_revision = status_revision + 4000000"
                 " WHERE id = 'g1'");
    above = tu_i64(raw, "SELECT status_revision FROM node_status WHERE id = 'g1'");
    ck_assert_int_eq(tu_write(rt, store, "g1", mt_store_msg_delete("g1"), &rev, NULL), MT_OK);
    ck_assert_int_gt(rev, above);
    ck_assert_int_eq(tu_i64(raw, "SELECT reg_revision FROM node_registrations WHERE id = 'g1'"
                            " AND deleted = 1"), rev);
}
END_TEST

/*  PURGE removes tombstones older than the retention (by deleted_at, the
    database clock at the delete), and nothing else. */
static int purge(int64_t older_than_ms, int64_t *count)
{
    mt_msg_t *r = tu_ask(rt, mt_store_writer(store, "p"), mt_store_msg_purge(older_than_ms));
    ck_assert_int_eq(r->type, MT_STORE_DONE);
    mt_store_done_t *d = mt_msg_data(r);
    int err = d->err;
    *count = d->count;
    mt_msg_free(r);
    return err;
}

START_TEST(purge_old_tombstones_only)
{
    const char *ids[] = { "p-old", "p-new", "p-live", "p-revived" };
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(reg_write(ids[i], tu_reg("h", NULL, NULL), NULL, NULL), MT_OK);
    for (int i = 0; i < 4; i++)
        if (i != 2)
            ck_assert_int_eq(tu_write(rt, store, ids[i], mt_store_msg_delete(ids[i]), NULL, NULL),
                             MT_OK);
    ck_assert_int_eq(reg_write("p-revived", tu_reg("h", NULL, NULL), NULL, NULL), MT_OK);
    ck_assert_int_ge(tu_i64(raw, "SELECT deleted_at FROM node_registrations WHERE id='p-new'"),
                     tu_i64(raw, "SELECT UNIX_TIMESTAMP(NOW(3)) * 1000") - 60000);
    /*  Age two of them by two hours, as if deleted then. */
    tu_exec(raw, "UPDATE node_registrations SET deleted_at = deleted_at - 7200000"
                 " WHERE id IN ('p-old', 'p-revived')");
    int64_t n;
    ck_assert_int_eq(purge(3600000, &n), MT_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM node_registrations WHERE id='p-old'"), 0);
    ck_assert_int_eq(tu_i64(raw, "SELECT deleted FROM node_registrations WHERE id='p-new'"), 1);
    ck_assert_int_eq(tu_i64(raw, "SELECT deleted FROM node_registrations WHERE id='p-live'"), 0);
    ck_assert_int_eq(tu_i64(raw, "SELECT deleted FROM node_registrations WHERE id='p-revived'"), 0);
    ck_assert_int_eq(purge(3600000, &n), MT_OK);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(purge(-1, &n), MT_EBADREQ);
    /*  A purged node is simply unknown: registering it again starts afresh. */
    mt_msg_t *m;
    ck_assert_int_eq(load("p-old", &m)->err, MT_ENOTFOUND);
    mt_msg_free(m);
    ck_assert_int_eq(reg_write("p-old", tu_reg("h", NULL, NULL), NULL, NULL), MT_OK);
}
END_TEST

START_TEST(unknown_and_bad_requests)
{
    ck_assert_int_eq(tu_write(rt, store, "never", mt_store_msg_status("never", tu_status(1, true), false),
                              NULL, NULL), MT_ENOTFOUND);
    ck_assert_int_eq(tu_write(rt, store, "never", mt_store_msg_delete("never"), NULL, NULL),
                     MT_ENOTFOUND);
    mt_msg_t *m;
    mt_store_loaded_t *l = load("never", &m);
    ck_assert_int_eq(l->err, MT_ENOTFOUND);
    mt_msg_free(m);
    /* ids that are not ids */
    ck_assert_int_eq(tu_write(rt, store, "x", mt_store_msg_delete("bad id'"), NULL, NULL), MT_EBADREQ);
    char longid[300];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    ck_assert_int_eq(tu_write(rt, store, "x", mt_store_msg_delete(longid), NULL, NULL), MT_EBADREQ);
    /* strings that are not UTF-8 are refused, not half-written */
    ck_assert_int_eq(reg_write("n5", tu_reg("bad\xff", NULL, NULL), NULL, NULL), MT_EBADREQ);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM node_registrations WHERE id='n5'"), 0);
    ck_assert_int_eq(reg_write("n5", tu_reg("h", "k=\xc3", NULL), NULL, NULL), MT_EBADREQ);
    ck_assert_int_eq(reg_write("n5", tu_reg("h", NULL, NULL), NULL, NULL), MT_OK);
    const char *img[1] = { "bad\xc0" };
    mt_node_status_t t = { .heartbeat_at = 5, .images = img, .nimages = 1 };
    ck_assert_int_eq(tu_write(rt, store, "n5", mt_store_msg_status("n5", mt_node_status_build(&t), false),
                              NULL, NULL), MT_EBADREQ);
}
END_TEST

START_TEST(status_round_trip)
{
    ck_assert_int_eq(reg_write("n6", tu_reg("h", NULL, NULL), NULL, NULL), MT_OK);
    int64_t rs;
    ck_assert_int_eq(tu_write(rt, store, "n6", mt_store_msg_status("n6", tu_status(123456, true), false),
                              &rs, NULL), MT_OK);
    mt_msg_t *m;
    mt_store_loaded_t *l = load("n6", &m);
    ck_assert_int_eq(l->err, MT_OK);
    const mt_node_status_t *st = l->row.status;
    ck_assert_ptr_nonnull(st);
    ck_assert(st->status_revision == rs);
    ck_assert(st->heartbeat_at == 123456);
    ck_assert(st->ready);
    ck_assert_uint_eq(st->nconditions, 1);
    ck_assert_str_eq(st->conditions[0].reason, "Kubelet\"Ready\"");
    ck_assert_str_eq(st->conditions[0].message, "line\nbreak \xe2\x9c\x93 \xf0\x9f\x98\x80");
    ck_assert_uint_eq(st->nimages, 2);
    ck_assert_str_eq(st->images[1], "redis:7");
    ck_assert_uint_eq(st->ntemplates, 1);
    ck_assert_str_eq(st->local_templates[0], "tpl-a");
    mt_msg_free(m);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("store_nodes");
    TCase *tc = tcase_create("nodes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, register_answers_committed_block);
    tcase_add_test(tc, labels_merge_rule);
    tcase_add_test(tc, versions_rewritten_only_on_hash_change);
    tcase_add_test(tc, delete_tombstone_and_revive);
    tcase_add_test(tc, delete_draws_after_a_heartbeat_in_flight);
    tcase_add_test(tc, writes_stay_above_rows_from_another_node);
    tcase_add_test(tc, purge_old_tombstones_only);
    tcase_add_test(tc, unknown_and_bad_requests);
    tcase_add_test(tc, status_round_trip);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
