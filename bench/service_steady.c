/*  service_steady.c — mt_bench_service's steady figure: what one heartbeat
    costs in CPU at a steady rate well below the maximum, the cost a
    fleet's heartbeats put on a replica and its database day after day
    (the e2e figure measures the ceiling instead, and CPU spent waiting in
    backlogs blurs it).

    One replica, MT_BENCH_STEADY_NODES (10,000) nodes registered first by
    `metactl load --register` (not measured), then `metactl load` at
    MT_BENCH_STEADY_RATE (10,000) heartbeats/s for MT_BENCH_STEADY_S (20)
    seconds, open loop. Over that window: the replica's CPU time divided by
    the heartbeats it stored (its store_rows counter), and the database
    server's likewise (MT_BENCH_SERVER_PID).

      steady_cpu_per_heartbeat_us      the replica's CPU per heartbeat (µs)
      steady_db_cpu_per_heartbeat_us   the database's CPU per heartbeat (µs) */
#include "service_bench.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/wait.h>
#include <unistd.h>

/*  Runs metactl with argv (argv[0] its path) to the end; its output goes
    to its log (named in *log). The exit status. */
static int run_metactl(char **argv, const char **log)
{
    bp_proc_t *p = bp_spawn("metactl", argv, -1);
    *log = p->log;
    int st = bp_wait(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int fig_steady(void)
{
    long nodes = env_long("MT_BENCH_STEADY_NODES", 10000, 1, 10000000);
    long rate = env_long("MT_BENCH_STEADY_RATE", 10000, 1, 10000000);
    long secs = env_long("MT_BENCH_STEADY_S", 20, 1, 3600);
    bp_proc_t *pa = start_replica(0, NULL);
    cli_t a;
    cli_open(&a, "A", pa->endpoint);
    cli_wait_ready(&a, pa, 30000);

    char path[512], s_nodes[32], s_rate[32], s_secs[32];
    snprintf(path, sizeof path, "%s/metactl", g_bindir);
    snprintf(s_nodes, sizeof s_nodes, "%ld", nodes);
    snprintf(s_rate, sizeof s_rate, "%ld", rate);
    snprintf(s_secs, sizeof s_secs, "%ld", secs);
    char *reg[] = { path, "-e", pa->endpoint, "-t", "10000", "load", "--nodes", s_nodes, "--rate",
                    "1", "--duration", "1", "--prefix", "steady", "--register", NULL };
    note("registering %ld nodes", nodes);
    const char *log;
    if (run_metactl(reg, &log) != 0)
        bp_die("metactl load --register failed (its log: %s)", log);

    uint64_t r0 = cli_stat(&a, "store_rows");
    cpu_win_t cpu = { 0 };
    cpu_add(&cpu, "A", pa->pid);
    cpu_add_db(&cpu);
    cpu_begin(&cpu);
    char *load[] = { path, "-e", pa->endpoint, "-t", "10000", "load", "--nodes", s_nodes, "--rate",
                     s_rate, "--duration", s_secs, "--prefix", "steady", NULL };
    note("heartbeats: %ld/s for %ld s", rate, secs);
    int st = run_metactl(load, &log);
    cpu_end(&cpu, "steady heartbeats", 0);
    if (!bp_running(pa))
        bp_die("A ended during the load; the figure is void");
    uint64_t rows = cli_stat(&a, "store_rows") - r0;
    if (st != 0)
        note("metactl exit status %d: some heartbeats failed (its log: %s)", st, log);
    if (rows == 0)
        bp_die("no heartbeat was stored");
    double us_per_tick = 1e6 / (double) sysconf(_SC_CLK_TCK);
    note("%" PRIu64 " heartbeats stored in %.1f s (%.0f/s)", rows, cpu.secs,
         (double) rows / cpu.secs);
    emit_fig("steady_cpu_per_heartbeat_us", (double) cpu.p[0].d * us_per_tick / (double) rows,
             "us");
    if (server_pid() > 0)
        emit_fig("steady_db_cpu_per_heartbeat_us",
                 (double) cpu.p[1].d * us_per_tick / (double) rows, "us");
    cli_close(&a);
    return st == 0 ? 0 : 1;
}
