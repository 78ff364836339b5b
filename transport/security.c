/*  security.c — the replica's certificate, its trust store and its ZAP
    handler, and the socket options that put them to use (mt_security.h). */
#include "mt_security.h"
#include "zap.h"

#include <stdio.h>
#include <string.h>

struct mt_security {
    zcert_t *cert;
    mt_trust_t *trust;
    zactor_t *zap;
    _Atomic uint64_t refused;
};

int mt_security_new(const char *cert_file, const char *trust_dir, mt_security_t **out,
                    char *err, size_t errlen)
{
    *out = NULL;
    mt_security_t *s = calloc(1, sizeof *s);
    if (!s)
        return MT_ENOMEM;
    s->cert = zcert_load(cert_file);
    if (!s->cert || strcmp(zcert_secret_txt(s->cert), "0000000000000000000000000000000000000000") == 0) {
        /*  zcert_load falls back to the public file alone; a server needs
            the secret, which lives in FILE_secret. */
        snprintf(err, errlen, "security: cannot load the certificate %s with its secret %s_secret",
                 cert_file, cert_file);
        mt_security_destroy(&s);
        return MT_EINVAL;
    }
    s->trust = mt_trust_new(trust_dir, 1000);
    if (!s->trust) {
        snprintf(err, errlen, "security: the trust store %s is not a readable directory", trust_dir);
        mt_security_destroy(&s);
        return MT_EINVAL;
    }
    s->zap = mt__zap_start(s->trust, &s->refused);
    if (!s->zap) {
        snprintf(err, errlen, "security: cannot start the ZAP handler (is another one bound?)");
        mt_security_destroy(&s);
        return MT_ESYSTEM;
    }
    *out = s;
    return MT_OK;
}

void mt_security_destroy(mt_security_t **sec_p)
{
    mt_security_t *s = *sec_p;
    if (!s)
        return;
    *sec_p = NULL;
    zactor_destroy(&s->zap);
    mt_trust_destroy(&s->trust);
    zcert_destroy(&s->cert);        /* czmq frees the secret key with it */
    free(s);
}

const char *mt_security_public_key(const mt_security_t *s)
{
    return zcert_public_txt(s->cert);
}

mt_trust_t *mt_security_trust(mt_security_t *s)
{
    return s->trust;
}

void mt_security_serve(mt_security_t *s, zsock_t *sock, const char *domain)
{
    zcert_apply(s->cert, sock);
    zsock_set_curve_server(sock, 1);
    zsock_set_zap_domain(sock, domain);
}

int mt_security_client(mt_security_t *s, zsock_t *sock, const char *server_key)
{
    if (!server_key || strlen(server_key) != MT_KEY_Z85_LEN)
        return MT_EINVAL;
    zcert_apply(s->cert, sock);
    return zmq_setsockopt(zsock_resolve(sock), ZMQ_CURVE_SERVERKEY, server_key,
                          MT_KEY_Z85_LEN) == 0 ? MT_OK : MT_EINVAL;
}

mt_role_t mt_security_sender(mt_security_t *s, zmq_msg_t *frame, char *node)
{
    const char *key = zmq_msg_gets(frame, "User-Id");
    return mt_trust_lookup(s->trust, key, node);
}

uint64_t mt_security_refused(const mt_security_t *s)
{
    return atomic_load_explicit(&((mt_security_t *) s)->refused, memory_order_relaxed);
}
