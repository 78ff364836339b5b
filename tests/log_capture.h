/*  log_capture.h — what a test's code under test logged (mt_log), for
    tests that check a message is there, once, or never. Call
    log_capture_start in the fixture's setup and log_capture_stop in its
    teardown; one capture per test process. */
#ifndef MT_TEST_LOG_CAPTURE_H_INCLUDED
#define MT_TEST_LOG_CAPTURE_H_INCLUDED

#include "mt_log.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *s_log_capture;

static inline void log_capture_start(void)
{
    s_log_capture = tmpfile();
    ck_assert_ptr_nonnull(s_log_capture);
    mt_log_set_stream(s_log_capture);
}

static inline void log_capture_stop(void)
{
    mt_log_set_stream(NULL);
    fclose(s_log_capture);
    s_log_capture = NULL;
}

/*  Everything logged so far (caller frees). */
static inline char *log_capture_text(void)
{
    fflush(s_log_capture);
    long n = ftell(s_log_capture);
    char *text = calloc(1, (size_t) n + 1);
    ck_assert_ptr_nonnull(text);
    rewind(s_log_capture);
    ck_assert_uint_eq(fread(text, 1, (size_t) n, s_log_capture), (size_t) n);
    fseek(s_log_capture, 0, SEEK_END);
    return text;
}

/*  How many times needle occurs in hay (without overlaps). */
static inline unsigned log_capture_count_in(const char *hay, const char *needle)
{
    unsigned n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/*  How many times needle was logged so far. */
static inline unsigned log_capture_count(const char *needle)
{
    char *text = log_capture_text();
    unsigned n = log_capture_count_in(text, needle);
    free(text);
    return n;
}

#endif
