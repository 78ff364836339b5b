/*  mt_proc.h — child processes for the tests and the benchmarks: the one
    way both start a program with its output in a log, stop it, wait for it
    and reap it (tests/service's harness: metactord replicas; bench/: the
    replicas and metactl of the service benchmarks).

    A child starts with a clean slate: stdin from /dev/null, stdout and
    stderr to its log (stdout elsewhere on request), no other descriptor
    of the parent (sockets, pipes, the database's connections), no blocked
    signal, default dispositions; it gets death_signal if the parent dies
    (PR_SET_PDEATHSIG, checked against a parent that died before the
    child could ask for it).

    Waits take a deadline that only bounds a hang (a child that does not
    stop is killed, so that a test fails instead of hanging); nothing here
    measures time. Not thread-safe: start and reap children from one
    thread; mt_proc_running may be called from any. */
#ifndef MT_PROC_H_INCLUDED
#define MT_PROC_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
    char *const *argv;          /* argv[0]: the program's path (no PATH search) */
    char *const *envp;          /* NULL: this process's environment */
    const char *log;            /* stdout and stderr go here (created 0644) */
    bool truncate;              /* start the log afresh; else append (restarts) */
    const char *banner;         /* written to the log before the child starts, or NULL */
    int stdout_fd;              /* >= 0: the child's stdout (a pipe); -1: the log */
    int death_signal;           /* when this process dies; 0 = SIGKILL */
} mt_proc_opts_t;

/*  fork + exec. The child's pid, or -1 with a message in err (the log
    cannot be opened, fork failed). An exec that fails is said in the log
    and the child exits with status 127. */
pid_t mt_proc_spawn(const mt_proc_opts_t *opts, char *err, size_t errlen);

/*  What a wait found besides a wait status (which is >= 0). */
#define MT_PROC_NOT_CHILD (-1)      /* no such child (reaped already) */
#define MT_PROC_RUNNING (-2)        /* still running at the deadline */

/*  Reaps pid once it has ended: its wait status. Waits at most timeout_ms
    (0: only looks; < 0: as long as it takes); EINTR is not an end. */
int mt_proc_wait(pid_t pid, int timeout_ms);

/*  SIGTERM (after SIGCONT: a stopped process could not act on it). */
void mt_proc_terminate(pid_t pid);

/*  After mt_proc_terminate: waits up to timeout_ms, then SIGKILL. The wait
    status, or MT_PROC_RUNNING if it had to be killed (it is reaped either
    way), or MT_PROC_NOT_CHILD. */
int mt_proc_finish(pid_t pid, int timeout_ms);

/*  mt_proc_terminate + mt_proc_finish. */
int mt_proc_stop(pid_t pid, int timeout_ms);

/*  SIGKILL (a crash, on purpose) and reap: the wait status, or
    MT_PROC_NOT_CHILD. */
int mt_proc_kill(pid_t pid);

/*  True while pid runs. It is not reaped: a later wait still sees how it
    ended. */
bool mt_proc_running(pid_t pid);

/*  "exit status 3", "killed by signal 9", "still running", "not a child". */
void mt_proc_describe(int status, char *out, size_t n);

#endif
