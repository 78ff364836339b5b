/*  gateway.c — the request endpoint (ROUTER) on a pinned actor.

    Messages handled:
      (socket)          a request: decoded (mt_codec), then asked of the
                        actor that owns the operation — never waited for, so
                        thousands may be in flight; the envelope (routing
                        frames) is kept under the ask's correlation id.
      MT_NODE_REPLY, MT_RC_REPLY, MT_CLUSTER_INFO
                        an answer: encoded and sent to the envelope it
                        belongs to, echoing the request's rid.
      MT_MSG_TIMEOUT    no answer in request_timeout_ms: `unavailable`.

    Admission: at most max_inflight requests are in flight in all, and
    max_inflight_client from one connection (its routing id); past either
    a request is answered `busy` before it is even decoded, and nothing is
    done. Node requests carry their deadline, so work whose client was
    answered `unavailable` is not started (node.c). Replies to a client
    that does not read are dropped at the socket's high-water mark and
    counted (ROUTER_MANDATORY), rather than piling up in memory. A
    request's routing frames are kept as libzmq received them (envelope.c),
    at most 8; one with more is dropped and counted the same way.

    The socket lives and dies on this actor's thread (zmq sockets are not
    thread-safe); it is created and bound by mt_gateway_new so a bind
    error reaches the caller, and handed over before the thread starts.
    ROUTER never blocks on send: a reply to a client that has gone is
    dropped by libzmq. Bodies up to max_body are decoded; up to 4×max_body
    they get `too_large`; beyond that libzmq (ZMQ_MAXMSGSIZE) drops the
    connection without reading the rest into memory. */
#include "mt_gateway.h"
#include "envelope.h"
#include "mt_counter.h"
#include "mt_alloc.h"
#include "mt_authz.h"
#include "mt_metrics.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define BURST 256                   /* requests read per wake-up (fairness) */
#define STATS_CAP 64

/*  One client connection's requests in flight; gone when none are. */
typedef struct {
    uint32_t inflight;
    char key[];                     /* its routing id in hex (the hash key) */
} client_t;

typedef struct {
    uint64_t corr;
    client_t *client;
    mt__envelope_t envelope;        /* routing frames, delimiter included */
    mt_op_t op;
    bool has_rid;
    uint64_t rid;
    uint64_t started_us;            /* for the request latency histogram */
} pending_t;

typedef struct {
    zsock_t *sock;
    mt_gateway_opts_t opts;
    zhashx_t *pending;              /* corr → pending_t */
    zhashx_t *clients;              /* routing id (hex) → client_t, while in flight */
    msgpack_sbuffer buf;
    mt_gateway_counters_t *ctr;     /* opts.counters, or own */
    mt_gateway_counters_t own;
} gateway_t;


/* ---- pending table: keys are the uint64 corr inside each entry ---------- */

static size_t corr_hash(const void *key)
{
    uint64_t k = *(const uint64_t *) key;
    return (size_t) (k * 0x9E3779B97F4A7C15ull >> 16);
}

static int corr_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

static void pending_free(void **item)
{
    pending_t *p = *item;
    if (!p)
        return;
    mt__envelope_close(&p->envelope);
    free(p);
    *item = NULL;
}

/* ---- admission ---------------------------------------------------------- */

static void client_free(void **item)
{
    free(*item);
    *item = NULL;
}

/*  The connection's counter, made on its first request in flight. */
static client_t *client_new(gateway_t *g, const char *key)
{
    size_t n = strlen(key) + 1;
    client_t *c = mt_xcalloc(1, sizeof *c + n);
    memcpy(c->key, key, n);
    zhashx_insert(g->clients, c->key, c);
    return c;
}

static void client_release(gateway_t *g, client_t *c)
{
    if (c && --c->inflight == 0)
        zhashx_delete(g->clients, c->key);
}

/*  Whether another request from client c (NULL: none in flight) may
    start now; false means `busy`. */
static bool admit(const gateway_t *g, const client_t *c)
{
    return zhashx_size(g->pending) < g->opts.max_inflight
           && (!c || c->inflight < g->opts.max_inflight_client);
}

/* ---- replies ----------------------------------------------------------- */

/*  Sends the packed buffer to the envelope (consumed): a client gone or
    not reading loses its reply (counted). */
static void send_to(gateway_t *g, mt__envelope_t *env)
{
    if (!mt__envelope_send(env, zsock_resolve(g->sock), g->buf.data, g->buf.size))
        mt_counter_add(&g->ctr->dropped, 1);
}

static void reply_error(gateway_t *g, mt__envelope_t *envelope, bool has_rid, uint64_t rid,
                        int err, const char *message)
{
    mt_counter_add(&g->ctr->errors, 1);
    mt_codec_encode_error(&g->buf, has_rid, rid, err, message);
    send_to(g, envelope);
}

uint32_t mt_gateway_stats(mt_runtime_t *rt, mt_gateway_counters_t *c, mt_security_t *sec,
                          mt_stat_t *out, uint32_t cap)
{
    mt_stats_t s;
    mt_runtime_stats(rt, &s);
    uint64_t runs = 0;
    for (int i = 0; i < s.workers; i++)
        runs += s.worker_runs[i];
    mt_stat_t own[] = {
        { "actors", s.actors_alive },
        { "actors_spawned", s.actors_spawned },
        { "messages_sent", s.msgs_sent },
        { "messages_delivered", s.msgs_delivered },
        { "messages_dropped", s.msgs_dropped },
        /*  Sent and not yet handled or dropped: the runtime's mailbox depth. */
        { "mailbox_depth", s.msgs_sent > s.msgs_delivered + s.msgs_dropped
                               ? s.msgs_sent - s.msgs_delivered - s.msgs_dropped : 0 },
        { "timers", s.timers_armed },
        { "workers", (uint64_t) s.workers },
        { "worker_runs", runs },
        { "steals", s.steals },
        { "parks", s.parks },
        { "requests", mt_counter_get(&c->requests) },
        { "requests_in_flight", mt_counter_get(&c->in_flight) },
        { "request_errors", mt_counter_get(&c->errors) },
        { "request_timeouts", mt_counter_get(&c->timeouts) },
        { "requests_unauthorized", mt_counter_get(&c->unauthorized) },
        { "requests_busy", mt_counter_get(&c->busy) },
        { "replies_dropped", mt_counter_get(&c->dropped) },
        { "connections_refused", sec ? mt_security_refused(sec) : 0 },
        { "trusted_certificates", sec ? mt_trust_size(mt_security_trust(sec)) : 0 },
    };
    uint32_t n = 0;
    for (size_t i = 0; i < sizeof own / sizeof own[0] && n < cap; i++)
        out[n++] = own[i];
    return n;
}

static uint32_t collect_stats(gateway_t *g, mt_actor_t *self, mt_stat_t *out, uint32_t cap)
{
    uint32_t n = mt_gateway_stats(mt_actor_runtime(self), g->ctr, g->opts.security, out, cap);
    if (g->opts.stats_fn)
        n += g->opts.stats_fn(g->opts.stats_arg, out + n, cap - n);
    return n;
}

/* ---- requests ---------------------------------------------------------- */

/*  The connection a request came on, looked up once per request. */
typedef struct {
    char key[2 * 255 + 1];
    client_t *c;                    /* NULL until it has a request in flight */
} sender_t;

static void ask(mt_actor_t *self, gateway_t *g, mt_actor_t *to, mt_msg_t *msg,
                mt__envelope_t *envelope, const mt_request_t *req, sender_t *from)
{
    pending_t *p = mt_xcalloc(1, sizeof *p);
    if (!from->c)
        from->c = client_new(g, from->key);
    p->client = from->c;
    p->client->inflight++;
    if (msg && msg->type == MT_NODE_REQ)
        mt_node_req(msg)->deadline_ms = (int64_t) mt_now_ms() + g->opts.request_timeout_ms;
    mt__envelope_move(&p->envelope, envelope);
    p->op = req->op;
    p->has_rid = req->has_rid;
    p->rid = req->rid;
    p->started_us = mt_metrics_now_us();
    p->corr = mt_ask(self, to, msg, g->opts.request_timeout_ms);
    zhashx_insert(g->pending, &p->corr, p);
    atomic_store_explicit(&g->ctr->in_flight, zhashx_size(g->pending), memory_order_relaxed);
}

/*  With security on, whoever sent the request must be allowed it by the
    trust store as it is now: a certificate removed since the connection
    was made is refused here. Nothing has been done yet when this refuses. */
static int authorize(gateway_t *g, zmq_msg_t *body, const mt_request_t *req,
                     char *err, size_t errlen)
{
    if (!g->opts.security)
        return MT_OK;
    char node[MT_NODE_ID_MAX + 1];
    mt_role_t role = mt_security_sender(g->opts.security, body, node);
    int rc = mt_authz_check(role, node, req, err, errlen);
    if (rc != MT_OK)
        mt_counter_add(&g->ctr->unauthorized, 1);
    return rc;
}

/*  node.get from what the node actors publish (opts.peek_fn): answered
    here, without the two thread hand-offs an ask takes — each wakes a
    thread, and those wake-ups were most of a read's cost. A node not in
    memory (false) is asked of the directory, which loads it. */
static bool peek(gateway_t *g, mt_request_t *req, mt__envelope_t *envelope)
{
    if (!g->opts.peek_fn)
        return false;
    uint64_t started_us = mt_metrics_now_us();
    mt_node_reply_t reply;
    memset(&reply, 0, sizeof reply);
    if (!g->opts.peek_fn(g->opts.peek_arg, mt_node_req(req->msg)->id, &reply.view))
        return false;
    reply.err = MT_OK;
    mt_codec_encode_node_reply(&g->buf, req->has_rid, req->rid, req->op, &reply);
    mt_node_view_clear(&reply.view);
    mt_msg_free(req->msg);
    send_to(g, envelope);
    mt_histo_observe_since(&mt_metrics()->request[MT_OP_NODE_GET], started_us);
    return true;
}

/*  The body (closed here) and envelope (sent, handed on, or closed) of one
    request. */
static void handle_request(mt_actor_t *self, gateway_t *g, mt__envelope_t *m, zmq_msg_t *body)
{
    mt_counter_add(&g->ctr->requests, 1);
    mt_request_t req = { 0 };
    char err[256] = "";
    sender_t from;
    mt__envelope_key(m, from.key, sizeof from.key);
    from.c = zhashx_lookup(g->clients, from.key);
    if (!admit(g, from.c)) {
        mt_counter_add(&g->ctr->busy, 1);
        req.has_rid = mt_codec_peek_rid(zmq_msg_data(body), zmq_msg_size(body), &req.rid);
        zmq_msg_close(body);
        reply_error(g, m, req.has_rid, req.rid, MT_EBUSY,
                    "too many requests in flight; retry with back-off");
        return;
    }
    int rc = mt_codec_decode_request(zmq_msg_data(body), zmq_msg_size(body), g->opts.max_body,
                                     &req, err, sizeof err);
    if (rc == MT_OK && (rc = authorize(g, body, &req, err, sizeof err)) != MT_OK)
        mt_msg_free(req.msg);
    /*  rc.add / rc.set may carry a password and a client secret: the
        decoded request holds its own copies (wiped after use). */
    if (req.op == MT_OP_RC_ADD || req.op == MT_OP_RC_SET)
        explicit_bzero(zmq_msg_data(body), zmq_msg_size(body));
    zmq_msg_close(body);
    if (rc != MT_OK) {
        reply_error(g, m, req.has_rid, req.rid, rc, err);
        return;
    }
    if (req.op == MT_OP_NODE_GET && peek(g, &req, m))
        return;
    switch (req.op) {
    case MT_OP_NODE_REGISTER: case MT_OP_NODE_HEARTBEAT: case MT_OP_NODE_LABELS:
    case MT_OP_NODE_GET: case MT_OP_NODE_LIST: case MT_OP_NODE_DELETE:
    case MT_OP_NODE_VERSIONS: case MT_OP_NODE_CHANGES:
        ask(self, g, g->opts.nodes, req.msg, m, &req, &from);
        return;
    case MT_OP_RC_ADD: case MT_OP_RC_SET: case MT_OP_RC_DEL:
    case MT_OP_RC_GET: case MT_OP_RC_LIST:
        if (!g->opts.rc || !req.msg)
            break;
        ask(self, g, g->opts.rc, req.msg, m, &req, &from);
        return;
    case MT_OP_CLUSTER_INFO:
        if (!g->opts.cluster)
            break;
        ask(self, g, g->opts.cluster, mt_msg_new(MT_CLUSTER_INFO_REQ, 0), m, &req,
            &from);
        return;
    case MT_OP_REPLICA_STATS: {
        mt_stat_t stats[STATS_CAP];
        uint32_t n = collect_stats(g, self, stats, STATS_CAP);
        size_t size = sizeof(mt_stats_list_t) + n * sizeof(mt_stat_t);
        mt_stats_list_t *list = mt_xmalloc(size);
        list->n = n;
        memcpy(list->stats, stats, n * sizeof(mt_stat_t));
        mt_codec_encode_stats(&g->buf, req.has_rid, req.rid, list);
        free(list);
        send_to(g, m);
        return;
    }
    default:
        break;
    }
    mt_msg_free(req.msg);
    reply_error(g, m, req.has_rid, req.rid, MT_EUNKNOWNOP,
                "this replica does not serve that operation yet");
}

/*  The wait hook: the socket and the mailbox's doorbell, polled together. */
static int wait_io(mt_actor_t *self, void *state, int mailbox_fd, int timeout_ms)
{
    gateway_t *g = state;
    zmq_pollitem_t items[] = {
        { zsock_resolve(g->sock), 0, ZMQ_POLLIN, 0 },
        { NULL, mailbox_fd, ZMQ_POLLIN, 0 },
    };
    int rc = zmq_poll(items, 2, timeout_ms);
    if (rc < 0)
        /*  EINTR (e.g. SIGCHLD in a test harness) is not an end. */
        return errno == EINTR ? MT_OK : (errno == ETERM ? MT_ECLOSED : MT_OK);
    if (items[0].revents & ZMQ_POLLIN) {
        for (int i = 0; i < BURST; i++) {
            mt__envelope_t env;
            zmq_msg_t body;
            int got = mt__envelope_recv(zsock_resolve(g->sock), &env, &body);
            if (got == 0)
                break;
            if (got > 0)
                handle_request(self, g, &env, &body);
            else
                mt_counter_add(&g->ctr->dropped, 1);    /* beyond the envelope's bound */
        }
    }
    return MT_OK;
}

static void behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    gateway_t *g = state;
    pending_t *p = zhashx_lookup(g->pending, &msg->corr);
    if (!p)
        return;                     /* late or foreign */
    switch (msg->type) {
    case MT_NODE_REPLY:
        mt_codec_encode_node_reply(&g->buf, p->has_rid, p->rid, p->op, mt_node_reply(msg));
        if (mt_node_reply(msg)->err != MT_OK)
            mt_counter_add(&g->ctr->errors, 1);
        send_to(g, &p->envelope);
        break;
    case MT_RC_REPLY:
        mt_codec_encode_rc_reply(&g->buf, p->has_rid, p->rid, p->op, mt_rc_reply(msg));
        if (mt_rc_reply(msg)->err != MT_OK)
            mt_counter_add(&g->ctr->errors, 1);
        send_to(g, &p->envelope);
        break;
    case MT_CLUSTER_INFO:
        mt_codec_encode_cluster_info(&g->buf, p->has_rid, p->rid, mt_msg_data(msg));
        send_to(g, &p->envelope);
        break;
    case MT_MSG_TIMEOUT:
        mt_counter_add(&g->ctr->timeouts, 1);
        reply_error(g, &p->envelope, p->has_rid, p->rid, MT_EUNAVAIL,
                    "no answer in time; the outcome of a write is unknown until it is read back");
        break;
    default:
        return;
    }
    if ((unsigned) p->op < MT_METRICS_OPS)
        mt_histo_observe_since(&mt_metrics()->request[p->op], p->started_us);
    client_release(g, p->client);
    zhashx_delete(g->pending, &msg->corr);
    atomic_store_explicit(&g->ctr->in_flight, zhashx_size(g->pending), memory_order_relaxed);
}

static void destroy(void *state)
{
    gateway_t *g = state;
    zhashx_destroy(&g->pending);
    zhashx_destroy(&g->clients);
    zsock_destroy(&g->sock);
    msgpack_sbuffer_destroy(&g->buf);
    free(g);
}

int mt_gateway_new(mt_runtime_t *rt, const mt_gateway_opts_t *opts, mt_actor_t **out,
                     char *err, size_t errlen)
{
    *out = NULL;
    if (!opts->endpoint || !opts->nodes) {
        snprintf(err, errlen, "gateway: endpoint and node directory are required");
        return MT_EINVAL;
    }
    gateway_t *g = calloc(1, sizeof *g);
    if (!g)
        return MT_ENOMEM;
    g->opts = *opts;
    g->ctr = opts->counters ? opts->counters : &g->own;
    if (!g->opts.max_body)
        g->opts.max_body = MT_CODEC_MAX_BODY_DEFAULT;
    if (!g->opts.request_timeout_ms)
        g->opts.request_timeout_ms = 10000;
    if (!g->opts.max_inflight)
        g->opts.max_inflight = MT_GATEWAY_MAX_INFLIGHT_DEFAULT;
    if (!g->opts.max_inflight_client)
        g->opts.max_inflight_client = MT_GATEWAY_MAX_INFLIGHT_CLIENT_DEFAULT;
    g->sock = zsock_new(ZMQ_ROUTER);
    if (!g->sock) {
        free(g);
        snprintf(err, errlen, "gateway: cannot create a socket");
        return MT_ESYSTEM;
    }
    zsock_set_maxmsgsize(g->sock, (int64_t) g->opts.max_body * 4);
    /*  Per connection: requests beyond max_inflight_client are answered
        busy as fast as they are read, so the inbound queue needs little
        room; replies a client does not read stop at the outbound mark
        (ROUTER_MANDATORY + no wait: counted, dropped, never blocking). */
    zsock_set_rcvhwm(g->sock, 10000);
    zsock_set_sndhwm(g->sock, 10000);
    zsock_set_router_mandatory(g->sock, 1);
    zsock_set_sndtimeo(g->sock, 0);
    zsock_set_linger(g->sock, 500);     /* let the last replies out on close */
    zsock_set_rcvtimeo(g->sock, 0);
    if (g->opts.security)
        mt_security_serve(g->opts.security, g->sock, MT_ZAP_REQUESTS);
    if (zsock_bind(g->sock, "%s", opts->endpoint) < 0) {
        snprintf(err, errlen, "gateway: cannot bind %s: %s", opts->endpoint, zmq_strerror(zmq_errno()));
        zsock_destroy(&g->sock);
        free(g);
        return MT_EINVAL;
    }
    g->clients = zhashx_new();
    zhashx_set_destructor(g->clients, client_free);
    g->pending = zhashx_new();
    zhashx_set_key_hasher(g->pending, corr_hash);
    zhashx_set_key_comparator(g->pending, corr_cmp);
    zhashx_set_key_duplicator(g->pending, NULL);
    zhashx_set_key_destructor(g->pending, NULL);
    zhashx_set_destructor(g->pending, pending_free);
    msgpack_sbuffer_init(&g->buf);
    mt_spawn_opts_t o = {
        .behaviour = behaviour, .state = g, .destroy = destroy,
        .pinned = true, .wait = wait_io, .thread_name = "mt-gateway",
    };
    *out = mt_spawn_opts(rt, &o);
    if (!*out) {
        destroy(g);
        snprintf(err, errlen, "gateway: cannot start its thread");
        return MT_ESYSTEM;
    }
    return MT_OK;
}
