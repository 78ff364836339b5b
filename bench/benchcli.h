/*  benchcli.h — a bare client of the wire protocol (PROTOCOL.md) for the
    benchmark programs that drive real replicas: one DEALER socket per
    replica, a request body built in place with msgpack, replies matched by
    rid; and waiting until replicas are up. Not mt_client: the benchmarks
    see the very bytes and keep several requests in flight on one socket.
    Failures that should never happen end the program (bp_die). */
#ifndef MT_BENCHCLI_H_INCLUDED
#define MT_BENCHCLI_H_INCLUDED

#include "benchproc.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

#define CLI_CALL_MS 10000           /* a call that should never time out */

typedef struct {
    void *sock;
    char name[16];
    uint64_t rid;                   /* the last request's */
    msgpack_sbuffer sb;             /* the request being built */
    msgpack_packer pk;
    zmq_msg_t in;                   /* the last reply's body; objects point into it */
    msgpack_unpacked u;
    char code[32];                  /* the last error reply's code */
} cli_t;

/*  The zmq context of every client (and of the program's own sockets):
    cli_init once before any, cli_term at the end. */
void cli_init(void);
void cli_term(void);
void *cli_zctx(void);

/*  CURVE for every client socket opened from now on (cli_open, and the
    program's own through cli_curve): the server's public key and the
    client's keypair, Z85 (40 characters each). NULL server: plain again. */
void cli_set_curve(const char *server_pub, const char *client_pub, const char *client_sec);
/*  Sets the identity of cli_set_curve on sock (before its connect); nothing
    without one. */
void cli_curve(void *sock);

void cli_open(cli_t *c, const char *name, const char *endpoint);
void cli_close(cli_t *c);
/*  A fresh socket to endpoint (after the replica was restarted, or a call
    timed out). */
void cli_reopen(cli_t *c, const char *endpoint);

void cli_pack_str(msgpack_packer *pk, const char *s);
/*  Starts a request body: {"op": op, "rid": next, <nargs more pairs>}. */
void cli_begin(cli_t *c, const char *op, uint32_t nargs);
void cli_send(cli_t *c);
/*  Receives one reply within timeout_ms: 0 and its rid, -1 on a timeout. */
int cli_recv(cli_t *c, int timeout_ms, uint64_t *rid);
/*  The last received reply: 0 and its result when ok, 1 (c->code) if not. */
int cli_result(cli_t *c, const msgpack_object **result);
/*  Sends the body built since cli_begin and waits for its reply (others
    are dropped): 0 and the result map when ok, 1 on an error reply
    (c->code), -1 on a timeout. */
int cli_call(cli_t *c, int timeout_ms, const msgpack_object **result);

bool cli_obj_u64(const msgpack_object *o, uint64_t *v);
bool cli_obj_is(const msgpack_object *o, const char *s);

/*  One counter of replica.stats; a missing one is a failure. */
uint64_t cli_stat(cli_t *c, const char *key);
/*  The same, `absent` if the replica has no such counter (an older
    metactord under MT_BENCH_BINDIR) instead of ending the bench. */
uint64_t cli_stat_or(cli_t *c, const char *key, uint64_t absent);
/*  How many members c's cluster.info lists alive (0 without an answer);
    *listed: whether replica `id` is one of them. */
uint32_t cli_alive_members(cli_t *c, const char *id, bool *listed);
/*  Until replica p answers cluster.info listing itself alive: its gateway
    starts last, and its membership must be written. */
void cli_wait_ready(cli_t *c, bp_proc_t *p, int timeout_ms);
/*  Until c's cluster lists n replicas alive. */
void cli_wait_members(cli_t *c, uint32_t n, int timeout_ms);

/*  A figure of such a program: its exit status. */
typedef struct {
    const char *name;
    int (*fn)(void);
} cli_figure_t;

/*  A program that drives replicas: `NAME FIGURE DSN BINDIR LOGDIR`. */
typedef struct {
    const char *name;               /* in its usage line: "mt_bench_rc" */
    const char *prog;               /* in its failures: "rc_bench" */
    const char *port_env;           /* its base port's variable, default and */
    int port, port_max;             /* largest value */
    const cli_figure_t *figures;
    size_t nfigures;
} cli_prog_t;

/*  Its main: sets *dsn, *bindir and *port, then runs the figure argv[1]
    between bp_init + cli_init and bp_stop_all + cli_term. The figure's
    exit status (1 if a process did not exit with 0), 2 on a usage error. */
int cli_main(int argc, char **argv, const cli_prog_t *p, const char **dsn, const char **bindir,
             int *port);

#endif
