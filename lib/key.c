/*  key.c — CURVE key text checks (mt_key.h). */
#include "mt_key.h"
#include "mt_err.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return MT_EBADREQ; } while (0)

int mt_key_check(const char *field, const char *key, char *err, size_t errlen)
{
    if (!key || !*key)
        return MT_OK;
    uint8_t bin[32];
    /*  zmq_z85_decode checks the length's multiple of 5 and every
        character; the length itself is ours to check. */
    bool ok = strnlen(key, MT_KEY_LEN + 1) == MT_KEY_LEN && zmq_z85_decode(bin, key) != NULL;
    explicit_bzero(bin, sizeof bin);
    if (!ok)
        FAIL("%s: must be a CURVE key (%d characters of Z85) or empty", field, MT_KEY_LEN);
    return MT_OK;
}

int mt_key_pair_check(const char *pub, const char *sec, char *err, size_t errlen)
{
    bool has_pub = pub && *pub, has_sec = sec && *sec;
    if (has_pub != has_sec)
        FAIL(has_pub ? "client_secret: required with client_public"
                     : "client_public: required with client_secret");
    if (!has_pub)
        return MT_OK;
    int rc = mt_key_check("client_public", pub, err, errlen);
    if (rc == MT_OK)
        rc = mt_key_check("client_secret", sec, err, errlen);
    if (rc != MT_OK)
        return rc;
    char derived[MT_KEY_LEN + 1];
    bool match = zmq_curve_public(derived, sec) == 0 && strcmp(derived, pub) == 0;
    explicit_bzero(derived, sizeof derived);
    if (!match)
        FAIL("client_secret: does not belong to client_public");
    return MT_OK;
}
