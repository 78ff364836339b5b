/*  mt_store.h — persistence in MySQL/MariaDB, as actors.

    A store is a small pool of pinned actors, each with its own connection
    (Connector/C calls block, so they never run on a worker thread):
    * writers (opts.writers, default 2): node writes, group-committed. A node
      always goes to the same writer (hash of its id), so one node's writes
      commit in the order its actor sent them.
    * one reader: point loads and change scans for the reload actor, so a
      long scan never delays a heartbeat's commit.
    * one members actor: this replica's membership row (REPLICA_BEAT/LEAVE),
      so a beat never waits behind a scan or a batch (others judge a
      replica's liveness by a window of a few seconds).

    Messages (sent with mt_ask; the answer comes back as MT_STORE_DONE,
    MT_STORE_LOADED, MT_STORE_SCANNED or MT_STORE_REPLICAS with the ask's
    corr). Every store actor answers every message alike; the annotations
    say where each belongs:

      MT_STORE_NODE_REG     mt_store_node_reg_t → DONE with the node's whole
                            registration group as committed (reg, with its new
                            reg_revision). REGISTER replaces every field but
                            merges labels into the stored ones (the request
                            wins a conflicting key) and rewrites versions
                            only when versions_hash changed; LABELS sets and
                            removes labels only. Both read the stored row
                            inside the transaction, so a label set on another
                            replica is never lost. LABELS on an unknown or
                            deleted node: MT_ENOTFOUND.
      MT_STORE_NODE_STATUS  mt_store_node_status_t → DONE with revision (the
                            new status_revision). Batched with other writers'
                            heartbeats into multi-row statements.
      MT_STORE_NODE_DELETE  mt_store_node_delete_t → DONE with revision (of
                            the tombstone); MT_ENOTFOUND if not stored.
      MT_STORE_NODE_PURGE   mt_store_node_purge_t → DONE with count: node
                            tombstones older than older_than_ms (by the
                            database's clock) removed, at most
                            MT_STORE_PURGE_CHUNK a call (a full chunk: ask
                            again). Safe on every replica at once.
      MT_STORE_NODE_LOAD    (reader) mt_store_node_load_t → LOADED.
      MT_STORE_SCAN         (reader) mt_store_scan_req_t → SCANNED.
      MT_STORE_REPLICA_BEAT (members) mt_store_replica_beat_t → REPLICAS.
      MT_STORE_REPLICA_LEAVE (members) mt_store_replica_leave_t → DONE.

    Errors in DONE/LOADED/SCANNED/REPLICAS: MT_OK, MT_ENOTFOUND, MT_EUNAVAIL
    (database unreachable, timed out, or a COMMIT whose outcome is unknown —
    never acknowledged as done), MT_EINTERNAL (a bug: SQL error), with a
    message.

    Revisions: every write takes its revision from one database sequence
    inside its transaction, so revisions grow across all replicas in the
    order they were assigned. Transactions may commit out of that order;
    see mt_store_scan_req_t for how a scan copes. */
#ifndef MT_STORE_H_INCLUDED
#define MT_STORE_H_INCLUDED

#include "mt_core.h"
#include "mt_model.h"
#include "mt_msg_types.h"
#include "mt_rc.h"

enum {
    MT_STORE_NODE_REG = MT_MSG_BASE(MT_MSGR_STORE),
    MT_STORE_NODE_STATUS,
    MT_STORE_NODE_DELETE,
    MT_STORE_NODE_LOAD,
    MT_STORE_SCAN,
    MT_STORE_DONE,
    MT_STORE_LOADED,
    MT_STORE_SCANNED,
    MT_STORE_REPLICA_BEAT,  /* (members) mt_store_replica_beat_t → REPLICAS */
    MT_STORE_REPLICA_LEAVE, /* (members) mt_store_replica_leave_t → DONE */
    MT_STORE_REPLICAS,
    MT_STORE_RC_ADD,        /* (writer) mt_store_rc_write_t → DONE with rc */
    MT_STORE_RC_SET,        /* (writer) mt_store_rc_write_t → DONE with rc */
    MT_STORE_RC_DEL,        /* (writer) mt_store_rc_write_t → DONE with revision */
    MT_STORE_RC_SCAN,       /* (reader) mt_store_scan_req_t → RC_SCANNED */
    MT_STORE_RC_SCANNED,    /* mt_store_rc_scanned_t */
    MT_STORE_NODE_PURGE,    /* (writer) mt_store_node_purge_t → DONE with count */
    MT_STORE_MSG_END_       /* first type free for the store actors' own */
};
MT_MSG_RANGE_CHECK(MT_MSGR_STORE, MT_STORE_MSG_END_);

/*  COMPONENTS (a heartbeat's components, whose digest changed): rewrites
    the versions rows and digests only, like LABELS under the row's lock;
    reg carries the components. */
typedef enum { MT_STORE_REGISTER, MT_STORE_LABELS, MT_STORE_COMPONENTS } mt_store_reg_op_t;

/*  Payloads: every pointer in a request is owned by the message (its drop
    callback frees them; use the mt_store_msg_* constructors). */
typedef struct {
    mt_store_reg_op_t op;
    char id[MT_NODE_ID_MAX + 1];
    mt_node_reg_t *reg;             /* REGISTER: the fields; its labels merge */
    mt_node_reg_t *labels;          /* LABELS: labels to set (only nlabels/labels used) */
    char **remove;                  /* LABELS: keys to remove */
    uint32_t nremove;
} mt_store_node_reg_t;

typedef struct {
    char id[MT_NODE_ID_MAX + 1];
    mt_node_status_t *status;
    bool registered;                /* see mt_store_msg_status */
    uint64_t sent_ms;               /* mt_now_ms when made: when it "arrived" (linger.c) */
} mt_store_node_status_t;

typedef struct { char id[MT_NODE_ID_MAX + 1]; } mt_store_node_delete_t;
typedef struct { char id[MT_NODE_ID_MAX + 1]; } mt_store_node_load_t;
typedef struct { int64_t older_than_ms; } mt_store_node_purge_t;
#define MT_STORE_PURGE_CHUNK 1000

/*  Limits on what the store writes (docs/protocol-notes.md, "Limits").
    Every JSON column — labels, capacity, quota; conditions, images,
    local_templates; a reference's node_list — holds at most
    MT_STORE_JSON_MAX bytes as encoded, a TEXT column's size: a row over it
    is MT_EBADREQ ("images: 70000 bytes as stored; at most 65535") and
    nothing is written. A REGISTER or LABELS that would leave a node more
    than MT_MAP_MAX labels is MT_EBADREQ too (the merged result counts,
    under the row's lock). A heartbeat transaction carries at most
    MT_STORE_BATCH_BYTES of encoded rows (and batch_max rows), one row at
    least. */
#define MT_STORE_JSON_MAX 65535
#define MT_STORE_BATCH_BYTES (1024 * 1024)

typedef struct {
    MT_RESULT_HEAD;
    int64_t revision;               /* STATUS, DELETE, RC_DEL */
    int64_t seen_at;                /* STATUS: the database's clock when the
                                       heartbeat's transaction drew its revision,
                                       stored with it (the node's seen_at) */
    int64_t count;                  /* PURGE: rows removed */
    mt_node_reg_t *reg;             /* REG: as committed (reference) */
    mt_rc_t *rc;                    /* RC_ADD, RC_SET: as committed, no password */
} mt_store_done_t;

/*  One node as stored. */
typedef struct {
    char id[MT_NODE_ID_MAX + 1];
    mt_node_reg_t *reg;             /* NULL if the scan did not cover it */
    mt_node_status_t *status;       /* NULL if none or not covered */
    bool deleted;                   /* tombstone: reg_revision is the delete's */
    int64_t deleted_revision;
} mt_store_row_t;

typedef struct {
    MT_RESULT_HEAD;
    mt_store_row_t row;             /* err == MT_OK; NOT_FOUND if never stored */
} mt_store_loaded_t;

/*  A change scan returns every node group whose revision is > after
    (registration and status groups separately; tombstones included), or
    with `full` every stored row. `mark` is a revision drawn from the
    sequence before the scan began: every revision assigned later is
    greater than mark.

    Why that is enough (the reload actor does this): a transaction holds a
    revision for at most MT_STORE_TXN_MAX_MS before it commits or rolls back
    (the store's timeouts enforce it). So once MT_STORE_TXN_MAX_MS have
    passed since a scan with mark M started, every revision <= M is
    committed or gone, and a later scan with after = M misses nothing
    that committed out of order. */
#define MT_STORE_TXN_MAX_MS 10000

/*  On a Galera cluster a revision is drawn from its node's copy of the
    sequence, which learns the other nodes' draws only when their
    transactions commit and are applied there: a node may draw below a mark
    drawn elsewhere until the mark's commit reached it. The window is wider
    by this allowance for that replication lag (Galera's flow control keeps
    the apply queue short; a node lagging more is caught by the periodic
    full resync). 0 on one server. */
#define MT_STORE_GALERA_LAG_MS 10000

/*  An incremental scan may leave out what its asker holds already
    (mt_node_held_fn, asked with the revisions read; 0: that group was not
    read). It runs on the reader's thread while the scan reads, before a
    row is decoded — at a fleet's pace nearly every row a pass reads came by
    notice already, and decoding each to merge nothing was most of a pass.
    release(arg) runs when the request is freed: arg lives as long as the
    request. */
typedef struct {
    mt_node_held_fn *held;
    void (*release)(void *arg);
    void *arg;
} mt_store_held_t;

typedef struct {
    int64_t after;
    bool full;
    mt_store_held_t held;           /* SCAN, not full: rows left out (optional) */
    char rc_id[MT_RC_ID_MAX + 1];   /* RC_SCAN only: "" every reference, else this
                                       one's row whatever its revision */
} mt_store_scan_req_t;

typedef struct {
    MT_RESULT_HEAD;
    int64_t mark;
    uint32_t nrows;
    uint32_t nheld;                 /* rows read and left out: held already */
    mt_store_row_t *rows;           /* sorted by id; owned by the message */
} mt_store_scanned_t;

/* ---- replicas (membership) ----------------------------------------------

    A replica upserts its own row every second (REPLICA_BEAT) and gets back
    every row with `alive` computed by the database's clock (heartbeat_at
    within alive_ms of the server's now), sorted by replica_id — so every
    replica derives the same live list whatever its own clock says — and
    the cluster uuid (created once per database by the schema). On a clean
    shutdown it deletes its row (REPLICA_LEAVE; MT_OK also when there was
    no row). A beat is one transaction (upsert, read, commit), answered
    after its commit; the members actor serves it on a connection of its
    own, so it waits for nothing but its own round trips. Bad ids (empty,
    longer than 64, not printable ASCII without spaces), empty endpoints or
    alive_ms <= 0: MT_EBADREQ. Rows of replicas that died without leaving
    stay, not alive, until their id beats again or an operator deletes
    them. */
typedef struct {
    char replica_id[65];
    char endpoint[256];
    char pub_endpoint[256];
    int64_t started_at;             /* ms, the replica's clock (informational) */
    int64_t alive_ms;               /* liveness window, e.g. 3000 */
    char public_key[41];            /* CURVE server key (Z85), or "" */
} mt_store_replica_beat_t;

typedef struct { char replica_id[65]; } mt_store_replica_leave_t;

typedef struct {
    char replica_id[65];
    char endpoint[256];
    char pub_endpoint[256];
    int64_t heartbeat_at;           /* ms, the database's clock */
    bool alive;
    char public_key[41];            /* CURVE server key (Z85), or "" */
} mt_store_replica_t;

typedef struct {
    MT_RESULT_HEAD;
    char cluster_uuid[37];
    int64_t now_ms;                 /* the database's clock */
    uint64_t sent_ms, received_ms;  /* mt_now_ms() just before and just after the
                                       statement that read now_ms (a sample for
                                       mt_db_clock) */
    uint32_t nreplicas;
    mt_store_replica_t *replicas;   /* sorted by replica_id; owned by the message */
} mt_store_replicas_t;

mt_msg_t *mt_store_msg_replica_beat(const char *replica_id, const char *endpoint,
                                    const char *pub_endpoint, int64_t started_at,
                                    int64_t alive_ms);
mt_msg_t *mt_store_msg_replica_leave(const char *replica_id);

/* ---- remote cluster references -------------------------------------------

    RC_ADD inserts `ref` (id assigned by the caller; password stored, never
    returned): MT_ECONFLICT if a live reference has the same name or the
    same remote uuid. A deleted reference's name and uuid are free again.
    RC_SET updates the fields whose has_* flag is set (new_name renames);
    with expected_revision > 0 only if the stored revision still equals it
    (compare-and-set: MT_ECONFLICT otherwise, also for a name taken);
    MT_ENOTFOUND if the id is unknown or deleted. RC_DEL leaves a tombstone
    (same expected_revision rule). node_list and refreshed_at are written
    by ADD only: refreshes are local to each replica. RC_SCAN returns every
    reference (tombstones included) with revision > after, sorted by name,
    and a mark as for node scans; with rc_id, that reference's row alone.
    Keys (schema v4): server_key and client_public are written like the
    other fields; client_secret is written with client_public (has_client_keys)
    and, unlike the password, read back by RC_SCAN (only there: every
    replica's agent needs it to probe; the blocks scanned carry it, and
    their last unref wipes it). DONE's blocks never carry either secret; a
    tombstone keeps neither.
    Details (rc_sql.c): uniqueness is the database's (UNIQUE keys on live
    rows only, schema v2), so two replicas adding one name at once cannot
    both succeed; a conflict's message names the reference that holds the
    name or uuid. Names compare byte for byte; uuids (and ids) as ASCII
    without case; an empty uuid (not known yet) never conflicts. A
    tombstone keeps no password. An id is never reused: RC_ADD of a
    deleted reference's id is MT_ECONFLICT. Refused with MT_EBADREQ before
    the database is asked: no ref, ids/uuids not 1-36 (uuid 0-36) printable
    ASCII, a bad name (mt_rc_name_check), an empty hostname, text that is
    not UTF-8 or longer than its column, more than MT_RC_NODES_MAX nodes,
    expected_revision < 0, a key that is not "" or 40 characters of Z85, a
    client keypair given half or not matching (mt_key_pair_check).
    mt_store_stats counts rc_writes/rc_conflicts. */
typedef struct {
    mt_rc_t *ref;                   /* ADD: the new reference (with password);
                                       SET/DEL: ref->id selects; the fields below */
    bool has_hostname, has_username, has_password, has_demand_encryption, has_name;
    bool has_server_key;            /* SET: ref->server_key */
    bool has_restrict_hostname_replace;     /* SET: ref->restrict_hostname_replace */
    bool has_client_keys;           /* SET: ref->client_public and ref->client_secret */
    int64_t expected_revision;      /* SET/DEL: 0 = unconditional */
} mt_store_rc_write_t;

typedef struct {
    MT_RESULT_HEAD;
    int64_t mark;
    uint32_t nrefs;
    mt_rc_t **refs;                 /* without passwords, with client_secret;
                                       owned by the message */
} mt_store_rc_scanned_t;

/*  Take the reference given (its fields are what SET writes when flagged). */
mt_msg_t *mt_store_msg_rc_add(mt_rc_t *ref);
mt_msg_t *mt_store_msg_rc_set(mt_rc_t *ref, bool has_name, bool has_hostname,
                              bool has_username, bool has_password,
                              bool has_demand_encryption, int64_t expected_revision);
mt_msg_t *mt_store_msg_rc_del(const char *id, int64_t expected_revision);
mt_msg_t *mt_store_msg_rc_scan(int64_t after);

/* ---- the pool ---------------------------------------------------------- */

typedef struct mt_store mt_store_t;

typedef struct {
    const char *dsn;                /* required; see mt_dsn.h */
    int writers;                    /* 0 = 2 */
    int batch_max;                  /* rows per transaction; 0 = 256 */
    int reconnect_ms;               /* retry interval while down; 0 = 1000 */
    /*  While heartbeats of several nodes keep coming, a heartbeat waits up
        to this long for more to commit with it: a commit costs the
        database far more than a row. Silence (judged by the pace they
        come at) ends a wait; batch_max pending commit at once; a lone
        client (one per flush) never waits, nor, after its first round, a
        client whose window of requests is spent (linger.c). metactord
        sets 20 ms; here 0 (the default) or less: never wait. */
    int linger_ms;
} mt_store_opts_t;

/*  Parses the DSN and starts the actors. Connecting (and creating or
    migrating the schema, once, under a database lock so replicas may start
    together) happens in the actors: a store starts even while the database
    is down and answers MT_EUNAVAIL until it is back. Returns MT_OK or
    MT_EINVAL with a message (bad DSN). */
int mt_store_new(mt_runtime_t *rt, const mt_store_opts_t *opts, mt_store_t **out,
                 char *err, size_t errlen);
void mt_store_destroy(mt_store_t **store_p);

/*  Borrowed references, valid until mt_store_destroy. */
mt_actor_t *mt_store_writer(mt_store_t *store, const char *node_id);
mt_actor_t *mt_store_reader(mt_store_t *store);
mt_actor_t *mt_store_members(mt_store_t *store);

/*  What the scan window must add to MT_STORE_TXN_MAX_MS for this
    database: MT_STORE_GALERA_LAG_MS once a connection found a Galera node,
    else 0. Any thread. */
int64_t mt_store_lag_ms(mt_store_t *store);

/*  Blocks until every actor has connected and the schema is current, or
    timeout_ms passed: MT_OK, MT_EUNAVAIL. For start-up and tests. */
int mt_store_wait_ready(mt_store_t *store, int timeout_ms);

/*  Counters since mt_store_new, summed over the store's actors. */
typedef struct {
    uint64_t status_batches;        /* heartbeat transactions committed */
    uint64_t status_rows;           /* heartbeats committed in them */
    uint64_t status_rechecks;       /* batches that had to lock the registrations
                                       after all (a first heartbeat, a node
                                       deleted elsewhere, a newer heartbeat
                                       committed elsewhere first) */
    uint64_t status_alone;          /* heartbeats retried in a transaction of their
                                       own after the database refused their batch */
    uint64_t statements;            /* statements executed, COMMITs included */
    uint64_t reconnects;            /* connections re-established after a loss */
    uint64_t rc_writes;             /* RC_ADD/SET/DEL committed */
    uint64_t rc_conflicts;          /* RC_ADD/SET/DEL refused MT_ECONFLICT (CAS, name, uuid) */
    uint64_t rows_rejected;         /* stored rows that could not be decoded (each
                                       version once per actor; row_decode.c) */
    uint64_t revision_raises;       /* draws below a row's revision, the sequence
                                       moved past it (Galera only; mt__store_sql_draw) */
} mt_store_stats_t;

void mt_store_stats(mt_store_t *store, mt_store_stats_t *out);

/*  Message constructors: they copy ids and take the given references. */
mt_msg_t *mt_store_msg_register(const char *id, mt_node_reg_t *reg);
mt_msg_t *mt_store_msg_labels(const char *id, mt_node_reg_t *set,
                              const char *const *remove, uint32_t nremove);
mt_msg_t *mt_store_msg_components(const char *id, mt_node_reg_t *components);
/*  registered: the sender knows the node as registered and its status row
    as stored (a node actor holding both). The store then skips the
    registration lock and falls back on it only when the stored rows
    disagree — which costs the batch a second transaction, so a first
    heartbeat is better sent unregistered. The answer is the same either
    way (MT_ENOTFOUND for a node not live in the database). */
mt_msg_t *mt_store_msg_status(const char *id, mt_node_status_t *status, bool registered);
mt_msg_t *mt_store_msg_delete(const char *id);
mt_msg_t *mt_store_msg_purge(int64_t older_than_ms);
mt_msg_t *mt_store_msg_load(const char *id);
mt_msg_t *mt_store_msg_scan(int64_t after, bool full);
/*  An incremental scan after `after` that leaves out the rows held says
    its asker holds (mt_store_held_t; copied, released with the request). */
mt_msg_t *mt_store_msg_scan_unheld(int64_t after, const mt_store_held_t *held);

/*  Frees a row's references (rows in SCANNED/LOADED are freed with their
    message; call this on copies you made). */
void mt_store_row_clear(mt_store_row_t *row);

#endif
