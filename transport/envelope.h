/*  envelope.h — a ROUTER request's routing frames, kept to answer it
    (internal to the transport; the gateway's).

    The frames stay the zmq_msg_t's libzmq received: a routing id fits
    inside one, so keeping a request's envelope allocates nothing, and the
    answer goes back through the same frames. At most MT__ENVELOPE_MAX:
    the client's id, REQ's empty delimiter, a few proxies between. */
#ifndef MT_ENVELOPE_H_INCLUDED
#define MT_ENVELOPE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <zmq.h>

#define MT__ENVELOPE_MAX 8

typedef struct {
    zmq_msg_t frames[MT__ENVELOPE_MAX];
    int n;                          /* 0 once sent or closed */
} mt__envelope_t;

/*  One request off sock (a ROUTER with rcvtimeo 0): 1 with its envelope
    and body (the caller closes both), 0 when none waits, -1 when one was
    read and dropped: more than MT__ENVELOPE_MAX routing frames, beyond the
    bound (a ROUTER gives every message its routing id, so none comes
    without an envelope). */
int mt__envelope_recv(void *sock, mt__envelope_t *env, zmq_msg_t *body);
/*  Sends the envelope's frames, then size bytes of data, to sock; env is
    consumed either way. false: not sent (the client is gone, or its queue
    is full: ROUTER_MANDATORY, never blocking). */
bool mt__envelope_send(mt__envelope_t *env, void *sock, const void *data, size_t size);
/*  Moves src's frames to dst (which holds none); src is left empty. */
void mt__envelope_move(mt__envelope_t *dst, mt__envelope_t *src);
void mt__envelope_close(mt__envelope_t *env);
/*  The connection's routing id (the first frame) in hex, cut to fit cap. */
void mt__envelope_key(const mt__envelope_t *env, char *key, size_t cap);

#endif
