/*  codec_unpack.c — untrusted msgpack into objects, in a zone per thread.

    msgpack_unpack_next makes a zone (an 8 KiB chunk) for every body and
    frees it after: on the gateway and the bus, a malloc and free of a
    large-bin block per request and per notice, and glibc consolidating its
    fast bins each time — a fifth of the gateway thread's time at 10,000
    heartbeats/s. A thread keeps one zone instead, emptied after each body:
    an emptied zone keeps only its first chunk, so what a large body took
    is given back at once. The zone is freed when the thread ends. */
#include "codec_internal.h"
#include "mt_alloc.h"

#include <pthread.h>

static pthread_key_t zone_key;
static pthread_once_t zone_once = PTHREAD_ONCE_INIT;

static void zone_free(void *zone)
{
    msgpack_zone_free(zone);
}

static void zone_key_make(void)
{
    if (pthread_key_create(&zone_key, zone_free) != 0)
        mt_oom("a thread key for the decoding zone");
}

/*  The thread's zone, taken (a decode inside a decode gets its own). */
static msgpack_zone *zone_take(void)
{
    pthread_once(&zone_once, zone_key_make);
    msgpack_zone *z = pthread_getspecific(zone_key);
    if (z) {
        pthread_setspecific(zone_key, NULL);
        return z;
    }
    if (!(z = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE)))
        mt_oom("a decoding zone");
    return z;
}

void mt__codec_unpack_done(msgpack_unpacked *u)
{
    msgpack_zone *z = u->zone;
    u->zone = NULL;
    if (!z)
        return;
    msgpack_zone_clear(z);
    if (pthread_getspecific(zone_key) || pthread_setspecific(zone_key, z) != 0)
        msgpack_zone_free(z);
}

int mt__codec_unpack(const void *body, size_t size, msgpack_unpacked *u,
                     char *err, size_t errlen)
{
    int rc = mt_codec_check(body, size, err, errlen);
    if (rc != MT_OK)
        return rc;
    u->zone = zone_take();
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack(body, size, &off, u->zone, &u->data);
    if (r != MSGPACK_UNPACK_SUCCESS || off != size)
        return mt__codec_fail(err, errlen, "body: malformed msgpack");
    return MT_OK;
}
