/*  client.c — calls over a DEALER socket. A timed-out call's late reply is
    told apart by its rid and discarded by the next call. */
#include "mt_client.h"
#include "mt_codec.h"

#include <czmq.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct mt_client {
    zsock_t *sock;
    uint64_t next_rid;
    msgpack_sbuffer buf;
};

/*  CURVE client options; false when libzmq refuses a key (not Z85, or
    not 40 characters). zmq_setsockopt with a 40-byte value decodes Z85
    itself, so keys are never parsed here. */
static bool set_curve(zsock_t *s, const mt_client_opts_t *o)
{
    void *h = zsock_resolve(s);
    const char *pub = o->public_key, *sec = o->secret_key;
    char gen_pub[41], gen_sec[41];
    if (!pub || !*pub || !sec || !*sec) {
        if (zmq_curve_keypair(gen_pub, gen_sec) != 0)
            return false;
        pub = gen_pub;
        sec = gen_sec;
    }
    bool ok = strlen(o->server_key) == 40 && strlen(pub) == 40 && strlen(sec) == 40
              && zmq_setsockopt(h, ZMQ_CURVE_SERVERKEY, o->server_key, 40) == 0
              && zmq_setsockopt(h, ZMQ_CURVE_PUBLICKEY, pub, 40) == 0
              && zmq_setsockopt(h, ZMQ_CURVE_SECRETKEY, sec, 40) == 0;
    explicit_bzero(gen_sec, sizeof gen_sec);
    return ok;
}

mt_client_t *mt_client_new_opts(const mt_client_opts_t *opts)
{
    mt_client_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->sock = zsock_new(ZMQ_DEALER);
    if (!c->sock) {
        free(c);
        return NULL;
    }
    zsock_set_linger(c->sock, 0);
    zsock_set_maxmsgsize(c->sock, opts->max_reply > 0 ? opts->max_reply
                                                      : MT_CLIENT_MAX_REPLY_DEFAULT);
    if ((opts->server_key && *opts->server_key && !set_curve(c->sock, opts))
        || zsock_connect(c->sock, "%s", opts->endpoint) != 0) {
        zsock_destroy(&c->sock);
        free(c);
        return NULL;
    }
    c->next_rid = 1;
    msgpack_sbuffer_init(&c->buf);
    return c;
}

mt_client_t *mt_client_new(const char *endpoint)
{
    mt_client_opts_t o = { .endpoint = endpoint };
    return mt_client_new_opts(&o);
}

void mt_client_destroy(mt_client_t **c_p)
{
    mt_client_t *c = *c_p;
    if (!c)
        return;
    *c_p = NULL;
    zsock_destroy(&c->sock);
    msgpack_sbuffer_destroy(&c->buf);
    free(c);
}

const msgpack_object *mt_client_map_first(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (mt_codec_str_is(&map->via.map.ptr[i].key, key))
            return &map->via.map.ptr[i].val;
    return NULL;
}

static void copy_str(char *dst, size_t cap, const msgpack_object *o)
{
    if (o && o->type == MSGPACK_OBJECT_STR) {
        size_t n = o->via.str.size < cap - 1 ? o->via.str.size : cap - 1;
        memcpy(dst, o->via.str.ptr, n);
        dst[n] = '\0';
    }
    else
        dst[0] = '\0';
}

/*  Parses a reply body; MT_OK when it is a reply map with our rid. */
static int parse(mt_reply_t *r, zframe_t *body, uint64_t rid)
{
    char err[128];
    if (mt_codec_check(zframe_data(body), zframe_size(body), err, sizeof err) != MT_OK)
        return MT_EBADREQ;
    /*  msgpack_unpack_next's strings point into the buffer: keep a copy. */
    free(r->body);
    r->size = zframe_size(body);
    r->body = malloc(r->size ? r->size : 1);
    if (!r->body)
        return MT_ENOMEM;
    memcpy(r->body, zframe_data(body), r->size);
    size_t off = 0;
    if (msgpack_unpack_next(&r->unpacked, r->body, r->size, &off) != MSGPACK_UNPACK_SUCCESS)
        return MT_EBADREQ;
    const msgpack_object *top = &r->unpacked.data;
    const msgpack_object *o = mt_client_map_first(top, "rid");
    if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 != rid)
        return MT_ENOENT;           /* someone else's (a timed-out call's) */
    const msgpack_object *ok = mt_client_map_first(top, "ok");
    if (!ok || ok->type != MSGPACK_OBJECT_BOOLEAN)
        return MT_EBADREQ;
    r->ok = ok->via.boolean;
    if (r->ok)
        r->result = mt_client_map_first(top, "result");
    else {
        const msgpack_object *e = mt_client_map_first(top, "error");
        copy_str(r->code, sizeof r->code, mt_client_map_first(e, "code"));
        copy_str(r->message, sizeof r->message, mt_client_map_first(e, "message"));
    }
    return MT_OK;
}

int mt_client_call(mt_client_t *c, const char *op, uint32_t nargs, mt_client_pack_fn *pack,
                   void *arg, int timeout_ms, mt_reply_t *reply)
{
    memset(reply, 0, sizeof *reply);
    msgpack_unpacked_init(&reply->unpacked);
    uint64_t rid = c->next_rid++;
    msgpack_sbuffer_clear(&c->buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &c->buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, nargs + 2);
    msgpack_pack_str_with_body(&pk, "op", 2);
    msgpack_pack_str_with_body(&pk, op, strlen(op));
    msgpack_pack_str_with_body(&pk, "rid", 3);
    msgpack_pack_uint64(&pk, rid);
    if (pack)
        pack(&pk, arg);
    zmsg_t *m = zmsg_new();
    zmsg_addmem(m, NULL, 0);        /* the delimiter, as REQ would send */
    zmsg_addmem(m, c->buf.data, c->buf.size);
    if (zmsg_send(&m, c->sock) != 0) {
        zmsg_destroy(&m);
        return MT_ECLOSED;
    }
    int64_t deadline = zclock_mono() + timeout_ms;
    for (;;) {
        int64_t left = deadline - zclock_mono();
        if (left <= 0)
            return MT_ETIMEDOUT;
        zmq_pollitem_t item = { zsock_resolve(c->sock), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&item, 1, (long) left) <= 0)
            continue;               /* timeout or EINTR: the loop decides */
        zmsg_t *in = zmsg_recv(c->sock);
        if (!in)
            continue;
        zframe_t *body = zmsg_last(in);
        int rc = body ? parse(reply, body, rid) : MT_EBADREQ;
        zmsg_destroy(&in);
        if (rc == MT_ENOENT) {
            msgpack_unpacked_destroy(&reply->unpacked);
            msgpack_unpacked_init(&reply->unpacked);
            continue;
        }
        return rc;
    }
}

void mt_reply_free(mt_reply_t *reply)
{
    msgpack_unpacked_destroy(&reply->unpacked);
    free(reply->body);
    memset(reply, 0, sizeof *reply);
}

int mt_client_recv_notice(void *sock, zmq_msg_t *topic, zmq_msg_t *body)
{
    int nframes = 0;
    int more = 1;
    while (more) {
        zmq_msg_t scratch;
        zmq_msg_t *f = nframes == 0 ? topic : nframes == 1 ? body : &scratch;
        if (f == &scratch)
            zmq_msg_init(&scratch);
        /*  Within a message the frames are all there: only the first
            receive may find nothing. */
        int rc = zmq_msg_recv(f, sock, nframes == 0 ? ZMQ_DONTWAIT : 0);
        if (rc < 0) {
            if (f == &scratch)
                zmq_msg_close(&scratch);
            if (nframes == 0 && errno == EAGAIN)
                return 0;
            if (errno == EINTR && nframes > 0)
                continue;           /* finish the message */
            return -1;
        }
        more = zmq_msg_more(f);
        if (f == &scratch)
            zmq_msg_close(&scratch);
        nframes++;
    }
    return nframes;
}
