/*  codec_internal.h — shared pieces of the msgpack codec (codec_*.c).

    Decoding is two steps: mt__codec_unpack bounds-checks the raw bytes
    (codec_check.c) and only then lets msgpack-c unpack them; the typed
    field readers below (codec_field.c) turn msgpack objects into node group
    templates. Every copy a reader makes lives in the unpacked object's zone,
    so one mt__codec_unpack_done frees all temporary memory and no error
    path has anything else to release. */
#ifndef MT_CODEC_INTERNAL_H_INCLUDED
#define MT_CODEC_INTERNAL_H_INCLUDED

#include "mt_codec.h"

#include <stdarg.h>

/*  Bodies of notices are not limited by the client's max_size: a node view
    carries both groups. This only stops absurd input early. */
#define MT__NOTICE_MAX_BODY (16u * 1024 * 1024)

/*  Formats err (if any) and returns MT_EBADREQ. */
int mt__codec_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*  mt_codec_check, then msgpack-c, into the calling thread's decoding zone
    (codec_unpack.c). u must be initialised (msgpack_unpacked_init); the
    caller ends it with mt__codec_unpack_done in every case, on the same
    thread, before the next decode there. */
int mt__codec_unpack(const void *body, size_t size, msgpack_unpacked *u,
                     char *err, size_t errlen);
/*  Gives u's zone back to the thread, emptied. */
void mt__codec_unpack_done(msgpack_unpacked *u);

/* ---- typed fields ------------------------------------------------------ */

typedef struct {
    msgpack_zone *zone;     /* where decoded strings and arrays are copied */
    char *err;
    size_t errlen;
} mt__codec_dec_t;

/*  The value of string key `key` in map (the last one if repeated), or NULL
    when absent or nil: an optional field sent as nil counts as absent. */
const msgpack_object *mt__codec_map_last(const msgpack_object *map, const char *key);

/*  Each reader checks the type ("grpc_port: expected an integer") and
    returns MT_OK or MT_EBADREQ with d->err set. Strings must be UTF-8
    without NUL bytes; the result is a NUL-terminated copy in d->zone. */
int mt__codec_dec_str(mt__codec_dec_t *d, const msgpack_object *o, const char *field, const char **out);
int mt__codec_dec_i64(mt__codec_dec_t *d, const msgpack_object *o, const char *field, int64_t *out);
int mt__codec_dec_u64(mt__codec_dec_t *d, const msgpack_object *o, const char *field, uint64_t *out);
int mt__codec_dec_bool(mt__codec_dec_t *d, const msgpack_object *o, const char *field, bool *out);
int mt__codec_dec_str_map(mt__codec_dec_t *d, const msgpack_object *o, const char *field,
                    mt_str_pair_t **out, uint32_t *n);
int mt__codec_dec_int_map(mt__codec_dec_t *d, const msgpack_object *o, const char *field,
                    mt_int_pair_t **out, uint32_t *n);
int mt__codec_dec_str_array(mt__codec_dec_t *d, const msgpack_object *o, const char *field,
                      const char ***out, uint32_t *n);

/*  Optional keys of map: *out stays as it is when the key is absent (or
    nil). A count is an integer that must not be negative. */
int mt__codec_dec_opt_str(mt__codec_dec_t *d, const msgpack_object *map, const char *key, const char **out);
int mt__codec_dec_opt_count(mt__codec_dec_t *d, const msgpack_object *map, const char *key, int64_t *out);

/*  A required node id (key "id" of map), validated by mt_node_id_check. */
int mt__codec_dec_node_id(mt__codec_dec_t *d, const msgpack_object *map, const char **id);

/*  The registration keys of a node map into a template (pointers into
    d->zone). In a request (view = false) grpc_port, when given, must be
    1-65535, and reg_revision / versions_hash are ignored; in a view port 0
    means "not given" and reg_revision is read. Runs mt_node_reg_check and,
    in a request, the label syntax (mt_labels_check). */
int mt__codec_dec_reg(mt__codec_dec_t *d, const msgpack_object *map, bool view, mt_node_reg_t *t);
/*  The status keys of a map (heartbeat request or view) into a template.
    `ready` is required in a request; seen_at and status_revision are read
    from views only. Runs mt_node_status_check. */
int mt__codec_dec_status(mt__codec_dec_t *d, const msgpack_object *map, bool view, mt_node_status_t *t);
/*  `components` (an array of maps of five strings) into t->components;
    runs mt_components_check. */
int mt__codec_dec_components(mt__codec_dec_t *d, const msgpack_object *o, mt_node_reg_t *t);
/*  `metrics` and `metrics_at` of a view into a live template; false in
    *has when the view carries no metrics (metrics_at 0 or absent). */
int mt__codec_dec_live(mt__codec_dec_t *d, const msgpack_object *view, mt_node_live_t *t, bool *has);
/*  A label map under another name ("set", "selector"), checked by the rules
    of labels. */
int mt__codec_dec_labels(mt__codec_dec_t *d, const msgpack_object *o, const char *field,
                   mt_node_reg_t *t);

/* ---- remote cluster references (codec_rc.c) ---------------------------- */

/*  The arguments of an rc.* op into a new MT_RC_REQ (*out, also set on an
    error: the caller frees it). */
int mt__codec_dec_rc_request(mt__codec_dec_t *d, const msgpack_object *body, mt_op_t op, mt_msg_t **out);
/*  The id and view of an "rc" notice into an MT_RC_MERGE (*out, only on
    MT_OK) whose reference has the notice's revision and `deleted`. */
int mt__codec_dec_rc_merge(mt__codec_dec_t *d, const msgpack_object *body, bool deleted,
                     int64_t revision, mt_msg_t **out);
/*  A reference as PROTOCOL.md's reference view (never the password). */
void mt__codec_pack_rc_view(msgpack_packer *pk, const mt_rc_t *ref);

/* ---- packing ----------------------------------------------------------- */

void mt__codec_pack_str(msgpack_packer *pk, const char *s);     /* NULL packs "" */
/*  Clears buf and packs a notice's head — {"replica", "seq", "kind",
    "change", "id", "revision", then the key "view" — leaving pk ready for
    the view (PROTOCOL.md, Notices). */
void mt__codec_notice_begin(msgpack_sbuffer *buf, msgpack_packer *pk, const char *replica,
                      uint64_t seq, const char *kind, bool deleted, const char *id,
                      int64_t revision);
/*  A map entry: the key, then the value. */
void mt__codec_pack_key_str(msgpack_packer *pk, const char *key, const char *value);
void mt__codec_pack_key_int(msgpack_packer *pk, const char *key, int64_t value);
/*  Clears buf, starts a reply map {"ok", "rid"?, "result"|"error": ...}
    and leaves the packer ready for the result/error value. */
void mt__codec_reply_begin(msgpack_sbuffer *buf, msgpack_packer *pk, bool ok,
                     bool has_rid, uint64_t rid);


#endif
