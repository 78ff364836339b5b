/*  config.c — metactord's settings: defaults, ZPL file, environment, flags.

    One table (mt__config_settings[]) drives everything: the flag, the
    variable, the ZPL path, the kind of value and its range, the default and
    the help line. Loading collects each setting's text from the weakest to
    the strongest source (default, file — config_file.c —, environment,
    flag), then converts and checks every value once, so an error always
    names the source that gave the bad value. The help text and printing
    are in config_text.c. */
#include "config_internal.h"

#include "mt_core.h"
#include "mt_dsn.h"

#include <czmq.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the settings ------------------------------------------------------------ */

#define OFF(f) offsetof(mt_config_t, f)

const setting_t mt__config_settings[MT_CONFIG_NSETTINGS] = {
    [MT_CONFIG_S_CONFIG] = { "config", NULL, "METACTOR_CONFIG", K_FILE, "FILE", 0, 0, NULL,
        OFF(config_file), "Config file (czmq ZPL format, see etc/metactord.cfg) to read.\n"
        "Default: none (defaults, environment and flags only)." },
    [MT_CONFIG_S_REPLICA_ID] = { "replica-id", "replica/id", "METACTOR_REPLICA_ID", K_ID, "ID",
        0, 0, NULL, OFF(replica_id), "This replica's id: 1-64 characters of A-Z a-z 0-9 . _ -.\n"
        "Default: HOSTNAME-PORT of the request endpoint (ipc: HOSTNAME-ipc-HASH of\n"
        "its path), the same at every restart on the same host and endpoint." },
    [MT_CONFIG_S_ENDPOINT] = { "endpoint", "transport/endpoint", "METACTOR_ENDPOINT", K_ENDPOINT,
        "ENDPOINT", 0, 0, "tcp://127.0.0.1:7400", OFF(endpoint),
        "Client requests (zmq ROUTER): tcp://HOST:PORT or ipc://PATH." },
    [MT_CONFIG_S_PUBLISH] = { "publish", "transport/publish", "METACTOR_PUBLISH", K_ENDPOINT,
        "ENDPOINT", 0, 0, "tcp://127.0.0.1:7401", OFF(pub_endpoint),
        "Change notices to the other replicas (zmq PUB): tcp://HOST:PORT or\n"
        "ipc://PATH; must differ from the request endpoint." },
    [MT_CONFIG_S_DB] = { "db", "store/dsn", "METACTOR_DB", K_DSN, "DSN", 0, 0,
        "mysql://metactor:metactor@127.0.0.1:3407/metactor", OFF(dsn),
        "The database: mysql://[USER[:PASSWORD]@]HOST[:PORT]/DB[?socket=PATH&...]\n"
        "(the default is the server of scripts/mariadb)." },
    [MT_CONFIG_S_RELOAD_INTERVAL] = { "reload-interval", "nodes/reload_interval",
        "METACTOR_RELOAD_INTERVAL", K_INT, "MS", 10, 3600000, "5000", OFF(reload_interval_ms),
        "Milliseconds between incremental reloads from the database." },
    [MT_CONFIG_S_HEALTH_TIMEOUT] = { "health-timeout", "nodes/health_timeout",
        "METACTOR_HEALTH_TIMEOUT", K_INT, "MS", 100, 86400000, "40000", OFF(health_timeout_ms),
        "A node is unhealthy this many milliseconds after its last heartbeat." },
    [MT_CONFIG_S_FULL_RESYNC_EVERY] = { "full-resync-every", "nodes/full_resync_every",
        "METACTOR_FULL_RESYNC_EVERY", K_INT, "N", 1, 1000000, "12", OFF(full_resync_every),
        "Every Nth reload pass is a full resync (the safety net)." },
    [MT_CONFIG_S_TOMBSTONE_RETENTION] = { "tombstone-retention", "nodes/tombstone_retention",
        "METACTOR_TOMBSTONE_RETENTION", K_INT, "MS", 0, 2000000000, "3600000",
        OFF(tombstone_retention_ms),
        "A deleted node's row stays this many milliseconds (database clock) so\n"
        "that replicas learn the delete, then is purged; a replica that missed\n"
        "it drops the node at its next full resync. 0: never purge; else at\n"
        "least ten reload intervals (the default grows to that)." },
    [MT_CONFIG_S_WORKERS] = { "workers", "runtime/workers", "METACTOR_WORKERS", K_INT, "N",
        0, 64, "0", OFF(workers), "Actor runtime worker threads; 0 = one per core." },
    [MT_CONFIG_S_STORE_WRITERS] = { "store-writers", "store/writers", "METACTOR_STORE_WRITERS",
        K_INT, "N", 1, 64, "2", OFF(store_writers),
        "Database connections that write nodes (plus one reader)." },
    [MT_CONFIG_S_MAX_BODY] = { "max-body", "transport/max_body", "METACTOR_MAX_BODY", K_SIZE,
        "BYTES", 1024, 268435456, "1048576", OFF(max_body),
        "Largest request body accepted; larger ones are refused (too_large)." },
    [MT_CONFIG_S_REQUEST_TIMEOUT] = { "request-timeout", "transport/request_timeout",
        "METACTOR_REQUEST_TIMEOUT", K_INT, "MS", 10, 3600000, "10000", OFF(request_timeout_ms),
        "Milliseconds a request may take inside the service before it is\n"
        "answered unavailable." },
    [MT_CONFIG_S_BEAT_INTERVAL] = { "beat-interval", "membership/beat_interval",
        "METACTOR_BEAT_INTERVAL", K_INT, "MS", 10, 60000, "1000", OFF(beat_interval_ms),
        "Milliseconds between refreshes of this replica's membership row." },
    [MT_CONFIG_S_ALIVE_WINDOW] = { "alive-window", "membership/alive_window",
        "METACTOR_ALIVE_WINDOW", K_INT, "MS", 20, 3600000, "3000", OFF(alive_window_ms),
        "A replica is alive if its row was refreshed within this many\n"
        "milliseconds (database clock); at least twice the beat interval." },
    [MT_CONFIG_S_REFRESH_INTERVAL] = { "refresh-interval", "rc/refresh_interval",
        "METACTOR_REFRESH_INTERVAL", K_INT, "MS", 10, 86400000, "15000", OFF(refresh_interval_ms),
        "Milliseconds between refreshes of remote cluster references (and the\n"
        "per-priority wait of their hostname update)." },
    [MT_CONFIG_S_LOG_LEVEL] = { "log-level", "log/level", "METACTOR_LOG_LEVEL", K_LOG, "LEVEL",
        0, 0, "info", OFF(log_level), "One of error, warning, info, debug." },
    [MT_CONFIG_S_SUBSCRIBE] = { "subscribe", "transport/subscribe", "METACTOR_SUBSCRIBE", K_INT,
        "0|1", 0, 1, "1", OFF(subscribe),
        "1: merge the other replicas' change notices (changes arrive within\n"
        "milliseconds); 0: learn them by reload only, as the seed did (for\n"
        "comparison)." },
};

static const char *const log_names[] = { "error", "warning", "info", "debug" };

const char *mt_config_log_name(mt_config_log_t level)
{
    return (unsigned) level < 4 ? log_names[level] : "?";
}

/* ---- errors ------------------------------------------------------------------- */

static void where(const collected_t *c, int i, char *out, size_t n)
{
    const setting_t *s = &mt__config_settings[i];
    switch (c->src[i]) {
    case MT_CONFIG_FLAG: snprintf(out, n, "--%s", s->flag); break;
    case MT_CONFIG_ENV: snprintf(out, n, "%s", s->env); break;
    case MT_CONFIG_FILE: snprintf(out, n, "config %s line %d: %s", c->file, c->line[i], s->path); break;
    default: snprintf(out, n, "default of --%s", s->flag); break;
    }
}

int mt__config_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return MT_EINVAL;
}

/* ---- values -------------------------------------------------------------------- */

static int parse_int(const char *w, const char *text, long long min, long long max,
                     long long *out, char *err, size_t errlen)
{
    const char *p = text;
    if (*p == '-' || *p == '+')
        p++;
    bool digits = *p != '\0';
    for (const char *q = p; *q; q++)
        digits = digits && isdigit((unsigned char) *q);
    if (!digits)
        return mt__config_fail(err, errlen, "%s: '%s' is not a number (%lld-%lld)", w, text, min, max);
    errno = 0;
    long long v = strtoll(text, NULL, 10);
    if (errno == ERANGE || v < min || v > max)
        return mt__config_fail(err, errlen, "%s: %s is out of range (%lld-%lld)", w, text, min, max);
    *out = v;
    return MT_OK;
}

static bool id_char(char c)
{
    return isalnum((unsigned char) c) || c == '.' || c == '_' || c == '-';
}

static int check_id(const char *w, const char *text, char *err, size_t errlen)
{
    size_t n = strlen(text);
    bool ok = n >= 1 && n <= MT_CONFIG_REPLICA_ID_MAX;
    for (const char *p = text; ok && *p; p++)
        ok = id_char(*p);
    if (!ok)
        return mt__config_fail(err, errlen, "%s: '%s' is not a replica id (1-%d characters of A-Z a-z 0-9 . _ -)",
                    w, text, MT_CONFIG_REPLICA_ID_MAX);
    return MT_OK;
}

/*  tcp://HOST:PORT (HOST: a name, an IPv4 address, [IPv6] or *) or
    ipc://PATH. *port is 0 for ipc. */
static int check_endpoint(const char *w, const char *text, unsigned *port, char *err,
                          size_t errlen)
{
    const char *form = "tcp://HOST:PORT or ipc://PATH";
    *port = 0;
    if (strlen(text) > MT_CONFIG_ENDPOINT_MAX)
        return mt__config_fail(err, errlen, "%s: endpoint longer than %d bytes", w, MT_CONFIG_ENDPOINT_MAX);
    if (strncmp(text, "ipc://", 6) == 0) {
        size_t n = strlen(text + 6);
        if (n == 0)
            return mt__config_fail(err, errlen, "%s: '%s': ipc:// needs a path (%s)", w, text, form);
        if (n > 107)    /* sockaddr_un.sun_path, with its NUL */
            return mt__config_fail(err, errlen, "%s: '%s': ipc path longer than 107 bytes", w, text);
        return MT_OK;
    }
    if (strncmp(text, "tcp://", 6) != 0)
        return mt__config_fail(err, errlen, "%s: '%s' is not %s", w, text, form);
    const char *host = text + 6, *colon = strrchr(host, ':');
    if (!colon || colon == host)
        return mt__config_fail(err, errlen, "%s: '%s' is not %s", w, text, form);
    size_t hl = (size_t) (colon - host);
    bool ok;
    if (host[0] == '[') {
        ok = hl > 2 && host[hl - 1] == ']';
        for (size_t i = 1; ok && i < hl - 1; i++)
            ok = isxdigit((unsigned char) host[i]) || host[i] == ':' || host[i] == '.';
    }
    else if (hl == 1 && host[0] == '*')
        ok = true;
    else {
        ok = true;
        for (size_t i = 0; ok && i < hl; i++)
            ok = isalnum((unsigned char) host[i]) || host[i] == '.' || host[i] == '-'
                 || host[i] == '_';
    }
    if (!ok)
        return mt__config_fail(err, errlen, "%s: '%s': bad host '%.*s' (%s)", w, text, (int) hl, host, form);
    const char *ps = colon + 1;
    bool digits = *ps != '\0' && strlen(ps) <= 5;
    for (const char *q = ps; digits && *q; q++)
        digits = isdigit((unsigned char) *q);
    long v = digits ? strtol(ps, NULL, 10) : 0;
    if (!digits || v < 1 || v > 65535)
        return mt__config_fail(err, errlen, "%s: '%s': port '%s' is not a number in 1-65535", w, text, ps);
    *port = (unsigned) v;
    return MT_OK;
}

/*  See mt_config.h: HOSTNAME-PORT or HOSTNAME-ipc-HASH. */
int mt_config_default_replica_id(const char *hostname, const char *endpoint, char *out,
                                 size_t outlen)
{
    char suffix[32];
    if (strncmp(endpoint, "ipc://", 6) == 0) {
        uint32_t h = 2166136261u;      /* FNV-1a of the path */
        for (const char *p = endpoint + 6; *p; p++)
            h = (h ^ (uint8_t) *p) * 16777619u;
        snprintf(suffix, sizeof suffix, "-ipc-%08x", h);
    }
    else {
        const char *colon = strrchr(endpoint, ':');
        snprintf(suffix, sizeof suffix, "-%s", colon ? colon + 1 : "0");
    }
    if (!hostname || !*hostname)
        hostname = "metactor";
    size_t room = MT_CONFIG_REPLICA_ID_MAX - strlen(suffix), n = strlen(hostname);
    if (n > room)
        n = room;
    if (outlen < n + strlen(suffix) + 1)
        return MT_EINVAL;
    for (size_t i = 0; i < n; i++)
        out[i] = id_char(hostname[i]) ? hostname[i] : '-';
    strcpy(out + n, suffix);
    return MT_OK;
}

/* ---- loading ------------------------------------------------------------------------ */

static int find_flag(const char *name, size_t n)
{
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++)
        if (strlen(mt__config_settings[i].flag) == n && strncmp(mt__config_settings[i].flag, name, n) == 0)
            return i;
    return -1;
}

static int parse_argv(int argc, char **argv, const char **flags, bool *help, char *err,
                      size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            *help = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (a[0] == '-' && a[1] != '\0' && a[1] != '-')
                return mt__config_fail(err, errlen, "unknown flag '%s' (see --help)", a);
            return mt__config_fail(err, errlen, "unexpected argument '%s' (settings are given as"
                        " --NAME VALUE; see --help)", a);
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t n = eq ? (size_t) (eq - name) : strlen(name);
        int s = find_flag(name, n);
        if (s < 0)
            return mt__config_fail(err, errlen, "unknown flag '--%.*s' (see --help)", (int) n, name);
        const char *v;
        if (eq)
            v = eq + 1;
        else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
            v = argv[++i];
        else
            return mt__config_fail(err, errlen, "--%s: missing value (--%s %s)", mt__config_settings[s].flag,
                        mt__config_settings[s].flag, mt__config_settings[s].metavar);
        flags[s] = v;       /* given twice: the last one wins */
    }
    return MT_OK;
}

static char *xstrdup(const char *s, bool *oom)
{
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

static int convert(mt_config_t *cfg, collected_t *c, char *err, size_t errlen)
{
    bool oom = false;
    unsigned port[MT_CONFIG_NSETTINGS] = { 0 };
    char w[512];
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++) {
        const setting_t *s = &mt__config_settings[i];
        const char *t = c->text[i] ? c->text[i] : s->def;
        cfg->source[i] = (unsigned char) c->src[i];
        if (!t)
            continue;       /* config file not given; replica id: generated below */
        where(c, i, w, sizeof w);
        if (!*t && s->kind != K_FILE)
            return mt__config_fail(err, errlen, "%s: empty value", w);
        void *field = (char *) cfg + s->offset;
        switch (s->kind) {
        case K_FILE:
            *(char **) field = xstrdup(t, &oom);
            break;
        case K_ID:
            if (check_id(w, t, err, errlen) != MT_OK)
                return MT_EINVAL;
            *(char **) field = xstrdup(t, &oom);
            break;
        case K_ENDPOINT:
            if (check_endpoint(w, t, &port[i], err, errlen) != MT_OK)
                return MT_EINVAL;
            *(char **) field = xstrdup(t, &oom);
            break;
        case K_DSN: {
            mt_dsn_t *d = NULL;
            char why[256];
            if (mt_dsn_parse(t, &d, why, sizeof why) != MT_OK)
                return mt__config_fail(err, errlen, "%s: %s", w, why);
            mt_dsn_destroy(&d);
            *(char **) field = xstrdup(t, &oom);
            break;
        }
        case K_INT:
        case K_SIZE: {
            long long v = 0;
            if (parse_int(w, t, s->min, s->max, &v, err, errlen) != MT_OK)
                return MT_EINVAL;
            if (s->kind == K_INT)
                *(int *) field = (int) v;
            else
                *(size_t *) field = (size_t) v;
            break;
        }
        case K_LOG: {
            int l = -1;
            for (int k = 0; k < 4; k++)
                if (strcmp(t, log_names[k]) == 0)
                    l = k;
            if (l < 0)
                return mt__config_fail(err, errlen, "%s: '%s' is not one of error|warning|info|debug", w, t);
            *(mt_config_log_t *) field = (mt_config_log_t) l;
            break;
        }
        }
        if (oom)
            return mt__config_fail(err, errlen, "config: out of memory");
    }
    if (strcmp(cfg->endpoint, cfg->pub_endpoint) == 0) {
        where(c, MT_CONFIG_S_PUBLISH, w, sizeof w);
        return mt__config_fail(err, errlen, "%s: '%s' is also the request endpoint; they must differ",
                    w, cfg->pub_endpoint);
    }
    if (cfg->alive_window_ms < 2 * cfg->beat_interval_ms) {
        where(c, MT_CONFIG_S_ALIVE_WINDOW, w, sizeof w);
        return mt__config_fail(err, errlen, "%s: an alive window of %d ms must be at least twice the beat"
                    " interval (%d ms)", w, cfg->alive_window_ms, cfg->beat_interval_ms);
    }
    /*  A tombstone must outlive several incremental passes of every
        replica, or deletes would travel only with full resyncs. The
        default follows a long reload interval; a value given must fit it. */
    if (cfg->source[MT_CONFIG_S_TOMBSTONE_RETENTION] == MT_CONFIG_DEFAULT
        && cfg->tombstone_retention_ms / 10 < cfg->reload_interval_ms)
        cfg->tombstone_retention_ms = 10 * cfg->reload_interval_ms;
    if (cfg->tombstone_retention_ms && cfg->tombstone_retention_ms / 10 < cfg->reload_interval_ms) {
        where(c, MT_CONFIG_S_TOMBSTONE_RETENTION, w, sizeof w);
        return mt__config_fail(err, errlen, "%s: a retention of %d ms must be 0 (never purge) or at"
                    " least ten reload intervals (%d ms)", w, cfg->tombstone_retention_ms,
                    cfg->reload_interval_ms);
    }
    if (!cfg->replica_id) {
        char host[256] = "", id[MT_CONFIG_REPLICA_ID_MAX + 1];
        if (gethostname(host, sizeof host - 1) != 0)
            host[0] = '\0';
        mt_config_default_replica_id(host, cfg->endpoint, id, sizeof id);
        if (!(cfg->replica_id = strdup(id)))
            return mt__config_fail(err, errlen, "config: out of memory");
    }
    return MT_OK;
}

int mt_config_load(mt_config_t *cfg, int argc, char **argv, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    if (err && errlen)
        err[0] = '\0';
    collected_t c = { 0 };
    const char *flags[MT_CONFIG_NSETTINGS] = { 0 };
    int rc = parse_argv(argc, argv, flags, &cfg->help, err, errlen);
    if (rc != MT_OK)
        return rc;

    /*  The file: named by the flag, else by the environment. */
    const char *env_file = getenv(mt__config_settings[MT_CONFIG_S_CONFIG].env);
    const char *file = flags[MT_CONFIG_S_CONFIG];
    const char *w = "--config";
    if (!file && env_file && *env_file) {
        file = env_file;
        w = mt__config_settings[MT_CONFIG_S_CONFIG].env;
    }
    if (file && !*file)
        return mt__config_fail(err, errlen, "%s: empty value", w);
    zconfig_t *root = NULL;
    if (file) {
        c.file = file;
        rc = mt__config_load_file(w, file, &c, &root, err, errlen);
        if (rc != MT_OK) {
            zconfig_destroy(&root);
            return rc;
        }
    }
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++) {
        const char *e = getenv(mt__config_settings[i].env);
        if (e && *e) {
            c.text[i] = e;
            c.src[i] = MT_CONFIG_ENV;
        }
        if (flags[i]) {
            c.text[i] = flags[i];
            c.src[i] = MT_CONFIG_FLAG;
        }
    }
    rc = convert(cfg, &c, err, errlen);
    zconfig_destroy(&root);
    if (rc != MT_OK) {
        bool help = cfg->help;
        mt_config_free(cfg);
        cfg->help = help;
    }
    return rc;
}

void mt_config_free(mt_config_t *cfg)
{
    if (!cfg)
        return;
    free(cfg->config_file);
    free(cfg->replica_id);
    free(cfg->endpoint);
    free(cfg->pub_endpoint);
    if (cfg->dsn) {
        /*  It may hold the database password. */
        memset(cfg->dsn, 0, strlen(cfg->dsn));
        free(cfg->dsn);
    }
    memset(cfg, 0, sizeof *cfg);
}

