/*  mt_counter.h — a statistics counter that one thread writes and any
    thread reads (the HTTP listener, replica.stats). One writer needs no
    locked read-modify-write: a relaxed load and store make the increment,
    and a reader sees some recent value, never a torn one. The gateway and
    the bus count every request and notice this way, on their hot paths. */
#ifndef MT_COUNTER_H_INCLUDED
#define MT_COUNTER_H_INCLUDED

#include <stdatomic.h>
#include <stdint.h>

/*  Only the counter's one writing thread may call this. */
static inline void mt_counter_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline uint64_t mt_counter_get(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

#endif
