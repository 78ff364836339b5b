/*  sort.h — (internal) the one rule for every map and list of a node: sorted
    by key, and a key given twice keeps its last value (as a msgpack map
    decoded into JSON would). Labels, capacity, quota, versions, components
    and metrics all go through it, so equal sets build equal blocks and
    equal digests on every replica. */
#ifndef MT_MODEL_SORT_H_INCLUDED
#define MT_MODEL_SORT_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

/*  The key of one item (a string the item points to, not inside it). */
typedef const char *mt__sort_key_fn(const void *item);

/*  Sorts n items of `size` bytes in place by key_of and drops every item
    whose key a later item repeats. Returns the count kept. */
uint32_t mt__sort_unique(void *items, uint32_t n, size_t size, mt__sort_key_fn *key_of);

#endif
