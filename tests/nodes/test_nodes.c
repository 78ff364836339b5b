/*  test_nodes.c — node actors, directory and reload against a real MariaDB.

    Two node services on one database stand for two replicas (A and B): each
    has its own directory, node actors and reload actor, and they share
    nothing but the database. Reloads are run on demand (no interval), so
    every interleaving below is deterministic. */
#include "nodetest.h"
#include "mt_check.h"

#include <unistd.h>

#define DB "metactor_t_nodes"

static mt_runtime_t *rt;
static mt_store_t *store;
static mt_nodes_t *A, *B;
static mt_probe_t *listener;
static char *dsn;

static mt_nodes_t *service(int64_t health_timeout_ms, mt_actor_t *to)
{
    return nt_nodes(rt, store, health_timeout_ms, to);
}

static void setup(void)
{
    nt_fresh_db(DB);
    dsn = nt_dsn_for(DB);
    rt = mt_runtime_new(NULL);
    store = nt_store(rt, dsn);
    listener = mt_probe_new(rt);
    A = service(0, mt_probe_actor(listener));
    B = service(0, NULL);
}

static void teardown(void)
{
    mt_nodes_destroy(&A);
    mt_nodes_destroy(&B);
    mt_probe_destroy(&listener);
    mt_store_destroy(&store);
    mt_runtime_destroy(&rt);
    free(dsn);
}

static const char *L1[] = { "zone=a", "gpu=none", NULL };
static const char *V1[] = { "cubelet=1.0", "runc=1.1", NULL };

static mt_msg_t *get(mt_nodes_t *n, const char *id)
{
    return nt_ok(rt, n, mt_node_req_get(id));
}

static void register_node(mt_nodes_t *n, const char *id, const char *const *labels,
                          const char *const *versions)
{
    mt_msg_free(nt_ok(rt, n, mt_node_req_register(id, nt_reg("10.0.0.1", 9000, labels, versions))));
}

/* ---- the seed's five tests --------------------------------------------- */

START_TEST(registration_fields_updated_from_database)
{
    register_node(A, "n1", L1, V1);
    mt_msg_t *r = get(B, "n1");             /* B loads it on first sight */
    ck_assert_str_eq(nt_label(&mt_node_reply(r)->view, "zone"), "a");
    mt_msg_free(r);

    const char *l2[] = { "zone=b", NULL };
    mt_msg_free(nt_ok(rt, A, mt_node_req_register("n1", nt_reg("10.0.0.2", 9001, l2, V1))));
    nt_reload(rt, B);
    r = get(B, "n1");
    mt_node_view_t *v = &mt_node_reply(r)->view;
    ck_assert_str_eq(nt_label(v, "zone"), "b");
    ck_assert_str_eq(nt_label(v, "gpu"), "none");       /* merged, not replaced */
    ck_assert_str_eq(v->reg->host_ip, "10.0.0.2");
    ck_assert_int_eq(v->reg->grpc_port, 9001);
    mt_msg_free(r);
}
END_TEST

START_TEST(fresher_memory_heartbeat_kept)
{
    register_node(B, "n2", L1, V1);
    mt_msg_free(nt_ok(rt, B, mt_node_req_heartbeat("n2", nt_status(true, 1000, "img:1"))));
    /*  A scan taken now holds heartbeat 1000 ... */
    mt_msg_t *scan = NULL;
    ck_assert_int_eq(mt_ask_wait(rt, mt_store_reader(store), mt_store_msg_scan(0, true),
                                 CALL_TIMEOUT_MS, &scan), MT_OK);
    /*  ... then a fresher heartbeat lands in B's memory ... */
    int64_t fresh = mt_wall_ms();
    mt_msg_free(nt_ok(rt, B, mt_node_req_heartbeat("n2", nt_status(true, fresh, "img:2"))));
    /*  ... and the stale scan is merged afterwards. */
    mt_store_scanned_t *s = mt_msg_data(scan);
    for (uint32_t i = 0; i < s->nrows; i++)
        mt_send(mt_nodes_directory(B),
                mt_node_merge_new(s->rows[i].id, mt_node_reg_ref(s->rows[i].reg),
                                  mt_node_status_ref(s->rows[i].status), false, 0));
    mt_msg_free(scan);
    mt_msg_t *r = get(B, "n2");
    mt_node_view_t *v = &mt_node_reply(r)->view;
    ck_assert_int_eq(v->status->heartbeat_at, fresh);
    ck_assert_str_eq(v->status->images[0], "img:2");
    ck_assert(v->healthy);
    mt_msg_free(r);
}
END_TEST

START_TEST(fresher_database_heartbeat_taken)
{
    register_node(A, "n3", L1, V1);
    mt_msg_free(nt_ok(rt, B, mt_node_req_heartbeat("n3", nt_status(true, 1000, "old"))));
    int64_t fresh = mt_wall_ms();
    mt_msg_free(nt_ok(rt, A, mt_node_req_heartbeat("n3", nt_status(true, fresh, "new"))));
    nt_reload(rt, B);
    mt_msg_t *r = get(B, "n3");
    mt_node_view_t *v = &mt_node_reply(r)->view;
    ck_assert_int_eq(v->status->heartbeat_at, fresh);
    ck_assert_str_eq(v->status->images[0], "new");
    mt_msg_free(r);
}
END_TEST

START_TEST(versions_synced)
{
    register_node(A, "n4", L1, V1);
    mt_msg_t *r = get(B, "n4");
    char old_hash[17];
    memcpy(old_hash, mt_node_reply(r)->view.reg->versions_hash, 17);
    mt_msg_free(r);
    const char *v2[] = { "cubelet=2.0", "runc=1.1", "shim=0.3", NULL };
    register_node(A, "n4", L1, v2);
    nt_reload(rt, B);
    r = get(B, "n4");
    mt_node_reg_t *reg = mt_node_reply(r)->view.reg;
    ck_assert_uint_eq(reg->nversions, 3);
    ck_assert_str_eq(mt_str_map_get(reg->versions, reg->nversions, "cubelet"), "2.0");
    ck_assert_str_ne(reg->versions_hash, old_hash);
    char h[17];
    mt_versions_hash(reg->versions, reg->nversions, h);
    ck_assert_str_eq(h, reg->versions_hash);
    mt_msg_free(r);
}
END_TEST

START_TEST(new_node_discovered)
{
    register_node(A, "n5", L1, V1);
    nt_reload(rt, B);
    mt_msg_t *r = nt_ok(rt, B, mt_node_req_list(false, NULL, "", 0));
    mt_node_reply_t *l = mt_node_reply(r);
    bool found = false;
    for (uint32_t i = 0; i < l->nviews; i++)
        found |= strcmp(l->views[i].id, "n5") == 0;
    ck_assert_msg(found, "B's list lacks n5 after a reload");
    mt_msg_free(r);
}
END_TEST

/* ---- the race the seed accepts ------------------------------------------ */

START_TEST(stale_snapshot_never_overwrites_registration)
{
    const char *l_old[] = { "tier=old", NULL };
    const char *l_new[] = { "tier=new", NULL };
    register_node(A, "race", l_old, V1);
    /*  T0: a reload scan captures the old registration. */
    mt_msg_t *scan = NULL;
    ck_assert_int_eq(mt_ask_wait(rt, mt_store_reader(store), mt_store_msg_scan(0, true),
                                 CALL_TIMEOUT_MS, &scan), MT_OK);
    /*  T1/T2: a re-registration commits and updates memory. */
    register_node(A, "race", l_new, V1);
    /*  T3: the T0 snapshot is applied. */
    mt_store_scanned_t *s = mt_msg_data(scan);
    for (uint32_t i = 0; i < s->nrows; i++)
        mt_send(mt_nodes_directory(A),
                mt_node_merge_new(s->rows[i].id, mt_node_reg_ref(s->rows[i].reg),
                                  mt_node_status_ref(s->rows[i].status), s->rows[i].deleted,
                                  s->rows[i].deleted_revision));
    mt_msg_free(scan);
    mt_msg_t *r = get(A, "race");
    ck_assert_str_eq(nt_label(&mt_node_reply(r)->view, "tier"), "new");
    mt_msg_free(r);
}
END_TEST

/*  The notice bus is told only this replica's commits: a merged peer's
    change is taken (node.get shows it) but never reaches a local-only
    listener, while every commit made here does. */
START_TEST(a_local_only_listener_hears_only_our_commits)
{
    mt_probe_t *bus = mt_probe_new(rt);
    mt_nodes_opts_t o = { .store = store, .reload_interval_ms = -1, .listener = mt_probe_actor(bus),
                          .listener_local_only = true };
    mt_nodes_t *here = mt_nodes_new(rt, &o);
    ck_assert_ptr_nonnull(here);
    register_node(here, "ours", L1, V1);
    mt_msg_t *m = mt_probe_expect(bus, MT_NODE_CHANGED, 5000);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(mt_node_changed(m)->view.id, "ours");
    ck_assert(mt_node_changed(m)->local);
    mt_msg_free(m);
    /*  A peer's registration arrives as a merge (what the bus hands over). */
    register_node(A, "theirs", L1, V1);
    mt_msg_t *r = get(A, "theirs");
    mt_node_view_t *v = &mt_node_reply(r)->view;
    mt_send(mt_nodes_directory(here), mt_node_merge_new("theirs", mt_node_reg_ref(v->reg),
                                                        mt_node_status_ref(v->status), false, 0));
    mt_msg_free(r);
    for (int i = 0; i < 100; i++) {     /* merged: the node answers for it */
        r = nt_call(rt, here, mt_node_req_get("theirs"));
        bool found = mt_node_reply(r)->err == MT_OK;
        mt_msg_free(r);
        if (found)
            break;
        usleep(20 * 1000);
    }
    mt_msg_free(get(here, "theirs"));
    /*  Our own next commit is the next thing the listener hears. */
    register_node(here, "ours2", L1, V1);
    m = mt_probe_expect(bus, MT_NODE_CHANGED, 5000);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(mt_node_changed(m)->view.id, "ours2");
    mt_msg_free(m);
    mt_nodes_destroy(&here);
    mt_probe_destroy(&bus);
}
END_TEST

/* ---- deletes, labels, health, validation -------------------------------- */

START_TEST(delete_seen_by_other_replica)
{
    register_node(A, "gone", L1, V1);
    mt_msg_free(get(B, "gone"));
    mt_msg_free(nt_ok(rt, A, mt_node_req_delete("gone")));
    ck_assert_int_eq(nt_err(rt, A, mt_node_req_get("gone")), MT_ENOTFOUND);
    nt_reload(rt, B);
    ck_assert_int_eq(nt_err(rt, B, mt_node_req_get("gone")), MT_ENOTFOUND);
    ck_assert_int_eq(nt_err(rt, B, mt_node_req_delete("gone")), MT_ENOTFOUND);
    /*  Re-registering revives it, everywhere. */
    register_node(B, "gone", L1, V1);
    nt_reload(rt, A);
    mt_msg_free(get(A, "gone"));
}
END_TEST

/*  Raw SQL on the test database, for what no replica would do. */
static long long raw_count(const char *sql)
{
    MYSQL *raw = nt_connect(dsn, true);
    nt_sql(raw, sql);
    MYSQL_RES *res = mysql_store_result(raw);
    ck_assert_ptr_nonnull(res);
    MYSQL_ROW row = mysql_fetch_row(res);
    long long n = atoll(row[0]);
    mysql_free_result(res);
    mysql_close(raw);
    return n;
}

static void raw_exec(const char *sql)
{
    MYSQL *raw = nt_connect(dsn, true);
    nt_sql(raw, sql);
    mysql_close(raw);
}

/*  B deletes a node while A still holds its registration (no reload, no
    notice yet): A's next heartbeat must not outlive the delete — answered
    not_found, and no status row written for the deleted node. */
START_TEST(heartbeat_after_delete_elsewhere_not_found)
{
    register_node(A, "late", L1, V1);
    mt_msg_free(nt_ok(rt, A, mt_node_req_heartbeat("late", nt_status(true, 0, "img:1"))));
    mt_msg_free(nt_ok(rt, A, mt_node_req_heartbeat("late", nt_status(true, 0, "img:2"))));
    mt_msg_free(get(B, "late"));
    mt_msg_free(nt_ok(rt, B, mt_node_req_delete("late")));
    ck_assert_int_eq(nt_err(rt, A, mt_node_req_heartbeat("late", nt_status(true, 0, "img:3"))),
                     MT_ENOTFOUND);
    ck_assert_int_eq(raw_count("SELECT COUNT(*) FROM node_status WHERE id = 'late'"), 0);
    /*  ... and A learnt the delete from that answer: no reload needed. */
    ck_assert_int_eq(nt_err(rt, A, mt_node_req_get("late")), MT_ENOTFOUND);
    mt_msg_t *r = nt_ok(rt, A, mt_node_req_list(false, NULL, "", 0));
    ck_assert_uint_eq(mt_node_reply(r)->nviews, 0);
    mt_msg_free(r);
}
END_TEST

/*  A node whose row vanished (its tombstone purged before this replica saw
    it) is dropped by a full resync — but only once the pass covers the
    node's registration revision, never a registration the scan might not
    have seen yet. */
START_TEST(full_resync_drops_nodes_whose_rows_are_gone)
{
    mt_nodes_opts_t o = { .store = store, .reload_interval_ms = -1, .full_resync_every = 1,
                          .txn_max_ms = 50, .lag_ms = -1, .tombstone_retention_ms = -1 };
    mt_nodes_t *C = mt_nodes_new(rt, &o);
    ck_assert_ptr_nonnull(C);
    register_node(A, "vanish", L1, V1);
    mt_msg_free(get(C, "vanish"));
    nt_reload(rt, C);                   /* its mark M1 is above vanish's revision */
    usleep(100 * 1000);                 /* M1's pass ended more than txn_max ago */
    register_node(C, "young", L1, V1);  /* above M1 */
    raw_exec("DELETE FROM node_registrations WHERE id IN ('vanish', 'young')");
    nt_reload(rt, C);                   /* covers M1 */
    ck_assert_int_eq(nt_err(rt, C, mt_node_req_get("vanish")), MT_ENOTFOUND);
    mt_msg_free(get(C, "young"));       /* not covered yet: kept */
    mt_nodes_stats_t st;
    mt_nodes_stats(C, &st);
    ck_assert_uint_eq(st.absent_deleted, 1);
    usleep(100 * 1000);
    nt_reload(rt, C);                   /* covers the previous pass's mark, above young's */
    ck_assert_int_eq(nt_err(rt, C, mt_node_req_get("young")), MT_ENOTFOUND);
    mt_nodes_stats(C, &st);
    ck_assert_uint_eq(st.absent_deleted, 2);
    /*  A (default txn_max, no pass yet) is not affected: nothing covered. */
    mt_msg_free(get(A, "vanish"));
    mt_nodes_destroy(&C);
}
END_TEST

/*  A forged notice (a plausible revision no write ever drew) is merged
    like any other; the next full resync reads what is stored, covers that
    revision, and puts the stored registration back. A forged delete of a
    live node is undone the same way. */
START_TEST(forged_view_does_not_survive_a_full_resync)
{
    mt_nodes_opts_t o = { .store = store, .reload_interval_ms = -1, .full_resync_every = 1,
                          .txn_max_ms = 50, .lag_ms = -1, .tombstone_retention_ms = -1 };
    mt_nodes_t *C = mt_nodes_new(rt, &o);
    ck_assert_ptr_nonnull(C);
    const char *l_forged[] = { "tier=forged", NULL };
    register_node(C, "forged", L1, V1);
    register_node(C, "undeleted", L1, V1);
    mt_msg_t *r = get(C, "forged");
    int64_t rev = mt_node_reply(r)->view.reg->reg_revision;
    mt_msg_free(r);
    mt_node_reg_t *fake = nt_reg("6.6.6.6", 1, l_forged, V1);
    fake->reg_revision = rev + 10;
    mt_send(mt_nodes_directory(C), mt_node_merge_new("forged", fake, NULL, false, 0));
    mt_send(mt_nodes_directory(C), mt_node_merge_new("undeleted", NULL, NULL, true, rev + 11));
    r = get(C, "forged");
    ck_assert_str_eq(nt_label(&mt_node_reply(r)->view, "tier"), "forged");
    mt_msg_free(r);
    ck_assert_int_eq(nt_err(rt, C, mt_node_req_get("undeleted")), MT_ENOTFOUND);
    /*  Writes elsewhere draw past the forged revisions; the first pass's
        mark is above them, the second pass covers it. */
    for (int k = 0; k < 12; k++)
        register_node(A, "filler", L1, V1);
    nt_reload(rt, C);
    usleep(100 * 1000);
    nt_reload(rt, C);
    r = get(C, "forged");
    ck_assert_ptr_null(nt_label(&mt_node_reply(r)->view, "tier"));
    ck_assert_str_eq(nt_label(&mt_node_reply(r)->view, "zone"), "a");
    ck_assert_int_eq(mt_node_reply(r)->view.reg->reg_revision, rev);
    mt_msg_free(r);
    mt_msg_free(get(C, "undeleted"));
    mt_nodes_destroy(&C);
}
END_TEST

/*  After a full resync, tombstones older than the retention are purged;
    live rows and young tombstones stay. */
START_TEST(full_resync_purges_old_tombstones)
{
    mt_nodes_opts_t o = { .store = store, .reload_interval_ms = -1, .full_resync_every = 1,
                          .tombstone_retention_ms = 60000 };
    mt_nodes_t *D = mt_nodes_new(rt, &o);
    ck_assert_ptr_nonnull(D);
    register_node(A, "t-old", L1, V1);
    register_node(A, "t-young", L1, V1);
    register_node(A, "t-live", L1, V1);
    mt_msg_free(nt_ok(rt, A, mt_node_req_delete("t-old")));
    mt_msg_free(nt_ok(rt, A, mt_node_req_delete("t-young")));
    raw_exec("UPDATE node_registrations SET deleted_at = deleted_at - 120000 WHERE id = 't-old'");
    nt_reload(rt, D);
    mt_nodes_stats_t st = { 0 };
    for (int i = 0; i < 500 && st.tombstones_purged == 0; i++) {    /* the purge is async */
        usleep(10 * 1000);
        mt_nodes_stats(D, &st);
    }
    ck_assert_uint_eq(st.tombstones_purged, 1);
    ck_assert_int_eq(raw_count("SELECT COUNT(*) FROM node_registrations WHERE id = 't-old'"), 0);
    ck_assert_int_eq(raw_count("SELECT deleted FROM node_registrations WHERE id = 't-young'"), 1);
    ck_assert_int_eq(raw_count("SELECT deleted FROM node_registrations WHERE id = 't-live'"), 0);
    mt_nodes_destroy(&D);
}
END_TEST

START_TEST(labels_set_and_remove)
{
    register_node(A, "lab", L1, V1);
    const char *set[] = { "gpu=a100", "rack=r7", NULL };
    const char *rm[] = { "zone" };
    mt_msg_t *r = nt_ok(rt, A, mt_node_req_labels("lab", nt_reg(NULL, 0, set, NULL), rm, 1));
    mt_node_view_t *v = &mt_node_reply(r)->view;
    ck_assert_str_eq(nt_label(v, "gpu"), "a100");
    ck_assert_str_eq(nt_label(v, "rack"), "r7");
    ck_assert_ptr_null(nt_label(v, "zone"));
    ck_assert_str_eq(v->reg->host_ip, "10.0.0.1");      /* the rest untouched */
    mt_msg_free(r);
    /*  A re-registration merges: labels set through node.labels survive. */
    const char *l3[] = { "zone=c", NULL };
    register_node(A, "lab", l3, V1);
    r = get(A, "lab");
    v = &mt_node_reply(r)->view;
    ck_assert_str_eq(nt_label(v, "rack"), "r7");
    ck_assert_str_eq(nt_label(v, "zone"), "c");
    mt_msg_free(r);
    ck_assert_int_eq(nt_err(rt, A, mt_node_req_labels("nosuch", NULL, rm, 1)), MT_ENOTFOUND);
}
END_TEST

START_TEST(list_filters_and_pages)
{
    const char *gpu[] = { "gpu=yes", NULL };
    const char *cpu[] = { "gpu=no", NULL };
    char id[16];
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "p%02d", i);
        register_node(A, id, i % 2 ? gpu : cpu, V1);
        if (i < 6)
            mt_msg_free(nt_ok(rt, A, mt_node_req_heartbeat(id, nt_status(true, 0, NULL))));
    }
    const char *sel[] = { "gpu=yes", NULL };
    mt_msg_t *r = nt_ok(rt, A, mt_node_req_list(true, nt_reg(NULL, 0, sel, NULL), "", 0));
    mt_node_reply_t *l = mt_node_reply(r);
    ck_assert_uint_eq(l->nviews, 3);                    /* p01 p03 p05 */
    ck_assert_str_eq(l->views[0].id, "p01");
    ck_assert_str_eq(l->views[2].id, "p05");
    mt_msg_free(r);
    /*  Pages of 4 in id order, `next` to continue. */
    r = nt_ok(rt, A, mt_node_req_list(false, NULL, "", 4));
    l = mt_node_reply(r);
    ck_assert_uint_eq(l->nviews, 4);
    ck_assert_str_eq(l->next, "p03");
    mt_msg_free(r);
    r = nt_ok(rt, A, mt_node_req_list(false, NULL, "p07", 4));
    l = mt_node_reply(r);
    ck_assert_uint_eq(l->nviews, 2);
    ck_assert_str_eq(l->next, "");
    mt_msg_free(r);
}
END_TEST

START_TEST(health_expires_by_timer)
{
    mt_probe_t *events = mt_probe_new(rt);
    mt_nodes_t *fast = service(300, mt_probe_actor(events));
    register_node(fast, "hb", L1, V1);
    mt_msg_t *r = nt_ok(rt, fast, mt_node_req_heartbeat("hb", nt_status(true, 0, NULL)));
    ck_assert(mt_node_reply(r)->view.healthy);
    mt_msg_free(r);
    /*  Nobody asks: the node's own timer must flip it and say so. */
    bool unhealthy = false;
    for (int i = 0; i < 50 && !unhealthy; i++) {
        mt_msg_t *m = mt_probe_expect(events, MT_NODE_CHANGED, 5000);
        ck_assert_ptr_nonnull(m);
        mt_node_changed_t *c = mt_node_changed(m);
        unhealthy = strcmp(c->view.id, "hb") == 0 && c->view.reg && !c->view.healthy
                    && c->view.status && c->view.status->ready;
        mt_msg_free(m);
    }
    ck_assert(unhealthy);
    r = nt_ok(rt, fast, mt_node_req_list(true, NULL, "", 0));
    ck_assert_uint_eq(mt_node_reply(r)->nviews, 0);
    mt_msg_free(r);
    mt_nodes_destroy(&fast);
    mt_probe_destroy(&events);
}
END_TEST

START_TEST(heartbeat_unknown_is_not_found)
{
    ck_assert_int_eq(nt_err(rt, A, mt_node_req_heartbeat("ghost", nt_status(true, 0, NULL))),
                     MT_ENOTFOUND);
    ck_assert_int_eq(nt_err(rt, A, mt_node_req_get("ghost")), MT_ENOTFOUND);
}
END_TEST

START_TEST(invalid_fields_rejected_nothing_written)
{
    ck_assert_int_eq(nt_err(rt, A, mt_node_req_register("bad id!", nt_reg("h", 1, L1, V1))),
                     MT_EBADREQ);
    ck_assert_int_eq(nt_err(rt, A, mt_node_req_register("p", nt_reg("h", 70000, L1, V1))),
                     MT_EBADREQ);
    const char *empty_key[] = { "=v", NULL };
    ck_assert_int_eq(nt_err(rt, A, mt_node_req_register("p", nt_reg("h", 1, empty_key, V1))),
                     MT_EBADREQ);
    ck_assert_int_eq(nt_err(rt, A, mt_node_req_get("p")), MT_ENOTFOUND);
    /*  Nothing reached the database either. */
    MYSQL *m = nt_connect(dsn, true);
    nt_sql(m, "SELECT COUNT(*) FROM node_registrations WHERE id IN ('p', 'bad id!')");
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW row = mysql_fetch_row(res);
    ck_assert_str_eq(row[0], "0");
    mysql_free_result(res);
    mysql_close(m);
}
END_TEST

START_TEST(heartbeats_pipelined_all_answered_in_order)
{
    register_node(A, "pipe", L1, V1);
    mt_probe_t *p = mt_probe_new(rt);
    enum { N = 50 };
    for (int i = 1; i <= N; i++) {
        mt_msg_t *req = mt_node_req_heartbeat("pipe", nt_status(true, 1000 + i, NULL));
        req->from = mt_actor_ref(mt_probe_actor(p));
        req->corr = (uint64_t) i;
        mt_send(mt_nodes_directory(A), req);
    }
    int64_t last_rev = 0;
    for (int i = 1; i <= N; i++) {
        mt_msg_t *r = mt_probe_recv(p, CALL_TIMEOUT_MS);
        ck_assert_ptr_nonnull(r);
        ck_assert_uint_eq(r->corr, (uint64_t) i);      /* answered in order */
        mt_node_reply_t *rep = mt_node_reply(r);
        ck_assert_int_eq(rep->err, MT_OK);
        ck_assert_int_ge(rep->view.status->status_revision, last_rev);
        last_rev = rep->view.status->status_revision;
        mt_msg_free(r);
    }
    mt_msg_t *r = get(A, "pipe");
    ck_assert_int_eq(mt_node_reply(r)->view.status->heartbeat_at, 1000 + N);  /* the last wins */
    mt_msg_free(r);
    mt_probe_destroy(&p);
}
END_TEST

/*  A merge the directory's snapshot took while the node's actor was busy
    with a write (the merge waits behind it, in the actor's stash): the
    write's own view, made before the merge, must not take the merged
    status back out of node.list. Here a registration blocked on its row
    lock, a heartbeat stashed behind it (blocked next on the status row,
    so the merge stays stashed), and a peer's newer status merged. */
static int64_t listed_status_revision(mt_nodes_t *n, const char *id)
{
    mt_msg_t *r = nt_ok(rt, n, mt_node_req_list(false, NULL, "", 0));
    mt_node_reply_t *l = mt_node_reply(r);
    int64_t rev = -1;
    for (uint32_t i = 0; i < l->nviews; i++)
        if (strcmp(l->views[i].id, id) == 0 && l->views[i].status)
            rev = l->views[i].status->status_revision;
    mt_msg_free(r);
    return rev;
}

START_TEST(list_keeps_a_merge_taken_during_a_write)
{
    register_node(A, "racy", L1, V1);
    mt_msg_free(nt_ok(rt, A, mt_node_req_heartbeat("racy", nt_status(true, 1, NULL))));
    int64_t stored = listed_status_revision(A, "racy");
    ck_assert_int_gt(stored, 0);
    MYSQL *reg_lock = nt_connect(dsn, true), *status_lock = nt_connect(dsn, true);
    nt_sql(reg_lock, "START TRANSACTION");
    nt_sql(reg_lock, "SELECT id FROM node_registrations WHERE id = 'racy' FOR UPDATE");
    mysql_free_result(mysql_store_result(reg_lock));
    nt_sql(status_lock, "START TRANSACTION");
    nt_sql(status_lock, "SELECT id FROM node_status WHERE id = 'racy' FOR UPDATE");
    mysql_free_result(mysql_store_result(status_lock));

    mt_probe_t *p = mt_probe_new(rt);
    mt_msg_t *reqs[2] = { mt_node_req_register("racy", nt_reg("10.0.0.2", 9000, L1, V1)),
                          mt_node_req_heartbeat("racy", nt_status(true, 2, NULL)) };
    for (int i = 0; i < 2; i++) {
        reqs[i]->from = mt_actor_ref(mt_probe_actor(p));
        reqs[i]->corr = (uint64_t) i + 1;
        mt_send(mt_nodes_directory(A), reqs[i]);
    }
    usleep(200 * 1000);             /* the registration waits for its row lock */
    mt_node_status_t *peer = nt_status(false, 3, NULL);
    peer->status_revision = stored + 1000000;
    mt_send(mt_nodes_directory(A), mt_node_merge_new("racy", NULL, peer, false, 0));
    ck_assert_int_eq(listed_status_revision(A, "racy"), stored + 1000000);

    nt_sql(reg_lock, "COMMIT");     /* the registration commits; the heartbeat waits */
    mt_msg_t *r = mt_probe_recv(p, CALL_TIMEOUT_MS);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->corr, 1);
    ck_assert_int_eq(mt_node_reply(r)->err, MT_OK);
    mt_msg_free(r);
    ck_assert_int_eq(listed_status_revision(A, "racy"), stored + 1000000);

    nt_sql(status_lock, "COMMIT");
    r = mt_probe_recv(p, CALL_TIMEOUT_MS);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->corr, 2);
    mt_msg_free(r);
    ck_assert_int_ge(listed_status_revision(A, "racy"), stored + 1000000);
    mysql_close(reg_lock);
    mysql_close(status_lock);
    mt_probe_destroy(&p);
}
END_TEST

/*  Revisions are drawn before commit: a transaction can commit after a
    reload already read higher revisions. Here one holds revision r1 open
    while a later write (r2 > r1) commits and is reloaded; then r1 commits.
    A reload that simply continued after the highest revision it had seen
    would never read r1's row. */
static bool listed(mt_nodes_t *n, const char *id)
{
    mt_msg_t *r = nt_ok(rt, n, mt_node_req_list(false, NULL, "", 0));
    mt_node_reply_t *l = mt_node_reply(r);
    bool found = false;
    for (uint32_t i = 0; i < l->nviews; i++)
        found |= strcmp(l->views[i].id, id) == 0;
    mt_msg_free(r);
    return found;
}

START_TEST(out_of_order_commit_reloaded)
{
    mt_nodes_opts_t o = { .store = store, .reload_interval_ms = -1, .txn_max_ms = 1000, .lag_ms = -1 };
    mt_nodes_t *C = mt_nodes_new(rt, &o);
    ck_assert_ptr_nonnull(C);
    register_node(A, "early", L1, V1);
    nt_reload(rt, C);                   /* pass 1: after = 0 */
    usleep(1200 * 1000);                /* longer than txn_max: pass 1 is now safe */
    nt_reload(rt, C);                   /* pass 2 */

    MYSQL *m = nt_connect(dsn, true);
    nt_sql(m, "BEGIN");
    nt_sql(m, "INSERT INTO node_registrations (id, host_ip, grpc_port, instance_type,"
              " labels, capacity, quota, versions_hash, registered_at, reg_revision)"
              " VALUES ('ooo', '10.9.9.9', 9, 'late', '{}', '{}', '{}', '', 1,"
              " NEXTVAL(mt_revision))");
    register_node(A, "later", L1, V1);  /* draws a higher revision, commits first */
    nt_reload(rt, C);                   /* pass 3 reads "later", not the open row */
    ck_assert(listed(C, "later"));
    ck_assert(!listed(C, "ooo"));
    nt_sql(m, "COMMIT");
    mysql_close(m);
    nt_reload(rt, C);                   /* pass 4 must still read r1 */
    ck_assert_msg(listed(C, "ooo"), "a row committed out of revision order was skipped");
    mt_nodes_destroy(&C);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("nodes");
    TCase *tc = tcase_create("nodes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, registration_fields_updated_from_database);
    tcase_add_test(tc, fresher_memory_heartbeat_kept);
    tcase_add_test(tc, fresher_database_heartbeat_taken);
    tcase_add_test(tc, versions_synced);
    tcase_add_test(tc, new_node_discovered);
    tcase_add_test(tc, stale_snapshot_never_overwrites_registration);
    tcase_add_test(tc, delete_seen_by_other_replica);
    tcase_add_test(tc, heartbeat_after_delete_elsewhere_not_found);
    tcase_add_test(tc, full_resync_drops_nodes_whose_rows_are_gone);
    tcase_add_test(tc, full_resync_purges_old_tombstones);
    tcase_add_test(tc, forged_view_does_not_survive_a_full_resync);
    tcase_add_test(tc, labels_set_and_remove);
    tcase_add_test(tc, list_filters_and_pages);
    tcase_add_test(tc, health_expires_by_timer);
    tcase_add_test(tc, heartbeat_unknown_is_not_found);
    tcase_add_test(tc, invalid_fields_rejected_nothing_written);
    tcase_add_test(tc, heartbeats_pipelined_all_answered_in_order);
    tcase_add_test(tc, list_keeps_a_merge_taken_during_a_write);
    tcase_add_test(tc, a_local_only_listener_hears_only_our_commits);
    tcase_add_test(tc, out_of_order_commit_reloaded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mt_check_run(suite());
}
