/*  pool.c — thread-cached size classes for small runtime objects.

    Messages are allocated on one thread and freed on another (the receiver's
    worker) millions of times a second. Each thread keeps a free list per
    size class; when a list grows past 2·BATCH blocks, BATCH of them go to a
    global stock as one batch, and an empty list takes one batch back. So a
    producer/consumer pair takes the global lock once per BATCH messages,
    not per message; malloc's own per block header (16 bytes) would be a
    tenth of a message.

    Blocks are carved from slabs of 64 KiB, each mapped on its own and
    aligned on 64 KiB, so a block finds its slab by masking its address.
    Every block is at any moment in use, in one thread's cache, or in the
    stock. A burst (a flood of requests, a backlog behind a stalled
    database) can leave tens of MB of blocks in the stock once it is over;
    the sweep (mt__pool_sweep, on the runtime's housekeeping thread) gives
    them back: it takes a class's whole stock, counts its blocks per slab,
    unmaps every slab all of whose blocks are there, and puts the others
    back. The alloc/free path never looks at a slab, so it costs what it
    did before slabs could be returned. Blocks in thread caches keep their
    slab: at most 2·BATCH per class per thread. */
#include "internal.h"

#include <string.h>

#if MT_POOL_DISABLE && !MT_POOL_TEST

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

void *mt__pool_alloc_lasting(size_t size)
{
    return mt__pool_alloc(size);
}

void mt__pool_free_lasting(void *p, size_t size)
{
    mt__pool_free(p, size);
}

size_t mt__pool_sweep(unsigned keep_batches)
{
    (void) keep_batches;
    return 0;
}

size_t mt__pool_sweep_idle(unsigned keep_batches)
{
    (void) keep_batches;
    return 0;
}

void mt__pool_stats(mt__pool_stats_t *out)
{
    memset(out, 0, sizeof *out);
}

#else

#include <stdint.h>
#include <sys/mman.h>

/*  Classes in steps of half a power of two: an actor (176 bytes) fits 192,
    not 256, which is a quarter of an idle actor's memory. */
#define SIZES 9
static const uint32_t s_class_size[SIZES] = { 64, 96, 128, 192, 256, 384, 512, 768, 1024 };
/*  Each size twice: classes SIZES.. hold what lives long (actors), so that
    the messages of a burst never share a slab with them and their slabs
    can go back once the burst is over. 100,000 node actors spawned among
    100,000 merge messages of the same size kept 43 MB of free blocks
    pinned, none of their slabs free. */
#define CLASSES (2 * SIZES)
#define LASTING SIZES
#define BATCH 64
#define SLAB_BYTES ((size_t) 64 * 1024)
#define SLAB_HDR MT__CACHE_LINE     /* blocks start after the header's line */
#define LISTED UINT32_MAX           /* slab_t.seen: already on the sweep's free list */

typedef struct block { struct block *next; } block_t;

/*  A batch lives in its first block: no allocation to return one. */
typedef struct batch {
    struct batch *next;
    block_t *rest;              /* the other count - 1 blocks */
    uint32_t count;             /* BATCH; fewer: a thread's last, a sweep's rest */
} batch_t;

/*  At the start of every slab. `blocks` is written before any of its
    blocks is handed out; the rest belongs to the sweep (s_sweep_lock). */
typedef struct slab {
    uint32_t blocks;            /* carved from this slab */
    uint32_t seen;              /* its blocks found in the stock, or LISTED */
    struct slab *next;          /* on the sweep's list of slabs to unmap */
} slab_t;

typedef struct {
    block_t *free[CLASSES];
    unsigned count[CLASSES];
    bool registered;
} cache_t;

static struct {
    pthread_mutex_t lock;       /* guards stock and batches */
    batch_t *stock[CLASSES];
    uint32_t batches[CLASSES];  /* in stock[c] */
    uint64_t takes[CLASSES];    /* batches asked of stock[c] (given or carved) */
    pthread_key_t key;
    pthread_once_t once;
    /*  Statistics only: relaxed, nothing is ordered by them. */
    _Atomic uint64_t slabs, slabs_freed;
} s_pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .once = PTHREAD_ONCE_INIT };

/*  One sweep at a time: the slab headers' `seen` and `next` are its own. */
static pthread_mutex_t s_sweep_lock = PTHREAD_MUTEX_INITIALIZER;
/*  s_pool.takes at the last idle sweep's look (under both locks). */
static uint64_t s_seen_takes[CLASSES];

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

static size_t class_size(int c)
{
    return s_class_size[c % SIZES];
}

static slab_t *slab_of(const block_t *b)
{
    return (slab_t *) ((uintptr_t) b & ~(uintptr_t) (SLAB_BYTES - 1));
}

/* ---- slabs ------------------------------------------------------------- */

/*  Address space for slabs is mapped CHUNK_SLABS (8 MiB) at a time: a
    mapping takes the process's mmap lock for writing, and one mmap per
    64 KiB slab made the fan-in benchmark a third slower on two workers
    (the other worker's page faults waited on it); with 2 MiB chunks it
    was still 5-7% behind. The part of a chunk not yet carved is never
    touched, so it costs address space only, no memory. */
#define CHUNK_SLABS 128

static struct {
    pthread_mutex_t lock;
    char *next, *end;           /* the current chunk's slabs not handed out */
} s_chunk = { .lock = PTHREAD_MUTEX_INITIALIZER };

/*  CHUNK_SLABS slabs' worth, aligned on SLAB_BYTES, in a mapping of its
    own: one more slab's worth is reserved inaccessible and the aligned
    part opened, so what is left around it stays PROT_NONE. That keeps
    the kernel from merging chunks into one area: a new chunk (or a slab
    unmapped by a sweep) then locks only its own area, and threads taking
    page faults in another chunk do not wait for it. */
static char *chunk_map(void)
{
    const size_t len = CHUNK_SLABS * SLAB_BYTES;
    char *p = mmap(NULL, len + SLAB_BYTES, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        mt__panic("out of address space (%zu bytes of slabs)", len);
    char *a = (char *) (((uintptr_t) p + SLAB_BYTES - 1) & ~(uintptr_t) (SLAB_BYTES - 1));
    if (mprotect(a, len, PROT_READ | PROT_WRITE) != 0)
        mt__panic("out of memory (%zu bytes of slabs)", len);
    return a;
}

/*  64 KiB on a 64 KiB boundary, zeroed, straight from the kernel so that
    unmapping it gives it back at once (malloc would keep it). */
static slab_t *slab_map(void)
{
    pthread_mutex_lock(&s_chunk.lock);
    if (s_chunk.next == s_chunk.end) {
        s_chunk.next = chunk_map();
        s_chunk.end = s_chunk.next + CHUNK_SLABS * SLAB_BYTES;
    }
    slab_t *s = (slab_t *) s_chunk.next;
    s_chunk.next += SLAB_BYTES;
    pthread_mutex_unlock(&s_chunk.lock);
    return s;
}

/*  A new slab of class c, all its blocks in one list. */
static unsigned slab_carve(int c, block_t **out)
{
    size_t bs = class_size(c);
    size_t n = (SLAB_BYTES - SLAB_HDR) / bs;
    slab_t *s = slab_map();     /* zeroed: seen = 0 */
    s->blocks = (uint32_t) n;
    char *first = (char *) s + SLAB_HDR;
    for (size_t i = 0; i + 1 < n; i++)
        ((block_t *) (first + i * bs))->next = (block_t *) (first + (i + 1) * bs);
    ((block_t *) (first + (n - 1) * bs))->next = NULL;
    atomic_fetch_add_explicit(&s_pool.slabs, 1, memory_order_relaxed);
    *out = (block_t *) first;
    return (unsigned) n;
}

/* ---- the stock --------------------------------------------------------- */

/*  Splits the first n blocks off *list (which has at least n). */
static block_t *split(block_t **list, unsigned n)
{
    block_t *head = *list, *last = head;
    for (unsigned i = 1; i < n; i++)
        last = last->next;
    *list = last->next;
    last->next = NULL;
    return head;
}

/*  Makes a batch of a list of n blocks. */
static batch_t *batch_of(block_t *list, unsigned n)
{
    batch_t *b = (batch_t *) list;
    b->rest = list->next;       /* before b->next overwrites it */
    b->count = n;
    return b;
}

/*  Puts a chain of nb batches (first .. last) into the stock. */
static void stock_put_chain(int c, batch_t *first, batch_t *last, uint32_t nb)
{
    pthread_mutex_lock(&s_pool.lock);
    last->next = s_pool.stock[c];
    s_pool.stock[c] = first;
    s_pool.batches[c] += nb;
    pthread_mutex_unlock(&s_pool.lock);
}

static void stock_put(int c, block_t *list, unsigned n)
{
    batch_t *b = batch_of(list, n);
    stock_put_chain(c, b, b, 1);
}

/*  A list of n blocks (n > 0) into the stock, as batches of BATCH at most,
    with the lock taken once. */
static void stock_put_list(int c, block_t *list, unsigned n)
{
    batch_t *first = NULL, *last = NULL;
    uint32_t nb = 0;
    while (n) {
        unsigned k = n < BATCH ? n : BATCH;
        batch_t *b = batch_of(split(&list, k), k);
        b->next = NULL;
        if (last)
            last->next = b;
        else
            first = b;
        last = b;
        n -= k;
        nb++;
    }
    if (first)
        stock_put_chain(c, first, last, nb);
}

static unsigned stock_take(int c, block_t **out)
{
    pthread_mutex_lock(&s_pool.lock);
    batch_t *b = s_pool.stock[c];
    if (b) {
        s_pool.stock[c] = b->next;
        s_pool.batches[c]--;
    }
    s_pool.takes[c]++;
    pthread_mutex_unlock(&s_pool.lock);
    if (!b)
        return slab_carve(c, out);
    block_t *first = (block_t *) b;
    unsigned n = b->count;
    first->next = b->rest;
    *out = first;
    return n;
}

/*  A thread that exits hands all its cached blocks back, so that they do
    not keep their slabs for the life of the process. */
static void cache_flush(void *arg)
{
    cache_t *cache = arg;
    for (int c = 0; c < CLASSES; c++) {
        if (cache->count[c])
            stock_put_list(c, cache->free[c], cache->count[c]);
        cache->free[c] = NULL;
        cache->count[c] = 0;
    }
}

static void make_key(void)
{
    pthread_key_create(&s_pool.key, cache_flush);
}

/*  On a thread's first alloc or free, so that its exit flushes it. */
static void cache_register(cache_t *cache)
{
    pthread_once(&s_pool.once, make_key);
    pthread_setspecific(s_pool.key, cache);
    cache->registered = true;
}

/* ---- alloc and free: the thread's cache, nothing else ----------------- */

static void *alloc_in(int c, size_t size)
{
    if (c < 0) {
        void *p = malloc(size);
        if (!p)
            mt__panic("out of memory (%zu bytes)", size);
        return p;
    }
    cache_t *cache = &s_cache;
    block_t *b = cache->free[c];
    if (__builtin_expect(b == NULL, 0)) {
        if (!cache->registered)
            cache_register(cache);
        cache->count[c] = stock_take(c, &b);
    }
    cache->free[c] = b->next;
    cache->count[c]--;
    return b;
}

static void free_in(int c, void *p)
{
    if (c < 0) {
        free(p);
        return;
    }
    cache_t *cache = &s_cache;
    /*  A thread that only frees (a consumer) must flush at exit too. */
    if (__builtin_expect(!cache->registered, 0))
        cache_register(cache);
    block_t *b = p;
    b->next = cache->free[c];
    cache->free[c] = b;
    if (++cache->count[c] >= 2 * BATCH) {
        block_t *list = b;
        block_t *batch = split(&list, BATCH);
        cache->free[c] = list;
        cache->count[c] -= BATCH;
        stock_put(c, batch, BATCH);
    }
}

void *mt__pool_alloc(size_t size)
{
    return alloc_in(class_of(size), size);
}

void *mt__pool_calloc(size_t size)
{
    void *p = mt__pool_alloc(size);
    memset(p, 0, size);
    return p;
}

void mt__pool_free(void *p, size_t size)
{
    free_in(class_of(size), p);
}

static int lasting_class_of(size_t size)
{
    int c = class_of(size);
    return c < 0 ? c : LASTING + c;
}

void *mt__pool_alloc_lasting(size_t size)
{
    return alloc_in(lasting_class_of(size), size);
}

void mt__pool_free_lasting(void *p, size_t size)
{
    free_in(lasting_class_of(size), p);
}

/* ---- the sweep --------------------------------------------------------- */

/*  Class c's stock but its first keep batches, as one list of blocks, if
    it holds more (NULL otherwise); *n is its length. The kept batches
    serve allocations while the sweep walks the rest: a thread finding the
    stock empty carves a new slab, and a sweep that took the whole stock
    under steady traffic made every sweep carve slabs that the next
    could not free (the blocks of old and new slabs mix) — the soak's RSS
    climbed ~6 MB a minute. surplus_only: also keep as many batches as were
    asked of the stock since the last such look — what steady traffic
    needs — and sweep only the surplus beyond (a burst's or a backlog's). */
static block_t *stock_take_all(int c, unsigned keep, bool surplus_only, unsigned *n)
{
    pthread_mutex_lock(&s_pool.lock);
    uint64_t leave = keep;
    if (surplus_only) {
        leave += s_pool.takes[c] - s_seen_takes[c];
        s_seen_takes[c] = s_pool.takes[c];
    }
    batch_t *b = NULL;
    if (s_pool.batches[c] > leave) {
        batch_t **cut = &s_pool.stock[c];
        for (uint64_t i = 0; i < leave; i++)
            cut = &(*cut)->next;
        b = *cut;
        *cut = NULL;
        s_pool.batches[c] = (uint32_t) leave;
    }
    pthread_mutex_unlock(&s_pool.lock);
    block_t *list = NULL;
    *n = 0;
    while (b) {
        batch_t *next = b->next;
        block_t *blk = (block_t *) b;
        blk->next = b->rest;
        while (blk) {
            block_t *following = blk->next;
            blk->next = list;
            list = blk;
            blk = following;
            (*n)++;
        }
        b = next;
    }
    return list;
}

/*  Takes class c's stock; every slab all of whose blocks are in it goes
    on *dead, the other blocks back into the stock. Returns the slabs
    listed. Caller holds s_sweep_lock. */
static size_t sweep_class(int c, unsigned keep, bool surplus_only, slab_t **dead)
{
    unsigned n;
    block_t *list = stock_take_all(c, keep, surplus_only, &n);
    if (!list)
        return 0;
    for (block_t *b = list; b; b = b->next)
        slab_of(b)->seen = 0;
    for (block_t *b = list; b; b = b->next)
        slab_of(b)->seen++;
    block_t *kept = NULL;
    unsigned nkept = 0;
    size_t listed = 0;
    for (block_t *b = list, *next; b; b = next) {
        next = b->next;
        slab_t *s = slab_of(b);
        if (s->seen == s->blocks) {
            s->seen = LISTED;
            s->next = *dead;
            *dead = s;
            listed++;
        } else if (s->seen != LISTED) {
            b->next = kept;
            kept = b;
            nkept++;
        }
    }
    if (kept)
        stock_put_list(c, kept, nkept);
    return listed;
}

static size_t sweep(unsigned keep_batches, bool surplus_only)
{
    slab_t *dead = NULL;
    size_t freed = 0;
    pthread_mutex_lock(&s_sweep_lock);
    for (int c = 0; c < CLASSES; c++)
        freed += sweep_class(c, keep_batches, surplus_only, &dead);
    /*  Unmapped only now: the walks above read blocks inside them. */
    while (dead) {
        slab_t *next = dead->next;
        munmap(dead, SLAB_BYTES);
        dead = next;
    }
    pthread_mutex_unlock(&s_sweep_lock);
    atomic_fetch_sub_explicit(&s_pool.slabs, freed, memory_order_relaxed);
    atomic_fetch_add_explicit(&s_pool.slabs_freed, freed, memory_order_relaxed);
    return freed;
}

size_t mt__pool_sweep(unsigned keep_batches)
{
    return sweep(keep_batches, false);
}

size_t mt__pool_sweep_idle(unsigned keep_batches)
{
    return sweep(keep_batches, true);
}

void mt__pool_stats(mt__pool_stats_t *out)
{
    out->slabs = atomic_load_explicit(&s_pool.slabs, memory_order_relaxed);
    out->slabs_freed = atomic_load_explicit(&s_pool.slabs_freed, memory_order_relaxed);
    out->slab_bytes = SLAB_BYTES;
}

#endif
