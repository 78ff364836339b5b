/*  nodes.c — the node service: its settings, and starting and stopping its
    directory and reload actors. */
#include "nodes_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mt_nodes {
    mt__nodes_cfg_t *cfg;
    mt_actor_t *directory;
    mt_actor_t *reload;
};

/* ---- settings ---------------------------------------------------------- */

mt__nodes_cfg_t *mt__nodes_cfg_ref(mt__nodes_cfg_t *cfg)
{
    atomic_fetch_add_explicit(&cfg->refs, 1, memory_order_relaxed);
    return cfg;
}

void mt__nodes_cfg_unref(mt__nodes_cfg_t **cfg_p)
{
    mt__nodes_cfg_t *cfg = *cfg_p;
    if (!cfg)
        return;
    *cfg_p = NULL;
    if (atomic_fetch_sub_explicit(&cfg->refs, 1, memory_order_acq_rel) != 1)
        return;
    mt_actor_unref(&cfg->directory);
    mt_actor_unref(&cfg->listener);
    mt__views_destroy(&cfg->views);
    free(cfg);
}

/* ---- the service ------------------------------------------------------- */

mt_nodes_t *mt_nodes_new(mt_runtime_t *rt, const mt_nodes_opts_t *opts)
{
    if (!opts || !opts->store)
        return NULL;
    mt_nodes_t *nodes = calloc(1, sizeof *nodes);
    mt__nodes_cfg_t *cfg = calloc(1, sizeof *cfg);
    if (!nodes || !cfg) {
        free(nodes);
        free(cfg);
        return NULL;
    }
    atomic_init(&cfg->refs, 1);
    cfg->store = opts->store;
    cfg->health_timeout_ms = opts->health_timeout_ms > 0 ? opts->health_timeout_ms : 40000;
    cfg->reload_interval_ms = opts->reload_interval_ms ? opts->reload_interval_ms : 30000;
    cfg->full_resync_every = opts->full_resync_every > 0 ? opts->full_resync_every : 10;
    cfg->tombstone_retention_ms = opts->tombstone_retention_ms ? opts->tombstone_retention_ms
                                                               : 3600000;
    cfg->store_timeout_ms = opts->store_timeout_ms > 0 ? opts->store_timeout_ms : 30000;
    cfg->max_stash = opts->max_stash > 0 ? opts->max_stash : 256;
    cfg->txn_max_ms = opts->txn_max_ms > 0 ? opts->txn_max_ms : MT_STORE_TXN_MAX_MS;
    cfg->lag_ms = opts->lag_ms;
    cfg->listener = opts->listener ? mt_actor_ref(opts->listener) : NULL;
    cfg->listener_local_only = opts->listener_local_only;
    cfg->horizon = opts->revision_horizon;
    cfg->db_clock = opts->db_clock;
    cfg->views = mt__views_new();
    nodes->cfg = cfg;
    nodes->directory = mt__directory_spawn(rt, cfg);
    if (nodes->directory) {
        cfg->directory = mt_actor_ref(nodes->directory);
        nodes->reload = mt__reload_spawn(rt, cfg);
    }
    if (!nodes->directory || !nodes->reload) {
        mt_nodes_destroy(&nodes);
        return NULL;
    }
    return nodes;
}

void mt_nodes_destroy(mt_nodes_t **nodes_p)
{
    mt_nodes_t *nodes = *nodes_p;
    if (!nodes)
        return;
    *nodes_p = NULL;
    if (nodes->reload)
        mt_stop(nodes->reload, 0);
    if (nodes->directory)
        mt_stop(nodes->directory, 0);   /* stops every node actor it knows */
    mt_actor_unref(&nodes->reload);
    mt_actor_unref(&nodes->directory);
    /*  cfg->directory is a cycle (directory → cfg → directory) only through
        the node actors' references; drop ours now. */
    mt__nodes_cfg_unref(&nodes->cfg);
    free(nodes);
}

mt_actor_t *mt_nodes_directory(mt_nodes_t *nodes) { return nodes->directory; }
mt_actor_t *mt_nodes_reload(mt_nodes_t *nodes) { return nodes->reload; }

bool mt_nodes_peek(mt_nodes_t *nodes, const char *id, mt_node_view_t *view)
{
    memset(view, 0, sizeof *view);
    if (!mt__views_get(nodes->cfg->views, id, view))
        return false;
    snprintf(view->id, sizeof view->id, "%s", id);
    view->healthy = mt_node_healthy(view->status, mt__nodes_db_now(nodes->cfg),
                                    nodes->cfg->health_timeout_ms);
    view->schedulable = mt_node_schedulable(view->reg, view->healthy);
    return true;
}

bool mt_nodes_holds(mt_nodes_t *nodes, const char *id, int64_t reg_revision,
                    int64_t status_revision)
{
    return mt__views_has(nodes->cfg->views, id, reg_revision, status_revision);
}

void mt_nodes_stats(mt_nodes_t *nodes, mt_nodes_stats_t *out)
{
    out->reloads = atomic_load_explicit(&nodes->cfg->reloads, memory_order_relaxed);
    out->reload_rows = atomic_load_explicit(&nodes->cfg->reload_rows, memory_order_relaxed);
    out->reload_known = atomic_load_explicit(&nodes->cfg->reload_known, memory_order_relaxed);
    out->tombstones_purged = atomic_load_explicit(&nodes->cfg->purged, memory_order_relaxed);
    out->absent_deleted = atomic_load_explicit(&nodes->cfg->absent_deleted, memory_order_relaxed);
    out->expired = atomic_load_explicit(&nodes->cfg->expired, memory_order_relaxed);
    out->stash_busy = atomic_load_explicit(&nodes->cfg->stash_busy, memory_order_relaxed);
    out->nodes = atomic_load_explicit(&nodes->cfg->present, memory_order_relaxed);
    out->healthy = atomic_load_explicit(&nodes->cfg->healthy, memory_order_relaxed);
}
