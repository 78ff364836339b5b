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

    A zmq call blocks, so probers are pinned actors, and probes go to
    whichever is free (rc_dispatch.c). A client
    per endpoint is kept for the next round; one that timed out is dropped,
    so messages queued to a dead peer do not pile up. */
#include "mt_client.h"
#include "rcs_internal.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    uint32_t timeout_ms;
    int index;
    mt_actor_t *dispatcher;
    zhashx_t *clients;              /* endpoint → mt_client_t */
} prober_t;

static void client_free(void **item)
{
    mt_client_t *c = *item;
    mt_client_destroy(&c);
    *item = NULL;
}

static int cmp_ep(const void *a, const void *b)
{
    return strcmp(a, b);
}

/*  One endpoint: MT_OK with the reply, or an error (and the client dropped). */
static int ask(prober_t *p, const char *ep, mt_reply_t *reply)
{
    mt_client_t *c = zhashx_lookup(p->clients, ep);
    if (!c) {
        c = mt_client_new(ep);
        if (!c)
            return MT_EINVAL;
        zhashx_insert(p->clients, ep, c);
    }
    int rc = mt_client_call(c, "cluster.info", 0, NULL, NULL, (int) p->timeout_ms, reply);
    if (rc != MT_OK) {
        mt_reply_free(reply);
        zhashx_delete(p->clients, ep);
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
    mt_msg_t *m = mt_msg_new(MT__RC_PROBED, sizeof(mt__rc_probed_t) + nalive * MT_ENDPOINT_MAX);
    return m;
}

static mt_msg_t *answer(const mt__rc_probe_t *req, const mt_reply_t *reply, bool first)
{
    const msgpack_object *uuid = mt_map_get(reply->result, "cluster_uuid");
    const msgpack_object *members = mt_map_get(reply->result, "members");
    uint32_t n = members && members->type == MSGPACK_OBJECT_ARRAY ? members->via.array.size : 0;
    mt_msg_t *m = probed_new(n);
    mt__rc_probed_t *out = mt_msg_data(m);
    out->first_answered = first;
    if (uuid && uuid->type == MSGPACK_OBJECT_STR && uuid->via.str.size <= MT_RC_ID_MAX)
        memcpy(out->uuid, uuid->via.str.ptr, uuid->via.str.size);
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *mem = &members->via.array.ptr[i];
        const msgpack_object *ep = mt_map_get(mem, "endpoint");
        const msgpack_object *alive = mt_map_get(mem, "alive");
        if (!ep || ep->type != MSGPACK_OBJECT_STR || ep->via.str.size >= MT_ENDPOINT_MAX
            || !alive || alive->type != MSGPACK_OBJECT_BOOLEAN || !alive->via.boolean)
            continue;
        memcpy(out->alive[out->nalive], ep->via.str.ptr, ep->via.str.size);
        out->alive[out->nalive][ep->via.str.size] = '\0';
        out->nalive++;
    }
    qsort(out->alive, out->nalive, MT_ENDPOINT_MAX, cmp_ep);
    if (!out->uuid[0]) {
        out->err = MT_EUNAVAIL;
        snprintf(out->message, sizeof out->message, "the remote cluster has no uuid yet");
    }
    else if (req->uuid[0] && strcmp(req->uuid, out->uuid) != 0) {
        out->err = MT_ECONFLICT;
        snprintf(out->message, sizeof out->message,
                 "the endpoint belongs to another cluster (uuid %s, expected %s)",
                 out->uuid, req->uuid);
    }
    return m;
}

static mt_msg_t *failure(int err, const char *fmt, uint32_t n)
{
    mt_msg_t *out = probed_new(0);
    mt__rc_probed_t *o = mt_msg_data(out);
    o->err = err;
    snprintf(o->message, sizeof o->message, fmt, n);
    return out;
}

static mt_msg_t *probe(prober_t *p, const mt__rc_probe_t *req)
{
    uint32_t other_cluster = 0;
    for (uint32_t i = 0; i < req->n; i++) {
        if (mt_now_ms() >= req->deadline_ms)
            break;                  /* the asker has given up */
        mt_reply_t reply;
        if (ask(p, req->endpoints[i], &reply) != MT_OK)
            continue;
        mt_msg_t *out = answer(req, &reply, i == 0);
        mt_reply_free(&reply);
        mt__rc_probed_t *o = mt_msg_data(out);
        if (o->err != MT_ECONFLICT)
            return out;
        mt_msg_free(out);           /* moved to another cluster: go on */
        other_cluster++;
    }
    if (other_cluster)
        return failure(MT_ECONFLICT, "the endpoint belongs to another cluster (%u tried)", req->n);
    return failure(MT_EUNAVAIL, "no endpoint of the remote cluster answered (%u tried)", req->n);
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

mt_actor_t *mt__rc_prober_spawn(mt_runtime_t *rt, uint32_t timeout_ms, int index,
                                mt_actor_t *dispatcher)
{
    prober_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->timeout_ms = timeout_ms;
    p->index = index;
    p->dispatcher = mt_actor_ref(dispatcher);
    p->clients = zhashx_new();
    zhashx_set_destructor(p->clients, client_free);
    mt_spawn_opts_t o = { .behaviour = behaviour, .state = p, .destroy = destroy, .pinned = true };
    mt_actor_t *a = mt_spawn_opts(rt, &o);
    if (!a)
        destroy(p);
    return a;
}

mt_msg_t *mt__rc_probe_new(const char *uuid, const char *hostname, const mt_rc_t *ref,
                           uint64_t wait_ms)
{
    uint32_t n = 1;
    for (uint32_t i = 0; ref && i < ref->nnodes; i++)
        n += strcmp(ref->node_list[i], hostname) != 0;
    mt_msg_t *m = mt_msg_new(MT__RC_PROBE, sizeof(mt__rc_probe_t) + n * MT_ENDPOINT_MAX);
    mt__rc_probe_t *p = mt_msg_data(m);
    snprintf(p->uuid, sizeof p->uuid, "%s", uuid ? uuid : "");
    p->deadline_ms = mt_now_ms() + wait_ms;
    snprintf(p->endpoints[p->n++], MT_ENDPOINT_MAX, "%s", hostname);
    for (uint32_t i = 0; ref && i < ref->nnodes; i++)
        if (strcmp(ref->node_list[i], hostname) != 0)
            snprintf(p->endpoints[p->n++], MT_ENDPOINT_MAX, "%s", ref->node_list[i]);
    return m;
}

