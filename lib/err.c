/*  err.c — the service's error codes: their text and protocol names
    (mt_err.h). */
#include "mt_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const s_err_texts[] = {
    [MT_EBADREQ - MT_ECOUNT_] = "bad request",
    [MT_EUNKNOWNOP - MT_ECOUNT_] = "unknown operation",
    [MT_ENOTFOUND - MT_ECOUNT_] = "not found",
    [MT_ECONFLICT - MT_ECOUNT_] = "conflict",
    [MT_EUNAVAIL - MT_ECOUNT_] = "unavailable",
    [MT_ETOOLARGE - MT_ECOUNT_] = "too large",
    [MT_EUNAUTH - MT_ECOUNT_] = "unauthorized",
    [MT_EINTERNAL - MT_ECOUNT_] = "internal error",
    [MT_EBUSY - MT_ECOUNT_] = "busy",
    [MT_EEXPIRED - MT_ECOUNT_] = "expired",
};
_Static_assert(sizeof s_err_texts / sizeof s_err_texts[0] == MT_EMODEL_END_ - MT_ECOUNT_,
               "every error of mt_err.h has a text here");

/*  Before main: the codes are plain ints any layer may return or print, so
    their text must be there before anything runs. Every program that
    links metactor-lib links this file (lib/CMakeLists.txt asks the linker
    for mt_err_code), whether it calls mt_err_code or not. */
__attribute__((constructor)) static void register_err_texts(void)
{
    if (mt_strerror_range(MT_ECOUNT_, MT_EMODEL_END_ - MT_ECOUNT_, s_err_texts) != MT_OK) {
        fputs("metactor: the service's error range is taken\n", stderr);
        abort();
    }
}

const char *mt_err_code(int err)
{
    switch (err) {
    case MT_OK: return "ok";
    case MT_EBADREQ: return "bad_request";
    case MT_EUNKNOWNOP: return "unknown_op";
    case MT_ENOTFOUND: case MT_ENOENT: return "not_found";
    case MT_ECONFLICT: case MT_EEXIST: return "conflict";
    case MT_EUNAVAIL: case MT_ETIMEDOUT: return "unavailable";
    case MT_ETOOLARGE: return "too_large";
    case MT_EUNAUTH: return "unauthorized";
    case MT_EBUSY: return "busy";
    case MT_EEXPIRED: return "expired";
    default: return "internal";
    }
}

void mt_result_set(mt_result_t *r, int err, const char *fmt, ...)
{
    r->err = err;
    if (!fmt) {
        snprintf(r->message, sizeof r->message, "%s", mt_strerror(err));
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
}
