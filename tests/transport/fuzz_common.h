/*  fuzz_common.h — shared checks of the codec fuzzers (fuzz_request.c,
    fuzz_notice.c). A broken invariant aborts, which libFuzzer reports as a
    crash and saves the input. */
#ifndef FUZZ_COMMON_H_INCLUDED
#define FUZZ_COMMON_H_INCLUDED

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_internal.h"
#include "json_check.h"
#include "msgpack_json.h"

#define FUZZ_ASSERT(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            abort(); \
        } \
    } while (0)

/*  The error message that goes back to a client: set, bounded, UTF-8. */
static inline void fuzz_check_message(const char *err, size_t errlen)
{
    size_t n = strnlen(err, errlen);
    FUZZ_ASSERT(n > 0 && n < errlen);
    FUZZ_ASSERT(mt_utf8_valid(err, n));
}

/*  Bytes that our own encoder wrote pass our own check, unpack with
    msgpack-c in full, and turn into valid JSON. */
static inline void fuzz_check_encoded(const msgpack_sbuffer *buf)
{
    char err[200];
    FUZZ_ASSERT(mt_codec_check(buf->data, buf->size, err, sizeof err) == MT_OK);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    FUZZ_ASSERT(msgpack_unpack_next(&u, buf->data, buf->size, &off) == MSGPACK_UNPACK_SUCCESS);
    FUZZ_ASSERT(off == buf->size);
    char *json = ctl_json_of(&u.data);
    FUZZ_ASSERT(json_valid(json));
    free(json);
    msgpack_unpacked_destroy(&u);
}

/*  What mt_codec_peek_reply told, the full decode of the same map agrees
    with: exactly one "rid", of that value, and exactly one "ok", a
    boolean of that value — so metactl's full decode (the first key of a
    name) would have read the same. */
static inline void fuzz_check_peek(const msgpack_object *o, uint64_t rid, bool ok)
{
    FUZZ_ASSERT(o->type == MSGPACK_OBJECT_MAP);
    int rids = 0, oks = 0;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR)
            continue;
        if (k->via.str.size == 3 && memcmp(k->via.str.ptr, "rid", 3) == 0) {
            FUZZ_ASSERT(v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 == rid);
            rids++;
        }
        if (k->via.str.size == 2 && memcmp(k->via.str.ptr, "ok", 2) == 0) {
            FUZZ_ASSERT(v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean == ok);
            oks++;
        }
    }
    FUZZ_ASSERT(rids == 1 && oks == 1);
}

/*  Differential: whatever mt_codec_check accepts, msgpack-c unpacks whole
    (and it is never asked to unpack what the check refused, whose declared
    sizes may be absurd). The unpacked object converts to valid JSON. */
static inline void fuzz_check_raw(const uint8_t *data, size_t size)
{
    char err[200];
    uint64_t rid = 0;
    bool ok = false;
    bool peeked = mt_codec_peek_reply(data, size, &rid, &ok);   /* any bytes: no crash */
    int rc = mt_codec_check(data, size, err, sizeof err);
    FUZZ_ASSERT(rc == MT_OK || rc == MT_EBADREQ);
    FUZZ_ASSERT(!peeked || rc == MT_OK);        /* the peek is never laxer than the check */
    if (rc != MT_OK) {
        fuzz_check_message(err, sizeof err);
        return;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    FUZZ_ASSERT(msgpack_unpack_next(&u, (const char *) data, size, &off) == MSGPACK_UNPACK_SUCCESS);
    FUZZ_ASSERT(off == size);
    if (peeked)
        fuzz_check_peek(&u.data, rid, ok);
    char *json = ctl_json_of(&u.data);
    FUZZ_ASSERT(json_valid(json));
    free(json);
    msgpack_unpacked_destroy(&u);
}

#endif
