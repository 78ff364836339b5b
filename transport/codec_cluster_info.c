/*  codec_cluster_info.c — a remote cluster's answer to cluster.info, read
    as the untrusted input it is (PROTOCOL.md: "Everything a remote cluster
    answers is untrusted input"). Used by the reference probers; it knows
    msgpack and the shape of the answer, no business rule.

    What is read: `cluster_uuid` (required: 1-36 letters, digits or '-')
    and `members` (required array). Each member is a map with `endpoint`,
    `alive` and, optionally, `public_key` and `cluster_uuid`:
      * a member not alive is passed over;
      * an alive entry that is not a valid member — not a map (nil, say),
        `alive` not a boolean, an endpoint that mt_rc_endpoint_allowed
        refuses (';', spaces, control bytes, non-ASCII, no port, too long,
        ipc:// unless allowed), a public_key that is not "" or a Z85 key,
        a cluster_uuid other than the answer's — is not a member: it is
        counted in `rejected` and skipped, the others still count;
      * the same endpoint twice: the first entry is kept.
    Members kept are sorted by endpoint (strcmp).

    Limits, checked before anything is allocated: at most MT_RC_NODES_MAX
    distinct alive members. More is an error for the whole answer, not a
    truncation: a truncated list would depend on which members we dropped,
    and a cluster of more than 256 live replicas is not one metactor
    builds; an answer like that is treated as no answer. Any number of
    dead or garbage entries is fine (a long-lived cluster keeps the rows of
    replicas that died): they cost one pass and no memory. The one
    allocation is the result, its size computed in size_t with overflow
    checks.

    The body's own size is bounded by the socket it came from
    (ZMQ_MAXMSGSIZE on the prober's client) and by mt_codec_check, which
    refuses declared counts the remaining bytes cannot hold. */
#include "codec_internal.h"
#include "mt_key.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...) return mt__codec_fail(err, errlen, __VA_ARGS__)

/*  A member kept, pointing into the unpacked answer. */
typedef struct {
    const char *ep, *key;
    uint32_t eplen, keylen;
} kept_t;

static bool id_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || c == '-';
}

static bool uuid_ok(const msgpack_object *o)
{
    if (!o || o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0
        || o->via.str.size > MT_RC_ID_MAX)
        return false;
    for (uint32_t i = 0; i < o->via.str.size; i++)
        if (!id_char(o->via.str.ptr[i]))
            return false;
    return true;
}

static bool str_eq(const msgpack_object *a, const msgpack_object *b)
{
    return a->via.str.size == b->via.str.size
        && memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size) == 0;
}

/*  strcmp order of two endpoints (ASCII without NUL: a byte compare). */
static int ep_cmp(const char *a, uint32_t an, const char *b, uint32_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/*  The member's endpoint and key when it is a valid alive member; false
    otherwise (*dead tells a member that is just not alive). */
static bool member(const msgpack_object *m, const msgpack_object *uuid, bool allow_ipc,
                   kept_t *k, bool *dead)
{
    *dead = false;
    if (m->type != MSGPACK_OBJECT_MAP)
        return false;
    const msgpack_object *alive = mt__codec_map_last(m, "alive");
    if (!alive || alive->type != MSGPACK_OBJECT_BOOLEAN)
        return false;
    if (!alive->via.boolean) {
        *dead = true;
        return false;
    }
    const msgpack_object *ep = mt__codec_map_last(m, "endpoint");
    if (!ep || ep->type != MSGPACK_OBJECT_STR || ep->via.str.size >= MT_ENDPOINT_MAX
        || memchr(ep->via.str.ptr, '\0', ep->via.str.size))
        return false;
    char buf[MT_ENDPOINT_MAX];
    memcpy(buf, ep->via.str.ptr, ep->via.str.size);
    buf[ep->via.str.size] = '\0';
    if (!mt_rc_endpoint_allowed(buf, allow_ipc))
        return false;
    const msgpack_object *cu = mt__codec_map_last(m, "cluster_uuid");
    if (cu && (cu->type != MSGPACK_OBJECT_STR || !str_eq(cu, uuid)))
        return false;
    k->ep = ep->via.str.ptr;
    k->eplen = ep->via.str.size;
    k->key = "";
    k->keylen = 0;
    const msgpack_object *key = mt__codec_map_last(m, "public_key");
    if (key) {
        if (key->type != MSGPACK_OBJECT_STR || (key->via.str.size != 0
                                                && key->via.str.size != MT_RC_KEY_LEN))
            return false;
        char kb[MT_RC_KEY_LEN + 1], scratch[8];
        memcpy(kb, key->via.str.ptr, key->via.str.size);
        kb[key->via.str.size] = '\0';
        if (memchr(kb, '\0', key->via.str.size)
            || mt_key_check("public_key", kb, scratch, sizeof scratch) != MT_OK)
            return false;
        k->key = key->via.str.ptr;
        k->keylen = key->via.str.size;
    }
    return true;
}

/*  Inserts k into the sorted, duplicate-free kept[0..*n): 1 inserted, 0 a
    duplicate, -1 full. */
static int insert(kept_t *kept, uint32_t *n, const kept_t *k)
{
    uint32_t lo = 0, hi = *n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = ep_cmp(kept[mid].ep, kept[mid].eplen, k->ep, k->eplen);
        if (c == 0)
            return 0;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (*n == MT_RC_NODES_MAX)
        return -1;
    memmove(&kept[lo + 1], &kept[lo], (*n - lo) * sizeof *kept);
    kept[lo] = *k;
    (*n)++;
    return 1;
}

int mt_remote_info_parse(const msgpack_object *result, bool allow_ipc, mt_remote_info_t **out,
                         char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!result || result->type != MSGPACK_OBJECT_MAP)
        FAIL("cluster.info: the result is not a map");
    const msgpack_object *uuid = mt__codec_map_last(result, "cluster_uuid");
    if (!uuid_ok(uuid))
        FAIL("cluster.info: cluster_uuid must be 1-%d letters, digits or '-'", MT_RC_ID_MAX);
    const msgpack_object *members = mt__codec_map_last(result, "members");
    if (!members || members->type != MSGPACK_OBJECT_ARRAY)
        FAIL("cluster.info: members must be an array");

    kept_t kept[MT_RC_NODES_MAX];
    uint32_t n = 0, rejected = 0;
    for (uint32_t i = 0; i < members->via.array.size; i++) {
        kept_t k;
        bool dead;
        if (!member(&members->via.array.ptr[i], uuid, allow_ipc, &k, &dead)) {
            rejected += !dead;
            continue;
        }
        if (insert(kept, &n, &k) < 0)
            FAIL("cluster.info: more than %d alive members", MT_RC_NODES_MAX);
    }

    size_t bytes;
    if (__builtin_mul_overflow((size_t) n, sizeof(mt_remote_member_t), &bytes)
        || __builtin_add_overflow(bytes, offsetof(mt_remote_info_t, alive), &bytes))
        FAIL("cluster.info: too many members");
    mt_remote_info_t *info = calloc(1, bytes);
    if (!info)
        FAIL("cluster.info: out of memory");
    memcpy(info->cluster_uuid, uuid->via.str.ptr, uuid->via.str.size);
    info->listed = members->via.array.size;
    info->rejected = rejected;
    info->nalive = n;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(info->alive[i].endpoint, kept[i].ep, kept[i].eplen);
        memcpy(info->alive[i].public_key, kept[i].key, kept[i].keylen);
    }
    *out = info;
    return MT_OK;
}

int mt_remote_info_decode(const void *body, size_t size, bool allow_ipc, mt_remote_info_t **out,
                          char *err, size_t errlen)
{
    *out = NULL;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = mt__codec_unpack(body, size, &u, err, errlen);
    if (rc == MT_OK)
        rc = mt_remote_info_parse(&u.data, allow_ipc, out, err, errlen);
    mt__codec_unpack_done(&u);
    return rc;
}

void mt_remote_info_destroy(mt_remote_info_t **info_p)
{
    free(*info_p);
    *info_p = NULL;
}
