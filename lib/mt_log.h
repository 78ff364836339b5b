/*  mt_log.h — the one logging path of every module.

    Every line goes through mt_log: below the level set with
    mt_log_configure it costs one relaxed atomic load and nothing is
    formatted. A line is written with one locked stdio call, so lines of
    different threads never interleave. Text is for people and journald
    (journald adds its own timestamp, we keep ours for plain files); JSON,
    one object per line, is for log shippers. Nothing here knows czmq: the
    store and the actors log without linking a transport. czmq's own rare
    messages (zsys) still go to stderr in czmq's format. */
#ifndef MT_LOG_H_INCLUDED
#define MT_LOG_H_INCLUDED

#include <stdbool.h>
#include <stdio.h>

typedef enum { MT_LOG_ERROR, MT_LOG_WARNING, MT_LOG_INFO, MT_LOG_DEBUG } mt_log_level_t;
typedef enum { MT_LOG_TEXT, MT_LOG_JSON } mt_log_format_t;

/*  Process-wide; call before threads start logging (later calls are safe
    but a line may use the old format). ident: the program's name, kept by
    pointer (a literal). Defaults: info, text, "metactor". */
void mt_log_configure(mt_log_level_t level, mt_log_format_t format, const char *ident);
/*  Where lines go: stderr unless set (tests capture the log). NULL: stderr. */
void mt_log_set_stream(FILE *stream);
bool mt_log_enabled(mt_log_level_t level);

void mt_log(mt_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define mt_log_error(...) mt_log(MT_LOG_ERROR, __VA_ARGS__)
#define mt_log_warning(...) mt_log(MT_LOG_WARNING, __VA_ARGS__)
#define mt_log_info(...) mt_log(MT_LOG_INFO, __VA_ARGS__)
#define mt_log_debug(...) mt_log(MT_LOG_DEBUG, __VA_ARGS__)

/*  "error", "warning", "info", "debug"; and back (false: unknown name). */
const char *mt_log_level_name(mt_log_level_t level);
bool mt_log_level_parse(const char *name, mt_log_level_t *level);
/*  "text", "json"; and back. */
const char *mt_log_format_name(mt_log_format_t format);
bool mt_log_format_parse(const char *name, mt_log_format_t *format);

#endif
