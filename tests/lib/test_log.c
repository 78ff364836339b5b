/*  test_log.c — the one logging path (mt_log.h): what a level lets
    through, the text and JSON line shapes, hostile bytes in a message
    (the JSON line must still parse), and lines of many threads that never
    interleave. The log is captured with mt_log_set_stream. */
#include "mt_check.h"
#include "log_capture.h"
#include "mt_utf8.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    log_capture_start();
}

static void teardown(void)
{
    mt_log_configure(MT_LOG_INFO, MT_LOG_TEXT, "metactor");
    log_capture_stop();
}

static unsigned lines(const char *text)
{
    unsigned n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

START_TEST(level_filters_and_text_shape)
{
    mt_log_configure(MT_LOG_WARNING, MT_LOG_TEXT, "tester");
    ck_assert(mt_log_enabled(MT_LOG_ERROR));
    ck_assert(!mt_log_enabled(MT_LOG_INFO));
    mt_log_info("not %s", "shown");
    mt_log_debug("not shown either");
    mt_log_warning("store[%d]: database unavailable", 3);
    mt_log_error("bus: cannot bind");
    char *text = log_capture_text();
    ck_assert_uint_eq(lines(text), 2);
    ck_assert_ptr_null(strstr(text, "shown"));
    /* 2026-12-04T21:50:18.123Z warning tester: store[3]: database unavailable */
    ck_assert_msg(strstr(text, "Z warning tester: store[3]: database unavailable\n"), "%s", text);
    ck_assert_msg(strstr(text, "Z error tester: bus: cannot bind\n"), "%s", text);
    ck_assert(text[4] == '-' && text[10] == 'T' && text[19] == '.');
    free(text);
}
END_TEST

/*  A message quoting what a client or a row sent: quotes, backslashes,
    control characters, a bare continuation byte, a truncated sequence,
    valid multi-byte text. The line stays one line of valid UTF-8, with
    every special character escaped. */
START_TEST(json_lines_escape_hostile_bytes)
{
    mt_log_configure(MT_LOG_DEBUG, MT_LOG_JSON, "metactord");
    mt_log_debug("id \"a\\b\"\n\t\x01 \x80 \xe2\x82 é ok");
    char *text = log_capture_text();
    ck_assert_uint_eq(lines(text), 1);
    ck_assert(mt_utf8_valid(text, strlen(text)));
    ck_assert_msg(strncmp(text, "{\"ts\":\"", 7) == 0, "%s", text);
    ck_assert_msg(strstr(text, "\"level\":\"debug\",\"ident\":\"metactord\","
                               "\"msg\":\"id \\\"a\\\\b\\\"\\u000a\\u0009\\u0001 \\ufffd "
                               "\\ufffd\\ufffd é ok\"}\n"), "%s", text);
    free(text);
}
END_TEST

START_TEST(names_parse_both_ways)
{
    mt_log_level_t l;
    mt_log_format_t f;
    for (int k = MT_LOG_ERROR; k <= MT_LOG_DEBUG; k++) {
        ck_assert(mt_log_level_parse(mt_log_level_name((mt_log_level_t) k), &l));
        ck_assert_int_eq(l, k);
    }
    ck_assert(mt_log_format_parse("json", &f) && f == MT_LOG_JSON);
    ck_assert(mt_log_format_parse("text", &f) && f == MT_LOG_TEXT);
    ck_assert(!mt_log_level_parse("verbose", &l));
    ck_assert(!mt_log_level_parse(NULL, &l));
    ck_assert(!mt_log_format_parse("JSON", &f));
}
END_TEST

/*  A message longer than a line's buffer is cut, never overruns. */
START_TEST(long_message_is_cut)
{
    size_t n = 100000;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    mt_log_configure(MT_LOG_INFO, MT_LOG_JSON, "t");
    mt_log_info("%s", big);
    char *text = log_capture_text();
    ck_assert_uint_eq(lines(text), 1);
    ck_assert(strlen(text) < 8192);
    ck_assert(strstr(text, "\"}\n"));
    free(text);
    free(big);
}
END_TEST

#define THREADS 8
#define PER_THREAD 500

static void *writer(void *arg)
{
    for (int i = 0; i < PER_THREAD; i++)
        mt_log_info("thread %d line %d %s", (int) (intptr_t) arg, i,
                    "................................................................");
    return NULL;
}

START_TEST(threads_never_interleave)
{
    mt_log_configure(MT_LOG_INFO, MT_LOG_TEXT, "t");
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, writer, (void *) (intptr_t) t);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    char *text = log_capture_text();
    ck_assert_uint_eq(lines(text), THREADS * PER_THREAD);
    unsigned whole = 0;
    for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
        int t, i;
        char dots[80];
        const char *m = strstr(l, " info t: ");
        ck_assert_msg(m, "broken line: %s", l);
        ck_assert_int_eq(sscanf(m, " info t: thread %d line %d %79s", &t, &i, dots), 3);
        ck_assert_uint_eq(strlen(dots), 64);
        whole++;
    }
    ck_assert_uint_eq(whole, THREADS * PER_THREAD);
    free(text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, level_filters_and_text_shape);
    tcase_add_test(tc, json_lines_escape_hostile_bytes);
    tcase_add_test(tc, names_parse_both_ways);
    tcase_add_test(tc, long_message_is_cut);
    tcase_add_test(tc, threads_never_interleave);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
