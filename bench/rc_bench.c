/*  rc_bench.c — figures of remote cluster references, measured from
    outside: real metactord clusters, each on its own database of one real
    MariaDB, reached over the wire protocol (PROTOCOL.md) like any client.

    Usage: mt_bench_rc FIGURE DSN BINDIR LOGDIR
      events_3          rc_writes_per_event_3 (writes): database writes per
                        hostname-replacement event, cluster A of 3 replicas;
                        rc_failover (ms): from the SIGKILL of the replica of B
                        that is the reference's hostname until every replica of
                        A holds the new hostname (mean over the events)
      events_5          rc_writes_per_event_5 (writes): the same with 5 replicas
                        in A (its failover times on stderr only)
      refresh_round_20  rc_refresh_round_20 (ms): one replica of A holding 20
                        references to 20 one-replica clusters (each on its own
                        database); the time from sending `rc.get refresh=true`
                        for all 20 at once (one DEALER, 20 requests in flight)
                        until the last reply: one refresh round, i.e. 20
                        cluster.info probes through the replica's prober pool;
                        the median over MT_BENCH_RC_ROUNDS rounds (mean, p90,
                        max and the replica's CPU per round on stderr)

    An event (events_N): cluster B has two replicas b0 and b1; A holds one
    reference "to-b" whose hostname is b0's endpoint. The replica of B that
    is the hostname is SIGKILLed; every replica of A finds its hostname dead
    (a probe of it times out: the prober's 1 s), the priority-0 replica
    writes the other one at once, the others cancel their later turns when
    its notice arrives. After all of A holds the new hostname, the bench
    waits (N + 2) refresh intervals more (the last replica's turn comes
    after N - 1 intervals) and counts the writes: the increase of
    store_rc_writes summed over A's replicas. Then the killed replica is
    started again (same id, endpoint and database) and once every replica of
    A lists it in the reference's node list, the next event kills the other
    one. MT_BENCH_RC_EVENTS events (default 5); the figure is their mean.

    The failover time is dominated by the settings: a refresh tick comes
    within one refresh interval of the death, the dead hostname's probe
    times out after 1 s (the prober's fixed timeout), then one write and one
    notice (milliseconds). The deaths are placed evenly over the refresh
    cycle (event e of E at (e + 1/2) / E of an interval after a0's last
    refresh), so the mean is that of a death at a random moment: expected
    ≈ interval / 2 + 1 s + a little; the worst case interval + 1 s.
    The alive window plays no part while A's replicas all live: a hostname
    that does not answer is replaced even while B still lists it alive.

    DSN: any DSN of the server (its database part is replaced: cluster A
    uses metactor_rcb_a, B metactor_rcb_b, the remotes metactor_rcb_r00 to
    _r19, created by metactord; scripts/bench rc drops them before each
    figure). BINDIR holds metactord (a Release build); LOGDIR gets the logs,
    FIGURE-REPLICA.log. Every process started here is stopped here (SIGTERM,
    then SIGKILL after 15 s), on a signal too; the children also get
    SIGTERM if this process dies (PR_SET_PDEATHSIG).

    Ports: MT_BENCH_RC_PORT (default 7700): A's replica i on PORT+2i (notices
    PORT+2i+1, i < 5), B's on PORT+20+2i, remote r on PORT+40+2r (r < 20).

    stdout: only figure lines, exactly `bench=NAME value=V unit=U` (3 decimals).
    stderr: diagnostics, every line starting with '#'.
    Exit status: 0 on success, 1 if anything misbehaved (a replica died,
    a write count other than one, ...), 2 on a usage error.

    Environment (optional):
      MT_BENCH_RC_PORT        base port (default 7700)
      MT_BENCH_RC_REFRESH_MS  events: --refresh-interval (default 1000)
      MT_BENCH_RC_ALIVE_MS    events: --alive-window (default 3000; the beat is
                              a third of it)
      MT_BENCH_RC_EVENTS      events: hostname-replacement events (default 5)
      MT_BENCH_RC_ROUNDS      refresh_round_20: rounds (default 30, after 3 not
                              measured)
      MT_BENCH_RC_ARGS        more metactord flags for every replica, separated
                              by spaces
      MT_BENCH_SERVER_PID     the database server's pid: its CPU time is shown
*/
#include "benchcli.h"
#include "benchproc.h"
#include "benchutil.h"
#include "mt_client.h"

#include <inttypes.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS 60000               /* something that must happen */
#define MAX_A 5
#define NREMOTES 20

static const char *g_dsn, *g_bindir;
static int g_port;

/* ------------------------------------------------------------- helpers -- */

static double mean(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return n ? s / (double) n : 0;
}

static double ticks_ms(unsigned long long t)
{
    return (double) t * 1000.0 / (double) sysconf(_SC_CLK_TCK);
}

/*  A replica `id` of the cluster on database db, at port; extra flags
    (NULL-terminated) appended, then MT_BENCH_RC_ARGS. */
static bp_proc_t *start_replica(const char *id, const char *db, int port, const char *const *extra)
{
    char dsn[512];
    if (!dsn_with_db(dsn, sizeof dsn, g_dsn, db))
        bp_die("DSN without a database part, or too long: %s", g_dsn);
    return bp_start_replica(id, id, g_bindir, port, dsn, extra, "MT_BENCH_RC_ARGS");
}

/* --------------------------------------------------------- references -- */

/*  rc.get name [refresh]: 0 ok (result), 1 error (c->code), -1 timeout. */
static int rc_get(cli_t *c, const char *name, bool refresh, const msgpack_object **res)
{
    cli_begin(c, "rc.get", refresh ? 2 : 1);
    cli_pack_str(&c->pk, "name");
    cli_pack_str(&c->pk, name);
    if (refresh) {
        cli_pack_str(&c->pk, "refresh");
        msgpack_pack_true(&c->pk);
    }
    return cli_call(c, CLI_CALL_MS, res);
}

static bool host_is(cli_t *c, const char *name, const char *endpoint)
{
    const msgpack_object *res = NULL;
    return rc_get(c, name, false, &res) == 0
        && cli_obj_is(mt_client_map_first(mt_client_map_first(res, "ref"), "hostname"), endpoint);
}

static bool node_list_has(cli_t *c, const char *name, const char *endpoint)
{
    const msgpack_object *res = NULL;
    if (rc_get(c, name, false, &res) != 0)
        return false;
    const msgpack_object *l = mt_client_map_first(mt_client_map_first(res, "ref"), "node_list");
    for (uint32_t i = 0; l && l->type == MSGPACK_OBJECT_ARRAY && i < l->via.array.size; i++)
        if (cli_obj_is(&l->via.array.ptr[i], endpoint))
            return true;
    return false;
}

static void rc_add(cli_t *c, const char *name, const char *hostname)
{
    cli_begin(c, "rc.add", 4);
    cli_pack_str(&c->pk, "name");
    cli_pack_str(&c->pk, name);
    cli_pack_str(&c->pk, "hostname");
    cli_pack_str(&c->pk, hostname);
    cli_pack_str(&c->pk, "username");
    cli_pack_str(&c->pk, "bench");
    cli_pack_str(&c->pk, "password");
    cli_pack_str(&c->pk, "bench-secret");
    int rc = cli_call(c, CLI_CALL_MS, NULL);
    if (rc != 0)
        bp_die("rc.add %s → %s on %s: %s", name, hostname, c->name, rc < 0 ? "timeout" : c->code);
}

/* ------------------------------------------------------------- events -- */

static int fig_events(int na)
{
    int refresh = (int) env_long("MT_BENCH_RC_REFRESH_MS", 1000, 10, 600000);
    int alive = (int) env_long("MT_BENCH_RC_ALIVE_MS", 3000, 30, 3600000);
    int events = (int) env_long("MT_BENCH_RC_EVENTS", 5, 1, 1000);
    char refresh_s[16], alive_s[16], beat_s[16];
    snprintf(refresh_s, sizeof refresh_s, "%d", refresh);
    snprintf(alive_s, sizeof alive_s, "%d", alive);
    snprintf(beat_s, sizeof beat_s, "%d", alive / 3 > 10 ? alive / 3 : 10);
    const char *const flags[] = {
        "--refresh-interval", refresh_s, "--alive-window", alive_s, "--beat-interval", beat_s,
        NULL,
    };
    note("cluster A: %d replicas, cluster B: 2; --refresh-interval %d --alive-window %d "
         "--beat-interval %s (reload: the default); the prober's timeout: 1000 ms (fixed); "
         "%d events", na, refresh, alive, beat_s, events);

    bp_proc_t *pb[2], *pa[MAX_A];
    cli_t cb[2], ca[MAX_A];
    for (int i = 0; i < 2; i++) {
        char id[8];
        snprintf(id, sizeof id, "b%d", i);
        pb[i] = start_replica(id, "metactor_rcb_b", g_port + 20 + 2 * i, flags);
    }
    for (int i = 0; i < na; i++) {
        char id[8];
        snprintf(id, sizeof id, "a%d", i);
        pa[i] = start_replica(id, "metactor_rcb_a", g_port + 2 * i, flags);
    }
    for (int i = 0; i < 2; i++) {
        cli_open(&cb[i], pb[i]->name, pb[i]->endpoint);
        cli_wait_ready(&cb[i], pb[i], WAIT_MS);
    }
    for (int i = 0; i < na; i++) {
        cli_open(&ca[i], pa[i]->name, pa[i]->endpoint);
        cli_wait_ready(&ca[i], pa[i], WAIT_MS);
    }
    for (int i = 0; i < 2; i++)
        cli_wait_members(&cb[i], 2, WAIT_MS);
    for (int i = 0; i < na; i++)
        cli_wait_members(&ca[i], (uint32_t) na, WAIT_MS);

    rc_add(&ca[0], "to-b", pb[0]->endpoint);
    double *writes = calloc((size_t) events, sizeof *writes);
    double *fail_ms = calloc((size_t) events, sizeof *fail_ms);
    if (!writes || !fail_ms)
        bp_die("out of memory");
    int bad = 0, host = 0;          /* host: the index in B of the current hostname */
    for (int e = 0; e < events; e++) {
        int victim = host, survivor = 1 - host;
        /*  Every replica of A holds the hostname and lists both of B. */
        int64_t deadline = now_us() + WAIT_MS * 1000LL;
        for (int i = 0; i < na; i++)
            while (!(host_is(&ca[i], "to-b", pb[victim]->endpoint)
                     && node_list_has(&ca[i], "to-b", pb[0]->endpoint)
                     && node_list_has(&ca[i], "to-b", pb[1]->endpoint))) {
                if (now_us() > deadline)
                    bp_die("event %d: a%d never held %s with both of B in its node list", e + 1, i,
                        pb[victim]->endpoint);
                sleep_ms(20);
            }
        uint64_t w0[MAX_A], h0[MAX_A], c0[MAX_A], k0[MAX_A];
        for (int i = 0; i < na; i++) {
            w0[i] = cli_stat(&ca[i], "store_rc_writes");
            h0[i] = cli_stat(&ca[i], "rc_hostname_writes");
            c0[i] = cli_stat(&ca[i], "store_rc_conflicts");
            k0[i] = cli_stat(&ca[i], "rc_hostname_cancelled");
        }

        /*  The death's phase in the refresh cycle, spread evenly over the
            events: (e + 1/2) / events of an interval after a0's last
            refresh (A's replicas tick in phase: they learned the reference
            together). Without this the kill would always come just after a
            tick (the wait above ends when a refresh shows the restarted
            replica), and every event would be the worst case. */
        double phase = ((double) e + 0.5) / (double) events;
        const msgpack_object *res = NULL;
        uint64_t at = 0;
        if (rc_get(&ca[0], "to-b", false, &res) != 0
            || !cli_obj_u64(mt_client_map_first(mt_client_map_first(res, "ref"), "refreshed_at"), &at))
            bp_die("event %d: no refreshed_at on a0", e + 1);
        int64_t since = wall_ms() - (int64_t) at;
        int64_t wait = ((int64_t) (phase * refresh) - since) % refresh;
        if (wait < 0)
            wait += refresh;
        sleep_ms(wait);

        int64_t t0 = now_us();
        bp_kill(pb[victim]);
        bool moved[MAX_A] = { false };
        int left = na;
        deadline = t0 + WAIT_MS * 1000LL;
        while (left > 0) {
            for (int i = 0; i < na; i++)
                if (!moved[i] && host_is(&ca[i], "to-b", pb[survivor]->endpoint)) {
                    moved[i] = true;
                    left--;
                }
            if (left > 0 && now_us() > deadline)
                bp_die("event %d: %d replica(s) of A never moved to %s", e + 1, left,
                    pb[survivor]->endpoint);
            if (left > 0)
                sleep_ms(2);
        }
        fail_ms[e] = (double) (now_us() - t0) / 1000.0;

        /*  The last replica's turn comes after na - 1 intervals: wait past it. */
        sleep_ms((int64_t) (na + 2) * refresh);
        uint64_t dw = 0, dh = 0, dc = 0, dk = 0;
        char who[64] = "";
        for (int i = 0; i < na; i++) {
            uint64_t w = cli_stat(&ca[i], "store_rc_writes") - w0[i];
            dw += w;
            dh += cli_stat(&ca[i], "rc_hostname_writes") - h0[i];
            dc += cli_stat(&ca[i], "store_rc_conflicts") - c0[i];
            dk += cli_stat(&ca[i], "rc_hostname_cancelled") - k0[i];
            if (w)
                snprintf(who + strlen(who), sizeof who - strlen(who), "%sa%d×%" PRIu64,
                         who[0] ? " " : "", i, w);
        }
        writes[e] = (double) dw;
        note("event %d: SIGKILL %s (the hostname) %.0f%% into a refresh interval → every replica "
             "of A on %s after %.1f ms; database writes %" PRIu64 " (by %s), hostname writes %"
             PRIu64 ", refused compare-and-sets %" PRIu64 ", plans cancelled %" PRIu64, e + 1,
             pb[victim]->name, 100 * phase, pb[survivor]->name, fail_ms[e], dw,
             who[0] ? who : "nobody", dh, dc, dk);
        if (dw != 1)
            bad++;
        for (int i = 0; i < na; i++)
            if (!host_is(&ca[i], "to-b", pb[survivor]->endpoint))
                bp_die("event %d: a%d moved away from %s afterwards (ping-pong)", e + 1, i,
                    pb[survivor]->endpoint);

        /*  The victim comes back, under its old id and endpoint. */
        bp_restart(pb[victim]);
        cli_reopen(&cb[victim], pb[victim]->endpoint);
        cli_wait_ready(&cb[victim], pb[victim], WAIT_MS);
        cli_wait_members(&cb[survivor], 2, WAIT_MS);
        host = survivor;
    }
    double fm = mean(fail_ms, (size_t) events), wm = mean(writes, (size_t) events);
    qsort(fail_ms, (size_t) events, sizeof *fail_ms, cmp_double);
    note("failover (ms) over %d events: mean %.1f, min %.1f, median %.1f, max %.1f "
         "(refresh interval %d ms, alive window %d ms)", events, fm, fail_ms[0],
         pct(fail_ms, (size_t) events, 0.5), fail_ms[events - 1], refresh, alive);
    for (int i = 0; i < na; i++)
        if (!bp_running(pa[i]))
            bp_die("a%d ended during the run", i);
    char name[64];
    snprintf(name, sizeof name, "rc_writes_per_event_%d", na);
    emit(name, wm, "writes");
    if (na == 3)
        emit("rc_failover", fm, "ms");
    if (bad)
        note("%d event(s) did not make exactly one write", bad);
    free(writes);
    free(fail_ms);
    for (int i = 0; i < na; i++)
        cli_close(&ca[i]);
    for (int i = 0; i < 2; i++)
        cli_close(&cb[i]);
    return bad ? 1 : 0;
}

static int fig_events_3(void)
{
    return fig_events(3);
}

static int fig_events_5(void)
{
    return fig_events(5);
}

/* --------------------------------------------------------- refresh 20 -- */

static int fig_refresh_round(void)
{
    int rounds = (int) env_long("MT_BENCH_RC_ROUNDS", 30, 1, 100000), warm = 3;
    /*  No periodic refresh on A: every probe measured is one we asked for. */
    const char *const a_flags[] = { "--refresh-interval", "3600000", NULL };
    const char *const r_flags[] = { "--workers", "1", NULL };
    bp_proc_t *pr[NREMOTES];
    for (int r = 0; r < NREMOTES; r++) {
        char id[8], db[32];
        snprintf(id, sizeof id, "r%02d", r);
        snprintf(db, sizeof db, "metactor_rcb_r%02d", r);
        pr[r] = start_replica(id, db, g_port + 40 + 2 * r, r_flags);
    }
    bp_proc_t *pa = start_replica("a0", "metactor_rcb_a", g_port, a_flags);
    cli_t a;
    cli_open(&a, "a0", pa->endpoint);
    for (int r = 0; r < NREMOTES; r++) {
        cli_t c;
        cli_open(&c, pr[r]->name, pr[r]->endpoint);
        cli_wait_ready(&c, pr[r], WAIT_MS);
        cli_close(&c);
    }
    cli_wait_ready(&a, pa, WAIT_MS);
    for (int r = 0; r < NREMOTES; r++) {
        char name[16];
        snprintf(name, sizeof name, "ref-%02d", r);
        rc_add(&a, name, pr[r]->endpoint);
    }
    note("a0 holds %d references to %d one-replica clusters (each on its own database; "
         "remotes --workers 1); a round: %d rc.get refresh=true sent at once on one DEALER; "
         "%d rounds after %d not measured", NREMOTES, NREMOTES, NREMOTES, rounds, warm);

    double *ms = calloc((size_t) rounds, sizeof *ms);
    if (!ms)
        bp_die("out of memory");
    uint64_t ref0 = 0;
    unsigned long long cpu0 = 0, rcpu0 = 0;
    int64_t prev_refreshed[NREMOTES] = { 0 };
    for (int k = -warm; k < rounds; k++) {
        if (k == 0) {
            ref0 = cli_stat(&a, "rc_refreshes");
            cpu0 = proc_ticks(pa->pid);
            for (int r = 0; r < NREMOTES; r++)
                rcpu0 += proc_ticks(pr[r]->pid);
        }
        uint64_t first_rid = a.rid + 1;
        int64_t t0 = now_us();
        for (int r = 0; r < NREMOTES; r++) {
            char name[16];
            snprintf(name, sizeof name, "ref-%02d", r);
            cli_begin(&a, "rc.get", 2);
            cli_pack_str(&a.pk, "name");
            cli_pack_str(&a.pk, name);
            cli_pack_str(&a.pk, "refresh");
            msgpack_pack_true(&a.pk);
            cli_send(&a);
        }
        int got = 0;
        while (got < NREMOTES) {
            uint64_t rid;
            int64_t left = t0 + CLI_CALL_MS * 1000LL - now_us();
            if (left <= 0 || cli_recv(&a, (int) (left / 1000 + 1), &rid) != 0)
                bp_die("round %d: %d of %d replies", k, got, NREMOTES);
            if (rid < first_rid || rid >= first_rid + NREMOTES)
                continue;
            const msgpack_object *res = NULL;
            if (cli_result(&a, &res) != 0)
                bp_die("round %d: rc.get refresh: %s", k, a.code);
            const msgpack_object *ref = mt_client_map_first(res, "ref");
            const msgpack_object *nl = mt_client_map_first(ref, "node_list");
            uint64_t at = 0;
            int r = (int) (rid - first_rid);
            if (!nl || nl->type != MSGPACK_OBJECT_ARRAY || nl->via.array.size != 1
                || !cli_obj_u64(mt_client_map_first(ref, "refreshed_at"), &at) || (int64_t) at < prev_refreshed[r])
                bp_die("round %d: ref-%02d: not a refreshed one-member node list", k, r);
            prev_refreshed[r] = (int64_t) at;
            got++;
        }
        if (k >= 0)
            ms[k] = (double) (now_us() - t0) / 1000.0;
    }
    uint64_t refreshes = cli_stat(&a, "rc_refreshes") - ref0;
    double cpu_ms = ticks_ms(proc_ticks(pa->pid) - cpu0);
    unsigned long long rcpu = 0;
    for (int r = 0; r < NREMOTES; r++)
        rcpu += proc_ticks(pr[r]->pid);
    double rcpu_ms = ticks_ms(rcpu - rcpu0);
    double m = mean(ms, (size_t) rounds);
    qsort(ms, (size_t) rounds, sizeof *ms, cmp_double);
    note("round (ms): median %.3f, mean %.3f, min %.3f, p90 %.3f, max %.3f", pct(ms, (size_t) rounds, 0.5),
         m, ms[0], pct(ms, (size_t) rounds, 0.9), ms[rounds - 1]);
    note("rc_refreshes on a0 over the measured rounds: %" PRIu64 " (%.1f per round: each get "
         "made or joined one probe round of its reference)", refreshes,
         (double) refreshes / rounds);
    note("cpu per round: a0 %.2f ms, the 20 remotes together %.2f ms (clock ticks of %ld Hz: "
         "coarse)", cpu_ms / rounds, rcpu_ms / rounds, sysconf(_SC_CLK_TCK));
    for (int r = 0; r < NREMOTES; r++)
        if (!bp_running(pr[r]))
            bp_die("r%02d ended during the run", r);
    if (!bp_running(pa))
        bp_die("a0 ended during the run");
    emit("rc_refresh_round_20", pct(ms, (size_t) rounds, 0.5), "ms");
    free(ms);
    cli_close(&a);
    return 0;
}

/* --------------------------------------------------------------- main -- */

static const cli_figure_t figures[] = {
    { "events_3", fig_events_3 },
    { "events_5", fig_events_5 },
    { "refresh_round_20", fig_refresh_round },
};

int main(int argc, char **argv)
{
    static const cli_prog_t prog = { "mt_bench_rc", "rc_bench", "MT_BENCH_RC_PORT", 7700, 65400,
                                     figures, sizeof figures / sizeof figures[0] };
    return cli_main(argc, argv, &prog, &g_dsn, &g_bindir, &g_port);
}
