/*  harness.c — see harness.h. */
#include "harness.h"

#include "mt_dsn.h"

#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/*  One cluster: its replicas are r[first .. first + n - 1]. */
typedef struct {
    char db[65];
    char *dsn;
    int first, n;
} cluster_t;

typedef struct {
    int n;                      /* replicas of every cluster */
    h_replica_t r[H_MAX_REPLICAS];
    int ncl;
    cluster_t cl[H_MAX_CLUSTERS];
    void *zctx;
    void *socks[32];            /* the tests' own sockets, closed at teardown */
    int nsocks;
    char log_prefix[400];
} harness_t;

static harness_t H;

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
    for (int i = 0; i < H.n; i++)
        dump_one(&H.r[i]);
}

static void watchdog(int sig)
{
    (void) sig;
    put("\n*** watchdog: the test is about to time out ***\n");
    h_dump_logs("watchdog");
}

/* ---- the database ----------------------------------------------------------- */

static char *dsn_for(const char *db)
{
    const char *base = getenv("METACTOR_TEST_DSN");
    ck_assert_msg(base && *base, "METACTOR_TEST_DSN is not set: run through ctest");
    const char *slash = strstr(base, "://");
    ck_assert_ptr_nonnull(slash);
    slash = strchr(slash + 3, '/');
    ck_assert_ptr_nonnull(slash);
    const char *q = strchr(slash, '?');
    size_t n = (size_t) (slash - base) + 1 + strlen(db) + (q ? strlen(q) : 0) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s/%s%s", (int) (slash - base), base, db, q ? q : "");
    return out;
}

static MYSQL *db_connect(int c, bool with_db)
{
    mt_dsn_t *dsn;
    char err[256];
    ck_assert_msg(mt_dsn_parse(H.cl[c].dsn, &dsn, err, sizeof err) == 0, "%s", err);
    MYSQL *m = mysql_init(NULL);
    const char *host = dsn->socket ? "localhost" : dsn->host;
    if (!mysql_real_connect(m, host, dsn->user, dsn->password, with_db ? dsn->db : NULL,
                            dsn->port, dsn->socket, 0)) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mysql_error(m));
        mysql_close(m);
        mt_dsn_destroy(&dsn);
        ck_abort_msg("connect to the test database: %s", msg);
    }
    mt_dsn_destroy(&dsn);
    return m;
}

static void db_sql(MYSQL *m, const char *sql)
{
    ck_assert_msg(mysql_query(m, sql) == 0, "%s: %s", sql, mysql_error(m));
}

static void check_cluster(int c)
{
    ck_assert_msg(c >= 0 && c < H.ncl, "no cluster %d (%d set up)", c, H.ncl);
}

void h_db_exec_in(int c, const char *sql)
{
    check_cluster(c);
    MYSQL *m = db_connect(c, true);
    db_sql(m, sql);
    mysql_close(m);
}

void h_db_exec(const char *sql)
{
    h_db_exec_in(0, sql);
}

char *h_db_query(int c, const char *sql)
{
    check_cluster(c);
    MYSQL *m = db_connect(c, true);
    db_sql(m, sql);
    MYSQL_RES *res = mysql_store_result(m);
    char *out = NULL;
    if (res) {
        MYSQL_ROW row = mysql_fetch_row(res);
        if (row && mysql_num_fields(res) > 0 && row[0])
            out = strdup(row[0]);
        mysql_free_result(res);
    }
    mysql_close(m);
    return out;
}

static void db_fresh(int c)
{
    MYSQL *m = db_connect(c, false);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", H.cl[c].db);
    db_sql(m, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE `%s`", H.cl[c].db);
    db_sql(m, sql);
    mysql_close(m);
}

static void db_drop(int c)
{
    MYSQL *m = db_connect(c, false);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", H.cl[c].db);
    db_sql(m, sql);
    mysql_close(m);
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
    for (int i = 0; i < H.n; i++) {
        for (int p = H.r[i].port; p <= H.r[i].port + 1; p++) {
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
    memset(&H, 0, sizeof H);
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
    snprintf(H.log_prefix, sizeof H.log_prefix, "%s/%s", logdir, program_invocation_short_name);

    int base = atoi(pb);
    H.ncl = ncl;
    for (int c = 0; c < ncl; c++) {
        cluster_t *cl = &H.cl[c];
        snprintf(cl->db, sizeof cl->db, "%s", spec[c].db);
        cl->dsn = dsn_for(spec[c].db);
        cl->first = H.n;
        cl->n = spec[c].n;
        for (int k = 0; k < spec[c].n; k++) {
            int i = H.n++;
            h_replica_t *r = &H.r[i];
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
            snprintf(log, sizeof log, "%s.%s.log", H.log_prefix, r->id);
            memcpy(r->log, log, sizeof log);
            unlink(r->log);
            r->next_rid = 1;
        }
    }
    for (int i = 0; i < H.n; i++)
        for (int k = 0; k < i; k++)
            ck_assert_msg(strcmp(H.r[i].id, H.r[k].id) != 0, "replica id %s twice", H.r[i].id);
    for (int c = 0; c < ncl; c++)
        for (int k = 0; k < c; k++)
            ck_assert_msg(strcmp(H.cl[c].db, H.cl[k].db) != 0, "database %s twice", H.cl[c].db);
    H.zctx = zmq_ctx_new();
    ck_assert_ptr_nonnull(H.zctx);
    wait_ports();
    for (int c = 0; c < ncl; c++)
        db_fresh(c);

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
    ck_assert(i >= 0 && i < H.n);
    return &H.r[i];
}

const char *h_dsn(void)
{
    return H.cl[0].dsn;
}

int h_nclusters(void)
{
    return H.ncl;
}

int h_cluster_first(int c)
{
    check_cluster(c);
    return H.cl[c].first;
}

int h_cluster_size(int c)
{
    check_cluster(c);
    return H.cl[c].n;
}

const char *h_cluster_dsn(int c)
{
    check_cluster(c);
    return H.cl[c].dsn;
}

void *h_zctx(void)
{
    return H.zctx;
}

static void close_sock(void **s)
{
    if (*s) {
        int zero = 0;
        zmq_setsockopt(*s, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(*s);
        *s = NULL;
    }
}

/*  Waits for pid to exit within ms; returns its status, or -1. */
static int reap(pid_t pid, int ms)
{
    int64_t deadline = h_now_ms() + ms;
    for (;;) {
        int status;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return status;
        if (w < 0 && errno != EINTR)
            return -1;
        if (h_now_ms() >= deadline)
            return -2;
        h_sleep_ms(20);
    }
}

static void describe_status(int status, char *out, size_t n)
{
    if (status == -2)
        snprintf(out, n, "still running");
    else if (status < 0)
        snprintf(out, n, "not a child");
    else if (WIFEXITED(status))
        snprintf(out, n, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, n, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(out, n, "status 0x%x", status);
}

void h_teardown(void)
{
    alarm(0);
    char bad[1024] = "";
    for (int i = 0; i < H.n; i++) {
        h_replica_t *r = &H.r[i];
        close_sock(&r->sock);
        if (!r->pid)
            continue;
        if (r->paused)
            kill(r->pid, SIGCONT);
        kill(r->pid, SIGTERM);
    }
    for (int i = 0; i < H.n; i++) {
        h_replica_t *r = &H.r[i];
        if (!r->pid)
            continue;
        int st = reap(r->pid, H_STOP_MS);
        if (st == -2) {
            kill(r->pid, SIGKILL);
            reap(r->pid, 10000);
        }
        if (st != 0) {
            char d[64];
            describe_status(st, d, sizeof d);
            size_t l = strlen(bad);
            snprintf(bad + l, sizeof bad - l, "%s replica %s: %s after SIGTERM",
                     l ? ";" : "", r->id, d);
        }
        r->pid = 0;
    }
    for (int i = 0; i < H.nsocks; i++)
        close_sock(&H.socks[i]);
    H.nsocks = 0;
    if (H.zctx)
        zmq_ctx_term(H.zctx);
    H.zctx = NULL;
    H_ASSERT(bad[0] == '\0', "%s", bad);
    for (int c = 0; c < H.ncl; c++) {
        db_drop(c);
        free(H.cl[c].dsn);
        H.cl[c].dsn = NULL;
    }
}

/* ---- processes ----------------------------------------------------------------- */

void h_set_args(int i, ...)
{
    h_replica_t *r = h_replica(i);
    va_list ap;
    va_start(ap, i);
    int n = 0;
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL) {
        ck_assert_int_lt(n, H_MAX_ARGS - 1);
        r->args[n++] = a;
    }
    r->args[n] = NULL;
    va_end(ap);
}

bool h_running(int i)
{
    return h_replica(i)->pid != 0;
}

static void spawn(h_replica_t *r)
{
    const char *bin = getenv("METACTOR_TEST_METACTORD");
    const char *level = getenv("METACTOR_TEST_LOG_LEVEL");
    const char *argv[64];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "--replica-id";
    argv[n++] = r->id;
    argv[n++] = "--endpoint";
    argv[n++] = r->endpoint;
    argv[n++] = "--publish";
    argv[n++] = r->pub_endpoint;
    argv[n++] = "--db";
    argv[n++] = H.cl[r->cluster].dsn;
    argv[n++] = "--reload-interval";
    argv[n++] = "1000";
    argv[n++] = "--beat-interval";
    argv[n++] = "250";
    argv[n++] = "--alive-window";
    argv[n++] = "2500";
    argv[n++] = "--workers";
    argv[n++] = "2";
    argv[n++] = "--log-level";
    argv[n++] = level && *level ? level : "info";
    for (int k = 0; r->args[k]; k++)
        argv[n++] = r->args[k];
    argv[n] = NULL;

    /*  The log: a marker line per start, so restarts are told apart. */
    int fd = open(r->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ck_assert_msg(fd >= 0, "cannot open %s: %s", r->log, strerror(errno));
    char line[2048];
    int len = snprintf(line, sizeof line, "--- harness: start #%d of replica %s:", r->starts + 1,
                       r->id);
    for (int k = 0; k < n && len < (int) sizeof line - 2; k++)
        len += snprintf(line + len, sizeof line - (size_t) len, " %s", argv[k]);
    if (len > (int) sizeof line - 2)
        len = (int) sizeof line - 2;
    line[len++] = '\n';
    ck_assert_int_eq(write(fd, line, (size_t) len), len);

    pid_t parent = getpid();
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        /*  Dies with the test process, whatever becomes of it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        for (int k = 3; k < 4096; k++)
            close(k);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGALRM, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        execv(bin, (char *const *) argv);
        dprintf(2, "harness: exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    close(fd);
    r->pid = pid;
    r->paused = false;
    r->starts++;
}

static bool lists_alive(const h_reply_t *info, const char *id)
{
    const msgpack_object *m = h_get(info->result, "members");
    if (!m || m->type != MSGPACK_OBJECT_ARRAY)
        return false;
    for (uint32_t k = 0; k < m->via.array.size; k++) {
        const msgpack_object *e = &m->via.array.ptr[k];
        if (h_is_str(e, "replica_id", id)) {
            const msgpack_object *a = h_get(e, "alive");
            return a && a->type == MSGPACK_OBJECT_BOOLEAN && a->via.boolean;
        }
    }
    return false;
}

/*  Fails at once if replica i has exited (with its status and logs). */
static void check_process(int i)
{
    h_replica_t *r = &H.r[i];
    if (!r->pid)
        return;
    int st = reap(r->pid, 0);
    if (st >= 0) {
        char d[64];
        describe_status(st, d, sizeof d);
        r->pid = 0;
        H_ASSERT(false, "replica %s exited: %s", r->id, d);
    }
}

void h_start(int i)
{
    h_replica_t *r = h_replica(i);
    ck_assert_msg(r->pid == 0, "replica %s is running already", r->id);
    spawn(r);
    h_reconnect(i);
    int64_t deadline = h_now_ms() + H_T;
    char last[600] = "no reply";
    for (;;) {
        check_process(i);
        /*  Short calls: a replica still starting may not have bound yet. */
        h_reply_t *info = h_call_ms(i, 500, "{s:s}", "op", "cluster.info");
        bool up = info && info->ok && lists_alive(info, r->id);
        if (info && !info->ok)
            snprintf(last, sizeof last, "%s: %s", info->code, info->message);
        else if (info)
            snprintf(last, sizeof last, "not listed alive by itself");
        h_reply_free(&info);
        if (up)
            return;
        H_ASSERT(h_now_ms() < deadline, "replica %s did not come up (cluster.info: %s)", r->id,
                 last);
        h_sleep_ms(100);
    }
}

/*  Every running replica lists every running replica of its own cluster
    alive (clusters do not know each other). */
static bool cluster_formed(void)
{
    for (int i = 0; i < H.n; i++) {
        if (!H.r[i].pid || H.r[i].paused)
            continue;
        check_process(i);
        h_reply_t *info = h_call_ms(i, 2000, "{s:s}", "op", "cluster.info");
        bool all = info && info->ok;
        for (int k = 0; all && k < H.n; k++)
            if (H.r[k].pid && !H.r[k].paused && H.r[k].cluster == H.r[i].cluster)
                all = lists_alive(info, H.r[k].id);
        h_reply_free(&info);
        if (!all)
            return false;
    }
    return true;
}

void h_wait_cluster(void)
{
    H_WAIT(cluster_formed(), H_T, "the replicas did not all see each other alive");
    /*  Every replica knows every other as alive; the bus connects its SUB
        sockets when membership tells it, i.e. by now or at the next beat:
        give it a couple of beats (the tests never depend on it: what a
        lost notice would miss, the reload brings). */
    h_sleep_ms(600);
}

void h_start_all(void)
{
    for (int i = 0; i < H.n; i++)
        h_start(i);
    h_wait_cluster();
}

void h_stop(int i)
{
    h_replica_t *r = h_replica(i);
    ck_assert_msg(r->pid, "replica %s is not running", r->id);
    close_sock(&r->sock);
    if (r->paused)
        kill(r->pid, SIGCONT);
    r->paused = false;
    kill(r->pid, SIGTERM);
    int st = reap(r->pid, H_STOP_MS);
    if (st == -2) {
        kill(r->pid, SIGKILL);
        reap(r->pid, 10000);
    }
    r->pid = 0;
    char d[64];
    describe_status(st, d, sizeof d);
    H_ASSERT(st == 0, "replica %s: %s after SIGTERM (expected exit status 0)", r->id, d);
}

void h_kill(int i)
{
    h_replica_t *r = h_replica(i);
    ck_assert_msg(r->pid, "replica %s is not running", r->id);
    close_sock(&r->sock);
    kill(r->pid, SIGKILL);
    int st = reap(r->pid, 20000);
    r->pid = 0;
    r->paused = false;
    H_ASSERT(st >= 0, "replica %s did not die of SIGKILL", r->id);
    int fd = open(r->log, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd >= 0) {
        dprintf(fd, "--- harness: replica %s killed with SIGKILL\n", r->id);
        close(fd);
    }
}

void h_pause(int i)
{
    h_replica_t *r = h_replica(i);
    ck_assert(r->pid && !r->paused);
    ck_assert_int_eq(kill(r->pid, SIGSTOP), 0);
    r->paused = true;
}

void h_resume(int i)
{
    h_replica_t *r = h_replica(i);
    ck_assert(r->pid && r->paused);
    ck_assert_int_eq(kill(r->pid, SIGCONT), 0);
    r->paused = false;
}

/* ---- packing -------------------------------------------------------------------- */

static const char *skip_sep(const char *f)
{
    while (*f == ' ' || *f == ',' || *f == ':' || *f == '\t' || *f == '\n')
        f++;
    return f;
}

/*  f points just after an opening bracket: counts the elements up to its
    closing one. */
static uint32_t count_items(const char *f)
{
    uint32_t n = 0;
    int depth = 0;
    for (; *f; f++) {
        switch (*f) {
        case '{': case '[':
            if (depth == 0)
                n++;
            depth++;
            break;
        case '}': case ']':
            if (depth == 0)
                return n;
            depth--;
            break;
        case 's': case 'i': case 'I': case 'U': case 'b': case 'n': case 'r':
            if (depth == 0)
                n++;
            break;
        default:
            break;
        }
    }
    ck_abort_msg("h_pack: unbalanced format");
    return 0;
}

static const char *pack_one(msgpack_packer *pk, const char *f, va_list *ap);

static const char *pack_items(msgpack_packer *pk, const char *f, va_list *ap, char close)
{
    for (;;) {
        f = skip_sep(f);
        if (*f == close)
            return f + 1;
        ck_assert_msg(*f, "h_pack: unbalanced format");
        f = pack_one(pk, f, ap);
    }
}

static const char *pack_one(msgpack_packer *pk, const char *f, va_list *ap)
{
    f = skip_sep(f);
    switch (*f) {
    case '{': {
        uint32_t n = count_items(f + 1);
        ck_assert_msg(n % 2 == 0, "h_pack: a map needs key/value pairs");
        msgpack_pack_map(pk, n / 2);
        return pack_items(pk, f + 1, ap, '}');
    }
    case '[': {
        uint32_t n = count_items(f + 1);
        msgpack_pack_array(pk, n);
        return pack_items(pk, f + 1, ap, ']');
    }
    case 's': {
        const char *s = va_arg(*ap, const char *);
        if (s)
            msgpack_pack_str_with_body(pk, s, strlen(s));
        else
            msgpack_pack_nil(pk);
        return f + 1;
    }
    case 'i':
        msgpack_pack_int(pk, va_arg(*ap, int));
        return f + 1;
    case 'I':
        msgpack_pack_int64(pk, va_arg(*ap, int64_t));
        return f + 1;
    case 'U':
        msgpack_pack_uint64(pk, va_arg(*ap, uint64_t));
        return f + 1;
    case 'b':
        if (va_arg(*ap, int))
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        return f + 1;
    case 'n':
        msgpack_pack_nil(pk);
        return f + 1;
    case 'r': {
        const void *data = va_arg(*ap, const void *);
        size_t size = va_arg(*ap, size_t);
        /*  The packer's callback writes to its buffer: so may we. */
        pk->callback(pk->data, data, size);
        return f + 1;
    }
    default:
        ck_abort_msg("h_pack: bad format character '%c'", *f);
        return f;
    }
}

void h_vpack(msgpack_packer *pk, const char *fmt, va_list *ap)
{
    const char *end = skip_sep(pack_one(pk, fmt, ap));
    ck_assert_msg(*end == '\0', "h_pack: one top-level value expected: %s", fmt);
}

void h_pack(msgpack_packer *pk, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    h_vpack(pk, fmt, &ap);
    va_end(ap);
}

/* ---- replies ---------------------------------------------------------------------- */

static void copy_str(char *dst, size_t cap, const msgpack_object *o)
{
    dst[0] = '\0';
    if (o && o->type == MSGPACK_OBJECT_STR) {
        size_t n = o->via.str.size < cap - 1 ? o->via.str.size : cap - 1;
        memcpy(dst, o->via.str.ptr, n);
        dst[n] = '\0';
    }
}

h_reply_t *h_reply_parse(const void *data, size_t size)
{
    h_reply_t *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    r->data = malloc(size ? size : 1);
    ck_assert_ptr_nonnull(r->data);
    memcpy(r->data, data, size);
    r->size = size;
    msgpack_unpacked_init(&r->u);
    size_t off = 0;
    if (msgpack_unpack_next(&r->u, r->data, size, &off) != MSGPACK_UNPACK_SUCCESS
        || off != size || r->u.data.type != MSGPACK_OBJECT_MAP) {
        h_reply_free(&r);
        return NULL;
    }
    r->top = &r->u.data;
    const msgpack_object *ok = h_get(r->top, "ok");
    r->ok = ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean;
    const msgpack_object *rid = h_get(r->top, "rid");
    if (rid && rid->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        r->has_rid = true;
        r->rid = rid->via.u64;
    }
    r->result = h_get(r->top, "result");
    copy_str(r->code, sizeof r->code, h_get(r->top, "error/code"));
    copy_str(r->message, sizeof r->message, h_get(r->top, "error/message"));
    return r;
}

void h_reply_free(h_reply_t **rp)
{
    h_reply_t *r = *rp;
    if (!r)
        return;
    *rp = NULL;
    msgpack_unpacked_destroy(&r->u);
    free(r->data);
    free(r);
}

/* ---- calls ------------------------------------------------------------------------- */

void h_reconnect(int i)
{
    h_replica_t *r = h_replica(i);
    close_sock(&r->sock);
    r->sock = zmq_socket(H.zctx, ZMQ_DEALER);
    ck_assert_ptr_nonnull(r->sock);
    int zero = 0;
    zmq_setsockopt(r->sock, ZMQ_LINGER, &zero, sizeof zero);
    ck_assert_int_eq(zmq_connect(r->sock, r->endpoint), 0);
}

/*  Receives one message on a DEALER: [empty delimiter,] body. The body
    (caller frees) or NULL on timeout. */
static char *recv_body(void *sock, int timeout_ms, size_t *size)
{
    zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
    int64_t deadline = h_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - h_now_ms();
        if (left < 0)
            return NULL;
        int rc = zmq_poll(&item, 1, (long) left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return NULL;
        char *body = NULL;
        *size = 0;
        int more = 1;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, sock, 0) < 0) {
                zmq_msg_close(&m);
                if (errno == EINTR)
                    continue;
                free(body);
                return NULL;
            }
            /*  The last frame is the body; earlier ones the envelope. */
            free(body);
            *size = zmq_msg_size(&m);
            body = malloc(*size ? *size : 1);
            memcpy(body, zmq_msg_data(&m), *size);
            more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
        return body;
    }
}

static void send_body(void *sock, const void *body, size_t size)
{
    ck_assert_int_eq(zmq_send(sock, "", 0, ZMQ_SNDMORE), 0);
    ck_assert_int_eq(zmq_send(sock, body, size, 0), (int) size);
}

h_reply_t *h_vcall(int i, int timeout_ms, const char *fmt, va_list *ap)
{
    h_replica_t *r = h_replica(i);
    if (!r->sock)
        h_reconnect(i);
    uint64_t rid = r->next_rid++;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    /*  {"rid": rid, <the format's pairs>} */
    ck_assert_msg(*skip_sep(fmt) == '{', "h_call: the request must be a map");
    {
        uint32_t n = count_items(skip_sep(fmt) + 1);
        ck_assert_msg(n % 2 == 0, "h_call: a map needs key/value pairs");
        msgpack_pack_map(&pk, n / 2 + 1);
        msgpack_pack_str_with_body(&pk, "rid", 3);
        msgpack_pack_uint64(&pk, rid);
        const char *end = skip_sep(pack_items(&pk, skip_sep(fmt) + 1, ap, '}'));
        ck_assert_msg(*end == '\0', "h_call: one map expected: %s", fmt);
    }
    send_body(r->sock, buf.data, buf.size);
    msgpack_sbuffer_destroy(&buf);
    int64_t deadline = h_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - h_now_ms();
        if (left <= 0)
            return NULL;
        size_t size;
        char *body = recv_body(r->sock, (int) left, &size);
        if (!body)
            return NULL;
        h_reply_t *rep = h_reply_parse(body, size);
        free(body);
        if (rep && rep->has_rid && rep->rid == rid)
            return rep;
        h_reply_free(&rep);         /* an earlier call's late reply */
    }
}

h_reply_t *h_call_ms(int i, int timeout_ms, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    h_reply_t *r = h_vcall(i, timeout_ms, fmt, &ap);
    va_end(ap);
    return r;
}

h_reply_t *h_call(int i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    h_reply_t *r = h_vcall(i, H_CALL_MS, fmt, &ap);
    va_end(ap);
    return r;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

h_reply_t *h_ok_at(const char *file, int line, int i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    h_reply_t *r = h_vcall(i, H_CALL_MS, fmt, &ap);
    va_end(ap);
    file = base_name(file);
    H_ASSERT(r, "%s:%d: replica %s: no reply", file, line, H.r[i].id);
    if (!r->ok) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s: %s", r->code, r->message);
        h_reply_free(&r);
        H_ASSERT(false, "%s:%d: replica %s: %s", file, line, H.r[i].id, msg);
    }
    H_ASSERT(r->result && r->result->type == MSGPACK_OBJECT_MAP,
             "%s:%d: replica %s: ok without a result map", file, line, H.r[i].id);
    return r;
}

void h_err_at(const char *file, int line, int i, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    h_reply_t *r = h_vcall(i, H_CALL_MS, fmt, &ap);
    va_end(ap);
    file = base_name(file);
    H_ASSERT(r, "%s:%d: replica %s: no reply", file, line, H.r[i].id);
    char got[600];
    snprintf(got, sizeof got, "%s (%s)", r->ok ? "ok" : r->code, r->message);
    bool match = !r->ok && strcmp(r->code, code) == 0;
    h_reply_free(&r);
    H_ASSERT(match, "%s:%d: replica %s: expected %s, got %s", file, line, H.r[i].id, code, got);
}

h_reply_t *h_raw(int i, const void *body, size_t size, int timeout_ms)
{
    h_replica_t *r = h_replica(i);
    if (!r->sock)
        h_reconnect(i);
    send_body(r->sock, body, size);
    size_t n;
    char *b = recv_body(r->sock, timeout_ms, &n);
    if (!b)
        return NULL;
    h_reply_t *rep = h_reply_parse(b, n);
    free(b);
    H_ASSERT(rep, "replica %s: a reply that is not a msgpack map", r->id);
    return rep;
}

/* ---- paths ------------------------------------------------------------------------- */

static const msgpack_object *map_key(const msgpack_object *o, const char *key, size_t n)
{
    if (!o || o->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t k = 0; k < o->via.map.size; k++) {
        const msgpack_object *ko = &o->via.map.ptr[k].key;
        if (ko->type == MSGPACK_OBJECT_STR && ko->via.str.size == n
            && memcmp(ko->via.str.ptr, key, n) == 0)
            return &o->via.map.ptr[k].val;
    }
    return NULL;
}

const msgpack_object *h_get(const msgpack_object *o, const char *path)
{
    while (o && *path) {
        const char *end = strchr(path, '/');
        size_t n = end ? (size_t) (end - path) : strlen(path);
        if (o->type == MSGPACK_OBJECT_ARRAY) {
            char *stop;
            unsigned long idx = strtoul(path, &stop, 10);
            if (stop != path + n || idx >= o->via.array.size)
                return NULL;
            o = &o->via.array.ptr[idx];
        }
        else
            o = map_key(o, path, n);
        path += n;
        if (*path == '/')
            path++;
    }
    return o;
}

bool h_has(const msgpack_object *o, const char *path)
{
    return h_get(o, path) != NULL;
}

bool h_is_int(const msgpack_object *o)
{
    return o && (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                 || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER);
}

int64_t h_int(const msgpack_object *o, const char *path)
{
    const msgpack_object *v = h_get(o, path);
    H_ASSERT(h_is_int(v), "%s: not an integer", path);
    return v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t) v->via.u64 : v->via.i64;
}

bool h_bool(const msgpack_object *o, const char *path)
{
    const msgpack_object *v = h_get(o, path);
    H_ASSERT(v && v->type == MSGPACK_OBJECT_BOOLEAN, "%s: not a boolean", path);
    return v->via.boolean;
}

bool h_obj_is_str(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n
        && memcmp(o->via.str.ptr, s, n) == 0;
}

bool h_is_str(const msgpack_object *o, const char *path, const char *s)
{
    return h_obj_is_str(h_get(o, path), s);
}

char *h_sdup(const msgpack_object *o, const char *path)
{
    const msgpack_object *v = h_get(o, path);
    H_ASSERT(v && v->type == MSGPACK_OBJECT_STR, "%s: not a string", path);
    return strndup(v->via.str.ptr, v->via.str.size);
}

uint32_t h_size(const msgpack_object *o, const char *path)
{
    const msgpack_object *v = h_get(o, path);
    H_ASSERT(v && (v->type == MSGPACK_OBJECT_MAP || v->type == MSGPACK_OBJECT_ARRAY),
             "%s: not a map or an array", path);
    return v->type == MSGPACK_OBJECT_MAP ? v->via.map.size : v->via.array.size;
}

/* ---- node shortcuts --------------------------------------------------------------- */

h_reply_t *h_node_get(int i, const char *id)
{
    h_reply_t *r = h_call(i, "{s:s, s:s}", "op", "node.get", "id", id);
    H_ASSERT(r, "replica %s: no reply to node.get %s", H.r[i].id, id);
    if (!r->ok && strcmp(r->code, "not_found") == 0) {
        h_reply_free(&r);
        return NULL;
    }
    char msg[600];
    snprintf(msg, sizeof msg, "%s: %s", r->code, r->message);
    H_ASSERT(r->ok && h_get(r->result, "node"), "replica %s: node.get %s: %s", H.r[i].id, id,
             msg);
    return r;
}

int64_t h_node_int(int i, const char *id, const char *field)
{
    h_reply_t *r = h_node_get(i, id);
    if (!r)
        return -1;
    char path[128];
    snprintf(path, sizeof path, "node/%s", field);
    int64_t v = h_int(r->result, path);
    h_reply_free(&r);
    return v;
}

char *h_list_ids(int i)
{
    h_reply_t *r = h_ok(i, "{s:s}", "op", "node.list");
    const msgpack_object *nodes = h_get(r->result, "nodes");
    H_ASSERT(nodes && nodes->type == MSGPACK_OBJECT_ARRAY, "node.list: no nodes array");
    size_t cap = 16, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    for (uint32_t k = 0; k < nodes->via.array.size; k++) {
        const msgpack_object *id = h_get(&nodes->via.array.ptr[k], "id");
        H_ASSERT(id && id->type == MSGPACK_OBJECT_STR, "node.list: a view without id");
        while (len + id->via.str.size + 2 > cap)
            out = realloc(out, cap *= 2);
        if (len)
            out[len++] = ',';
        memcpy(out + len, id->via.str.ptr, id->via.str.size);
        len += id->via.str.size;
        out[len] = '\0';
    }
    h_reply_free(&r);
    return out;
}

/* ---- notices ------------------------------------------------------------------------ */

void *h_socket(int type)
{
    ck_assert_int_lt(H.nsocks, (int) (sizeof H.socks / sizeof H.socks[0]));
    void *s = zmq_socket(H.zctx, type);
    ck_assert_ptr_nonnull(s);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    H.socks[H.nsocks++] = s;
    return s;
}

void h_close(void **s)
{
    for (int i = 0; i < H.nsocks; i++)
        if (H.socks[i] == *s) {
            close_sock(&H.socks[i]);
            H.socks[i] = H.socks[--H.nsocks];
            break;
        }
    *s = NULL;
}

void *h_sub(int i, const char *prefix)
{
    void *s = h_socket(ZMQ_SUB);
    ck_assert_int_eq(zmq_setsockopt(s, ZMQ_SUBSCRIBE, prefix, strlen(prefix)), 0);
    ck_assert_int_eq(zmq_connect(s, h_replica(i)->pub_endpoint), 0);
    return s;
}

h_reply_t *h_sub_recv(void *sub, char **topic, int timeout_ms)
{
    zmq_pollitem_t item = { sub, 0, ZMQ_POLLIN, 0 };
    int64_t deadline = h_now_ms() + timeout_ms;
    int rc;
    do {
        int64_t left = deadline - h_now_ms();
        if (left < 0)
            return NULL;
        rc = zmq_poll(&item, 1, (long) left);
    } while (rc < 0 && errno == EINTR);
    if (rc <= 0)
        return NULL;
    char *frames[4] = { 0 };
    size_t sizes[4] = { 0 };
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sub, 0) < 0) {
            zmq_msg_close(&m);
            if (errno == EINTR)
                continue;
            break;
        }
        if (n < 4) {
            sizes[n] = zmq_msg_size(&m);
            frames[n] = malloc(sizes[n] + 1);
            memcpy(frames[n], zmq_msg_data(&m), sizes[n]);
            frames[n][sizes[n]] = '\0';
        }
        n++;
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    H_ASSERT(n == 2, "a notice has %d frames (expected topic and body)", n);
    h_reply_t *body = h_reply_parse(frames[1], sizes[1]);
    H_ASSERT(body, "a notice body that is not a msgpack map (topic %s)", frames[0]);
    if (topic)
        *topic = frames[0];
    else
        free(frames[0]);
    free(frames[1]);
    return body;
}
