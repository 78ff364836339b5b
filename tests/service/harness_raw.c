/*  harness_raw.c — requests on bare REQ and DEALER sockets, framed by hand
    as PROTOCOL.md says a client in another language would frame them. */
#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <zmq.h>

void *h_raw_connect(int type, int i)
{
    void *s = h_socket(type);
    ck_assert_int_eq(zmq_connect(s, h_replica(i)->endpoint), 0);
    return s;
}

/*  One reply of s: how many frames it had; the first two are kept. */
typedef struct {
    int n;
    char *frame[2];
    size_t size[2];
} reply_frames_t;

static void recv_reply(void *s, reply_frames_t *f, const char *who)
{
    f->n = h_recv_msg(s, H_CALL_MS, f->frame, f->size, 2);
    H_ASSERT(f->n >= 0, "%s: recv: %s", who, zmq_strerror(errno));
    H_ASSERT(f->n > 0, "%s: no reply", who);
}

static void frames_free(reply_frames_t *f)
{
    for (int k = 0; k < f->n && k < 2; k++)
        free(f->frame[k]);
}

h_reply_t *h_raw_req_call(void *s, const void *body, size_t size)
{
    H_ASSERT(zmq_send(s, body, size, 0) == (int) size, "REQ send");
    reply_frames_t f;
    recv_reply(s, &f, "REQ");
    H_ASSERT(f.n == 1, "REQ: the reply is one frame, not %d", f.n);
    h_reply_t *r = h_reply_parse(f.frame[0], f.size[0]);
    frames_free(&f);
    H_ASSERT(r, "REQ: the reply is not a msgpack map");
    return r;
}

void h_raw_dealer_send(void *s, const void *body, size_t size)
{
    H_ASSERT(zmq_send(s, "", 0, ZMQ_SNDMORE) == 0, "DEALER send delimiter");
    H_ASSERT(zmq_send(s, body, size, 0) == (int) size, "DEALER send body");
}

h_reply_t *h_raw_dealer_recv(void *s)
{
    reply_frames_t f;
    recv_reply(s, &f, "DEALER");
    H_ASSERT(f.n == 2 && f.size[0] == 0,
             "DEALER: the reply is [empty delimiter, body], got %d frames", f.n);
    h_reply_t *r = h_reply_parse(f.frame[1], f.size[1]);
    frames_free(&f);
    H_ASSERT(r, "DEALER: the reply is not a msgpack map");
    return r;
}

h_reply_t *h_raw_dealer_call(void *s, const void *body, size_t size)
{
    h_raw_dealer_send(s, body, size);
    return h_raw_dealer_recv(s);
}
