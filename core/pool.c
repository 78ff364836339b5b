/*  pool.c — thread-cached size classes for small runtime objects.

    Messages are allocated on one thread and freed on another (the receiver's
    worker) millions of times a second. Each thread keeps a free list per
    size class; when a list grows past 2·BATCH blocks, BATCH of them go to a
    global stock as one batch, and an empty list takes one batch back. So a
    producer/consumer pair takes the global lock once per BATCH messages,
    not per message. Blocks come from slabs that are never returned to the
    system: the working set of a runtime is stable, and malloc's own per
    block header (16 bytes) would be a tenth of a message. */
#include "internal.h"

#include <string.h>

#if MT_POOL_DISABLE

void *mt__pool_alloc(size_t size)
{
    void *p = malloc(size);
    if (!p)
        mt__panic("out of memory (%zu bytes)", size);
    return p;
}

void *mt__pool_calloc(size_t size)
{
    void *p = calloc(1, size);
    if (!p)
        mt__panic("out of memory (%zu bytes)", size);
    return p;
}

void mt__pool_free(void *p, size_t size)
{
    (void) size;
    free(p);
}

#else

/*  Classes in steps of half a power of two: an actor (176 bytes) fits 192,
    not 256, which is a quarter of an idle actor's memory. */
#define CLASSES 9
static const uint32_t s_class_size[CLASSES] = { 64, 96, 128, 192, 256, 384, 512, 768, 1024 };
#define BATCH 64
#define SLAB_BYTES (64 * 1024)

typedef struct block { struct block *next; } block_t;

typedef struct batch {
    struct batch *next;
    block_t *blocks;            /* BATCH blocks */
} batch_t;

typedef struct {
    block_t *free[CLASSES];
    unsigned count[CLASSES];
    bool registered;
} cache_t;

static struct {
    pthread_mutex_t lock;
    batch_t *stock[CLASSES];
    pthread_key_t key;
    pthread_once_t once;
} s_pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .once = PTHREAD_ONCE_INIT };

static _Thread_local cache_t s_cache;

/*  (size - 1) / 32 → class, for sizes up to 1024. */
static const int8_t s_class_of[32] = {
    0, 0, 1, 2, 3, 3, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8,
};

static int class_of(size_t size)
{
    if (size == 0)
        return 0;
    return size <= 1024 ? s_class_of[(size - 1) / 32] : -1;
}

/*  Batches live in their first block: no allocation to return a batch. */
static void stock_put(int c, block_t *list)
{
    batch_t *b = (batch_t *) list;
    b->blocks = list->next;     /* the rest; b itself is block #0 */
    pthread_mutex_lock(&s_pool.lock);
    b->next = s_pool.stock[c];
    s_pool.stock[c] = b;
    pthread_mutex_unlock(&s_pool.lock);
}

static unsigned stock_take(int c, block_t **out)
{
    pthread_mutex_lock(&s_pool.lock);
    batch_t *b = s_pool.stock[c];
    if (b)
        s_pool.stock[c] = b->next;
    pthread_mutex_unlock(&s_pool.lock);
    if (b) {
        block_t *first = (block_t *) b;
        first->next = b->blocks;
        *out = first;
        return BATCH;
    }
    size_t bs = s_class_size[c];
    size_t n = SLAB_BYTES / bs;
    if (n < BATCH)
        n = BATCH;
    char *slab = aligned_alloc(MT__CACHE_LINE, n * bs);
    if (!slab)
        mt__panic("out of memory (slab of %zu bytes)", n * bs);
    for (size_t i = 0; i + 1 < n; i++)
        ((block_t *) (slab + i * bs))->next = (block_t *) (slab + (i + 1) * bs);
    ((block_t *) (slab + (n - 1) * bs))->next = NULL;
    *out = (block_t *) slab;
    return (unsigned) n;
}

/*  A thread that exits hands its cached blocks back, in whole batches. */
static void cache_flush(void *arg)
{
    cache_t *cache = arg;
    for (int c = 0; c < CLASSES; c++) {
        while (cache->count[c] >= BATCH) {
            block_t *list = cache->free[c], *last = list;
            for (int i = 1; i < BATCH; i++)
                last = last->next;
            cache->free[c] = last->next;
            last->next = NULL;
            cache->count[c] -= BATCH;
            stock_put(c, list);
        }
        /*  A partial batch stays allocated but unused: at most BATCH-1
            blocks per class per exited thread. */
        cache->free[c] = NULL;
        cache->count[c] = 0;
    }
}

static void make_key(void)
{
    pthread_key_create(&s_pool.key, cache_flush);
}

void *mt__pool_alloc(size_t size)
{
    int c = class_of(size);
    if (c < 0) {
        void *p = malloc(size);
        if (!p)
            mt__panic("out of memory (%zu bytes)", size);
        return p;
    }
    cache_t *cache = &s_cache;
    block_t *b = cache->free[c];
    if (__builtin_expect(b == NULL, 0)) {
        if (!cache->registered) {
            pthread_once(&s_pool.once, make_key);
            pthread_setspecific(s_pool.key, cache);
            cache->registered = true;
        }
        cache->count[c] = stock_take(c, &b);
    }
    cache->free[c] = b->next;
    cache->count[c]--;
    return b;
}

void *mt__pool_calloc(size_t size)
{
    void *p = mt__pool_alloc(size);
    memset(p, 0, size);
    return p;
}

void mt__pool_free(void *p, size_t size)
{
    int c = class_of(size);
    if (c < 0) {
        free(p);
        return;
    }
    cache_t *cache = &s_cache;
    block_t *b = p;
    b->next = cache->free[c];
    cache->free[c] = b;
    if (++cache->count[c] >= 2 * BATCH) {
        block_t *last = b;
        for (int i = 1; i < BATCH; i++)
            last = last->next;
        cache->free[c] = last->next;
        last->next = NULL;
        cache->count[c] -= BATCH;
        stock_put(c, b);
    }
}

#endif
