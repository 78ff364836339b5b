/*  benchutil.h — what every benchmark program shares: clocks and sleeps,
    the figure line and '#' diagnostics, integer settings from the
    environment, percentiles, CPU time and memory from /proc, DSNs.
    Header-only (static inline): each program takes what it needs without a
    library to link. */
#ifndef MT_BENCHUTIL_H_INCLUDED
#define MT_BENCHUTIL_H_INCLUDED

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

/* ------------------------------------------------------------- clocks -- */

static inline int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static inline int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  Sleeps the whole time, signals or not. */
static inline void sleep_us(int64_t us)
{
    if (us <= 0)
        return;
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static inline void sleep_ms(int64_t ms)
{
    sleep_us(ms * 1000);
}

/* ------------------------------------------------------------ output -- */

static inline void emit(const char *bench, double value, const char *unit)
{
    printf("bench=%s value=%.3f unit=%s\n", bench, value, unit);
    fflush(stdout);
}

/*  A diagnostic line: "# " and the message on stderr. */
static inline void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/*  "# FAILED: WHO: message" (who NULL: "# FAILED: message") on stderr:
    the first line of every program's die. */
static inline void vfail(const char *who, const char *fmt, va_list ap)
{
    fputs("# FAILED: ", stderr);
    if (who)
        fprintf(stderr, "%s: ", who);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

/* ---------------------------------------------------------- settings -- */

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

/*  base with its database part replaced by db (the query kept); false if
    base has no database part or out is too small. */
static inline bool dsn_with_db(char *out, size_t cap, const char *base, const char *db)
{
    const char *auth = strstr(base, "://");
    const char *slash = auth ? strchr(auth + 3, '/') : NULL;
    if (!slash)
        return false;
    const char *q = strchr(slash, '?');
    int n = snprintf(out, cap, "%.*s/%s%s", (int) (slash - base), base, db, q ? q : "");
    return n >= 0 && (size_t) n < cap;
}

/* ------------------------------------------------------- percentiles -- */

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

/* -------------------------------------------------------------- /proc -- */

/*  User + system clock ticks of process pid (0: this one); 0 if gone. */
static inline unsigned long long proc_ticks(pid_t pid)
{
    char path[64], buf[1024];
    if (pid > 0)
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    else
        snprintf(path, sizeof path, "/proc/self/stat");
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');        /* comm may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu", &ut, &st) != 2)
        return 0;
    return ut + st;
}

/*  The machine's ticks from /proc/stat's "cpu" line: user, nice, system,
    idle, iowait, irq, softirq, steal (all 0 if unreadable). */
static inline void machine_ticks(unsigned long long v[8])
{
    memset(v, 0, 8 * sizeof v[0]);
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]) != 8)
        memset(v, 0, 8 * sizeof v[0]);
    fclose(f);
}

/*  Busy ticks of the whole machine (user, nice, system, irq, softirq). */
static inline unsigned long long machine_busy(const unsigned long long v[8])
{
    return v[0] + v[1] + v[2] + v[5] + v[6];
}

/*  The database server's pid (MT_BENCH_SERVER_PID, set by scripts/bench),
    0 if unknown: its CPU time is shown apart from ours. */
static inline pid_t server_pid(void)
{
    const char *s = getenv("MT_BENCH_SERVER_PID");
    return s && *s ? (pid_t) atoi(s) : 0;
}

/*  Resident bytes of process pid (VmRSS; 0: this one), -1 if unreadable
    (gone). */
static inline long proc_rss_bytes(pid_t pid)
{
    char path[64];
    if (pid > 0)
        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    else
        snprintf(path, sizeof path, "/proc/self/status");
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/*  Resident bytes of this process, -1 if unreadable. */
static inline long rss_bytes(void)
{
    return proc_rss_bytes(0);
}

#endif
