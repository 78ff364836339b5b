/*  schema.c — the store creates and migrates its own schema.

    mt_schema (one row) holds the version. Migrations run in order under
    GET_LOCK('metactor_schema') (waited for up to 30 s), so replicas starting together take
    turns: the first migrates, the others find the version current. DDL
    commits implicitly in MariaDB, so a migration is a list of statements
    that are each idempotent (IF NOT EXISTS, INSERT IGNORE): one cut short
    by a crash is simply run again. The version row is written last. */
#include "store_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TABLE_OPTS " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
#define NODE_ID "VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL"
#define JSON_COL(name) name " LONGTEXT NOT NULL CHECK (JSON_VALID(" name "))"

/*  Version 1. Revisions come from the sequence mt_revision (shared by
    every group); ids are ASCII with binary collation so that ORDER BY id
    is strcmp order. Times are BIGINT milliseconds since the epoch. */
static const char *const v1[] = {
    "CREATE SEQUENCE IF NOT EXISTS mt_revision START WITH 1 INCREMENT BY 1"
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
    " AS (IF(deleted = 0, name, NULL)) PERSISTENT",

    /*  RTRIM: a CHAR column's value itself may not be generated from
        (it would depend on sql_mode PAD_CHAR_TO_FULL_LENGTH). Compared
        as uuid is: case-insensitive. */
    "ALTER TABLE rc_refs ADD COLUMN IF NOT EXISTS live_uuid CHAR(36)"
    " CHARACTER SET ascii COLLATE ascii_general_ci"
    " AS (IF(deleted = 0, NULLIF(RTRIM(uuid), ''), NULL)) PERSISTENT",

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

static const char *const *const migrations[] = { NULL, v1, v2, v3, v4, v5 };

/*  A version 4 uuid from the kernel's random source. */
static int uuid_v4(char out[37])
{
    unsigned char b[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return MT_ESYSTEM;
    ssize_t n = read(fd, b, sizeof b);
    close(fd);
    if (n != (ssize_t) sizeof b)
        return MT_ESYSTEM;
    b[6] = (unsigned char) ((b[6] & 0x0F) | 0x40);     /* version 4 */
    b[8] = (unsigned char) ((b[8] & 0x3F) | 0x80);     /* variant 10 */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
             b[12], b[13], b[14], b[15]);
    return MT_OK;
}

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
             " ON DUPLICATE KEY UPDATE version = VALUES(version), migrated_at = VALUES(migrated_at)",
             version, (long long) mt_wall_ms());
    return mt__store_conn_sql(c, sql);
}

static int cluster_row(mt__store_conn_t *c)
{
    char uuid[37], sql[200];
    if (uuid_v4(uuid) != MT_OK) {
        snprintf(c->err, sizeof c->err, "schema: cannot read /dev/urandom");
        return MT_EINTERNAL;
    }
    /*  INSERT IGNORE: created once per database, whoever comes first. */
    snprintf(sql, sizeof sql, "INSERT IGNORE INTO mt_cluster (id, uuid, created_at)"
             " VALUES (1, '%s', %lld)", uuid, (long long) mt_wall_ms());
    return mt__store_conn_sql(c, sql);
}

static int lock(mt__store_conn_t *c, bool take)
{
    if (!c->m)
        return mt__store_conn_fail(c, NULL, "schema lock");
    MYSQL_STMT *st = mysql_stmt_init(c->m);
    /*  GET_LOCK waits 1 s per call, not 30 at once: a longer wait would
        outlast the client's read timeout and cost the connection. */
    const char *sql = take ? "SELECT GET_LOCK('metactor_schema', 1)"
                           : "SELECT RELEASE_LOCK('metactor_schema')";
    if (!st)
        return mt__store_conn_fail(c, NULL, "schema lock");
    long long got = 0;
    my_bool null = 0;
    MYSQL_BIND out = { .buffer_type = MYSQL_TYPE_LONGLONG, .buffer = &got, .is_null = &null };
    int rc = MT_OK;
    if (mysql_stmt_prepare(st, sql, strlen(sql)) || mysql_stmt_execute(st)
        || mysql_stmt_bind_result(st, &out) || mysql_stmt_fetch(st) == 1) {
        rc = mt__store_conn_fail(c, st, "schema lock");
        if (c->m)
            mysql_stmt_close(st);
        return rc;
    }
    mysql_stmt_close(st);
    if (take && (null || got != 1)) {
        snprintf(c->err, sizeof c->err, "schema: GET_LOCK('metactor_schema') timed out");
        return MT_EUNAVAIL;
    }
    return MT_OK;
}

int mt__store_schema_migrate(mt__store_conn_t *c)
{
    /*  DDL and the lock wait are not bound by the writers' statement time. */
    int rc = mt__store_conn_sql(c, "SET SESSION max_statement_time = 0");
    for (int tries = 0; rc == MT_OK; tries++) {
        rc = lock(c, true);
        if (rc != MT_EUNAVAIL || !mt__store_conn_up(c) || tries == 29)
            break;
        rc = MT_OK;     /* held by another replica: wait on, 30 s in all */
    }
    if (rc != MT_OK)
        return rc;
    int version = 0;
    rc = current_version(c, &version);
    if (rc == MT_OK && version > MT_SCHEMA_VERSION) {
        snprintf(c->err, sizeof c->err, "schema: database has version %d, this build knows %d",
                 version, MT_SCHEMA_VERSION);
        rc = MT_EINTERNAL;
    }
    for (int v = version + 1; rc == MT_OK && v <= MT_SCHEMA_VERSION; v++) {
        for (const char *const *sql = migrations[v]; rc == MT_OK && *sql; sql++)
            rc = mt__store_conn_sql(c, *sql);
        if (rc == MT_OK && v == 1)
            rc = cluster_row(c);
        if (rc == MT_OK)
            rc = set_version(c, v);
        if (rc == MT_OK)
            rc = mt__store_conn_commit(c);
    }
    if (c->m) {
        mt__store_conn_rollback(c);        /* ends the version read's transaction */
        int rc2 = c->m ? lock(c, false) : MT_EUNAVAIL;
        if (rc == MT_OK)
            rc = rc2;
    }
    if (rc == MT_OK && !c->reader)
        rc = mt__store_conn_sql(c, "SET SESSION max_statement_time = " MT_CONN_STATEMENT_TIME_S);
    return rc;
}
