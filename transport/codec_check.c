/*  codec_check.c — the bounds pre-check of untrusted msgpack, and UTF-8.

    msgpack-c's unpacker allocates room for a container's declared element
    count before it reads the elements (the five bytes `dd ff ff ff ff` ask
    for 4 Gi objects, ~96 GiB) and recurses as deep as the input nests. So
    before msgpack-c sees a body, this walker reads the raw bytes once,
    without allocating:

    * every str/bin/ext length must fit in the bytes that remain;
    * every element announced by an array or map header needs at least one
      byte, so the elements announced and not yet started never outnumber
      the bytes that remain (this bounds msgpack-c's allocations by the body
      size);
    * containers nest at most MT_CODEC_DEPTH deep;
    * the body is exactly one object: nothing missing, nothing trailing. */
#include "codec_internal.h"

#include <stdio.h>
#include <string.h>

int mt__codec_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return MT_EBADREQ;
}

/* ---- the walker -------------------------------------------------------- */

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/*  What one header byte says: `lenbytes` big-endian length bytes follow
    (then `extra` + that length of payload), or a fixed payload of `fixed`
    bytes, or a container of `count` elements (×2 for maps). */
typedef struct {
    int lenbytes;       /* 0, 1, 2 or 4 */
    uint64_t fixed;     /* payload bytes when lenbytes == 0 */
    uint64_t extra;     /* ext: the type byte, added to the read length */
    bool container;
    int per;            /* elements per counted entry: 1 array, 2 map */
    uint64_t count;     /* fix containers: the count in the header */
} header_t;

static bool header(uint8_t t, header_t *h)
{
    memset(h, 0, sizeof *h);
    if (t <= 0x7f || t >= 0xe0)             /* fixints */
        return true;
    if (t <= 0x8f) {                        /* fixmap */
        h->container = true, h->per = 2, h->count = t & 0x0f;
        return true;
    }
    if (t <= 0x9f) {                        /* fixarray */
        h->container = true, h->per = 1, h->count = t & 0x0f;
        return true;
    }
    if (t <= 0xbf) {                        /* fixstr */
        h->fixed = t & 0x1f;
        return true;
    }
    switch (t) {
    case 0xc0: case 0xc2: case 0xc3: return true;           /* nil, false, true */
    case 0xc4: case 0xd9: h->lenbytes = 1; return true;     /* bin8, str8 */
    case 0xc5: case 0xda: h->lenbytes = 2; return true;     /* bin16, str16 */
    case 0xc6: case 0xdb: h->lenbytes = 4; return true;     /* bin32, str32 */
    case 0xc7: h->lenbytes = 1, h->extra = 1; return true;  /* ext8 */
    case 0xc8: h->lenbytes = 2, h->extra = 1; return true;  /* ext16 */
    case 0xc9: h->lenbytes = 4, h->extra = 1; return true;  /* ext32 */
    case 0xca: h->fixed = 4; return true;                   /* float32 */
    case 0xcb: h->fixed = 8; return true;                   /* float64 */
    case 0xcc: case 0xd0: h->fixed = 1; return true;        /* (u)int8 */
    case 0xcd: case 0xd1: h->fixed = 2; return true;
    case 0xce: case 0xd2: h->fixed = 4; return true;
    case 0xcf: case 0xd3: h->fixed = 8; return true;
    case 0xd4: h->fixed = 2; return true;                   /* fixext1..16 */
    case 0xd5: h->fixed = 3; return true;
    case 0xd6: h->fixed = 5; return true;
    case 0xd7: h->fixed = 9; return true;
    case 0xd8: h->fixed = 17; return true;
    case 0xdc: h->container = true, h->per = 1, h->lenbytes = 2; return true;
    case 0xdd: h->container = true, h->per = 1, h->lenbytes = 4; return true;
    case 0xde: h->container = true, h->per = 2, h->lenbytes = 2; return true;
    case 0xdf: h->container = true, h->per = 2, h->lenbytes = 4; return true;
    default: return false;                  /* 0xc1: never used */
    }
}

int mt_codec_check(const void *body, size_t size, char *err, size_t errlen)
{
    if (!body || size == 0)
        return mt__codec_fail(err, errlen, "body: empty");
    const uint8_t *p = body, *end = p + size;
    uint64_t left[MT_CODEC_DEPTH];      /* elements still to come per open container */
    int depth = 0;
    uint64_t announced = 0;             /* elements announced, not yet started */
    for (;;) {
        if (p == end)
            return mt__codec_fail(err, errlen, "body: truncated msgpack");
        size_t at = (size_t) (p - (const uint8_t *) body);
        uint8_t t = *p++;
        if (depth > 0)
            announced--;
        header_t h;
        if (!header(t, &h))
            return mt__codec_fail(err, errlen, "body: invalid msgpack byte 0x%02x at offset %zu", t, at);
        uint64_t n = h.count;
        if (h.lenbytes) {
            if ((size_t) (end - p) < (size_t) h.lenbytes)
                return mt__codec_fail(err, errlen, "body: truncated msgpack");
            n = be(p, h.lenbytes);
            p += h.lenbytes;
        }
        if (!h.container) {
            uint64_t payload = h.lenbytes ? n + h.extra : h.fixed;
            if (payload > (uint64_t) (end - p))
                return mt__codec_fail(err, errlen, "body: length at offset %zu exceeds the body", at);
            p += payload;
        } else {
            if (depth == MT_CODEC_DEPTH)
                return mt__codec_fail(err, errlen, "body: nested deeper than %d", MT_CODEC_DEPTH);
            uint64_t elements = n * (uint64_t) h.per, avail = (uint64_t) (end - p);
            if (announced > avail || elements > avail - announced)
                return mt__codec_fail(err, errlen,
                                "body: container at offset %zu declares more elements than the body holds",
                                at);
            if (elements) {
                announced += elements;
                left[depth++] = elements;
                continue;               /* its first element comes next */
            }
        }
        /*  One element is complete: count it off its container, and every
            container it completes in turn. */
        while (depth > 0 && --left[depth - 1] == 0)
            depth--;
        if (depth == 0)
            break;
    }
    if (p != end)
        return mt__codec_fail(err, errlen, "body: %zu trailing bytes after the msgpack object",
                        (size_t) (end - p));
    return MT_OK;
}

/*  Skips one object; NULL if it is malformed, truncated or too deep. */
static const uint8_t *skip(const uint8_t *p, const uint8_t *end, int depth)
{
    if (p >= end || depth > MT_CODEC_DEPTH)
        return NULL;
    header_t h;
    if (!header(*p++, &h))
        return NULL;
    uint64_t n = h.count;
    if (h.lenbytes) {
        if ((size_t) (end - p) < (size_t) h.lenbytes)
            return NULL;
        n = be(p, h.lenbytes);
        p += h.lenbytes;
    }
    if (!h.container) {
        uint64_t payload = h.lenbytes ? n + h.extra : h.fixed;
        return payload > (uint64_t) (end - p) ? NULL : p + payload;
    }
    for (uint64_t i = 0; i < n * (uint64_t) h.per && p; i++)
        p = skip(p, end, depth + 1);
    return p;
}

/*  The top map's element count; *p past its header. false if body does
    not start with a map header. */
static bool map_open(const uint8_t **p, const uint8_t *end, uint64_t *n)
{
    header_t h;
    if (*p >= end || !header(*(*p)++, &h) || !h.container || h.per != 2)
        return false;
    *n = h.count;
    if (h.lenbytes) {
        if ((size_t) (end - *p) < (size_t) h.lenbytes)
            return false;
        *n = be(*p, h.lenbytes);
        *p += h.lenbytes;
    }
    return true;
}

/*  A non-negative integer at p, in any width — signed ones too, as the
    full decode reads them (msgpack-c reads d0 03 as the positive
    integer 3). */
static bool read_uint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint8_t t = *p;
    int bytes = t <= 0x7f ? 0 : t == 0xcc ? 1 : t == 0xcd ? 2 : t == 0xce ? 4 : t == 0xcf ? 8 : -1;
    bool is_signed = t >= 0xd0 && t <= 0xd3;
    if (is_signed)
        bytes = 1 << (t - 0xd0);
    if (bytes < 0 || end - p < 1 + bytes || (is_signed && (p[1] & 0x80)))
        return false;
    *v = bytes ? be(p + 1, bytes) : t;
    return true;
}

static bool key_is(const uint8_t *p, const uint8_t *end, const char *key, size_t len)
{
    return (size_t) (end - p) > len && p[0] == (0xa0 | len) && memcmp(p + 1, key, len) == 0;
}

bool mt_codec_peek_rid(const void *body, size_t size, uint64_t *rid)
{
    if (!body)
        return false;
    const uint8_t *p = body, *end = p + size;
    uint64_t n;
    if (!map_open(&p, end, &n))
        return false;
    /*  As the request's full decode: the last "rid" wins. A map cut short
        still tells the rid it holds: the error it is answered with carries
        it. */
    bool found = false;
    for (uint64_t i = 0; i < n && p < end; i++) {
        bool is_rid = key_is(p, end, "rid", 3);
        if (!(p = skip(p, end, 1)) || p >= end)
            return false;
        if (is_rid)
            found = read_uint(p, end, rid);
        if (!(p = skip(p, end, 1)))     /* the value */
            return false;
    }
    return found;
}

/*  Stricter than the request's peek: anything the full decode could read
    otherwise is refused, so the caller decodes it in full — a key not a
    fixstr (a long-form "rid" is still "rid" to msgpack-c), a second "rid"
    or "ok", an "ok" not a boolean, a map cut short, bytes after it, and
    nesting as deep as mt_codec_check refuses (values start at depth 2:
    the map is the first). */
bool mt_codec_peek_reply(const void *body, size_t size, uint64_t *rid, bool *ok)
{
    *ok = false;
    if (!body)
        return false;
    const uint8_t *p = body, *end = p + size;
    uint64_t n, i = 0;
    bool seen_rid = false, seen_ok = false;
    if (!map_open(&p, end, &n))
        return false;
    for (; i < n && p < end; i++) {
        if ((*p & 0xe0) != 0xa0)
            return false;
        bool is_rid = key_is(p, end, "rid", 3), is_ok = key_is(p, end, "ok", 2);
        if (!(p = skip(p, end, 2)) || p >= end)
            return false;
        if (is_rid && (seen_rid || !read_uint(p, end, rid)))
            return false;
        if (is_ok && (seen_ok || (*p != 0xc2 && *p != 0xc3)))
            return false;
        if (is_ok)
            *ok = *p == 0xc3;
        seen_rid |= is_rid;
        seen_ok |= is_ok;
        if (!(p = skip(p, end, 2)))
            return false;
    }
    return i == n && p == end && seen_rid && seen_ok;
}
