/*  utf8.c — UTF-8 validation (mt_utf8.h). */
#include "mt_utf8.h"

size_t mt_utf8_seq(const unsigned char *p, size_t avail, uint32_t *cp_out)
{
    if (avail == 0)
        return 0;
    unsigned c = p[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80) {
        len = 1, cp = c, min = 0;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (avail < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    if (cp_out)
        *cp_out = cp;
    return len;
}

bool mt_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = mt_utf8_seq(p + i, n - i, NULL);
        if (!len)
            return false;
        i += len;
    }
    return true;
}
