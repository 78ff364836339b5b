/*  json.c — the store's JSON (see json.h): UTF-8 checks, the encoder and
    the decoder's arena. The decoder is in json_decode.c. */
#include "mt_json.h"
#include "mt_alloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- encoding -------------------------------------------------------------- */

static int put_string(mt_buf_t *b, const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    if (!mt_utf8_valid(s, n))
        return MT_EINVAL;
    mt_buf_reserve(b, n + 2);
    mt_buf_putc(b, '"');
    size_t run = 0;                 /* start of the pending unescaped run */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        mt_buf_put(b, s + run, i - run);
        run = i + 1;
        char esc[8];
        switch (c) {
        case '"': mt_buf_put(b, "\\\"", 2); break;
        case '\\': mt_buf_put(b, "\\\\", 2); break;
        case '\b': mt_buf_put(b, "\\b", 2); break;
        case '\f': mt_buf_put(b, "\\f", 2); break;
        case '\n': mt_buf_put(b, "\\n", 2); break;
        case '\r': mt_buf_put(b, "\\r", 2); break;
        case '\t': mt_buf_put(b, "\\t", 2); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            mt_buf_put(b, esc, 6);
        }
    }
    mt_buf_put(b, s + run, n - run);
    mt_buf_putc(b, '"');
    return MT_OK;
}

int mt_json_put_str_map(mt_buf_t *b, const mt_str_pair_t *m, uint32_t n)
{
    mt_buf_putc(b, '{');
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            mt_buf_putc(b, ',');
        if (put_string(b, m[i].key) || (mt_buf_putc(b, ':'), put_string(b, m[i].value)))
            return MT_EINVAL;
    }
    mt_buf_putc(b, '}');
    return MT_OK;
}

int mt_json_put_int_map(mt_buf_t *b, const mt_int_pair_t *m, uint32_t n)
{
    mt_buf_putc(b, '{');
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            mt_buf_putc(b, ',');
        if (put_string(b, m[i].key))
            return MT_EINVAL;
        char num[24];
        int k = snprintf(num, sizeof num, ":%" PRId64, m[i].value);
        mt_buf_put(b, num, (size_t) k);
    }
    mt_buf_putc(b, '}');
    return MT_OK;
}

int mt_json_put_conditions(mt_buf_t *b, const mt_condition_t *c, uint32_t n)
{
    mt_buf_putc(b, '[');
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            mt_buf_putc(b, ',');
        mt_buf_put(b, "{\"type\":", 8);
        if (put_string(b, c[i].type))
            return MT_EINVAL;
        mt_buf_put(b, ",\"status\":", 10);
        if (put_string(b, c[i].status))
            return MT_EINVAL;
        mt_buf_put(b, ",\"reason\":", 10);
        if (put_string(b, c[i].reason))
            return MT_EINVAL;
        mt_buf_put(b, ",\"message\":", 11);
        if (put_string(b, c[i].message))
            return MT_EINVAL;
        mt_buf_putc(b, '}');
    }
    mt_buf_putc(b, ']');
    return MT_OK;
}

int mt_json_put_str_array(mt_buf_t *b, const char *const *a, uint32_t n)
{
    mt_buf_putc(b, '[');
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            mt_buf_putc(b, ',');
        if (put_string(b, a[i]))
            return MT_EINVAL;
    }
    mt_buf_putc(b, ']');
    return MT_OK;
}

/* ---- arena ------------------------------------------------------------------ */

struct mt_json_chunk {
    mt_json_chunk_t *next;
    size_t size, used;
    _Alignas(8) char data[];
};

#define CHUNK_MIN 4096

void *mt_json_arena_alloc(mt_json_arena_t *a, size_t n)
{
    n = (n + 7u) & ~(size_t) 7u;
    mt_json_chunk_t *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = c ? c->size * 2 : CHUNK_MIN;
        while (size < n)
            size *= 2;
        mt_json_chunk_t *nc = malloc(sizeof *nc + size);
        if (!nc)
            mt_oom("json");
        nc->next = c;
        nc->size = size;
        nc->used = 0;
        a->head = c = nc;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

void mt_json_arena_reset(mt_json_arena_t *a)
{
    mt_json_chunk_t *c = a->head;
    if (!c)
        return;
    /*  The head is the newest and so the largest chunk: keep it alone. */
    mt_json_chunk_t *old = c->next;
    while (old) {
        mt_json_chunk_t *next = old->next;
        free(old);
        old = next;
    }
    c->next = NULL;
    c->used = 0;
}

void mt_json_arena_free(mt_json_arena_t *a)
{
    mt_json_arena_reset(a);
    free(a->head);
    a->head = NULL;
}
