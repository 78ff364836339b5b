/*  codec_rc.c — remote cluster references on the wire (PROTOCOL.md, "Remote
    cluster references"): rc.* request bodies into MT_RC_REQ messages, the
    replies and the reference view, and "rc" change notices both ways.

    Requests. The selector of rc.set and rc.del is `name` or `id`; rc.get
    also takes `uuid`. Every selector given is checked and copied (the
    registry uses the first of id, name, uuid); none is bad_request. Ids and
    uuids are 1-36 letters, digits or '-'; names pass mt_rc_name_check,
    hostnames mt_rc_endpoint_check. rc.set must change something (hostname,
    username, password, demand_encryption, server_key, the client keypair
    or new_name); its optional
    `revision` (compare-and-set) must be positive, as must rc.del's (the
    store supports it for deletes too). Strings are copied out of the
    unpacked body; the zone's copies of a password and a client_secret are
    wiped once copied.

    Keys (PROTOCOL.md v2): server_key is "" or a Z85 key; client_public and
    client_secret come together, both "" or a keypair whose secret derives
    the public key (mt_key_pair_check). rc.add with demand_encryption
    true needs a server_key; rc.set's rule is checked by the agent, after
    the merge with what is stored.

    The secrets never leave: the reference view has exactly the keys of
    the table in PROTOCOL.md that the service implements (server_key and
    client_public, never client_secret or the password), and the view is
    the only thing replies and notices say about a reference.

    Notices. A notice's reference is rebuilt from its view: on "upsert" the
    view is required, with a valid name and hostname; on "delete" it may be
    absent or partial (only what it gives is checked). The merged block's
    revision is the notice's `revision` (a tombstone's revision is the
    delete's, whatever the view's last state said); a password in a view
    is ignored. */
#include "codec_internal.h"
#include "mt_alloc.h"
#include "mt_key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...) return mt__codec_fail(d->err, d->errlen, __VA_ARGS__)
#define TRY(x) do { int rc_ = (x); if (rc_ != MT_OK) return rc_; } while (0)

/*  Bounds of the store's columns (rc_refs: username VARCHAR(255),
    password VARCHAR(1024)), in bytes. */
#define RC_USERNAME_MAX 255
#define RC_PASSWORD_MAX 1024

#define ENDPOINT_FORM "request endpoints (tcp://HOST:PORT or ipc://PATH)"


static bool id_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || c == '-';
}

/*  A reference id or a cluster uuid. */
static int id_check(mt__codec_dec_t *d, const char *field, const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MT_RC_ID_MAX)
        FAIL("%s: must be 1-%d characters", field, MT_RC_ID_MAX);
    for (size_t i = 0; i < n; i++)
        if (!id_char(s[i]))
            FAIL("%s: only letters, digits and '-' are allowed", field);
    return MT_OK;
}

/*  mt_rc_name_check / mt_rc_endpoint_check under another field name: their
    messages start with "name: " / "hostname: ". */
static int renamed(mt__codec_dec_t *d, int rc, const char *field, const char *msg)
{
    if (rc == MT_OK)
        return MT_OK;
    const char *colon = strstr(msg, ": ");
    FAIL("%s: %s", field, colon ? colon + 2 : msg);
}

static int name_check(mt__codec_dec_t *d, const char *field, const char *s)
{
    char msg[160];
    return renamed(d, mt_rc_name_check(s, msg, sizeof msg), field, msg);
}

static int endpoint_check(mt__codec_dec_t *d, const char *field, const char *s)
{
    char msg[160];
    return renamed(d, mt_rc_endpoint_check(s, msg, sizeof msg), field, msg);
}

static int key_check(mt__codec_dec_t *d, const char *field, const char *s)
{
    return mt_key_check(field, s, d->err, d->errlen);
}

static int max_len(mt__codec_dec_t *d, const char *field, const char *s, size_t max)
{
    if (strlen(s) > max)
        FAIL("%s: at most %zu bytes", field, max);
    return MT_OK;
}

/* ---- requests ---------------------------------------------------------- */

static int dec_selector(mt__codec_dec_t *d, const msgpack_object *body, bool by_uuid, mt_rc_req_t *r)
{
    const msgpack_object *o;
    const char *s;
    bool any = false;
    if ((o = mt__codec_map_last(body, "id"))) {
        TRY(mt__codec_dec_str(d, o, "id", &s));
        TRY(id_check(d, "id", s));
        memcpy(r->id, s, strlen(s) + 1);
        any = true;
    }
    if ((o = mt__codec_map_last(body, "name"))) {
        TRY(mt__codec_dec_str(d, o, "name", &s));
        TRY(name_check(d, "name", s));
        memcpy(r->name, s, strlen(s) + 1);
        any = true;
    }
    if (by_uuid && (o = mt__codec_map_last(body, "uuid"))) {
        TRY(mt__codec_dec_str(d, o, "uuid", &s));
        TRY(id_check(d, "uuid", s));
        memcpy(r->uuid, s, strlen(s) + 1);
        any = true;
    }
    if (!any)
        FAIL(by_uuid ? "name: required (or id or uuid)" : "name: required (or id)");
    return MT_OK;
}

/*  server_key, client_public + client_secret: whichever are given. */
static int dec_keys(mt__codec_dec_t *d, const msgpack_object *body, mt_rc_req_t *r)
{
    const msgpack_object *o;
    const char *s, *pub = NULL, *sec = NULL;
    if ((o = mt__codec_map_last(body, "server_key"))) {
        TRY(mt__codec_dec_str(d, o, "server_key", &s));
        TRY(key_check(d, "server_key", s));
        r->server_key = mt_xstrdup(s);
    }
    if ((o = mt__codec_map_last(body, "client_public")))
        TRY(mt__codec_dec_str(d, o, "client_public", &pub));
    if ((o = mt__codec_map_last(body, "client_secret"))) {
        int rc = mt__codec_dec_str(d, o, "client_secret", &sec);
        if (rc != MT_OK)
            return rc;
    }
    if (!pub && !sec)
        return MT_OK;
    int rc = !pub ? mt__codec_fail(d->err, d->errlen, "client_public: required with client_secret")
           : !sec ? mt__codec_fail(d->err, d->errlen, "client_secret: required with client_public")
           : mt_key_pair_check(pub, sec, d->err, d->errlen);
    if (rc == MT_OK) {
        r->client_public = mt_xstrdup(pub);
        r->client_secret = mt_xstrdup(sec);
    }
    if (sec)
        explicit_bzero((char *) sec, strlen(sec));     /* the zone's copy */
    return rc;
}

/*  hostname, username, password, demand_encryption and the keys: whichever
    are given. */
static int dec_fields(mt__codec_dec_t *d, const msgpack_object *body, mt_rc_req_t *r)
{
    const msgpack_object *o;
    const char *s;
    if ((o = mt__codec_map_last(body, "hostname"))) {
        TRY(mt__codec_dec_str(d, o, "hostname", &s));
        TRY(endpoint_check(d, "hostname", s));
        r->hostname = mt_xstrdup(s);
    }
    if ((o = mt__codec_map_last(body, "username"))) {
        TRY(mt__codec_dec_str(d, o, "username", &s));
        TRY(max_len(d, "username", s, RC_USERNAME_MAX));
        r->username = mt_xstrdup(s);
    }
    if ((o = mt__codec_map_last(body, "password"))) {
        TRY(mt__codec_dec_str(d, o, "password", &s));
        size_t n = strlen(s);
        int rc = max_len(d, "password", s, RC_PASSWORD_MAX);
        if (rc == MT_OK)
            r->password = mt_xstrdup(s);
        memset((char *) s, 0, n);       /* the zone's copy */
        TRY(rc);
    }
    if ((o = mt__codec_map_last(body, "demand_encryption"))) {
        TRY(mt__codec_dec_bool(d, o, "demand_encryption", &r->demand_encryption));
        r->has_demand_encryption = true;
    }
    return dec_keys(d, body, r);
}

static int dec_revision(mt__codec_dec_t *d, const msgpack_object *body, mt_rc_req_t *r)
{
    const msgpack_object *o = mt__codec_map_last(body, "revision");
    if (!o)
        return MT_OK;
    TRY(mt__codec_dec_i64(d, o, "revision", &r->revision));
    if (r->revision < 1)
        FAIL("revision: must be positive");
    r->has_revision = true;
    return MT_OK;
}

static int rc_add(mt__codec_dec_t *d, const msgpack_object *body, mt_rc_req_t *r)
{
    const msgpack_object *o;
    const char *s;
    if (!(o = mt__codec_map_last(body, "name")))
        FAIL("name: required");
    TRY(mt__codec_dec_str(d, o, "name", &s));
    TRY(name_check(d, "name", s));
    memcpy(r->name, s, strlen(s) + 1);
    if (!mt__codec_map_last(body, "hostname"))
        FAIL("hostname: required");
    TRY(dec_fields(d, body, r));
    if (r->demand_encryption && (!r->server_key || !r->server_key[0]))
        FAIL("demand_encryption: needs a server_key");
    return MT_OK;
}

static int rc_set(mt__codec_dec_t *d, const msgpack_object *body, mt_rc_req_t *r)
{
    TRY(dec_selector(d, body, false, r));
    TRY(dec_fields(d, body, r));
    const msgpack_object *o;
    if ((o = mt__codec_map_last(body, "new_name"))) {
        const char *s;
        TRY(mt__codec_dec_str(d, o, "new_name", &s));
        TRY(name_check(d, "new_name", s));
        memcpy(r->new_name, s, strlen(s) + 1);
    }
    TRY(dec_revision(d, body, r));
    if (!r->hostname && !r->username && !r->password && !r->has_demand_encryption
        && !r->server_key && !r->client_public && !r->new_name[0])
        FAIL("rc.set: nothing to change (give hostname, username, password, "
             "demand_encryption, server_key, client_public + client_secret or new_name)");
    return MT_OK;
}

static int rc_get(mt__codec_dec_t *d, const msgpack_object *body, mt_rc_req_t *r)
{
    TRY(dec_selector(d, body, true, r));
    const msgpack_object *o = mt__codec_map_last(body, "refresh");
    return o ? mt__codec_dec_bool(d, o, "refresh", &r->refresh) : MT_OK;
}

int mt__codec_dec_rc_request(mt__codec_dec_t *d, const msgpack_object *body, mt_op_t op, mt_msg_t **out)
{
    static const mt_rc_op_t ops[] = {
        [MT_OP_RC_ADD] = MT_RC_OP_ADD, [MT_OP_RC_SET] = MT_RC_OP_SET,
        [MT_OP_RC_DEL] = MT_RC_OP_DEL, [MT_OP_RC_GET] = MT_RC_OP_GET,
        [MT_OP_RC_LIST] = MT_RC_OP_LIST,
    };
    if (op < MT_OP_RC_ADD || op > MT_OP_RC_LIST)
        FAIL("op: not a reference operation");
    /*  Filled in place: on an error the caller frees the message, and its
        drop callback what was copied so far. */
    *out = mt_rc_req_new(ops[op]);
    mt_rc_req_t *r = mt_rc_req(*out);
    switch (op) {
    case MT_OP_RC_ADD: return rc_add(d, body, r);
    case MT_OP_RC_SET: return rc_set(d, body, r);
    case MT_OP_RC_DEL:
        TRY(dec_selector(d, body, false, r));
        return dec_revision(d, body, r);
    case MT_OP_RC_GET: return rc_get(d, body, r);
    default: return MT_OK;          /* rc.list */
    }
}

/* ---- the view and replies ---------------------------------------------- */

#define RC_VIEW_KEYS 11

void mt__codec_pack_rc_view(msgpack_packer *pk, const mt_rc_t *ref)
{
    /*  PROTOCOL.md's keys, in its order; ref->password and
        ref->client_secret are never read here. */
    msgpack_pack_map(pk, RC_VIEW_KEYS);
    mt__codec_pack_key_str(pk, "id", ref->id);
    mt__codec_pack_key_str(pk, "name", ref->name);
    mt__codec_pack_key_str(pk, "hostname", ref->hostname);
    mt__codec_pack_key_str(pk, "uuid", ref->uuid);
    mt__codec_pack_key_str(pk, "username", ref->username);
    mt__codec_pack_str(pk, "demand_encryption");
    if (ref->demand_encryption)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    mt__codec_pack_key_str(pk, "server_key", ref->server_key ? ref->server_key : "");
    mt__codec_pack_key_str(pk, "client_public", ref->client_public ? ref->client_public : "");
    mt__codec_pack_str(pk, "node_list");
    uint32_t n = ref->node_list ? ref->nnodes : 0;
    msgpack_pack_array(pk, n);
    for (uint32_t i = 0; i < n; i++)
        mt__codec_pack_str(pk, ref->node_list[i]);
    mt__codec_pack_key_int(pk, "revision", ref->revision);
    mt__codec_pack_key_int(pk, "refreshed_at", ref->refreshed_at);
}

void mt_codec_encode_rc_reply(msgpack_sbuffer *buf, bool has_rid, uint64_t rid,
                              mt_op_t op, const mt_rc_reply_t *r)
{
    if (r->err != MT_OK) {
        mt_codec_encode_error(buf, has_rid, rid, r->err, r->message);
        return;
    }
    msgpack_packer pk;
    switch (op) {
    case MT_OP_RC_ADD:
    case MT_OP_RC_SET:
    case MT_OP_RC_GET:
        if (!r->ref) {
            mt_codec_encode_error(buf, has_rid, rid, MT_EINTERNAL,
                                  "a reference reply without a reference");
            return;
        }
        mt__codec_reply_begin(buf, &pk, true, has_rid, rid);
        msgpack_pack_map(&pk, 1);
        mt__codec_pack_str(&pk, "ref");
        mt__codec_pack_rc_view(&pk, r->ref);
        return;
    case MT_OP_RC_DEL:
        mt__codec_reply_begin(buf, &pk, true, has_rid, rid);
        msgpack_pack_map(&pk, 0);
        return;
    case MT_OP_RC_LIST: {
        uint32_t n = 0;
        for (uint32_t i = 0; r->refs && i < r->nrefs; i++)
            n += r->refs[i] != NULL;
        mt__codec_reply_begin(buf, &pk, true, has_rid, rid);
        msgpack_pack_map(&pk, 1);
        mt__codec_pack_str(&pk, "refs");
        msgpack_pack_array(&pk, n);
        for (uint32_t i = 0; r->refs && i < r->nrefs; i++)
            if (r->refs[i])
                mt__codec_pack_rc_view(&pk, r->refs[i]);
        return;
    }
    default:
        mt_codec_encode_error(buf, has_rid, rid, MT_EINTERNAL,
                              "a reference reply for another operation");
        return;
    }
}

/* ---- notices ----------------------------------------------------------- */

void mt_codec_encode_rc_notice(msgpack_sbuffer *buf, const char *replica, uint64_t seq,
                               const mt_rc_changed_t *change)
{
    static const mt_rc_t none;
    const mt_rc_t *ref = change->ref ? change->ref : &none;
    msgpack_packer pk;
    mt__codec_notice_begin(buf, &pk, replica, seq, "rc", change->change == MT_NODE_DELETED, ref->id,
                     change->revision);
    mt__codec_pack_rc_view(&pk, ref);
}

int mt__codec_dec_rc_merge(mt__codec_dec_t *d, const msgpack_object *body, bool deleted,
                     int64_t revision, mt_msg_t **out)
{
    const msgpack_object *o = mt__codec_map_last(body, "id");
    const char *id;
    if (!o)
        FAIL("id: required");
    TRY(mt__codec_dec_str(d, o, "id", &id));
    TRY(id_check(d, "id", id));
    const msgpack_object *view = mt__codec_map_last(body, "view");
    if (view && view->type != MSGPACK_OBJECT_MAP)
        FAIL("view: expected a map");
    if (!view && !deleted)
        FAIL("view: required");

    mt_rc_t t = { .id = id, .name = "", .hostname = "", .uuid = "", .username = "",
                  .server_key = "", .client_public = "" };
    const char **nodes = NULL;
    if (view) {
        const char *vid = NULL;
        TRY(mt__codec_dec_opt_str(d, view, "id", &vid));
        if (vid && strcmp(vid, id) != 0)
            FAIL("view.id: differs from id");
        TRY(mt__codec_dec_opt_str(d, view, "name", &t.name));
        if (t.name[0] || !deleted)
            TRY(name_check(d, "name", t.name));
        TRY(mt__codec_dec_opt_str(d, view, "hostname", &t.hostname));
        if (t.hostname[0] || !deleted)
            TRY(endpoint_check(d, "hostname", t.hostname));
        TRY(mt__codec_dec_opt_str(d, view, "uuid", &t.uuid));
        if (t.uuid[0])
            TRY(id_check(d, "uuid", t.uuid));
        TRY(mt__codec_dec_opt_str(d, view, "username", &t.username));
        TRY(max_len(d, "username", t.username, RC_USERNAME_MAX));
        if ((o = mt__codec_map_last(view, "demand_encryption")))
            TRY(mt__codec_dec_bool(d, o, "demand_encryption", &t.demand_encryption));
        TRY(mt__codec_dec_opt_str(d, view, "server_key", &t.server_key));
        TRY(key_check(d, "server_key", t.server_key));
        TRY(mt__codec_dec_opt_str(d, view, "client_public", &t.client_public));
        TRY(key_check(d, "client_public", t.client_public));
        if ((o = mt__codec_map_last(view, "node_list"))) {
            TRY(mt__codec_dec_str_array(d, o, "node_list", &nodes, &t.nnodes));
            if (t.nnodes > MT_RC_NODES_MAX)
                FAIL("node_list: at most %d items", MT_RC_NODES_MAX);
            char scratch[8];
            for (uint32_t i = 0; i < t.nnodes; i++)
                if (mt_rc_endpoint_check(nodes[i], scratch, sizeof scratch) != MT_OK)
                    FAIL("node_list: items must be " ENDPOINT_FORM);
        }
        int64_t view_revision = 0;
        TRY(mt__codec_dec_opt_count(d, view, "revision", &view_revision));
        TRY(mt__codec_dec_opt_count(d, view, "refreshed_at", &t.refreshed_at));
    }
    t.node_list = nodes;
    t.password = NULL;
    t.client_secret = NULL;
    t.deleted = deleted;
    t.revision = revision;
    *out = mt_rc_merge_new(mt_rc_build(&t));
    return MT_OK;
}
