/*  linger.c — when a writer's pending heartbeats commit: at once, or after
    waiting for company (store_actor.c asks; this file only decides).

    A commit costs the database far more than a row (~400 µs of CPU against
    ~15 µs on the benchmark's machine), and a writer that commits as soon
    as it can commits as often as the database lets it, whatever the rate:
    at a fleet's steady pace the database's CPU is commits. So a heartbeat
    that finds the writer idle waits for others to join its commit —
    unless waiting buys nothing:

    * A lone client (flushes average under 1.5 heartbeats) never waits:
      nobody else is coming.
    * Silence ends the wait: heartbeats of a fleet arrive spread out,
      each on its node's own timer, and keep coming; the requests of a
      client that keeps a window in flight and waits for the answers (a
      loader, a batch job) stop once the window is spent, and nothing
      comes until it is answered. Silence is judged against the pace
      of the writer's heartbeats: no heartbeat for QUIET_TIMES their mean
      time apart (a moving average over every heartbeat, waits or not),
      and at least gap_ms. A fleet almost never goes
      quiet that long (a Poisson stream: e^-16); a spent window always
      does.
    * Such a client would still pay gap_ms a round: a wait that silence
      ended tells who is sending, so every writer of the store commits at
      once for a while (EAGER_FIRST_MS, four times longer each time this
      repeats, up to EAGER_MAX_MS), and a wait under way on another
      writer ends. Together, because a writer that waited while another
      answered at once would keep receiving that client's next requests
      and never hear silence: with two writers, one eager and one waiting
      its full max_ms every round, a loader fell to half its rate. A wait
      that runs to max_ms (a fleet's pace) resets the period. The period
      stops growing at a second: waits cannot happen during it, so
      nothing in it can tell that the client has gone and a fleet come —
      a loader's registrations before a fleet's heartbeats kept every
      writer eager 10 s into them (28 heartbeats a commit instead of 36
      at 100,000 nodes); a probe a second costs a loader one 2-ms wait.
    * max_ms bounds every wait; batch_max pending commit at once
      (store_actor.c).

    An earlier adaptive wait (docs/benchmarks.md, "Heartbeats at a fleet's
    pace") ended a wait when the last flush's count was back: at a steady
    pace a flush can only shrink under that rule, and it shrank to a few
    heartbeats. This one never compares counts. */
#include "linger.h"

/*  Flushes average more than 1.5 heartbeats (x16): others are heartbeating
    meanwhile. */
#define LINGER_FROM_BATCH16 24
#define QUIET_TIMES 16
#define EAGER_FIRST_MS 50
#define EAGER_MAX_MS 1000

void mt__store_linger_init(mt__store_linger_t *l, mt__store_linger_shared_t *shared, int max_ms,
                           int gap_ms)
{
    *l = (mt__store_linger_t) {
        .shared = shared,
        .max_ms = max_ms > 0 ? (uint64_t) max_ms : 0,
        .gap_ms = gap_ms > 0 ? (uint64_t) gap_ms : 1,
    };
    if (l->gap_ms > l->max_ms)
        l->gap_ms = l->max_ms;
}

static bool eager(const mt__store_linger_t *l, uint64_t now_ms)
{
    return now_ms < atomic_load_explicit(&l->shared->eager_until_ms, memory_order_relaxed);
}

uint64_t mt__store_linger_begin(mt__store_linger_t *l, uint64_t now_ms)
{
    if (l->max_ms == 0 || l->avg_batch16 < LINGER_FROM_BATCH16 || eager(l, now_ms))
        return 0;
    l->lingering = true;
    l->first_ms = l->last_ms = now_ms;
    l->arrivals = 1;
    return mt__store_linger_due(l, now_ms);
}

void mt__store_linger_arrival(mt__store_linger_t *l, uint64_t now_ms)
{
    if (l->seen_ms) {
        uint64_t apart = now_ms > l->seen_ms ? now_ms - l->seen_ms : 0;
        if (apart > 1000)
            apart = 1000;           /* after an idle while: a second says enough */
        l->pace16 = (uint32_t) ((l->pace16 * 7 + apart * 16) / 8);
    }
    l->seen_ms = now_ms;
    if (l->lingering) {
        l->last_ms = now_ms;
        l->arrivals++;
    }
}

/*  How long without a heartbeat means nobody is coming soon. */
static uint64_t quiet_ms(const mt__store_linger_t *l)
{
    uint64_t pace = QUIET_TIMES * (uint64_t) l->pace16 / 16;
    return pace > l->gap_ms ? pace : l->gap_ms;
}

uint64_t mt__store_linger_due(const mt__store_linger_t *l, uint64_t now_ms)
{
    if (!l->lingering || eager(l, now_ms))
        return 0;
    uint64_t end = l->first_ms + l->max_ms, quiet = l->last_ms + quiet_ms(l);
    uint64_t due = end < quiet ? end : quiet;
    return due > now_ms ? due - now_ms : 0;
}

void mt__store_linger_flushed(mt__store_linger_t *l, uint32_t n, uint64_t now_ms)
{
    l->avg_batch16 = (l->avg_batch16 * 7 + (n > 4096 ? 4096 : n) * 16) / 8;
    if (!l->lingering)
        return;
    bool quiet = now_ms >= l->last_ms + quiet_ms(l);
    l->lingering = false;
    mt__store_linger_shared_t *sh = l->shared;
    if (now_ms >= l->first_ms + l->max_ms)
        atomic_store_explicit(&sh->eager_run_ms, 0, memory_order_relaxed);    /* a fleet's pace */
    else if (quiet && l->arrivals > 1 && !eager(l, now_ms)) {
        uint64_t run = atomic_load_explicit(&sh->eager_run_ms, memory_order_relaxed);
        run = run ? run * 4 : EAGER_FIRST_MS;
        if (run > EAGER_MAX_MS)
            run = EAGER_MAX_MS;
        atomic_store_explicit(&sh->eager_run_ms, run, memory_order_relaxed);
        atomic_store_explicit(&sh->eager_until_ms, now_ms + run, memory_order_relaxed);
    }
    /*  Cut short (batch_max, bytes, another request, another writer's
        silence), or one heartbeat alone: learns nothing. */
}

void mt__store_linger_cancel(mt__store_linger_t *l)
{
    l->lingering = false;
}
