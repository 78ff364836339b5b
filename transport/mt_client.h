/*  mt_client.h — a small client of the protocol: one DEALER socket, calls
    with a timeout, replies matched by rid. Used by metactl and by remote
    cluster refresh. Not thread-safe: one client per thread. */
#ifndef MT_CLIENT_H_INCLUDED
#define MT_CLIENT_H_INCLUDED

#include <msgpack.h>
#include <zmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct mt_client mt_client_t;

/*  Packs the operation's arguments: exactly `nargs` key/value pairs. */
typedef void (mt_client_pack_fn) (msgpack_packer *pk, void *arg);

typedef struct {
    msgpack_unpacked unpacked;      /* the objects below; they point into `body` */
    char *body;
    size_t size;
    bool ok;
    const msgpack_object *result;   /* ok: the "result" map */
    char code[32];                  /* not ok: error code ("not_found", ...) */
    char message[256];
} mt_reply_t;

/*  How to connect. With server_key the connection is CURVE-encrypted and
    the server must hold that key (pinned: a server with another key never
    answers); the client presents public_key/secret_key, or a fresh
    keypair when they are NULL. Keys are Z85 text (40 characters), checked
    by libzmq. Replies longer than max_reply are not read: libzmq drops the
    connection instead (ZMQ_MAXMSGSIZE), so a hostile server cannot make
    the client allocate what it likes. */
typedef struct {
    const char *endpoint;
    const char *server_key;         /* NULL or "": plain */
    const char *public_key;         /* client keypair, or NULL */
    const char *secret_key;
    int64_t max_reply;              /* bytes; 0 = MT_CLIENT_MAX_REPLY_DEFAULT */
} mt_client_opts_t;

#define MT_CLIENT_MAX_REPLY_DEFAULT (256ll * 1024 * 1024)

/*  NULL when the endpoint or a key is invalid. */
mt_client_t *mt_client_new_opts(const mt_client_opts_t *opts);
/*  A plain client (mt_client_new_opts with the endpoint only). */
mt_client_t *mt_client_new(const char *endpoint);
void mt_client_destroy(mt_client_t **c_p);

/*  Sends {"op": op, "rid": n, <args>} and waits for the matching reply.
    Returns MT_OK (then see reply->ok), MT_ETIMEDOUT, or MT_EBADREQ when the
    reply is not a valid reply map. Free the reply with mt_reply_free. */
int mt_client_call(mt_client_t *c, const char *op, uint32_t nargs, mt_client_pack_fn *pack,
                   void *arg, int timeout_ms, mt_reply_t *reply);
void mt_reply_free(mt_reply_t *reply);

/*  The value of key in a msgpack map object, the first if repeated (an
    answer from a replica never repeats one); NULL if absent or not a map.
    (The codec reads untrusted requests with the opposite rule: the last
    one wins, mt__codec_map_last.) */
const msgpack_object *mt_client_map_first(const msgpack_object *map, const char *key);

/*  Receives one whole notice from a SUB socket without waiting: its first
    two frames into topic and body (initialised by the caller), any others
    dropped (a notice has two; a hostile publisher may send more). Returns
    the number of frames, 0 when nothing is waiting, -1 on EINTR before the
    first frame or another error. metactl watch and the informer read
    notices with it. */
int mt_client_recv_notice(void *sub, zmq_msg_t *topic, zmq_msg_t *body);

#endif
