/*  node_sql.c — node writes, each one transaction.

    Registration writes (node_reg.c) and checked heartbeats follow one
    order on every replica:
      1. lock the node's registration row (SELECT … FOR UPDATE),
      2. draw its revision(s) from the sequence, above the revisions of
         the rows it replaces (read under the locks: mt__store_sql_draw),
      3. write, 4. commit.
    Because the row lock is taken before the draw, two such transactions on
    one server draw in the order they commit. On Galera draws are not in
    commit order across nodes (each node has its own copy of the sequence),
    so the floor in step 2 is what keeps a row's revision growing with its
    commits; a commit elsewhere between our read and our commit fails
    certification (1213) and the transaction runs again.

    Heartbeats of nodes their sender knows as registered skip step 1 (see
    status_fast). The status upsert is conditional on the revision (sql.c),
    so a node's stored status revision only grows and an older heartbeat
    never overwrites a newer one, whatever order the commits come in. A
    delete takes the status row before it draws (node_reg.c), so its
    revision is above every heartbeat committed before it.

    Lock order: registrations in id order (IN lists are read in primary-key
    order), then status rows in id order (sorted_rows), on every path. A
    deadlock or lock wait timeout from elsewhere (e.g. a tombstone purge,
    which locks tombstones in (deleted_at, id) order, or a Galera
    certification conflict) retries the whole transaction (retry.c), then
    is answered MT_EUNAVAIL.

    Nothing half-written: any failure rolls the transaction back. */
#include "store_internal.h"
#include "mt_alloc.h"

#include <mysqld_error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mt__store_scratch_free(mt__store_scratch_t *s)
{
    mt__store_params_free(&s->params);
    mt_buf_free(&s->json);
    mt_json_arena_free(&s->arena);
    mt__store_rejects_free(&s->rejects);
}


static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

int mt__store_sql_draw(mt__store_conn_t *c, mt__store_scratch_t *s, uint32_t n, int64_t *rev,
                       int64_t above)
{
    int64_t db_now;
    return mt__store_sql_draw_at(c, s, n, rev, &db_now, above);
}

static int draw_once(mt__store_conn_t *c, mt__store_scratch_t *s, uint32_t n, int64_t *rev,
                     int64_t *db_now)
{
    *db_now = 0;
    for (uint32_t done = 0; done < n;) {
        uint32_t k = n - done < MT_SQL_ROWS_MAX ? n - done : MT_SQL_ROWS_MAX;
        mt__store_params_reset(&s->params);
        mt__store_params_i64(&s->params, k);
        mt__store_rows_t r;
        int rc = mt__store_conn_exec(c, SQL_DRAW, &s->params, "ii", &r);
        if (rc != MT_OK)
            return rc;
        uint32_t got = 0;
        while (got < k && (rc = mt__store_rows_next(c, &r)) == 1) {
            rev[done + got++] = mt__store_rows_i64(&r, 0);
            if (!*db_now)
                *db_now = mt__store_rows_i64(&r, 1);   /* NOW(3): one value per statement */
        }
        mt__store_rows_close(&r);
        if (rc < 0)
            return MT_EINTERNAL;
        if (got != k) {
            snprintf(c->err, sizeof c->err, "revision draw: %u of %u values", got, k);
            return MT_EINTERNAL;
        }
        done += k;
    }
    /*  One statement evaluates NEXTVAL row by row; keep them ascending. */
    qsort(rev, n, sizeof *rev, cmp_i64);
    return MT_OK;
}

/*  Draws again at most this often after raising the sequence: once is
    enough (SETVAL moves this node's sequence, which only moves forward). */
#define RAISES_MAX 2

int mt__store_sql_draw_at(mt__store_conn_t *c, mt__store_scratch_t *s, uint32_t n, int64_t *rev,
                          int64_t *db_now, int64_t above)
{
    for (int raised = 0;; raised++) {
        int rc = draw_once(c, s, n, rev, db_now);
        if (rc != MT_OK || n == 0 || rev[0] > above)
            return rc;
        if (raised == RAISES_MAX) {
            snprintf(c->err, sizeof c->err, "revision draw: %lld, not above %lld after raising"
                     " the sequence", (long long) rev[0], (long long) above);
            c->err_no = 0;
            return MT_EUNAVAIL;
        }
        /*  SETVAL takes literals only (no placeholder); `above` is a number. */
        char sql[96];
        snprintf(sql, sizeof sql, "DO SETVAL(mt_revision, %lld)", (long long) above);
        if ((rc = mt__store_conn_sql(c, sql)) != MT_OK)
            return rc;
        c->raises++;
    }
}

/*  A revision drawn at drawn_ms must be committed or gone within
    MT_STORE_TXN_MAX_MS; refuse to commit a transaction that took half. */
int mt__store_sql_commit_by(mt__store_conn_t *c, uint64_t drawn_ms)
{
    if (mt_now_ms() - drawn_ms > MT_STORE_TXN_MAX_MS / 2) {
        snprintf(c->err, sizeof c->err, "transaction too slow: rolled back");
        c->err_no = 0;
        return MT_EUNAVAIL;
    }
    return mt__store_conn_commit(c);
}

int mt__store_sql_bad(mt__store_conn_t *c, const char *what)
{
    snprintf(c->err, sizeof c->err, "%s: not valid UTF-8", what);
    c->err_no = 0;
    return MT_EBADREQ;
}

int mt__store_sql_refuse(mt__store_conn_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    c->err_no = 0;
    return MT_EBADREQ;
}

int mt__store_sql_too_large(mt__store_conn_t *c, const char *column, size_t len)
{
    return mt__store_sql_refuse(c, "%s: %zu bytes as stored; at most %d", column, len,
                         MT_STORE_JSON_MAX);
}

int mt__store_sql_not_found(mt__store_conn_t *c, const char *id)
{
    snprintf(c->err, sizeof c->err, "node %.200s: not found", id);
    c->err_no = 0;
    return MT_ENOTFOUND;
}

/* ---- heartbeats ---------------------------------------------------------------- */

typedef mt__store_status_enc_t enc_t;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void put_row(mt__store_scratch_t *s, const mt__store_status_entry_t *en, const enc_t *js,
                    int64_t rev)
{
    mt__store_params_cstr(&s->params, en->id);
    mt__store_params_i64(&s->params, en->status->heartbeat_at);
    mt__store_params_i64(&s->params, en->status->ready);
    for (int f = 0; f < 3; f++)
        mt__store_params_str(&s->params, s->json.data + js->off[f], js->len[f]);
    mt__store_params_i64(&s->params, rev);
    mt__store_params_i64(&s->params, en->seen_at);
}

/*  The rows from k of a padded statement: *take of the batch's, then
    copies of the smallest up to the variant's size (*sent). */
static int put_padded(mt__store_scratch_t *s, const mt__store_status_entry_t *e, const enc_t *enc,
                      const uint32_t *rows, const int64_t *rev, uint32_t k, uint32_t m,
                      unsigned *take, unsigned *sent)
{
    int v = mt__store_sql_chunk(m - k, take);
    *sent = mt__store_sql_variants[v];
    uint32_t pad = k;
    for (uint32_t x = k + 1; *take < *sent && x < k + *take; x++)
        if (mt__store_status_row_bytes(&e[rows[x]], &enc[rows[x]])
            < mt__store_status_row_bytes(&e[rows[pad]], &enc[rows[pad]]))
            pad = x;
    for (unsigned j = 0; j < *sent; j++) {
        uint32_t x = j < *take ? k + j : pad;
        put_row(s, &e[rows[x]], &enc[rows[x]], rev[x]);
    }
    return SQL_STATUS_UPSERT + v;
}

/*  Upserts e[rows[0..m)] with revisions rev[0..m).
    *all_updated: every real row came back "updated" (2 affected rows) and
    every padding row "found, left alone" (1: the connection has
    CLIENT_FOUND_ROWS, conn.c). A row can only count 1 (inserted, or left
    alone as older) or 2, so the sum tells. With fast, the first statement
    that tells otherwise ends it: the batch will be rolled back anyway.

    On MariaDB one bulk execution of the one-row statement per
    MT_SQL_ROWS_MAX rows: exactly the batch's rows, in one round trip
    (padding was 8 % of the database's CPU a row at ~52 a batch, and
    uneven batches took several statements). Elsewhere multi-row
    statements of the fixed sizes (sql.c); padding repeats a chunk's
    smallest row, so a statement never carries more than twice its rows'
    bytes (a large last row repeated 127 times would). A repeated row comes
    after its first copy, whose revision is stored by then (or a newer
    one): the copy is "found, left alone". */
static int upsert(mt__store_conn_t *c, mt__store_scratch_t *s, const mt__store_status_entry_t *e, const enc_t *enc,
                  const uint32_t *rows, uint32_t m, const int64_t *rev, bool fast,
                  bool *all_updated)
{
    int rc = MT_OK;
    *all_updated = true;
    for (uint32_t k = 0; rc == MT_OK && k < m && (*all_updated || !fast);) {
        mt__store_params_reset(&s->params);
        unsigned take, sent;        /* the batch's rows; every row sent, padding too */
        int id = SQL_STATUS_UPSERT;
        if (c->bulk && m - k > 1) {
            take = sent = m - k < MT_SQL_ROWS_MAX ? m - k : MT_SQL_ROWS_MAX;
            for (unsigned j = 0; j < take; j++)
                put_row(s, &e[rows[k + j]], &enc[rows[k + j]], rev[k + j]);
            rc = mt__store_conn_exec_bulk(c, id, &s->params, take);
        }
        else {
            id = put_padded(s, e, enc, rows, rev, k, m, &take, &sent);
            rc = mt__store_conn_exec(c, id, &s->params, NULL, NULL);
        }
        /*  2 a row updated, 1 a padding row found and left alone. */
        if (rc == MT_OK && mt__store_conn_affected(c, id) != (uint64_t) take + sent)
            *all_updated = false;
        k += take;
    }
    return rc;
}

/*  Draws m revisions (above `above`: see mt__store_sql_draw), upserts,
    commits; entries get their revisions. With fast, a batch whose rows did
    not all update is left uncommitted and *recheck set: the caller rolls
    it back. */
static int write_rows(mt__store_conn_t *c, mt__store_scratch_t *s, mt__store_status_entry_t *e, const enc_t *enc,
                      const uint32_t *rows, uint32_t m, int64_t above, bool fast, bool *recheck)
{
    int64_t *rev = mt_xmalloc((m ? m : 1) * sizeof *rev);
    uint64_t drawn = mt_now_ms();
    bool all_updated = true;
    /*  seen_at: the database's clock at the draw, in this transaction —
        what every replica judges the node's health by (PROTOCOL.md). */
    int64_t db_now = 0;
    int rc = m ? mt__store_sql_draw_at(c, s, m, rev, &db_now, above) : MT_OK;
    for (uint32_t x = 0; x < m; x++)
        e[rows[x]].seen_at = db_now;
    if (rc == MT_OK)
        rc = upsert(c, s, e, enc, rows, m, rev, fast, &all_updated);
    *recheck = rc == MT_OK && fast && !all_updated;
    if (rc == MT_OK && !*recheck)
        rc = mt__store_sql_commit_by(c, drawn);
    if (rc == MT_OK && !*recheck)
        for (uint32_t x = 0; x < m; x++)
            e[rows[x]].revision = rev[x];
    free(rev);
    return rc;
}

typedef struct { const char *id; uint32_t i; } ord_t;

static int cmp_ord(const void *a, const void *b)
{
    const ord_t *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/*  The entries still MT_OK, by id (a node's own entries in the order sent):
    every path writes status rows in this one order, so no two batches —
    fast or checked, on any replica — wait on each other in a cycle. */
static uint32_t *sorted_rows(const mt__store_status_entry_t *e, uint32_t n, uint32_t *m)
{
    ord_t *ord = mt_xmalloc((n ? n : 1) * sizeof *ord);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (e[i].err == MT_OK)
            ord[k++] = (ord_t) { e[i].id, i };
    qsort(ord, k, sizeof *ord, cmp_ord);
    uint32_t *rows = mt_xmalloc((k ? k : 1) * sizeof *rows);
    for (uint32_t x = 0; x < k; x++)
        rows[x] = ord[x].i;
    free(ord);
    *m = k;
    return rows;
}

/*  The highest status revision among the live ids (sorted, unique), their
    rows locked: what the checked path's revisions must be above. */
static int status_floor(mt__store_conn_t *c, mt__store_scratch_t *s, const char **ids, const bool *live,
                        uint32_t nids, int64_t *floor)
{
    *floor = 0;
    uint32_t n = 0;
    for (uint32_t i = 0; i < nids; i++)
        if (live[i])
            ids[n++] = ids[i];      /* compacts in place: the caller is done with the rest */
    int rc = MT_OK;
    for (uint32_t k = 0; rc == MT_OK && k < n;) {
        unsigned take;
        int v = mt__store_sql_chunk(n - k, &take);
        mt__store_params_in_list(&s->params, ids + k, take, v);
        mt__store_rows_t r;
        if ((rc = mt__store_conn_exec(c, SQL_STATUS_FLOOR + v, &s->params, "i", &r)) != MT_OK)
            break;
        int f = mt__store_rows_next(c, &r);
        if (f == 1 && mt__store_rows_i64(&r, 0) > *floor)
            *floor = mt__store_rows_i64(&r, 0);
        mt__store_rows_close(&r);
        if (f < 0)
            rc = MT_EINTERNAL;
        k += take;
    }
    return rc;
}

/*  The checked path: lock the live registrations (sorted, unique: batches
    never deadlock each other), answer MT_ENOTFOUND for the others, lock
    their status rows and read the highest revision among them, then draw
    above it in entry order and write. So every row is written, never left
    alone: an acknowledged heartbeat is stored. On one server the draw is
    above those rows anyway (it comes after their locks); on Galera a row
    another node committed can hold a revision this node's sequence has not
    reached yet — left alone, its heartbeat would be acknowledged yet never
    stored, though sent later (mt__store_sql_draw raises the sequence). A
    commit on another node after our read meets ours at certification
    (1213: the whole transaction again). */
static int status_checked(mt__store_conn_t *c, mt__store_scratch_t *s, mt__store_status_entry_t *e, uint32_t n,
                          const enc_t *enc)
{
    const char **ids = mt_xmalloc((n ? n : 1) * sizeof *ids);
    uint32_t nids = 0;
    for (uint32_t i = 0; i < n; i++)
        if (e[i].err == MT_OK || e[i].err == MT_ENOTFOUND)
            ids[nids++] = e[i].id;
    qsort(ids, nids, sizeof *ids, cmp_str);
    uint32_t u = 0;
    for (uint32_t i = 0; i < nids; i++)
        if (u == 0 || strcmp(ids[u - 1], ids[i]) != 0)
            ids[u++] = ids[i];
    nids = u;
    bool *live = mt_xmalloc((nids ? nids : 1) * sizeof *live);
    memset(live, 0, (nids ? nids : 1) * sizeof *live);
    int rc = MT_OK;
    for (uint32_t k = 0; rc == MT_OK && k < nids;) {
        unsigned take;
        int v = mt__store_sql_chunk(nids - k, &take);
        mt__store_params_in_list(&s->params, ids + k, take, v);
        mt__store_rows_t r;
        if ((rc = mt__store_conn_exec(c, SQL_LOCK + v, &s->params, "s", &r)) != MT_OK)
            break;
        int f;
        while ((f = mt__store_rows_next(c, &r)) == 1) {
            const char *id = mt__store_rows_str(&r, 0, NULL);
            const char **hit = bsearch(&id, ids + k, take, sizeof *ids, cmp_str);
            if (hit)
                live[hit - ids] = true;
        }
        mt__store_rows_close(&r);
        if (f < 0)
            rc = MT_EINTERNAL;
        k += take;
    }
    for (uint32_t i = 0; rc == MT_OK && i < n; i++) {
        if (e[i].err != MT_OK && e[i].err != MT_ENOTFOUND)
            continue;
        const char **hit = bsearch(&e[i].id, ids, nids, sizeof *ids, cmp_str);
        e[i].err = hit && live[hit - ids] ? MT_OK : MT_ENOTFOUND;
    }
    int64_t floor = 0;
    if (rc == MT_OK)
        rc = status_floor(c, s, ids, live, nids, &floor);
    if (rc == MT_OK) {
        uint32_t m;
        uint32_t *rows = sorted_rows(e, n, &m);
        bool recheck;
        rc = write_rows(c, s, e, enc, rows, m, floor, false, &recheck);
        free(rows);
    }
    free(ids);
    free(live);
    return rc;
}
/*  The fast path, for batches whose every sender knows its node as
    registered (node actors send heartbeats for registered nodes only). It
    takes no lock on the registrations — a fifth of a heartbeat's cost in
    the database — and trusts the row counts instead: every row must come
    back updated. A row inserted (the node's first heartbeat, or its
    registration deleted since: a delete removes the status row under the
    registration's lock, so a heartbeat after it inserts) or left alone (a
    newer heartbeat from another replica committed first) sets *recheck
    and nothing is committed. */
static int status_fast(mt__store_conn_t *c, mt__store_scratch_t *s, mt__store_status_entry_t *e, uint32_t n,
                       const enc_t *enc, bool *recheck)
{
    uint32_t m;
    uint32_t *rows = sorted_rows(e, n, &m);
    int rc = write_rows(c, s, e, enc, rows, m, 0, true, recheck);
    free(rows);
    return rc;
}

/*  One attempt: the fast path if every entry allows it, then — if it
    found a row it cannot vouch for — the checked path in a new
    transaction. */
static int status_once(mt__store_conn_t *c, mt__store_scratch_t *s, mt__store_status_entry_t *e, uint32_t n,
                       const enc_t *enc, bool fast, bool *rechecked)
{
    if (fast) {
        int rc = status_fast(c, s, e, n, enc, rechecked);
        if (rc != MT_OK || !*rechecked)
            return rc;
        mt__store_conn_rollback(c);
    }
    return status_checked(c, s, e, n, enc);
}

int mt__store_sql_status_txn(mt__store_conn_t *c, mt__store_scratch_t *s, mt__store_status_entry_t *e, const enc_t *enc,
                      uint32_t n, bool *rechecked)
{
    bool fast = true;
    for (uint32_t i = 0; i < n; i++)
        if (e[i].err == MT_OK)
            fast = fast && e[i].registered;
    int rc, attempt = 0;
    *rechecked = false;
    do {
        bool again = false;
        rc = status_once(c, s, e, n, enc, fast && attempt == 0, &again);
        *rechecked = *rechecked || again;
    } while (mt__store_sql_retry(c, rc, &attempt));
    return rc;
}
