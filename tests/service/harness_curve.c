/*  harness_curve.c — real CURVE certificates and sockets for the tests of
    authentication (see harness.h). Certificates are made with czmq's zcert,
    as an operator's would be with `metactl cert new`; the sockets are plain
    libzmq with the CURVE options set from those certificates. */
#include "harness_int.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

/*  snprintf into a fixed buffer, failing the test rather than cutting. */
#define FMT(buf, ...) \
    ck_assert_msg((size_t) snprintf(buf, sizeof buf, __VA_ARGS__) < sizeof buf, "path too long")

static char s_path[1024];

const char *h_curve_cert(const char *who)
{
    FMT(s_path, "%s/%s", h_state.curve.dir, who);
    return s_path;
}

const char *h_curve_trust_dir(void)
{
    static char dir[1024];
    FMT(dir, "%s/trust", h_state.curve.dir);
    return dir;
}

void h_curve_make(const char *who, const char *role, const char *node)
{
    zcert_t *c = zcert_new();
    ck_assert_ptr_nonnull(c);
    zcert_set_meta(c, "role", "%s", role);
    if (node)
        zcert_set_meta(c, "node", "%s", node);
    zcert_set_meta(c, "name", "%s", who);
    ck_assert_int_eq(zcert_save(c, h_curve_cert(who)), 0);
    zcert_destroy(&c);
}

static zcert_t *load(const char *who)
{
    zcert_t *c = zcert_load(h_curve_cert(who));
    H_ASSERT(c, "certificate %s", who);
    return c;
}

const char *h_curve_public(const char *who)
{
    static char key[41];
    zcert_t *c = load(who);
    snprintf(key, sizeof key, "%s", zcert_public_txt(c));
    zcert_destroy(&c);
    return key;
}

void h_curve_trust(const char *who, bool trusted)
{
    char dst[1200];
    FMT(dst, "%s/%s", h_curve_trust_dir(), who);
    if (!trusted) {
        H_ASSERT(unlink(dst) == 0 || errno == ENOENT, "unlink %s", dst);
        return;
    }
    zcert_t *c = load(who);
    /*  Written aside and renamed: the replica never reads half a file. */
    char tmp[1200];
    FMT(tmp, "%s/.%s.tmp", h_curve_trust_dir(), who);
    ck_assert_int_eq(zcert_save_public(c, tmp), 0);
    ck_assert_int_eq(rename(tmp, dst), 0);
    zcert_destroy(&c);
}

void h_curve_init(void)
{
    FMT(h_state.curve.dir, "%s.certs", h_state.log_prefix);
    char cmd[2200];
    FMT(cmd, "rm -rf '%s' && mkdir -p '%s/trust'", h_state.curve.dir, h_state.curve.dir);
    ck_assert_int_eq(system(cmd), 0);
    h_curve_make("cluster", "replica", NULL);
    h_curve_make("admin", "admin", NULL);
    h_curve_make("reader", "reader", NULL);
    h_curve_make("n1", "node", "n1");
    h_curve_make("n2", "node", "n2");
    h_curve_make("stranger", "admin", NULL);
    const char *trusted[] = { "cluster", "admin", "reader", "n1", "n2" };
    for (size_t k = 0; k < sizeof trusted / sizeof trusted[0]; k++)
        h_curve_trust(trusted[k], true);
    zcert_t *c = load("cluster");
    snprintf(h_state.curve.server, sizeof h_state.curve.server, "%s", zcert_public_txt(c));
    zcert_destroy(&c);
    c = load("admin");
    snprintf(h_state.curve.pub, sizeof h_state.curve.pub, "%s", zcert_public_txt(c));
    snprintf(h_state.curve.sec, sizeof h_state.curve.sec, "%s", zcert_secret_txt(c));
    zcert_destroy(&c);
    h_state.curve.on = true;
    static char cert[1024], trust[1024];
    FMT(cert, "%s", h_curve_cert("cluster"));
    FMT(trust, "%s", h_curve_trust_dir());
    for (int i = 0; i < h_state.n; i++)
        h_set_args(i, "--cert", cert, "--trust", trust, NULL);
}

static void set_keys(void *s, const char *server, const char *pub, const char *sec)
{
    ck_assert_int_eq(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, 40), 0);
    ck_assert_int_eq(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40), 0);
    ck_assert_int_eq(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40), 0);
}

void hi_curve_default(void *sock, int type)
{
    if (h_state.curve.on && (type == ZMQ_DEALER || type == ZMQ_REQ || type == ZMQ_SUB))
        set_keys(sock, h_state.curve.server, h_state.curve.pub, h_state.curve.sec);
}

void *h_curve_socket(int type, int i, const char *who, const char *server_key)
{
    bool was = h_state.curve.on;
    h_state.curve.on = false;       /* h_socket: no default identity */
    void *s = h_socket(type);
    h_state.curve.on = was;
    if (who) {
        zcert_t *c = load(who);
        set_keys(s, server_key ? server_key : h_state.curve.server, zcert_public_txt(c),
                 zcert_secret_txt(c));
        zcert_destroy(&c);
    }
    h_replica_t *r = h_replica(i);
    if (type == ZMQ_SUB) {
        ck_assert_int_eq(zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0), 0);
        ck_assert_int_eq(zmq_connect(s, r->pub_endpoint), 0);
    }
    else
        ck_assert_int_eq(zmq_connect(s, r->endpoint), 0);
    return s;
}

h_reply_t *h_curve_call(void *dealer, int timeout_ms, const char *fmt, ...)
{
    static uint64_t rid = 1000000;
    uint64_t mine = rid++;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    va_list ap;
    va_start(ap, fmt);
    hi_pack_request(&pk, mine, fmt, &ap);
    va_end(ap);
    /*  DONTWAIT: a DEALER whose handshake was refused has no peer to queue to. */
    zmq_send(dealer, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(dealer, buf.data, buf.size, ZMQ_DONTWAIT);
    msgpack_sbuffer_destroy(&buf);
    int64_t deadline = h_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - h_now_ms();
        if (left <= 0)
            return NULL;
        char *frames[4];
        size_t sizes[4];
        int n = h_recv_msg(dealer, (int) left, frames, sizes, 4);
        if (n <= 0)
            return NULL;
        h_reply_t *r = h_reply_parse(frames[n - 1], sizes[n - 1]);
        for (int k = 0; k < n && k < 4; k++)
            free(frames[k]);
        if (r && r->has_rid && r->rid == mine)
            return r;
        h_reply_free(&r);
    }
}
