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

/*  The head of every answer message: its outcome and, when err != MT_OK, a
    message for the client (never a server's own text, never a secret).
    An answer struct starts with MT_RESULT_HEAD, so its fields read as
    a->err, a->message, and code that answers any request generically (the
    store's error answers, tests) writes the head through a->result or a
    cast of the message's data to mt_result_t *. */
#define MT_RESULT_MESSAGE_MAX 200

typedef struct {
    int err;
    char message[MT_RESULT_MESSAGE_MAX];
} mt_result_t;

#define MT_RESULT_HEAD                                                                     \
    union {                                                                                \
        mt_result_t result;                                                                \
        struct {                                                                           \
            int err;                                                                       \
            char message[MT_RESULT_MESSAGE_MAX];                                           \
        };                                                                                 \
    }

/*  Sets r: err, and the message formatted (NULL fmt: mt_strerror(err)),
    cut to fit. */
void mt_result_set(mt_result_t *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
