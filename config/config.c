/*  config.c — metactord's settings: defaults, ZPL file, environment, flags.

    One table (mt__config_settings[]) drives everything: the flag, the
    variable, the ZPL path, the kind of value and its range, the default and
    the help line. Loading collects each setting's text from the weakest to
    the strongest source (default, file — config_file.c —, environment,
    flag), then converts and checks every value once, so an error always
    names the source that gave the bad value. The table is in
    config_settings.c, the help text and printing in config_text.c; the certificate, the trust store and the bind
    rule in config_security.c; the database password in config_password.c. */
#include "config_internal.h"
#include "mt_hash.h"

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



/* ---- errors ------------------------------------------------------------------- */

void mt__config_where(const collected_t *c, int i, char *out, size_t n)
{
    const setting_t *s = &mt__config_settings[i];
    switch (c->src[i]) {
    case MT_CONFIG_FLAG: snprintf(out, n, "--%s", s->flag); break;
    case MT_CONFIG_ENV: snprintf(out, n, "%s", s->env); break;
    case MT_CONFIG_FILE: snprintf(out, n, "config %s line %d: %s", c->file, c->line[i], s->path); break;
    default: snprintf(out, n, "default of --%s", s->flag); break;
    }
}

void mt__config_warn(mt_config_t *cfg, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t had = cfg->warnings ? strlen(cfg->warnings) : 0;
    char *w = realloc(cfg->warnings, had + strlen(line) + 2);
    if (!w)
        return;         /* a warning lost to a full memory is the least of it */
    sprintf(w + had, "%s\n", line);
    cfg->warnings = w;
}

int mt__config_bool(const char *text)
{
    if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
        return 1;
    if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
        return 0;
    return -1;
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
        uint32_t h = mt_fnv1a32(MT_FNV1A32_INIT, endpoint + 6, strlen(endpoint + 6));
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
        const setting_t *st = &mt__config_settings[s];
        if (st->kind == K_SECRET)       /* the value is never quoted back */
            return mt__config_fail(err, errlen, "--%s: not a flag: every user of the machine can"
                        " read a command line (ps); use --db-password-file FILE, %s or %s in the"
                        " config file", st->flag, st->env, st->path);
        const char *v;
        if (eq)
            v = eq + 1;
        else if (st->kind == K_BOOL)
            v = "true";                 /* --insecure alone; never takes the next word */
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
        mt__config_where(c, i, w, sizeof w);
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
        case K_MS: {
            long long v = 0;
            if (mt__config_duration(w, t, s->min, s->max, &v, err, errlen) != MT_OK)
                return MT_EINVAL;
            *(int *) field = (int) v;
            break;
        }
        case K_ADDR:
            if (mt__config_check_addr(w, t, err, errlen) != MT_OK)
                return MT_EINVAL;
            *(char **) field = xstrdup(t, &oom);
            break;
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
        case K_BOOL: {
            int b = mt__config_bool(t);
            if (b < 0)
                return mt__config_fail(err, errlen, "%s: '%s' is not true or false (or 1 or 0)", w, t);
            *(bool *) field = b == 1;
            break;
        }
        case K_CERT:
            if (mt__config_check_cert(cfg, w, t, err, errlen) != MT_OK)
                return MT_EINVAL;
            *(char **) field = xstrdup(t, &oom);
            break;
        case K_DIR:
            if (mt__config_check_dir(w, t, err, errlen) != MT_OK)
                return MT_EINVAL;
            *(char **) field = xstrdup(t, &oom);
            break;
        case K_PWFILE:
            *(char **) field = xstrdup(t, &oom);     /* read by mt__config_password */
            break;
        case K_SECRET:
            break;                                  /* likewise; never kept */
        case K_LOG:
            if (!mt_log_level_parse(t, (mt_log_level_t *) field))
                return mt__config_fail(err, errlen, "%s: '%s' is not one of error|warning|info|debug", w, t);
            break;
        case K_LOGFMT:
            if (!mt_log_format_parse(t, (mt_log_format_t *) field))
                return mt__config_fail(err, errlen, "%s: '%s' is not one of text|json", w, t);
            break;
        }
        if (oom)
            return mt__config_fail(err, errlen, "config: out of memory");
    }
    if (strcmp(cfg->endpoint, cfg->pub_endpoint) == 0) {
        mt__config_where(c, MT_CONFIG_S_PUBLISH, w, sizeof w);
        return mt__config_fail(err, errlen, "%s: '%s' is also the request endpoint; they must differ",
                    w, cfg->pub_endpoint);
    }
    if (cfg->alive_window_ms < 2 * cfg->beat_interval_ms) {
        mt__config_where(c, MT_CONFIG_S_ALIVE_WINDOW, w, sizeof w);
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
        mt__config_where(c, MT_CONFIG_S_TOMBSTONE_RETENTION, w, sizeof w);
        return mt__config_fail(err, errlen, "%s: a retention of %d ms must be 0 (never purge) or at"
                    " least ten reload intervals (%d ms)", w, cfg->tombstone_retention_ms,
                    cfg->reload_interval_ms);
    }
    if (mt__config_check_security(cfg, c, err, errlen) != MT_OK
        || mt__config_check_http(cfg, c, err, errlen) != MT_OK
        || mt__config_password(cfg, c, err, errlen) != MT_OK)
        return MT_EINVAL;
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
    free(cfg->cert);
    free(cfg->trust);
    free(cfg->db_password_file);
    free(cfg->http);
    free(cfg->warnings);
    if (cfg->dsn) {
        /*  It may hold the database password. */
        memset(cfg->dsn, 0, strlen(cfg->dsn));
        free(cfg->dsn);
    }
    memset(cfg, 0, sizeof *cfg);
}

