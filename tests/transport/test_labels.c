/*  test_labels.c — label syntax (mt_labels.h): a table of keys and values,
    each valid or refused with its message; maps (count, field prefix);
    the quoting of keys in messages. The same rules through the wire are in
    test_codec_request.c. */
#include "mt_check.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mt_labels.h"

typedef struct {
    const char *key;
    const char *value;      /* NULL: the key alone (mt_label_key_check) */
    const char *err;        /* NULL: valid; else the whole message */
} label_case_t;

#define NAME_CHARS "the name may hold letters, digits, '-', '_' and '.' only"
#define NAME_ENDS "the name must begin and end with a letter or digit"
#define PREFIX_PARTS "each '.'-separated part of the prefix must begin and end with a" \
    " lowercase letter or digit"
#define PREFIX_CHARS "the prefix may hold lowercase letters, digits, '-' and '.' only"

static const label_case_t cases[] = {
    /* valid keys, as tests and the demo use them, and the edges */
    { "zone", "eu-1", NULL },
    { "gpu", "a100", NULL },
    { "metactor.io/scheduling-disabled", "true", NULL },
    { "a", "", NULL },
    { "A", "Z", NULL },
    { "0", "9", NULL },
    { "a.b_c-D", "x.y_z-9", NULL },
    { "k8s.io/a", NULL, NULL },
    { "a-b.c-d/X_y", NULL, NULL },
    { "0/x", NULL, NULL },
    { "x.y/a.b", NULL, NULL },
    /* the examples */
    { "a b", NULL, "label 'a b': " NAME_CHARS },
    { "k\x01", NULL, "label 'k\\x01': " NAME_CHARS },
    { "-lead", NULL, "label '-lead': " NAME_ENDS },
    { "x/", NULL, "label 'x/': the name after '/' must not be empty" },
    { "\xc3\xa9", NULL, "label '\\xc3\\xa9': " NAME_CHARS },
    /* keys */
    { "", NULL, "label '': the key must not be empty" },
    { "lead-", NULL, "label 'lead-': " NAME_ENDS },
    { "_a", NULL, "label '_a': " NAME_ENDS },
    { "a.", NULL, "label 'a.': " NAME_ENDS },
    { "a:b", NULL, "label 'a:b': " NAME_CHARS },
    { "a=b", NULL, "label 'a=b': " NAME_CHARS },
    { "a'b", NULL, "label 'a\\x27b': " NAME_CHARS },
    { "a\\b", NULL, "label 'a\\x5cb': " NAME_CHARS },
    { "/x", NULL, "label '/x': the prefix before '/' must not be empty" },
    { "/", NULL, "label '/': the prefix before '/' must not be empty" },
    { "a/b/c", NULL, "label 'a/b/c': at most one '/', between the prefix and the name" },
    { "Example.com/x", NULL, "label 'Example.com/x': " PREFIX_CHARS },
    { "a_b/x", NULL, "label 'a_b/x': " PREFIX_CHARS },
    { "a b/x", NULL, "label 'a b/x': " PREFIX_CHARS },
    { "-a.io/x", NULL, "label '-a.io/x': " PREFIX_PARTS },
    { "a-.io/x", NULL, "label 'a-.io/x': " PREFIX_PARTS },
    { "a..io/x", NULL, "label 'a..io/x': " PREFIX_PARTS },
    { ".a/x", NULL, "label '.a/x': " PREFIX_PARTS },
    { "a./x", NULL, "label 'a./x': " PREFIX_PARTS },
    { "a.io/-x", NULL, "label 'a.io/-x': " NAME_ENDS },
    { "a.io/x y", NULL, "label 'a.io/x y': " NAME_CHARS },
    /* values */
    { "k", "-x", "label 'k': the value must begin and end with a letter or digit" },
    { "k", "x.", "label 'k': the value must begin and end with a letter or digit" },
    { "k", "a b", "label 'k': the value may hold letters, digits, '-', '_' and '.' only" },
    { "k", "a/b", "label 'k': the value may hold letters, digits, '-', '_' and '.' only" },
    { "k", "\xc3\xa9", "label 'k': the value may hold letters, digits, '-', '_' and '.' only" },
    { "k", "x\n", "label 'k': the value may hold letters, digits, '-', '_' and '.' only" },
    /* a bad key is named before its value is looked at */
    { "a b", "-x", "label 'a b': " NAME_CHARS },
};

START_TEST(table)
{
    const label_case_t *c = &cases[_i];
    char err[200] = "";
    int rc = c->value ? mt_label_check(c->key, c->value, err, sizeof err)
                      : mt_label_key_check(c->key, err, sizeof err);
    if (!c->err) {
        ck_assert_msg(rc == MT_OK, "case %d (%s): %s", _i, c->key, err);
        return;
    }
    ck_assert_msg(rc == MT_EBADREQ, "case %d (%s): accepted", _i, c->key);
    ck_assert_msg(strcmp(err, c->err) == 0, "case %d: got \"%s\"\n  wanted \"%s\"", _i, err,
                  c->err);
}
END_TEST

/*  n copies of ch, in a new string. */
static char *run(char ch, size_t n)
{
    char *s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

START_TEST(lengths)
{
    char err[200], key[400];
    /* name 63 ok, 64 not; value the same */
    char *n63 = run('n', 63), *n64 = run('n', 64);
    ck_assert_int_eq(mt_label_key_check(n63, err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_label_key_check(n64, err, sizeof err), MT_EBADREQ);
    ck_assert_ptr_nonnull(strstr(err, "the name is at most 63 characters"));
    ck_assert_int_eq(mt_label_check("k", n63, err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_label_check("k", n64, err, sizeof err), MT_EBADREQ);
    ck_assert_str_eq(err, "label 'k': the value is at most 63 characters");

    /* prefix 253 ok (parts of 63 and fewer), 254 not: the longest key is 317 */
    char *p = run('p', 253);
    for (int i = 63; i < 253; i += 64)
        p[i] = '.';
    snprintf(key, sizeof key, "%s/%s", p, n63);
    ck_assert_uint_eq(strlen(key), MT_LABEL_KEY_MAX);
    ck_assert_msg(mt_label_key_check(key, err, sizeof err) == MT_OK, "%s", err);
    snprintf(key, sizeof key, "p%s/%s", p, n63);
    ck_assert_int_eq(mt_label_key_check(key, err, sizeof err), MT_EBADREQ);
    ck_assert_ptr_nonnull(strstr(err, "the prefix is at most 253 characters"));
    /* a long key is cut in the message, which stays short and ASCII */
    ck_assert_uint_lt(strlen(err), 160);
    ck_assert_ptr_nonnull(strstr(err, "...':"));
    free(p);
    free(n63);
    free(n64);
}
END_TEST

START_TEST(maps)
{
    char err[200];
    mt_str_pair_t ok[] = { { "zone", "eu-1" }, { "gpu", "a100" },
                           { "metactor.io/scheduling-disabled", "true" } };
    ck_assert_int_eq(mt_labels_check("labels", ok, 3, err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_labels_check("labels", NULL, 0, err, sizeof err), MT_OK);

    mt_str_pair_t bad[] = { { "zone", "eu-1" }, { "gpu", "a 100" } };
    ck_assert_int_eq(mt_labels_check("set", bad, 2, err, sizeof err), MT_EBADREQ);
    ck_assert_str_eq(err, "set: label 'gpu': the value may hold letters, digits, '-', '_' and"
                          " '.' only");
    bad[1] = (mt_str_pair_t) { "x/", "" };
    ck_assert_int_eq(mt_labels_check("selector", bad, 2, err, sizeof err), MT_EBADREQ);
    ck_assert_str_eq(err, "selector: label 'x/': the name after '/' must not be empty");

    /* 256 entries, not 257 */
    enum { N = MT_MAP_MAX + 1 };
    mt_str_pair_t *many = calloc(N, sizeof *many);
    char (*keys)[8] = calloc(N, sizeof *keys);
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        many[i] = (mt_str_pair_t) { keys[i], "v" };
    }
    ck_assert_int_eq(mt_labels_check("labels", many, N - 1, err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_labels_check("labels", many, N, err, sizeof err), MT_EBADREQ);
    ck_assert_str_eq(err, "labels: at most 256 entries");
    free(many);
    free(keys);
}
END_TEST

START_TEST(quote)
{
    char out[16];
    mt_label_quote("abc", out, sizeof out);
    ck_assert_str_eq(out, "abc");
    mt_label_quote("a\x01\xc3\xa9'", out, sizeof out);
    ck_assert_str_eq(out, "a\\x01\\xc3...");
    mt_label_quote("0123456789abcdef", out, sizeof out);
    ck_assert_str_eq(out, "0123456789ab...");
    mt_label_quote("0123456789abcde", out, sizeof out);
    ck_assert_str_eq(out, "0123456789abcde");
    char small[8];
    mt_label_quote("\x01\x02\x03", small, sizeof small);
    ck_assert_str_eq(small, "\\x01...");
}
END_TEST

int main(void)
{
    Suite *su = suite_create("labels");
    TCase *tc = tcase_create("labels");
    tcase_add_loop_test(tc, table, 0, (int) (sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, lengths);
    tcase_add_test(tc, maps);
    tcase_add_test(tc, quote);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
