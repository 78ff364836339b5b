/*  mt_uuid.h — random (version 4) UUIDs in their canonical lowercase text:
    a cluster's uuid (the schema's) and each remote cluster reference's id.
    One generator, from the kernel's random source (getrandom), usable
    below czmq (the store has no zuuid). */
#ifndef MT_UUID_H_INCLUDED
#define MT_UUID_H_INCLUDED

#define MT_UUID_LEN 36              /* 8-4-4-4-12 hex digits and dashes */

/*  MT_OK, or MT_ESYSTEM if the kernel gave no random bytes. */
int mt_uuid_v4(char out[MT_UUID_LEN + 1]);

#endif
