/*  metric_table.c — what each replica.stats counter is, for Prometheus:
    a counter (only grows; exposed as metactor_NAME_total) or a gauge
    (goes up and down; metactor_NAME), and its # HELP line. The texts
    follow docs/operations.md ("What to watch"). A counter added to
    replica.stats without a line here is still exposed, as untyped, and
    the ops test names it. */
#include "ops_internal.h"

#include <string.h>

#define C(n, h) { n, MT__OPS_COUNTER, h }
#define G(n, h) { n, MT__OPS_GAUGE, h }

static const mt__ops_metric_t table[] = {
    G("actors", "Actors alive in the runtime."),
    C("actors_spawned", "Actors spawned since start."),
    C("messages_sent", "Messages sent between actors."),
    C("messages_delivered", "Messages handled by actors."),
    C("messages_dropped", "Messages dropped (sent to actors that had stopped)."),
    G("mailbox_depth", "Messages sent and not handled yet; growing means the replica cannot keep up."),
    G("timers", "Timers armed."),
    G("workers", "Runtime worker threads."),
    C("worker_runs", "Actor turns run by the workers."),
    C("steals", "Run-queue steals between workers."),
    C("parks", "Times a worker went to sleep for lack of work."),
    C("requests", "Client requests received."),
    G("requests_in_flight", "Client requests asked of actors and not answered yet."),
    C("request_errors", "Requests answered with an error."),
    C("request_timeouts", "Requests answered unavailable because no answer came in time."),
    C("requests_unauthorized", "Requests refused by the role table."),
    C("requests_busy", "Requests answered busy by admission control."),
    C("replies_dropped", "Replies dropped because the client was gone or not reading."),
    C("connections_refused", "CURVE handshakes refused by the ZAP handler."),
    G("trusted_certificates", "Certificates in the trust store."),
    C("store_batches", "Heartbeat transactions committed."),
    C("store_rows", "Heartbeats committed in those transactions."),
    C("store_rechecks", "Heartbeat batches that had to lock the registrations after all."),
    C("store_rows_alone", "Heartbeats retried in a transaction of their own after the database refused their batch."),
    C("store_statements", "SQL statements executed, COMMITs included."),
    C("store_reconnects", "Database connections re-established after a loss."),
    C("store_rc_writes", "Remote cluster reference writes committed."),
    C("store_rc_conflicts", "Remote cluster reference writes refused (compare-and-set, name, uuid)."),
    C("store_revision_raises", "Revision draws below a row's revision (Galera): the sequence moved past it."),
    C("rows_rejected", "Stored rows this replica could not decode (each version once)."),
    C("notices_sent", "Change notices published."),
    C("notices_received", "Change notices received."),
    C("notice_gaps", "Gaps in a publisher's notice sequence (each triggers a reload)."),
    C("notices_dropped", "Notices the publish socket dropped at its high-water mark."),
    G("peers", "Peer replicas this replica subscribes to."),
    C("peers_without_key", "Peers seen publishing no usable CURVE key (not subscribed to)."),
    C("notices_implausible", "Notices not merged because their revision is implausible."),
    C("reloads", "Reload passes completed."),
    C("reload_rows", "Rows read by reload passes."),
    C("reload_known", "Rows reload passes read that this replica held already (not merged again)."),
    C("tombstones_purged", "Node tombstones purged by this replica."),
    C("nodes_absent_deleted", "Nodes dropped because a full resync no longer found them."),
    C("requests_expired", "Requests dropped: their client had been answered before work could start."),
    C("requests_busy_stash", "Requests refused busy: their node's queue was full."),
    C("rc_refreshes", "Remote cluster reference refreshes."),
    C("rc_hostname_writes", "Remote cluster reference hostnames rewritten by this replica."),
    C("rc_hostname_restricted", "Automatic hostname replacements not made: the reference has restrict_hostname_replace."),
    G("heap_free_bytes", "Free bytes in malloc's arenas at the heap trimmer's last check."),
    C("heap_trims", "malloc_trim calls by the heap trimmer (free heap above 8 MB)."),
    C("rc_hostname_cancelled", "Hostname rewrites cancelled because another replica wrote first."),
    G("nodes", "Registered nodes, as of the last reload pass."),
    G("nodes_healthy", "Healthy nodes (database clock), as of the last reload pass."),
};

const mt__ops_metric_t *mt__ops_metric(const char *name)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}
