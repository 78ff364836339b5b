/*  test_hash.c — FNV-1a (mt_hash.h) gives the published test vectors, and
    a versions map's digest is the one replicas have always stored
    (versions_hash is compared across replicas and kept in the database:
    it must never change). */
#include "mt_check.h"
#include "mt_hash.h"
#include "mt_model.h"

#include <check.h>

START_TEST(fnv1a_vectors)
{
    ck_assert_uint_eq(mt_fnv1a64(MT_FNV1A64_INIT, "", 0), 0xcbf29ce484222325ull);
    ck_assert_uint_eq(mt_fnv1a64(MT_FNV1A64_INIT, "a", 1), 0xaf63dc4c8601ec8cull);
    ck_assert_uint_eq(mt_fnv1a64(MT_FNV1A64_INIT, "foobar", 6), 0x85944171f73967e8ull);
    ck_assert_uint_eq(mt_fnv1a32(MT_FNV1A32_INIT, "a", 1), 0xe40c292cu);
    ck_assert_uint_eq(mt_fnv1a32(MT_FNV1A32_INIT, "foobar", 6), 0xbf9cf968u);
    /*  Continuing a hash is hashing the concatenation. */
    ck_assert_uint_eq(mt_fnv1a64(mt_fnv1a64(MT_FNV1A64_INIT, "foo", 3), "bar", 3),
                      0x85944171f73967e8ull);
}
END_TEST

START_TEST(versions_hash_is_stable)
{
    mt_str_pair_t v[] = { { "kubelet", "1.28" }, { "runtime", "2.0" } };
    char out[17];
    mt_versions_hash(v, 2, out);
    ck_assert_str_eq(out, "8e2d15cd11f0dba6");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hash");
    TCase *tc = tcase_create("hash");
    tcase_add_test(tc, fnv1a_vectors);
    tcase_add_test(tc, versions_hash_is_stable);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
