/*  log.c — the one logging path (mt_log.h). */
#include "mt_log.h"
#include "mt_utf8.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/*  A line longer than this is cut: a log line is not a transport, and a
    fixed buffer keeps logging free of allocation (it runs on out-of-memory
    paths too). */
#define LINE_MAX_ 2048

static _Atomic int s_level = MT_LOG_INFO;
static _Atomic int s_format = MT_LOG_TEXT;
static const char *_Atomic s_ident = "metactor";
static FILE *_Atomic s_stream;

static const char *const s_level_names[] = { "error", "warning", "info", "debug" };
static const char *const s_format_names[] = { "text", "json" };

void mt_log_configure(mt_log_level_t level, mt_log_format_t format, const char *ident)
{
    atomic_store_explicit(&s_level, (int) level, memory_order_relaxed);
    atomic_store_explicit(&s_format, (int) format, memory_order_relaxed);
    if (ident)
        atomic_store_explicit(&s_ident, ident, memory_order_relaxed);
}

void mt_log_set_stream(FILE *stream)
{
    atomic_store_explicit(&s_stream, stream, memory_order_relaxed);
}

bool mt_log_enabled(mt_log_level_t level)
{
    return (int) level <= atomic_load_explicit(&s_level, memory_order_relaxed);
}

const char *mt_log_level_name(mt_log_level_t level)
{
    return (unsigned) level < 4 ? s_level_names[level] : "?";
}

bool mt_log_level_parse(const char *name, mt_log_level_t *level)
{
    for (int k = 0; k < 4; k++)
        if (name && strcmp(name, s_level_names[k]) == 0) {
            *level = (mt_log_level_t) k;
            return true;
        }
    return false;
}

const char *mt_log_format_name(mt_log_format_t format)
{
    return (unsigned) format < 2 ? s_format_names[format] : "?";
}

bool mt_log_format_parse(const char *name, mt_log_format_t *format)
{
    for (int k = 0; k < 2; k++)
        if (name && strcmp(name, s_format_names[k]) == 0) {
            *format = (mt_log_format_t) k;
            return true;
        }
    return false;
}

/*  2026-12-04T21:50:18.123Z: UTC, so replicas' lines sort together. */
static void timestamp(char out[32])
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int) (tv.tv_usec / 1000));
}

/*  s as the inside of a JSON string: quotes, backslashes and control
    characters escaped, a byte that starts no valid UTF-8 sequence as
    U+FFFD (messages quote what clients and rows sent: a log shipper must
    still parse the line). */
static void json_escape(char *out, size_t cap, const char *in)
{
    const unsigned char *s = (const unsigned char *) in;
    size_t n = 0;
    while (*s && n + 8 < cap) {
        size_t u;
        if (*s == '"' || *s == '\\') {
            out[n++] = '\\';
            out[n++] = (char) *s++;
        } else if (*s < 0x20) {
            n += (size_t) snprintf(out + n, cap - n, "\\u%04x", *s++);
        } else if (*s < 0x80) {
            out[n++] = (char) *s++;
        } else if ((u = mt_utf8_seq(s, strnlen((const char *) s, 4), NULL)) != 0) {
            memcpy(out + n, s, u);
            n += u;
            s += u;
        } else {
            n += (size_t) snprintf(out + n, cap - n, "\\ufffd");
            s++;
        }
    }
    out[n] = '\0';
}

static void emit(mt_log_level_t level, const char *msg)
{
    char ts[32], line[2 * LINE_MAX_ + 160];
    timestamp(ts);
    const char *ident = atomic_load_explicit(&s_ident, memory_order_relaxed);
    if (atomic_load_explicit(&s_format, memory_order_relaxed) == MT_LOG_JSON) {
        char esc[2 * LINE_MAX_];
        json_escape(esc, sizeof esc, msg);
        snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"ident\":\"%s\",\"msg\":\"%s\"}\n",
                 ts, mt_log_level_name(level), ident, esc);
    } else {
        snprintf(line, sizeof line, "%s %s %s: %s\n", ts, mt_log_level_name(level), ident, msg);
    }
    FILE *f = atomic_load_explicit(&s_stream, memory_order_relaxed);
    if (!f)
        f = stderr;
    flockfile(f);
    fputs_unlocked(line, f);
    fflush_unlocked(f);
    funlockfile(f);
}

void mt_log(mt_log_level_t level, const char *fmt, ...)
{
    if (!mt_log_enabled(level))
        return;
    char msg[LINE_MAX_];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(level, msg);
}
