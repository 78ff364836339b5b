/*  harness_pack.c — msgpack from a compact format (h_pack, see harness.h),
    so that a test writes a request as one line the way a reader thinks
    of it. */
#include "harness_int.h"

#include <string.h>

static const char *skip_sep(const char *f)
{
    while (*f == ' ' || *f == ',' || *f == ':' || *f == '\t' || *f == '\n')
        f++;
    return f;
}

/*  f points just after an opening bracket: counts the elements up to its
    closing one. */
static uint32_t count_items(const char *f)
{
    uint32_t n = 0;
    int depth = 0;
    for (; *f; f++) {
        switch (*f) {
        case '{': case '[':
            if (depth == 0)
                n++;
            depth++;
            break;
        case '}': case ']':
            if (depth == 0)
                return n;
            depth--;
            break;
        case 's': case 'i': case 'I': case 'U': case 'b': case 'n': case 'r':
            if (depth == 0)
                n++;
            break;
        default:
            break;
        }
    }
    ck_abort_msg("h_pack: unbalanced format");
    return 0;
}

static const char *pack_one(msgpack_packer *pk, const char *f, va_list *ap);

static const char *pack_items(msgpack_packer *pk, const char *f, va_list *ap, char close)
{
    for (;;) {
        f = skip_sep(f);
        if (*f == close)
            return f + 1;
        ck_assert_msg(*f, "h_pack: unbalanced format");
        f = pack_one(pk, f, ap);
    }
}

static const char *pack_one(msgpack_packer *pk, const char *f, va_list *ap)
{
    f = skip_sep(f);
    switch (*f) {
    case '{': {
        uint32_t n = count_items(f + 1);
        ck_assert_msg(n % 2 == 0, "h_pack: a map needs key/value pairs");
        msgpack_pack_map(pk, n / 2);
        return pack_items(pk, f + 1, ap, '}');
    }
    case '[': {
        uint32_t n = count_items(f + 1);
        msgpack_pack_array(pk, n);
        return pack_items(pk, f + 1, ap, ']');
    }
    case 's': {
        const char *s = va_arg(*ap, const char *);
        if (s)
            msgpack_pack_str_with_body(pk, s, strlen(s));
        else
            msgpack_pack_nil(pk);
        return f + 1;
    }
    case 'i':
        msgpack_pack_int(pk, va_arg(*ap, int));
        return f + 1;
    case 'I':
        msgpack_pack_int64(pk, va_arg(*ap, int64_t));
        return f + 1;
    case 'U':
        msgpack_pack_uint64(pk, va_arg(*ap, uint64_t));
        return f + 1;
    case 'b':
        if (va_arg(*ap, int))
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        return f + 1;
    case 'n':
        msgpack_pack_nil(pk);
        return f + 1;
    case 'r': {
        const void *data = va_arg(*ap, const void *);
        size_t size = va_arg(*ap, size_t);
        /*  The packer's callback writes to its buffer: so may we. */
        pk->callback(pk->data, data, size);
        return f + 1;
    }
    default:
        ck_abort_msg("h_pack: bad format character '%c'", *f);
        return f;
    }
}

void h_vpack(msgpack_packer *pk, const char *fmt, va_list *ap)
{
    const char *end = skip_sep(pack_one(pk, fmt, ap));
    ck_assert_msg(*end == '\0', "h_pack: one top-level value expected: %s", fmt);
}

void h_pack(msgpack_packer *pk, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    h_vpack(pk, fmt, &ap);
    va_end(ap);
}

void hi_pack_request(msgpack_packer *pk, uint64_t rid, const char *fmt, va_list *ap)
{
    /*  The rid is packed first, so the format's map gets one more pair. */
    const char *f = skip_sep(fmt);
    ck_assert_msg(*f == '{', "h_call: the request must be a map");
    uint32_t n = count_items(f + 1);
    ck_assert_msg(n % 2 == 0, "h_call: a map needs key/value pairs");
    msgpack_pack_map(pk, n / 2 + 1);
    msgpack_pack_str_with_body(pk, "rid", 3);
    msgpack_pack_uint64(pk, rid);
    const char *end = skip_sep(pack_items(pk, f + 1, ap, '}'));
    ck_assert_msg(*end == '\0', "h_call: one map expected: %s", fmt);
}

msgpack_sbuffer *h_body(const char *fmt, ...)
{
    msgpack_sbuffer *sb = msgpack_sbuffer_new();
    ck_assert_ptr_nonnull(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    va_list ap;
    va_start(ap, fmt);
    h_vpack(&pk, fmt, &ap);
    va_end(ap);
    return sb;
}
