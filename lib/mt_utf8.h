/*  mt_utf8.h — UTF-8 validation, strict: every string the service accepts,
    stores, logs as JSON or prints as JSON is checked with these. */
#ifndef MT_UTF8_H_INCLUDED
#define MT_UTF8_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  Length of the valid UTF-8 sequence at p (1-4), or 0 if the bytes at p do
    not start one (overlong forms, surrogates and code points above
    U+10FFFF are invalid); *cp (if not NULL) gets its code point. */
size_t mt_utf8_seq(const unsigned char *p, size_t avail, uint32_t *cp);
bool mt_utf8_valid(const char *s, size_t n);

#endif
