/*  harness_call.c — requests to a replica over the harness's DEALER per
    replica: a fresh rid on each, the reply matched by it (see harness.h). */
#include "harness_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

void h_reconnect(int i)
{
    h_replica_t *r = h_replica(i);
    hi_close_sock(&r->sock);
    r->sock = zmq_socket(h_state.zctx, ZMQ_DEALER);
    ck_assert_ptr_nonnull(r->sock);
    int zero = 0;
    zmq_setsockopt(r->sock, ZMQ_LINGER, &zero, sizeof zero);
    hi_curve_default(r->sock, ZMQ_DEALER);
    ck_assert_int_eq(zmq_connect(r->sock, r->endpoint), 0);
}

/*  Receives one message on a DEALER: [empty delimiter,] body. The body
    (caller frees) or NULL on timeout. */
static char *recv_body(void *sock, int timeout_ms, size_t *size)
{
    char *frames[4];
    size_t sizes[4];
    int n = h_recv_msg(sock, timeout_ms, frames, sizes, 4);
    if (n <= 0)
        return NULL;
    H_ASSERT(n <= 4, "a reply of %d frames", n);
    /*  The last frame is the body; earlier ones the envelope. */
    for (int k = 0; k < n - 1; k++)
        free(frames[k]);
    *size = sizes[n - 1];
    return frames[n - 1];
}

static void send_body(void *sock, const void *body, size_t size)
{
    ck_assert_int_eq(zmq_send(sock, "", 0, ZMQ_SNDMORE), 0);
    ck_assert_int_eq(zmq_send(sock, body, size, 0), (int) size);
}

h_reply_t *h_vcall(int i, int timeout_ms, const char *fmt, va_list *ap)
{
    h_replica_t *r = h_replica(i);
    if (!r->sock)
        h_reconnect(i);
    uint64_t rid = r->next_rid++;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    hi_pack_request(&pk, rid, fmt, ap);
    send_body(r->sock, buf.data, buf.size);
    msgpack_sbuffer_destroy(&buf);
    int64_t deadline = h_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - h_now_ms();
        if (left <= 0)
            return NULL;
        size_t size;
        char *body = recv_body(r->sock, (int) left, &size);
        if (!body)
            return NULL;
        h_reply_t *rep = h_reply_parse(body, size);
        free(body);
        if (rep && rep->has_rid && rep->rid == rid)
            return rep;
        h_reply_free(&rep);         /* an earlier call's late reply */
    }
}

h_reply_t *h_call_ms(int i, int timeout_ms, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    h_reply_t *r = h_vcall(i, timeout_ms, fmt, &ap);
    va_end(ap);
    return r;
}

h_reply_t *h_call(int i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    h_reply_t *r = h_vcall(i, H_CALL_MS, fmt, &ap);
    va_end(ap);
    return r;
}

/*  The reply on a socket of the test's own: there is no rid to wait for. */
static h_reply_t *recv_reply(void *sock)
{
    size_t size;
    char *body = recv_body(sock, H_CALL_MS, &size);
    H_ASSERT(body, "no reply");
    h_reply_t *r = h_reply_parse(body, size);
    free(body);
    H_ASSERT(r, "a reply that is not a map");
    return r;
}

void h_at_once(int i, msgpack_sbuffer *b1, int k, msgpack_sbuffer *b2, h_reply_t **r1,
               h_reply_t **r2)
{
    void *s1 = h_socket(ZMQ_DEALER), *s2 = h_socket(ZMQ_DEALER);
    H_ASSERT(zmq_connect(s1, h_replica(i)->endpoint) == 0
             && zmq_connect(s2, h_replica(k)->endpoint) == 0, "connect");
    /*  Both connected before either is sent: a round trip each. */
    msgpack_sbuffer *ping = h_body("{s:s}", "op", "cluster.info");
    void *socks[2] = { s1, s2 };
    for (int n = 0; n < 2; n++) {
        send_body(socks[n], ping->data, ping->size);
        h_reply_t *w = recv_reply(socks[n]);
        h_reply_free(&w);
    }
    msgpack_sbuffer_free(ping);
    /*  Both delimiters first, so that the two bodies leave back to back. */
    zmq_send(s1, "", 0, ZMQ_SNDMORE);
    zmq_send(s2, "", 0, ZMQ_SNDMORE);
    zmq_send(s1, b1->data, b1->size, 0);
    zmq_send(s2, b2->data, b2->size, 0);
    *r1 = recv_reply(s1);
    *r2 = recv_reply(s2);
    h_close(&s1);
    h_close(&s2);
    msgpack_sbuffer_free(b1);
    msgpack_sbuffer_free(b2);
}

/*  h_vcall, failing at the caller's file and line (set to its base name)
    when no reply comes: h_ok and h_err report where the test called them. */
static h_reply_t *vcall_at(const char **file, int line, int i, const char *fmt, va_list *ap)
{
    h_reply_t *r = h_vcall(i, H_CALL_MS, fmt, ap);
    const char *slash = strrchr(*file, '/');
    if (slash)
        *file = slash + 1;
    H_ASSERT(r, "%s:%d: replica %s: no reply", *file, line, h_state.r[i].id);
    return r;
}

h_reply_t *h_ok_at(const char *file, int line, int i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    h_reply_t *r = vcall_at(&file, line, i, fmt, &ap);
    va_end(ap);
    if (!r->ok) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s: %s", r->code, r->message);
        h_reply_free(&r);
        H_ASSERT(false, "%s:%d: replica %s: %s", file, line, h_state.r[i].id, msg);
    }
    H_ASSERT(r->result && r->result->type == MSGPACK_OBJECT_MAP,
             "%s:%d: replica %s: ok without a result map", file, line, h_state.r[i].id);
    return r;
}

void h_err_at(const char *file, int line, int i, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    h_reply_t *r = vcall_at(&file, line, i, fmt, &ap);
    va_end(ap);
    char got[600];
    snprintf(got, sizeof got, "%s (%s)", r->ok ? "ok" : r->code, r->message);
    bool match = !r->ok && strcmp(r->code, code) == 0;
    h_reply_free(&r);
    H_ASSERT(match, "%s:%d: replica %s: expected %s, got %s", file, line, h_state.r[i].id, code,
             got);
}

h_reply_t *h_raw(int i, const void *body, size_t size, int timeout_ms)
{
    h_replica_t *r = h_replica(i);
    if (!r->sock)
        h_reconnect(i);
    send_body(r->sock, body, size);
    size_t n;
    char *b = recv_body(r->sock, timeout_ms, &n);
    if (!b)
        return NULL;
    h_reply_t *rep = h_reply_parse(b, n);
    free(b);
    H_ASSERT(rep, "replica %s: a reply that is not a msgpack map", r->id);
    return rep;
}
