/*  mt_cert.h — certificate files that are safe to give czmq.

    czmq 4.2's ZPL parser leaks its file handle on a syntax error and
    prints the offending line on stdout — for a damaged secret file that
    line may be the secret key. So every certificate file is checked here
    before zcert_load or zconfig sees it: a regular text file of at most
    MT_CERT_FILE_MAX bytes whose every line has a shape zconfig reads
    without a word. The replica (trust store), its configuration and
    metactl all check through this one function. */
#ifndef MT_CERT_H_INCLUDED
#define MT_CERT_H_INCLUDED

#include <stddef.h>

#define MT_CERT_FILE_MAX (64 * 1024)    /* a zcert file is a few hundred bytes */
/*  zcert_load and zcert_save build "FILE_secret" in a 256-byte buffer and
    silently truncate: a longer path would load or write another file. */
#define MT_CERT_PATH_MAX (255 - 7)

/*  MT_OK, or MT_EINVAL with why the file may not be parsed, phrased to
    follow "the file is" ("not a regular file"; no key text, no path: the
    caller names the file). errno is kept from a failed open, so
    a caller can tell a missing file (ENOENT) from a bad one. */
int mt_cert_file_check(const char *path, char *why, size_t whylen);

#endif
