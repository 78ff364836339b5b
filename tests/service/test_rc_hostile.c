/*  test_rc_hostile.c — remote clusters are untrusted (issue 9, PROTOCOL.md
    "Remote cluster references" and "Security"): references to fake remotes
    served from a thread of this program (harness_rc.h, rc_fake_*), against
    cluster A's three real replicas (debug logs) on a real MariaDB.

    Cases (each on a fresh database and processes):
      hostile_answers_survived     a reference whose remote turns hostile:
                                   issue 9's 2^24+3 members (16 MiB), the same
                                   shape under 1 MiB, a lying count, garbage
                                   members and endpoints with ';', 300 members,
                                   wrong types, an error reply, not msgpack, a
                                   64 MiB answer, no answer. After each every
                                   replica is alive and answers, the reference
                                   is unchanged (revision, hostname, uuid) and
                                   its node list holds only valid endpoints;
                                   then the remote turns good again and every
                                   replica refreshes
      hostile_add_stores_nothing   rc.add against each hostile answer:
                                   unavailable, nothing stored; an ipc://
                                   hostname refused (not allowed by default)
      curve_reference              a CURVE remote (a ROUTER with
                                   ZMQ_CURVE_SERVER, a zmq_curve_keypair key,
                                   a ZAP handler admitting one client key):
                                   the right pinned key and keypair → add and
                                   refresh ok on every replica (the others
                                   read the secret from the database),
                                   members with another key left out; a wrong
                                   pinned key, plain, or another client key →
                                   unavailable; demand_encryption without a
                                   server_key → bad_request (add and set); a
                                   rotated keypair reaches every replica, a
                                   restarted one too; client_secret and the
                                   password in no reply, notice or log */
#include "harness_rc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define FAKE_UUID "f0f0f0f0-1111-4222-8333-hostile00001"
#define CURVE_UUID "c0c0c0c0-1111-4222-8333-curve0000001"

/*  Ports after cluster A's (base .. base+5) in the program's block. */
static int fake_port(int k)
{
    return h_replica(A0)->port + 10 + 3 * k;
}

/* ---- what a replica must still do ------------------------------------------ */

static bool endpoint_sane(const msgpack_object *o)
{
    if (!o || o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 || o->via.str.size > 255)
        return false;
    if (o->via.str.size < 6 || memcmp(o->via.str.ptr, "tcp://", 6) != 0)
        return false;
    for (uint32_t i = 0; i < o->via.str.size; i++) {
        char c = o->via.str.ptr[i];
        if (c <= ' ' || c > '~' || c == ';' || c == '*')
            return false;
    }
    return true;
}

/*  Every replica of A: alive, answering cluster.info and node.get, and
    holding `name` as it was (revision, hostname, uuid), with a node list
    of valid endpoints only (exactly `only` when given). */
static void survivors(const char *name, int64_t rev, const char *host, const char *uuid,
                      const char *only, const char *after)
{
    for (int i = A0; i <= A2; i++) {
        H_ASSERT(rc_alive(i), "after %s: replica %s died", after, h_replica(i)->id);
        h_reply_t *r = h_ok(i, "{s:s}", "op", "cluster.info");
        h_reply_free(&r);
        h_err(i, "not_found", "{s:s, s:s}", "op", "node.get", "id", "no-such-node");
        r = rc_get(i, "name", name);
        H_ASSERT(r, "after %s: %s lost on %s", after, name, h_replica(i)->id);
        H_ASSERT(h_int(r->result, "ref/revision") == rev, "after %s: %s written on %s (revision"
                 " %lld, was %lld)", after, name, h_replica(i)->id,
                 (long long) h_int(r->result, "ref/revision"), (long long) rev);
        H_ASSERT(h_is_str(r->result, "ref/hostname", host), "after %s: hostname changed", after);
        H_ASSERT(h_is_str(r->result, "ref/uuid", uuid), "after %s: uuid changed", after);
        const msgpack_object *l = h_get(r->result, "ref/node_list");
        H_ASSERT(l && l->type == MSGPACK_OBJECT_ARRAY && l->via.array.size <= 256,
                 "after %s: node_list", after);
        for (uint32_t k = 0; k < l->via.array.size; k++)
            H_ASSERT(endpoint_sane(&l->via.array.ptr[k]), "after %s: node_list[%u] on %s is not"
                     " a valid endpoint", after, k, h_replica(i)->id);
        if (only)
            H_ASSERT(l->via.array.size == 1 && h_obj_is_str(&l->via.array.ptr[0], only),
                     "after %s: node_list on %s is not [%s] (%u items)", after,
                     h_replica(i)->id, only, l->via.array.size);
        h_reply_free(&r);
    }
}

/*  rc.get with refresh on replica i: ok or unavailable, in time. */
static bool refresh_once(int i, const char *name, const char *what)
{
    h_reply_t *r = h_call_ms(i, 30000, "{s:s, s:s, s:b}", "op", "rc.get", "name", name,
                             "refresh", 1);
    H_ASSERT(r, "%s: rc.get refresh on %s never answered", what, h_replica(i)->id);
    H_ASSERT(r->ok || strcmp(r->code, "unavailable") == 0, "%s: rc.get refresh on %s: %s (%s)",
             what, h_replica(i)->id, r->code, r->message);
    if (r->ok)
        rc_check_view(h_get(r->result, "ref"), "rc.get refresh");
    bool ok = r->ok;
    h_reply_free(&r);
    return ok;
}

/*  The same, twice: a refresh shares a round already in flight, which may
    have begun before the remote changed its answers; the second one is a
    round of the answers now. */
static bool refresh(int i, const char *name, const char *what)
{
    refresh_once(i, name, what);
    return refresh_once(i, name, what);
}

static const struct {
    rc_fake_mode_t mode;
    const char *name;
    bool answers;           /* the refresh succeeds (and lists only the fake) */
} hostile[] = {
    { RC_FAKE_HUGE_COUNT, "2^24+3 members (16 MiB)", false },
    { RC_FAKE_MANY_NILS, "a million nils under 1 MiB", true },
    { RC_FAKE_LYING_COUNT, "a lying member count", false },
    { RC_FAKE_GARBAGE, "garbage members", true },
    { RC_FAKE_TOO_MANY, "300 alive members", false },
    { RC_FAKE_WRONG_TYPES, "wrong types", false },
    { RC_FAKE_ERROR, "an error reply", false },
    { RC_FAKE_NOT_MSGPACK, "not msgpack", false },
    { RC_FAKE_64MIB, "a 64 MiB answer", false },
    { RC_FAKE_SILENT, "no answer", false },
};
#define NHOSTILE (sizeof hostile / sizeof hostile[0])

/* ---- cases ------------------------------------------------------------------- */

START_TEST(hostile_answers_survived)
{
    h_start_all();
    rc_fake_t *f = rc_fake_start(fake_port(0), FAKE_UUID, NULL);
    const char *ep = rc_fake_endpoint(f);
    h_reply_t *r = rc_add(A0, "evil", ep, PASSWORD);
    int64_t rev = h_int(r->result, "ref/revision");
    H_ASSERT(h_is_str(r->result, "ref/uuid", FAKE_UUID), "the fake's uuid");
    h_reply_free(&r);
    H_WAIT(rc_all_rev("evil", rev), H_T, "A never learned evil");
    survivors("evil", rev, ep, FAKE_UUID, ep, "the add");

    for (size_t k = 0; k < NHOSTILE; k++) {
        rc_fake_mode(f, hostile[k].mode);
        uint64_t before = rc_fake_requests(f);
        for (int i = A0; i <= A2; i++) {
            bool ok = refresh(i, "evil", hostile[k].name);
            H_ASSERT(ok == hostile[k].answers, "%s: refresh on %s %s", hostile[k].name,
                     h_replica(i)->id, ok ? "succeeded" : "failed");
        }
        H_ASSERT(rc_fake_requests(f) >= before + 3, "%s: the fake was not asked by all of A",
                 hostile[k].name);
        /*  and the periodic refreshes meet it too */
        rc_sleep_intervals(2);
        survivors("evil", rev, ep, FAKE_UUID, hostile[k].answers ? ep : NULL, hostile[k].name);
        fprintf(stderr, "survived: %s (%llu requests so far)\n", hostile[k].name,
                (unsigned long long) rc_fake_requests(f));
    }

    /*  good again: every prober recovers */
    rc_fake_mode(f, RC_FAKE_GOOD);
    for (int i = A0; i <= A2; i++)
        H_ASSERT(refresh(i, "evil", "good again"), "no refresh on %s once the fake is good",
                 h_replica(i)->id);
    survivors("evil", rev, ep, FAKE_UUID, ep, "good again");
    rc_fake_stop(&f);
}
END_TEST

START_TEST(hostile_add_stores_nothing)
{
    h_start_all();
    rc_fake_t *f = rc_fake_start(fake_port(0), FAKE_UUID, NULL);
    for (size_t k = 0; k < NHOSTILE; k++) {
        if (hostile[k].answers)
            continue;
        rc_fake_mode(f, hostile[k].mode);
        /*  A name per answer: on a slow (sanitizer) build the gateway may
            answer `unavailable` while the add still probes, and the next
            add of the same name would then meet it (conflict). */
        char name[32];
        snprintf(name, sizeof name, "evil-%zu", k);
        h_reply_t *r = h_call_ms(A1, 30000, "{s:s, s:s, s:s, s:s}", "op", "rc.add", "name", name,
                                 "hostname", rc_fake_endpoint(f), "password", PASSWORD);
        H_ASSERT(r, "%s: rc.add never answered", hostile[k].name);
        H_ASSERT(!r->ok && strcmp(r->code, "unavailable") == 0, "%s: rc.add: %s (%s)",
                 hostile[k].name, r->ok ? "ok" : r->code, r->message);
        h_reply_free(&r);
    }
    /*  ipc:// is the operator's to allow (--rc-allow-ipc), off by default */
    h_err(A0, "bad_request", "{s:s, s:s, s:s}", "op", "rc.add", "name", "local", "hostname",
          "ipc:///tmp/metactor-hostile.sock");
    /*  An add the gateway gave up on may still be probing: let it end. */
    h_sleep_ms(3000);
    for (int i = A0; i <= A2; i++) {
        H_ASSERT(rc_alive(i), "replica %s died", h_replica(i)->id);
        H_ASSERT(rc_list_size(i) == 0, "a reference was stored on %s", h_replica(i)->id);
    }
    char *n = h_db_query(0, "SELECT COUNT(*) FROM rc_refs");
    H_ASSERT(n && strcmp(n, "0") == 0, "rows in rc_refs: %s", n ? n : "none");
    free(n);
    rc_fake_stop(&f);
}
END_TEST

/* ---- CURVE ------------------------------------------------------------------- */

typedef struct {
    char pub[41], sec[41];
} keypair_t;

static keypair_t keypair(void)
{
    keypair_t k;
    ck_assert_int_eq(zmq_curve_keypair(k.pub, k.sec), 0);
    return k;
}

/*  Nothing secret in a reply. */
static const char *secrets[6];

static h_reply_t *clean(h_reply_t *r, const char *what)
{
    H_ASSERT(r, "%s: no reply", what);
    for (size_t k = 0; k < sizeof secrets / sizeof secrets[0]; k++)
        H_ASSERT(!secrets[k] || !memmem(r->data, r->size, secrets[k], strlen(secrets[k])),
                 "%s: a secret in the reply", what);
    H_ASSERT(!memmem(r->data, r->size, "client_secret", 13), "%s: a client_secret key", what);
    return r;
}

/*  Reads every notice waiting on s: none may hold a secret. */
static int drain_clean(void *s, int ms)
{
    int n = 0;
    int64_t deadline = h_now_ms() + ms;
    for (;;) {
        int64_t left = deadline - h_now_ms();
        char *frames[4];
        size_t sizes[4];
        int got = left > 0 ? h_recv_msg(s, (int) left, frames, sizes, 4) : 0;
        if (got <= 0)
            return n;
        n++;
        for (int k = 0; k < got && k < 4; k++) {
            for (size_t j = 0; j < sizeof secrets / sizeof secrets[0]; j++)
                H_ASSERT(!secrets[j] || !memmem(frames[k], sizes[k], secrets[j],
                                                strlen(secrets[j])), "a secret in a notice");
            H_ASSERT(!memmem(frames[k], sizes[k], "client_secret", 13), "client_secret in a notice");
            free(frames[k]);
        }
    }
}

static h_reply_t *add_curve(int i, const char *name, const char *host, const char *server_key,
                            const keypair_t *client)
{
    return clean(h_call_ms(i, 30000, "{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s}", "op",
                           "rc.add", "name", name, "hostname", host, "username", "admin",
                           "password", PASSWORD, "demand_encryption", 1, "server_key", server_key,
                           "client_public", client->pub, "client_secret", client->sec),
                 "rc.add");
}

/*  rc.get with refresh ok on every running replica of A. */
static void all_refresh_ok(const char *name, const char *what)
{
    for (int i = A0; i <= A2; i++) {
        if (!h_running(i))
            continue;
        h_reply_t *r = clean(h_call_ms(i, 30000, "{s:s, s:s, s:b}", "op", "rc.get", "name", name,
                                       "refresh", 1), what);
        H_ASSERT(r->ok, "%s: refresh of %s on %s: %s (%s)", what, name, h_replica(i)->id,
                 r->code, r->message);
        rc_check_view(h_get(r->result, "ref"), what);
        h_reply_free(&r);
    }
}

START_TEST(curve_reference)
{
    for (int i = A0; i <= A2; i++)
        h_start(i);
    keypair_t server = keypair(), wrong = keypair(), client = keypair(), client2 = keypair(),
              stranger = keypair();
    secrets[0] = client.sec;
    secrets[1] = client2.sec;
    secrets[2] = stranger.sec;
    secrets[3] = PASSWORD;
    secrets[4] = server.sec;
    void *subs[3];
    for (int i = A0; i <= A2; i++)
        subs[i] = h_sub(i, "");
    h_sleep_ms(300);

    rc_fake_t *f = rc_fake_start(fake_port(1), CURVE_UUID, server.sec);
    rc_fake_allow(f, client.pub);
    const char *ep = rc_fake_endpoint(f);

    /*  the right pinned key and keypair */
    h_reply_t *r = add_curve(A0, "sealed", ep, server.pub, &client);
    H_ASSERT(r->ok, "rc.add over CURVE: %s (%s)", r->code, r->message);
    const msgpack_object *v = h_get(r->result, "ref");
    rc_check_view(v, "rc.add");
    H_ASSERT(h_is_str(v, "server_key", server.pub) && h_is_str(v, "client_public", client.pub),
             "the view's keys");
    H_ASSERT(h_bool(v, "demand_encryption"), "demand_encryption");
    H_ASSERT(h_is_str(v, "uuid", CURVE_UUID), "uuid");
    /*  a member listed with another key cannot be reached with ours */
    H_ASSERT(h_size(v, "node_list") == 1 && h_is_str(v, "node_list/0", ep),
             "node_list is not [%s]: the member with another key was kept", ep);
    int64_t rev = h_int(v, "revision");
    h_reply_free(&r);
    char last[41];
    rc_fake_last_client(f, last);
    H_ASSERT(strcmp(last, client.pub) == 0, "the prober presented %s, not the client key", last);
    H_ASSERT(rc_fake_zap(f, false) == 0, "a handshake was refused");
    H_WAIT(rc_all_rev("sealed", rev), H_T, "A never learned sealed");
    /*  a1 and a2 learned it from a notice (no secret): they read it from
        the database; the ZAP handler admits no other key */
    all_refresh_ok("sealed", "refresh with the stored keypair");
    H_ASSERT(rc_fake_zap(f, false) == 0, "a replica presented another key (%llu refused)",
             (unsigned long long) rc_fake_zap(f, false));

    /*  a wrong pinned key: the remote does not answer */
    rc_fake_t *g = rc_fake_start(fake_port(2), "c0c0c0c0-2222-4222-8333-curve0000002", server.sec);
    r = add_curve(A1, "pinned-wrong", rc_fake_endpoint(g), wrong.pub, &client);
    H_ASSERT(!r->ok && strcmp(r->code, "unavailable") == 0, "a wrong pinned key: %s",
             r->ok ? "ok" : r->code);
    h_reply_free(&r);
    /*  plain to a CURVE server: no answer either */
    r = clean(h_call_ms(A1, 30000, "{s:s, s:s, s:s}", "op", "rc.add", "name", "plain",
                        "hostname", rc_fake_endpoint(g)), "rc.add plain");
    H_ASSERT(!r->ok && strcmp(r->code, "unavailable") == 0, "plain to CURVE: %s",
             r->ok ? "ok" : r->code);
    h_reply_free(&r);
    /*  an ephemeral keypair where any client is admitted */
    r = clean(h_call_ms(A2, 30000, "{s:s, s:s, s:s, s:s}", "op", "rc.add", "name", "ephemeral",
                        "hostname", rc_fake_endpoint(g), "server_key", server.pub), "ephemeral");
    H_ASSERT(r->ok, "rc.add with server_key alone: %s (%s)", r->code, r->message);
    H_ASSERT(h_is_str(r->result, "ref/client_public", ""), "no client_public");
    h_reply_free(&r);
    /*  a client key the remote does not admit */
    rc_fake_allow(g, client2.pub);
    r = add_curve(A2, "refused", rc_fake_endpoint(g), server.pub, &stranger);
    H_ASSERT(!r->ok && strcmp(r->code, "unavailable") == 0, "an unadmitted client key: %s",
             r->ok ? "ok" : r->code);
    h_reply_free(&r);

    /*  demand_encryption needs a server_key, on add and after a set's merge */
    h_err(A0, "bad_request", "{s:s, s:s, s:s, s:b}", "op", "rc.add", "name", "x", "hostname", ep,
          "demand_encryption", 1);
    h_err(A1, "bad_request", "{s:s, s:s, s:s}", "op", "rc.set", "name", "sealed", "server_key", "");
    h_err(A2, "bad_request", "{s:s, s:s, s:b, s:s}", "op", "rc.set", "name", "ephemeral",
          "demand_encryption", 1, "server_key", "");
    h_err(A0, "bad_request", "{s:s, s:s, s:s, s:s}", "op", "rc.set", "name", "sealed",
          "client_public", client2.pub, "client_secret", client.sec);
    h_err(A0, "bad_request", "{s:s, s:s, s:s}", "op", "rc.set", "name", "sealed",
          "client_secret", client.sec);
    H_ASSERT(rc_rev_of(A0, "sealed") == rev, "a refused set wrote");

    /*  the keypair rotated: the set probes with it, every replica follows */
    rc_fake_allow(f, client2.pub);
    uint64_t refused = rc_fake_zap(f, false);
    r = clean(h_call_ms(A1, 30000, "{s:s, s:s, s:s, s:s}", "op", "rc.set", "name", "sealed",
                        "client_public", client2.pub, "client_secret", client2.sec), "rotate");
    H_ASSERT(r->ok, "rotating the keypair: %s (%s)", r->code, r->message);
    H_ASSERT(h_is_str(r->result, "ref/client_public", client2.pub), "the new client_public");
    int64_t rev2 = h_int(r->result, "ref/revision");
    h_reply_free(&r);
    H_WAIT(rc_all_rev("sealed", rev2), H_T, "the rotation never reached all of A");
    /*  (only client2 is admitted now: a refresh that succeeds used it) */
    all_refresh_ok("sealed", "refresh after the rotation");
    rc_fake_last_client(f, last);
    H_ASSERT(strcmp(last, client2.pub) == 0, "the prober presented %s after the rotation", last);

    /*  a replica restarted learns the reference, and its secret, from a reload */
    h_stop(A2);
    h_start(A2);
    H_WAIT(rc_found(A2, "sealed"), H_T, "a2 never reloaded sealed");
    all_refresh_ok("sealed", "refresh after a restart");
    fprintf(stderr, "curve: %llu handshakes admitted, %llu refused (keys rotated: %llu before)\n",
            (unsigned long long) rc_fake_zap(f, true), (unsigned long long) rc_fake_zap(f, false),
            (unsigned long long) refused);

    /*  no secret in any notice, reply (checked above) or log */
    int notices = 0;
    for (int i = A0; i <= A2; i++)
        notices += drain_clean(subs[i], 500);
    H_ASSERT(notices > 0, "no notice was received");
    rc_fake_stop(&f);
    rc_fake_stop(&g);
    for (int i = A0; i <= A2; i++) {
        char found[64];
        H_ASSERT(rc_file_lacks(h_replica(i)->log, secrets, sizeof secrets / sizeof secrets[0],
                               found, sizeof found),
                 "a secret is in the log of %s", h_replica(i)->id);
    }
}
END_TEST

static void setup(void) { rc_setup_a("rc_hostile", true); }

int main(void)
{
    Suite *s = suite_create("service_rc_hostile");
    h_tcase(s, "rc_hostile", setup, TIMEOUT_S, hostile_answers_survived,
            hostile_add_stores_nothing, curve_reference, NULL);
    return h_run(s);
}
