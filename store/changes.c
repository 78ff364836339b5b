/*  changes.c — node.changes, answered by the reader (PROTOCOL.md).

    Messages handled (through store_actor.c's behaviour):
      MT_NODE_REQ (op CHANGES), forwarded by the directory with `upto` (its
                  newest reload pass's covered revision) and the clock health
                  is judged by → MT_NODE_REPLY to the original asker.

    Every node with a group above `since` is read whole (a heartbeat's
    change still needs its registration in the view), tombstones included,
    and ordered by its newest revision. A row shows only a node's latest
    state: intermediate changes are merged away, which an informer does not
    need (it keeps the latest by revision). `mark` never passes `upto`:
    revisions are drawn before commit, so a lower one may still commit;
    up to `upto` every one has. Deletes can be promised only above the
    highest purged tombstone: below it, `expired`. */
#include "store_internal.h"
#include "mt_alloc.h"

#include "mt_node_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mt__store_sql_purged_upto(mt__store_conn_t *c, int64_t *upto)
{
    mt__store_rows_t r;
    int rc = mt__store_conn_exec(c, SQL_PURGED_UPTO, NULL, "i", &r);
    if (rc != MT_OK)
        return rc;
    int f = mt__store_rows_next(c, &r);
    *upto = f == 1 ? mt__store_rows_i64(&r, 0) : 0;
    mt__store_rows_close(&r);
    mt__store_conn_rollback(c);
    return f < 0 ? MT_EINTERNAL : MT_OK;
}

static int64_t row_revision(const mt_store_row_t *row)
{
    if (row->deleted)
        return row->deleted_revision;
    int64_t r = row->reg ? row->reg->reg_revision : 0;
    int64_t s = row->status ? row->status->status_revision : 0;
    return r > s ? r : s;
}

static int cmp_change(const void *a, const void *b)
{
    const mt_node_changed_t *x = a, *y = b;
    return (x->revision > y->revision) - (x->revision < y->revision);
}

/*  The scanned rows as changes, oldest first (takes the rows' blocks). */
static void to_changes(mt_store_scanned_t *sc, const mt_node_req_t *q, mt_node_reply_t *out)
{
    out->changes = mt_xcalloc(sc->nrows, sizeof *out->changes);
    for (uint32_t i = 0; i < sc->nrows; i++) {
        mt_store_row_t *row = &sc->rows[i];
        if (!row->deleted && !row->reg)
            continue;           /* a status alone: its registration is gone */
        mt_node_changed_t *c = &out->changes[out->nchanges++];
        c->change = row->deleted ? MT_NODE_DELETED : MT_NODE_UPSERT;
        c->revision = row_revision(row);
        snprintf(c->view.id, sizeof c->view.id, "%s", row->id);
        if (!row->deleted) {
            c->view.reg = row->reg;
            c->view.status = row->status;
            row->reg = NULL;
            row->status = NULL;
            c->view.healthy = mt_node_healthy(c->view.status, q->db_now_ms, q->health_timeout_ms);
            c->view.schedulable = mt_node_schedulable(c->view.reg, c->view.healthy);
        }
    }
    qsort(out->changes, out->nchanges, sizeof *out->changes, cmp_change);
}

/*  Cut at limit; the mark as the header says. */
static void cut(const mt_node_req_t *q, mt_node_reply_t *out)
{
    int64_t mark = q->upto;
    if (q->limit && out->nchanges > q->limit) {
        for (uint32_t i = q->limit; i < out->nchanges; i++)
            mt_node_view_clear(&out->changes[i].view);
        out->nchanges = q->limit;
        int64_t last = out->changes[q->limit - 1].revision;
        if (last < mark)
            mark = last;
    }
    out->mark = mark > q->since ? mark : q->since;
}

void mt__store_changes(mt__store_conn_t *c, mt__store_scratch_t *s, mt_msg_t *msg)
{
    const mt_node_req_t *q = mt_node_req(msg);
    mt_store_scanned_t sc = { 0 };
    int64_t floor = 0;
    int rc = mt__store_sql_scan_changed(c, s, q->since, &sc);
    /*  After the scan: a purge that took a tombstone the scan missed has
        committed its raise of the floor by now. */
    if (rc == MT_OK)
        rc = mt__store_sql_purged_upto(c, &floor);
    if (rc == MT_OK && q->since < floor) {
        mt_node_reply_error(msg, MT_EEXPIRED, "since %lld: deletes up to revision %lld are"
                            " no longer kept (tombstones purged); list again",
                            (long long) q->since, (long long) floor);
    }
    else if (rc != MT_OK)
        mt_node_reply_error(msg, rc == MT_EUNAVAIL ? MT_EUNAVAIL : MT_EINTERNAL, "%s", c->err);
    else {
        mt_msg_t *reply = mt_node_reply_new(MT_OK, NULL);
        to_changes(&sc, q, mt_node_reply(reply));
        cut(q, mt_node_reply(reply));
        mt_reply(msg, reply);
    }
    for (uint32_t i = 0; i < sc.nrows; i++)
        mt_store_row_clear(&sc.rows[i]);
    free(sc.rows);
}
