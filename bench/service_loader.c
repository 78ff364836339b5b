/*  service_loader.c — `metactl load` for the ingest figures (service_e2e.c,
    service_galera.c, service_steady.c) and their shape, and replicas
    started and ready for those that load several at once. `metactl load`
    is a child of the bench: started with its stdout on a pipe, waited for,
    its report copied to the diagnostics and its figure line read. */
#include "service_bench.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

e2e_shape_t e2e_shape(void)
{
    return (e2e_shape_t) {
        .nodes = env_long("MT_BENCH_E2E_NODES", 10000, 1, 10000000),
        .secs = env_long("MT_BENCH_E2E_S", 10, 1, 3600),
        .conc = env_long("MT_BENCH_E2E_CONC", 256, 1, 65536),
        .images = env_long("MT_BENCH_E2E_IMAGES", 3, 0, 64),
    };
}

void loader_start(loader_t *ld, const char *endpoint, const char *prefix, long nodes, long rate,
                  long secs, long conc, long images, bool reg)
{
    char path[512], s_nodes[32], s_rate[32], s_secs[32], s_conc[32], s_images[32];
    snprintf(path, sizeof path, "%s/metactl", g_bindir);
    snprintf(s_nodes, sizeof s_nodes, "%ld", nodes);
    snprintf(s_rate, sizeof s_rate, "%ld", rate);
    snprintf(s_secs, sizeof s_secs, "%ld", secs);
    snprintf(s_conc, sizeof s_conc, "%ld", conc);
    snprintf(s_images, sizeof s_images, "%ld", images);
    /*  Under CURVE: --server-key (the cluster's public key) and --cert
        (the admin certificate) before the command. */
    char *curve[] = { "--server-key", g_curve.server_pub, "--cert", g_curve.admin };
    char *load[] = { "load", "--nodes", s_nodes, "--rate", s_rate, "--duration", s_secs,
                     "--concurrency", s_conc, "--images", s_images, "--prefix", (char *) prefix,
                     "--bench", reg ? "--register" : NULL };
    char *argv[32] = { path, "-e", (char *) endpoint, "-t", "10000" };
    int argc = 5;
    for (size_t i = 0; g_curve.on && i < sizeof curve / sizeof curve[0]; i++)
        argv[argc++] = curve[i];
    for (size_t i = 0; i < sizeof load / sizeof load[0] && load[i]; i++)
        argv[argc++] = load[i];
    char cmd[1024] = "";
    size_t len = 0;
    for (int i = 1; i < argc && len < sizeof cmd; i++)
        len += (size_t) snprintf(cmd + len, sizeof cmd - len, " %s", argv[i]);
    note("running metactl%s", cmd);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        bp_die("pipe: %s", strerror(errno));
    char name[16];
    snprintf(name, sizeof name, "metactl-%s%s", prefix, reg ? "-reg" : "");
    ld->proc = bp_spawn(name, argv, fds[1]);
    close(fds[1]);
    ld->fd = fds[0];
}

double loader_finish(loader_t *ld)
{
    size_t n = 0;
    ssize_t r;
    while ((r = read(ld->fd, ld->out + n, sizeof ld->out - 1 - n)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0)
            n += (size_t) r;
    ld->out[n] = '\0';
    close(ld->fd);
    int st = bp_wait(ld->proc);
    ld->failed = !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    FILE *f = fopen(ld->proc->log, "r");
    if (f) {
        char line[1024];
        while (fgets(line, sizeof line, f))
            fprintf(stderr, "#   %s: %s", ld->proc->name, line);
        fclose(f);
    }
    const char *p = strstr(ld->out, "bench=e2e_heartbeat_ingest value=");
    double v = 0;
    if (!p || sscanf(p, "bench=e2e_heartbeat_ingest value=%lf", &v) != 1)
        bp_die("%s printed no bench line (exit status %d)", ld->proc->name,
               WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    if (ld->failed)
        note("%s: exit status %d: some requests failed (see its report above)", ld->proc->name,
             WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return v;
}

void replicas_start(int n, bp_proc_t **p, cli_t *c)
{
    for (int i = 0; i < n; i++) {
        p[i] = start_replica(i, NULL);
        cli_open(&c[i], p[i]->name, p[i]->endpoint);
        cli_wait_ready(&c[i], p[i], 60000);
    }
    cli_wait_members(&c[0], n, 30000);
}

double children_ticks(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    double s = (double) ru.ru_utime.tv_sec + (double) ru.ru_stime.tv_sec
               + (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    return s * (double) sysconf(_SC_CLK_TCK);
}
