/*  metactl_config.c — metactl's own defaults: named contexts in a config
    file, as kubeconfig has them, and a list of endpoints to fail over.

    The file: $METACTL_CONFIG, else $XDG_CONFIG_HOME/metactor/metactl.cfg,
    else ~/.config/metactor/metactl.cfg; czmq's ZPL, read with zconfig:

        current = "prod"
        context
            prod
                endpoint = "tcp://10.0.0.5:7400,tcp://10.0.0.6:7400"
                server_key = "/etc/metactor/certs/cluster"
                cert = "/home/me/.config/metactor/certs/admin"
                output = "table"
                timeout = "5s"

    The context used: --context NAME, else $METACTL_CONTEXT, else the
    file's `current`. Its values are the weakest: the environment
    (METACTOR_ENDPOINT, METACTL_SERVER_KEY, METACTL_CERT) and flags win.
    A missing file is no error; a named context that does not exist is.

    Endpoints: -e, METACTOR_ENDPOINT and a context's endpoint may list
    several, separated by commas. A request that gets no reply within the
    timeout is sent again to the next one (a replica that is down answers
    nothing: ZeroMQ keeps the request queued until the timeout). A write
    retried that way may have been done by the silent replica already: a
    retried rc add may then answer conflict, a node delete not_found. */
#include "metactl.h"
#include "mt_config.h"
#include "mt_core.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENDPOINTS 16

static struct {
    char *raw;                      /* the list split below */
    char *list[MAX_ENDPOINTS];
    int n, at;
} s_eps;

static struct {
    char path[1024];
    bool read;
    char context[256];
    const char *context_from;       /* "--context", "METACTL_CONTEXT", "current in the file" */
    zconfig_t *root;
} s_file;

static const char *const keys[] = { "endpoint", "server_key", "cert", "output", "timeout" };

static void split(const char *raw)
{
    if (s_eps.raw && strcmp(s_eps.raw, raw) == 0)
        return;
    for (int i = 0; i < s_eps.n; i++)
        free(s_eps.list[i]);
    free(s_eps.raw);
    s_eps.raw = strdup(raw);
    s_eps.n = s_eps.at = 0;
    for (const char *p = raw; *p && s_eps.n < MAX_ENDPOINTS;) {
        size_t len = strcspn(p, ",");
        if (len)
            s_eps.list[s_eps.n++] = strndup(p, len);
        p += len + (p[len] == ',');
    }
}

const char *ctl_endpoint(const ctl_t *g)
{
    split(g->endpoint);
    return s_eps.n ? s_eps.list[s_eps.at] : g->endpoint;
}

bool ctl_endpoint_next(const ctl_t *g)
{
    split(g->endpoint);
    if (s_eps.at + 1 >= s_eps.n)
        return false;
    s_eps.at++;
    return true;
}

static void config_path(void)
{
    const char *env = getenv("METACTL_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (env && *env)
        snprintf(s_file.path, sizeof s_file.path, "%s", env);
    else if (xdg && *xdg)
        snprintf(s_file.path, sizeof s_file.path, "%s/metactor/metactl.cfg", xdg);
    else
        snprintf(s_file.path, sizeof s_file.path, "%s/.config/metactor/metactl.cfg",
                 home && *home ? home : ".");
}

/*  --context NAME or --context=NAME anywhere on the line: the context
    must be known before any other option is read. */
static const char *context_flag(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--context") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--context=", 10) == 0)
            return argv[i] + 10;
    }
    return NULL;
}

static int apply(ctl_t *g, zconfig_t *ctx)
{
    for (zconfig_t *k = zconfig_child(ctx); k; k = zconfig_next(k)) {
        bool known = false;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            known = known || strcmp(zconfig_name(k), keys[i]) == 0;
        if (!known) {
            fprintf(stderr, "metactl: %s: context %s: unknown setting '%s' (endpoint, server_key,"
                    " cert, output, timeout)\n", s_file.path, s_file.context, zconfig_name(k));
            return CTL_EUSAGE;
        }
    }
    const char *v;
    if ((v = zconfig_get(ctx, "endpoint", NULL)) && *v)
        g->endpoint = v;
    if ((v = zconfig_get(ctx, "server_key", NULL)) && *v)
        g->server_key = v;
    if ((v = zconfig_get(ctx, "cert", NULL)) && *v)
        g->cert = v;
    if ((v = zconfig_get(ctx, "output", NULL)) && *v) {
        if (strcmp(v, "table") != 0 && strcmp(v, "json") != 0) {
            fprintf(stderr, "metactl: %s: context %s: output is table or json, not '%s'\n",
                    s_file.path, s_file.context, v);
            return CTL_EUSAGE;
        }
        g->output = strcmp(v, "json") == 0 ? CTL_JSON : CTL_TABLE;
    }
    long long ms;
    if ((v = zconfig_get(ctx, "timeout", NULL)) && *v) {
        if (mt_config_duration_ms(v, &ms) != MT_OK || ms < 1 || ms > 86400000) {
            fprintf(stderr, "metactl: %s: context %s: timeout '%s' is not a duration of 1ms-24h"
                    " (500ms, 5s, 1m; alone: ms)\n", s_file.path, s_file.context, v);
            return CTL_EUSAGE;
        }
        g->timeout_ms = (int) ms;
    }
    return CTL_OK;
}

int ctl_config_load(ctl_t *g, int argc, char **argv)
{
    config_path();
    const char *name = context_flag(argc, argv), *env = getenv("METACTL_CONTEXT");
    s_file.context_from = name ? "--context" : env && *env ? "METACTL_CONTEXT" : NULL;
    if (!name && env && *env)
        name = env;
    if (zsys_file_exists(s_file.path)) {
        s_file.root = zconfig_load(s_file.path);
        if (!s_file.root) {
            fprintf(stderr, "metactl: %s: not a valid ZPL file\n", s_file.path);
            return CTL_EUSAGE;
        }
        s_file.read = true;
        if (!name && (name = zconfig_get(s_file.root, "current", NULL)) && *name)
            s_file.context_from = "current in the file";
    }
    if (!name || !*name)
        return CTL_OK;
    snprintf(s_file.context, sizeof s_file.context, "%s", name);
    zconfig_t *all = s_file.root ? zconfig_locate(s_file.root, "context") : NULL;
    zconfig_t *ctx = all && !strchr(name, '/') ? zconfig_locate(all, name) : NULL;
    if (!ctx) {
        fprintf(stderr, "metactl: no context '%s' in %s%s\n", name, s_file.path,
                s_file.read ? "" : " (no such file)");
        return CTL_EUSAGE;
    }
    return apply(g, ctx);
}

void ctl_config_free(void)
{
    zconfig_destroy(&s_file.root);
    for (int i = 0; i < s_eps.n; i++)
        free(s_eps.list[i]);
    free(s_eps.raw);
    memset(&s_eps, 0, sizeof s_eps);
}

static const char usage_config[] =
    "usage: metactl config [--context NAME]\n"
    "  Shows metactl's config file (METACTL_CONFIG, else\n"
    "  ~/.config/metactor/metactl.cfg), its contexts, the context in use and\n"
    "  the settings in effect (the environment and flags win over a context).\n"
    "  The file, in czmq's ZPL format:\n"
    "      current = \"prod\"\n"
    "      context\n"
    "          prod\n"
    "              endpoint = \"tcp://10.0.0.5:7400,tcp://10.0.0.6:7400\"\n"
    "              server_key = \"/etc/metactor/certs/cluster\"\n"
    "              cert = \"/home/me/.config/metactor/certs/admin\"\n"
    "              output = \"table\"\n"
    "              timeout = \"5s\"\n"
    "  Several endpoints, comma-separated: a request unanswered within the\n"
    "  timeout goes to the next.\n";

int ctl_cmd_config(ctl_t *g, int argc, char **argv)
{
    static const struct option opts[] = { CTL_GLOBAL_LONG, { NULL, 0, NULL, 0 } };
    int rc = ctl_getopt_loop(g, argc, argv, opts, usage_config, NULL, NULL);
    if (rc != CTL_OK)
        return rc == CTL_HELP_DONE ? CTL_OK : rc;
    if (optind < argc)
        return ctl_usage_error(usage_config, "unexpected argument '%s'", argv[optind]);
    printf("file:     %s%s\n", s_file.path, s_file.read ? "" : " (none)");
    printf("context:  %s%s%s%s\n", s_file.context[0] ? s_file.context : "(none)",
           s_file.context_from ? " (" : "", s_file.context_from ? s_file.context_from : "",
           s_file.context_from ? ")" : "");
    printf("contexts:");
    zconfig_t *all = s_file.root ? zconfig_locate(s_file.root, "context") : NULL;
    for (zconfig_t *c = all ? zconfig_child(all) : NULL; c; c = zconfig_next(c))
        printf(" %s", zconfig_name(c));
    printf("%s\nin effect:\n", all && zconfig_child(all) ? "" : " (none)");
    split(g->endpoint);
    printf("  endpoint    %s\n", g->endpoint);
    printf("  server_key  %s\n", g->server_key ? g->server_key : "(none: plain connections)");
    printf("  cert        %s\n", g->cert ? g->cert : "(none)");
    printf("  output      %s\n", g->output == CTL_JSON ? "json" : "table");
    printf("  timeout     %d ms\n", g->timeout_ms);
    return CTL_OK;
}
