/*  heap_trim.h — metactord's heap trimmer: freed heap goes back to the
    system under load too (heap_trim.c says why on a thread of its own). */
#ifndef MT_HEAP_TRIM_H_INCLUDED
#define MT_HEAP_TRIM_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct heap_trim heap_trim_t;

typedef struct {
    uint64_t checks;            /* mallinfo2 readings */
    uint64_t trims;             /* malloc_trim calls (free heap above the mark) */
    uint64_t free_kb;           /* free bytes in the arenas at the last check, KiB */
    uint64_t trim_us_last, trim_us_max;   /* what one check and trim took */
} heap_trim_stats_t;

/*  Whether the process is quiet enough to trim a heap with less than the
    threshold free (no request in flight, enough work done since the last
    such trim to have grown). Called on the trimmer's thread. */
typedef bool heap_trim_quiet_fn(void *arg);

/*  Every period_ms, reads the arenas' free bytes and trims when they are
    above `threshold` bytes, or when quiet(arg) says so (quiet may be
    NULL). NULL if the thread cannot start (the replica runs on without
    it). */
heap_trim_t *heap_trim_start(size_t threshold, int period_ms, heap_trim_quiet_fn *quiet,
                             void *arg);
/*  Any thread. */
void heap_trim_stats(heap_trim_t *t, heap_trim_stats_t *out);
/*  Wakes, joins and frees; *t_p = NULL. */
void heap_trim_stop(heap_trim_t **t_p);

#endif
