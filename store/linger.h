/*  linger.h — a writer's commit policy: at once, or after waiting for
    company (linger.c says why and how). Internal to the store; plain data,
    no clock of its own, so tests drive it with made-up times. */
#ifndef MT_STORE_LINGER_H
#define MT_STORE_LINGER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*  What the writers of one store learn together: their heartbeats come
    from the same clients (a node's writer is chosen by its id). */
typedef struct {
    _Atomic uint64_t eager_until_ms;    /* commit at once until then */
    _Atomic uint64_t eager_run_ms;      /* the last such period; 0: none since a steady stream */
} mt__store_linger_shared_t;

typedef struct {
    mt__store_linger_shared_t *shared;
    uint64_t max_ms, gap_ms;        /* 0 max_ms: never wait */
    uint32_t avg_batch16;           /* heartbeats per flush, x16, moving average */
    bool lingering;
    uint64_t first_ms, last_ms;     /* arrivals of the wait under way */
    uint32_t arrivals;
    uint64_t seen_ms;               /* the last heartbeat's arrival, 0: none yet */
    uint32_t pace16;                /* ms between heartbeats, x16, moving average */
} mt__store_linger_t;

void mt__store_linger_init(mt__store_linger_t *l, mt__store_linger_shared_t *shared, int max_ms,
                           int gap_ms);
/*  A heartbeat became pending (every one: the pace is learnt from all). */
void mt__store_linger_arrival(mt__store_linger_t *l, uint64_t now_ms);
/*  After its arrival, with no flush queued and no wait under way: 0 =
    flush now, else check again (mt__store_linger_due) in that many ms. */
uint64_t mt__store_linger_begin(mt__store_linger_t *l, uint64_t now_ms);
/*  ms left before the wait under way should flush; 0 = now. */
uint64_t mt__store_linger_due(const mt__store_linger_t *l, uint64_t now_ms);
/*  n heartbeats were flushed (for whatever reason): ends the wait, learns. */
void mt__store_linger_flushed(mt__store_linger_t *l, uint32_t n, uint64_t now_ms);
/*  What waited was answered otherwise (the connection went down): ends
    the wait, learns nothing. */
void mt__store_linger_cancel(mt__store_linger_t *l);

#endif
