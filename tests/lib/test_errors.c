/*  test_errors.c — one mt_strerror for every code: core's and the
    service's (mt_err.h, registered by lib/err.c before main in every
    program that links metactor-lib — this one calls nothing of err.c
    before the first check), each with its own text;
    mt_err_code maps each to its PROTOCOL.md code. */
#include "mt_check.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mt_err.h"

START_TEST(every_code_has_a_text)
{
    for (int e = MT_OK; e < MT_EMODEL_END_; e++) {
        const char *s = mt_strerror(e);
        ck_assert_ptr_nonnull(s);
        ck_assert_msg(s[0] != '\0', "code %d: empty text", e);
        ck_assert_msg(strcmp(s, "unknown error") != 0, "code %d has no text", e);
        for (int f = MT_OK; f < e; f++)
            ck_assert_msg(strcmp(s, mt_strerror(f)) != 0,
                          "codes %d and %d share the text \"%s\"", f, e, s);
    }
    ck_assert_str_eq(mt_strerror(MT_EMODEL_END_), "unknown error");
    ck_assert_str_eq(mt_strerror(-1), "unknown error");
    ck_assert_str_eq(mt_strerror(MT_ENOTFOUND), "not found");
}
END_TEST

/*  Every service code has a protocol code of its own; only MT_EINTERNAL
    (and core's codes without a mapping) are "internal". */
START_TEST(every_service_code_has_a_protocol_code)
{
    for (int e = MT_ECOUNT_; e < MT_EMODEL_END_; e++) {
        const char *c = mt_err_code(e);
        ck_assert_ptr_nonnull(c);
        if (e != MT_EINTERNAL)
            ck_assert_msg(strcmp(c, "internal") != 0, "code %d (%s) maps to internal",
                          e, mt_strerror(e));
        for (int f = MT_ECOUNT_; f < e; f++)
            ck_assert_str_ne(c, mt_err_code(f));
    }
}
END_TEST

/*  The range is the model's: nobody else may take it. */
START_TEST(service_range_is_taken)
{
    static const char *const other[] = { "other" };
    ck_assert_int_eq(mt_strerror_range(MT_ENOTFOUND, 1, other), MT_EEXIST);
    ck_assert_str_eq(mt_strerror(MT_ENOTFOUND), "not found");
}
END_TEST

int main(void)
{
    Suite *su = suite_create("errors");
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, every_code_has_a_text);
    tcase_add_test(tc, every_service_code_has_a_protocol_code);
    tcase_add_test(tc, service_range_is_taken);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
