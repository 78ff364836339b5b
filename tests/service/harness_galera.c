/*  harness_galera.c — replicas on a MariaDB Galera Cluster (the CTest
    fixture `galera`; see harness.h): which node each replica attaches to,
    a node killed and rejoined with scripts/galera, and which node a
    running replica is really connected to.

    The last is read from outside, as an operator would with ss(8): the
    replica's sockets (/proc/PID/fd) matched against the kernel's table of
    TCP connections (/proc/PID/net/tcp), each remote port against the
    DSN's hosts. Nothing of the service is asked: its own idea of where it
    is connected is what the test checks. */
#include "harness_int.h"

#include "mt_dsn.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*  The test DSN's hosts (the cluster's nodes, in scripts/galera's order). */
static mt_dsn_t *cluster_dsn(int c)
{
    hi_check_cluster(c);
    mt_dsn_t *d = NULL;
    char err[256];
    ck_assert_msg(mt_dsn_parse(h_state.cl[c].dsn, &d, err, sizeof err) == 0, "%s", err);
    return d;
}

int h_galera_nodes(void)
{
    mt_dsn_t *d = cluster_dsn(0);
    int n = (int) d->nhosts;
    mt_dsn_destroy(&d);
    return n;
}

void h_attach(int i, int k)
{
    h_replica_t *r = h_replica(i);
    mt_dsn_t *d = cluster_dsn(r->cluster);
    ck_assert_msg(k >= 1 && k <= (int) d->nhosts, "node %d: the DSN lists %u hosts", k,
                  d->nhosts);
    /*  Rotated in place: d->host aliases hosts[0] (mt_dsn.h), set again. */
    for (int s = 1; s < k; s++) {
        mt_dsn_host_t first = d->hosts[0];
        memmove(d->hosts, d->hosts + 1, (d->nhosts - 1) * sizeof *d->hosts);
        d->hosts[d->nhosts - 1] = first;
    }
    d->host = d->hosts[0].host;
    d->port = d->hosts[0].port;
    free(r->dsn);
    r->dsn = mt_dsn_format(d);      /* with the password: spawn moves it to the environment */
    ck_assert_ptr_nonnull(r->dsn);
    mt_dsn_destroy(&d);
}

void h_galera(const char *cmd, int k)
{
    const char *script = getenv("METACTOR_TEST_GALERA"), *dir = getenv("METACTOR_TEST_GALERA_DIR");
    ck_assert_msg(script && dir, "METACTOR_TEST_GALERA(_DIR) not set: run through ctest");
    char line[1200];
    snprintf(line, sizeof line, "'%s' %s %d '%s' >&2", script, cmd, k, dir);
    int64_t t0 = h_now_ms();
    int st = system(line);
    fprintf(stderr, "harness: scripts/galera %s %d: %lld ms\n", cmd, k,
            (long long) (h_now_ms() - t0));
    H_ASSERT(st == 0, "%s failed (status %d)", line, st);
}

void h_galera_ensure(void)
{
    /*  rejoin is a no-op for a running node: a test that failed after a
        kill (Check skips the tear-down of a failed test) leaves the next
        one a whole cluster. */
    int n = h_galera_nodes();
    for (int k = 1; k <= n; k++)
        h_galera("rejoin", k);
}

bool h_galera_log_has(int k, const char *text)
{
    const char *dir = getenv("METACTOR_TEST_GALERA_DIR");
    ck_assert_msg(dir, "METACTOR_TEST_GALERA_DIR not set: run through ctest");
    /*  Only what the node logged since its last start: scripts/galera
        writes a line beginning "scripts/galera: starting" before each. */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "tac '%s/node%d/error.log' | sed '/^scripts\\/galera: starting/q'"
             " | grep -qF -- '%s'", dir, k, text);
    return system(cmd) == 0;
}

void h_galera_sql_all(const char *sql)
{
    const char *script = getenv("METACTOR_TEST_GALERA"), *dir = getenv("METACTOR_TEST_GALERA_DIR");
    if (!script || !dir)
        return;
    for (int k = 1; k <= h_galera_nodes(); k++) {
        char line[1600];
        fprintf(stderr, "node %d: %s\n", k, sql);
        snprintf(line, sizeof line, "'%s' sql %d '%s' --batch -e \"%s\" >&2", script, k, dir, sql);
        if (system(line) != 0)
            fprintf(stderr, "node %d: the query failed\n", k);
    }
}

/* ---- where a replica is connected ------------------------------------------- */

#define MAX_SOCKS 256

/*  The inodes of pid's sockets. */
static int socket_inodes(pid_t pid, unsigned long *ino, int max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int) pid);
    DIR *dir = opendir(path);
    if (!dir)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) && n < max) {
        char link[320], target[64];
        snprintf(link, sizeof link, "%s/%s", path, e->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        unsigned long v;
        if (sscanf(target, "socket:[%lu]", &v) == 1)
            ino[n++] = v;
    }
    closedir(dir);
    return n;
}

/*  How many of replica i's established connections go to each node:
    per[k - 1] for node k (at most H_GALERA_NODES_MAX nodes). */
static void conns_per_node(int i, int *per, int max)
{
    memset(per, 0, (size_t) max * sizeof *per);
    h_replica_t *r = h_replica(i);
    if (!r->pid)
        return;
    unsigned long ino[MAX_SOCKS];
    int nino = socket_inodes(r->pid, ino, MAX_SOCKS);
    mt_dsn_t *d = cluster_dsn(r->cluster);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/net/tcp", (int) r->pid);
    FILE *f = fopen(path, "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        unsigned rport, state;
        unsigned long inode;
        /*  sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*d: %*x:%*x %*x:%x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &rport, &state,
                   &inode) != 3 || state != 1)      /* 1: ESTABLISHED */
            continue;
        bool ours = false;
        for (int k = 0; k < nino && !ours; k++)
            ours = ino[k] == inode;
        for (unsigned h = 0; ours && h < d->nhosts && (int) h < max; h++)
            if (d->hosts[h].port == rport)
                per[h]++;
    }
    if (f)
        fclose(f);
    mt_dsn_destroy(&d);
}

int h_db_conns(int i, int k)
{
    int per[H_GALERA_NODES_MAX];
    conns_per_node(i, per, H_GALERA_NODES_MAX);
    return k >= 1 && k <= H_GALERA_NODES_MAX ? per[k - 1] : 0;
}
