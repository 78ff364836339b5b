/*  internal.h — what the runtime's files share. Never included outside core/.
    Internal names carry the mt__ prefix (as libuv's uv__). */
#ifndef MT_INTERNAL_H_INCLUDED
#define MT_INTERNAL_H_INCLUDED

#include "mt_core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define MT__CACHE_LINE 64

/*  Abort with a message: for broken invariants and allocation failure only. */
#define mt__panic(...) \
    do { fprintf(stderr, "metactor core: " __VA_ARGS__); fputc('\n', stderr); abort(); } while (0)

/* ---- memory pool (pool.c) ---------------------------------------------- */

/*  Thread-cached size classes for messages, actors and timers; larger sizes
    fall through to malloc. Blocks freed on one thread are reused by it and
    returned to a global stock in batches, so a producer/consumer pair does
    not take a lock per message. MT_POOL_DISABLE=1 (sanitizer builds) maps
    everything to malloc so ASan sees every block; MT_POOL_TEST=1 (the
    pool's own test, which compiles pool.c) keeps the pool in those builds,
    so the sanitizers check it. Any thread may call any of these. */
void *mt__pool_alloc(size_t size);
void *mt__pool_calloc(size_t size);
void mt__pool_free(void *p, size_t size);
/*  The same for what lives long (actors): its own slabs, apart from the
    messages', so that a burst's messages leave whole slabs to give back. */
void *mt__pool_alloc_lasting(size_t size);
void mt__pool_free_lasting(void *p, size_t size);

/*  Gives back to the system every slab all of whose blocks are in the
    stock beyond its first keep_batches batches (those are left alone: the
    stock's ordinary traffic between threads), in each class whose stock
    holds more. Returns the slabs unmapped. */
#define MT__POOL_KEEP_BATCHES 8
size_t mt__pool_sweep(unsigned keep_batches);
/*  The same, leaving besides as many batches as were asked of each
    class's stock since the last call (what its traffic uses): only the
    surplus of a burst or a backlog is swept. Off the request path: the
    housekeeping thread every MT__HOUSEKEEP_MS, with MT__POOL_KEEP_BATCHES. */
size_t mt__pool_sweep_idle(unsigned keep_batches);

typedef struct {
    uint64_t slabs;             /* mapped now */
    uint64_t slabs_freed;       /* unmapped by sweeps so far */
    uint64_t slab_bytes;
} mt__pool_stats_t;
void mt__pool_stats(mt__pool_stats_t *out);

/* ---- messages (msg.c) -------------------------------------------------- */

enum {
    MT__MSG_STOP = 3,          /* queued stop request; payload int reason */
    MT__MSG_ASK_TICK = 4,      /* an actor's ask timer: time some asks out (ask.c) */
};
enum {
    MT__F_REPLY = 1u << 0,     /* an answer to an ask (reply or timeout) */
};

/* ---- mailbox (mailbox.c) ----------------------------------------------- */

/*  Vyukov's intrusive multi-producer single-consumer queue, carrying the
    actor's scheduling token in the low bit of head (see mailbox.c). Exactly
    one party holds the token: it alone pops, and it makes the actor run. */
typedef struct {
    mt_msg_t *_Atomic head;    /* producers: last pushed; bit 0 = empty, unscheduled */
    mt_msg_t *tail;            /* consumer: next to pop */
    mt_msg_t stub;
} mt__mailbox_t;

/*  A new mailbox is empty and its token is free. */
void mt__mailbox_init(mt__mailbox_t *q);
/*  Returns true if the mailbox was empty: the caller now holds the token. */
bool mt__mailbox_push(mt__mailbox_t *q, mt_msg_t *msg);
/*  Token holder only. NULL when empty or when a push is half done. */
mt_msg_t *mt__mailbox_pop(mt__mailbox_t *q);
/*  Token holder only: gives the token back if every message pushed so far
    was popped. After true the caller must not touch the actor again; false
    means messages are (being) pushed and the caller still holds it. */
bool mt__mailbox_release(mt__mailbox_t *q);
/*  Takes the token if it is free (the mailbox is empty and unscheduled):
    for a pinned actor's own thread, and for shutdown. */
bool mt__mailbox_acquire(mt__mailbox_t *q);

/* ---- actors (actor.c) -------------------------------------------------- */

typedef struct mt__pinned mt__pinned_t;
typedef struct mt__asks mt__asks_t;
typedef struct mt__monitor mt__monitor_t;

enum {
    MT__A_DEAD = 1u << 0,       /* terminated: sends are dropped */
    MT__A_STOPPING = 1u << 1,   /* owner only: stop after this message */
    MT__A_NAMED = 1u << 2,      /* has (had) a registered name */
    MT__A_ASKED = 1u << 3,      /* has asked: answers are matched to its asks */
};

struct mt_actor {
    mt__mailbox_t mbox;                 /* messages and the scheduling token */
    _Atomic uint32_t refs;
    _Atomic uint32_t flags;
    int stop_reason;
    _Atomic uint32_t help_after_ms;     /* not helped before (mt_now_ms, low bits; sched.c) */
    mt_runtime_t *rt;
    mt_behaviour_fn *behaviour;
    void *state;
    void (*destroy)(void *state);
    mt_actor_t *runq_next;              /* run queue link (scheduler) */
    mt_actor_t *all_prev, *all_next;    /* runtime's list of actors */
    mt__monitor_t *monitors;            /* guarded by mon_lock */
    atomic_flag mon_lock;
    uint8_t shard;                      /* which actor list shard */
    uint32_t size;                      /* bytes allocated, state included */
    mt__asks_t *asks;                   /* owner only */
    mt__pinned_t *pinned;
    uint64_t id;
};

/*  Handles up to `batch` messages (*handled: how many, if not NULL).
    Returns true if the actor is still scheduled (it kept the token and must
    be queued again), false if it gave the token back or terminated. */
bool mt__actor_run(mt_actor_t *a, int batch, int *handled);
/*  Runs the destructor, notifies monitors, drops queued messages. */
void mt__actor_terminate(mt_actor_t *a);
/*  Sender side of a dead actor: the token holder drains and drops. */
void mt__actor_drain_dead(mt_actor_t *a);
void mt__actor_free(mt_actor_t *a);
void mt__msg_drop(mt_runtime_t *rt, mt_msg_t *msg);

/* ---- per-thread context ------------------------------------------------ */

typedef struct mt__worker mt__worker_t;

typedef struct {
    _Atomic uint64_t sent, delivered, dropped;
} mt__counters_t;

typedef struct {
    mt_runtime_t *rt;          /* runtime of the worker or pinned thread */
    mt__worker_t *worker;      /* NULL on pinned and foreign threads */
    mt_actor_t *current;       /* actor whose behaviour runs now */
    mt__counters_t *ctr;       /* a worker's own counters, or NULL */
    mt_msg_t *handling;        /* the message the behaviour is handling */
    mt_msg_t *kept;            /* == handling once mt_msg_keep was called */
    bool helps;                /* a pinned thread: runs what it made runnable (sched.c) */
    bool helping;              /* running its help list now */
    int nhelp;
    uint64_t help_since_ns;    /* when the first on the list was taken */
    mt_actor_t *help_head, *help_tail;
} mt__tls_t;

extern _Thread_local mt__tls_t mt__tls;

/* ---- scheduler (sched.c) ----------------------------------------------- */

struct mt__worker {
    mt_runtime_t *rt;
    int index;
    pthread_t thread;
    pthread_mutex_t lock;           /* guards the run queue */
    mt_actor_t *q_head, *q_tail;
    _Atomic size_t q_len;           /* read without the lock by thieves */
    mt_actor_t *next;               /* owner only: runs next, not stealable */
    int next_streak;                /* turns in a row taken from `next` */
    int spin_rounds;                /* owner only: how long it looks before parking */
    unsigned tick;
    pthread_mutex_t park_lock;
    pthread_cond_t park_cond;
    bool park_signalled;            /* guarded by park_lock */
    mt__counters_t ctr;
    _Atomic uint64_t runs, steals, parks;
} __attribute__((aligned(MT__CACHE_LINE)));

int mt__sched_start(mt_runtime_t *rt);
/*  Stops and joins the workers; queued actors stay queued. */
void mt__sched_stop(mt_runtime_t *rt);
/*  Makes a runnable actor run: the caller holds its token. */
void mt__schedule(mt_actor_t *a);
/*  A pinned thread, between its actor's turns: runs the actors it made
    runnable while every worker was parked (or hands them to the workers). */
void mt__sched_help(void);
/*  On a send from a pinned thread with actors on its list: hands them to
    the workers once they have waited HELP_WAIT_NS (sched.c). */
void mt__sched_help_due(void);

/* ---- timers (timer.c) -------------------------------------------------- */

typedef struct mt__timers mt__timers_t;
/*  CLOCK_MONOTONIC in ns (mt_now_ms is this in ms). */
uint64_t mt__now_ns(void);
int mt__timers_start(mt_runtime_t *rt);
/*  A condition variable whose timed waits run on CLOCK_MONOTONIC (the
    timer and housekeeping threads: a wall-clock step must not stall or
    rush them). */
void mt__cond_init_monotonic(pthread_cond_t *cond);
void mt__timers_stop(mt_runtime_t *rt);     /* joins the thread */
void mt__timers_free(mt_runtime_t *rt);     /* drops what is left */
/*  Delivery side: true if a timer message may be handled (not stale). */
bool mt__timer_claim(mt_msg_t *msg);
/*  Drops the message's reference on its timer without delivering it. */
void mt__timer_release_msg(mt_msg_t *msg);
uint64_t mt__timers_count(mt_runtime_t *rt);

/* ---- housekeeping (housekeep.c) --------------------------------------- */

/*  A thread per runtime for chores that are no actor's business and too
    slow for the timer thread: today the pool's sweep. */
#define MT__HOUSEKEEP_MS 2000
typedef struct mt__housekeep mt__housekeep_t;
int mt__housekeep_start(mt_runtime_t *rt);
void mt__housekeep_stop(mt_runtime_t *rt);      /* joins the thread, frees */

/* ---- ask (ask.c), monitors (monitor.c), registry (registry.c) ---------- */

/*  Owner side: true if msg answers a pending ask (and clears it). */
bool mt__ask_complete(mt_actor_t *a, mt_msg_t *msg);
void mt__asks_tick(mt_actor_t *a);
void mt__asks_free(mt_actor_t *a);
void mt__monitors_fire(mt_actor_t *a, int reason);
void mt__registry_init(mt_runtime_t *rt);
void mt__registry_free(mt_runtime_t *rt);
void mt__registry_drop(mt_runtime_t *rt, mt_actor_t *a);

/* ---- pinned actors (pinned.c) ------------------------------------------ */

int mt__pinned_start(mt_actor_t *a, const mt_spawn_opts_t *opts);
void mt__pinned_wake(mt_actor_t *a);
void mt__pinned_stop_all(mt_runtime_t *rt);
void mt__pinned_free(mt_actor_t *a);

/* ---- runtime (runtime.c) ----------------------------------------------- */

#define MT__SHARDS 16
#define MT__REG_BUCKETS 256

typedef struct mt__name mt__name_t;

struct mt_runtime {
    int nworkers;
    int batch;
    mt__worker_t *workers;

    /*  Actors made runnable by threads that are not workers. */
    pthread_mutex_t inject_lock;
    mt_actor_t *inj_head, *inj_tail;
    _Atomic size_t inj_len;

    /*  Idle workers: counted so producers decide without a lock. */
    pthread_mutex_t idle_lock;
    int idle[MT_MAX_WORKERS];
    _Atomic int nidle;
    _Atomic int nspinning;
    _Atomic bool stopping;

    /*  Every actor not yet freed, for shutdown; sharded to keep spawn cheap. */
    struct {
        pthread_mutex_t lock;
        mt_actor_t head;        /* sentinel */
    } shards[MT__SHARDS];

    pthread_mutex_t reg_lock;
    mt__name_t *reg[MT__REG_BUCKETS];

    mt__timers_t *timers;
    mt__housekeep_t *housekeep;

    pthread_mutex_t pinned_lock;
    pthread_cond_t pinned_cond;
    int pinned_running;             /* pinned threads not yet gone */

    _Atomic uint64_t next_id;
    _Atomic uint64_t next_corr;
    _Atomic uint64_t actors_alive, actors_spawned;
    mt__counters_t foreign;     /* counters of threads that are not ours */
};

void mt__runtime_link(mt_runtime_t *rt, mt_actor_t *a);
void mt__runtime_unlink(mt_runtime_t *rt, mt_actor_t *a);

#endif
