/*  bus.c — change notices between replicas: PUB for ours, SUB for theirs.

    Messages handled:
      MT_NODE_CHANGED   a change committed by this replica: one notice,
                        topic "node/<id>", body per PROTOCOL.md with the next
                        seq. Changes learned from peers or reloads, and health
                        flips (every replica derives those itself from
                        heartbeat_at), are not published: one notice per
                        committed change, never an echo.
      MT_BUS_PEERS      the live peers: connect to new ones, disconnect gone.
    From the SUB socket: a peer's notice becomes an MT_NODE_MERGE for the
    directory. Sequence numbers per publisher: a gap, a publisher first
    seen past seq 1 (we joined late), or a seq that went backwards (it
    restarted) all ask the reload actor for a pass at once — the periodic
    reload covers whatever else was lost. */
#include "mt_bus.h"
#include "mt_counter.h"
#include "mt_alloc.h"
#include "mt_log.h"
#include "mt_codec.h"
#include "mt_metrics.h"
#include "mt_node_msg.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define BURST 512

typedef struct {
    zsock_t *pub, *sub;
    mt_bus_opts_t opts;
    mt_actor_t *rc;                 /* reference registry, or NULL */
    mt_node_held_fn *held;          /* from the route, or NULL */
    void *held_arg;
    char replica_id[MT_REPLICA_ID_MAX + 1];
    uint64_t seq;
    zhashx_t *last_seq;             /* publisher id → uint64_t* last seq seen */
    zhashx_t *connected;            /* pub endpoint → its server key ("" plain) */
    msgpack_sbuffer buf;
    mt_bus_counters_t *ctr;
    char *bound;                    /* the PUB's endpoint as bound (for unbind) */
    int64_t trust_checked_at;       /* zclock_mono */
    uint64_t trust_removals;        /* mt_trust_removals when last seen */
} bus_t;


/* ---- publishing -------------------------------------------------------- */

static void send_notice(bus_t *b, const char *kind, const char *id);

void mt_bus_horizon_raise(_Atomic int64_t *horizon, int64_t revision)
{
    int64_t h = atomic_load_explicit(horizon, memory_order_relaxed);
    while (revision > h && !atomic_compare_exchange_weak_explicit(
               horizon, &h, revision, memory_order_relaxed, memory_order_relaxed))
        ;
}

/*  Our own commits' revisions were issued by the database: they raise the
    horizon as the reload's marks do. */
static void raise_horizon(bus_t *b, int64_t revision)
{
    mt_bus_horizon_raise(&b->ctr->horizon, revision);
}

static void publish(bus_t *b, mt_node_changed_t *c)
{
    if (!c->local)
        return;
    raise_horizon(b, c->revision);
    mt_codec_encode_node_notice(&b->buf, b->replica_id, ++b->seq, c);
    send_notice(b, "node/", c->view.id);
}

static void publish_rc(bus_t *b, mt_rc_changed_t *c)
{
    if (!c->local)
        return;
    raise_horizon(b, c->revision);
    mt_codec_encode_rc_notice(&b->buf, b->replica_id, ++b->seq, c);
    send_notice(b, "rc/", c->ref->id);
}

/*  Topic frame, then b->buf. Straight to libzmq, which copies each frame
    once: czmq's zmsg would allocate a message, a list and two frames per
    notice, one notice per committed write. */
static void send_notice(bus_t *b, const char *kind, const char *id)
{
    char topic[8 + (MT_NODE_ID_MAX > MT_RC_ID_MAX ? MT_NODE_ID_MAX : MT_RC_ID_MAX)];
    size_t k = strlen(kind), n = strnlen(id, sizeof topic - k);
    memcpy(topic, kind, k);
    memcpy(topic + k, id, n);
    void *pub = zsock_resolve(b->pub);
    /*  PUB never blocks: past its high-water mark libzmq drops, and the
        subscriber sees the gap in seq and reloads. */
    if (zmq_send(pub, topic, k + n, ZMQ_SNDMORE) < 0
        || zmq_send(pub, b->buf.data, b->buf.size, 0) < 0)
        mt_counter_add(&b->ctr->dropped, 1);
    else
        mt_counter_add(&b->ctr->sent, 1);
}

/* ---- subscribing ------------------------------------------------------- */

static void ask_reload(bus_t *b)
{
    mt_counter_add(&b->ctr->gaps, 1);
    if (b->opts.reload)
        mt_send(b->opts.reload, mt_msg_new(MT_NODE_RELOAD, 0));
}

static void track_seq(bus_t *b, const char *publisher, uint64_t seq)
{
    uint64_t *last = zhashx_lookup(b->last_seq, publisher);
    if (!last) {
        last = mt_xmalloc(sizeof *last);
        zhashx_insert(b->last_seq, publisher, last);
        if (seq != 1)
            ask_reload(b);          /* joined late: earlier notices missed */
    }
    else if (seq != *last + 1)
        ask_reload(b);              /* a gap, or the publisher restarted */
    *last = seq;
}

/*  Defence in depth: even from a trusted peer, a revision far beyond any
    the database is known to have issued is not merged (it would shadow
    every real write below it); the reload reads what is stored. Until the
    first reload nothing is known, and nothing is refused. */
static bool plausible(bus_t *b, int64_t revision)
{
    int64_t h = atomic_load_explicit(&b->ctr->horizon, memory_order_relaxed);
    return h <= 0 || revision <= h || revision - h <= MT_BUS_REVISION_MARGIN;
}

/*  A peer's heartbeat: how long from its commit (seen_at, the database's
    stamp) to here. Only a notice of the status group itself: a
    registration's notice carries an older status. */
static void observe_convergence(const mt_notice_t *n)
{
    const mt_node_merge_t *mg = n->merge ? mt_msg_data(n->merge) : NULL;
    if (mg && mg->status && mg->status->status_revision == n->revision)
        mt_metrics_observe_convergence(mg->status->seen_at);
}

static void receive(bus_t *b, const void *body, size_t size)
{
    mt_notice_t n;
    char err[200];
    if (mt_codec_decode_notice_known(body, size, b->held, b->held_arg, &n, err,
                                     sizeof err) != MT_OK) {
        mt_log_warning("bus: dropped a malformed notice: %s", err);
        return;
    }
    mt_counter_add(&b->ctr->received, 1);
    if (strcmp(n.replica, b->replica_id) != 0) {
        track_seq(b, n.replica, n.seq);
        if (!plausible(b, n.revision)) {
            mt_counter_add(&b->ctr->implausible, 1);
            ask_reload(b);
            mt_msg_free(n.merge);
            mt_msg_free(n.rc_merge);
            return;
        }
        observe_convergence(&n);
        if (n.merge && b->opts.directory) {
            mt_send(b->opts.directory, n.merge);
            n.merge = NULL;
        }
        if (n.rc_merge && b->rc) {
            mt_send(b->rc, n.rc_merge);
            n.rc_merge = NULL;
        }
    }
    mt_msg_free(n.merge);
    mt_msg_free(n.rc_merge);
}

/*  With security, each connection is made with the peer's own server key
    (set on the socket just before its connect: libzmq copies a socket's
    options into each connection as it is made). A peer that publishes no
    key cannot be subscribed to; the periodic reload still brings its
    changes. */
static void connect_peer(bus_t *b, const char *ep, const char *key)
{
    if (b->opts.security && (!*key || mt_security_client(b->opts.security, b->sub, key) != MT_OK)) {
        mt_counter_add(&b->ctr->peers_without_key, 1);
        mt_log_warning("bus: peer %s publishes no usable CURVE key: not subscribed", ep);
        return;
    }
    if (zsock_connect(b->sub, "%s", ep) == 0)
        zhashx_insert(b->connected, ep, strdup(key));
    else
        mt_log_warning("bus: cannot connect to %s", ep);
}

static void set_peers(bus_t *b, const mt_bus_peers_t *p)
{
    if (!b->sub)
        return;
    /*  Disconnect from endpoints no longer listed, or listed with another
        key (a replica restarted with a new certificate). */
    zlist_t *gone = zlist_new();
    for (const char *key = zhashx_first(b->connected); key; key = zhashx_next(b->connected)) {
        const char *ep = zhashx_cursor(b->connected);
        bool listed = false;
        for (uint32_t i = 0; i < p->n && !listed; i++)
            listed = strcmp(p->peers[i].pub_endpoint, ep) == 0
                     && (!b->opts.security || strcmp(p->peers[i].public_key, key) == 0);
        if (!listed)
            zlist_append(gone, (void *) ep);
    }
    for (const char *ep = zlist_first(gone); ep; ep = zlist_next(gone)) {
        zsock_disconnect(b->sub, "%s", ep);
        zhashx_delete(b->connected, ep);
    }
    zlist_destroy(&gone);
    for (uint32_t i = 0; i < p->n; i++) {
        const char *ep = p->peers[i].pub_endpoint;
        if (strcmp(p->peers[i].replica_id, b->replica_id) == 0 || zhashx_lookup(b->connected, ep))
            continue;
        connect_peer(b, ep, p->peers[i].public_key);
    }
    atomic_store_explicit(&b->ctr->peers, zhashx_size(b->connected), memory_order_relaxed);
}

/* ---- revocation -------------------------------------------------------- */

/*  A PUB socket cannot drop one subscriber, and libzmq asks ZAP only when
    a connection is made: a subscriber whose certificate is removed would
    go on receiving. So when the trust store loses a key, every subscriber
    is cut (unbind ends the connections accepted on the endpoint) and the
    endpoint bound again: each reconnects by itself and passes ZAP with the
    store as it is now. Notices published in between are lost; peers see
    the gap in seq and reload, clients resync (PROTOCOL.md). */
static void cut_subscribers(bus_t *b)
{
    if (zsock_unbind(b->pub, "%s", b->bound) != 0) {
        mt_log_warning("bus: cannot unbind %s to cut revoked subscribers", b->bound);
        return;
    }
    /*  The listening socket closes on libzmq's I/O thread: bind may find
        the port still taken for a moment. */
    for (int tries = 0; tries < 100; tries++) {
        if (zsock_bind(b->pub, "%s", b->bound) >= 0) {
            mt_log_info("bus: a certificate was revoked: every subscriber reconnects");
            return;
        }
        zclock_sleep(10);
    }
    mt_log_error("bus: cannot bind %s again: %s", b->bound, zmq_strerror(zmq_errno()));
}

static void check_trust(bus_t *b)
{
    int64_t now = zclock_mono();
    if (!b->opts.security || now - b->trust_checked_at < 1000)
        return;
    b->trust_checked_at = now;
    uint64_t removals = mt_trust_removals(mt_security_trust(b->opts.security));
    if (removals != b->trust_removals) {
        b->trust_removals = removals;
        cut_subscribers(b);
    }
}

/*  Reads the rest of a message whose parts we do not need. */
static void recv_skip(void *sub, bool more)
{
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        more = zmq_msg_recv(&part, sub, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&part);
        zmq_msg_close(&part);
    }
}

/*  One message off the SUB socket into zmq_msg_t on the stack — no czmq
    frames, list or message per notice, and a peer sends one per write it
    commits. A notice is a topic, then its body (parts after it are read
    and ignored, as a one-part message is). A message's parts arrive
    together: only the first can be missing. False when none was waiting. */
static bool recv_notice(bus_t *b)
{
    void *sub = zsock_resolve(b->sub);
    zmq_msg_t topic, body;
    zmq_msg_init(&topic);
    if (zmq_msg_recv(&topic, sub, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&topic);
        return false;
    }
    bool more = zmq_msg_more(&topic);
    zmq_msg_close(&topic);
    if (!more)
        return true;
    zmq_msg_init(&body);
    if (zmq_msg_recv(&body, sub, ZMQ_DONTWAIT) >= 0) {
        recv_skip(sub, zmq_msg_more(&body));
        receive(b, zmq_msg_data(&body), zmq_msg_size(&body));
    }
    zmq_msg_close(&body);
    return true;
}

/* ---- the actor --------------------------------------------------------- */

static int wait_io(mt_actor_t *self, void *state, int mailbox_fd, int timeout_ms)
{
    bus_t *b = state;
    if (b->opts.security && (timeout_ms < 0 || timeout_ms > 1000))
        timeout_ms = 1000;          /* check_trust's pace */
    check_trust(b);
    zmq_pollitem_t items[] = {
        { NULL, mailbox_fd, ZMQ_POLLIN, 0 },
        { b->sub ? zsock_resolve(b->sub) : NULL, 0, ZMQ_POLLIN, 0 },
    };
    int rc = zmq_poll(items, b->sub ? 2 : 1, timeout_ms);
    if (rc < 0)
        return errno == ETERM ? MT_ECLOSED : MT_OK;     /* EINTR: go on */
    if (b->sub && (items[1].revents & ZMQ_POLLIN))
        for (int i = 0; i < BURST && recv_notice(b); i++)
            ;
    return MT_OK;
}

static void behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    bus_t *b = state;
    switch (msg->type) {
    case MT_NODE_CHANGED:
        publish(b, mt_node_changed(msg));
        break;
    case MT_RC_CHANGED:
        publish_rc(b, mt_msg_data(msg));
        break;
    case MT_BUS_PEERS:
        set_peers(b, mt_msg_data(msg));
        break;
    case MT_BUS_ROUTE: {
        mt_bus_route_t *r = mt_msg_data(msg);
        mt_actor_unref(&b->opts.directory);
        mt_actor_unref(&b->opts.reload);
        mt_actor_unref(&b->rc);
        b->opts.directory = r->directory ? mt_actor_ref(r->directory) : NULL;
        b->opts.reload = r->reload ? mt_actor_ref(r->reload) : NULL;
        b->rc = r->rc ? mt_actor_ref(r->rc) : NULL;
        b->held = r->held;
        b->held_arg = r->held_arg;
        break;
    }
    default:
        break;
    }
}

static void destroy(void *state)
{
    bus_t *b = state;
    zsock_destroy(&b->pub);
    zsock_destroy(&b->sub);
    zstr_free(&b->bound);
    zhashx_destroy(&b->last_seq);
    zhashx_destroy(&b->connected);
    msgpack_sbuffer_destroy(&b->buf);
    mt_actor_unref(&b->opts.directory);
    mt_actor_unref(&b->opts.reload);
    mt_actor_unref(&b->rc);
    free(b);                            /* the counters are the caller's */
}

static void free_str(void **item)
{
    free(*item);
    *item = NULL;
}

int mt_bus_new(mt_runtime_t *rt, const mt_bus_opts_t *opts, mt_actor_t **out, char *err,
               size_t errlen)
{
    *out = NULL;
    bus_t *b = calloc(1, sizeof *b);
    if (!b)
        return MT_ENOMEM;
    b->opts = *opts;
    b->ctr = opts->counters;
    snprintf(b->replica_id, sizeof b->replica_id, "%s", opts->replica_id);
    b->pub = zsock_new(ZMQ_PUB);
    zsock_set_sndhwm(b->pub, 100000);
    zsock_set_linger(b->pub, 500);          /* the last notices go out on close */
    if (opts->security)
        mt_security_serve(opts->security, b->pub, MT_ZAP_NOTICES);
    if (zsock_bind(b->pub, "%s", opts->endpoint) < 0) {
        snprintf(err, errlen, "bus: cannot bind %s: %s", opts->endpoint, zmq_strerror(zmq_errno()));
        zsock_destroy(&b->pub);
        free(b);
        return MT_EINVAL;
    }
    b->bound = zsock_last_endpoint(b->pub);
    if (opts->security)
        b->trust_removals = mt_trust_removals(mt_security_trust(opts->security));
    if (opts->subscribe) {
        b->sub = zsock_new(ZMQ_SUB);
        zsock_set_rcvhwm(b->sub, 100000);
        zsock_set_maxmsgsize(b->sub, 4 * MT_CODEC_MAX_BODY_DEFAULT);
        zsock_set_linger(b->sub, 0);
        zsock_set_rcvtimeo(b->sub, 0);
        zsock_set_subscribe(b->sub, "");
    }
    b->last_seq = zhashx_new();
    zhashx_set_destructor(b->last_seq, free_str);
    b->connected = zhashx_new();            /* endpoint → server key */
    zhashx_set_destructor(b->connected, free_str);
    b->opts.directory = opts->directory ? mt_actor_ref(opts->directory) : NULL;
    b->opts.reload = opts->reload ? mt_actor_ref(opts->reload) : NULL;
    msgpack_sbuffer_init(&b->buf);
    mt_spawn_opts_t o = {
        .behaviour = behaviour, .state = b, .destroy = destroy,
        .pinned = true, .wait = wait_io, .thread_name = "mt-bus",
    };
    *out = mt_spawn_opts(rt, &o);
    if (!*out) {
        destroy(b);
        snprintf(err, errlen, "bus: cannot start its thread");
        return MT_ESYSTEM;
    }
    return MT_OK;
}

mt_msg_t *mt_bus_peers_new(uint32_t n)
{
    mt_msg_t *m = mt_msg_new(MT_BUS_PEERS, sizeof(mt_bus_peers_t)
                                           + n * sizeof(((mt_bus_peers_t *) 0)->peers[0]));
    ((mt_bus_peers_t *) mt_msg_data(m))->n = n;
    return m;
}

static void route_drop(mt_msg_t *msg)
{
    mt_bus_route_t *r = mt_msg_data(msg);
    mt_actor_unref(&r->directory);
    mt_actor_unref(&r->reload);
    mt_actor_unref(&r->rc);
}

mt_msg_t *mt_bus_route_new(mt_actor_t *directory, mt_actor_t *reload, mt_actor_t *rc,
                           mt_node_held_fn *held, void *held_arg)
{
    mt_msg_t *m = mt_msg_new(MT_BUS_ROUTE, sizeof(mt_bus_route_t));
    mt_bus_route_t *r = mt_msg_data(m);
    r->directory = directory ? mt_actor_ref(directory) : NULL;
    r->reload = reload ? mt_actor_ref(reload) : NULL;
    r->rc = rc ? mt_actor_ref(rc) : NULL;
    r->held = held;
    r->held_arg = held_arg;
    m->drop = route_drop;
    return m;
}
