/*  part.h — (internal) the arrays of a node's blocks, shared by content.

    A fleet repeats itself: thousands of nodes carry the same component
    versions, capacity, quota, conditions, images and templates, and their
    label maps differ in a value or two. A part is one such array, with its
    strings, immutable and reference-counted; every block whose array is
    equal holds the same part (hash-consing). A block keeps only its
    header and pointers to its parts, so 100,000 nodes of one image list
    hold one image list. What callers see does not change: reg->labels is
    still a sorted array of pairs, it just lives in a part.

    Records are arrays of 8-byte slots: the kind's strings first, then an
    int64 for the int maps. Parts are found by a seeded hash; a bucket that
    already holds PART_CHAIN_MAX parts (an attacker's collisions) gets no
    more: the part is built unshared, costing memory, never time. */
#ifndef MT_MODEL_PART_H_INCLUDED
#define MT_MODEL_PART_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MT__PART_STR_MAP,       /* mt_str_pair_t: labels, versions */
    MT__PART_INT_MAP,       /* mt_int_pair_t: capacity, quota */
    MT__PART_COMPONENTS,    /* mt_component_t */
    MT__PART_CONDITIONS,    /* mt_condition_t */
    MT__PART_STRINGS,       /* const char *: images, templates */
    MT__PART_KINDS
} mt__part_kind_t;

/*  The part equal to n records of kind k at src (NULL strings read as ""),
    held once more, or a new one. Returns its records (never NULL, even for
    n = 0); *bytes grows by the part's size. src is not kept. */
const void *mt__part_get(mt__part_kind_t k, const void *src, uint32_t n, size_t *bytes);
/*  Lets go of records returned by mt__part_get; frees the part with its
    last holder. NULL is ignored. */
void mt__part_put(const void *records);

typedef struct {
    uint64_t parts;         /* alive */
    uint64_t bytes;         /* their memory, headers included */
    uint64_t unshared;      /* built outside the table (a full bucket) so far */
} mt__part_stats_t;
void mt__part_stats(mt__part_stats_t *out);

#endif
