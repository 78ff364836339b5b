/*  mt_check.h — how every Check test program ends: run the suite (in
    Check's fork mode unless CK_FORK=no; verbosity from CK_VERBOSITY) and
    turn the failures into the exit status CTest reads. */
#ifndef MT_CHECK_H_INCLUDED
#define MT_CHECK_H_INCLUDED

#include <check.h>
#include <stdlib.h>

static inline int mt_check_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
