/*  config.c — metactord's settings: defaults, ZPL file, environment, flags.

    One table (settings[]) drives everything: the flag, the variable, the
    ZPL path, the kind of value and its range, the default and the help
    line. Loading collects each setting's text from the weakest to the
    strongest source (default, file, environment, flag), then converts and
    checks every value once, so an error always names the source that gave
    the bad value.

    The file is read into memory once and checked line by line with
    zconfig's own grammar (4-space indents, `name = value`, quotes, `#`
    comments) before zconfig_str_load parses the same bytes: zconfig only
    says "invalid" (and logs to the console), while this check can name the
    line, the unknown key or the duplicate. Values are then taken with
    zconfig_get. */
#include "mt_config.h"

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

typedef enum { K_FILE, K_ID, K_ENDPOINT, K_DSN, K_INT, K_SIZE, K_LOG } kind_t;

typedef struct {
    const char *flag;           /* without "--" */
    const char *path;           /* ZPL path; NULL: not in the file */
    const char *env;
    kind_t kind;
    const char *metavar;
    long long min, max;         /* K_INT, K_SIZE */
    const char *def;            /* NULL: none (config) or generated (replica id) */
    size_t offset;              /* of the field in mt_config_t */
    const char *help;
} setting_t;

#define OFF(f) offsetof(mt_config_t, f)

static const setting_t settings[MT_CONFIG_NSETTINGS] = {
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

/*  Where a setting's text came from, for messages. */
typedef struct {
    const char *text[MT_CONFIG_NSETTINGS];
    mt_config_source_t src[MT_CONFIG_NSETTINGS];
    int line[MT_CONFIG_NSETTINGS];          /* file: line of the setting */
    const char *file;                       /* the config file's name */
} collected_t;

static void where(const collected_t *c, int i, char *out, size_t n)
{
    const setting_t *s = &settings[i];
    switch (c->src[i]) {
    case MT_CONFIG_FLAG: snprintf(out, n, "--%s", s->flag); break;
    case MT_CONFIG_ENV: snprintf(out, n, "%s", s->env); break;
    case MT_CONFIG_FILE: snprintf(out, n, "config %s line %d: %s", c->file, c->line[i], s->path); break;
    default: snprintf(out, n, "default of --%s", s->flag); break;
    }
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
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
        return fail(err, errlen, "%s: '%s' is not a number (%lld-%lld)", w, text, min, max);
    errno = 0;
    long long v = strtoll(text, NULL, 10);
    if (errno == ERANGE || v < min || v > max)
        return fail(err, errlen, "%s: %s is out of range (%lld-%lld)", w, text, min, max);
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
        return fail(err, errlen, "%s: '%s' is not a replica id (1-%d characters of A-Z a-z 0-9 . _ -)",
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
        return fail(err, errlen, "%s: endpoint longer than %d bytes", w, MT_CONFIG_ENDPOINT_MAX);
    if (strncmp(text, "ipc://", 6) == 0) {
        size_t n = strlen(text + 6);
        if (n == 0)
            return fail(err, errlen, "%s: '%s': ipc:// needs a path (%s)", w, text, form);
        if (n > 107)    /* sockaddr_un.sun_path, with its NUL */
            return fail(err, errlen, "%s: '%s': ipc path longer than 107 bytes", w, text);
        return MT_OK;
    }
    if (strncmp(text, "tcp://", 6) != 0)
        return fail(err, errlen, "%s: '%s' is not %s", w, text, form);
    const char *host = text + 6, *colon = strrchr(host, ':');
    if (!colon || colon == host)
        return fail(err, errlen, "%s: '%s' is not %s", w, text, form);
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
        return fail(err, errlen, "%s: '%s': bad host '%.*s' (%s)", w, text, (int) hl, host, form);
    const char *ps = colon + 1;
    bool digits = *ps != '\0' && strlen(ps) <= 5;
    for (const char *q = ps; digits && *q; q++)
        digits = isdigit((unsigned char) *q);
    long v = digits ? strtol(ps, NULL, 10) : 0;
    if (!digits || v < 1 || v > 65535)
        return fail(err, errlen, "%s: '%s': port '%s' is not a number in 1-65535", w, text, ps);
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

/* ---- the file -------------------------------------------------------------------- */

#define FILE_MAX (1024 * 1024)

static int read_file(const char *w, const char *path, char **text, char *err, size_t errlen)
{
    *text = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, "%s: cannot read '%s': %s", w, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fail(err, errlen, "%s: cannot read '%s': %s", w, path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return fail(err, errlen, "%s: cannot read '%s': %s", w, path,
                    S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    }
    if (st.st_size > FILE_MAX) {
        close(fd);
        return fail(err, errlen, "%s: '%s' is larger than %d bytes", w, path, FILE_MAX);
    }
    char *buf = malloc((size_t) st.st_size + 1);
    if (!buf) {
        close(fd);
        return fail(err, errlen, "%s: out of memory reading '%s'", w, path);
    }
    size_t got = 0;
    while (got < (size_t) st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t) st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            free(buf);
            return fail(err, errlen, "%s: cannot read '%s': %s", w, path, strerror(e));
        }
        got += (size_t) n;
    }
    close(fd);
    buf[got] = '\0';
    if (strlen(buf) != got) {
        free(buf);
        return fail(err, errlen, "config %s: contains a NUL byte (not a text file)", path);
    }
    *text = buf;
    return MT_OK;
}

static bool zpl_namechar(char c)    /* zconfig's s_is_namechar */
{
    return c != '\0' && (isalnum((unsigned char) c) || strchr("$-_@.&+/", c) != NULL);
}

/*  The rest of a line must be blank or a comment (zconfig's s_verify_eoln). */
static bool zpl_eoln(const char *p)
{
    while (isspace((unsigned char) *p))
        p++;
    return *p == '\0' || *p == '#';
}

static int setting_by_path(const char *path)
{
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++)
        if (settings[i].path && strcmp(settings[i].path, path) == 0)
            return i;
    return -1;
}

static bool is_section(const char *name, size_t n)
{
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++)
        if (settings[i].path && strncmp(settings[i].path, name, n) == 0 && settings[i].path[n] == '/')
            return true;
    return false;
}

/*  "endpoint, publish, ..." — the keys of a section, for a hint. */
static void section_keys(const char *section, char *out, size_t n)
{
    size_t sl = strlen(section), w = 0;
    out[0] = '\0';
    for (int i = 0; i < MT_CONFIG_NSETTINGS && w < n; i++) {
        const char *p = settings[i].path;
        if (p && strncmp(p, section, sl) == 0 && p[sl] == '/')
            w += (size_t) snprintf(out + w, n - w, "%s%s", w ? ", " : "", p + sl + 1);
    }
}

/*  Checks text against zconfig's grammar and the known settings, and
    records the line of each setting in c->line. */
static int zpl_check(const char *file, char *text, collected_t *c, char *err, size_t errlen)
{
    char sections[MT_CONFIG_NSETTINGS][256];
    int section_line[MT_CONFIG_NSETTINGS], nsections = 0;
    char section[256] = "";          /* the level-0 item above, if a known section */
    int chain = 0;                  /* levels below root of the last item's chain */
    int lineno = 0;
    for (char *line = text, *next; line; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t len = strlen(line);
        while (len && isspace((unsigned char) line[len - 1]))
            line[--len] = '\0';
        char *p = line;
        while (*p == ' ')
            p++;
        int spaces = (int) (p - line);
        if (spaces % 4)
            return fail(err, errlen, "config %s line %d: indent by multiples of 4 spaces",
                        file, lineno);
        int level = spaces / 4;
        char *name = p;
        while (zpl_namechar(*p))
            p++;
        size_t nl = (size_t) (p - name);
        if (nl == 0) {
            if (!zpl_eoln(p))
                return fail(err, errlen, "config %s line %d: invalid syntax '%.40s'%s", file,
                            lineno, p, strchr(line, '\t') ? " (indent with spaces, not tabs)"
                            : " (expected NAME = VALUE)");
            continue;
        }
        char nm[256];
        snprintf(nm, sizeof nm, "%.*s", (int) (nl < 255 ? nl : 255), name);
        if (memchr(name, '/', nl))
            return fail(err, errlen, "config %s line %d: '%s': no '/' in names; nest the"
                        " setting under its section, indented by 4 spaces", file, lineno, nm);
        /*  The value, as zconfig's s_collect_value reads it. */
        while (isspace((unsigned char) *p))
            p++;
        bool has_value = *p == '=';
        if (has_value) {
            p++;
            while (isspace((unsigned char) *p))
                p++;
            if (*p == '"' || *p == '\'') {
                char *end = strchr(p + 1, *p);
                if (!end)
                    return fail(err, errlen, "config %s line %d: missing closing %c", file,
                                lineno, *p);
                if (!zpl_eoln(end + 1))
                    return fail(err, errlen, "config %s line %d: invalid syntax after the"
                                " quoted value: '%.40s'", file, lineno, end + 1);
            }
        }
        else if (!zpl_eoln(p))
            return fail(err, errlen, "config %s line %d: invalid syntax '%.40s' (expected"
                        " %s = VALUE)", file, lineno, p, nm);
        if (level > chain)
            return fail(err, errlen, "config %s line %d: '%s' is indented deeper than the"
                        " line above allows", file, lineno, nm);
        chain = level + 1;

        /*  The known settings: sections at level 0, settings at level 1. */
        if (level == 0) {
            if (!is_section(nm, strlen(nm))) {
                /*  A setting without its section? Say which one it is. */
                const char *hint = NULL;
                for (int i = 0; i < MT_CONFIG_NSETTINGS && !hint; i++) {
                    const char *sp = settings[i].path ? strchr(settings[i].path, '/') : NULL;
                    if (sp && strcmp(sp + 1, nm) == 0)
                        hint = settings[i].path;
                }
                if (hint)
                    return fail(err, errlen, "config %s line %d: unknown section '%s' (did you"
                                " mean %s?)", file, lineno, nm, hint);
                return fail(err, errlen, "config %s line %d: unknown section '%s'", file,
                            lineno, nm);
            }
            if (has_value)
                return fail(err, errlen, "config %s line %d: '%s' is a section: its settings"
                            " go on the lines below, indented by 4 spaces", file, lineno, nm);
            for (int i = 0; i < nsections; i++)
                if (strcmp(sections[i], nm) == 0)
                    return fail(err, errlen, "config %s line %d: section '%s' appears twice"
                                " (first on line %d)", file, lineno, nm, section_line[i]);
            snprintf(sections[nsections], sizeof sections[0], "%s", nm);
            section_line[nsections++] = lineno;
            snprintf(section, sizeof section, "%s", nm);
            continue;
        }
        char path[520];
        snprintf(path, sizeof path, "%s/%s", section, nm);
        int s = level == 1 ? setting_by_path(path) : -1;
        if (s < 0) {
            char keys[256];
            section_keys(section, keys, sizeof keys);
            if (level > 1)
                return fail(err, errlen, "config %s line %d: unknown setting '%s/.../%s'"
                            " (settings take a value, not a section)", file, lineno, section, nm);
            return fail(err, errlen, "config %s line %d: unknown setting '%s' (%s has: %s)",
                        file, lineno, path, section, keys);
        }
        if (c->line[s])
            return fail(err, errlen, "config %s line %d: %s set twice (first on line %d)",
                        file, lineno, path, c->line[s]);
        if (!has_value)
            return fail(err, errlen, "config %s line %d: %s: missing value (%s = VALUE)",
                        file, lineno, path, nm);
        c->line[s] = lineno;
    }
    return MT_OK;
}

static int load_file(const char *w, const char *path, collected_t *c, zconfig_t **root,
                     char *err, size_t errlen)
{
    char *text = NULL;
    int rc = read_file(w, path, &text, err, errlen);
    if (rc != MT_OK)
        return rc;
    char *copy = strdup(text);      /* zpl_check cuts its lines */
    if (!copy) {
        free(text);
        return fail(err, errlen, "%s: out of memory", w);
    }
    rc = zpl_check(path, copy, c, err, errlen);
    free(copy);
    if (rc == MT_OK) {
        *root = zconfig_str_load(text);
        if (!*root)
            rc = fail(err, errlen, "config %s: not valid ZPL", path);
    }
    free(text);
    if (rc != MT_OK)
        return rc;
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++) {
        if (!c->line[i])
            continue;
        c->text[i] = zconfig_get(*root, settings[i].path, NULL);
        c->src[i] = MT_CONFIG_FILE;
        if (!c->text[i])
            return fail(err, errlen, "config %s line %d: %s: zconfig cannot find it", path,
                        c->line[i], settings[i].path);
    }
    return MT_OK;
}

/* ---- loading ------------------------------------------------------------------------ */

static int find_flag(const char *name, size_t n)
{
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++)
        if (strlen(settings[i].flag) == n && strncmp(settings[i].flag, name, n) == 0)
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
                return fail(err, errlen, "unknown flag '%s' (see --help)", a);
            return fail(err, errlen, "unexpected argument '%s' (settings are given as"
                        " --NAME VALUE; see --help)", a);
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t n = eq ? (size_t) (eq - name) : strlen(name);
        int s = find_flag(name, n);
        if (s < 0)
            return fail(err, errlen, "unknown flag '--%.*s' (see --help)", (int) n, name);
        const char *v;
        if (eq)
            v = eq + 1;
        else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
            v = argv[++i];
        else
            return fail(err, errlen, "--%s: missing value (--%s %s)", settings[s].flag,
                        settings[s].flag, settings[s].metavar);
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
        const setting_t *s = &settings[i];
        const char *t = c->text[i] ? c->text[i] : s->def;
        cfg->source[i] = (unsigned char) c->src[i];
        if (!t)
            continue;       /* config file not given; replica id: generated below */
        where(c, i, w, sizeof w);
        if (!*t && s->kind != K_FILE)
            return fail(err, errlen, "%s: empty value", w);
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
                return fail(err, errlen, "%s: %s", w, why);
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
                return fail(err, errlen, "%s: '%s' is not one of error|warning|info|debug", w, t);
            *(mt_config_log_t *) field = (mt_config_log_t) l;
            break;
        }
        }
        if (oom)
            return fail(err, errlen, "config: out of memory");
    }
    if (strcmp(cfg->endpoint, cfg->pub_endpoint) == 0) {
        where(c, MT_CONFIG_S_PUBLISH, w, sizeof w);
        return fail(err, errlen, "%s: '%s' is also the request endpoint; they must differ",
                    w, cfg->pub_endpoint);
    }
    if (cfg->alive_window_ms < 2 * cfg->beat_interval_ms) {
        where(c, MT_CONFIG_S_ALIVE_WINDOW, w, sizeof w);
        return fail(err, errlen, "%s: an alive window of %d ms must be at least twice the beat"
                    " interval (%d ms)", w, cfg->alive_window_ms, cfg->beat_interval_ms);
    }
    if (!cfg->replica_id) {
        char host[256] = "", id[MT_CONFIG_REPLICA_ID_MAX + 1];
        if (gethostname(host, sizeof host - 1) != 0)
            host[0] = '\0';
        mt_config_default_replica_id(host, cfg->endpoint, id, sizeof id);
        if (!(cfg->replica_id = strdup(id)))
            return fail(err, errlen, "config: out of memory");
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
    const char *env_file = getenv(settings[MT_CONFIG_S_CONFIG].env);
    const char *file = flags[MT_CONFIG_S_CONFIG];
    const char *w = "--config";
    if (!file && env_file && *env_file) {
        file = env_file;
        w = settings[MT_CONFIG_S_CONFIG].env;
    }
    if (file && !*file)
        return fail(err, errlen, "%s: empty value", w);
    zconfig_t *root = NULL;
    if (file) {
        c.file = file;
        rc = load_file(w, file, &c, &root, err, errlen);
        if (rc != MT_OK) {
            zconfig_destroy(&root);
            return rc;
        }
    }
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++) {
        const char *e = getenv(settings[i].env);
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

/* ---- usage and print ------------------------------------------------------------------- */

static char usage_text[8192];
static pthread_once_t usage_once = PTHREAD_ONCE_INIT;

static void build_usage(void)
{
    size_t n = sizeof usage_text, w = 0;
#define PUT(...) (w += (size_t) snprintf(usage_text + w, w < n ? n - w : 0, __VA_ARGS__))
    PUT("Usage: metactord [--config FILE] [--NAME VALUE | --NAME=VALUE]...\n"
        "\n"
        "Every setting is taken from, strongest first: its flag, its environment\n"
        "variable (an empty one counts as unset), the config file, its default.\n"
        "The config file is in czmq's ZPL format: a section per line, its settings\n"
        "below it indented by 4 spaces, `name = \"value\"`, `#` comments; the path\n"
        "section/name is given for each setting below.\n"
        "\n");
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++) {
        const setting_t *s = &settings[i];
        char head[64];
        snprintf(head, sizeof head, "--%s %s", s->flag, s->metavar);
        PUT("  %-28s env %s%s%s\n", head, s->env, s->path ? ", file " : "", s->path ? s->path : "");
        for (const char *p = s->help; *p;) {
            const char *e = strchr(p, '\n');
            int len = e ? (int) (e - p) : (int) strlen(p);
            PUT("      %.*s\n", len, p);
            p += len + (e ? 1 : 0);
        }
        if (s->def)
            PUT("      Default: %s%s.", s->def, strcmp(s->metavar, "MS") == 0 ? " ms"
                : s->kind == K_SIZE ? " bytes" : "");
        if (s->kind == K_INT || s->kind == K_SIZE)
            PUT("%sRange: %lld-%lld.", s->def ? " " : "      ", s->min, s->max);
        if (s->def || s->kind == K_INT || s->kind == K_SIZE)
            PUT("\n");
    }
    PUT("  -h, --help\n      Print this help and exit.\n");
#undef PUT
}

const char *mt_config_usage(void)
{
    pthread_once(&usage_once, build_usage);
    return usage_text;
}

void mt_config_print(const mt_config_t *cfg, FILE *out)
{
    static const char *const from[] = { "default", "file", "env", "flag" };
    fprintf(out, "#   metactord settings in effect%s%s\n", cfg->config_file ? "; file read: " : "",
            cfg->config_file ? cfg->config_file : "");
    const char *done[MT_CONFIG_NSETTINGS];
    int ndone = 0;
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++) {
        if (!settings[i].path)
            continue;
        size_t sl = (size_t) (strchr(settings[i].path, '/') - settings[i].path);
        bool seen = false;
        for (int k = 0; k < ndone; k++)
            seen = seen || (strncmp(done[k], settings[i].path, sl + 1) == 0);
        if (seen)
            continue;
        done[ndone++] = settings[i].path;
        fprintf(out, "%.*s\n", (int) sl, settings[i].path);
        for (int j = i; j < MT_CONFIG_NSETTINGS; j++) {
            const setting_t *s = &settings[j];
            if (!s->path || strncmp(s->path, settings[i].path, sl + 1) != 0)
                continue;
            const void *field = (const char *) cfg + s->offset;
            char value[600];
            switch (s->kind) {
            case K_INT:
                snprintf(value, sizeof value, "%d", *(const int *) field);
                break;
            case K_SIZE:
                snprintf(value, sizeof value, "%zu", *(const size_t *) field);
                break;
            case K_LOG:
                snprintf(value, sizeof value, "\"%s\"",
                         mt_config_log_name(*(const mt_config_log_t *) field));
                break;
            case K_DSN: {
                mt_dsn_t *d = NULL;
                char *red = NULL;
                if (cfg->dsn && mt_dsn_parse(cfg->dsn, &d, NULL, 0) == MT_OK)
                    red = mt_dsn_format_redacted(d);
                mt_dsn_destroy(&d);
                snprintf(value, sizeof value, "\"%s\"", red ? red : "");
                free(red);
                break;
            }
            default: {
                /*  ZPL has no escapes: quote with what the value lacks. */
                const char *v = *(char *const *) field;
                char q = v && strchr(v, '"') ? '\'' : '"';
                snprintf(value, sizeof value, "%c%s%c", q, v ? v : "", q);
                break;
            }
            }
            unsigned src = cfg->source[j] < 4 ? cfg->source[j] : 0;
            char note[80];
            if (j == MT_CONFIG_S_REPLICA_ID && src == MT_CONFIG_DEFAULT)
                snprintf(note, sizeof note, "generated from the hostname and endpoint");
            else if (src == MT_CONFIG_ENV)
                snprintf(note, sizeof note, "env %s", s->env);
            else if (src == MT_CONFIG_FLAG)
                snprintf(note, sizeof note, "flag --%s", s->flag);
            else
                snprintf(note, sizeof note, "%s", from[src]);
            char line[700];
            snprintf(line, sizeof line, "    %s = %s", strchr(s->path, '/') + 1, value);
            fprintf(out, "%-48s # %s\n", line, note);
        }
    }
}
