/*  test_replication.c — three replicas (A, B, C) on one database: a write
    through any replica is seen by every other, by notice or by reload
    (the tests wait for it, they do not care which). */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define DB "metactor_it_replication"
#define TIMEOUT_S 180

enum { A, B, C };

static void setup(void)
{
    h_setup(DB, 3, TIMEOUT_S);
    h_start_all();
}

static void setup_short_health(void)
{
    h_setup(DB, 3, TIMEOUT_S);
    for (int i = A; i <= C; i++)
        h_set_args(i, "--health-timeout", "2000", NULL);
    h_start_all();
}

static h_reply_t *reg(int i, const char *id, const char *zone)
{
    return h_ok(i,
                "{s:s, s:{s:s, s:s, s:i, s:s, s:{s:s, s:s}, s:{s:i, s:i}, s:{s:i},"
                "         s:{s:s, s:s}}}",
                "op", "node.register", "node", "id", id, "host_ip", "10.1.2.3",
                "grpc_port", 9000, "instance_type", "cube.large",
                "labels", "zone", zone, "rack", "r1",
                "capacity", "cpu_milli", 8000, "memory_mb", 16384,
                "quota", "pods", 110,
                "versions", "cubelet", "1.0.3", "runc", "1.1.12");
}

static bool gone(int i, const char *id)
{
    h_reply_t *r = h_node_get(i, id);
    bool none = r == NULL;
    h_reply_free(&r);
    return none;
}

/*  Replica i's view of id equals `want` (the whole node view). */
static bool view_is(int i, const char *id, const msgpack_object *want)
{
    h_reply_t *r = h_node_get(i, id);
    bool eq = r && msgpack_object_equal(*h_get(r->result, "node"), *want);
    h_reply_free(&r);
    return eq;
}

static void print_views(const char *id)
{
    for (int i = A; i <= C; i++) {
        h_reply_t *r = h_node_get(i, id);
        fprintf(stderr, "replica %c: ", 'A' + i);
        if (r)
            msgpack_object_print(stderr, *h_get(r->result, "node"));
        else
            fprintf(stderr, "not found");
        fputc('\n', stderr);
        h_reply_free(&r);
    }
}

START_TEST(register_on_a_read_on_b_and_c)
{
    h_reply_t *r = reg(A, "n1", "a");
    const msgpack_object *view = h_get(r->result, "node");
    int64_t rev = h_int(view, "reg_revision");
    H_ASSERT(rev > 0, "reg_revision %lld", (long long) rev);
    H_ASSERT(h_is_str(view, "labels/zone", "a") && h_int(view, "capacity/cpu_milli") == 8000,
             "the reply carries the registration");
    for (int i = B; i <= C; i++) {
        H_WAIT(h_node_int(i, "n1", "reg_revision") == rev, H_T,
               "replica %c never saw n1 at revision %lld", 'A' + i, (long long) rev);
        if (!view_is(i, "n1", view))
            print_views("n1");
        H_ASSERT(view_is(i, "n1", view), "replica %c's view of n1 differs from A's", 'A' + i);
        H_WAIT(h_list_is(i, "n1"), H_T, "replica %c's node.list never showed n1", 'A' + i);
    }
    h_reply_free(&r);

    /*  A second registration through B replaces the group everywhere. */
    r = h_ok(B, "{s:s, s:{s:s, s:s, s:i, s:s}}", "op", "node.register", "node", "id", "n1",
             "host_ip", "10.9.9.9", "grpc_port", 9001, "instance_type", "cube.xlarge");
    int64_t rev2 = h_int(r->result, "node/reg_revision");
    H_ASSERT(rev2 > rev, "revision grows: %lld then %lld", (long long) rev, (long long) rev2);
    for (int i = A; i <= C; i += 2) {
        H_WAIT(h_node_int(i, "n1", "reg_revision") == rev2, H_T,
               "replica %c never saw n1's second registration", 'A' + i);
        H_ASSERT(view_is(i, "n1", h_get(r->result, "node")), "replica %c differs", 'A' + i);
    }
    h_reply_free(&r);
}
END_TEST

START_TEST(heartbeat_on_b_health_on_a)
{
    h_reply_t *r = reg(A, "n1", "a");
    h_reply_free(&r);
    int64_t before = h_wall_ms();
    r = h_ok(B, "{s:s, s:s, s:b, s:[{s:s, s:s, s:s, s:s}], s:[s, s], s:[s]}",
             "op", "node.heartbeat", "id", "n1", "ready", 1,
             "conditions", "type", "Ready", "status", "True", "reason", "kubelet",
             "message", "ok", "images", "img-a", "img-b", "local_templates", "tpl-1");
    int64_t after = h_wall_ms();
    const msgpack_object *view = h_get(r->result, "node");
    int64_t srev = h_int(view, "status_revision");
    int64_t hb = h_int(view, "heartbeat_at");
    H_ASSERT(hb >= before - 1000 && hb <= after + 1000,
             "heartbeat_at defaults to the replica's clock: %lld not in [%lld, %lld]",
             (long long) hb, (long long) before, (long long) after);
    H_ASSERT(h_bool(view, "healthy") && h_bool(view, "ready"), "healthy on B");
    for (int i = A; i <= C; i += 2) {
        H_WAIT(h_node_int(i, "n1", "status_revision") == srev, H_T,
               "replica %c never saw the heartbeat", 'A' + i);
        h_reply_t *g = h_node_get(i, "n1");
        const msgpack_object *v = h_get(g->result, "node");
        H_ASSERT(h_bool(v, "healthy") == true, "replica %c: healthy", 'A' + i);
        H_ASSERT(h_bool(v, "ready") == true, "replica %c: ready", 'A' + i);
        H_ASSERT(h_int(v, "heartbeat_at") == hb, "replica %c: heartbeat_at", 'A' + i);
        H_ASSERT(msgpack_object_equal(*v, *view), "replica %c: the view equals B's", 'A' + i);
        h_reply_free(&g);
        /*  The healthy list, from the directory's snapshot. */
        H_WAIT(({
                   h_reply_t *l = h_ok(i, "{s:s, s:b}", "op", "node.list", "healthy_only", 1);
                   bool has = h_size(l->result, "nodes") == 1
                       && h_is_str(l->result, "nodes/0/id", "n1");
                   h_reply_free(&l);
                   has;
               }), H_T, "replica %c: n1 in node.list healthy_only", 'A' + i);
    }
    h_reply_free(&r);

    /*  ready=false through C: unhealthy everywhere. */
    r = h_ok(C, "{s:s, s:s, s:b}", "op", "node.heartbeat", "id", "n1", "ready", 0);
    srev = h_int(r->result, "node/status_revision");
    H_ASSERT(!h_bool(r->result, "node/healthy"), "not ready: not healthy");
    h_reply_free(&r);
    for (int i = A; i <= B; i++) {
        H_WAIT(h_node_int(i, "n1", "status_revision") == srev, H_T,
               "replica %c never saw ready=false", 'A' + i);
        h_reply_t *g = h_node_get(i, "n1");
        H_ASSERT(!h_bool(g->result, "node/healthy") && !h_bool(g->result, "node/ready"),
                 "replica %c: unhealthy", 'A' + i);
        h_reply_free(&g);
        h_reply_t *l = h_ok(i, "{s:s, s:b}", "op", "node.list", "healthy_only", 1);
        H_ASSERT(h_size(l->result, "nodes") == 0, "replica %c: no healthy node", 'A' + i);
        h_reply_free(&l);
    }
    /*  A heartbeat for a node never registered. */
    for (int i = A; i <= C; i++)
        h_err(i, "not_found", "{s:s, s:s, s:b}", "op", "node.heartbeat", "id", "ghost",
              "ready", 1);
}
END_TEST

/*  Every replica's own timer turns the node unhealthy; nobody heartbeats. */
START_TEST(health_expires_everywhere)
{
    h_reply_t *r = reg(A, "n1", "a");
    h_reply_free(&r);
    r = h_ok(B, "{s:s, s:s, s:b}", "op", "node.heartbeat", "id", "n1", "ready", 1);
    int64_t srev = h_int(r->result, "node/status_revision");
    h_reply_free(&r);
    for (int i = A; i <= C; i++) {
        H_WAIT(h_node_int(i, "n1", "status_revision") == srev, H_T,
               "replica %c never saw the heartbeat", 'A' + i);
        H_WAIT(({
                   h_reply_t *g = h_node_get(i, "n1");
                   bool sick = !h_bool(g->result, "node/healthy")
                       && h_bool(g->result, "node/ready");
                   h_reply_free(&g);
                   sick;
               }), H_T, "replica %c: n1 never turned unhealthy", 'A' + i);
        H_WAIT(({
                   h_reply_t *l = h_ok(i, "{s:s, s:b}", "op", "node.list", "healthy_only", 1);
                   bool none = h_size(l->result, "nodes") == 0;
                   h_reply_free(&l);
                   none;
               }), H_T, "replica %c: n1 still in the healthy list", 'A' + i);
    }
}
END_TEST

static bool labels_are(int i, const char *id, const char *const *kv)
{
    h_reply_t *r = h_node_get(i, id);
    if (!r)
        return false;
    const msgpack_object *l = h_get(r->result, "node/labels");
    uint32_t n = 0;
    while (kv[2 * n])
        n++;
    bool eq = l && l->type == MSGPACK_OBJECT_MAP && l->via.map.size == n;
    for (uint32_t k = 0; eq && k < n; k++)
        eq = h_is_str(l, kv[2 * k], kv[2 * k + 1]);
    h_reply_free(&r);
    return eq;
}

static bool selector_lists(int i, const char *key, const char *value, const char *expect_id)
{
    h_reply_t *l = h_ok(i, "{s:s, s:{s:s}}", "op", "node.list", "selector", key, value);
    bool ok = expect_id ? h_size(l->result, "nodes") == 1
                              && h_is_str(l->result, "nodes/0/id", expect_id)
                        : h_size(l->result, "nodes") == 0;
    h_reply_free(&l);
    return ok;
}

START_TEST(labels_on_c_seen_on_a_and_b)
{
    h_reply_t *r = reg(A, "n1", "a");
    h_reply_free(&r);
    r = h_ok(C, "{s:s, s:s, s:{s:s, s:s}, s:[s]}", "op", "node.labels", "id", "n1",
             "set", "team", "x", "zone", "b", "remove", "rack");
    int64_t rev = h_int(r->result, "node/reg_revision");
    h_reply_free(&r);
    static const char *const want[] = { "team", "x", "zone", "b", NULL };
    H_ASSERT(labels_are(C, "n1", want), "C's labels");
    for (int i = A; i <= B; i++) {
        H_WAIT(h_node_int(i, "n1", "reg_revision") == rev, H_T,
               "replica %c never saw the labels change", 'A' + i);
        H_ASSERT(labels_are(i, "n1", want), "replica %c: labels {team: x, zone: b}", 'A' + i);
        H_WAIT(selector_lists(i, "team", "x", "n1"), H_T, "replica %c: selector team=x", 'A' + i);
        H_WAIT(selector_lists(i, "rack", "r1", NULL), H_T, "replica %c: selector rack=r1",
               'A' + i);
    }

    /*  Removing only, through B. */
    r = h_ok(B, "{s:s, s:s, s:[s]}", "op", "node.labels", "id", "n1", "remove", "team");
    rev = h_int(r->result, "node/reg_revision");
    h_reply_free(&r);
    static const char *const want2[] = { "zone", "b", NULL };
    for (int i = A; i <= C; i += 2) {
        H_WAIT(h_node_int(i, "n1", "reg_revision") == rev, H_T,
               "replica %c never saw the removal", 'A' + i);
        H_ASSERT(labels_are(i, "n1", want2), "replica %c: labels {zone: b}", 'A' + i);
    }

    /*  Labels set through node.labels survive a re-registration (through
        A), the registering node winning on a conflicting key. */
    r = h_ok(C, "{s:s, s:s, s:{s:s}}", "op", "node.labels", "id", "n1", "set", "team", "y");
    h_reply_free(&r);
    r = h_ok(A, "{s:s, s:{s:s, s:s, s:i, s:{s:s}}}", "op", "node.register", "node",
             "id", "n1", "host_ip", "10.1.2.3", "grpc_port", 9000, "labels", "zone", "c");
    rev = h_int(r->result, "node/reg_revision");
    h_reply_free(&r);
    static const char *const want3[] = { "team", "y", "zone", "c", NULL };
    for (int i = A; i <= C; i++) {
        H_WAIT(h_node_int(i, "n1", "reg_revision") == rev, H_T,
               "replica %c never saw the re-registration", 'A' + i);
        H_ASSERT(labels_are(i, "n1", want3), "replica %c: labels {team: y, zone: c}", 'A' + i);
    }
}
END_TEST

START_TEST(delete_on_a_gone_on_b_and_c)
{
    h_reply_t *r = reg(A, "n1", "a");
    h_reply_free(&r);
    r = reg(A, "n2", "a");
    h_reply_free(&r);
    for (int i = B; i <= C; i++)
        H_WAIT(h_list_is(i, "n1,n2"), H_T, "replica %c never listed n1,n2", 'A' + i);

    r = h_ok(A, "{s:s, s:s}", "op", "node.delete", "id", "n1");
    H_ASSERT(h_size(r->result, "") == 0, "node.delete: an empty result map");
    h_reply_free(&r);
    h_err(A, "not_found", "{s:s, s:s}", "op", "node.get", "id", "n1");
    H_ASSERT(h_list_is(A, "n2"), "A's list without n1");
    for (int i = B; i <= C; i++) {
        H_WAIT(gone(i, "n1"), H_T, "replica %c still has n1", 'A' + i);
        H_WAIT(h_list_is(i, "n2"), H_T, "replica %c still lists n1", 'A' + i);
        h_err(i, "not_found", "{s:s, s:s, s:b}", "op", "node.heartbeat", "id", "n1", "ready", 1);
        h_err(i, "not_found", "{s:s, s:s}", "op", "node.delete", "id", "n1");
    }

    /*  Registered again (through C) after the delete: back everywhere. */
    r = reg(C, "n1", "z");
    int64_t rev = h_int(r->result, "node/reg_revision");
    h_reply_free(&r);
    for (int i = A; i <= C; i++) {
        H_WAIT(h_node_int(i, "n1", "reg_revision") == rev, H_T,
               "replica %c never saw n1 registered again", 'A' + i);
        H_WAIT(h_list_is(i, "n1,n2"), H_T, "replica %c never listed n1 again", 'A' + i);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service_replication");
    h_tcase(s, "replication", setup, TIMEOUT_S, register_on_a_read_on_b_and_c,
            heartbeat_on_b_health_on_a, labels_on_c_seen_on_a_and_b, delete_on_a_gone_on_b_and_c,
            NULL);
    h_tcase(s, "health", setup_short_health, TIMEOUT_S, health_expires_everywhere, NULL);
    return h_run(s);
}
