/*  codec_notice.c — change notices, both ways (PROTOCOL.md, "Change
    notices"): {"replica", "seq", "kind", "change", "id", "revision", "view"}.

    A node notice decodes into an MT_NODE_MERGE: the registration group is
    rebuilt from the view when its reg_revision is > 0 (and above what the
    receiver says it holds, mt_codec_decode_notice_known), the status group when
    its status_revision is > 0 (a group with revision 0 was never written and
    must not be merged); a "delete" carries no group, only deleted and the
    notice's revision. An "rc" notice decodes into an MT_RC_MERGE
    (codec_rc.c). */
#include "codec_internal.h"

#include <string.h>

#define FAIL(...) return mt__codec_fail(d->err, d->errlen, __VA_ARGS__)
#define TRY(x) do { int rc_ = (x); if (rc_ != MT_OK) return rc_; } while (0)

void mt__codec_notice_begin(msgpack_sbuffer *buf, msgpack_packer *pk, const char *replica,
                      uint64_t seq, const char *kind, bool deleted, const char *id,
                      int64_t revision)
{
    msgpack_sbuffer_clear(buf);
    msgpack_packer_init(pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(pk, 7);
    mt__codec_pack_key_str(pk, "replica", replica);
    mt__codec_pack_str(pk, "seq");
    msgpack_pack_uint64(pk, seq);
    mt__codec_pack_key_str(pk, "kind", kind);
    mt__codec_pack_key_str(pk, "change", deleted ? "delete" : "upsert");
    mt__codec_pack_key_str(pk, "id", id);
    mt__codec_pack_key_int(pk, "revision", revision);
    mt__codec_pack_str(pk, "view");
}

void mt_codec_encode_node_notice(msgpack_sbuffer *buf, const char *replica, uint64_t seq,
                                 const mt_node_changed_t *change)
{
    msgpack_packer pk;
    bool deleted = change->change == MT_NODE_DELETED;
    mt__codec_notice_begin(buf, &pk, replica, seq, "node", deleted, change->view.id, change->revision);
    if (deleted) {
        msgpack_pack_map(&pk, 1);
        mt__codec_pack_str(&pk, "id");
        mt__codec_pack_str(&pk, change->view.id);
    } else {
        mt_codec_pack_node_view(&pk, &change->view);
    }
}

static int required(mt__codec_dec_t *d, const msgpack_object *map, const char *key,
                    const msgpack_object **o)
{
    if (!(*o = mt__codec_map_last(map, key)))
        FAIL("%s: required", key);
    return MT_OK;
}

/*  What the receiver holds already (mt_codec_decode_notice_known). */
typedef struct {
    mt_node_held_fn *fn;
    void *arg;
} known_t;

static int node_merge(mt__codec_dec_t *d, const msgpack_object *body, const known_t *known,
                      mt_notice_t *out)
{
    const char *id;
    TRY(mt__codec_dec_node_id(d, body, &id));
    const msgpack_object *view = mt__codec_map_last(body, "view");
    if (view) {
        if (view->type != MSGPACK_OBJECT_MAP)
            FAIL("view: expected a map");
        const msgpack_object *vid = mt__codec_map_last(view, "id");
        const char *s;
        if (vid) {
            TRY(mt__codec_dec_str(d, vid, "view.id", &s));
            if (strcmp(s, id) != 0)
                FAIL("view.id: differs from id");
        }
    }
    if (out->change == MT_NODE_DELETED) {
        out->merge = mt_node_merge_new(id, NULL, NULL, true, out->revision);
        return MT_OK;
    }
    if (!view)
        FAIL("view: required");
    mt_node_reg_t rt = { 0 };
    mt_node_status_t st;
    int64_t reg_revision = 0;
    if (known->fn)
        TRY(mt__codec_dec_opt_count(d, view, "reg_revision", &reg_revision));
    if (!known->fn || reg_revision <= 0 || !known->fn(known->arg, id, reg_revision, 0))
        TRY(mt__codec_dec_reg(d, view, true, &rt));
    TRY(mt__codec_dec_status(d, view, true, &st));
    mt_node_live_t lt;
    bool has_live;
    TRY(mt__codec_dec_live(d, view, &lt, &has_live));
    out->merge = mt_node_merge_new(id, rt.reg_revision > 0 ? mt_node_reg_build(&rt) : NULL,
                                   st.status_revision > 0 ? mt_node_status_build(&st) : NULL,
                                   false, 0);
    /*  Metrics ride with the heartbeat that carried them (PROTOCOL.md,
        "live"): only with a status group they can be ordered by. */
    if (has_live && st.status_revision > 0)
        ((mt_node_merge_t *) mt_msg_data(out->merge))->live = mt_node_live_build(&lt);
    return MT_OK;
}

static int decode(mt__codec_dec_t *d, const msgpack_object *body, const known_t *known,
                  mt_notice_t *out)
{
    if (body->type != MSGPACK_OBJECT_MAP)
        FAIL("body: expected a map");
    const msgpack_object *o;
    const char *s;
    TRY(required(d, body, "replica", &o));
    TRY(mt__codec_dec_str(d, o, "replica", &s));
    if (!s[0] || strlen(s) > MT_REPLICA_ID_MAX)
        FAIL("replica: must be 1-%d bytes", MT_REPLICA_ID_MAX);
    memcpy(out->replica, s, strlen(s) + 1);
    TRY(required(d, body, "seq", &o));
    TRY(mt__codec_dec_u64(d, o, "seq", &out->seq));
    TRY(required(d, body, "kind", &o));
    TRY(mt__codec_dec_str(d, o, "kind", &s));
    if (strcmp(s, "node") == 0)
        out->node = true;
    else if (strcmp(s, "rc") != 0)
        FAIL("kind: expected \"node\" or \"rc\"");
    TRY(required(d, body, "change", &o));
    TRY(mt__codec_dec_str(d, o, "change", &s));
    if (strcmp(s, "upsert") == 0)
        out->change = MT_NODE_UPSERT;
    else if (strcmp(s, "delete") == 0)
        out->change = MT_NODE_DELETED;
    else
        FAIL("change: expected \"upsert\" or \"delete\"");
    TRY(required(d, body, "revision", &o));
    TRY(mt__codec_dec_i64(d, o, "revision", &out->revision));
    if (out->revision < 0)
        FAIL("revision: must not be negative");
    if (out->node)
        return node_merge(d, body, known, out);
    return mt__codec_dec_rc_merge(d, body, out->change == MT_NODE_DELETED, out->revision,
                            &out->rc_merge);
}

int mt_codec_decode_notice(const void *body, size_t size, mt_notice_t *out,
                           char *err, size_t errlen)
{
    return mt_codec_decode_notice_known(body, size, NULL, NULL, out, err, errlen);
}

int mt_codec_decode_notice_known(const void *body, size_t size, mt_node_held_fn *known_fn,
                                 void *arg, mt_notice_t *out, char *err, size_t errlen)
{
    known_t known = { known_fn, arg };
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (size > MT__NOTICE_MAX_BODY) {
        mt__codec_fail(err, errlen, "notice: %zu bytes; the maximum is %u", size,
                 MT__NOTICE_MAX_BODY);
        return MT_ETOOLARGE;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = mt__codec_unpack(body, size, &u, err, errlen);
    if (rc == MT_OK) {
        mt__codec_dec_t d = { u.zone, err, errlen };
        rc = decode(&d, &u.data, &known, out);
    }
    mt__codec_unpack_done(&u);
    if (rc != MT_OK) {
        if (out->merge)
            mt_msg_free(out->merge);
        if (out->rc_merge)
            mt_msg_free(out->rc_merge);
        out->merge = NULL;
        out->rc_merge = NULL;
    }
    return rc;
}
