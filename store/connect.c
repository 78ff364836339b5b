/*  connect.c — opening a store connection: the DSN's hosts in order, the
    first that answers and can serve, and the session set up for it.

    One server or a cluster. With several hosts (a MariaDB Galera Cluster,
    mt_dsn.h) a node that answers but cannot serve — not Synced (a joiner,
    a donor blocked by its SST) or not ready (outside the primary
    component: it refuses every query with 1047) — is passed over, so a
    connection always lands on a node that accepts writes.

    Which order. The reader (scans, point loads) takes the hosts in the
    order its DSN gives them, so replicas given different orders spread
    their reads over the nodes. Writers take them in one order every
    replica agrees on whatever order its DSN gives — sorted by host, then
    port — so that all replicas write through one node at a time and fail
    over to the same next one. Galera does not keep read-modify-writes
    made through different nodes safe: certification compares write sets
    committed after a transaction's last applied write set, not after its
    reads, and does not enforce first-committer-wins across nodes
    (codership/galera#336, #618; Jepsen's 2026 analysis saw lost updates
    in a healthy cluster). A label merge made through node 3 could then
    overwrite, unseen, one acknowledged a moment earlier through node 1
    (svc_galera did, about one run in twenty under CI's load). Through
    one node, InnoDB's row locks order them. A writer that failed over
    returns to the first host once it serves again (mt__store_conn_prefer),
    or replicas started later would write through another node than those
    started before. What the store does differently on Galera is in
    galera.c. */
#include "store_internal.h"
#include "mt_alloc.h"
#include "mt_log.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  The DSN's TLS parameters (mt_dsn.h), with Connector/C's own options:
    TLS enforced (no plain-text fall-back when the server offers none); the
    server's chain checked against ssl_ca when given (the library does that
    whenever it has a CA), its name (and without ssl_ca its chain, against
    the system's CAs) unless ssl_verify=false. Non-zero if the library
    refused one of the options. */
static int set_tls(MYSQL *m, const mt_dsn_t *d)
{
    my_bool on = 1, verify = d->ssl_verify;
    int bad = mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &on);
    bad |= mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    if (d->ssl_ca)
        bad |= mysql_options(m, MYSQL_OPT_SSL_CA, d->ssl_ca);
    if (d->ssl_cert) {
        bad |= mysql_options(m, MYSQL_OPT_SSL_CERT, d->ssl_cert);
        bad |= mysql_options(m, MYSQL_OPT_SSL_KEY, d->ssl_key);
    }
    return bad;
}

/*  One server: host (NULL with the DSN's socket) and port. */
static MYSQL *connect_one(mt__store_conn_t *c, const char *host, unsigned port, const char *db)
{
    const mt_dsn_t *d = c->dsn;
    MYSQL *m = mysql_init(NULL);
    if (!m)
        mt_oom("mysql_init");
    my_bool no = 0;
    unsigned ct = d->connect_timeout_s, rt = d->read_timeout_s, wt = d->write_timeout_s;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &wt);
    mysql_options(m, MYSQL_OPT_RECONNECT, &no);         /* see the top of conn.c */
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (d->socket) {
        unsigned proto = MYSQL_PROTOCOL_SOCKET;
        mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
    }
    if (d->tls && set_tls(m, d) != 0) {
        mt__store_conn__note(c, CR_SSL_CONNECTION_ERROR, "this Connector/C refused a TLS option",
                      "connect");
        mysql_close(m);
        return NULL;
    }
    if (!mysql_real_connect(m, d->socket ? "localhost" : host, d->user, d->password, db,
                            d->socket ? 0 : port, d->socket, CLIENT_FOUND_ROWS)) {
        mt__store_conn__note(c, mysql_errno(m), mysql_error(m), "connect");
        mysql_close(m);
        return NULL;
    }
    return m;
}

static int host_cmp(const mt_dsn_host_t *a, const mt_dsn_host_t *b)
{
    int k = strcmp(a->host, b->host);
    return k ? k : (a->port > b->port) - (a->port < b->port);
}

/*  The order in which c tries the DSN's hosts (see the top of the file):
    order[k] is the index in d->hosts of the k-th to try. */
static unsigned host_order(const mt__store_conn_t *c, unsigned order[MT_DSN_HOSTS_MAX])
{
    const mt_dsn_t *d = c->dsn;
    unsigned n = d->nhosts ? d->nhosts : 1;
    for (unsigned i = 0; i < n; i++) {
        unsigned j = i;
        /*  Insertion sort: a handful of hosts. */
        while (!c->reader && d->nhosts && j > 0 && host_cmp(&d->hosts[order[j - 1]], &d->hosts[i]) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    return n;
}

/*  The k-th host of c's order if it answers and can serve, else NULL. */
static MYSQL *try_host(mt__store_conn_t *c, const unsigned *order, unsigned k, const char *db)
{
    const mt_dsn_t *d = c->dsn;
    const char *host = d->nhosts ? d->hosts[order[k]].host : NULL;
    MYSQL *m = connect_one(c, host, d->nhosts ? d->hosts[order[k]].port : d->port, db);
    if (!m)
        return NULL;
    mt__store_galera_t g;
    if (mt__store_galera_probe(c, m, &g) != MT_OK || !mt__store_galera_serves(c, &g, host)) {
        mysql_close(m);
        return NULL;
    }
    c->galera = g.on;
    c->host_rank = k;
    return m;
}

/*  The first host that answers and can serve. A missing database ends the
    search at once (the server answered: mt__store_conn_open creates it there). */
static MYSQL *try_connect(mt__store_conn_t *c, const char *db)
{
    unsigned order[MT_DSN_HOSTS_MAX];
    unsigned n = host_order(c, order);
    for (unsigned k = 0; k < n; k++) {
        MYSQL *m = try_host(c, order, k, db);
        if (m || c->err_no == ER_BAD_DB_ERROR)
            return m;
    }
    return NULL;
}

/*  The session. Writers read committed (no gap locks between replicas'
    batches) and wait at most 2 s for a row lock, so a transaction that
    drew a revision ends well within MT_STORE_TXN_MAX_MS; the reader's
    repeatable read gives each scan one snapshot. */
static int session(mt__store_conn_t *c)
{
    static const char *const common[] = {
        "SET SESSION innodb_lock_wait_timeout = 2",
        "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,"
            "ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE'",
        "SET SESSION time_zone = '+00:00'",
    };
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) {
        int rc = mt__store_conn_sql(c, common[i]);
        if (rc != MT_OK)
            return rc;
    }
    int rc = mt__store_conn_sql(c, c->reader
        ? "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"
        : "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    if (rc == MT_OK && !c->reader)
        rc = mt__store_conn_sql(c, "SET SESSION max_statement_time = " MT_CONN_STATEMENT_TIME_S);
    if (rc == MT_OK && c->galera)
        rc = mt__store_galera_session(c);
    if (rc != MT_OK)
        return rc;
    if (mysql_autocommit(c->m, 0) != 0)
        return mt__store_conn_fail(c, NULL, "autocommit off");
    return MT_OK;
}

/*  MariaDB (10.2 and later) executes an array of rows in one round trip
    (conn.c, mt__store_conn_exec_bulk); MySQL, and a proxy that does not
    pass the capability on, do not: their writers pad multi-row statements
    instead (node_sql.c). */
static bool bulk_capable(MYSQL *m)
{
    unsigned long caps = 0, ext = 0;
    if (mariadb_get_infov(m, MARIADB_CONNECTION_SERVER_CAPABILITIES, &caps) != 0
        || mariadb_get_infov(m, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES, &ext) != 0)
        return false;
    return !(caps & CLIENT_MYSQL) && (ext & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32)) != 0;
}

int mt__store_conn_open(mt__store_conn_t *c)
{
    mt__store_conn_close(c);
    c->m = try_connect(c, c->dsn->db);
    if (!c->m && c->err_no == ER_BAD_DB_ERROR) {
        /*  First start on this server: create the database. The name is
            checked by the DSN parser (letters, digits, '_', '$'). */
        c->m = try_connect(c, NULL);
        if (!c->m)
            return mt__store_conn__classify(c);
        char sql[128];
        snprintf(sql, sizeof sql, "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 "
                 "COLLATE utf8mb4_bin", c->dsn->db);
        int rc = mt__store_conn_sql(c, sql);
        if (rc != MT_OK)
            return rc;
        if (mysql_select_db(c->m, c->dsn->db) != 0)
            return mt__store_conn_fail(c, NULL, "select database");
    }
    if (!c->m)
        return mt__store_conn__lost_error(c->err_no) ? MT_EUNAVAIL : MT_EINTERNAL;
    int rc = session(c);
    if (rc != MT_OK)
        return rc;
    c->bulk = bulk_capable(c->m);
    c->last_used_ms = mt_now_ms();
    c->err_no = 0;      /* the next outage is news again (see worth_logging) */
    return MT_OK;
}

bool mt__store_conn_prefer(mt__store_conn_t *c)
{
    if (!c->m || c->reader || c->host_rank == 0)
        return false;
    unsigned order[MT_DSN_HOSTS_MAX], rank = c->host_rank;
    host_order(c, order);
    /*  A failed probe must not disturb c: its error stays as it was
        (try_host changes host_rank and galera only when it succeeds). */
    char err[sizeof c->err];
    unsigned err_no = c->err_no;
    memcpy(err, c->err, sizeof err);
    /*  A host still down is logged once, not at every look: the probes
        compare against their own last error. */
    c->err_no = c->probe_err_no;
    for (unsigned k = 0; k < rank; k++) {
        MYSQL *m = try_host(c, order, k, c->dsn->db);
        if (!m)
            continue;
        mt__store_conn_close(c);
        c->m = m;
        if (session(c) != MT_OK) {
            mt__store_conn_close(c);
            return true;
        }
        c->last_used_ms = mt_now_ms();
        c->err_no = c->probe_err_no = 0;
        return true;
    }
    c->probe_err_no = c->err_no;
    c->err_no = err_no;
    memcpy(c->err, err, sizeof err);
    return false;
}
