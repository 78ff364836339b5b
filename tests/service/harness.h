/*  harness.h — multi-replica integration tests with real processes.

    A test starts N `metactord` processes (the build's binary, passed by
    CTest in METACTOR_TEST_METACTORD) on one database of its own, created
    fresh in the fixture's MariaDB (METACTOR_TEST_DSN with the database
    part replaced), and talks to them over real zmq sockets with plain
    libzmq + msgpack-c: nothing of the service's own client or codec is
    used here, so the tests check the wire contract (PROTOCOL.md) as any
    other client sees it.

    Processes. Replica i listens on 127.0.0.1:base+2i (requests) and
    base+2i+1 (notices), `base` being the test program's port block
    (METACTOR_TEST_PORT_BASE, one block per program so that programs can
    run in parallel). Each replica's stderr and stdout go to
    <METACTOR_TEST_LOGDIR>/<program>.<replica id>.log (started afresh by
    each test, appended to over restarts, with a marker line per start);
    every failure of an H_ASSERT or H_WAIT (and of h_ok, h_err, ...) prints
    those logs, and so does a watchdog shortly before Check's timeout. Children get PR_SET_PDEATHSIG(SIGKILL), so
    nothing survives a crashed test; in Check's fork mode the test's
    process group is killed after each test as well. h_teardown stops every
    running replica with SIGTERM and requires exit status 0 (a sanitizer
    report, a leak at exit included, makes it fail).

    Waits are "until X or timeout" (H_WAIT); nothing asserts speed.

    Several clusters (h_setup_clusters): each has its own database on the
    fixture's server and replicas with ids <prefix>0, <prefix>1, ...; the
    replicas of all clusters are numbered one after another (cluster 0's
    first, then cluster 1's, ...: h_cluster_first), and every function
    taking a replica index takes these global indexes; ports continue in
    the program's block (replica i: base+2i), so the clusters together
    have at most H_MAX_REPLICAS replicas. h_wait_cluster waits for each
    cluster to see its own replicas.

    Usage: a set-up for the test case, whose tear-down is h_teardown,
        static void setup(void) { h_setup("metactor_it_x", 3, TIMEOUT_S); h_start_all(); }
        int main(void)
        {
            Suite *s = suite_create("service_x");
            h_tcase(s, "x", setup, TIMEOUT_S, test_one, test_two, NULL);
            return h_run(s);
        }
    and in a test:
        h_reply_t *r = h_ok(0, "{s:s, s:{s:s, s:i}}", "op", "node.register",
                            "node", "id", "n1", "grpc_port", 9000);
        H_ASSERT(h_int(r->result, "node/grpc_port") == 9000, "port");
        h_reply_free(&r);

    Files, one concept each: harness.c (the test's state, set-up and
    tear-down, logs), harness_proc.c (processes), harness_db.c,
    harness_pack.c (h_pack), harness_reply.c (reading replies),
    harness_call.c (requests), harness_notice.c (the tests' own sockets,
    notices), harness_node.c (node shortcuts), harness_raw.c (bare REQ and
    DEALER framing), harness_shape.c (reply shapes against PROTOCOL.md),
    harness_suite.c (the Check suite), harness_galera.c (replicas on a
    Galera cluster's nodes); harness_int.h is what they share. harness_rc.h: the helpers of
    the remote cluster reference programs (test_rc*.c).
*/
#ifndef MT_SVC_HARNESS_H_INCLUDED
#define MT_SVC_HARNESS_H_INCLUDED

#include <check.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define H_MAX_REPLICAS 10       /* in all clusters: a program's block is 20 ports */
#define H_MAX_CLUSTERS H_MAX_REPLICAS
#define H_MAX_ARGS 24
#define H_CALL_MS 15000         /* one request's reply */
#define H_T 45000               /* something that must happen (sanitizer builds are slow) */
#define H_STOP_MS 30000         /* SIGTERM to exit (drain, then LSan at exit) */

/* ---- failures: print the replicas' logs, then fail the test ------------ */

void h_dump_logs(const char *why);

#define H_ASSERT(cond, ...)                                                  \
    do {                                                                     \
        if (!(cond)) {                                                       \
            h_dump_logs(#cond);                                              \
            ck_abort_msg(__VA_ARGS__);                                       \
        }                                                                    \
    } while (0)

int64_t h_now_ms(void);         /* monotonic */
int64_t h_wall_ms(void);        /* since the Unix epoch */
void h_sleep_ms(int ms);

/*  Evaluates `cond` every 50 ms until it holds; fails after `ms`. */
#define H_WAIT(cond, ms, ...)                                                \
    do {                                                                     \
        int64_t h_dl_ = h_now_ms() + (ms);                                   \
        bool h_ok_;                                                          \
        while (!(h_ok_ = (cond)) && h_now_ms() < h_dl_)                      \
            h_sleep_ms(50);                                                  \
        if (!h_ok_) {                                                        \
            h_dump_logs("still false after the wait: " #cond);              \
            ck_abort_msg(__VA_ARGS__);                                       \
        }                                                                    \
    } while (0)

/* ---- the cluster ------------------------------------------------------- */

typedef struct {
    char id[16];                /* replica id: "A", "B", ... */
    int port;                   /* request endpoint; port + 1 publishes */
    char endpoint[64], pub_endpoint[64];
    char log[512];
    const char *args[H_MAX_ARGS];   /* extra flags, NULL-terminated */
    const char *env[H_MAX_ARGS];    /* extra environment "NAME=value", NULL-terminated */
    int cluster;                /* its cluster's index (0 with h_setup) */
    char *dsn;                  /* its own DSN (h_attach), or NULL: its cluster's */
    pid_t pid;                  /* 0 when not running */
    bool paused;
    int starts;
    void *sock;                 /* DEALER to the request endpoint, or NULL */
    uint64_t next_rid;
} h_replica_t;

/*  Creates the database `db` fresh and describes n replicas (A, B, ...);
    starts nothing. Sets a watchdog that prints the logs shortly before
    Check's timeout of `timeout_s` would kill the test silently. */
void h_setup(const char *db, int n, int timeout_s);

/*  Several clusters: cluster c has spec[c].n replicas with ids
    "<id_prefix>0", "<id_prefix>1", ... (id_prefix required when there are
    several) on the database spec[c].db, created fresh. Starts nothing. */
typedef struct {
    const char *db;
    int n;
    const char *id_prefix;      /* NULL with one cluster: ids A, B, C, ... */
} h_cluster_spec_t;
void h_setup_clusters(const h_cluster_spec_t *spec, int nclusters, int timeout_s);
void h_teardown(void);

h_replica_t *h_replica(int i);
const char *h_dsn(void);        /* cluster 0's database's DSN */
int h_nclusters(void);
int h_cluster_first(int c);     /* the global index of cluster c's first replica */
int h_cluster_size(int c);
const char *h_cluster_dsn(int c);
void *h_zctx(void);             /* the test's zmq context */

/*  Extra flags for replica i's next starts, e.g. "--max-body", "4096";
    NULL-terminated. Later flags win over the harness's defaults. */
void h_set_args(int i, ...);
/*  Extra environment for replica i's next starts, "NAME=value" strings
    (kept by pointer), NULL-terminated; each replaces the variable of that
    name (e.g. LD_PRELOAD and FAKETIME: a replica whose clock is skewed). */
void h_set_env(int i, ...);

/*  Starts replica i and waits until it answers cluster.info (fails at once,
    with its log, if it exits). */
void h_start(int i);
void h_start_all(void);
/*  Until every running replica's cluster.info lists every running replica
    of its cluster alive (and the bus has had time to connect: see
    h_wait_cluster). */
void h_wait_cluster(void);
/*  SIGTERM, wait; fails unless the exit status is 0. */
void h_stop(int i);
/*  SIGKILL, reaped. */
void h_kill(int i);
void h_pause(int i);            /* SIGSTOP */
void h_resume(int i);           /* SIGCONT */
bool h_running(int i);

/* ---- requests ---------------------------------------------------------- */

/*  Packs msgpack from a format: `{` `}` map, `[` `]` array, `s` string
    (const char *; NULL packs nil), `i` int, `I` int64_t, `U` uint64_t,
    `b` bool (int),
    `n` nil, `r` raw msgpack bytes (const void *, size_t) as one element.
    Spaces, ',' and ':' are ignored. Counts are computed from the format. */
void h_pack(msgpack_packer *pk, const char *fmt, ...);
void h_vpack(msgpack_packer *pk, const char *fmt, va_list *ap);
/*  Packs fmt into a new buffer (msgpack_sbuffer_free): a body to send as
    it is, with no rid added. */
msgpack_sbuffer *h_body(const char *fmt, ...);

typedef struct {
    char *data;
    size_t size;
    msgpack_unpacked u;
    const msgpack_object *top;      /* the reply map */
    bool ok;
    bool has_rid;
    uint64_t rid;
    const msgpack_object *result;   /* ok: "result" */
    char code[32];                  /* not ok: error code */
    char message[512];
} h_reply_t;

/*  Parses a reply body (copied); NULL if it is not a msgpack map. */
h_reply_t *h_reply_parse(const void *data, size_t size);
void h_reply_free(h_reply_t **r);

/*  Sends fmt (a map: "{...}") to replica i with a fresh "rid" added, waits
    for the reply with that rid. NULL on timeout. */
h_reply_t *h_call(int i, const char *fmt, ...);
h_reply_t *h_call_ms(int i, int timeout_ms, const char *fmt, ...);
h_reply_t *h_vcall(int i, int timeout_ms, const char *fmt, va_list *ap);
/*  As h_call, expecting ok (fails the test otherwise, naming the caller's
    line). */
#define h_ok(i, ...) h_ok_at(__FILE__, __LINE__, i, __VA_ARGS__)
h_reply_t *h_ok_at(const char *file, int line, int i, const char *fmt, ...);
/*  As h_call, expecting error `code`; returns nothing. */
#define h_err(i, code, ...) h_err_at(__FILE__, __LINE__, i, code, __VA_ARGS__)
void h_err_at(const char *file, int line, int i, const char *code, const char *fmt, ...);
/*  Sends a raw body (no rid added) on replica i's DEALER; the next reply. */
h_reply_t *h_raw(int i, const void *body, size_t size, int timeout_ms);
/*  A race: b1 to replica i and b2 to replica k at once, each on a DEALER of
    its own (connected first); both replies, within H_CALL_MS each. Frees
    the bodies (h_body's). */
void h_at_once(int i, msgpack_sbuffer *b1, int k, msgpack_sbuffer *b2, h_reply_t **r1,
               h_reply_t **r2);

/*  Runs one SQL statement on the test's database over a raw connection:
    a change that no replica makes, hence that no notice announces. */
void h_db_exec(const char *sql);
/*  The same on cluster c's database. */
void h_db_exec_in(int c, const char *sql);
/*  A query on cluster c's database: the first column of its first row
    (caller frees), NULL if there is no row or the value is NULL. */
char *h_db_query(int c, const char *sql);

/*  A connection of the test's own to cluster c's database, kept open (to
    hold a lock across requests, say): statements on it with h_db_run,
    closed (rolling back what is open) with h_db_close. */
void *h_db_open(int c);
void h_db_run(void *conn, const char *sql);
void h_db_close(void **conn);

/*  Closes and reopens replica i's DEALER (after a restart, or after a
    request whose reply never comes). */
void h_reconnect(int i);

/* ---- reading replies: paths are keys and array indexes split by '/' ---- */

const msgpack_object *h_get(const msgpack_object *o, const char *path);
bool h_has(const msgpack_object *o, const char *path);
int64_t h_int(const msgpack_object *o, const char *path);       /* fails unless integer */
bool h_bool(const msgpack_object *o, const char *path);         /* fails unless bool */
bool h_is_str(const msgpack_object *o, const char *path, const char *s);
char *h_sdup(const msgpack_object *o, const char *path);        /* fails unless string */
uint32_t h_size(const msgpack_object *o, const char *path);     /* map/array size */
bool h_obj_is_str(const msgpack_object *o, const char *s);
bool h_is_int(const msgpack_object *o);

/* ---- node shortcuts ----------------------------------------------------- */

/*  node.get on replica i: the view's reply (caller frees), or NULL if
    not_found; fails on any other outcome. */
h_reply_t *h_node_get(int i, const char *id);
/*  node.list (no filter, no limit) on replica i: ids joined by ',' in order
    (caller frees). */
char *h_list_ids(int i);
/*  h_list_ids(i) is `expect`. */
bool h_list_is(int i, const char *expect);
/*  node.list of replicas i and k are the same list of views. */
bool h_lists_equal(int i, int k);
/*  The int at `field` of node id's view on replica i, or -1 if not found. */
int64_t h_node_int(int i, const char *id, const char *field);

/*  A zmq socket of the test's context, linger 0, closed by h_teardown
    (zmq_ctx_term would wait for it forever); h_close closes it earlier. */
void *h_socket(int type);
void h_close(void **sock);

/*  One message of sock within timeout_ms, every frame received: how many
    frames it had (0 on timeout, -1 on an error), the first `max` copied
    with a NUL after each into frames/sizes (caller frees). */
int h_recv_msg(void *sock, int timeout_ms, char **frames, size_t *sizes, int max);

/*  A SUB socket on replica i's publish endpoint, subscribed to `prefix`. */
void *h_sub(int i, const char *prefix);
/*  Receives one notice (topic, body) within timeout_ms; NULL on timeout.
    *topic (caller frees) gets the first frame. */
h_reply_t *h_sub_recv(void *sub, char **topic, int timeout_ms);

/* ---- bare sockets and reply shapes (harness_raw.c, harness_shape.c) ------ */

/*  A REQ or DEALER socket connected to replica i. */
void *h_raw_connect(int type, int i);
/*  REQ: one frame out (libzmq adds the delimiter), exactly one back. */
h_reply_t *h_raw_req_call(void *s, const void *body, size_t size);
/*  DEALER: [empty delimiter, body] out, and the same shape back. */
void h_raw_dealer_send(void *s, const void *body, size_t size);
h_reply_t *h_raw_dealer_recv(void *s);
h_reply_t *h_raw_dealer_call(void *s, const void *body, size_t size);

/*  t: 's' string, 'i' integer, 'b' boolean, 'm' map, 'a' array. */
bool h_is_type(const msgpack_object *o, char t);
/*  m is a map with exactly keys[k] of type types[k] (one letter each). */
void h_check_keys(const msgpack_object *m, const char *what, const char *const *keys,
                  const char *types);
/*  PROTOCOL.md's node view table, exactly. */
void h_check_view(const msgpack_object *v);
/*  {"ok": true, ["rid": rid,] "result": {...}} and nothing else; rid < 0:
    the request had none. */
void h_check_ok_reply(const h_reply_t *r, int64_t rid);

/* ---- CURVE (harness_curve.c) --------------------------------------------

    h_curve_init, after h_setup: makes real czmq certificates under the
    test's log directory — "cluster" (role replica: every replica's own),
    "admin", "reader", "n1" and "n2" (role node, as nodes n1 and n2), and
    "stranger" (role admin, but not in the trust store) — puts the public
    files of all but the stranger in <dir>/trust, gives every replica
    `--cert <dir>/cluster --trust <dir>/trust` (h_set_args: a test that
    sets other flags repeats these, h_curve_args), and makes every socket
    the harness opens from then on a CURVE client as "admin". */
void h_curve_init(void);
/*  The path of certificate `who` (its secret is <path>_secret). */
const char *h_curve_cert(const char *who);
const char *h_curve_trust_dir(void);
/*  Public key (Z85) of certificate `who`. */
const char *h_curve_public(const char *who);
/*  A new certificate `who` with role (and node, or NULL), not trusted. */
void h_curve_make(const char *who, const char *role, const char *node);
/*  Adds who's public file to the trust store, or removes it. */
void h_curve_trust(const char *who, bool trusted);
/*  A socket connected to replica i as `who` (NULL: plain, no CURVE):
    ZMQ_DEALER/ZMQ_REQ to its request endpoint, ZMQ_SUB (subscribed to
    everything) to its publish endpoint. server_key NULL: the cluster's. */
void *h_curve_socket(int type, int i, const char *who, const char *server_key);
/*  A request (map format, a rid added) on a DEALER from h_curve_socket;
    the reply, or NULL when none came within timeout_ms. */
h_reply_t *h_curve_call(void *dealer, int timeout_ms, const char *fmt, ...);

/* ---- a Galera cluster as the database (harness_galera.c) ------------------

    With the CTest fixture `galera`: METACTOR_TEST_DSN lists the cluster's
    nodes, METACTOR_TEST_GALERA and METACTOR_TEST_GALERA_DIR name
    scripts/galera and the cluster's directory. Node k is 1-based, as in
    scripts/galera: the DSN's k-th host. */
int h_galera_nodes(void);
/*  Replica i's DSN lists its cluster's hosts from node k on (k, k+1, ...,
    then 1, ...), so it attaches to node k while k serves and moves to the
    next one when k dies. For its next starts. */
void h_attach(int i, int k);
/*  scripts/galera CMD k on the fixture's cluster: "kill" (SIGKILL, waits
    until gone), "rejoin" (starts it again, waits until Synced; nothing if
    it runs). Fails the test if the script fails. */
void h_galera(const char *cmd, int k);
/*  Every node running (rejoins those an earlier, failed test left down). */
void h_galera_ensure(void);
/*  Node k's error log contains text since the node last started. */
bool h_galera_log_has(int k, const char *text);
/*  For a failure's log: sql's answer from every node, as root. */
void h_galera_sql_all(const char *sql);
#define H_GALERA_NODES_MAX 8
/*  How many of replica i's established database connections go to node k,
    as the kernel's TCP table shows them. */
int h_db_conns(int i, int k);

/* ---- the test program --------------------------------------------------- */

/*  Adds to s a test case: each test runs between `setup` and h_teardown,
    within Check's timeout of timeout_s; the tests follow (the names
    START_TEST defined), NULL-terminated. With MT_TEST_ONLY=NAME[,NAME...]
    in the environment only those tests are added (to repeat one by hand). */
TCase *h_tcase(Suite *s, const char *name, void (*setup)(void), int timeout_s, ...);
/*  Runs s's tests: the program's exit status. */
int h_run(Suite *s);

#endif
