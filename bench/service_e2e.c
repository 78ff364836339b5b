/*  service_e2e.c — mt_bench_service's e2e figures.

    e2e: end-to-end heartbeat ingest: one `metactl load --register` for
    the nodes, then the measured `metactl load --bench` against one
    replica; the figure is the rate metactl reports (service_loader.c runs
    it, with --server-key and --cert under CURVE: e2e_curve). Also the CPU
    an ack of every process (e2e_cpu_per_ack) and the machine's busy share
    (e2e_machine_busy) over the measured heartbeats.

    e2e_floor: the same `metactl load` against the bare echo
    (service_echo.c) answering each heartbeat with a real heartbeat reply's
    bytes. No server can answer for less, so its CPU per ack (metactl and
    the echo, with their libzmq I/O threads) is the front's floor: what e2e
    pays on top of the store on a machine where client, server and database
    share the CPUs. The store alone (mt_bench_store heartbeat_ingest) pays
    none of it: its requests are function calls. */
#include "service_bench.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*  Replica A, ready; *a a client on it. */
static bp_proc_t *start_a(cli_t *a)
{
    bp_proc_t *pa = start_replica(0, NULL);
    cli_open(a, "A", pa->endpoint);
    cli_wait_ready(a, pa, 30000);
    return pa;
}

int fig_e2e(void)
{
    e2e_shape_t l = e2e_shape();
    cli_t a;
    bp_proc_t *pa = start_a(&a);
    /*  Registration by a metactl of its own (and a second of heartbeats),
        so that the CPU window holds the measured heartbeats alone. */
    loader_t ld;
    loader_start(&ld, pa->endpoint, "e2e", l.nodes, 0, 1, l.conc, l.images, true);
    loader_finish(&ld);
    if (ld.failed)
        bp_die("registering the nodes failed");
    uint64_t b0 = cli_stat(&a, "store_batches"), r0 = cli_stat(&a, "store_rows");

    cpu_win_t cpu = { 0 };
    cpu_add(&cpu, "A", pa->pid);
    cpu_add_db(&cpu);
    cpu_add(&cpu, "bench", getpid());
    cpu_begin(&cpu);
    double ch0 = children_ticks();
    loader_start(&ld, pa->endpoint, "e2e", l.nodes, 0, l.secs, l.conc, l.images, false);
    double v = loader_finish(&ld);
    double ch = children_ticks() - ch0;
    cpu_end(&cpu, "metactl load (heartbeats; children = metactl)", (unsigned long long) ch);
    if (!bp_running(pa))
        bp_die("A ended during the load; the figure is void");
    uint64_t batches = cli_stat(&a, "store_batches") - b0, rows = cli_stat(&a, "store_rows") - r0;
    note("A: %" PRIu64 " store batches, %" PRIu64 " rows (%.1f rows per batch)", batches, rows,
         batches ? (double) rows / (double) batches : 0.0);
    /*  CPU an ack, every process of the window: comparable with the
        store's "cpu per ack" (its process and the database) and with
        e2e_floor's; a figure only with the database in the window. */
    double all = ch;
    char split[256];
    int len = 0;
    for (int i = 0; i < cpu.n; i++) {
        all += (double) cpu.p[i].d;
        len += snprintf(split + len, sizeof split - (size_t) len, "%s %.1f us, ", cpu.p[i].name,
                        ticks_us((double) cpu.p[i].d, (double) rows));
    }
    note("cpu per ack: %smetactl %.1f us, all %.1f us", split, ticks_us(ch, (double) rows),
         ticks_us(all, (double) rows));
    emit_fig("e2e_heartbeat_ingest", v, "acks/s");
    if (rows && server_pid() > 0)
        emit_fig("e2e_cpu_per_ack", ticks_us(all, (double) rows), "us");
    emit_fig("e2e_machine_busy", cpu_busy_pct(&cpu), "%");
    cli_close(&a);
    return ld.failed ? 1 : 0;
}

/*  A real heartbeat reply's result ({"node": view}, as metactl load's
    heartbeats leave it: registered by metactl, with e2e's images), packed:
    node.get answers with the same result. */
static void real_result(const char *endpoint, long images, msgpack_sbuffer *out)
{
    loader_t ld;
    loader_start(&ld, endpoint, "floor", 1, 0, 1, 1, images, true);
    loader_finish(&ld);
    if (ld.failed)
        bp_die("metactl load against A failed: no reply to copy");
    cli_t a;
    cli_open(&a, "A", endpoint);
    cli_begin(&a, "node.get", 1);
    cli_pack_str(&a.pk, "id");
    cli_pack_str(&a.pk, "floor-00000");
    const msgpack_object *result = NULL;
    if (cli_call(&a, CLI_CALL_MS, &result) != 0 || !result)
        bp_die("node.get floor-00000: %s", a.code);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *result);
    cli_close(&a);
}

int fig_e2e_floor(void)
{
    e2e_shape_t l = e2e_shape();
    cli_t a;
    bp_proc_t *pa = start_a(&a);
    cli_close(&a);
    msgpack_sbuffer result;
    msgpack_sbuffer_init(&result);
    real_result(pa->endpoint, l.images, &result);
    bp_stop(pa);                    /* the floor is the echo's alone */
    note("the echo answers every heartbeat with a %zu-byte result (a real one's)", result.size);

    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", g_port + 9);
    echo_t e = { .endpoint = ep, .blob = result.data, .size = result.size, .with_rid = true };
    echo_start(&e);
    cpu_win_t cpu = { 0 };
    cpu_add(&cpu, "bench (the echo)", getpid());
    cpu_begin(&cpu);
    double ch0 = children_ticks();
    loader_t ld;
    /*  MT_BENCH_FLOOR_RATE: the floor at a given pace (e2e's, say) rather
        than at its own maximum, where a wake-up carries more messages. */
    long rate = env_long("MT_BENCH_FLOOR_RATE", 0, 0, 100000000);
    loader_start(&ld, ep, "e2e", l.nodes, rate, l.secs, l.conc, l.images, false);
    double v = loader_finish(&ld);
    double ch = children_ticks() - ch0;
    cpu_end(&cpu, "metactl load against the echo (children = metactl)", (unsigned long long) ch);
    echo_stop(&e);
    /*  The acks: what the echo answered (metactl's are the same, but for
        a timeout); the CPU: the window's, metactl's start and end included
        (a few ms of 10 s). */
    double acks = (double) e.requests, echo = (double) cpu.p[0].d;
    note("echo: %" PRIu64 " requests answered; metactl %.1f us an ack, the echo %.1f us",
         e.requests, ticks_us(ch, acks), ticks_us(echo, acks));
    emit_fig("e2e_floor", v, "acks/s");
    if (acks > 0)
        emit_fig("e2e_floor_cpu_per_ack", ticks_us(echo + ch, acks), "us");
    msgpack_sbuffer_destroy(&result);
    return ld.failed ? 1 : 0;
}
