/*  reload.c — merges the database into the node actors.

    Messages handled:
      MT__RELOAD_TICK   the interval timer: run a pass (unless one runs).
      MT_NODE_RELOAD    run a pass now (the notice bus sends it on a sequence
                        gap; tests ask it and get MT_NODE_RELOADED back once
                        the pass's merges are sent: a request to the
                        directory after that is handled after them, while
                        what node actors publish may still lag).
      MT_STORE_SCANNED  the reader's answer: every row is sent to the
                        directory as an MT_NODE_MERGE (nodes merge by
                        revision, so a stale row changes nothing).
      MT_STORE_DONE     a writer's answer to the tombstone purge: counted.
      MT_MSG_TIMEOUT    the reader did not answer: the pass failed (or the
                        writer did not answer the purge: logged).

    Which rows a pass reads: see mt_scan_window.h. Every
    full_resync_every-th pass reads everything, as a safety net; it also
    tells the directory which revisions it covered, so that nodes whose rows
    are gone altogether are dropped (directory.c), and then purges the
    tombstones older than the retention — they have done their job. */
#include "mt_bus.h"
#include "mt_metrics.h"
#include "mt_log.h"
#include "mt_scan_window.h"
#include "nodes_internal.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    mt__nodes_cfg_t *cfg;
    mt_timer_t *timer;
    uint64_t corr;                  /* scan in flight, 0 if none */
    bool again;                     /* a pass was asked for meanwhile */
    bool full;                      /* the pass in flight is full */
    int64_t covered;                /* of the pass in flight: mt_scan_window_covered */
    uint64_t purge_corr;            /* purge in flight, 0 if none */
    uint64_t passes;
    uint64_t started_us;            /* of the pass in flight (its histogram) */
    mt_scan_window_t window;
    mt_msgq_t askers;               /* MT_NODE_RELOAD requests to answer, in order */
} reload_t;

/*  A row this replica holds already, as its node's actor has published it
    (views.c): on an incremental pass its merge would change nothing. Such
    are almost all rows at a fleet's pace — the notices brought them — and
    a pass every 5 s read, decoded and sent the directory ~100,000 merges
    at 10,000 heartbeats/s (the window re-reads txn_max_ms of changes), a
    tenth of a replica's CPU. The reader asks before it decodes a row
    (mt_store_held_t). A full pass reads every row: the directory counts
    whom it met (delete_unmet). */
static bool held_fn(void *arg, const char *id, int64_t reg_revision, int64_t status_revision)
{
    return mt__views_has(((mt__nodes_cfg_t *) arg)->views, id, reg_revision, status_revision);
}

/*  The scan request holds the views (through cfg) until it is freed. */
static void held_release(void *arg)
{
    mt__nodes_cfg_t *cfg = arg;
    mt__nodes_cfg_unref(&cfg);
}

static void start_pass(mt_actor_t *self, reload_t *r)
{
    if (r->corr) {
        r->again = true;
        return;
    }
    r->again = false;
    r->full = r->passes % (uint64_t) r->cfg->full_resync_every == 0;
    r->window.txn_max_ms = r->cfg->txn_max_ms
        + (r->cfg->lag_ms < 0 ? 0 : mt_store_lag_ms(r->cfg->store));
    int64_t after = mt_scan_window_start(&r->window, mt_now_ms());
    r->covered = mt_scan_window_covered(&r->window);
    r->started_us = mt_metrics_now_us();
    mt_msg_t *scan;
    if (r->full)
        scan = mt_store_msg_scan(0, true);
    else {
        mt_store_held_t held = { .held = held_fn, .release = held_release,
                                 .arg = mt__nodes_cfg_ref(r->cfg) };
        scan = mt_store_msg_scan_unheld(after, &held);
    }
    r->corr = mt_ask(self, mt_store_reader(r->cfg->store), scan,
                     (uint32_t) r->cfg->store_timeout_ms);
}

static void purge(mt_actor_t *self, reload_t *r)
{
    if (r->cfg->tombstone_retention_ms < 0 || r->purge_corr)
        return;
    r->purge_corr = mt_ask(self, mt_store_writer(r->cfg->store, "tombstones"),
                           mt_store_msg_purge(r->cfg->tombstone_retention_ms),
                           (uint32_t) r->cfg->store_timeout_ms);
}

static void purged(mt_actor_t *self, reload_t *r, const mt_store_done_t *d)
{
    r->purge_corr = 0;
    if (d->err != MT_OK)
        mt_log_warning("reload: the tombstone purge failed: %s: %s", mt_err_code(d->err),
                     d->message);
    else if (d->count > 0) {
        atomic_fetch_add_explicit(&r->cfg->purged, (uint64_t) d->count, memory_order_relaxed);
        mt_log_info("reload: purged %lld node tombstones", (long long) d->count);
    }
    if (d->err == MT_OK && d->count == MT_STORE_PURGE_CHUNK)
        purge(self, r);         /* a full chunk: there may be more */
}

static void finish_pass(mt_actor_t *self, reload_t *r, int err, uint32_t nrows)
{
    bool full = r->full && err == MT_OK;
    r->corr = 0;
    if (err == MT_OK) {
        r->passes++;
        mt_histo_observe_since(&mt_metrics()->reload_pass, r->started_us);
    }
    else
        atomic_fetch_add_explicit(&mt_metrics()->reload_failures, 1, memory_order_relaxed);
    /*  The directory acts on a pass after its merges (sent before), and
        before any request an asker sends once answered (sent after). */
    if (err == MT_OK)
        mt_send(r->cfg->directory, mt_node_reloaded_new(err, nrows, full, r->covered));
    mt_msg_t *a;
    while ((a = mt_msgq_pop(&r->askers))) {
        mt_reply(a, mt_node_reloaded_new(err, nrows, full, r->covered));
        mt_msg_free(a);
    }
    if (full)
        purge(self, r);
    if (r->again)
        start_pass(self, r);
}

static void scanned(mt_actor_t *self, reload_t *r, mt_msg_t *msg)
{
    mt_store_scanned_t *s = mt_msg_data(msg);
    if (s->err != MT_OK) {
        mt_log_warning("reload: the scan failed: %s: %s", mt_err_code(s->err), s->message);
        finish_pass(self, r, s->err, 0);
        return;
    }
    atomic_fetch_add_explicit(&r->cfg->reload_known, s->nheld, memory_order_relaxed);
    for (uint32_t i = 0; i < s->nrows; i++) {
        mt_store_row_t *row = &s->rows[i];
        mt_msg_t *m = mt_node_merge_new(row->id, mt_node_reg_ref(row->reg),
                                        mt_node_status_ref(row->status), row->deleted,
                                        row->deleted_revision);
        if (r->full)
            ((mt_node_merge_t *) mt_msg_data(m))->resync_upto = r->covered;
        mt_send(r->cfg->directory, m);
    }
    /*  The mark is a revision the database has issued: notices far beyond
        it are implausible (bus.c). */
    if (r->cfg->horizon)
        mt_bus_horizon_raise(r->cfg->horizon, s->mark);
    mt_scan_window_done(&r->window, mt_now_ms(), s->mark);
    atomic_fetch_add_explicit(&r->cfg->reloads, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->cfg->reload_rows, (uint64_t) s->nrows + s->nheld,
                              memory_order_relaxed);
    finish_pass(self, r, MT_OK, s->nrows);
}

static void behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    reload_t *r = state;
    switch (msg->type) {
    case MT__RELOAD_TICK:
        start_pass(self, r);
        mt_timer_start(r->timer, self, mt_msg_new(MT__RELOAD_TICK, 0),
                       (uint64_t) r->cfg->reload_interval_ms);
        break;
    case MT_NODE_RELOAD:
        if (msg->from) {
            mt_msg_keep(msg);
            mt_msgq_push(&r->askers, msg);
        }
        start_pass(self, r);
        break;
    case MT_STORE_SCANNED:
        if (msg->corr == r->corr)
            scanned(self, r, msg);
        break;
    case MT_STORE_DONE:
        if (msg->corr == r->purge_corr)
            purged(self, r, mt_msg_data(msg));
        break;
    case MT_MSG_TIMEOUT:
        if (msg->corr == r->corr)
            finish_pass(self, r, MT_EUNAVAIL, 0);
        else if (msg->corr == r->purge_corr) {
            r->purge_corr = 0;
            mt_log_warning("reload: the tombstone purge was not answered in time");
        }
        break;
    default:
        break;
    }
}

static void destroy(void *state)
{
    reload_t *r = state;
    mt_timer_destroy(&r->timer);
    mt_msgq_free_all(&r->askers);
    mt__nodes_cfg_unref(&r->cfg);
}

typedef struct {
    mt__nodes_cfg_t *cfg;
    mt_runtime_t *rt;
} init_t;

static void init(void *state, void *arg)
{
    reload_t *r = state;
    init_t *in = arg;
    r->cfg = mt__nodes_cfg_ref(in->cfg);
    r->window.txn_max_ms = in->cfg->txn_max_ms;
    r->timer = mt_timer_new(in->rt);
}

mt_actor_t *mt__reload_spawn(mt_runtime_t *rt, mt__nodes_cfg_t *cfg)
{
    init_t in = { cfg, rt };
    mt_spawn_opts_t o = {
        .behaviour = behaviour,
        .state_size = sizeof(reload_t),
        .init = init,
        .init_arg = &in,
        .destroy = destroy,
    };
    mt_actor_t *a = mt_spawn_opts(rt, &o);
    /*  The first pass runs at once: a replica that starts learns what the
        others stored before it serves lists. */
    if (a && cfg->reload_interval_ms > 0)
        mt_send(a, mt_msg_new(MT__RELOAD_TICK, 0));
    return a;
}
