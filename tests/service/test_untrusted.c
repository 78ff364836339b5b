/*  test_untrusted.c — rows written behind the service's back (raw SQL into
    the shared database) are untrusted input on every replica:

    * a reload still brings every other row to every replica, and a replica
      that starts (loading everything) starts and serves;
    * each replica counts what it could not read (replica.stats
      rows_rejected);
    * a node whose stored labels cannot be read fails closed: listed with
      the label metactor.io/unreadable, never schedulable — also on a peer
      that learns it from a notice — while it stays healthy;
    * a status row that cannot be read is not taken; the node's next
      heartbeat rewrites it. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define DB "metactor_it_untrusted"
#define TIMEOUT_S 240

enum { A, B, C, N };

static void setup(void)
{
    h_setup(DB, N, TIMEOUT_S);
    h_start_all();
}

static void reg(int i, const char *id, const char *zone)
{
    h_reply_free(&(h_reply_t *) { h_ok(i, "{s:s, s:{s:s, s:s, s:{s:s}}}", "op", "node.register",
                                       "node", "id", id, "host_ip", "10.0.0.1",
                                       "labels", "zone", zone) });
}

static void beat(int i, const char *id)
{
    h_reply_free(&(h_reply_t *) { h_ok(i, "{s:s, s:s, s:b, s:[s]}", "op", "node.heartbeat",
                                       "id", id, "ready", 1, "images", "img:1") });
}

static uint64_t rows_rejected(int i)
{
    h_reply_t *r = h_ok(i, "{s:s}", "op", "replica.stats");
    uint64_t n = (uint64_t) h_int(r->result, "rows_rejected");
    h_reply_free(&r);
    return n;
}

/*  What replica i says of id: 's' schedulable, 'h' healthy only, 'u'
    unhealthy, '-' unknown; *marked: carries the unreadable label. */
static char state(int i, const char *id, bool *marked)
{
    h_reply_t *r = h_node_get(i, id);
    if (!r)
        return '-';
    h_check_view(h_get(r->result, "node"));
    if (marked) {
        /*  A key with '/' cannot be a path: look through the map. */
        const msgpack_object *labels = h_get(r->result, "node/labels");
        *marked = false;
        for (uint32_t k = 0; k < labels->via.map.size; k++)
            *marked = *marked
                   || (h_obj_is_str(&labels->via.map.ptr[k].key, "metactor.io/unreadable")
                       && h_obj_is_str(&labels->via.map.ptr[k].val, "labels"));
    }
    char s = h_bool(r->result, "node/schedulable") ? 's'
           : h_bool(r->result, "node/healthy") ? 'h' : 'u';
    h_reply_free(&r);
    return s;
}

static char *list_ids(int i, const char *filter)
{
    h_reply_t *r = filter ? h_ok(i, "{s:s, s:b}", "op", "node.list", filter, 1)
                          : h_ok(i, "{s:s}", "op", "node.list");
    char buf[512] = "";
    for (uint32_t k = 0; k < h_size(r->result, "nodes"); k++) {
        char p[32];
        snprintf(p, sizeof p, "nodes/%u/id", k);
        char *id = h_sdup(r->result, p);
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", k ? "," : "", id);
        free(id);
    }
    h_reply_free(&r);
    return strdup(buf);
}

static bool list_is(int i, const char *filter, const char *want)
{
    char *got = list_ids(i, filter);
    bool eq = strcmp(got, want) == 0;
    free(got);
    return eq;
}

START_TEST(bad_rows_never_stop_the_others)
{
    const char *ids[] = { "good1", "good2", "labels", "images" };
    for (int k = 0; k < 4; k++) {
        reg(k % N, ids[k], "a");
        beat(k % N, ids[k]);
    }
    for (int i = A; i < N; i++)
        H_WAIT(list_is(i, "schedulable_only", "good1,good2,images,labels"), H_T,
               "replica %c: every node schedulable", 'A' + i);
    /*  Behind the service's back, with new revisions (so that incremental
        reloads read them): labels of another shape, images of another
        shape. */
    h_db_exec("UPDATE node_registrations SET labels = '[\"zone\",\"a\"]',"
              " reg_revision = NEXTVAL(mt_revision) WHERE id = 'labels'");
    h_db_exec("UPDATE node_status SET images = '{\"img\":1}',"
              " status_revision = NEXTVAL(mt_revision) WHERE id = 'images'");
    for (int i = A; i < N; i++) {
        bool marked = false;
        H_WAIT(state(i, "labels", &marked) == 'h' && marked, H_T,
               "replica %c: the node with unreadable labels listed, healthy, not schedulable",
               'A' + i);
        H_WAIT(rows_rejected(i) >= 2, H_T, "replica %c counted the rows it rejected", 'A' + i);
        H_ASSERT(list_is(i, NULL, "good1,good2,images,labels"), "replica %c lists every node",
                 'A' + i);
        H_ASSERT(state(i, "good1", NULL) == 's' && state(i, "good2", NULL) == 's',
                 "replica %c: the others untouched", 'A' + i);
        H_ASSERT(list_is(i, "schedulable_only", "good1,good2,images"),
                 "replica %c: schedulable_only leaves it out", 'A' + i);
    }
    /*  Counted once per row version, not once per reload pass (the harness
        reloads every second, a full resync every tenth). */
    uint64_t before = rows_rejected(A);
    h_sleep_ms(2500);
    H_ASSERT(rows_rejected(A) == before, "rows_rejected grew from %llu to %llu without new rows",
             (unsigned long long) before, (unsigned long long) rows_rejected(A));

    /*  Heartbeats of the bad node through each replica: it stays healthy
        and fails closed everywhere — peers take the unreadable label from
        the notices like any other label. */
    for (int i = A; i < N; i++) {
        beat(i, "labels");
        for (int k = A; k < N; k++) {
            bool marked = false;
            H_ASSERT(state(k, "labels", &marked) != 's', "replica %c: schedulable after a "
                     "heartbeat through %c", 'A' + k, 'A' + i);
        }
    }
    /*  A labels write cannot merge into what it cannot read. */
    h_err(A, "internal", "{s:s, s:s, s:{s:s}}", "op", "node.labels", "id", "labels",
          "set", "x", "y");

    /*  A heartbeat rewrites the status row that could not be read. */
    beat(B, "images");
    char *text = h_db_query(0, "SELECT status_revision FROM node_status WHERE id = 'images'");
    int64_t rewritten = atoll(text);
    free(text);
    for (int i = A; i < N; i++)
        H_WAIT(h_node_int(i, "images", "status_revision") == rewritten, H_T,
               "replica %c: the rewritten status", 'A' + i);

    /*  A replica that starts loads every row, the bad one included. */
    h_stop(C);
    h_start(C);
    h_wait_cluster();
    H_ASSERT(list_is(C, NULL, "good1,good2,images,labels"), "C lists every node after a restart");
    bool marked = false;
    H_WAIT(state(C, "labels", &marked) == 'h' && marked, H_T, "C: fails closed after a restart");
    H_ASSERT(state(C, "good1", NULL) == 's', "C: good1 schedulable after a restart");
    H_ASSERT(rows_rejected(C) >= 1, "C counted the row again after its restart");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service_untrusted");
    h_tcase(s, "untrusted", setup, TIMEOUT_S, bad_rows_never_stop_the_others, NULL);
    return h_run(s);
}
