/*  mt_proc.c — see mt_proc.h. */
#include "mt_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/*  The highest descriptor a child closes: more than any of our programs
    holds (the harness and the benchmarks open a few dozen). */
#define CLOSE_UP_TO 4096
#define KILL_REAP_MS 20000          /* SIGKILL to reaped: bounds a hang only */

pid_t mt_proc_spawn(const mt_proc_opts_t *o, char *err, size_t errlen)
{
    int log = open(o->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (o->truncate ? O_TRUNC : 0),
                   0644);
    if (log < 0) {
        snprintf(err, errlen, "cannot open %s: %s", o->log, strerror(errno));
        return -1;
    }
    if (o->banner && write(log, o->banner, strlen(o->banner)) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", o->log, strerror(errno));
        close(log);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(log);
        return -1;
    }
    if (pid == 0) {
        /*  Only async-signal-safe calls from here to exec. */
        prctl(PR_SET_PDEATHSIG, o->death_signal ? o->death_signal : SIGKILL);
        if (getppid() != parent)
            _exit(127);                 /* the parent died before prctl */
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(o->stdout_fd >= 0 ? o->stdout_fd : log, 1);
        dup2(log, 2);
        for (int k = 3; k < CLOSE_UP_TO; k++)
            close(k);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        static const int reset[] = { SIGALRM, SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD };
        for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
            signal(reset[i], SIG_DFL);
        execve(o->argv[0], o->argv, o->envp ? o->envp : environ);
        dprintf(2, "exec %s: %s\n", o->argv[0], strerror(errno));
        _exit(127);
    }
    close(log);
    return pid;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mt_proc_wait(pid_t pid, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int status;
        pid_t w = waitpid(pid, &status, timeout_ms < 0 ? 0 : WNOHANG);
        if (w == pid)
            return status;
        if (w < 0 && errno != EINTR)
            return MT_PROC_NOT_CHILD;
        if (w == 0 && now_ms() >= deadline)
            return MT_PROC_RUNNING;
        if (w == 0)
            sleep_ms(10);
    }
}

void mt_proc_terminate(pid_t pid)
{
    kill(pid, SIGCONT);
    kill(pid, SIGTERM);
}

int mt_proc_finish(pid_t pid, int timeout_ms)
{
    int st = mt_proc_wait(pid, timeout_ms);
    if (st == MT_PROC_RUNNING)
        mt_proc_kill(pid);
    return st;
}

int mt_proc_stop(pid_t pid, int timeout_ms)
{
    mt_proc_terminate(pid);
    return mt_proc_finish(pid, timeout_ms);
}

int mt_proc_kill(pid_t pid)
{
    kill(pid, SIGKILL);
    return mt_proc_wait(pid, KILL_REAP_MS);
}

bool mt_proc_running(pid_t pid)
{
    siginfo_t si = { 0 };
    return pid > 0 && waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0
           && si.si_pid == 0;
}

void mt_proc_describe(int status, char *out, size_t n)
{
    if (status == MT_PROC_RUNNING)
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
