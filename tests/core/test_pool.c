/*  core_pool: the pooled allocator gives slabs back (core/pool.c).

    This program compiles pool.c itself with MT_POOL_TEST=1, so the pool is
    there in sanitizer builds too (where the runtime's own copy maps to
    malloc): ThreadSanitizer and ASan check the sweep against threads that
    allocate and free meanwhile. No runtime: threads call the pool directly.

    Each test uses size classes no other test uses and asserts on the
    pool's counters relative to the test's start, so the tests pass with
    CK_FORK=no too. mt__pool_sweep(0) sweeps whatever the stock holds;
    the housekeeping thread leaves a few batches alone (its own test is
    in test_runtime.c). */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "mt_check.h"

#define BLOCKS_PER_SLAB(size) ((64 * 1024 - 64) / (size))

static uint64_t slabs(void)
{
    mt__pool_stats_t s;
    mt__pool_stats(&s);
    return s.slabs;
}

/*  Runs fn(arg) on a thread of its own and joins it: the thread's cache
    goes back to the stock when it exits. */
static void on_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, fn, arg), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
}

/* ---- a burst is given back --------------------------------------------- */

typedef struct {
    size_t size, n;
    void *keep;                 /* out: one block not freed (if asked) */
    bool keep_one;
} burst_t;

static void *burst(void *arg)
{
    burst_t *b = arg;
    void **p = malloc(b->n * sizeof *p);
    for (size_t i = 0; i < b->n; i++) {
        p[i] = mt__pool_alloc(b->size);
        memset(p[i], 0xa5, b->size);
    }
    for (size_t i = b->keep_one ? 1 : 0; i < b->n; i++)
        mt__pool_free(p[i], b->size);
    b->keep = b->keep_one ? p[0] : NULL;
    free(p);
    return NULL;
}

static void *free_one(void *arg)
{
    burst_t *b = arg;
    mt__pool_free(b->keep, b->size);
    return NULL;
}

START_TEST(a_burst_is_given_back)
{
    mt__pool_sweep(0);
    mt__pool_stats_t s0, s1;
    mt__pool_stats(&s0);
    burst_t b = { .size = 192, .n = 20 * BLOCKS_PER_SLAB(192) };
    on_thread(burst, &b);
    mt__pool_stats(&s1);
    ck_assert_uint_ge(s1.slabs - s0.slabs, 20);
    size_t freed = mt__pool_sweep(0);
    ck_assert_uint_eq(freed, s1.slabs - s0.slabs);
    mt__pool_stats(&s1);
    ck_assert_uint_eq(s1.slabs, s0.slabs);
    ck_assert_uint_eq(s1.slabs_freed - s0.slabs_freed, freed);
    ck_assert_uint_eq(mt__pool_sweep(0), 0);        /* nothing left to give */
}
END_TEST

START_TEST(a_block_in_use_or_cached_keeps_its_slab)
{
    mt__pool_sweep(0);
    uint64_t base = slabs();
    burst_t b = { .size = 256, .n = 8 * BLOCKS_PER_SLAB(256), .keep_one = true };
    on_thread(burst, &b);
    mt__pool_sweep(0);
    ck_assert_uint_eq(slabs(), base + 1);           /* in use: its slab stays */
    memset(b.keep, 0x5a, b.size);                   /* and still usable */

    mt__pool_free(b.keep, b.size);                  /* into this thread's cache */
    mt__pool_sweep(0);
    ck_assert_uint_eq(slabs(), base + 1);           /* cached: stays too */

    void *again = mt__pool_alloc(b.size);           /* the cache's newest block */
    ck_assert_ptr_eq(again, b.keep);
    on_thread(free_one, &b);                        /* freed there; thread exits */
    mt__pool_sweep(0);
    ck_assert_uint_eq(slabs(), base);
}
END_TEST

START_TEST(a_small_stock_is_left_alone)
{
    mt__pool_sweep(0);
    uint64_t base = slabs();
    /*  One slab: fewer batches than the housekeeping thread leaves. */
    burst_t b = { .size = 384, .n = BLOCKS_PER_SLAB(384) };
    on_thread(burst, &b);
    ck_assert_uint_eq(slabs(), base + 1);
    ck_assert_uint_eq(mt__pool_sweep(MT__POOL_KEEP_BATCHES), 0);
    ck_assert_uint_eq(slabs(), base + 1);
    ck_assert_uint_eq(mt__pool_sweep(0), 1);
    ck_assert_uint_eq(slabs(), base);
}
END_TEST

START_TEST(blocks_left_after_a_sweep_are_reused)
{
    mt__pool_sweep(0);
    uint64_t base = slabs();
    burst_t b = { .size = 512, .n = 4 * BLOCKS_PER_SLAB(512), .keep_one = true };
    on_thread(burst, &b);
    mt__pool_sweep(0);                  /* the kept block's slab's others go back */
    ck_assert_uint_eq(slabs(), base + 1);
    /*  Another thread takes them: no new slab until they are used up. */
    burst_t c = { .size = 512, .n = BLOCKS_PER_SLAB(512) - 1 };
    on_thread(burst, &c);
    ck_assert_uint_eq(slabs(), base + 1);
    on_thread(free_one, &b);
    ck_assert_uint_eq(mt__pool_sweep(0), 1);
}
END_TEST

/*  The housekeeping thread's sweep leaves in the stock what its traffic
    took since the last sweep (taking a stock in use made threads carve
    new slabs meanwhile, which the next sweep could not free: RSS climbed
    under steady load), and the rest of a burst at the next look. */
START_TEST(an_idle_sweep_waits_for_the_burst_to_end)
{
    mt__pool_sweep(0);
    mt__pool_sweep_idle(MT__POOL_KEEP_BATCHES);     /* the last look: now */
    mt__pool_stats_t s0, s1;
    mt__pool_stats(&s0);
    /*  Blocks of 1024 B: 63 a slab, so a slab is one batch asked of the
        stock, and all 40 are asked (carved) while the burst allocates. */
    burst_t b = { .size = 1024, .n = 40 * BLOCKS_PER_SLAB(1024) };
    on_thread(burst, &b);
    mt__pool_stats(&s1);
    uint64_t grown = s1.slabs - s0.slabs;
    ck_assert_uint_ge(grown, 40);
    /*  40 batches asked + 8 kept of about 40 in stock: nothing to take. */
    ck_assert_uint_eq(mt__pool_sweep_idle(MT__POOL_KEEP_BATCHES), 0);
    size_t freed = mt__pool_sweep_idle(MT__POOL_KEEP_BATCHES);            /* idle now */
    ck_assert_uint_gt(freed, 0);
    ck_assert_uint_lt(freed, grown);        /* the kept batches keep their slabs */
    ck_assert_uint_eq(mt__pool_sweep(0), grown - freed);
}
END_TEST

/* ---- what lives long keeps slabs of its own ----------------------------- */

typedef struct {
    size_t n;
    void **lasting;
} mixed_t;

/*  Actors spawned among a burst of messages of their size (a reload). */
static void *spawn_among_messages(void *arg)
{
    mixed_t *m = arg;
    void **msgs = malloc(m->n * sizeof *msgs);
    for (size_t i = 0; i < m->n; i++) {
        m->lasting[i] = mt__pool_alloc_lasting(700);
        msgs[i] = mt__pool_alloc(700);
    }
    for (size_t i = 0; i < m->n; i++)
        mt__pool_free(msgs[i], 700);
    free(msgs);
    return NULL;
}

static void *free_lasting(void *arg)
{
    mixed_t *m = arg;
    for (size_t i = 0; i < m->n; i++)
        mt__pool_free_lasting(m->lasting[i], 700);
    return NULL;
}

START_TEST(lasting_blocks_leave_a_burst_its_slabs)
{
    mt__pool_sweep(0);
    uint64_t base = slabs();
    mixed_t m = { .n = 4 * BLOCKS_PER_SLAB(768) };
    m.lasting = malloc(m.n * sizeof *m.lasting);
    on_thread(spawn_among_messages, &m);
    mt__pool_sweep(0);
    /*  Every message slab went back; the four of the lasting blocks stay. */
    ck_assert_uint_eq(slabs(), base + 4);
    on_thread(free_lasting, &m);
    mt__pool_sweep(0);
    ck_assert_uint_eq(slabs(), base);
    free(m.lasting);
}
END_TEST

/* ---- sweeps racing with the alloc/free traffic of the runtime ---------- */

/*  Producers allocate blocks of mixed sizes and hand them over through a
    shared list; consumers check every byte and free them on their own
    thread (a message's life), while the test thread sweeps all along. */
#define PRODUCERS 2
#define CONSUMERS 2
#define PER_PRODUCER 60000

typedef struct item {
    struct item *next;
    uint32_t size;
    uint8_t tag;
} item_t;

/*  Classes 64, 96, 128, 768 and 1024: none of the other tests' classes. */
static const uint32_t s_sizes[] = { 64, 90, 120, 700, 1024 };

static struct {
    pthread_mutex_t lock;
    item_t *list;
    int producing;
    atomic_long bad;
} s_x = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *produce(void *arg)
{
    unsigned seed = (unsigned) (uintptr_t) arg;
    for (int i = 0; i < PER_PRODUCER; i++) {
        uint32_t size = s_sizes[(seed + (unsigned) i) % 5];
        item_t *it = mt__pool_alloc(size);
        it->size = size;
        it->tag = (uint8_t) (seed * 31 + (unsigned) i);
        memset((char *) it + sizeof *it, it->tag, size - sizeof *it);
        pthread_mutex_lock(&s_x.lock);
        it->next = s_x.list;
        s_x.list = it;
        pthread_mutex_unlock(&s_x.lock);
    }
    pthread_mutex_lock(&s_x.lock);
    s_x.producing--;
    pthread_mutex_unlock(&s_x.lock);
    return NULL;
}

static void *consume(void *arg)
{
    (void) arg;
    for (;;) {
        pthread_mutex_lock(&s_x.lock);
        item_t *it = s_x.list;
        if (it)
            s_x.list = it->next;
        bool done = !it && s_x.producing == 0;
        pthread_mutex_unlock(&s_x.lock);
        if (done)
            return NULL;
        if (!it) {
            sched_yield();
            continue;
        }
        const unsigned char *p = (const unsigned char *) it + sizeof *it;
        for (size_t i = 0; i < it->size - sizeof *it; i++)
            if (p[i] != it->tag) {
                atomic_fetch_add(&s_x.bad, 1);
                break;
            }
        mt__pool_free(it, it->size);
    }
}

START_TEST(sweeps_race_with_alloc_and_free)
{
    mt__pool_sweep(0);
    mt__pool_stats_t s0, s1;
    mt__pool_stats(&s0);
    s_x.producing = PRODUCERS;
    atomic_store(&s_x.bad, 0);
    pthread_t t[PRODUCERS + CONSUMERS];
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, i < PRODUCERS ? produce : consume,
                                        (void *) (uintptr_t) (i + 1)), 0);
    for (;;) {
        mt__pool_sweep(0);
        pthread_mutex_lock(&s_x.lock);
        bool done = s_x.producing == 0 && !s_x.list;
        pthread_mutex_unlock(&s_x.lock);
        if (done)
            break;
        sched_yield();
    }
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(atomic_load(&s_x.bad), 0);
    /*  Every thread is gone and so are its cached blocks: all of them are
        in the stock, so every slab made meanwhile is given back. */
    mt__pool_sweep(0);
    mt__pool_stats(&s1);
    ck_assert_uint_eq(s1.slabs, s0.slabs);
    ck_assert_uint_gt(s1.slabs_freed, s0.slabs_freed);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("core_pool");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_burst_is_given_back);
    tcase_add_test(tc, a_block_in_use_or_cached_keeps_its_slab);
    tcase_add_test(tc, a_small_stock_is_left_alone);
    tcase_add_test(tc, blocks_left_after_a_sweep_are_reused);
    tcase_add_test(tc, an_idle_sweep_waits_for_the_burst_to_end);
    tcase_add_test(tc, lasting_blocks_leave_a_burst_its_slabs);
    tcase_add_test(tc, sweeps_race_with_alloc_and_free);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mt_check_run(make_suite());
}
