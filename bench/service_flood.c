/*  service_flood.c — mt_bench_service's flood figure (issue 10, section 1):
    how much memory one client that never reads can make a replica take,
    and how much of it the replica keeps once that client is gone.

    Replica A with one node registered (the typical registration) and
    heartbeated once; A's VmRSS is read after 1 s of quiet. Then one DEALER
    sends MT_BENCH_FLOOD_N (300,000) pipelined node.heartbeat requests for
    that node ({id, ready}, metactl load's body) and never reads a reply,
    while a thread samples A's VmRSS every 50 ms. Once A has read every
    request and has none in flight, the flooding client is closed and A is
    left alone for MT_BENCH_FLOOD_WAIT_S seconds (default 8: the pools
    give slabs back every 2 s, the gateway trims the heap after 1 s without
    a request and at most every 5 s), sampled all along.

    flood_rss_growth  MB (2^20 bytes): the largest sample - VmRSS before
    flood_rss_after   MB: the last sample (end of the wait) - VmRSS before

    MT_BENCH_FLOOD_NODES (default 1: the figure as defined) spreads the flood
    round-robin over that many nodes, each registered first: then the
    per-node stash (--max-stash) no longer bounds the flood, only the
    connection's in-flight limit (--max-inflight-client) does.

    Diagnostics: the replica's admission counters after the flood
    (requests_busy, replies_dropped, requests_busy_stash, requests_expired,
    request_timeouts) and its heap trimmer's after the wait, how long the
    flood took to send and to drain, how fast another client was answered
    right after it, and the RSS curve. */
#include "service_bench.h"

#include <inttypes.h>
#include <unistd.h>

#define MB (1024.0 * 1024.0)

/*  Flood requests A has read: its `requests` counter less r0 and less the
    replica.stats calls made since r0's (they are requests too). */
static uint64_t flood_read(cli_t *a, uint64_t r0, uint64_t *calls)
{
    ++*calls;
    return cli_stat(a, "requests") - r0 - *calls;
}

int fig_flood(void)
{
    long n = env_long("MT_BENCH_FLOOD_N", 300000, 1, 100000000);
    long wait_s = env_long("MT_BENCH_FLOOD_WAIT_S", 8, 1, 3600);
    long nodes = env_long("MT_BENCH_FLOOD_NODES", 1, 1, 100000);
    bp_proc_t *pa = start_replica(0, NULL);
    cli_t a;
    cli_open(&a, "A", pa->endpoint);
    cli_wait_ready(&a, pa, 30000);
    char id[32];
    for (long i = 0; i < nodes; i++) {
        snprintf(id, sizeof id, "flood-%ld", i);
        reg_node(&a, id);
        heartbeat(&a, id, wall_ms());
    }

    static const char *const keys[] = { "requests_busy", "replies_dropped", "requests_busy_stash",
                                        "requests_expired", "request_timeouts", NULL };
    uint64_t before[sizeof keys / sizeof keys[0]];
    for (int i = 0; keys[i]; i++)
        before[i] = cli_stat(&a, keys[i]);
    sleep_ms(1000);                 /* quiet: nothing left over from the start */
    pid_t pid = pa->pid;
    long rss0 = proc_rss_bytes(pid);
    if (rss0 < 0)
        bp_die("cannot read A's VmRSS");
    note("A before the flood: VmRSS %.1f MB; %ld pipelined node.heartbeat (%ld node%s) from one"
         " DEALER that never reads, then %ld s alone", (double) rss0 / MB, n, nodes,
         nodes > 1 ? "s" : "", wait_s);

    rss_sampler_t rs;
    rss_start(&rs, &pid, 1, 50);
    cpu_win_t cpu = { 0 };
    cpu_add(&cpu, "A", pid);
    cpu_add_db(&cpu);
    cpu_add(&cpu, "bench", getpid());
    cpu_begin(&cpu);
    int64_t t0 = now_us();
    cli_t f;
    cli_open(&f, "flood", pa->endpoint);
    /*  A replica that stopped reading altogether would block the flood
        forever (the DEALER's own high-water mark): fail instead. */
    int sndtimeo = 60000;
    zmq_setsockopt(f.sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo);
    uint64_t r0 = cli_stat(&a, "requests");
    for (long k = 0; k < n; k++) {
        snprintf(id, sizeof id, "flood-%ld", k % nodes);
        cli_begin(&f, "node.heartbeat", 2);
        cli_pack_str(&f.pk, "id");
        cli_pack_str(&f.pk, id);
        cli_pack_str(&f.pk, "ready");
        msgpack_pack_true(&f.pk);
        cli_send(&f);
    }
    int64_t t_sent = now_us();
    /*  Another client right after the flood was sent: answered at once? */
    uint64_t calls = 0;
    uint64_t got = flood_read(&a, r0, &calls);
    double probe_ms = (double) (now_us() - t_sent) / 1e3;
    /*  Until A has read all of it and answered (or dropped the answer to)
        every request. */
    int64_t deadline = now_us() + 300 * 1000000LL;
    for (;;) {
        if (got >= (uint64_t) n && (++calls, cli_stat(&a, "requests_in_flight") == 0))
            break;
        if (!bp_running(pa))
            bp_die("A ended during the flood");
        if (now_us() > deadline)
            bp_die("A read %" PRIu64 " of %ld requests in 300 s", got, n);
        sleep_ms(100);
        got = flood_read(&a, r0, &calls);
    }
    int64_t t_drained = now_us();
    cpu_end(&cpu, "flood (send + drain)", 0);
    uint64_t d[sizeof keys / sizeof keys[0]];
    for (int i = 0; keys[i]; i++)
        d[i] = cli_stat(&a, keys[i]) - before[i];
    cli_close(&f);
    int64_t t_closed = now_us();
    sleep_ms(wait_s * 1000);        /* no request meanwhile: the gateway must see it quiet */
    rss_stop(&rs);
    if (!bp_running(pa))
        bp_die("A ended after the flood");

    note("flood sent in %.2f s, read and answered by A %.2f s after; another client's"
         " replica.stats then answered in %.1f ms", (double) (t_sent - t0) / 1e6,
         (double) (t_drained - t_sent) / 1e6, probe_ms);
    note("A's counters over the flood: requests_busy %" PRIu64 ", replies_dropped %" PRIu64
         ", requests_busy_stash %" PRIu64 ", requests_expired %" PRIu64
         ", request_timeouts %" PRIu64 " (of %ld requests)", d[0], d[1], d[2], d[3], d[4], n);
    /*  What the heap trimmer saw (0 from a metactord without one). */
    uint64_t free_kb = cli_stat_or(&a, "heap_free_bytes", 0) / 1024;
    uint64_t trims = cli_stat_or(&a, "heap_trims", 0);
    note("A's heap after the wait: free %" PRIu64 " KiB, heap_trims %" PRIu64, free_kb, trims);
    if (rs.len == 0)
        bp_die("no RSS sample");
    size_t pk = rss_peak(&rs);
    const rss_sample_t *last = &rs.s[rs.len - 1];
    note("A's VmRSS: before %.1f MB, peak %.1f MB at %.2f s, %.1f MB at the end (%.1f s after"
         " the client closed)", (double) rss0 / MB, (double) rs.s[pk].sum / MB, rs.s[pk].t,
         (double) last->sum / MB, (double) (t0 + (int64_t) (last->t * 1e6) - t_closed) / 1e6);
    /*  The curve, one value per 0.5 s: where the memory went up and down. */
    char line[4096];
    int len = snprintf(line, sizeof line, "A's VmRSS (MB) every 0.5 s from the flood's start"
                       " (sent %.1f s, drained %.1f s, closed %.1f s):",
                       (double) (t_sent - t0) / 1e6, (double) (t_drained - t0) / 1e6,
                       (double) (t_closed - t0) / 1e6);
    double next = 0;
    for (size_t i = 0; i < rs.len && len < (int) sizeof line - 16; i++)
        if (rs.s[i].t >= next) {
            len += snprintf(line + len, sizeof line - (size_t) len, " %.0f",
                            (double) rs.s[i].sum / MB);
            next += 0.5;
        }
    note("%s", line);
    emit_fig("flood_rss_growth", (double) (rs.s[pk].sum - rss0) / MB, "MB");
    emit_fig("flood_rss_after", (double) (last->sum - rss0) / MB, "MB");
    rss_free(&rs);
    cli_close(&a);
    return 0;
}
