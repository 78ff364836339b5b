/*  node_merge.c — a node actor's merge rule, health timer and change
    notices (the actor itself: node.c).

    Merge rule: a group is replaced only by a higher revision, a write's own
    result included; metrics (never stored) by the revision of the
    heartbeat that carried them, then their time. */
#include "node_internal.h"

#include <stdio.h>
#include <string.h>

void mt__node_view_of(const node_t *n, mt_node_view_t *v)
{
    memset(v, 0, sizeof *v);
    snprintf(v->id, sizeof v->id, "%s", n->id);
    v->reg = mt_node_reg_ref(n->reg);
    v->status = mt_node_status_ref(n->status);
    v->live = mt_node_live_ref(n->live);
    v->healthy = mt_node_healthy(n->status, mt__nodes_db_now(n->cfg), n->cfg->health_timeout_ms);
    v->schedulable = mt_node_schedulable(n->reg, v->healthy);
}

/*  Tells the directory (which keeps the list snapshot and forwards to the
    notice listener). */
void mt__node_notify(node_t *n, mt_node_change_t change, int64_t revision, bool local)
{
    mt_node_view_t v;
    mt__node_view_of(n, &v);
    n->healthy = v.healthy;
    mt_msg_t *msg = mt_node_changed_new(change, revision, &v);
    mt_node_changed(msg)->local = local;
    mt_node_changed(msg)->merges = n->merges;
    mt_send(n->cfg->directory, msg);
    mt_node_view_clear(&v);
}


/*  Health turns false exactly when the last heartbeat gets too old by the
    database's clock — seen_at + health_timeout, against this replica's
    estimate of the database's now (mt_db_clock), so that every replica
    flips at the same moment whatever its own clock says: a timer for that
    moment, not a poll. A heartbeat only moves that moment later, so a
    timer already armed to fire no later than needed is left alone (no
    heap operation per heartbeat): when it fires early it finds the node
    still healthy and is armed again for the time that is left. The
    estimate itself may move (the first membership beat after a start, a
    step of the database's clock): a timer that would now fire too late is
    armed again. */
void mt__node_arm_health(mt_actor_t *self, node_t *n)
{
    int64_t db_now = mt__nodes_db_now(n->cfg);
    if (!mt_node_healthy(n->status, db_now, n->cfg->health_timeout_ms)) {
        if (n->health_armed)
            mt_timer_cancel(n->health);
        n->health_armed = false;
        return;
    }
    /*  Healthy: |db_now - seen_at| <= timeout, so 0 <= left <= 2 timeouts. */
    int64_t left = n->status->seen_at + n->cfg->health_timeout_ms - db_now;
    int64_t fire = (int64_t) mt_now_ms() + left + 1;
    if (n->health_armed && fire >= n->health_fire)
        return;                 /* fires no later than needed; re-armed then */
    if (!n->health)
        n->health = mt_timer_new(mt_actor_runtime(self));
    mt_timer_start(n->health, self, mt_msg_new(MT__NODE_HEALTH, 0), (uint64_t) left + 1);
    n->health_armed = true;
    n->health_fire = fire;
}

/* ---- merging ----------------------------------------------------------- */

/*  A full resync's row against memory: a revision in memory above the
    row's yet within what the resync covered was never committed (a forged
    notice): the row wins. See mt_node_merge_t.resync_upto. */
static bool never_committed(int64_t mine, int64_t row, int64_t upto)
{
    return upto > 0 && mine > row && mine <= upto;
}

/*  Takes whatever is newer — or, from a full resync, what is stored
    (never_committed); returns the highest revision taken, 0 if none. */
static int64_t merge(mt_actor_t *self, node_t *n, mt_node_reg_t *reg,
                     mt_node_status_t *status, mt_node_live_t *live, bool deleted,
                     int64_t deleted_revision, int64_t upto, bool *was_deleted)
{
    int64_t taken = 0;
    *was_deleted = false;
    if (upto && reg && !deleted) {
        int64_t row = max64(reg->reg_revision, status ? status->status_revision : 0);
        if (never_committed(n->deleted_revision, row, upto))
            n->deleted_revision = 0;            /* a delete that never happened */
        if (n->reg && never_committed(reg_rev(n), reg->reg_revision, upto))
            mt_node_reg_unref(&n->reg);
    }
    if (upto && status && !deleted && n->status
        && never_committed(status_rev(n), status->status_revision, upto))
        mt_node_status_unref(&n->status);
    if (deleted && n->reg && deleted_revision > reg_rev(n)) {
        mt_node_reg_unref(&n->reg);
        mt_node_status_unref(&n->status);
        mt_node_live_unref(&n->live);
        n->deleted_revision = deleted_revision;
        *was_deleted = true;
        taken = deleted_revision;
    }
    else if (deleted)
        n->deleted_revision = max64(n->deleted_revision, deleted_revision);
    if (reg && reg->reg_revision > max64(reg_rev(n), n->deleted_revision)) {
        mt_node_reg_unref(&n->reg);
        n->reg = mt_node_reg_ref(reg);
        taken = max64(taken, reg->reg_revision);
        *was_deleted = false;
    }
    if (status && status->status_revision > max64(status_rev(n), n->deleted_revision)) {
        mt_node_status_unref(&n->status);
        n->status = mt_node_status_ref(status);
        taken = max64(taken, status->status_revision);
    }
    /*  Live metrics change no revision: the view's change is told with the
        revision of the heartbeat that carried them. */
    if (n->reg && mt_node_live_newer(live, n->live)) {
        mt_node_live_unref(&n->live);
        n->live = mt_node_live_ref(live);
        taken = max64(taken, max64(live->status_revision, 1));
    }
    mt__node_arm_health(self, n);
    return taken;
}

/*  local: the change is this replica's own commit (the bus publishes only
    those: one notice per committed change, never an echo of a peer's). */
void mt__node_merge_and_notify(mt_actor_t *self, node_t *n, mt_node_reg_t *reg,
                             mt_node_status_t *status, mt_node_live_t *live, bool deleted,
                             int64_t deleted_rev, bool local, int64_t upto)
{
    bool was_deleted;
    const void *had[3] = { n->reg, n->status, n->live };
    int64_t rev = merge(self, n, reg, status, live, deleted, deleted_rev, upto, &was_deleted);
    /*  Published before anyone is answered (see views.c); a merge that took
        nothing (a notice already seen, a reload of what we wrote) leaves
        the shard's lock alone. */
    if (had[0] != n->reg || had[1] != n->status || had[2] != n->live)
        mt__views_set(n->cfg->views, n->id, n->reg, n->status, n->live);
    if (was_deleted)
        mt__node_notify(n, MT_NODE_DELETED, rev, local);
    else if (rev && n->reg)
        mt__node_notify(n, MT_NODE_UPSERT, rev, local);
}
