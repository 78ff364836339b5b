/*  mt_db_clock.h — this replica's estimate of the database's clock.

    Health is judged by one clock for all replicas: the database's. A
    heartbeat's commit is stamped with the server's NOW(3) (seen_at), and a
    node is healthy while db_now - seen_at <= health_timeout, so each
    replica needs "the database's now" without asking the database for it
    every time. The membership beat reads the server's now once per beat
    (mt_store_replicas_t.now_ms); the store notes this process's monotonic
    clock just before and just after that statement. As NTP clients do:
    * the server's reading is taken to be at the midpoint of the round trip
      (wrong by at most half of it, whatever the server's own delays);
    * of the samples of the last MT_DB_CLOCK_WINDOW beats, the one with the
      shortest round trip wins: it waited least in queues, so its midpoint
      is the tightest. A database clock that steps is followed within a
      window at the latest.
    The offset kept is database ms minus mt_now_ms() (CLOCK_MONOTONIC), not
    minus the wall clock: stepping this host's wall clock (an NTP step, an
    operator, libfaketime) changes no health at all.

    Until the first sample the estimate is this host's wall clock.

    Threads: mt_db_clock_sample from one actor at a time (membership);
    mt_db_clock_now and the readers from any thread. */
#ifndef MT_DB_CLOCK_H_INCLUDED
#define MT_DB_CLOCK_H_INCLUDED

#include "mt_core.h"

#include <stdatomic.h>

#define MT_DB_CLOCK_WINDOW 8

typedef struct {
    /*  Relaxed loads and stores: each is one word read on its own (no other
        memory is published with it), and any recent value will do. */
    _Atomic int64_t offset;         /* database ms - mt_now_ms() */
    _Atomic int64_t rtt;            /* of the sample in use, ms; -1: none yet */
    /*  The sampler's own (see Threads). */
    struct mt_db_clock_sample { int64_t offset, rtt; } window[MT_DB_CLOCK_WINDOW];
    uint32_t next, n;
} mt_db_clock_t;

void mt_db_clock_init(mt_db_clock_t *c);

/*  One reading: db_ms read by the server between sent_ms and received_ms
    (mt_now_ms). A reading with received_ms < sent_ms, or db_ms outside
    0..MT_TIME_MAX, is ignored. Returns true when the estimate moved by
    more than 100 ms (worth a log line). */
bool mt_db_clock_sample(mt_db_clock_t *c, uint64_t sent_ms, uint64_t received_ms,
                        int64_t db_ms);

/*  The database's now, estimated (c NULL: this host's wall clock). */
int64_t mt_db_clock_now(const mt_db_clock_t *c);

/*  The estimate minus this host's wall clock (how far this host's clock is
    behind the database's), and the round trip of the sample in use (-1:
    no sample yet). For logs and stats. */
int64_t mt_db_clock_skew_ms(const mt_db_clock_t *c);
int64_t mt_db_clock_rtt_ms(const mt_db_clock_t *c);

#endif
