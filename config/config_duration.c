/*  config_duration.c — durations as operators write them elsewhere
    (systemd, Prometheus, Kubernetes): a whole number and a unit, ms, s, m
    or h; a bare number stays milliseconds, as the settings always took.
    No fractions and no compound forms ("1m30s"): one number, one unit,
    so that a value means one thing to every reader. */
#include "config_internal.h"

#include "mt_core.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *unit; long long ms; } units[] = {
    { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
};

int mt_config_duration_ms(const char *text, long long *out)
{
    const char *p = text;
    if (!isdigit((unsigned char) *p))
        return MT_EINVAL;
    while (isdigit((unsigned char) *p))
        p++;
    long long mult = 0;
    if (*p == '\0')
        mult = 1;
    for (size_t i = 0; i < sizeof units / sizeof units[0] && !mult; i++)
        if (strcmp(p, units[i].unit) == 0)
            mult = units[i].ms;
    if (!mult)
        return MT_EINVAL;
    errno = 0;
    long long v = strtoll(text, NULL, 10);
    /*  Too large for any setting: saturate, and the range check says so. */
    *out = errno == ERANGE || v > LLONG_MAX / mult ? LLONG_MAX : v * mult;
    return MT_OK;
}

/*  In the largest unit that divides it: 5000 → "5s". */
static void show_ms(long long ms, char *out, size_t n)
{
    for (int i = (int) (sizeof units / sizeof units[0]) - 1; i >= 0; i--)
        if (ms % units[i].ms == 0 && (ms || i == 0)) {
            snprintf(out, n, "%lld%s", ms / units[i].ms, units[i].unit);
            return;
        }
}

const char *mt__config_show_ms(long long ms)
{
    static __thread char text[32];      /* usage text is built once, on one thread */
    show_ms(ms, text, sizeof text);
    return text;
}

int mt__config_duration(const char *w, const char *text, long long min, long long max,
                        long long *out, char *err, size_t errlen)
{
    char lo[32], hi[32];
    show_ms(min, lo, sizeof lo);
    show_ms(max, hi, sizeof hi);
    long long v = 0;
    int rc = mt_config_duration_ms(text, &v);
    if (rc != MT_OK)
        return mt__config_fail(err, errlen, "%s: '%s' is not a duration (a whole number with ms,"
                               " s, m or h, e.g. 500ms, 2s, 5m, 1h; alone: milliseconds)",
                               w, text);
    if (v < min || v > max)
        return mt__config_fail(err, errlen, "%s: %s is out of range (%s-%s)", w, text, lo, hi);
    *out = v;
    return MT_OK;
}
