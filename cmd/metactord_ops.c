/*  metactord_ops.c — the replica as operators' tools see it.

    Readiness (/readyz) is the conjunction a load balancer needs before it
    sends this replica work, each part read from an atomic:
      * the database is usable: every store connection is up with the
        schema current (a connection that meets an outage says so at once;
        membership's beat meets it within a beat);
      * the first reload pass has finished: before it, reads answer from an
        empty or partial memory;
      * the replica is a live member: its last membership beat, within the
        alive window, found its own row alive — the others count on it;
      * it is not draining (SIGTERM received).
    The first part that fails is the reason given. */
#include "metactord_ops.h"
#include "mt_counter.h"

#include "mt_metrics.h"
#include "mt_version.h"

#include <stdio.h>

int64_t md_ops_db_now(const void *arg)
{
    return mt_db_clock_now(arg);
}

bool md_ops_quiet(void *arg)
{
    md_ops_t *ops = arg;
    uint64_t requests = mt_counter_get(&ops->gateway.requests);
    if (mt_counter_get(&ops->gateway.in_flight) != 0
        || requests - ops->quiet_trim_requests < 20000)
        return false;
    ops->quiet_trim_requests = requests;
    return true;
}

uint32_t md_ops_extra_stats(void *arg, mt_stat_t *out, uint32_t cap)
{
    md_ops_t *src = arg;
    mt_store_stats_t s;
    mt_store_stats(src->store, &s);
    mt_rcs_stats_t r;
    mt_rcs_stats(src->rcs, &r);
    mt_nodes_stats_t ns;
    mt_nodes_stats(src->nodes, &ns);
    heap_trim_stats_t ht = { 0 };
    if (src->trim)
        heap_trim_stats(src->trim, &ht);
    mt_stat_t all[] = {
        { "store_batches", s.status_batches },
        { "store_rows", s.status_rows },
        { "store_rechecks", s.status_rechecks },
        { "store_rows_alone", s.status_alone },
        { "store_statements", s.statements },
        { "store_reconnects", s.reconnects },
        { "store_rc_writes", s.rc_writes },
        { "store_rc_conflicts", s.rc_conflicts },
        { "store_revision_raises", s.revision_raises },
        { "rows_rejected", s.rows_rejected },
        { "notices_sent", atomic_load(&src->bus->sent) },
        { "notices_received", atomic_load(&src->bus->received) },
        { "notice_gaps", atomic_load(&src->bus->gaps) },
        { "notices_dropped", atomic_load(&src->bus->dropped) },
        { "peers", atomic_load(&src->bus->peers) },
        { "peers_without_key", atomic_load(&src->bus->peers_without_key) },
        { "notices_implausible", atomic_load(&src->bus->implausible) },
        { "reloads", ns.reloads },
        { "reload_rows", ns.reload_rows },
        { "reload_known", ns.reload_known },
        { "tombstones_purged", ns.tombstones_purged },
        { "nodes_absent_deleted", ns.absent_deleted },
        { "requests_expired", ns.expired },
        { "requests_busy_stash", ns.stash_busy },
        { "nodes", ns.nodes },
        { "nodes_healthy", ns.healthy },
        { "rc_refreshes", r.refreshes },
        { "rc_hostname_writes", r.hostname_writes },
        { "rc_hostname_restricted", r.hostname_restricted },
        { "rc_hostname_cancelled", r.hostname_cancelled },
        { "heap_free_bytes", ht.free_kb * 1024 },
        { "heap_trims", ht.trims },
    };
    uint32_t n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0] && n < cap; i++)
        out[n++] = all[i];
    return n;
}

/*  Everything replica.stats answers, as the gateway would. */
static uint32_t all_stats(void *arg, mt_stat_t *out, uint32_t cap)
{
    md_ops_t *ops = arg;
    uint32_t n = mt_gateway_stats(ops->rt, &ops->gateway, ops->sec, out, cap);
    return n + md_ops_extra_stats(ops, out + n, cap - n);
}

static uint32_t gauges(void *arg, mt_ops_gauge_t *out, uint32_t cap)
{
    md_ops_t *ops = arg;
    int64_t rtt = mt_db_clock_rtt_ms(ops->db_clock);
    heap_trim_stats_t ht = { 0 };
    if (ops->trim)
        heap_trim_stats(ops->trim, &ht);
    mt_ops_gauge_t g[] = {
        { "db_clock_offset_seconds", "The database's clock minus this host's, as estimated"
          " from membership beats (0 until the first sample).",
          rtt < 0 ? 0 : (double) mt_db_clock_skew_ms(ops->db_clock) / 1e3 },
        { "db_clock_rtt_seconds", "Round trip of the beat the clock estimate comes from"
          " (-1: no sample yet).", rtt < 0 ? -1 : (double) rtt / 1e3 },
        { "heap_trim_last_seconds", "What the heap trimmer's last check and trim took (on its"
          " own thread).", (double) ht.trim_us_last / 1e6 },
        { "heap_trim_max_seconds", "What the heap trimmer's slowest check and trim took.",
          (double) ht.trim_us_max / 1e6 },
    };
    uint32_t n = 0;
    for (size_t i = 0; i < sizeof g / sizeof g[0] && n < cap; i++)
        out[n++] = g[i];
    return n;
}

static bool ready(void *arg, char *why, size_t whylen)
{
    md_ops_t *ops = arg;
    mt_nodes_stats_t ns;
    mt_nodes_stats(ops->nodes, &ns);
    uint64_t live_at = atomic_load_explicit(&ops->live_at, memory_order_relaxed);
    uint64_t now = mt_now_ms();
    if (atomic_load(&ops->stopping))
        snprintf(why, whylen, "shutting down (draining)");
    else if (mt_store_wait_ready(ops->store, 0) != MT_OK)
        snprintf(why, whylen, "the database is not usable (see the log: store[N])");
    else if (ns.reloads == 0)
        snprintf(why, whylen, "the first reload from the database has not finished");
    else if (!live_at || now - live_at > (uint64_t) ops->alive_ms)
        snprintf(why, whylen, "not a live member: no membership beat found this replica"
                 " alive within the alive window (%lld ms)", (long long) ops->alive_ms);
    else
        return true;
    return false;
}

int md_ops_http_start(md_ops_t *ops, const mt_config_t *cfg, mt_ops_http_t **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    if (!cfg->http)
        return MT_OK;
    mt_ops_opts_t o = {
        .listen = cfg->http, .version = MT_VERSION, .replica_id = cfg->replica_id,
        .stats = all_stats, .gauges = gauges, .ready = ready, .arg = ops,
    };
    return mt_ops_http_start(&o, out, err, errlen);
}
