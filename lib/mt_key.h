/*  mt_key.h — CURVE keys as text: checked, never shown.

    A key is "" (none) or MT_KEY_LEN characters of Z85. The store checks the
    keys of rows it reads, the codecs those of requests and of a remote's
    answers, the reference actors a keypair before they use it: all through
    these two functions, which use libzmq's own Z85 decoder and key
    derivation (no socket, no context) and name the field, never the value. */
#ifndef MT_KEY_H_INCLUDED
#define MT_KEY_H_INCLUDED

#include <stddef.h>

#define MT_KEY_LEN 40               /* a CURVE key in Z85 */

/*  MT_OK, or MT_EBADREQ with a message naming `field`. */
int mt_key_check(const char *field, const char *key, char *err, size_t errlen);
/*  A client keypair: both "" (none), or both valid keys with the secret
    belonging to the public key (zmq_curve_public). MT_OK or MT_EBADREQ. */
int mt_key_pair_check(const char *public_key, const char *secret_key, char *err,
                      size_t errlen);

#endif
