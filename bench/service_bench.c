/*  service_bench.c — figures of the whole service, measured from outside:
    real metactord processes sharing a real MariaDB, reached over the wire
    protocol (PROTOCOL.md) like any client.

    Usage: mt_bench_service FIGURE DSN BINDIR LOGDIR
      convergence              convergence_p50, convergence_p99 (ms): from the
                               reply to a heartbeat on replica A until replica B's
                               node.get shows it (its status_revision), notices on
      convergence_reload_only  convergence_reload_only_p99 (ms): the same with B
                               started --subscribe 0 (it learns by reload only, as
                               the seed did) and --reload-interval MT_BENCH_RELOAD_MS
      get                      get_rps (requests/s), get_p50, get_p99 (µs): node.get
                               through one replica's gateway; echo_rps: a bare zmq
                               ROUTER echo in this process (its own thread) answering
                               the same clients with a body of node.get's reply size
      e2e                      e2e_heartbeat_ingest (acks/s): `metactl load
                               --register --bench` against one replica

    DSN: the figure's database (scripts/bench service gives each figure a fresh
    one). BINDIR holds metactord and metactl (a Release build); LOGDIR gets
    their logs, FIGURE-NAME.log. Every process started here is stopped here
    (SIGTERM, then SIGKILL after 15 s), on a signal too; the children also get
    SIGTERM if this process dies (PR_SET_PDEATHSIG).

    Replicas: A on tcp://127.0.0.1:PORT (notices on PORT+1), B on PORT+2 (PORT+3),
    the echo server on PORT+9; PORT is MT_BENCH_SVC_PORT (default 7460).

    Node contents are the "typical" ones of the store figures: a registration
    with 10 labels, 5 component versions, 4 capacity and 3 quota entries; a
    status with 2 conditions, 3 images and 2 local templates.

    Files: this one (the replicas, the CPU window, main), service_nodes.c (node
    requests), service_conv.c, service_get.c and service_e2e.c (the figures).

    stdout: only figure lines, exactly `bench=NAME value=V unit=U` (3 decimals).
    stderr: diagnostics, every line starting with '#'.
    Exit status: 0 on success, 1 if anything misbehaved, 2 on a usage error.

    Environment (optional; scripts/bench passes these through):
      MT_BENCH_SVC_PORT       base port (default 7460)
      MT_BENCH_SVC_ARGS       more metactord flags for every replica, separated by
                              spaces (experiments, e.g. "--workers 1")
      MT_BENCH_SERVER_PID     the database server's pid: its CPU time is shown
      MT_BENCH_CONV_WRITES    convergence: measured writes (default 2000, after 100
                              not measured)
      MT_BENCH_POLL_US        convergence: pause between two polls of B (default 50)
      MT_BENCH_RELOAD_MS      convergence_reload_only: B's reload interval (default
                              1000 ms: the seed's 30 s scaled down 30x)
      MT_BENCH_RELOAD_WRITES  convergence_reload_only: measured writes (default 50)
      MT_BENCH_GET_CLIENTS    get: client threads, one DEALER each (default 8)
      MT_BENCH_GET_INFLIGHT   get: requests in flight per client (default 1)
      MT_BENCH_GET_S          get: timed seconds per target and round (default 5,
                              after 0.5 s of warm-up)
      MT_BENCH_GET_ROUNDS     get: rounds, echo then node.get in each (default 2)
      MT_BENCH_E2E_NODES      e2e: nodes (default 10000)
      MT_BENCH_E2E_S          e2e: seconds of heartbeats (default 10)
      MT_BENCH_E2E_CONC       e2e: requests in flight (default 256)
*/
#include "service_bench.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *g_dsn, *g_bindir;
int g_port;

/* ------------------------------------------------------------ replicas -- */

/*  A replica: index 0 = A (port), 1 = B (port + 2); extra flags appended,
    then MT_BENCH_SVC_ARGS (experiments). */
bp_proc_t *start_replica(int index, const char *const *extra)
{
    char name[8], id[64];
    snprintf(name, sizeof name, "%c", 'A' + index);
    snprintf(id, sizeof id, "svcbench-%c", 'a' + index);
    return bp_start_replica(name, id, g_bindir, g_port + 2 * index, g_dsn, extra,
                            "MT_BENCH_SVC_ARGS");
}

/* ----------------------------------------------------------- cpu time -- */

void cpu_begin(cpu_win_t *w)
{
    w->t0_us = now_us();
    unsigned long long v[8];
    machine_ticks(v);
    w->busy0 = machine_busy(v);
    for (int i = 0; i < w->n; i++)
        w->p[i].t0 = proc_ticks(w->p[i].pid);
}

void cpu_add(cpu_win_t *w, const char *name, pid_t pid)
{
    if (pid > 0 && w->n < 8)
        w->p[w->n++] = (typeof(w->p[0])) { .name = name, .pid = pid };
}

void cpu_add_db(cpu_win_t *w)
{
    cpu_add(w, "database", server_pid());
}

void cpu_end(cpu_win_t *w, const char *what, unsigned long long extra_ticks)
{
    w->secs = (double) (now_us() - w->t0_us) / 1e6;
    unsigned long long v[8];
    machine_ticks(v);
    w->busy = machine_busy(v) - w->busy0;
    double hz = (double) sysconf(_SC_CLK_TCK), secs = w->secs > 0 ? w->secs : 1;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned long long ours = extra_ticks;
    char line[1024];
    int len = snprintf(line, sizeof line, "# %s cpu over %.1f s (%% of one CPU):", what, secs);
    for (int i = 0; i < w->n; i++) {
        w->p[i].d = proc_ticks(w->p[i].pid) - w->p[i].t0;
        ours += w->p[i].d;
        len += snprintf(line + len, sizeof line - (size_t) len, " %s %.0f%%,", w->p[i].name,
                        100.0 * (double) w->p[i].d / hz / secs);
    }
    if (extra_ticks)
        len += snprintf(line + len, sizeof line - (size_t) len, " children %.0f%%,",
                        100.0 * (double) extra_ticks / hz / secs);
    double others = w->busy > ours ? (double) (w->busy - ours) : 0;
    snprintf(line + len, sizeof line - (size_t) len, " others %.0f%%; machine busy %.0f%% of %ld CPUs",
             100.0 * others / hz / secs, 100.0 * (double) w->busy / hz / secs / (double) ncpu, ncpu);
    fprintf(stderr, "%s\n", line);
}

/* --------------------------------------------------------------- main -- */

static const cli_figure_t figures[] = {
    { "convergence", fig_convergence },
    { "convergence_reload_only", fig_convergence_reload_only },
    { "get", fig_get },
    { "e2e", fig_e2e },
};

int main(int argc, char **argv)
{
    static const cli_prog_t prog = { "mt_bench_service", "service_bench", "MT_BENCH_SVC_PORT",
                                     7460, 65525, figures, sizeof figures / sizeof figures[0] };
    return cli_main(argc, argv, &prog, &g_dsn, &g_bindir, &g_port);
}
