/*  test_rc_agent.c — one remote cluster reference's agent (actors/rc/
    rc_agent.c, rc_refresh.c) and its states, driven message by message.

    The agent is spawned alone over a hand-made configuration: probes stand
    in for the registry (it gets MT_RC_CHANGED and MT__RC_GONE) and for the
    dispatcher (it gets MT__RC_PROBE, and the test answers MT__RC_PROBED as
    a remote cluster would), a third probe is the client asking rc.*. The
    store is real (the fixture's MariaDB): compare-and-set is the
    database's. The refresh interval is an hour, so no timer of the agent
    fires during a test; the hostname writer's turn is the MT__RC_WRITE its
    timer would deliver, sent by the test.

    Cases:
      add_probes_then_stores     ADDING → IDLE: the remote is asked before
                                 anything is stored; requests meanwhile wait
      add_unreachable_is_gone    ADDING → GONE: nothing stored, the registry
                                 told to forget it
      set_is_compare_and_set     IDLE → WRITING → IDLE: a stale revision is a
                                 conflict; a write's stash is answered after
      merges_by_revision         passive changes: older ignored, newer taken
                                 (not written, not published as ours), a
                                 tombstone ends the agent
      refresh_round_is_shared    rc.get refresh: one round for all waiters; a
                                 write meanwhile makes the round's answer stale
      writer_waits_its_turn      priority 1: planned, not written; a newer
                                 revision cancels the plan
      writer_writes_at_its_turn  its turn: a compare-and-set on the plan's
                                 revision; a race lost is refused, not written
      delete_is_gone             del: tombstone stored, GONE, not_found */
#include "rcs_internal.h"
#include "mt_check.h"
#include "store_testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB "metactor_t_rc_agent"
#define ID "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
#define UUID_B "9b0d4f3e-5c1a-4e62-8f7d-2a6b1c3d4e5f"
#define HOST "tcp://10.0.0.1:7400"
#define B2 "tcp://10.0.0.2:7400"
#define B3 "tcp://10.0.0.3:7400"
#define T 30000                     /* bounds a hang only */

static mt_runtime_t *rt;
static mt_store_t *store;
static char *dsn;
static mt__rcs_cfg_t *cfg;
static mt_probe_t *registry, *dispatcher, *client;
static mt_actor_t *agent;
static uint64_t next_corr = 1;

static void setup(void)
{
    tu_open(&rt, &dsn, &store, NULL, DB, 2);
    registry = mt_probe_new(rt);
    dispatcher = mt_probe_new(rt);
    client = mt_probe_new(rt);
    cfg = calloc(1, sizeof *cfg);
    ck_assert_ptr_nonnull(cfg);
    atomic_init(&cfg->refs, 1);
    cfg->store = store;
    snprintf(cfg->replica_id, sizeof cfg->replica_id, "r0");
    cfg->refresh_interval_ms = 3600 * 1000;
    cfg->reload_interval_ms = -1;
    cfg->txn_max_ms = MT_STORE_TXN_MAX_MS;
    cfg->store_timeout_ms = T;
    cfg->probe_timeout_ms = 200;
    cfg->registry = mt_actor_ref(mt_probe_actor(registry));
    cfg->dispatcher = mt_actor_ref(mt_probe_actor(dispatcher));
    agent = mt__rc_agent_spawn(rt, cfg, ID);
    ck_assert_ptr_nonnull(agent);
}

static void teardown(void)
{
    mt_stop(agent, 0);
    mt_actor_unref(&agent);
    mt__rcs_cfg_unref(&cfg);
    mt_probe_destroy(&client);
    mt_probe_destroy(&dispatcher);
    mt_probe_destroy(&registry);
    tu_close(&rt, &dsn, &store, NULL);
}

/* ---- what the registry, the remote and a client would do ----------------- */

static void init_drop(mt_msg_t *m)
{
    mt_rc_unref(&((mt__rc_init_t *) mt_msg_data(m))->ref);
}

/*  The registry's first message: a learned reference (or NULL: an add follows). */
static void init(mt_rc_t *learned, int priority)
{
    mt_msg_t *m = mt_msg_new(MT__RC_INIT, sizeof(mt__rc_init_t));
    m->drop = init_drop;
    *(mt__rc_init_t *) mt_msg_data(m) = (mt__rc_init_t) { .ref = learned, .priority = priority };
    ck_assert_int_eq(mt_send(agent, m), MT_OK);
}

static void priority(int p)
{
    mt_msg_t *m = mt_msg_new(MT__RC_PRIORITY, sizeof(int));
    *(int *) mt_msg_data(m) = p;
    ck_assert_int_eq(mt_send(agent, m), MT_OK);
}

/*  A request as the registry forwards it: the client's reply-to and corr. */
static uint64_t request(mt_msg_t *req)
{
    uint64_t corr = next_corr++;
    req->from = mt_actor_ref(mt_probe_actor(client));
    req->corr = corr;
    ck_assert_int_eq(mt_send(agent, req), MT_OK);
    return corr;
}

static uint64_t get(bool refresh)
{
    mt_msg_t *req = mt_rc_req_new(MT_RC_OP_GET);
    mt_rc_req(req)->refresh = refresh;
    return request(req);
}

/*  The next answer the client gets: it must be corr's. Caller frees. */
static mt_msg_t *answer(uint64_t corr, int err)
{
    mt_msg_t *r = mt_probe_expect(client, MT_RC_REPLY, T);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(r->corr == corr, "answer to request %llu came before %llu's",
                  (unsigned long long) r->corr, (unsigned long long) corr);
    ck_assert_msg(mt_rc_reply(r)->err == err, "request %llu: %s (%d), expected %d",
                  (unsigned long long) corr, mt_rc_reply(r)->message, mt_rc_reply(r)->err, err);
    return r;
}

static void answered(uint64_t corr, int err)
{
    mt_msg_t *r = answer(corr, err);
    mt_msg_free(r);
}

/*  The next probe the agent asks of the dispatcher. Caller answers it. */
static mt_msg_t *probe(void)
{
    mt_msg_t *p = mt_probe_expect(dispatcher, MT__RC_PROBE, T);
    ck_assert_ptr_nonnull(p);
    return p;
}

/*  The remote's answer: uuid, whether endpoints[0] answered, the live members. */
static void probed(mt_msg_t *p, int err, bool first, uint32_t n, const char *const *alive)
{
    mt_msg_t *m = mt_msg_new(MT__RC_PROBED, sizeof(mt__rc_probed_t) + n * MT_ENDPOINT_MAX);
    mt__rc_probed_t *out = mt_msg_data(m);
    out->err = err;
    snprintf(out->message, sizeof out->message, "%s", err ? "no endpoint answered" : "");
    snprintf(out->uuid, sizeof out->uuid, "%s", UUID_B);
    out->first_answered = first;
    out->nalive = n;
    for (uint32_t i = 0; i < n; i++)
        snprintf(out->alive[i], MT_ENDPOINT_MAX, "%s", alive[i]);
    ck_assert_int_eq(mt_reply(p, m), MT_OK);
    mt_msg_free(p);
}

/*  The next change the registry hears of. */
static void changed(mt_node_change_t change, bool local, const char *hostname)
{
    mt_msg_t *m = mt_probe_expect(registry, MT_RC_CHANGED, T);
    ck_assert_ptr_nonnull(m);
    mt_rc_changed_t *c = mt_msg_data(m);
    ck_assert_int_eq(c->change, change);
    ck_assert_int_eq(c->local, local);
    if (hostname)
        ck_assert_str_eq(c->ref->hostname, hostname);
    ck_assert_ptr_null(c->ref->password);
    mt_msg_free(m);
}

/*  The stored row (NULL: none). */
static mt_rc_t *stored(void)
{
    mt_msg_t *m = tu_ask(rt, mt_store_reader(store), mt_store_msg_rc_scan(0));
    mt_store_rc_scanned_t *s = mt_msg_data(m);
    ck_assert_int_eq(s->err, MT_OK);
    mt_rc_t *r = s->nrefs ? mt_rc_ref(s->refs[0]) : NULL;
    mt_msg_free(m);
    return r;
}

/*  The registry's INIT for an add, then rc.add of "to-b" at HOST. */
static uint64_t add_request(void)
{
    init(NULL, -1);
    mt_msg_t *req = mt_rc_req_new(MT_RC_OP_ADD);
    snprintf(mt_rc_req(req)->name, sizeof mt_rc_req(req)->name, "to-b");
    mt_rc_req(req)->hostname = strdup(HOST);
    return request(req);
}

/*  rc.add through the agent, the remote answering with alive; returns
    the revision stored. */
static int64_t add(uint32_t n, const char *const *alive)
{
    uint64_t c = add_request();
    probed(probe(), MT_OK, true, n, alive);
    changed(MT_NODE_UPSERT, true, HOST);
    mt_msg_t *r = answer(c, MT_OK);
    int64_t rev = mt_rc_reply(r)->ref->revision;
    mt_msg_free(r);
    return rev;
}

static mt_rc_t *current(void)
{
    mt_msg_t *r = answer(get(false), MT_OK);
    mt_rc_t *ref = mt_rc_ref(mt_rc_reply(r)->ref);
    mt_msg_free(r);
    return ref;
}

static void merge(const char *name, const char *hostname, int64_t revision, bool deleted)
{
    const char *nodes[1] = { hostname };
    mt_rc_t t = { .id = ID, .name = name, .hostname = hostname, .uuid = UUID_B, .username = "",
                  .server_key = "", .client_public = "", .nnodes = 1, .node_list = nodes,
                  .revision = revision, .deleted = deleted };
    ck_assert_int_eq(mt_send(agent, mt_rc_merge_new(mt_rc_build(&t))), MT_OK);
}

/* ---- cases --------------------------------------------------------------- */

START_TEST(add_probes_then_stores)
{
    uint64_t c_add = add_request();
    mt_msg_t *p = probe();
    mt__rc_probe_t *pr = mt_msg_data(p);
    ck_assert_str_eq(pr->uuid, "");             /* learned from the answer */
    ck_assert_uint_eq(pr->n, 1);
    ck_assert_str_eq(pr->endpoints[0], HOST);
    ck_assert_ptr_null(stored());               /* nothing before the remote answered */

    /*  Sent before the probe is answered: handled first if not stashed. */
    uint64_t c_get = get(false);
    const char *alive[2] = { HOST, B2 };
    probed(p, MT_OK, true, 2, alive);

    changed(MT_NODE_UPSERT, true, HOST);
    mt_msg_t *r = answer(c_add, MT_OK);
    mt_rc_t *ref = mt_rc_reply(r)->ref;
    ck_assert_str_eq(ref->uuid, UUID_B);
    ck_assert_uint_eq(ref->nnodes, 2);
    ck_assert_int_gt(ref->revision, 0);
    int64_t rev = ref->revision;
    mt_msg_free(r);
    r = answer(c_get, MT_OK);                   /* the stash, after the add */
    ck_assert_int_eq(mt_rc_reply(r)->ref->revision, rev);
    mt_msg_free(r);
    mt_rc_t *row = stored();
    ck_assert_ptr_nonnull(row);
    ck_assert_str_eq(row->name, "to-b");
    ck_assert_int_eq(row->revision, rev);
    mt_rc_unref(&row);
}
END_TEST

START_TEST(add_unreachable_is_gone)
{
    uint64_t c = add_request();
    probed(probe(), MT_EUNAVAIL, false, 0, NULL);
    answered(c, MT_EUNAVAIL);
    mt_msg_t *g = mt_probe_expect(registry, MT__RC_GONE, T);
    ck_assert_ptr_nonnull(g);
    ck_assert_str_eq(mt_msg_data(g), ID);
    mt_msg_free(g);
    ck_assert_ptr_null(stored());
    answered(get(false), MT_ENOTFOUND);         /* GONE until the registry stops it */
}
END_TEST

START_TEST(set_is_compare_and_set)
{
    const char *alive[1] = { HOST };
    int64_t rev = add(1, alive);
    mt_store_stats_t before, after;
    mt_store_stats(store, &before);

    mt_msg_t *req = mt_rc_req_new(MT_RC_OP_SET);
    mt_rc_req(req)->username = strdup("someone");
    mt_rc_req(req)->has_revision = true;
    mt_rc_req(req)->revision = rev + 100;       /* never stored */
    answered(request(req), MT_ECONFLICT);
    mt_store_stats(store, &after);
    ck_assert_uint_eq(after.rc_conflicts, before.rc_conflicts + 1);

    /*  A username changes nothing about how the remote is reached: no
        probe, straight to the store. The get waits for the write. */
    req = mt_rc_req_new(MT_RC_OP_SET);
    mt_rc_req(req)->username = strdup("admin");
    mt_rc_req(req)->has_revision = true;
    mt_rc_req(req)->revision = rev;
    uint64_t c_set = request(req);
    uint64_t c_get = get(false);
    changed(MT_NODE_UPSERT, true, HOST);
    mt_msg_t *r = answer(c_set, MT_OK);
    int64_t rev2 = mt_rc_reply(r)->ref->revision;
    ck_assert_int_gt(rev2, rev);
    mt_msg_free(r);
    r = answer(c_get, MT_OK);
    ck_assert_str_eq(mt_rc_reply(r)->ref->username, "admin");
    ck_assert_int_eq(mt_rc_reply(r)->ref->revision, rev2);
    mt_msg_free(r);
}
END_TEST

START_TEST(merges_by_revision)
{
    const char *alive[1] = { HOST };
    int64_t rev = add(1, alive);
    merge("older", HOST, rev - 1, false);
    mt_rc_t *ref = current();
    ck_assert_str_eq(ref->name, "to-b");
    mt_rc_unref(&ref);

    mt_store_stats_t before, after;
    mt_store_stats(store, &before);
    merge("renamed", HOST, rev + 5, false);
    changed(MT_NODE_UPSERT, false, HOST);       /* not ours: the bus does not publish it */
    ref = current();
    ck_assert_str_eq(ref->name, "renamed");
    ck_assert_int_eq(ref->revision, rev + 5);
    mt_rc_unref(&ref);
    mt_store_stats(store, &after);
    ck_assert_uint_eq(after.rc_writes, before.rc_writes);  /* never written back */

    merge("renamed", HOST, rev + 6, true);
    changed(MT_NODE_DELETED, false, NULL);
    mt_msg_t *g = mt_probe_expect(registry, MT__RC_GONE, T);
    ck_assert_ptr_nonnull(g);
    mt_msg_free(g);
    answered(get(false), MT_ENOTFOUND);
}
END_TEST

START_TEST(refresh_round_is_shared)
{
    const char *alive[1] = { HOST };
    add(1, alive);
    /*  Two refreshes, one round: the one answer answers both (had the
        second started its own round, the agent would wait for that one). */
    uint64_t c1 = get(true), c2 = get(true);
    mt_msg_t *p = probe();
    const char *two[2] = { HOST, B2 };
    probed(p, MT_OK, true, 2, two);
    changed(MT_NODE_UPSERT, false, HOST);       /* the node list: memory only */
    mt_msg_t *r = answer(c1, MT_OK);
    ck_assert_uint_eq(mt_rc_reply(r)->ref->nnodes, 2);
    mt_msg_free(r);
    answered(c2, MT_OK);
    ck_assert_uint_eq(atomic_load(&cfg->refreshes), 1);

    /*  A write while a round is out: its answer describes an older state
        and is not taken. */
    uint64_t c3 = get(true);
    p = probe();
    mt_msg_t *req = mt_rc_req_new(MT_RC_OP_SET);
    mt_rc_req(req)->username = strdup("admin");
    uint64_t c_set = request(req);
    changed(MT_NODE_UPSERT, true, HOST);
    answered(c_set, MT_OK);
    mt_rc_t *ref = current();
    uint32_t nnodes = ref->nnodes;
    mt_rc_unref(&ref);
    const char *three[3] = { HOST, B2, B3 };
    probed(p, MT_OK, true, 3, three);
    r = answer(c3, MT_OK);
    ck_assert_uint_eq(mt_rc_reply(r)->ref->nnodes, nnodes);
    ck_assert_uint_ne(mt_rc_reply(r)->ref->nnodes, 3);
    ck_assert_str_eq(mt_rc_reply(r)->ref->username, "admin");
    mt_msg_free(r);
    ck_assert_uint_eq(atomic_load(&cfg->refreshes), 1);
}
END_TEST

/*  A round that shows the hostname gone from the remote: B2 is the first
    live member in sorted order, the replacement every replica computes. */
static void hostname_gone(void)
{
    uint64_t c = get(true);
    const char *alive[2] = { B2, B3 };
    probed(probe(), MT_OK, false, 2, alive);
    changed(MT_NODE_UPSERT, false, HOST);
    answered(c, MT_OK);
}

START_TEST(writer_waits_its_turn)
{
    const char *alive[1] = { HOST };
    int64_t rev = add(1, alive);
    hostname_gone();                            /* priority unknown: no plan */
    priority(1);
    hostname_gone();                            /* replica 1: its turn is an hour away */
    mt_rc_t *ref = current();
    ck_assert_str_eq(ref->hostname, HOST);
    mt_rc_unref(&ref);
    ck_assert_uint_eq(atomic_load(&cfg->hostname_writes), 0);
    ck_assert_uint_eq(atomic_load(&cfg->hostname_cancelled), 0);

    /*  Replica 0 wrote meanwhile: its notice cancels our plan, and our
        turn, when it comes, writes nothing. */
    merge("to-b", B2, rev + 1, false);
    changed(MT_NODE_UPSERT, false, B2);
    ref = current();
    ck_assert_uint_eq(atomic_load(&cfg->hostname_cancelled), 1);
    mt_rc_unref(&ref);
    mt_store_stats_t before, after;
    mt_store_stats(store, &before);
    ck_assert_int_eq(mt_send(agent, mt_msg_new(MT__RC_WRITE, 0)), MT_OK);
    ref = current();                            /* handled after the WRITE */
    ck_assert_str_eq(ref->hostname, B2);
    mt_rc_unref(&ref);
    mt_store_stats(store, &after);
    ck_assert_uint_eq(after.rc_writes, before.rc_writes);
    ck_assert_uint_eq(after.rc_conflicts, before.rc_conflicts);
    ck_assert_uint_eq(atomic_load(&cfg->hostname_writes), 0);
}
END_TEST

START_TEST(writer_writes_at_its_turn)
{
    const char *alive[1] = { HOST };
    int64_t rev = add(1, alive);
    priority(0);
    hostname_gone();                            /* replica 0: its turn is now */
    changed(MT_NODE_UPSERT, true, B2);
    mt_rc_t *row = stored();
    ck_assert_str_eq(row->hostname, B2);
    ck_assert_int_gt(row->revision, rev);
    mt_rc_unref(&row);
    ck_assert_uint_eq(atomic_load(&cfg->hostname_writes), 1);

    /*  The next plan is overtaken by a write this agent has not heard of
        (another replica's, its notice lost): the compare-and-set on the
        plan's revision refuses it. */
    priority(1);
    const char *back[2] = { HOST, B3 };         /* B2 gone: HOST is first */
    uint64_t c = get(true);
    probed(probe(), MT_OK, false, 2, back);
    changed(MT_NODE_UPSERT, false, B2);
    answered(c, MT_OK);
    row = stored();
    mt_rc_t t = *row;
    t.hostname = B3;
    t.username = "elsewhere";
    ck_assert_int_eq(tu_write(rt, store, ID, mt_store_msg_rc_set(mt_rc_build(&t), false, true,
                                                                 true, false, false,
                                                                 row->revision), NULL, NULL),
                     MT_OK);
    mt_rc_unref(&row);
    mt_store_stats_t before, after;
    mt_store_stats(store, &before);
    ck_assert_int_eq(mt_send(agent, mt_msg_new(MT__RC_WRITE, 0)), MT_OK);
    mt_rc_t *ref = current();
    mt_rc_unref(&ref);
    mt_store_stats(store, &after);
    ck_assert_uint_eq(after.rc_conflicts, before.rc_conflicts + 1);
    ck_assert_uint_eq(atomic_load(&cfg->hostname_writes), 1);
    row = stored();
    ck_assert_str_eq(row->hostname, B3);        /* the other replica's write stands */
    mt_rc_unref(&row);
}
END_TEST

START_TEST(delete_is_gone)
{
    const char *alive[1] = { HOST };
    int64_t rev = add(1, alive);
    uint64_t c = request(mt_rc_req_new(MT_RC_OP_DEL));
    changed(MT_NODE_DELETED, true, NULL);
    mt_msg_t *g = mt_probe_expect(registry, MT__RC_GONE, T);
    ck_assert_ptr_nonnull(g);
    mt_msg_free(g);
    answered(c, MT_OK);
    answered(get(false), MT_ENOTFOUND);
    mt_rc_t *row = stored();
    ck_assert(row && row->deleted && row->revision > rev);
    mt_rc_unref(&row);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rc_agent");
    TCase *tc = tcase_create("agent");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, add_probes_then_stores);
    tcase_add_test(tc, add_unreachable_is_gone);
    tcase_add_test(tc, set_is_compare_and_set);
    tcase_add_test(tc, merges_by_revision);
    tcase_add_test(tc, refresh_round_is_shared);
    tcase_add_test(tc, writer_waits_its_turn);
    tcase_add_test(tc, writer_writes_at_its_turn);
    tcase_add_test(tc, delete_is_gone);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
