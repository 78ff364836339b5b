/*  harness_notice.c — the tests' own zmq sockets (closed by h_teardown,
    since zmq_ctx_term would wait for an open one forever) and the notices
    a SUB socket receives (see harness.h). */
#include "harness_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

void *h_socket(int type)
{
    ck_assert_int_lt(h_state.nsocks, (int) (sizeof h_state.socks / sizeof h_state.socks[0]));
    void *s = zmq_socket(h_state.zctx, type);
    ck_assert_ptr_nonnull(s);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    hi_curve_default(s, type);
    h_state.socks[h_state.nsocks++] = s;
    return s;
}

void h_close(void **s)
{
    for (int i = 0; i < h_state.nsocks; i++)
        if (h_state.socks[i] == *s) {
            hi_close_sock(&h_state.socks[i]);
            h_state.socks[i] = h_state.socks[--h_state.nsocks];
            break;
        }
    *s = NULL;
}

int h_recv_msg(void *sock, int timeout_ms, char **frames, size_t *sizes, int max)
{
    zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
    int64_t deadline = h_now_ms() + timeout_ms;
    int rc;
    do {
        int64_t left = deadline - h_now_ms();
        if (left < 0)
            return 0;
        rc = zmq_poll(&item, 1, (long) left);
    } while (rc < 0 && errno == EINTR);
    if (rc <= 0)
        return 0;
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            zmq_msg_close(&m);
            if (errno == EINTR)
                continue;
            for (int k = 0; k < n && k < max; k++)
                free(frames[k]);
            return -1;
        }
        if (n < max) {
            sizes[n] = zmq_msg_size(&m);
            frames[n] = malloc(sizes[n] + 1);
            memcpy(frames[n], zmq_msg_data(&m), sizes[n]);
            frames[n][sizes[n]] = '\0';
        }
        n++;
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    return n;
}

void *h_sub(int i, const char *prefix)
{
    void *s = h_socket(ZMQ_SUB);
    ck_assert_int_eq(zmq_setsockopt(s, ZMQ_SUBSCRIBE, prefix, strlen(prefix)), 0);
    ck_assert_int_eq(zmq_connect(s, h_replica(i)->pub_endpoint), 0);
    return s;
}

h_reply_t *h_sub_recv(void *sub, char **topic, int timeout_ms)
{
    char *frames[4] = { 0 };
    size_t sizes[4] = { 0 };
    int n = h_recv_msg(sub, timeout_ms, frames, sizes, 4);
    if (n == 0)
        return NULL;
    H_ASSERT(n == 2, "a notice has %d frames (expected topic and body)", n);
    h_reply_t *body = h_reply_parse(frames[1], sizes[1]);
    H_ASSERT(body, "a notice body that is not a msgpack map (topic %s)", frames[0]);
    if (topic)
        *topic = frames[0];
    else
        free(frames[0]);
    free(frames[1]);
    return body;
}
