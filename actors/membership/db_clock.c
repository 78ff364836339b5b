/*  db_clock.c — the database clock estimate (see mt_db_clock.h): midpoint
    of each reading's round trip, the shortest round trip of a window. */
#include "mt_db_clock.h"

#include "mt_model.h"

void mt_db_clock_init(mt_db_clock_t *c)
{
    *c = (mt_db_clock_t) { 0 };
    atomic_init(&c->offset, mt_wall_ms() - (int64_t) mt_now_ms());
    atomic_init(&c->rtt, -1);
}

bool mt_db_clock_sample(mt_db_clock_t *c, uint64_t sent_ms, uint64_t received_ms,
                        int64_t db_ms)
{
    if (received_ms < sent_ms || db_ms < 0 || db_ms > MT_TIME_MAX
        || received_ms > (uint64_t) MT_TIME_MAX)
        return false;
    int64_t rtt = (int64_t) (received_ms - sent_ms);
    int64_t mid = (int64_t) sent_ms + rtt / 2;
    c->window[c->next] = (struct mt_db_clock_sample) { db_ms - mid, rtt };
    c->next = (c->next + 1) % MT_DB_CLOCK_WINDOW;
    if (c->n < MT_DB_CLOCK_WINDOW)
        c->n++;
    uint32_t best = 0;
    for (uint32_t i = 1; i < c->n; i++)
        if (c->window[i].rtt < c->window[best].rtt)
            best = i;
    int64_t before = atomic_load_explicit(&c->offset, memory_order_relaxed);
    bool first = atomic_load_explicit(&c->rtt, memory_order_relaxed) < 0;
    int64_t offset = c->window[best].offset;
    atomic_store_explicit(&c->offset, offset, memory_order_relaxed);
    atomic_store_explicit(&c->rtt, c->window[best].rtt, memory_order_relaxed);
    int64_t moved = offset - before;
    return first || moved > 100 || moved < -100;
}

int64_t mt_db_clock_now(const mt_db_clock_t *c)
{
    if (!c)
        return mt_wall_ms();
    /*  Both terms lie within ±MT_TIME_MAX (samples are checked): the sum
        cannot overflow. */
    return (int64_t) mt_now_ms() + atomic_load_explicit(&c->offset, memory_order_relaxed);
}

int64_t mt_db_clock_skew_ms(const mt_db_clock_t *c)
{
    return mt_db_clock_now(c) - mt_wall_ms();
}

int64_t mt_db_clock_rtt_ms(const mt_db_clock_t *c)
{
    return c ? atomic_load_explicit(&c->rtt, memory_order_relaxed) : -1;
}
