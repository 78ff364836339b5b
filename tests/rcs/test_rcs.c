/*  test_rcs.c — the reference service's registry and agents in one
    process, over the fixture's MariaDB (no remote is contacted: no probe
    runs, the refresh interval is an hour and reloads are off, so the test
    alone decides what the registry learns and when).

    Cases:
      stale_row_after_a_delete     a row read before a delete committed (a
                                   reload pass's, merged after the delete)
                                   does not bring the reference back; a new
                                   reference with its name is still taken
      stale_notice_after_a_delete  the same for a reference the registry
                                   never had: its delete's notice overtakes
                                   its add's
      stored_at_start              references already stored when the
                                   service starts: its first reload spawns
                                   their agents, which tell the registry at
                                   once. (An agent once read the registry's
                                   address before mt_rcs_new had stored it:
                                   a NULL send in CI, under ASan's timing.
                                   The window is microseconds against the
                                   reload's round trip, so this test passes
                                   with that bug nearly always; the fix is
                                   by construction, in rc_registry.c.)
    The service test svc_rc_delete (delete_not_undone_by_a_reload) shows the
    same race between real replicas; here it is made to happen every time. */
#include "mt_rcs.h"
#include "mt_check.h"
#include "store_testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DB "metactor_t_rcs"
#define UUID_B "9b0d4f3e-5c1a-4e62-8f7d-2a6b1c3d4e5f"

static mt_runtime_t *rt;
static mt_store_t *store;
static mt_rcs_t *rcs;
static char *dsn;

static void start(int64_t reload_interval_ms)
{
    mt_rcs_opts_t o = {
        .store = store, .replica_id = "r0", .refresh_interval_ms = 3600 * 1000,
        .reload_interval_ms = reload_interval_ms, .probe_timeout_ms = 200, .probers = 1,
    };
    rcs = mt_rcs_new(rt, &o);
    ck_assert_ptr_nonnull(rcs);
}

static void setup_store(void)
{
    tu_open(&rt, &dsn, &store, NULL, DB, 2);
}

static void setup(void)
{
    setup_store();
    start(-1);
}

static void teardown(void)
{
    mt_rcs_destroy(&rcs);
    tu_close(&rt, &dsn, &store, NULL);
}

static mt_rc_t *mk(const char *id, const char *name, int64_t revision, bool deleted)
{
    const char *nodes[1] = { "tcp://127.0.0.1:9" };
    mt_rc_t t = { .id = id, .name = name, .hostname = nodes[0], .uuid = UUID_B,
                  .username = "", .password = "", .server_key = "", .client_public = "",
                  .nnodes = 1, .node_list = nodes, .revision = revision, .deleted = deleted };
    return mt_rc_build(&t);
}

/*  An rc request to the registry; key selects by "id", "name" or "uuid".
    Returns the error; *ref (if given) the reference answered. */
static int call(mt_rc_op_t op, const char *key, const char *val, mt_rc_t **ref)
{
    mt_msg_t *req = mt_rc_req_new(op);
    mt_rc_req_t *q = mt_rc_req(req);
    if (strcmp(key, "id") == 0)
        snprintf(q->id, sizeof q->id, "%s", val);
    else if (strcmp(key, "name") == 0)
        snprintf(q->name, sizeof q->name, "%s", val);
    else
        snprintf(q->uuid, sizeof q->uuid, "%s", val);
    mt_msg_t *reply = tu_ask(rt, mt_rcs_registry(rcs), req);
    ck_assert_int_eq(reply->type, MT_RC_REPLY);
    mt_rc_reply_t *r = mt_rc_reply(reply);
    int err = r->err;
    if (ref)
        *ref = r->ref ? mt_rc_ref(r->ref) : NULL;
    mt_msg_free(reply);
    return err;
}

static uint32_t list_size(void)
{
    mt_msg_t *reply = tu_ask(rt, mt_rcs_registry(rcs), mt_rc_req_new(MT_RC_OP_LIST));
    ck_assert_int_eq(mt_rc_reply(reply)->err, MT_OK);
    uint32_t n = mt_rc_reply(reply)->nrefs;
    mt_msg_free(reply);
    return n;
}

/*  Sent from this thread after every earlier ask was answered: the
    registry handles it after all that the answers caused (one sender, one
    receiver: in order), and before any later ask. */
static void merge(mt_rc_t *ref)
{
    ck_assert_int_eq(mt_send(mt_rcs_registry(rcs), mt_rc_merge_new(ref)), MT_OK);
}

static void assert_gone(const char *id, const char *name, const char *when)
{
    ck_assert_msg(call(MT_RC_OP_GET, "name", name, NULL) == MT_ENOTFOUND,
                  "%s is found by name %s", name, when);
    ck_assert_msg(call(MT_RC_OP_GET, "id", id, NULL) == MT_ENOTFOUND,
                  "%s is found by id %s", name, when);
    ck_assert_msg(call(MT_RC_OP_GET, "uuid", UUID_B, NULL) == MT_ENOTFOUND,
                  "%s is found by uuid %s", name, when);
    ck_assert_msg(list_size() == 0, "%s is listed %s", name, when);
}

/*  A reload pass reads the live row; the delete commits and its agent
    stops; then the pass's answer is merged. It is older than the delete:
    the reference stays deleted. */
START_TEST(stale_row_after_a_delete)
{
    const char *id = "0a5e1c2d-3b4f-4a6b-9c7d-8e9f0a1b2c3d";
    int64_t rev = 0;
    ck_assert_int_eq(tu_write(rt, store, id, mt_store_msg_rc_add(mk(id, "to-b", 0, false)), &rev,
                              NULL), MT_OK);

    mt_msg_t *pass = tu_ask(rt, mt_store_reader(store), mt_store_msg_rc_scan(0));
    ck_assert_int_eq(pass->type, MT_STORE_RC_SCANNED);
    mt_store_rc_scanned_t *s = mt_msg_data(pass);
    ck_assert_int_eq(s->err, MT_OK);
    ck_assert_uint_eq(s->nrefs, 1);
    ck_assert_int_eq(s->refs[0]->revision, rev);
    ck_assert(!s->refs[0]->deleted);

    merge(mt_rc_ref(s->refs[0]));   /* learned (a notice, an earlier pass) */
    mt_rc_t *ref = NULL;
    ck_assert_int_eq(call(MT_RC_OP_GET, "name", "to-b", &ref), MT_OK);
    ck_assert_str_eq(ref->id, id);
    mt_rc_unref(&ref);

    /*  rc.del: the tombstone is committed, the agent stops (its GONE
        reaches the registry before its answer reaches us). */
    ck_assert_int_eq(call(MT_RC_OP_DEL, "name", "to-b", NULL), MT_OK);
    assert_gone(id, "to-b", "after its delete");

    /*  the pass's row, read before the delete */
    merge(mt_rc_ref(s->refs[0]));
    assert_gone(id, "to-b", "after a row read before its delete");
    mt_msg_free(pass);

    /*  a notice of the delete itself, late: still nothing */
    merge(mk(id, "to-b", rev + 1, true));
    merge(mk(id, "to-b", rev, false));
    assert_gone(id, "to-b", "after its delete's notice and an older row");

    /*  the tombstone is the id's, not the name's: a new reference named
        to-b (a newer revision) is taken */
    const char *id2 = "1b6f2d3e-4c5a-4b7c-8d8e-9f0a1b2c3d4e";
    merge(mk(id2, "to-b", rev + 5, false));
    ck_assert_int_eq(call(MT_RC_OP_GET, "name", "to-b", &ref), MT_OK);
    ck_assert_str_eq(ref->id, id2);
    mt_rc_unref(&ref);
    ck_assert_int_eq(call(MT_RC_OP_GET, "id", id, NULL), MT_ENOTFOUND);
    ck_assert_int_eq(list_size(), 1);
}
END_TEST

/*  A reference this registry never had: the delete's notice comes first,
    then its add's (two peers, two connections). The add stays unseen. */
START_TEST(stale_notice_after_a_delete)
{
    const char *id = "2c7a3e4f-5d6b-4c8d-9e9f-0a1b2c3d4e5f";
    merge(mk(id, "to-c", 8, true));
    merge(mk(id, "to-c", 7, false));
    assert_gone(id, "to-c", "after its add's notice came after its delete's");
    /*  a newer row than the delete would be taken (merges go by revision;
        the store never writes one, a tombstone is final) */
    merge(mk(id, "to-c", 9, false));
    ck_assert_int_eq(call(MT_RC_OP_GET, "id", id, NULL), MT_OK);
}
END_TEST

/*  Three references stored before the service starts, the first reload
    (at once, then hourly) brings them: each agent is spawned from its row
    and tells the registry, which lists all three. */
START_TEST(stored_at_start)
{
    static const char *const ids[3] = { "3d8b4f5a-6e7c-4d9e-8f0a-1b2c3d4e5f60",
        "4e9c5a6b-7f8d-4eaf-9a1b-2c3d4e5f6071", "5fad6b7c-8a9e-4fb0-8b2c-3d4e5f607182" };
    static const char *const names[3] = { "to-d", "to-e", "to-f" };
    for (int i = 0; i < 3; i++) {
        mt_rc_t *ref = mk(ids[i], names[i], 0, false);
        mt_rc_t t = *ref;
        t.uuid = ids[i];                /* each its own remote cluster */
        mt_rc_t *own = mt_rc_build(&t);
        mt_rc_unref(&ref);
        ck_assert_int_eq(tu_write(rt, store, ids[i], mt_store_msg_rc_add(own), NULL, NULL), MT_OK);
    }
    start(3600 * 1000);
    uint32_t n = 0;
    for (int i = 0; i < 1000 && (n = list_size()) < 3; i++)
        nanosleep(&(struct timespec) { .tv_nsec = 10000000 }, NULL);
    ck_assert_uint_eq(n, 3);
    for (int i = 0; i < 3; i++) {
        mt_rc_t *ref = NULL;
        ck_assert_int_eq(call(MT_RC_OP_GET, "name", names[i], &ref), MT_OK);
        ck_assert_str_eq(ref->id, ids[i]);
        mt_rc_unref(&ref);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rcs");
    TCase *tc = tcase_create("registry");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, stale_row_after_a_delete);
    tcase_add_test(tc, stale_notice_after_a_delete);
    suite_add_tcase(s, tc);
    tc = tcase_create("start");
    tcase_add_checked_fixture(tc, setup_store, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, stored_at_start);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
