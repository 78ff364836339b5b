/*  scan.c — the reader's work: point loads and change scans.

    A scan is three queries in one REPEATABLE READ snapshot — registrations,
    statuses, versions of the covered registrations — each sorted by id and
    stored on the client, then merged in one pass. With `after`,
    registrations and versions are read through the reg_revision index, so
    they cost what changed; statuses, which have no revision index (schema
    v9: every heartbeat moved its key), by reading the table in id order.
    The mark is drawn (and its transaction ended) before the snapshot
    starts: every revision drawn later is greater.

    An incremental scan reads statuses narrow — id and status_revision —
    and then, in the same snapshot, whole by id only those its asker does
    not hold (every one, for an asker that holds nothing). A quiet table is
    read in half the time without its JSON columns, and at a fleet's pace,
    when the window covers every node and the notices brought nearly all of
    them to the reload, the whole rows were ~2/3 of the database's work for
    a pass and ~25 MB a pass through the client at 100,000 nodes. */
#include "store_internal.h"
#include "mt_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Versions cursor over a (node_id, component, version) result sorted by
    node_id: collects one node's pairs into arena memory. */
typedef struct {
    mt__store_rows_t r;
    int have;               /* 1: r's current row is unread; 0: end; < 0 error */
} vcursor_t;

static int collect_versions(mt__store_conn_t *c, vcursor_t *v, const char *id, mt_json_arena_t *a,
                            mt_component_t **out, uint32_t *n)
{
    uint32_t cap = 0;
    *out = NULL;
    *n = 0;
    while (v->have == 1) {
        const char *node = mt__store_rows_str(&v->r, 0, NULL);
        int cmp = strcmp(node, id);
        if (cmp > 0)
            break;
        if (cmp == 0) {
            if (*n == cap) {
                uint32_t bigger = cap ? cap * 2 : 8;
                mt_component_t *p = mt_json_arena_alloc(a, bigger * sizeof *p);
                if (*n)
                    memcpy(p, *out, *n * sizeof *p);
                *out = p;
                cap = bigger;
            }
            (*out)[(*n)++] = mt__store_sql_component_from_row(&v->r, a);
        }
        v->have = mt__store_rows_next(c, &v->r);
    }
    return v->have < 0 ? MT_EINTERNAL : MT_OK;
}

/*  The current registration row of ra (columns: id + MT_SQL_REG_KINDS) into row. */
static int fill_reg(mt__store_conn_t *c, mt__store_scratch_t *s, mt__store_rows_t *ra, vcursor_t *v, mt_store_row_t *row)
{
    const char *id = row->id;
    if (mt__store_rows_i64(ra, 10)) {
        row->deleted = true;
        row->deleted_revision = mt__store_rows_i64(ra, 9);
        return MT_OK;
    }
    mt_component_t *vers;
    uint32_t nvers;
    int rc = collect_versions(c, v, id, &s->arena, &vers, &nvers);
    if (rc != MT_OK)
        return rc;
    const char *unreadable;
    mt__store_sql_reg_from_row(ra, 1, &s->arena, vers, nvers, &unreadable, &row->reg);
    if (unreadable)
        mt__store_sql_rejected(&s->rejects, "node_registrations", id, mt__store_rows_i64(ra, 9), unreadable);
    return MT_OK;
}

/*  The current status row of rb into row (nothing when it cannot be read:
    the node keeps what it had; its next heartbeat rewrites the row). */
static void fill_status(mt__store_scratch_t *s, mt__store_rows_t *rb, mt_store_row_t *row)
{
    char why[200];
    if (mt__store_sql_status_from_row(rb, 1, &s->arena, why, sizeof why, &row->status) != MT_OK)
        mt__store_sql_rejected(&s->rejects, "node_status", row->id, mt__store_rows_i64(rb, 6), why);
}

int mt__store_sql_load(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id, mt_store_row_t *row)
{
    memset(row, 0, sizeof *row);
    snprintf(row->id, sizeof row->id, "%s", id);
    mt_json_arena_reset(&s->arena);
    mt__store_params_reset(&s->params);
    mt__store_params_cstr(&s->params, id);
    mt__store_rows_t ra, rb;
    vcursor_t v = { 0 };
    int rc = mt__store_conn_exec(c, SQL_LOAD_REG, &s->params, "s" MT_SQL_REG_KINDS, &ra);
    if (rc != MT_OK)
        goto out;
    int f = mt__store_rows_next(c, &ra);
    if (f <= 0) {
        mt__store_rows_close(&ra);
        rc = f < 0 ? MT_EINTERNAL : MT_ENOTFOUND;
        if (f == 0)
            snprintf(c->err, sizeof c->err, "node %.200s: not found", id);
        goto out;
    }
    if (!mt__store_rows_i64(&ra, 10)) {
        if ((rc = mt__store_conn_exec(c, SQL_LOAD_VERS, &s->params, MT_SQL_VERS_KINDS, &v.r)) != MT_OK) {
            mt__store_rows_close(&ra);
            goto out;
        }
        v.have = mt__store_rows_next(c, &v.r);
    }
    rc = fill_reg(c, s, &ra, &v, row);
    mt__store_rows_close(&ra);
    mt__store_rows_close(&v.r);
    if (rc != MT_OK || row->deleted)
        goto out;
    if ((rc = mt__store_conn_exec(c, SQL_LOAD_STATUS, &s->params, "s" MT_SQL_STATUS_KINDS, &rb)) != MT_OK)
        goto out;
    if ((f = mt__store_rows_next(c, &rb)) == 1)
        fill_status(s, &rb, row);
    else if (f < 0)
        rc = MT_EINTERNAL;
    mt__store_rows_close(&rb);
out:
    mt__store_conn_rollback(c);        /* ends the snapshot */
    if (rc != MT_OK)
        mt_store_row_clear(row);
    return rc;
}

int mt__store_sql_mark(mt__store_conn_t *c, int64_t *mark)
{
    mt__store_rows_t r;
    int rc = mt__store_conn_exec(c, SQL_MARK, NULL, "i", &r);
    if (rc != MT_OK)
        return rc;
    int f = mt__store_rows_next(c, &r);
    if (f == 1)
        *mark = mt__store_rows_i64(&r, 0);
    mt__store_rows_close(&r);
    if (f != 1)
        return MT_EINTERNAL;
    /*  End this transaction: the scan's snapshot must begin after the draw.
        COMMIT, not ROLLBACK: on Galera a draw reaches the other nodes'
        sequences only with a commit, and the scan window relies on every
        node drawing above the mark soon after it was drawn (galera.c). */
    return mt__store_conn_commit(c);
}

/*  A scan by three statements (registrations, statuses, versions), each
    taking `after` nparams times (0: every row). */
static int scan_by(mt__store_conn_t *c, mt__store_scratch_t *s, int64_t after, int nparams, const int sql[3],
                   const mt_store_held_t *held, mt_store_scanned_t *out);

int mt__store_sql_scan(mt__store_conn_t *c, mt__store_scratch_t *s, int64_t after, bool full,
                       const mt_store_held_t *held, mt_store_scanned_t *out)
{
    static const int all[3] = { SQL_SCAN_REG_ALL, SQL_SCAN_STATUS_ALL, SQL_SCAN_VERS_ALL };
    static const int since[3] = { SQL_SCAN_REG_AFTER, SQL_SCAN_STATUS_REVS, SQL_SCAN_VERS_AFTER };
    /*  A full pass must return every row: its asker counts whom it met. */
    return scan_by(c, s, after, full ? 0 : 1, full ? all : since, full ? NULL : held, out);
}

int mt__store_sql_scan_changed(mt__store_conn_t *c, mt__store_scratch_t *s, int64_t after, mt_store_scanned_t *out)
{
    static const int changed[3] = { SQL_CHANGES_REG, SQL_CHANGES_STATUS, SQL_CHANGES_VERS };
    return scan_by(c, s, after, 2, changed, NULL, out);
}

/*  Skips the versions of node id (sorted by node_id), unread. */
static int skip_versions(mt__store_conn_t *c, vcursor_t *v, const char *id)
{
    while (v->have == 1 && strcmp(mt__store_rows_str(&v->r, 0, NULL), id) <= 0)
        v->have = mt__store_rows_next(c, &v->r);
    return v->have < 0 ? MT_EINTERNAL : MT_OK;
}

/*  Whether the asker holds node id's groups as read — the registration
    (ra's current row, if with_reg) and the status (rb's, if with_status;
    its revision in column rb_rev) — so its row can be left out undecoded.
    A tombstone never is. */
static bool is_held(const mt_store_held_t *held, const char *id, const mt__store_rows_t *ra,
                    bool with_reg, const mt__store_rows_t *rb, unsigned rb_rev, bool with_status)
{
    if (!held || (with_reg && mt__store_rows_i64(ra, 10)))
        return false;
    return held->held(held->arg, id, with_reg ? mt__store_rows_i64(ra, 9) : 0,
                      with_status ? mt__store_rows_i64(rb, rb_rev) : 0);
}

/*  The whole status rows of out->rows[pend[0..n)] (ids ascending), read
    by id in the scan's snapshot. */
static int fetch_status(mt__store_conn_t *c, mt__store_scratch_t *s, mt_store_scanned_t *out,
                        const uint32_t *pend, uint32_t n)
{
    const char *ids[MT_SQL_ROWS_MAX];
    int rc = MT_OK;
    for (uint32_t k = 0; rc == MT_OK && k < n;) {
        unsigned take;
        int v = mt__store_sql_chunk(n - k, &take);
        for (unsigned j = 0; j < take; j++)
            ids[j] = out->rows[pend[k + j]].id;
        mt__store_params_in_list(&s->params, ids, take, v);
        mt__store_rows_t r;
        if ((rc = mt__store_conn_exec(c, SQL_STATUS_BY_ID + v, &s->params, "s" MT_SQL_STATUS_KINDS,
                                      &r)) != MT_OK)
            break;
        uint32_t x = k, end = k + take;
        int f;
        while ((f = mt__store_rows_next(c, &r)) == 1) {
            const char *id = mt__store_rows_str(&r, 0, NULL);
            while (x < end && strcmp(out->rows[pend[x]].id, id) < 0)
                x++;
            if (x < end && strcmp(out->rows[pend[x]].id, id) == 0) {
                mt_json_arena_reset(&s->arena);
                fill_status(s, &r, &out->rows[pend[x]]);
            }
        }
        mt__store_rows_close(&r);
        if (f < 0)
            rc = MT_EINTERNAL;
        k += take;
    }
    return rc;
}

/*  Drops the rows left with nothing to merge: a status row alone (its
    registration not covered) that could not be read. A registration row
    is never dropped: a full pass that missed one would delete the node. */
static void drop_empty(mt_store_scanned_t *out)
{
    uint32_t w = 0;
    for (uint32_t i = 0; i < out->nrows; i++) {
        mt_store_row_t *row = &out->rows[i];
        if (row->reg || row->status || row->deleted)
            out->rows[w++] = *row;
    }
    out->nrows = w;
}

static int scan_by(mt__store_conn_t *c, mt__store_scratch_t *s, int64_t after, int nparams, const int sql[3],
                   const mt_store_held_t *held, mt_store_scanned_t *out)
{
    out->mark = 0;
    out->nrows = 0;
    out->nheld = 0;
    out->rows = NULL;
    mt__store_rows_t ra = { 0 }, rb = { 0 };
    vcursor_t v = { 0 };
    uint32_t *pend = NULL, npend = 0, pcap = 0;    /* narrow: rows whose status is read after */
    bool narrow = sql[1] == SQL_SCAN_STATUS_REVS;
    int rc = mt__store_sql_mark(c, &out->mark);
    if (rc != MT_OK)
        return rc;
    mt__store_params_reset(&s->params);
    for (int i = 0; i < nparams; i++)
        mt__store_params_i64(&s->params, after);
    mt__store_params_t *ps = nparams ? &s->params : NULL;
    if ((rc = mt__store_conn_exec(c, sql[2], ps, MT_SQL_VERS_KINDS, &v.r))
        || (rc = mt__store_conn_exec(c, sql[0], ps, "s" MT_SQL_REG_KINDS, &ra))
        || (rc = mt__store_conn_exec(c, sql[1], ps, narrow ? "si" : "s" MT_SQL_STATUS_KINDS,
                                     &rb)))
        goto out;
    if (!narrow)
        mt__store_conn_rollback(c);    /* every row is on the client now */

    /*  Merge registrations and statuses by id. */
    uint32_t cap = 0;
    unsigned rb_rev = narrow ? 1 : 6;
    int fa = mt__store_rows_next(c, &ra), fb = mt__store_rows_next(c, &rb);
    v.have = mt__store_rows_next(c, &v.r);
    while (rc == MT_OK && (fa == 1 || fb == 1)) {
        const char *ida = fa == 1 ? mt__store_rows_str(&ra, 0, NULL) : NULL;
        const char *idb = fb == 1 ? mt__store_rows_str(&rb, 0, NULL) : NULL;
        int cmp = ida && idb ? strcmp(ida, idb) : (ida ? -1 : 1);
        if (is_held(held, cmp <= 0 ? ida : idb, &ra, cmp <= 0, &rb, rb_rev, cmp >= 0)) {
            out->nheld++;
            if (cmp <= 0) {
                rc = skip_versions(c, &v, ida);
                fa = mt__store_rows_next(c, &ra);
            }
            if (cmp >= 0)
                fb = mt__store_rows_next(c, &rb);
            continue;
        }
        if (out->nrows == cap) {
            cap = cap ? cap * 2 : 64;
            out->rows = mt_xreallocarray(out->rows, cap, sizeof *out->rows);
        }
        mt_store_row_t *row = &out->rows[out->nrows++];
        memset(row, 0, sizeof *row);
        snprintf(row->id, sizeof row->id, "%s", cmp <= 0 ? ida : idb);
        mt_json_arena_reset(&s->arena);
        if (cmp <= 0) {
            rc = fill_reg(c, s, &ra, &v, row);
            fa = mt__store_rows_next(c, &ra);
        }
        if (rc == MT_OK && cmp >= 0) {
            if (narrow) {
                if (npend == pcap) {
                    pcap = pcap ? pcap * 2 : 64;
                    pend = mt_xreallocarray(pend, pcap, sizeof *pend);
                }
                pend[npend++] = out->nrows - 1;
            }
            else
                fill_status(s, &rb, row);
            fb = mt__store_rows_next(c, &rb);
        }
    }
    if (rc == MT_OK && (fa < 0 || fb < 0 || v.have < 0))
        rc = MT_EINTERNAL;
    if (rc == MT_OK && npend)
        rc = fetch_status(c, s, out, pend, npend);
    if (rc == MT_OK)
        drop_empty(out);
out:
    free(pend);
    mt__store_rows_close(&v.r);
    mt__store_rows_close(&ra);
    mt__store_rows_close(&rb);
    mt__store_conn_rollback(c);
    if (rc != MT_OK) {
        for (uint32_t i = 0; i < out->nrows; i++)
            mt_store_row_clear(&out->rows[i]);
        free(out->rows);
        out->rows = NULL;
        out->nrows = 0;
    }
    return rc;
}
