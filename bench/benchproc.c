/*  benchproc.c — the child processes of a benchmark program: see
    benchproc.h. */
#include "benchproc.h"

#include "benchutil.h"
#include "mt_proc.h"

#include <signal.h>
#include <sys/wait.h>

static const char *g_prog = "bench", *g_figure, *g_logdir = ".";
static bp_proc_t g_procs[BP_MAX_PROCS];
static int g_nprocs;

static void on_signal(int sig)
{
    for (int i = 0; i < BP_MAX_PROCS; i++)
        if (g_procs[i].pid > 0)
            kill(g_procs[i].pid, SIGTERM);
    _exit(128 + sig);
}

void bp_init(const char *prog, const char *figure, const char *logdir)
{
    g_prog = prog;
    g_figure = figure;
    g_logdir = logdir;
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void bp_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(g_figure ? g_figure : g_prog, fmt, ap);
    va_end(ap);
    bp_report_dead();
    bp_stop_all();
    exit(1);
}

/*  fork + exec of p->argv (mt_proc); stdout to out_fd (or the log),
    stderr to the log (appended to over restarts). Called before any
    client thread exists (fork copies only the caller). The children get
    SIGTERM if this program dies: they drain and leave the cluster. */
static void launch(bp_proc_t *p, int out_fd)
{
    char banner[128];
    snprintf(banner, sizeof banner, "--- %s: start #%d\n", g_prog, p->starts + 1);
    mt_proc_opts_t o = { .argv = p->argv, .log = p->log, .truncate = p->starts == 0,
                         .banner = p->starts ? banner : NULL, .stdout_fd = out_fd,
                         .death_signal = SIGTERM };
    char err[600];
    pid_t pid = mt_proc_spawn(&o, err, sizeof err);
    if (pid < 0)
        bp_die("%s: %s", p->name, err);
    p->pid = pid;
    p->starts++;
}

bp_proc_t *bp_spawn(const char *name, char *const argv[], int out_fd)
{
    if (g_nprocs == BP_MAX_PROCS)
        bp_die("too many processes");
    bp_proc_t *p = &g_procs[g_nprocs++];
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->log, sizeof p->log, "%s/%s-%s.log", g_logdir, g_figure, name);
    size_t used = 0;
    int n = 0;
    for (; argv[n]; n++) {
        size_t len = strlen(argv[n]) + 1;
        if (n == BP_MAX_ARGS || used + len > sizeof p->args)
            bp_die("%s: too many or too long arguments", name);
        p->argv[n] = memcpy(p->args + used, argv[n], len);
        used += len;
    }
    p->argv[n] = NULL;
    launch(p, out_fd);
    return p;
}

void bp_restart(bp_proc_t *p)
{
    launch(p, -1);
}

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/*  A password in dsn (USER:PASSWORD@, the authority's last '@', as dsn.c
    reads it) moves to METACTOR_DB_PASSWORD, which every replica started
    from now on inherits; plain gets the DSN without it. Command lines are
    visible to every user (ps): scripts/bench passes the DSN without a
    password already, this is for a hand-run bench. By hand, not with
    mt_dsn: this library links the transport only. */
static void password_to_env(const char *dsn, char *plain, size_t n)
{
    snprintf(plain, n, "%s", dsn);
    char *auth = strstr(plain, "://");
    if (!auth)
        return;
    auth += 3;
    char *end = auth + strcspn(auth, "/?"), *at = NULL;
    for (char *q = auth; q < end; q++)
        if (*q == '@')
            at = q;
    char *colon = at ? memchr(auth, ':', (size_t) (at - auth)) : NULL;
    if (!colon)
        return;
    char pw[1100];
    size_t k = 0;
    for (char *q = colon + 1; q < at && k + 1 < sizeof pw; q++) {
        if (*q == '%' && q + 2 < at && hex(q[1]) >= 0 && hex(q[2]) >= 0) {
            pw[k++] = (char) (hex(q[1]) << 4 | hex(q[2]));
            q += 2;
        }
        else
            pw[k++] = *q;
    }
    pw[k] = '\0';
    setenv("METACTOR_DB_PASSWORD", pw, 1);
    explicit_bzero(pw, sizeof pw);
    memmove(colon, at, strlen(at) + 1);             /* USER@HOST... */
}

bp_proc_t *bp_start_replica(const char *name, const char *id, const char *bindir, int port,
                            const char *dsn_in, const char *const *extra, const char *args_env)
{
    char path[512], ep[64], pub[64], more[512], dsn[2048];
    password_to_env(dsn_in, dsn, sizeof dsn);
    char *argv[BP_MAX_ARGS + 1];
    int n = 0;
    snprintf(path, sizeof path, "%s/metactord", bindir);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    snprintf(pub, sizeof pub, "tcp://127.0.0.1:%d", port + 1);
    argv[n++] = path;
    argv[n++] = "--replica-id";
    argv[n++] = (char *) id;
    argv[n++] = "--endpoint";
    argv[n++] = ep;
    argv[n++] = "--publish";
    argv[n++] = pub;
    argv[n++] = "--db";
    argv[n++] = dsn;
    for (int i = 0; extra && extra[i] && n < BP_MAX_ARGS; i++)
        argv[n++] = (char *) extra[i];
    const char *env = args_env ? getenv(args_env) : NULL;
    snprintf(more, sizeof more, "%s", env ? env : "");
    for (char *save = NULL, *t = strtok_r(more, " ", &save); t && n < BP_MAX_ARGS;
         t = strtok_r(NULL, " ", &save))
        argv[n++] = t;
    argv[n] = NULL;
    bp_proc_t *p = bp_spawn(name, argv, -1);
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->endpoint, sizeof p->endpoint, "%s", ep);
    fprintf(stderr, "# started %s (pid %d):", name, (int) p->pid);
    for (int i = 1; i < n; i++)
        fprintf(stderr, " %s", argv[i]);           /* no password in it: see above */
    fputc('\n', stderr);
    return p;
}

int bp_wait(bp_proc_t *p)
{
    int st = p->pid > 0 ? mt_proc_wait(p->pid, -1) : 0;
    p->pid = 0;
    return st < 0 ? 0 : st;
}

int bp_stop(bp_proc_t *p)
{
    if (p->pid <= 0)
        return 0;
    pid_t pid = p->pid;
    int st = mt_proc_stop(pid, BP_STOP_MS);
    p->pid = 0;
    if (st == MT_PROC_RUNNING) {
        note("%s (pid %d) did not stop in %d ms: SIGKILL", p->name, (int) pid, BP_STOP_MS);
        return -1;
    }
    if (st == MT_PROC_NOT_CHILD)
        return 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void bp_kill(bp_proc_t *p)
{
    if (p->pid <= 0)
        bp_die("%s is not running", p->name);
    mt_proc_kill(p->pid);
    p->pid = 0;
}

bool bp_running(const bp_proc_t *p)
{
    return p->pid > 0 && mt_proc_running(p->pid);
}

void bp_tail_log(const bp_proc_t *p)
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

void bp_report_dead(void)
{
    for (int i = 0; i < g_nprocs; i++) {
        bp_proc_t *p = &g_procs[i];
        int st = p->pid > 0 ? mt_proc_wait(p->pid, 0) : MT_PROC_NOT_CHILD;
        if (st < 0)
            continue;
        if (WIFSIGNALED(st))
            note("%s (pid %d) was killed by signal %d before the end", p->name, (int) p->pid,
                 WTERMSIG(st));
        else
            note("%s (pid %d) exited with status %d before the end (a SIGTERM from outside "
                 "ends it with status 0)", p->name, (int) p->pid, WEXITSTATUS(st));
        p->pid = 0;
        bp_tail_log(p);
    }
}

int bp_stop_all(void)
{
    int bad = 0;
    for (int i = 0; i < g_nprocs; i++)
        if (g_procs[i].pid > 0)
            mt_proc_terminate(g_procs[i].pid);  /* all at once: they drain in parallel */
    for (int i = 0; i < g_nprocs; i++)
        if (g_procs[i].pid > 0) {
            int rc = bp_stop(&g_procs[i]);
            if (rc != 0) {
                note("%s exited with status %d; log %s", g_procs[i].name, rc, g_procs[i].log);
                bad++;
            }
        }
    return bad;
}
