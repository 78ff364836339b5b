/*  mt_err.h — the service's error codes, above core's mt_err_t: every
    layer above core returns and prints them, so they live at the bottom
    of the service, with their text and their PROTOCOL.md names. */
#ifndef MT_ERR_H_INCLUDED
#define MT_ERR_H_INCLUDED

#include "mt_core.h"

/*  Errors of the service, continuing core's mt_err_t. Each maps to one
    PROTOCOL.md error code (mt_err_code); err.c registers their text with
    core, so mt_strerror knows them. */
enum {
    MT_EBADREQ = MT_ECOUNT_,   /* bad_request */
    MT_EUNKNOWNOP,             /* unknown_op */
    MT_ENOTFOUND,              /* not_found */
    MT_ECONFLICT,              /* conflict */
    MT_EUNAVAIL,               /* unavailable */
    MT_ETOOLARGE,              /* too_large */
    MT_EUNAUTH,                /* unauthorized */
    MT_EINTERNAL,              /* internal */
    MT_EBUSY,                  /* busy */
    MT_EEXPIRED,               /* expired */
    MT_EMODEL_END_             /* one past the service's codes */
};

/*  The PROTOCOL.md error code for err ("bad_request", ...); any core or
    unknown error is "internal". */
const char *mt_err_code(int err);

#endif
