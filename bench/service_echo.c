/*  service_echo.c — the bare zmq ROUTER the service's figures are measured
    against: what any server on the wire protocol must do for a request
    (receive it, send a reply of the real reply's size) and nothing more.
    get's echo answers every request with the same body; floor's puts the
    request's rid into each reply, which metactl load needs to match replies
    to requests. */
#include "service_bench.h"

#include "mt_codec.h"

#include <unistd.h>

/*  {"ok": true, "rid": rid, "result": e->blob}: the key order of the
    replica's own replies (codec_reply.c); blob is a packed result. */
static void pack_reply(const echo_t *e, msgpack_sbuffer *sb, uint64_t rid)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_sbuffer_clear(sb);
    msgpack_pack_map(&pk, 3);
    cli_pack_str(&pk, "ok");
    msgpack_pack_true(&pk);
    cli_pack_str(&pk, "rid");
    msgpack_pack_uint64(&pk, rid);
    cli_pack_str(&pk, "result");
    msgpack_sbuffer_write(sb, e->blob, e->size);
}

/*  f[0] identity, f[1] delimiter, f[2] body: the identity goes back (the
    message is sent, so not closed here), then the reply. */
static void answer(echo_t *e, void *s, zmq_msg_t *f, msgpack_sbuffer *sb)
{
    uint64_t rid = 0;
    if (e->with_rid && !mt_codec_peek_rid(zmq_msg_data(&f[2]), zmq_msg_size(&f[2]), &rid)) {
        zmq_msg_close(&f[0]);
        return;                     /* no rid: nothing to match it with */
    }
    zmq_msg_send(&f[0], s, ZMQ_SNDMORE);
    zmq_send(s, "", 0, ZMQ_SNDMORE);
    if (e->with_rid) {
        pack_reply(e, sb, rid);
        zmq_send(s, sb->data, sb->size, 0);
    }
    else
        zmq_send(s, e->blob, e->size, 0);
    e->requests++;
}

static void *echo_main(void *arg)
{
    echo_t *e = arg;
    void *s = zmq_socket(cli_zctx(), ZMQ_ROUTER);
    int hwm = 100000, zero = 0;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (g_curve.on) {               /* no ZAP handler here: any client key is admitted */
        int one = 1;
        if (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one) != 0
            || zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, g_curve.server_sec, 40) != 0)
            bp_die("echo: CURVE: %s", zmq_strerror(errno));
    }
    if (zmq_bind(s, e->endpoint) != 0)
        bp_die("echo: cannot bind %s: %s", e->endpoint, zmq_strerror(errno));
    atomic_store(&e->bound, true);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zmq_msg_t f[4];
    while (!atomic_load(&e->stop)) {
        zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        for (;;) {
            int n = 0, more = 1;
            bool got = true;
            while (more) {
                zmq_msg_t *m = &f[n < 3 ? n : 3];
                zmq_msg_init(m);
                if (zmq_msg_recv(m, s, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                    zmq_msg_close(m);
                    got = false;
                    break;
                }
                more = zmq_msg_more(m);
                if (n >= 3)
                    zmq_msg_close(m);   /* extra frames: dropped */
                n++;
            }
            if (!got)
                break;
            if (n >= 3)
                answer(e, s, f, &sb);
            else
                zmq_msg_close(&f[0]);
            for (int i = 1; i < n && i < 3; i++)
                zmq_msg_close(&f[i]);
        }
    }
    msgpack_sbuffer_destroy(&sb);
    zmq_close(s);
    return NULL;
}

void echo_start(echo_t *e)
{
    if (pthread_create(&e->thread, NULL, echo_main, e) != 0)
        bp_die("pthread_create");
    while (!atomic_load(&e->bound))
        sleep_us(1000);
}

void echo_stop(echo_t *e)
{
    atomic_store(&e->stop, true);
    pthread_join(e->thread, NULL);
}
