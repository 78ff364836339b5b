/*  block.h — (internal) reference counting of the immutable blocks (node
    groups, references): one place for the memory orders. */
#ifndef MT_BLOCK_H_INCLUDED
#define MT_BLOCK_H_INCLUDED

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*  relaxed: the caller already holds a reference, as with any refcount. */
static inline void mt__block_hold(_Atomic uint32_t *refs)
{
    atomic_fetch_add_explicit(refs, 1, memory_order_relaxed);
}

/*  True when this was the last reference: the caller frees the block.
    acq_rel: every use by other holders happens before that free. */
static inline bool mt__block_release(_Atomic uint32_t *refs)
{
    return atomic_fetch_sub_explicit(refs, 1, memory_order_acq_rel) == 1;
}

#endif
