/*  replicas.c — membership: a replica's beat and leave, the replica list.

    Every replica upserts its own row about once a second and reads back
    every row. Both times come from the database's clock: heartbeat_at is
    written as the server's NOW(3), and the list is read together with the
    server's now in one statement, so `alive` (now - heartbeat_at <=
    alive_ms) is the same on every replica whatever their own clocks say,
    and a slow replica cannot make itself look fresher than it is.

    A beat is one short transaction on the members actor's connection (read
    committed, like the writers'): upsert, read the list, commit; it is
    answered only after the commit. The upsert touches one row that only its
    own replica writes, so it never waits for a lock in normal operation; a
    deadlock or lock wait (two replicas misconfigured with one id) is
    retried once like the node writes. */
#include "store_internal.h"
#include "mt_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Replica ids are ASCII (the column is), printable, no spaces. */
static bool id_ok(const char *id)
{
    if (!*id)
        return false;
    for (const unsigned char *p = (const unsigned char *) id; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return false;
    return true;
}

int mt__store_sql_replica_check(const mt_store_replica_beat_t *b, const char *replica_id, char *why,
                         size_t whylen)
{
    if (!id_ok(replica_id)) {
        snprintf(why, whylen, "replica id: 1 to %zu printable ASCII characters, no spaces",
                 sizeof b->replica_id - 1);
        return MT_EBADREQ;
    }
    if (!b)
        return MT_OK;
    if (!b->endpoint[0] || !b->pub_endpoint[0]) {
        snprintf(why, whylen, "replica %s: endpoints: 1 to %zu bytes each", replica_id,
                 sizeof b->endpoint - 1);
        return MT_EBADREQ;
    }
    if (b->alive_ms <= 0) {
        snprintf(why, whylen, "replica %s: alive_ms must be > 0", replica_id);
        return MT_EBADREQ;
    }
    return MT_OK;
}

static int read_list(mt__store_conn_t *c, int64_t alive_ms, mt_store_replicas_t *out)
{
    mt__store_rows_t r;
    /*  The round trip around the server's now: the clock estimate's sample
        (mt_db_clock), as tight as this process can measure it. */
    out->sent_ms = mt_now_ms();
    int rc = mt__store_conn_exec(c, SQL_REPLICA_LIST, NULL, "sisssis", &r);
    out->received_ms = mt_now_ms();
    if (rc != MT_OK)
        return rc;
    uint32_t cap = 0;
    int f;
    while ((f = mt__store_rows_next(c, &r)) == 1) {
        if (!out->cluster_uuid[0]) {
            snprintf(out->cluster_uuid, sizeof out->cluster_uuid, "%s", mt__store_rows_str(&r, 0, NULL));
            out->now_ms = mt__store_rows_i64(&r, 1);
        }
        if (r.cols[2].null)         /* the LEFT JOIN's row when there is no replica */
            continue;
        if (out->nreplicas == cap) {
            cap = cap ? cap * 2 : 16;
            out->replicas = mt_xreallocarray(out->replicas, cap, sizeof *out->replicas);
        }
        mt_store_replica_t *e = &out->replicas[out->nreplicas++];
        memset(e, 0, sizeof *e);
        /*  Rows are written by mt__store_sql_replica_beat only, within these sizes;
            a longer value written by hand is cut, never overflows. */
        snprintf(e->replica_id, sizeof e->replica_id, "%s", mt__store_rows_str(&r, 2, NULL));
        snprintf(e->endpoint, sizeof e->endpoint, "%s", mt__store_rows_str(&r, 3, NULL));
        snprintf(e->pub_endpoint, sizeof e->pub_endpoint, "%s", mt__store_rows_str(&r, 4, NULL));
        e->heartbeat_at = mt__store_rows_i64(&r, 5);
        /*  A key of any other length is not a key: the bus will not
            subscribe to that replica rather than to a wrong one. */
        const char *key = mt__store_rows_str(&r, 6, NULL);
        if (key && strlen(key) == sizeof e->public_key - 1)
            memcpy(e->public_key, key, sizeof e->public_key);
        e->alive = out->now_ms - e->heartbeat_at <= alive_ms;
    }
    mt__store_rows_close(&r);
    if (f < 0)
        return MT_EINTERNAL;
    if (!out->cluster_uuid[0]) {
        snprintf(c->err, sizeof c->err, "replicas: no cluster row (mt_cluster)");
        c->err_no = 0;
        return MT_EINTERNAL;
    }
    return MT_OK;
}

static void list_clear(mt_store_replicas_t *out)
{
    free(out->replicas);
    out->replicas = NULL;
    out->nreplicas = 0;
    out->cluster_uuid[0] = '\0';
    out->now_ms = 0;
}

int mt__store_sql_replica_beat(mt__store_conn_t *c, mt__store_scratch_t *s, const mt_store_replica_beat_t *b,
                        mt_store_replicas_t *out)
{
    int rc, attempt = 0;
    do {
        list_clear(out);
        mt__store_params_reset(&s->params);
        mt__store_params_cstr(&s->params, b->replica_id);
        mt__store_params_cstr(&s->params, b->endpoint);
        mt__store_params_cstr(&s->params, b->pub_endpoint);
        mt__store_params_i64(&s->params, b->started_at);
        mt__store_params_cstr(&s->params, b->public_key);
        rc = mt__store_conn_exec(c, SQL_REPLICA_UPSERT, &s->params, NULL, NULL);
        if (rc == MT_OK)
            rc = read_list(c, b->alive_ms, out);
        if (rc == MT_OK)
            rc = mt__store_conn_commit(c);
    } while (mt__store_sql_retry(c, rc, &attempt));
    if (rc != MT_OK)
        list_clear(out);
    return rc;
}

int mt__store_sql_replica_leave(mt__store_conn_t *c, mt__store_scratch_t *s, const char *replica_id)
{
    int rc, attempt = 0;
    do {
        mt__store_params_reset(&s->params);
        mt__store_params_cstr(&s->params, replica_id);
        rc = mt__store_conn_exec(c, SQL_REPLICA_DELETE, &s->params, NULL, NULL);
        if (rc == MT_OK)
            rc = mt__store_conn_commit(c);
    } while (mt__store_sql_retry(c, rc, &attempt));
    return rc;
}
