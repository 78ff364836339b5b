/*  test_store_untrusted.c — rows written behind the service's back by raw
    SQL (JSON of another shape, text beyond the limits, UTF-8 the decoder
    refuses, values out of range) never stop a scan or a load of the other
    rows; each is logged once and counted (rows_rejected) per version. A
    registration that cannot be read fails closed: listed with the label
    MT_LABEL_UNREADABLE (never schedulable), and writes that would merge
    into it refuse it. A status that cannot be read is not taken; the
    node's next heartbeat rewrites it. */
#include "store_testutil.h"
#include "mt_check.h"
#include "log_capture.h"


static mt_runtime_t *rt;
static mt_store_t *store;
static MYSQL *raw;
static char *dsn;
#define DB "metactor_t_store_untrusted"

/*  The nodes, what is done to each behind the store's back, and what
    must come of it: `bad` names the registration column marked unreadable,
    or is "status" for a status that cannot be read (NULL: all readable). */
static const struct { const char *id, *sql, *bad; } corrupt[] = {
    { "ok1", NULL, NULL },
    { "ok2", NULL, NULL },
    { "l-shape", "UPDATE node_registrations SET labels = '[1,2]' WHERE id = 'l-shape'", "labels" },
    { "l-type", "UPDATE node_registrations SET labels = '{\"zone\":1}' WHERE id = 'l-type'",
      "labels" },
    /*  MariaDB stores an encoded surrogate (ED A0 80) in utf8mb4; we do not. */
    { "l-utf8", "UPDATE node_registrations SET labels = CONCAT('{\"zone\":\"',"
                " CONVERT(X'EDA080' USING binary), '\"}') WHERE id = 'l-utf8'", "labels" },
    { "l-nul", "UPDATE node_registrations SET labels = '{\"zone\":\"a\\\\u0000b\"}'"
               " WHERE id = 'l-nul'", "labels" },
    { "l-big", "UPDATE node_registrations SET labels = CONCAT('{\"zone\":\"', REPEAT('x', 5000),"
               " '\"}') WHERE id = 'l-big'", "labels" },
    { "host", "UPDATE node_registrations SET host_ip = CONVERT(X'EDA080' USING binary)"
              " WHERE id = 'host'", "host_ip" },
    { "port", "UPDATE node_registrations SET grpc_port = 70000 WHERE id = 'port'", "grpc_port" },
    { "cap", "UPDATE node_registrations SET capacity = '{\"cpu\":\"many\"}' WHERE id = 'cap'",
      "capacity" },
    { "img", "UPDATE node_status SET images = '{\"a\":\"b\"}' WHERE id = 'img'", "status" },
    { "cond", "UPDATE node_status SET conditions = '[{\"type\":\"a\",\"bogus\":\"x\"}]'"
              " WHERE id = 'cond'", "status" },
    { "img-big", "UPDATE node_status SET images = CONCAT('[\"', REPEAT('y', 2000), '\"]')"
                 " WHERE id = 'img-big'", "status" },
    { "seen", "UPDATE node_status SET seen_at = -5 WHERE id = 'seen'", "status" },
    /*  Not JSON at all: node_status has no JSON_VALID check (schema v10). */
    { "img-text", "UPDATE node_status SET images = 'not json' WHERE id = 'img-text'", "status" },
    { "cond-cut", "UPDATE node_status SET conditions = '[{\"type\":\"a\"' WHERE id = 'cond-cut'",
      "status" },
};
#define NCORRUPT (sizeof corrupt / sizeof corrupt[0])

/*  The rows a scan must refuse: every one the table breaks. */
static unsigned nrejected(void)
{
    unsigned n = 0;
    for (size_t i = 0; i < NCORRUPT; i++)
        n += corrupt[i].bad != NULL;
    return n;
}

static void setup(void)
{
    log_capture_start();
    tu_open(&rt, &dsn, &store, &raw, DB, 2);
    for (size_t i = 0; i < NCORRUPT; i++) {
        const char *id = corrupt[i].id;
        ck_assert_int_eq(tu_write(rt, store, id, mt_store_msg_register(id,
                                  tu_reg("10.0.0.1", "zone=a,metactor.io/scheduling-disabled=false",
                                         "kubelet=1.28")), NULL, NULL), MT_OK);
        ck_assert_int_eq(tu_write(rt, store, id, mt_store_msg_status(id, tu_status(1000, true),
                                                                      false), NULL, NULL), MT_OK);
    }
    for (size_t i = 0; i < NCORRUPT; i++)
        if (corrupt[i].sql)
            tu_exec(raw, corrupt[i].sql);
}

static void teardown(void)
{
    tu_close(&rt, &dsn, &store, &raw);
    log_capture_stop();
}

static uint64_t rejected(void)
{
    mt_store_stats_t st;
    mt_store_stats(store, &st);
    return st.rows_rejected;
}

static const mt_store_row_t *find(const mt_store_scanned_t *s, const char *id)
{
    for (uint32_t i = 0; i < s->nrows; i++)
        if (strcmp(s->rows[i].id, id) == 0)
            return &s->rows[i];
    return NULL;
}

static mt_store_scanned_t *scan(int64_t after, bool full, mt_msg_t **m)
{
    *m = tu_ask(rt, mt_store_reader(store), mt_store_msg_scan(after, full));
    ck_assert_int_eq((*m)->type, MT_STORE_SCANNED);
    mt_store_scanned_t *s = mt_msg_data(*m);
    ck_assert_msg(s->err == MT_OK, "a corrupt row failed the scan: %s", s->message);
    return s;
}

static const char *unreadable(const mt_node_reg_t *reg)
{
    return mt_str_map_get(reg->labels, reg->nlabels, MT_LABEL_UNREADABLE);
}

/*  What a scan or a load must make of each node. */
static void check_row(const mt_store_row_t *r)
{
    const char *id = r->id;
    ck_assert_msg(r->reg, "%s: the registration is always there (listed)", id);
    char err[200];
    ck_assert_msg(mt_node_reg_check(r->reg, err, sizeof err) == MT_OK, "%s: %s", id, err);
    const char *bad = NULL;
    bool known = false;
    for (size_t i = 0; i < NCORRUPT && !known; i++)
        if ((known = strcmp(corrupt[i].id, id) == 0))
            bad = corrupt[i].bad;
    ck_assert_msg(known, "%s: a node the test did not write", id);
    bool status_bad = bad && strcmp(bad, "status") == 0, reg_bad = bad && !status_bad;
    if (reg_bad) {
        const char *what = unreadable(r->reg);
        ck_assert_msg(what, "%s: marked unreadable", id);
        ck_assert_str_eq(what, bad);
        ck_assert(!mt_node_schedulable(r->reg, true));
        /*  What could be read stays. */
        ck_assert_uint_eq(r->reg->nversions, 1);
        if (strcmp(bad, "labels") != 0)
            ck_assert_str_eq(mt_str_map_get(r->reg->labels, r->reg->nlabels, "zone"), "a");
        else
            ck_assert_uint_eq(r->reg->nlabels, 1);
    } else {
        ck_assert_msg(!unreadable(r->reg), "%s", id);
        ck_assert_str_eq(mt_str_map_get(r->reg->labels, r->reg->nlabels, "zone"), "a");
        ck_assert(mt_node_schedulable(r->reg, true));
        ck_assert_str_eq(r->reg->host_ip, "10.0.0.1");
    }
    if (status_bad) {
        ck_assert_msg(!r->status, "%s: a status that cannot be read is not taken", id);
    } else {
        ck_assert_msg(r->status, "%s: its status", id);
        ck_assert_msg(mt_node_status_check(r->status, err, sizeof err) == MT_OK, "%s: %s", id, err);
        ck_assert_int_gt(r->status->seen_at, 0);
        ck_assert_uint_eq(r->status->nimages, 2);
    }
}

START_TEST(scans_load_every_other_row)
{
    mt_msg_t *m;
    mt_store_scanned_t *s = scan(0, true, &m);
    ck_assert_uint_eq(s->nrows, NCORRUPT);
    for (size_t i = 0; i < NCORRUPT; i++) {
        const mt_store_row_t *r = find(s, corrupt[i].id);
        ck_assert_msg(r, "%s: missing from the scan", corrupt[i].id);
        check_row(r);
    }
    mt_msg_free(m);
    ck_assert_uint_eq(rejected(), nrejected());
    ck_assert_uint_eq(log_capture_count("cannot be read"), nrejected());
    ck_assert_uint_eq(log_capture_count("node_registrations row of l-shape"), 1);
    ck_assert_uint_eq(log_capture_count("node_status row of img "), 1);

    /*  Every later read of the same rows: not logged, not counted again. */
    s = scan(0, true, &m);
    ck_assert_uint_eq(s->nrows, NCORRUPT);
    mt_msg_free(m);
    s = scan(0, false, &m);
    ck_assert_uint_eq(s->nrows, NCORRUPT);
    for (size_t i = 0; i < NCORRUPT; i++)
        check_row(find(s, corrupt[i].id));
    mt_msg_free(m);
    for (size_t i = 0; i < NCORRUPT; i++) {
        m = tu_ask(rt, mt_store_reader(store), mt_store_msg_load(corrupt[i].id));
        mt_store_loaded_t *l = mt_msg_data(m);
        ck_assert_msg(l->err == MT_OK, "%s: %s", corrupt[i].id, l->message);
        check_row(&l->row);
        mt_msg_free(m);
    }
    ck_assert_uint_eq(rejected(), nrejected());
    ck_assert_uint_eq(log_capture_count("cannot be read"), nrejected());

    /*  A new version of a bad row is a new rejection. */
    tu_exec(raw, "UPDATE node_registrations SET labels = '[3]', reg_revision ="
                 " NEXTVAL(mt_revision) WHERE id = 'l-shape'");
    s = scan(0, true, &m);
    ck_assert_uint_eq(s->nrows, NCORRUPT);
    mt_msg_free(m);
    ck_assert_uint_eq(rejected(), nrejected() + 1);
}
END_TEST

/*  A write that must merge with what is stored refuses a registration it
    cannot read (a cordon among the lost labels would be lost with them);
    a heartbeat rewrites a status row that could not be read. */
START_TEST(writes_fail_closed)
{
    mt_msg_t *r = tu_ask(rt, mt_store_writer(store, "l-shape"),
                         mt_store_msg_labels("l-shape", tu_reg("h", "x=1", NULL), NULL, 0));
    mt_store_done_t *d = mt_msg_data(r);
    ck_assert_int_eq(d->err, MT_EINTERNAL);
    ck_assert_msg(strstr(d->message, "cannot be read"), "%s", d->message);
    mt_msg_free(r);
    r = tu_ask(rt, mt_store_writer(store, "l-type"),
               mt_store_msg_register("l-type", tu_reg("h", "zone=b", NULL)));
    d = mt_msg_data(r);
    ck_assert_int_eq(d->err, MT_EINTERNAL);
    ck_assert_msg(strstr(d->message, "cannot be read"), "%s", d->message);
    mt_msg_free(r);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM node_registrations WHERE labels LIKE"
                                 " '%unreadable%'"), 0);

    ck_assert_int_eq(tu_write(rt, store, "img", mt_store_msg_status("img", tu_status(2000, true),
                                                                     true), NULL, NULL), MT_OK);
    r = tu_ask(rt, mt_store_reader(store), mt_store_msg_load("img"));
    mt_store_loaded_t *l = mt_msg_data(r);
    ck_assert_int_eq(l->err, MT_OK);
    ck_assert_ptr_nonnull(l->row.status);
    ck_assert_int_eq(l->row.status->heartbeat_at, 2000);
    mt_msg_free(r);
}
END_TEST

/*  A reference whose stored node_list cannot be read is still scanned (its
    cache empty until the next refresh), and so are the others. */
START_TEST(rc_rows)
{
    tu_exec(raw, "INSERT INTO rc_refs (id, name, hostname, node_list, revision) VALUES"
                 " ('11111111-1111-4111-8111-111111111111', 'good', 'tcp://g:1',"
                 "  '[\"tcp://g:1\"]', NEXTVAL(mt_revision)),"
                 " ('22222222-2222-4222-8222-222222222222', 'bad', 'tcp://b:1',"
                 "  '{\"not\":\"a list\"}', NEXTVAL(mt_revision))");
    uint64_t before = rejected();
    mt_msg_t *m = tu_ask(rt, mt_store_reader(store), mt_store_msg_rc_scan(0));
    ck_assert_int_eq(m->type, MT_STORE_RC_SCANNED);
    mt_store_rc_scanned_t *s = mt_msg_data(m);
    ck_assert_msg(s->err == MT_OK, "%s", s->message);
    ck_assert_uint_eq(s->nrefs, 2);
    for (uint32_t i = 0; i < s->nrefs; i++)
        ck_assert_uint_eq(s->refs[i]->nnodes, strcmp(s->refs[i]->name, "good") == 0 ? 1 : 0);
    mt_msg_free(m);
    ck_assert_uint_eq(rejected(), before + 1);
    ck_assert_uint_eq(log_capture_count("rc_refs row of 22222222"), 1);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("store_untrusted");
    TCase *tc = tcase_create("untrusted");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, scans_load_every_other_row);
    tcase_add_test(tc, writes_fail_closed);
    tcase_add_test(tc, rc_rows);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
