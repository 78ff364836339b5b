/*  metactl.h — pieces shared by metactl's files: the global options,
    calling the service, argument and output helpers, and the commands.

    Exit status of every command: CTL_OK (0), CTL_EFAIL (1: the service
    answered with an error, printed as "code: message" on stderr),
    CTL_EUSAGE (2: bad command line, with a usage message), CTL_ETIMEOUT
    (3: no reply in time — the service is down or unreachable). */
#ifndef METACTL_H_INCLUDED
#define METACTL_H_INCLUDED

#include "mt_client.h"
#include "mt_buf.h"

#include <getopt.h>
#include <msgpack.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum { CTL_OK = 0, CTL_EFAIL = 1, CTL_EUSAGE = 2, CTL_ETIMEOUT = 3 };

#define CTL_ENDPOINT_DEFAULT "tcp://127.0.0.1:7400"
#define CTL_PUBLISH_DEFAULT "tcp://127.0.0.1:7401"
#define CTL_TIMEOUT_DEFAULT 5000

typedef enum { CTL_TABLE, CTL_JSON } ctl_output_t;

/*  The global options. */
typedef struct {
    const char *endpoint;
    ctl_output_t output;
    int timeout_ms;
    const char *cert;               /* --cert FILE: the client certificate, or NULL */
    const char *server_key;         /* --server-key KEY|FILE as given, or NULL: plain */
} ctl_t;

/*  Global options are accepted after the command too: every command's
    getopt tables include these and hand other results to ctl_global_opt.
    The leading ':' makes getopt return ':' for a missing argument. */
#define CTL_GLOBAL_SHORT ":e:o:t:h"
/*  Long-only global options: values far from the commands' own (256...). */
enum { CTL_O_CERT = 0x1000, CTL_O_SERVER_KEY, CTL_O_CONTEXT };
#define CTL_GLOBAL_LONG                                         \
    { "endpoint", required_argument, NULL, 'e' },               \
    { "output", required_argument, NULL, 'o' },                 \
    { "timeout", required_argument, NULL, 't' },                \
    { "cert", required_argument, NULL, CTL_O_CERT },            \
    { "server-key", required_argument, NULL, CTL_O_SERVER_KEY }, \
    { "context", required_argument, NULL, CTL_O_CONTEXT },      \
    { "help", no_argument, NULL, 'h' }

/*  Handles getopt's result c for a global option (-e, -o, -t, --cert,
    --server-key), -h, and
    getopt's errors ('?', ':'), printing `usage` (to stdout for -h, else
    stderr). Returns CTL_OK to go on, -1 when help was printed (exit 0), or
    CTL_EUSAGE. */
int ctl_global_opt(ctl_t *g, int c, char **argv, const char *usage);
/*  Prints "metactl: <msg>" and the usage on stderr; returns CTL_EUSAGE. */
int ctl_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*  Call before a command's getopt_long loop over its own argv (argv[0] is
    the command's name): restarts getopt and silences its messages. */
void ctl_getopt_reset(void);
/*  The exit status for ctl_global_opt's -1 (help printed): 0. */
#define CTL_HELP_DONE (-1)

/* ---- parsing and running commands (metactl_group.c) -------------------- */

/*  A command's own options into its argument struct args: CTL_OK,
    CTL_EUSAGE, or CTL_NOT_MINE for anything else (global options, getopt's
    errors), which then goes to ctl_global_opt. */
#define CTL_NOT_MINE (-2)
typedef int ctl_opt_fn(void *args, int c, const char *arg, const char *usage);

/*  getopt_long over argv (argv[0] is the command's name) with
    CTL_GLOBAL_SHORT and opts: each result to opt (NULL: none of its own),
    then to ctl_global_opt. Stops at the first error. Returns CTL_OK with
    the positional arguments at argv[optind..argc), CTL_HELP_DONE or
    CTL_EUSAGE. */
int ctl_getopt_loop(ctl_t *g, int argc, char **argv, const struct option *opts,
                    const char *usage, ctl_opt_fn *opt, void *args);

/*  A subcommand of a command group (node, rc): its name, usage and long
    options (CTL_GLOBAL_LONG first). */
typedef struct {
    const char *name;
    const char *usage;
    const struct option *opts;
} ctl_subcmd_t;

typedef struct {
    const char *name;               /* "node" */
    const char *title;              /* the first line of the group's usage */
    const ctl_subcmd_t *cmds;
    size_t ncmds;
    ctl_opt_fn *opt;                /* every option of any of its subcommands */
} ctl_group_t;

/*  A ctl_group_t of the array cmds. */
#define CTL_GROUP(name, title, cmds, opt) { name, title, cmds, sizeof cmds / sizeof cmds[0], opt }

/*  argv[0] is the group's name, argv[1] the subcommand. Help and unknown
    subcommands print the group's usage; otherwise the subcommand's options
    are parsed (ctl_getopt_loop). Returns CTL_OK with *cmd and its
    positional arguments (*npos of them at *pos), CTL_HELP_DONE or
    CTL_EUSAGE. */
int ctl_group_parse(const ctl_group_t *grp, ctl_t *g, int argc, char **argv, void *args,
                    const ctl_subcmd_t **cmd, int *npos, char ***pos);

/*  Shows an ok reply's result in table mode: CTL_OK, or CTL_EFAIL for a
    reply it cannot show. arg: the caller's, as given to ctl_call_show. */
typedef int ctl_show_fn(const msgpack_object *result, void *arg);

/*  Connects to g->endpoint, calls op (nargs, pack and arg as ctl_call) and
    prints the result: one line of JSON with -o json, else through show.
    Returns the exit status. */
int ctl_call_show(const ctl_t *g, const char *op, uint32_t nargs, mt_client_pack_fn *pack,
                  void *arg, ctl_show_fn *show);

/* ---- keys (metactl_keys.c) --------------------------------------------- */

/*  What a connection needs for CURVE: the server's public key (when the
    user gave one) and the client's keypair (--cert, or a fresh one). All
    Z85 text. Wipe it (ctl_keys_wipe) when the sockets are set up. */
typedef struct {
    bool curve;                     /* a server key was given: connect with CURVE */
    bool has_cert;                  /* the keypair is --cert's, not a fresh one */
    char server_key[41];            /* "" without --server-key */
    char public_key[41];
    char secret_key[41];
} ctl_keys_t;

/*  Resolves g->cert and g->server_key into k. Returns CTL_OK, or
    CTL_EUSAGE after a message on stderr (unreadable file, not a key, a
    certificate without a server key). */
int ctl_keys_load(const ctl_t *g, ctl_keys_t *k);
/*  s is a CURVE key: 40 Z85 characters that decode, to anything but the
    all-zero key (what czmq puts in a certificate it had no key for). */
bool ctl_is_key(const char *s);
void ctl_keys_wipe(ctl_keys_t *k);
/*  A server key from KEY|FILE: 40 characters of Z85, else the public key
    of the zcert file at that path. what names the option in messages.
    Returns CTL_OK or CTL_EUSAGE after a message. */
int ctl_key_arg(const char *arg, const char *what, char out[41]);
/*  The keypair of the zcert at path (path and path_secret, as zcert_load):
    the secret must be there and belong to the public key. Warns when the
    secret file is readable by others. Returns CTL_OK or CTL_EUSAGE after
    a message. */
int ctl_cert_keys(const char *path, const char *what, char pub[41], char sec[41]);
/*  Before a zsock_connect: server_key non-empty makes the connections
    made next CURVE connections to that server with k's client keypair;
    NULL or "" makes them plain. Returns false when libzmq refuses a key. */
bool ctl_sock_keys(void *zsock, const ctl_keys_t *k, const char *server_key);
/*  Prints the timeout error for g->endpoint: with CURVE, a wrong server
    key or an untrusted certificate looks the same as a replica that is
    down. */
void ctl_timeout_error(const ctl_t *g);

/*  zcert_load of path (path_secret first, as czmq does) with a message
    naming what on failure (missing, not a certificate, no usable public
    key), or NULL. Destroy it with ctl_cert_destroy, which wipes the
    secret key first. */
struct _zcert_t;
struct _zcert_t *ctl_cert_load(const char *path, const char *what);
void ctl_cert_destroy(struct _zcert_t **c_p);

/* ---- calling the service ----------------------------------------------- */

/*  A client of ctl_endpoint(g) (CURVE with a server key), or NULL after
    an error message. */
mt_client_t *ctl_connect(const ctl_t *g);
/*  Calls op; on CTL_OK *reply holds an ok reply (free it with
    mt_reply_free). Otherwise the error is printed, *reply is freed and the
    exit status returned. No reply in time with more endpoints listed: the
    request goes to the next one, *c_p replaced by a client of it. */
int ctl_call(const ctl_t *g, mt_client_t **c_p, const char *op, uint32_t nargs,
             mt_client_pack_fn *pack, void *arg, mt_reply_t *reply);

/* ---- arguments --------------------------------------------------------- */

/*  Parses a decimal integer in [min, max]. */
bool ctl_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/*  Like ctl_parse_i64, but prints a usage error naming the option. */
int ctl_opt_i64(const char *usage, const char *opt, const char *s, int64_t min,
                int64_t max, int64_t *out);

/*  A growable list of "key=value" arguments (or of plain strings: value
    NULL). Keys and values point into argv, except for split copies. */
typedef struct {
    char *key;
    char *value;
    int64_t num;                    /* the value as an integer (int maps) */
} ctl_kv_t;

typedef struct {
    ctl_kv_t *items;
    uint32_t n, cap;
} ctl_list_t;

/*  Splits "K=V" at the first '=' (an empty K is an error); with as_int the
    value must be an integer. Prints a usage error naming the option and
    returns CTL_EUSAGE, or CTL_OK. */
int ctl_list_add_kv(ctl_list_t *l, const char *arg, bool as_int, const char *opt,
                    const char *usage);
void ctl_list_add(ctl_list_t *l, const char *s);
void ctl_list_free(ctl_list_t *l);

void ctl_pack_str(msgpack_packer *pk, const char *s);
void ctl_pack_str_map(msgpack_packer *pk, const ctl_list_t *l);
void ctl_pack_int_map(msgpack_packer *pk, const ctl_list_t *l);
void ctl_pack_str_array(msgpack_packer *pk, const ctl_list_t *l);

/* ---- reading replies --------------------------------------------------- */

const msgpack_object *ctl_get(const msgpack_object *map, const char *key);
bool ctl_get_i64(const msgpack_object *map, const char *key, int64_t *out);
bool ctl_get_bool(const msgpack_object *map, const char *key, bool *out);
/*  A string value as a NUL-terminated copy in buf (truncated to cap-1);
    "" when absent or not a string. Returns buf. */
char *ctl_get_str(const msgpack_object *map, const char *key, char *buf, size_t cap);

/* ---- output ------------------------------------------------------------ */

/*  A growable string (lib/mt_buf.h) with metactl's appenders. */
typedef mt_buf_t ctl_buf_t;

/*  Appends o as plain text: strings raw, numbers, true/false, nil as "",
    arrays and maps as JSON. */
void ctl_buf_obj(ctl_buf_t *b, const msgpack_object *o);
/*  Appends a map as "k=v,k=v" (values as ctl_buf_obj), an array as
    "a,b,c". */
void ctl_buf_pairs(ctl_buf_t *b, const msgpack_object *o, const char *sep);

/*  o as JSON text (ctl_json_of; "null" if that fails); free it. */
char *ctl_json(const msgpack_object *o);
/*  Prints o as one line of JSON on f. */
void ctl_print_json(FILE *f, const msgpack_object *o);
/*  Prints "key:<pad>value" lines: width is the widest key plus 2. */
void ctl_print_kv(const char *key, int width, const char *value);

/*  A table with a header row; cells are copied. Printed with columns as
    wide as their widest cell, two spaces apart. */
typedef struct {
    uint32_t ncols, nrows, cap;
    char **cells;                   /* (nrows + 1) * ncols, the header first */
} ctl_table_t;

void ctl_table_init(ctl_table_t *t, uint32_t ncols, const char *const *headers);
void ctl_table_row(ctl_table_t *t, const char *const *cells);
void ctl_table_print(const ctl_table_t *t, FILE *f);
void ctl_table_free(ctl_table_t *t);

/*  Fills row i's cells: ncols buffers, cleared. */
typedef void ctl_row_fn(ctl_buf_t *cell, uint32_t i, void *arg);
/*  A whole table of nrows rows, each filled by row, printed on f. */
void ctl_table_show(uint32_t ncols, const char *const *headers, uint32_t nrows, ctl_row_fn *row,
                    void *arg, FILE *f);

/*  "2024-05-01T12:00:00.123Z"; "-" for 0. */
char *ctl_fmt_time(int64_t ms, char *buf, size_t cap);
/*  A duration: "850ms", "12.3s", "4m05s", "3h02m", "2d04h". */
char *ctl_fmt_duration(int64_t ms, char *buf, size_t cap);

/* ---- signals (watch, load) --------------------------------------------- */

extern volatile sig_atomic_t ctl_interrupted;
/*  SIGINT and SIGTERM set ctl_interrupted (no SA_RESTART: blocking calls
    return EINTR); a second SIGINT kills as usual. */
void ctl_catch_signals(void);

/* ---- commands: argv[0] is the command's name --------------------------- */

int ctl_cmd_node(ctl_t *g, int argc, char **argv);
/*  node versions, node changes (metactl_node_v2.c), and their usages. */
int ctl_cmd_node_v2(ctl_t *g, int argc, char **argv);
extern const char ctl_usage_node_versions[], ctl_usage_node_changes[];
int ctl_cmd_rc(ctl_t *g, int argc, char **argv);
int ctl_cmd_cluster(ctl_t *g, int argc, char **argv);
int ctl_cmd_stats(ctl_t *g, int argc, char **argv);
int ctl_cmd_watch(ctl_t *g, int argc, char **argv);
/*  watch --informer (since < 0) or --since REV (metactl_informer.c): the
    informer's changes until ^C, count changes, or idle_ms without one. */
int ctl_watch_informer(const ctl_t *g, int64_t since, int64_t count, int64_t idle_ms);
int ctl_cmd_load(ctl_t *g, int argc, char **argv);
int ctl_cmd_cert(ctl_t *g, int argc, char **argv);
int ctl_cmd_config(ctl_t *g, int argc, char **argv);

/* ---- defaults and endpoints (metactl_config.c) ------------------------- */

/*  Reads the config file and applies the context chosen (--context, found
    anywhere in argv, $METACTL_CONTEXT, or the file's `current`) to g.
    CTL_OK, or CTL_EUSAGE after a message. */
int ctl_config_load(ctl_t *g, int argc, char **argv);
void ctl_config_free(void);
/*  The endpoint requests go to now: one of g->endpoint's comma-separated
    list, the first until ctl_endpoint_next moves on (false: none left). */
const char *ctl_endpoint(const ctl_t *g);
bool ctl_endpoint_next(const ctl_t *g);

/* ---- views (metactl_view.c) -------------------------------------------- */

/*  Absent, nil, or an empty string, array or map. */
bool ctl_is_empty(const msgpack_object *o);
/*  view[key] as "2024-05-01T12:00:00.123Z (12.3s ago)" ("in" for the
    future), "never" for 0; a value that is not an integer as it is. */
void ctl_buf_time(ctl_buf_t *b, const msgpack_object *view, const char *key, int64_t now);
/*  "-" when empty; maps and arrays as "k=v, k=v" and "a, b"; else the
    plain value. */
void ctl_buf_value(ctl_buf_t *b, const msgpack_object *o);

/*  The text of view[key] for a key/value line. */
typedef void ctl_value_fn(ctl_buf_t *b, const msgpack_object *view, const char *key,
                          int64_t now);

/*  A view as key/value lines, width as ctl_print_kv: the known keys it
    holds in their order, each through value; then the keys this client
    does not know (a newer service's), so that it never hides data.
    "(no WHAT view)" when view is not a map. */
void ctl_print_view(const msgpack_object *view, const char *what, const char *const *known,
                    size_t nknown, int width, ctl_value_fn *value);

/*  Node views. */
void ctl_print_node(const msgpack_object *view);
void ctl_print_node_list(const msgpack_object *const *views, uint32_t n);

#endif
