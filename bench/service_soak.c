/*  service_soak.c — mt_bench_service's soak figure (issue 10, section 5):
    three replicas A, B, C on one database for MT_BENCH_SOAK_S seconds
    (default 600) with MT_BENCH_SOAK_NODES nodes (10,000) heartbeating at
    MT_BENCH_SOAK_RATE requests per second in total — scripts/bench soak
    passes half of the e2e figure it measures just before — plus readers
    listing nodes by label, all the time. Does anything grow, slow down or
    fail over the minutes?

    Nodes: soak-00000, soak-00001, ...; node i lives on replica i % 3 (it is
    registered there and always heartbeats there). Registration: {id,
    host_ip, grpc_port, labels {zone: z<i%10>, rack: r<i%100>, pool: soak}};
    heartbeat: {id, ready} (metactl load's body without --images: scripts/bench
    measures the e2e maximum the rate is half of with MT_BENCH_E2E_IMAGES=0). All registered, and listed in full
    on every replica, before the clock starts.

    Heartbeats: one thread per replica, each a third of the rate, with
    MT_BENCH_SOAK_CONNS DEALERs (default 8), a node always on the same one:
    the replica's per-connection limit (--max-inflight-client) then bounds
    a few hundred nodes, not a third of them (real nodes each have their
    own connection). Open loop: request k is due at start + k/rate and sent
    then, with as many in flight as it takes (a slow replica shows as
    requests waiting, not as fewer requests); latency from the send to the
    reply. A request without a reply within MT_BENCH_SOAK_TIMEOUT_MS
    (default 10000, the replica's own request timeout) is a timeout.
    Readers: MT_BENCH_SOAK_READERS threads per replica (default 1), each a
    DEALER of its own: node.list {selector {rack: r<K>}} (100 nodes at
    10,000; K cycles), checked to hold every node of the rack, then
    MT_BENCH_SOAK_READ_MS ms of pause (default 50).

    Windows: the run is cut into windows of MT_BENCH_SOAK_WINDOW_S seconds
    (default 60, the minutes; a third of the run when it is shorter
    than 3 minutes, for quick runs). A heartbeat belongs to the window it
    was sent in.

    soak_rss_drift  %: the three replicas' summed VmRSS, sampled every
                    second: mean over the last window against the mean over
                    the second (the first holds the start's growth)
    soak_p99_first  ms: heartbeat latency p99 over the first window
    soak_p99_last   ms: the same over the last window
    soak_errors     count: error replies (`busy` too: at half the maximum
                    there is no reason for one) and timeouts, heartbeats
                    and lists together

    Diagnostics per window (as it runs): heartbeats sent and answered,
    errors, lists, the replicas' RSS and the CPU line; at the end per
    window: heartbeat p50/p99/max and RSS; each replica's counters (its heap
    trimmer's too); and the RSS after MT_BENCH_SOAK_QUIET_S (8) seconds
    without a request, once the gateways have given freed heap back
    (malloc_trim when quiet): what is left above that is held, not merely
    not returned. */
#include "service_bench.h"

#include "mt_client.h"

#include <inttypes.h>
#include <unistd.h>

#define NREPLICAS 3
#define MAX_CODES 8
#define MB (1024.0 * 1024.0)

/*  One window's heartbeat latencies and counts, from one thread. */
typedef struct {
    float *lat;                     /* ms (4 bytes: ten minutes of heartbeats stay small) */
    size_t n, cap;
    uint64_t sent, errors;
} win_t;

/*  Error replies by code, and timeouts. */
typedef struct {
    uint32_t n;
    struct {
        char code[32];
        uint64_t count;
    } c[MAX_CODES];
} codes_t;

typedef struct {
    int replica;
    const char *endpoint;
    long nodes;                     /* all of them; this thread's are replica + 3j */
    double rate;                    /* per second, this thread's */
    int64_t start_us, win_us, timeout_us;
    int nwin, conns;
    win_t *win;
    codes_t codes;
    uint64_t timeouts, late, held;  /* held: due but no free slot */
    atomic_uint_fast64_t sent, answered, errors;    /* for the progress lines */
} hb_t;

typedef struct {
    int replica;
    const char *endpoint;
    long nodes;
    int64_t end_us;
    int timeout_ms, pause_ms, first_rack;
    codes_t codes;
    double *lat;                    /* ms, every list */
    size_t n, cap;
    uint64_t timeouts, short_lists;
    atomic_uint_fast64_t lists, errors;
} reader_t;

static void codes_add(codes_t *c, const char *code)
{
    uint32_t i;
    for (i = 0; i < c->n; i++)
        if (strcmp(c->c[i].code, code) == 0)
            break;
    if (i == c->n) {
        if (c->n == MAX_CODES)
            i = MAX_CODES - 1;      /* the rest lumped with the last */
        else
            snprintf(c->c[c->n++].code, sizeof c->c[0].code, "%s", code);
    }
    c->c[i].count++;
}

static void node_id(char *out, size_t cap, long i)
{
    snprintf(out, cap, "soak-%05ld", i);
}

/*  Nodes of rack k among n. */
static long rack_size(long n, int k)
{
    return n / 100 + (k < n % 100);
}

/* ---------------------------------------------------------- register -- */

static void pack_register(cli_t *c, long i)
{
    char id[32], ip[32], zone[16], rack[16];
    node_id(id, sizeof id, i);
    snprintf(ip, sizeof ip, "10.%ld.%ld.%ld", i >> 16 & 255, i >> 8 & 255, i & 255);
    snprintf(zone, sizeof zone, "z%ld", i % 10);
    snprintf(rack, sizeof rack, "r%ld", i % 100);
    cli_begin(c, "node.register", 1);
    msgpack_packer *pk = &c->pk;
    cli_pack_str(pk, "node");
    msgpack_pack_map(pk, 4);
    cli_pack_str(pk, "id");
    cli_pack_str(pk, id);
    cli_pack_str(pk, "host_ip");
    cli_pack_str(pk, ip);
    cli_pack_str(pk, "grpc_port");
    msgpack_pack_uint32(pk, 50051);
    cli_pack_str(pk, "labels");
    msgpack_pack_map(pk, 3);
    cli_pack_str(pk, "zone");
    cli_pack_str(pk, zone);
    cli_pack_str(pk, "rack");
    cli_pack_str(pk, rack);
    cli_pack_str(pk, "pool");
    cli_pack_str(pk, "soak");
}

/*  Registers replica r's nodes on c, 256 in flight; every one must be ok. */
static void register_nodes(cli_t *c, int r, long nodes)
{
    long next = r, inflight = 0;
    while (next < nodes || inflight > 0) {
        while (next < nodes && inflight < 256) {
            pack_register(c, next);
            cli_send(c);
            next += NREPLICAS;
            inflight++;
        }
        uint64_t rid;
        if (cli_recv(c, CLI_CALL_MS, &rid) != 0)
            bp_die("node.register on %s: no reply in %d ms", c->name, CLI_CALL_MS);
        if (cli_result(c, NULL) != 0)
            bp_die("node.register on %s: %s", c->name, c->code);
        inflight--;
    }
}

/*  node.list of rack k: 0 and *count, 1 an error reply (c->code), -1 no
    reply within timeout_ms. */
static int list_rack(cli_t *c, int k, int timeout_ms, long *count)
{
    char rack[16];
    snprintf(rack, sizeof rack, "r%d", k);
    cli_begin(c, "node.list", 1);
    cli_pack_str(&c->pk, "selector");
    msgpack_pack_map(&c->pk, 1);
    cli_pack_str(&c->pk, "rack");
    cli_pack_str(&c->pk, rack);
    const msgpack_object *res = NULL;
    int rc = cli_call(c, timeout_ms, &res);
    if (rc == 0) {
        const msgpack_object *v = mt_client_map_first(res, "nodes");
        *count = v && v->type == MSGPACK_OBJECT_ARRAY ? (long) v->via.array.size : -1;
    }
    return rc;
}

/*  Until c lists every node of every rack (the registrations made on the
    other replicas have reached it). */
static void wait_listed(cli_t *c, long nodes, int timeout_ms)
{
    int64_t deadline = now_us() + (int64_t) timeout_ms * 1000;
    for (int k = 0; k < 100 && k < nodes; k++) {
        long n = 0;
        int rc;
        while ((rc = list_rack(c, k, CLI_CALL_MS, &n)) != 0 || n != rack_size(nodes, k)) {
            if (rc != 0)
                bp_die("node.list on %s: %s", c->name, rc < 0 ? "timeout" : c->code);
            if (now_us() > deadline)
                bp_die("%s lists %ld nodes of rack r%d, expected %ld", c->name, n, k,
                       rack_size(nodes, k));
            sleep_ms(50);
        }
    }
}

/* -------------------------------------------------------- heartbeats -- */

typedef struct {
    uint64_t rid;                   /* 0: free */
    int64_t sent_us;
} slot_t;

static void win_add(win_t *w, float ms)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 65536;
        float *p = realloc(w->lat, cap * sizeof *p);
        if (!p)
            bp_die("out of memory");
        w->lat = p;
        w->cap = cap;
    }
    w->lat[w->n++] = ms;
}

static int win_of(const hb_t *h, int64_t t)
{
    int64_t w = (t - h->start_us) / h->win_us;
    return w < 0 ? 0 : w >= h->nwin ? h->nwin - 1 : (int) w;
}

/*  One connection of a heartbeat thread: its requests in flight in slots
    by rid (rids grow with time, so the oldest is found first). */
typedef struct {
    cli_t c;
    slot_t *slot;
    size_t cap;                     /* a power of two */
    uint64_t oldest;                /* the lowest rid that may be in flight */
} conn_t;

/*  Every reply waiting on x, accounted to its window. */
static void hb_replies(hb_t *h, conn_t *x)
{
    uint64_t rid;
    while (cli_recv(&x->c, 0, &rid) == 0) {
        slot_t *s = &x->slot[rid & (x->cap - 1)];
        if (rid == 0 || s->rid != rid) {
            h->late++;              /* already counted as a timeout */
            continue;
        }
        win_t *w = &h->win[win_of(h, s->sent_us)];
        if (cli_result(&x->c, NULL) == 0)
            win_add(w, (float) ((double) (now_us() - s->sent_us) / 1e3));
        else {
            codes_add(&h->codes, x->c.code);
            w->errors++;
            atomic_fetch_add(&h->errors, 1);
        }
        s->rid = 0;
        atomic_fetch_add(&h->answered, 1);
    }
}

/*  Gives up on x's requests older than the timeout; whether none is left. */
static bool hb_expire(hb_t *h, conn_t *x, int64_t now)
{
    while (x->oldest <= x->c.rid) {
        slot_t *s = &x->slot[x->oldest & (x->cap - 1)];
        if (s->rid == x->oldest) {
            if (now - s->sent_us < h->timeout_us)
                return false;
            h->timeouts++;
            h->win[win_of(h, s->sent_us)].errors++;
            atomic_fetch_add(&h->errors, 1);
            atomic_fetch_add(&h->answered, 1);
            s->rid = 0;
        }
        x->oldest++;
    }
    return true;
}

static void *hb_main(void *arg)
{
    hb_t *h = arg;
    conn_t *cn = calloc((size_t) h->conns, sizeof *cn);
    zmq_pollitem_t *items = calloc((size_t) h->conns, sizeof *items);
    if (!cn || !items)
        bp_die("out of memory");
    /*  Slots: room for every request of a timeout's length twice over. */
    size_t cap = 1024;
    while ((double) cap < 2 * h->rate / h->conns * (double) h->timeout_us / 1e6)
        cap *= 2;
    for (int i = 0; i < h->conns; i++) {
        char name[16];
        snprintf(name, sizeof name, "hb-%c%d", 'A' + h->replica, i);
        cli_open(&cn[i].c, name, h->endpoint);
        if (!(cn[i].slot = calloc(cap, sizeof *cn[i].slot)))
            bp_die("out of memory");
        cn[i].cap = cap;
        cn[i].oldest = 1;
        items[i] = (zmq_pollitem_t) { cn[i].c.sock, 0, ZMQ_POLLIN, 0 };
    }
    long mine = (h->nodes - h->replica + NREPLICAS - 1) / NREPLICAS;
    int64_t end = h->start_us + (int64_t) h->nwin * h->win_us;
    uint64_t k = 0;                 /* requests sent */
    char id[32];
    sleep_us(h->start_us - now_us());
    for (;;) {
        int64_t now = now_us();
        /*  Every request due by now, each node on its own connection. */
        while (now < end) {
            int64_t due = h->start_us + (int64_t) ((double) k * 1e6 / h->rate);
            if (due > now || due >= end)
                break;
            long j = (long) (k % (uint64_t) mine);
            conn_t *x = &cn[j % h->conns];
            slot_t *s = &x->slot[(x->c.rid + 1) & (x->cap - 1)];
            if (s->rid) {
                h->held++;
                break;
            }
            node_id(id, sizeof id, h->replica + NREPLICAS * j);
            cli_begin(&x->c, "node.heartbeat", 2);
            cli_pack_str(&x->c.pk, "id");
            cli_pack_str(&x->c.pk, id);
            cli_pack_str(&x->c.pk, "ready");
            msgpack_pack_true(&x->c.pk);
            cli_send(&x->c);
            *s = (slot_t) { x->c.rid, now_us() };
            h->win[win_of(h, s->sent_us)].sent++;
            atomic_fetch_add(&h->sent, 1);
            k++;
        }
        bool idle = true;
        now = now_us();
        for (int i = 0; i < h->conns; i++) {
            if (items[i].revents & ZMQ_POLLIN)  /* only those with replies: a poll each */
                hb_replies(h, &cn[i]);
            idle &= hb_expire(h, &cn[i], now);
        }
        if (now >= end && idle)
            break;                  /* all sent, all answered or given up */
        /*  A reply, or the next request's due time (at most 10 ms). */
        int64_t wake = now + 10000;
        if (now < end) {
            int64_t due = h->start_us + (int64_t) ((double) k * 1e6 / h->rate);
            if (due < wake)
                wake = due;
        }
        if (zmq_poll(items, h->conns, wake > now ? (long) ((wake - now + 999) / 1000) : 0) < 0)
            for (int i = 0; i < h->conns; i++)
                items[i].revents = ZMQ_POLLIN;      /* EINTR: look at all of them */
    }
    for (int i = 0; i < h->conns; i++) {
        free(cn[i].slot);
        cli_close(&cn[i].c);
    }
    free(cn);
    free(items);
    return NULL;
}

/* ----------------------------------------------------------- readers -- */

static void *reader_main(void *arg)
{
    reader_t *r = arg;
    cli_t c;
    char name[16];
    snprintf(name, sizeof name, "list-%c", 'A' + r->replica);
    cli_open(&c, name, r->endpoint);
    int k = r->first_rack;
    while (now_us() < r->end_us) {
        k = (k + 1) % 100;
        long n = 0;
        int64_t t = now_us();
        int rc = list_rack(&c, k, r->timeout_ms, &n);
        double ms = (double) (now_us() - t) / 1e3;
        if (rc == 0) {
            if (r->n == r->cap) {
                r->cap = r->cap ? 2 * r->cap : 4096;
                if (!(r->lat = realloc(r->lat, r->cap * sizeof *r->lat)))
                    bp_die("out of memory");
            }
            r->lat[r->n++] = ms;
            if (n != rack_size(r->nodes, k))
                r->short_lists++;
        }
        else {
            if (rc < 0)
                r->timeouts++;
            codes_add(&r->codes, rc < 0 ? "timeout" : c.code);
            atomic_fetch_add(&r->errors, 1);
        }
        atomic_fetch_add(&r->lists, 1);
        sleep_ms(r->pause_ms);
    }
    cli_close(&c);
    return NULL;
}

/* ------------------------------------------------------------ figure -- */

static void codes_note(const char *who, const codes_t *c)
{
    for (uint32_t i = 0; i < c->n; i++)
        note("  %s: %" PRIu64 " x %s", who, c->c[i].count, c->c[i].code);
}

int fig_soak(void)
{
    long secs = env_long("MT_BENCH_SOAK_S", 600, 2, 7 * 86400);
    long win_s = env_long("MT_BENCH_SOAK_WINDOW_S", secs >= 180 ? 60 : (secs / 3 > 0 ? secs / 3 : 1),
                          1, 86400);
    long rate = env_long("MT_BENCH_SOAK_RATE", 0, 0, 10000000);
    long nodes = env_long("MT_BENCH_SOAK_NODES", 10000, NREPLICAS, 10000000);
    int conns = (int) env_long("MT_BENCH_SOAK_CONNS", 8, 1, 1024);
    int readers = (int) env_long("MT_BENCH_SOAK_READERS", 1, 0, 64);
    int pause_ms = (int) env_long("MT_BENCH_SOAK_READ_MS", 50, 0, 60000);
    int timeout_ms = (int) env_long("MT_BENCH_SOAK_TIMEOUT_MS", 10000, 100, 3600000);
    long quiet_s = env_long("MT_BENCH_SOAK_QUIET_S", 8, 0, 3600);
    if (rate <= 0) {
        note("MT_BENCH_SOAK_RATE: heartbeats per second in all (scripts/bench soak measures"
             " the e2e maximum and passes half of it)");
        return 2;
    }
    int nwin = (int) (secs / win_s);
    if (nwin < 2) {
        note("MT_BENCH_SOAK_S (%ld) must hold at least two windows of MT_BENCH_SOAK_WINDOW_S (%ld)",
             secs, win_s);
        return 2;
    }

    /*  Every process first: forks happen before any thread. */
    bp_proc_t *p[NREPLICAS];
    cli_t c[NREPLICAS];
    for (int r = 0; r < NREPLICAS; r++)
        p[r] = start_replica(r, NULL);
    for (int r = 0; r < NREPLICAS; r++) {
        char name[4] = { (char) ('A' + r), 0 };
        cli_open(&c[r], name, p[r]->endpoint);
        cli_wait_ready(&c[r], p[r], 30000);
    }
    for (int r = 0; r < NREPLICAS; r++) {
        cli_wait_members(&c[r], NREPLICAS, 30000);
        wait_peers(&c[r], NREPLICAS - 1, 30000);
    }
    int64_t t_reg = now_us();
    for (int r = 0; r < NREPLICAS; r++)
        register_nodes(&c[r], r, nodes);
    for (int r = 0; r < NREPLICAS; r++)
        wait_listed(&c[r], nodes, 60000);
    note("%ld nodes registered (a third on each replica) and listed everywhere in %.1f s", nodes,
         (double) (now_us() - t_reg) / 1e6);
    note("soak: %ld s in %d windows of %ld s; %ld heartbeats/s in all (%.1f per node and second)"
         " over %d connections per replica, %d reader(s) per replica pausing %d ms; timeout %d ms",
         (long) nwin * win_s, nwin, win_s, rate, (double) rate / (double) nodes, conns, readers,
         pause_ms, timeout_ms);

    const int64_t win_us = win_s * 1000000;
    int64_t start = now_us() + 200000;          /* the threads' sockets connected */
    int64_t end = start + (int64_t) nwin * win_us;
    hb_t hb[NREPLICAS];
    reader_t *rd = calloc((size_t) (NREPLICAS * readers) + 1, sizeof *rd);
    pthread_t hb_th[NREPLICAS], *rd_th = calloc((size_t) (NREPLICAS * readers) + 1, sizeof *rd_th);
    if (!rd || !rd_th)
        bp_die("out of memory");
    pid_t pids[NREPLICAS];
    for (int r = 0; r < NREPLICAS; r++) {
        pids[r] = p[r]->pid;
        hb[r] = (hb_t) { .replica = r, .endpoint = p[r]->endpoint, .nodes = nodes,
                         .rate = (double) rate / NREPLICAS, .start_us = start, .win_us = win_us,
                         .timeout_us = (int64_t) timeout_ms * 1000, .nwin = nwin,
                         .conns = conns };
        if (!(hb[r].win = calloc((size_t) nwin, sizeof *hb[r].win)))
            bp_die("out of memory");
        if (pthread_create(&hb_th[r], NULL, hb_main, &hb[r]) != 0)
            bp_die("pthread_create");
        for (int i = 0; i < readers; i++) {
            reader_t *x = &rd[r * readers + i];
            *x = (reader_t) { .replica = r, .endpoint = p[r]->endpoint, .nodes = nodes,
                              .end_us = end, .timeout_ms = timeout_ms, .pause_ms = pause_ms,
                              .first_rack = 37 * (r * readers + i) };
            if (pthread_create(&rd_th[r * readers + i], NULL, reader_main, x) != 0)
                bp_die("pthread_create");
        }
    }
    sleep_us(start - now_us());
    rss_sampler_t rs;
    rss_start(&rs, pids, NREPLICAS, 1000);
    cpu_win_t cpu = { 0 };
    static const char *const names[NREPLICAS] = { "A", "B", "C" };
    for (int r = 0; r < NREPLICAS; r++)
        cpu_add(&cpu, names[r], pids[r]);
    cpu_add_db(&cpu);
    cpu_add(&cpu, "bench", getpid());

    /*  Progress, one line per window, while the threads work. */
    uint64_t sent0 = 0, ans0 = 0, err0 = 0, lists0 = 0;
    for (int w = 0; w < nwin; w++) {
        cpu_begin(&cpu);
        sleep_us(start + (int64_t) (w + 1) * win_us - now_us());
        uint64_t sent = 0, ans = 0, err = 0, lists = 0;
        for (int r = 0; r < NREPLICAS; r++) {
            sent += atomic_load(&hb[r].sent);
            ans += atomic_load(&hb[r].answered);
            err += atomic_load(&hb[r].errors);
        }
        for (int i = 0; i < NREPLICAS * readers; i++) {
            lists += atomic_load(&rd[i].lists);
            err += atomic_load(&rd[i].errors);
        }
        long each[NREPLICAS];
        long sum = rss_now(pids, NREPLICAS, each);
        for (int r = 0; r < NREPLICAS; r++)
            if (!bp_running(p[r]))
                bp_die("%s ended during the soak", names[r]);
        /*  What the replicas hold at this moment: requests in flight in the
            gateway, messages waiting in actor mailboxes. */
        uint64_t infl[NREPLICAS], mbox[NREPLICAS];
        for (int r = 0; r < NREPLICAS; r++) {
            infl[r] = cli_stat(&c[r], "requests_in_flight");
            mbox[r] = cli_stat(&c[r], "mailbox_depth");
        }
        note("window %d/%d: %.0f heartbeats/s sent, %" PRIu64 " answered, %" PRIu64
             " errors, %" PRIu64 " lists; VmRSS A %.1f B %.1f C %.1f = %.1f MB; in flight"
             " %" PRIu64 "/%" PRIu64 "/%" PRIu64 ", mailboxes %" PRIu64 "/%" PRIu64 "/%" PRIu64,
             w + 1, nwin, (double) (sent - sent0) / (double) win_s, ans - ans0, err - err0,
             lists - lists0, (double) each[0] / MB, (double) each[1] / MB, (double) each[2] / MB,
             (double) sum / MB, infl[0], infl[1], infl[2], mbox[0], mbox[1], mbox[2]);
        char what[64];
        snprintf(what, sizeof what, "window %d/%d", w + 1, nwin);
        cpu_end(&cpu, what, 0);
        sent0 = sent, ans0 = ans, err0 = err, lists0 = lists;
    }
    for (int r = 0; r < NREPLICAS; r++)
        pthread_join(hb_th[r], NULL);
    for (int i = 0; i < NREPLICAS * readers; i++)
        pthread_join(rd_th[i], NULL);
    rss_stop(&rs);
    /*  No request at all meanwhile: the gateways must see it quiet. */
    sleep_ms(quiet_s * 1000);
    long quiet[NREPLICAS];
    long quiet_sum = rss_now(pids, NREPLICAS, quiet);
    for (int r = 0; r < NREPLICAS; r++)
        if (!bp_running(p[r]))
            bp_die("%s ended during the soak", names[r]);

    /*  Per window: latencies pooled over the replicas, RSS. */
    double p99_first = 0, p99_last = 0;
    uint64_t errors = 0, timeouts = 0, late = 0, held = 0, short_lists = 0;
    for (int w = 0; w < nwin; w++) {
        size_t n = 0;
        uint64_t sent = 0, werr = 0;
        for (int r = 0; r < NREPLICAS; r++)
            n += hb[r].win[w].n;
        double *all = malloc((n + 1) * sizeof *all);
        if (!all)
            bp_die("out of memory");
        n = 0;
        for (int r = 0; r < NREPLICAS; r++) {
            win_t *x = &hb[r].win[w];
            for (size_t i = 0; i < x->n; i++)
                all[n++] = x->lat[i];
            sent += x->sent;
            werr += x->errors;
            free(x->lat);
        }
        qsort(all, n, sizeof *all, cmp_double);
        double p99 = pct(all, n, 0.99);
        if (w == 0)
            p99_first = p99;
        if (w == nwin - 1)
            p99_last = p99;
        size_t count;
        double mean = rss_mean(&rs, -1, (double) w * (double) win_s,
                               (double) (w + 1) * (double) win_s, &count);
        note("window %d: %" PRIu64 " heartbeats (%.0f/s), %" PRIu64 " failed; latency ms p50 %.3f"
             " p99 %.3f p99.9 %.3f max %.3f; VmRSS sum mean %.1f MB (%zu samples: A %.1f B %.1f"
             " C %.1f)", w + 1, sent, (double) sent / (double) win_s, werr, pct(all, n, 0.5),
             p99, pct(all, n, 0.999), n ? all[n - 1] : 0.0, mean / MB, count,
             rss_mean(&rs, 0, (double) w * (double) win_s, (double) (w + 1) * (double) win_s, NULL) / MB,
             rss_mean(&rs, 1, (double) w * (double) win_s, (double) (w + 1) * (double) win_s, NULL) / MB,
             rss_mean(&rs, 2, (double) w * (double) win_s, (double) (w + 1) * (double) win_s, NULL) / MB);
        free(all);
    }
    double second = rss_mean(&rs, -1, (double) win_s, 2.0 * (double) win_s, NULL);
    double last = rss_mean(&rs, -1, (double) (nwin - 1) * (double) win_s,
                           (double) nwin * (double) win_s, NULL);
    for (int r = 0; r < NREPLICAS; r++) {
        errors += atomic_load(&hb[r].errors);
        timeouts += hb[r].timeouts;
        late += hb[r].late;
        held += hb[r].held;
        codes_note(names[r], &hb[r].codes);
        free(hb[r].win);
    }
    double *lat = NULL;
    size_t nlat = 0;
    uint64_t lists = 0;
    for (int i = 0; i < NREPLICAS * readers; i++) {
        errors += atomic_load(&rd[i].errors);
        timeouts += rd[i].timeouts;
        short_lists += rd[i].short_lists;
        lists += atomic_load(&rd[i].lists);
        codes_note("node.list", &rd[i].codes);
        if (!(lat = realloc(lat, (nlat + rd[i].n + 1) * sizeof *lat)))
            bp_die("out of memory");
        memcpy(lat + nlat, rd[i].lat, rd[i].n * sizeof *lat);
        nlat += rd[i].n;
        free(rd[i].lat);
    }
    qsort(lat, nlat, sizeof *lat, cmp_double);
    note("node.list (one rack): %" PRIu64 " lists, latency ms p50 %.3f p99 %.3f max %.3f;"
         " %" PRIu64 " short of the rack", lists, pct(lat, nlat, 0.5), pct(lat, nlat, 0.99),
         nlat ? lat[nlat - 1] : 0.0, short_lists);
    note("errors %" PRIu64 " (timeouts %" PRIu64 "); %" PRIu64 " replies after their timeout;"
         " %" PRIu64 " times a due heartbeat found no free slot", errors, timeouts, late, held);
    for (int r = 0; r < NREPLICAS; r++)
        note("%s: requests %" PRIu64 ", busy %" PRIu64 ", busy_stash %" PRIu64 ", expired %"
             PRIu64 ", timeouts %" PRIu64 ", replies_dropped %" PRIu64 ", store rows %" PRIu64
             " in %" PRIu64 " batches, notice_gaps %" PRIu64 ", reloads %" PRIu64, names[r],
             cli_stat(&c[r], "requests"), cli_stat(&c[r], "requests_busy"),
             cli_stat(&c[r], "requests_busy_stash"), cli_stat(&c[r], "requests_expired"),
             cli_stat(&c[r], "request_timeouts"), cli_stat(&c[r], "replies_dropped"),
             cli_stat(&c[r], "store_rows"), cli_stat(&c[r], "store_batches"),
             cli_stat(&c[r], "notice_gaps"), cli_stat(&c[r], "reloads"));
    /*  Its heap trimmer (0 from a metactord without one): how often the
        freed heap went back under load (what a trim took is in /metrics,
        metactor_heap_trim_max_seconds). */
    for (int r = 0; r < NREPLICAS; r++) {
        uint64_t trims = cli_stat_or(&c[r], "heap_trims", 0);
        uint64_t free_kb = cli_stat_or(&c[r], "heap_free_bytes", 0) / 1024;
        note("%s heap: heap_trims %" PRIu64 ", free %" PRIu64 " KiB", names[r], trims, free_kb);
    }
    note("VmRSS sum: second window %.1f MB, last window %.1f MB; after %ld s without a request"
         " A %.1f B %.1f C %.1f = %.1f MB", second / MB, last / MB, quiet_s,
         (double) quiet[0] / MB, (double) quiet[1] / MB, (double) quiet[2] / MB,
         (double) quiet_sum / MB);
    emit_fig("soak_rss_drift", second > 0 ? 100.0 * (last - second) / second : 0, "%");
    emit_fig("soak_p99_first", p99_first, "ms");
    emit_fig("soak_p99_last", p99_last, "ms");
    emit_fig("soak_errors", (double) errors, "count");
    free(lat);
    free(rd);
    free(rd_th);
    rss_free(&rs);
    for (int r = 0; r < NREPLICAS; r++)
        cli_close(&c[r]);
    return 0;
}
