/*  mt_config.h — the settings of the metactord daemon.

    Every setting has a default and may be set, from weakest to strongest, by
      1. the config file (czmq's ZPL format, read with zconfig), given by
         --config FILE or METACTOR_CONFIG; without either no file is read;
      2. an environment variable METACTOR_<NAME> (an empty variable counts
         as unset, as shells and container files often export empty ones);
      3. a command-line flag --<name> VALUE or --<name>=VALUE.
    mt_config_usage() lists them all: flag, variable, ZPL path, default,
    range. Everything is validated while loading and the first problem is
    reported in one line naming where the value came from, e.g.
        METACTOR_WORKERS: 'many' is not a number (0-64)
        config /etc/metactord.cfg line 7: unknown setting 'transport/endpiont'

    Secrets. The database password is best kept off the command line (every
    user of the machine reads it with ps): --db-password-file FILE, the
    variable METACTOR_DB_PASSWORD or store/password in the config file; the
    first of those given wins over the others, and any of them over a
    password inside the DSN. A DSN with a password given as --db still
    works and adds a warning. No message, warning or printout shows a
    password (***). Boolean settings (--insecure, --rc-allow-ipc) are
    flags without a value (or --NAME=true|false); elsewhere true|false|1|0.

    Durations. Every setting that is a time (metavariable DURATION) takes
    a whole number with a unit, 500ms, 2s, 5m or 1h; a bare number is
    milliseconds. mt_config_print writes milliseconds.

    HTTP. --http ADDR:PORT serves /metrics, /healthz and /readyz (none
    without it); they are not authenticated, so ADDR must be loopback
    unless --http-public is given, with or without a certificate.

    Binding. Without a certificate (--cert, with its --trust store) a
    replica is unauthenticated, so the request and publish endpoints must
    be loopback (127.0.0.0/8, ::1, localhost) or ipc:// unless --insecure
    is given; tcp:// with * or 0.0.0.0 is not loopback. The certificate
    is checked here (both files readable, loadable with zcert_load, the
    secret file holding a secret key that matches the public file); using
    it is the transport's business.

    Replica id default: "<hostname>-<port of the request endpoint>" (for an
    ipc:// endpoint "<hostname>-ipc-<8 hex digits of a hash of its path>"),
    characters other than [A-Za-z0-9._-] replaced by '-', the hostname cut
    so that the id fits 64 characters. It needs no state file and is the
    same for every restart of a replica on the same host and endpoint (and
    differs for two replicas on one host, which cannot share an endpoint).
    It changes with the hostname; replicas on two hosts of the same name and
    port would collide: give such replicas an explicit --replica-id.

    Life cycle: mt_config_load fills a caller's mt_config_t (any previous
    content is ignored: free it first); mt_config_free releases its strings.
    No function here keeps global state; all may run on any thread, but
    mt_config_load reads the process environment (getenv). */
#ifndef MT_CONFIG_H_INCLUDED
#define MT_CONFIG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "mt_log.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif


/*  Where a setting's value came from (mt_config_t.source). */
typedef enum {
    MT_CONFIG_DEFAULT,
    MT_CONFIG_FILE,
    MT_CONFIG_ENV,
    MT_CONFIG_FLAG,
} mt_config_source_t;

/*  Indexes of mt_config_t.source, one per setting (--config included). */
enum {
    MT_CONFIG_S_CONFIG, MT_CONFIG_S_REPLICA_ID, MT_CONFIG_S_ENDPOINT, MT_CONFIG_S_PUBLISH,
    MT_CONFIG_S_CERT, MT_CONFIG_S_TRUST, MT_CONFIG_S_INSECURE,
    MT_CONFIG_S_DB, MT_CONFIG_S_DB_PASSWORD_FILE, MT_CONFIG_S_DB_PASSWORD,
    MT_CONFIG_S_RELOAD_INTERVAL, MT_CONFIG_S_HEALTH_TIMEOUT,
    MT_CONFIG_S_FULL_RESYNC_EVERY, MT_CONFIG_S_WORKERS, MT_CONFIG_S_STORE_WRITERS,
    MT_CONFIG_S_STORE_LINGER,
    MT_CONFIG_S_MAX_BODY, MT_CONFIG_S_REQUEST_TIMEOUT, MT_CONFIG_S_BEAT_INTERVAL,
    MT_CONFIG_S_ALIVE_WINDOW, MT_CONFIG_S_REFRESH_INTERVAL, MT_CONFIG_S_RC_ALLOW_IPC,
    MT_CONFIG_S_LOG_LEVEL, MT_CONFIG_S_LOG_FORMAT, MT_CONFIG_S_SUBSCRIBE, MT_CONFIG_S_TOMBSTONE_RETENTION,
    MT_CONFIG_S_MAX_INFLIGHT, MT_CONFIG_S_MAX_INFLIGHT_CLIENT, MT_CONFIG_S_MAX_STASH,
    MT_CONFIG_S_HTTP, MT_CONFIG_S_HTTP_PUBLIC,
    MT_CONFIG_NSETTINGS
};

#define MT_CONFIG_REPLICA_ID_MAX 64     /* = MT_REPLICA_ID_MAX of the transport */
#define MT_CONFIG_ENDPOINT_MAX 255      /* bytes; fits MT_ENDPOINT_MAX with its NUL */

typedef struct {
    char *config_file;          /* the file read, or NULL */
    char *replica_id;           /* 1-64 of [A-Za-z0-9._-] */
    char *endpoint;             /* requests (ROUTER): tcp://HOST:PORT or ipc://PATH */
    char *pub_endpoint;         /* change notices (PUB), same forms */
    char *cert;                 /* zcert public file (FILE_secret beside it), or NULL */
    char *trust;                /* trust store directory; set iff cert is */
    bool insecure;              /* non-loopback binds allowed without a cert */
    char *dsn;                  /* to connect: as given, or with the password of
                                   db_password_file / METACTOR_DB_PASSWORD /
                                   store/password put in (mt_dsn_format) */
    char *db_password_file;     /* the file the password came from, or NULL */
    int reload_interval_ms;     /* incremental reload period */
    int health_timeout_ms;      /* node unhealthy after this long without heartbeat */
    int full_resync_every;      /* a full resync every N reload passes */
    int tombstone_retention_ms; /* deleted nodes' rows purged after this; 0 = kept */
    int workers;                /* runtime worker threads; 0 = one per core */
    int store_writers;          /* store writer connections */
    int store_linger_ms;        /* heartbeats wait for company this long; 0 = never */
    size_t max_body;            /* largest request body accepted, bytes */
    int request_timeout_ms;     /* a request's budget inside the service */
    int max_inflight;           /* requests in flight in the replica; then busy */
    int max_inflight_client;    /* ... from one client connection; then busy */
    int max_stash;              /* requests waiting for one node; then busy */
    int beat_interval_ms;       /* membership row refresh period */
    int alive_window_ms;        /* a replica is alive if it beat within this */
    int refresh_interval_ms;    /* remote cluster reference refresh period */
    bool rc_allow_ipc;          /* remote cluster references may name ipc:// */
    int subscribe;              /* 1: merge peers' notices; 0: reload only */
    mt_log_level_t log_level;
    mt_log_format_t log_format;
    char *http;                 /* the HTTP listener's ADDR:PORT (metrics,
                                   health), or NULL: none */
    bool http_public;           /* ... may be other than loopback */
    bool help;                  /* --help / -h was given: print usage, exit 0 */
    char *warnings;             /* lines the caller logs as warnings (a password
                                   on the command line, files others can read),
                                   each ending in '\n'; NULL if none. Never
                                   holds a secret. */
    unsigned char source[MT_CONFIG_NSETTINGS];  /* mt_config_source_t per setting */
} mt_config_t;

/*  Loads defaults, then the file, the environment and argv (argv[0] is the
    program and is skipped). Returns MT_OK, or MT_EINVAL with one line in
    err (cfg is then empty: mt_config_free is allowed but not needed).
    With --help, cfg->help is set and the rest of argv is still checked. */
int mt_config_load(mt_config_t *cfg, int argc, char **argv, char *err, size_t errlen);

/*  The --help text: every setting with its flag, variable, ZPL path,
    default and range. A static string. */
const char *mt_config_usage(void);

/*  The effective settings as a ZPL file (loadable with --config), each
    line's comment telling where the value came from; the database
    password is shown as ***. */
void mt_config_print(const mt_config_t *cfg, FILE *out);


/*  The default replica id for a hostname and a (valid) request endpoint,
    as described at the top; MT_EINVAL if out is too small (65 bytes do). */
int mt_config_default_replica_id(const char *hostname, const char *endpoint, char *out,
                                 size_t outlen);

/*  A duration as the settings take it: a whole number with ms, s, m or h
    ("500ms", "2s", "5m", "1h"), or alone for milliseconds. MT_OK and *ms
    (saturated at LLONG_MAX), or MT_EINVAL. For metactl's flags too. */
int mt_config_duration_ms(const char *text, long long *ms);

/*  Frees the strings and zeroes cfg. NULL and repeated calls are fine. */
void mt_config_free(mt_config_t *cfg);

#ifdef __cplusplus
}
#endif

#endif
