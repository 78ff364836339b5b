/*  service_conv.c — mt_bench_service's convergence figures: how soon a
    heartbeat acknowledged by replica A shows on replica B, with notices
    (convergence) and by reloads alone (convergence_reload_only). */
#include "service_bench.h"

#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

/*  Replicas A and B (B with extra_b's flags) answering, a client of each. */
static void start_pair(const char *const *extra_b, bp_proc_t **pa, bp_proc_t **pb, cli_t *a,
                       cli_t *b)
{
    *pa = start_replica(0, NULL);
    *pb = start_replica(1, extra_b);
    cli_open(a, "A", (*pa)->endpoint);
    cli_open(b, "B", (*pb)->endpoint);
    cli_wait_ready(a, *pa, 30000);
    cli_wait_ready(b, *pb, 30000);
}

static void report_conv(const char *what, double *lat_us, size_t n)
{
    qsort(lat_us, n, sizeof *lat_us, cmp_double);
    note("%s over %zu writes (ms): p50 %.3f p90 %.3f p99 %.3f max %.3f", what, n,
         pct(lat_us, n, 0.5) / 1e3, pct(lat_us, n, 0.9) / 1e3, pct(lat_us, n, 0.99) / 1e3,
         lat_us[n - 1] / 1e3);
}

/*  Notices on: one write at a time; after its reply from A, B is polled
    with node.get (a pause of MT_BENCH_POLL_US between polls) until it shows
    the write's status_revision. The figure is an upper bound: the time of
    the reply to the first poll that shows it; "sent" below is the send time
    of that poll (the change became visible between the previous poll's read
    and this one's). */
int fig_convergence(void)
{
    long writes = env_long("MT_BENCH_CONV_WRITES", 2000, 1, 10000000);
    long poll_us = env_long("MT_BENCH_POLL_US", 50, 0, 1000000);
    bp_proc_t *pa, *pb;
    cli_t a, b;
    start_pair(NULL, &pa, &pb, &a, &b);
    wait_peers(&a, 1, 15000);
    wait_peers(&b, 1, 15000);
    const char *id = "conv-0";
    reg_node(&a, id);
    int64_t base = wall_ms();
    uint64_t rev = heartbeat(&a, id, base);
    wait_visible(&b, id, rev, 10000);
    for (int i = 1; i <= 100; i++)              /* warm-up */
        wait_visible(&b, id, heartbeat(&a, id, base + i), 10000);

    double *lat = calloc((size_t) writes, sizeof *lat);
    double *lat_sent = calloc((size_t) writes, sizeof *lat);
    double *wr = calloc((size_t) writes, sizeof *wr);
    if (!lat || !lat_sent || !wr)
        bp_die("out of memory");
    uint64_t polls = 0, first_hits = 0;
    uint64_t recv0 = cli_stat(&b, "notices_received"), gaps0 = cli_stat(&b, "notice_gaps");
    cpu_win_t cpu = { 0 };
    cpu_add(&cpu, "A", pa->pid);
    cpu_add(&cpu, "B", pb->pid);
    cpu_add_db(&cpu);
    cpu_add(&cpu, "bench", getpid());
    cpu_begin(&cpu);
    for (long i = 0; i < writes; i++) {
        int64_t ts = now_us();
        rev = heartbeat(&a, id, base + 101 + i);
        int64_t t0 = now_us();
        wr[i] = (double) (t0 - ts);
        uint64_t r = 0;
        int64_t sent;
        for (int k = 0;; k++) {
            if (k > 0)
                sleep_us(poll_us);
            sent = now_us();
            polls++;
            if (get_rev(&b, id, &r) == 0 && r >= rev) {
                first_hits += k == 0;
                break;
            }
            if (now_us() - t0 > 10 * 1000000LL)
                bp_die("write %ld (status revision %" PRIu64 ") not on B after 10 s (B at %" PRIu64 ")",
                    i, rev, r);
        }
        int64_t t1 = now_us();
        lat[i] = (double) (t1 - t0);
        lat_sent[i] = (double) (sent > t0 ? sent - t0 : 0);
    }
    cpu_end(&cpu, "convergence", 0);
    uint64_t recv = cli_stat(&b, "notices_received") - recv0;
    uint64_t gaps = cli_stat(&b, "notice_gaps") - gaps0;

    report_conv("write latency on A (send → reply)", wr, (size_t) writes);
    report_conv("convergence, to the send of the poll that saw it", lat_sent, (size_t) writes);
    report_conv("convergence, to the reply of the poll that saw it", lat, (size_t) writes);
    note("%.2f polls per write; %.1f%% of writes already visible at the first poll; "
         "poll pause %ld us", (double) polls / (double) writes,
         100.0 * (double) first_hits / (double) writes, poll_us);
    note("B: %" PRIu64 " notices received, %" PRIu64 " gaps during the run", recv, gaps);
    if (!bp_running(pa) || !bp_running(pb))
        bp_die("a replica ended during the run");
    emit_fig("convergence_p50", pct(lat, (size_t) writes, 0.5) / 1e3, "ms");
    emit_fig("convergence_p99", pct(lat, (size_t) writes, 0.99) / 1e3, "ms");
    free(lat);
    free(lat_sent);
    free(wr);
    cli_close(&a);
    cli_close(&b);
    return 0;
}

/*  Notices off: B runs --subscribe 0 and learns only from its reload.
    Writes to K distinct nodes go to A at random gaps (uniform 0..2R/5, so
    their phase against B's reload timer is random); every millisecond each
    outstanding node is polled on B. */
int fig_convergence_reload_only(void)
{
    long reload_ms = env_long("MT_BENCH_RELOAD_MS", 1000, 10, 3600000);
    long k_writes = env_long("MT_BENCH_RELOAD_WRITES", 50, 1, 100000);
    char interval[32];
    snprintf(interval, sizeof interval, "%ld", reload_ms);
    const char *extra_b[] = { "--subscribe", "0", "--reload-interval", interval, NULL };
    bp_proc_t *pa, *pb;
    cli_t a, b;
    start_pair(extra_b, &pa, &pb, &a, &b);

    size_t k = (size_t) k_writes;
    char (*ids)[32] = calloc(k, sizeof *ids);
    uint64_t *want = calloc(k, sizeof *want);
    int64_t *t0 = calloc(k, sizeof *t0);
    double *lat = calloc(k, sizeof *lat);
    if (!ids || !want || !t0 || !lat)
        bp_die("out of memory");
    int64_t base = wall_ms();
    for (size_t i = 0; i < k; i++) {
        snprintf(ids[i], sizeof ids[i], "reload-%04zu", i);
        reg_node(&a, ids[i]);
        want[i] = heartbeat(&a, ids[i], base);
    }
    /*  B's first node.get of a node loads it from the database; afterwards
        only its reload brings changes. */
    for (size_t i = 0; i < k; i++)
        wait_visible(&b, ids[i], want[i], 10000);
    sleep_us(2 * reload_ms * 1000);
    uint64_t recv0 = cli_stat(&b, "notices_received");

    unsigned int seed = (unsigned int) now_us();
    size_t sent = 0, done = 0;
    bool *pending = calloc(k, sizeof *pending);
    if (!pending)
        bp_die("out of memory");
    int64_t next = now_us() + (int64_t) (rand_r(&seed) % (unsigned) (2 * reload_ms * 1000 / 5 + 1));
    int64_t deadline = now_us() + (int64_t) k * reload_ms * 1000 + 60 * 1000000LL;
    while (done < k) {
        if (now_us() > deadline)
            bp_die("%zu of %zu writes not on B in time", k - done, k);
        if (sent < k && now_us() >= next) {
            want[sent] = heartbeat(&a, ids[sent], base + 1 + (int64_t) sent);
            t0[sent] = now_us();
            pending[sent] = true;
            sent++;
            next = now_us() + (int64_t) (rand_r(&seed) % (unsigned) (2 * reload_ms * 1000 / 5 + 1));
        }
        for (size_t i = 0; i < sent; i++) {
            uint64_t r = 0;
            if (pending[i] && get_rev(&b, ids[i], &r) == 0 && r >= want[i]) {
                lat[done++] = (double) (now_us() - t0[i]);
                pending[i] = false;
            }
        }
        sleep_us(1000);
    }
    uint64_t recv = cli_stat(&b, "notices_received") - recv0;
    report_conv("reload-only convergence", lat, k);
    note("B: reload interval %ld ms, %" PRIu64 " notices received during the run (must be 0)",
         reload_ms, recv);
    if (recv != 0)
        bp_die("B received notices although started with --subscribe 0");
    emit("convergence_reload_only_p99", pct(lat, k, 0.99) / 1e3, "ms");
    free(ids);
    free(want);
    free(t0);
    free(lat);
    free(pending);
    cli_close(&a);
    cli_close(&b);
    return 0;
}
