/*  sort.c — sort by key, the last of equal keys wins (sort.h). */
#include "sort.h"
#include "mt_alloc.h"

#include <stdlib.h>
#include <string.h>

/*  qsort is not stable: the original index breaks ties, so "last given"
    is well defined. */
typedef struct {
    const char *key;
    uint32_t index;
} ref_t;

static int cmp_ref(const void *a, const void *b)
{
    const ref_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

uint32_t mt__sort_unique(void *items, uint32_t n, size_t size, mt__sort_key_fn *key_of)
{
    if (n < 2)
        return n;
    char *base = items;
    ref_t *refs = mt_xcalloc(n, sizeof *refs);
    for (uint32_t i = 0; i < n; i++)
        refs[i] = (ref_t) { key_of(base + (size_t) i * size), i };
    qsort(refs, n, sizeof *refs, cmp_ref);
    char *sorted = mt_xreallocarray(NULL, n, size);
    uint32_t out = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i + 1 < n && strcmp(refs[i].key, refs[i + 1].key) == 0)
            continue;                   /* a later duplicate follows: it wins */
        memcpy(sorted + (size_t) out++ * size, base + (size_t) refs[i].index * size, size);
    }
    memcpy(base, sorted, (size_t) out * size);
    free(sorted);
    free(refs);
    return out;
}
