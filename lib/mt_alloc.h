/*  mt_alloc.h — allocation that cannot fail, for the service's own data.

    Out of memory ends the process (docs/architecture.md, "Memory"): an
    actor that cannot allocate cannot answer, and a replica that limps on
    half-updated is worse than one that restarts and reloads from the
    database. So callers never test for NULL; every size that comes from
    outside is bounded before it reaches these (the codecs' and the store's
    limits), and the array forms check their multiplication. */
#ifndef MT_ALLOC_H_INCLUDED
#define MT_ALLOC_H_INCLUDED

#include <stddef.h>

/*  Writes "metactor: out of memory (what)" to stderr and aborts. */
_Noreturn void mt_oom(const char *what);

void *mt_xmalloc(size_t n);                            /* n == 0: a valid pointer */
void *mt_xcalloc(size_t count, size_t size);           /* zeroed */
void *mt_xrealloc(void *p, size_t n);
void *mt_xreallocarray(void *p, size_t count, size_t size);
char *mt_xstrdup(const char *s);

#endif
