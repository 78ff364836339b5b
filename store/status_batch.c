/*  status_batch.c — group commit of heartbeats: what a batch of pending
    heartbeats becomes (store_actor.c hands them over; node_sql.c writes one
    transaction).

    * Encoding first, outside any transaction (it stays short). A row whose
      JSON cannot be stored — not UTF-8, or a column over MT_STORE_JSON_MAX —
      is refused alone (MT_EBADREQ) and never reaches the database.
    * Transactions are cut by bytes as well as rows: at most
      MT_STORE_BATCH_BYTES of encoded rows each (one row at least), taken
      in arrival order, so one node's heartbeats still commit in the order
      sent. With padding by the smallest row (node_sql.c), no statement
      carries more than twice that: far below any sane max_allowed_packet,
      and a transaction holds its revisions for a bounded time.
    * A transaction the database refuses (MT_EINTERNAL: a constraint, a
      column narrower than our limits, a value it rejects) is retried row
      by row, each row its own transaction, so only the rows it refuses
      fail and the others' heartbeats are answered ok. A row alone keeps
      every rule of node_sql.c: it locks at most its own registration and
      status row (no lock order to keep), its revision is drawn under the
      same conditions, and rows go in arrival order (a node's own rows in
      the order sent). Unavailability (a lost connection, lock waits after
      the retry, a slow commit) is not retried: it would fail alone too. */
#include "store_internal.h"
#include "mt_alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const columns[3] = { "conditions", "images", "local_templates" };

static void refuse(mt__store_status_entry_t *e, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse(mt__store_status_entry_t *e, int err, const char *fmt, ...)
{
    e->err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->why, sizeof e->why, fmt, ap);
    va_end(ap);
}

/*  The bytes of column f's strings: JSON needs at least as many (escapes
    only add). Over the limit, the row is refused without being encoded: a
    1 MiB body of control characters would encode to 6 MiB, and the scratch
    buffer keeps its largest size. */
static size_t raw_bytes(const mt_node_status_t *st, int f)
{
    size_t n = 0;
    if (f == 0) {
        for (uint32_t i = 0; i < st->nconditions; i++) {
            const mt_condition_t *c = &st->conditions[i];
            n += strlen(c->type) + strlen(c->status) + strlen(c->reason) + strlen(c->message);
        }
        return n;
    }
    const char *const *a = f == 1 ? st->images : st->local_templates;
    uint32_t count = f == 1 ? st->nimages : st->ntemplates;
    for (uint32_t i = 0; i < count; i++)
        n += strlen(a[i]);
    return n;
}

/*  Appends e's columns to s->json (enc: where); a row that cannot be
    stored is refused and leaves nothing behind. */
static void encode(mt__store_scratch_t *s, mt__store_status_entry_t *e, mt__store_status_enc_t *enc)
{
    const mt_node_status_t *st = e->status;
    for (int f = 0; f < 3; f++) {
        if (raw_bytes(st, f) > MT_STORE_JSON_MAX) {
            refuse(e, MT_EBADREQ, "%s: more than %d bytes as stored", columns[f],
                   MT_STORE_JSON_MAX);
            return;
        }
    }
    size_t start = s->json.len;
    int bad_json = 0;
    enc->off[0] = s->json.len;
    bad_json |= mt_json_put_conditions(&s->json, st->conditions, st->nconditions);
    enc->off[1] = s->json.len;
    bad_json |= mt_json_put_str_array(&s->json, st->images, st->nimages);
    enc->off[2] = s->json.len;
    bad_json |= mt_json_put_str_array(&s->json, st->local_templates, st->ntemplates);
    for (int f = 0; f < 3; f++)
        enc->len[f] = (f < 2 ? enc->off[f + 1] : s->json.len) - enc->off[f];
    if (bad_json) {
        refuse(e, MT_EBADREQ, "status: strings must be valid UTF-8");
        s->json.len = start;
        return;
    }
    for (int f = 0; f < 3; f++) {
        if (enc->len[f] > MT_STORE_JSON_MAX) {
            refuse(e, MT_EBADREQ, "%s: %zu bytes as stored; at most %d", columns[f],
                   enc->len[f], MT_STORE_JSON_MAX);
            s->json.len = start;
            return;
        }
    }
}

/*  Entries still going (not refused before their transaction) get err. */
static void fail_live(mt__store_status_entry_t *e, uint32_t n, int err, const char *why)
{
    for (uint32_t x = 0; x < n; x++)
        if (e[x].err == MT_OK || e[x].err == MT_ENOTFOUND)
            refuse(&e[x], err, "%s", why);
}

/*  One transaction for e[0..n) — or, when the database refuses it, one
    per row. */
static int commit(mt__store_conn_t *c, mt__store_scratch_t *s, mt__store_status_entry_t *e,
                  const mt__store_status_enc_t *enc, uint32_t n, mt__store_status_stats_t *stats)
{
    uint32_t live = 0;
    for (uint32_t x = 0; x < n; x++)
        live += e[x].err == MT_OK;
    if (live == 0)
        return MT_OK;
    if (!mt__store_conn_up(c)) {
        fail_live(e, n, MT_EUNAVAIL, c->err);
        return MT_EUNAVAIL;
    }
    bool again = false;
    int rc = mt__store_sql_status_txn(c, s, e, enc, n, &again);
    stats->rechecked = stats->rechecked || again;
    if (rc == MT_OK) {
        stats->commits++;
        return MT_OK;
    }
    if (rc != MT_EINTERNAL || live == 1 || !mt__store_conn_up(c)) {
        fail_live(e, n, rc, c->err);
        return rc;
    }
    for (uint32_t x = 0; x < n; x++)
        if (e[x].err == MT_ENOTFOUND)
            e[x].err = MT_OK;       /* the lock's verdict went with the rollback */
    for (uint32_t x = 0; x < n; x++) {
        if (e[x].err != MT_OK)
            continue;
        if (!mt__store_conn_up(c)) {
            refuse(&e[x], MT_EUNAVAIL, "%s", c->err);
            continue;
        }
        rc = mt__store_sql_status_txn(c, s, &e[x], &enc[x], 1, &again);
        stats->rechecked = stats->rechecked || again;
        stats->alone++;
        if (rc == MT_OK)
            stats->commits++;
        else
            refuse(&e[x], rc, "%s", c->err);
    }
    return mt__store_conn_up(c) ? MT_OK : MT_EUNAVAIL;
}

int mt__store_sql_status_batch(mt__store_conn_t *c, mt__store_scratch_t *s, mt__store_status_entry_t *e, uint32_t n,
                        mt__store_status_stats_t *stats)
{
    *stats = (mt__store_status_stats_t) { 0 };
    for (uint32_t i = 0; i < n; i++) {
        e[i].err = MT_OK;
        e[i].revision = 0;
        e[i].why[0] = '\0';
    }
    mt__store_status_enc_t *enc = mt_xmalloc((n ? n : 1) * sizeof *enc);
    int rc = MT_OK;
    for (uint32_t i = 0; i < n;) {
        /*  As many rows as fit in MT_STORE_BATCH_BYTES, one at least; the
            row that does not fit is encoded again for the next one. */
        mt_buf_reset(&s->json);
        size_t bytes = 0;
        uint32_t j = i;
        for (; j < n; j++) {
            size_t before = s->json.len;
            encode(s, &e[j], &enc[j]);
            size_t add = e[j].err == MT_OK ? mt__store_status_row_bytes(&e[j], &enc[j]) : 0;
            if (j > i && add && bytes + add > MT_STORE_BATCH_BYTES) {
                s->json.len = before;
                break;
            }
            bytes += add;
        }
        int r = commit(c, s, e + i, enc + i, j - i, stats);
        if (r != MT_OK && !mt__store_conn_up(c))
            rc = r;
        i = j;
    }
    for (uint32_t i = 0; i < n; i++)
        if (e[i].err == MT_ENOTFOUND && !e[i].why[0])
            refuse(&e[i], MT_ENOTFOUND, "node not found");
    free(enc);
    return rc;
}
