/*  rc_bench.c — figures of remote cluster references, measured from
    outside: real metactord clusters, each on its own database of one real
    MariaDB, reached over the wire protocol (PROTOCOL.md) like any client.

    Usage: mt_bench_rc FIGURE DSN BINDIR LOGDIR
      events_3          rc_writes_per_event_3 (writes): database writes per
                        hostname-replacement event, cluster A of 3 replicas;
                        rc_failover (ms): from the SIGKILL of the replica of B
                        that is the reference's hostname until every replica of
                        A holds the new hostname (mean over the events)
      events_5          rc_writes_per_event_5 (writes): the same with 5 replicas
                        in A (its failover times on stderr only)
      refresh_round_20  rc_refresh_round_20 (ms): one replica of A holding 20
                        references to 20 one-replica clusters (each on its own
                        database); the time from sending `rc.get refresh=true`
                        for all 20 at once (one DEALER, 20 requests in flight)
                        until the last reply: one refresh round, i.e. 20
                        cluster.info probes through the replica's prober pool;
                        the median over MT_BENCH_RC_ROUNDS rounds (mean, p90,
                        max and the replica's CPU per round on stderr)

    An event (events_N): cluster B has two replicas b0 and b1; A holds one
    reference "to-b" whose hostname is b0's endpoint. The replica of B that
    is the hostname is SIGKILLed; every replica of A finds its hostname dead
    (a probe of it times out: the prober's 1 s), the priority-0 replica
    writes the other one at once, the others cancel their later turns when
    its notice arrives. After all of A holds the new hostname, the bench
    waits (N + 2) refresh intervals more (the last replica's turn comes
    after N - 1 intervals) and counts the writes: the increase of
    store_rc_writes summed over A's replicas. Then the killed replica is
    started again (same id, endpoint and database) and once every replica of
    A lists it in the reference's node list, the next event kills the other
    one. MT_BENCH_RC_EVENTS events (default 5); the figure is their mean.

    The failover time is dominated by the settings: a refresh tick comes
    within one refresh interval of the death, the dead hostname's probe
    times out after 1 s (the prober's fixed timeout), then one write and one
    notice (milliseconds). The deaths are placed evenly over the refresh
    cycle (event e of E at (e + 1/2) / E of an interval after a0's last
    refresh), so the mean is that of a death at a random moment: expected
    ≈ interval / 2 + 1 s + a little; the worst case interval + 1 s.
    The alive window plays no part while A's replicas all live: a hostname
    that does not answer is replaced even while B still lists it alive.

    DSN: any DSN of the server (its database part is replaced: cluster A
    uses metactor_rcb_a, B metactor_rcb_b, the remotes metactor_rcb_r00 to
    _r19, created by metactord; scripts/bench rc drops them before each
    figure). BINDIR holds metactord (a Release build); LOGDIR gets the logs,
    FIGURE-REPLICA.log. Every process started here is stopped here (SIGTERM,
    then SIGKILL after 15 s), on a signal too; the children also get
    SIGTERM if this process dies (PR_SET_PDEATHSIG).

    Ports: MT_BENCH_RC_PORT (default 7700): A's replica i on PORT+2i (notices
    PORT+2i+1, i < 5), B's on PORT+20+2i, remote r on PORT+40+2r (r < 20).

    stdout: only figure lines, exactly `bench=NAME value=V unit=U` (3 decimals).
    stderr: diagnostics, every line starting with '#'.
    Exit status: 0 on success, 1 if anything misbehaved (a replica died,
    a write count other than one, ...), 2 on a usage error.

    Environment (optional):
      MT_BENCH_RC_PORT        base port (default 7700)
      MT_BENCH_RC_REFRESH_MS  events: --refresh-interval (default 1000)
      MT_BENCH_RC_ALIVE_MS    events: --alive-window (default 3000; the beat is
                              a third of it)
      MT_BENCH_RC_EVENTS      events: hostname-replacement events (default 5)
      MT_BENCH_RC_ROUNDS      refresh_round_20: rounds (default 30, after 3 not
                              measured)
      MT_BENCH_RC_ARGS        more metactord flags for every replica, separated
                              by spaces
      MT_BENCH_SERVER_PID     the database server's pid: its CPU time is shown
*/
#include "mt_client.h"

#include "benchutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <msgpack.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define CALL_MS 10000               /* a call that should never time out */
#define STOP_MS 15000               /* SIGTERM → SIGKILL */
#define WAIT_MS 60000               /* something that must happen */
#define MAX_PROCS 32
#define MAX_A 5
#define NREMOTES 20

static const char *g_figure;
static const char *g_dsn, *g_bindir, *g_logdir;
static int g_port;
static void *g_ctx;

/* ------------------------------------------------------------- helpers -- */

static void sleep_ms(int64_t ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int stop_all(void);
static void report_dead(void);

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "# FAILED: %s: ", g_figure ? g_figure : "rc_bench");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    report_dead();
    stop_all();
    exit(1);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static double mean(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return n ? s / (double) n : 0;
}

/*  The DSN with its database replaced by db (static buffer per call site). */
static void dsn_for(char *out, size_t cap, const char *db)
{
    const char *p = strstr(g_dsn, "://");
    const char *slash = p ? strchr(p + 3, '/') : NULL;
    if (!slash)
        die("DSN without a database part: %s", g_dsn);
    const char *q = strchr(slash, '?');
    snprintf(out, cap, "%.*s/%s%s", (int) (slash - g_dsn), g_dsn, db, q ? q : "");
}

/* ----------------------------------------------------------- cpu time -- */

static unsigned long long proc_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu", &ut, &st) != 2)
        return 0;
    return ut + st;
}

static double ticks_ms(unsigned long long t)
{
    return (double) t * 1000.0 / (double) sysconf(_SC_CLK_TCK);
}

/* ---------------------------------------------------------- processes -- */

typedef struct {
    volatile pid_t pid;             /* 0: not running; read by the signal handler */
    char name[16];
    char endpoint[64];
    char log[512];
    char *argv[40];                 /* to start it again */
    char store[40][256];
    int starts;
} proc_t;

static proc_t g_procs[MAX_PROCS];
static int g_nprocs;

static void on_signal(int sig)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (g_procs[i].pid > 0)
            kill(g_procs[i].pid, SIGTERM);
    _exit(128 + sig);
}

/*  fork + exec of p->argv; stdout and stderr to its log (appended to over
    restarts). */
static void launch(proc_t *p)
{
    int log = open(p->log, O_WRONLY | O_CREAT | (p->starts ? O_APPEND : O_TRUNC) | O_CLOEXEC, 0644);
    if (log < 0)
        die("cannot open %s: %s", p->log, strerror(errno));
    if (p->starts)
        dprintf(log, "--- rc_bench: start #%d\n", p->starts + 1);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        dup2(log, 1);
        dup2(log, 2);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execv(p->argv[0], p->argv);
        dprintf(2, "exec %s: %s\n", p->argv[0], strerror(errno));
        _exit(127);
    }
    close(log);
    p->pid = pid;
    p->starts++;
}

static void tail_log(const proc_t *p)
{
    FILE *f = fopen(p->log, "r");
    if (!f)
        return;
    char line[1024];
    long n = 0;
    while (fgets(line, sizeof line, f))
        n++;
    rewind(f);
    long i = 0;
    while (fgets(line, sizeof line, f))
        if (++i > n - 15)
            fprintf(stderr, "#   %s: %s", p->name, line);
    fclose(f);
}

/*  SIGTERM, wait; SIGKILL after STOP_MS. Returns the exit status (-1 killed). */
static int stop_proc(proc_t *p)
{
    if (p->pid <= 0)
        return 0;
    pid_t pid = p->pid;
    kill(pid, SIGTERM);
    int64_t deadline = now_us() + STOP_MS * 1000LL;
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (r < 0) {
            st = 0;
            break;
        }
        if (now_us() > deadline) {
            note("%s (pid %d) did not stop in %d ms: SIGKILL", p->name, (int) pid, STOP_MS);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            p->pid = 0;
            return -1;
        }
        sleep_ms(10);
    }
    p->pid = 0;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return -1;
}

static void kill_proc(proc_t *p)
{
    if (p->pid <= 0)
        die("%s is not running", p->name);
    kill(p->pid, SIGKILL);
    int st;
    waitpid(p->pid, &st, 0);
    p->pid = 0;
}

/*  Reports which of our processes ended by themselves, with their logs. */
static void report_dead(void)
{
    for (int i = 0; i < g_nprocs; i++) {
        proc_t *p = &g_procs[i];
        int st = 0;
        if (p->pid <= 0 || waitpid(p->pid, &st, WNOHANG) != p->pid)
            continue;
        if (WIFSIGNALED(st))
            note("%s (pid %d) was killed by signal %d", p->name, (int) p->pid, WTERMSIG(st));
        else
            note("%s (pid %d) exited with status %d", p->name, (int) p->pid, WEXITSTATUS(st));
        p->pid = 0;
        tail_log(p);
    }
}

static bool running(const proc_t *p)
{
    siginfo_t si = { 0 };
    return p->pid > 0
           && waitid(P_PID, (id_t) p->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0
           && si.si_pid == 0;
}

/*  Returns how many did not exit with status 0. */
static int stop_all(void)
{
    int bad = 0;
    for (int i = 0; i < g_nprocs; i++)
        if (g_procs[i].pid > 0)
            kill(g_procs[i].pid, SIGTERM);      /* all at once: they drain in parallel */
    for (int i = 0; i < g_nprocs; i++)
        if (g_procs[i].pid > 0) {
            int rc = stop_proc(&g_procs[i]);
            if (rc != 0) {
                note("%s exited with status %d; log %s", g_procs[i].name, rc, g_procs[i].log);
                bad++;
            }
        }
    return bad;
}

/*  A replica `id` of the cluster on database db, at port; extra flags
    (NULL-terminated) appended, then MT_BENCH_RC_ARGS. */
static proc_t *start_replica(const char *id, const char *db, int port, const char *const *extra)
{
    if (g_nprocs == MAX_PROCS)
        die("too many processes");
    proc_t *p = &g_procs[g_nprocs++];
    snprintf(p->name, sizeof p->name, "%s", id);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    memcpy(p->endpoint, ep, sizeof ep);
    snprintf(p->log, sizeof p->log, "%s/%s-%s.log", g_logdir, g_figure, id);
    int n = 0;
#define ARG(...) do { snprintf(p->store[n], sizeof p->store[n], __VA_ARGS__); \
                      p->argv[n] = p->store[n]; n++; } while (0)
    ARG("%s/metactord", g_bindir);
    ARG("--replica-id");
    ARG("%s", id);
    ARG("--endpoint");
    ARG("%s", ep);
    ARG("--publish");
    ARG("tcp://127.0.0.1:%d", port + 1);
    ARG("--db");
    char dsn[512];
    dsn_for(dsn, sizeof dsn, db);
    if (strlen(dsn) >= sizeof p->store[0])
        die("DSN too long: %s", dsn);
    ARG("%s", dsn);
    for (int i = 0; extra && extra[i] && n < 36; i++)
        ARG("%s", extra[i]);
    static char more[512];
    const char *env = getenv("MT_BENCH_RC_ARGS");
    snprintf(more, sizeof more, "%s", env ? env : "");
    for (char *save = NULL, *t = strtok_r(more, " ", &save); t && n < 39;
         t = strtok_r(NULL, " ", &save))
        ARG("%s", t);
#undef ARG
    p->argv[n] = NULL;
    launch(p);
    return p;
}

/* ------------------------------------------------------------- client -- */

/*  One DEALER socket; replies matched by rid. */
typedef struct {
    void *sock;
    char name[16];
    uint64_t rid;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    zmq_msg_t in;                   /* the last reply's body; objects point into it */
    msgpack_unpacked u;
    char code[32];
} cli_t;

static void cli_open(cli_t *c, const char *name, const char *endpoint)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->sock = zmq_socket(g_ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero);
    if (!c->sock || zmq_connect(c->sock, endpoint) != 0)
        die("cannot connect to %s: %s", endpoint, zmq_strerror(errno));
    msgpack_sbuffer_init(&c->sb);
    msgpack_packer_init(&c->pk, &c->sb, msgpack_sbuffer_write);
    zmq_msg_init(&c->in);
    msgpack_unpacked_init(&c->u);
}

static void cli_close(cli_t *c)
{
    if (!c->sock)
        return;
    zmq_close(c->sock);
    c->sock = NULL;
    msgpack_sbuffer_destroy(&c->sb);
    zmq_msg_close(&c->in);
    msgpack_unpacked_destroy(&c->u);
}

/*  A fresh socket to the same endpoint (after the replica was restarted,
    or a call timed out). */
static void cli_reopen(cli_t *c, const char *endpoint)
{
    char name[16];
    snprintf(name, sizeof name, "%s", c->name);
    cli_close(c);
    cli_open(c, name, endpoint);
}

static void pk_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/*  Starts a request body: {"op": op, "rid": next, <nargs more pairs>}. */
static void cli_begin(cli_t *c, const char *op, uint32_t nargs)
{
    msgpack_sbuffer_clear(&c->sb);
    msgpack_pack_map(&c->pk, nargs + 2);
    pk_str(&c->pk, "op");
    pk_str(&c->pk, op);
    pk_str(&c->pk, "rid");
    msgpack_pack_uint64(&c->pk, ++c->rid);
}

static void cli_send(cli_t *c)
{
    if (zmq_send(c->sock, "", 0, ZMQ_SNDMORE) < 0
        || zmq_send(c->sock, c->sb.data, c->sb.size, 0) < 0)
        die("%s: send: %s", c->name, zmq_strerror(errno));
}

/*  Receives one reply within timeout_ms: 0 and its rid, -1 on a timeout. */
static int cli_recv(cli_t *c, int timeout_ms, uint64_t *rid_out)
{
    zmq_pollitem_t it = { c->sock, 0, ZMQ_POLLIN, 0 };
    int rc;
    do
        rc = zmq_poll(&it, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        die("%s: poll: %s", c->name, zmq_strerror(errno));
    if (rc == 0)
        return -1;
    int more = 1;
    while (more) {
        if (zmq_msg_recv(&c->in, c->sock, 0) < 0)
            die("%s: recv: %s", c->name, zmq_strerror(errno));
        more = zmq_msg_more(&c->in);
    }
    size_t off = 0;
    if (msgpack_unpack_next(&c->u, zmq_msg_data(&c->in), zmq_msg_size(&c->in), &off)
        != MSGPACK_UNPACK_SUCCESS)
        die("%s: a reply that is not msgpack", c->name);
    const msgpack_object *rid = mt_map_get(&c->u.data, "rid");
    *rid_out = rid && rid->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? rid->via.u64 : 0;
    return 0;
}

/*  The last received reply: 0 and its result when ok, 1 (c->code) if not. */
static int cli_result(cli_t *c, const msgpack_object **result)
{
    const msgpack_object *top = &c->u.data;
    const msgpack_object *ok = mt_map_get(top, "ok");
    if (ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean) {
        if (result)
            *result = mt_map_get(top, "result");
        return 0;
    }
    const msgpack_object *code = mt_map_get(mt_map_get(top, "error"), "code");
    size_t n = code && code->type == MSGPACK_OBJECT_STR ? code->via.str.size : 0;
    if (n >= sizeof c->code)
        n = sizeof c->code - 1;
    memcpy(c->code, n ? code->via.str.ptr : "", n);
    c->code[n] = '\0';
    return 1;
}

/*  Sends the body built since cli_begin; waits for its reply. Returns 0 and
    the result map when ok, 1 on an error reply (c->code), -1 on a timeout. */
static int cli_call(cli_t *c, int timeout_ms, const msgpack_object **result)
{
    cli_send(c);
    uint64_t want = c->rid;
    int64_t deadline = now_us() + (int64_t) timeout_ms * 1000;
    for (;;) {
        int64_t left = deadline - now_us();
        uint64_t rid;
        if (left <= 0 || cli_recv(c, (int) ((left + 999) / 1000), &rid) != 0)
            return -1;
        if (rid == want)
            return cli_result(c, result);
    }
}

static bool obj_u64(const msgpack_object *o, uint64_t *v)
{
    if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *v = o->via.u64;
    return true;
}

static bool obj_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n
        && memcmp(o->via.str.ptr, s, n) == 0;
}

static uint64_t stat_u64(cli_t *c, const char *key)
{
    cli_begin(c, "replica.stats", 0);
    const msgpack_object *res = NULL;
    int rc = cli_call(c, CALL_MS, &res);
    if (rc != 0)
        die("replica.stats on %s: %s", c->name, rc < 0 ? "timeout" : c->code);
    uint64_t v = 0;
    if (!obj_u64(mt_map_get(res, key), &v))
        die("replica.stats on %s: no %s", c->name, key);
    return v;
}

/*  How many members c's cluster.info lists alive; *listed: whether `id` is
    one of them. */
static uint32_t alive_members(cli_t *c, const char *id, bool *listed)
{
    cli_begin(c, "cluster.info", 0);
    const msgpack_object *res = NULL;
    if (cli_call(c, 1000, &res) != 0)
        return 0;
    const msgpack_object *m = mt_map_get(res, "members");
    uint32_t n = 0;
    if (listed)
        *listed = false;
    for (uint32_t i = 0; m && m->type == MSGPACK_OBJECT_ARRAY && i < m->via.array.size; i++) {
        const msgpack_object *e = &m->via.array.ptr[i];
        const msgpack_object *a = mt_map_get(e, "alive");
        if (a && a->type == MSGPACK_OBJECT_BOOLEAN && a->via.boolean) {
            n++;
            if (listed && id && obj_is(mt_map_get(e, "replica_id"), id))
                *listed = true;
        }
    }
    return n;
}

/*  Until the replica answers cluster.info listing itself alive. */
static void wait_ready(cli_t *c, proc_t *p)
{
    int64_t deadline = now_us() + WAIT_MS * 1000LL;
    while (now_us() < deadline) {
        if (!running(p)) {
            report_dead();
            die("%s exited during start-up", p->name);
        }
        bool me = false;
        alive_members(c, p->name, &me);
        if (me)
            return;
        cli_reopen(c, p->endpoint);     /* a call to a port not bound yet may be stuck */
        sleep_ms(50);
    }
    tail_log(p);
    die("%s did not come up within %d ms", p->name, WAIT_MS);
}

/*  Until c's cluster lists n replicas alive. */
static void wait_members(cli_t *c, uint32_t n)
{
    int64_t deadline = now_us() + WAIT_MS * 1000LL;
    uint32_t got;
    while ((got = alive_members(c, NULL, NULL)) != n)
        if (now_us() > deadline)
            die("%s lists %u replicas alive, expected %u", c->name, got, n);
        else
            sleep_ms(50);
}

/*  rc.get name [refresh]: 0 ok (result), 1 error (c->code), -1 timeout. */
static int rc_get(cli_t *c, const char *name, bool refresh, const msgpack_object **res)
{
    cli_begin(c, "rc.get", refresh ? 2 : 1);
    pk_str(&c->pk, "name");
    pk_str(&c->pk, name);
    if (refresh) {
        pk_str(&c->pk, "refresh");
        msgpack_pack_true(&c->pk);
    }
    return cli_call(c, CALL_MS, res);
}

static bool host_is(cli_t *c, const char *name, const char *endpoint)
{
    const msgpack_object *res = NULL;
    return rc_get(c, name, false, &res) == 0
        && obj_is(mt_map_get(mt_map_get(res, "ref"), "hostname"), endpoint);
}

static bool node_list_has(cli_t *c, const char *name, const char *endpoint)
{
    const msgpack_object *res = NULL;
    if (rc_get(c, name, false, &res) != 0)
        return false;
    const msgpack_object *l = mt_map_get(mt_map_get(res, "ref"), "node_list");
    for (uint32_t i = 0; l && l->type == MSGPACK_OBJECT_ARRAY && i < l->via.array.size; i++)
        if (obj_is(&l->via.array.ptr[i], endpoint))
            return true;
    return false;
}

static void rc_add(cli_t *c, const char *name, const char *hostname)
{
    cli_begin(c, "rc.add", 4);
    pk_str(&c->pk, "name");
    pk_str(&c->pk, name);
    pk_str(&c->pk, "hostname");
    pk_str(&c->pk, hostname);
    pk_str(&c->pk, "username");
    pk_str(&c->pk, "bench");
    pk_str(&c->pk, "password");
    pk_str(&c->pk, "bench-secret");
    int rc = cli_call(c, CALL_MS, NULL);
    if (rc != 0)
        die("rc.add %s → %s on %s: %s", name, hostname, c->name, rc < 0 ? "timeout" : c->code);
}

/* ------------------------------------------------------------- events -- */

static int fig_events(int na)
{
    int refresh = (int) env_long("MT_BENCH_RC_REFRESH_MS", 1000, 10, 600000);
    int alive = (int) env_long("MT_BENCH_RC_ALIVE_MS", 3000, 30, 3600000);
    int events = (int) env_long("MT_BENCH_RC_EVENTS", 5, 1, 1000);
    char refresh_s[16], alive_s[16], beat_s[16];
    snprintf(refresh_s, sizeof refresh_s, "%d", refresh);
    snprintf(alive_s, sizeof alive_s, "%d", alive);
    snprintf(beat_s, sizeof beat_s, "%d", alive / 3 > 10 ? alive / 3 : 10);
    const char *const flags[] = {
        "--refresh-interval", refresh_s, "--alive-window", alive_s, "--beat-interval", beat_s,
        NULL,
    };
    note("cluster A: %d replicas, cluster B: 2; --refresh-interval %d --alive-window %d "
         "--beat-interval %s (reload: the default); the prober's timeout: 1000 ms (fixed); "
         "%d events", na, refresh, alive, beat_s, events);

    proc_t *pb[2], *pa[MAX_A];
    cli_t cb[2], ca[MAX_A];
    for (int i = 0; i < 2; i++) {
        char id[8];
        snprintf(id, sizeof id, "b%d", i);
        pb[i] = start_replica(id, "metactor_rcb_b", g_port + 20 + 2 * i, flags);
    }
    for (int i = 0; i < na; i++) {
        char id[8];
        snprintf(id, sizeof id, "a%d", i);
        pa[i] = start_replica(id, "metactor_rcb_a", g_port + 2 * i, flags);
    }
    for (int i = 0; i < 2; i++) {
        cli_open(&cb[i], pb[i]->name, pb[i]->endpoint);
        wait_ready(&cb[i], pb[i]);
    }
    for (int i = 0; i < na; i++) {
        cli_open(&ca[i], pa[i]->name, pa[i]->endpoint);
        wait_ready(&ca[i], pa[i]);
    }
    for (int i = 0; i < 2; i++)
        wait_members(&cb[i], 2);
    for (int i = 0; i < na; i++)
        wait_members(&ca[i], (uint32_t) na);

    rc_add(&ca[0], "to-b", pb[0]->endpoint);
    double *writes = calloc((size_t) events, sizeof *writes);
    double *fail_ms = calloc((size_t) events, sizeof *fail_ms);
    if (!writes || !fail_ms)
        die("out of memory");
    int bad = 0, host = 0;          /* host: the index in B of the current hostname */
    for (int e = 0; e < events; e++) {
        int victim = host, survivor = 1 - host;
        /*  Every replica of A holds the hostname and lists both of B. */
        int64_t deadline = now_us() + WAIT_MS * 1000LL;
        for (int i = 0; i < na; i++)
            while (!(host_is(&ca[i], "to-b", pb[victim]->endpoint)
                     && node_list_has(&ca[i], "to-b", pb[0]->endpoint)
                     && node_list_has(&ca[i], "to-b", pb[1]->endpoint))) {
                if (now_us() > deadline)
                    die("event %d: a%d never held %s with both of B in its node list", e + 1, i,
                        pb[victim]->endpoint);
                sleep_ms(20);
            }
        uint64_t w0[MAX_A], h0[MAX_A], c0[MAX_A], k0[MAX_A];
        for (int i = 0; i < na; i++) {
            w0[i] = stat_u64(&ca[i], "store_rc_writes");
            h0[i] = stat_u64(&ca[i], "rc_hostname_writes");
            c0[i] = stat_u64(&ca[i], "store_rc_conflicts");
            k0[i] = stat_u64(&ca[i], "rc_hostname_cancelled");
        }

        /*  The death's phase in the refresh cycle, spread evenly over the
            events: (e + 1/2) / events of an interval after a0's last
            refresh (A's replicas tick in phase: they learned the reference
            together). Without this the kill would always come just after a
            tick (the wait above ends when a refresh shows the restarted
            replica), and every event would be the worst case. */
        double phase = ((double) e + 0.5) / (double) events;
        const msgpack_object *res = NULL;
        uint64_t at = 0;
        if (rc_get(&ca[0], "to-b", false, &res) != 0
            || !obj_u64(mt_map_get(mt_map_get(res, "ref"), "refreshed_at"), &at))
            die("event %d: no refreshed_at on a0", e + 1);
        int64_t since = wall_ms() - (int64_t) at;
        int64_t wait = ((int64_t) (phase * refresh) - since) % refresh;
        if (wait < 0)
            wait += refresh;
        sleep_ms(wait);

        int64_t t0 = now_us();
        kill_proc(pb[victim]);
        bool moved[MAX_A] = { false };
        int left = na;
        deadline = t0 + WAIT_MS * 1000LL;
        while (left > 0) {
            for (int i = 0; i < na; i++)
                if (!moved[i] && host_is(&ca[i], "to-b", pb[survivor]->endpoint)) {
                    moved[i] = true;
                    left--;
                }
            if (left > 0 && now_us() > deadline)
                die("event %d: %d replica(s) of A never moved to %s", e + 1, left,
                    pb[survivor]->endpoint);
            if (left > 0)
                sleep_ms(2);
        }
        fail_ms[e] = (double) (now_us() - t0) / 1000.0;

        /*  The last replica's turn comes after na - 1 intervals: wait past it. */
        sleep_ms((int64_t) (na + 2) * refresh);
        uint64_t dw = 0, dh = 0, dc = 0, dk = 0;
        char who[64] = "";
        for (int i = 0; i < na; i++) {
            uint64_t w = stat_u64(&ca[i], "store_rc_writes") - w0[i];
            dw += w;
            dh += stat_u64(&ca[i], "rc_hostname_writes") - h0[i];
            dc += stat_u64(&ca[i], "store_rc_conflicts") - c0[i];
            dk += stat_u64(&ca[i], "rc_hostname_cancelled") - k0[i];
            if (w)
                snprintf(who + strlen(who), sizeof who - strlen(who), "%sa%d×%" PRIu64,
                         who[0] ? " " : "", i, w);
        }
        writes[e] = (double) dw;
        note("event %d: SIGKILL %s (the hostname) %.0f%% into a refresh interval → every replica "
             "of A on %s after %.1f ms; database writes %" PRIu64 " (by %s), hostname writes %"
             PRIu64 ", refused compare-and-sets %" PRIu64 ", plans cancelled %" PRIu64, e + 1,
             pb[victim]->name, 100 * phase, pb[survivor]->name, fail_ms[e], dw,
             who[0] ? who : "nobody", dh, dc, dk);
        if (dw != 1)
            bad++;
        for (int i = 0; i < na; i++)
            if (!host_is(&ca[i], "to-b", pb[survivor]->endpoint))
                die("event %d: a%d moved away from %s afterwards (ping-pong)", e + 1, i,
                    pb[survivor]->endpoint);

        /*  The victim comes back, under its old id and endpoint. */
        launch(pb[victim]);
        cli_reopen(&cb[victim], pb[victim]->endpoint);
        wait_ready(&cb[victim], pb[victim]);
        wait_members(&cb[survivor], 2);
        host = survivor;
    }
    double fm = mean(fail_ms, (size_t) events), wm = mean(writes, (size_t) events);
    qsort(fail_ms, (size_t) events, sizeof *fail_ms, cmp_double);
    note("failover (ms) over %d events: mean %.1f, min %.1f, median %.1f, max %.1f "
         "(refresh interval %d ms, alive window %d ms)", events, fm, fail_ms[0],
         pct(fail_ms, (size_t) events, 0.5), fail_ms[events - 1], refresh, alive);
    for (int i = 0; i < na; i++)
        if (!running(pa[i]))
            die("a%d ended during the run", i);
    char name[64];
    snprintf(name, sizeof name, "rc_writes_per_event_%d", na);
    emit(name, wm, "writes");
    if (na == 3)
        emit("rc_failover", fm, "ms");
    if (bad)
        note("%d event(s) did not make exactly one write", bad);
    free(writes);
    free(fail_ms);
    for (int i = 0; i < na; i++)
        cli_close(&ca[i]);
    for (int i = 0; i < 2; i++)
        cli_close(&cb[i]);
    return bad ? 1 : 0;
}

static int fig_events_3(void)
{
    return fig_events(3);
}

static int fig_events_5(void)
{
    return fig_events(5);
}

/* --------------------------------------------------------- refresh 20 -- */

static int fig_refresh_round(void)
{
    int rounds = (int) env_long("MT_BENCH_RC_ROUNDS", 30, 1, 100000), warm = 3;
    /*  No periodic refresh on A: every probe measured is one we asked for. */
    const char *const a_flags[] = { "--refresh-interval", "3600000", NULL };
    const char *const r_flags[] = { "--workers", "1", NULL };
    proc_t *pr[NREMOTES];
    for (int r = 0; r < NREMOTES; r++) {
        char id[8], db[32];
        snprintf(id, sizeof id, "r%02d", r);
        snprintf(db, sizeof db, "metactor_rcb_r%02d", r);
        pr[r] = start_replica(id, db, g_port + 40 + 2 * r, r_flags);
    }
    proc_t *pa = start_replica("a0", "metactor_rcb_a", g_port, a_flags);
    cli_t a;
    cli_open(&a, "a0", pa->endpoint);
    for (int r = 0; r < NREMOTES; r++) {
        cli_t c;
        cli_open(&c, pr[r]->name, pr[r]->endpoint);
        wait_ready(&c, pr[r]);
        cli_close(&c);
    }
    wait_ready(&a, pa);
    for (int r = 0; r < NREMOTES; r++) {
        char name[16];
        snprintf(name, sizeof name, "ref-%02d", r);
        rc_add(&a, name, pr[r]->endpoint);
    }
    note("a0 holds %d references to %d one-replica clusters (each on its own database; "
         "remotes --workers 1); a round: %d rc.get refresh=true sent at once on one DEALER; "
         "%d rounds after %d not measured", NREMOTES, NREMOTES, NREMOTES, rounds, warm);

    double *ms = calloc((size_t) rounds, sizeof *ms);
    if (!ms)
        die("out of memory");
    uint64_t ref0 = 0;
    unsigned long long cpu0 = 0, rcpu0 = 0;
    int64_t prev_refreshed[NREMOTES] = { 0 };
    for (int k = -warm; k < rounds; k++) {
        if (k == 0) {
            ref0 = stat_u64(&a, "rc_refreshes");
            cpu0 = proc_ticks(pa->pid);
            for (int r = 0; r < NREMOTES; r++)
                rcpu0 += proc_ticks(pr[r]->pid);
        }
        uint64_t first_rid = a.rid + 1;
        int64_t t0 = now_us();
        for (int r = 0; r < NREMOTES; r++) {
            char name[16];
            snprintf(name, sizeof name, "ref-%02d", r);
            cli_begin(&a, "rc.get", 2);
            pk_str(&a.pk, "name");
            pk_str(&a.pk, name);
            pk_str(&a.pk, "refresh");
            msgpack_pack_true(&a.pk);
            cli_send(&a);
        }
        int got = 0;
        while (got < NREMOTES) {
            uint64_t rid;
            int64_t left = t0 + CALL_MS * 1000LL - now_us();
            if (left <= 0 || cli_recv(&a, (int) (left / 1000 + 1), &rid) != 0)
                die("round %d: %d of %d replies", k, got, NREMOTES);
            if (rid < first_rid || rid >= first_rid + NREMOTES)
                continue;
            const msgpack_object *res = NULL;
            if (cli_result(&a, &res) != 0)
                die("round %d: rc.get refresh: %s", k, a.code);
            const msgpack_object *ref = mt_map_get(res, "ref");
            const msgpack_object *nl = mt_map_get(ref, "node_list");
            uint64_t at = 0;
            int r = (int) (rid - first_rid);
            if (!nl || nl->type != MSGPACK_OBJECT_ARRAY || nl->via.array.size != 1
                || !obj_u64(mt_map_get(ref, "refreshed_at"), &at) || (int64_t) at < prev_refreshed[r])
                die("round %d: ref-%02d: not a refreshed one-member node list", k, r);
            prev_refreshed[r] = (int64_t) at;
            got++;
        }
        if (k >= 0)
            ms[k] = (double) (now_us() - t0) / 1000.0;
    }
    uint64_t refreshes = stat_u64(&a, "rc_refreshes") - ref0;
    double cpu_ms = ticks_ms(proc_ticks(pa->pid) - cpu0);
    unsigned long long rcpu = 0;
    for (int r = 0; r < NREMOTES; r++)
        rcpu += proc_ticks(pr[r]->pid);
    double rcpu_ms = ticks_ms(rcpu - rcpu0);
    double m = mean(ms, (size_t) rounds);
    qsort(ms, (size_t) rounds, sizeof *ms, cmp_double);
    note("round (ms): median %.3f, mean %.3f, min %.3f, p90 %.3f, max %.3f", pct(ms, (size_t) rounds, 0.5),
         m, ms[0], pct(ms, (size_t) rounds, 0.9), ms[rounds - 1]);
    note("rc_refreshes on a0 over the measured rounds: %" PRIu64 " (%.1f per round: each get "
         "made or joined one probe round of its reference)", refreshes,
         (double) refreshes / rounds);
    note("cpu per round: a0 %.2f ms, the 20 remotes together %.2f ms (clock ticks of %ld Hz: "
         "coarse)", cpu_ms / rounds, rcpu_ms / rounds, sysconf(_SC_CLK_TCK));
    for (int r = 0; r < NREMOTES; r++)
        if (!running(pr[r]))
            die("r%02d ended during the run", r);
    if (!running(pa))
        die("a0 ended during the run");
    emit("rc_refresh_round_20", pct(ms, (size_t) rounds, 0.5), "ms");
    free(ms);
    cli_close(&a);
    return 0;
}

/* --------------------------------------------------------------- main -- */

static const struct {
    const char *name;
    int (*fn)(void);
} figures[] = {
    { "events_3", fig_events_3 },
    { "events_5", fig_events_5 },
    { "refresh_round_20", fig_refresh_round },
};

int main(int argc, char **argv)
{
    int (*fn)(void) = NULL;
    if (argc == 5)
        for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
            if (strcmp(argv[1], figures[i].name) == 0)
                fn = figures[i].fn;
    if (!fn) {
        fprintf(stderr, "# usage: mt_bench_rc FIGURE DSN BINDIR LOGDIR\n"
                        "#   FIGURE: events_3 events_5 refresh_round_20\n");
        return 2;
    }
    g_figure = argv[1];
    g_dsn = argv[2];
    g_bindir = argv[3];
    g_logdir = argv[4];
    g_port = (int) env_long("MT_BENCH_RC_PORT", 7700, 1, 65400);
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    g_ctx = zmq_ctx_new();
    if (!g_ctx)
        die("zmq_ctx_new");
    int rc = fn();
    if (stop_all() != 0)
        rc = 1;
    zmq_ctx_term(g_ctx);
    return rc;
}
