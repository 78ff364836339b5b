/*  conn.c — one MariaDB connection of one store actor.

    Blocking: every function here blocks on the server, so only the store's
    pinned actors call them, each on its own connection.

    Never MYSQL_OPT_RECONNECT: a silent reconnect would lose the session
    (isolation level, lock wait timeout, autocommit off), the prepared
    statements and, worst, an open transaction whose outcome the caller
    must learn. A lost connection is closed here; the actor reconnects (and
    statements are prepared again lazily) on its own schedule.

    Errors are split in two. c->err, which the store sends to clients (and
    its own log lines repeat), says only the class and the number: "the
    database is unavailable (error 2003)", "the database refused access
    (error 1045)", "database error 1213". The server's text — it names the
    user, the host, tables and columns, and quotes SQL and values — goes to
    the log (mt_log_warning, as the store's other database messages), with
    the statement that failed: once per distinct reason while the server
    cannot be reached, never for errors the callers turn into answers of
    their own (duplicate keys, lock waits and deadlocks, the missing
    database of a first start). */
#include "store_internal.h"
#include "mt_metrics.h"
#include "mt_alloc.h"
#include "mt_log.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- parameters ----------------------------------------------------------- */

void mt__store_params_reset(mt__store_params_t *ps)
{
    ps->n = 0;
}

void mt__store_params_free(mt__store_params_t *ps)
{
    free(ps->v);
    free(ps->b);
    free(ps->cells);
    free(ps->lens);
    *ps = (mt__store_params_t) { 0 };
}

static mt__store_param_t *param_push(mt__store_params_t *ps)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 64;
        ps->v = mt_xrealloc(ps->v, ps->cap * sizeof *ps->v);
        ps->b = mt_xrealloc(ps->b, ps->cap * sizeof *ps->b);
        ps->cells = mt_xrealloc(ps->cells, ps->cap * sizeof *ps->cells);
        ps->lens = mt_xrealloc(ps->lens, ps->cap * sizeof *ps->lens);
    }
    return &ps->v[ps->n++];
}

void mt__store_params_i64(mt__store_params_t *ps, int64_t v)
{
    *param_push(ps) = (mt__store_param_t) { .kind = 'i', .i = v };
}

void mt__store_params_str(mt__store_params_t *ps, const char *s, size_t len)
{
    *param_push(ps) = (mt__store_param_t) { .kind = 's', .s = s ? s : "", .len = (unsigned long) len };
}

void mt__store_params_cstr(mt__store_params_t *ps, const char *s)
{
    mt__store_params_str(ps, s, s ? strlen(s) : 0);
}

/*  The MYSQL_BINDs point into ps->v, which no longer moves once filled. */
static MYSQL_BIND *params_bind(mt__store_params_t *ps)
{
    memset(ps->b, 0, ps->n * sizeof *ps->b);
    for (unsigned i = 0; i < ps->n; i++) {
        mt__store_param_t *p = &ps->v[i];
        MYSQL_BIND *b = &ps->b[i];
        if (p->kind == 'i') {
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = &p->i;
        }
        else {
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = (void *) p->s;
            b->buffer_length = p->len;
            b->length = &p->len;
        }
    }
    return ps->b;
}

/* ---- errors ------------------------------------------------------------------ */

bool mt__store_conn__lost_error(unsigned e)
{
    switch (e) {
    case CR_CONNECTION_ERROR: case CR_CONN_HOST_ERROR: case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST: case CR_SERVER_LOST_EXTENDED: case CR_COMMANDS_OUT_OF_SYNC:
    case CR_UNKNOWN_HOST: case ER_SERVER_SHUTDOWN: case ER_CONNECTION_KILLED:
    case ER_NET_READ_ERROR: case ER_NET_READ_INTERRUPTED: case ER_NET_ERROR_ON_WRITE:
    case ER_NET_WRITE_INTERRUPTED: case ER_NET_PACKETS_OUT_OF_ORDER:
    case ER_ABORTING_CONNECTION: case ER_CON_COUNT_ERROR: case ER_TOO_MANY_USER_CONNECTIONS:
    case 4031:  /* ER_CLIENT_INTERACTION_TIMEOUT: idle too long, disconnected */
    case ER_UNKNOWN_COM_ERROR:
        /*  1047: a Galera node outside the primary component (wsrep_ready
            OFF) refuses every query: as good as gone. The connection is
            closed so that the next one goes to a node that serves. */
        return true;
    default:
        return e >= 2000 && e < 3000;   /* every other client-side error */
    }
}

static bool transient_error(unsigned e)
{
    return e == ER_LOCK_WAIT_TIMEOUT || e == ER_LOCK_DEADLOCK || e == ER_STATEMENT_TIMEOUT
        || e == ER_QUERY_INTERRUPTED;
}

static bool access_error(unsigned e)
{
    return e == ER_ACCESS_DENIED_ERROR || e == ER_DBACCESS_DENIED_ERROR
        || e == ER_ACCESS_DENIED_NO_PASSWORD_ERROR || e == ER_TABLEACCESS_DENIED_ERROR
        || e == ER_SPECIFIC_ACCESS_DENIED_ERROR || e == ER_ACCOUNT_HAS_BEEN_LOCKED;
}

/*  Whether the server's text for e goes to the log: not for what callers
    handle themselves, and a connection error only when it is news. */
static bool worth_logging(unsigned e, unsigned previous, const char *what)
{
    if (e == ER_DUP_ENTRY || transient_error(e))
        return false;
    if (e == ER_BAD_DB_ERROR && strcmp(what, "connect") == 0)
        return false;               /* first start: mt__store_conn_open creates it */
    return !(mt__store_conn__lost_error(e) || access_error(e)) || e != previous;
}

/*  Records error e (the server's text msg, while doing what) in c: the
    text for clients in c->err, the server's own in the log. */
void mt__store_conn__note(mt__store_conn_t *c, unsigned e, const char *msg, const char *what)
{
    if (e == 0) {
        e = CR_UNKNOWN_ERROR;
        msg = "unknown error";
    }
    if (worth_logging(e, c->err_no, what))
        mt_log_warning("store: database error %u while %.160s%s: %s", e, what,
                     strlen(what) > 160 ? "..." : "", msg);
    c->err_no = e;
    if (access_error(e))
        snprintf(c->err, sizeof c->err, "the database refused access (error %u)", e);
    else if (mt__store_conn__lost_error(e))
        snprintf(c->err, sizeof c->err, "the database is unavailable (error %u)", e);
    else
        snprintf(c->err, sizeof c->err, "database error %u", e);
}

/*  Records the error of st (or of the connection) in c. */
static void record(mt__store_conn_t *c, MYSQL_STMT *st, const char *what)
{
    c->commit_failed = false;       /* mt__store_conn_commit sets it after */
    if (st)
        mt__store_conn__note(c, mysql_stmt_errno(st), mysql_stmt_error(st), what);
    else if (c->m)
        mt__store_conn__note(c, mysql_errno(c->m), mysql_error(c->m), what);
    else
        mt__store_conn__note(c, CR_SERVER_GONE_ERROR, "not connected", what);
}

int mt__store_conn__classify(mt__store_conn_t *c)
{
    if (mt__store_conn__lost_error(c->err_no)) {
        mt__store_conn_close(c);
        return MT_EUNAVAIL;
    }
    return transient_error(c->err_no) ? MT_EUNAVAIL : MT_EINTERNAL;
}

int mt__store_conn_fail(mt__store_conn_t *c, MYSQL_STMT *st, const char *what)
{
    record(c, st, what);
    return mt__store_conn__classify(c);
}

/* ---- connecting ------------------------------------------------------------- */

void mt__store_conn_close(mt__store_conn_t *c)
{
    for (int i = 0; i < SQL_COUNT; i++) {
        if (c->stmts[i]) {
            mysql_stmt_close(c->stmts[i]);
            c->stmts[i] = NULL;
        }
    }
    if (c->m) {
        mysql_close(c->m);
        c->m = NULL;
    }
}

/* ---- statements ---------------------------------------------------------------- */

static MYSQL_STMT *prepare(mt__store_conn_t *c, const char *sql, int *rc)
{
    MYSQL_STMT *st = mysql_stmt_init(c->m);
    if (!st) {
        *rc = mt__store_conn_fail(c, NULL, "statement init");
        return NULL;
    }
    if (mysql_stmt_prepare(st, sql, (unsigned long) strlen(sql)) != 0) {
        record(c, st, sql);
        mysql_stmt_close(st);
        *rc = mt__store_conn__classify(c);
        return NULL;
    }
    return st;
}

int mt__store_conn_sql(mt__store_conn_t *c, const char *sql)
{
    if (!c->m)
        return mt__store_conn_fail(c, NULL, "sql");
    int rc = MT_OK;
    MYSQL_STMT *st = prepare(c, sql, &rc);
    if (!st)
        return rc;
    c->statements++;
    if (mysql_stmt_execute(st) != 0) {
        record(c, st, sql);
        mysql_stmt_close(st);
        return mt__store_conn__classify(c);
    }
    mysql_stmt_close(st);
    return MT_OK;
}

static void rows_bind(mt__store_rows_t *r)
{
    memset(r->b, 0, r->ncols * sizeof *r->b);
    for (unsigned i = 0; i < r->ncols; i++) {
        mt__store_col_t *col = &r->cols[i];
        MYSQL_BIND *b = &r->b[i];
        b->is_null = &col->null;
        b->error = &col->error;
        b->length = &col->len;
        if (col->kind == 'i') {
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = &col->i;
        }
        else {
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = col->buf;
            b->buffer_length = col->cap - 1;    /* one byte for our NUL */
        }
    }
}

/*  Statement id of c, prepared on first use; NULL (*rc set) if it cannot
    be, or c is down. */
static MYSQL_STMT *statement(mt__store_conn_t *c, int id, int *rc)
{
    if (!c->m) {
        *rc = mt__store_conn_fail(c, NULL, "exec");
        return NULL;
    }
    MYSQL_STMT *st = c->stmts[id];
    if (!st) {
        if (!(st = prepare(c, mt__store_sql_text(id), rc)))
            return NULL;
        my_bool on = 1;
        mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
        c->stmts[id] = st;
    }
    return st;
}

/*  Binds b to st (NULL: no parameters) and executes it, counted. */
static int run(mt__store_conn_t *c, MYSQL_STMT *st, int id, MYSQL_BIND *b)
{
    if (b && mysql_stmt_bind_param(st, b) != 0)
        return mt__store_conn_fail(c, st, "bind");
    c->statements++;
    c->last_used_ms = mt_now_ms();
    if (mysql_stmt_execute(st) != 0)
        return mt__store_conn_fail(c, st, mt__store_sql_text(id));
    return MT_OK;
}

int mt__store_conn_exec(mt__store_conn_t *c, int id, mt__store_params_t *ps, const char *kinds, mt__store_rows_t *rows)
{
    if (rows)
        *rows = (mt__store_rows_t) { 0 };
    int rc = MT_OK;
    MYSQL_STMT *st = statement(c, id, &rc);
    if (!st)
        return rc;
    unsigned nparams = ps ? ps->n : 0;
    if (nparams != mysql_stmt_param_count(st)) {
        snprintf(c->err, sizeof c->err, "statement %d: %u parameters given, %lu expected",
                 id, nparams, mysql_stmt_param_count(st));
        return MT_EINTERNAL;
    }
    if ((rc = run(c, st, id, nparams ? params_bind(ps) : NULL)) != MT_OK || !rows)
        return rc;

    if (mysql_stmt_store_result(st) != 0)
        return mt__store_conn_fail(c, st, "store result");
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    unsigned ncols = meta ? mysql_num_fields(meta) : 0;
    if (ncols != strlen(kinds)) {
        if (meta)
            mysql_free_result(meta);
        mysql_stmt_free_result(st);
        snprintf(c->err, sizeof c->err, "statement %d: %u columns, %zu expected", id, ncols,
                 strlen(kinds));
        return MT_EINTERNAL;
    }
    MYSQL_FIELD *fields = mysql_fetch_fields(meta);
    rows->st = st;
    rows->c = c;
    rows->id = id;
    rows->ncols = ncols;
    rows->b = mt_xrealloc(NULL, ncols * sizeof *rows->b);
    rows->cols = mt_xrealloc(NULL, ncols * sizeof *rows->cols);
    for (unsigned i = 0; i < ncols; i++) {
        mt__store_col_t *col = &rows->cols[i];
        *col = (mt__store_col_t) { .kind = kinds[i] };
        if (col->kind == 's') {
            /*  max_length: the longest value stored (STMT_ATTR_UPDATE_MAX_LENGTH). */
            col->cap = fields[i].max_length + 1;
            col->buf = mt_xrealloc(NULL, col->cap);
        }
    }
    mysql_free_result(meta);
    rows_bind(rows);
    if (mysql_stmt_bind_result(st, rows->b) != 0) {
        rc = mt__store_conn_fail(c, st, "bind result");
        mt__store_rows_close(rows);
        return rc;
    }
    return MT_OK;
}

/*  Column-wise arrays (Connector/C's layout for bulk: a column's values,
    then for strings a column's lengths) from ps's rows. */
static MYSQL_BIND *bulk_bind(mt__store_params_t *ps, unsigned ncols, unsigned nrows)
{
    memset(ps->b, 0, ncols * sizeof *ps->b);
    for (unsigned j = 0; j < ncols; j++) {
        mt__store_cell_t *col = ps->cells + (size_t) j * nrows;
        unsigned long *len = ps->lens + (size_t) j * nrows;
        int kind = ps->v[j].kind;
        for (unsigned r = 0; r < nrows; r++) {
            const mt__store_param_t *p = &ps->v[(size_t) r * ncols + j];
            if (p->kind != kind)
                return NULL;
            if (kind == 'i')
                col[r].i = p->i;
            else
                col[r].s = p->s, len[r] = p->len;
        }
        MYSQL_BIND *b = &ps->b[j];
        if (kind == 'i') {
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = &col->i;            /* int64_t and the union: one size */
        }
        else {
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = &col->s;            /* an array of pointers, as bulk wants */
            b->length = len;
        }
    }
    return ps->b;
}

_Static_assert(sizeof(mt__store_cell_t) == sizeof(int64_t)
               && sizeof(mt__store_cell_t) == sizeof(char *), "a cell is one value wide");

int mt__store_conn_exec_bulk(mt__store_conn_t *c, int id, mt__store_params_t *ps, unsigned nrows)
{
    int rc = MT_OK;
    MYSQL_STMT *st = statement(c, id, &rc);
    if (!st)
        return rc;
    unsigned long ncols = mysql_stmt_param_count(st);
    if (!c->bulk || nrows == 0 || ncols == 0 || ps->n != ncols * nrows) {
        snprintf(c->err, sizeof c->err, "statement %d: %u parameters for %u rows of %lu%s", id,
                 ps->n, nrows, ncols, c->bulk ? "" : " (no bulk execution)");
        return MT_EINTERNAL;
    }
    MYSQL_BIND *b = bulk_bind(ps, (unsigned) ncols, nrows);
    if (!b) {
        snprintf(c->err, sizeof c->err, "statement %d: a column of mixed kinds", id);
        return MT_EINTERNAL;
    }
    unsigned int size = nrows;
    if (mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &size) != 0)
        return mt__store_conn_fail(c, st, "array size");
    rc = run(c, st, id, b);
    /*  The statement serves single rows too (mt__store_conn_exec). A
        failure above may have closed the connection, and st with it. */
    if (c->m && c->stmts[id] == st) {
        size = 0;
        mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &size);
    }
    return rc;
}

uint64_t mt__store_conn_affected(mt__store_conn_t *c, int id)
{
    return c->stmts[id] ? (uint64_t) mysql_stmt_affected_rows(c->stmts[id]) : 0;
}

int mt__store_rows_next(mt__store_conn_t *c, mt__store_rows_t *r)
{
    int f = mysql_stmt_fetch(r->st);
    if (f == MYSQL_NO_DATA)
        return 0;
    if (f == 1) {
        mt__store_conn_fail(c, r->st, "fetch");
        return -1;
    }
    bool rebind = false;
    for (unsigned i = 0; i < r->ncols; i++) {
        mt__store_col_t *col = &r->cols[i];
        if (col->kind != 's' || col->null)
            continue;
        if (col->len >= col->cap) {
            /*  Longer than max_length said: fetch this column again. */
            col->cap = col->len + 1;
            col->buf = mt_xrealloc(col->buf, col->cap);
            MYSQL_BIND one = r->b[i];
            one.buffer = col->buf;
            one.buffer_length = col->cap - 1;
            if (mysql_stmt_fetch_column(r->st, &one, i, 0) != 0) {
                mt__store_conn_fail(c, r->st, "fetch column");
                return -1;
            }
            rebind = true;
        }
        col->buf[col->len] = '\0';
    }
    if (rebind) {
        rows_bind(r);
        mysql_stmt_bind_result(r->st, r->b);
    }
    return 1;
}

void mt__store_rows_close(mt__store_rows_t *r)
{
    /*  The statement may be gone with a lost connection (closed there). */
    if (r->st && r->c->stmts[r->id] == r->st) {
        /*  Connector/C 3.3 frees a stored result only while its cursor
            points at a row: one read to its end (a scan always is) stayed
            in the statement until its next execution, ≈1.1 KB per node
            after a full scan — neither mysql_stmt_free_result nor
            mysql_stmt_reset freed it. Seeking back to the first row first
            lets free_result free it. */
        if (mysql_stmt_num_rows(r->st) > 0)
            mysql_stmt_data_seek(r->st, 0);
        mysql_stmt_free_result(r->st);
    }
    for (unsigned i = 0; r->cols && i < r->ncols; i++)
        free(r->cols[i].buf);
    free(r->cols);
    free(r->b);
    *r = (mt__store_rows_t) { 0 };
}

int mt__store_conn_commit(mt__store_conn_t *c)
{
    if (!c->m)
        return mt__store_conn_fail(c, NULL, "commit");
    c->statements++;
    uint64_t t0 = mt_metrics_now_us();
    if (mysql_commit(c->m) != 0) {
        /*  Lost during COMMIT: the outcome is unknown, so never "done"
            (and never retried: retry.c). */
        int rc = mt__store_conn_fail(c, NULL, "commit");
        c->commit_failed = true;
        return rc;
    }
    mt_histo_observe_since(&mt_metrics()->store_commit, t0);
    return MT_OK;
}

void mt__store_conn_rollback(mt__store_conn_t *c)
{
    if (c->m && mysql_rollback(c->m) != 0)
        mt__store_conn_fail(c, NULL, "rollback");
}
