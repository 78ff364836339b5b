/*  timer.c — send_after and re-armable timers on one timer thread.

    A binary min-heap ordered by deadline (as libuv's timers): arm, re-arm
    and cancel are O(log n), which keeps 100,000+ live timers (one per node
    for health expiry) cheap. The thread sleeps until the earliest deadline
    and is signalled only when a new timer becomes the earliest.

    A timer has up to three references: its owner's, the heap's while armed,
    and the fired message's until that message is handled or dropped. The
    fired message is recorded in `fired`; cancel and re-arm clear it, and
    delivery claims it (mt__timer_claim), so a message that fired before a
    cancel but is still queued is dropped instead of handled. */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <time.h>

struct mt_timer {
    mt_runtime_t *rt;
    _Atomic uint32_t refs;
    uint32_t idx;                       /* heap slot, NOT_ARMED if none */
    uint64_t deadline;
    mt_actor_t *to;                     /* while armed */
    mt_msg_t *msg;                      /* while armed */
    mt_msg_t *_Atomic fired;            /* sent, not yet claimed */
};

#define NOT_ARMED UINT32_MAX

struct mt__timers {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool running;
    bool stop;
    mt_timer_t **heap;
    uint32_t len, cap;
};

uint64_t mt__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

uint64_t mt_now_ms(void)
{
    return mt__now_ns() / 1000000u;
}

/* ---- the heap (caller holds the lock) ---------------------------------- */

static void heap_set(mt__timers_t *h, uint32_t i, mt_timer_t *t)
{
    h->heap[i] = t;
    t->idx = i;
}

static void sift_up(mt__timers_t *h, uint32_t i)
{
    mt_timer_t *t = h->heap[i];
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (h->heap[p]->deadline <= t->deadline)
            break;
        heap_set(h, i, h->heap[p]);
        i = p;
    }
    heap_set(h, i, t);
}

static void sift_down(mt__timers_t *h, uint32_t i)
{
    mt_timer_t *t = h->heap[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= h->len)
            break;
        if (c + 1 < h->len && h->heap[c + 1]->deadline < h->heap[c]->deadline)
            c++;
        if (t->deadline <= h->heap[c]->deadline)
            break;
        heap_set(h, i, h->heap[c]);
        i = c;
    }
    heap_set(h, i, t);
}

static void heap_insert(mt__timers_t *h, mt_timer_t *t)
{
    if (h->len == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->heap = realloc(h->heap, h->cap * sizeof *h->heap);
        if (!h->heap)
            mt__panic("out of memory (timer heap)");
    }
    heap_set(h, h->len++, t);
    sift_up(h, t->idx);
}

static void heap_remove(mt__timers_t *h, mt_timer_t *t)
{
    uint32_t i = t->idx;
    t->idx = NOT_ARMED;
    mt_timer_t *last = h->heap[--h->len];
    if (i == h->len)
        return;
    heap_set(h, i, last);
    if (i > 0 && h->heap[(i - 1) / 2]->deadline > last->deadline)
        sift_up(h, i);
    else
        sift_down(h, i);
}

/* ---- timer objects ----------------------------------------------------- */

static void timer_unref(mt_timer_t *t)
{
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        mt__pool_free(t, sizeof *t);
}

mt_timer_t *mt_timer_new(mt_runtime_t *rt)
{
    mt_timer_t *t = mt__pool_calloc(sizeof *t);
    t->rt = rt;
    t->idx = NOT_ARMED;
    atomic_init(&t->refs, 1);
    return t;
}

/*  Disarms under the lock; hands back what must be freed outside it (a
    message's drop callback may do anything, including arming a timer). */
static bool disarm(mt_timer_t *t, mt_msg_t **msg, mt_actor_t **to)
{
    bool was = false;
    if (t->idx != NOT_ARMED) {
        heap_remove(t->rt->timers, t);
        *msg = t->msg;
        *to = t->to;
        t->msg = NULL;
        t->to = NULL;
        was = true;
        atomic_fetch_sub_explicit(&t->refs, 1, memory_order_relaxed);  /* heap's; owner holds one */
    }
    /*  acq_rel: pairs with the claim in mt__timer_claim. */
    if (atomic_exchange_explicit(&t->fired, NULL, memory_order_acq_rel))
        was = true;
    return was;
}

void mt_timer_start(mt_timer_t *t, mt_actor_t *to, mt_msg_t *msg, uint64_t delay_ms)
{
    mt__timers_t *h = t->rt->timers;
    mt_msg_t *old_msg = NULL;
    mt_actor_t *old_to = NULL;
    pthread_mutex_lock(&h->lock);
    disarm(t, &old_msg, &old_to);
    /*  +1: the clock is read in whole milliseconds, so without it a timer
        could fire up to 1 ms before delay_ms has passed. */
    t->deadline = mt_now_ms() + delay_ms + 1;
    t->to = mt_actor_ref(to);
    t->msg = msg;
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    heap_insert(h, t);
    if (t->idx == 0)
        pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->lock);
    mt_msg_free(old_msg);
    mt_actor_unref(&old_to);
}

bool mt_timer_cancel(mt_timer_t *t)
{
    mt__timers_t *h = t->rt->timers;
    mt_msg_t *msg = NULL;
    mt_actor_t *to = NULL;
    pthread_mutex_lock(&h->lock);
    bool was = disarm(t, &msg, &to);
    pthread_mutex_unlock(&h->lock);
    mt_msg_free(msg);
    mt_actor_unref(&to);
    return was;
}

bool mt_timer_armed(mt_timer_t *t)
{
    mt__timers_t *h = t->rt->timers;
    pthread_mutex_lock(&h->lock);
    bool armed = t->idx != NOT_ARMED
        || atomic_load_explicit(&t->fired, memory_order_acquire) != NULL;
    pthread_mutex_unlock(&h->lock);
    return armed;
}

void mt_timer_destroy(mt_timer_t **t_p)
{
    mt_timer_t *t = *t_p;
    if (!t)
        return;
    *t_p = NULL;
    mt_timer_cancel(t);
    timer_unref(t);
}

void mt_send_after(mt_actor_t *to, mt_msg_t *msg, uint64_t delay_ms)
{
    mt_timer_t *t = mt_timer_new(to->rt);
    mt_timer_start(t, to, msg, delay_ms);
    timer_unref(t);             /* the heap and then the message keep it */
}

bool mt__timer_claim(mt_msg_t *msg)
{
    mt_timer_t *t = msg->timer;
    mt_msg_t *expected = msg;
    bool ok = atomic_compare_exchange_strong_explicit(&t->fired, &expected, NULL,
                  memory_order_acq_rel, memory_order_acquire);
    msg->timer = NULL;
    timer_unref(t);
    return ok;
}

void mt__timer_release_msg(mt_msg_t *msg)
{
    (void) mt__timer_claim(msg);
}

/* ---- the timer thread -------------------------------------------------- */

typedef struct { mt_actor_t *to; mt_msg_t *msg; } due_t;

static void *timer_main(void *arg)
{
    mt_runtime_t *rt = arg;
    mt__timers_t *h = rt->timers;
    due_t due[256];
    pthread_setname_np(pthread_self(), "mt-timers");
    pthread_mutex_lock(&h->lock);
    while (!h->stop) {
        uint64_t now = mt_now_ms();
        size_t n = 0;
        while (h->len && h->heap[0]->deadline <= now && n < 256) {
            mt_timer_t *t = h->heap[0];
            heap_remove(h, t);
            /*  The heap's reference passes to the message. */
            t->msg->timer = t;
            atomic_store_explicit(&t->fired, t->msg, memory_order_release);
            due[n++] = (due_t) { t->to, t->msg };
            t->msg = NULL;
            t->to = NULL;
        }
        if (n) {
            pthread_mutex_unlock(&h->lock);
            for (size_t i = 0; i < n; i++) {
                mt_send(due[i].to, due[i].msg);
                mt_actor_unref(&due[i].to);
            }
            pthread_mutex_lock(&h->lock);
            continue;
        }
        if (h->len == 0)
            pthread_cond_wait(&h->cond, &h->lock);
        else {
            uint64_t ms = h->heap[0]->deadline - now;
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += (time_t) (ms / 1000);
            ts.tv_nsec += (long) (ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&h->cond, &h->lock, &ts);
        }
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

void mt__cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}

int mt__timers_start(mt_runtime_t *rt)
{
    mt__timers_t *h = calloc(1, sizeof *h);
    if (!h)
        return MT_ENOMEM;
    pthread_mutex_init(&h->lock, NULL);
    mt__cond_init_monotonic(&h->cond);
    rt->timers = h;
    int rc = pthread_create(&h->thread, NULL, timer_main, rt);
    if (rc != 0) {
        errno = rc;
        return MT_ESYSTEM;
    }
    h->running = true;
    return MT_OK;
}

void mt__timers_stop(mt_runtime_t *rt)
{
    mt__timers_t *h = rt->timers;
    if (!h || !h->running)
        return;
    pthread_mutex_lock(&h->lock);
    h->stop = true;
    pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    h->running = false;
}

void mt__timers_free(mt_runtime_t *rt)
{
    mt__timers_t *h = rt->timers;
    if (!h)
        return;
    /*  Timers still armed: their owners are gone (actors terminated), so
        only the heap's reference is left on most of them. */
    while (h->len) {
        mt_timer_t *t = h->heap[0];
        heap_remove(h, t);
        mt_msg_free(t->msg);
        mt_actor_unref(&t->to);
        timer_unref(t);
    }
    free(h->heap);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->cond);
    free(h);
    rt->timers = NULL;
}

uint64_t mt__timers_count(mt_runtime_t *rt)
{
    mt__timers_t *h = rt->timers;
    pthread_mutex_lock(&h->lock);
    uint64_t n = h->len;
    pthread_mutex_unlock(&h->lock);
    return n;
}
