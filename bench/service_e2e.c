/*  service_e2e.c — mt_bench_service's e2e figure: end-to-end heartbeat
    ingest, `metactl load --register --bench` against one replica; the
    figure is the rate metactl reports. Under CURVE (e2e_curve) metactl
    connects with --server-key and --cert. */
#include "service_bench.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/wait.h>
#include <unistd.h>

int fig_e2e(void)
{
    long nodes = env_long("MT_BENCH_E2E_NODES", 10000, 1, 10000000);
    long secs = env_long("MT_BENCH_E2E_S", 10, 1, 3600);
    long conc = env_long("MT_BENCH_E2E_CONC", 256, 1, 65536);
    long images = e2e_images();
    bp_proc_t *pa = start_replica(0, NULL);
    cli_t a;
    cli_open(&a, "A", pa->endpoint);
    cli_wait_ready(&a, pa, 30000);
    uint64_t b0 = cli_stat(&a, "store_batches"), r0 = cli_stat(&a, "store_rows");

    char path[512], s_nodes[32], s_secs[32], s_conc[32], s_images[32];
    snprintf(path, sizeof path, "%s/metactl", g_bindir);
    snprintf(s_nodes, sizeof s_nodes, "%ld", nodes);
    snprintf(s_secs, sizeof s_secs, "%ld", secs);
    snprintf(s_conc, sizeof s_conc, "%ld", conc);
    snprintf(s_images, sizeof s_images, "%ld", images);
    /*  Under CURVE: --server-key (the cluster's public key) and --cert
        (the admin certificate) before the command. */
    char *curve[] = { "--server-key", g_curve.server_pub, "--cert", g_curve.admin };
    char *load[] = { "load", "--nodes", s_nodes, "--rate", "0", "--duration", s_secs,
                     "--concurrency", s_conc, "--images", s_images, "--prefix", "e2e", "--register",
                     "--bench" };
    char *argv[32] = { path, "-e", pa->endpoint, "-t", "10000" };
    int argc = 5;
    for (size_t i = 0; g_curve.on && i < sizeof curve / sizeof curve[0]; i++)
        argv[argc++] = curve[i];
    for (size_t i = 0; i < sizeof load / sizeof load[0]; i++)
        argv[argc++] = load[i];
    char cmd[1024] = "";
    size_t len = 0;
    for (int i = 1; argv[i] && len < sizeof cmd; i++)
        len += (size_t) snprintf(cmd + len, sizeof cmd - len, " %s", argv[i]);
    note("running metactl%s", cmd);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        bp_die("pipe: %s", strerror(errno));
    cpu_win_t cpu = { 0 };
    cpu_add(&cpu, "A", pa->pid);
    cpu_add_db(&cpu);
    cpu_add(&cpu, "bench", getpid());
    cpu_begin(&cpu);
    double ch0 = children_ticks();
    bp_proc_t *pl = bp_spawn("metactl", argv, fds[1]);
    close(fds[1]);
    char out[4096];
    size_t n = 0;
    ssize_t r;
    while ((r = read(fds[0], out + n, sizeof out - 1 - n)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0)
            n += (size_t) r;
    out[n] = '\0';
    close(fds[0]);
    int st = bp_wait(pl);
    cpu_end(&cpu, "metactl load (register + heartbeats; children = metactl)",
            (unsigned long long) (children_ticks() - ch0));
    /*  metactl's report (it went to the log): shown as diagnostics. */
    FILE *f = fopen(pl->log, "r");
    if (f) {
        char line[1024];
        while (fgets(line, sizeof line, f))
            fprintf(stderr, "#   metactl: %s", line);
        fclose(f);
    }
    if (!bp_running(pa))
        bp_die("A ended during the load; the figure is void");
    uint64_t batches = cli_stat(&a, "store_batches") - b0, rows = cli_stat(&a, "store_rows") - r0;
    note("A: %" PRIu64 " store batches, %" PRIu64 " rows (%.1f rows per batch)", batches, rows,
         batches ? (double) rows / (double) batches : 0.0);
    const char *p = strstr(out, "bench=e2e_heartbeat_ingest value=");
    double v = 0;
    if (!p || sscanf(p, "bench=e2e_heartbeat_ingest value=%lf", &v) != 1)
        bp_die("metactl printed no bench line (exit status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        note("metactl exit status %d: some requests failed (see its report above)",
             WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    emit_fig("e2e_heartbeat_ingest", v, "acks/s");
    cli_close(&a);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
