/*  mt_client.h — a small client of the protocol: one DEALER socket, calls
    with a timeout, replies matched by rid. Used by metactl and by remote
    cluster refresh. Not thread-safe: one client per thread. */
#ifndef MT_CLIENT_H_INCLUDED
#define MT_CLIENT_H_INCLUDED

#include <msgpack.h>
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

mt_client_t *mt_client_new(const char *endpoint);
void mt_client_destroy(mt_client_t **c_p);

/*  Sends {"op": op, "rid": n, <args>} and waits for the matching reply.
    Returns MT_OK (then see reply->ok), MT_ETIMEDOUT, or MT_EBADREQ when the
    reply is not a valid reply map. Free the reply with mt_reply_free. */
int mt_client_call(mt_client_t *c, const char *op, uint32_t nargs, mt_client_pack_fn *pack,
                   void *arg, int timeout_ms, mt_reply_t *reply);
void mt_reply_free(mt_reply_t *reply);

/*  Looks up key in a msgpack map object; NULL if absent or not a map. */
const msgpack_object *mt_map_get(const msgpack_object *map, const char *key);

#endif
