/*  test_store_replicas.c — membership rows through the store's reader: a
    beat creates and refreshes a replica's row with the database's clock,
    every replica reads the same list sorted by id, a replica whose beats
    stop is no longer alive once the window passed, leave removes the row,
    and the cluster uuid is the database's, stable across restarts; a beat
    never waits behind a scan. Two stores on one database stand for two
    replicas. */
#include "store_testutil.h"
#include "mt_check.h"

#include <time.h>

#define DB "metactor_t_store_replicas"

static mt_runtime_t *rt;
static char *dsn;
static mt_store_t *sa, *sb;        /* replica A, replica B */
static MYSQL *raw;

static void setup(void)
{
    rt = mt_runtime_new(NULL);
    ck_assert_ptr_nonnull(rt);
    tu_drop_db(NULL, DB);
    dsn = tu_dsn_for(NULL, DB);
    sa = tu_store(rt, dsn, 1);
    sb = tu_store(rt, dsn, 1);
    raw = tu_raw(dsn, DB);
}

static void teardown(void)
{
    mysql_close(raw);
    mt_store_destroy(&sa);
    mt_store_destroy(&sb);
    mt_runtime_destroy(&rt);
    free(dsn);
}

static void sleep_ms(long ms)
{
    nanosleep(&(struct timespec) { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 }, NULL);
}

/*  A beat and its REPLICAS answer (the caller frees it). */
static mt_msg_t *beat_full(mt_store_t *s, const char *id, const char *ep, const char *pub,
                           int64_t started_at, int64_t alive_ms)
{
    mt_msg_t *r = tu_ask(rt, mt_store_members(s),
                         mt_store_msg_replica_beat(id, ep, pub, started_at, alive_ms));
    ck_assert_int_eq(r->type, MT_STORE_REPLICAS);
    return r;
}

/*  A beat that must succeed; endpoints derived from the id. */
static mt_msg_t *beat(mt_store_t *s, const char *id, int64_t alive_ms)
{
    char ep[128], pub[128];
    snprintf(ep, sizeof ep, "tcp://%s:7400", id);
    snprintf(pub, sizeof pub, "tcp://%s:7401", id);
    mt_msg_t *r = beat_full(s, id, ep, pub, 1700000000000, alive_ms);
    mt_store_replicas_t *l = mt_msg_data(r);
    ck_assert_msg(l->err == MT_OK, "beat %s: %s", id, l->message);
    return r;
}

static const mt_store_replica_t *find(const mt_store_replicas_t *l, const char *id)
{
    for (uint32_t i = 0; i < l->nreplicas; i++)
        if (strcmp(l->replicas[i].replica_id, id) == 0)
            return &l->replicas[i];
    return NULL;
}

static int leave(mt_store_t *s, const char *id)
{
    mt_msg_t *r = tu_ask(rt, mt_store_members(s), mt_store_msg_replica_leave(id));
    ck_assert_int_eq(r->type, MT_STORE_DONE);
    int err = ((mt_store_done_t *) mt_msg_data(r))->err;
    mt_msg_free(r);
    return err;
}

static long long db_now_ms(void)
{
    return tu_i64(raw, "SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)");
}

START_TEST(beat_creates_then_updates)
{
    long long t0 = db_now_ms();
    mt_msg_t *r = beat_full(sa, "r-a", "tcp://10.0.0.1:7400", "tcp://10.0.0.1:7401", 123, 3000);
    long long t1 = db_now_ms();
    mt_store_replicas_t *l = mt_msg_data(r);
    ck_assert_msg(l->err == MT_OK, "%s", l->message);
    ck_assert_uint_eq(l->nreplicas, 1);
    const mt_store_replica_t *e = &l->replicas[0];
    ck_assert_str_eq(e->replica_id, "r-a");
    ck_assert_str_eq(e->endpoint, "tcp://10.0.0.1:7400");
    ck_assert_str_eq(e->pub_endpoint, "tcp://10.0.0.1:7401");
    ck_assert(e->alive);
    /* both times are the database's */
    ck_assert_msg(e->heartbeat_at >= t0 && e->heartbeat_at <= t1, "heartbeat_at %lld not in [%lld, %lld]",
                  (long long) e->heartbeat_at, t0, t1);
    ck_assert(l->now_ms >= e->heartbeat_at && l->now_ms <= t1);
    int64_t first = e->heartbeat_at;
    mt_msg_free(r);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM replicas"), 1);
    ck_assert_int_eq(tu_i64(raw, "SELECT started_at FROM replicas WHERE replica_id = 'r-a'"), 123);
    ck_assert_int_eq(tu_i64(raw, "SELECT heartbeat_at FROM replicas WHERE replica_id = 'r-a'"), first);

    /* a later beat (a restart on a new address) updates the same row */
    sleep_ms(20);
    r = beat_full(sa, "r-a", "ipc:///tmp/a.sock", "ipc:///tmp/a.pub", 456, 3000);
    l = mt_msg_data(r);
    ck_assert_msg(l->err == MT_OK, "%s", l->message);
    ck_assert_uint_eq(l->nreplicas, 1);
    ck_assert_str_eq(l->replicas[0].endpoint, "ipc:///tmp/a.sock");
    ck_assert_str_eq(l->replicas[0].pub_endpoint, "ipc:///tmp/a.pub");
    ck_assert(l->replicas[0].heartbeat_at >= first + 20);
    mt_msg_free(r);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM replicas"), 1);
    ck_assert_int_eq(tu_i64(raw, "SELECT started_at FROM replicas WHERE replica_id = 'r-a'"), 456);
    char *ep = tu_str(raw, "SELECT endpoint FROM replicas WHERE replica_id = 'r-a'");
    ck_assert_str_eq(ep, "ipc:///tmp/a.sock");
    free(ep);
}
END_TEST

START_TEST(two_replicas_same_sorted_list)
{
    /* ascii_bin order: 'R' < 'r', "r-a" < "r-a.1" < "r-b" */
    const char *ids[] = { "r-b", "r-a.1", "R-c", "r-a" };
    const char *sorted[] = { "R-c", "r-a", "r-a.1", "r-b" };
    for (int i = 0; i < 4; i++)
        mt_msg_free(beat(i % 2 ? sb : sa, ids[i], 3000));
    mt_msg_t *ra = beat(sa, "r-a", 3000), *rb = beat(sb, "r-b", 3000);
    mt_store_replicas_t *la = mt_msg_data(ra), *lb = mt_msg_data(rb);
    ck_assert_uint_eq(la->nreplicas, 4);
    ck_assert_uint_eq(lb->nreplicas, 4);
    ck_assert_str_eq(la->cluster_uuid, lb->cluster_uuid);
    for (int i = 0; i < 4; i++) {
        ck_assert_str_eq(la->replicas[i].replica_id, sorted[i]);
        ck_assert_str_eq(lb->replicas[i].replica_id, sorted[i]);
        ck_assert_str_eq(la->replicas[i].endpoint, lb->replicas[i].endpoint);
        ck_assert_str_eq(la->replicas[i].pub_endpoint, lb->replicas[i].pub_endpoint);
        ck_assert(la->replicas[i].alive && lb->replicas[i].alive);
    }
    /* B's beat came later: it sees A's row as A's beat left it */
    ck_assert_int_eq(lb->replicas[1].heartbeat_at, la->replicas[1].heartbeat_at);
    ck_assert(lb->now_ms >= la->now_ms);
    mt_msg_free(ra);
    mt_msg_free(rb);
}
END_TEST

START_TEST(silent_replica_turns_not_alive)
{
    enum { WINDOW = 300 };
    uint64_t sent = mt_now_ms();        /* B's last beat starts; its heartbeat_at is later */
    mt_msg_free(beat(sb, "r-b", WINDOW));
    mt_msg_t *r = beat(sa, "r-a", WINDOW);
    mt_store_replicas_t *l = mt_msg_data(r);
    ck_assert(find(l, "r-b") && find(l, "r-b")->alive);
    int64_t b_at = find(l, "r-b")->heartbeat_at;
    mt_msg_free(r);

    /* B stops beating; A keeps going every 50 ms */
    uint64_t t0 = mt_now_ms();
    bool dead = false;
    while (!dead && mt_now_ms() - t0 < 5000) {
        sleep_ms(50);
        r = beat(sa, "r-a", WINDOW);
        l = mt_msg_data(r);
        const mt_store_replica_t *a = find(l, "r-a"), *b = find(l, "r-b");
        ck_assert(a && a->alive);
        ck_assert_ptr_nonnull(b);
        ck_assert_int_eq(b->heartbeat_at, b_at);
        /* alive exactly while the database's clock is within the window */
        ck_assert_int_eq(b->alive, l->now_ms - b_at <= WINDOW);
        dead = !b->alive;
        mt_msg_free(r);
    }
    uint64_t took = mt_now_ms() - sent;
    ck_assert_msg(dead, "r-b still alive after %llu ms", (unsigned long long) took);
    /* not before the window passed (2 ms for the two clocks' rounding) */
    ck_assert_uint_ge(took + 2, WINDOW);

    /* the same verdict on B's side, and B comes back with its next beat */
    r = beat(sb, "r-b", WINDOW);
    l = mt_msg_data(r);
    ck_assert(find(l, "r-b")->alive && find(l, "r-a")->alive);
    mt_msg_free(r);
    r = beat(sa, "r-a", WINDOW);
    ck_assert(find(mt_msg_data(r), "r-b")->alive);
    mt_msg_free(r);

    /* a wider window on the same rows: liveness is the asker's window */
    tu_exec(raw, "UPDATE replicas SET heartbeat_at = heartbeat_at - 10000 WHERE replica_id = 'r-b'");
    tu_exec(raw, "COMMIT");
    r = beat(sa, "r-a", 3000);
    ck_assert(!find(mt_msg_data(r), "r-b")->alive);
    mt_msg_free(r);
    r = beat(sa, "r-a", 60000);
    ck_assert(find(mt_msg_data(r), "r-b")->alive);
    mt_msg_free(r);
}
END_TEST

START_TEST(leave_removes_row)
{
    mt_msg_free(beat(sa, "r-a", 3000));
    mt_msg_free(beat(sb, "r-b", 3000));
    ck_assert_int_eq(leave(sb, "r-b"), MT_OK);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM replicas WHERE replica_id = 'r-b'"), 0);
    mt_msg_t *r = beat(sa, "r-a", 3000);
    mt_store_replicas_t *l = mt_msg_data(r);
    ck_assert_uint_eq(l->nreplicas, 1);
    ck_assert_str_eq(l->replicas[0].replica_id, "r-a");
    mt_msg_free(r);
    /* idempotent: a second leave (or one for an unknown id) is fine */
    ck_assert_int_eq(leave(sb, "r-b"), MT_OK);
    ck_assert_int_eq(leave(sa, "never-seen"), MT_OK);
    /* the last one out leaves an empty table; the list still has the uuid */
    ck_assert_int_eq(leave(sa, "r-a"), MT_OK);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM replicas"), 0);
}
END_TEST

START_TEST(cluster_uuid_stable)
{
    char *want = tu_str(raw, "SELECT uuid FROM mt_cluster WHERE id = 1");
    ck_assert_uint_eq(strlen(want), 36);
    mt_msg_t *r = beat(sa, "r-a", 3000);
    ck_assert_str_eq(((mt_store_replicas_t *) mt_msg_data(r))->cluster_uuid, want);
    mt_msg_free(r);
    r = beat(sb, "r-b", 3000);
    ck_assert_str_eq(((mt_store_replicas_t *) mt_msg_data(r))->cluster_uuid, want);
    mt_msg_free(r);
    /* a restarted replica (a new store, new connections): the same cluster */
    mt_store_destroy(&sa);
    sa = tu_store(rt, dsn, 2);
    r = beat(sa, "r-a", 3000);
    ck_assert_str_eq(((mt_store_replicas_t *) mt_msg_data(r))->cluster_uuid, want);
    ck_assert_uint_eq(((mt_store_replicas_t *) mt_msg_data(r))->nreplicas, 2);
    mt_msg_free(r);
    free(want);
}
END_TEST

START_TEST(bad_requests)
{
    char long_id[80];
    memset(long_id, 'x', 65);
    long_id[65] = '\0';
    char long_ep[300] = "tcp://";
    memset(long_ep + 6, 'h', 260);
    long_ep[266] = '\0';
    struct { const char *id, *ep, *pub; int64_t alive; const char *why; } bad[] = {
        { "", "tcp://a:1", "tcp://a:2", 3000, "replica id" },
        { long_id, "tcp://a:1", "tcp://a:2", 3000, "replica id" },
        { "has space", "tcp://a:1", "tcp://a:2", 3000, "replica id" },
        { "caf\xc3\xa9", "tcp://a:1", "tcp://a:2", 3000, "replica id" },
        { "r-a", "", "tcp://a:2", 3000, "endpoints" },
        { "r-a", long_ep, "tcp://a:2", 3000, "endpoints" },
        { "r-a", "tcp://a:1", NULL, 3000, "endpoints" },
        { "r-a", "tcp://a:1", "tcp://a:2", 0, "alive_ms" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mt_msg_t *r = beat_full(sa, bad[i].id, bad[i].ep, bad[i].pub, 0, bad[i].alive);
        mt_store_replicas_t *l = mt_msg_data(r);
        ck_assert_msg(l->err == MT_EBADREQ, "case %zu: err %d", i, l->err);
        ck_assert_msg(strstr(l->message, bad[i].why), "case %zu: %s", i, l->message);
        ck_assert_uint_eq(l->nreplicas, 0);
        ck_assert_ptr_null(l->replicas);
        mt_msg_free(r);
    }
    ck_assert_int_eq(leave(sa, ""), MT_EBADREQ);
    ck_assert_int_eq(leave(sa, long_id), MT_EBADREQ);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM replicas"), 0);
    /* 64 characters is the limit, not beyond it */
    long_id[64] = '\0';
    mt_msg_free(beat(sa, long_id, 3000));
}
END_TEST

/*  Replies dropped unread (a replica shutting down) free their lists. */
START_TEST(unread_reply_freed)
{
    mt_msg_free(beat(sa, "r-a", 3000));
    mt_msg_free(beat(sb, "r-b", 3000));
    mt_probe_t *p = mt_probe_new(rt);
    mt_msg_t *req = mt_store_msg_replica_beat("r-a", "tcp://a:1", "tcp://a:2", 0, 3000);
    req->from = mt_actor_ref(mt_probe_actor(p));
    mt_send(mt_store_members(sa), req);
    mt_msg_t *r = mt_probe_expect(p, MT_STORE_REPLICAS, 20000);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(((mt_store_replicas_t *) mt_msg_data(r))->nreplicas, 2);
    mt_msg_free(r);
    /* and one still queued when the probe goes away */
    req = mt_store_msg_replica_beat("r-a", "tcp://a:1", "tcp://a:2", 0, 3000);
    req->from = mt_actor_ref(mt_probe_actor(p));
    mt_send(mt_store_members(sa), req);
    mt_probe_destroy(&p);
    /* a request never handled frees nothing it does not own */
    mt_msg_free(mt_store_msg_replica_beat("r-x", "tcp://x:1", "tcp://x:2", 0, 3000));
    mt_msg_free(mt_store_msg_replica_leave("r-x"));
}
END_TEST

/*  Every store actor answers membership messages; the reader does too. */
START_TEST(reader_answers_too)
{
    mt_msg_t *r = tu_ask(rt, mt_store_reader(sa),
                         mt_store_msg_replica_beat("r-a", "tcp://a:1", "tcp://a:2", 0, 3000));
    ck_assert_int_eq(r->type, MT_STORE_REPLICAS);
    ck_assert_int_eq(((mt_store_replicas_t *) mt_msg_data(r))->err, MT_OK);
    mt_msg_free(r);
    r = tu_ask(rt, mt_store_reader(sa), mt_store_msg_replica_leave("r-a"));
    ck_assert_int_eq(((mt_store_done_t *) mt_msg_data(r))->err, MT_OK);
    mt_msg_free(r);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM replicas"), 0);
}
END_TEST

/*  A beat does not queue behind a full scan: the members actor has its own
    connection. The scan of 20,000 nodes is sent first, and cannot end
    while another session holds node_registrations locked; the beat sent
    behind it is answered all the same, then the scan once the lock goes.
    (Without the lock this was a race between a scan and a commit, which a
    loaded Galera cluster's commit lost.) */
START_TEST(beat_not_behind_scan)
{
    tu_exec(raw, "INSERT INTO node_registrations (id, host_ip, grpc_port, instance_type, labels,"
            " capacity, quota, versions_hash, registered_at, reg_revision)"
            " SELECT CONCAT('node-', seq), '10.0.0.1', 7000, 'c5.large', '{\"zone\":\"a\"}',"
            " '{\"cpu_milli\":4000}', '{\"pods\":110}', '', 1, seq FROM seq_1_to_20000");
    tu_exec(raw, "INSERT INTO node_status (id, heartbeat_at, ready, conditions, images,"
            " local_templates, status_revision) SELECT CONCAT('node-', seq), 1, 1, '[]',"
            " '[\"nginx:1.25\"]', '[]', seq + 20000 FROM seq_1_to_20000");
    tu_exec(raw, "COMMIT");
    /*  The reader's first statement would wait for this session's table
        lock only on its node: on Galera, take it where the reader is (the
        first host, as raw) — LOCK TABLES is local to a node there too. */
    tu_exec(raw, "LOCK TABLES node_registrations WRITE");
    mt_probe_t *p = mt_probe_new(rt);
    mt_msg_t *q = mt_store_msg_scan(0, true);
    q->from = mt_actor_ref(mt_probe_actor(p));
    mt_send(mt_store_reader(sa), q);
    q = mt_store_msg_replica_beat("r-a", "tcp://a:1", "tcp://a:2", 0, 3000);
    q->from = mt_actor_ref(mt_probe_actor(p));
    mt_send(mt_store_members(sa), q);
    mt_msg_t *first = mt_probe_recv(p, 30000);
    tu_exec(raw, "UNLOCK TABLES");
    mt_msg_t *second = mt_probe_recv(p, 30000);
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_nonnull(second);
    ck_assert_int_eq(first->type, MT_STORE_REPLICAS);
    ck_assert_int_eq(((mt_store_replicas_t *) mt_msg_data(first))->err, MT_OK);
    ck_assert_int_eq(second->type, MT_STORE_SCANNED);
    ck_assert_uint_eq(((mt_store_scanned_t *) mt_msg_data(second))->nrows, 20000);
    mt_msg_free(first);
    mt_msg_free(second);
    mt_probe_destroy(&p);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("store_replicas");
    TCase *tc = tcase_create("replicas");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, beat_creates_then_updates);
    tcase_add_test(tc, two_replicas_same_sorted_list);
    tcase_add_test(tc, silent_replica_turns_not_alive);
    tcase_add_test(tc, leave_removes_row);
    tcase_add_test(tc, cluster_uuid_stable);
    tcase_add_test(tc, bad_requests);
    tcase_add_test(tc, unread_reply_freed);
    tcase_add_test(tc, reader_answers_too);
    tcase_add_test(tc, beat_not_behind_scan);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
