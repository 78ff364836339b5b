/*  rc_prober.c — asks remote clusters for their cluster.info.

    Messages handled:
      MT__RC_PROBE   try the endpoints in order (the stored hostname first,
                     then the cached node list) until one answers *for the
                     expected cluster*: an endpoint that now belongs to
                     another cluster counts as not answering, so the node
                     list still gives the live members and the hostname gets
                     replaced. Answer MT__RC_PROBED (to the agent that asked)
                     with the remote's live members, sorted, and whether the
                     hostname itself answered; then tell the dispatcher it is
                     free (rc_dispatch.c). A probe whose asker has given up
                     is not run.

    Untrusted input. An answer is read by mt_remote_info_parse (the member
    cap, endpoint rules, dedup, sorting: codec_cluster_info.c); one that
    does not parse counts as no answer. Clients read at most
    MT__RC_MAX_REPLY bytes (ZMQ_MAXMSGSIZE): a bigger answer drops the
    connection and the endpoint times out. Endpoints that the operator
    does not allow (ipc:// without allow_ipc) are never contacted, whoever
    listed them.

    Keys. With a server_key the client is a CURVE client with that key
    pinned (a remote holding another key never completes the handshake:
    it does not answer), presenting the reference's client keypair, or an
    ephemeral one when it has none. With demand_encryption and no
    server_key nothing is contacted. Members listed with a public_key other
    than the pinned server_key cannot be reached with that key: they are
    left out of the node list (a member listing no key is kept; if its key
    differs it will not answer, which the next round sees).

    A zmq call blocks, so probers are pinned actors, and probes go to
    whichever is free (rc_dispatch.c). A client per endpoint and keys is
    kept for the next round; one that timed out is dropped, so messages
    queued to a dead peer do not pile up. */
#include "mt_client.h"
#include "mt_codec.h"
#include "rcs_internal.h"

#include <czmq.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    uint32_t timeout_ms;
    bool allow_ipc;
    int index;
    mt_actor_t *dispatcher;
    zhashx_t *clients;              /* endpoint + server key + client key → mt_client_t */
} prober_t;

static void client_free(void **item)
{
    mt_client_t *c = *item;
    mt_client_destroy(&c);
    *item = NULL;
}

/*  Clients of ep made with other keys than `keep`: the keys changed, so
    their connections (authenticated with the old ones) are closed. */
static void drop_others(prober_t *p, const char *ep, const char *keep)
{
    size_t n = strlen(ep);
    zlistx_t *keys = zhashx_keys(p->clients);
    for (const char *k = zlistx_first(keys); k; k = zlistx_next(keys))
        if (strncmp(k, ep, n) == 0 && k[n] == ' ' && strcmp(k, keep) != 0)
            zhashx_delete(p->clients, k);
    zlistx_destroy(&keys);
}

/*  One endpoint: MT_OK with the reply, or an error (and the client dropped). */
static int ask(prober_t *p, const mt__rc_keys_t *k, const char *ep, mt_reply_t *reply)
{
    char key[MT_ENDPOINT_MAX + 2 * (MT_RC_KEY_LEN + 1)];
    snprintf(key, sizeof key, "%s %s %s", ep, k->server_key, k->client_public);
    mt_client_t *c = zhashx_lookup(p->clients, key);
    if (!c) {
        bool curve = k->server_key[0] != '\0';
        mt_client_opts_t o = {
            .endpoint = ep,
            .server_key = curve ? k->server_key : NULL,
            .public_key = curve && k->client_public[0] ? k->client_public : NULL,
            .secret_key = curve && k->client_public[0] ? k->client_secret : NULL,
            .max_reply = MT__RC_MAX_REPLY,
        };
        c = mt_client_new_opts(&o);
        if (!c)
            return MT_EINVAL;
        drop_others(p, ep, key);
        zhashx_insert(p->clients, key, c);
    }
    int rc = mt_client_call(c, "cluster.info", 0, NULL, NULL, (int) p->timeout_ms, reply);
    if (rc != MT_OK) {
        mt_reply_free(reply);
        zhashx_delete(p->clients, key);
        return rc;
    }
    if (!reply->ok) {
        mt_reply_free(reply);
        return MT_EUNAVAIL;
    }
    return MT_OK;
}

static mt_msg_t *probed_new(uint32_t nalive)
{
    /*  nalive <= MT_RC_NODES_MAX (the parser's cap); checked all the same. */
    size_t size;
    if (nalive > MT_RC_NODES_MAX
        || __builtin_mul_overflow((size_t) nalive, (size_t) MT_ENDPOINT_MAX, &size)
        || __builtin_add_overflow(size, sizeof(mt__rc_probed_t), &size))
        abort();
    return mt_msg_new(MT__RC_PROBED, size);
}

/*  The answer of a parsed cluster.info: the members the pinned key can
    reach, and the uuid check. */
static mt_msg_t *answer(const mt__rc_probe_t *req, const mt_remote_info_t *info, bool first)
{
    const char *pinned = req->keys.server_key;
    mt_msg_t *m = probed_new(info->nalive);
    mt__rc_probed_t *out = mt_msg_data(m);
    out->first_answered = first;
    snprintf(out->uuid, sizeof out->uuid, "%s", info->cluster_uuid);
    for (uint32_t i = 0; i < info->nalive; i++) {
        const mt_remote_member_t *mem = &info->alive[i];
        if (pinned[0] && mem->public_key[0] && strcmp(mem->public_key, pinned) != 0)
            continue;               /* another key: not reachable with ours */
        snprintf(out->alive[out->nalive++], MT_ENDPOINT_MAX, "%s", mem->endpoint);
    }
    if (req->uuid[0] && strcmp(req->uuid, out->uuid) != 0) {
        out->err = MT_ECONFLICT;
        snprintf(out->message, sizeof out->message,
                 "the endpoint belongs to another cluster (uuid %s, expected %s)",
                 out->uuid, req->uuid);
    }
    return m;
}

static mt_msg_t *failure(int err, const char *message)
{
    mt_msg_t *out = probed_new(0);
    mt__rc_probed_t *o = mt_msg_data(out);
    o->err = err;
    snprintf(o->message, sizeof o->message, "%s", message);
    return out;
}

/*  The endpoints that did not answer this round (the first
    MT_RC_ERRORS_MAX), for the reference's `errors`. */
typedef struct {
    uint32_t n;
    mt__rc_probe_error_t e[MT_RC_ERRORS_MAX];
} errs_t;

static void note(errs_t *errs, const char *ep, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(errs_t *errs, const char *ep, const char *fmt, ...)
{
    if (errs->n == MT_RC_ERRORS_MAX)
        return;
    mt__rc_probe_error_t *e = &errs->e[errs->n++];
    e->at = mt_wall_ms();
    snprintf(e->endpoint, sizeof e->endpoint, "%s", ep);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

static mt_msg_t *with_errors(mt_msg_t *out, const errs_t *errs)
{
    mt__rc_probed_t *o = mt_msg_data(out);
    o->nerrors = errs->n;
    memcpy(o->errors, errs->e, errs->n * sizeof errs->e[0]);
    return out;
}

static const char *why_not(int rc)
{
    return rc == MT_ETIMEDOUT ? "no answer in time"
           : rc == MT_EUNAVAIL ? "answered with an error"
           : rc == MT_EINVAL ? "cannot be contacted with these keys"
           : rc == MT_EBADREQ ? "answered something that is not a reply" : "cannot be asked";
}

static mt_msg_t *probe(prober_t *p, const mt__rc_probe_t *req)
{
    errs_t errs = { 0 };
    if (req->keys.demand_encryption && !req->keys.server_key[0]) {
        note(&errs, req->n ? req->endpoints[0] : "", "demand_encryption without a server_key:"
             " not contacted");
        return with_errors(failure(MT_EUNAVAIL, "demand_encryption without a server_key: "
                                   "not contacted"), &errs);
    }
    uint32_t other_cluster = 0, tried = 0, refused = 0;
    char last[160] = "";
    for (uint32_t i = 0; i < req->n; i++) {
        if (mt_now_ms() >= req->deadline_ms)
            break;                  /* the asker has given up */
        const char *ep = req->endpoints[i];
        if (!mt_rc_endpoint_allowed(ep, p->allow_ipc)) {
            note(&errs, ep, "not contacted: ipc:// is not allowed");
            refused++;
            continue;
        }
        tried++;
        mt_reply_t reply;
        int arc = ask(p, &req->keys, ep, &reply);
        if (arc != MT_OK) {
            note(&errs, ep, "%s", why_not(arc));
            continue;
        }
        mt_remote_info_t *info = NULL;
        char why[120];
        int rc = mt_remote_info_parse(reply.result, p->allow_ipc, &info, why, sizeof why);
        mt_reply_free(&reply);
        if (rc != MT_OK) {
            snprintf(last, sizeof last, "; %s answered garbage (%s)", ep, why);
            note(&errs, ep, "answered garbage (%s)", why);
            continue;               /* a broken answer is no answer */
        }
        mt_msg_t *out = answer(req, info, i == 0);
        mt_remote_info_destroy(&info);
        mt__rc_probed_t *o = mt_msg_data(out);
        if (o->err != MT_ECONFLICT)
            return with_errors(out, &errs);
        note(&errs, ep, "belongs to another cluster (uuid %s)", o->uuid);
        mt_msg_free(out);           /* moved to another cluster: go on */
        other_cluster++;
    }
    char msg[200];
    if (other_cluster)
        snprintf(msg, sizeof msg, "the endpoint belongs to another cluster (%u tried)", tried);
    else if (!tried && refused)
        snprintf(msg, sizeof msg, "no endpoint may be contacted (ipc:// is not allowed)");
    else
        snprintf(msg, sizeof msg, "no endpoint of the remote cluster answered (%u tried)%s",
                 tried, last);
    if (mt_now_ms() >= req->deadline_ms && errs.n < req->n)
        note(&errs, "", "the round ran out of time");
    return with_errors(failure(other_cluster ? MT_ECONFLICT : MT_EUNAVAIL, msg), &errs);
}

static void behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    prober_t *p = state;
    if (msg->type != MT__RC_PROBE)
        return;
    mt_reply(msg, probe(p, mt_msg_data(msg)));
    mt_msg_t *idle = mt_msg_new(MT__RC_IDLE, sizeof(int));
    *(int *) mt_msg_data(idle) = p->index;
    mt_send(p->dispatcher, idle);
}

static void destroy(void *state)
{
    prober_t *p = state;
    zhashx_destroy(&p->clients);
    mt_actor_unref(&p->dispatcher);
    free(p);
}

mt_actor_t *mt__rc_prober_spawn(mt_runtime_t *rt, uint32_t timeout_ms, bool allow_ipc,
                                int index, mt_actor_t *dispatcher)
{
    prober_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->timeout_ms = timeout_ms;
    p->allow_ipc = allow_ipc;
    p->index = index;
    p->dispatcher = mt_actor_ref(dispatcher);
    p->clients = zhashx_new();
    zhashx_set_destructor(p->clients, client_free);
    char name[16];
    snprintf(name, sizeof name, "mt-rc-probe%d", index);
    mt_spawn_opts_t o = { .behaviour = behaviour, .state = p, .destroy = destroy, .pinned = true,
                          .thread_name = name };
    mt_actor_t *a = mt_spawn_opts(rt, &o);
    if (!a)
        destroy(p);
    return a;
}

static void probe_drop(mt_msg_t *m)
{
    mt__rc_probe_t *p = mt_msg_data(m);
    explicit_bzero(p->keys.client_secret, sizeof p->keys.client_secret);
}

mt_msg_t *mt__rc_probe_new(const char *uuid, const char *hostname, const mt_rc_t *ref,
                           const mt__rc_keys_t *keys, uint64_t wait_ms)
{
    uint32_t n = 1;
    for (uint32_t i = 0; ref && i < ref->nnodes && i < MT_RC_NODES_MAX; i++)
        n += strcmp(ref->node_list[i], hostname) != 0;
    mt_msg_t *m = mt_msg_new(MT__RC_PROBE, sizeof(mt__rc_probe_t) + (size_t) n * MT_ENDPOINT_MAX);
    m->drop = probe_drop;
    mt__rc_probe_t *p = mt_msg_data(m);
    snprintf(p->uuid, sizeof p->uuid, "%s", uuid ? uuid : "");
    p->deadline_ms = mt_now_ms() + wait_ms;
    if (keys)
        p->keys = *keys;
    snprintf(p->endpoints[p->n++], MT_ENDPOINT_MAX, "%s", hostname);
    for (uint32_t i = 0; ref && i < ref->nnodes && p->n < n; i++)
        if (strcmp(ref->node_list[i], hostname) != 0)
            snprintf(p->endpoints[p->n++], MT_ENDPOINT_MAX, "%s", ref->node_list[i]);
    return m;
}
