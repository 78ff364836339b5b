/*  informer.c — the informer's network half: members, requests with
    failover, the SUB socket, sequence numbers, list and catch-up rounds.
    The cache and its merge rules are informer_cache.c.

    A round of requests goes to one member; a member that does not answer
    (timeout, `unavailable`, `busy`) hands the request to the next one.
    Revisions are the database's, so a `mark` from one member is good on
    every other. Waiting is plain zmq_poll (czmq's poller gives up on any
    signal). */
#include "informer_internal.h"
#include "mt_alloc.h"
#include "mt_codec.h"
#include "mt_err.h"

#include <czmq.h>
#include <errno.h>
#include <string.h>

static char *dup_or_null(const char *s)
{
    return s && *s ? mt_xstrdup(s) : NULL;
}

static void ep_free(mt__informer_ep_t *e)
{
    free(e->endpoint);
    free(e->key);
    e->endpoint = e->key = NULL;
}

static zsock_t *sub_new(mt_informer_t *inf)
{
    zsock_t *s = zsock_new(ZMQ_SUB);
    if (!s)
        return NULL;
    zsock_set_linger(s, 0);
    zsock_set_rcvhwm(s, inf->o.sub_hwm > 0 ? inf->o.sub_hwm : 0);
    zsock_set_maxmsgsize(s, MT_CLIENT_MAX_REPLY_DEFAULT);
    zsock_set_subscribe(s, "node/");
    return s;
}

mt_informer_t *mt_informer_new(const mt_informer_opts_t *opts)
{
    if (!opts || !opts->endpoint || !*opts->endpoint)
        return NULL;
    mt_informer_t *inf = mt_xcalloc(1, sizeof *inf);
    inf->o = *opts;
    if (!inf->o.timeout_ms)
        inf->o.timeout_ms = 5000;
    if (!inf->o.resync_ms)
        inf->o.resync_ms = 30000;
    if (!inf->o.page)
        inf->o.page = 5000;
    if (!inf->o.changes_limit || inf->o.changes_limit > 10000)
        inf->o.changes_limit = 10000;
    inf->server_key = dup_or_null(opts->server_key);
    inf->curve = inf->server_key != NULL;
    char pub[41], sec[41];
    if (inf->curve && (!opts->public_key || !*opts->public_key)) {
        if (zmq_curve_keypair(pub, sec) != 0) {
            free(inf->server_key);
            free(inf);
            return NULL;
        }
        inf->public_key = mt_xstrdup(pub);
        inf->secret_key = mt_xstrdup(sec);
        explicit_bzero(sec, sizeof sec);
    }
    else {
        inf->public_key = dup_or_null(opts->public_key);
        inf->secret_key = dup_or_null(opts->secret_key);
    }
    inf->o.endpoint = inf->o.server_key = inf->o.public_key = inf->o.secret_key = NULL;
    inf->eps[0].endpoint = mt_xstrdup(opts->endpoint);
    inf->eps[0].key = dup_or_null(inf->server_key);
    inf->neps = 1;
    inf->seqs = zhashx_new();
    inf->cache = mt__informer_cache_new(opts->on_change, opts->arg);
    inf->sub = sub_new(inf);
    if (!inf->sub) {
        mt_informer_destroy(&inf);
        return NULL;
    }
    return inf;
}

void mt_informer_destroy(mt_informer_t **inf_p)
{
    mt_informer_t *inf = *inf_p;
    if (!inf)
        return;
    *inf_p = NULL;
    mt_client_destroy(&inf->client);
    zsock_destroy(&inf->sub);
    for (size_t i = 0; i < inf->neps; i++)
        ep_free(&inf->eps[i]);
    for (size_t i = 0; i < inf->npubs; i++)
        ep_free(&inf->pubs[i]);
    zhashx_destroy(&inf->seqs);
    mt__informer_cache_destroy(&inf->cache);
    free(inf->server_key);
    free(inf->public_key);
    if (inf->secret_key)
        explicit_bzero(inf->secret_key, strlen(inf->secret_key));
    free(inf->secret_key);
    free(inf);
}

/* ---- requests, with failover ------------------------------------------- */

static mt_client_t *client_to(mt_informer_t *inf, const mt__informer_ep_t *e)
{
    mt_client_opts_t co = { .endpoint = e->endpoint, .server_key = e->key,
                            .public_key = inf->public_key, .secret_key = inf->secret_key };
    return mt_client_new_opts(&co);
}

/*  One request to the current member, moving on to the next ones while
    members do not answer. MT_OK with *r (ok or an error other than
    unavailable/busy), or the last failure. */
static int call(mt_informer_t *inf, const char *op, uint32_t nargs, mt_client_pack_fn *pack,
                void *arg, mt_reply_t *r)
{
    int rc = MT_EUNAVAIL;
    for (size_t tries = 0; tries < inf->neps; tries++) {
        if (!inf->client)
            inf->client = client_to(inf, &inf->eps[inf->cur]);
        if (inf->client) {
            rc = mt_client_call(inf->client, op, nargs, pack, arg, inf->o.timeout_ms, r);
            if (rc == MT_OK && (r->ok || (strcmp(r->code, "unavailable") != 0
                                          && strcmp(r->code, "busy") != 0)))
                return MT_OK;
            if (rc == MT_OK) {
                rc = MT_EUNAVAIL;
                mt_reply_free(r);
            }
        }
        else
            rc = MT_EINVAL;
        /*  A DEALER whose peer is gone would queue the next request for
            it: a fresh client to the next member. */
        mt_client_destroy(&inf->client);
        inf->cur = (inf->cur + 1) % inf->neps;
        inf->st.failovers++;
    }
    return rc;
}

static void copy_str(char *dst, size_t cap, const msgpack_object *o)
{
    dst[0] = '\0';
    if (o && o->type == MSGPACK_OBJECT_STR && o->via.str.size < cap
        && !memchr(o->via.str.ptr, 0, o->via.str.size)) {
        memcpy(dst, o->via.str.ptr, o->via.str.size);
        dst[o->via.str.size] = '\0';
    }
}

static bool get_i64(const msgpack_object *map, const char *key, int64_t *v)
{
    const msgpack_object *o = mt_client_map_first(map, key);
    if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > INT64_MAX)
        return false;
    *v = (int64_t) o->via.u64;
    return true;
}

static void add_ep(mt__informer_ep_t *set, size_t *n, const char *endpoint, const char *key)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(set[i].endpoint, endpoint) == 0)
            return;
    if (*n == MT__INFORMER_MAX_MEMBERS)
        return;
    set[*n].endpoint = mt_xstrdup(endpoint);
    set[*n].key = dup_or_null(key);
    (*n)++;
}

/*  Connects the SUB socket to pub (CURVE with its key when it has one). */
static void sub_connect(mt_informer_t *inf, const mt__informer_ep_t *pub)
{
    void *h = zsock_resolve(inf->sub);
    if (pub->key && inf->public_key && inf->secret_key) {
        zmq_setsockopt(h, ZMQ_CURVE_SERVERKEY, pub->key, strlen(pub->key));
        zmq_setsockopt(h, ZMQ_CURVE_PUBLICKEY, inf->public_key, strlen(inf->public_key));
        zmq_setsockopt(h, ZMQ_CURVE_SECRETKEY, inf->secret_key, strlen(inf->secret_key));
    }
    else {
        int off = 0;
        zmq_setsockopt(h, ZMQ_CURVE_SERVER, &off, sizeof off);
    }
    zsock_connect(inf->sub, "%s", pub->endpoint);
}

/*  cluster.info: every member's request endpoint joins the failover list,
    every publish endpoint not yet subscribed to is. */
static int refresh_members(mt_informer_t *inf)
{
    mt_reply_t r;
    int rc = call(inf, "cluster.info", 0, NULL, NULL, &r);
    if (rc != MT_OK)
        return rc;
    if (!r.ok) {
        mt_reply_free(&r);
        return MT_EBADREQ;
    }
    const msgpack_object *m = mt_client_map_first(r.result, "members");
    uint32_t n = m && m->type == MSGPACK_OBJECT_ARRAY ? m->via.array.size : 0;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *mem = &m->via.array.ptr[i];
        char ep[256], pep[256], key[64];
        copy_str(ep, sizeof ep, mt_client_map_first(mem, "endpoint"));
        copy_str(pep, sizeof pep, mt_client_map_first(mem, "pub_endpoint"));
        copy_str(key, sizeof key, mt_client_map_first(mem, "public_key"));
        const char *k = key[0] ? key : inf->server_key;
        if (ep[0])
            add_ep(inf->eps, &inf->neps, ep, k);
        if (pep[0]) {
            size_t before = inf->npubs;
            add_ep(inf->pubs, &inf->npubs, pep, k);
            if (inf->npubs > before && inf->sub)
                sub_connect(inf, &inf->pubs[before]);
        }
    }
    mt_reply_free(&r);
    return MT_OK;
}

/* ---- list and catch-up -------------------------------------------------- */

typedef struct {
    const char *after;
    uint32_t limit;
    int64_t since;
} args_t;

static void pack_list(msgpack_packer *pk, void *arg)
{
    const args_t *a = arg;
    msgpack_pack_str_with_body(pk, "limit", 5);
    msgpack_pack_uint32(pk, a->limit);
    if (a->after) {
        msgpack_pack_str_with_body(pk, "after", 5);
        msgpack_pack_str_with_body(pk, a->after, strlen(a->after));
    }
}

static void pack_changes(msgpack_packer *pk, void *arg)
{
    const args_t *a = arg;
    msgpack_pack_str_with_body(pk, "since", 5);
    msgpack_pack_int64(pk, a->since);
    msgpack_pack_str_with_body(pk, "limit", 5);
    msgpack_pack_uint32(pk, a->limit);
}

/*  An error reply as an error code. */
static int reply_err(const mt_reply_t *r)
{
    return strcmp(r->code, "expired") == 0 ? MT_EEXPIRED : MT_EBADREQ;
}

/*  node.list page by page; the first page's revision is the list's (the
    later pages are no older, and the catch-up repeats what is newer). */
static int relist(mt_informer_t *inf)
{
    char after[256] = "";
    int64_t revision = -1;
    int rc = MT_OK;
    mt__informer_cache_list_begin(inf->cache);
    for (;;) {
        args_t a = { .after = after[0] ? after : NULL, .limit = inf->o.page };
        mt_reply_t r;
        rc = call(inf, "node.list", a.after ? 2 : 1, pack_list, &a, &r);
        if (rc != MT_OK)
            break;
        const msgpack_object *nodes = r.ok ? mt_client_map_first(r.result, "nodes") : NULL;
        int64_t rev;
        if (!r.ok || !nodes || nodes->type != MSGPACK_OBJECT_ARRAY
            || !get_i64(r.result, "revision", &rev)) {
            rc = r.ok ? MT_EBADREQ : reply_err(&r);
            mt_reply_free(&r);
            break;
        }
        if (revision < 0)
            revision = rev;
        for (uint32_t i = 0; i < nodes->via.array.size; i++)
            mt__informer_cache_upsert(inf->cache, &nodes->via.array.ptr[i],
                                      MT_INFORMER_FROM_LIST);
        char next[256];
        copy_str(next, sizeof next, mt_client_map_first(r.result, "next"));
        bool more = next[0] && nodes->via.array.size > 0 && strcmp(next, after) != 0;
        mt_reply_free(&r);
        if (!more)
            break;
        memcpy(after, next, sizeof after);
    }
    /*  A failed list still ends its generation, dropping nothing. */
    mt__informer_cache_list_end(inf->cache, rc == MT_OK ? revision : -1);
    if (rc == MT_OK) {
        inf->mark = revision;
        inf->st.relists++;
    }
    return rc;
}

/*  One node.changes answer into the cache; its mark in *mark. */
static int take_changes(mt_informer_t *inf, const msgpack_object *res, uint32_t *n,
                        int64_t *mark)
{
    const msgpack_object *ch = mt_client_map_first(res, "changes");
    if (!ch || ch->type != MSGPACK_OBJECT_ARRAY || !get_i64(res, "mark", mark))
        return MT_EBADREQ;
    *n = ch->via.array.size;
    for (uint32_t i = 0; i < *n; i++) {
        const msgpack_object *c = &ch->via.array.ptr[i];
        const msgpack_object *kind = mt_client_map_first(c, "change");
        char id[256];
        int64_t rev;
        copy_str(id, sizeof id, mt_client_map_first(c, "id"));
        if (!kind || kind->type != MSGPACK_OBJECT_STR || !id[0] || !get_i64(c, "revision", &rev))
            return MT_EBADREQ;
        if (kind->via.str.size == 6 && memcmp(kind->via.str.ptr, "delete", 6) == 0)
            mt__informer_cache_delete(inf->cache, id, rev, MT_INFORMER_FROM_CHANGES);
        else {
            const msgpack_object *v = mt_client_map_first(c, "view");
            if (!v || v->type != MSGPACK_OBJECT_MAP)
                return MT_EBADREQ;
            mt__informer_cache_upsert(inf->cache, v, MT_INFORMER_FROM_CHANGES);
        }
    }
    return MT_OK;
}

/*  node.changes from the mark until an answer is not cut by the limit;
    `expired`: list again. */
int mt__informer_catch_up(mt_informer_t *inf)
{
    for (;;) {
        args_t a = { .since = inf->mark, .limit = inf->o.changes_limit };
        mt_reply_t r;
        int rc = call(inf, "node.changes", 2, pack_changes, &a, &r);
        if (rc != MT_OK)
            return rc;
        if (!r.ok) {
            rc = reply_err(&r);
            mt_reply_free(&r);
            if (rc != MT_EEXPIRED)
                return rc;
            inf->st.expired++;
            if (inf->strict || (rc = relist(inf)) != MT_OK)
                return rc;
            continue;
        }
        uint32_t n = 0;
        int64_t mark = 0;
        rc = take_changes(inf, r.result, &n, &mark);
        mt_reply_free(&r);
        if (rc != MT_OK)
            return rc;
        bool advanced = mark > inf->mark;
        if (advanced)
            inf->mark = mark;
        if (n < a.limit || !advanced)
            break;
    }
    inf->st.catchups++;
    inf->last_sync = zclock_mono();
    inf->due = false;
    return MT_OK;
}

int mt_informer_start(mt_informer_t *inf, int64_t since)
{
    int rc = refresh_members(inf);
    if (rc == MT_OK && since < 0)
        rc = relist(inf);
    else if (rc == MT_OK)
        inf->mark = since;
    inf->strict = since >= 0;
    if (rc == MT_OK)
        rc = mt__informer_catch_up(inf);
    inf->strict = false;
    inf->started = rc == MT_OK;
    return rc;
}

int mt_informer_resync(mt_informer_t *inf)
{
    int rc = refresh_members(inf);
    if (rc == MT_OK)
        rc = mt__informer_catch_up(inf);
    if (rc != MT_OK)
        inf->due = true;
    return rc;
}

int mt_informer_relist(mt_informer_t *inf)
{
    int rc = relist(inf);
    if (rc == MT_OK)
        rc = mt__informer_catch_up(inf);
    if (rc != MT_OK)
        inf->due = true;
    return rc;
}

void mt_informer_unsubscribe(mt_informer_t *inf)
{
    zsock_destroy(&inf->sub);
}

int mt_informer_resubscribe(mt_informer_t *inf)
{
    zsock_destroy(&inf->sub);
    inf->sub = sub_new(inf);
    if (!inf->sub)
        return MT_ESYSTEM;
    for (size_t i = 0; i < inf->npubs; i++)
        sub_connect(inf, &inf->pubs[i]);
    inf->due = true;
    return MT_OK;
}
