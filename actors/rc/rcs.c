/*  rcs.c — the reference service: settings, probers, registry. */
#include "rcs_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mt_rcs {
    mt__rcs_cfg_t *cfg;
};

mt__rcs_cfg_t *mt__rcs_cfg_ref(mt__rcs_cfg_t *cfg)
{
    atomic_fetch_add_explicit(&cfg->refs, 1, memory_order_relaxed);
    return cfg;
}

void mt__rcs_cfg_unref(mt__rcs_cfg_t **cfg_p)
{
    mt__rcs_cfg_t *cfg = *cfg_p;
    if (!cfg)
        return;
    *cfg_p = NULL;
    if (atomic_fetch_sub_explicit(&cfg->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (int i = 0; i < cfg->nprobers; i++)
        mt_actor_unref(&cfg->probers[i]);
    free(cfg->probers);
    mt_actor_unref(&cfg->dispatcher);
    mt_actor_unref(&cfg->registry);
    mt_actor_unref(&cfg->listener);
    free(cfg);
}

mt_rcs_t *mt_rcs_new(mt_runtime_t *rt, const mt_rcs_opts_t *opts)
{
    if (!opts || !opts->store || !opts->replica_id)
        return NULL;
    mt_rcs_t *rcs = calloc(1, sizeof *rcs);
    mt__rcs_cfg_t *cfg = calloc(1, sizeof *cfg);
    if (!rcs || !cfg) {
        free(rcs);
        free(cfg);
        return NULL;
    }
    atomic_init(&cfg->refs, 1);
    rcs->cfg = cfg;
    cfg->store = opts->store;
    snprintf(cfg->replica_id, sizeof cfg->replica_id, "%s", opts->replica_id);
    cfg->refresh_interval_ms = opts->refresh_interval_ms > 0 ? opts->refresh_interval_ms : 15000;
    cfg->reload_interval_ms = opts->reload_interval_ms ? opts->reload_interval_ms : 5000;
    cfg->probe_timeout_ms = opts->probe_timeout_ms ? opts->probe_timeout_ms : 1000;
    cfg->allow_ipc = opts->allow_ipc;
    cfg->txn_max_ms = opts->txn_max_ms > 0 ? opts->txn_max_ms : MT_STORE_TXN_MAX_MS;
    cfg->store_timeout_ms = opts->store_timeout_ms > 0 ? opts->store_timeout_ms : 30000;
    cfg->listener = opts->listener ? mt_actor_ref(opts->listener) : NULL;
    cfg->nprobers = opts->probers > 0 ? opts->probers : 4;
    cfg->probers = calloc((size_t) cfg->nprobers, sizeof *cfg->probers);
    if (!cfg->probers || !(cfg->dispatcher = mt__rc_dispatcher_spawn(rt, cfg)))
        goto fail;
    for (int i = 0; i < cfg->nprobers; i++)
        if (!(cfg->probers[i] = mt__rc_prober_spawn(rt, cfg->probe_timeout_ms, cfg->allow_ipc,
                                                    i, cfg->dispatcher)))
            goto fail;
    if (!mt__rc_registry_spawn(rt, cfg))    /* sets cfg->registry */
        goto fail;
    return rcs;
fail:
    mt_rcs_destroy(&rcs);
    return NULL;
}

void mt_rcs_destroy(mt_rcs_t **rcs_p)
{
    mt_rcs_t *rcs = *rcs_p;
    if (!rcs)
        return;
    *rcs_p = NULL;
    mt__rcs_cfg_t *cfg = rcs->cfg;
    if (cfg->registry)
        mt_stop(cfg->registry, 0);      /* stops every agent */
    for (int i = 0; cfg->probers && i < cfg->nprobers; i++)
        if (cfg->probers[i])
            mt_stop(cfg->probers[i], 0);
    if (cfg->dispatcher)
        mt_stop(cfg->dispatcher, 0);
    mt__rcs_cfg_unref(&rcs->cfg);
    free(rcs);
}

mt_actor_t *mt_rcs_registry(mt_rcs_t *rcs)
{
    return rcs->cfg->registry;
}

void mt_rcs_stats(mt_rcs_t *rcs, mt_rcs_stats_t *out)
{
    out->refreshes = atomic_load(&rcs->cfg->refreshes);
    out->hostname_writes = atomic_load(&rcs->cfg->hostname_writes);
    out->hostname_cancelled = atomic_load(&rcs->cfg->hostname_cancelled);
    out->hostname_restricted = atomic_load(&rcs->cfg->hostname_restricted);
}
