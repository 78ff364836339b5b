/*  sched.c — the M:N scheduler: worker threads, run queues, parking.

    Where a runnable actor goes (mt__schedule):
    * made runnable by an actor running on a worker → that worker's `next`
      slot, run as soon as the current actor's turn ends. A message chain
      (ping-pong, a ring) thus stays on one core with no lock and no wake-up:
      on these VMs waking a parked thread on the other core costs ~30 µs.
      The actor that held `next` moves to the worker's run queue.
    * made runnable by any other thread → the runtime's inject queue.
    Run queues are mutex-guarded FIFOs; an idle worker takes from its own,
    then the inject queue, then steals half of another worker's.

    Parking: a worker with nothing to do spins briefly (nspinning), then
    parks. A producer wakes a parked worker only when none is spinning
    (a spinner will find the work), and a spinner that found work wakes one
    more, so parallelism ramps up without a wake-up per message.

    Helping: a pinned thread (a socket's, a connection's) that makes an
    actor runnable while every worker is parked runs it itself once its
    own actor's turn ends (mt__sched_help), instead of waking a worker.
    At a fleet's pace each request reached its node actor through a
    wake-up of its own (a futex, two context switches, ~30 µs on these
    VMs) for a few µs of work; with a worker awake, or past HELP_MAX runs
    in a row, the work goes to the workers as before, so a busy runtime
    keeps its parallelism. Two bounds keep a pinned thread to its own
    duties and a taken actor from waiting on them:
    * an actor taken waits at most for the end of the message that woke
      it (the list runs between a pinned actor's messages: the next may
      block on a commit), and within one at most HELP_WAIT_NS: a send by
      the thread after that hands the list to the workers (a reload's
      turn that sends thousands of merges held the directory, and with it
      every request, for up to 60 ms at 100,000 nodes);
    * an actor whose helped turn took over HELP_TURN_NS a message (a list
      over every node, a reload pass) is not helped for HELP_BAN_MS: its
      long turns run on a worker, as before, while the pinned thread
      reads its socket. */
#include "internal.h"

#include <errno.h>
#include <sched.h>
#include <time.h>

/*  Looking for work before parking: 20 rounds of 32 pauses is ~16 µs on
    these VMs (a pause is ~25 ns, plus a look at the queues per round).
    Long enough to catch the next message of a busy exchange, short enough
    that an idle worker does not burn the core a request needs (measured:
    200 rounds spent half of a replica's CPU spinning under node.get load).

    The spin adapts to what it would have caught. A worker woken soon after
    it parked (within SPIN_PAYS_NS, a wake-up's own latency included) spins
    the whole SPIN_ROUNDS next time; one that slept longer halves its spin,
    down to one round. At a fleet's pace — a request every few hundred µs,
    each its own wake-up — the full spin never caught anything and was a
    third of the workers' CPU (issue 15's steady figure); under a busy
    exchange the parks stay short and the spin stays whole. */
#define SPIN_ROUNDS 20
#define SPIN_PAYS_NS 100000
#define NEXT_STREAK_MAX 64         /* fairness: then `next` goes to the queue */
#define HELP_MAX 64                /* runs a pinned thread helps with in a row */
#define HELP_WAIT_NS 200000        /* longest an actor taken waits for its run */
#define HELP_TURN_NS 500000        /* a helped turn longer than this a message... */
#define HELP_BAN_MS 1000           /* ...bars the actor from help this long */
#define INJECT_EVERY 61            /* check the inject queue even when busy */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* ---- run queues -------------------------------------------------------- */

static void runq_push(mt__worker_t *w, mt_actor_t *a)
{
    a->runq_next = NULL;
    pthread_mutex_lock(&w->lock);
    if (w->q_tail)
        w->q_tail->runq_next = a;
    else
        w->q_head = a;
    w->q_tail = a;
    /*  seq_cst: pairs with a parking worker's "count me idle, then look". */
    atomic_fetch_add_explicit(&w->q_len, 1, memory_order_seq_cst);
    pthread_mutex_unlock(&w->lock);
}

static mt_actor_t *runq_pop(mt__worker_t *w)
{
    if (atomic_load_explicit(&w->q_len, memory_order_relaxed) == 0)
        return NULL;
    pthread_mutex_lock(&w->lock);
    mt_actor_t *a = w->q_head;
    if (a) {
        w->q_head = a->runq_next;
        if (!w->q_head)
            w->q_tail = NULL;
        atomic_fetch_sub_explicit(&w->q_len, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&w->lock);
    return a;
}

/*  Moves half of victim's queue (at least one) to w's; returns one to run. */
static mt_actor_t *steal(mt__worker_t *w, mt__worker_t *victim)
{
    if (atomic_load_explicit(&victim->q_len, memory_order_relaxed) == 0)
        return NULL;
    pthread_mutex_lock(&victim->lock);
    size_t len = atomic_load_explicit(&victim->q_len, memory_order_relaxed);
    size_t take = (len + 1) / 2;
    mt_actor_t *first = victim->q_head, *last = NULL;
    for (size_t i = 0; i < take && victim->q_head; i++) {
        last = victim->q_head;
        victim->q_head = last->runq_next;
    }
    if (!victim->q_head)
        victim->q_tail = NULL;
    if (last)
        atomic_fetch_sub_explicit(&victim->q_len, take, memory_order_relaxed);
    pthread_mutex_unlock(&victim->lock);
    if (!last)
        return NULL;
    last->runq_next = NULL;
    for (mt_actor_t *a = first->runq_next, *n; a; a = n) {
        n = a->runq_next;
        runq_push(w, a);
    }
    atomic_fetch_add_explicit(&w->steals, 1, memory_order_relaxed);
    return first;
}

static void inject_push(mt_runtime_t *rt, mt_actor_t *a)
{
    a->runq_next = NULL;
    pthread_mutex_lock(&rt->inject_lock);
    if (rt->inj_tail)
        rt->inj_tail->runq_next = a;
    else
        rt->inj_head = a;
    rt->inj_tail = a;
    atomic_fetch_add_explicit(&rt->inj_len, 1, memory_order_seq_cst);
    pthread_mutex_unlock(&rt->inject_lock);
}

/*  Takes a fair share of the inject queue: one to run, the rest queued. */
static mt_actor_t *inject_pop(mt__worker_t *w)
{
    mt_runtime_t *rt = w->rt;
    if (atomic_load_explicit(&rt->inj_len, memory_order_relaxed) == 0)
        return NULL;
    pthread_mutex_lock(&rt->inject_lock);
    size_t len = atomic_load_explicit(&rt->inj_len, memory_order_relaxed);
    size_t take = len / (size_t) rt->nworkers + 1;
    if (take > 32)
        take = 32;
    mt_actor_t *first = rt->inj_head, *last = NULL;
    size_t n = 0;
    for (; n < take && rt->inj_head; n++) {
        last = rt->inj_head;
        rt->inj_head = last->runq_next;
    }
    if (!rt->inj_head)
        rt->inj_tail = NULL;
    atomic_fetch_sub_explicit(&rt->inj_len, n, memory_order_relaxed);
    pthread_mutex_unlock(&rt->inject_lock);
    if (!last)
        return NULL;
    last->runq_next = NULL;
    for (mt_actor_t *a = first->runq_next, *nx; a; a = nx) {
        nx = a->runq_next;
        runq_push(w, a);
    }
    return first;
}

/* ---- helping ----------------------------------------------------------- */

/*  Keeps a on this pinned thread's list if no worker would see it without
    a wake-up. A worker that wakes meanwhile for other work finds nothing
    of ours: the list is private until mt__sched_help runs it. */
static bool help_take(mt_runtime_t *rt, mt_actor_t *a)
{
    if (!mt__tls.helps || mt__tls.rt != rt || mt__tls.nhelp >= HELP_MAX
        || atomic_load_explicit(&rt->nidle, memory_order_seq_cst) != rt->nworkers)
        return false;
    uint32_t after = atomic_load_explicit(&a->help_after_ms, memory_order_relaxed);
    if (after) {
        if ((int32_t) (after - (uint32_t) mt_now_ms()) > 0)
            return false;
        atomic_store_explicit(&a->help_after_ms, 0, memory_order_relaxed);
    }
    if (!mt__tls.help_head)
        mt__tls.help_since_ns = mt__now_ns();
    a->runq_next = NULL;
    if (mt__tls.help_tail)
        mt__tls.help_tail->runq_next = a;
    else
        mt__tls.help_head = a;
    mt__tls.help_tail = a;
    mt__tls.nhelp++;
    return true;
}

/* ---- parking ----------------------------------------------------------- */

/*  Wakes one parked worker if nobody is looking for work already. */
static void wake_one(mt_runtime_t *rt)
{
    if (atomic_load_explicit(&rt->nidle, memory_order_seq_cst) == 0
        || atomic_load_explicit(&rt->nspinning, memory_order_seq_cst) != 0)
        return;
    pthread_mutex_lock(&rt->idle_lock);
    int n = atomic_load_explicit(&rt->nidle, memory_order_relaxed);
    mt__worker_t *w = NULL;
    if (n > 0) {
        w = &rt->workers[rt->idle[n - 1]];
        atomic_store_explicit(&rt->nidle, n - 1, memory_order_seq_cst);
        /*  It starts out spinning, so other producers leave the rest of the
            parked workers alone until it found something. */
        atomic_fetch_add_explicit(&rt->nspinning, 1, memory_order_seq_cst);
    }
    pthread_mutex_unlock(&rt->idle_lock);
    if (w) {
        pthread_mutex_lock(&w->park_lock);
        w->park_signalled = true;
        pthread_cond_signal(&w->park_cond);
        pthread_mutex_unlock(&w->park_lock);
    }
}

static void wake_all(mt_runtime_t *rt)
{
    for (int i = 0; i < rt->nworkers; i++) {
        mt__worker_t *w = &rt->workers[i];
        pthread_mutex_lock(&w->park_lock);
        w->park_signalled = true;
        pthread_cond_signal(&w->park_cond);
        pthread_mutex_unlock(&w->park_lock);
    }
}

static bool work_visible(mt_runtime_t *rt)
{
    if (atomic_load_explicit(&rt->inj_len, memory_order_seq_cst))
        return true;
    for (int i = 0; i < rt->nworkers; i++)
        if (atomic_load_explicit(&rt->workers[i].q_len, memory_order_seq_cst))
            return true;
    return atomic_load_explicit(&rt->stopping, memory_order_seq_cst);
}

/*  Returns true if woken by a producer (and thus counted as spinning). */
static bool park(mt__worker_t *w)
{
    mt_runtime_t *rt = w->rt;
    pthread_mutex_lock(&rt->idle_lock);
    int n = atomic_load_explicit(&rt->nidle, memory_order_relaxed);
    rt->idle[n] = w->index;
    atomic_store_explicit(&rt->nidle, n + 1, memory_order_seq_cst);
    pthread_mutex_unlock(&rt->idle_lock);

    /*  Listed as idle before this last look: a producer that queued work
        before we listed ourselves is seen here; one after sees us idle. */
    if (work_visible(rt)) {
        pthread_mutex_lock(&rt->idle_lock);
        int m = atomic_load_explicit(&rt->nidle, memory_order_relaxed);
        for (int i = 0; i < m; i++) {
            if (rt->idle[i] == w->index) {
                rt->idle[i] = rt->idle[m - 1];
                atomic_store_explicit(&rt->nidle, m - 1, memory_order_seq_cst);
                pthread_mutex_unlock(&rt->idle_lock);
                return false;
            }
        }
        pthread_mutex_unlock(&rt->idle_lock);
        /*  A waker took us off the list already and will signal: fall
            through and consume the signal. */
    }
    atomic_fetch_add_explicit(&w->parks, 1, memory_order_relaxed);
    pthread_mutex_lock(&w->park_lock);
    while (!w->park_signalled)
        pthread_cond_wait(&w->park_cond, &w->park_lock);
    w->park_signalled = false;
    pthread_mutex_unlock(&w->park_lock);
    return true;
}

/* ---- the worker loop --------------------------------------------------- */

static mt_actor_t *find_local(mt__worker_t *w)
{
    mt_runtime_t *rt = w->rt;
    if (++w->tick % INJECT_EVERY == 0) {
        mt_actor_t *a = inject_pop(w);
        if (a)
            return a;
    }
    mt_actor_t *a = runq_pop(w);
    if (!a)
        a = inject_pop(w);
    if (!a) {
        for (int i = 1; i < rt->nworkers && !a; i++)
            a = steal(w, &rt->workers[(w->index + i) % rt->nworkers]);
    }
    return a;
}

static mt_actor_t *find_work(mt__worker_t *w, bool *spinning)
{
    mt_runtime_t *rt = w->rt;
    if (w->next) {
        mt_actor_t *a = w->next;
        w->next = NULL;
        /*  Fair to the queue: a ping-pong pair must not starve it. */
        if (++w->next_streak < NEXT_STREAK_MAX
            || atomic_load_explicit(&w->q_len, memory_order_relaxed) == 0)
            return a;
        runq_push(w, a);
    }
    w->next_streak = 0;
    for (;;) {
        if (atomic_load_explicit(&rt->stopping, memory_order_acquire))
            return NULL;
        mt_actor_t *a = find_local(w);
        if (a)
            return a;
        if (!*spinning) {
            *spinning = true;
            atomic_fetch_add_explicit(&rt->nspinning, 1, memory_order_seq_cst);
        }
        for (int i = 0; i < w->spin_rounds; i++) {
            for (int j = 0; j < 32; j++)
                cpu_relax();
            if (work_visible(rt))
                break;
        }
        if (work_visible(rt))
            continue;
        *spinning = false;
        atomic_fetch_sub_explicit(&rt->nspinning, 1, memory_order_seq_cst);
        uint64_t parked = mt__now_ns();
        *spinning = park(w);    /* a waker counted us as spinning */
        if (mt__now_ns() - parked < SPIN_PAYS_NS)
            w->spin_rounds = SPIN_ROUNDS;
        else if (w->spin_rounds > 1)
            w->spin_rounds /= 2;
    }
}

static void *worker_main(void *arg)
{
    mt__worker_t *w = arg;
    mt_runtime_t *rt = w->rt;
    mt__tls.rt = rt;
    mt__tls.worker = w;
    mt__tls.ctr = &w->ctr;
    char name[16];
    snprintf(name, sizeof name, "mt-worker-%d", w->index);
    pthread_setname_np(pthread_self(), name);
    bool spinning = false;
    for (;;) {
        mt_actor_t *a = find_work(w, &spinning);
        if (!a)
            break;
        if (spinning) {
            /*  We found work: if more is waiting, let another parked worker
                look for it. Not otherwise: a lone request would wake the
                other core for nothing (~30 µs a wake-up on these VMs). */
            spinning = false;
            if (atomic_fetch_sub_explicit(&rt->nspinning, 1, memory_order_seq_cst) == 1
                && work_visible(rt))
                wake_one(rt);
        }
        atomic_store_explicit(&w->runs,
            atomic_load_explicit(&w->runs, memory_order_relaxed) + 1, memory_order_relaxed);
        if (mt__actor_run(a, rt->batch, NULL))
            runq_push(w, a);
    }
    if (spinning)
        atomic_fetch_sub_explicit(&rt->nspinning, 1, memory_order_seq_cst);
    mt__tls = (mt__tls_t) { 0 };
    return NULL;
}

void mt__schedule(mt_actor_t *a)
{
    if (atomic_load_explicit(&a->flags, memory_order_acquire) & MT__A_DEAD) {
        mt__actor_drain_dead(a);
        return;
    }
    if (a->pinned) {
        mt__pinned_wake(a);
        return;
    }
    mt_runtime_t *rt = a->rt;
    mt__worker_t *w = mt__tls.worker;
    if (w && w->rt == rt) {
        mt_actor_t *old = w->next;
        w->next = a;
        if (!old)
            return;
        runq_push(w, old);
    }
    else if (help_take(rt, a))
        return;
    else
        inject_push(rt, a);
    wake_one(rt);
}

static mt_actor_t *help_pop(void)
{
    mt_actor_t *a = mt__tls.help_head;
    if (a) {
        mt__tls.help_head = a->runq_next;
        if (!mt__tls.help_head)
            mt__tls.help_tail = NULL;
        mt__tls.nhelp--;
    }
    return a;
}

/*  One helped turn; an actor whose messages took long is barred for a
    while. By the message, not the turn: a turn through a burst of light
    messages (the directory routing a commit's merges) is no reason. */
static bool help_run(mt_runtime_t *rt, mt_actor_t *a)
{
    /*  Ours for the turn: once it gives its token back another thread may
        run it, and it may have stopped and gone. */
    mt_actor_ref(a);
    uint64_t began = mt__now_ns();
    int handled = 0;
    bool more = mt__actor_run(a, rt->batch, &handled);
    if (mt__now_ns() - began > HELP_TURN_NS * (uint64_t) (handled > 1 ? handled : 1)) {
        uint32_t after = (uint32_t) (mt_now_ms() + HELP_BAN_MS);
        atomic_store_explicit(&a->help_after_ms, after ? after : 1, memory_order_relaxed);
    }
    mt_actor_unref(&a);
    return more;
}

void mt__sched_help(void)
{
    mt_runtime_t *rt = mt__tls.rt;
    mt_actor_t *a;
    mt__tls.helping = true;         /* what helped actors wake joins this loop */
    for (int runs = 0; (a = help_pop()); runs++) {
        /*  Still runnable after its batch, one run too many, or a runtime
            that stops (queued actors stay queued): a worker's. */
        if (runs < HELP_MAX && !atomic_load_explicit(&rt->stopping, memory_order_acquire)
            && !help_run(rt, a))
            continue;
        inject_push(rt, a);
        wake_one(rt);
    }
    mt__tls.helping = false;
}

void mt__sched_help_due(void)
{
    if (mt__now_ns() - mt__tls.help_since_ns < HELP_WAIT_NS)
        return;
    mt_actor_t *a;
    while ((a = help_pop())) {
        inject_push(mt__tls.rt, a);
        wake_one(mt__tls.rt);
    }
}

int mt__sched_start(mt_runtime_t *rt)
{
    for (int i = 0; i < rt->nworkers; i++) {
        mt__worker_t *w = &rt->workers[i];
        w->rt = rt;
        w->index = i;
        w->spin_rounds = SPIN_ROUNDS;
        pthread_mutex_init(&w->lock, NULL);
        pthread_mutex_init(&w->park_lock, NULL);
        pthread_cond_init(&w->park_cond, NULL);
    }
    for (int i = 0; i < rt->nworkers; i++) {
        int rc = pthread_create(&rt->workers[i].thread, NULL, worker_main, &rt->workers[i]);
        if (rc != 0) {
            errno = rc;
            atomic_store(&rt->stopping, true);
            wake_all(rt);
            for (int j = 0; j < i; j++)
                pthread_join(rt->workers[j].thread, NULL);
            return MT_ESYSTEM;
        }
    }
    return MT_OK;
}

void mt__sched_stop(mt_runtime_t *rt)
{
    atomic_store(&rt->stopping, true);
    wake_all(rt);
    for (int i = 0; i < rt->nworkers; i++)
        pthread_join(rt->workers[i].thread, NULL);
    /*  Actors still queued are terminated by the runtime from its list;
        the queues only held pointers. `next` slots too. */
    for (int i = 0; i < rt->nworkers; i++) {
        mt__worker_t *w = &rt->workers[i];
        w->q_head = w->q_tail = w->next = NULL;
        atomic_store(&w->q_len, 0);
        pthread_mutex_destroy(&w->lock);
        pthread_mutex_destroy(&w->park_lock);
        pthread_cond_destroy(&w->park_cond);
    }
    rt->inj_head = rt->inj_tail = NULL;
    atomic_store(&rt->inj_len, 0);
}
