/*  service_e2e.c — mt_bench_service's e2e figure: end-to-end heartbeat
    ingest, `metactl load --register --bench` against one replica; the
    figure is the rate metactl reports (service_loader.c runs it, with
    --server-key and --cert under CURVE: e2e_curve). */
#include "service_bench.h"

#include <inttypes.h>
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

    cpu_win_t cpu = { 0 };
    cpu_add(&cpu, "A", pa->pid);
    cpu_add_db(&cpu);
    cpu_add(&cpu, "bench", getpid());
    cpu_begin(&cpu);
    double ch0 = children_ticks();
    loader_t ld;
    loader_start(&ld, pa->endpoint, "e2e", nodes, 0, secs, conc, images, true);
    double v = loader_finish(&ld);
    cpu_end(&cpu, "metactl load (register + heartbeats; children = metactl)",
            (unsigned long long) (children_ticks() - ch0));
    if (!bp_running(pa))
        bp_die("A ended during the load; the figure is void");
    uint64_t batches = cli_stat(&a, "store_batches") - b0, rows = cli_stat(&a, "store_rows") - r0;
    note("A: %" PRIu64 " store batches, %" PRIu64 " rows (%.1f rows per batch)", batches, rows,
         batches ? (double) rows / (double) batches : 0.0);
    emit_fig("e2e_heartbeat_ingest", v, "acks/s");
    cli_close(&a);
    return ld.failed ? 1 : 0;
}
