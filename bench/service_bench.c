/*  service_bench.c — figures of the whole service, measured from outside:
    real metactord processes sharing a real MariaDB, reached over the wire
    protocol (PROTOCOL.md) like any client.

    Usage: mt_bench_service FIGURE DSN BINDIR LOGDIR
      convergence              convergence_p50, convergence_p99 (ms): from the
                               reply to a heartbeat on replica A until replica B's
                               node.get shows it (its status_revision), notices on
      convergence_reload_only  convergence_reload_only_p99 (ms): the same with B
                               started --subscribe 0 (it learns by reload only, as
                               the seed did) and --reload-interval MT_BENCH_RELOAD_MS
      get                      get_rps (requests/s), get_p50, get_p99 (µs): node.get
                               through one replica's gateway; echo_rps: a bare zmq
                               ROUTER echo in this process (its own thread) answering
                               the same clients with a body of node.get's reply size
      e2e                      e2e_heartbeat_ingest (acks/s): `metactl load
                               --register --bench` against one replica

    DSN: the figure's database (scripts/bench service gives each figure a fresh
    one). BINDIR holds metactord and metactl (a Release build); LOGDIR gets
    their logs, FIGURE-NAME.log. Every process started here is stopped here
    (SIGTERM, then SIGKILL after 15 s), on a signal too; the children also get
    SIGTERM if this process dies (PR_SET_PDEATHSIG).

    Replicas: A on tcp://127.0.0.1:PORT (notices on PORT+1), B on PORT+2 (PORT+3),
    the echo server on PORT+9; PORT is MT_BENCH_SVC_PORT (default 7460).

    Node contents are the "typical" ones of the store figures: a registration
    with 10 labels, 5 component versions, 4 capacity and 3 quota entries; a
    status with 2 conditions, 3 images and 2 local templates.

    stdout: only figure lines, exactly `bench=NAME value=V unit=U` (3 decimals).
    stderr: diagnostics, every line starting with '#'.
    Exit status: 0 on success, 1 if anything misbehaved, 2 on a usage error.

    Environment (optional; scripts/bench passes these through):
      MT_BENCH_SVC_PORT       base port (default 7460)
      MT_BENCH_SVC_ARGS       more metactord flags for every replica, separated by
                              spaces (experiments, e.g. "--workers 1")
      MT_BENCH_SERVER_PID     the database server's pid: its CPU time is shown
      MT_BENCH_CONV_WRITES    convergence: measured writes (default 2000, after 100
                              not measured)
      MT_BENCH_POLL_US        convergence: pause between two polls of B (default 50)
      MT_BENCH_RELOAD_MS      convergence_reload_only: B's reload interval (default
                              1000 ms: the seed's 30 s scaled down 30x)
      MT_BENCH_RELOAD_WRITES  convergence_reload_only: measured writes (default 50)
      MT_BENCH_GET_CLIENTS    get: client threads, one DEALER each (default 8)
      MT_BENCH_GET_INFLIGHT   get: requests in flight per client (default 1)
      MT_BENCH_GET_S          get: timed seconds per target and round (default 5,
                              after 0.5 s of warm-up)
      MT_BENCH_GET_ROUNDS     get: rounds, echo then node.get in each (default 2)
      MT_BENCH_E2E_NODES      e2e: nodes (default 10000)
      MT_BENCH_E2E_S          e2e: seconds of heartbeats (default 10)
      MT_BENCH_E2E_CONC       e2e: requests in flight (default 256)
*/
#include "mt_client.h"

#include "benchutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <msgpack.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define CALL_MS 10000               /* a call that should never time out */
#define STOP_MS 15000               /* SIGTERM → SIGKILL */
#define MAX_PROCS 4

static const char *g_figure;
static const char *g_dsn, *g_bindir, *g_logdir;
static int g_port;
static void *g_ctx;                 /* zmq context */

/* ------------------------------------------------------------- helpers -- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_us(int64_t us)
{
    if (us <= 0)
        return;
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
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
    fprintf(stderr, "# FAILED: %s: ", g_figure ? g_figure : "service_bench");
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
    char *p = strrchr(buf, ')');        /* comm may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu", &ut, &st) != 2)
        return 0;
    return ut + st;
}

/*  Busy ticks of the whole machine (user, nice, system, irq, softirq). */
static unsigned long long total_ticks(void)
{
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = { 0 }, t = 0;
    if (f) {
        if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]) != 8)
            memset(v, 0, sizeof v);
        fclose(f);
    }
    t = v[0] + v[1] + v[2] + v[5] + v[6];
    return t;
}

/*  CPU time over a window: named processes, the database server
    (MT_BENCH_SERVER_PID), and the rest of the machine ("others": other
    people's work on a shared machine shows up here). */
typedef struct {
    int n;
    struct { const char *name; pid_t pid; unsigned long long t0, d; } p[8];
    unsigned long long busy0, busy;
    int64_t t0_us;
    double secs;
} cpu_win_t;

static void cpu_begin(cpu_win_t *w)
{
    w->t0_us = now_us();
    w->busy0 = total_ticks();
    for (int i = 0; i < w->n; i++)
        w->p[i].t0 = proc_ticks(w->p[i].pid);
}

static void cpu_add(cpu_win_t *w, const char *name, pid_t pid)
{
    if (pid > 0 && w->n < 8)
        w->p[w->n++] = (typeof(w->p[0])) { .name = name, .pid = pid };
}

static void cpu_add_db(cpu_win_t *w)
{
    const char *s = getenv("MT_BENCH_SERVER_PID");
    if (s && *s)
        cpu_add(w, "database", (pid_t) atoi(s));
}

/*  extra_ticks: CPU of processes already gone (e.g. metactl), counted as
    "children". */
static void cpu_end(cpu_win_t *w, const char *what, unsigned long long extra_ticks)
{
    w->secs = (double) (now_us() - w->t0_us) / 1e6;
    w->busy = total_ticks() - w->busy0;
    double hz = (double) sysconf(_SC_CLK_TCK), secs = w->secs > 0 ? w->secs : 1;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned long long ours = extra_ticks;
    char line[1024];
    int len = snprintf(line, sizeof line, "# %s cpu over %.1f s (%% of one CPU):", what, secs);
    for (int i = 0; i < w->n; i++) {
        w->p[i].d = proc_ticks(w->p[i].pid) - w->p[i].t0;
        ours += w->p[i].d;
        len += snprintf(line + len, sizeof line - (size_t) len, " %s %.0f%%,", w->p[i].name,
                        100.0 * (double) w->p[i].d / hz / secs);
    }
    if (extra_ticks)
        len += snprintf(line + len, sizeof line - (size_t) len, " children %.0f%%,",
                        100.0 * (double) extra_ticks / hz / secs);
    double others = w->busy > ours ? (double) (w->busy - ours) : 0;
    snprintf(line + len, sizeof line - (size_t) len, " others %.0f%%; machine busy %.0f%% of %ld CPUs",
             100.0 * others / hz / secs, 100.0 * (double) w->busy / hz / secs / (double) ncpu, ncpu);
    fprintf(stderr, "%s\n", line);
}

/* ---------------------------------------------------------- processes -- */

typedef struct {
    volatile pid_t pid;             /* 0: not running; read by the signal handler */
    char name[16];
    char endpoint[64];
    char log[512];
} proc_t;

static proc_t g_procs[MAX_PROCS];

static void on_signal(int sig)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (g_procs[i].pid > 0)
            kill(g_procs[i].pid, SIGTERM);
    _exit(128 + sig);
}

/*  fork + exec, stdout to out_fd (or the log), stderr to the log. The child
    gets SIGTERM if we die. Called before any client thread exists. */
static proc_t *spawn(const char *name, char *const argv[], int out_fd)
{
    proc_t *p = NULL;
    for (int i = 0; i < MAX_PROCS && !p; i++)
        if (g_procs[i].pid == 0)
            p = &g_procs[i];
    if (!p)
        die("too many processes");
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->log, sizeof p->log, "%s/%s-%s.log", g_logdir, g_figure, name);
    int log = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log < 0)
        die("cannot open %s: %s", p->log, strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        dup2(out_fd >= 0 ? out_fd : log, 1);
        dup2(log, 2);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execv(argv[0], argv);
        dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(log);
    p->pid = pid;
    return p;
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
        sleep_us(10000);
    }
    p->pid = 0;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return -1;
}

/*  True while p runs (not reaped: report_dead still sees how it ended). */
static bool alive(const proc_t *p)
{
    siginfo_t si = { 0 };
    return p->pid > 0
           && waitid(P_PID, (id_t) p->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0
           && si.si_pid == 0;
}

/*  Says which of our processes ended by themselves (a crash, or a signal
    from someone else), with the end of its log. */
static void report_dead(void)
{
    for (int i = 0; i < MAX_PROCS; i++) {
        proc_t *p = &g_procs[i];
        int st = 0;
        if (p->pid <= 0 || waitpid(p->pid, &st, WNOHANG) != p->pid)
            continue;
        if (WIFSIGNALED(st))
            note("%s (pid %d) was killed by signal %d before the end", p->name, (int) p->pid,
                 WTERMSIG(st));
        else
            note("%s (pid %d) exited with status %d before the end (a SIGTERM from outside "
                 "ends it with status 0)", p->name, (int) p->pid, WEXITSTATUS(st));
        p->pid = 0;
        tail_log(p);
    }
}

/*  Returns how many did not exit with status 0. */
static int stop_all(void)
{
    int bad = 0;
    for (int i = 0; i < MAX_PROCS; i++)
        if (g_procs[i].pid > 0) {
            int rc = stop_proc(&g_procs[i]);
            if (rc != 0) {
                note("%s exited with status %d; log %s", g_procs[i].name, rc, g_procs[i].log);
                bad++;
            }
        }
    return bad;
}

/*  A replica: index 0 = A (port), 1 = B (port + 2); extra flags appended. */
static proc_t *start_replica(int index, const char *const *extra)
{
    static char path[512], id[64], ep[64], pub[64];
    char *argv[32];
    int n = 0;
    snprintf(path, sizeof path, "%s/metactord", g_bindir);
    snprintf(id, sizeof id, "svcbench-%c", 'a' + index);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", g_port + 2 * index);
    snprintf(pub, sizeof pub, "tcp://127.0.0.1:%d", g_port + 2 * index + 1);
    argv[n++] = path;
    argv[n++] = "--replica-id";
    argv[n++] = id;
    argv[n++] = "--endpoint";
    argv[n++] = ep;
    argv[n++] = "--publish";
    argv[n++] = pub;
    argv[n++] = "--db";
    argv[n++] = (char *) g_dsn;
    for (int i = 0; extra && extra[i] && n < 30; i++)
        argv[n++] = (char *) extra[i];
    /*  MT_BENCH_SVC_ARGS: more flags for every replica (experiments). */
    static char more[512];
    const char *env = getenv("MT_BENCH_SVC_ARGS");
    snprintf(more, sizeof more, "%s", env ? env : "");
    for (char *save = NULL, *t = strtok_r(more, " ", &save); t && n < 31;
         t = strtok_r(NULL, " ", &save))
        argv[n++] = t;
    argv[n] = NULL;
    char name[8];
    snprintf(name, sizeof name, "%c", 'A' + index);
    proc_t *p = spawn(name, argv, -1);
    snprintf(p->endpoint, sizeof p->endpoint, "%s", ep);
    fprintf(stderr, "# started %s (pid %d):", name, (int) p->pid);
    for (int i = 1; i < n; i++)
        if (strcmp(argv[i - 1], "--db") != 0)
            fprintf(stderr, " %s", argv[i]);
    fputc('\n', stderr);
    return p;
}

/* ------------------------------------------------------------- client -- */

/*  One DEALER socket; one call at a time; replies matched by rid. */
typedef struct {
    void *sock;
    const char *name;
    uint64_t rid;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    zmq_msg_t in;                   /* the last reply's body; objects point into it */
    msgpack_unpacked u;
    char code[32];                  /* the last error reply's code */
} cli_t;

static void cli_open(cli_t *c, const char *name, const char *endpoint)
{
    memset(c, 0, sizeof *c);
    c->name = name;
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
    zmq_close(c->sock);
    msgpack_sbuffer_destroy(&c->sb);
    zmq_msg_close(&c->in);
    msgpack_unpacked_destroy(&c->u);
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

/*  Sends the body built since cli_begin; waits for its reply. Returns 0 and
    the result map when ok, 1 on an error reply (c->code), -1 on a timeout. */
static int cli_call(cli_t *c, int timeout_ms, const msgpack_object **result)
{
    if (zmq_send(c->sock, "", 0, ZMQ_SNDMORE) < 0
        || zmq_send(c->sock, c->sb.data, c->sb.size, 0) < 0)
        die("%s: send: %s", c->name, zmq_strerror(errno));
    int64_t deadline = now_us() + (int64_t) timeout_ms * 1000;
    for (;;) {
        int64_t left = deadline - now_us();
        if (left <= 0)
            return -1;
        zmq_pollitem_t it = { c->sock, 0, ZMQ_POLLIN, 0 };
        int rc = zmq_poll(&it, 1, (long) ((left + 999) / 1000));
        if (rc < 0 && errno != EINTR)
            die("%s: poll: %s", c->name, zmq_strerror(errno));
        if (rc <= 0)
            continue;
        int more = 1;
        while (more) {          /* the last frame is the body */
            if (zmq_msg_recv(&c->in, c->sock, 0) < 0)
                die("%s: recv: %s", c->name, zmq_strerror(errno));
            more = zmq_msg_more(&c->in);
        }
        size_t off = 0;
        if (msgpack_unpack_next(&c->u, zmq_msg_data(&c->in), zmq_msg_size(&c->in), &off)
            != MSGPACK_UNPACK_SUCCESS)
            die("%s: a reply that is not msgpack", c->name);
        const msgpack_object *top = &c->u.data;
        const msgpack_object *rid = mt_map_get(top, "rid");
        if (!rid || rid->type != MSGPACK_OBJECT_POSITIVE_INTEGER || rid->via.u64 != c->rid)
            continue;           /* a timed-out call's */
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
}

static bool obj_u64(const msgpack_object *o, uint64_t *v)
{
    if (!o || (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER))
        return false;
    *v = o->via.u64;
    return true;
}

/*  The "typical" registration (see the top). */
static void pack_node(msgpack_packer *pk, const char *id)
{
    msgpack_pack_map(pk, 8);
    pk_str(pk, "id");
    pk_str(pk, id);
    pk_str(pk, "host_ip");
    pk_str(pk, "10.20.30.40");
    pk_str(pk, "grpc_port");
    msgpack_pack_uint32(pk, 50051);
    pk_str(pk, "instance_type");
    pk_str(pk, "c6.4xlarge");
    pk_str(pk, "labels");
    msgpack_pack_map(pk, 10);
    static const char *const labels[10][2] = {
        { "zone", "eu-west-1a" }, { "rack", "r17" }, { "pool", "general" },
        { "arch", "amd64" }, { "os", "linux" }, { "gpu", "none" }, { "tier", "standard" },
        { "team", "platform" }, { "env", "bench" }, { "kernel", "6.1" },
    };
    for (int i = 0; i < 10; i++) {
        pk_str(pk, labels[i][0]);
        pk_str(pk, labels[i][1]);
    }
    pk_str(pk, "capacity");
    msgpack_pack_map(pk, 4);
    pk_str(pk, "cpu_milli");
    msgpack_pack_uint32(pk, 16000);
    pk_str(pk, "memory_mb");
    msgpack_pack_uint32(pk, 65536);
    pk_str(pk, "disk_gb");
    msgpack_pack_uint32(pk, 500);
    pk_str(pk, "pods");
    msgpack_pack_uint32(pk, 110);
    pk_str(pk, "quota");
    msgpack_pack_map(pk, 3);
    pk_str(pk, "cpu_milli");
    msgpack_pack_uint32(pk, 14000);
    pk_str(pk, "memory_mb");
    msgpack_pack_uint32(pk, 60000);
    pk_str(pk, "pods");
    msgpack_pack_uint32(pk, 100);
    pk_str(pk, "versions");
    msgpack_pack_map(pk, 5);
    static const char *const versions[5][2] = {
        { "cubelet", "1.8.3" }, { "containerd", "1.7.13" }, { "runc", "1.1.12" },
        { "cni", "1.4.0" }, { "agent", "2.0.1" },
    };
    for (int i = 0; i < 5; i++) {
        pk_str(pk, versions[i][0]);
        pk_str(pk, versions[i][1]);
    }
}

static void reg_node(cli_t *c, const char *id)
{
    cli_begin(c, "node.register", 1);
    pk_str(&c->pk, "node");
    pack_node(&c->pk, id);
    int rc = cli_call(c, CALL_MS, NULL);
    if (rc != 0)
        die("node.register %s on %s: %s", id, c->name, rc < 0 ? "timeout" : c->code);
}

/*  A heartbeat with the typical status; returns its status_revision. */
static uint64_t heartbeat(cli_t *c, const char *id, int64_t hb_at)
{
    cli_begin(c, "node.heartbeat", 6);
    msgpack_packer *pk = &c->pk;
    pk_str(pk, "id");
    pk_str(pk, id);
    pk_str(pk, "ready");
    msgpack_pack_true(pk);
    pk_str(pk, "heartbeat_at");
    msgpack_pack_int64(pk, hb_at);
    pk_str(pk, "conditions");
    msgpack_pack_array(pk, 2);
    static const char *const conds[2][4] = {
        { "Ready", "True", "KubeletReady", "kubelet is posting ready status" },
        { "DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure" },
    };
    static const char *const ck[4] = { "type", "status", "reason", "message" };
    for (int i = 0; i < 2; i++) {
        msgpack_pack_map(pk, 4);
        for (int k = 0; k < 4; k++) {
            pk_str(pk, ck[k]);
            pk_str(pk, conds[i][k]);
        }
    }
    pk_str(pk, "images");
    msgpack_pack_array(pk, 3);
    pk_str(pk, "registry.local/base/ubuntu:22.04");
    pk_str(pk, "registry.local/runtime/python:3.11");
    pk_str(pk, "registry.local/runtime/node:20");
    pk_str(pk, "local_templates");
    msgpack_pack_array(pk, 2);
    pk_str(pk, "tpl-small");
    pk_str(pk, "tpl-large");
    const msgpack_object *res = NULL;
    int rc = cli_call(c, CALL_MS, &res);
    if (rc != 0)
        die("node.heartbeat %s on %s: %s", id, c->name, rc < 0 ? "timeout" : c->code);
    uint64_t rev = 0;
    if (!obj_u64(mt_map_get(mt_map_get(res, "node"), "status_revision"), &rev))
        die("node.heartbeat %s: no status_revision in the reply", id);
    return rev;
}

/*  node.get: 0 and the node's status_revision, 1 not_found. */
static int get_rev(cli_t *c, const char *id, uint64_t *rev)
{
    cli_begin(c, "node.get", 1);
    pk_str(&c->pk, "id");
    pk_str(&c->pk, id);
    const msgpack_object *res = NULL;
    int rc = cli_call(c, CALL_MS, &res);
    if (rc == 1 && strcmp(c->code, "not_found") == 0)
        return 1;
    if (rc != 0)
        die("node.get %s on %s: %s", id, c->name, rc < 0 ? "timeout" : c->code);
    *rev = 0;
    obj_u64(mt_map_get(mt_map_get(res, "node"), "status_revision"), rev);
    return 0;
}

static uint64_t stat_u64(cli_t *c, const char *key)
{
    cli_begin(c, "replica.stats", 0);
    const msgpack_object *res = NULL;
    int rc = cli_call(c, CALL_MS, &res);
    if (rc != 0)
        die("replica.stats on %s: %s", c->name, rc < 0 ? "timeout" : c->code);
    uint64_t v = 0;
    obj_u64(mt_map_get(res, key), &v);
    return v;
}

/*  Until the replica answers cluster.info (its gateway starts last). */
static void wait_ready(cli_t *c, proc_t *p, int timeout_ms)
{
    int64_t deadline = now_us() + (int64_t) timeout_ms * 1000;
    while (now_us() < deadline) {
        int st;
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
            p->pid = 0;
            tail_log(p);
            die("%s exited during start-up", p->name);
        }
        cli_begin(c, "cluster.info", 0);
        if (cli_call(c, 200, NULL) == 0)
            return;
    }
    tail_log(p);
    die("%s did not answer within %d ms", p->name, timeout_ms);
}

/*  Until the replica's bus has at least n peers. */
static void wait_peers(cli_t *c, uint64_t n, int timeout_ms)
{
    int64_t deadline = now_us() + (int64_t) timeout_ms * 1000;
    while (stat_u64(c, "peers") < n)
        if (now_us() > deadline)
            die("%s: no peer after %d ms", c->name, timeout_ms);
        else
            sleep_us(50000);
}

/*  Until node `id` on c shows status_revision >= rev. */
static void wait_visible(cli_t *c, const char *id, uint64_t rev, int timeout_ms)
{
    int64_t deadline = now_us() + (int64_t) timeout_ms * 1000;
    uint64_t r = 0;
    while (get_rev(c, id, &r) != 0 || r < rev)
        if (now_us() > deadline)
            die("%s: node %s not at status revision %" PRIu64 " after %d ms (at %" PRIu64 ")",
                c->name, id, rev, timeout_ms, r);
        else
            sleep_us(1000);
}

/* -------------------------------------------------------- convergence -- */

static void report_conv(const char *what, double *lat_us, size_t n)
{
    qsort(lat_us, n, sizeof *lat_us, cmp_double);
    note("%s over %zu writes (ms): p50 %.3f p90 %.3f p99 %.3f max %.3f", what, n,
         pct(lat_us, n, 0.5) / 1e3, pct(lat_us, n, 0.9) / 1e3, pct(lat_us, n, 0.99) / 1e3,
         lat_us[n - 1] / 1e3);
}

/*  Notices on: one write at a time; after its reply from A, B is polled
    with node.get (a pause of MT_BENCH_POLL_US between polls) until it shows
    the write's status_revision. The figure is an upper bound: the time of
    the reply to the first poll that shows it; "sent" below is the send time
    of that poll (the change became visible between the previous poll's read
    and this one's). */
static int fig_convergence(void)
{
    long writes = env_long("MT_BENCH_CONV_WRITES", 2000, 1, 10000000);
    long poll_us = env_long("MT_BENCH_POLL_US", 50, 0, 1000000);
    proc_t *pa = start_replica(0, NULL);
    proc_t *pb = start_replica(1, NULL);
    cli_t a, b;
    cli_open(&a, "A", pa->endpoint);
    cli_open(&b, "B", pb->endpoint);
    wait_ready(&a, pa, 30000);
    wait_ready(&b, pb, 30000);
    wait_peers(&a, 1, 15000);
    wait_peers(&b, 1, 15000);
    const char *id = "conv-0";
    reg_node(&a, id);
    int64_t base = wall_ms();
    uint64_t rev = heartbeat(&a, id, base);
    wait_visible(&b, id, rev, 10000);
    for (int i = 1; i <= 100; i++)              /* warm-up */
        wait_visible(&b, id, heartbeat(&a, id, base + i), 10000);

    double *lat = calloc((size_t) writes, sizeof *lat);
    double *lat_sent = calloc((size_t) writes, sizeof *lat);
    double *wr = calloc((size_t) writes, sizeof *wr);
    if (!lat || !lat_sent || !wr)
        die("out of memory");
    uint64_t polls = 0, first_hits = 0;
    uint64_t recv0 = stat_u64(&b, "notices_received"), gaps0 = stat_u64(&b, "notice_gaps");
    cpu_win_t cpu = { 0 };
    cpu_add(&cpu, "A", pa->pid);
    cpu_add(&cpu, "B", pb->pid);
    cpu_add_db(&cpu);
    cpu_add(&cpu, "bench", getpid());
    cpu_begin(&cpu);
    for (long i = 0; i < writes; i++) {
        int64_t ts = now_us();
        rev = heartbeat(&a, id, base + 101 + i);
        int64_t t0 = now_us();
        wr[i] = (double) (t0 - ts);
        uint64_t r = 0;
        int64_t sent;
        for (int k = 0;; k++) {
            if (k > 0)
                sleep_us(poll_us);
            sent = now_us();
            polls++;
            if (get_rev(&b, id, &r) == 0 && r >= rev) {
                first_hits += k == 0;
                break;
            }
            if (now_us() - t0 > 10 * 1000000LL)
                die("write %ld (status revision %" PRIu64 ") not on B after 10 s (B at %" PRIu64 ")",
                    i, rev, r);
        }
        int64_t t1 = now_us();
        lat[i] = (double) (t1 - t0);
        lat_sent[i] = (double) (sent > t0 ? sent - t0 : 0);
    }
    cpu_end(&cpu, "convergence", 0);
    uint64_t recv = stat_u64(&b, "notices_received") - recv0;
    uint64_t gaps = stat_u64(&b, "notice_gaps") - gaps0;

    report_conv("write latency on A (send → reply)", wr, (size_t) writes);
    report_conv("convergence, to the send of the poll that saw it", lat_sent, (size_t) writes);
    report_conv("convergence, to the reply of the poll that saw it", lat, (size_t) writes);
    note("%.2f polls per write; %.1f%% of writes already visible at the first poll; "
         "poll pause %ld us", (double) polls / (double) writes,
         100.0 * (double) first_hits / (double) writes, poll_us);
    note("B: %" PRIu64 " notices received, %" PRIu64 " gaps during the run", recv, gaps);
    if (!alive(pa) || !alive(pb))
        die("a replica ended during the run");
    emit("convergence_p50", pct(lat, (size_t) writes, 0.5) / 1e3, "ms");
    emit("convergence_p99", pct(lat, (size_t) writes, 0.99) / 1e3, "ms");
    free(lat);
    free(lat_sent);
    free(wr);
    cli_close(&a);
    cli_close(&b);
    return 0;
}

/*  Notices off: B runs --subscribe 0 and learns only from its reload.
    Writes to K distinct nodes go to A at random gaps (uniform 0..2R/5, so
    their phase against B's reload timer is random); every millisecond each
    outstanding node is polled on B. */
static int fig_convergence_reload_only(void)
{
    long reload_ms = env_long("MT_BENCH_RELOAD_MS", 1000, 10, 3600000);
    long k_writes = env_long("MT_BENCH_RELOAD_WRITES", 50, 1, 100000);
    char interval[32];
    snprintf(interval, sizeof interval, "%ld", reload_ms);
    const char *extra_b[] = { "--subscribe", "0", "--reload-interval", interval, NULL };
    proc_t *pa = start_replica(0, NULL);
    proc_t *pb = start_replica(1, extra_b);
    cli_t a, b;
    cli_open(&a, "A", pa->endpoint);
    cli_open(&b, "B", pb->endpoint);
    wait_ready(&a, pa, 30000);
    wait_ready(&b, pb, 30000);

    size_t k = (size_t) k_writes;
    char (*ids)[32] = calloc(k, sizeof *ids);
    uint64_t *want = calloc(k, sizeof *want);
    int64_t *t0 = calloc(k, sizeof *t0);
    double *lat = calloc(k, sizeof *lat);
    if (!ids || !want || !t0 || !lat)
        die("out of memory");
    int64_t base = wall_ms();
    for (size_t i = 0; i < k; i++) {
        snprintf(ids[i], sizeof ids[i], "reload-%04zu", i);
        reg_node(&a, ids[i]);
        want[i] = heartbeat(&a, ids[i], base);
    }
    /*  B's first node.get of a node loads it from the database; afterwards
        only its reload brings changes. */
    for (size_t i = 0; i < k; i++)
        wait_visible(&b, ids[i], want[i], 10000);
    sleep_us(2 * reload_ms * 1000);
    uint64_t recv0 = stat_u64(&b, "notices_received");

    unsigned int seed = (unsigned int) now_us();
    size_t sent = 0, done = 0;
    bool *pending = calloc(k, sizeof *pending);
    if (!pending)
        die("out of memory");
    int64_t next = now_us() + (int64_t) (rand_r(&seed) % (unsigned) (2 * reload_ms * 1000 / 5 + 1));
    int64_t deadline = now_us() + (int64_t) k * reload_ms * 1000 + 60 * 1000000LL;
    while (done < k) {
        if (now_us() > deadline)
            die("%zu of %zu writes not on B in time", k - done, k);
        if (sent < k && now_us() >= next) {
            want[sent] = heartbeat(&a, ids[sent], base + 1 + (int64_t) sent);
            t0[sent] = now_us();
            pending[sent] = true;
            sent++;
            next = now_us() + (int64_t) (rand_r(&seed) % (unsigned) (2 * reload_ms * 1000 / 5 + 1));
        }
        for (size_t i = 0; i < sent; i++) {
            uint64_t r = 0;
            if (pending[i] && get_rev(&b, ids[i], &r) == 0 && r >= want[i]) {
                lat[done++] = (double) (now_us() - t0[i]);
                pending[i] = false;
            }
        }
        sleep_us(1000);
    }
    uint64_t recv = stat_u64(&b, "notices_received") - recv0;
    report_conv("reload-only convergence", lat, k);
    note("B: reload interval %ld ms, %" PRIu64 " notices received during the run (must be 0)",
         reload_ms, recv);
    if (recv != 0)
        die("B received notices although started with --subscribe 0");
    emit("convergence_reload_only_p99", pct(lat, k, 0.99) / 1e3, "ms");
    free(ids);
    free(want);
    free(t0);
    free(lat);
    free(pending);
    cli_close(&a);
    cli_close(&b);
    return 0;
}

/* ---------------------------------------------------------------- get -- */

/*  The echo server: a bare ROUTER; every request (identity, delimiter,
    body) is answered with the identity, an empty delimiter and `blob`. */
typedef struct {
    const char *endpoint;
    const void *blob;
    size_t size;
    atomic_bool stop;
    atomic_bool bound;
    uint64_t requests;
} echo_t;

static void *echo_main(void *arg)
{
    echo_t *e = arg;
    void *s = zmq_socket(g_ctx, ZMQ_ROUTER);
    int hwm = 100000, zero = 0;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(s, e->endpoint) != 0)
        die("echo: cannot bind %s: %s", e->endpoint, zmq_strerror(errno));
    atomic_store(&e->bound, true);
    zmq_msg_t f[4];
    while (!atomic_load(&e->stop)) {
        zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        for (;;) {
            int n = 0, more = 1;
            bool got = true;
            while (more) {
                zmq_msg_t *m = &f[n < 3 ? n : 3];
                zmq_msg_init(m);
                if (zmq_msg_recv(m, s, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                    zmq_msg_close(m);
                    got = false;
                    break;
                }
                more = zmq_msg_more(m);
                if (n >= 3)
                    zmq_msg_close(m);   /* extra frames: dropped */
                n++;
            }
            if (!got)
                break;
            /*  f[0] identity, f[1] delimiter, f[2] body */
            if (n >= 3) {
                zmq_msg_send(&f[0], s, ZMQ_SNDMORE);
                zmq_send(s, "", 0, ZMQ_SNDMORE);
                zmq_send(s, e->blob, e->size, 0);
                e->requests++;
            }
            else
                zmq_msg_close(&f[0]);
            for (int i = 1; i < n && i < 3; i++)
                zmq_msg_close(&f[i]);
        }
    }
    zmq_close(s);
    return NULL;
}

typedef struct {
    const char *endpoint;
    const void *req;                /* the request body, sent as is */
    size_t req_size;
    int inflight;
    int64_t warm_ns, end_ns;        /* the timed window */
    pthread_barrier_t *barrier;
    atomic_bool *stop;
    double *lat;                    /* µs, requests sent and answered in the window */
    size_t nlat, cap;
    uint64_t done;                  /* replies received in the window */
    uint64_t bad;                   /* replies without ok = true */
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    void *s = zmq_socket(g_ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_connect(s, w->endpoint) != 0)
        die("client: cannot connect to %s", w->endpoint);
    int64_t *sent = calloc((size_t) w->inflight, sizeof *sent);   /* FIFO of send times */
    if (!sent)
        die("out of memory");
    size_t head = 0, tail = 0, n = 0, cap = (size_t) w->inflight;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    zmq_msg_t in;
    zmq_msg_init(&in);
    pthread_barrier_wait(w->barrier);
    while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
        while (n < cap) {
            sent[tail] = now_ns();
            tail = (tail + 1) % cap;
            n++;
            zmq_send(s, "", 0, ZMQ_SNDMORE);
            zmq_send(s, w->req, w->req_size, 0);
        }
        zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        int more = 1;
        while (more) {
            if (zmq_msg_recv(&in, s, 0) < 0)
                break;
            more = zmq_msg_more(&in);
        }
        int64_t t = now_ns();
        int64_t t_sent = sent[head];
        head = (head + 1) % cap;
        n--;
        /*  The same client work for both servers: unpack, look at "ok". */
        size_t off = 0;
        bool ok = false;
        if (msgpack_unpack_next(&u, zmq_msg_data(&in), zmq_msg_size(&in), &off)
            == MSGPACK_UNPACK_SUCCESS) {
            const msgpack_object *o = mt_map_get(&u.data, "ok");
            ok = o && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
        }
        if (t < w->warm_ns || t > w->end_ns)
            continue;
        w->done++;
        if (!ok)
            w->bad++;
        if (t_sent >= w->warm_ns) {
            if (w->nlat == w->cap) {
                w->cap = w->cap ? 2 * w->cap : 65536;
                w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
                if (!w->lat)
                    die("out of memory");
            }
            w->lat[w->nlat++] = (double) (t - t_sent) / 1e3;
        }
    }
    msgpack_unpacked_destroy(&u);
    zmq_msg_close(&in);
    zmq_close(s);
    free(sent);
    return NULL;
}

/*  Replies counted and latencies of one target, pooled over rounds. */
typedef struct {
    const char *what;
    double secs;
    uint64_t done, bad;
    double *lat;
    size_t nlat;
} load_result_t;

/*  `clients` threads, each with `inflight` requests in flight, for
    0.5 s of warm-up + secs; the figures are over the last secs. */
static void run_clients(load_result_t *r, const char *endpoint, const void *req,
                        size_t req_size, int clients, int inflight, double secs,
                        cpu_win_t *cpu)
{
    worker_t *w = calloc((size_t) clients, sizeof *w);
    pthread_t *th = calloc((size_t) clients, sizeof *th);
    if (!w || !th)
        die("out of memory");
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned) clients + 1);
    atomic_bool stop = false;
    const double warm_s = 0.5;
    for (int i = 0; i < clients; i++) {
        w[i] = (worker_t) { .endpoint = endpoint, .req = req, .req_size = req_size,
                            .inflight = inflight, .barrier = &barrier, .stop = &stop };
        if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0)
            die("pthread_create");
    }
    sleep_us(200000);               /* connections up */
    int64_t t = now_ns();
    for (int i = 0; i < clients; i++) {
        w[i].warm_ns = t + (int64_t) (warm_s * 1e9);
        w[i].end_ns = w[i].warm_ns + (int64_t) (secs * 1e9);
    }
    pthread_barrier_wait(&barrier);
    sleep_us((int64_t) (warm_s * 1e6));
    cpu_begin(cpu);
    sleep_us((int64_t) (secs * 1e6));
    char what[64];
    snprintf(what, sizeof what, "%s:", r->what);
    cpu_end(cpu, what, 0);
    sleep_us(20000);
    atomic_store(&stop, true);
    uint64_t done = 0;
    size_t n = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        n += w[i].nlat;
        done += w[i].done;
        r->bad += w[i].bad;
    }
    r->lat = realloc(r->lat, (r->nlat + n + 1) * sizeof *r->lat);
    if (!r->lat)
        die("out of memory");
    for (int i = 0; i < clients; i++) {
        memcpy(r->lat + r->nlat, w[i].lat, w[i].nlat * sizeof *r->lat);
        r->nlat += w[i].nlat;
        free(w[i].lat);
    }
    r->done += done;
    r->secs += secs;
    note("%s: %d clients x %d in flight, %.1f s: %.0f req/s", r->what, clients, inflight, secs,
         (double) done / secs);
    free(w);
    free(th);
    pthread_barrier_destroy(&barrier);
}

static double result_rps(const load_result_t *r)
{
    return r->secs > 0 ? (double) r->done / r->secs : 0;
}

/*  Sorts the pooled latencies and prints them. */
static void result_note(load_result_t *r)
{
    qsort(r->lat, r->nlat, sizeof *r->lat, cmp_double);
    note("%s over %.1f s: %.0f req/s, latency us p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f;"
         " %" PRIu64 " replies not ok", r->what, r->secs, result_rps(r),
         pct(r->lat, r->nlat, 0.5), pct(r->lat, r->nlat, 0.9), pct(r->lat, r->nlat, 0.99),
         pct(r->lat, r->nlat, 0.999), r->nlat ? r->lat[r->nlat - 1] : 0.0, r->bad);
}

/*  Echo and node.get alternate for MT_BENCH_GET_ROUNDS rounds (echo
    first); each figure pools its rounds (rate: replies / seconds;
    percentiles: over every latency). */
static int fig_get(void)
{
    int clients = (int) env_long("MT_BENCH_GET_CLIENTS", 8, 1, 1024);
    int inflight = (int) env_long("MT_BENCH_GET_INFLIGHT", 1, 1, 65536);
    double secs = (double) env_long("MT_BENCH_GET_S", 5, 1, 3600);
    int rounds = (int) env_long("MT_BENCH_GET_ROUNDS", 2, 1, 100);
    proc_t *pa = start_replica(0, NULL);
    cli_t a;
    cli_open(&a, "A", pa->endpoint);
    wait_ready(&a, pa, 30000);
    const char *id = "get-0";
    reg_node(&a, id);
    heartbeat(&a, id, wall_ms());

    /*  The request the clients send, and a real reply, whose bytes the echo
        server sends back: same sizes both ways. */
    cli_begin(&a, "node.get", 1);
    pk_str(&a.pk, "id");
    pk_str(&a.pk, id);
    size_t req_size = a.sb.size;
    char *req = malloc(req_size);
    if (!req)
        die("out of memory");
    memcpy(req, a.sb.data, req_size);
    if (cli_call(&a, CALL_MS, NULL) != 0)
        die("node.get %s: %s", id, a.code);
    size_t reply_size = zmq_msg_size(&a.in);
    char *reply = malloc(reply_size);
    if (!reply)
        die("out of memory");
    memcpy(reply, zmq_msg_data(&a.in), reply_size);
    note("node.get: request %zu bytes, reply %zu bytes; %d client threads (one DEALER each), "
         "%d request(s) in flight each; %d round(s) of %.0f s per target", req_size, reply_size,
         clients, inflight, rounds, secs);

    char echo_ep[64];
    snprintf(echo_ep, sizeof echo_ep, "tcp://127.0.0.1:%d", g_port + 9);
    echo_t e = { .endpoint = echo_ep, .blob = reply, .size = reply_size };
    pthread_t eth;
    if (pthread_create(&eth, NULL, echo_main, &e) != 0)
        die("pthread_create");
    while (!atomic_load(&e.bound))
        sleep_us(1000);

    load_result_t echo = { .what = "echo" }, get = { .what = "node.get" };
    cpu_win_t cpu_echo = { 0 }, cpu_get = { 0 };
    cpu_add(&cpu_echo, "bench (clients + echo server)", getpid());
    cpu_add(&cpu_echo, "A (idle)", pa->pid);
    cpu_add(&cpu_get, "A", pa->pid);
    cpu_add(&cpu_get, "bench (clients)", getpid());
    uint64_t req0 = stat_u64(&a, "requests"), parks0 = stat_u64(&a, "parks");
    uint64_t runs0 = stat_u64(&a, "worker_runs");
    unsigned long long a_ticks = 0;
    for (int i = 0; i < rounds; i++) {
        run_clients(&echo, echo_ep, req, req_size, clients, inflight, secs, &cpu_echo);
        run_clients(&get, pa->endpoint, req, req_size, clients, inflight, secs, &cpu_get);
        a_ticks += cpu_get.p[0].d;
    }
    uint64_t reqs = stat_u64(&a, "requests") - req0, parks = stat_u64(&a, "parks") - parks0;
    uint64_t runs = stat_u64(&a, "worker_runs") - runs0;
    result_note(&echo);
    result_note(&get);
    note("A over the node.get rounds: %" PRIu64 " requests, %" PRIu64 " worker parks (%.2f per "
         "request), %" PRIu64 " actor turns (%.2f per request), %.1f us of A's cpu per reply",
         reqs, parks, reqs ? (double) parks / (double) reqs : 0.0, runs,
         reqs ? (double) runs / (double) reqs : 0.0,
         get.done ? (double) a_ticks / (double) sysconf(_SC_CLK_TCK) * 1e6 / (double) get.done : 0.0);
    note("get_rps / echo_rps = %.0f%%", result_rps(&echo) > 0 ? 100.0 * result_rps(&get) / result_rps(&echo) : 0.0);
    atomic_store(&e.stop, true);
    pthread_join(eth, NULL);
    if (get.bad || echo.bad)
        die("%" PRIu64 " node.get replies were not ok", get.bad);
    if (!alive(pa))
        die("A ended during the run");
    emit("get_rps", result_rps(&get), "requests/s");
    emit("get_p50", pct(get.lat, get.nlat, 0.5), "us");
    emit("get_p99", pct(get.lat, get.nlat, 0.99), "us");
    emit("echo_rps", result_rps(&echo), "requests/s");
    free(get.lat);
    free(echo.lat);
    free(req);
    free(reply);
    cli_close(&a);
    return 0;
}

/* ---------------------------------------------------------------- e2e -- */

static int fig_e2e(void)
{
    long nodes = env_long("MT_BENCH_E2E_NODES", 10000, 1, 10000000);
    long secs = env_long("MT_BENCH_E2E_S", 10, 1, 3600);
    long conc = env_long("MT_BENCH_E2E_CONC", 256, 1, 65536);
    proc_t *pa = start_replica(0, NULL);
    cli_t a;
    cli_open(&a, "A", pa->endpoint);
    wait_ready(&a, pa, 30000);
    uint64_t b0 = stat_u64(&a, "store_batches"), r0 = stat_u64(&a, "store_rows");

    char path[512], s_nodes[32], s_secs[32], s_conc[32];
    snprintf(path, sizeof path, "%s/metactl", g_bindir);
    snprintf(s_nodes, sizeof s_nodes, "%ld", nodes);
    snprintf(s_secs, sizeof s_secs, "%ld", secs);
    snprintf(s_conc, sizeof s_conc, "%ld", conc);
    char *argv[] = { path, "-e", pa->endpoint, "-t", "10000", "load", "--nodes", s_nodes,
                     "--rate", "0", "--duration", s_secs, "--concurrency", s_conc,
                     "--prefix", "e2e", "--register", "--bench", NULL };
    note("running metactl -e %s -t 10000 load --nodes %s --rate 0 --duration %s "
         "--concurrency %s --prefix e2e --register --bench", pa->endpoint, s_nodes, s_secs, s_conc);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        die("pipe: %s", strerror(errno));
    cpu_win_t cpu = { 0 };
    cpu_add(&cpu, "A", pa->pid);
    cpu_add_db(&cpu);
    cpu_add(&cpu, "bench", getpid());
    cpu_begin(&cpu);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_CHILDREN, &ru0);
    proc_t *pl = spawn("metactl", argv, fds[1]);
    close(fds[1]);
    char out[4096];
    size_t n = 0;
    ssize_t r;
    while ((r = read(fds[0], out + n, sizeof out - 1 - n)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0)
            n += (size_t) r;
    out[n] = '\0';
    close(fds[0]);
    int st = 0;
    waitpid(pl->pid, &st, 0);
    pl->pid = 0;
    getrusage(RUSAGE_CHILDREN, &ru1);
    double child_s = (double) (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec)
                     + (double) (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec)
                     + (double) (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6
                     + (double) (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
    cpu_end(&cpu, "metactl load (register + heartbeats; children = metactl)",
            (unsigned long long) (child_s * (double) sysconf(_SC_CLK_TCK)));
    /*  metactl's report (it went to the log): shown as diagnostics. */
    FILE *f = fopen(pl->log, "r");
    if (f) {
        char line[1024];
        while (fgets(line, sizeof line, f))
            fprintf(stderr, "#   metactl: %s", line);
        fclose(f);
    }
    if (!alive(pa))
        die("A ended during the load; the figure is void");
    uint64_t batches = stat_u64(&a, "store_batches") - b0, rows = stat_u64(&a, "store_rows") - r0;
    note("A: %" PRIu64 " store batches, %" PRIu64 " rows (%.1f rows per batch)", batches, rows,
         batches ? (double) rows / (double) batches : 0.0);
    const char *p = strstr(out, "bench=e2e_heartbeat_ingest value=");
    double v = 0;
    if (!p || sscanf(p, "bench=e2e_heartbeat_ingest value=%lf", &v) != 1)
        die("metactl printed no bench line (exit status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        note("metactl exit status %d: some requests failed (see its report above)",
             WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    emit("e2e_heartbeat_ingest", v, "acks/s");
    cli_close(&a);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

/* --------------------------------------------------------------- main -- */

static const struct {
    const char *name;
    int (*fn)(void);
} figures[] = {
    { "convergence", fig_convergence },
    { "convergence_reload_only", fig_convergence_reload_only },
    { "get", fig_get },
    { "e2e", fig_e2e },
};

int main(int argc, char **argv)
{
    int (*fn)(void) = NULL;
    if (argc == 5)
        for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
            if (strcmp(argv[1], figures[i].name) == 0)
                fn = figures[i].fn;
    if (!fn) {
        fprintf(stderr, "# usage: mt_bench_service FIGURE DSN BINDIR LOGDIR\n"
                        "#   FIGURE: convergence convergence_reload_only get e2e\n");
        return 2;
    }
    g_figure = argv[1];
    g_dsn = argv[2];
    g_bindir = argv[3];
    g_logdir = argv[4];
    g_port = (int) env_long("MT_BENCH_SVC_PORT", 7460, 1, 65525);
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
