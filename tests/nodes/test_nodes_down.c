/*  test_nodes_down.c — the database stops under the node service and comes
    back. Writes are answered `unavailable` promptly (not after the client
    timeouts), reads keep being answered from memory, and once the server is
    back writes succeed again with nothing acknowledged lost. A private
    server of its own (directory and port from CTest) so that tests running
    in parallel keep theirs. */
#include "nodetest.h"
#include "mt_check.h"

#define DB "metactor_t_nodes_down"

static mt_runtime_t *rt;
static mt_store_t *store;
static mt_nodes_t *A;
static char base[512];

static void server(const char *cmd)
{
    const char *script = getenv("METACTOR_TEST_MARIADB");
    const char *dir = getenv("METACTOR_TEST_DOWN_DIR");
    const char *port = getenv("METACTOR_TEST_DOWN_PORT");
    ck_assert_msg(script && dir && port, "run through ctest");
    char line[1200];
    snprintf(line, sizeof line, "MT_DB_PORT=%s '%s' %s '%s' >/dev/null 2>&1", port, script, cmd, dir);
    ck_assert_msg(system(line) == 0, "%s failed", line);
    snprintf(line, sizeof line, "'%s' dsn '%s'", script, dir);
    FILE *f = popen(line, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(base, sizeof base, f));
    pclose(f);
    base[strcspn(base, "\n")] = '\0';
}

static char *dsn_for(const char *db)
{
    setenv("METACTOR_TEST_DSN", base, 1);
    return nt_dsn_for(db);
}

static mt_nodes_t *service(void)
{
    return nt_nodes(rt, store, 0, NULL);
}

static void setup(void)
{
    server("start");
    setenv("METACTOR_TEST_DSN", base, 1);
    nt_fresh_db(DB);
    char *dsn = dsn_for(DB);
    rt = mt_runtime_new(NULL);
    store = nt_store(rt, dsn);
    free(dsn);
    A = service();
}

static void teardown(void)
{
    mt_nodes_destroy(&A);
    mt_store_destroy(&store);
    mt_runtime_destroy(&rt);
    server("stop");
}

START_TEST(unavailable_then_back_nothing_lost)
{
    const char *labels[] = { "zone=a", NULL };
    mt_msg_free(nt_ok(rt, A, mt_node_req_register("d1", nt_reg("10.1.1.1", 7000, labels, NULL))));
    mt_msg_t *r = nt_ok(rt, A, mt_node_req_heartbeat("d1", nt_status(true, 5000, "before")));
    int64_t acked_rev = mt_node_reply(r)->view.status->status_revision;
    mt_msg_free(r);

    server("stop");
    /*  The store answers `unavailable` itself (its message says why); the
        node's own ask timeout would say "did not answer in time". How fast
        is the store_down test's and the benchmarks' business, not this. */
    mt_msg_t *r0 = nt_call(rt, A, mt_node_req_heartbeat("d1", nt_status(true, 6000, "during")));
    int err = mt_node_reply(r0)->err;
    ck_assert_msg(err == MT_EUNAVAIL, "heartbeat while down: %s", mt_err_code(err));
    ck_assert_msg(!strstr(mt_node_reply(r0)->message, "in time"),
                  "answered by a timeout, not by the store: %s", mt_node_reply(r0)->message);
    mt_msg_free(r0);
    ck_assert_int_eq(nt_err(rt, A, mt_node_req_register("d2", nt_reg("h", 1, labels, NULL))),
                     MT_EUNAVAIL);
    /*  Reads are served from memory, unchanged by the failed write. */
    r = nt_ok(rt, A, mt_node_req_get("d1"));
    ck_assert_str_eq(mt_node_reply(r)->view.status->images[0], "before");
    mt_msg_free(r);

    server("start");
    /*  The store reconnects by itself (every reconnect_ms): retry until ok. */
    bool ok = false;
    for (int i = 0; i < 200 && !ok; i++) {
        r = nt_call(rt, A, mt_node_req_heartbeat("d1", nt_status(true, 7000 + i, "after")));
        ok = mt_node_reply(r)->err == MT_OK;
        if (ok)
            ck_assert_int_gt(mt_node_reply(r)->view.status->status_revision, acked_rev);
        else
            ck_assert_int_eq(mt_node_reply(r)->err, MT_EUNAVAIL);
        mt_msg_free(r);
        if (!ok)
            usleep(50 * 1000);
    }
    ck_assert_msg(ok, "writes did not come back after the restart");
    mt_msg_free(nt_ok(rt, A, mt_node_req_register("d2", nt_reg("h", 1, labels, NULL))));

    /*  What a fresh replica loads is what was acknowledged. */
    mt_nodes_t *B = service();
    r = nt_ok(rt, B, mt_node_req_get("d1"));
    mt_node_view_t *v = &mt_node_reply(r)->view;
    ck_assert_str_eq(v->status->images[0], "after");
    ck_assert_str_eq(v->reg->host_ip, "10.1.1.1");
    ck_assert_str_eq(nt_label(v, "zone"), "a");
    mt_msg_free(r);
    mt_msg_free(nt_ok(rt, B, mt_node_req_get("d2")));
    mt_nodes_destroy(&B);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nodes_down");
    TCase *tc = tcase_create("down");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, unavailable_then_back_nothing_lost);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
