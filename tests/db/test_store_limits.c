/*  test_store_limits.c — limits on what the store writes (mt_store.h,
    "Limits"): labels counted after the merge, every JSON column bounded
    (MT_STORE_JSON_MAX), heartbeat transactions cut by bytes
    (MT_STORE_BATCH_BYTES), and a batch holding a row that the database
    refuses: that row fails alone, the others commit and are answered ok.

    To put heartbeats into one batch for certain, the writer is held first:
    a raw connection locks a registration row that a REGISTER sent to the
    writer then waits for; heartbeats sent meanwhile pile up in its mailbox
    and become one flush when the lock goes. */
#include "store_testutil.h"
#include "mt_check.h"

#include <time.h>

static mt_runtime_t *rt;
static mt_store_t *store;
static char *dsn;
static mt_actor_t *writer;      /* every request of a test goes to this one */
#define DB "metactor_t_store_limits"
#define HOLDER_CORR 100000

static void setup(void)
{
    tu_open(&rt, &dsn, &store, NULL, DB, 2);
    writer = mt_store_writer(store, "holder");
    ck_assert_int_eq(tu_write(rt, store, "holder",
                              mt_store_msg_register("holder", tu_reg("h", NULL, NULL)), NULL, NULL),
                     MT_OK);
}

static void teardown(void)
{
    tu_close(&rt, &dsn, &store, NULL);
}

static void sleep_ms(long ms)
{
    nanosleep(&(struct timespec) { ms / 1000, (ms % 1000) * 1000000 }, NULL);
}

static int reg_on(const char *id, mt_node_reg_t *reg, mt_node_reg_t **out, char *why)
{
    mt_msg_t *r = tu_ask(rt, writer, mt_store_msg_register(id, reg));
    mt_store_done_t *d = mt_msg_data(r);
    int err = d->err;
    if (why)
        snprintf(why, 200, "%s", d->message);
    if (out)
        *out = mt_node_reg_ref(d->reg);
    mt_msg_free(r);
    return err;
}

static int labels_on(const char *id, mt_node_reg_t *set, const char *const *rm, uint32_t nrm,
                     char *why)
{
    mt_msg_t *r = tu_ask(rt, writer, mt_store_msg_labels(id, set, rm, nrm));
    mt_store_done_t *d = mt_msg_data(r);
    int err = d->err;
    if (why)
        snprintf(why, 200, "%s", d->message);
    mt_msg_free(r);
    return err;
}

/* ---- holding the writer ---------------------------------------------------- */

/*  Locks the holder's registration and sends the writer a REGISTER of it:
    the writer waits in that lock until release(). */
static MYSQL *hold(mt_probe_t *probe)
{
    MYSQL *raw = tu_raw(dsn, DB);
    tu_exec(raw, "START TRANSACTION");
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM node_registrations"
                                 " WHERE id = 'holder' FOR UPDATE"), 1);
    mt_msg_t *m = mt_store_msg_register("holder", tu_reg("h2", NULL, NULL));
    m->from = mt_actor_ref(mt_probe_actor(probe));
    m->corr = HOLDER_CORR;
    ck_assert_int_eq(mt_send(writer, m), MT_OK);
    sleep_ms(200);                  /* the writer is in the lock wait now */
    return raw;
}

static void release(MYSQL *raw)
{
    sleep_ms(100);                  /* the heartbeats sent are in the mailbox */
    tu_exec(raw, "COMMIT");
    mysql_close(raw);
}

static void send_status(mt_probe_t *probe, const char *id, mt_node_status_t *st, bool registered,
                        uint64_t corr)
{
    mt_msg_t *m = mt_store_msg_status(id, st, registered);
    m->from = mt_actor_ref(mt_probe_actor(probe));
    m->corr = corr;
    ck_assert_int_eq(mt_send(writer, m), MT_OK);
}

typedef struct { int err; int64_t revision; char message[200]; } answer_t;

/*  n answers by corr 1..n (and the holder's, which must be ok). */
static void collect(mt_probe_t *probe, answer_t *a, int n)
{
    for (int got = 0; got < n + 1; got++) {
        mt_msg_t *r = mt_probe_recv(probe, 20000);
        ck_assert_msg(r != NULL, "only %d of %d answers", got, n + 1);
        ck_assert_int_eq(r->type, MT_STORE_DONE);
        mt_store_done_t *d = mt_msg_data(r);
        if (r->corr == HOLDER_CORR) {
            ck_assert_msg(d->err == MT_OK, "holder: %s", d->message);
        }
        else {
            ck_assert(r->corr >= 1 && r->corr <= (uint64_t) n);
            answer_t *x = &a[r->corr - 1];
            x->err = d->err;
            x->revision = d->revision;
            snprintf(x->message, sizeof x->message, "%s", d->message);
        }
        mt_msg_free(r);
    }
}

/* ---- status blocks ----------------------------------------------------------- */

/*  n images of `each` bytes of ch, local_templates as given. */
static mt_node_status_t *status_of(int64_t at, uint32_t n, size_t each, char ch, const char *tpl)
{
    char *one = malloc(each + 1);
    memset(one, ch, each);
    one[each] = '\0';
    const char **images = calloc(n ? n : 1, sizeof *images);
    for (uint32_t i = 0; i < n; i++)
        images[i] = one;
    const char *tpls[1] = { tpl };
    mt_node_status_t t = {
        .heartbeat_at = at, .ready = true, .images = images, .nimages = n,
        .local_templates = tpls, .ntemplates = tpl ? 1 : 0,
    };
    mt_node_status_t *st = mt_node_status_build(&t);
    free(images);
    free(one);
    return st;
}

static mt_store_stats_t stats(void)
{
    mt_store_stats_t s;
    mt_store_stats(store, &s);
    return s;
}

static void register_nodes(const char *fmt, int n)
{
    char id[32];
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, fmt, i);
        ck_assert_int_eq(reg_on(id, tu_reg("h", NULL, NULL), NULL, NULL), MT_OK);
    }
}

/* ---- tests ------------------------------------------------------------------- */

/*  40 heartbeats of ~60 KB each (2.4 MB) pending at once commit in
    transactions of at most MT_STORE_BATCH_BYTES: at least three, all ok,
    every row stored; one node's two heartbeats commit in the order sent. */
START_TEST(batches_cut_by_bytes)
{
    enum { N = 40 };
    register_nodes("big-%02d", N);
    mt_store_stats_t before = stats();
    mt_probe_t *probe = mt_probe_new(rt);
    MYSQL *raw = hold(probe);
    char id[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "big-%02d", i % (N - 1));   /* big-00 twice */
        send_status(probe, id, status_of(1000 + i, 60, 1000, 'a' + i % 26, NULL), false,
                    (uint64_t) i + 1);
    }
    release(raw);
    answer_t a[N];
    collect(probe, a, N);
    mt_probe_destroy(&probe);
    for (int i = 0; i < N; i++)
        ck_assert_msg(a[i].err == MT_OK, "%d: %s", i, a[i].message);
    ck_assert_int_gt(a[N - 1].revision, a[0].revision);      /* big-00, in send order */
    mt_store_stats_t after = stats();
    uint64_t txns = after.status_batches - before.status_batches;
    ck_assert_uint_eq(after.status_rows - before.status_rows, N);
    ck_assert_msg(txns >= 3 && txns <= 8, "%llu transactions for 2.4 MB",
                  (unsigned long long) txns);
    ck_assert_uint_eq(after.status_alone, before.status_alone);
    MYSQL *check = tu_raw(dsn, DB);
    ck_assert_int_eq(tu_i64(check, "SELECT COUNT(*) FROM node_status WHERE id LIKE 'big-%'"),
                     N - 1);
    ck_assert_int_eq(tu_i64(check, "SELECT heartbeat_at FROM node_status WHERE id = 'big-00'"),
                     1000 + N - 1);
    mysql_close(check);
}
END_TEST

/*  A heartbeat whose JSON would exceed MT_STORE_JSON_MAX is refused alone,
    before the database; its batch companions commit. Both ways over:
    plain bytes (refused without encoding) and escapes (6 bytes each). */
START_TEST(oversized_heartbeat_fails_alone)
{
    register_nodes("o-%d", 4);
    mt_probe_t *probe = mt_probe_new(rt);
    MYSQL *raw = hold(probe);
    send_status(probe, "o-0", status_of(1, 2, 100, 'x', NULL), false, 1);
    send_status(probe, "o-1", status_of(2, 70, 1000, 'x', NULL), false, 2);   /* 70,000 bytes */
    send_status(probe, "o-2", status_of(3, 20, 1000, '\x01', NULL), false, 3); /* 120,000 as \u0001 */
    send_status(probe, "o-3", status_of(4, 65, 1000, 'y', NULL), false, 4);   /* 65,194: fits */
    release(raw);
    answer_t a[4];
    collect(probe, a, 4);
    mt_probe_destroy(&probe);
    ck_assert_msg(a[0].err == MT_OK, "%s", a[0].message);
    ck_assert_int_eq(a[1].err, MT_EBADREQ);
    ck_assert_str_eq(a[1].message, "images: more than 65535 bytes as stored");
    ck_assert_int_eq(a[2].err, MT_EBADREQ);
    ck_assert_str_eq(a[2].message, "images: 120061 bytes as stored; at most 65535");
    ck_assert_msg(a[3].err == MT_OK, "%s", a[3].message);
    MYSQL *check = tu_raw(dsn, DB);
    ck_assert_int_eq(tu_i64(check, "SELECT COUNT(*) FROM node_status WHERE id IN ('o-1','o-2')"), 0);
    ck_assert_int_eq(tu_i64(check, "SELECT LENGTH(images) FROM node_status WHERE id = 'o-3'"),
                     65 * 1003 + 1);
    mysql_close(check);
}
END_TEST

/*  A registration over the limit in any JSON column: refused, nothing
    stored, no revision drawn. */
START_TEST(oversized_registration_refused)
{
    char why[200];
    /*  256 labels of 300-byte keys: legal one by one, 95 KB as JSON. */
    enum { N = 256 };
    mt_str_pair_t *labels = calloc(N, sizeof *labels);
    char (*keys)[320] = calloc(N, sizeof *keys);
    for (int i = 0; i < N; i++) {
        memset(keys[i], 'k', 299);
        snprintf(keys[i] + 290, 10, "%09d", i);
        labels[i] = (mt_str_pair_t) { keys[i], "v" };
    }
    /*  {"k…":"v",…}: 256 × (301 + 1 + 3) + 255 commas + 2 braces */
    char want[100];
    snprintf(want, sizeof want, "labels: %d bytes as stored; at most 65535", N * 305 + N + 1);
    mt_node_reg_t t = { .host_ip = "h", .labels = labels, .nlabels = N };
    ck_assert_int_eq(reg_on("fat", mt_node_reg_build(&t), NULL, why), MT_EBADREQ);
    ck_assert_str_eq(why, want);
    /*  capacity the same way */
    mt_int_pair_t *cap = calloc(N, sizeof *cap);
    for (int i = 0; i < N; i++)
        cap[i] = (mt_int_pair_t) { keys[i], INT64_MAX };
    t = (mt_node_reg_t) { .host_ip = "h", .capacity = cap, .ncapacity = N };
    ck_assert_int_eq(reg_on("fat", mt_node_reg_build(&t), NULL, why), MT_EBADREQ);
    ck_assert_ptr_nonnull(strstr(why, "capacity: "));
    /*  node.labels to the same size */
    ck_assert_int_eq(reg_on("fat", tu_reg("h", NULL, NULL), NULL, NULL), MT_OK);
    t = (mt_node_reg_t) { .labels = labels, .nlabels = N };
    ck_assert_int_eq(labels_on("fat", mt_node_reg_build(&t), NULL, 0, why), MT_EBADREQ);
    ck_assert_str_eq(why, want);
    MYSQL *check = tu_raw(dsn, DB);
    ck_assert_int_eq(tu_i64(check, "SELECT JSON_LENGTH(labels) FROM node_registrations"
                                   " WHERE id = 'fat'"), 0);
    mysql_close(check);
    free(cap);
    free(labels);
    free(keys);
}
END_TEST

/*  256 labels after a merge is the limit: node.register merges into the
    stored labels, node.labels sets and removes; past it, bad_request and
    nothing stored (the revision unchanged). */
static mt_node_reg_t *labels_block(const char *prefix, int from, int n)
{
    mt_str_pair_t *l = calloc((size_t) n + 1, sizeof *l);
    char (*k)[16] = calloc((size_t) n + 1, sizeof *k);
    for (int i = 0; i < n; i++) {
        snprintf(k[i], sizeof k[i], "%s%d", prefix, from + i);
        l[i] = (mt_str_pair_t) { k[i], "v" };
    }
    mt_node_reg_t t = { .host_ip = "h", .labels = l, .nlabels = (uint32_t) n };
    mt_node_reg_t *b = mt_node_reg_build(&t);
    free(l);
    free(k);
    return b;
}

START_TEST(merged_labels_limit)
{
    char why[200];
    mt_node_reg_t *out = NULL;
    ck_assert_int_eq(reg_on("m", labels_block("a", 0, 200), &out, NULL), MT_OK);
    int64_t rev = out->reg_revision;
    mt_node_reg_unref(&out);
    MYSQL *check = tu_raw(dsn, DB);
#define STORED_LABELS() tu_i64(check, "SELECT JSON_LENGTH(labels) FROM node_registrations WHERE id = 'm'")
#define STORED_REV() tu_i64(check, "SELECT reg_revision FROM node_registrations WHERE id = 'm'")

    /*  register: 200 stored + 57 new = 257 */
    ck_assert_int_eq(reg_on("m", labels_block("b", 0, 57), NULL, why), MT_EBADREQ);
    ck_assert_str_eq(why, "labels: the node would have 257 (the 57 registered merged into the"
                          " 200 stored); at most 256");
    ck_assert_int_eq(STORED_LABELS(), 200);
    ck_assert_int_eq(STORED_REV(), rev);
    /*  ... but overwriting stored keys adds nothing: 200 + 56 new = 256 */
    mt_node_reg_t *b = labels_block("a", 100, 156);    /* a100..a255: 100 old, 56 new */
    ck_assert_int_eq(reg_on("m", b, NULL, why), MT_OK);
    ck_assert_int_eq(STORED_LABELS(), 256);
    rev = STORED_REV();

    /*  labels: one more is too many, one more and one less is fine */
    ck_assert_int_eq(labels_on("m", labels_block("c", 0, 1), NULL, 0, why), MT_EBADREQ);
    ck_assert_str_eq(why, "labels: the node would have 257; at most 256");
    ck_assert_int_eq(STORED_REV(), rev);
    const char *rm[] = { "a0" };
    ck_assert_int_eq(labels_on("m", labels_block("c", 0, 1), rm, 1, why), MT_OK);
    ck_assert_int_eq(STORED_LABELS(), 256);
    /*  a set of 256 that replaces none: 512 */
    ck_assert_int_eq(labels_on("m", labels_block("d", 0, 256), NULL, 0, why), MT_EBADREQ);
    ck_assert_str_eq(why, "labels: the node would have 512; at most 256");
    ck_assert_int_eq(STORED_LABELS(), 256);
#undef STORED_LABELS
#undef STORED_REV
    mysql_close(check);
}
END_TEST

/*  A batch holding a row the database refuses (a CHECK constraint added
    behind the store's back): the batch is retried row by row, the
    others commit and are answered ok with revisions in send order, the
    refused one gets the database's error. Through the checked path (first
    heartbeats) and the fast path (registered) alike. */
START_TEST(refused_row_fails_alone)
{
    enum { N = 10, POISON = 4 };
    register_nodes("p-%d", N - 1);
    MYSQL *raw = tu_raw(dsn, DB);
    tu_exec(raw, "ALTER TABLE node_status ADD CONSTRAINT no_poison"
                 " CHECK (local_templates NOT LIKE '%poison%')");
    for (int round = 0; round < 2; round++) {
        bool registered = round == 1;   /* round 0 inserts its rows: checked */
        mt_store_stats_t before = stats();
        mt_probe_t *probe = mt_probe_new(rt);
        MYSQL *held = hold(probe);
        char id[16];
        for (int i = 0; i < N; i++) {
            snprintf(id, sizeof id, "p-%d", i == N - 1 ? 0 : i);     /* p-0 first and last */
            send_status(probe, id, status_of(100 * round + i, 1, 10, 'i',
                                             i == POISON ? "poison" : "fine"),
                        registered, (uint64_t) i + 1);
        }
        release(held);
        answer_t a[N];
        collect(probe, a, N);
        mt_probe_destroy(&probe);
        for (int i = 0; i < N; i++) {
            if (i == POISON) {
                ck_assert_int_eq(a[i].err, MT_EINTERNAL);
                ck_assert_str_eq(a[i].message, "database error 4025");
            }
            else
                ck_assert_msg(a[i].err == MT_OK, "round %d row %d: %s", round, i, a[i].message);
        }
        ck_assert_int_gt(a[N - 1].revision, a[0].revision);      /* p-0, in send order */
        mt_store_stats_t after = stats();
        ck_assert_uint_eq(after.status_rows - before.status_rows, N - 1);
        ck_assert_uint_eq(after.status_alone - before.status_alone, N);
        ck_assert_uint_eq(after.status_batches - before.status_batches, N - 1);
        char sql[160];
        for (int i = 1; i < N - 1; i++) {
            snprintf(sql, sizeof sql, "SELECT heartbeat_at FROM node_status WHERE id = 'p-%d'", i);
            ck_assert_int_eq(tu_i64(raw, sql), i == POISON ? (round ? 0 : -1) : 100 * round + i);
        }
        ck_assert_int_eq(tu_i64(raw, "SELECT heartbeat_at FROM node_status WHERE id = 'p-0'"),
                         100 * round + N - 1);
        if (round == 0) {
            /*  The poisoned node gets a row of its own for round 1 (fast). */
            MYSQL *w = tu_raw(dsn, DB);
            tu_exec(w, "INSERT INTO node_status (id, heartbeat_at, ready, conditions, images,"
                       " local_templates, status_revision) VALUES ('p-4', 0, 0, '[]', '[]',"
                       " '[]', 1)");
            mysql_close(w);
        }
    }
    /*  Without the constraint, batches go whole again. */
    tu_exec(raw, "ALTER TABLE node_status DROP CONSTRAINT no_poison");
    mt_store_stats_t before = stats();
    ck_assert_int_eq(tu_write(rt, store, "p-4", mt_store_msg_status("p-4",
                              status_of(7, 1, 10, 'i', "poison"), true), NULL, NULL), MT_OK);
    ck_assert_uint_eq(stats().status_alone, before.status_alone);
    mysql_close(raw);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("store_limits");
    TCase *tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, batches_cut_by_bytes);
    tcase_add_test(tc, oversized_heartbeat_fails_alone);
    tcase_add_test(tc, oversized_registration_refused);
    tcase_add_test(tc, merged_labels_limit);
    tcase_add_test(tc, refused_row_fails_alone);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
