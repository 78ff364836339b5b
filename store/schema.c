/*  schema.c — the store creates and migrates its own schema.

    mt_schema (one row) holds the version. Migrations run in order under a
    lease row (schema_lease.c: GET_LOCK would hold on one Galera node only),
    so replicas starting together — on one server or on several nodes of a
    cluster — take turns: the first migrates, the others find the version
    current. DDL commits implicitly in MariaDB, so a migration is a list of
    statements that are each idempotent (IF NOT EXISTS, INSERT IGNORE): one
    cut short by a crash is simply run again. The version row is written
    last, and only ever raised. What still ties the schema to MariaDB is
    listed in docs/operations.md. */
#include "store_internal.h"
#include "mt_uuid.h"

#include <mysqld_error.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TABLE_OPTS " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
#define NODE_ID "VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL"
#define JSON_COL(name) name " LONGTEXT NOT NULL CHECK (JSON_VALID(" name "))"

/*  Version 1. Revisions come from the sequence mt_revision (shared by
    every group); ids are ASCII with binary collation so that ORDER BY id
    is strcmp order. Times are BIGINT milliseconds since the epoch.
    INCREMENT BY 0: the step is auto_increment_increment and the offset
    auto_increment_offset — 1 and 1 on one server (as INCREMENT BY 1), the
    cluster's size and the node's index on Galera, where it is the only
    cached sequence accepted (1235) and keeps values unique across nodes.
    A database created before this text gets it from version 6. */
static const char *const v1[] = {
    "CREATE SEQUENCE IF NOT EXISTS mt_revision START WITH 1 INCREMENT BY 0"
    " MINVALUE 1 NO MAXVALUE CACHE 1000 NOCYCLE",

    "CREATE TABLE IF NOT EXISTS mt_cluster ("
    " id TINYINT NOT NULL PRIMARY KEY CHECK (id = 1),"
    " uuid CHAR(36) CHARACTER SET ascii NOT NULL,"
    " created_at BIGINT NOT NULL)" TABLE_OPTS,

    "CREATE TABLE IF NOT EXISTS node_registrations ("
    " id " NODE_ID " PRIMARY KEY,"
    " host_ip VARCHAR(1024) NOT NULL DEFAULT '',"
    " grpc_port INT NOT NULL DEFAULT 0,"
    " instance_type VARCHAR(1024) NOT NULL DEFAULT '',"
    " " JSON_COL("labels") ","
    " " JSON_COL("capacity") ","
    " " JSON_COL("quota") ","
    " versions_hash CHAR(16) CHARACTER SET ascii NOT NULL DEFAULT '',"
    " registered_at BIGINT NOT NULL DEFAULT 0,"
    " reg_revision BIGINT NOT NULL,"
    " deleted TINYINT NOT NULL DEFAULT 0,"
    " KEY reg_revision (reg_revision))" TABLE_OPTS,

    "CREATE TABLE IF NOT EXISTS node_status ("
    " id " NODE_ID " PRIMARY KEY,"
    " heartbeat_at BIGINT NOT NULL DEFAULT 0,"
    " ready TINYINT NOT NULL DEFAULT 0,"
    " " JSON_COL("conditions") ","
    " " JSON_COL("images") ","
    " " JSON_COL("local_templates") ","
    " status_revision BIGINT NOT NULL,"
    " KEY status_revision (status_revision))" TABLE_OPTS,

    "CREATE TABLE IF NOT EXISTS node_component_versions ("
    " node_id " NODE_ID ","
    " component VARCHAR(255) NOT NULL,"
    " version VARCHAR(1024) NOT NULL,"
    " PRIMARY KEY (node_id, component))" TABLE_OPTS,

    "CREATE TABLE IF NOT EXISTS rc_refs ("
    " id CHAR(36) CHARACTER SET ascii NOT NULL PRIMARY KEY,"
    " name VARCHAR(255) NOT NULL,"
    " hostname VARCHAR(1024) NOT NULL,"
    " uuid CHAR(36) CHARACTER SET ascii NOT NULL DEFAULT '',"
    " username VARCHAR(255) NOT NULL DEFAULT '',"
    " password VARCHAR(1024) NOT NULL DEFAULT '',"
    " demand_encryption TINYINT NOT NULL DEFAULT 0,"
    " " JSON_COL("node_list") ","
    " revision BIGINT NOT NULL,"
    " deleted TINYINT NOT NULL DEFAULT 0,"
    " refreshed_at BIGINT NOT NULL DEFAULT 0,"
    " UNIQUE KEY name (name),"
    " KEY revision (revision))" TABLE_OPTS,

    "CREATE TABLE IF NOT EXISTS replicas ("
    " replica_id VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,"
    " endpoint VARCHAR(1024) NOT NULL,"
    " pub_endpoint VARCHAR(1024) NOT NULL,"
    " heartbeat_at BIGINT NOT NULL,"
    " started_at BIGINT NOT NULL)" TABLE_OPTS,

    NULL,   /* then the cluster row, below: it needs a fresh uuid */
};

/*  Version 2: a reference's name and remote uuid are unique among live
    references only, so a deleted reference's name and uuid are free again
    while its tombstone stays for the other replicas. live_name and
    live_uuid are the name and uuid of a live row and NULL in a tombstone
    (an empty uuid, not known yet, is never unique); UNIQUE keys allow many
    NULLs. live_name compares without padding: "a" and "a " are two names,
    as everywhere else. The v1 key on name (tombstones included) goes. */
static const char *const v2[] = {
    "ALTER TABLE rc_refs ADD COLUMN IF NOT EXISTS live_name VARCHAR(255)"
    " CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
    " AS (IF(deleted = 0, name, NULL)) STORED",

    /*  RTRIM: a CHAR column's value itself may not be generated from
        (it would depend on sql_mode PAD_CHAR_TO_FULL_LENGTH). Compared
        as uuid is: case-insensitive. */
    "ALTER TABLE rc_refs ADD COLUMN IF NOT EXISTS live_uuid CHAR(36)"
    " CHARACTER SET ascii COLLATE ascii_general_ci"
    " AS (IF(deleted = 0, NULLIF(RTRIM(uuid), ''), NULL)) STORED",

    "ALTER TABLE rc_refs ADD UNIQUE KEY IF NOT EXISTS live_name (live_name)",
    "ALTER TABLE rc_refs ADD UNIQUE KEY IF NOT EXISTS live_uuid (live_uuid)",
    "ALTER TABLE rc_refs DROP KEY IF EXISTS name",
    NULL,
};

/*  Version 3: node tombstones can be purged (node_reg.c, mt__store_sql_purge).
    deleted_at is the database's clock at the delete, so every replica
    judges a tombstone's age alike; the key lets the purge find tombstones
    without reading (and locking) every registration. Adding a column with
    a default is instant in MariaDB. The tombstones already there count as
    deleted now: each gets a whole retention before it goes. (A replica of
    an older build still running during an upgrade writes tombstones with
    deleted_at 0; they go at the next purge, and replicas that missed one
    drop the node at their next full resync — upgrade every replica.) */
static const char *const v3[] = {
    "ALTER TABLE node_registrations ADD COLUMN IF NOT EXISTS"
    " deleted_at BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE node_registrations ADD KEY IF NOT EXISTS tombstones (deleted, deleted_at)",
    "UPDATE node_registrations SET deleted_at = CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)"
    " WHERE deleted = 1 AND deleted_at = 0",
    NULL,
};

/*  Version 4: security (PROTOCOL.md, "Security"). A reference keeps the
    remote's pinned server key and the client keypair this cluster presents
    to it (the secret, like the password, is never read back into memory
    except on the way to a probe); a replica publishes its CURVE server key
    so that peers can subscribe to it and clients find it in cluster.info.
    Z85 keys are 40 ASCII characters; '' means none. */
static const char *const v4[] = {
    "ALTER TABLE rc_refs ADD COLUMN IF NOT EXISTS"
    " server_key CHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT ''",
    "ALTER TABLE rc_refs ADD COLUMN IF NOT EXISTS"
    " client_public CHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT ''",
    "ALTER TABLE rc_refs ADD COLUMN IF NOT EXISTS"
    " client_secret CHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT ''",
    "ALTER TABLE replicas ADD COLUMN IF NOT EXISTS"
    " public_key CHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT ''",
    NULL,
};

/*  Version 5: health by the database's clock (PROTOCOL.md v2). seen_at is
    the server's clock when a heartbeat's transaction drew its revision
    (node_sql.c); heartbeat_at stays what the node said. Rows already there
    get a best guess once, so that an upgrade does not turn every node
    unhealthy until its next heartbeat: their heartbeat_at, but never later
    than now (a node's clock ahead, or a hostile value, buys no extra
    health). A replica of an older build still running during an upgrade
    writes no seen_at: its heartbeats leave the column as it was, and the
    node's health on the new replicas lapses — upgrade every replica. */
static const char *const v5[] = {
    "ALTER TABLE node_status ADD COLUMN IF NOT EXISTS seen_at BIGINT NOT NULL DEFAULT 0",
    "UPDATE node_status SET seen_at = LEAST(GREATEST(heartbeat_at, 0),"
    " CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)) WHERE seen_at = 0",
    NULL,
};

/*  Version 6 (PROTOCOL.md v2, issue 13): the detail behind a node's
    versions (the seed's ComponentVersion: commit, build time, source) in
    the versions table; components_hash, a digest of that detail, so a
    registration or heartbeat rewrites the rows only when it changed (the
    seed's hash skip; versions_hash alone misses a new commit under the same
    version); and the highest revision of any node tombstone purged, below
    which node.changes can no longer promise every delete (`expired`). Rows
    already stored keep their versions with empty detail. */
static const char *const v6[] = {
    "ALTER TABLE node_component_versions"
    " ADD COLUMN IF NOT EXISTS commit_id VARCHAR(1024) NOT NULL DEFAULT '',"
    " ADD COLUMN IF NOT EXISTS build_time VARCHAR(1024) NOT NULL DEFAULT '',"
    " ADD COLUMN IF NOT EXISTS source VARCHAR(16) NOT NULL DEFAULT ''",
    "ALTER TABLE node_registrations ADD COLUMN IF NOT EXISTS"
    " components_hash CHAR(16) CHARACTER SET ascii NOT NULL DEFAULT ''",
    "ALTER TABLE mt_cluster ADD COLUMN IF NOT EXISTS"
    " node_purged_upto BIGINT NOT NULL DEFAULT 0",
    NULL,
};

/*  Version 7: the revision sequence of a database created before v1 said
    INCREMENT BY 0 (above) — the same values on one server, and what a
    Galera cluster needs. ALTER keeps the next value (no RESTART): a
    revision is never issued twice. */
static const char *const v7[] = {
    "ALTER SEQUENCE mt_revision INCREMENT BY 0",
    NULL,
};

/*  Version 8 (PROTOCOL.md v2, issue 13): restrict_hostname_replace, the
    seed's MB-52105 — a reference whose hostname is a load balancer's
    address is never rewritten by the priority writer. */
static const char *const v8[] = {
    "ALTER TABLE rc_refs ADD COLUMN IF NOT EXISTS"
    " restrict_hostname_replace TINYINT NOT NULL DEFAULT 0",
    NULL,
};

/*  Version 9 (issue 15): node_status loses its index on status_revision.
    Every heartbeat moves that key, and keeping the index (an entry
    delete-marked, one inserted, the old one purged later) was ~40 % of the
    database's work per heartbeat (docs/benchmarks.md, "Issue 15, sixth
    part"). It bought nothing at a fleet's pace: an incremental reload
    re-reads txn_max_ms + its interval (15 s), so with heartbeats every
    10 s it selects every row, and the range scan through the index cost
    more than reading the table in primary-key order, as scans now do.
    Where few rows change (a quiet fleet, a slow heartbeat) a scan reads
    the whole table for a few rows: +14 ms a pass at 100,000 nodes with
    the reload's narrow read (scan.c), a replica every 5 s. node_registrations keeps its reg_revision index:
    registrations change rarely. Dropping an index is in place and brief
    (InnoDB frees its pages); IF EXISTS makes it idempotent. */
static const char *const v9[] = {
    "ALTER TABLE node_status DROP INDEX IF EXISTS status_revision",
    NULL,
};

/*  Version 10 (issue 15): node_status's three JSON columns lose their
    JSON_VALID checks. They are written by one path only — the heartbeat
    writer, from our own encoder (mt_json_put_*: escaped, valid UTF-8, or
    refused before the row reaches the database) — and every status row
    read back is parsed strictly (row_decode.c): a row that does not parse
    is not taken and the node's next heartbeat rewrites it. So the checks
    only re-parsed our own output, at every heartbeat: 17-22 % of MariaDB's
    CPU for a heartbeat with conditions, images and templates
    (docs/benchmarks.md, "Issue 15, tenth part"), in the one part every
    replica shares. The registrations' and references' JSON keeps its
    checks (written rarely), and constraints an operator adds still hold
    for the service's writes (check_constraint_checks stays on). Dropping
    a column's CHECK rebuilds the table in MariaDB (~0.9 s per 100,000
    typical rows here, writes to it wait); the schema lease runs it once. */
static const char *const v10[] = {
    "ALTER TABLE node_status MODIFY conditions LONGTEXT NOT NULL,"
    " MODIFY images LONGTEXT NOT NULL, MODIFY local_templates LONGTEXT NOT NULL",
    NULL,
};

static const char *const *const migrations[] = { NULL, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10 };


static int current_version(mt__store_conn_t *c, int *version)
{
    int rc = mt__store_conn_sql(c, "CREATE TABLE IF NOT EXISTS mt_schema ("
                         " id TINYINT NOT NULL PRIMARY KEY CHECK (id = 1),"
                         " version INT NOT NULL, migrated_at BIGINT NOT NULL)" TABLE_OPTS);
    if (rc != MT_OK)
        return rc;
    MYSQL_STMT *st = mysql_stmt_init(c->m);
    const char *sql = "SELECT version FROM mt_schema WHERE id = 1";
    if (!st)
        return mt__store_conn_fail(c, NULL, "schema version");
    long long v = 0;
    my_bool null = 0;
    MYSQL_BIND out = { .buffer_type = MYSQL_TYPE_LONGLONG, .buffer = &v, .is_null = &null };
    if (mysql_stmt_prepare(st, sql, strlen(sql)) || mysql_stmt_execute(st)
        || mysql_stmt_bind_result(st, &out)) {
        rc = mt__store_conn_fail(c, st, "schema version");
        if (c->m)
            mysql_stmt_close(st);
        return rc;
    }
    int f = mysql_stmt_fetch(st);
    *version = f == 0 && !null ? (int) v : 0;
    mysql_stmt_close(st);
    return MT_OK;
}

static int set_version(mt__store_conn_t *c, int version)
{
    char sql[200];
    snprintf(sql, sizeof sql, "INSERT INTO mt_schema (id, version, migrated_at) VALUES (1, %d, %lld)"
             " ON DUPLICATE KEY UPDATE version = GREATEST(version, VALUES(version)),"
             " migrated_at = VALUES(migrated_at)",
             version, (long long) mt_wall_ms());
    return mt__store_conn_sql(c, sql);
}

static int cluster_row(mt__store_conn_t *c)
{
    char uuid[37], sql[200];
    if (mt_uuid_v4(uuid) != MT_OK) {
        snprintf(c->err, sizeof c->err, "schema: cannot read /dev/urandom");
        return MT_EINTERNAL;
    }
    /*  INSERT IGNORE: created once per database, whoever comes first. */
    snprintf(sql, sizeof sql, "INSERT IGNORE INTO mt_cluster (id, uuid, created_at)"
             " VALUES (1, '%s', %lld)", uuid, (long long) mt_wall_ms());
    return mt__store_conn_sql(c, sql);
}

/*  On Galera the sequence caches nothing. A cache refill is replicated
    only when its transaction commits, and applying another node's refill
    drops a node's cache: with CACHE 1000 every interleaving of writers on
    two nodes jumps the values by cache × cluster size (~3,000), which
    would make peers' notices look implausible (bus.c) and spread the scan
    window thin. Without a cache each value is one step of the cluster's
    size above the last this node has seen. One server keeps its cache
    (a refill every 1,000 values). Idempotent; under the lease. */
static int sequence_cached(mt__store_conn_t *c, bool *cached)
{
    *cached = false;
    if (!c->galera)
        return MT_OK;
    if (mysql_query(c->m, "SELECT cache_size FROM mt_revision") != 0) {
        /*  No sequence yet (a fresh database): the migration makes it. */
        if (mysql_errno(c->m) == ER_NO_SUCH_TABLE)
            return MT_OK;
        return mt__store_conn_fail(c, NULL, "sequence cache");
    }
    MYSQL_RES *res = mysql_store_result(c->m);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    *cached = row && row[0] && strcmp(row[0], "0") != 0;
    if (res)
        mysql_free_result(res);
    return MT_OK;
}

static int galera_sequence(mt__store_conn_t *c)
{
    bool cached;
    int rc = sequence_cached(c, &cached);
    return rc == MT_OK && cached ? mt__store_conn_sql(c, "ALTER SEQUENCE mt_revision NOCACHE") : rc;
}

static int migrate_locked(mt__store_conn_t *c, const char *holder)
{
    int version = 0;
    int rc = current_version(c, &version);
    if (rc == MT_OK && version > MT_SCHEMA_VERSION) {
        snprintf(c->err, sizeof c->err, "schema: database has version %d, this build knows %d",
                 version, MT_SCHEMA_VERSION);
        rc = MT_EINTERNAL;
    }
    for (int v = version + 1; rc == MT_OK && v <= MT_SCHEMA_VERSION; v++) {
        rc = mt__store_schema_lease_renew(c, holder);
        for (const char *const *sql = migrations[v]; rc == MT_OK && *sql; sql++)
            rc = mt__store_conn_sql(c, *sql);
        if (rc == MT_OK && v == 1)
            rc = cluster_row(c);
        if (rc == MT_OK)
            rc = set_version(c, v);
        if (rc == MT_OK)
            rc = mt__store_conn_commit(c);
    }
    if (rc == MT_OK)
        rc = galera_sequence(c);
    return rc;
}

static int migrate_once(mt__store_conn_t *c)
{
    /*  DDL and the lease wait are not bound by the writers' statement
        time. On Galera, reads here are causal: a version written through
        another node moments ago must be seen, or migrations would run
        again for nothing. */
    int rc = mt__store_conn_sql(c, "SET SESSION max_statement_time = 0");
    if (rc == MT_OK && c->galera)
        rc = mt__store_conn_sql(c, "SET SESSION wsrep_sync_wait = 1");
    int version = 0;
    if (rc == MT_OK)
        rc = current_version(c, &version);
    bool cached = false;
    if (rc == MT_OK)
        rc = sequence_cached(c, &cached);
    if (rc == MT_OK)
        mt__store_conn_rollback(c);        /* ends the version read's transaction */
    /*  Current already (every connection of every replica after the
        first): no lease needed, the version only grows. */
    if (rc == MT_OK && (version != MT_SCHEMA_VERSION || cached)) {
        char holder[128];
        mt__store_schema_lease_holder(holder, sizeof holder);
        rc = mt__store_schema_lease_take(c, holder);
        if (rc == MT_OK) {
            rc = migrate_locked(c, holder);
            if (c->m)
                mt__store_conn_rollback(c);
            mt__store_schema_lease_release(c, holder);
        }
    }
    if (rc == MT_OK && c->galera)
        rc = mt__store_galera_session(c);  /* causal reads stay on (galera.c) */
    if (rc == MT_OK && !c->reader)
        rc = mt__store_conn_sql(c, "SET SESSION max_statement_time = " MT_CONN_STATEMENT_TIME_S);
    return rc;
}

/*  On Galera a migration's statements can lose to another node's at any
    step (1213: the lease row, the version row, a DDL aborting a
    conflicting local transaction). Every step is idempotent, so the whole
    is run again, a few times, after a pause. */
int mt__store_schema_migrate(mt__store_conn_t *c)
{
    int rc = MT_OK;
    for (int attempt = 0; attempt < 10; attempt++) {
        rc = migrate_once(c);
        if (rc == MT_OK || !mt__store_conn_up(c) || c->err_no != ER_LOCK_DEADLOCK)
            break;
        mt__store_conn_rollback(c);
        struct timespec ts = { 0, (100 + 50 * attempt) * 1000 * 1000L };
        nanosleep(&ts, NULL);
    }
    return rc;
}
