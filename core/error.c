/*  error.c — the runtime's error strings. */
#include "internal.h"

const char *mt_strerror(int err)
{
    switch (err) {
    case MT_OK: return "ok";
    case MT_ENOMEM: return "out of memory";
    case MT_EINVAL: return "invalid argument";
    case MT_ENOENT: return "no such entity";
    case MT_EEXIST: return "already exists";
    case MT_ETIMEDOUT: return "timed out";
    case MT_ECLOSED: return "actor or runtime stopped";
    case MT_ESYSTEM: return "system call failed";
    default: return "unknown error";
    }
}
