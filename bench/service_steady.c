/*  service_steady.c — mt_bench_service's steady figure: what a heartbeat
    costs in CPU at a fleet's steady pace, well below the maximum (the e2e
    figure measures the ceiling instead, where CPU spent on backlogs
    blurs the cost of one heartbeat).

    Three replicas and the database, MT_BENCH_STEADY_NODES (100,000) nodes
    registered a third through each (not measured), then every node
    heartbeating every 10 s: MT_BENCH_STEADY_RATE (10,000) heartbeats/s in
    all, a third through each replica (a `metactl load` each, open loop),
    for MT_BENCH_STEADY_S (20) seconds. Over that window, CPU time divided
    by the heartbeats the replicas stored (their store_rows counters):

      steady_cpu_per_heartbeat_us          replicas + database (µs)
      steady_replicas_cpu_per_heartbeat_us the three replicas
      steady_db_cpu_per_heartbeat_us       the database server
                                           (MT_BENCH_SERVER_PID)

    The split per process, the load generators' own CPU and the rest of
    the machine are on stderr. */
#include "service_bench.h"

#include <inttypes.h>
#include <unistd.h>

#define REPLICAS 3
/*  Requests in flight per load generator while heartbeating, at most: a
    fleet is open loop — 100,000 machines do not wait for each other's
    answers — so the generator must not either. With 256 (until session 8)
    its window filled whenever a few commits were slow (p99 ~60 ms at 3,333
    heartbeats/s is ~200 in flight), it paused, and the store's writers
    heard the pause as a client's silence and committed at once for a while
    (25–30 heartbeats a commit instead of 35). 2048 is the gateway's
    default max-inflight-client. */
#define FLEET_WINDOW 2048

int fig_steady(void)
{
    long nodes = env_long("MT_BENCH_STEADY_NODES", 100000, REPLICAS, 10000000);
    long rate = env_long("MT_BENCH_STEADY_RATE", 10000, REPLICAS, 10000000);
    long secs = env_long("MT_BENCH_STEADY_S", 20, 1, 3600);
    bp_proc_t *p[REPLICAS];
    cli_t c[REPLICAS];
    replicas_start(REPLICAS, p, c);

    static const char *const prefixes[REPLICAS] = { "sa", "sb", "sc" };
    loader_t ld[REPLICAS];
    note("registering %ld nodes, a third through each replica", nodes);
    for (int i = 0; i < REPLICAS; i++)
        loader_start(&ld[i], p[i]->endpoint, prefixes[i], nodes / REPLICAS, 1, 1, 256, 0, true);
    for (int i = 0; i < REPLICAS; i++)
        loader_finish(&ld[i]);

    uint64_t r0[REPLICAS], b0[REPLICAS];
    for (int i = 0; i < REPLICAS; i++) {
        r0[i] = cli_stat(&c[i], "store_rows");
        b0[i] = cli_stat(&c[i], "store_batches");
    }
    cpu_win_t cpu = { 0 };
    for (int i = 0; i < REPLICAS; i++)
        cpu_add(&cpu, p[i]->name, p[i]->pid);
    cpu_add_db(&cpu);
    double ch0 = children_ticks();
    cpu_begin(&cpu);
    note("heartbeats: %ld/s in all for %ld s", rate, secs);
    for (int i = 0; i < REPLICAS; i++)
        loader_start(&ld[i], p[i]->endpoint, prefixes[i], nodes / REPLICAS, rate / REPLICAS, secs,
                     FLEET_WINDOW, 0, false);
    for (int i = 0; i < REPLICAS; i++)
        note("%s through %s: %.1f acks/s", ld[i].proc->name, p[i]->name, loader_finish(&ld[i]));
    cpu_end(&cpu, "steady heartbeats", (unsigned long long) (children_ticks() - ch0));

    uint64_t rows = 0, batches = 0;
    unsigned long long replicas = 0;
    for (int i = 0; i < REPLICAS; i++) {
        if (!bp_running(p[i]))
            bp_die("%s ended during the load; the figure is void", p[i]->name);
        rows += cli_stat(&c[i], "store_rows") - r0[i];
        batches += cli_stat(&c[i], "store_batches") - b0[i];
        replicas += cpu.p[i].d;
    }
    note("%" PRIu64 " store commits, %.1f heartbeats per commit", batches,
         batches ? (double) rows / (double) batches : 0.0);
    if (rows == 0)
        bp_die("no heartbeat was stored");
    unsigned long long db = server_pid() > 0 ? cpu.p[REPLICAS].d : 0;
    note("%" PRIu64 " heartbeats stored in %.1f s (%.0f/s)", rows, cpu.secs,
         (double) rows / cpu.secs);
    emit_fig("steady_cpu_per_heartbeat_us", ticks_us((double) (replicas + db), (double) rows), "us");
    emit_fig("steady_replicas_cpu_per_heartbeat_us", ticks_us((double) replicas, (double) rows), "us");
    if (server_pid() > 0)
        emit_fig("steady_db_cpu_per_heartbeat_us", ticks_us((double) db, (double) rows), "us");
    for (int i = 0; i < REPLICAS; i++)
        cli_close(&c[i]);
    return 0;
}
