/*  zap.c — the ZAP handler (ZeroMQ RFC 27): libzmq asks it, for every
    CURVE handshake on this process's sockets, whether the client's key may
    connect to that socket's domain.

    Why not czmq's zauth: zauth has one policy for every socket of the
    context, so a node certificate admitted to the request endpoint would
    be admitted to the notice stream too; here the domain decides which
    roles may connect (mt_security.h). zauth also copies certificate
    metadata into a fixed 512-byte buffer; this handler sends none: the
    gateway asks the trust store for the sender of every request instead,
    so a revoked key loses its rights on connections already open.

    The handler answers with User-Id = the client's key in Z85, which
    libzmq attaches to every message of the connection (zframe_meta). A
    refused handshake is counted and logged at most every 10 s: a client
    with an untrusted key reconnects every 100 ms by default. */
#include "zap.h"
#include "mt_log.h"
#include "mt_security.h"

#include <string.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define LOG_EVERY_MS 10000

typedef struct {
    zsock_t *handler;
    mt_trust_t *trust;
    _Atomic uint64_t *refused;
    int64_t logged_at;
    uint64_t unlogged;
} zap_t;

static bool admits(const char *domain, mt_role_t role)
{
    if (strcmp(domain, MT_ZAP_REQUESTS) == 0)
        return role != MT_ROLE_NONE;
    if (strcmp(domain, MT_ZAP_NOTICES) == 0)
        return role == MT_ROLE_ADMIN || role == MT_ROLE_READER || role == MT_ROLE_REPLICA;
    return false;
}

static void refused(zap_t *z, const char *domain, const char *key, mt_role_t role)
{
    atomic_fetch_add_explicit(z->refused, 1, memory_order_relaxed);
    z->unlogged++;
    int64_t now = zclock_mono();
    if (now - z->logged_at < LOG_EVERY_MS)
        return;
    mt_log_warning("zap: refused %llu connection(s), the last to %s from key %s (%s)",
                 (unsigned long long) z->unlogged, domain, key,
                 role == MT_ROLE_NONE ? "not trusted" : mt_role_name(role));
    z->logged_at = now;
    z->unlogged = 0;
}

/*  One request: version, request id, domain, address, routing id,
    mechanism, credentials. A REP socket must answer each, malformed or not. */
static void handle(zap_t *z)
{
    zmsg_t *req = zmsg_recv(z->handler);
    if (!req)
        return;
    char *version = zmsg_popstr(req), *id = zmsg_popstr(req), *domain = zmsg_popstr(req);
    char *address = zmsg_popstr(req), *routing = zmsg_popstr(req), *mech = zmsg_popstr(req);
    zframe_t *cred = zmsg_pop(req);
    char key[MT_KEY_Z85_LEN + 1] = "";
    bool ok = false;
    if (version && strcmp(version, "1.0") == 0 && domain && mech && strcmp(mech, "CURVE") == 0
        && cred && zframe_size(cred) == 32 && zmq_z85_encode(key, zframe_data(cred), 32)) {
        mt_role_t role = mt_trust_lookup(z->trust, key, NULL);
        ok = admits(domain, role);
        if (!ok)
            refused(z, domain, key, role);
    }
    zmsg_t *rep = zmsg_new();
    zmsg_addstr(rep, "1.0");
    zmsg_addstr(rep, id ? id : "");
    zmsg_addstr(rep, ok ? "200" : "400");
    zmsg_addstr(rep, ok ? "OK" : "No access");
    zmsg_addstr(rep, ok ? key : "");
    zmsg_addmem(rep, NULL, 0);                  /* no metadata */
    if (zmsg_send(&rep, z->handler) != 0)
        zmsg_destroy(&rep);
    zframe_destroy(&cred);
    zmsg_destroy(&req);
    zstr_free(&version); zstr_free(&id); zstr_free(&domain);
    zstr_free(&address); zstr_free(&routing); zstr_free(&mech);
}

static void run(zsock_t *pipe, void *arg)
{
    zap_t *z = arg;
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(pipe, z->handler, NULL);
    for (;;) {
        void *which = zpoller_wait(poller, -1);
        if (which == z->handler)
            handle(z);
        else if (which == pipe) {
            char *cmd = zstr_recv(pipe);
            bool term = !cmd || strcmp(cmd, "$TERM") == 0;
            zstr_free(&cmd);
            if (term)
                break;
        }
        else if (zpoller_terminated(poller))
            break;
    }
    zpoller_destroy(&poller);
    zsock_destroy(&z->handler);
    free(z);
}

zactor_t *mt__zap_start(mt_trust_t *trust, _Atomic uint64_t *refused_ctr)
{
    zap_t *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    z->trust = trust;
    z->refused = refused_ctr;
    z->logged_at = -LOG_EVERY_MS;
    z->handler = zsock_new(ZMQ_REP);
    if (!z->handler || zsock_bind(z->handler, ZAP_ENDPOINT) != 0) {
        zsock_destroy(&z->handler);
        free(z);
        return NULL;
    }
    zactor_t *a = zactor_new(run, z);
    if (!a) {
        zsock_destroy(&z->handler);
        free(z);
    }
    return a;
}
