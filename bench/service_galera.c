/*  service_galera.c — mt_bench_service's figures on a MariaDB Galera
    Cluster (scripts/bench galera), each beside the same code path on one
    server in the same run. On Galera every replica is attached to a node
    of its own: replica i's DSN lists every node from node i + 1 on
    (g_spread), as docs/operations.md tells operators to attach them.

      e2e_3               e2e_heartbeat_ingest_3 (acks/s): A, B and C on one
                          server, each loaded by a `metactl load --bench` of
                          its own (MT_BENCH_E2E_NODES / 3 nodes,
                          MT_BENCH_E2E_CONC in flight and MT_BENCH_E2E_S
                          seconds each), the three started together once
                          all have registered their nodes (a `--register`
                          run each, first: registrations take unequal
                          times, and a sum of rates is a rate only over one
                          window); the figure is the sum of the three rates
      galera_ingest       galera_heartbeat_ingest: the same with A, B and C
                          on nodes 1, 2 and 3 (the DSN must list 3 hosts)
      galera_convergence  galera_convergence_p50, galera_convergence_p99 (ms):
                          the convergence figure (service_conv.c) with A on
                          node 1 and B on node 2
      galera_failover     galera_failover_ms: A, B, C on nodes 1, 2, 3 (their
                          readers; every replica writes through node 1,
                          store/connect.c); A and B each keep one
                          heartbeat in flight; node 1 (the writers' node,
                          A's own) is SIGKILLed here, the clock started
                          just before the kill(2); the figure ends at the
                          first acknowledged heartbeat of A that was sent
                          after the kill. B's longest wait for an
                          acknowledgement around the kill is printed.
                          Needs MT_BENCH_GALERA_DIR (scripts/galera's
                          directory: nodeN/mysqld.pid);
                          MT_BENCH_GALERA_KILL picks another node (1-3).

    The CPU window shows the three nodes' mariadbd when MT_BENCH_GALERA_DIR
    is set (their pid files), else the one server (MT_BENCH_SERVER_PID). */
#include "service_bench.h"

#include "mt_client.h"
#include "mt_dsn.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPLICAS 3

/*  g_dsn with its hosts rotated so that node index + 1 comes first. */
char *spread_dsn(int index)
{
    mt_dsn_t *d = NULL;
    char err[256];
    if (mt_dsn_parse(g_dsn, &d, err, sizeof err) != 0)
        bp_die("%s", err);
    if (d->nhosts < 2)
        bp_die("a figure on Galera needs a DSN listing the cluster's nodes (has %u host)",
               d->nhosts);
    for (int s = 0; s < index % (int) d->nhosts; s++) {
        mt_dsn_host_t first = d->hosts[0];
        memmove(d->hosts, d->hosts + 1, (d->nhosts - 1) * sizeof *d->hosts);
        d->hosts[d->nhosts - 1] = first;
    }
    d->host = d->hosts[0].host;         /* aliases hosts[0] (mt_dsn.h) */
    d->port = d->hosts[0].port;
    char *out = mt_dsn_format(d);
    if (!out)
        bp_die("out of memory");
    mt_dsn_destroy(&d);
    return out;
}

/*  Node k's mariadbd (1-3) from scripts/galera's directory, 0 if unknown. */
static pid_t node_pid(int k)
{
    const char *dir = getenv("MT_BENCH_GALERA_DIR");
    if (!dir || !*dir)
        return 0;
    char path[600];
    snprintf(path, sizeof path, "%s/node%d/mysqld.pid", dir, k);
    FILE *f = fopen(path, "r");
    int pid = 0;
    if (f) {
        if (fscanf(f, "%d", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return (pid_t) pid;
}

static void cpu_add_dbs(cpu_win_t *w)
{
    static const char *const names[] = { "node1", "node2", "node3" };
    if (!g_spread || !node_pid(1)) {
        cpu_add_db(w);
        return;
    }
    for (int k = 1; k <= 3; k++)
        cpu_add(w, names[k - 1], node_pid(k));
}

/* ---- ingest through three replicas ----------------------------------------------- */

static int ingest3(const char *figure)
{
    e2e_shape_t l = e2e_shape();
    long nodes = l.nodes >= REPLICAS ? l.nodes / REPLICAS : 1;     /* each loader's */
    bp_proc_t *p[REPLICAS];
    cli_t c[REPLICAS];
    replicas_start(REPLICAS, p, c);
    note("%d loaders at once, each: %ld nodes, %ld in flight, %ld s of heartbeats", REPLICAS,
         nodes, l.conc, l.secs);
    /*  Registrations first, each loader its own nodes (and a second of
        heartbeats), then the measured heartbeats, the three started
        together: registration phases differ in length, and a sum of
        rates is a rate only over one window. */
    loader_t ld[REPLICAS];
    static const char *const prefixes[REPLICAS] = { "ia", "ib", "ic" };
    for (int i = 0; i < REPLICAS; i++)
        loader_start(&ld[i], p[i]->endpoint, prefixes[i], nodes, 0, 1, l.conc, l.images, true);
    for (int i = 0; i < REPLICAS; i++)
        loader_finish(&ld[i]);
    cpu_win_t cpu = { 0 };
    for (int i = 0; i < REPLICAS; i++)
        cpu_add(&cpu, p[i]->name, p[i]->pid);
    cpu_add_dbs(&cpu);
    cpu_begin(&cpu);
    for (int i = 0; i < REPLICAS; i++)
        loader_start(&ld[i], p[i]->endpoint, prefixes[i], nodes, 0, l.secs, l.conc, l.images,
                     false);
    double sum = 0;
    for (int i = 0; i < REPLICAS; i++) {
        double v = loader_finish(&ld[i]);
        note("%s through %s: %.1f acks/s", ld[i].proc->name, p[i]->name, v);
        sum += v;
    }
    cpu_end(&cpu, "three loaders (heartbeats)", 0);
    for (int i = 0; i < REPLICAS; i++) {
        if (!bp_running(p[i]))
            bp_die("%s ended during the load; the figure is void", p[i]->name);
        note("%s: %" PRIu64 " store batches, %" PRIu64 " rows, %" PRIu64 " reconnects",
             p[i]->name, cli_stat(&c[i], "store_batches"), cli_stat(&c[i], "store_rows"),
             cli_stat(&c[i], "store_reconnects"));
        cli_close(&c[i]);
    }
    emit(figure, sum, "acks/s");
    return 0;
}

int fig_e2e_3(void)
{
    return ingest3("e2e_heartbeat_ingest_3");
}

int fig_galera_ingest(void)
{
    g_spread = true;
    return ingest3("galera_heartbeat_ingest");
}

int fig_galera_convergence(void)
{
    g_spread = true;
    g_fig_prefix = "galera_";
    return fig_convergence();
}
