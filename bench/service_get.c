/*  service_get.c — mt_bench_service's get figure: node.get through one
    replica's gateway against a bare zmq ROUTER echo answering the same
    clients with a body of the same size; client threads with a fixed
    number of requests in flight each. Under CURVE (get_curve) the clients,
    the replica and the echo server all speak it. */
#include "service_bench.h"

#include "mt_client.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct {
    const char *endpoint;
    const void *req;                /* the request body, sent as is */
    size_t req_size;
    int inflight;
    int64_t warm_ns, end_ns;        /* the timed window */
    pthread_barrier_t *barrier;
    atomic_bool *stop;
    double *lat;                    /* µs, requests sent and answered in the window */
    size_t nlat, cap;
    uint64_t done;                  /* replies received in the window */
    uint64_t bad;                   /* replies without ok = true */
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    void *s = zmq_socket(cli_zctx(), ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    cli_curve(s);
    if (zmq_connect(s, w->endpoint) != 0)
        bp_die("client: cannot connect to %s", w->endpoint);
    int64_t *sent = calloc((size_t) w->inflight, sizeof *sent);   /* FIFO of send times */
    if (!sent)
        bp_die("out of memory");
    size_t head = 0, tail = 0, n = 0, cap = (size_t) w->inflight;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    zmq_msg_t in;
    zmq_msg_init(&in);
    pthread_barrier_wait(w->barrier);
    while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
        while (n < cap) {
            sent[tail] = now_ns();
            tail = (tail + 1) % cap;
            n++;
            zmq_send(s, "", 0, ZMQ_SNDMORE);
            zmq_send(s, w->req, w->req_size, 0);
        }
        zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        int more = 1;
        while (more) {
            if (zmq_msg_recv(&in, s, 0) < 0)
                break;
            more = zmq_msg_more(&in);
        }
        int64_t t = now_ns();
        int64_t t_sent = sent[head];
        head = (head + 1) % cap;
        n--;
        /*  The same client work for both servers: unpack, look at "ok". */
        size_t off = 0;
        bool ok = false;
        if (msgpack_unpack_next(&u, zmq_msg_data(&in), zmq_msg_size(&in), &off)
            == MSGPACK_UNPACK_SUCCESS) {
            const msgpack_object *o = mt_client_map_first(&u.data, "ok");
            ok = o && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
        }
        if (t < w->warm_ns || t > w->end_ns)
            continue;
        w->done++;
        if (!ok)
            w->bad++;
        if (t_sent >= w->warm_ns) {
            if (w->nlat == w->cap) {
                w->cap = w->cap ? 2 * w->cap : 65536;
                w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
                if (!w->lat)
                    bp_die("out of memory");
            }
            w->lat[w->nlat++] = (double) (t - t_sent) / 1e3;
        }
    }
    msgpack_unpacked_destroy(&u);
    zmq_msg_close(&in);
    zmq_close(s);
    free(sent);
    return NULL;
}

/*  Replies counted and latencies of one target, pooled over rounds. */
typedef struct {
    const char *what;
    double secs;
    uint64_t done, bad;
    double *lat;
    size_t nlat;
} load_result_t;

/*  `clients` threads, each with `inflight` requests in flight, for
    0.5 s of warm-up + secs; the figures are over the last secs. */
static void run_clients(load_result_t *r, const char *endpoint, const void *req,
                        size_t req_size, int clients, int inflight, double secs,
                        cpu_win_t *cpu)
{
    worker_t *w = calloc((size_t) clients, sizeof *w);
    pthread_t *th = calloc((size_t) clients, sizeof *th);
    if (!w || !th)
        bp_die("out of memory");
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned) clients + 1);
    atomic_bool stop = false;
    const double warm_s = 0.5;
    for (int i = 0; i < clients; i++) {
        w[i] = (worker_t) { .endpoint = endpoint, .req = req, .req_size = req_size,
                            .inflight = inflight, .barrier = &barrier, .stop = &stop };
        if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0)
            bp_die("pthread_create");
    }
    sleep_us(200000);               /* connections up */
    int64_t t = now_ns();
    for (int i = 0; i < clients; i++) {
        w[i].warm_ns = t + (int64_t) (warm_s * 1e9);
        w[i].end_ns = w[i].warm_ns + (int64_t) (secs * 1e9);
    }
    pthread_barrier_wait(&barrier);
    sleep_us((int64_t) (warm_s * 1e6));
    cpu_begin(cpu);
    sleep_us((int64_t) (secs * 1e6));
    char what[64];
    snprintf(what, sizeof what, "%s:", r->what);
    cpu_end(cpu, what, 0);
    sleep_us(20000);
    atomic_store(&stop, true);
    uint64_t done = 0;
    size_t n = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        n += w[i].nlat;
        done += w[i].done;
        r->bad += w[i].bad;
    }
    r->lat = realloc(r->lat, (r->nlat + n + 1) * sizeof *r->lat);
    if (!r->lat)
        bp_die("out of memory");
    for (int i = 0; i < clients; i++) {
        memcpy(r->lat + r->nlat, w[i].lat, w[i].nlat * sizeof *r->lat);
        r->nlat += w[i].nlat;
        free(w[i].lat);
    }
    r->done += done;
    r->secs += secs;
    note("%s: %d clients x %d in flight, %.1f s: %.0f req/s", r->what, clients, inflight, secs,
         (double) done / secs);
    free(w);
    free(th);
    pthread_barrier_destroy(&barrier);
}

static double result_rps(const load_result_t *r)
{
    return r->secs > 0 ? (double) r->done / r->secs : 0;
}

/*  Sorts the pooled latencies and prints them. */
static void result_note(load_result_t *r)
{
    qsort(r->lat, r->nlat, sizeof *r->lat, cmp_double);
    note("%s over %.1f s: %.0f req/s, latency us p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f;"
         " %" PRIu64 " replies not ok", r->what, r->secs, result_rps(r),
         pct(r->lat, r->nlat, 0.5), pct(r->lat, r->nlat, 0.9), pct(r->lat, r->nlat, 0.99),
         pct(r->lat, r->nlat, 0.999), r->nlat ? r->lat[r->nlat - 1] : 0.0, r->bad);
}

/*  Echo and node.get alternate for MT_BENCH_GET_ROUNDS rounds (echo
    first); each figure pools its rounds (rate: replies / seconds;
    percentiles: over every latency). */
int fig_get(void)
{
    int clients = (int) env_long("MT_BENCH_GET_CLIENTS", 8, 1, 1024);
    int inflight = (int) env_long("MT_BENCH_GET_INFLIGHT", 1, 1, 65536);
    double secs = (double) env_long("MT_BENCH_GET_S", 5, 1, 3600);
    int rounds = (int) env_long("MT_BENCH_GET_ROUNDS", 2, 1, 100);
    bp_proc_t *pa = start_replica(0, NULL);
    cli_t a;
    cli_open(&a, "A", pa->endpoint);
    cli_wait_ready(&a, pa, 30000);
    const char *id = "get-0";
    reg_node(&a, id);
    heartbeat(&a, id, wall_ms());

    /*  The request the clients send, and a real reply, whose bytes the echo
        server sends back: same sizes both ways. */
    cli_begin(&a, "node.get", 1);
    cli_pack_str(&a.pk, "id");
    cli_pack_str(&a.pk, id);
    size_t req_size = a.sb.size;
    char *req = malloc(req_size);
    if (!req)
        bp_die("out of memory");
    memcpy(req, a.sb.data, req_size);
    if (cli_call(&a, CLI_CALL_MS, NULL) != 0)
        bp_die("node.get %s: %s", id, a.code);
    size_t reply_size = zmq_msg_size(&a.in);
    char *reply = malloc(reply_size);
    if (!reply)
        bp_die("out of memory");
    memcpy(reply, zmq_msg_data(&a.in), reply_size);
    note("node.get: request %zu bytes, reply %zu bytes; %d client threads (one DEALER each), "
         "%d request(s) in flight each; %d round(s) of %.0f s per target", req_size, reply_size,
         clients, inflight, rounds, secs);

    char echo_ep[64];
    snprintf(echo_ep, sizeof echo_ep, "tcp://127.0.0.1:%d", g_port + 9);
    echo_t e = { .endpoint = echo_ep, .blob = reply, .size = reply_size };
    echo_start(&e);

    load_result_t echo = { .what = "echo" }, get = { .what = "node.get" };
    cpu_win_t cpu_echo = { 0 }, cpu_get = { 0 };
    cpu_add(&cpu_echo, "bench (clients + echo server)", getpid());
    cpu_add(&cpu_echo, "A (idle)", pa->pid);
    cpu_add(&cpu_get, "A", pa->pid);
    cpu_add(&cpu_get, "bench (clients)", getpid());
    uint64_t req0 = cli_stat(&a, "requests"), parks0 = cli_stat(&a, "parks");
    uint64_t runs0 = cli_stat(&a, "worker_runs");
    unsigned long long a_ticks = 0;
    for (int i = 0; i < rounds; i++) {
        run_clients(&echo, echo_ep, req, req_size, clients, inflight, secs, &cpu_echo);
        run_clients(&get, pa->endpoint, req, req_size, clients, inflight, secs, &cpu_get);
        a_ticks += cpu_get.p[0].d;
    }
    uint64_t reqs = cli_stat(&a, "requests") - req0, parks = cli_stat(&a, "parks") - parks0;
    uint64_t runs = cli_stat(&a, "worker_runs") - runs0;
    result_note(&echo);
    result_note(&get);
    note("A over the node.get rounds: %" PRIu64 " requests, %" PRIu64 " worker parks (%.2f per "
         "request), %" PRIu64 " actor turns (%.2f per request), %.1f us of A's cpu per reply",
         reqs, parks, reqs ? (double) parks / (double) reqs : 0.0, runs,
         reqs ? (double) runs / (double) reqs : 0.0,
         ticks_us((double) a_ticks, (double) get.done));
    note("get_rps / echo_rps = %.0f%%", result_rps(&echo) > 0 ? 100.0 * result_rps(&get) / result_rps(&echo) : 0.0);
    echo_stop(&e);
    if (get.bad || echo.bad)
        bp_die("%" PRIu64 " node.get replies were not ok", get.bad);
    if (!bp_running(pa))
        bp_die("A ended during the run");
    emit_fig("get_rps", result_rps(&get), "requests/s");
    emit_fig("get_p50", pct(get.lat, get.nlat, 0.5), "us");
    emit_fig("get_p99", pct(get.lat, get.nlat, 0.99), "us");
    emit_fig("echo_rps", result_rps(&echo), "requests/s");
    free(get.lat);
    free(echo.lat);
    free(req);
    free(reply);
    cli_close(&a);
    return 0;
}
