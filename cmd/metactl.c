/*  metactl.c — the command line client of metactor: global options,
    dispatch to the commands, calling the service and reporting its errors.
    The commands live in metactl_<concept>.c; helpers in metactl_util.c. */
#include "metactl.h"
#include "mt_config.h"
#include "mt_core.h"
#include "mt_model.h"

#include <czmq.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char usage_main[] =
    "usage: metactl [-e ENDPOINT[,ENDPOINT...]] [-o table|json] [-t TIMEOUT]\n"
    "               [--server-key KEY|FILE] [--cert FILE] [--context NAME] COMMAND [ARGS...]\n"
    "\n"
    "A client of metactor replicas: every operation of PROTOCOL.md over ZeroMQ\n"
    "(DEALER) and msgpack, a watch of change notices and a load generator.\n"
    "\n"
    "Global options (accepted after the command too):\n"
    "  -e, --endpoint ENDPOINT  a replica's request endpoint (default: $METACTOR_ENDPOINT,\n"
    "                           else " CTL_ENDPOINT_DEFAULT ")\n"
    "  -o, --output FORMAT      table (default: human-readable) or json (the reply's\n"
    "                           result as one line of JSON)\n"
    "                           several, comma-separated: a request unanswered in time\n"
    "                           goes to the next\n"
    "  -t, --timeout TIMEOUT    wait at most this long for a reply: 500ms, 5s, 1m; a bare\n"
    "                           number is milliseconds (default 5000)\n"
    "  --context NAME           the defaults of context NAME in the config file\n"
    "                           (default: $METACTL_CONTEXT, else the file's current;\n"
    "                           `metactl config` shows them)\n"
    "  --server-key KEY|FILE    connect with CURVE (encrypted, the replica authenticated)\n"
    "                           to a replica holding this key: its public key in Z85 (40\n"
    "                           characters), or the path of its public certificate file\n"
    "                           (default: $METACTL_SERVER_KEY; none: plain connections).\n"
    "                           `metactl watch --cluster` uses each member's own key\n"
    "                           when cluster.info lists one\n"
    "  --cert FILE              the client certificate to authenticate with: FILE and its\n"
    "                           secret file FILE_secret, as `metactl cert new` makes them\n"
    "                           (default: $METACTL_CERT). Needs --server-key. Without\n"
    "                           --cert a CURVE connection presents a fresh key, which\n"
    "                           replicas refuse unless they trust it. A replica that\n"
    "                           does not trust the certificate, or whose key is not\n"
    "                           --server-key, never answers: a timeout (exit 3)\n"    "  -h, --help               this help; `metactl COMMAND --help` documents a command\n"
    "\n"
    "Commands:\n"
    "  node register ID [OPTIONS]   create a node, or replace its registration\n"
    "  node heartbeat ID [OPTIONS]  report a node's status (ready by default)\n"
    "  node labels ID [OPTIONS]     set and remove a node's labels\n"
    "  node get ID                  show a node\n"
    "  node delete ID               delete a node\n"
    "  node list [OPTIONS]          list nodes, sorted by id\n"
    "  rc add NAME HOSTNAME [OPTIONS]\n"
    "                               add a reference to a remote cluster\n"
    "  rc set NAME|--id ID [OPTIONS]\n"
    "                               change a reference (hostname, user, password, ...)\n"
    "  rc del NAME|--id ID          delete a reference\n"
    "  rc get NAME|--id ID|--uuid UUID [--refresh]\n"
    "                               show a reference (never its password)\n"
    "  rc list                      list the references, sorted by name\n"
    "  cluster info                 the cluster's uuid, this replica and the members\n"
    "  stats                        the replica's counters (replica.stats)\n"
    "  watch [TOPIC_PREFIX]         print change notices as they are published\n"
    "  load --nodes N --rate R --duration S [OPTIONS]\n"
    "                               simulate N nodes heartbeating; print the rate\n"
    "                               of acknowledged heartbeats and the latencies\n"
    "  cert new NAME --role ROLE [--node ID] [--dir DIR] [--force]\n"
    "                               create a certificate: DIR/NAME and DIR/NAME_secret\n"
    "  cert show FILE               a certificate's public key and metadata\n"
    "  config                       the config file, its contexts, the settings in effect\n"
    "\n"
    "Exit status: 0 success; 1 the service answered an error, printed on stderr as\n"
    "`code: message` (e.g. `not_found: node x is not registered`); 2 usage error;\n"
    "3 no reply in time (timeout, replica down or unreachable; over CURVE also a\n"
    "wrong --server-key or an untrusted --cert).\n";

void ctl_getopt_reset(void)
{
    optind = 0;                     /* GNU: full re-initialisation */
    opterr = 0;
}

int ctl_usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("metactl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n\n", stderr);
    va_end(ap);
    fputs(usage, stderr);
    return CTL_EUSAGE;
}

int ctl_global_opt(ctl_t *g, int c, char **argv, const char *usage)
{
    const char *arg = optarg;
    const char *bad = optind > 0 ? argv[optind - 1] : "?";
    switch (c) {
    case 'e':
        if (!*arg)
            return ctl_usage_error(usage, "-e: the endpoint is empty");
        g->endpoint = arg;
        return CTL_OK;
    case 'o':
        if (strcmp(arg, "table") == 0)
            g->output = CTL_TABLE;
        else if (strcmp(arg, "json") == 0)
            g->output = CTL_JSON;
        else
            return ctl_usage_error(usage, "-o: expected table or json, not '%s'", arg);
        return CTL_OK;
    case 't': {
        long long ms;
        if (mt_config_duration_ms(arg, &ms) != MT_OK || ms < 1 || ms > 24 * 3600 * 1000)
            return ctl_usage_error(usage, "-t: expected a timeout of 1ms-24h (500ms, 5s, 1m;"
                                   " a bare number is ms), not '%s'", arg);
        g->timeout_ms = (int) ms;
        return CTL_OK;
    }
    case CTL_O_CONTEXT:
        return CTL_OK;              /* applied before anything else (ctl_config_load) */
    case CTL_O_CERT:
        g->cert = arg;              /* loaded when a command connects */
        return CTL_OK;
    case CTL_O_SERVER_KEY:
        g->server_key = arg;
        return CTL_OK;
    case 'h':
        fputs(usage, stdout);
        return CTL_HELP_DONE;
    case ':':
        return ctl_usage_error(usage, "option '%s' needs an argument", bad);
    default:
        if (strncmp(bad, "--", 2) == 0 || optopt == 0)
            return ctl_usage_error(usage, "unknown option '%s'", bad);
        return ctl_usage_error(usage, "unknown option '-%c'", optopt);
    }
}

mt_client_t *ctl_connect(const ctl_t *g)
{
    ctl_keys_t k;
    if (ctl_keys_load(g, &k) != CTL_OK)
        return NULL;
    mt_client_t *c = mt_client_new_opts(&(mt_client_opts_t) {
        .endpoint = ctl_endpoint(g),
        .server_key = k.curve ? k.server_key : NULL,
        .public_key = k.public_key,
        .secret_key = k.secret_key,
    });
    ctl_keys_wipe(&k);
    if (!c)
        fprintf(stderr, "metactl: cannot connect to '%s' (not a valid endpoint?)\n",
                ctl_endpoint(g));
    return c;
}

int ctl_call(const ctl_t *g, mt_client_t **c_p, const char *op, uint32_t nargs,
             mt_client_pack_fn *pack, void *arg, mt_reply_t *reply)
{
    int rc = mt_client_call(*c_p, op, nargs, pack, arg, g->timeout_ms, reply);
    while (rc == MT_ETIMEDOUT) {
        const char *silent = ctl_endpoint(g);
        if (!ctl_endpoint_next(g))
            break;
        fprintf(stderr, "metactl: no reply from %s within %d ms; trying %s\n", silent,
                g->timeout_ms, ctl_endpoint(g));
        mt_reply_free(reply);
        mt_client_destroy(c_p);
        if (!(*c_p = ctl_connect(g)))
            return CTL_EUSAGE;
        rc = mt_client_call(*c_p, op, nargs, pack, arg, g->timeout_ms, reply);
    }
    if (rc == MT_OK && reply->ok) {
        if (reply->result && reply->result->type == MSGPACK_OBJECT_MAP)
            return CTL_OK;
        fprintf(stderr, "internal: the reply to %s has no result map\n", op);
        mt_reply_free(reply);
        return CTL_EFAIL;
    }
    if (rc == MT_OK) {
        fprintf(stderr, "%s: %s\n", reply->code[0] ? reply->code : "internal",
                reply->message[0] ? reply->message : "(no message)");
        mt_reply_free(reply);
        return CTL_EFAIL;
    }
    mt_reply_free(reply);
    if (rc == MT_ETIMEDOUT) {
        ctl_timeout_error(g);
        return CTL_ETIMEOUT;
    }
    if (rc == MT_EBADREQ)
        fprintf(stderr, "internal: an invalid reply from %s to %s\n", ctl_endpoint(g), op);
    else
        fprintf(stderr, "internal: cannot send %s to %s (error %d)\n", op, ctl_endpoint(g), rc);
    return CTL_EFAIL;
}

volatile sig_atomic_t ctl_interrupted;

static void on_signal(int sig)
{
    if (ctl_interrupted && sig == SIGINT) {
        signal(sig, SIG_DFL);       /* a second ^C: stop now */
        raise(sig);
    }
    ctl_interrupted = 1;
}

void ctl_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;      /* no SA_RESTART: zmq_poll returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int cmd_help(ctl_t *g, int argc, char **argv)
{
    fputs(usage_main, stdout);
    return CTL_OK;
}

static const struct {
    const char *name;
    int (*run)(ctl_t *g, int argc, char **argv);
} commands[] = {
    { "node", ctl_cmd_node },
    { "rc", ctl_cmd_rc },
    { "cluster", ctl_cmd_cluster },
    { "stats", ctl_cmd_stats },
    { "watch", ctl_cmd_watch },
    { "load", ctl_cmd_load },
    { "cert", ctl_cmd_cert },
    { "config", ctl_cmd_config },
    { "help", cmd_help },
};

int main(int argc, char **argv)
{
    /*  No czmq signal handler: a plain command dies on ^C as usual; watch
        and load install their own (ctl_catch_signals). */
    zsys_handler_set(NULL);

    ctl_t g = { .endpoint = CTL_ENDPOINT_DEFAULT, .output = CTL_TABLE,
                .timeout_ms = CTL_TIMEOUT_DEFAULT };
    /*  The weakest after the defaults: a context of the config file. */
    int crc = ctl_config_load(&g, argc, argv);
    if (crc != CTL_OK)
        return crc;
    atexit(ctl_config_free);
    const char *env = getenv("METACTOR_ENDPOINT");
    if (env && *env)
        g.endpoint = env;
    env = getenv("METACTL_SERVER_KEY");
    if (env && *env)
        g.server_key = env;
    env = getenv("METACTL_CERT");
    if (env && *env)
        g.cert = env;

    static const struct option longopts[] = { CTL_GLOBAL_LONG, { NULL, 0, NULL, 0 } };
    ctl_getopt_reset();
    int c;
    while ((c = getopt_long(argc, argv, "+" CTL_GLOBAL_SHORT, longopts, NULL)) != -1) {
        int rc = ctl_global_opt(&g, c, argv, usage_main);
        if (rc == CTL_HELP_DONE)
            return CTL_OK;
        if (rc != CTL_OK)
            return rc;
    }
    if (optind >= argc)
        return ctl_usage_error(usage_main, "no command given");
    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(&g, argc - optind, argv + optind);
    return ctl_usage_error(usage_main, "unknown command '%s'", name);
}
