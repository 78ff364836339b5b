/*  harness_proc.c — the replicas as processes: started with the harness's
    flags and their log, stopped, killed, paused; waited for until they
    answer and see each other (see harness.h). A replica's database password
    reaches it in its environment, never on its command line. */
#include "harness_int.h"

#include "mt_dsn.h"
#include "mt_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*  SIGTERM (a paused replica gets SIGCONT first, or it could not exit). */
static void terminate(h_replica_t *r)
{
    hi_close_sock(&r->sock);
    mt_proc_terminate(r->pid);
    r->paused = false;
}

/*  The exit status after terminate(); SIGKILL once H_STOP_MS have passed
    (MT_PROC_RUNNING), so that a hung replica fails its test instead of
    hanging it. */
static int reap_terminated(h_replica_t *r)
{
    int st = mt_proc_finish(r->pid, H_STOP_MS);
    r->pid = 0;
    return st;
}

void hi_stop_all(char *bad, size_t cap)
{
    /*  All signalled first: they drain in parallel. */
    for (int i = 0; i < h_state.n; i++) {
        if (h_state.r[i].pid)
            terminate(&h_state.r[i]);
        else
            hi_close_sock(&h_state.r[i].sock);
    }
    for (int i = 0; i < h_state.n; i++) {
        h_replica_t *r = &h_state.r[i];
        if (!r->pid)
            continue;
        int st = reap_terminated(r);
        if (st != 0) {
            char d[64];
            mt_proc_describe(st, d, sizeof d);
            size_t l = strlen(bad);
            snprintf(bad + l, cap - l, "%s replica %s: %s after SIGTERM", l ? ";" : "", r->id, d);
        }
    }
}

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

void h_set_env(int i, ...)
{
    h_replica_t *r = h_replica(i);
    va_list ap;
    va_start(ap, i);
    int n = 0;
    const char *e;
    while ((e = va_arg(ap, const char *)) != NULL) {
        ck_assert_int_lt(n, H_MAX_ARGS - 1);
        ck_assert_msg(strchr(e, '='), "h_set_env: %s is not NAME=value", e);
        r->env[n++] = e;
    }
    r->env[n] = NULL;
    va_end(ap);
}

bool h_running(int i)
{
    return h_replica(i)->pid != 0;
}

extern char **environ;

/*  The database password stays off the command line (every user reads it
    with ps): each --db value in argv loses its password, and the
    replica's environment gets METACTOR_DB_PASSWORD instead (the last
    --db's, as the flag's last value is the one used). Returns that
    environment; *owned collects what to free. */
static char **password_to_env(const char **argv, int n, char **owned, int *nowned)
{
    char *password = NULL;
    for (int k = 1; k + 1 < n; k++) {
        mt_dsn_t *d = NULL;
        if (strcmp(argv[k], "--db") != 0 || mt_dsn_parse(argv[k + 1], &d, NULL, 0) != 0)
            continue;       /* a bad DSN goes as it is: the replica says what is wrong */
        if (password)
            explicit_bzero(password, strlen(password));
        free(password);
        password = strdup(d->password);
        ck_assert_int_eq(mt_dsn_set_password(d, ""), 0);
        argv[k + 1] = owned[(*nowned)++] = mt_dsn_format(d);
        ck_assert_ptr_nonnull(argv[k + 1]);
        mt_dsn_destroy(&d);
    }
    int ne = 0;
    while (environ[ne])
        ne++;
    char **env = calloc((size_t) ne + 2, sizeof *env);
    ck_assert_ptr_nonnull(env);
    int m = 0;
    for (int i = 0; i < ne; i++)
        if (strncmp(environ[i], "METACTOR_DB_PASSWORD=", 21) != 0)
            env[m++] = environ[i];
    if (password && *password) {
        ck_assert_int_ne(asprintf(&env[m], "METACTOR_DB_PASSWORD=%s", password), -1);
        owned[(*nowned)++] = env[m++];
    }
    if (password)
        explicit_bzero(password, strlen(password));
    free(password);
    return env;
}

/*  env with the replica's own variables (h_set_env) in place of those of
    the same name; a new array of borrowed strings (caller frees it). */
static char **with_replica_env(char **env, const char *const *extra)
{
    int n = 0, k = 0;
    while (env[n])
        n++;
    while (extra[k])
        k++;
    char **out = calloc((size_t) (n + k + 1), sizeof *out);
    ck_assert_ptr_nonnull(out);
    int m = 0;
    for (int i = 0; i < n; i++) {
        bool replaced = false;
        for (int j = 0; j < k && !replaced; j++) {
            size_t len = (size_t) (strchr(extra[j], '=') - extra[j]) + 1;
            replaced = strncmp(env[i], extra[j], len) == 0;
        }
        if (!replaced)
            out[m++] = env[i];
    }
    for (int j = 0; j < k; j++)
        out[m++] = (char *) extra[j];
    return out;
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
    argv[n++] = r->dsn ? r->dsn : h_state.cl[r->cluster].dsn;
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
    char *owned[64];
    int nowned = 0;
    char **base_env = password_to_env(argv, n, owned, &nowned);
    char **env = with_replica_env(base_env, r->env);

    /*  The log: a marker line per start, so restarts are told apart. */
    char line[2048];
    int len = snprintf(line, sizeof line, "--- harness: start #%d of replica %s:", r->starts + 1,
                       r->id);
    for (int k = 0; k < n && len < (int) sizeof line - 2; k++)
        len += snprintf(line + len, sizeof line - (size_t) len, " %s", argv[k]);
    if (len > (int) sizeof line - 2)
        len = (int) sizeof line - 2;
    line[len++] = '\n';
    line[len] = '\0';
    /*  Dies with the test process, whatever becomes of it (SIGKILL). */
    mt_proc_opts_t po = { .argv = (char *const *) argv, .envp = env, .log = r->log,
                          .banner = line, .stdout_fd = -1, .death_signal = SIGKILL };
    char err[600];
    pid_t pid = mt_proc_spawn(&po, err, sizeof err);
    ck_assert_msg(pid > 0, "replica %s: %s", r->id, err);
    for (int k = 0; k < nowned; k++) {
        explicit_bzero(owned[k], strlen(owned[k]));
        free(owned[k]);
    }
    free(env);
    free(base_env);
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
    h_replica_t *r = &h_state.r[i];
    if (!r->pid)
        return;
    int st = mt_proc_wait(r->pid, 0);
    if (st >= 0) {
        char d[64];
        mt_proc_describe(st, d, sizeof d);
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
    const h_replica_t *r = h_state.r;
    for (int i = 0; i < h_state.n; i++) {
        if (!r[i].pid || r[i].paused)
            continue;
        check_process(i);
        h_reply_t *info = h_call_ms(i, 2000, "{s:s}", "op", "cluster.info");
        bool all = info && info->ok;
        for (int k = 0; all && k < h_state.n; k++)
            if (r[k].pid && !r[k].paused && r[k].cluster == r[i].cluster)
                all = lists_alive(info, r[k].id);
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
    for (int i = 0; i < h_state.n; i++)
        h_start(i);
    h_wait_cluster();
}

void h_stop(int i)
{
    h_replica_t *r = h_replica(i);
    ck_assert_msg(r->pid, "replica %s is not running", r->id);
    terminate(r);
    int st = reap_terminated(r);
    char d[64];
    mt_proc_describe(st, d, sizeof d);
    H_ASSERT(st == 0, "replica %s: %s after SIGTERM (expected exit status 0)", r->id, d);
}

void h_kill(int i)
{
    h_replica_t *r = h_replica(i);
    ck_assert_msg(r->pid, "replica %s is not running", r->id);
    hi_close_sock(&r->sock);
    int st = mt_proc_kill(r->pid);
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
