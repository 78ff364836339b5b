/*  metactl_load.c — `metactl load`: N simulated nodes heartbeating at a
    fixed total rate, many requests in flight over one DEALER socket.

    Open loop: request k is due at start + k/R; it is sent when due and a
    slot is free (at most --concurrency in flight), so a slow service shows
    up as fewer requests sent, not as a slower schedule hidden in the
    latencies. A request's rid names its slot (rid = generation << 20 |
    slot): a reply finds its request without a search, and a reply to a
    request already given up (timed out) matches nothing and is ignored.
    Latency is measured from the send to the reply, in µs. */
#include "metactl_load.h"
#include "mt_codec.h"
#include "mt_labels.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOT_BITS 20
#define SLOT_MASK ((UINT64_C(1) << SLOT_BITS) - 1)
#define SCAN_US 50000               /* how often timed-out requests are looked for */

static const char usage_load[] =
    "usage: metactl load --nodes N --rate R --duration S [--prefix P] [--concurrency C]\n"
    "           [--images K] [--register] [--bench]\n"
    "  Simulates N nodes (ids P-00000, P-00001, ...) heartbeating (node.heartbeat,\n"
    "  ready) round-robin at R requests per second in total for S seconds, with\n"
    "  up to C requests in flight over one DEALER socket; then prints the rate of\n"
    "  acknowledged heartbeats, failures by error code (`timeout`: no reply within\n"
    "  the request timeout -t), and latency percentiles p50/p90/p99/max in µs.\n"
    "  With -o json: one JSON object (the heartbeat figures at the top level,\n"
    "  the registration's under \"register\").\n"
    "  --nodes N             simulated nodes (1-10000000)\n"
    "  --rate R              heartbeats per second in total; 0: as fast as C\n"
    "                        requests in flight allow\n"
    "  --duration S          seconds of heartbeats\n"
    "  --prefix P            node id prefix and `load` label (default `load`)\n"
    "  --concurrency C       requests in flight at most (default 256, max 65536)\n"
    "  --images K            each heartbeat also reports K images (0-64, default 0;\n"
    "                        names of ~30 bytes, e.g. reg.cube.io/cube/image-1:1.0.1)\n"
    "  --register            register the N nodes first (C in flight, no rate limit;\n"
    "                        label load=P, host_ip 10.x.y.z, grpc_port 50051)\n"
    "  --bench               also print `bench=e2e_heartbeat_ingest value=V unit=acks/s`\n"
    "                        on stdout (for scripts/bench); the report then goes to\n"
    "                        stderr\n"
    "  ^C stops sending early; the replies in flight are still awaited and counted.\n"
    "  Exit status: 0 all acknowledged; 1 some failed; 3 no reply at all (replica\n"
    "  down or unreachable); 2 usage error.\n"
    "  Global options -e, -o, -t, --server-key, --cert are accepted here too\n"
    "  (`metactl --help`): over CURVE every request is encrypted, as in production.\n";

typedef struct {
    uint64_t rid;                   /* 0: free */
    int64_t sent_us;
} slot_t;

typedef struct {
    const ctl_t *g;
    const load_args_t *a;
    zsock_t *zs;
    void *sock;
    slot_t *slots;
    uint32_t *free_slots;
    uint32_t nfree, cap;
    uint64_t gen;
    msgpack_sbuffer buf;
    /*  Replies decode into this one zone, emptied after each: a zone per
        reply (msgpack_unpack_next's) is an 8 KiB malloc and free per
        heartbeat, CPU the load takes from the service it measures. */
    msgpack_zone *zone;
    char id[512];
    char images[LOAD_IMAGES_MAX][64];   /* --images: made once, sent with every heartbeat */
} engine_t;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void pack_body(engine_t *e, bool reg, uint64_t node, uint64_t rid)
{
    msgpack_sbuffer_clear(&e->buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &e->buf, msgpack_sbuffer_write);
    snprintf(e->id, sizeof e->id, "%s-%05" PRIu64, e->a->prefix, node);
    msgpack_pack_map(&pk, reg ? 3 : e->a->images > 0 ? 5 : 4);
    ctl_pack_str(&pk, "op");
    ctl_pack_str(&pk, reg ? "node.register" : "node.heartbeat");
    ctl_pack_str(&pk, "rid");
    msgpack_pack_uint64(&pk, rid);
    if (reg) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.%u.%u.%u", (unsigned) (node >> 16 & 255),
                 (unsigned) (node >> 8 & 255), (unsigned) (node & 255));
        ctl_pack_str(&pk, "node");
        msgpack_pack_map(&pk, 5);
        ctl_pack_str(&pk, "id");
        ctl_pack_str(&pk, e->id);
        ctl_pack_str(&pk, "host_ip");
        ctl_pack_str(&pk, ip);
        ctl_pack_str(&pk, "grpc_port");
        msgpack_pack_uint32(&pk, 50051);
        ctl_pack_str(&pk, "instance_type");
        ctl_pack_str(&pk, "metactl-load");
        ctl_pack_str(&pk, "labels");
        msgpack_pack_map(&pk, 1);
        ctl_pack_str(&pk, "load");
        ctl_pack_str(&pk, e->a->prefix);
    }
    else {
        ctl_pack_str(&pk, "id");
        ctl_pack_str(&pk, e->id);
        ctl_pack_str(&pk, "ready");
        msgpack_pack_true(&pk);
        if (e->a->images > 0) {
            ctl_pack_str(&pk, "images");
            msgpack_pack_array(&pk, (size_t) e->a->images);
            for (int64_t i = 0; i < e->a->images; i++)
                ctl_pack_str(&pk, e->images[i]);
        }
    }
}

/*  The delimiter, then the body; retried on EINTR. */
static int send_body(engine_t *e)
{
    while (zmq_send(e->sock, "", 0, ZMQ_SNDMORE) < 0)
        if (errno != EINTR)
            return -1;
    while (zmq_send(e->sock, e->buf.data, e->buf.size, 0) < 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

static void slot_free(engine_t *e, uint32_t s)
{
    e->slots[s].rid = 0;
    e->free_slots[e->nfree++] = s;
}

/*  Frees the request's slot: its latency, or false if no request in
    flight has this rid (late: it timed out already). Rid 0 is never
    sent: it marks a free slot, which must not be freed twice. */
static bool slot_take(engine_t *e, uint64_t rid, int64_t now, int64_t *lat)
{
    uint64_t s = rid & SLOT_MASK;
    if (rid == 0 || s >= e->cap || e->slots[s].rid != rid)
        return false;
    *lat = now - e->slots[s].sent_us;
    slot_free(e, (uint32_t) s);
    return true;
}

static void account_ok(load_phase_t *p, int64_t lat)
{
    p->acked++;
    load_hist_add(&p->lat, lat > 0 ? (uint64_t) lat : 0);
}

/*  Accounts a decoded reply (top NULL: undecodable) to its request. */
static void account(engine_t *e, load_phase_t *p, const msgpack_object *top, int64_t now)
{
    const msgpack_object *rid = ctl_get(top, "rid");
    int64_t lat;
    if (!rid || rid->type != MSGPACK_OBJECT_POSITIVE_INTEGER || !slot_take(e, rid->via.u64, now, &lat)) {
        p->late++;
        return;
    }
    bool ok = false;
    if (ctl_get_bool(top, "ok", &ok) && ok)
        account_ok(p, lat);
    else {
        char code[32];
        ctl_get_str(ctl_get(top, "error"), "code", code, sizeof code);
        load_phase_error(p, code[0] ? code : "invalid_reply");
    }
}

/*  Accounts one reply body to its request. An acknowledgement — one
    whole map with "ok": true and a rid (mt_codec_peek_reply) — is told by
    peeking at those two keys: the load generator shares the machine with
    the service it measures, and decoding every reply in full cost it a
    sixth of its CPU. Anything else (an error's code, a reply the peek
    refuses) is checked and decoded in full. */
static void on_reply(engine_t *e, load_phase_t *p, const void *data, size_t size,
                     int64_t now)
{
    uint64_t rid;
    bool ok;
    int64_t lat;
    if (mt_codec_peek_reply(data, size, &rid, &ok) && ok) {
        if (slot_take(e, rid, now, &lat))
            account_ok(p, lat);
        else
            p->late++;
        return;
    }
    char err[128];
    if (mt_codec_check(data, size, err, sizeof err) != MT_OK) {
        p->late++;                  /* unreadable: its request will time out */
        return;
    }
    msgpack_object obj;
    size_t off = 0;
    bool decoded = msgpack_unpack(data, size, &off, e->zone, &obj) == MSGPACK_UNPACK_SUCCESS;
    account(e, p, decoded ? &obj : NULL, now);
    msgpack_zone_clear(e->zone);
}

/*  Takes one waiting reply: 1, or 0 when none is waiting, -1 on error. */
static int recv_reply(engine_t *e, load_phase_t *p, int64_t *last_reply)
{
    zmq_msg_t body;
    zmq_msg_init(&body);
    int nframes = 0, more = 1;
    while (more) {
        zmq_msg_close(&body);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&body, e->sock, nframes == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            if (nframes > 0 && errno == EINTR)
                continue;           /* the rest of a message is there: finish it */
            int rc = nframes == 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
            zmq_msg_close(&body);
            return rc;
        }
        nframes++;
        more = zmq_msg_more(&body);
    }
    int64_t now = now_us();
    *last_reply = now;
    on_reply(e, p, zmq_msg_data(&body), zmq_msg_size(&body), now);
    zmq_msg_close(&body);
    return 1;
}

static void scan_timeouts(engine_t *e, load_phase_t *p, int64_t now)
{
    int64_t limit = (int64_t) e->g->timeout_ms * 1000;
    for (uint32_t s = 0; s < e->cap; s++)
        if (e->slots[s].rid && now - e->slots[s].sent_us > limit) {
            slot_free(e, s);
            p->timeouts++;
            load_phase_error(p, "timeout");
        }
}

/*  Sends `total` requests (0: no limit) of one kind at `rate` per second
    (0: whenever a slot is free) for at most duration_us (0: no limit),
    then awaits the replies in flight. */
static int run_phase(engine_t *e, load_phase_t *p, bool reg, uint64_t total, int64_t rate,
                     int64_t duration_us)
{
    int64_t start = now_us();
    int64_t stop = duration_us ? start + duration_us : INT64_MAX;
    int64_t next_scan = start + SCAN_US, send_end = start, last_reply = start;
    uint64_t nodes = (uint64_t) e->a->nodes, k = 0;
    bool sending = true;
    int rc = CTL_OK;
    p->start_us = start;
    for (;;) {
        int64_t now = now_us();
        while (sending && !ctl_interrupted && e->nfree > 0 && (!total || k < total)) {
            int64_t due = rate ? start + (int64_t) (k * 1000000 / (uint64_t) rate) : now;
            if (due > now || due >= stop)
                break;              /* not due yet, or due after the end */
            uint32_t s = e->free_slots[--e->nfree];
            uint64_t rid = ++e->gen << SLOT_BITS | s;
            pack_body(e, reg, k % nodes, rid);
            if (send_body(e) != 0) {
                fprintf(stderr, "metactl: cannot send: %s\n", zmq_strerror(errno));
                e->free_slots[e->nfree++] = s;
                sending = false;
                send_end = now;
                rc = CTL_EFAIL;
                break;
            }
            e->slots[s].rid = rid;
            e->slots[s].sent_us = now_us();
            k++;
            p->sent++;
        }
        if (sending && (ctl_interrupted || now >= stop || (total && k >= total))) {
            sending = false;
            send_end = now;
        }
        if (!sending && e->nfree == e->cap)
            break;
        int got;
        while ((got = recv_reply(e, p, &last_reply)) > 0)
            ;
        if (got < 0 && errno != EINTR) {
            fprintf(stderr, "metactl: cannot receive: %s\n", zmq_strerror(errno));
            rc = CTL_EFAIL;
            break;
        }
        now = now_us();
        if (now >= next_scan) {
            scan_timeouts(e, p, now);
            next_scan = now + SCAN_US;
        }
        /*  Wait for a reply, the next due request, the next scan or the end. */
        int64_t wake = next_scan;
        if (sending && e->nfree > 0) {
            int64_t due = rate ? start + (int64_t) (k * 1000000 / (uint64_t) rate) : now;
            wake = due < wake ? due : wake;
        }
        if (sending && stop < wake)
            wake = stop;
        long wait_ms = wake <= now ? 0 : (long) ((wake - now + 999) / 1000);
        zmq_pollitem_t item = { e->sock, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&item, 1, wait_ms) < 0 && errno != EINTR) {
            fprintf(stderr, "metactl: zmq_poll: %s\n", zmq_strerror(errno));
            rc = CTL_EFAIL;
            break;
        }
    }
    p->end_us = last_reply > send_end ? last_reply : send_end;
    return rc;
}

static int engine_init(engine_t *e, const ctl_t *g, const load_args_t *a)
{
    memset(e, 0, sizeof *e);
    e->g = g;
    e->a = a;
    e->cap = (uint32_t) a->concurrency;
    e->slots = calloc(e->cap, sizeof *e->slots);
    e->free_slots = calloc(e->cap, sizeof *e->free_slots);
    if (!e->slots || !e->free_slots)
        return CTL_EFAIL;
    for (uint32_t s = 0; s < e->cap; s++)
        e->free_slots[e->nfree++] = e->cap - 1 - s;
    for (int64_t i = 0; i < a->images; i++)
        snprintf(e->images[i], sizeof e->images[i], "reg.cube.io/cube/image-%d:1.0.%d",
                 (int) i + 1, (int) i + 1);
    msgpack_sbuffer_init(&e->buf);
    if (!(e->zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE)))
        return CTL_EFAIL;
    e->zs = zsock_new(ZMQ_DEALER);
    if (!e->zs)
        return CTL_EFAIL;
    zsock_set_linger(e->zs, 0);
    zsock_set_sndhwm(e->zs, 0);     /* the concurrency cap bounds the queues */
    zsock_set_rcvhwm(e->zs, 0);
    zsock_set_maxmsgsize(e->zs, MT_CLIENT_MAX_REPLY_DEFAULT);
    ctl_keys_t k;
    if (ctl_keys_load(g, &k) != CTL_OK)
        return CTL_EUSAGE;
    bool keys_ok = ctl_sock_keys(e->zs, &k, k.curve ? k.server_key : NULL);
    ctl_keys_wipe(&k);
    if (!keys_ok) {
        fprintf(stderr, "metactl: cannot set the CURVE keys: %s\n", zmq_strerror(errno));
        return CTL_EFAIL;
    }
    if (zsock_connect(e->zs, "%s", ctl_endpoint(g)) != 0) {   /* the first listed */
        fprintf(stderr, "metactl: cannot connect to '%s' (not a valid endpoint?)\n",
                ctl_endpoint(g));
        return CTL_EUSAGE;
    }
    e->sock = zsock_resolve(e->zs);
    return CTL_OK;
}

static void engine_fini(engine_t *e)
{
    zsock_destroy(&e->zs);
    msgpack_sbuffer_destroy(&e->buf);
    if (e->zone)
        msgpack_zone_free(e->zone);
    free(e->slots);
    free(e->free_slots);
}

/*  0 all acknowledged, 3 nothing answered at all, else 1. */
static int phase_status(const load_phase_t *p)
{
    if (p->failed == 0)
        return CTL_OK;
    return p->acked == 0 && p->timeouts == p->failed && p->late == 0 ? CTL_ETIMEOUT
                                                                     : CTL_EFAIL;
}

static int run(const ctl_t *g, const load_args_t *a)
{
    engine_t e;
    int rc = engine_init(&e, g, a);
    load_phase_t *reg = calloc(1, sizeof *reg), *hb = calloc(1, sizeof *hb);
    if (!reg || !hb)
        rc = CTL_EFAIL;
    if (rc != CTL_OK) {
        engine_fini(&e);
        free(reg);
        free(hb);
        return rc;
    }
    ctl_catch_signals();
    reg->name = "register";
    hb->name = "heartbeat";
    if (a->reg) {
        rc = run_phase(&e, reg, true, (uint64_t) a->nodes, 0, 0);
        if (rc == CTL_OK && phase_status(reg) == CTL_ETIMEOUT)
            rc = CTL_ETIMEOUT;      /* nobody answers: no point in heartbeats */
    }
    if (rc == CTL_OK && !ctl_interrupted)
        rc = run_phase(&e, hb, false, 0, a->rate, a->duration_s * 1000000);
    engine_fini(&e);

    FILE *out = a->bench ? stderr : stdout;
    load_report(out, g, a, a->reg ? reg : NULL, hb, ctl_interrupted);
    if (a->bench) {
        printf("bench=e2e_heartbeat_ingest value=%.3f unit=acks/s\n", load_phase_rate(hb));
        fflush(stdout);
    }
    if (rc == CTL_OK)
        rc = phase_status(hb);
    if (rc == CTL_OK && a->reg)
        rc = phase_status(reg);
    if (rc == CTL_ETIMEOUT)
        ctl_timeout_error(g);
    free(reg);
    free(hb);
    return rc;
}

int ctl_cmd_load(ctl_t *g, int argc, char **argv)
{
    enum { O_NODES = 256, O_RATE, O_DURATION, O_PREFIX, O_CONC, O_IMAGES, O_REGISTER, O_BENCH };
    static const struct option opts[] = {
        CTL_GLOBAL_LONG,
        { "nodes", required_argument, NULL, O_NODES },
        { "rate", required_argument, NULL, O_RATE },
        { "duration", required_argument, NULL, O_DURATION },
        { "prefix", required_argument, NULL, O_PREFIX },
        { "concurrency", required_argument, NULL, O_CONC },
        { "images", required_argument, NULL, O_IMAGES },
        { "register", no_argument, NULL, O_REGISTER },
        { "bench", no_argument, NULL, O_BENCH },
        { NULL, 0, NULL, 0 },
    };
    load_args_t a = { .nodes = -1, .rate = -1, .duration_s = -1, .concurrency = 256,
                      .prefix = "load" };
    const char *u = usage_load;
    ctl_getopt_reset();
    int c, rc = CTL_OK;
    while (rc == CTL_OK && (c = getopt_long(argc, argv, CTL_GLOBAL_SHORT, opts, NULL)) != -1) {
        switch (c) {
        case O_NODES: rc = ctl_opt_i64(u, "--nodes", optarg, 1, 10000000, &a.nodes); break;
        case O_RATE: rc = ctl_opt_i64(u, "--rate", optarg, 0, 100000000, &a.rate); break;
        case O_DURATION:
            rc = ctl_opt_i64(u, "--duration", optarg, 1, 7 * 86400, &a.duration_s);
            break;
        case O_CONC: rc = ctl_opt_i64(u, "--concurrency", optarg, 1, 65536, &a.concurrency); break;
        case O_IMAGES:
            rc = ctl_opt_i64(u, "--images", optarg, 0, LOAD_IMAGES_MAX, &a.images);
            break;
        case O_PREFIX: a.prefix = optarg; break;
        case O_REGISTER: a.reg = true; break;
        case O_BENCH: a.bench = true; break;
        default: rc = ctl_global_opt(g, c, argv, u); break;
        }
    }
    if (rc != CTL_OK)
        return rc == CTL_HELP_DONE ? CTL_OK : rc;
    if (optind < argc)
        return ctl_usage_error(u, "unexpected argument '%s'", argv[optind]);
    if (a.nodes < 0 || a.rate < 0 || a.duration_s < 0)
        return ctl_usage_error(u, "load needs --nodes, --rate and --duration");
    /*  The prefix is also the value of the nodes' `load` label (so that
        `node list --selector load=P` finds them): label syntax. */
    char why[200];
    if (!*a.prefix || mt_label_check("load", a.prefix, why, sizeof why) != MT_OK)
        return ctl_usage_error(u, "--prefix: 1-63 letters, digits, '-', '_' and '.', beginning"
                               " and ending with a letter or digit (the `load` label's value)");
    return run(g, &a);
}
