/*  metactl_util.c — argument lists, msgpack packing and reading, strings,
    tables and time formats for metactl's commands. Out of memory aborts:
    a command line tool has nothing better to do. */
#include "metactl.h"
#include "mt_alloc.h"
#include "msgpack_json.h"
#include "mt_codec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- arguments --------------------------------------------------------- */

bool ctl_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s)
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int ctl_opt_i64(const char *usage, const char *opt, const char *s, int64_t min,
                int64_t max, int64_t *out)
{
    if (ctl_parse_i64(s, min, max, out))
        return CTL_OK;
    return ctl_usage_error(usage, "%s: expected an integer in %lld-%lld, not '%s'", opt,
                           (long long) min, (long long) max, s);
}

static ctl_kv_t *list_push(ctl_list_t *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->items = mt_xrealloc(l->items, l->cap * sizeof *l->items);
    }
    ctl_kv_t *kv = &l->items[l->n++];
    memset(kv, 0, sizeof *kv);
    return kv;
}

int ctl_list_add_kv(ctl_list_t *l, const char *arg, bool as_int, const char *opt,
                    const char *usage)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return ctl_usage_error(usage, "%s: expected KEY=%s, not '%s'", opt,
                               as_int ? "NUMBER" : "VALUE", arg);
    int64_t num = 0;
    if (as_int && !ctl_parse_i64(eq + 1, INT64_MIN, INT64_MAX, &num))
        return ctl_usage_error(usage, "%s: '%s' is not an integer (in '%s')", opt, eq + 1, arg);
    ctl_kv_t *kv = list_push(l);
    kv->key = mt_xrealloc(NULL, (size_t) (eq - arg) + 1);
    memcpy(kv->key, arg, (size_t) (eq - arg));
    kv->key[eq - arg] = '\0';
    kv->value = mt_xstrdup(eq + 1);
    kv->num = num;
    return CTL_OK;
}

void ctl_list_add(ctl_list_t *l, const char *s)
{
    list_push(l)->key = mt_xstrdup(s);
}

void ctl_list_free(ctl_list_t *l)
{
    for (uint32_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

void ctl_pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

void ctl_pack_str_map(msgpack_packer *pk, const ctl_list_t *l)
{
    msgpack_pack_map(pk, l->n);
    for (uint32_t i = 0; i < l->n; i++) {
        ctl_pack_str(pk, l->items[i].key);
        ctl_pack_str(pk, l->items[i].value);
    }
}

void ctl_pack_int_map(msgpack_packer *pk, const ctl_list_t *l)
{
    msgpack_pack_map(pk, l->n);
    for (uint32_t i = 0; i < l->n; i++) {
        ctl_pack_str(pk, l->items[i].key);
        msgpack_pack_int64(pk, l->items[i].num);
    }
}

void ctl_pack_str_array(msgpack_packer *pk, const ctl_list_t *l)
{
    msgpack_pack_array(pk, l->n);
    for (uint32_t i = 0; i < l->n; i++)
        ctl_pack_str(pk, l->items[i].key);
}

/* ---- reading replies --------------------------------------------------- */

const msgpack_object *ctl_get(const msgpack_object *map, const char *key)
{
    return mt_client_map_first(map, key);
}

bool ctl_get_i64(const msgpack_object *map, const char *key, int64_t *out)
{
    const msgpack_object *o = mt_client_map_first(map, key);
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *out = (int64_t) o->via.u64;
        return true;
    }
    if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return true;
    }
    return false;
}

bool ctl_get_bool(const msgpack_object *map, const char *key, bool *out)
{
    const msgpack_object *o = mt_client_map_first(map, key);
    if (!o || o->type != MSGPACK_OBJECT_BOOLEAN)
        return false;
    *out = o->via.boolean;
    return true;
}

char *ctl_get_str(const msgpack_object *map, const char *key, char *buf, size_t cap)
{
    const msgpack_object *o = mt_client_map_first(map, key);
    buf[0] = '\0';
    if (o && o->type == MSGPACK_OBJECT_STR && cap > 0) {
        size_t n = o->via.str.size < cap - 1 ? o->via.str.size : cap - 1;
        memcpy(buf, o->via.str.ptr, n);
        buf[n] = '\0';
    }
    return buf;
}

/* ---- strings ----------------------------------------------------------- */


void ctl_buf_obj(ctl_buf_t *b, const msgpack_object *o)
{
    if (!o)
        return;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        mt_buf_printf(b, "%s", o->via.boolean ? "true" : "false");
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        mt_buf_printf(b, "%llu", (unsigned long long) o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        mt_buf_printf(b, "%lld", (long long) o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        mt_buf_printf(b, "%g", o->via.f64);
        break;
    case MSGPACK_OBJECT_STR:
        /*  Control characters would break lines and columns. */
        mt_buf_reserve(b, o->via.str.size);
        for (uint32_t i = 0; i < o->via.str.size; i++) {
            unsigned char ch = (unsigned char) o->via.str.ptr[i];
            b->data[b->len++] = ch < 0x20 || ch == 0x7f ? '?' : (char) ch;
        }
        b->data[b->len] = '\0';
        break;
    case MSGPACK_OBJECT_BIN:
        mt_buf_printf(b, "<%u bytes>", o->via.bin.size);
        break;
    default: {
        char *json = ctl_json(o);
        mt_buf_put(b, json, strlen(json));
        free(json);
        break;
    }
    }
}

void ctl_buf_pairs(ctl_buf_t *b, const msgpack_object *o, const char *sep)
{
    if (o && o->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i)
                mt_buf_printf(b, "%s", sep);
            ctl_buf_obj(b, &o->via.map.ptr[i].key);
            mt_buf_put(b, "=", 1);
            ctl_buf_obj(b, &o->via.map.ptr[i].val);
        }
    }
    else if (o && o->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                mt_buf_printf(b, "%s", sep);
            ctl_buf_obj(b, &o->via.array.ptr[i]);
        }
    }
    else
        ctl_buf_obj(b, o);
}




/* ---- output ------------------------------------------------------------ */

char *ctl_json(const msgpack_object *o)
{
    char *json = o ? ctl_json_of(o) : NULL;
    return json ? json : mt_xstrdup("null");
}

void ctl_print_json(FILE *f, const msgpack_object *o)
{
    char *json = ctl_json(o);
    fprintf(f, "%s\n", json);
    free(json);
}

void ctl_print_kv(const char *key, int width, const char *value)
{
    int pad = width - (int) strlen(key) - 1;
    printf("%s:%*s%s\n", key, pad > 1 ? pad : 1, "", value);
}

void ctl_table_init(ctl_table_t *t, uint32_t ncols, const char *const *headers)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    t->nrows = 0;
    t->cap = 16;
    t->cells = mt_xrealloc(NULL, (size_t) t->cap * ncols * sizeof *t->cells);
    for (uint32_t i = 0; i < ncols; i++)
        t->cells[i] = mt_xstrdup(headers[i]);
}

void ctl_table_row(ctl_table_t *t, const char *const *cells)
{
    if (t->nrows + 2 > t->cap) {
        t->cap *= 2;
        t->cells = mt_xrealloc(t->cells, (size_t) t->cap * t->ncols * sizeof *t->cells);
    }
    t->nrows++;
    for (uint32_t i = 0; i < t->ncols; i++)
        t->cells[(size_t) t->nrows * t->ncols + i] = mt_xstrdup(cells[i] ? cells[i] : "");
}

/*  Display width: UTF-8 code points (continuation bytes do not count). */
static size_t width_of(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char) *s & 0xc0) != 0x80;
    return w;
}

void ctl_table_print(const ctl_table_t *t, FILE *f)
{
    size_t *w = mt_xrealloc(NULL, t->ncols * sizeof *w);
    for (uint32_t c = 0; c < t->ncols; c++) {
        w[c] = 0;
        for (uint32_t r = 0; r <= t->nrows; r++) {
            size_t n = width_of(t->cells[(size_t) r * t->ncols + c]);
            w[c] = n > w[c] ? n : w[c];
        }
    }
    for (uint32_t r = 0; r <= t->nrows; r++) {
        for (uint32_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[(size_t) r * t->ncols + c];
            fputs(cell, f);
            if (c + 1 < t->ncols)
                fprintf(f, "%*s", (int) (w[c] - width_of(cell) + 2), "");
        }
        fputc('\n', f);
    }
    free(w);
}

void ctl_table_free(ctl_table_t *t)
{
    if (t->cells)
        for (size_t i = 0; i < (size_t) (t->nrows + 1) * t->ncols; i++)
            free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

void ctl_table_show(uint32_t ncols, const char *const *headers, uint32_t nrows, ctl_row_fn *row,
                    void *arg, FILE *f)
{
    ctl_table_t t;
    ctl_table_init(&t, ncols, headers);
    ctl_buf_t *cell = mt_xrealloc(NULL, ncols * sizeof *cell);
    const char **cells = mt_xrealloc(NULL, ncols * sizeof *cells);
    memset(cell, 0, ncols * sizeof *cell);
    for (uint32_t i = 0; i < nrows; i++) {
        for (uint32_t c = 0; c < ncols; c++)
            mt_buf_reset(&cell[c]);
        row(cell, i, arg);
        for (uint32_t c = 0; c < ncols; c++)
            cells[c] = mt_buf_str(&cell[c]);
        ctl_table_row(&t, cells);
    }
    ctl_table_print(&t, f);
    for (uint32_t c = 0; c < ncols; c++)
        mt_buf_free(&cell[c]);
    free(cell);
    free(cells);
    ctl_table_free(&t);
}

char *ctl_fmt_time(int64_t ms, char *buf, size_t cap)
{
    if (ms == 0) {
        snprintf(buf, cap, "-");
        return buf;
    }
    time_t s = (time_t) (ms / 1000);
    int frac = (int) (ms % 1000);
    if (frac < 0) {
        s--;
        frac += 1000;
    }
    struct tm tm;
    if (!gmtime_r(&s, &tm)) {
        snprintf(buf, cap, "%lld", (long long) ms);
        return buf;
    }
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03dZ", day, frac);
    return buf;
}

char *ctl_fmt_duration(int64_t ms, char *buf, size_t cap)
{
    const char *sign = ms < 0 ? "-" : "";
    int64_t a = ms < 0 ? -ms : ms;
    if (a < 1000)
        snprintf(buf, cap, "%s%lldms", sign, (long long) a);
    else if (a < 60 * 1000)
        snprintf(buf, cap, "%s%.1fs", sign, (double) a / 1000.0);
    else if (a < 3600 * 1000)
        snprintf(buf, cap, "%s%lldm%02llds", sign, (long long) (a / 60000),
                 (long long) (a / 1000 % 60));
    else if (a < 86400LL * 1000)
        snprintf(buf, cap, "%s%lldh%02lldm", sign, (long long) (a / 3600000),
                 (long long) (a / 60000 % 60));
    else
        snprintf(buf, cap, "%s%lldd%02lldh", sign, (long long) (a / 86400000),
                 (long long) (a / 3600000 % 24));
    return buf;
}
