/*  alloc.c — allocation that cannot fail (mt_alloc.h). */
#include "mt_alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void mt_oom(const char *what)
{
    fprintf(stderr, "metactor: out of memory (%s)\n", what ? what : "?");
    abort();
}

void *mt_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        mt_oom("malloc");
    return p;
}

void *mt_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        mt_oom("calloc");
    return p;
}

void *mt_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        mt_oom("realloc");
    return q;
}

void *mt_xreallocarray(void *p, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        mt_oom("array size overflows");
    return mt_xrealloc(p, count * size);
}

char *mt_xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p)
        mt_oom("strdup");
    return p;
}
