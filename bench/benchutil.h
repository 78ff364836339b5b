/*  benchutil.h — what the benchmark programs share: clocks, the figure
    line, integer settings from the environment, percentiles. */
#ifndef MT_BENCHUTIL_H_INCLUDED
#define MT_BENCHUTIL_H_INCLUDED

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void emit(const char *bench, double value, const char *unit)
{
    printf("bench=%s value=%.3f unit=%s\n", bench, value, unit);
    fflush(stdout);
}

static inline long env_long(const char *name, long def, long lo, long hi)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) {
        fprintf(stderr, "# %s: expected an integer %ld-%ld, got '%s'\n", name, lo, hi, s);
        exit(2);
    }
    return v;
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

/*  Nearest rank on a sorted array. */
static inline double pct(const double *sorted, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t) (q * (double) n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

#endif
