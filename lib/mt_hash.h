/*  mt_hash.h — FNV-1a, the one hash of the service (core keeps its own
    copy: it is below lib). Not for untrusted keys that pick a bucket an
    attacker could flood: czmq's zhashx and our own tables bound their
    inputs instead. Results are stored (versions_hash) and compared across
    replicas, so the functions never change. */
#ifndef MT_HASH_H_INCLUDED
#define MT_HASH_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define MT_FNV1A64_INIT 14695981039346656037ull
#define MT_FNV1A32_INIT 2166136261u

/*  h continued over n bytes of data (start with the _INIT value). */
static inline uint64_t mt_fnv1a64(uint64_t h, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static inline uint32_t mt_fnv1a32(uint32_t h, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

#endif
