/*  benchproc.h — the child processes of a benchmark program (metactord
    replicas, metactl): started with their output in a log of their own,
    watched, and stopped by whoever started them, on success, on a failure
    (bp_die) and on a signal, so that a run never leaves a replica behind.
    The children also get SIGTERM if the program dies (PR_SET_PDEATHSIG).

    Logs: LOGDIR/FIGURE-NAME.log. Stopping: SIGTERM to all at once (they
    drain in parallel), then SIGKILL to any still running after
    BP_STOP_MS. Not thread-safe: start and stop processes from one thread. */
#ifndef MT_BENCHPROC_H_INCLUDED
#define MT_BENCHPROC_H_INCLUDED

#include <stdbool.h>
#include <sys/types.h>

#define BP_STOP_MS 15000            /* SIGTERM → SIGKILL */
#define BP_MAX_PROCS 32
#define BP_MAX_ARGS 40

typedef struct {
    volatile pid_t pid;             /* 0: not running; read by the signal handler */
    char name[16];                  /* in the log's name and the diagnostics */
    char id[32];                    /* a replica's --replica-id */
    char endpoint[64];              /* a replica's request endpoint */
    char log[512];
    char *argv[BP_MAX_ARGS + 1];    /* kept to start it again; point into args */
    char args[4096];
    int starts;
} bp_proc_t;

/*  Once, first: prog names failures (with the figure), figure and logdir
    the logs. Installs the handlers that stop the children on SIGINT,
    SIGTERM and SIGHUP; ignores SIGPIPE. */
void bp_init(const char *prog, const char *figure, const char *logdir);

/*  fork + exec of argv (copied), its stdout to out_fd (-1: the log),
    stderr to the log. */
bp_proc_t *bp_spawn(const char *name, char *const argv[], int out_fd);
/*  Starts p again with the same arguments; the log is appended to. */
void bp_restart(bp_proc_t *p);

/*  metactord from bindir as replica id: requests on tcp://127.0.0.1:port,
    notices on port + 1, database dsn; then the flags in extra
    (NULL-terminated, may be NULL) and the words of the environment
    variable args_env (experiments). The password is never on the command
    line: the replica takes it from METACTOR_DB_PASSWORD, where a password
    in dsn is moved to. The command line goes to stderr. */
bp_proc_t *bp_start_replica(const char *name, const char *id, const char *bindir, int port,
                            const char *dsn, const char *const *extra, const char *args_env);

/*  Waits for p's end; its wait status. */
int bp_wait(bp_proc_t *p);
/*  SIGTERM, wait; SIGKILL after BP_STOP_MS. Its exit status (-1 killed). */
int bp_stop(bp_proc_t *p);
/*  SIGKILL and wait (a crash, on purpose). */
void bp_kill(bp_proc_t *p);
/*  True while p runs (not reaped: bp_report_dead still sees how it ended). */
bool bp_running(const bp_proc_t *p);
/*  The last lines of p's log on stderr. */
void bp_tail_log(const bp_proc_t *p);
/*  Says which processes ended by themselves (a crash, or a signal from
    someone else), with the end of their logs. */
void bp_report_dead(void);
/*  Stops every running process; how many did not exit with status 0. */
int bp_stop_all(void);

/*  "# FAILED: FIGURE: message", the processes that ended by themselves,
    every other one stopped; exit status 1. */
void bp_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
