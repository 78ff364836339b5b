/*  test_notices.c — the change notices of PROTOCOL.md, as a plain SUB
    socket sees them on a replica's publish endpoint: one notice per change
    committed through that replica, topic "node/<id>", body {replica, seq,
    kind, change, id, revision, view}, seq growing by exactly one. Changes
    made through another replica (and merged here) are not published again. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB "metactor_it_notices"
#define TIMEOUT_S 180

enum { A, B };

static void setup(void)
{
    h_setup(DB, 2, TIMEOUT_S);
    /*  No health flips during the test (they are not changes anyway). */
    h_set_args(A, "--health-timeout", "3600000", NULL);
    h_set_args(B, "--health-timeout", "3600000", NULL);
    h_start_all();
}

/*  What a change through A must produce. */
typedef struct {
    char id[32];
    bool deleted;
    int64_t revision;
    h_reply_t *reply;       /* upserts: the reply, whose view the notice repeats */
} expect_t;

#define MAX_EXPECT 64
static expect_t ex[MAX_EXPECT];
static int nex;

static void expect_upsert(h_reply_t *r, const char *rev_field)
{
    ck_assert_int_lt(nex, MAX_EXPECT);
    expect_t *e = &ex[nex++];
    char path[64];
    snprintf(path, sizeof path, "node/%s", rev_field);
    char *id = h_sdup(r->result, "node/id");
    snprintf(e->id, sizeof e->id, "%s", id);
    free(id);
    e->revision = h_int(r->result, path);
    e->reply = r;
}

static void expect_delete(const char *id)
{
    ck_assert_int_lt(nex, MAX_EXPECT);
    expect_t *e = &ex[nex++];
    snprintf(e->id, sizeof e->id, "%s", id);
    e->deleted = true;
}

static void free_expects(void)
{
    for (int k = 0; k < nex; k++)
        h_reply_free(&ex[k].reply);
    nex = 0;
}

static h_reply_t *reg(int i, const char *id, const char *zone)
{
    return h_ok(i, "{s:s, s:{s:s, s:s, s:i, s:{s:s}, s:{s:s}}}", "op", "node.register",
                "node", "id", id, "host_ip", "10.0.0.7", "grpc_port", 7000,
                "labels", "zone", zone, "versions", "cubelet", "2.0");
}

static h_reply_t *heartbeat(int i, const char *id, bool ready)
{
    return h_ok(i, "{s:s, s:s, s:b, s:[s]}", "op", "node.heartbeat", "id", id, "ready",
                ready, "images", "img");
}

/*  Checks one notice against PROTOCOL.md and the expected change. */
static void check_notice(const char *topic, const h_reply_t *n, const expect_t *e)
{
    const msgpack_object *b = n->top;
    char want_topic[64];
    snprintf(want_topic, sizeof want_topic, "node/%s", e->id);
    H_ASSERT(strcmp(topic, want_topic) == 0, "topic %s, expected %s", topic, want_topic);
    H_ASSERT(b->via.map.size == 7, "a notice body has 7 keys, not %u", b->via.map.size);
    H_ASSERT(h_is_str(b, "replica", "A"), "replica: \"A\"");
    H_ASSERT(h_get(b, "seq") && h_get(b, "seq")->type == MSGPACK_OBJECT_POSITIVE_INTEGER,
             "seq: an unsigned integer");
    H_ASSERT(h_is_str(b, "kind", "node"), "kind: \"node\"");
    H_ASSERT(h_is_str(b, "change", e->deleted ? "delete" : "upsert"), "change of %s: %s",
             e->id, e->deleted ? "delete" : "upsert");
    H_ASSERT(h_is_str(b, "id", e->id), "id: %s", e->id);
    H_ASSERT(h_is_int(h_get(b, "revision")), "revision: an integer");
    const msgpack_object *view = h_get(b, "view");
    H_ASSERT(view && view->type == MSGPACK_OBJECT_MAP, "view: a map");
    H_ASSERT(h_is_str(view, "id", e->id), "view.id: %s", e->id);
    if (e->deleted) {
        H_ASSERT(h_int(b, "revision") > 0, "a delete's revision");
        return;
    }
    H_ASSERT(h_int(b, "revision") == e->revision, "revision of %s: %lld, expected %lld", e->id,
             (long long) h_int(b, "revision"), (long long) e->revision);
    const msgpack_object *replied = h_get(e->reply->result, "node");
    if (!msgpack_object_equal(*view, *replied)) {
        fprintf(stderr, "notice view: ");
        msgpack_object_print(stderr, *view);
        fprintf(stderr, "\nreply view:  ");
        msgpack_object_print(stderr, *replied);
        fputc('\n', stderr);
    }
    H_ASSERT(msgpack_object_equal(*view, *replied),
             "the notice's view of %s is the view the write replied", e->id);
}

/*  Makes sure a subscription is in place (a SUB socket's subscription
    reaches the publisher some time after connect): registers "<name>-N"
    nodes through A until one's notice arrives. Returns its seq. */
static uint64_t warm_up(void *sub, const char *name)
{
    for (int k = 0; k < 200; k++) {
        char id[32];
        snprintf(id, sizeof id, "%s-%d", name, k);
        h_reply_t *r = reg(A, id, "w");
        h_reply_free(&r);
        char *topic = NULL;
        h_reply_t *n = h_sub_recv(sub, &topic, 250);
        if (n) {
            uint64_t seq = (uint64_t) h_int(n->top, "seq");
            free(topic);
            h_reply_free(&n);
            return seq;
        }
    }
    H_ASSERT(false, "no notice ever reached the subscriber");
    return 0;
}

START_TEST(every_change_through_a_in_seq_order)
{
    void *sub = h_sub(A, "node/");
    void *only_n1 = h_sub(A, "node/n1");
    warm_up(only_n1, "n1-warm");
    uint64_t seq = warm_up(sub, "warm");

    /*  The changes through A, interleaved with changes through B. */
    expect_upsert(reg(A, "n1", "a"), "reg_revision");
    expect_upsert(reg(A, "n2", "a"), "reg_revision");
    expect_upsert(heartbeat(A, "n1", true), "status_revision");
    h_reply_t *rb = reg(B, "m1", "b");                      /* B's own */
    h_reply_free(&rb);
    expect_upsert(h_ok(A, "{s:s, s:s, s:{s:s}, s:[s]}", "op", "node.labels", "id", "n2",
                       "set", "team", "x", "remove", "zone"), "reg_revision");
    /*  A change of B's to a node of A's, merged by A before A writes
        again: A must not publish it. */
    rb = heartbeat(B, "n2", true);
    int64_t b_rev = h_int(rb->result, "node/status_revision");
    h_reply_free(&rb);
    H_WAIT(h_node_int(A, "n2", "status_revision") == b_rev, H_T, "A never merged B's heartbeat");
    H_WAIT(h_node_int(A, "m1", "reg_revision") > 0, H_T, "A never saw m1");
    expect_upsert(reg(A, "n1", "b"), "reg_revision");        /* re-registration */
    h_reply_t *d = h_ok(A, "{s:s, s:s}", "op", "node.delete", "id", "n2");
    h_reply_free(&d);
    expect_delete("n2");
    expect_upsert(heartbeat(A, "n1", false), "status_revision");
    for (int k = 0; k < 20; k++)                              /* a burst */
        expect_upsert(heartbeat(A, "n1", k % 2 == 0), "status_revision");
    expect_upsert(reg(A, "n3", "c"), "reg_revision");

    /*  Every notice after the warm-up: seq + 1 each time; the warm-up's
        late ones first, then exactly the expected changes. */
    int got = 0;
    while (got < nex) {
        char *topic = NULL;
        h_reply_t *n = h_sub_recv(sub, &topic, H_T);
        H_ASSERT(n, "notice %d of %d never came (last seq %llu)", got + 1, nex,
                 (unsigned long long) seq);
        uint64_t s = (uint64_t) h_int(n->top, "seq");
        H_ASSERT(s == seq + 1, "seq %llu after %llu (lost, repeated or reordered)",
                 (unsigned long long) s, (unsigned long long) seq);
        seq = s;
        if (got == 0 && strstr(topic, "warm-")) {       /* the warm-up's late ones */
            free(topic);
            h_reply_free(&n);
            continue;
        }
        check_notice(topic, n, &ex[got]);
        got++;
        free(topic);
        h_reply_free(&n);
    }
    /*  Nothing else: a last change through A comes right next. */
    h_reply_t *last = reg(A, "n4", "z");
    h_reply_free(&last);
    char *topic = NULL;
    h_reply_t *n = h_sub_recv(sub, &topic, H_T);
    H_ASSERT(n && strcmp(topic, "node/n4") == 0 && (uint64_t) h_int(n->top, "seq") == seq + 1,
             "the next notice is n4's, seq %llu", (unsigned long long) seq + 1);
    free(topic);
    h_reply_free(&n);

    /*  The prefix subscriber saw n1's notices only, in the same order. */
    int k = 0;
    while (k < nex && strcmp(ex[k].id, "n1") != 0)
        k++;
    for (; k < nex; k++) {
        if (strcmp(ex[k].id, "n1") != 0)
            continue;
        h_reply_t *m;
        while ((m = h_sub_recv(only_n1, &topic, H_T)) && strstr(topic, "n1-warm-")) {
            free(topic);
            h_reply_free(&m);
        }
        H_ASSERT(m, "the node/n1 subscriber missed a notice");
        check_notice(topic, m, &ex[k]);
        free(topic);
        h_reply_free(&m);
    }
    free_expects();
}
END_TEST

/*  seq starts at 1 when the replica starts (and again after a restart). */
START_TEST(seq_starts_at_one)
{
    h_stop(B);
    h_start(B);
    h_wait_cluster();
    void *sub = h_sub(B, "");
    /*  The first change may reach the subscriber before the subscription
        does: rather than guess, count how many notices were published
        (replica.stats notices_sent) and check the seq of what arrives. */
    uint64_t seq = 0;
    for (int k = 0; k < 200 && !seq; k++) {
        char id[32];
        snprintf(id, sizeof id, "s-%d", k);
        h_reply_t *r = reg(B, id, "s");
        h_reply_free(&r);
        char *topic = NULL;
        h_reply_t *n = h_sub_recv(sub, &topic, 250);
        if (n) {
            seq = (uint64_t) h_int(n->top, "seq");
            H_ASSERT(seq == (uint64_t) k + 1, "the notice of change %d has seq %llu", k + 1,
                     (unsigned long long) seq);
            free(topic);
            h_reply_free(&n);
        }
    }
    H_ASSERT(seq, "no notice from B");
    h_reply_t *st = h_ok(B, "{s:s}", "op", "replica.stats");
    const msgpack_object *sent = h_get(st->result, "notices_sent");
    if (sent)
        H_ASSERT(h_int(st->result, "notices_sent") >= (int64_t) seq, "notices_sent counts them");
    h_reply_free(&st);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service_notices");
    h_tcase(s, "notices", setup, TIMEOUT_S, every_change_through_a_in_seq_order, seq_starts_at_one,
            NULL);
    return h_run(s);
}
