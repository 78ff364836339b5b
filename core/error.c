/*  error.c — one mt_strerror for every code of the project.

    Core knows its own codes (mt_err_t, below MT_ECOUNT_). A layer above
    that continues the error space (the service's MT_EBADREQ … ) registers
    the text of its range with mt_strerror_range, so mt_strerror knows every
    code while core includes nothing above it (nng's way: one error space,
    other layers' codes in ranges of their own). */
#include "internal.h"

#include <limits.h>

#define MT__ERR_RANGES_MAX 8

typedef struct {
    int first, count;
    const char *const *texts;
} err_range_t;

/*  Written under s_lock; a slot is filled before the release store that
    counts it and never changed after, so mt_strerror reads the first
    s_nranges slots (acquire) without the lock, from any thread. */
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static err_range_t s_ranges[MT__ERR_RANGES_MAX];
static atomic_int s_nranges;

int mt_strerror_range(int first, int count, const char *const *texts)
{
    if (first < MT_ECOUNT_ || count <= 0 || count > INT_MAX - first || !texts)
        return MT_EINVAL;
    for (int i = 0; i < count; i++)
        if (!texts[i] || !texts[i][0])
            return MT_EINVAL;
    int rc = MT_OK;
    pthread_mutex_lock(&s_lock);
    int n = atomic_load_explicit(&s_nranges, memory_order_relaxed);
    for (int i = 0; i < n; i++) {
        const err_range_t *r = &s_ranges[i];
        if (r->first == first && r->count == count && r->texts == texts)
            goto out;                   /* the same table again: nothing to do */
        if (first < r->first + r->count && r->first < first + count) {
            rc = MT_EEXIST;
            goto out;
        }
    }
    if (n == MT__ERR_RANGES_MAX) {
        rc = MT_ENOMEM;
        goto out;
    }
    s_ranges[n] = (err_range_t) { first, count, texts };
    atomic_store_explicit(&s_nranges, n + 1, memory_order_release);
out:
    pthread_mutex_unlock(&s_lock);
    return rc;
}

const char *mt_strerror(int err)
{
    switch (err) {
    case MT_OK: return "ok";
    case MT_ENOMEM: return "out of memory";
    case MT_EINVAL: return "invalid argument";
    case MT_ENOENT: return "no such entity";
    case MT_EEXIST: return "already exists";
    case MT_ETIMEDOUT: return "timed out";
    case MT_ECLOSED: return "actor or runtime stopped";
    case MT_ESYSTEM: return "system call failed";
    default: break;
    }
    int n = atomic_load_explicit(&s_nranges, memory_order_acquire);
    for (int i = 0; i < n; i++) {
        const err_range_t *r = &s_ranges[i];
        if (err >= r->first && err - r->first < r->count)
            return r->texts[err - r->first];
    }
    return "unknown error";
}
