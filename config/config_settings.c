/*  config_settings.c — the table behind every setting of metactord: flag,
    ZPL path, environment variable, kind of value and range, default, and
    the help text (mt_config.h says how they combine). Order: the --help
    order, the MT_CONFIG_S_* indexes. */
#include "config_internal.h"

#include <stddef.h>

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
        "Client requests (zmq ROUTER): tcp://HOST:PORT or ipc://PATH. Without\n"
        "--cert only loopback (127.0.0.0/8, ::1, localhost) or ipc://, unless\n"
        "--insecure; the same holds for --publish." },
    [MT_CONFIG_S_PUBLISH] = { "publish", "transport/publish", "METACTOR_PUBLISH", K_ENDPOINT,
        "ENDPOINT", 0, 0, "tcp://127.0.0.1:7401", OFF(pub_endpoint),
        "Change notices to the other replicas (zmq PUB): tcp://HOST:PORT or\n"
        "ipc://PATH; must differ from the request endpoint." },
    [MT_CONFIG_S_CERT] = { "cert", "security/cert", "METACTOR_CERT", K_CERT, "FILE", 0, 0, NULL,
        OFF(cert), "This replica's certificate (czmq zcert): FILE holds the public key,\n"
        "FILE_secret beside it the secret key. With it the endpoints take only\n"
        "clients whose certificate is in the trust store (CURVE). Needs --trust.\n"
        "Default: none: unauthenticated, so only loopback or ipc:// endpoints\n"
        "unless --insecure." },
    [MT_CONFIG_S_TRUST] = { "trust", "security/trust", "METACTOR_TRUST", K_DIR, "DIR", 0, 0, NULL,
        OFF(trust), "The trust store: a directory of public certificates (zcert) whose\n"
        "metadata says who holds each (role, and node for a node's). Required\n"
        "with --cert, refused without. Default: none." },
    [MT_CONFIG_S_INSECURE] = { "insecure", "security/insecure", "METACTOR_INSECURE", K_BOOL,
        "[=true|false]", 0, 0, "false", OFF(insecure),
        "Without a certificate, bind non-loopback endpoints all the same:\n"
        "whoever reaches them may do anything. A flag alone means true." },
    [MT_CONFIG_S_DB] = { "db", "store/dsn", "METACTOR_DB", K_DSN, "DSN", 0, 0,
        "mysql://metactor:metactor@127.0.0.1:3407/metactor", OFF(dsn),
        "The database: mysql://[USER[:PASSWORD]@]HOST[:PORT]/DB[?socket=PATH&...]\n"
        "(the default is the server of scripts/mariadb). A Galera cluster:\n"
        "mysql://USER@H1:P1,H2:P2,H3:P3/DB (scripts/galera) - each connection uses\n"
        "the first host that answers and is Synced, and moves on to the next when\n"
        "its node dies or leaves the cluster. Reads take the hosts in the order\n"
        "given (order them differently per replica to spread reads); writes take\n"
        "them sorted, so that every replica writes through the same node (Galera\n"
        "loses concurrent read-modify-writes made through two nodes). Leave the password out\n"
        "(see --db-password-file): on the command line every user reads it.\n"
        "TLS: ?ssl_ca=FILE (ssl_cert, ssl_key, ssl_verify; docs/security.md)." },
    [MT_CONFIG_S_DB_PASSWORD_FILE] = { "db-password-file", "store/password_file",
        "METACTOR_DB_PASSWORD_FILE", K_PWFILE, "FILE", 0, 0, NULL, OFF(db_password_file),
        "A file holding the database password alone (one line, its newline\n"
        "dropped; at most 1024 bytes; keep it chmod 600). Wins over\n"
        "METACTOR_DB_PASSWORD and store/password, which win over a password\n"
        "in the DSN. Default: none." },
    [MT_CONFIG_S_DB_PASSWORD] = { "db-password", "store/password", "METACTOR_DB_PASSWORD",
        K_SECRET, "PASSWORD", 0, 0, NULL, 0,
        "The database password, from the environment or the config file only:\n"
        "never a flag, as every user of the machine can read a command line.\n"
        "Default: none (the DSN's own, if any)." },
    [MT_CONFIG_S_RELOAD_INTERVAL] = { "reload-interval", "nodes/reload_interval",
        "METACTOR_RELOAD_INTERVAL", K_MS, "DURATION", 10, 3600000, "5000", OFF(reload_interval_ms),
        "Time between incremental reloads from the database." },
    [MT_CONFIG_S_HEALTH_TIMEOUT] = { "health-timeout", "nodes/health_timeout",
        "METACTOR_HEALTH_TIMEOUT", K_MS, "DURATION", 100, 86400000, "40000", OFF(health_timeout_ms),
        "A node is unhealthy this long after its last heartbeat." },
    [MT_CONFIG_S_FULL_RESYNC_EVERY] = { "full-resync-every", "nodes/full_resync_every",
        "METACTOR_FULL_RESYNC_EVERY", K_INT, "N", 1, 1000000, "12", OFF(full_resync_every),
        "Every Nth reload pass is a full resync (the safety net)." },
    [MT_CONFIG_S_TOMBSTONE_RETENTION] = { "tombstone-retention", "nodes/tombstone_retention",
        "METACTOR_TOMBSTONE_RETENTION", K_MS, "DURATION", 0, 2000000000, "3600000",
        OFF(tombstone_retention_ms),
        "A deleted node's row stays this long (database clock) so\n"
        "that replicas learn the delete, then is purged; a replica that missed\n"
        "it drops the node at its next full resync. 0: never purge; else at\n"
        "least ten reload intervals (the default grows to that)." },
    [MT_CONFIG_S_WORKERS] = { "workers", "runtime/workers", "METACTOR_WORKERS", K_INT, "N",
        0, 64, "0", OFF(workers), "Actor runtime worker threads; 0 = one per core." },
    [MT_CONFIG_S_STORE_WRITERS] = { "store-writers", "store/writers", "METACTOR_STORE_WRITERS",
        K_INT, "N", 1, 64, "2", OFF(store_writers),
        "Database connections that write nodes (plus one reader)." },
    [MT_CONFIG_S_STORE_LINGER] = { "store-linger", "store/linger", "METACTOR_STORE_LINGER",
        K_MS, "DURATION", 0, 1000, "20ms", OFF(store_linger_ms),
        "While heartbeats of many nodes keep coming, each waits up to this\n"
        "long for more to commit with it (fewer, larger commits: a fleet at\n"
        "a steady pace). Silence ends a wait; a full batch, a lone client\n"
        "and a client whose window of requests is spent never wait.\n"
        "0: always commit at once." },
    [MT_CONFIG_S_MAX_BODY] = { "max-body", "transport/max_body", "METACTOR_MAX_BODY", K_SIZE,
        "BYTES", 1024, 268435456, "1048576", OFF(max_body),
        "Largest request body accepted; larger ones are refused (too_large)." },
    [MT_CONFIG_S_REQUEST_TIMEOUT] = { "request-timeout", "transport/request_timeout",
        "METACTOR_REQUEST_TIMEOUT", K_MS, "DURATION", 10, 3600000, "10000", OFF(request_timeout_ms),
        "How long a request may take inside the service before it is\n"
        "answered unavailable." },
    [MT_CONFIG_S_MAX_INFLIGHT] = { "max-inflight", "transport/max_inflight",
        "METACTOR_MAX_INFLIGHT", K_INT, "N", 1, 10000000, "20000", OFF(max_inflight),
        "Requests in flight in this replica (all clients); past it a request\n"
        "is answered busy at once and nothing is done." },
    [MT_CONFIG_S_MAX_INFLIGHT_CLIENT] = { "max-inflight-client", "transport/max_inflight_client",
        "METACTOR_MAX_INFLIGHT_CLIENT", K_INT, "N", 1, 10000000, "2048",
        OFF(max_inflight_client),
        "Requests in flight from one client connection; past it that client's\n"
        "requests are answered busy (the others are still served)." },
    [MT_CONFIG_S_MAX_STASH] = { "max-stash", "nodes/max_stash", "METACTOR_MAX_STASH", K_INT,
        "N", 1, 1000000, "256", OFF(max_stash),
        "Requests waiting for one node while it writes; past it busy." },
    [MT_CONFIG_S_BEAT_INTERVAL] = { "beat-interval", "membership/beat_interval",
        "METACTOR_BEAT_INTERVAL", K_MS, "DURATION", 10, 60000, "1000", OFF(beat_interval_ms),
        "Time between refreshes of this replica's membership row." },
    [MT_CONFIG_S_ALIVE_WINDOW] = { "alive-window", "membership/alive_window",
        "METACTOR_ALIVE_WINDOW", K_MS, "DURATION", 20, 3600000, "3000", OFF(alive_window_ms),
        "A replica is alive if its row was refreshed within this long\n"
        "(database clock); at least twice the beat interval." },
    [MT_CONFIG_S_REFRESH_INTERVAL] = { "refresh-interval", "rc/refresh_interval",
        "METACTOR_REFRESH_INTERVAL", K_MS, "DURATION", 10, 86400000, "15000", OFF(refresh_interval_ms),
        "Time between refreshes of remote cluster references (and the\n"
        "per-priority wait of their hostname update)." },
    [MT_CONFIG_S_RC_ALLOW_IPC] = { "rc-allow-ipc", "rc/allow_ipc", "METACTOR_RC_ALLOW_IPC", K_BOOL,
        "[=true|false]", 0, 0, "false", OFF(rc_allow_ipc),
        "Remote cluster references may name ipc:// endpoints (one host, tests);\n"
        "otherwise only tcp://HOST:PORT. A flag alone means true." },
    [MT_CONFIG_S_LOG_LEVEL] = { "log-level", "log/level", "METACTOR_LOG_LEVEL", K_LOG, "LEVEL",
        0, 0, "info", OFF(log_level), "One of error, warning, info, debug." },
    [MT_CONFIG_S_LOG_FORMAT] = { "log-format", "log/format", "METACTOR_LOG_FORMAT", K_LOGFMT,
        "FORMAT", 0, 0, "text", OFF(log_format),
        "text (one line per message, for people and journald) or json (one\n"
        "object per line: ts, level, ident, msg; for log shippers). Logs go\n"
        "to stderr." },
    [MT_CONFIG_S_SUBSCRIBE] = { "subscribe", "transport/subscribe", "METACTOR_SUBSCRIBE", K_INT,
        "0|1", 0, 1, "1", OFF(subscribe),
        "1: merge the other replicas' change notices (changes arrive within\n"
        "milliseconds); 0: learn them by reload only, as the seed did (for\n"
        "comparison)." },
    [MT_CONFIG_S_HTTP] = { "http", "http/listen", "METACTOR_HTTP", K_ADDR, "ADDR:PORT", 0, 0,
        NULL, OFF(http),
        "Serve GET /metrics (Prometheus), /healthz and /readyz over HTTP here,\n"
        "e.g. 127.0.0.1:9400. Not authenticated, even with --cert: loopback\n"
        "only unless --http-public. Default: none (no HTTP listener)." },
    [MT_CONFIG_S_HTTP_PUBLIC] = { "http-public", "http/public", "METACTOR_HTTP_PUBLIC", K_BOOL,
        "[=true|false]", 0, 0, "false", OFF(http_public),
        "Let --http listen on an address other than loopback (0.0.0.0:9400):\n"
        "whoever reaches it reads the metrics. A flag alone means true." },
};
