/*  buf.c — a growable byte string (mt_buf.h). */
#include "mt_buf.h"
#include "mt_alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mt_buf_reserve(mt_buf_t *b, size_t more)
{
    if (more > SIZE_MAX / 2 - b->len)
        mt_oom("buffer size overflows");
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    b->data = mt_xrealloc(b->data, cap);
    b->cap = cap;
}

void mt_buf_put(mt_buf_t *b, const void *s, size_t n)
{
    mt_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void mt_buf_putc(mt_buf_t *b, char c)
{
    mt_buf_put(b, &c, 1);
}

void mt_buf_puts(mt_buf_t *b, const char *s)
{
    mt_buf_put(b, s, strlen(s));
}

void mt_buf_printf(mt_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    mt_buf_reserve(b, (size_t) n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t) n;
}

const char *mt_buf_str(const mt_buf_t *b)
{
    return b->data ? b->data : "";
}

void mt_buf_reset(mt_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void mt_buf_free(mt_buf_t *b)
{
    free(b->data);
    *b = (mt_buf_t) { 0 };
}
