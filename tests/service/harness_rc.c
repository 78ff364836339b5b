/*  harness_rc.c — see harness_rc.h. */
#include "harness_rc.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <zmq.h>

void rc_args(int i, const char *alive_window, bool debug)
{
    if (debug)
        h_set_args(i, "--refresh-interval", "1000", "--reload-interval", "1000",
                   "--beat-interval", "200", "--alive-window", alive_window,
                   "--log-level", "debug", NULL);
    else
        h_set_args(i, "--refresh-interval", "1000", "--reload-interval", "1000",
                   "--beat-interval", "200", "--alive-window", alive_window, NULL);
}

const char *rc_db(const char *tag, const char *cluster)
{
    static char names[16][64];
    static int next;
    char *n = names[next++ % 16];
    snprintf(n, sizeof names[0], "metactor_it_%s_%s", tag, cluster);
    return n;
}

void rc_setup(const char *tag)
{
    h_cluster_spec_t spec[] = {
        { rc_db(tag, "a"), 3, "a" }, { rc_db(tag, "b"), 2, "b" }, { rc_db(tag, "c"), 1, "c" },
    };
    h_setup_clusters(spec, 3, TIMEOUT_S);
    ck_assert_int_eq(h_cluster_first(CL_B), B0);
    ck_assert_int_eq(h_cluster_first(CL_C), C0);
    for (int i = 0; i < NREPLICAS; i++)
        rc_args(i, "600", false);
}

const char *rc_ep(int i)
{
    return h_replica(i)->endpoint;
}

int64_t rc_stat(int i, const char *name)
{
    h_reply_t *r = h_ok(i, "{s:s}", "op", "replica.stats");
    H_ASSERT(h_has(r->result, name), "replica %s: replica.stats has no %s", h_replica(i)->id,
             name);
    int64_t v = h_int(r->result, name);
    h_reply_free(&r);
    return v;
}

int64_t rc_sum_a(const char *name)
{
    int64_t s = 0;
    for (int i = A0; i <= A2; i++)
        if (h_running(i))
            s += rc_stat(i, name);
    return s;
}

void rc_print_stats(const char *when)
{
    for (int i = A0; i <= A2; i++) {
        if (!h_running(i))
            continue;
        fprintf(stderr, "%s: %s store_rc_writes=%lld store_rc_conflicts=%lld "
                "rc_hostname_writes=%lld rc_hostname_cancelled=%lld rc_refreshes=%lld\n",
                when, h_replica(i)->id, (long long) rc_stat(i, "store_rc_writes"),
                (long long) rc_stat(i, "store_rc_conflicts"),
                (long long) rc_stat(i, "rc_hostname_writes"),
                (long long) rc_stat(i, "rc_hostname_cancelled"),
                (long long) rc_stat(i, "rc_refreshes"));
    }
}

char *rc_cluster_uuid(int i)
{
    h_reply_t *r = h_ok(i, "{s:s}", "op", "cluster.info");
    char *u = h_sdup(r->result, "cluster_uuid");
    h_reply_free(&r);
    return u;
}

void rc_check_view(const msgpack_object *v, const char *where)
{
    static const char *const keys[] = {
        "id", "name", "hostname", "uuid", "username", "demand_encryption", "server_key",
        "client_public", "node_list", "revision", "refreshed_at",
        "restrict_hostname_replace", "connectivity", "errors",
    };
    H_ASSERT(v && v->type == MSGPACK_OBJECT_MAP, "%s: the view is not a map", where);
    H_ASSERT(!h_has(v, "password"), "%s: the view has a password key", where);
    H_ASSERT(!h_has(v, "client_secret"), "%s: the view has a client_secret key", where);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        H_ASSERT(h_has(v, keys[k]), "%s: the view has no %s", where, keys[k]);
    H_ASSERT(v->via.map.size == sizeof keys / sizeof keys[0], "%s: the view has %u keys",
             where, v->via.map.size);
}

h_reply_t *rc_get(int i, const char *key, const char *val)
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
    rc_check_view(h_get(r->result, "ref"), "rc.get");
    return r;
}

bool rc_found(int i, const char *name)
{
    h_reply_t *r = rc_get(i, "name", name);
    bool found = r != NULL;         /* (h_reply_free sets r to NULL) */
    h_reply_free(&r);
    return found;
}

bool rc_gone_everywhere(const char *key, const char *val)
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

bool rc_field_is(int i, const char *name, const char *field, const char *want)
{
    h_reply_t *r = rc_get(i, "name", name);
    char path[64];
    snprintf(path, sizeof path, "ref/%s", field);
    bool eq = r && h_is_str(r->result, path, want);
    h_reply_free(&r);
    return eq;
}

int64_t rc_rev_of(int i, const char *name)
{
    h_reply_t *r = rc_get(i, "name", name);
    int64_t v = r ? h_int(r->result, "ref/revision") : -1;
    h_reply_free(&r);
    return v;
}

bool rc_all_host(const char *name, const char *host)
{
    for (int i = A0; i <= A2; i++)
        if (h_running(i) && !rc_field_is(i, name, "hostname", host))
            return false;
    return true;
}

bool rc_all_rev(const char *name, int64_t rev)
{
    for (int i = A0; i <= A2; i++)
        if (h_running(i) && rc_rev_of(i, name) != rev)
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
        if (h_running(i)
            && !(node_list_has(i, name, rc_ep(B0)) && node_list_has(i, name, rc_ep(B1))))
            return false;
    return true;
}

uint32_t rc_list_size(int i)
{
    h_reply_t *r = h_ok(i, "{s:s}", "op", "rc.list");
    uint32_t n = h_size(r->result, "refs");
    for (uint32_t k = 0; k < n; k++) {
        char path[32];
        snprintf(path, sizeof path, "refs/%u", k);
        rc_check_view(h_get(r->result, path), "rc.list");
    }
    h_reply_free(&r);
    return n;
}

h_reply_t *rc_add(int i, const char *name, const char *host, const char *password)
{
    return h_ok(i, "{s:s, s:s, s:s, s:s, s:s}", "op", "rc.add", "name", name, "hostname", host,
                "username", "admin", "password", password);
}

char *rc_add_ref_to_b(const char *name)
{
    h_reply_t *r = rc_add(A0, name, rc_ep(B0), PASSWORD);
    char *id = h_sdup(r->result, "ref/id");
    int64_t rev = h_int(r->result, "ref/revision");
    h_reply_free(&r);
    H_WAIT(rc_all_rev(name, rev), H_T, "A's replicas never all learned %s", name);
    H_WAIT(all_know_b(name), H_T, "A's replicas never refreshed %s with both of B", name);
    return id;
}

void rc_sleep_intervals(int n)
{
    h_sleep_ms(n * REFRESH_MS);
}

/* ---- A's replicas alone, and what a replica must survive -------------------- */

void rc_setup_a(const char *tag, bool debug)
{
    h_cluster_spec_t spec[] = { { rc_db(tag, "a"), 3, "a" } };
    h_setup_clusters(spec, 1, TIMEOUT_S);
    for (int i = A0; i <= A2; i++)
        rc_args(i, "600", debug);
}

bool rc_alive(int i)
{
    pid_t pid = h_replica(i)->pid;
    if (pid == 0 || kill(pid, 0) != 0)
        return false;
    /*  Exited but not reaped is dead too; WNOWAIT leaves it to h_stop. */
    siginfo_t info = { 0 };
    return waitid(P_PID, (id_t) pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
}

bool rc_file_lacks(const char *path, const char *const *needles, size_t n, char *found,
                   size_t foundlen)
{
    FILE *f = fopen(path, "rb");
    H_ASSERT(f, "cannot open %s", path);
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    size_t k;
    while ((k = fread(buf + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    bool clean = true;
    for (size_t i = 0; i < n && clean; i++)
        if (needles[i] && *needles[i] && memmem(buf, len, needles[i], strlen(needles[i]))) {
            clean = false;
            snprintf(found, foundlen, "%s", needles[i]);
        }
    free(buf);
    return clean;
}

/* ---- a fake remote cluster ----------------------------------------------------

    One thread of the test program with a context of its own: a ROUTER on
    tcp://127.0.0.1:PORT answering cluster.info as the mode says, and, for
    a CURVE remote, a ZAP handler (inproc://zeromq.zap.01 of that context)
    that records the client keys it is shown and admits only `allowed`
    when set. */

struct rc_fake {
    pthread_t thread;
    void *ctx;
    char endpoint[64], other_endpoint[64];
    char uuid[40];
    char server_public[41], server_secret[41];     /* "" = plain */
    pthread_mutex_t lock;
    char allowed[41];                               /* ZAP: "" = any key */
    char last_client[41];
    _Atomic int mode;
    _Atomic bool stop;
    _Atomic uint64_t requests, zap_denied, zap_admitted;
    bool bound;
    char bind_err[128];
};

static void put_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void put_member(msgpack_packer *pk, const char *ep, const char *key, bool alive)
{
    msgpack_pack_map(pk, key ? 5 : 4);
    put_str(pk, "replica_id");
    put_str(pk, "fake");
    put_str(pk, "endpoint");
    put_str(pk, ep);
    put_str(pk, "pub_endpoint");
    put_str(pk, "tcp://127.0.0.1:1");
    put_str(pk, "alive");
    if (alive)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    if (key) {
        put_str(pk, "public_key");
        put_str(pk, key);
    }
}

/*  {"ok": true, "rid": rid, "result": {"cluster_uuid", "replica_id", "members": ...}:
    the members' array header is the caller's. */
static void head(msgpack_packer *pk, const rc_fake_t *f, uint64_t rid, uint32_t extra_keys)
{
    msgpack_pack_map(pk, 3);
    put_str(pk, "ok");
    msgpack_pack_true(pk);
    put_str(pk, "rid");
    msgpack_pack_uint64(pk, rid);
    put_str(pk, "result");
    msgpack_pack_map(pk, 3 + extra_keys);
    put_str(pk, "cluster_uuid");
    put_str(pk, f->uuid);
    put_str(pk, "replica_id");
    put_str(pk, "fake");
    put_str(pk, "members");
}

/*  n raw bytes of value b appended. */
static void put_fill(msgpack_sbuffer *buf, size_t n, uint8_t b)
{
    char *block = malloc(n);
    memset(block, b, n);
    msgpack_sbuffer_write(buf, block, n);
    free(block);
}

static void answer(rc_fake_t *f, uint64_t rid, msgpack_sbuffer *buf)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    const char *key = f->server_public[0] ? f->server_public : NULL;
    switch (atomic_load(&f->mode)) {
    case RC_FAKE_GOOD:
        head(&pk, f, rid, 0);
        /*  A CURVE remote also lists a member with another key: a prober
            pinned to ours must leave it out. */
        msgpack_pack_array(&pk, key ? 3 : 2);
        put_member(&pk, f->endpoint, key, true);
        put_member(&pk, "tcp://127.0.0.1:2", key, false);
        if (key)
            put_member(&pk, f->other_endpoint, RC_FAKE_OTHER_KEY, true);
        break;
    case RC_FAKE_HUGE_COUNT: {
        /*  Issue 9: 2^24+3 members, all nil but the last four (16 MiB). */
        uint32_t n = (1u << 24) + 3;
        head(&pk, f, rid, 0);
        msgpack_pack_array(&pk, n);
        put_fill(buf, n - 4, 0xc0);
        char ep[40];
        for (int i = 1; i <= 4; i++) {
            snprintf(ep, sizeof ep, "tcp://10.0.0.%d:7400", i);
            put_member(&pk, ep, NULL, true);
        }
        break;
    }
    case RC_FAKE_MANY_NILS: {
        /*  The same shape under the prober's 1 MiB: parsed, nils skipped. */
        uint32_t n = (1u << 20) - 2000;
        head(&pk, f, rid, 0);
        msgpack_pack_array(&pk, n);
        put_fill(buf, n - 1, 0xc0);
        put_member(&pk, f->endpoint, key, true);
        break;
    }
    case RC_FAKE_LYING_COUNT:
        head(&pk, f, rid, 0);
        msgpack_pack_array(&pk, (1u << 24) + 3);     /* and 16 elements */
        put_fill(buf, 16, 0xc0);
        break;
    case RC_FAKE_GARBAGE: {
        static const char *const eps[] = {
            "tcp://127.0.0.1:1;tcp://10.6.6.6:666", "tcp://eth0;10.6.6.6:666",
            "tcp://a b:1", "tcp://h\x01:1", "tcp://\xff\xfe:1", "tcp://h:0", "tcp://h:99999",
            "tcp://*:7400", "ipc:///tmp/evil.sock", "http://10.6.6.6:80", "", "tcp://h",
        };
        head(&pk, f, rid, 0);
        size_t n = sizeof eps / sizeof eps[0];
        msgpack_pack_array(&pk, (uint32_t) n + 9);
        for (size_t i = 0; i < n; i++)
            put_member(&pk, eps[i], NULL, true);
        char longest[400];
        memset(longest, 'h', sizeof longest);
        memcpy(longest, "tcp://", 6);
        memcpy(longest + sizeof longest - 6, ":7400", 6);
        put_member(&pk, longest, NULL, true);
        msgpack_pack_nil(&pk);
        msgpack_pack_int(&pk, 7);
        put_str(&pk, "tcp://10.6.6.6:1");
        msgpack_pack_map(&pk, 0);
        msgpack_pack_map(&pk, 2);                    /* alive is not a boolean */
        put_str(&pk, "endpoint");
        put_str(&pk, "tcp://10.6.6.7:1");
        put_str(&pk, "alive");
        put_str(&pk, "yes");
        put_member(&pk, "tcp://10.6.6.8:1", "not-a-key", true);
        msgpack_pack_map(&pk, 3);                    /* another cluster's */
        put_str(&pk, "endpoint");
        put_str(&pk, "tcp://10.6.6.9:1");
        put_str(&pk, "alive");
        msgpack_pack_true(&pk);
        put_str(&pk, "cluster_uuid");
        put_str(&pk, "someone-else");
        put_member(&pk, f->endpoint, key, true);     /* and itself, valid */
        break;
    }
    case RC_FAKE_TOO_MANY: {
        head(&pk, f, rid, 0);
        msgpack_pack_array(&pk, 300);
        for (int i = 0; i < 300; i++) {
            char ep[40];
            snprintf(ep, sizeof ep, "tcp://10.1.%d.%d:7400", i / 200, i % 200);
            put_member(&pk, ep, NULL, true);
        }
        break;
    }
    case RC_FAKE_WRONG_TYPES:
        msgpack_pack_map(&pk, 3);
        put_str(&pk, "ok");
        msgpack_pack_true(&pk);
        put_str(&pk, "rid");
        msgpack_pack_uint64(&pk, rid);
        put_str(&pk, "result");
        msgpack_pack_map(&pk, 2);
        put_str(&pk, "cluster_uuid");
        msgpack_pack_int(&pk, 12345);
        put_str(&pk, "members");
        msgpack_pack_map(&pk, 1);
        put_str(&pk, "tcp://10.6.6.6:1");
        msgpack_pack_true(&pk);
        break;
    case RC_FAKE_ERROR:
        msgpack_pack_map(&pk, 3);
        put_str(&pk, "ok");
        msgpack_pack_false(&pk);
        put_str(&pk, "rid");
        msgpack_pack_uint64(&pk, rid);
        put_str(&pk, "error");
        msgpack_pack_map(&pk, 2);
        put_str(&pk, "code");
        put_str(&pk, "internal");
        put_str(&pk, "message");
        msgpack_pack_str_with_body(&pk, "\xff\x01; evil", 8);
        break;
    case RC_FAKE_NOT_MSGPACK: {
        static const char http[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<h1>hi</h1>";
        msgpack_sbuffer_write(buf, http, sizeof http - 1);
        break;
    }
    case RC_FAKE_64MIB:
        /*  A valid answer with 64 MiB of padding: over the prober's limit. */
        head(&pk, f, rid, 1);
        msgpack_pack_array(&pk, 1);
        put_member(&pk, f->endpoint, key, true);
        put_str(&pk, "padding");
        msgpack_pack_bin(&pk, 64u << 20);
        put_fill(buf, 64u << 20, 'p');
        break;
    default:                                         /* RC_FAKE_SILENT */
        break;
    }
}

/*  The rid of a cluster.info request, or 0. */
static uint64_t request_rid(const void *data, size_t size)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    uint64_t rid = 0;
    if (msgpack_unpack_next(&u, data, size, &off) == MSGPACK_UNPACK_SUCCESS
        && u.data.type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < u.data.via.map.size; i++) {
            const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
            if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 3
                && memcmp(kv->key.via.str.ptr, "rid", 3) == 0
                && kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                rid = kv->val.via.u64;
        }
    msgpack_unpacked_destroy(&u);
    return rid;
}

/*  One ZAP request (RFC 27): admit or refuse the client's key. */
static void zap(rc_fake_t *f, void *handler)
{
    zmq_msg_t part[7];
    int n = 0, more = 1;
    while (more && n < 7) {
        zmq_msg_init(&part[n]);
        if (zmq_msg_recv(&part[n], handler, 0) < 0) {
            zmq_msg_close(&part[n]);
            break;
        }
        more = zmq_msg_more(&part[n]);
        n++;
    }
    char client[41] = "";
    if (n == 7 && zmq_msg_size(&part[6]) == 32)
        zmq_z85_encode(client, zmq_msg_data(&part[6]), 32);
    pthread_mutex_lock(&f->lock);
    bool ok = client[0] && (!f->allowed[0] || strcmp(f->allowed, client) == 0);
    snprintf(f->last_client, sizeof f->last_client, "%s", client);
    pthread_mutex_unlock(&f->lock);
    atomic_fetch_add(ok ? &f->zap_admitted : &f->zap_denied, 1);
    const char *status = ok ? "200" : "400";
    zmq_send(handler, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(handler, n > 1 ? zmq_msg_data(&part[1]) : "", n > 1 ? zmq_msg_size(&part[1]) : 0,
             ZMQ_SNDMORE);
    zmq_send(handler, status, 3, ZMQ_SNDMORE);
    zmq_send(handler, ok ? "OK" : "refused", ok ? 2 : 7, ZMQ_SNDMORE);
    zmq_send(handler, "", 0, ZMQ_SNDMORE);
    zmq_send(handler, "", 0, 0);
    for (int k = 0; k < n; k++)
        zmq_msg_close(&part[k]);
}

static void serve(rc_fake_t *f, void *router)
{
    zmq_msg_t part[3];              /* identity, delimiter, body; more is dropped */
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, router, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < 3) {
            zmq_msg_init(&part[n]);
            zmq_msg_move(&part[n++], &m);
        }
        zmq_msg_close(&m);
    }
    if (n == 3) {
        atomic_fetch_add(&f->requests, 1);
        uint64_t rid = request_rid(zmq_msg_data(&part[2]), zmq_msg_size(&part[2]));
        msgpack_sbuffer *out = msgpack_sbuffer_new();
        answer(f, rid, out);
        if (out->size) {
            zmq_send(router, zmq_msg_data(&part[0]), zmq_msg_size(&part[0]), ZMQ_SNDMORE);
            zmq_send(router, "", 0, ZMQ_SNDMORE);
            zmq_send(router, out->data, out->size, 0);
        }
        msgpack_sbuffer_free(out);
    }
    for (int k = 0; k < n; k++)
        zmq_msg_close(&part[k]);
}

static void *fake_main(void *arg)
{
    rc_fake_t *f = arg;
    void *handler = NULL;
    if (f->server_secret[0]) {
        handler = zmq_socket(f->ctx, ZMQ_REP);
        zmq_bind(handler, "inproc://zeromq.zap.01");
    }
    void *router = zmq_socket(f->ctx, ZMQ_ROUTER);
    int zero = 0, one = 1;
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    if (f->server_secret[0]) {
        zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one);
        zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, f->server_secret, 40);
    }
    /*  A ROUTER drops what it cannot route; a peer that went away while
        64 MiB were queued for it must not hold them. */
    int hwm = 4;
    zmq_setsockopt(router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    int rc = -1;
    for (int tries = 0; tries < 100 && rc != 0; tries++)
        if ((rc = zmq_bind(router, f->endpoint)) != 0)
            h_sleep_ms(100);
    if (rc != 0)
        snprintf(f->bind_err, sizeof f->bind_err, "%s: %s", f->endpoint, zmq_strerror(zmq_errno()));
    f->bound = true;
    while (rc == 0 && !atomic_load(&f->stop)) {
        zmq_pollitem_t items[2] = { { router, 0, ZMQ_POLLIN, 0 }, { handler, 0, ZMQ_POLLIN, 0 } };
        if (zmq_poll(items, handler ? 2 : 1, 100) <= 0)
            continue;
        if (handler && (items[1].revents & ZMQ_POLLIN))
            zap(f, handler);
        if (items[0].revents & ZMQ_POLLIN)
            serve(f, router);
    }
    zmq_close(router);
    if (handler) {
        zmq_setsockopt(handler, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(handler);
    }
    return NULL;
}

rc_fake_t *rc_fake_start(int port, const char *uuid, const char *server_secret)
{
    rc_fake_t *f = calloc(1, sizeof *f);
    snprintf(f->endpoint, sizeof f->endpoint, "tcp://127.0.0.1:%d", port);
    snprintf(f->other_endpoint, sizeof f->other_endpoint, "tcp://127.0.0.1:%d", port + 1);
    snprintf(f->uuid, sizeof f->uuid, "%s", uuid);
    if (server_secret) {
        snprintf(f->server_secret, sizeof f->server_secret, "%s", server_secret);
        ck_assert_int_eq(zmq_curve_public(f->server_public, server_secret), 0);
    }
    pthread_mutex_init(&f->lock, NULL);
    atomic_init(&f->mode, RC_FAKE_GOOD);
    f->ctx = zmq_ctx_new();
    ck_assert_ptr_nonnull(f->ctx);
    ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
    while (!f->bound)
        h_sleep_ms(10);
    H_ASSERT(!f->bind_err[0], "the fake remote cannot bind %s", f->bind_err);
    return f;
}

void rc_fake_mode(rc_fake_t *f, rc_fake_mode_t mode)
{
    atomic_store(&f->mode, (int) mode);
}

void rc_fake_allow(rc_fake_t *f, const char *client_public)
{
    pthread_mutex_lock(&f->lock);
    snprintf(f->allowed, sizeof f->allowed, "%s", client_public ? client_public : "");
    pthread_mutex_unlock(&f->lock);
}

const char *rc_fake_endpoint(const rc_fake_t *f)
{
    return f->endpoint;
}

const char *rc_fake_other_endpoint(const rc_fake_t *f)
{
    return f->other_endpoint;
}

uint64_t rc_fake_requests(rc_fake_t *f)
{
    return atomic_load(&f->requests);
}

uint64_t rc_fake_zap(rc_fake_t *f, bool admitted)
{
    return atomic_load(admitted ? &f->zap_admitted : &f->zap_denied);
}

void rc_fake_last_client(rc_fake_t *f, char out[41])
{
    pthread_mutex_lock(&f->lock);
    memcpy(out, f->last_client, 41);
    pthread_mutex_unlock(&f->lock);
}

void rc_fake_stop(rc_fake_t **f_p)
{
    rc_fake_t *f = *f_p;
    if (!f)
        return;
    *f_p = NULL;
    atomic_store(&f->stop, true);
    pthread_join(f->thread, NULL);
    zmq_ctx_term(f->ctx);
    pthread_mutex_destroy(&f->lock);
    explicit_bzero(f->server_secret, sizeof f->server_secret);
    free(f);
}
