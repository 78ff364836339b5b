/*  test_nodes_v2.c — what protocol v2 adds to nodes (issue 13), through two
    real replicas: components in detail and the version matrix (a
    heartbeat's components stored only when they changed), live metrics
    spread by notices and never written to the database, has_template /
    has_image, node.list's revision and node.changes (deletes included,
    `expired` below the purged floor). Bad input is refused and changes
    nothing. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB "metactor_it_nodes_v2"
#define TIMEOUT_S 240

enum { A, B };

static void setup(void)
{
    h_setup(DB, 2, TIMEOUT_S);
    for (int i = A; i <= B; i++)
        h_set_args(i, "--health-timeout", "3600000", "--reload-interval", "500", NULL);
    h_start_all();
}

static void reg_components(int i, const char *id, const char *commit)
{
    h_reply_t *r = h_ok(i, "{s:s, s:{s:s, s:[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s}]}}",
                        "op", "node.register", "node", "id", id,
                        "components", "component", "cubelet", "version", "2.1", "commit",
                        commit, "build_time", "2024-05-01T10:00:00Z", "source", "binary",
                        "component", "agent", "version", "1.0");
    h_check_view(h_get(r->result, "node"));
    h_reply_free(&r);
}

static int64_t versions_count(int i, const char *component, const char *version)
{
    h_reply_t *r = h_ok(i, "{s:s}", "op", "node.versions");
    char path[128];
    snprintf(path, sizeof path, "components/%s/%s", component, version);
    int64_t n = h_has(r->result, path) ? h_int(r->result, path) : 0;
    h_reply_free(&r);
    return n;
}

START_TEST(components_and_the_version_matrix)
{
    reg_components(A, "c1", "abc");
    reg_components(A, "c2", "abc");
    h_reply_t *r = h_node_get(A, "c1");
    H_ASSERT(h_is_str(r->result, "node/versions/cubelet", "2.1"), "versions from components");
    H_ASSERT(h_is_str(r->result, "node/components/1/commit", "abc"), "detail kept (sorted)");
    H_ASSERT(h_is_str(r->result, "node/components/1/source", "binary"), "source kept");
    h_reply_free(&r);
    for (int i = A; i <= B; i++)
        H_WAIT(versions_count(i, "cubelet", "2.1") == 2, H_T, "matrix on replica %d", i);

    /*  A heartbeat with the same components writes no registration. */
    int64_t rev = h_node_int(A, "c1", "reg_revision");
    r = h_ok(A, "{s:s, s:s, s:b, s:[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s}]}", "op",
             "node.heartbeat", "id", "c1", "ready", true, "components", "component", "cubelet",
             "version", "2.1", "commit", "abc", "build_time", "2024-05-01T10:00:00Z", "source",
             "binary", "component", "agent", "version", "1.0");
    h_reply_free(&r);
    H_ASSERT(h_node_int(A, "c1", "reg_revision") == rev, "same components: no write");
    /*  A new version: written with the heartbeat, seen by the peer. */
    r = h_ok(A, "{s:s, s:s, s:b, s:[{s:s, s:s, s:s}]}", "op", "node.heartbeat", "id", "c1",
             "ready", true, "components", "component", "cubelet", "version", "2.2", "commit",
             "def");
    H_ASSERT(h_is_str(r->result, "node/versions/cubelet", "2.2"), "the reply shows it");
    H_ASSERT(h_int(r->result, "node/status_revision") > 0, "and the status was written");
    h_reply_free(&r);
    H_ASSERT(h_node_int(A, "c1", "reg_revision") > rev, "new components: a registration write");
    H_WAIT(versions_count(B, "cubelet", "2.2") == 1 && versions_count(B, "cubelet", "2.1") == 1,
           H_T, "B's matrix follows");
    /*  Stored in their own table, with the detail. */
    char *commit = h_db_query(0, "SELECT commit_id FROM node_component_versions"
                                 " WHERE node_id = 'c1' AND component = 'cubelet'");
    H_ASSERT(commit && strcmp(commit, "def") == 0, "stored commit %s", commit ? commit : "-");
    free(commit);
    /*  A selector narrows the matrix. */
    r = h_ok(A, "{s:s, s:{s:s}}", "op", "node.versions", "selector", "zone", "none");
    H_ASSERT(h_size(r->result, "components") == 0, "no node selected, no components");
    h_reply_free(&r);
}
END_TEST

START_TEST(metrics_by_notices_never_stored)
{
    h_reply_t *r = h_ok(A, "{s:s, s:{s:s}}", "op", "node.register", "node", "id", "m1");
    h_reply_free(&r);
    r = h_ok(A, "{s:s, s:s, s:b, s:{s:i, s:i}}", "op", "node.heartbeat", "id", "m1", "ready",
             true, "metrics", "cpu_milli_used", 1500, "mvm_num", 3);
    H_ASSERT(h_int(r->result, "node/metrics/cpu_milli_used") == 1500, "metrics in the reply");
    H_ASSERT(h_int(r->result, "node/metrics_at") > 0, "metrics_at set");
    h_reply_free(&r);
    H_WAIT(({
        h_reply_t *g = h_node_get(B, "m1");
        bool ok = h_has(g->result, "node/metrics/mvm_num")
               && h_int(g->result, "node/metrics/mvm_num") == 3;
        h_reply_free(&g);
        ok;
    }), H_T, "B learns the metrics from the notice");
    char *cols = h_db_query(0, "SELECT COUNT(*) FROM information_schema.columns WHERE"
                               " table_schema = DATABASE() AND column_name LIKE '%metric%'");
    H_ASSERT(cols && strcmp(cols, "0") == 0, "no metrics column anywhere: %s", cols);
    free(cols);
    /*  A heartbeat without metrics keeps the last ones. */
    r = h_ok(A, "{s:s, s:s, s:b}", "op", "node.heartbeat", "id", "m1", "ready", true);
    H_ASSERT(h_int(r->result, "node/metrics/mvm_num") == 3, "last metrics kept");
    h_reply_free(&r);
    /*  Bad metrics: refused, nothing changed. */
    int64_t srev = h_node_int(A, "m1", "status_revision");
    h_err(A, "bad_request", "{s:s, s:s, s:b, s:{s:i}}", "op", "node.heartbeat", "id", "m1",
          "ready", true, "metrics", "cpu", -1);
    h_err(A, "bad_request", "{s:s, s:s, s:b, s:[i]}", "op", "node.heartbeat", "id", "m1",
          "ready", true, "metrics", 1);
    H_ASSERT(h_node_int(A, "m1", "status_revision") == srev, "nothing written");
}
END_TEST

static uint32_t list_count(int i, const char *key, const char *value)
{
    h_reply_t *r = h_ok(i, "{s:s, s:s}", "op", "node.list", key, value);
    uint32_t n = h_size(r->result, "nodes");
    h_reply_free(&r);
    return n;
}

START_TEST(locality_filters)
{
    const char *ids[3] = { "l1", "l2", "l3" };
    for (int k = 0; k < 3; k++) {
        h_reply_t *r = h_ok(A, "{s:s, s:{s:s}}", "op", "node.register", "node", "id", ids[k]);
        h_reply_free(&r);
    }
    h_reply_t *r = h_ok(A, "{s:s, s:s, s:b, s:[s, s], s:[s]}", "op", "node.heartbeat", "id", "l1",
                        "ready", true, "local_templates", "tpl-a", "tpl-b", "images", "img-x");
    h_reply_free(&r);
    r = h_ok(A, "{s:s, s:s, s:b, s:[s]}", "op", "node.heartbeat", "id", "l2", "ready", true,
             "local_templates", "tpl-b");
    h_reply_free(&r);
    for (int i = A; i <= B; i++) {
        H_WAIT(list_count(i, "has_template", "tpl-b") == 2, H_T, "tpl-b on two nodes (%d)", i);
        H_ASSERT(list_count(i, "has_template", "tpl-a") == 1, "tpl-a on one");
        H_ASSERT(list_count(i, "has_image", "img-x") == 1, "img-x on one");
        H_ASSERT(list_count(i, "has_template", "none") == 0, "none nowhere");
    }
    h_err(A, "bad_request", "{s:s, s:s}", "op", "node.list", "has_template", "");
    h_err(A, "bad_request", "{s:s, s:i}", "op", "node.list", "has_image", 7);
}
END_TEST

/*  The change of `id` in node.changes since `since` on replica i: 'u',
    'd' or 0 (absent); *mark gets the mark. */
static char change_of(int i, int64_t since, const char *id, int64_t *mark)
{
    h_reply_t *r = h_ok(i, "{s:s, s:i}", "op", "node.changes", "since", since);
    *mark = h_int(r->result, "mark");
    char found = 0;
    uint32_t n = h_size(r->result, "changes");
    for (uint32_t k = 0; k < n; k++) {
        char p[64];
        snprintf(p, sizeof p, "changes/%u/id", k);
        if (!h_is_str(r->result, p, id))
            continue;
        snprintf(p, sizeof p, "changes/%u/change", k);
        found = h_is_str(r->result, p, "delete") ? 'd' : 'u';
        snprintf(p, sizeof p, "changes/%u", k);
        const msgpack_object *c = h_get(r->result, p);
        H_ASSERT(h_int(c, "revision") > since, "only changes above since");
        if (found == 'u')
            h_check_view(h_get(c, "view"));
        else
            H_ASSERT(!h_has(c, "view"), "a delete has no view");
    }
    h_reply_free(&r);
    return found;
}

START_TEST(list_revision_and_changes)
{
    h_reply_t *r = h_ok(A, "{s:s, s:{s:s}}", "op", "node.register", "node", "id", "gone");
    h_reply_free(&r);
    H_WAIT(({
        h_reply_t *l = h_ok(B, "{s:s}", "op", "node.list");
        bool ok = h_int(l->result, "revision") > 0 && h_size(l->result, "nodes") == 1;
        h_reply_free(&l);
        ok;
    }), H_T, "B lists with a revision");
    r = h_ok(B, "{s:s}", "op", "node.list");
    int64_t rev = h_int(r->result, "revision");
    h_reply_free(&r);
    r = h_ok(A, "{s:s, s:{s:s}}", "op", "node.register", "node", "id", "fresh");
    h_reply_free(&r);
    r = h_ok(A, "{s:s, s:s}", "op", "node.delete", "id", "gone");
    h_reply_free(&r);
    int64_t mark = 0;
    H_WAIT(change_of(B, rev, "fresh", &mark) == 'u' && change_of(B, rev, "gone", &mark) == 'd'
           && mark > rev, H_T, "B's node.changes since %lld brings both", (long long) rev);
    /*  A limit cuts oldest first; the mark lets the client go on. */
    r = h_ok(B, "{s:s, s:i, s:i}", "op", "node.changes", "since", 0, "limit", 1);
    H_ASSERT(h_size(r->result, "changes") == 1, "limit 1");
    H_ASSERT(h_int(r->result, "mark") <= h_int(r->result, "changes/0/revision"),
             "the mark does not pass what was cut");
    h_reply_free(&r);
    /*  Bad input. */
    h_err(B, "bad_request", "{s:s}", "op", "node.changes");
    h_err(B, "bad_request", "{s:s, s:i}", "op", "node.changes", "since", -1);
    h_err(B, "bad_request", "{s:s, s:i, s:i}", "op", "node.changes", "since", 0, "limit", 0);
    h_err(B, "bad_request", "{s:s, s:s}", "op", "node.changes", "since", "1");
    /*  Below the purged floor: expired. */
    h_db_exec("UPDATE mt_cluster SET node_purged_upto = 1000000000");
    h_err(B, "expired", "{s:s, s:i}", "op", "node.changes", "since", rev);
    h_db_exec("UPDATE mt_cluster SET node_purged_upto = 0");
}
END_TEST

START_TEST(bad_components_change_nothing)
{
    reg_components(A, "b1", "abc");
    int64_t rev = h_node_int(A, "b1", "reg_revision");
    h_err(A, "bad_request", "{s:s, s:{s:s, s:s}}", "op", "node.register", "node", "id", "b1",
          "components", "x");
    h_err(A, "bad_request", "{s:s, s:{s:s, s:[{s:s, s:s}]}}", "op", "node.register", "node",
          "id", "b1", "components", "component", "", "version", "1");
    h_err(A, "bad_request", "{s:s, s:{s:s, s:[{s:s, s:s}]}}", "op", "node.register", "node",
          "id", "b1", "components", "component", "k", "source", "elsewhere");
    h_err(A, "bad_request", "{s:s, s:s, s:b, s:[i]}", "op", "node.heartbeat", "id", "b1",
          "ready", true, "components", 3);
    H_ASSERT(h_node_int(A, "b1", "reg_revision") == rev, "nothing written");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service_nodes_v2");
    h_tcase(s, "nodes_v2", setup, TIMEOUT_S, components_and_the_version_matrix,
            metrics_by_notices_never_stored, locality_filters, list_revision_and_changes,
            bad_components_change_nothing, NULL);
    return h_run(s);
}
