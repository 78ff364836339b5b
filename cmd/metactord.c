/*  metactord — one replica of metactor.

    Start-up wires the actors bottom-up: security (the ZAP handler must be
    up before any socket is bound, or libzmq would admit every CURVE
    client) → runtime → store (it connects by
    itself, and keeps answering `unavailable` while the database is away)
    → notice bus → node and reference services (publishing through the bus)
    → membership (telling the bus its peers and the references their
    priority) → gateway (last: a request only arrives once everything it
    may need exists).

    Shutdown on SIGINT/SIGTERM, in the reverse order: the gateway stops
    taking requests; the writes already in flight drain into the database
    (a write is acknowledged only after its commit, so nothing acknowledged
    can be lost, and nothing is removed); the replica's membership row is
    deleted so peers stop waiting for it; then every actor is stopped and
    every thread joined.

    Operators' handles (metactord_ops.c): the optional HTTP listener
    (metrics, health, readiness) starts once the gateway serves, and stops
    first; systemd hears READY once the gateway serves and STOPPING when
    draining starts. */
#include "metactord_ops.h"
#include "mt_bus.h"
#include "mt_config.h"
#include "mt_core.h"
#include "mt_db_clock.h"
#include "mt_gateway.h"
#include "mt_membership.h"
#include "mt_metrics.h"
#include "mt_nodes.h"
#include "mt_rcs.h"
#include "mt_security.h"
#include "mt_store.h"
#include "mt_log.h"
#include "heap_trim.h"

#include <czmq.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/*  Freed heap goes back to the system every HEAP_TRIM_MS when the arenas
    hold more than HEAP_TRIM_FREE bytes free (heap_trim.c). */
#define HEAP_TRIM_MS 5000
#define HEAP_TRIM_FREE ((size_t) 8 << 20)

/*  The gateway's node.get from memory (mt_gateway_opts_t.peek_fn). */
static bool peek_node(void *nodes, const char *id, mt_node_view_t *view)
{
    return mt_nodes_peek(nodes, id, view);
}

/*  The bus's mt_bus_route_t.held. */
static bool holds(void *nodes, const char *id, int64_t reg_revision, int64_t status_revision)
{
    return mt_nodes_holds(nodes, id, reg_revision, status_revision);
}

/*  Waits until `a` has stopped (its DOWN reaches a probe). */
static void await_stop(mt_runtime_t *rt, mt_actor_t *a, int timeout_ms)
{
    mt_probe_t *p = mt_probe_new(rt);
    mt_monitor(mt_probe_actor(p), a);
    mt_stop(a, 0);
    mt_msg_t *down = mt_probe_expect(p, MT_MSG_DOWN, timeout_ms);
    mt_msg_free(down);
    mt_probe_destroy(&p);
}

/*  Lets messages already sent settle: in-flight writes reach the store and
    are committed and answered. Bounded: a dead database must not hold the
    shutdown (its writes are answered `unavailable`, never acknowledged). */
static void drain(mt_runtime_t *rt, int timeout_ms)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    int quiet = 0;
    while (quiet < 3 && zclock_mono() < deadline) {
        mt_stats_t s;
        mt_runtime_stats(rt, &s);
        quiet = s.msgs_sent == s.msgs_delivered + s.msgs_dropped ? quiet + 1 : 0;
        zclock_sleep(20);
    }
}

int main(int argc, char **argv)
{
    mt_config_t cfg;
    char err[512];
    if (mt_config_load(&cfg, argc, argv, err, sizeof err) != MT_OK) {
        fprintf(stderr, "metactord: %s\n(try metactord --help)\n", err);
        return 2;
    }
    if (cfg.help) {
        fputs(mt_config_usage(), stdout);
        mt_config_free(&cfg);
        return 0;
    }
    mt_log_configure(cfg.log_level, cfg.log_format, "metactord");

    /*  Signals go to sigwait below, on this thread only: blocked before any
        thread exists (czmq's own handler would only set a flag). */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    zsys_handler_set(NULL);
    zsys_init();
    zsys_set_logident("metactord");
    /*  Settings accepted with a caution (a password visible in `ps`, a
        secret file others can read): said once, at start. */
    for (const char *w = cfg.warnings; w && *w;) {
        size_t n = strcspn(w, "\n");
        mt_log_warning("%.*s", (int) n, w);
        w += n + (w[n] == '\n');
    }

    int rc = 1;
    mt_security_t *sec = NULL;
    if (cfg.cert && mt_security_new(cfg.cert, cfg.trust, &sec, err, sizeof err) != MT_OK) {
        mt_log_error("%s", err);
        mt_config_free(&cfg);
        return 1;
    }
    if (!sec)
        mt_log_info("no certificate: requests and notices are neither authenticated nor "
                 "encrypted%s", cfg.insecure ? " (--insecure)" : "");
    mt_runtime_t *rt = mt_runtime_new(&(mt_runtime_opts_t) { .workers = cfg.workers });
    mt_store_t *store = NULL;
    mt_nodes_t *nodes = NULL;
    mt_rcs_t *rcs = NULL;
    mt_actor_t *bus = NULL, *membership = NULL, *gateway = NULL;
    /*  Outlives the bus and every reader of its counters. */
    mt_bus_counters_t bus_counters = { 0 }, *bus_ctr = &bus_counters;
    heap_trim_t *trim = NULL;
    /*  Health is judged by the database's clock: membership samples it with
        every beat, node actors read the estimate (docs/architecture.md). */
    static mt_db_clock_t db_clock;
    mt_db_clock_init(&db_clock);
    /*  Notice convergence is measured by the same clock (seen_at). */
    mt_metrics_set_db_clock(md_ops_db_now, &db_clock);
    static md_ops_t ops;
    mt_ops_http_t *http = NULL;
    if (!rt) {
        mt_log_error("cannot start the runtime");
        goto out;
    }
    mt_store_opts_t so = { .dsn = cfg.dsn, .writers = cfg.store_writers,
                           .linger_ms = cfg.store_linger_ms };
    if (mt_store_new(rt, &so, &store, err, sizeof err) != MT_OK) {
        mt_log_error("%s", err);
        goto out;
    }
    if (mt_store_wait_ready(store, 3000) != MT_OK)
        mt_log_info("the database is not reachable yet; serving reads from memory and "
                 "answering writes `unavailable` until it is");

    mt_bus_opts_t bo = { .replica_id = cfg.replica_id, .endpoint = cfg.pub_endpoint,
                         .subscribe = cfg.subscribe != 0, .security = sec,
                         .counters = bus_ctr };
    if (mt_bus_new(rt, &bo, &bus, err, sizeof err) != MT_OK) {
        mt_log_error("%s", err);
        goto out;
    }
    mt_nodes_opts_t no = {
        .store = store, .health_timeout_ms = cfg.health_timeout_ms,
        .reload_interval_ms = cfg.reload_interval_ms,
        .full_resync_every = cfg.full_resync_every, .listener = bus,
        .listener_local_only = true,
        .tombstone_retention_ms = cfg.tombstone_retention_ms ? cfg.tombstone_retention_ms : -1,
        .revision_horizon = &bus_ctr->horizon,
        .db_clock = &db_clock,
        .max_stash = (uint32_t) cfg.max_stash,
    };
    nodes = mt_nodes_new(rt, &no);
    if (!nodes) {
        mt_log_error("cannot start the node service");
        goto out;
    }
    mt_rcs_opts_t ro = {
        .store = store, .replica_id = cfg.replica_id,
        .refresh_interval_ms = cfg.refresh_interval_ms,
        .reload_interval_ms = cfg.reload_interval_ms, .listener = bus,
        .allow_ipc = cfg.rc_allow_ipc,
    };
    rcs = mt_rcs_new(rt, &ro);
    if (!rcs) {
        mt_log_error("cannot start the remote cluster reference service");
        goto out;
    }
    mt_send(bus, mt_bus_route_new(mt_nodes_directory(nodes), mt_nodes_reload(nodes),
                                  mt_rcs_registry(rcs), holds, nodes));

    mt_membership_opts_t mo = {
        .store = store, .replica_id = cfg.replica_id, .endpoint = cfg.endpoint,
        .pub_endpoint = cfg.pub_endpoint, .beat_ms = cfg.beat_interval_ms,
        .alive_ms = cfg.alive_window_ms, .bus = bus, .listener = mt_rcs_registry(rcs),
        .public_key = sec ? mt_security_public_key(sec) : NULL,
        .db_clock = &db_clock, .live_at = &ops.live_at,
    };
    membership = mt_membership_new(rt, &mo);
    if (!membership) {
        mt_log_error("cannot start membership");
        goto out;
    }

    trim = heap_trim_start(HEAP_TRIM_FREE, HEAP_TRIM_MS, md_ops_quiet, &ops);
    if (!trim)
        mt_log_warning("cannot start the heap trimmer: memory freed after a burst stays "
                    "with the process");
    ops.trim = trim;
    ops.rt = rt;
    ops.store = store;
    ops.bus = bus_ctr;
    ops.rcs = rcs;
    ops.nodes = nodes;
    ops.sec = sec;
    ops.db_clock = &db_clock;
    ops.alive_ms = cfg.alive_window_ms;
    mt_gateway_opts_t go = {
        .endpoint = cfg.endpoint, .max_body = cfg.max_body,
        .request_timeout_ms = (uint32_t) cfg.request_timeout_ms,
        .max_inflight = (uint32_t) cfg.max_inflight,
        .max_inflight_client = (uint32_t) cfg.max_inflight_client,
        .nodes = mt_nodes_directory(nodes), .cluster = membership,
        .rc = mt_rcs_registry(rcs), .security = sec,
        .stats_fn = md_ops_extra_stats, .stats_arg = &ops, .counters = &ops.gateway,
        .peek_fn = peek_node, .peek_arg = nodes,
    };
    if (mt_gateway_new(rt, &go, &gateway, err, sizeof err) != MT_OK) {
        mt_log_error("%s", err);
        goto out;
    }
    mt_stats_t rs;
    mt_runtime_stats(rt, &rs);
    mt_log_info("replica %s: requests on %s, notices on %s, %d worker(s)%s%s",
             cfg.replica_id, cfg.endpoint, cfg.pub_endpoint, rs.workers,
             sec ? ", CURVE with key " : "", sec ? mt_security_public_key(sec) : "");
    if (md_ops_http_start(&ops, &cfg, &http, err, sizeof err) != MT_OK) {
        mt_log_error("%s", err);
        goto out;
    }
    if (http)
        mt_log_info("metrics and health over HTTP on %s (/metrics, /healthz, /readyz)", cfg.http);
    mt_ops_notify_ready("serving");

    int sig = 0;
    sigwait(&stop, &sig);
    mt_log_info("%s: stopping (no new requests; draining writes in flight)",
             sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&ops.stopping, true);
    mt_ops_notify_stopping("draining writes in flight");
    await_stop(rt, gateway, 5000);
    drain(rt, 5000);
    mt_msg_t *left = NULL;
    if (mt_ask_wait(rt, membership, mt_msg_new(MT_MEMBERSHIP_LEAVE, 0), 3000, &left) == MT_OK)
        mt_log_debug("left the replicas table");
    mt_msg_free(left);
    rc = 0;
out:
    mt_ops_http_destroy(&http);     /* first: it reads every part below */
    mt_actor_unref(&gateway);
    mt_actor_unref(&membership);
    if (bus)
        await_stop(rt, bus, 5000);  /* it reads the node views (holds) */
    mt_rcs_destroy(&rcs);
    mt_nodes_destroy(&nodes);
    mt_actor_unref(&bus);
    mt_store_destroy(&store);
    mt_runtime_destroy(&rt);
    heap_trim_stop(&trim);
    mt_security_destroy(&sec);      /* after every socket it serves is closed */
    mt_config_free(&cfg);
    if (rc == 0)
        mt_log_info("stopped");
    return rc;
}
