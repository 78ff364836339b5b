/*  store_internal.h — what the store's files share; not a public header.

    Files, one concept each:
      conn.c      one connection: prepared-statement cache, parameters,
                  result rows, error classes
      connect.c   opening one: the DSN's hosts in order, the session
      galera.c    what differs on a Galera node: who serves, causal reads
      retry.c     write transactions retried as a whole (deadlocks,
                  certification conflicts, a node leaving)
      sql.c       the statement texts, multi-row variants
      schema.c    versioned, idempotent migrations
      schema_lease.c  the lease row that serialises them across nodes
      node_sql.c  heartbeat transactions, revision draws, what node writes share
      status_batch.c  group commit: encoding, byte-bounded batches, rows alone
      node_reg.c  register, labels, delete
      scan.c      the reader: point loads, change scans, rows → blocks
      replicas.c  membership: a replica's beat and leave, the replica list
      rc_sql.c    remote cluster references: add, set, delete, scan
      store.c     the pool of store actors, a node's writer
      store_actor.c  one store actor: its connection's states, group commit
      messages.c  request constructors, replies, what their payloads own
      json.c      the JSON of the LONGTEXT columns (decoder: json_decode.c)
      row_decode.c  stored rows into blocks, as untrusted input; rows rejected */
#ifndef MT_STORE_INTERNAL_H_INCLUDED
#define MT_STORE_INTERNAL_H_INCLUDED

#include "mt_json.h"
#include "mt_dsn.h"
#include "mt_store.h"
#include "linger.h"

#include <mysql.h>
#include <stdatomic.h>
#include <string.h>

/* ---- statements (sql.c) ------------------------------------------------------ */

/*  Multi-row statements come in these row counts; a batch is cut into
    chunks of them, the last chunk padded by repeating its last row (every
    padded statement is idempotent for a repeated row). */
#define MT_SQL_NVARIANTS 4
extern const unsigned mt__store_sql_variants[MT_SQL_NVARIANTS];   /* 1, 8, 64, 256 */
#define MT_SQL_ROWS_MAX 256

/*  The next chunk for n rows: the variant index; *rows = rows it takes
    from the batch (<= n), the rest of the variant is padding. */
int mt__store_sql_chunk(unsigned n, unsigned *rows);

typedef enum {
    SQL_DRAW,               /* ? revisions: SELECT NEXTVAL … LIMIT ? */
    SQL_MARK,               /* one revision */
    SQL_LOCK,               /* + variant: live registrations FOR UPDATE */
    SQL_STATUS_UPSERT = SQL_LOCK + MT_SQL_NVARIANTS,
    SQL_VERS_INSERT = SQL_STATUS_UPSERT + MT_SQL_NVARIANTS,
    SQL_STATUS_FLOOR = SQL_VERS_INSERT + MT_SQL_NVARIANTS, /* + variant: MAX(status_revision) FOR UPDATE */
    SQL_STATUS_BY_ID = SQL_STATUS_FLOOR + MT_SQL_NVARIANTS,   /* + variant: status rows by id */
    SQL_REG_FOR_UPDATE = SQL_STATUS_BY_ID + MT_SQL_NVARIANTS,
    SQL_REG_UPSERT,
    SQL_REG_SET_LABELS,
    SQL_REG_TOMBSTONE,
    SQL_REG_PURGE,
    SQL_STATUS_DELETE,
    SQL_VERS_DELETE,
    SQL_REG_SET_COMPONENTS,
    SQL_CHANGES_REG,
    SQL_CHANGES_STATUS,
    SQL_CHANGES_VERS,
    SQL_PURGED_UPTO,
    SQL_PURGED_RAISE,
    SQL_LOAD_REG,
    SQL_LOAD_STATUS,
    SQL_LOAD_VERS,
    SQL_SCAN_REG_ALL,
    SQL_SCAN_REG_AFTER,
    SQL_SCAN_STATUS_ALL,
    SQL_SCAN_STATUS_REVS,   /* id, status_revision of the rows above a revision */
    SQL_SCAN_VERS_ALL,
    SQL_SCAN_VERS_AFTER,
    SQL_REPLICA_UPSERT,
    SQL_REPLICA_LIST,
    SQL_REPLICA_DELETE,
    SQL_RC_INSERT,
    SQL_RC_FOR_UPDATE,
    SQL_RC_UPDATE,
    SQL_RC_TOMBSTONE,
    SQL_RC_CLASH,
    SQL_RC_SCAN,
    SQL_RC_LOAD,
    SQL_COUNT
} mt__store_sql_id_t;

const char *mt__store_sql_text(int id);

/*  Columns read by every registration / status / versions query, in order. */
#define MT_SQL_REG_KINDS "sisssssiii"      /* after the id column */
#define MT_SQL_STATUS_KINDS "iisssii"       /* after the id column */
#define MT_SQL_VERS_KINDS "ssssss"          /* node_id and a component */
/*  rc_refs: id, name, hostname, uuid, username, demand_encryption,
    node_list, revision, deleted, refreshed_at, server_key, client_public,
    client_secret (never the password). */
#define MT_SQL_RC_KINDS "sssssisiiisssi"

/* ---- one connection (conn.c) --------------------------------------------------- */

typedef struct {
    int kind;               /* 'i' int64, 's' string */
    int64_t i;
    const char *s;
    unsigned long len;
} mt__store_param_t;

/*  A bulk execution's column of values (conn.c). */
typedef union { int64_t i; const char *s; } mt__store_cell_t;

typedef struct {
    mt__store_param_t *v;
    MYSQL_BIND *b;
    unsigned n, cap;
    mt__store_cell_t *cells;        /* bulk: v by column, not by row */
    unsigned long *lens;
} mt__store_params_t;

void mt__store_params_reset(mt__store_params_t *ps);
void mt__store_params_free(mt__store_params_t *ps);
void mt__store_params_i64(mt__store_params_t *ps, int64_t v);
void mt__store_params_str(mt__store_params_t *ps, const char *s, size_t len);   /* borrowed */
void mt__store_params_cstr(mt__store_params_t *ps, const char *s);
/*  The parameters of an IN list of variant v: ids[0..take), then the last
    repeated to the variant's size (IN ignores the copies). Resets ps. */
void mt__store_params_in_list(mt__store_params_t *ps, const char *const *ids, unsigned take, int v);

typedef struct {
    char kind;
    my_bool null, error;
    unsigned long len, cap;
    int64_t i;
    char *buf;
} mt__store_col_t;

/*  The rows of one executed query, stored on the client. */
typedef struct mt_conn mt__store_conn_t;

typedef struct {
    MYSQL_STMT *st;
    mt__store_conn_t *c;                   /* st is c->stmts[id] while c is up */
    int id;
    unsigned ncols;
    MYSQL_BIND *b;
    mt__store_col_t *cols;
} mt__store_rows_t;

struct mt_conn {
    MYSQL *m;                       /* NULL while down */
    const mt_dsn_t *dsn;
    bool reader;                    /* REPEATABLE READ snapshots, else READ COMMITTED */
    MYSQL_STMT *stmts[SQL_COUNT];   /* prepared on first use, per connection */
    unsigned err_no;
    bool commit_failed;             /* the last error came from COMMIT */
    bool galera;                    /* connected to a Galera node (galera.c) */
    bool bulk;                      /* the server executes arrays of rows (conn.c) */
    unsigned host_rank;             /* which host of its order (connect.c); 0: the first */
    unsigned probe_err_no;          /* the last error of mt__store_conn_prefer's probes */
    char err[256];
    uint64_t last_used_ms;
    uint64_t statements;            /* executed, for stats */
    uint64_t raises;                /* sequence raised past a row's revision, for stats */
};

/*  Writers' sessions: a statement runs at most this long (with the 2 s row
    lock wait, a transaction holding a revision stays well within
    MT_STORE_TXN_MAX_MS). */
#define MT_CONN_STATEMENT_TIME_S "3"

/*  Connects (creating the database if needed) and sets the session up.
    MT_OK, MT_EUNAVAIL (cannot reach the server) or MT_EINTERNAL; c->err
    says why. */
int mt__store_conn_open(mt__store_conn_t *c);
void mt__store_conn_close(mt__store_conn_t *c);
/*  A writer connected to another host than the first of its order (after
    a failover) moves to an earlier one if one serves again (connect.c):
    true if it moved — then c is a new session, or down (c->err says why). */
bool mt__store_conn_prefer(mt__store_conn_t *c);
static inline bool mt__store_conn_up(const mt__store_conn_t *c) { return c->m != NULL; }

/*  Records the error of the last call (st may be NULL: the connection's)
    and classifies it: a lost connection is closed → MT_EUNAVAIL; a lock wait
    timeout, deadlock or statement timeout → MT_EUNAVAIL (connection kept,
    roll back); anything else → MT_EINTERNAL. */
int mt__store_conn_fail(mt__store_conn_t *c, MYSQL_STMT *st, const char *what);
/*  For connect.c and galera.c: records error e (the server's text msg),
    classifies c's last error as mt__store_conn_fail does, and whether e means
    the connection is gone. */
void mt__store_conn__note(mt__store_conn_t *c, unsigned e, const char *msg, const char *what);
int mt__store_conn__classify(mt__store_conn_t *c);
bool mt__store_conn__lost_error(unsigned e);

/* ---- Galera (galera.c) ----------------------------------------------------------- */

typedef struct {
    bool on;                        /* wsrep_on: a Galera node */
    bool ready;                     /* wsrep_ready */
    char state[32];                 /* wsrep_local_state_comment */
} mt__store_galera_t;

/*  Reads what m's server says of itself. MT_OK or MT_EUNAVAIL (noted). */
int mt__store_galera_probe(mt__store_conn_t *c, MYSQL *m, mt__store_galera_t *g);
/*  True if the server may serve (not Galera, or Synced and ready); else
    notes why (as error 1047) for the log and the clients. */
bool mt__store_galera_serves(mt__store_conn_t *c, const mt__store_galera_t *g, const char *host);
/*  Session settings on a Galera node (causal reads on every connection). */
int mt__store_galera_session(mt__store_conn_t *c);

/*  Executes statement id (prepared once) with ps (NULL: none). rows NULL:
    no result expected; else the result is stored and bound by kinds (one
    char per column, 'i' or 's'); release it with mt__store_rows_close. */
int mt__store_conn_exec(mt__store_conn_t *c, int id, mt__store_params_t *ps, const char *kinds, mt__store_rows_t *rows);
/*  A one-off statement with no parameters and no result (DDL, session). */
int mt__store_conn_sql(mt__store_conn_t *c, const char *sql);
int mt__store_conn_commit(mt__store_conn_t *c);
void mt__store_conn_rollback(mt__store_conn_t *c);
/*  Bulk execution (MariaDB's COM_STMT_BULK_EXECUTE, when c->bulk): one
    round trip executes statement id once for each of nrows rows, whose
    parameters ps holds row after row. No padding, one prepared statement
    for any count; affected rows are the rows' sum. */
int mt__store_conn_exec_bulk(mt__store_conn_t *c, int id, mt__store_params_t *ps, unsigned nrows);
/*  Affected rows of the last execution of statement id. */
uint64_t mt__store_conn_affected(mt__store_conn_t *c, int id);

/*  1: a row; 0: no more; < 0: an error (mt__store_conn_fail recorded). */
int mt__store_rows_next(mt__store_conn_t *c, mt__store_rows_t *r);
void mt__store_rows_close(mt__store_rows_t *r);
static inline int64_t mt__store_rows_i64(const mt__store_rows_t *r, unsigned col) { return r->cols[col].i; }
static inline const char *mt__store_rows_str(const mt__store_rows_t *r, unsigned col, size_t *len)
{
    if (len)
        *len = r->cols[col].null ? 0 : r->cols[col].len;
    return r->cols[col].null ? "" : r->cols[col].buf;
}

/* ---- schema (schema.c) ---------------------------------------------------------- */

#define MT_SCHEMA_VERSION 10
/*  Brings the schema to MT_SCHEMA_VERSION under the lease row (below).
    Idempotent; safe when replicas run it at once, on any nodes. */
int mt__store_schema_migrate(mt__store_conn_t *c);

/*  The migration lease (schema_lease.c). A holder names one connection of
    one process; take waits up to MT_SCHEMA_LEASE_WAIT_S for the lease to
    be free or expired; renew extends it (MT_EUNAVAIL if it was lost). */
#define MT_SCHEMA_LEASE_MS 60000
#define MT_SCHEMA_LEASE_WAIT_S 90
void mt__store_schema_lease_holder(char *out, size_t len);
int mt__store_schema_lease_take(mt__store_conn_t *c, const char *holder);
int mt__store_schema_lease_renew(mt__store_conn_t *c, const char *holder);
void mt__store_schema_lease_release(mt__store_conn_t *c, const char *holder);

/* ---- node writes (node_sql.c) ----------------------------------------------------- */

/*  Rows an actor could not decode (row_decode.c): each is logged and
    counted once per version (table, id, revision), so a corrupt row read by
    every full resync is reported once, not every pass. */
typedef struct {
    uint64_t *seen;                 /* hashes, open addressing (0: free) */
    uint32_t n;
    uint64_t fresh;                 /* rejected since store_actor.c last took the count */
} mt__store_rejects_t;

/*  A row that could not be read: logged (first time only) and counted. */
void mt__store_sql_rejected(mt__store_rejects_t *r, const char *table, const char *id, int64_t revision,
                     const char *what);
void mt__store_rejects_free(mt__store_rejects_t *r);

/*  Scratch memory of one store actor, reused from call to call. */
typedef struct {
    mt__store_params_t params;
    mt_buf_t json;
    mt_json_arena_t arena;
    mt__store_rejects_t rejects;           /* rows this actor could not decode */
} mt__store_scratch_t;

void mt__store_scratch_free(mt__store_scratch_t *s);

typedef struct {
    const char *id;
    const mt_node_status_t *status;
    bool registered;                /* the sender knows the node as registered */
    int err;                        /* out: MT_OK, MT_ENOTFOUND, MT_EBADREQ, ... */
    int64_t revision;               /* out */
    int64_t seen_at;                /* out: the database's clock at the revision draw */
    char why[160];                  /* out: the message of an error */
} mt__store_status_entry_t;

/*  A heartbeat's JSON columns (conditions, images, local_templates): their
    text's offsets and lengths in the scratch's json buffer. */
typedef struct { size_t off[3], len[3]; } mt__store_status_enc_t;

/*  What a row adds to a statement: its JSON, its id, its integers. */
static inline size_t mt__store_status_row_bytes(const mt__store_status_entry_t *e, const mt__store_status_enc_t *js)
{
    return js->len[0] + js->len[1] + js->len[2] + strlen(e->id) + 32;
}

/*  One transaction for the entries whose err is MT_OK (node_sql.c), encoded
    in enc: when every one is registered, upserts without locking the
    registrations; else, or when the row counts show a node the sender did
    not know about, locks the live registrations first (*rechecked: that
    second transaction ran). A deadlock or lock wait is retried once.
    Returns the transaction's result (MT_OK: entries carry theirs, MT_OK or
    MT_ENOTFOUND). */
int mt__store_sql_status_txn(mt__store_conn_t *c, mt__store_scratch_t *s, mt__store_status_entry_t *e,
                      const mt__store_status_enc_t *enc, uint32_t n, bool *rechecked);

typedef struct {
    bool rechecked;                 /* a transaction had to lock the registrations */
    uint32_t commits;               /* transactions committed */
    uint32_t alone;                 /* rows retried alone after their batch was refused */
} mt__store_status_stats_t;

/*  Group commit of heartbeats (status_batch.c): every entry gets its own
    err and why. Rows are encoded before their transaction; one whose JSON
    cannot be stored (not UTF-8, a column over MT_STORE_JSON_MAX) is
    MT_EBADREQ and never sent. The others commit in transactions of at most
    MT_STORE_BATCH_BYTES (at least one row each), in arrival order. A
    transaction the database refuses (MT_EINTERNAL: a row it will not take)
    is retried row by row, so that only the rows it refuses fail. Returns
    MT_OK, or the error that took the connection down. */
int mt__store_sql_status_batch(mt__store_conn_t *c, mt__store_scratch_t *s, mt__store_status_entry_t *e, uint32_t n,
                        mt__store_status_stats_t *stats);

/*  REGISTER / LABELS: *out is the committed registration block. */
int mt__store_sql_register(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id, const mt_node_reg_t *reg,
                    mt_node_reg_t **out);
/*  A heartbeat's new components: versions rows and digests only. */
int mt__store_sql_components(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id,
                      const mt_node_reg_t *comp, mt_node_reg_t **out);
int mt__store_sql_labels(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id, const mt_node_reg_t *set,
                  char *const *remove, uint32_t nremove, mt_node_reg_t **out);
int mt__store_sql_delete(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id, int64_t *revision);
/*  PURGE: *purged tombstones removed. */
int mt__store_sql_purge(mt__store_conn_t *c, mt__store_scratch_t *s, int64_t older_than_ms, int64_t *purged);

/*  Draws n revisions (ascending) into rev, every one above `above`: the
    highest revision of the rows the write replaces, read under their locks
    in this transaction (0: none). On one server a draw made after the rows
    are locked is always above them. On Galera each node draws from its own
    copy of the sequence, which learns other nodes' draws only when their
    transactions commit there, so a draw can be below a row another node
    committed; then the sequence is moved past `above` (SETVAL: not undone
    by a rollback) and the draw made again. The one function that draws. */
int mt__store_sql_draw(mt__store_conn_t *c, mt__store_scratch_t *s, uint32_t n, int64_t *rev,
                       int64_t above);
/*  The same, and *db_now the database's clock (ms) as the draw read it
    (one statement: NEXTVAL and NOW(3) are read together). */
int mt__store_sql_draw_at(mt__store_conn_t *c, mt__store_scratch_t *s, uint32_t n, int64_t *rev,
                          int64_t *db_now, int64_t above);

/*  Every write transaction's loop (retry.c): after a failure, rolls back;
    true if the whole transaction is worth another attempt (deadlock or
    certification conflict, lock wait, a Galera node that left), after a
    short jittered pause. *attempt counts them (start at 0). */
bool mt__store_sql_retry(mt__store_conn_t *c, int rc, int *attempt);
/*  Commits unless the transaction held its revision for too long. */
int mt__store_sql_commit_by(mt__store_conn_t *c, uint64_t drawn_ms);
int mt__store_sql_bad(mt__store_conn_t *c, const char *what);        /* MT_EBADREQ, message */
/*  MT_EBADREQ with a message of one's own; _too_large: a JSON column over
    MT_STORE_JSON_MAX ("labels: 70000 bytes as stored; at most 65535"). */
int mt__store_sql_refuse(mt__store_conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mt__store_sql_too_large(mt__store_conn_t *c, const char *column, size_t len);
int mt__store_sql_not_found(mt__store_conn_t *c, const char *id);    /* MT_ENOTFOUND, message */

/* ---- the pool and its actors (store.c, store_actor.c) ------------------------------ */

struct mt_store {
    mt_runtime_t *rt;
    mt_dsn_t *dsn;
    int nwriters, nactors, batch_max, reconnect_ms, linger_ms;
    mt_actor_t **actors;            /* writers, the reader, the members actor */
    _Atomic int *ready;             /* per actor: connected, schema current */
    _Atomic uint64_t batches, rows, rechecks, alone, statements, reconnects, rc_writes,
        rc_conflicts;
    _Atomic uint64_t rows_rejected;
    _Atomic uint64_t raises;        /* the sequence moved past a row's revision */
    _Atomic int galera;             /* a connection found a Galera node */
    mt__store_linger_shared_t linger;   /* what the writers' policies learn together */
};

/*  Starts actor `index` of s (writers first, then the reader, then the
    members actor) and sends it its first CONNECT; NULL if it cannot. */
mt_actor_t *mt__store_actor_spawn(mt_store_t *s, int index);

/* ---- replies (messages.c) ------------------------------------------------------- */

/*  Answer req (takes reg). An error's message defaults to mt_strerror. */
void mt__store_reply_done(mt_msg_t *req, int err, const char *message, int64_t revision,
                          mt_node_reg_t *reg);
/*  MT_OK, or MT_EBADREQ with a message in why: a request refused before
    the database is asked (bad ids, replica fields, references). */
int mt__store_check(mt_msg_t *msg, char *why, size_t whylen);
/*  An error answer of the type req expects (DONE, LOADED, SCANNED, ...). */
void mt__store_reply_error(mt_msg_t *req, int err, const char *message);
void mt__store_loaded_drop(mt_msg_t *m);
void mt__store_scanned_drop(mt_msg_t *m);

/* ---- reads (scan.c) ------------------------------------------------------------- */

int mt__store_sql_load(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id, mt_store_row_t *row);
/*  held (NULL: none): rows it says the asker holds are left out (counted
    in out->nheld), never a tombstone; only without full. */
int mt__store_sql_scan(mt__store_conn_t *c, mt__store_scratch_t *s, int64_t after, bool full,
                       const mt_store_held_t *held, mt_store_scanned_t *out);
/*  Draws a scan's mark and ends that transaction (a snapshot begun after
    it sees every revision <= mark that committed before). */
int mt__store_sql_mark(mt__store_conn_t *c, int64_t *mark);
/*  As mt__store_sql_scan, but every group of each node with any group above
    `after` (node.changes needs whole views, not the changed group only). */
int mt__store_sql_scan_changed(mt__store_conn_t *c, mt__store_scratch_t *s, int64_t after, mt_store_scanned_t *out);
/*  node_purged_upto (schema v6): the highest revision of a purged node
    tombstone. */
int mt__store_sql_purged_upto(mt__store_conn_t *c, int64_t *upto);
/*  Answers a forwarded node.changes request (changes.c). */
void mt__store_changes(mt__store_conn_t *c, mt__store_scratch_t *s, mt_msg_t *msg);

/* ---- membership (replicas.c) ----------------------------------------------------- */

/*  Upserts b's row (heartbeat_at = the database's clock), reads every row
    and the cluster uuid, commits. out's err/message are left to the caller. */
int mt__store_sql_replica_beat(mt__store_conn_t *c, mt__store_scratch_t *s, const mt_store_replica_beat_t *b,
                        mt_store_replicas_t *out);
/*  Deletes the replica's row (none: still MT_OK) and commits. */
int mt__store_sql_replica_leave(mt__store_conn_t *c, mt__store_scratch_t *s, const char *replica_id);
/*  MT_OK, or MT_EBADREQ with a message in why. */
int mt__store_sql_replica_check(const mt_store_replica_beat_t *b, const char *replica_id,
                         char *why, size_t whylen);
void mt__store_replicas_drop(mt_msg_t *m);

/* ---- remote cluster references (rc_sql.c) ------------------------------------------ */

/*  MT_OK, or MT_EBADREQ with a message in why: what a RC_ADD/SET/DEL/SCAN
    request may never write (checked before the database is asked). */
int mt__store_sql_rc_check(mt_msg_t *req, char *why, size_t whylen);
/*  Does the request; returns its answer (DONE or RC_SCANNED, for the
    caller to send) and its err in *err. */
mt_msg_t *mt__store_rc_serve(mt__store_conn_t *c, mt__store_scratch_t *s, mt_msg_t *req, int *err);

/*  A DONE answer (the message only when err != MT_OK); _rc also carries a
    reference (takes rc). */
mt_msg_t *mt__store_done(int err, const char *message, int64_t revision);
mt_msg_t *mt__store_done_rc(int err, const char *message, int64_t revision, mt_rc_t *rc);
void mt__store_rc_scanned_drop(mt_msg_t *m);

/*  Blocks from a stored row (row_decode.c): columns from `first` on,
    MT_SQL_*_KINDS; vers: the node's versions (arena memory). A row is
    untrusted input, checked as a request is. A registration with parts
    that cannot be read: with `unreadable`, those parts are left empty, the
    block carries MT_LABEL_UNREADABLE and *unreadable names the first such
    column (NULL when all is well); without, MT_EINTERNAL. A status that
    cannot be read: MT_EINTERNAL, why says what. */
int mt__store_sql_reg_from_row(const mt__store_rows_t *r, unsigned first, mt_json_arena_t *a,
                        const mt_component_t *comp, uint32_t ncomp, const char **unreadable,
                        mt_node_reg_t **out);
/*  One row of a versions query (MT_SQL_VERS_KINDS, node_id first) as a
    component, its strings copied into a. */
mt_component_t mt__store_sql_component_from_row(const mt__store_rows_t *r, mt_json_arena_t *a);
int mt__store_sql_status_from_row(const mt__store_rows_t *r, unsigned first, mt_json_arena_t *a,
                           char *why, size_t whylen, mt_node_status_t **out);

#endif
