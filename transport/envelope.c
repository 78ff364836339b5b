/*  envelope.c — see envelope.h. */
#include "envelope.h"

int mt__envelope_recv(void *sock, mt__envelope_t *env, zmq_msg_t *body)
{
    env->n = 0;
    bool deep = false;
    zmq_msg_init(body);
    if (zmq_msg_recv(body, sock, 0) < 0) {
        zmq_msg_close(body);
        return 0;
    }
    /*  The rest of a multipart message is there once its first frame is. */
    while (zmq_msg_more(body)) {
        if (env->n < MT__ENVELOPE_MAX) {
            zmq_msg_init(&env->frames[env->n]);
            zmq_msg_move(&env->frames[env->n++], body);
        }
        else
            deep = true;
        if (zmq_msg_recv(body, sock, 0) < 0)
            break;                  /* only when the context ends */
    }
    if (env->n > 0 && !deep && !zmq_msg_more(body))
        return 1;
    mt__envelope_close(env);
    zmq_msg_close(body);
    return -1;
}

bool mt__envelope_send(mt__envelope_t *env, void *sock, const void *data, size_t size)
{
    /*  Only the first frame can fail: it picks the connection. */
    int i = 0;
    while (i < env->n && zmq_msg_send(&env->frames[i], sock, ZMQ_SNDMORE) >= 0)
        i++;
    bool sent = i == env->n && zmq_send(sock, data, size, 0) >= 0;
    for (; i < env->n; i++)
        zmq_msg_close(&env->frames[i]);
    env->n = 0;
    return sent;
}

void mt__envelope_move(mt__envelope_t *dst, mt__envelope_t *src)
{
    for (int i = 0; i < src->n; i++) {
        zmq_msg_init(&dst->frames[i]);
        zmq_msg_move(&dst->frames[i], &src->frames[i]);
        zmq_msg_close(&src->frames[i]);
    }
    dst->n = src->n;
    src->n = 0;
}

void mt__envelope_close(mt__envelope_t *env)
{
    for (int i = 0; i < env->n; i++)
        zmq_msg_close(&env->frames[i]);
    env->n = 0;
}

void mt__envelope_key(const mt__envelope_t *env, char *key, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    zmq_msg_t *id = (zmq_msg_t *) &env->frames[0];   /* libzmq's getters take no const */
    size_t n = zmq_msg_size(id) < (cap - 1) / 2 ? zmq_msg_size(id) : (cap - 1) / 2;
    const unsigned char *b = zmq_msg_data(id);
    for (size_t i = 0; i < n; i++) {
        key[2 * i] = hex[b[i] >> 4];
        key[2 * i + 1] = hex[b[i] & 15];
    }
    key[2 * n] = '\0';
}
