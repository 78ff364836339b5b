/*  mt_security.h — CURVE on every socket of a replica (PROTOCOL.md,
    "Security").

    A replica with a certificate serves its request and publish endpoints
    as CURVE servers with its key, and a ZAP handler (zap.c) admits a
    client only if its public key is in the trust store (mt_trust.h) with a
    role that may use that endpoint: any role on the request endpoint
    (each request is then checked by mt_authz), admin, reader and replica
    on the publish endpoint. The replica subscribes to its peers as a CURVE
    client with the same certificate.

    Without a certificate there is no security object (NULL everywhere):
    sockets are plain, and every request is allowed — config refuses that
    on anything but loopback unless the operator says --insecure. */
#ifndef MT_SECURITY_H_INCLUDED
#define MT_SECURITY_H_INCLUDED

#include "mt_trust.h"

#include <czmq.h>

/*  ZAP domains: which endpoint a connection is for. */
#define MT_ZAP_REQUESTS "metactor.requests"
#define MT_ZAP_NOTICES "metactor.notices"

typedef struct mt_security mt_security_t;

/*  Loads the certificate (cert_file and cert_file_secret, zcert_load),
    opens the trust store and starts the ZAP handler. Call before any
    socket is bound, so no connection is ever admitted unchecked. */
int mt_security_new(const char *cert_file, const char *trust_dir, mt_security_t **out,
                    char *err, size_t errlen);
/*  Stops the ZAP handler; sockets made secure with it must be closed first. */
void mt_security_destroy(mt_security_t **sec_p);

/*  This replica's public key, Z85. */
const char *mt_security_public_key(const mt_security_t *sec);
mt_trust_t *mt_security_trust(mt_security_t *sec);

/*  Before bind: a CURVE server with this replica's key, in a ZAP domain. */
void mt_security_serve(mt_security_t *sec, zsock_t *sock, const char *domain);
/*  Before connect: a CURVE client with this replica's certificate, to a
    server holding server_key (Z85). MT_EINVAL if libzmq refuses the key. */
int mt_security_client(mt_security_t *sec, zsock_t *sock, const char *server_key);

/*  Who sent a frame received on a socket served by mt_security_serve, as
    the trust store says now (not as when the connection was made):
    MT_ROLE_NONE once the certificate was removed. node as mt_trust_lookup. */
mt_role_t mt_security_sender(mt_security_t *sec, zmq_msg_t *frame, char *node);

/*  Connections the ZAP handler refused since start. */
uint64_t mt_security_refused(const mt_security_t *sec);

#endif
