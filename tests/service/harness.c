/*  harness.c — see harness.h: the test's state, set-up and tear-down,
    time, and the logs printed when a test fails. */
#include "harness_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

harness_t h_state;

/* ---- time ---------------------------------------------------------------- */

int64_t h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t h_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void h_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* ---- logs ----------------------------------------------------------------- */

/*  Async-signal-safe: the watchdog calls it from its handler. */
static void put(const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(2, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t) w;
    }
}

#define DUMP_MAX (96 * 1024)    /* the end of each log */

static void dump_one(const h_replica_t *r)
{
    put("\n======== replica ");
    put(r->id);
    put(" log: ");
    put(r->log);
    put(" ========\n");
    int fd = open(r->log, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        put("(no log)\n");
        return;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > DUMP_MAX ? size - DUMP_MAX : 0;
    if (from)
        put("[... earlier lines cut ...]\n");
    lseek(fd, from, SEEK_SET);
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf - 1)) > 0) {
        buf[n] = '\0';
        put(buf);
    }
    close(fd);
    put("======== end of replica ");
    put(r->id);
    put(" ========\n");
}

static bool s_dumped;

void h_dump_logs(const char *why)
{
    if (s_dumped)
        return;
    s_dumped = true;
    put("\n*** service test failed (");
    put(why ? why : "?");
    put("); the replicas' logs follow ***\n");
    for (int i = 0; i < h_state.n; i++)
        dump_one(&h_state.r[i]);
}

static void watchdog(int sig)
{
    (void) sig;
    put("\n*** watchdog: the test is about to time out ***\n");
    h_dump_logs("watchdog");
}

/* ---- ports ------------------------------------------------------------------ */

static bool port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bool ok = bind(fd, (struct sockaddr *) &a, sizeof a) == 0;
    close(fd);
    return ok;
}

/*  A previous test's replicas may still be dying (Check kills its process
    group after the test): wait for the ports rather than fail. */
static void wait_ports(void)
{
    int64_t deadline = h_now_ms() + 20000;
    for (int i = 0; i < h_state.n; i++) {
        for (int p = h_state.r[i].port; p <= h_state.r[i].port + 1; p++) {
            while (!port_free(p) && h_now_ms() < deadline)
                h_sleep_ms(100);
            ck_assert_msg(port_free(p),
                          "port %d is in use: another run of this test program? "
                          "(the block is METACTOR_TEST_PORT_BASE, cmake -DMT_TEST_SVC_PORT=...)", p);
        }
    }
}

/* ---- set-up and tear-down ------------------------------------------------------ */

void h_setup_clusters(const h_cluster_spec_t *spec, int ncl, int timeout_s)
{
    ck_assert_msg(ncl >= 1 && ncl <= H_MAX_CLUSTERS, "1-%d clusters", H_MAX_CLUSTERS);
    memset(&h_state, 0, sizeof h_state);
    s_dumped = false;
    int total = 0;
    for (int c = 0; c < ncl; c++) {
        ck_assert_msg(spec[c].db && *spec[c].db && spec[c].n >= 1, "cluster %d: db and n", c);
        ck_assert_msg(ncl == 1 || (spec[c].id_prefix && *spec[c].id_prefix),
                      "cluster %d: several clusters need an id_prefix each", c);
        total += spec[c].n;
    }
    /*  Ports come from the program's block of 20 (tests/service/CMakeLists.txt). */
    ck_assert_msg(total <= H_MAX_REPLICAS, "at most %d replicas in all (got %d)",
                  H_MAX_REPLICAS, total);

    const char *bin = getenv("METACTOR_TEST_METACTORD");
    ck_assert_msg(bin && access(bin, X_OK) == 0,
                  "METACTOR_TEST_METACTORD is not an executable metactord: run through ctest");
    const char *pb = getenv("METACTOR_TEST_PORT_BASE");
    ck_assert_msg(pb && atoi(pb) > 1024 && atoi(pb) < 65000, "METACTOR_TEST_PORT_BASE is not set");
    const char *logdir = getenv("METACTOR_TEST_LOGDIR");
    if (!logdir || !*logdir)
        logdir = ".";
    mkdir(logdir, 0755);
    /*  The tests of one program run one after another: each starts the
        program's logs afresh (a failing test prints them first). */
    snprintf(h_state.log_prefix, sizeof h_state.log_prefix, "%s/%s", logdir,
             program_invocation_short_name);

    int base = atoi(pb);
    h_state.ncl = ncl;
    for (int c = 0; c < ncl; c++) {
        hi_cluster_t *cl = &h_state.cl[c];
        snprintf(cl->db, sizeof cl->db, "%s", spec[c].db);
        cl->dsn = hi_dsn_for(spec[c].db);
        cl->first = h_state.n;
        cl->n = spec[c].n;
        for (int k = 0; k < spec[c].n; k++) {
            int i = h_state.n++;
            h_replica_t *r = &h_state.r[i];
            r->cluster = c;
            /*  One cluster without a prefix: A, B, C, ... as always. */
            if (spec[c].id_prefix && *spec[c].id_prefix)
                snprintf(r->id, sizeof r->id, "%s%d", spec[c].id_prefix, k);
            else
                snprintf(r->id, sizeof r->id, "%c", 'A' + k);
            r->port = base + 2 * i;
            snprintf(r->endpoint, sizeof r->endpoint, "tcp://127.0.0.1:%d", r->port);
            snprintf(r->pub_endpoint, sizeof r->pub_endpoint, "tcp://127.0.0.1:%d", r->port + 1);
            char log[sizeof r->log];
            snprintf(log, sizeof log, "%s.%s.log", h_state.log_prefix, r->id);
            memcpy(r->log, log, sizeof log);
            unlink(r->log);
            r->next_rid = 1;
        }
    }
    for (int i = 0; i < h_state.n; i++)
        for (int k = 0; k < i; k++)
            ck_assert_msg(strcmp(h_state.r[i].id, h_state.r[k].id) != 0, "replica id %s twice",
                          h_state.r[i].id);
    for (int c = 0; c < ncl; c++)
        for (int k = 0; k < c; k++)
            ck_assert_msg(strcmp(h_state.cl[c].db, h_state.cl[k].db) != 0, "database %s twice",
                          h_state.cl[c].db);
    h_state.zctx = zmq_ctx_new();
    ck_assert_ptr_nonnull(h_state.zctx);
    wait_ports();
    for (int c = 0; c < ncl; c++)
        hi_db_fresh(c);

    struct sigaction sa = { .sa_handler = watchdog, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    /*  Check scales its timeouts by CK_TIMEOUT_MULTIPLIER: so does the
        watchdog. */
    const char *mult = getenv("CK_TIMEOUT_MULTIPLIER");
    if (mult && atof(mult) > 0)
        timeout_s = (int) (timeout_s * atof(mult));
    if (timeout_s > 10)
        alarm((unsigned) (timeout_s - 5));
}

void h_setup(const char *db, int n, int timeout_s)
{
    h_cluster_spec_t one = { db, n, NULL };
    h_setup_clusters(&one, 1, timeout_s);
}

h_replica_t *h_replica(int i)
{
    ck_assert(i >= 0 && i < h_state.n);
    return &h_state.r[i];
}

void hi_check_cluster(int c)
{
    ck_assert_msg(c >= 0 && c < h_state.ncl, "no cluster %d (%d set up)", c, h_state.ncl);
}

const char *h_dsn(void)
{
    return h_state.cl[0].dsn;
}

int h_nclusters(void)
{
    return h_state.ncl;
}

int h_cluster_first(int c)
{
    hi_check_cluster(c);
    return h_state.cl[c].first;
}

int h_cluster_size(int c)
{
    hi_check_cluster(c);
    return h_state.cl[c].n;
}

const char *h_cluster_dsn(int c)
{
    hi_check_cluster(c);
    return h_state.cl[c].dsn;
}

void *h_zctx(void)
{
    return h_state.zctx;
}

void hi_close_sock(void **s)
{
    if (*s) {
        int zero = 0;
        zmq_setsockopt(*s, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(*s);
        *s = NULL;
    }
}

void h_teardown(void)
{
    alarm(0);
    char bad[1024] = "";
    hi_stop_all(bad, sizeof bad);
    for (int i = 0; i < h_state.nsocks; i++)
        hi_close_sock(&h_state.socks[i]);
    h_state.nsocks = 0;
    if (h_state.zctx)
        zmq_ctx_term(h_state.zctx);
    h_state.zctx = NULL;
    for (int i = 0; i < h_state.n; i++) {
        free(h_state.r[i].dsn);
        h_state.r[i].dsn = NULL;
    }
    H_ASSERT(bad[0] == '\0', "%s", bad);
    for (int c = 0; c < h_state.ncl; c++) {
        hi_db_drop(c);
        free(h_state.cl[c].dsn);
        h_state.cl[c].dsn = NULL;
    }
}
