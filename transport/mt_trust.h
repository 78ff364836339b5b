/*  mt_trust.h — the trust store: who holds each trusted public key.

    A directory of czmq certificates (public files, ZPL) whose metadata says
    who the holder is: `role` (admin, reader, node, replica) and, for a node
    certificate, `node` (the node it may act as). The directory is the
    operator's to change while the replica runs: a thread of the store
    rescans it every refresh interval, so a certificate added is trusted and
    one removed is refused within that interval plus one scan, on
    connections already open too (the gateway looks every request up). A
    file that cannot be read as such a certificate is logged once and
    ignored; it never stops the others from loading.

    Thread-safe: the ZAP handler and the gateway look keys up from their own
    threads. */
#ifndef MT_TRUST_H_INCLUDED
#define MT_TRUST_H_INCLUDED

#include "mt_model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    MT_ROLE_NONE,                   /* not trusted */
    MT_ROLE_ADMIN,
    MT_ROLE_READER,
    MT_ROLE_NODE,
    MT_ROLE_REPLICA,
} mt_role_t;

/*  "admin", ...; NULL for MT_ROLE_NONE. */
const char *mt_role_name(mt_role_t role);
/*  MT_ROLE_NONE for anything but the four names. */
mt_role_t mt_role_parse(const char *name);

#define MT_KEY_Z85_LEN 40           /* a CURVE key as Z85 text */

typedef struct mt_trust mt_trust_t;

/*  A store over dir, rescanned every refresh_ms (0 = 1000) by a thread of
    its own. The first scan happens here; NULL when dir is not a
    directory. */
mt_trust_t *mt_trust_new(const char *dir, uint32_t refresh_ms);
void mt_trust_destroy(mt_trust_t **trust_p);

/*  The role of the holder of key (Z85), and for a node certificate the
    node id (into node, which holds MT_NODE_ID_MAX + 1 bytes; "" otherwise).
    MT_ROLE_NONE when the key is not trusted now. */
mt_role_t mt_trust_lookup(mt_trust_t *trust, const char *key, char *node);

/*  How many scans so far found a trusted key removed (or its role or node
    changed). Whoever holds connections admitted earlier compares it with
    the last value seen to know when to cut them. */
uint64_t mt_trust_removals(mt_trust_t *trust);

/*  Certificates trusted as of the last scan (for stats). */
uint32_t mt_trust_size(mt_trust_t *trust);

#endif
