/*  schema_lease.c — one migrator at a time across every database node.

    GET_LOCK is local to a Galera node: two replicas attached to different
    nodes could both hold it and run the same DDL at once (one then fails:
    1060 duplicate column). The lease is a row instead, taken with one
    conditional UPDATE: on one server the row lock orders the takers; on
    Galera two nodes' UPDATEs of the same row cannot both pass
    certification, and the loser (1213) waits and tries again. The lease
    expires by the database's clock, so a replica that died while migrating
    holds it for MT_SCHEMA_LEASE_MS at most; the holder renews it before
    each version. DDL stays idempotent (IF NOT EXISTS), so a migration cut
    short — or overtaken by an expired lease — is simply run again. */
#include "store_internal.h"

#include <mysqld_error.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LEASE_TABLE \
    "CREATE TABLE IF NOT EXISTS mt_schema_lease (" \
    " id TINYINT NOT NULL PRIMARY KEY CHECK (id = 1)," \
    " holder VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL," \
    " until_ms BIGINT NOT NULL)" \
    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
#define DB_NOW_MS "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)"
#define STR(x) #x
#define XSTR(x) STR(x)

void mt__store_schema_lease_holder(char *out, size_t len)
{
    static atomic_uint next;
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    /*  The holder goes into statements as a literal: only [A-Za-z0-9.-]
        of the host name are kept. */
    size_t k = 0;
    for (const char *p = host; *p; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
            || *p == '.' || *p == '-')
            host[k++] = *p;
    host[k] = '\0';
    snprintf(out, len, "%.63s:%ld:%u:%llu", host, (long) getpid(), atomic_fetch_add(&next, 1),
             (unsigned long long) mt_wall_ms());
}

/*  One conditional UPDATE and COMMIT: *held if the row is ours now;
    *conflict if it lost to another taker's statement at that moment
    (1213, or a lock wait timeout), which says nothing of who holds it. */
static int try_take(mt__store_conn_t *c, const char *holder, bool *held, bool *conflict)
{
    char sql[512];
    *held = *conflict = false;
    snprintf(sql, sizeof sql, "UPDATE mt_schema_lease SET holder = '%s', until_ms = " DB_NOW_MS
             " + " XSTR(MT_SCHEMA_LEASE_MS) " WHERE id = 1 AND (holder IS NULL OR holder = '%s'"
             " OR until_ms < " DB_NOW_MS ")", holder, holder);
    /*  The text protocol: mysql_affected_rows tells of this statement
        (mt__store_conn_sql's prepared statement would keep its count to itself).
        With CLIENT_FOUND_ROWS it counts the row matched: 1 if ours. */
    if (!mt__store_conn_up(c))
        return mt__store_conn_fail(c, NULL, "schema lease");
    int rc = mysql_query(c->m, sql) == 0 ? MT_OK : mt__store_conn_fail(c, NULL, "schema lease");
    uint64_t changed = rc == MT_OK ? (uint64_t) mysql_affected_rows(c->m) : 0;
    if (rc == MT_OK)
        rc = mt__store_conn_commit(c);
    if (rc == MT_OK) {
        *held = changed == 1;
        return MT_OK;
    }
    mt__store_conn_rollback(c);
    /*  Another node took it at the same moment: not ours, not an error. */
    *conflict = c->err_no == ER_LOCK_DEADLOCK || c->err_no == ER_LOCK_WAIT_TIMEOUT;
    return *conflict ? MT_OK : rc;
}

static void pause_ms(long ms)
{
    struct timespec ts = { 0, ms * 1000 * 1000 };
    nanosleep(&ts, NULL);
}

int mt__store_schema_lease_take(mt__store_conn_t *c, const char *holder)
{
    int rc = mt__store_conn_sql(c, LEASE_TABLE);
    if (rc == MT_OK)
        rc = mt__store_conn_sql(c, "INSERT IGNORE INTO mt_schema_lease (id, holder, until_ms)"
                         " VALUES (1, NULL, 0)");
    if (rc == MT_OK)
        rc = mt__store_conn_commit(c);
    /*  Two nodes inserting the row at once: one loses (1213), the row is
        there all the same. */
    if (rc != MT_OK && mt__store_conn_up(c) && c->err_no == ER_LOCK_DEADLOCK) {
        mt__store_conn_rollback(c);
        rc = MT_OK;
    }
    for (int tries = 0; rc == MT_OK; tries++) {
        bool held, conflict;
        rc = try_take(c, holder, &held, &conflict);
        if (rc != MT_OK || held)
            return rc;
        if (tries == MT_SCHEMA_LEASE_WAIT_S * 4) {
            snprintf(c->err, sizeof c->err,
                     "schema: another replica holds the migration lease (waited %d s)",
                     MT_SCHEMA_LEASE_WAIT_S);
            c->err_no = 0;
            return MT_EUNAVAIL;
        }
        pause_ms(250);
    }
    return rc;
}

/*  Renewals that meet another taker's statement try again: only a row
    that names someone else means the lease is lost. Declared lost on a
    mere conflict, the lease would stay ours for MT_SCHEMA_LEASE_MS while
    this connection, starting over under a new holder name, waited for it
    (svc's concurrent starts did, when every writer shared one node). */
#define RENEW_TRIES 20

int mt__store_schema_lease_renew(mt__store_conn_t *c, const char *holder)
{
    bool held = false, conflict = true;
    int rc = MT_OK;
    for (int k = 0; rc == MT_OK && conflict && k < RENEW_TRIES; k++) {
        if (k)
            pause_ms(50 + 25 * k);
        rc = try_take(c, holder, &held, &conflict);
    }
    if (rc == MT_OK && !held) {
        snprintf(c->err, sizeof c->err, "schema: the migration lease was lost (expired)");
        c->err_no = 0;
        return MT_EUNAVAIL;
    }
    return rc;
}

void mt__store_schema_lease_release(mt__store_conn_t *c, const char *holder)
{
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE mt_schema_lease SET holder = NULL, until_ms = 0"
             " WHERE id = 1 AND holder = '%.127s'", holder);
    /*  Failing to release costs the others MT_SCHEMA_LEASE_MS at most;
        a conflict with another taker is worth a few more tries. */
    for (int k = 0; k < RENEW_TRIES && mt__store_conn_up(c); k++) {
        if (k)
            pause_ms(50 + 25 * k);
        int rc = mt__store_conn_sql(c, sql);
        if (rc == MT_OK)
            rc = mt__store_conn_commit(c);
        mt__store_conn_rollback(c);
        if (rc == MT_OK || (c->err_no != ER_LOCK_DEADLOCK && c->err_no != ER_LOCK_WAIT_TIMEOUT))
            return;
    }
}
