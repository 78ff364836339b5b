/*  json_decode.c — the strict decoder of the store's four JSON shapes
    (json.h): a small recursive-descent parser over [p, end), one function
    per grammar rule it needs (string, integer, list, the shapes). Strings
    are decoded into arena memory sized by their raw length, which an
    escape can only shrink. */
#include "mt_json.h"

#include <string.h>

typedef struct {
    const char *p, *end;
    mt_json_arena_t *arena;
} parser_t;

static void skip_ws(parser_t *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

/*  Consumes c (after white space) if it is next. */
static bool eat(parser_t *ps, char c)
{
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return true;
    }
    return false;
}

static int hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t) (c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t) (c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t) (c - 'A' + 10);
        else
            return MT_EINVAL;
    }
    *out = v;
    return MT_OK;
}

static char *put_utf8(char *w, uint32_t cp)
{
    if (cp < 0x80)
        *w++ = (char) cp;
    else if (cp < 0x800) {
        *w++ = (char) (0xC0 | cp >> 6);
        *w++ = (char) (0x80 | (cp & 0x3F));
    }
    else if (cp < 0x10000) {
        *w++ = (char) (0xE0 | cp >> 12);
        *w++ = (char) (0x80 | ((cp >> 6) & 0x3F));
        *w++ = (char) (0x80 | (cp & 0x3F));
    }
    else {
        *w++ = (char) (0xF0 | cp >> 18);
        *w++ = (char) (0x80 | ((cp >> 12) & 0x3F));
        *w++ = (char) (0x80 | ((cp >> 6) & 0x3F));
        *w++ = (char) (0x80 | (cp & 0x3F));
    }
    return w;
}

/*  A string into arena memory. */
static int get_string(parser_t *ps, const char **out)
{
    if (!eat(ps, '"'))
        return MT_EINVAL;
    const char *q = ps->p;
    while (q < ps->end && *q != '"')
        q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
    if (q >= ps->end)
        return MT_EINVAL;
    char *dst = mt_json_arena_alloc(ps->arena, (size_t) (q - ps->p) + 1), *w = dst;
    const char *p = ps->p;
    while (p < q) {
        unsigned char c = (unsigned char) *p;
        if (c < 0x20)
            return MT_EINVAL;
        if (c >= 0x80) {
            size_t k = mt_utf8_seq((const unsigned char *) p, (size_t) (q - p), NULL);
            if (!k)
                return MT_EINVAL;
            memcpy(w, p, k);
            w += k;
            p += k;
            continue;
        }
        if (c != '\\') {
            *w++ = (char) c;
            p++;
            continue;
        }
        char e = p[1];          /* the scan above kept p + 1 < q */
        p += 2;
        switch (e) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '/': *w++ = '/'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (q - p < 4 || hex4(p, &cp))
                return MT_EINVAL;
            p += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return MT_EINVAL;           /* a low surrogate alone */
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (q - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo)
                    || lo < 0xDC00 || lo > 0xDFFF)
                    return MT_EINVAL;       /* a high surrogate alone */
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp == 0)
                return MT_EINVAL;           /* C strings cannot hold NUL */
            w = put_utf8(w, cp);
            break;
        }
        default:
            return MT_EINVAL;
        }
    }
    *w = '\0';
    ps->p = q + 1;
    *out = dst;
    return MT_OK;
}

static int get_int(parser_t *ps, int64_t *out)
{
    skip_ws(ps);
    const char *p = ps->p;
    bool neg = p < ps->end && *p == '-';
    if (neg)
        p++;
    if (p >= ps->end || *p < '0' || *p > '9')
        return MT_EINVAL;
    if (*p == '0' && p + 1 < ps->end && p[1] >= '0' && p[1] <= '9')
        return MT_EINVAL;                   /* leading zero */
    uint64_t v = 0, limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    for (; p < ps->end && *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t) (*p - '0');
        if (v > (limit - d) / 10)
            return MT_EINVAL;
        v = v * 10 + d;
    }
    if (p < ps->end && (*p == '.' || *p == 'e' || *p == 'E'))
        return MT_EINVAL;
    ps->p = p;
    *out = neg ? (int64_t) (0 - v) : (int64_t) v;
    return MT_OK;
}

/*  A growable array in the arena (old copies are abandoned there). */
typedef struct {
    void *items;
    uint32_t n, cap;
    size_t size;
} vec_t;

static void *vec_push(parser_t *ps, vec_t *v)
{
    if (v->n == v->cap) {
        uint32_t cap = v->cap ? v->cap * 2 : 8;
        void *items = mt_json_arena_alloc(ps->arena, cap * v->size);
        if (v->n)
            memcpy(items, v->items, v->n * v->size);
        v->items = items;
        v->cap = cap;
    }
    return (char *) v->items + v->size * v->n++;
}

/*  The end of the document: nothing but white space may follow. */
static int finish(parser_t *ps)
{
    skip_ws(ps);
    return ps->p == ps->end ? MT_OK : MT_EINVAL;
}

/*  [ item, ... ] or { item, ... }: calls item() for each element. */
static int get_list(parser_t *ps, char open, char close, int (*item)(parser_t *, vec_t *),
                    vec_t *v)
{
    if (!eat(ps, open))
        return MT_EINVAL;
    if (eat(ps, close))
        return MT_OK;
    do {
        int rc = item(ps, v);
        if (rc)
            return rc;
    } while (eat(ps, ','));
    return eat(ps, close) ? MT_OK : MT_EINVAL;
}

static int str_pair_item(parser_t *ps, vec_t *v)
{
    mt_str_pair_t *pair = vec_push(ps, v);
    if (get_string(ps, &pair->key) || !eat(ps, ':') || get_string(ps, &pair->value))
        return MT_EINVAL;
    return MT_OK;
}

static int int_pair_item(parser_t *ps, vec_t *v)
{
    mt_int_pair_t *pair = vec_push(ps, v);
    if (get_string(ps, &pair->key) || !eat(ps, ':') || get_int(ps, &pair->value))
        return MT_EINVAL;
    return MT_OK;
}

static int str_item(parser_t *ps, vec_t *v)
{
    const char **s = vec_push(ps, v);
    return get_string(ps, s);
}

static int condition_field(parser_t *ps, vec_t *v)
{
    mt_condition_t *c = v->items;           /* the one being filled */
    const char *key, *value;
    if (get_string(ps, &key) || !eat(ps, ':') || get_string(ps, &value))
        return MT_EINVAL;
    if (strcmp(key, "type") == 0)
        c->type = value;
    else if (strcmp(key, "status") == 0)
        c->status = value;
    else if (strcmp(key, "reason") == 0)
        c->reason = value;
    else if (strcmp(key, "message") == 0)
        c->message = value;
    else
        return MT_EINVAL;
    return MT_OK;
}

static int condition_item(parser_t *ps, vec_t *v)
{
    mt_condition_t *c = vec_push(ps, v);
    *c = (mt_condition_t) { "", "", "", "" };
    vec_t one = { .items = c, .n = 1, .cap = 1, .size = sizeof *c };
    return get_list(ps, '{', '}', condition_field, &one);
}

static int parse(const char *text, size_t len, mt_json_arena_t *a, char open, char close,
                 int (*item)(parser_t *, vec_t *), size_t size, void **out, uint32_t *n)
{
    parser_t ps = { text, text + len, a };
    vec_t v = { .size = size };
    int rc = get_list(&ps, open, close, item, &v);
    if (rc == MT_OK)
        rc = finish(&ps);
    if (rc != MT_OK)
        return MT_EINVAL;
    *out = v.items;
    *n = v.n;
    return MT_OK;
}

int mt_json_get_str_map(const char *text, size_t len, mt_json_arena_t *a,
                        mt_str_pair_t **out, uint32_t *n)
{
    return parse(text, len, a, '{', '}', str_pair_item, sizeof **out, (void **) out, n);
}

int mt_json_get_int_map(const char *text, size_t len, mt_json_arena_t *a,
                        mt_int_pair_t **out, uint32_t *n)
{
    return parse(text, len, a, '{', '}', int_pair_item, sizeof **out, (void **) out, n);
}

int mt_json_get_conditions(const char *text, size_t len, mt_json_arena_t *a,
                           mt_condition_t **out, uint32_t *n)
{
    return parse(text, len, a, '[', ']', condition_item, sizeof **out, (void **) out, n);
}

int mt_json_get_str_array(const char *text, size_t len, mt_json_arena_t *a,
                          const char ***out, uint32_t *n)
{
    return parse(text, len, a, '[', ']', str_item, sizeof **out, (void **) out, n);
}
