/*  mt_buf.h — a growable byte string, NUL-terminated after every put: the
    store's JSON columns, metactl's JSON and table cells. A value type
    ({ 0 } is an empty buffer); out of memory aborts (mt_alloc.h). */
#ifndef MT_BUF_H_INCLUDED
#define MT_BUF_H_INCLUDED

#include <stddef.h>

typedef struct {
    char *data;                     /* NULL until the first put */
    size_t len, cap;
} mt_buf_t;

/*  Room for `more` bytes and the NUL after len. */
void mt_buf_reserve(mt_buf_t *b, size_t more);
void mt_buf_put(mt_buf_t *b, const void *s, size_t n);
void mt_buf_putc(mt_buf_t *b, char c);
void mt_buf_puts(mt_buf_t *b, const char *s);
void mt_buf_printf(mt_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *mt_buf_str(const mt_buf_t *b);          /* "" when empty */
void mt_buf_reset(mt_buf_t *b);                     /* len = 0, keeps memory */
void mt_buf_free(mt_buf_t *b);                      /* back to { 0 } */

#endif
