/*  galera.c — what the store does differently on a MariaDB Galera Cluster
    node (../shared/GALERA.md; docs/operations.md, "Galera").

    * Which node may serve: wsrep_local_state_comment Synced and
      wsrep_ready ON, checked at every connect (connect.c). A node that
      leaves the primary component later answers 1047, which conn.c counts
      as a lost connection, so the actor reconnects — to the next host.
    * Causal reads on every connection (wsrep_sync_wait = 1): a read first
      waits until its node has applied everything the cluster committed
      before it. The reader needs it or a scan could miss a commit another
      node had already acknowledged, and a reload pass would move its
      window past it. Writers need it too: certification checks write sets,
      not reads, so a read-modify-write (labels merged into the stored
      ones, a registration keeping the stored labels) that read its row
      before this node applied another node's acknowledged change to it
      would commit and lose that change (svc_galera saw it, about 1 run in
      11). With the wait the locked read sees every earlier commit, and a
      later one that touches the locked row aborts this transaction (1213),
      which is retried as a whole (retry.c). The cost is one wait per
      SELECT on Galera only. That narrowed the window without closing it
      (certification does not enforce first-committer-wins across nodes),
      so writers also share one node (connect.c).
    * The scan window: revisions are drawn on each node and reach the
      other nodes' sequences only when the drawing transaction commits, so
      values are not in commit order across nodes; the reload's window is
      widened by MT_STORE_GALERA_LAG_MS (mt_store_window_ms).
    On one server none of this applies and nothing here runs but the probe
    (one query per connect). */
#include "store_internal.h"
#include "mt_log.h"

#include <mysqld_error.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/*  The first column of a text-protocol query's rows, as name → value
    pairs, into g. */
static int read_pairs(mt__store_conn_t *c, MYSQL *m, const char *sql, mt__store_galera_t *g)
{
    if (mysql_query(m, sql) != 0) {
        mt__store_conn__note(c, mysql_errno(m), mysql_error(m), "galera probe");
        return MT_EUNAVAIL;
    }
    MYSQL_RES *res = mysql_store_result(m);
    if (!res) {
        mt__store_conn__note(c, mysql_errno(m), mysql_error(m), "galera probe");
        return MT_EUNAVAIL;
    }
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (mysql_num_fields(res) < 2 || !row[0] || !row[1])
            continue;
        if (strcasecmp(row[0], "wsrep_on") == 0)
            g->on = strcasecmp(row[1], "ON") == 0;
        else if (strcasecmp(row[0], "wsrep_ready") == 0)
            g->ready = strcasecmp(row[1], "ON") == 0;
        else if (strcasecmp(row[0], "wsrep_local_state_comment") == 0)
            snprintf(g->state, sizeof g->state, "%s", row[1]);
    }
    mysql_free_result(res);
    return MT_OK;
}

int mt__store_galera_probe(mt__store_conn_t *c, MYSQL *m, mt__store_galera_t *g)
{
    *g = (mt__store_galera_t) { 0 };
    /*  SHOW … LIKE: a server without Galera (MySQL) has no such variable
        and returns no row, where SELECT @@wsrep_on would fail. */
    int rc = read_pairs(c, m, "SHOW GLOBAL VARIABLES LIKE 'wsrep\\_on'", g);
    if (rc == MT_OK && g->on)
        rc = read_pairs(c, m, "SHOW GLOBAL STATUS WHERE Variable_name IN"
                        " ('wsrep_ready', 'wsrep_local_state_comment')", g);
    return rc;
}

bool mt__store_galera_serves(mt__store_conn_t *c, const mt__store_galera_t *g, const char *host)
{
    if (!g->on || (g->ready && strcmp(g->state, "Synced") == 0))
        return true;
    char why[160];
    snprintf(why, sizeof why, "Galera node %.64s is %s%s", host ? host : "(socket)",
             g->state[0] ? g->state : "in an unknown state",
             g->ready ? "" : " and not ready (outside the primary component?)");
    /*  1047, as the node itself answers when it cannot serve: counted as
        a lost connection, so callers answer unavailable and retry. */
    mt__store_conn__note(c, ER_UNKNOWN_COM_ERROR, why, "connect");
    return false;
}

int mt__store_galera_session(mt__store_conn_t *c)
{
    return mt__store_conn_sql(c, "SET SESSION wsrep_sync_wait = 1");
}
