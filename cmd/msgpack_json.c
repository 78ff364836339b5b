/*  msgpack_json.c — a msgpack object as strict JSON text (RFC 8259), for
    metactl's `-o json` and `watch`.

    * strings: escaped (", \, control characters); valid UTF-8 is copied as
      is, each byte of an invalid sequence becomes U+FFFD;
    * bin: a base64 string (RFC 4648, padded);
    * ext: {"ext": type, "data": base64 string};
    * map keys that are not strings: bin keys as their base64 string, the
      others as their JSON text in a string ({1: x} → {"1": x});
    * NaN and infinities (not JSON): null;
    * nil: null. */
#include "msgpack_json.h"
#include "mt_alloc.h"
#include "mt_buf.h"
#include "mt_utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_string(mt_buf_t *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *) s;
    mt_buf_reserve(b, n + 2);
    mt_buf_put(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            size_t run = i + 1;
            while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
                run++;
            mt_buf_put(b, s + i, run - i);
            i = run;
            continue;
        }
        char esc[8];
        switch (c) {
        case '"': mt_buf_puts(b, "\\\""); i++; continue;
        case '\\': mt_buf_puts(b, "\\\\"); i++; continue;
        case '\b': mt_buf_puts(b, "\\b"); i++; continue;
        case '\f': mt_buf_puts(b, "\\f"); i++; continue;
        case '\n': mt_buf_puts(b, "\\n"); i++; continue;
        case '\r': mt_buf_puts(b, "\\r"); i++; continue;
        case '\t': mt_buf_puts(b, "\\t"); i++; continue;
        default: break;
        }
        if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            mt_buf_puts(b, esc);
            i++;
            continue;
        }
        size_t len = mt_utf8_seq(p + i, n - i, NULL);
        if (len) {
            mt_buf_put(b, s + i, len);
            i += len;
        } else {
            mt_buf_puts(b, "\\ufffd");
            i++;
        }
    }
    mt_buf_put(b, "\"", 1);
}

static void put_base64(mt_buf_t *b, const char *data, size_t n)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *) data;
    mt_buf_reserve(b, (n + 2) / 3 * 4 + 2);
    mt_buf_put(b, "\"", 1);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t) p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t) p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {
            tbl[(v >> 18) & 63], tbl[(v >> 12) & 63],
            i + 1 < n ? tbl[(v >> 6) & 63] : '=',
            i + 2 < n ? tbl[v & 63] : '=',
        };
        mt_buf_put(b, q, 4);
    }
    mt_buf_put(b, "\"", 1);
}

static void put_double(mt_buf_t *b, double v, int digits)
{
    if (!isfinite(v)) {
        mt_buf_puts(b, "null");
        return;
    }
    char num[40];
    snprintf(num, sizeof num, "%.*g", digits, v);
    for (char *c = num; *c; c++)     /* a locale's decimal comma is not JSON */
        if (*c == ',')
            *c = '.';
    mt_buf_puts(b, num);
}

static void put_value(mt_buf_t *b, const msgpack_object *o);

static void put_key(mt_buf_t *b, const msgpack_object *k)
{
    if (k->type == MSGPACK_OBJECT_STR) {
        put_string(b, k->via.str.ptr, k->via.str.size);
        return;
    }
    if (k->type == MSGPACK_OBJECT_BIN) {
        put_base64(b, k->via.bin.ptr, k->via.bin.size);
        return;
    }
    mt_buf_t tmp = { 0 };
    put_value(&tmp, k);
    put_string(b, tmp.data, tmp.len);
    mt_buf_free(&tmp);
}

static void put_value(mt_buf_t *b, const msgpack_object *o)
{
    char num[32];
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        mt_buf_puts(b, "null");
        return;
    case MSGPACK_OBJECT_BOOLEAN:
        mt_buf_puts(b, o->via.boolean ? "true" : "false");
        return;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        snprintf(num, sizeof num, "%llu", (unsigned long long) o->via.u64);
        mt_buf_puts(b, num);
        return;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        snprintf(num, sizeof num, "%lld", (long long) o->via.i64);
        mt_buf_puts(b, num);
        return;
    case MSGPACK_OBJECT_FLOAT32:
        put_double(b, o->via.f64, 9);
        return;
    case MSGPACK_OBJECT_FLOAT64:
        put_double(b, o->via.f64, 17);
        return;
    case MSGPACK_OBJECT_STR:
        put_string(b, o->via.str.ptr, o->via.str.size);
        return;
    case MSGPACK_OBJECT_BIN:
        put_base64(b, o->via.bin.ptr, o->via.bin.size);
        return;
    case MSGPACK_OBJECT_EXT:
        snprintf(num, sizeof num, "{\"ext\":%d,\"data\":", (int) o->via.ext.type);
        mt_buf_puts(b, num);
        put_base64(b, o->via.ext.ptr, o->via.ext.size);
        mt_buf_puts(b, "}");
        return;
    case MSGPACK_OBJECT_ARRAY:
        mt_buf_puts(b, "[");
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                mt_buf_puts(b, ",");
            put_value(b, &o->via.array.ptr[i]);
        }
        mt_buf_puts(b, "]");
        return;
    case MSGPACK_OBJECT_MAP:
        mt_buf_puts(b, "{");
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i)
                mt_buf_puts(b, ",");
            put_key(b, &o->via.map.ptr[i].key);
            mt_buf_puts(b, ":");
            put_value(b, &o->via.map.ptr[i].val);
        }
        mt_buf_puts(b, "}");
        return;
    }
    mt_buf_puts(b, "null");      /* a type this msgpack-c does not have */
}

char *ctl_json_of(const msgpack_object *obj)
{
    mt_buf_t b = { 0 };
    if (obj)
        put_value(&b, obj);
    else
        mt_buf_puts(&b, "null");
    return b.data;                   /* the caller frees it */
}
