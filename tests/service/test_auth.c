/*  test_auth.c — authentication and roles with real CURVE (PROTOCOL.md,
    "Security"): three replicas sharing the certificate "cluster", a trust
    store of real czmq certificates (harness_curve.c), clients of every
    role. What a refused request must leave unchanged is read back as an
    admin. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <zmq.h>

#define DB "metactor_it_auth"
#define TIMEOUT_S 240
#define SILENT_MS 1500          /* how long "no reply" is waited for */
#define REVOKE_MS 3000          /* PROTOCOL.md: 2 s, plus one request's round trip */

enum { A, B, C };

static void setup(void)
{
    h_setup(DB, 3, TIMEOUT_S);
    h_curve_init();
    h_start_all();
}

/*  Notices only: the periodic reload is an hour away. */
static void setup_notices_only(void)
{
    h_setup(DB, 3, TIMEOUT_S);
    h_curve_init();
    static char cert[1024], trust[1024];
    snprintf(cert, sizeof cert, "%s", h_curve_cert("cluster"));
    snprintf(trust, sizeof trust, "%s", h_curve_trust_dir());
    for (int i = A; i <= C; i++)
        h_set_args(i, "--cert", cert, "--trust", trust, "--reload-interval", "3600000", NULL);
    h_start_all();
}

static void reg_as_admin(const char *id)
{
    h_reply_t *r = h_ok(A, "{s:s, s:{s:s, s:s, s:{s:s}}}", "op", "node.register",
                        "node", "id", id, "host_ip", "10.0.0.1", "labels", "zone", "a");
    h_reply_free(&r);
}

/*  The error code of a reply ("" when ok); fails when no reply came. */
static void expect(h_reply_t *r, const char *code, const char *what)
{
    H_ASSERT(r, "%s: no reply", what);
    if (!*code)
        H_ASSERT(r->ok, "%s: expected ok, got %s (%s)", what, r->code, r->message);
    else
        H_ASSERT(!r->ok && strcmp(r->code, code) == 0, "%s: expected %s, got %s (%s)", what,
                 code, r->ok ? "ok" : r->code, r->message);
}

/*  Replica A's view of id, packed, for a before/after comparison. */
static char *view_of(const char *id, size_t *size)
{
    h_reply_t *r = h_node_get(A, id);
    H_ASSERT(r, "%s exists", id);
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *h_get(r->result, "node"));
    h_reply_free(&r);
    *size = b.size;
    return b.data;
}

START_TEST(no_reply_without_a_trusted_key)
{
    struct { const char *who, *server_key; } cases[] = {
        { NULL, NULL },                 /* plain zmq, no CURVE */
        { "stranger", NULL },           /* a certificate not in the trust store */
        { "admin", "" },                /* the wrong server key (filled below) */
    };
    char wrong[41];
    snprintf(wrong, sizeof wrong, "%s", h_curve_public("n1"));
    cases[2].server_key = wrong;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        void *s = h_curve_socket(ZMQ_DEALER, A, cases[k].who, cases[k].server_key);
        h_reply_t *r = h_curve_call(s, SILENT_MS, "{s:s}", "op", "cluster.info");
        H_ASSERT(!r, "case %zu (%s) got a reply", k, cases[k].who ? cases[k].who : "plain");
        h_close(&s);
    }
    void *s = h_curve_socket(ZMQ_DEALER, A, "admin", NULL);
    h_reply_t *r = h_curve_call(s, H_CALL_MS, "{s:s}", "op", "cluster.info");
    expect(r, "", "admin's cluster.info");
    h_reply_free(&r);
    /*  The stranger was refused by the replica's ZAP handler, not lost on
        the way (the plain client and the wrong server key never reach it). */
    r = h_curve_call(s, H_CALL_MS, "{s:s}", "op", "replica.stats");
    expect(r, "", "admin's replica.stats");
    H_ASSERT(h_int(r->result, "connections_refused") >= 1, "no handshake was refused");
    h_reply_free(&r);
    r = h_curve_call(s, H_CALL_MS, "{s:s}", "op", "cluster.info");
    /*  Members publish the replicas' key, for clients and peers. */
    for (uint32_t i = 0; i < h_size(r->result, "members"); i++) {
        char path[64];
        snprintf(path, sizeof path, "members/%u/public_key", i);
        H_ASSERT(h_is_str(r->result, path, h_curve_public("cluster")), "%s", path);
    }
    h_reply_free(&r);
}
END_TEST

/*  One request per role, and what each role must get: "" (ok), or an
    error code; "unauthorized" marks what the role may not do. */
typedef struct {
    const char *what, *fmt;
    const char *admin, *reader, *node, *replica;
} row_t;

#define U "unauthorized"
static const row_t table[] = {
    { "register n1", "{s:s, s:{s:s}}", "", U, "", U },
    { "heartbeat n1", "{s:s, s:s, s:b}", "", U, "", U },
    { "labels n1", "{s:s, s:s, s:{s:s}}", "", U, U, U },
    { "get n1", "{s:s, s:s}", "", "", "", U },
    { "list", "{s:s}", "", "", U, U },
    { "delete n3", "{s:s, s:s}", "", U, U, U },
    { "rc.add", "{s:s, s:s, s:s}", "unavailable", U, U, U },
    { "rc.set", "{s:s, s:s, s:s}", "not_found", U, U, U },
    { "rc.del", "{s:s, s:s}", "not_found", U, U, U },
    { "rc.get", "{s:s, s:s, s:b}", "not_found", "not_found", U, U },
    { "rc.list", "{s:s}", "", "", U, U },
    { "cluster.info", "{s:s}", "", "", "", "" },
    { "replica.stats", "{s:s}", "", "", U, "" },
};
#undef U

static h_reply_t *row_call(void *s, size_t k)
{
    const char *f = table[k].fmt;
    switch (k) {
    case 0: return h_curve_call(s, H_CALL_MS, f, "op", "node.register", "node", "id", "n1");
    case 1: return h_curve_call(s, H_CALL_MS, f, "op", "node.heartbeat", "id", "n1", "ready", 1);
    case 2: return h_curve_call(s, H_CALL_MS, f, "op", "node.labels", "id", "n1", "set", "k", "v");
    case 3: return h_curve_call(s, H_CALL_MS, f, "op", "node.get", "id", "n1");
    case 4: return h_curve_call(s, H_CALL_MS, f, "op", "node.list");
    case 5: return h_curve_call(s, H_CALL_MS, f, "op", "node.delete", "id", "n3");
    case 6: return h_curve_call(s, H_CALL_MS, f, "op", "rc.add", "name", "x",
                                "hostname", "tcp://127.0.0.1:1");
    case 7: return h_curve_call(s, H_CALL_MS, f, "op", "rc.set", "name", "x",
                                "hostname", "tcp://127.0.0.1:2");
    case 8: return h_curve_call(s, H_CALL_MS, f, "op", "rc.del", "name", "x");
    case 9: return h_curve_call(s, H_CALL_MS, f, "op", "rc.get", "name", "x", "refresh", 1);
    case 10: return h_curve_call(s, H_CALL_MS, f, "op", "rc.list");
    case 11: return h_curve_call(s, H_CALL_MS, f, "op", "cluster.info");
    default: return h_curve_call(s, H_CALL_MS, f, "op", "replica.stats");
    }
}

START_TEST(every_role_and_operation)
{
    reg_as_admin("n1");
    reg_as_admin("n3");
    /*  Refused requests run first: n3 must come out of them unchanged. */
    size_t before_size;
    char *before = view_of("n3", &before_size);
    const char *who[] = { "reader", "n1", "cluster", "admin" };
    for (size_t w = 0; w < 4; w++) {
        void *s = h_curve_socket(ZMQ_DEALER, w % 3, who[w], NULL);
        for (size_t k = 0; k < sizeof table / sizeof table[0]; k++) {
            const char *want = w == 0 ? table[k].reader : w == 1 ? table[k].node
                             : w == 2 ? table[k].replica : table[k].admin;
            char what[96];
            snprintf(what, sizeof what, "%s as %s", table[k].what, who[w]);
            h_reply_t *r = row_call(s, k);
            expect(r, want, what);
            h_reply_free(&r);
        }
        h_close(&s);
        if (w == 2) {
            size_t after_size;
            char *after = view_of("n3", &after_size);
            H_ASSERT(after_size == before_size && memcmp(before, after, after_size) == 0,
                     "a refused request changed n3");
            free(after);
        }
    }
    free(before);
    H_ASSERT(!h_node_get(A, "n3"), "the admin's delete went through");
}
END_TEST

/*  Label keys hold '/', which h_get takes as a path: looked up by hand. */
static bool label_is(const msgpack_object *labels, const char *key, const char *value)
{
    for (uint32_t i = 0; labels && i < labels->via.map.size; i++)
        if (h_obj_is_str(&labels->via.map.ptr[i].key, key))
            return h_obj_is_str(&labels->via.map.ptr[i].val, value);
    return false;
}

START_TEST(a_node_acts_only_as_itself)
{
    reg_as_admin("n2");
    void *s = h_curve_socket(ZMQ_DEALER, B, "n1", NULL);
    h_reply_t *r = h_curve_call(s, H_CALL_MS, "{s:s, s:{s:s}}", "op", "node.register",
                                "node", "id", "n1");
    expect(r, "", "n1 registers itself");
    h_reply_free(&r);
    size_t n2_size;
    char *n2 = view_of("n2", &n2_size);
    r = h_curve_call(s, H_CALL_MS, "{s:s, s:s, s:b}", "op", "node.heartbeat", "id", "n2",
                     "ready", 1);
    expect(r, "unauthorized", "n1 heartbeats as n2");
    h_reply_free(&r);
    r = h_curve_call(s, H_CALL_MS, "{s:s, s:{s:s, s:s}}", "op", "node.register", "node",
                     "id", "n2", "host_ip", "6.6.6.6");
    expect(r, "unauthorized", "n1 registers n2");
    h_reply_free(&r);
    r = h_curve_call(s, H_CALL_MS, "{s:s, s:s}", "op", "node.get", "id", "n2");
    expect(r, "unauthorized", "n1 reads n2");
    h_reply_free(&r);
    size_t after_size;
    char *after = view_of("n2", &after_size);
    H_ASSERT(after_size == n2_size && memcmp(after, n2, n2_size) == 0, "n2 changed");
    free(after);
    free(n2);

    /*  Reserved labels: refused from the node, nothing stored; an admin's
        survive the node's next registration (labels merge). */
    r = h_curve_call(s, H_CALL_MS, "{s:s, s:{s:s, s:{s:s}}}", "op", "node.register", "node",
                     "id", "n1", "labels", "metactor.io/scheduling-disabled", "false");
    expect(r, "unauthorized", "n1 sets a metactor.io/ label");
    h_reply_free(&r);
    r = h_ok(A, "{s:s, s:s, s:{s:s}}", "op", "node.labels", "id", "n1",
             "set", "metactor.io/scheduling-disabled", "true");
    h_reply_free(&r);
    r = h_curve_call(s, H_CALL_MS, "{s:s, s:{s:s, s:{s:s}}}", "op", "node.register", "node",
                     "id", "n1", "labels", "zone", "b");
    expect(r, "", "n1 registers again");
    H_ASSERT(label_is(h_get(r->result, "node/labels"), "metactor.io/scheduling-disabled", "true")
             && label_is(h_get(r->result, "node/labels"), "zone", "b"),
             "the admin's label survives the node's registration");
    h_reply_free(&r);
    h_close(&s);
}
END_TEST

START_TEST(revoked_on_an_open_connection)
{
    void *s = h_curve_socket(ZMQ_DEALER, A, "reader", NULL);
    h_reply_t *r = h_curve_call(s, H_CALL_MS, "{s:s}", "op", "node.list");
    expect(r, "", "reader lists");
    h_reply_free(&r);
    h_curve_trust("reader", false);
    int64_t t0 = h_now_ms();
    bool refused = false;
    while (!refused && h_now_ms() - t0 < REVOKE_MS) {
        r = h_curve_call(s, H_CALL_MS, "{s:s}", "op", "node.list");
        H_ASSERT(r, "the open connection still answers");
        refused = !r->ok && strcmp(r->code, "unauthorized") == 0;
        h_reply_free(&r);
        if (!refused)
            h_sleep_ms(100);
    }
    H_ASSERT(refused, "a removed certificate still lists after %d ms", REVOKE_MS);
    /*  And, 2 s after the removal, a new connection with it is not made
        at all, on any replica (each rescans its store on its own). */
    int64_t left = t0 + 2100 - h_now_ms();
    if (left > 0)
        h_sleep_ms((int) left);
    void *s2 = h_curve_socket(ZMQ_DEALER, B, "reader", NULL);
    r = h_curve_call(s2, SILENT_MS, "{s:s}", "op", "cluster.info");
    H_ASSERT(!r, "a removed certificate connected again");
    h_close(&s2);
    h_close(&s);
}
END_TEST

START_TEST(a_certificate_added_is_accepted)
{
    h_curve_make("late", "reader", NULL);
    void *s = h_curve_socket(ZMQ_DEALER, A, "late", NULL);
    h_reply_t *r = h_curve_call(s, SILENT_MS, "{s:s}", "op", "cluster.info");
    H_ASSERT(!r, "an untrusted certificate got a reply");
    h_close(&s);
    h_curve_trust("late", true);
    int64_t t0 = h_now_ms();
    while (!r && h_now_ms() - t0 < REVOKE_MS) {
        s = h_curve_socket(ZMQ_DEALER, A, "late", NULL);
        r = h_curve_call(s, 500, "{s:s}", "op", "cluster.info");
        h_close(&s);
    }
    expect(r, "", "a newly trusted certificate");
    h_reply_free(&r);
}
END_TEST

START_TEST(only_watching_roles_receive_notices)
{
    void *reader = h_curve_socket(ZMQ_SUB, A, "reader", NULL);
    void *node = h_curve_socket(ZMQ_SUB, A, "n1", NULL);
    void *stranger = h_curve_socket(ZMQ_SUB, A, "stranger", NULL);
    void *plain = h_curve_socket(ZMQ_SUB, A, NULL, NULL);
    /*  A SUB connection takes a moment; keep writing until the reader
        hears one (that proves the others had the same chance). */
    char *topic = NULL;
    h_reply_t *n = NULL;
    for (int k = 0; !n && k < 40; k++) {
        char id[16];
        snprintf(id, sizeof id, "w%d", k);
        reg_as_admin(id);
        n = h_sub_recv(reader, &topic, 250);
    }
    H_ASSERT(n, "the reader received no notice");
    free(topic);
    h_reply_free(&n);
    void *deaf[] = { node, stranger, plain };
    for (int k = 0; k < 3; k++) {
        topic = NULL;
        n = h_sub_recv(deaf[k], &topic, 300);
        H_ASSERT(!n, "subscriber %d (node, stranger, plain) received a notice", k);
    }
}
END_TEST

/*  Writes on A until sub hears one notice (a SUB connection takes a
    moment, and reconnects after a cut): true if it did within ms. */
static bool hears(void *sub, int ms)
{
    static int k;
    int64_t t0 = h_now_ms();
    while (h_now_ms() - t0 < ms) {
        char id[16], *topic = NULL;
        snprintf(id, sizeof id, "h%d", k++);
        reg_as_admin(id);
        h_reply_t *n = h_sub_recv(sub, &topic, 200);
        free(topic);
        if (n) {
            h_reply_free(&n);
            return true;
        }
    }
    return false;
}

/*  A subscriber whose certificate is removed stops receiving (its replica
    cuts every subscriber, and only the trusted ones come back). */
START_TEST(a_revoked_subscriber_hears_nothing_more)
{
    void *reader = h_curve_socket(ZMQ_SUB, A, "reader", NULL);
    void *admin = h_curve_socket(ZMQ_SUB, A, "admin", NULL);
    H_ASSERT(hears(reader, H_T) && hears(admin, H_T), "both subscribers hear notices");
    h_curve_trust("reader", false);
    h_sleep_ms(REVOKE_MS);
    H_ASSERT(hears(admin, H_T), "the admin's subscription came back after the cut");
    /*  Whatever was queued before the cut is drained first. */
    char *topic = NULL;
    h_reply_t *n;
    while ((n = h_sub_recv(reader, &topic, 100)) != NULL) {
        free(topic);
        topic = NULL;
        h_reply_free(&n);
    }
    H_ASSERT(!hears(reader, SILENT_MS), "a revoked subscriber still receives notices");
}
END_TEST

START_TEST(replicates_over_curve)
{
    /*  Each replica subscribes to its two peers with the cluster key. */
    for (int i = A; i <= C; i++) {
        bool two = false;
        int64_t t0 = h_now_ms();
        while (!two && h_now_ms() - t0 < H_T) {
            h_reply_t *r = h_ok(i, "{s:s}", "op", "replica.stats");
            two = h_int(r->result, "peers") == 2;
            h_reply_free(&r);
            if (!two)
                h_sleep_ms(100);
        }
        H_ASSERT(two, "replica %d has not subscribed to both peers", i);
    }
    reg_as_admin("c1");
    for (int i = B; i <= C; i++) {
        h_reply_t *g = NULL;
        H_WAIT((h_reply_free(&g), (g = h_node_get(i, "c1")) != NULL), H_T,
               "c1 never reached replica %d (notices only)", i);
        h_reply_free(&g);
    }
}
END_TEST

/*  Without a certificate, anything but loopback needs --insecure. */
START_TEST(binding_beyond_loopback_needs_a_certificate)
{
    const char *bin = getenv("METACTOR_TEST_METACTORD");
    int port = h_replica(C)->port + 4;
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "timeout 30 '%s' --replica-id Z --endpoint tcp://0.0.0.0:%d"
             " --publish tcp://0.0.0.0:%d --db mysql://nobody@127.0.0.1:1/none"
             " > '%s.bind.log' 2>&1",
             bin, port, port + 1, h_replica(C)->log);
    int st = system(cmd);
    H_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 124,
             "metactord bound 0.0.0.0 without a certificate (status %d)", st);
    snprintf(cmd, sizeof cmd, "grep -q -- '--insecure' '%s.bind.log'", h_replica(C)->log);
    H_ASSERT(system(cmd) == 0, "the refusal does not say how to get past it");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service_auth");
    h_tcase(s, "auth", setup, TIMEOUT_S, no_reply_without_a_trusted_key,
            every_role_and_operation, a_node_acts_only_as_itself, revoked_on_an_open_connection,
            a_certificate_added_is_accepted, only_watching_roles_receive_notices,
            a_revoked_subscriber_hears_nothing_more,
            binding_beyond_loopback_needs_a_certificate, NULL);
    h_tcase(s, "auth_notices", setup_notices_only, TIMEOUT_S, replicates_over_curve, NULL);
    return h_run(s);
}
