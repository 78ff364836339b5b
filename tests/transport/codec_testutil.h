/*  codec_testutil.h — writing msgpack bodies in tests.

    tj_pack("{'op':'node.get','id':'n1'}", &buf) packs a JSON-like text
    with msgpack-c's packer: strings in "double" or 'single' quotes, with
    \xHH for raw bytes (invalid UTF-8, NUL) besides \n \t \uXXXX; integers
    in the smallest msgpack width (negative → int, else uint); numbers with
    '.' or 'e' as float64. hex_bytes("dd ff ff ff ff", ...) gives raw bytes. The input is
    trusted test text: syntax errors abort. */
#ifndef CODEC_TESTUTIL_H_INCLUDED
#define CODEC_TESTUTIL_H_INCLUDED

#include <ctype.h>
#include <stdbool.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char *tj_ws(const char *s)
{
    while (*s && isspace((unsigned char) *s))
        s++;
    return s;
}

static inline const char *tj_skip(const char *s)
{
    s = tj_ws(s);
    if (*s == '"' || *s == '\'') {
        char q = *s;
        for (s++; *s != q; s++) {
            if (!*s)
                abort();
            if (*s == '\\')
                s++;
        }
        return s + 1;
    }
    if (*s == '{' || *s == '[') {
        char close = *s == '{' ? '}' : ']';
        s = tj_ws(s + 1);
        if (*s == close)
            return s + 1;
        for (;;) {
            s = tj_ws(tj_skip(s));
            if (*s == ':')
                s = tj_ws(tj_skip(s + 1));
            if (*s == ',') {
                s++;
                continue;
            }
            if (*s == close)
                return s + 1;
            abort();
        }
    }
    while (*s && !strchr(",]}: \t\n", *s))
        s++;
    return s;
}

static inline unsigned tj_count(const char *s)     /* s at '{' or '[' */
{
    char close = *s == '{' ? '}' : ']';
    s = tj_ws(s + 1);
    if (*s == close)
        return 0;
    unsigned n = 0;
    for (;;) {
        s = tj_ws(tj_skip(s));
        if (*s == ':')
            s = tj_ws(tj_skip(s + 1));
        n++;
        if (*s == ',') {
            s++;
            continue;
        }
        return n;
    }
}

static inline int tj_hex(char c)
{
    return isdigit((unsigned char) c) ? c - '0' : (tolower((unsigned char) c) - 'a' + 10);
}

static inline const char *tj_value(const char *s, msgpack_packer *pk)
{
    s = tj_ws(s);
    if (*s == '"' || *s == '\'') {
        char q = *s;
        char *out = malloc(strlen(s) * 3 + 1);
        size_t n = 0;
        for (s++; *s != q; s++) {
            if (*s != '\\') {
                out[n++] = *s;
                continue;
            }
            s++;
            switch (*s) {
            case 'n': out[n++] = '\n'; break;
            case 't': out[n++] = '\t'; break;
            case 'x':
                out[n++] = (char) (tj_hex(s[1]) * 16 + tj_hex(s[2]));
                s += 2;
                break;
            case 'u': {
                unsigned cp = 0;
                for (int i = 1; i <= 4; i++)
                    cp = cp * 16 + (unsigned) tj_hex(s[i]);
                s += 4;
                if (cp < 0x80) {
                    out[n++] = (char) cp;
                } else if (cp < 0x800) {
                    out[n++] = (char) (0xc0 | (cp >> 6));
                    out[n++] = (char) (0x80 | (cp & 0x3f));
                } else {
                    out[n++] = (char) (0xe0 | (cp >> 12));
                    out[n++] = (char) (0x80 | ((cp >> 6) & 0x3f));
                    out[n++] = (char) (0x80 | (cp & 0x3f));
                }
                break;
            }
            default: out[n++] = *s; break;
            }
        }
        msgpack_pack_str_with_body(pk, out, n);
        free(out);
        return s + 1;
    }
    if (*s == '{' || *s == '[') {
        bool map = *s == '{';
        char close = map ? '}' : ']';
        unsigned n = tj_count(s);
        if (map)
            msgpack_pack_map(pk, n);
        else
            msgpack_pack_array(pk, n);
        s = tj_ws(s + 1);
        for (unsigned i = 0; i < n; i++) {
            s = tj_ws(tj_value(s, pk));
            if (map) {
                if (*s != ':')
                    abort();
                s = tj_ws(tj_value(s + 1, pk));
            }
            if (*s == ',')
                s++;
        }
        s = tj_ws(s);
        if (*s != close)
            abort();
        return s + 1;
    }
    const char *end = tj_skip(s);
    char tok[64];
    size_t len = (size_t) (end - s);
    if (len == 0 || len >= sizeof tok)
        abort();
    memcpy(tok, s, len);
    tok[len] = '\0';
    if (strcmp(tok, "true") == 0)
        msgpack_pack_true(pk);
    else if (strcmp(tok, "false") == 0)
        msgpack_pack_false(pk);
    else if (strcmp(tok, "null") == 0)
        msgpack_pack_nil(pk);
    else if (strpbrk(tok, ".eE"))
        msgpack_pack_double(pk, strtod(tok, NULL));
    else if (tok[0] == '-')
        msgpack_pack_int64(pk, strtoll(tok, NULL, 10));
    else
        msgpack_pack_uint64(pk, strtoull(tok, NULL, 10));
    return end;
}

/*  Packs text into buf (cleared first). */
static inline void tj_pack(const char *text, msgpack_sbuffer *buf)
{
    msgpack_sbuffer_clear(buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    const char *end = tj_ws(tj_value(text, &pk));
    if (*end)
        abort();
}

/*  "dd ff ff ff ff" → bytes; returns the count. */
static inline size_t hex_bytes(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = 0;
    while (*hex) {
        if (isspace((unsigned char) *hex)) {
            hex++;
            continue;
        }
        if (n == cap || !isxdigit((unsigned char) hex[0]) || !isxdigit((unsigned char) hex[1]))
            abort();
        out[n++] = (unsigned char) (tj_hex(hex[0]) * 16 + tj_hex(hex[1]));
        hex += 2;
    }
    return n;
}

/*  Looks up a string key in a msgpack map object; NULL if absent. */
static inline const msgpack_object *mp_get(const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n
            && memcmp(k->via.str.ptr, key, n) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static inline bool mp_str_is(const msgpack_object *o, const char *s)
{
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s)
        && memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

#endif
