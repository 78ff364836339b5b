/*  labels.c — label syntax (mt_labels.h): Kubernetes' qualified names
    (IsQualifiedName) for keys and IsValidLabelValue for values, written as
    plain loops rather than regular expressions so that each failure can
    say what is wrong. */
#include "mt_labels.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool alnum(char c)
{
    return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/*  One byte of a key as a message shows it; returns its length. */
static int quote_byte(unsigned char b, char out[5])
{
    return b >= 0x20 && b < 0x7f && b != '\'' && b != '\\' ? snprintf(out, 5, "%c", b)
                                                           : snprintf(out, 5, "\\x%02x", b);
}

void mt_label_quote(const char *key, char *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *) key;
    char one[5];
    size_t whole = 0;
    for (size_t i = 0; p[i]; i++)
        whole += (size_t) quote_byte(p[i], one);
    size_t o = 0;
    for (; *p; p++) {
        int k = quote_byte(*p, one);
        /*  Cut: keep room for "..." after this byte. */
        if (whole + 1 > outlen && o + (size_t) k + 3 + 1 > outlen) {
            snprintf(out + o, outlen - o, "...");
            return;
        }
        memcpy(out + o, one, (size_t) k);
        o += (size_t) k;
    }
    out[o] = '\0';
}

static int fail(char *err, size_t errlen, const char *field, const char *key,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail(char *err, size_t errlen, const char *field, const char *key,
                const char *fmt, ...)
{
    char quoted[72], what[120];
    mt_label_quote(key, quoted, sizeof quoted);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (err && errlen)
        snprintf(err, errlen, "%s%slabel '%s': %s", field ? field : "", field ? ": " : "",
                 quoted, what);
    return MT_EBADREQ;
}

/*  A name or a non-empty value: NULL if s[0..n) follows the rule, else
    what is wrong with `what` ("name", "value"). */
static const char *name_problem(const char *s, size_t n, const char *what, char *buf,
                                size_t buflen)
{
    if (n > MT_LABEL_NAME_MAX) {
        snprintf(buf, buflen, "the %s is at most %d characters", what, MT_LABEL_NAME_MAX);
        return buf;
    }
    for (size_t i = 0; i < n; i++) {
        if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') {
            snprintf(buf, buflen, "the %s may hold letters, digits, '-', '_' and '.' only", what);
            return buf;
        }
    }
    if (!alnum(s[0]) || !alnum(s[n - 1])) {
        snprintf(buf, buflen, "the %s must begin and end with a letter or digit", what);
        return buf;
    }
    return NULL;
}

/*  A DNS subdomain (IsDNS1123Subdomain): NULL or what is wrong. */
static const char *prefix_problem(const char *s, size_t n)
{
    if (n == 0)
        return "the prefix before '/' must not be empty";
    if (n > MT_LABEL_PREFIX_MAX)
        return "the prefix is at most 253 characters";
    for (size_t i = 0; i < n; i++)
        if (!lower_alnum(s[i]) && s[i] != '-' && s[i] != '.')
            return "the prefix may hold lowercase letters, digits, '-' and '.' only";
    /*  Every '.'-separated part: non-empty, alphanumeric at both ends. */
    for (size_t start = 0; start <= n;) {
        const char *dot = memchr(s + start, '.', n - start);
        size_t end = dot ? (size_t) (dot - s) : n;
        if (end == start || !lower_alnum(s[start]) || !lower_alnum(s[end - 1]))
            return "each '.'-separated part of the prefix must begin and end with a"
                   " lowercase letter or digit";
        start = end + 1;
    }
    return NULL;
}

static int key_check(const char *field, const char *key, char *err, size_t errlen)
{
    size_t n = strlen(key);
    if (n == 0)
        return fail(err, errlen, field, key, "the key must not be empty");
    const char *slash = memchr(key, '/', n);
    const char *name = key;
    if (slash) {
        if (memchr(slash + 1, '/', n - (size_t) (slash + 1 - key)))
            return fail(err, errlen, field, key,
                        "at most one '/', between the prefix and the name");
        const char *why = prefix_problem(key, (size_t) (slash - key));
        if (why)
            return fail(err, errlen, field, key, "%s", why);
        name = slash + 1;
        if (!*name)
            return fail(err, errlen, field, key, "the name after '/' must not be empty");
    }
    char buf[96];
    const char *why = name_problem(name, strlen(name), "name", buf, sizeof buf);
    return why ? fail(err, errlen, field, key, "%s", why) : MT_OK;
}

static int value_check(const char *field, const char *key, const char *value, char *err,
                       size_t errlen)
{
    size_t n = value ? strlen(value) : 0;
    if (n == 0)
        return MT_OK;
    char buf[96];
    const char *why = name_problem(value, n, "value", buf, sizeof buf);
    return why ? fail(err, errlen, field, key, "%s", why) : MT_OK;
}

int mt_label_key_check(const char *key, char *err, size_t errlen)
{
    return key_check(NULL, key ? key : "", err, errlen);
}

int mt_label_check(const char *key, const char *value, char *err, size_t errlen)
{
    int rc = key_check(NULL, key ? key : "", err, errlen);
    return rc != MT_OK ? rc : value_check(NULL, key, value, err, errlen);
}

int mt_labels_check(const char *field, const mt_str_pair_t *labels, uint32_t n,
                    char *err, size_t errlen)
{
    if (n > MT_MAP_MAX) {
        snprintf(err, errlen, "%s: at most %d entries", field, MT_MAP_MAX);
        return MT_EBADREQ;
    }
    for (uint32_t i = 0; i < n; i++) {
        const char *key = labels[i].key ? labels[i].key : "";
        int rc = key_check(field, key, err, errlen);
        if (rc == MT_OK)
            rc = value_check(field, key, labels[i].value, err, errlen);
        if (rc != MT_OK)
            return rc;
    }
    return MT_OK;
}
