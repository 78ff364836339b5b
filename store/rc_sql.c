/*  rc_sql.c — remote cluster references in rc_refs: RC_ADD, RC_SET and
    RC_DEL (writers), RC_SCAN (the reader).

    Writes go as node writes do (node_sql.c): lock the row (SELECT … FOR
    UPDATE), draw the revision, write, commit — so a reference's revision
    only grows whichever replica writes it, and any failure rolls the whole
    transaction back. SET and DEL with expected_revision compare it with
    the locked row's; the UPDATE itself is a compare-and-set on the
    revision read under the lock (WHERE id = ? AND revision = ? AND
    deleted = 0), so no write lands on a row that changed since it was read.

    Uniqueness among live references belongs to the database (schema v2:
    UNIQUE keys on live_name and live_uuid, NULL in tombstones). Two
    replicas adding one name at once: the second insert waits for the
    first's row, then fails on the key. A duplicate key is answered
    MT_ECONFLICT, naming the live reference that holds the name or uuid.

    The password goes into the table and nowhere else: no statement here
    reads it back, every block answered is built without it, and a
    tombstone's is wiped. client_secret (schema v4) is written the same
    way, but RC_SCAN reads it back: every replica's agent needs it to probe
    the remote, and the database is the only way it travels between
    replicas. Only the scanned blocks carry it (wiped by their last unref);
    DONE's never do, and our column buffer is wiped after each row. */
#include "store_internal.h"
#include "mt_alloc.h"
#include "mt_key.h"

#include <mysqld_error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*  Column sizes (characters there; bytes here, which is stricter). */
#define HOSTNAME_MAX 1024
#define USERNAME_MAX 255
#define PASSWORD_MAX 1024

/* ---- requests the store refuses (before asking the database) --------------------- */

static int refuse(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return MT_EBADREQ;
}

static int check_text(const char *what, const char *s, size_t max, bool required,
                      char *why, size_t n)
{
    size_t len = s ? strlen(s) : 0;
    if (required && !len)
        return refuse(why, n, "%s: required", what);
    if (len > max)
        return refuse(why, n, "%s: longer than %zu bytes", what, max);
    if (!mt_utf8_valid(s ? s : "", len))
        return refuse(why, n, "%s: not valid UTF-8", what);
    return MT_OK;
}

/*  Ids and uuids: printable ASCII without spaces, at most MT_RC_ID_MAX. */
static int check_ascii(const char *what, const char *s, bool required, char *why, size_t n)
{
    size_t len = s ? strlen(s) : 0;
    if ((required && !len) || len > MT_RC_ID_MAX)
        return refuse(why, n, "%s: must be %d-%d characters", what, required, MT_RC_ID_MAX);
    for (size_t i = 0; i < len; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return refuse(why, n, "%s: printable ASCII without spaces only", what);
    return MT_OK;
}

int mt__store_sql_rc_check(mt_msg_t *req, char *why, size_t n)
{
    if (req->type != MT_STORE_RC_ADD && req->type != MT_STORE_RC_SET
        && req->type != MT_STORE_RC_DEL)
        return MT_OK;
    const mt_store_rc_write_t *w = mt_msg_data(req);
    const mt_rc_t *r = w->ref;
    bool add = req->type == MT_STORE_RC_ADD;
    int rc;
    if (!r)
        return refuse(why, n, "remote cluster reference: missing");
    if ((rc = check_ascii("id", r->id, true, why, n)) != MT_OK)
        return rc;
    if (w->expected_revision < 0)
        return refuse(why, n, "expected revision: must be >= 0 (0: unconditional)");
    if (req->type == MT_STORE_RC_DEL)
        return MT_OK;
    if ((add || w->has_name)
        && ((rc = mt_rc_name_check(r->name, why, n)) != MT_OK
            || (rc = check_text("name", r->name, MT_RC_NAME_MAX, true, why, n)) != MT_OK))
        return rc;
    if ((add || w->has_hostname)
        && (rc = check_text("hostname", r->hostname, HOSTNAME_MAX, true, why, n)) != MT_OK)
        return rc;
    if ((add || w->has_username)
        && (rc = check_text("username", r->username, USERNAME_MAX, false, why, n)) != MT_OK)
        return rc;
    if ((add || w->has_password)
        && (rc = check_text("password", r->password, PASSWORD_MAX, false, why, n)) != MT_OK)
        return rc;
    if (add && (rc = check_ascii("uuid", r->uuid, false, why, n)) != MT_OK)
        return rc;
    if (add && r->nnodes > MT_RC_NODES_MAX)
        return refuse(why, n, "node_list: more than %d nodes", MT_RC_NODES_MAX);
    if ((add || w->has_server_key)
        && (rc = mt_key_check("server_key", r->server_key, why, n)) != MT_OK)
        return rc;
    if ((add || w->has_client_keys)
        && (rc = mt_key_pair_check(r->client_public, r->client_secret, why, n)) != MT_OK)
        return rc;
    return MT_OK;
}

/* ---- rows ------------------------------------------------------------------------------ */

static int say(mt__store_conn_t *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(mt__store_conn_t *c, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    c->err_no = 0;
    return err;
}

/*  The current row of r (MT_SQL_RC_KINDS) as a template: its strings are
    r's and the node list the arena's until r is closed or a reset. A
    stored node_list that cannot be read (written behind our back) is taken
    as empty, logged once and counted: it is only a cache, which the next
    refresh fills again, and it must not stop a reload of the others. */
static int from_row(mt__store_scratch_t *s, const mt__store_rows_t *r, mt_rc_t *t)
{
    size_t len;
    const char *text = mt__store_rows_str(r, 6, &len);
    const char **nodes = NULL;
    uint32_t nnodes = 0;
    if (mt_json_get_str_array(text, len, &s->arena, &nodes, &nnodes) != MT_OK
        || nnodes > MT_RC_NODES_MAX) {
        nodes = NULL;
        nnodes = 0;
        mt__store_sql_rejected(&s->rejects, "rc_refs", mt__store_rows_str(r, 0, NULL), mt__store_rows_i64(r, 7),
                        "node_list: not a JSON array of endpoints within the limits");
    }
    *t = (mt_rc_t) {
        .id = mt__store_rows_str(r, 0, NULL),
        .name = mt__store_rows_str(r, 1, NULL),
        .hostname = mt__store_rows_str(r, 2, NULL),
        .uuid = mt__store_rows_str(r, 3, NULL),
        .username = mt__store_rows_str(r, 4, NULL),
        .demand_encryption = mt__store_rows_i64(r, 5) != 0,
        .nnodes = nnodes,
        .node_list = nodes,
        .revision = mt__store_rows_i64(r, 7),
        .deleted = mt__store_rows_i64(r, 8) != 0,
        .refreshed_at = mt__store_rows_i64(r, 9),
        .server_key = mt__store_rows_str(r, 10, NULL),
        .client_public = mt__store_rows_str(r, 11, NULL),
        .client_secret = mt__store_rows_str(r, 12, NULL),
        .restrict_hostname_replace = mt__store_rows_i64(r, 13) != 0,
    };
    if (!t->client_secret[0])
        t->client_secret = NULL;
    return MT_OK;
}

/*  Our copy of the row's client_secret, once a block holds its own. */
static void wipe_secret_col(mt__store_rows_t *r)
{
    if (r->ncols > 12 && r->cols[12].buf)
        explicit_bzero(r->cols[12].buf, r->cols[12].cap);
}

/*  Locks a live reference and reads it into *cur (r stays open: the
    caller closes it). Unknown or deleted: MT_ENOTFOUND. */
static int lock_live(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id, mt__store_rows_t *r, mt_rc_t *cur)
{
    mt_json_arena_reset(&s->arena);
    mt__store_params_reset(&s->params);
    mt__store_params_cstr(&s->params, id);
    int rc = mt__store_conn_exec(c, SQL_RC_FOR_UPDATE, &s->params, MT_SQL_RC_KINDS, r);
    if (rc != MT_OK)
        return rc;
    int f = mt__store_rows_next(c, r);
    if (f == 1 && mt__store_rows_i64(r, 8) == 0)
        rc = from_row(s, r, cur);
    else
        rc = f < 0 ? MT_EINTERNAL
                   : say(c, MT_ENOTFOUND, "remote cluster reference %.40s: not found", id);
    if (rc != MT_OK)
        mt__store_rows_close(r);
    return rc;
}

/*  expected > 0 and the stored revision moved on: MT_ECONFLICT. */
static int stale(mt__store_conn_t *c, const char *id, int64_t stored, int64_t expected)
{
    if (expected <= 0 || stored == expected)
        return MT_OK;
    return say(c, MT_ECONFLICT, "remote cluster reference %.40s: revision is %lld, not %lld"
               " (changed meanwhile)", id, (long long) stored, (long long) expected);
}

/*  After a duplicate key: roll back and say which reference holds the id,
    live name or live uuid the write wanted ("" for what it did not). */
static int clash(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id, const char *name,
                 const char *uuid)
{
    mt__store_conn_rollback(c);
    mt__store_params_reset(&s->params);
    mt__store_params_cstr(&s->params, id);
    mt__store_params_cstr(&s->params, name);
    mt__store_params_cstr(&s->params, uuid);
    mt__store_rows_t r;
    int rc = mt__store_conn_exec(c, SQL_RC_CLASH, &s->params, "sssi", &r);
    if (rc != MT_OK)
        return rc;
    int best = 3, f;            /* 0 name, 1 uuid, 2 id, 3 none any more */
    char holder[40] = "", holder_name[120] = "";
    while ((f = mt__store_rows_next(c, &r)) == 1) {
        bool live = mt__store_rows_i64(&r, 3) == 0;
        const char *rid = mt__store_rows_str(&r, 0, NULL), *rname = mt__store_rows_str(&r, 1, NULL);
        int kind = live && *name && strcmp(rname, name) == 0 ? 0
                 : live && *uuid && strcasecmp(mt__store_rows_str(&r, 2, NULL), uuid) == 0 ? 1
                 : strcasecmp(rid, id) == 0 ? 2 : 3;      /* ids, uuids: ascii_general_ci */
        if (kind < best) {
            best = kind;
            snprintf(holder, sizeof holder, "%s", rid);
            snprintf(holder_name, sizeof holder_name, "%s", rname);
        }
    }
    mt__store_rows_close(&r);
    if (f < 0)
        return MT_EINTERNAL;
    switch (best) {
    case 0:
        return say(c, MT_ECONFLICT, "remote cluster reference name \"%.100s\" is taken (by %s)",
                   name, holder);
    case 1:
        return say(c, MT_ECONFLICT, "remote cluster %s is already referenced by \"%.100s\" (%s):"
                   " one live reference per remote cluster", uuid, holder_name, holder);
    case 2:
        return say(c, MT_ECONFLICT, "remote cluster reference id %s is already used", id);
    default:
        return say(c, MT_ECONFLICT, "remote cluster reference: its name or uuid was taken by"
                   " a concurrent write");
    }
}

/* ---- writes ---------------------------------------------------------------------------- */

/*  s->json holds the node list, encoded before the transaction. */
static int add_once(mt__store_conn_t *c, mt__store_scratch_t *s, const mt_rc_t *ref, int64_t *rev)
{
    uint64_t drawn = mt_now_ms();
    int rc = mt__store_sql_draw(c, s, 1, rev, 0);
    if (rc != MT_OK)
        return rc;
    mt__store_params_reset(&s->params);
    mt__store_params_cstr(&s->params, ref->id);
    mt__store_params_cstr(&s->params, ref->name);
    mt__store_params_cstr(&s->params, ref->hostname);
    mt__store_params_cstr(&s->params, ref->uuid);
    mt__store_params_cstr(&s->params, ref->username);
    mt__store_params_cstr(&s->params, ref->password);
    mt__store_params_i64(&s->params, ref->demand_encryption);
    mt__store_params_str(&s->params, s->json.data, s->json.len);
    mt__store_params_i64(&s->params, *rev);
    mt__store_params_i64(&s->params, ref->refreshed_at);
    mt__store_params_cstr(&s->params, ref->server_key ? ref->server_key : "");
    mt__store_params_cstr(&s->params, ref->client_public ? ref->client_public : "");
    mt__store_params_cstr(&s->params, ref->client_secret ? ref->client_secret : "");
    mt__store_params_i64(&s->params, ref->restrict_hostname_replace);
    rc = mt__store_conn_exec(c, SQL_RC_INSERT, &s->params, NULL, NULL);
    if (rc != MT_OK && c->err_no == ER_DUP_ENTRY)
        return clash(c, s, ref->id, ref->name, ref->uuid ? ref->uuid : "");
    return rc == MT_OK ? mt__store_sql_commit_by(c, drawn) : rc;
}

static int set_once(mt__store_conn_t *c, mt__store_scratch_t *s, const mt_store_rc_write_t *w, mt_rc_t **out)
{
    const mt_rc_t *in = w->ref;
    mt__store_rows_t r;
    mt_rc_t t;
    int rc = lock_live(c, s, in->id, &r, &t);
    if (rc != MT_OK)
        return rc;
    int64_t stored = t.revision;
    if ((rc = stale(c, in->id, stored, w->expected_revision)) != MT_OK) {
        mt__store_rows_close(&r);
        return rc;
    }
    if (w->has_name)
        t.name = in->name;
    if (w->has_hostname)
        t.hostname = in->hostname;
    if (w->has_username)
        t.username = in->username;
    if (w->has_demand_encryption)
        t.demand_encryption = in->demand_encryption;
    if (w->has_server_key)
        t.server_key = in->server_key;
    if (w->has_client_keys)
        t.client_public = in->client_public;
    if (w->has_restrict_hostname_replace)
        t.restrict_hostname_replace = in->restrict_hostname_replace;
    t.password = NULL;
    t.client_secret = NULL;
    mt_rc_t *nb = mt_rc_build(&t);      /* copies r's strings: close r */
    wipe_secret_col(&r);
    mt__store_rows_close(&r);

    int64_t rev = 0;
    uint64_t drawn = mt_now_ms();
    rc = mt__store_sql_draw(c, s, 1, &rev, stored);     /* above the row (Galera) */
    if (rc == MT_OK) {
        mt__store_params_reset(&s->params);
        mt__store_params_cstr(&s->params, nb->name);
        mt__store_params_cstr(&s->params, nb->hostname);
        mt__store_params_cstr(&s->params, nb->username);
        mt__store_params_i64(&s->params, w->has_password);
        mt__store_params_cstr(&s->params, w->has_password ? in->password : "");
        mt__store_params_i64(&s->params, nb->demand_encryption);
        mt__store_params_cstr(&s->params, nb->server_key);
        mt__store_params_cstr(&s->params, nb->client_public);
        mt__store_params_i64(&s->params, w->has_client_keys);
        mt__store_params_cstr(&s->params, w->has_client_keys && in->client_secret ? in->client_secret : "");
        mt__store_params_i64(&s->params, nb->restrict_hostname_replace);
        mt__store_params_i64(&s->params, rev);
        mt__store_params_cstr(&s->params, nb->id);
        mt__store_params_i64(&s->params, stored);
        rc = mt__store_conn_exec(c, SQL_RC_UPDATE, &s->params, NULL, NULL);
        if (rc != MT_OK && c->err_no == ER_DUP_ENTRY)
            rc = clash(c, s, "", nb->name, "");
        else if (rc == MT_OK && mt__store_conn_affected(c, SQL_RC_UPDATE) != 1)
            rc = say(c, MT_EINTERNAL, "remote cluster reference %.40s: changed under its row lock",
                     nb->id);
    }
    if (rc == MT_OK)
        rc = mt__store_sql_commit_by(c, drawn);
    if (rc != MT_OK) {
        mt_rc_unref(&nb);
        return rc;
    }
    nb->revision = rev;
    *out = nb;
    return MT_OK;
}

static int del_once(mt__store_conn_t *c, mt__store_scratch_t *s, const mt_store_rc_write_t *w, int64_t *rev)
{
    const char *id = w->ref->id;
    mt__store_rows_t r;
    mt_rc_t t;
    int rc = lock_live(c, s, id, &r, &t);
    if (rc != MT_OK)
        return rc;
    int64_t stored = t.revision;
    wipe_secret_col(&r);
    mt__store_rows_close(&r);
    if ((rc = stale(c, id, stored, w->expected_revision)) != MT_OK)
        return rc;
    uint64_t drawn = mt_now_ms();
    if ((rc = mt__store_sql_draw(c, s, 1, rev, stored)) != MT_OK)
        return rc;
    mt__store_params_reset(&s->params);
    mt__store_params_i64(&s->params, *rev);
    mt__store_params_cstr(&s->params, id);
    mt__store_params_i64(&s->params, stored);
    rc = mt__store_conn_exec(c, SQL_RC_TOMBSTONE, &s->params, NULL, NULL);
    if (rc == MT_OK && mt__store_conn_affected(c, SQL_RC_TOMBSTONE) != 1)
        rc = say(c, MT_EINTERNAL, "remote cluster reference %.40s: changed under its row lock", id);
    return rc == MT_OK ? mt__store_sql_commit_by(c, drawn) : rc;
}

/* ---- the scan ---------------------------------------------------------------------------- */

/*  Every reference with a revision above after, or (id non-empty) that
    one reference's row. */
static int scan(mt__store_conn_t *c, mt__store_scratch_t *s, int64_t after, const char *id,
                mt_store_rc_scanned_t *out)
{
    int rc = mt__store_sql_mark(c, &out->mark);
    if (rc != MT_OK)
        return rc;
    mt__store_params_reset(&s->params);
    if (*id)
        mt__store_params_cstr(&s->params, id);
    else
        mt__store_params_i64(&s->params, after);
    mt__store_rows_t r;
    if ((rc = mt__store_conn_exec(c, *id ? SQL_RC_LOAD : SQL_RC_SCAN, &s->params, MT_SQL_RC_KINDS,
                           &r)) != MT_OK)
        return rc;
    mt__store_conn_rollback(c);        /* every row is on the client now */
    uint32_t cap = 0;
    int f = 0;
    while (rc == MT_OK && (f = mt__store_rows_next(c, &r)) == 1) {
        mt_json_arena_reset(&s->arena);
        mt_rc_t t;
        if ((rc = from_row(s, &r, &t)) != MT_OK)
            break;
        if (out->nrefs == cap) {
            cap = cap ? cap * 2 : 16;
            out->refs = mt_xreallocarray(out->refs, cap, sizeof *out->refs);
        }
        out->refs[out->nrefs++] = mt_rc_build(&t);
        wipe_secret_col(&r);
    }
    if (rc == MT_OK && f < 0)
        rc = MT_EINTERNAL;
    mt__store_rows_close(&r);
    if (rc != MT_OK) {
        for (uint32_t i = 0; i < out->nrefs; i++)
            mt_rc_unref(&out->refs[i]);
        free(out->refs);
        out->refs = NULL;
        out->nrefs = 0;
    }
    return rc;
}

/* ---- serving a request ---------------------------------------------------------------------- */

mt_msg_t *mt__store_rc_serve(mt__store_conn_t *c, mt__store_scratch_t *s, mt_msg_t *req, int *err)
{
    if (req->type == MT_STORE_RC_SCAN) {
        const mt_store_scan_req_t *q = mt_msg_data(req);
        mt_msg_t *r = mt_msg_new(MT_STORE_RC_SCANNED, sizeof(mt_store_rc_scanned_t));
        mt_store_rc_scanned_t *o = mt_msg_data(r);
        r->drop = mt__store_rc_scanned_drop;
        char id[MT_RC_ID_MAX + 1];
        snprintf(id, sizeof id, "%s", q->rc_id);        /* NUL-terminated whatever came */
        o->err = scan(c, s, q->full ? 0 : q->after, id, o);
        mt__store_conn_rollback(c);    /* ends the snapshot */
        if (o->err != MT_OK)
            snprintf(o->message, sizeof o->message, "%.199s", c->err);
        *err = o->err;
        return r;
    }
    const mt_store_rc_write_t *w = mt_msg_data(req);
    mt_rc_t *out = NULL;
    int64_t rev = 0;
    int rc = MT_OK, attempt = 0;
    switch (req->type) {
    case MT_STORE_RC_ADD:
        /*  Encoded before the transaction begins: it stays short. */
        mt_buf_reset(&s->json);
        if (mt_json_put_str_array(&s->json, w->ref->node_list, w->ref->nnodes) != MT_OK) {
            rc = mt__store_sql_bad(c, "node_list");
            break;
        }
        if (s->json.len > MT_STORE_JSON_MAX) {
            rc = mt__store_sql_too_large(c, "node_list", s->json.len);
            break;
        }
        do {
            rc = add_once(c, s, w->ref, &rev);
        } while (mt__store_sql_retry(c, rc, &attempt));
        if (rc == MT_OK) {
            mt_rc_t t = *w->ref;
            t.password = NULL;
            t.client_secret = NULL;
            t.revision = rev;
            t.deleted = false;
            out = mt_rc_build(&t);
        }
        break;
    case MT_STORE_RC_SET:
        do {
            rc = set_once(c, s, w, &out);
        } while (mt__store_sql_retry(c, rc, &attempt));
        break;
    case MT_STORE_RC_DEL:
        do {
            rc = del_once(c, s, w, &rev);
        } while (mt__store_sql_retry(c, rc, &attempt));
        break;
    }
    *err = rc;
    return mt__store_done_rc(rc, c->err, out ? out->revision : rc == MT_OK ? rev : 0, out);
}
