/*  test_informer.c — the client library's informer (transport/mt_informer.h)
    against real replicas: it lists, subscribes to every member and catches
    up; notices are dropped under it (a SUB high-water mark of 4 while it
    does not read, a resubscription during writes), replicas are killed
    (the one it asks, and publishers) and restarted; each time its cache
    ends equal to node.list (every id, with both revisions), and its
    callback saw every change it took.

    This program links the service's client library on purpose: the
    informer is what it tests. The replicas are still reached over the
    wire only. */
#include "harness.h"
#include "mt_err.h"
#include "mt_informer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB "metactor_it_informer"
#define TIMEOUT_S 400

enum { A, B, C };

typedef struct {
    uint64_t upserts, deletes, from_notice, from_changes, from_list;
} seen_t;

static void on_change(const mt_informer_change_t *ch, void *arg)
{
    seen_t *s = arg;
    if (ch->kind == MT_INFORMER_UPSERT) {
        ck_assert_ptr_nonnull(ch->view);
        s->upserts++;
    }
    else {
        ck_assert_ptr_null(ch->view);
        s->deletes++;
    }
    s->from_notice += ch->source == MT_INFORMER_FROM_NOTICE;
    s->from_changes += ch->source == MT_INFORMER_FROM_CHANGES;
    s->from_list += ch->source == MT_INFORMER_FROM_LIST;
}

static void setup(void)
{
    h_setup(DB, 3, TIMEOUT_S);
    h_start_all();
    h_wait_cluster();
}

static void reg(int i, const char *id)
{
    h_reply_t *r = h_ok(i, "{s:s, s:{s:s, s:s, s:{s:s}}}", "op", "node.register", "node",
                        "id", id, "host_ip", "10.0.0.1", "labels", "zone", "a");
    h_reply_free(&r);
}

static void beat(int i, const char *id, int n)
{
    char img[32];
    snprintf(img, sizeof img, "img-%d", n);
    h_reply_t *r = h_ok(i, "{s:s, s:s, s:b, s:[s]}", "op", "node.heartbeat", "id", id,
                        "ready", 1, "images", img);
    h_reply_free(&r);
}

static void del(int i, const char *id)
{
    h_reply_t *r = h_ok(i, "{s:s, s:s}", "op", "node.delete", "id", id);
    h_reply_free(&r);
}

static const char *nid(int k)
{
    static char buf[8][32];
    static int slot;
    char *b = buf[slot++ % 8];
    snprintf(b, 32, "inf-%04d", k);
    return b;
}

/*  The informer's cache is node.list of replica i: the same ids, each with
    the same reg_revision and status_revision. Polls the informer first. */
static bool cache_is_list(mt_informer_t *inf, int i)
{
    mt_informer_poll(inf, 100);
    h_reply_t *r = h_call(i, "{s:s}", "op", "node.list");
    if (!r || !r->ok) {
        h_reply_free(&r);
        return false;
    }
    const msgpack_object *nodes = h_get(r->result, "nodes");
    bool same = nodes->via.array.size == mt_informer_size(inf);
    for (uint32_t k = 0; same && k < nodes->via.array.size; k++) {
        const msgpack_object *v = &nodes->via.array.ptr[k];
        char *id = h_sdup(v, "id");
        int64_t reg = -1, st = -1;
        same = mt_informer_get(inf, id, &reg, &st, NULL, NULL)
               && reg == h_int(v, "reg_revision") && st == h_int(v, "status_revision");
        free(id);
    }
    h_reply_free(&r);
    return same;
}

static mt_informer_t *informer(int i, seen_t *seen)
{
    mt_informer_opts_t o = { .endpoint = h_replica(i)->endpoint, .timeout_ms = 2000,
                             .resync_ms = 2000, .sub_hwm = 4, .page = 40,
                             .changes_limit = 50, .on_change = on_change, .arg = seen };
    mt_informer_t *inf = mt_informer_new(&o);
    ck_assert_ptr_nonnull(inf);
    return inf;
}

START_TEST(lists_then_follows)
{
    for (int k = 0; k < 100; k++)
        reg(k % 3, nid(k));
    H_WAIT(h_lists_equal(A, B) && h_lists_equal(A, C), H_T,
           "the replicas agree");
    seen_t seen = { 0 };
    mt_informer_t *inf = informer(A, &seen);
    ck_assert_int_eq(mt_informer_start(inf, -1), MT_OK);
    H_ASSERT(mt_informer_size(inf) >= 100, "the list (paged by 40) fills the cache");
    H_ASSERT(seen.from_list >= 100, "each listed node is told");
    H_WAIT(cache_is_list(inf, A), H_T, "the cache is A's list");

    /*  Heartbeats, a registration and deletes, on every replica. */
    uint64_t before = seen.from_notice;
    for (int k = 0; k < 30; k++)
        beat(k % 3, nid(k), 1);
    reg(B, "inf-late");
    del(C, nid(99));
    del(A, nid(98));
    H_WAIT(cache_is_list(inf, B), H_T, "the cache follows every replica's changes");
    H_ASSERT(seen.from_notice > before, "by notices");
    H_ASSERT(!mt_informer_get(inf, nid(99), NULL, NULL, NULL, NULL), "deleted on C");
    H_ASSERT(mt_informer_get(inf, "inf-late", NULL, NULL, NULL, NULL), "registered on B");
    H_ASSERT(seen.deletes >= 2, "deletes told");
    mt_informer_destroy(&inf);
}
END_TEST

START_TEST(dropped_notices_are_caught_up)
{
    for (int k = 0; k < 60; k++)
        reg(k % 3, nid(k));
    seen_t seen = { 0 };
    mt_informer_t *inf = informer(B, &seen);
    ck_assert_int_eq(mt_informer_start(inf, -1), MT_OK);
    H_WAIT(cache_is_list(inf, B), H_T, "the cache is B's list");

    /*  A burst while the informer does not read: its SUB keeps 4 notices;
        whether libzmq drops some depends on what the publisher's queue and
        TCP buffers hold, so this only has to end equal. */
    for (int round = 0; round < 12; round++)
        for (int k = 0; k < 60; k++)
            beat(k % 3, nid(k), round);
    mt_informer_stats_t st;
    H_WAIT(cache_is_list(inf, A), H_T, "caught up after the burst");
    mt_informer_stats(inf, &st);
    fprintf(stderr, "burst: notices %llu gaps %llu catchups %llu\n",
            (unsigned long long) st.notices, (unsigned long long) st.gaps,
            (unsigned long long) st.catchups);

    /*  Notices published while it is not subscribed at all are lost: the
        publishers' next notices show the gap. */
    mt_informer_stats(inf, &st);
    uint64_t gaps = st.gaps;
    mt_informer_unsubscribe(inf);
    for (int k = 0; k < 20; k++)
        del(k % 3, nid(k));
    for (int k = 100; k < 120; k++)
        reg(k % 3, nid(k));
    ck_assert_int_eq(mt_informer_resubscribe(inf), MT_OK);
    int n = 0;
    H_WAIT((beat(n % 3, nid(30 + n % 30), 100 + n), n++, mt_informer_poll(inf, 100),
            mt_informer_stats(inf, &st), st.gaps >= gaps + 3), H_T,
           "each publisher's next notice shows the gap");
    H_WAIT(cache_is_list(inf, C), H_T, "caught up after the gap");
    H_ASSERT(!mt_informer_get(inf, nid(5), NULL, NULL, NULL, NULL), "deletes not missed");
    H_ASSERT(mt_informer_get(inf, nid(110), NULL, NULL, NULL, NULL), "nor registrations");
    mt_informer_destroy(&inf);
}
END_TEST

START_TEST(replicas_killed_under_it)
{
    for (int k = 0; k < 60; k++)
        reg(k % 3, nid(k));
    seen_t seen = { 0 };
    mt_informer_t *inf = informer(A, &seen);
    ck_assert_int_eq(mt_informer_start(inf, -1), MT_OK);
    H_WAIT(cache_is_list(inf, A), H_T, "the cache is A's list");

    /*  The replica it asks dies: requests move to another member. */
    h_kill(A);
    for (int k = 0; k < 30; k++)
        beat(B + k % 2, nid(k), 2);
    del(B, nid(40));
    reg(C, "inf-while-a-down");
    H_WAIT(cache_is_list(inf, B), H_T, "caught up with A dead");
    mt_informer_stats_t st;
    mt_informer_stats(inf, &st);
    H_ASSERT(st.failovers > 0, "requests moved off the dead replica");

    /*  A comes back (its seq restarts at 1) and C dies. */
    h_start(A);
    h_kill(C);
    for (int k = 0; k < 30; k++)
        beat(k % 2, nid(k), 3);
    del(A, nid(41));
    reg(A, "inf-after-restart");
    H_WAIT(cache_is_list(inf, A) && cache_is_list(inf, B), H_T,
           "caught up after a restart and a second death");
    h_start(C);
    h_wait_cluster();
    for (int k = 0; k < 10; k++)
        beat(C, nid(k), 4);
    H_WAIT(cache_is_list(inf, C), H_T, "and with every replica back");
    mt_informer_destroy(&inf);
}
END_TEST

START_TEST(since_a_revision)
{
    reg(A, "s1");
    h_reply_t *l = h_ok(A, "{s:s}", "op", "node.list");
    int64_t rev = h_int(l->result, "revision");
    h_reply_free(&l);
    /*  Only what changes above rev is told (and s1 if its revision was
        not yet covered by A's list). */
    reg(B, "s2");
    seen_t seen = { 0 };
    mt_informer_t *inf = informer(C, &seen);
    ck_assert_int_eq(mt_informer_start(inf, rev), MT_OK);
    H_WAIT((mt_informer_poll(inf, 100), mt_informer_get(inf, "s2", NULL, NULL, NULL, NULL)),
           H_T, "s2, registered after the revision, is told");
    H_ASSERT(seen.from_list == 0, "no list");
    mt_informer_destroy(&inf);
}
END_TEST

/*  Runs metactl with args (a shell command line after the binary) against
    replica i; its stdout (caller frees). */
static char *metactl(int i, const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s -e %s %s 2>/dev/null", getenv("METACTOR_TEST_METACTL"),
             h_replica(i)->endpoint, args);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    size_t cap = 1 << 16, n = 0;
    char *out = calloc(1, cap);
    size_t k;
    while ((k = fread(out + n, 1, cap - 1 - n, f)) > 0)
        n += k;
    out[n] = '\0';
    pclose(f);
    return out;
}

START_TEST(metactl_commands)
{
    h_reply_t *r = h_ok(A, "{s:s, s:{s:s, s:[{s:s, s:s}]}}", "op", "node.register", "node",
                        "id", "m1", "components", "component", "agent", "version", "1.2");
    h_reply_free(&r);
    reg(B, "m2");
    del(B, "m2");
    char *out = metactl(A, "node versions");
    H_ASSERT(strstr(out, "agent") && strstr(out, "1.2"), "the matrix: %s", out);
    free(out);
    out = metactl(A, "-o json node versions --selector zone=nowhere");
    H_ASSERT(strstr(out, "{\"components\":{}}"), "an empty matrix: %s", out);
    free(out);
    H_WAIT((out = metactl(B, "node changes --since 0"), strstr(out, "delete")
            && strstr(out, "m2") && strstr(out, "mark ")) || (free(out), false), H_T,
           "node changes shows the delete and the mark");
    free(out);
    out = metactl(C, "watch --since 0 -c 2 -t 20000");
    H_ASSERT(strstr(out, "change=upsert id=m1") && strstr(out, "change=delete id=m2")
             && strstr(out, "source=changes"), "watch --since: %s", out);
    free(out);
    out = metactl(C, "watch --informer -c 1 -t 20000");
    /*  (m2's delete may follow, from the catch-up: the list's revision is
        its replica's covered bound, which may lag behind the delete.) */
    H_ASSERT(strncmp(out, "change=upsert id=m1 ", 20) == 0 && strstr(out, "source=list"),
             "watch --informer lists first: %s", out);
    free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service_informer");
    h_tcase(s, "informer", setup, TIMEOUT_S, lists_then_follows,
            dropped_notices_are_caught_up, replicas_killed_under_it, since_a_revision, metactl_commands, NULL);
    return h_run(s);
}
