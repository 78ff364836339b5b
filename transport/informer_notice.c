/*  informer_notice.c — the informer's notices and its poll: each node
    notice is checked (a publisher is untrusted input), its sequence number
    compared with the publisher's last, and its change merged into the
    cache; a gap asks for a catch-up, run once the waiting notices are
    taken. Also the informer's accessors. */
#include "informer_internal.h"
#include "mt_codec.h"
#include "mt_err.h"

#include <errno.h>
#include <string.h>

/*  The last seq of publisher `replica`: a new publisher (we may have
    missed its first notices: the SUB connection completes on its own
    time), a skip, or a sequence that went back (it restarted: what it
    committed before dying may never have been published) all ask for a
    catch-up. */
static void check_seq(mt_informer_t *inf, const char *replica, uint64_t seq)
{
    uint64_t last = (uint64_t) (uintptr_t) zhashx_lookup(inf->seqs, replica);
    if (seq == 0)
        return;
    if (last == 0 || seq != last + 1) {
        inf->st.gaps++;
        inf->due = true;
    }
    zhashx_update(inf->seqs, replica, (void *) (uintptr_t) seq);
}

static void take_notice(mt_informer_t *inf, const void *data, size_t size)
{
    char err[128];
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (mt_codec_check(data, size, err, sizeof err) != MT_OK
        || msgpack_unpack_next(&u, data, size, &off) != MSGPACK_UNPACK_SUCCESS
        || u.data.type != MSGPACK_OBJECT_MAP) {
        inf->st.bad_notices++;
        msgpack_unpacked_destroy(&u);
        return;
    }
    const msgpack_object *n = &u.data;
    const msgpack_object *rep = mt_client_map_first(n, "replica");
    const msgpack_object *seq = mt_client_map_first(n, "seq");
    const msgpack_object *change = mt_client_map_first(n, "change");
    const msgpack_object *id = mt_client_map_first(n, "id");
    const msgpack_object *rev = mt_client_map_first(n, "revision");
    char replica[256], nid[256];
    bool ok = rep && rep->type == MSGPACK_OBJECT_STR && rep->via.str.size < sizeof replica
              && seq && seq->type == MSGPACK_OBJECT_POSITIVE_INTEGER
              && mt_codec_str_is(mt_client_map_first(n, "kind"), "node")
              && id && id->type == MSGPACK_OBJECT_STR && id->via.str.size > 0
              && id->via.str.size < sizeof nid
              && rev && rev->type == MSGPACK_OBJECT_POSITIVE_INTEGER
              && rev->via.u64 <= INT64_MAX;
    if (!ok) {
        inf->st.bad_notices++;
        msgpack_unpacked_destroy(&u);
        return;
    }
    memcpy(replica, rep->via.str.ptr, rep->via.str.size);
    replica[rep->via.str.size] = '\0';
    memcpy(nid, id->via.str.ptr, id->via.str.size);
    nid[id->via.str.size] = '\0';
    inf->st.notices++;
    check_seq(inf, replica, seq->via.u64);
    if (mt_codec_str_is(change, "delete"))
        mt__informer_cache_delete(inf->cache, nid, (int64_t) rev->via.u64,
                                  MT_INFORMER_FROM_NOTICE);
    else if (mt_codec_str_is(change, "upsert")) {
        const msgpack_object *view = mt_client_map_first(n, "view");
        if (view && view->type == MSGPACK_OBJECT_MAP)
            mt__informer_cache_upsert(inf->cache, view, MT_INFORMER_FROM_NOTICE);
        else
            inf->st.bad_notices++;
    }
    else
        inf->st.bad_notices++;
    msgpack_unpacked_destroy(&u);
}

/*  Every notice waiting on the SUB socket. */
static void drain(mt_informer_t *inf)
{
    void *h = zsock_resolve(inf->sub);
    for (;;) {
        zmq_msg_t f[2];
        zmq_msg_init(&f[0]);
        zmq_msg_init(&f[1]);
        int nf = mt_client_recv_notice(h, &f[0], &f[1]);
        if (nf == 2)
            take_notice(inf, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]));
        else if (nf > 0)
            inf->st.bad_notices++;
        zmq_msg_close(&f[0]);
        zmq_msg_close(&f[1]);
        if (nf <= 0)
            return;                 /* nothing more now (or EINTR) */
    }
}

int mt_informer_poll(mt_informer_t *inf, int timeout_ms)
{
    int64_t deadline = zclock_mono() + (timeout_ms > 0 ? timeout_ms : 0);
    int rc = MT_OK;
    for (;;) {
        int64_t left = deadline - zclock_mono();
        zmq_pollitem_t item = { inf->sub ? zsock_resolve(inf->sub) : NULL, 0, ZMQ_POLLIN, 0 };
        if (!inf->sub)
            zclock_sleep(left > 0 ? (int) (left < 50 ? left : 50) : 0);
        else if (zmq_poll(&item, 1, left > 0 ? (long) left : 0) > 0)
            drain(inf);
        bool periodic = inf->o.resync_ms > 0
                        && zclock_mono() - inf->last_sync >= inf->o.resync_ms;
        if (inf->started && (inf->due || periodic))
            rc = mt_informer_resync(inf);
        if (zclock_mono() >= deadline)
            return rc;
    }
}

int64_t mt_informer_mark(const mt_informer_t *inf)
{
    return inf->mark;
}

size_t mt_informer_size(const mt_informer_t *inf)
{
    return mt__informer_cache_size(inf->cache);
}

void mt_informer_stats(const mt_informer_t *inf, mt_informer_stats_t *stats)
{
    *stats = inf->st;
    mt__informer_cache_counts(inf->cache, &stats->applied, &stats->stale);
}

bool mt_informer_get(const mt_informer_t *inf, const char *id, int64_t *reg_revision,
                     int64_t *status_revision, const char **view, size_t *size)
{
    return mt__informer_cache_get(inf->cache, id, reg_revision, status_revision, view, size);
}

void mt_informer_each(const mt_informer_t *inf, mt_informer_each_fn *fn, void *arg)
{
    mt__informer_cache_each(inf->cache, fn, arg);
}
