/*  test_rc.c — remote cluster references (PROTOCOL.md "Remote cluster
    references", DESIGN.md, seeds/couchbase-MB-25918) across real clusters:
    cluster A (replicas a0 a1 a2, database metactor_it_rc_a) holds the
    references; cluster B (b0 b1, metactor_it_rc_b) and cluster C (c0,
    metactor_it_rc_c) are the remote clusters, each on its own database of
    the fixture's server. Everything goes through the wire protocol.

    Intervals (every replica): --refresh-interval 1000 --reload-interval 1000
    --beat-interval 200 --alive-window 600.
      * refresh 1000 ms: the priority writer's step (replica i waits i × the
        interval) must be longer than the spread of the replicas' own
        evaluations of one event: their refresh ticks are in phase (they
        learn a reference within milliseconds of each other) but a probe of
        the dead hostname takes up to the prober's 1 s timeout, and a
        sanitizer build on a loaded 2-CPU machine adds scheduling delays of
        100s of ms. With 500 ms the step would be shorter than one probe of
        a dead endpoint. 1000 ms keeps a failover at a few seconds.
      * beat 200 / alive window 600: a SIGKILLed replica leaves its
        cluster's live list within ~0.6-0.8 s (B's cluster.info stops
        listing b0; A's priorities move up when a0 dies), three missed beats
        before a replica counts as dead.
      * reload 1000 ms: whatever a notice missed arrives within a second.
    One test uses an alive window of 8 s for cluster A so that a killed a0
    stays "alive" in A's live list throughout the event: a1 must then take
    over by waiting out its own turn, not by becoming priority 0.

    Cases (each on fresh databases and processes):
      crud_on_every_replica        add/get/list/set (plain, CAS, stale CAS)/
                                   rename/hostname/del, each through another
                                   replica of A, seen by all of A; a hostname of
                                   C refused (bad_request); names and uuids free
                                   again after a rename or a delete
      errors_store_nothing         unreachable → unavailable, duplicate name or
                                   uuid → conflict (also two at once on two
                                   replicas), two CAS of one revision at once,
                                   malformed fields → bad_request; nothing stored
      password_never_leaves        replies, raw notice bytes of every replica of
                                   A, every replica's log (debug level)
      passive_replicas_never_write refreshes everywhere, writes only where a user
                                   wrote
      priority_writer_one_write    b0 dies: one write, by a0; all of A on b1; no
                                   further write (no ping-pong)
      priority_writer_takeover     a0 dies first: one write, by a1
      priority_writer_takeover_while_listed
                                   the same while a0 still counts alive: a1
                                   waits its turn, then writes
      hostname_moved_to_another_cluster
                                   b0's endpoint answers for C: replaced by b1
      deleted_stays_deleted        delete while refreshes run: never back, a
                                   tombstone, no agent left (b0's death later
                                   writes nothing)
      delete_not_undone_by_a_reload
                                   40 deletes under a reload every 10 ms: once
                                   gone on a replica, never back there
      dead_remotes_do_not_starve_healthy_ones (TCase "many": a0 and nine
                                   one-replica clusters r0- .. r8-)
                                   the remotes sharing one prober with a
                                   healthy reference die: it still refreshes,
                                   promptly
    MT_TEST_ONLY=NAME[,NAME] runs only those (see tests/service/harness.h
    for the environment; ctest sets it).

    Nothing asserts speed; waits are "until X or timeout" (H_WAIT), except
    that a takeover must happen "within about one further interval", which
    is checked with a generous bound and the measured times printed. */
#include "harness.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define DB_A "metactor_it_rc_a"
#define DB_B "metactor_it_rc_b"
#define DB_C "metactor_it_rc_c"
#define TIMEOUT_S 300
#define REFRESH_MS 1000

/*  Global replica indexes (h_setup_clusters numbers them in order). */
enum { A0, A1, A2, B0, B1, C0, NREPLICAS };
enum { CL_A, CL_B, CL_C };

#define PASSWORD "Pw-7f3e9c51-never-shown"
#define PASSWORD2 "Pw-2-a81b44d0-never-shown"

static void args_for(int i, const char *alive_window, bool debug)
{
    if (debug)
        h_set_args(i, "--refresh-interval", "1000", "--reload-interval", "1000",
                   "--beat-interval", "200", "--alive-window", alive_window,
                   "--log-level", "debug", NULL);
    else
        h_set_args(i, "--refresh-interval", "1000", "--reload-interval", "1000",
                   "--beat-interval", "200", "--alive-window", alive_window, NULL);
}

static void setup(void)
{
    h_cluster_spec_t spec[] = {
        { DB_A, 3, "a" }, { DB_B, 2, "b" }, { DB_C, 1, "c" },
    };
    h_setup_clusters(spec, 3, TIMEOUT_S);
    ck_assert_int_eq(h_cluster_first(CL_B), B0);
    ck_assert_int_eq(h_cluster_first(CL_C), C0);
    for (int i = 0; i < NREPLICAS; i++)
        args_for(i, "600", false);
}

static void teardown(void)
{
    h_teardown();
}

static const char *ep(int i)
{
    return h_replica(i)->endpoint;
}

/* ---- helpers ---------------------------------------------------------- */

static int64_t stat_of(int i, const char *name)
{
    h_reply_t *r = h_ok(i, "{s:s}", "op", "replica.stats");
    H_ASSERT(h_has(r->result, name), "replica %s: replica.stats has no %s", h_replica(i)->id,
             name);
    int64_t v = h_int(r->result, name);
    h_reply_free(&r);
    return v;
}

/*  A stat summed over cluster A's running replicas. */
static int64_t sum_a(const char *name)
{
    int64_t s = 0;
    for (int i = A0; i <= A2; i++)
        if (h_running(i))
            s += stat_of(i, name);
    return s;
}

static void print_stats(const char *when)
{
    for (int i = A0; i <= A2; i++) {
        if (!h_running(i))
            continue;
        fprintf(stderr, "%s: %s store_rc_writes=%lld store_rc_conflicts=%lld "
                "rc_hostname_writes=%lld rc_hostname_cancelled=%lld rc_refreshes=%lld\n",
                when, h_replica(i)->id, (long long) stat_of(i, "store_rc_writes"),
                (long long) stat_of(i, "store_rc_conflicts"),
                (long long) stat_of(i, "rc_hostname_writes"),
                (long long) stat_of(i, "rc_hostname_cancelled"),
                (long long) stat_of(i, "rc_refreshes"));
    }
}

static char *cluster_uuid(int i)
{
    h_reply_t *r = h_ok(i, "{s:s}", "op", "cluster.info");
    char *u = h_sdup(r->result, "cluster_uuid");
    h_reply_free(&r);
    return u;
}

/*  Exactly the keys of PROTOCOL.md's reference view; never a password. */
static void check_view(const msgpack_object *v, const char *where)
{
    static const char *const keys[] = {
        "id", "name", "hostname", "uuid", "username", "demand_encryption", "node_list",
        "revision", "refreshed_at",
    };
    H_ASSERT(v && v->type == MSGPACK_OBJECT_MAP, "%s: the view is not a map", where);
    H_ASSERT(!h_has(v, "password"), "%s: the view has a password key", where);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        H_ASSERT(h_has(v, keys[k]), "%s: the view has no %s", where, keys[k]);
    H_ASSERT(v->via.map.size == sizeof keys / sizeof keys[0], "%s: the view has %u keys",
             where, v->via.map.size);
}

/*  rc.get by `key` (name, id, uuid) on replica i: the reply (caller frees),
    or NULL if not_found; fails on anything else. */
static h_reply_t *rc_get(int i, const char *key, const char *val)
{
    h_reply_t *r = h_call(i, "{s:s, s:s}", "op", "rc.get", key, val);
    H_ASSERT(r, "replica %s: no reply to rc.get %s=%s", h_replica(i)->id, key, val);
    if (!r->ok && strcmp(r->code, "not_found") == 0) {
        h_reply_free(&r);
        return NULL;
    }
    char msg[600];
    snprintf(msg, sizeof msg, "%s: %s", r->code, r->message);
    H_ASSERT(r->ok, "replica %s: rc.get %s=%s: %s", h_replica(i)->id, key, val, msg);
    check_view(h_get(r->result, "ref"), "rc.get");
    return r;
}

static bool found(int i, const char *name)
{
    h_reply_t *r = rc_get(i, "name", name);
    h_reply_free(&r);
    return r != NULL;
}

static bool gone_everywhere(const char *key, const char *val)
{
    for (int i = A0; i <= A2; i++) {
        if (!h_running(i))
            continue;
        h_reply_t *r = rc_get(i, key, val);
        bool there = r != NULL;
        h_reply_free(&r);
        if (there)
            return false;
    }
    return true;
}

/*  The string at ref/<field> of name's view on replica i equals want. */
static bool field_is(int i, const char *name, const char *field, const char *want)
{
    h_reply_t *r = rc_get(i, "name", name);
    char path[64];
    snprintf(path, sizeof path, "ref/%s", field);
    bool eq = r && h_is_str(r->result, path, want);
    h_reply_free(&r);
    return eq;
}

static int64_t rev_of(int i, const char *name)
{
    h_reply_t *r = rc_get(i, "name", name);
    int64_t v = r ? h_int(r->result, "ref/revision") : -1;
    h_reply_free(&r);
    return v;
}

/*  Every running replica of A holds `name` with this hostname. */
static bool all_host(const char *name, const char *host)
{
    for (int i = A0; i <= A2; i++)
        if (h_running(i) && !field_is(i, name, "hostname", host))
            return false;
    return true;
}

static bool all_rev(const char *name, int64_t rev)
{
    for (int i = A0; i <= A2; i++)
        if (h_running(i) && rev_of(i, name) != rev)
            return false;
    return true;
}

static bool node_list_has(int i, const char *name, const char *endpoint)
{
    h_reply_t *r = rc_get(i, "name", name);
    if (!r)
        return false;
    const msgpack_object *l = h_get(r->result, "ref/node_list");
    bool has = false;
    for (uint32_t k = 0; l && l->type == MSGPACK_OBJECT_ARRAY && k < l->via.array.size; k++)
        has |= h_obj_is_str(&l->via.array.ptr[k], endpoint);
    h_reply_free(&r);
    return has;
}

/*  Every running replica of A has refreshed `name` and lists both of B. */
static bool all_know_b(const char *name)
{
    for (int i = A0; i <= A2; i++)
        if (h_running(i) && !(node_list_has(i, name, ep(B0)) && node_list_has(i, name, ep(B1))))
            return false;
    return true;
}

static uint32_t list_size(int i)
{
    h_reply_t *r = h_ok(i, "{s:s}", "op", "rc.list");
    uint32_t n = h_size(r->result, "refs");
    for (uint32_t k = 0; k < n; k++) {
        char path[32];
        snprintf(path, sizeof path, "refs/%u", k);
        check_view(h_get(r->result, path), "rc.list");
    }
    h_reply_free(&r);
    return n;
}

static h_reply_t *rc_add(int i, const char *name, const char *host, const char *password)
{
    return h_ok(i, "{s:s, s:s, s:s, s:s, s:s}", "op", "rc.add", "name", name, "hostname", host,
                "username", "admin", "password", password);
}

/*  The reference `name` added on A0 to B through b0, known by all of A. */
static char *add_ref_to_b(const char *name)
{
    h_reply_t *r = rc_add(A0, name, ep(B0), PASSWORD);
    char *id = h_sdup(r->result, "ref/id");
    int64_t rev = h_int(r->result, "ref/revision");
    h_reply_free(&r);
    H_WAIT(all_rev(name, rev), H_T, "A's replicas never all learned %s", name);
    H_WAIT(all_know_b(name), H_T, "A's replicas never refreshed %s with both of B", name);
    return id;
}

static void sleep_intervals(int n)
{
    h_sleep_ms(n * REFRESH_MS);
}

/*  Packs a request body (a map format of h_pack) into sb. */
static void body(msgpack_sbuffer *sb, const char *fmt, ...)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    va_list ap;
    va_start(ap, fmt);
    h_vpack(&pk, fmt, &ap);
    va_end(ap);
}

static h_reply_t *recv_reply(void *s)
{
    zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
    H_ASSERT(zmq_poll(&it, 1, H_CALL_MS) == 1, "no reply");
    zmq_msg_t m;
    zmq_msg_init(&m);
    int more = 1;
    h_reply_t *r = NULL;
    while (more) {
        H_ASSERT(zmq_msg_recv(&m, s, 0) >= 0, "recv");
        more = zmq_msg_more(&m);
        if (!more)
            r = h_reply_parse(zmq_msg_data(&m), zmq_msg_size(&m));
    }
    zmq_msg_close(&m);
    H_ASSERT(r, "a reply that is not a map");
    return r;
}

/*  Sends two requests at once, b1 to replica i and b2 to replica k (each
    on a DEALER of its own), and returns both replies. */
static void at_once(int i, msgpack_sbuffer *b1, int k, msgpack_sbuffer *b2, h_reply_t **r1,
                    h_reply_t **r2)
{
    void *s1 = h_socket(ZMQ_DEALER), *s2 = h_socket(ZMQ_DEALER);
    H_ASSERT(zmq_connect(s1, ep(i)) == 0 && zmq_connect(s2, ep(k)) == 0, "connect");
    /*  Both connected before either is sent: a round trip each. */
    h_reply_t *w;
    msgpack_sbuffer ping;
    body(&ping, "{s:s}", "op", "cluster.info");
    void *socks[2] = { s1, s2 };
    for (int n = 0; n < 2; n++) {
        zmq_send(socks[n], "", 0, ZMQ_SNDMORE);
        zmq_send(socks[n], ping.data, ping.size, 0);
        w = recv_reply(socks[n]);
        h_reply_free(&w);
    }
    msgpack_sbuffer_destroy(&ping);
    zmq_send(s1, "", 0, ZMQ_SNDMORE);
    zmq_send(s2, "", 0, ZMQ_SNDMORE);
    zmq_send(s1, b1->data, b1->size, 0);
    zmq_send(s2, b2->data, b2->size, 0);
    *r1 = recv_reply(s1);
    *r2 = recv_reply(s2);
    h_close(&s1);
    h_close(&s2);
    msgpack_sbuffer_destroy(b1);
    msgpack_sbuffer_destroy(b2);
}

/*  Exactly one of two replies is ok, the other is `code`. */
static void one_wins(h_reply_t *r1, h_reply_t *r2, const char *code, const char *what)
{
    bool ok1 = r1->ok, ok2 = r2->ok;
    const h_reply_t *loser = ok1 ? r2 : r1;
    H_ASSERT(ok1 != ok2, "%s: %s and %s", what, ok1 ? "ok" : r1->code, ok2 ? "ok" : r2->code);
    H_ASSERT(strcmp(loser->code, code) == 0, "%s: the loser got %s (%s), expected %s", what,
             loser->code, loser->message, code);
}

/* ---- the password -------------------------------------------------------- */

static void no_password(const void *data, size_t n, const char *what)
{
    H_ASSERT(!memmem(data, n, PASSWORD, strlen(PASSWORD)), "the password appears in %s", what);
    H_ASSERT(!memmem(data, n, PASSWORD2, strlen(PASSWORD2)), "the second password appears in %s",
             what);
    /*  A distinctive part too, in case it is cut or quoted. */
    H_ASSERT(!memmem(data, n, "never-shown", 11), "a piece of a password appears in %s", what);
}

static h_reply_t *checked(h_reply_t *r, const char *what)
{
    H_ASSERT(r, "%s: no reply", what);
    no_password(r->data, r->size, what);
    return r;
}

static void check_free(h_reply_t *r, const char *what)
{
    checked(r, what);
    h_reply_free(&r);
}

/*  Reads every message waiting on SUB socket s within ms: scans each frame;
    returns how many "rc/" notices came. */
static int drain_notices(void *s, int ms, const char *what)
{
    int rc_notices = 0;
    int64_t deadline = h_now_ms() + ms;
    for (;;) {
        int64_t left = deadline - h_now_ms();
        zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
        if (left <= 0 || zmq_poll(&it, 1, (long) left) <= 0)
            break;
        int more = 1, frame = 0;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, s, 0) < 0) {
                zmq_msg_close(&m);
                break;
            }
            no_password(zmq_msg_data(&m), zmq_msg_size(&m), what);
            if (frame == 0 && zmq_msg_size(&m) >= 3 && memcmp(zmq_msg_data(&m), "rc/", 3) == 0)
                rc_notices++;
            frame++;
            more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
    }
    return rc_notices;
}

static void log_has_no_password(int i)
{
    const char *path = h_replica(i)->log;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    H_ASSERT(fd >= 0, "cannot open %s", path);
    struct stat st;
    H_ASSERT(fstat(fd, &st) == 0, "stat %s", path);
    size_t n = (size_t) st.st_size;
    char *buf = malloc(n + 1);
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k <= 0)
            break;
        got += (size_t) k;
    }
    close(fd);
    char what[600];
    snprintf(what, sizeof what, "the log of replica %s (%s)", h_replica(i)->id, path);
    no_password(buf, got, what);
    free(buf);
}

/* ---- cases ----------------------------------------------------------------- */

/*  add, get (name, id, uuid), list, set (plain, compare-and-set, stale),
    rename, hostname changes (another cluster refused, the same cluster
    taken), a second reference, a name and a uuid freed and taken again,
    delete: each through a different replica of A, seen by all of A. */
START_TEST(crud_on_every_replica)
{
    h_start_all();
    char *b_uuid = cluster_uuid(B0), *c_uuid = cluster_uuid(C0);
    H_ASSERT(strcmp(b_uuid, c_uuid) != 0, "B and C have the same uuid");
    void *sub = h_sub(A0, "rc/");
    h_sleep_ms(300);                /* the SUB connects */

    /*  add on a0 */
    h_reply_t *r = rc_add(A0, "to-b", ep(B0), PASSWORD);
    const msgpack_object *v = h_get(r->result, "ref");
    check_view(v, "rc.add");
    H_ASSERT(h_is_str(v, "name", "to-b"), "name");
    H_ASSERT(h_is_str(v, "hostname", ep(B0)), "hostname");
    H_ASSERT(h_is_str(v, "uuid", b_uuid), "uuid is B's");
    H_ASSERT(h_is_str(v, "username", "admin"), "username");
    H_ASSERT(!h_bool(v, "demand_encryption"), "demand_encryption defaults to false");
    H_ASSERT(h_int(v, "revision") > 0, "revision");
    H_ASSERT(h_int(v, "refreshed_at") > 0, "the add contacted B");
    H_ASSERT(h_size(v, "node_list") == 2, "node_list: both of B");
    char *id = h_sdup(v, "id");
    int64_t rev1 = h_int(v, "revision");
    h_reply_free(&r);

    /*  its notice, from a0 */
    char *topic = NULL;
    h_reply_t *n = h_sub_recv(sub, &topic, H_T);
    H_ASSERT(n, "no notice of the add");
    char want[64];
    snprintf(want, sizeof want, "rc/%s", id);
    H_ASSERT(strcmp(topic, want) == 0, "topic %s, expected %s", topic, want);
    H_ASSERT(h_is_str(n->top, "kind", "rc") && h_is_str(n->top, "change", "upsert")
             && h_is_str(n->top, "replica", "a0") && h_int(n->top, "revision") == rev1,
             "the add's notice");
    check_view(h_get(n->top, "view"), "notice");
    free(topic);
    h_reply_free(&n);

    /*  seen on a1 and a2, by name, id and uuid */
    H_WAIT(all_rev("to-b", rev1), H_T, "a1/a2 never learned the reference");
    for (int i = A0; i <= A2; i++) {
        h_reply_t *g = rc_get(i, "id", id);
        H_ASSERT(g && h_is_str(g->result, "ref/name", "to-b"), "by id on %s", h_replica(i)->id);
        h_reply_free(&g);
        g = rc_get(i, "uuid", b_uuid);
        H_ASSERT(g && h_is_str(g->result, "ref/id", id), "by uuid on %s", h_replica(i)->id);
        h_reply_free(&g);
        H_ASSERT(list_size(i) == 1, "rc.list on %s", h_replica(i)->id);
    }

    /*  set on a1 without a revision */
    r = h_ok(A1, "{s:s, s:s, s:s, s:b}", "op", "rc.set", "name", "to-b", "username", "ops",
             "demand_encryption", 1);
    int64_t rev2 = h_int(r->result, "ref/revision");
    H_ASSERT(rev2 > rev1, "set: the revision grows");
    H_ASSERT(h_is_str(r->result, "ref/username", "ops") && h_bool(r->result, "ref/demand_encryption"),
             "set: the new fields");
    H_ASSERT(h_is_str(r->result, "ref/hostname", ep(B0)), "set: the hostname kept");
    h_reply_free(&r);
    H_WAIT(all_rev("to-b", rev2), H_T, "the set never reached all of A");
    for (int i = A0; i <= A2; i++)
        H_ASSERT(field_is(i, "to-b", "username", "ops"), "username on %s", h_replica(i)->id);

    /*  compare-and-set on a2 with the current revision, then a stale one on a0 */
    r = h_ok(A2, "{s:s, s:s, s:s, s:I}", "op", "rc.set", "name", "to-b", "username", "ops2",
             "revision", rev2);
    int64_t rev3 = h_int(r->result, "ref/revision");
    H_ASSERT(rev3 > rev2, "CAS set: the revision grows");
    h_reply_free(&r);
    H_WAIT(all_rev("to-b", rev3), H_T, "the CAS set never reached all of A");
    h_err(A0, "conflict", "{s:s, s:s, s:s, s:I}", "op", "rc.set", "name", "to-b", "username",
          "stale", "revision", rev2);
    h_err(A1, "conflict", "{s:s, s:s, s:I}", "op", "rc.del", "name", "to-b", "revision", rev1);
    for (int i = A0; i <= A2; i++)
        H_ASSERT(field_is(i, "to-b", "username", "ops2") && rev_of(i, "to-b") == rev3,
                 "a refused compare-and-set changed %s", h_replica(i)->id);

    /*  rename on a0 */
    r = h_ok(A0, "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-b", "new_name", "to-b-renamed");
    int64_t rev4 = h_int(r->result, "ref/revision");
    H_ASSERT(h_is_str(r->result, "ref/id", id), "rename keeps the id");
    h_reply_free(&r);
    H_WAIT(all_rev("to-b-renamed", rev4), H_T, "the rename never reached all of A");
    H_WAIT(gone_everywhere("name", "to-b"), H_T, "the old name is still found");
    h_err(A1, "not_found", "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-b", "username", "x");

    /*  a hostname of another cluster (C) is refused; B's other replica is taken */
    h_err(A1, "bad_request", "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-b-renamed",
          "hostname", ep(C0));
    for (int i = A0; i <= A2; i++)
        H_ASSERT(field_is(i, "to-b-renamed", "hostname", ep(B0)) && rev_of(i, "to-b-renamed") == rev4,
                 "the refused set changed %s", h_replica(i)->id);
    r = h_ok(A2, "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-b-renamed", "hostname", ep(B1));
    int64_t rev5 = h_int(r->result, "ref/revision");
    H_ASSERT(h_is_str(r->result, "ref/hostname", ep(B1)) && rev5 > rev4, "hostname set");
    h_reply_free(&r);
    H_WAIT(all_host("to-b-renamed", ep(B1)) && all_rev("to-b-renamed", rev5), H_T,
           "the hostname never reached all of A");

    /*  a second reference (to C); renaming it onto the first's name is a conflict */
    r = rc_add(A1, "to-c", ep(C0), PASSWORD);
    char *c_id = h_sdup(r->result, "ref/id");
    H_ASSERT(h_is_str(r->result, "ref/uuid", c_uuid), "to-c: C's uuid");
    int64_t crev = h_int(r->result, "ref/revision");
    h_reply_free(&r);
    H_WAIT(all_rev("to-c", crev), H_T, "to-c never reached all of A");
    h_err(A2, "conflict", "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-c", "new_name",
          "to-b-renamed");
    for (int i = A0; i <= A2; i++)
        H_ASSERT(list_size(i) == 2, "two references on %s", h_replica(i)->id);

    /*  delete to-c by id; then the freed name "to-b" and C's freed uuid are taken again */
    r = h_ok(A0, "{s:s, s:s}", "op", "rc.del", "id", c_id);
    H_ASSERT(h_size(r->result, "") == 0, "rc.del: an empty result");
    h_reply_free(&r);
    H_WAIT(gone_everywhere("id", c_id), H_T, "to-c still found after its delete");
    r = rc_add(A2, "to-b", ep(C0), PASSWORD);
    H_ASSERT(!h_is_str(r->result, "ref/id", c_id) && !h_is_str(r->result, "ref/id", id),
             "a new reference has a new id");
    int64_t nrev = h_int(r->result, "ref/revision");
    h_reply_free(&r);
    H_WAIT(all_rev("to-b", nrev), H_T, "the new to-b never reached all of A");

    /*  delete on a2 (by name, with the current revision) */
    r = h_ok(A2, "{s:s, s:s, s:I}", "op", "rc.del", "name", "to-b-renamed", "revision", rev5);
    h_reply_free(&r);
    H_WAIT(gone_everywhere("name", "to-b-renamed") && gone_everywhere("id", id)
           && gone_everywhere("uuid", b_uuid), H_T, "to-b-renamed still found after its delete");
    for (int i = A0; i <= A2; i++) {
        H_ASSERT(list_size(i) == 1, "one reference left on %s", h_replica(i)->id);
        H_ASSERT(field_is(i, "to-b", "uuid", c_uuid), "to-b on %s", h_replica(i)->id);
        h_err(i, "not_found", "{s:s, s:s}", "op", "rc.del", "name", "to-b-renamed");
        h_err(i, "not_found", "{s:s, s:s, s:s}", "op", "rc.set", "id", id, "username", "x");
    }
    free(c_id);
    free(id);
    free(b_uuid);
    free(c_uuid);
}
END_TEST

/*  Failed adds and malformed requests: the right code, nothing stored. */
START_TEST(errors_store_nothing)
{
    h_start_all();
    char *id = add_ref_to_b("to-b");
    int64_t writes = sum_a("store_rc_writes");
    H_ASSERT(writes == 1, "one write so far, not %lld", (long long) writes);

    /*  an endpoint nobody listens on (the last port of the program's block) */
    char dead[64];
    snprintf(dead, sizeof dead, "tcp://127.0.0.1:%d", h_replica(A0)->port + 19);
    h_err(A1, "unavailable", "{s:s, s:s, s:s}", "op", "rc.add", "name", "nowhere", "hostname", dead);
    h_err(A1, "not_found", "{s:s, s:s}", "op", "rc.get", "name", "nowhere");
    h_err(A1, "unavailable", "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-b", "hostname", dead);

    /*  a name taken: on the replica that added it and on another */
    h_err(A0, "conflict", "{s:s, s:s, s:s}", "op", "rc.add", "name", "to-b", "hostname", ep(C0));
    h_err(A2, "conflict", "{s:s, s:s, s:s}", "op", "rc.add", "name", "to-b", "hostname", ep(C0));
    /*  B referenced again, through its other replica */
    h_err(A1, "conflict", "{s:s, s:s, s:s}", "op", "rc.add", "name", "b-again", "hostname", ep(B1));
    h_err(A1, "not_found", "{s:s, s:s}", "op", "rc.get", "name", "b-again");

    /*  two adds of one name at once, on a1 and a2: one wins, the other is a conflict;
        the same for two names for C's uuid, and two compare-and-sets of one revision */
    msgpack_sbuffer b1, b2;
    h_reply_t *r1, *r2;
    body(&b1, "{s:s, s:s, s:s}", "op", "rc.add", "name", "dup", "hostname", ep(C0));
    body(&b2, "{s:s, s:s, s:s}", "op", "rc.add", "name", "dup", "hostname", ep(C0));
    at_once(A1, &b1, A2, &b2, &r1, &r2);
    one_wins(r1, r2, "conflict", "two adds of one name");
    h_reply_free(&r1);
    h_reply_free(&r2);
    h_reply_t *d = h_ok(A0, "{s:s, s:s}", "op", "rc.del", "name", "dup");
    h_reply_free(&d);
    H_WAIT(gone_everywhere("name", "dup"), H_T, "dup is still found after its delete");
    body(&b1, "{s:s, s:s, s:s}", "op", "rc.add", "name", "c-one", "hostname", ep(C0));
    body(&b2, "{s:s, s:s, s:s}", "op", "rc.add", "name", "c-two", "hostname", ep(C0));
    at_once(A2, &b1, A0, &b2, &r1, &r2);
    one_wins(r1, r2, "conflict", "two adds of one uuid");
    const char *winner = r1->ok ? "c-one" : "c-two", *loser = r1->ok ? "c-two" : "c-one";
    h_reply_free(&r1);
    h_reply_free(&r2);
    H_WAIT(gone_everywhere("name", loser), H_T, "the losing add is found");
    int64_t crev = rev_of(A0, winner);
    for (int i = A0; i <= A2; i++)
        H_WAIT(rev_of(i, winner) == crev, H_T, "%s on %s", winner, h_replica(i)->id);
    body(&b1, "{s:s, s:s, s:s, s:I}", "op", "rc.set", "name", winner, "username", "one",
         "revision", crev);
    body(&b2, "{s:s, s:s, s:s, s:I}", "op", "rc.set", "name", winner, "username", "two",
         "revision", crev);
    at_once(A0, &b1, A1, &b2, &r1, &r2);
    one_wins(r1, r2, "conflict", "two compare-and-sets of one revision");
    const char *user = r1->ok ? "one" : "two";
    h_reply_free(&r1);
    h_reply_free(&r2);
    for (int i = A0; i <= A2; i++)
        H_WAIT(field_is(i, winner, "username", user), H_T, "the winning set on %s",
               h_replica(i)->id);
    d = h_ok(A1, "{s:s, s:s}", "op", "rc.del", "name", winner);
    h_reply_free(&d);
    H_WAIT(gone_everywhere("name", winner), H_T, "%s is still found after its delete", winner);
    writes = sum_a("store_rc_writes");

    /*  malformed fields */
    static const char *const bad_hosts[] = {
        "http://127.0.0.1:1", "tcp://127.0.0.1", "tcp://:7000", "tcp://127.0.0.1:0",
        "tcp://127.0.0.1:70000", "tcp://a b:1", "", "ipc://",
    };
    for (size_t k = 0; k < sizeof bad_hosts / sizeof bad_hosts[0]; k++) {
        h_err(A0, "bad_request", "{s:s, s:s, s:s}", "op", "rc.add", "name", "x", "hostname",
              bad_hosts[k]);
        h_err(A0, "bad_request", "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-b", "hostname",
              bad_hosts[k]);
    }
    char long_name[300], long_user[300];
    memset(long_name, 'n', 256);
    long_name[256] = '\0';
    memset(long_user, 'u', 256);
    long_user[256] = '\0';
    h_err(A0, "bad_request", "{s:s, s:s}", "op", "rc.add", "hostname", ep(C0));
    h_err(A0, "bad_request", "{s:s, s:s}", "op", "rc.add", "name", "x");
    h_err(A0, "bad_request", "{s:s, s:s, s:s}", "op", "rc.add", "name", "", "hostname", ep(C0));
    h_err(A0, "bad_request", "{s:s, s:s, s:s}", "op", "rc.add", "name", long_name, "hostname", ep(C0));
    h_err(A0, "bad_request", "{s:s, s:s, s:s}", "op", "rc.add", "name", "a\tb", "hostname", ep(C0));
    h_err(A0, "bad_request", "{s:s, s:i, s:s}", "op", "rc.add", "name", 7, "hostname", ep(C0));
    h_err(A0, "bad_request", "{s:s, s:s, s:i}", "op", "rc.add", "name", "x", "hostname", 7);
    h_err(A0, "bad_request", "{s:s, s:s, s:s, s:s}", "op", "rc.add", "name", "x", "hostname", ep(C0),
          "username", long_user);
    h_err(A0, "bad_request", "{s:s, s:s, s:s, s:i}", "op", "rc.add", "name", "x", "hostname", ep(C0),
          "password", 5);
    h_err(A0, "bad_request", "{s:s, s:s, s:s, s:s}", "op", "rc.add", "name", "x", "hostname", ep(C0),
          "demand_encryption", "yes");
    h_err(A1, "bad_request", "{s:s, s:s}", "op", "rc.set", "name", "to-b");
    h_err(A1, "bad_request", "{s:s, s:s}", "op", "rc.set", "username", "x");
    h_err(A1, "bad_request", "{s:s, s:s, s:s, s:i}", "op", "rc.set", "name", "to-b", "username",
          "x", "revision", 0);
    h_err(A1, "bad_request", "{s:s, s:s, s:s, s:i}", "op", "rc.set", "name", "to-b", "username",
          "x", "revision", -3);
    h_err(A1, "bad_request", "{s:s, s:s, s:s, s:s}", "op", "rc.set", "name", "to-b", "username",
          "x", "revision", "1");
    h_err(A1, "bad_request", "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-b", "new_name", "");
    h_err(A1, "bad_request", "{s:s, s:s, s:s}", "op", "rc.set", "id", "not an id!", "username", "x");
    h_err(A2, "bad_request", "{s:s}", "op", "rc.get");
    h_err(A2, "bad_request", "{s:s, s:s}", "op", "rc.get", "uuid", "not a uuid!");
    h_err(A2, "bad_request", "{s:s, s:s, s:s}", "op", "rc.get", "name", "to-b", "refresh", "yes");
    h_err(A2, "bad_request", "{s:s}", "op", "rc.del");
    h_err(A2, "bad_request", "{s:s, s:i}", "op", "rc.del", "name", 3);
    h_err(A2, "not_found", "{s:s, s:s}", "op", "rc.get", "uuid", "00000000-0000-0000-0000-000000000000");

    /*  nothing of it was stored or changed */
    sleep_intervals(2);
    for (int i = A0; i <= A2; i++) {
        H_ASSERT(list_size(i) == 1, "still one reference on %s", h_replica(i)->id);
        H_ASSERT(field_is(i, "to-b", "hostname", ep(B0)) && field_is(i, "to-b", "username", "admin"),
                 "to-b unchanged on %s", h_replica(i)->id);
    }
    H_ASSERT(sum_a("store_rc_writes") == writes, "a failed request wrote");
    /*  to-b, and the tombstones of dup and of the uuid race's winner */
    char *rows = h_db_query(CL_A, "SELECT CONCAT(SUM(deleted = 0), ' ', SUM(deleted = 1))"
                            " FROM rc_refs");
    H_ASSERT(rows && strcmp(rows, "1 2") == 0, "rc_refs: '%s' live and deleted rows, "
             "expected '1 2'", rows ? rows : "no");
    free(rows);
    /*  "nowhere" is free: the failed add left no trace of its name */
    h_reply_t *r = rc_add(A1, "nowhere", ep(C0), PASSWORD);
    h_reply_free(&r);
    free(id);
}
END_TEST

/*  The password is stored, and never appears in a reply, a notice or a
    log (at debug level) of any replica. */
START_TEST(password_never_leaves)
{
    for (int i = 0; i < NREPLICAS; i++)
        args_for(i, "600", true);
    h_start_all();
    void *subs[3];
    for (int i = A0; i <= A2; i++)
        subs[i] = h_sub(i, "");
    h_sleep_ms(500);                /* the SUBs connect */

    h_reply_t *r = checked(h_call(A0, "{s:s, s:s, s:s, s:s, s:s}", "op", "rc.add", "name", "to-b",
                                  "hostname", ep(B0), "username", "admin", "password", PASSWORD),
                           "rc.add's reply");
    H_ASSERT(r->ok, "rc.add: %s %s", r->code, r->message);
    int64_t rev = h_int(r->result, "ref/revision");
    h_reply_free(&r);
    H_WAIT(all_rev("to-b", rev), H_T, "A never learned to-b");
    /*  every kind of reply that may carry the reference, on every replica */
    for (int i = A0; i <= A2; i++) {
        check_free(h_call(i, "{s:s, s:s}", "op", "rc.get", "name", "to-b"), "rc.get's reply");
        r = checked(h_call(i, "{s:s, s:s, s:b}", "op", "rc.get", "name", "to-b", "refresh", 1),
                    "rc.get refresh's reply");
        H_ASSERT(r->ok, "rc.get refresh: %s %s", r->code, r->message);
        h_reply_free(&r);
        check_free(h_call(i, "{s:s}", "op", "rc.list"), "rc.list's reply");
        /*  failures that might echo the request */
        check_free(h_call(i, "{s:s, s:s, s:s, s:s}", "op", "rc.add", "name", "to-b", "hostname",
                          ep(C0), "password", PASSWORD), "a conflict's reply");
        check_free(h_call(i, "{s:s, s:s, s:s, s:s}", "op", "rc.add", "name", "to-b2", "hostname",
                          "http://nowhere", "password", PASSWORD), "a bad request's reply");
        r = checked(h_call(i, "{s:s, s:s, s:s, s:I}", "op", "rc.set", "name", "to-b", "password",
                           PASSWORD2, "revision", rev + 1000), "a refused CAS's reply");
        H_ASSERT(!r->ok && strcmp(r->code, "conflict") == 0, "a stale CAS: %s", r->code);
        h_reply_free(&r);
    }
    /*  a password change on a1, another change on a2: each publishes */
    r = checked(h_call(A1, "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-b", "password", PASSWORD2),
                "rc.set password's reply");
    H_ASSERT(r->ok, "rc.set password: %s %s", r->code, r->message);
    h_reply_free(&r);
    r = checked(h_call(A2, "{s:s, s:s, s:s, s:s}", "op", "rc.set", "name", "to-b", "username", "ops",
                       "hostname", ep(B1)), "rc.set's reply");
    H_ASSERT(r->ok, "rc.set: %s %s", r->code, r->message);
    rev = h_int(r->result, "ref/revision");
    h_reply_free(&r);
    H_WAIT(all_rev("to-b", rev), H_T, "A never learned the sets");

    /*  stored: the latest password */
    char *pw = h_db_query(CL_A, "SELECT password FROM rc_refs WHERE name = 'to-b'");
    H_ASSERT(pw && strcmp(pw, PASSWORD2) == 0, "the stored password is '%s'", pw ? pw : "(none)");
    free(pw);

    int got[3];
    for (int i = A0; i <= A2; i++) {
        char what[64];
        snprintf(what, sizeof what, "a notice of replica %s", h_replica(i)->id);
        got[i] = drain_notices(subs[i], 1000, what);
    }
    H_ASSERT(got[A0] >= 1 && got[A1] >= 1 && got[A2] >= 1,
             "each replica published its change (rc notices: %d %d %d)", got[A0], got[A1], got[A2]);
    /*  a delete, and its notices */
    r = checked(h_call(A0, "{s:s, s:s}", "op", "rc.del", "name", "to-b"), "rc.del's reply");
    H_ASSERT(r->ok, "rc.del: %s %s", r->code, r->message);
    h_reply_free(&r);
    H_ASSERT(drain_notices(subs[A0], 1000, "the delete's notice") == 1, "the delete's notice");
    for (int i = 0; i < NREPLICAS; i++)
        log_has_no_password(i);
}
END_TEST

/*  Passive replicas refresh but never write. */
START_TEST(passive_replicas_never_write)
{
    h_start_all();
    char *id = add_ref_to_b("to-b");
    int64_t rev = rev_of(A0, "to-b");
    int64_t refreshes[3], refreshed_at[3];
    for (int i = A0; i <= A2; i++) {
        refreshes[i] = stat_of(i, "rc_refreshes");
        h_reply_t *g = rc_get(i, "name", "to-b");
        refreshed_at[i] = h_int(g->result, "ref/refreshed_at");
        h_reply_free(&g);
    }
    sleep_intervals(5);
    print_stats("after 5 intervals");
    for (int i = A0; i <= A2; i++) {
        H_ASSERT(stat_of(i, "store_rc_writes") == (i == A0 ? 1 : 0),
                 "replica %s wrote (store_rc_writes %lld)", h_replica(i)->id,
                 (long long) stat_of(i, "store_rc_writes"));
        H_ASSERT(stat_of(i, "rc_hostname_writes") == 0, "a hostname write on %s", h_replica(i)->id);
        H_ASSERT(stat_of(i, "store_rc_conflicts") == 0, "a refused write on %s", h_replica(i)->id);
        H_ASSERT(stat_of(i, "rc_refreshes") >= refreshes[i] + 3, "replica %s refreshed %lld times",
                 h_replica(i)->id, (long long) (stat_of(i, "rc_refreshes") - refreshes[i]));
        h_reply_t *g = rc_get(i, "name", "to-b");
        H_ASSERT(h_int(g->result, "ref/refreshed_at") > refreshed_at[i],
                 "refreshed_at did not move on %s", h_replica(i)->id);
        H_ASSERT(h_int(g->result, "ref/revision") == rev, "the revision moved on %s",
                 h_replica(i)->id);
        h_reply_free(&g);
    }
    /*  a read with refresh on a passive replica writes nothing either */
    for (int i = A1; i <= A2; i++) {
        h_reply_t *g = h_ok(i, "{s:s, s:s, s:b}", "op", "rc.get", "name", "to-b", "refresh", 1);
        H_ASSERT(h_size(g->result, "ref/node_list") == 2, "refresh: both of B");
        h_reply_free(&g);
    }
    /*  a user write on a1 is a1's, and only a1's */
    h_reply_t *r = h_ok(A1, "{s:s, s:s, s:s}", "op", "rc.set", "id", id, "username", "ops");
    rev = h_int(r->result, "ref/revision");
    h_reply_free(&r);
    H_WAIT(all_rev("to-b", rev), H_T, "A never learned the set");
    sleep_intervals(3);
    H_ASSERT(stat_of(A0, "store_rc_writes") == 1 && stat_of(A1, "store_rc_writes") == 1
             && stat_of(A2, "store_rc_writes") == 0, "writes after a1's set: a0 1, a1 1, a2 0");
    free(id);
}
END_TEST

/*  The event: b0, the reference's hostname, dies. Checks exactly one
    write of the new hostname, by replica `writer`; all of A converge on
    b1; nothing more is written afterwards. `kill_first`: SIGKILLed just
    before b0. Returns the time from b0's death to convergence (ms). */
static int64_t hostname_event(int writer, int kill_first)
{
    char *id = add_ref_to_b("to-b");
    int64_t rev0 = rev_of(A0, "to-b");
    if (kill_first >= 0)
        h_kill(kill_first);
    int64_t writes0 = sum_a("store_rc_writes"), hw0 = sum_a("rc_hostname_writes");
    int64_t conflicts0 = sum_a("store_rc_conflicts");
    int64_t mine0 = stat_of(writer, "store_rc_writes");
    print_stats("before the event");

    int64_t t0 = h_now_ms();
    h_kill(B0);
    H_WAIT(all_host("to-b", ep(B1)), H_T, "A's replicas never all moved to b1");
    int64_t took = h_now_ms() - t0;
    fprintf(stderr, "b0 killed: all of A hold b1 after %lld ms\n", (long long) took);
    print_stats("converged");
    H_ASSERT(sum_a("rc_hostname_writes") == hw0 + 1, "%lld hostname writes, expected 1",
             (long long) (sum_a("rc_hostname_writes") - hw0));
    H_ASSERT(stat_of(writer, "rc_hostname_writes") == 1, "the write was not %s's",
             h_replica(writer)->id);

    /*  several more intervals: the lowest priority waits 2, so 5 covers it */
    sleep_intervals(5);
    print_stats("5 intervals later");
    H_ASSERT(sum_a("store_rc_writes") == writes0 + 1, "%lld database writes, expected exactly 1",
             (long long) (sum_a("store_rc_writes") - writes0));
    H_ASSERT(sum_a("rc_hostname_writes") == hw0 + 1, "%lld hostname writes, expected 1",
             (long long) (sum_a("rc_hostname_writes") - hw0));
    H_ASSERT(stat_of(writer, "store_rc_writes") == mine0 + 1, "the write was not %s's",
             h_replica(writer)->id);
    H_ASSERT(sum_a("store_rc_conflicts") == conflicts0,
             "%lld refused compare-and-sets: a second writer tried",
             (long long) (sum_a("store_rc_conflicts") - conflicts0));
    int64_t rev1 = rev_of(writer, "to-b");
    H_ASSERT(rev1 > rev0, "the revision grew");
    H_ASSERT(all_host("to-b", ep(B1)) && all_rev("to-b", rev1), "A still agrees on b1");
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT CONCAT(hostname, ' ', revision) FROM rc_refs WHERE id = '%s'",
             id);
    char *row = h_db_query(CL_A, sql);
    char want[128];
    snprintf(want, sizeof want, "%s %lld", ep(B1), (long long) rev1);
    H_ASSERT(row && strcmp(row, want) == 0, "stored: '%s', expected '%s'", row ? row : "(none)",
             want);
    free(row);
    free(id);
    return took;
}

/*  a0 (priority 0: the lowest replica id) writes; a1 and a2 cancel. */
START_TEST(priority_writer_one_write)
{
    h_start_all();
    hostname_event(A0, -1);
    for (int i = A1; i <= A2; i++)
        H_ASSERT(stat_of(i, "store_rc_writes") == 0, "%s wrote", h_replica(i)->id);
}
END_TEST

/*  a0 is SIGKILLed just before b0: a1 writes, once; a2 never. */
START_TEST(priority_writer_takeover)
{
    h_start_all();
    int64_t took = hostname_event(A1, A0);
    H_ASSERT(stat_of(A2, "store_rc_writes") == 0, "a2 wrote");
    /*  Normal failover: a refresh tick (≤ 1 interval), the dead hostname's
        probe (≤ 1 s), then a1's turn (≤ 1 interval): about 3 intervals;
        a generous bound, for loaded sanitizer builds. */
    H_ASSERT(took < 12 * REFRESH_MS, "the takeover took %lld ms", (long long) took);
}
END_TEST

/*  The same with a0 still counted alive by A (alive window 8 s) for the
    whole event: a1 keeps priority 1, waits its interval, hears nothing,
    writes. */
START_TEST(priority_writer_takeover_while_listed)
{
    for (int i = A0; i <= A2; i++)
        args_for(i, "8000", false);
    h_start_all();
    int64_t took = hostname_event(A1, A0);
    H_ASSERT(stat_of(A2, "store_rc_writes") == 0, "a2 wrote");
    H_ASSERT(took < 8000, "the takeover took %lld ms: after a0 left the live list?",
             (long long) took);
    /*  a0 is still listed alive by a1 (the window is 8 s) */
    h_reply_t *info = h_ok(A1, "{s:s}", "op", "cluster.info");
    fprintf(stderr, "a1's cluster.info members: %u\n", h_size(info->result, "members"));
    h_reply_free(&info);
}
END_TEST

/*  b0's endpoint now answers for another cluster: b0 restarted on C's
    database (same endpoint, C's uuid). The seed's case "a hostname moved out
    of the cluster": the stored hostname is no longer a member of B, so it
    must be replaced by b1, once. */
START_TEST(hostname_moved_to_another_cluster)
{
    h_start_all();
    char *id = add_ref_to_b("to-b");
    int64_t writes0 = sum_a("store_rc_writes");
    h_kill(B0);
    h_set_args(B0, "--refresh-interval", "1000", "--reload-interval", "1000", "--beat-interval",
               "200", "--alive-window", "600", "--db", h_cluster_dsn(CL_C), NULL);
    h_start(B0);
    char *u = cluster_uuid(B0), *c_uuid = cluster_uuid(C0);
    H_ASSERT(strcmp(u, c_uuid) == 0, "b0 now answers for C");
    free(u);
    free(c_uuid);
    int64_t t0 = h_now_ms();
    int64_t deadline = t0 + 15 * REFRESH_MS;
    while (!all_host("to-b", ep(B1)) && h_now_ms() < deadline)
        h_sleep_ms(100);
    if (!all_host("to-b", ep(B1))) {
        /*  What a refresh says now, for the report. */
        h_reply_t *r = h_call(A0, "{s:s, s:s, s:b}", "op", "rc.get", "name", "to-b", "refresh", 1);
        char got[700];
        snprintf(got, sizeof got, "%s", !r ? "no reply" : r->ok ? "ok" : r->code);
        if (r && !r->ok)
            snprintf(got + strlen(got), sizeof got - strlen(got), ": %s", r->message);
        h_reply_free(&r);
        print_stats("not converged");
        H_ASSERT(false, "after %d intervals A still holds b0's endpoint (now a replica of C) as "
                 "to-b's hostname; rc.get refresh on a0: %s", 15, got);
    }
    fprintf(stderr, "b0 moved to C: all of A hold b1 after %lld ms\n", (long long) (h_now_ms() - t0));
    sleep_intervals(5);
    print_stats("5 intervals later");
    H_ASSERT(sum_a("store_rc_writes") == writes0 + 1 && sum_a("rc_hostname_writes") == 1,
             "exactly one write");
    free(id);
}
END_TEST

/*  A delete made while refreshes run stays a delete: never seen again on
    any replica, a tombstone in the table, no agent left refreshing or
    writing (not even when b0 dies afterwards). */
START_TEST(deleted_stays_deleted)
{
    h_start_all();
    char *id = add_ref_to_b("to-b");
    char *uuid = cluster_uuid(B0);
    int64_t ref0[3];
    for (int i = A0; i <= A2; i++)
        ref0[i] = stat_of(i, "rc_refreshes");
    for (int i = A0; i <= A2; i++)
        H_WAIT(stat_of(i, "rc_refreshes") >= ref0[i] + 2, H_T, "%s does not refresh",
               h_replica(i)->id);
    h_reply_t *r = h_ok(A1, "{s:s, s:s}", "op", "rc.del", "name", "to-b");
    h_reply_free(&r);
    H_WAIT(gone_everywhere("name", "to-b"), H_T, "to-b still found after its delete");
    int64_t writes = sum_a("store_rc_writes");
    H_ASSERT(writes == 2, "add and delete: 2 writes, not %lld", (long long) writes);

    /*  never back, on any replica, for several intervals */
    int64_t until = h_now_ms() + 5 * REFRESH_MS;
    int polls = 0;
    while (h_now_ms() < until) {
        for (int i = A0; i <= A2; i++) {
            H_ASSERT(list_size(i) == 0, "to-b is back in %s's rc.list after %d polls",
                     h_replica(i)->id, polls);
            H_ASSERT(!found(i, "to-b"), "to-b is back on %s after %d polls", h_replica(i)->id,
                     polls);
        }
        polls++;
        h_sleep_ms(50);
    }
    for (int i = A0; i <= A2; i++) {
        H_ASSERT(gone_everywhere("id", id) && gone_everywhere("uuid", uuid), "found by id or uuid");
        h_err(i, "not_found", "{s:s, s:s, s:b}", "op", "rc.get", "name", "to-b", "refresh", 1);
    }
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT CONCAT(deleted, ' [', password, ']') FROM rc_refs WHERE id = '%s'", id);
    char *row = h_db_query(CL_A, sql);
    H_ASSERT(row && strcmp(row, "1 []") == 0, "the row is '%s', not a tombstone with no password",
             row ? row : "(none)");
    free(row);
    row = h_db_query(CL_A, "SELECT COUNT(*) FROM rc_refs");
    H_ASSERT(row && strcmp(row, "1") == 0, "rc_refs has %s rows", row ? row : "no");
    free(row);

    /*  no agent is left: refreshes stop, and b0's death writes nothing */
    int64_t ref1[3];
    for (int i = A0; i <= A2; i++)
        ref1[i] = stat_of(i, "rc_refreshes");
    h_kill(B0);
    sleep_intervals(5);
    print_stats("5 intervals after b0 died");
    for (int i = A0; i <= A2; i++) {
        H_ASSERT(stat_of(i, "rc_refreshes") == ref1[i], "%s still refreshes a deleted reference",
                 h_replica(i)->id);
        H_ASSERT(list_size(i) == 0 && !found(i, "to-b"), "to-b is back on %s", h_replica(i)->id);
    }
    H_ASSERT(sum_a("store_rc_writes") == writes && sum_a("rc_hostname_writes") == 0,
             "a write after the delete");
    row = h_db_query(CL_A, sql);
    H_ASSERT(row && strcmp(row, "1 []") == 0, "the row is '%s' after b0 died", row ? row : "(none)");
    free(row);
    free(uuid);
    free(id);
}
END_TEST

/* ---- many remote clusters: one replica of A, seven one-replica clusters ---- */

enum { M_A0, M_R0, M_NREMOTES = 9, M_DEAD = 8 };

static void setup_many(void)
{
    static const char *const dbs[M_NREMOTES] = {
        "metactor_it_rc_r0", "metactor_it_rc_r1", "metactor_it_rc_r2", "metactor_it_rc_r3",
        "metactor_it_rc_r4", "metactor_it_rc_r5", "metactor_it_rc_r6", "metactor_it_rc_r7",
        "metactor_it_rc_r8",
    };
    static const char *const prefixes[M_NREMOTES] = { "r0-", "r1-", "r2-", "r3-", "r4-", "r5-",
                                                      "r6-", "r7-", "r8-" };
    h_cluster_spec_t spec[1 + M_NREMOTES] = { { DB_A, 1, "a" } };
    for (int r = 0; r < M_NREMOTES; r++)
        spec[1 + r] = (h_cluster_spec_t) { dbs[r], 1, prefixes[r] };
    h_setup_clusters(spec, 1 + M_NREMOTES, TIMEOUT_S);
    for (int i = 0; i < 1 + M_NREMOTES; i++)
        args_for(i, "600", false);
}

/*  The prober a reference's refreshes go through: rcs.c's assignment
    (FNV-1a of the id, modulo the pool of 2 probers), replicated here only
    to build the worst case below. */
static int prober_of(const char *id)
{
    uint32_t h = 2166136261u;
    for (const char *p = id; *p; p++)
        h = (h ^ (uint8_t) *p) * 16777619u;
    return (int) (h % 2);
}

/*  Remote clusters die; a healthy reference must still refresh (rc.get
    refresh answers ok, and within a refresh interval: a live cluster
    answers in milliseconds) even when every dead reference shares its
    prober: dead remotes must not starve the healthy ones. Nine one-replica
    clusters; of the prober holding most references (at least 5 of 9), all
    but one die (so at least 4). Each dead reference's probe holds the
    prober for its 1 s timeout: if probes of one prober run one after
    another, the healthy one waits about 4 s, and fails once the wait
    passes its own probe's deadline (1 s × (nodes + 2) + 1 s = 4 s). */
START_TEST(dead_remotes_do_not_starve_healthy_ones)
{
    h_start_all();
    char ids[M_NREMOTES][64];
    int on[2] = { 0, 0 };
    for (int r = 0; r < M_NREMOTES; r++) {
        char name[16];
        snprintf(name, sizeof name, "ref-%d", r);
        h_reply_t *a = rc_add(M_A0, name, ep(M_R0 + r), PASSWORD);
        char *id = h_sdup(a->result, "ref/id");
        snprintf(ids[r], sizeof ids[r], "%s", id);
        free(id);
        h_reply_free(&a);
        on[prober_of(ids[r])]++;
    }
    int full = on[1] > on[0], healthy = -1, other = -1, dead = 0;
    for (int r = 0; r < M_NREMOTES; r++)
        if (prober_of(ids[r]) == full) {
            if (healthy < 0)
                healthy = r;
            else {
                h_kill(M_R0 + r);
                dead++;
            }
        }
        else if (other < 0)
            other = r;
    fprintf(stderr, "references per prober: %d and %d; %d dead beside ref-%d\n", on[0], on[1],
            dead, healthy);
    int64_t until = h_now_ms() + 20 * REFRESH_MS, worst = 0, worst_other = 0;
    int bad = 0, calls = 0;
    char last[600] = "";
    while (h_now_ms() < until) {
        for (int k = 0; k < 2; k++) {
            int r = k == 0 ? healthy : other;
            if (r < 0)
                continue;
            char name[16];
            snprintf(name, sizeof name, "ref-%d", r);
            int64_t t = h_now_ms();
            h_reply_t *g = h_call(M_A0, "{s:s, s:s, s:b}", "op", "rc.get", "name", name,
                                  "refresh", 1);
            t = h_now_ms() - t;
            if (k == 0) {
                worst = t > worst ? t : worst;
                calls++;
            }
            else
                worst_other = t > worst_other ? t : worst_other;
            if (!g || !g->ok) {
                if (k == 0)
                    bad++;
                snprintf(last, sizeof last, "%s (%s prober): %s %s after %lld ms", name,
                         k == 0 ? "the dead ones'" : "the other", g ? g->code : "no reply",
                         g ? g->message : "", (long long) t);
            }
            h_reply_free(&g);
        }
        h_sleep_ms(200);
    }
    fprintf(stderr, "ref-%d beside %d dead references: %d of %d refreshes failed, the slowest "
            "took %lld ms (ref-%d on the other prober: %lld ms); last failure: %s\n", healthy,
            dead, bad, calls, (long long) worst, other, (long long) worst_other, last);
    H_ASSERT(bad == 0, "%d of %d refreshes of a healthy reference failed (e.g. %s)", bad, calls,
             last);
    H_ASSERT(worst < 2 * REFRESH_MS, "a refresh of a healthy reference took %lld ms (beside %d "
             "dead references on its prober)", (long long) worst, dead);
}
END_TEST

/*  MT_TEST_ONLY=NAME[,NAME...] runs only those tests (by hand, to repeat one). */
static void add(TCase *tc, const TTest *t)
{
    const char *only = getenv("MT_TEST_ONLY");
    if (only && *only) {
        size_t n = strlen(t->name);
        const char *p = only;
        bool hit = false;
        while (!hit && (p = strstr(p, t->name)) != NULL) {
            hit = (p == only || p[-1] == ',') && (p[n] == '\0' || p[n] == ',');
            p += n;
        }
        if (!hit)
            return;
    }
    _tcase_add_test(tc, t, 0, 0, 0, 1);
}

/*  A reload pass whose read began before a delete committed must not bring
    the deleted reference back once the delete is known. With a reload every
    10 ms on A a pass is nearly always in flight when a delete arrives;
    each replica is polled from the delete's reply on: once it has answered
    not_found it must never find the reference again. */
START_TEST(delete_not_undone_by_a_reload)
{
    for (int i = A0; i <= A2; i++)
        h_set_args(i, "--refresh-interval", "1000", "--reload-interval", "10",
                   "--beat-interval", "200", "--alive-window", "600", NULL);
    h_start_all();
    int rounds = getenv("MT_TEST_ROUNDS") ? atoi(getenv("MT_TEST_ROUNDS")) : 40, back = 0;
    char detail[300] = "";
    for (int k = 0; k < rounds; k++) {
        char name[32];
        snprintf(name, sizeof name, "r-%d", k);
        h_reply_t *r = rc_add(A0, name, ep(k % 2 ? B0 : B1), PASSWORD);
        int64_t rev = h_int(r->result, "ref/revision");
        h_reply_free(&r);
        H_WAIT(all_rev(name, rev), H_T, "%s never reached all of A", name);
        int del_on = A0 + k % 3;
        r = h_ok(del_on, "{s:s, s:s}", "op", "rc.del", "name", name);
        h_reply_free(&r);
        bool seen_gone[3] = { false, false, false };
        int64_t until = h_now_ms() + 300;
        while (h_now_ms() < until) {
            for (int i = A0; i <= A2; i++) {
                bool f = found(i, name);
                if (!f)
                    seen_gone[i] = true;
                else if (seen_gone[i]) {
                    if (!back)
                        snprintf(detail, sizeof detail, "%s (deleted on %s) came back on %s",
                                 name, h_replica(del_on)->id, h_replica(i)->id);
                    back++;
                    seen_gone[i] = false;
                }
            }
        }
        H_WAIT(gone_everywhere("name", name), H_T, "%s is still found", name);
    }
    fprintf(stderr, "deleted references seen again: %d times in %d rounds\n", back, rounds);
    H_ASSERT(back == 0, "a deleted reference came back %d times in %d rounds, e.g. %s", back,
             rounds, detail);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("service_rc");
    TCase *tc = tcase_create("rc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, TIMEOUT_S);
    add(tc, crud_on_every_replica);
    add(tc, errors_store_nothing);
    add(tc, password_never_leaves);
    add(tc, passive_replicas_never_write);
    add(tc, priority_writer_one_write);
    add(tc, priority_writer_takeover);
    add(tc, priority_writer_takeover_while_listed);
    add(tc, hostname_moved_to_another_cluster);
    add(tc, deleted_stays_deleted);
    add(tc, delete_not_undone_by_a_reload);
    suite_add_tcase(s, tc);
    TCase *many = tcase_create("many");
    tcase_add_checked_fixture(many, setup_many, teardown);
    tcase_set_timeout(many, TIMEOUT_S);
    add(many, dead_remotes_do_not_starve_healthy_ones);
    suite_add_tcase(s, many);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
