/*  harness_suite.c — the Check suite of a test program: every program's
    test cases have the same fixture tear-down and a timeout, and every
    program runs the same way (see harness.h). */
#include "harness.h"
#include "mt_check.h"

#include <stdlib.h>
#include <string.h>

/*  MT_TEST_ONLY=NAME[,NAME...]: only those tests (by hand, to repeat one). */
static bool selected(const char *name)
{
    const char *only = getenv("MT_TEST_ONLY");
    if (!only || !*only)
        return true;
    size_t n = strlen(name);
    for (const char *p = only; (p = strstr(p, name)) != NULL; p += n)
        if ((p == only || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return true;
    return false;
}

TCase *h_tcase(Suite *s, const char *name, void (*setup)(void), int timeout_s, ...)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, h_teardown);
    tcase_set_timeout(tc, timeout_s);
    va_list ap;
    va_start(ap, timeout_s);
    const TTest *t;
    while ((t = va_arg(ap, const TTest *)) != NULL)
        if (selected(t->name))
            tcase_add_test(tc, t);
    va_end(ap);
    suite_add_tcase(s, tc);
    return tc;
}

int h_run(Suite *s)
{
    return mt_check_run(s);
}
