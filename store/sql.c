/*  sql.c — every statement the store prepares, by id (mt__store_sql_id_t).

    Multi-row statements (and IN lists) exist for 1, 8, 64 and 256 rows and
    are generated once per process. On MariaDB the heartbeats' upsert is the
    one-row statement executed over an array instead (node_sql.c). Column
    lists of the reads are fixed: scan.c decodes rows by position
    (MT_SQL_REG_KINDS, MT_SQL_STATUS_KINDS). */
#include "store_internal.h"
#include "mt_alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const unsigned mt__store_sql_variants[MT_SQL_NVARIANTS] = { 1, 8, 64, 256 };

int mt__store_sql_chunk(unsigned n, unsigned *rows)
{
    /*  The smallest variant that holds n, if padding wastes at most half of
        it; else the largest that n fills. n = 40: one 64-row statement;
        n = 20: 8 + 8 + (4 → 8). */
    int v = 0;
    while (v + 1 < MT_SQL_NVARIANTS && mt__store_sql_variants[v] < n)
        v++;
    if (mt__store_sql_variants[v] >= n && mt__store_sql_variants[v] <= 2 * n) {
        *rows = n;
        return v;
    }
    while (v > 0 && mt__store_sql_variants[v] > n)
        v--;
    *rows = mt__store_sql_variants[v] < n ? mt__store_sql_variants[v] : n;
    return v;
}

void mt__store_params_in_list(mt__store_params_t *ps, const char *const *ids, unsigned take, int v)
{
    mt__store_params_reset(ps);
    for (unsigned j = 0; j < mt__store_sql_variants[v]; j++)
        mt__store_params_cstr(ps, ids[j < take ? j : take - 1]);
}

#define REG_COLS "id, host_ip, grpc_port, instance_type, labels, capacity, quota, " \
    "versions_hash, registered_at, reg_revision, deleted"
/*  The database's clock in ms since the epoch. The session's time zone is
    +00:00 (conn.c), so UNIX_TIMESTAMP never meets a daylight-saving gap. */
#define DB_NOW_MS "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)"
#define RC_COLS "id, name, hostname, uuid, username, demand_encryption, node_list, " \
    "revision, deleted, refreshed_at, server_key, client_public, client_secret, " \
    "restrict_hostname_replace"
#define VERS_COLS "node_id, component, version, commit_id, build_time, source"
/*  Nodes with any group above a revision (node.changes; two parameters). */
#define CHANGED_IDS "SELECT id FROM node_registrations WHERE reg_revision > ?" \
    " UNION SELECT id FROM node_status WHERE status_revision > ?"
#define STR(x) #x
#define XSTR(x) STR(x)          /* a macro's value as a string literal */
#define STATUS_COLS "id, heartbeat_at, ready, conditions, images, local_templates," \
    " status_revision, seen_at"

static const char *fixed[SQL_COUNT] = {
    /*  With the server's clock: a heartbeat's seen_at (node_sql.c). */
    [SQL_DRAW] = "SELECT NEXTVAL(mt_revision), " DB_NOW_MS " FROM seq_1_to_256 LIMIT ?",
    [SQL_MARK] = "SELECT NEXTVAL(mt_revision)",
    /*  components_hash last (index 11): only writes compare it. */
    [SQL_REG_FOR_UPDATE] = "SELECT " REG_COLS ", components_hash FROM node_registrations"
        " WHERE id = ? FOR UPDATE",
    [SQL_REG_UPSERT] =
        "INSERT INTO node_registrations (" REG_COLS ", components_hash)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,0,?)"
        " ON DUPLICATE KEY UPDATE host_ip = VALUES(host_ip), grpc_port = VALUES(grpc_port),"
        " instance_type = VALUES(instance_type), labels = VALUES(labels),"
        " capacity = VALUES(capacity), quota = VALUES(quota),"
        " versions_hash = VALUES(versions_hash), registered_at = VALUES(registered_at),"
        " reg_revision = VALUES(reg_revision), deleted = 0,"
        " components_hash = VALUES(components_hash)",
    [SQL_REG_SET_COMPONENTS] = "UPDATE node_registrations SET versions_hash = ?,"
        " components_hash = ?, reg_revision = ? WHERE id = ?",
    [SQL_REG_SET_LABELS] = "UPDATE node_registrations SET labels = ?, reg_revision = ? WHERE id = ?",
    [SQL_REG_TOMBSTONE] = "UPDATE node_registrations SET deleted = 1, deleted_at = " DB_NOW_MS ","
        " reg_revision = ? WHERE id = ?",
    /*  In bounded chunks, each its own short transaction: the range of the
        tombstones key is all it locks. */
    [SQL_REG_PURGE] = "DELETE FROM node_registrations WHERE deleted = 1"
        " AND deleted_at < " DB_NOW_MS " - ? LIMIT " XSTR(MT_STORE_PURGE_CHUNK),
    /*  Before a chunk is purged, in its transaction: the floor of
        node.changes rises to every tombstone old enough to go (more than
        the chunk: a floor too high only answers `expired` sooner). */
    [SQL_PURGED_RAISE] = "UPDATE mt_cluster SET node_purged_upto = GREATEST(node_purged_upto,"
        " (SELECT COALESCE(MAX(reg_revision), 0) FROM node_registrations WHERE deleted = 1"
        " AND deleted_at < " DB_NOW_MS " - ?)) WHERE id = 1",
    [SQL_PURGED_UPTO] = "SELECT node_purged_upto FROM mt_cluster WHERE id = 1",
    [SQL_CHANGES_REG] = "SELECT " REG_COLS " FROM node_registrations WHERE id IN ("
        CHANGED_IDS ") ORDER BY id",
    [SQL_CHANGES_STATUS] = "SELECT " STATUS_COLS " FROM node_status WHERE id IN ("
        CHANGED_IDS ") ORDER BY id",
    [SQL_CHANGES_VERS] = "SELECT " VERS_COLS " FROM node_component_versions WHERE node_id IN ("
        CHANGED_IDS ") ORDER BY node_id",
    [SQL_STATUS_DELETE] = "DELETE FROM node_status WHERE id = ?",
    [SQL_VERS_DELETE] = "DELETE FROM node_component_versions WHERE node_id = ?",
    [SQL_LOAD_REG] = "SELECT " REG_COLS " FROM node_registrations WHERE id = ?",
    [SQL_LOAD_STATUS] = "SELECT " STATUS_COLS " FROM node_status WHERE id = ?",
    [SQL_LOAD_VERS] = "SELECT " VERS_COLS " FROM node_component_versions"
        " WHERE node_id = ?",
    [SQL_SCAN_REG_ALL] = "SELECT " REG_COLS " FROM node_registrations ORDER BY id",
    [SQL_SCAN_REG_AFTER] = "SELECT " REG_COLS " FROM node_registrations"
        " WHERE reg_revision > ? ORDER BY id",
    [SQL_SCAN_STATUS_ALL] = "SELECT " STATUS_COLS " FROM node_status ORDER BY id",
    /*  No index on status_revision (schema v9): a table read, which costs
        half as much without the JSON columns (scan.c reads the rows it
        needs whole by id). */
    [SQL_SCAN_STATUS_REVS] = "SELECT id, status_revision FROM node_status"
        " WHERE status_revision > ? ORDER BY id",
    [SQL_SCAN_VERS_ALL] = "SELECT " VERS_COLS " FROM node_component_versions"
        " ORDER BY node_id",
    [SQL_SCAN_VERS_AFTER] = "SELECT v.node_id, v.component, v.version, v.commit_id,"
        " v.build_time, v.source"
        " FROM node_registrations r JOIN node_component_versions v ON v.node_id = r.id"
        " WHERE r.reg_revision > ? ORDER BY v.node_id",
    [SQL_REPLICA_UPSERT] =
        "INSERT INTO replicas (replica_id, endpoint, pub_endpoint, heartbeat_at, started_at,"
        " public_key) VALUES (?, ?, ?, " DB_NOW_MS ", ?, ?)"
        " ON DUPLICATE KEY UPDATE endpoint = VALUES(endpoint),"
        " pub_endpoint = VALUES(pub_endpoint), heartbeat_at = VALUES(heartbeat_at),"
        " started_at = VALUES(started_at), public_key = VALUES(public_key)",
    /*  One statement, so now_ms and every row are read at one instant. The
        cluster row always exists (schema v1); with no replica rows the LEFT
        JOIN gives one row of NULLs. */
    [SQL_REPLICA_LIST] = "SELECT c.uuid, " DB_NOW_MS ", r.replica_id, r.endpoint,"
        " r.pub_endpoint, r.heartbeat_at, r.public_key FROM mt_cluster c"
        " LEFT JOIN replicas r ON TRUE"
        " WHERE c.id = 1 ORDER BY r.replica_id",
    [SQL_REPLICA_DELETE] = "DELETE FROM replicas WHERE replica_id = ?",
    [SQL_RC_INSERT] = "INSERT INTO rc_refs (id, name, hostname, uuid, username, password,"
        " demand_encryption, node_list, revision, deleted, refreshed_at, server_key,"
        " client_public, client_secret, restrict_hostname_replace)"
        " VALUES (?,?,?,?,?,?,?,?,?,0,?,?,?,?,?)",
    [SQL_RC_FOR_UPDATE] = "SELECT " RC_COLS " FROM rc_refs WHERE id = ? FOR UPDATE",
    /*  The password and client_secret change only when the parameter before
        each is 1. The WHERE is the compare-and-set on the revision read
        under the row lock. */
    [SQL_RC_UPDATE] = "UPDATE rc_refs SET name = ?, hostname = ?, username = ?,"
        " password = IF(? = 1, ?, password), demand_encryption = ?, server_key = ?,"
        " client_public = ?, client_secret = IF(? = 1, ?, client_secret),"
        " restrict_hostname_replace = ?, revision = ?"
        " WHERE id = ? AND revision = ? AND deleted = 0",
    [SQL_RC_TOMBSTONE] = "UPDATE rc_refs SET deleted = 1, password = '', client_secret = '',"
        " revision = ? WHERE id = ? AND revision = ? AND deleted = 0",
    /*  Who holds an id, a live name or a live uuid (after a duplicate key). */
    [SQL_RC_CLASH] = "SELECT id, name, uuid, deleted FROM rc_refs"
        " WHERE id = ? OR live_name = ? OR live_uuid = ?",
    /*  Sorted by name as strcmp sorts (no padding), ties by id. */
    [SQL_RC_SCAN] = "SELECT " RC_COLS " FROM rc_refs WHERE revision > ?"
        " ORDER BY name COLLATE utf8mb4_nopad_bin, id",
    /*  One reference whatever its revision (an agent's client_secret). */
    [SQL_RC_LOAD] = "SELECT " RC_COLS " FROM rc_refs WHERE id = ?",
};

/*  The status upsert keeps the newest revision whatever the commit order:
    every column is taken only from a newer row, and status_revision is
    assigned last because MariaDB evaluates the assignments left to right
    (a column assigned earlier reads as its new value). A row left alone
    counts as "found, unchanged" (node_sql.c relies on the counts). */
#define NEWER "VALUES(status_revision) > status_revision"

static char *generated[SQL_COUNT];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/*  head, then rows × row separated by ',', then tail. */
static char *repeat(const char *head, const char *row, unsigned rows, const char *tail)
{
    size_t n = strlen(head) + rows * (strlen(row) + 1) + strlen(tail) + 1;
    char *s = mt_xmalloc(n), *w = s;
    w = stpcpy(w, head);
    for (unsigned i = 0; i < rows; i++) {
        if (i)
            *w++ = ',';
        w = stpcpy(w, row);
    }
    stpcpy(w, tail);
    return s;
}

static void generate(void)
{
    for (int v = 0; v < MT_SQL_NVARIANTS; v++) {
        unsigned n = mt__store_sql_variants[v];
        generated[SQL_LOCK + v] = repeat(
            "SELECT id FROM node_registrations WHERE deleted = 0 AND id IN (", "?", n,
            ") FOR UPDATE");
        generated[SQL_STATUS_UPSERT + v] = repeat(
            "INSERT INTO node_status (" STATUS_COLS ") VALUES ", "(?,?,?,?,?,?,?,?)", n,
            " ON DUPLICATE KEY UPDATE"
            " heartbeat_at = IF(" NEWER ", VALUES(heartbeat_at), heartbeat_at),"
            " ready = IF(" NEWER ", VALUES(ready), ready),"
            " conditions = IF(" NEWER ", VALUES(conditions), conditions),"
            " images = IF(" NEWER ", VALUES(images), images),"
            " local_templates = IF(" NEWER ", VALUES(local_templates), local_templates),"
            " seen_at = IF(" NEWER ", VALUES(seen_at), seen_at),"
            " status_revision = GREATEST(status_revision, VALUES(status_revision))");
        /*  The checked heartbeat path's floor (node_sql.c): the rows it
            will replace, locked in id order like every status write. */
        generated[SQL_STATUS_FLOOR + v] = repeat(
            "SELECT COALESCE(MAX(status_revision), 0) FROM node_status WHERE id IN (", "?", n,
            ") FOR UPDATE");
        generated[SQL_STATUS_BY_ID + v] = repeat(
            "SELECT " STATUS_COLS " FROM node_status WHERE id IN (", "?", n, ") ORDER BY id");
        generated[SQL_VERS_INSERT + v] = repeat(
            "INSERT INTO node_component_versions (" VERS_COLS ") VALUES ",
            "(?,?,?,?,?,?)", n, " ON DUPLICATE KEY UPDATE version = VALUES(version),"
            " commit_id = VALUES(commit_id), build_time = VALUES(build_time),"
            " source = VALUES(source)");
    }
}

const char *mt__store_sql_text(int id)
{
    pthread_once(&once, generate);
    return generated[id] ? generated[id] : fixed[id];
}
