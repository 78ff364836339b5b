/*  node_sql.c — node writes, each one transaction.

    Every write follows the same order, on every replica:
      1. lock the node's registration row (SELECT … FOR UPDATE),
      2. draw its revision(s) from the sequence,
      3. write, 4. commit.
    Because the row lock is taken before the draw, two transactions touching
    one node draw in the order they commit: a node's stored revision only
    grows, even with several replicas writing it. Batches lock their rows in
    id order (IN lists are read in primary-key order), so two batches never
    deadlock each other; a deadlock or lock wait timeout from elsewhere is
    retried once, then answered MT_EUNAVAIL.

    Nothing half-written: any failure rolls the transaction back. */
#include "store_internal.h"

#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mt_scratch_free(mt_scratch_t *s)
{
    mt_params_free(&s->params);
    mt_json_buf_free(&s->json);
    mt_json_arena_free(&s->arena);
}

void *mt_sql_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("metactor: out of memory (store)\n", stderr);
        abort();
    }
    return p;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

int mt_sql_draw(mt_conn_t *c, mt_scratch_t *s, uint32_t n, int64_t *rev)
{
    for (uint32_t done = 0; done < n;) {
        uint32_t k = n - done < MT_SQL_ROWS_MAX ? n - done : MT_SQL_ROWS_MAX;
        mt_params_reset(&s->params);
        mt_params_i64(&s->params, k);
        mt_rows_t r;
        int rc = mt_conn_exec(c, SQL_DRAW, &s->params, "i", &r);
        if (rc != MT_OK)
            return rc;
        uint32_t got = 0;
        while (got < k && (rc = mt_rows_next(c, &r)) == 1)
            rev[done + got++] = mt_rows_i64(&r, 0);
        mt_rows_close(&r);
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

/*  After a failure: roll back; true if the transaction is worth one retry. */
bool mt_sql_retry(mt_conn_t *c, int rc, int *attempt)
{
    if (rc == MT_OK)
        return false;
    mt_conn_rollback(c);
    return rc == MT_EUNAVAIL && mt_conn_up(c) && (*attempt)++ == 0
        && (c->err_no == ER_LOCK_DEADLOCK || c->err_no == ER_LOCK_WAIT_TIMEOUT);
}

/*  A revision drawn at drawn_ms must be committed or gone within
    MT_STORE_TXN_MAX_MS; refuse to commit a transaction that took half. */
int mt_sql_commit_by(mt_conn_t *c, uint64_t drawn_ms)
{
    if (mt_now_ms() - drawn_ms > MT_STORE_TXN_MAX_MS / 2) {
        snprintf(c->err, sizeof c->err, "transaction too slow: rolled back");
        c->err_no = 0;
        return MT_EUNAVAIL;
    }
    return mt_conn_commit(c);
}

int mt_sql_bad(mt_conn_t *c, const char *what)
{
    snprintf(c->err, sizeof c->err, "%s: not valid UTF-8", what);
    c->err_no = 0;
    return MT_EBADREQ;
}

int mt_sql_not_found(mt_conn_t *c, const char *id)
{
    snprintf(c->err, sizeof c->err, "node %.200s: not found", id);
    c->err_no = 0;
    return MT_ENOTFOUND;
}

/* ---- heartbeats ---------------------------------------------------------------- */

typedef struct { size_t off[3], len[3]; } enc_t;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int status_once(mt_conn_t *c, mt_scratch_t *s, mt_status_entry_t *e, uint32_t n,
                       const enc_t *enc)
{
    /*  1. Lock the live registrations, sorted and unique. */
    const char **ids = mt_sql_xmalloc(n * sizeof *ids);
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
    bool *live = mt_sql_xmalloc((nids ? nids : 1) * sizeof *live);
    memset(live, 0, (nids ? nids : 1) * sizeof *live);
    uint32_t *rows = mt_sql_xmalloc((n ? n : 1) * sizeof *rows);
    int64_t *rev = mt_sql_xmalloc((n ? n : 1) * sizeof *rev);
    int rc = MT_OK;
    for (uint32_t k = 0; rc == MT_OK && k < nids;) {
        unsigned take;
        int v = mt_sql_chunk(nids - k, &take);
        mt_params_reset(&s->params);
        for (unsigned j = 0; j < mt_sql_variants[v]; j++)
            mt_params_cstr(&s->params, ids[k + (j < take ? j : take - 1)]);
        mt_rows_t r;
        if ((rc = mt_conn_exec(c, SQL_LOCK + v, &s->params, "s", &r)) != MT_OK)
            break;
        int f;
        while ((f = mt_rows_next(c, &r)) == 1) {
            const char *id = mt_rows_str(&r, 0, NULL);
            const char **hit = bsearch(&id, ids + k, take, sizeof *ids, cmp_str);
            if (hit)
                live[hit - ids] = true;
        }
        mt_rows_close(&r);
        if (f < 0)
            rc = MT_EINTERNAL;
        k += take;
    }

    /*  2. Unknown or deleted nodes: not found. The rest draw in order. */
    uint32_t m = 0;
    for (uint32_t i = 0; rc == MT_OK && i < n; i++) {
        if (e[i].err != MT_OK && e[i].err != MT_ENOTFOUND)
            continue;
        const char **hit = bsearch(&e[i].id, ids, nids, sizeof *ids, cmp_str);
        e[i].err = hit && live[hit - ids] ? MT_OK : MT_ENOTFOUND;
        if (e[i].err == MT_OK)
            rows[m++] = i;
    }
    uint64_t drawn = mt_now_ms();
    if (rc == MT_OK && m)
        rc = mt_sql_draw(c, s, m, rev);

    /*  3. Multi-row upserts; padding repeats the chunk's last row. */
    for (uint32_t k = 0; rc == MT_OK && k < m;) {
        unsigned take;
        int v = mt_sql_chunk(m - k, &take);
        mt_params_reset(&s->params);
        for (unsigned j = 0; j < mt_sql_variants[v]; j++) {
            uint32_t x = k + (j < take ? j : take - 1);
            mt_status_entry_t *en = &e[rows[x]];
            const enc_t *js = &enc[rows[x]];
            mt_params_cstr(&s->params, en->id);
            mt_params_i64(&s->params, en->status->heartbeat_at);
            mt_params_i64(&s->params, en->status->ready);
            for (int f = 0; f < 3; f++)
                mt_params_str(&s->params, s->json.data + js->off[f], js->len[f]);
            mt_params_i64(&s->params, rev[x]);
        }
        rc = mt_conn_exec(c, SQL_STATUS_UPSERT + v, &s->params, NULL, NULL);
        k += take;
    }
    if (rc == MT_OK)
        rc = mt_sql_commit_by(c, drawn);
    if (rc == MT_OK)
        for (uint32_t x = 0; x < m; x++)
            e[rows[x]].revision = rev[x];
    free(ids);
    free(live);
    free(rows);
    free(rev);
    return rc;
}

int mt_sql_status_batch(mt_conn_t *c, mt_scratch_t *s, mt_status_entry_t *e, uint32_t n)
{
    /*  Encode before the transaction begins: it stays short. */
    enc_t *enc = mt_sql_xmalloc((n ? n : 1) * sizeof *enc);
    mt_json_buf_reset(&s->json);
    for (uint32_t i = 0; i < n; i++) {
        const mt_node_status_t *st = e[i].status;
        e[i].err = MT_OK;
        e[i].revision = 0;
        size_t start = s->json.len;
        int bad_json = 0;
        enc[i].off[0] = s->json.len;
        bad_json |= mt_json_put_conditions(&s->json, st->conditions, st->nconditions);
        enc[i].off[1] = s->json.len;
        bad_json |= mt_json_put_str_array(&s->json, st->images, st->nimages);
        enc[i].off[2] = s->json.len;
        bad_json |= mt_json_put_str_array(&s->json, st->local_templates, st->ntemplates);
        for (int f = 0; f < 3; f++)
            enc[i].len[f] = (f < 2 ? enc[i].off[f + 1] : s->json.len) - enc[i].off[f];
        if (bad_json) {
            e[i].err = MT_EBADREQ;
            s->json.len = start;
        }
    }
    int rc, attempt = 0;
    do {
        rc = status_once(c, s, e, n, enc);
    } while (mt_sql_retry(c, rc, &attempt));
    free(enc);
    return rc;
}
