/*  json_check.h — a strict RFC 8259 validator for the JSON that
    ctl_json_of writes (unit tests and the fuzzers): one value, no
    trailing text, strings without raw control characters, valid escapes
    and valid UTF-8, numbers in JSON's grammar. */
#ifndef JSON_CHECK_H_INCLUDED
#define JSON_CHECK_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static inline const unsigned char *jc_value(const unsigned char *s, int depth);

static inline const unsigned char *jc_ws(const unsigned char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return s;
}

static inline const unsigned char *jc_string(const unsigned char *s)
{
    if (*s++ != '"')
        return NULL;
    for (;;) {
        unsigned c = *s;
        if (c == '"')
            return s + 1;
        if (c < 0x20)
            return NULL;                 /* includes the terminating NUL */
        if (c == '\\') {
            s++;
            if (*s == 'u') {
                for (int i = 1; i <= 4; i++) {
                    unsigned h = s[i];
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
                        return NULL;
                }
                s += 5;
            } else if (*s && strchr("\"\\/bfnrt", *s)) {
                s++;
            } else {
                return NULL;
            }
            continue;
        }
        if (c < 0x80) {
            s++;
            continue;
        }
        int len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!len)
            return NULL;
        uint32_t cp = c & (0x7f >> len);
        for (int i = 1; i < len; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return NULL;
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return NULL;
        s += len;
    }
}

static inline const unsigned char *jc_digits(const unsigned char *s)
{
    if (*s < '0' || *s > '9')
        return NULL;
    while (*s >= '0' && *s <= '9')
        s++;
    return s;
}

static inline const unsigned char *jc_number(const unsigned char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (!(s = jc_digits(s)))
        return NULL;
    if (*s == '.' && !(s = jc_digits(s + 1)))
        return NULL;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(s = jc_digits(s)))
            return NULL;
    }
    return s;
}

static inline const unsigned char *jc_value(const unsigned char *s, int depth)
{
    if (depth > 200)
        return NULL;
    s = jc_ws(s);
    if (*s == '"')
        return jc_string(s);
    if (*s == '{' || *s == '[') {
        bool obj = *s == '{';
        unsigned char close = obj ? '}' : ']';
        s = jc_ws(s + 1);
        if (*s == close)
            return s + 1;
        for (;;) {
            if (obj) {
                if (!(s = jc_string(jc_ws(s))))
                    return NULL;
                s = jc_ws(s);
                if (*s++ != ':')
                    return NULL;
            }
            if (!(s = jc_value(s, depth + 1)))
                return NULL;
            s = jc_ws(s);
            if (*s == ',') {
                s++;
                continue;
            }
            return *s == close ? s + 1 : NULL;
        }
    }
    if (strncmp((const char *) s, "true", 4) == 0)
        return s + 4;
    if (strncmp((const char *) s, "false", 5) == 0)
        return s + 5;
    if (strncmp((const char *) s, "null", 4) == 0)
        return s + 4;
    return jc_number(s);
}

/*  True if text is exactly one JSON value (with optional white space). */
static inline bool json_valid(const char *text)
{
    const unsigned char *s = jc_value((const unsigned char *) text, 0);
    return s && *jc_ws(s) == '\0';
}

#endif
