/*  test_config.c — metactord's settings: defaults, the ZPL file, the
    environment over the file, flags over the environment, the generated
    replica id, the printed form (loadable again, password hidden), the
    help text, and every error with its message. The security settings
    (certificate, trust store, bind rule, database password) are in
    test_config_security.c. */
#include "mt_config.h"
#include "mt_core.h"

#include "test_config_util.h"

#include "mt_check.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void assert_defaults(const mt_config_t *c)
{
    ck_assert_str_eq(c->endpoint, "tcp://127.0.0.1:7400");
    ck_assert_str_eq(c->pub_endpoint, "tcp://127.0.0.1:7401");
    ck_assert_str_eq(c->dsn, "mysql://metactor:metactor@127.0.0.1:3407/metactor");
    ck_assert_int_eq(c->reload_interval_ms, 5000);
    ck_assert_int_eq(c->health_timeout_ms, 40000);
    ck_assert_int_eq(c->full_resync_every, 12);
    ck_assert_int_eq(c->tombstone_retention_ms, 3600000);
    ck_assert_int_eq(c->workers, 0);
    ck_assert_int_eq(c->store_writers, 2);
    ck_assert_int_eq(c->store_linger_ms, 20);
    ck_assert_uint_eq(c->max_body, 1048576);
    ck_assert_int_eq(c->request_timeout_ms, 10000);
    ck_assert_int_eq(c->max_inflight, 20000);
    ck_assert_int_eq(c->max_inflight_client, 2048);
    ck_assert_int_eq(c->max_stash, 256);
    ck_assert_int_eq(c->beat_interval_ms, 1000);
    ck_assert_int_eq(c->alive_window_ms, 3000);
    ck_assert_int_eq(c->refresh_interval_ms, 15000);
    ck_assert_int_eq(c->log_level, MT_LOG_INFO);
    ck_assert_int_eq(c->log_format, MT_LOG_TEXT);
    ck_assert_int_eq(c->subscribe, 1);
    ck_assert_ptr_null(c->cert);
    ck_assert_ptr_null(c->trust);
    ck_assert_ptr_null(c->db_password_file);
    ck_assert(!c->insecure);
    ck_assert(!c->rc_allow_ipc);
}

/*  Set only in test_config_security.c (they need files). */
static bool security_file_setting(int i)
{
    return i == MT_CONFIG_S_CERT || i == MT_CONFIG_S_TRUST || i == MT_CONFIG_S_DB_PASSWORD_FILE
        || i == MT_CONFIG_S_DB_PASSWORD;
}

static const char *full_file =
    "#   every setting\n"
    "replica\n"
    "    id = \"file-replica\"\n"
    "transport\n"
    "    endpoint = \"tcp://10.0.0.5:9400\"     # requests\n"
    "    publish = tcp://10.0.0.5:9401\n"
    "    max_body = 2048\n"
    "    request_timeout = 2500\n"
    "    max_inflight = 300\n"
    "    max_inflight_client = 30\n"
    "    subscribe = 0\n"
    "security\n"
    "    insecure = true                   # 10.0.0.5 without a certificate\n"
    "store\n"
    "    dsn = 'mysql://u:p%23w@db.example:3306/meta?connect_timeout=3'\n"
    "    writers = 4\n"
    "    linger = \"35ms\"\n"
    "\n"
    "nodes\n"
    "    reload_interval = 700\n"
    "    health_timeout = 9s\n"
    "    full_resync_every = 3\n"
    "    tombstone_retention = 0\n"
    "    max_stash = 7\n"
    "runtime\n"
    "    workers = 5\n"
    "membership\n"
    "    beat_interval = 200\n"
    "    alive_window = 900\n"
    "rc\n"
    "    refresh_interval = 1234\n"
    "    allow_ipc = 1\n"
    "log\n"
    "    level = debug\n"
    "    format = json\n"
    "http\n"
    "    listen = \"10.0.0.5:9402\"\n"
    "    public = true\n";

START_TEST(defaults)
{
    mt_config_t c;
    char err[512];
    ck_assert_int_eq(LOAD0(&c, err), MT_OK);
    ck_assert_str_eq(err, "");
    assert_defaults(&c);
    ck_assert_ptr_null(c.config_file);
    ck_assert(!c.help);
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++)
        ck_assert_int_eq(c.source[i], MT_CONFIG_DEFAULT);
    /* the generated id: hostname-port */
    char host[256] = "", want[80];
    gethostname(host, sizeof host - 1);
    ck_assert_int_eq(mt_config_default_replica_id(host, "tcp://127.0.0.1:7400", want, sizeof want),
                     MT_OK);
    ck_assert_str_eq(c.replica_id, want);
    ck_assert_uint_le(strlen(c.replica_id), 64);
    ck_assert_str_eq(c.replica_id + strlen(c.replica_id) - 5, "-7400");
    if (strlen(host) <= 59 && strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789._-") == strlen(host) && *host) {
        char exact[80];
        snprintf(exact, sizeof exact, "%s-7400", host);
        ck_assert_str_eq(c.replica_id, exact);
    }
    mt_config_free(&c);
    mt_config_free(&c);     /* twice is fine */
    mt_config_free(NULL);
}
END_TEST

START_TEST(replica_id_generation)
{
    char a[80], b[80];
    /* stable: the same host and endpoint give the same id */
    mt_config_default_replica_id("node1", "tcp://*:7400", a, sizeof a);
    mt_config_default_replica_id("node1", "tcp://0.0.0.0:7400", b, sizeof b);
    ck_assert_str_eq(a, "node1-7400");
    ck_assert_str_eq(b, "node1-7400");
    mt_config_default_replica_id("node1", "tcp://[::1]:7500", a, sizeof a);
    ck_assert_str_eq(a, "node1-7500");
    /* ipc: a hash of the path, different paths differ */
    mt_config_default_replica_id("node1", "ipc:///run/metactor/a.sock", a, sizeof a);
    mt_config_default_replica_id("node1", "ipc:///run/metactor/b.sock", b, sizeof b);
    ck_assert_uint_eq(strlen(a), strlen("node1-ipc-") + 8);
    ck_assert(strncmp(a, "node1-ipc-", 10) == 0);
    ck_assert_str_ne(a, b);
    mt_config_default_replica_id("node1", "ipc:///run/metactor/a.sock", b, sizeof b);
    ck_assert_str_eq(a, b);
    /* characters outside the id alphabet become '-'; long names are cut */
    mt_config_default_replica_id("my host+x", "tcp://h:1", a, sizeof a);
    ck_assert_str_eq(a, "my-host-x-1");
    char longhost[200];
    memset(longhost, 'h', 150);
    longhost[150] = '\0';
    mt_config_default_replica_id(longhost, "tcp://h:65535", a, sizeof a);
    ck_assert_uint_eq(strlen(a), 64);
    ck_assert_str_eq(a + 58, "-65535");
    mt_config_default_replica_id("", "tcp://h:7400", a, sizeof a);
    ck_assert_str_eq(a, "metactor-7400");
    ck_assert_int_eq(mt_config_default_replica_id("node1", "tcp://h:7400", a, 5), MT_EINVAL);

    /* through the loader: follows the endpoint from any source */
    mt_config_t c;
    char err[512];
    ck_assert_int_eq(LOAD(&c, err, "--endpoint", "tcp://127.0.0.1:7600", "--publish",
                          "tcp://127.0.0.1:7601"), MT_OK);
    ck_assert_str_eq(c.replica_id + strlen(c.replica_id) - 5, "-7600");
    ck_assert_int_eq(c.source[MT_CONFIG_S_REPLICA_ID], MT_CONFIG_DEFAULT);
    mt_config_free(&c);
    setenv("METACTOR_ENDPOINT", "ipc:///tmp/x.sock", 1);
    ck_assert_int_eq(LOAD0(&c, err), MT_OK);
    ck_assert_ptr_nonnull(strstr(c.replica_id, "-ipc-"));
    mt_config_free(&c);
}
END_TEST

START_TEST(file)
{
    write_file(path, full_file);
    mt_config_t c;
    char err[512];
    ck_assert_msg(LOAD(&c, err, "--config", path) == MT_OK, "%s", err);
    ck_assert_str_eq(c.config_file, path);
    ck_assert_str_eq(c.replica_id, "file-replica");
    ck_assert_str_eq(c.endpoint, "tcp://10.0.0.5:9400");
    ck_assert_str_eq(c.pub_endpoint, "tcp://10.0.0.5:9401");
    ck_assert_str_eq(c.dsn, "mysql://u:p%23w@db.example:3306/meta?connect_timeout=3");
    ck_assert_int_eq(c.reload_interval_ms, 700);
    ck_assert_int_eq(c.health_timeout_ms, 9000);
    ck_assert_int_eq(c.full_resync_every, 3);
    ck_assert_int_eq(c.tombstone_retention_ms, 0);
    ck_assert_int_eq(c.workers, 5);
    ck_assert_int_eq(c.store_writers, 4);
    ck_assert_int_eq(c.store_linger_ms, 35);
    ck_assert_uint_eq(c.max_body, 2048);
    ck_assert_int_eq(c.request_timeout_ms, 2500);
    ck_assert_int_eq(c.max_inflight, 300);
    ck_assert_int_eq(c.max_inflight_client, 30);
    ck_assert_int_eq(c.max_stash, 7);
    ck_assert_int_eq(c.beat_interval_ms, 200);
    ck_assert_int_eq(c.alive_window_ms, 900);
    ck_assert_int_eq(c.refresh_interval_ms, 1234);
    ck_assert_int_eq(c.log_level, MT_LOG_DEBUG);
    ck_assert_int_eq(c.log_format, MT_LOG_JSON);
    ck_assert_int_eq(c.subscribe, 0);
    ck_assert(c.insecure);
    ck_assert(c.rc_allow_ipc);
    ck_assert_str_eq(c.http, "10.0.0.5:9402");
    ck_assert(c.http_public);
    ck_assert_int_eq(c.source[MT_CONFIG_S_CONFIG], MT_CONFIG_FLAG);
    for (int i = 1; i < MT_CONFIG_NSETTINGS; i++)
        ck_assert_msg(c.source[i] == MT_CONFIG_FILE || security_file_setting(i),
                      "setting %d from %d", i, c.source[i]);
    mt_config_free(&c);

    /* a partial file: the rest keeps its defaults; an empty file is fine */
    write_file(path, "runtime\n    workers = 3\n");
    ck_assert_msg(LOAD(&c, err, "--config", path) == MT_OK, "%s", err);
    ck_assert_int_eq(c.workers, 3);
    ck_assert_int_eq(c.source[MT_CONFIG_S_WORKERS], MT_CONFIG_FILE);
    ck_assert_int_eq(c.source[MT_CONFIG_S_ENDPOINT], MT_CONFIG_DEFAULT);
    ck_assert_int_eq(c.store_writers, 2);
    mt_config_free(&c);
    write_file(path, "");
    ck_assert_msg(LOAD(&c, err, "--config", path) == MT_OK, "%s", err);
    assert_defaults(&c);
    mt_config_free(&c);
    /* sections may come in any order, with comments and blank lines */
    write_file(path, "\n# x\nlog\n    # inner comment\n    level = \"error\"   # why\n\n"
               "replica\n    id = zz\n");
    ck_assert_msg(LOAD(&c, err, "--config", path) == MT_OK, "%s", err);
    ck_assert_int_eq(c.log_level, MT_LOG_ERROR);
    ck_assert_str_eq(c.replica_id, "zz");
    mt_config_free(&c);
}
END_TEST

/*  etc/metactord.cfg documents every setting with its default value. */
START_TEST(example_file)
{
    mt_config_t c;
    char err[512];
    ck_assert_msg(LOAD(&c, err, "--config", MT_SOURCE_DIR "/etc/metactord.cfg") == MT_OK, "%s", err);
    assert_defaults(&c);
    /* every setting but the (generated) replica id and those naming files
       (commented out) is written out */
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++) {
        if (i == MT_CONFIG_S_CONFIG || i == MT_CONFIG_S_REPLICA_ID || security_file_setting(i)
            || i == MT_CONFIG_S_HTTP)
            continue;
        ck_assert_msg(c.source[i] == MT_CONFIG_FILE, "setting %d not in the example", i);
    }
    ck_assert_int_eq(c.source[MT_CONFIG_S_REPLICA_ID], MT_CONFIG_DEFAULT);
    mt_config_free(&c);
}
END_TEST

START_TEST(env_overrides_file)
{
    write_file(path, full_file);
    setenv("METACTOR_WORKERS", "7", 1);
    setenv("METACTOR_DB", "mysql://x@127.0.0.1/envdb", 1);
    setenv("METACTOR_LOG_LEVEL", "warning", 1);
    setenv("METACTOR_REPLICA_ID", "env-replica", 1);
    setenv("METACTOR_ALIVE_WINDOW", "", 1);         /* empty: unset */
    setenv("METACTOR_CONFIG", path, 1);             /* the file, from the environment */
    mt_config_t c;
    char err[512];
    ck_assert_msg(LOAD0(&c, err) == MT_OK, "%s", err);
    ck_assert_str_eq(c.config_file, path);
    ck_assert_int_eq(c.source[MT_CONFIG_S_CONFIG], MT_CONFIG_ENV);
    ck_assert_int_eq(c.workers, 7);
    ck_assert_int_eq(c.source[MT_CONFIG_S_WORKERS], MT_CONFIG_ENV);
    ck_assert_str_eq(c.dsn, "mysql://x@127.0.0.1/envdb");
    ck_assert_int_eq(c.log_level, MT_LOG_WARNING);
    ck_assert_str_eq(c.replica_id, "env-replica");
    ck_assert_int_eq(c.alive_window_ms, 900);       /* the file's */
    ck_assert_int_eq(c.source[MT_CONFIG_S_ALIVE_WINDOW], MT_CONFIG_FILE);
    ck_assert_int_eq(c.store_writers, 4);           /* the file's */
    mt_config_free(&c);
    /* the environment over the defaults, without a file */
    unsetenv("METACTOR_CONFIG");
    setenv("METACTOR_ENDPOINT", "tcp://*:8000", 1);
    setenv("METACTOR_INSECURE", "true", 1);
    setenv("METACTOR_RC_ALLOW_IPC", "1", 1);
    ck_assert_msg(LOAD0(&c, err) == MT_OK, "%s", err);
    ck_assert_ptr_null(c.config_file);
    ck_assert_str_eq(c.endpoint, "tcp://*:8000");
    ck_assert(c.insecure);
    ck_assert_int_eq(c.source[MT_CONFIG_S_INSECURE], MT_CONFIG_ENV);
    ck_assert(c.rc_allow_ipc);
    ck_assert_int_eq(c.store_writers, 2);
    mt_config_free(&c);
}
END_TEST

START_TEST(flag_overrides_env)
{
    write_file(path, full_file);
    setenv("METACTOR_WORKERS", "7", 1);
    setenv("METACTOR_LOG_LEVEL", "warning", 1);
    setenv("METACTOR_ENDPOINT", "tcp://127.0.0.1:9000", 1);
    setenv("METACTOR_CONFIG", "/nonexistent/ignored.cfg", 1);  /* --config wins */
    mt_config_t c;
    char err[512];
    ck_assert_msg(LOAD(&c, err, "--config", path, "--workers", "9", "--log-level=error",
                       "--endpoint=tcp://127.0.0.1:9100", "--store-writers", "1",
                       "--store-writers", "3", "--replica-id", "flag-replica") == MT_OK, "%s", err);
    ck_assert_str_eq(c.config_file, path);
    ck_assert_int_eq(c.source[MT_CONFIG_S_CONFIG], MT_CONFIG_FLAG);
    ck_assert_int_eq(c.workers, 9);
    ck_assert_int_eq(c.source[MT_CONFIG_S_WORKERS], MT_CONFIG_FLAG);
    ck_assert_int_eq(c.log_level, MT_LOG_ERROR);
    ck_assert_str_eq(c.endpoint, "tcp://127.0.0.1:9100");
    ck_assert_int_eq(c.store_writers, 3);           /* the last flag wins */
    ck_assert_str_eq(c.replica_id, "flag-replica");
    ck_assert_int_eq(c.reload_interval_ms, 700);    /* the file's */
    ck_assert_int_eq(c.source[MT_CONFIG_S_RELOAD_INTERVAL], MT_CONFIG_FILE);
    mt_config_free(&c);
    /* every flag */
    unsetenv("METACTOR_CONFIG");
    ck_assert_msg(LOAD(&c, err, "--replica-id", "r1", "--endpoint", "ipc:///tmp/r1.sock",
                       "--publish", "ipc:///tmp/r1.pub", "--db", "mysql://127.0.0.1/x",
                       "--reload-interval", "10", "--health-timeout", "100",
                       "--full-resync-every", "1000000", "--workers", "64", "--store-writers", "64", "--store-linger", "1s",
                       "--max-body", "268435456", "--request-timeout", "3600000",
                       "--beat-interval", "60000", "--alive-window", "120000",
                       "--refresh-interval", "86400000", "--log-level", "debug", "--log-format", "json",
                       "--subscribe", "0", "--tombstone-retention", "2000000000",
                       "--insecure", "--rc-allow-ipc=true", "--max-inflight", "10000000",
                       "--max-inflight-client", "1", "--max-stash", "1000000",
                       "--http", "[::1]:9400", "--http-public") == MT_OK,
                  "%s", err);
    ck_assert_str_eq(c.replica_id, "r1");
    ck_assert_str_eq(c.endpoint, "ipc:///tmp/r1.sock");
    ck_assert_str_eq(c.pub_endpoint, "ipc:///tmp/r1.pub");
    ck_assert_str_eq(c.dsn, "mysql://127.0.0.1/x");
    ck_assert_int_eq(c.reload_interval_ms, 10);
    ck_assert_int_eq(c.health_timeout_ms, 100);
    ck_assert_int_eq(c.full_resync_every, 1000000);
    ck_assert_int_eq(c.tombstone_retention_ms, 2000000000);
    ck_assert_int_eq(c.workers, 64);
    ck_assert_int_eq(c.store_writers, 64);
    ck_assert_int_eq(c.store_linger_ms, 1000);
    ck_assert_uint_eq(c.max_body, 268435456);
    ck_assert_int_eq(c.request_timeout_ms, 3600000);
    ck_assert_int_eq(c.max_inflight, 10000000);
    ck_assert_int_eq(c.max_inflight_client, 1);
    ck_assert_int_eq(c.max_stash, 1000000);
    ck_assert_int_eq(c.beat_interval_ms, 60000);
    ck_assert_int_eq(c.alive_window_ms, 120000);
    ck_assert_int_eq(c.refresh_interval_ms, 86400000);
    ck_assert_int_eq(c.log_level, MT_LOG_DEBUG);
    ck_assert_int_eq(c.log_format, MT_LOG_JSON);
    ck_assert(c.insecure);
    ck_assert(c.rc_allow_ipc);
    for (int i = 1; i < MT_CONFIG_NSETTINGS; i++)
        ck_assert(c.source[i] == MT_CONFIG_FLAG || security_file_setting(i));
    mt_config_free(&c);
}
END_TEST

START_TEST(help)
{
    mt_config_t c;
    char err[512];
    ck_assert_int_eq(LOAD(&c, err, "--help"), MT_OK);
    ck_assert(c.help);
    mt_config_free(&c);
    ck_assert_int_eq(LOAD(&c, err, "--workers", "2", "-h"), MT_OK);
    ck_assert(c.help);
    ck_assert_int_eq(c.workers, 2);
    mt_config_free(&c);
    /* a bad flag next to --help is still reported */
    ck_assert_int_eq(LOAD(&c, err, "--help", "--bogus"), MT_EINVAL);
    ck_assert(c.help);
    mt_config_free(&c);

    const char *u = mt_config_usage();
    ck_assert_ptr_eq(u, mt_config_usage());
    const char *need[] = {
        "--config FILE", "METACTOR_CONFIG",
        "--replica-id ID", "METACTOR_REPLICA_ID", "replica/id", "HOSTNAME-PORT",
        "--endpoint ENDPOINT", "METACTOR_ENDPOINT", "transport/endpoint", "tcp://127.0.0.1:7400",
        "--publish ENDPOINT", "METACTOR_PUBLISH", "transport/publish", "tcp://127.0.0.1:7401",
        "--db DSN", "METACTOR_DB", "store/dsn", "mysql://metactor:metactor@127.0.0.1:3407/metactor",
        "--reload-interval DURATION", "METACTOR_RELOAD_INTERVAL", "nodes/reload_interval", "Default: 5s.",
        "--health-timeout DURATION", "METACTOR_HEALTH_TIMEOUT", "nodes/health_timeout", "Default: 40s.",
        "--full-resync-every N", "METACTOR_FULL_RESYNC_EVERY", "nodes/full_resync_every",
        "Default: 12.",
        "--tombstone-retention DURATION", "METACTOR_TOMBSTONE_RETENTION", "nodes/tombstone_retention",
        "Default: 1h.",
        "--workers N", "METACTOR_WORKERS", "runtime/workers", "Range: 0-64.",
        "--store-writers N", "METACTOR_STORE_WRITERS", "store/writers", "Default: 2.",
        "--max-body BYTES", "METACTOR_MAX_BODY", "transport/max_body", "1048576 bytes",
        "--request-timeout DURATION", "METACTOR_REQUEST_TIMEOUT", "transport/request_timeout",
        "Default: 10s.",
        "--beat-interval DURATION", "METACTOR_BEAT_INTERVAL", "membership/beat_interval", "Default: 1s.",
        "--alive-window DURATION", "METACTOR_ALIVE_WINDOW", "membership/alive_window", "Default: 3s.",
        "--refresh-interval DURATION", "METACTOR_REFRESH_INTERVAL", "rc/refresh_interval", "Default: 15s.",
        "--log-level LEVEL", "METACTOR_LOG_LEVEL", "log/level", "Default: info.",
        "error, warning, info, debug", "--help",
        "--cert FILE", "METACTOR_CERT", "security/cert", "FILE_secret",
        "--trust DIR", "METACTOR_TRUST", "security/trust",
        "--insecure[=true|false]", "METACTOR_INSECURE", "security/insecure", "Default: false.",
        "--db-password-file FILE", "METACTOR_DB_PASSWORD_FILE", "store/password_file",
        "(no flag)", "env METACTOR_DB_PASSWORD, file store/password", "never a flag",
        "--rc-allow-ipc[=true|false]", "METACTOR_RC_ALLOW_IPC", "rc/allow_ipc",
    };
    for (size_t i = 0; i < sizeof need / sizeof *need; i++)
        ck_assert_msg(strstr(u, need[i]), "usage lacks '%s':\n%s", need[i], u);
}
END_TEST

/*  The printed settings load back to the same values; the password never
    shows. */
START_TEST(print_round_trip)
{
    write_file(path, full_file);
    setenv("METACTOR_DB", "mysql://metactor:s3cret@127.0.0.1:3407/metactor?socket=/tmp/m.sock", 1);
    mt_config_t c;
    char err[512];
    ck_assert_msg(LOAD(&c, err, "--config", path, "--workers", "6") == MT_OK, "%s", err);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mt_config_print(&c, f);
    fclose(f);
    ck_assert_ptr_null(strstr(buf, "s3cret"));
    ck_assert_ptr_nonnull(strstr(buf, "metactor:***@"));
    ck_assert_ptr_nonnull(strstr(buf, "# env METACTOR_DB"));
    ck_assert_ptr_nonnull(strstr(buf, "# flag --workers"));
    ck_assert_ptr_nonnull(strstr(buf, "# file"));
    ck_assert_ptr_nonnull(strstr(buf, "    level = \"debug\""));

    char path2[320];
    snprintf(path2, sizeof path2, "%s/printed.cfg", dir);
    write_file(path2, buf);
    free(buf);
    unsetenv("METACTOR_DB");
    mt_config_t d;
    ck_assert_msg(LOAD(&d, err, "--config", path2) == MT_OK, "%s", err);
    unlink(path2);
    ck_assert_str_eq(d.replica_id, c.replica_id);
    ck_assert_str_eq(d.endpoint, c.endpoint);
    ck_assert_str_eq(d.pub_endpoint, c.pub_endpoint);
    ck_assert_str_eq(d.dsn, "mysql://metactor:***@127.0.0.1:3407/metactor?socket=/tmp/m.sock");
    ck_assert_int_eq(d.reload_interval_ms, c.reload_interval_ms);
    ck_assert_int_eq(d.health_timeout_ms, c.health_timeout_ms);
    ck_assert_int_eq(d.full_resync_every, c.full_resync_every);
    ck_assert_int_eq(d.tombstone_retention_ms, c.tombstone_retention_ms);
    ck_assert_int_eq(d.workers, 6);
    ck_assert_int_eq(d.store_writers, c.store_writers);
    ck_assert_uint_eq(d.max_body, c.max_body);
    ck_assert_int_eq(d.request_timeout_ms, c.request_timeout_ms);
    ck_assert_int_eq(d.beat_interval_ms, c.beat_interval_ms);
    ck_assert_int_eq(d.alive_window_ms, c.alive_window_ms);
    ck_assert_int_eq(d.refresh_interval_ms, c.refresh_interval_ms);
    ck_assert_int_eq(d.log_level, c.log_level);
    mt_config_free(&d);
    mt_config_free(&c);

    /* defaults print too, the generated id said so */
    ck_assert_int_eq(LOAD0(&c, err), MT_OK);
    f = open_memstream(&buf, &len);
    mt_config_print(&c, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "# generated from the hostname and endpoint"));
    ck_assert_ptr_nonnull(strstr(buf, "metactor:***@127.0.0.1:3407/metactor"));
    free(buf);
    mt_config_free(&c);
}
END_TEST

START_TEST(flag_errors)
{
    EXPECT_ERR(ARGS("--bogus", "1"), "unknown flag '--bogus'", "--help");
    EXPECT_ERR(ARGS("--bogus=1"), "unknown flag '--bogus'");
    EXPECT_ERR(ARGS("-w", "1"), "unknown flag '-w'");
    EXPECT_ERR(ARGS("workers"), "unexpected argument 'workers'");
    EXPECT_ERR(ARGS("--"), "unexpected argument '--'");
    EXPECT_ERR(ARGS("--workers"), "--workers: missing value");
    EXPECT_ERR(ARGS("--workers", "--store-writers", "2"), "--workers: missing value");
    EXPECT_ERR(ARGS("--workers="), "--workers: empty value");
    EXPECT_ERR(ARGS("--config="), "--config: empty value");
    EXPECT_ERR(ARGS("--workers", "abc"), "--workers: 'abc' is not a number (0-64)");
    EXPECT_ERR(ARGS("--workers", "4x"), "'4x' is not a number (0-64)");
    EXPECT_ERR(ARGS("--workers", " 4"), "is not a number (0-64)");
    EXPECT_ERR(ARGS("--workers", "1.5"), "is not a number");
    EXPECT_ERR(ARGS("--workers", "65"), "--workers: 65 is out of range (0-64)");
    EXPECT_ERR(ARGS("--workers", "-1"), "-1 is out of range (0-64)");
    EXPECT_ERR(ARGS("--log-format", "xml"), "--log-format: 'xml' is not one of text|json");
    EXPECT_ERR(ARGS("--max-body", "99999999999999999999999"), "--max-body:",
               "out of range (1024-268435456)");
    EXPECT_ERR(ARGS("--max-body", "1023"), "1023 is out of range (1024-268435456)");
    EXPECT_ERR(ARGS("--reload-interval", "0"), "--reload-interval: 0 is out of range (10ms-1h)");
    EXPECT_ERR(ARGS("--health-timeout", "99"), "(100ms-24h)");
    EXPECT_ERR(ARGS("--full-resync-every", "0"), "--full-resync-every: 0 is out of range (1-1000000)");
    EXPECT_ERR(ARGS("--store-writers", "0"), "--store-writers: 0 is out of range (1-64)");
    EXPECT_ERR(ARGS("--request-timeout", "x"), "--request-timeout: 'x' is not a duration");
    EXPECT_ERR(ARGS("--beat-interval", "60001"), "(10ms-1m)");
    EXPECT_ERR(ARGS("--refresh-interval", "5"), "(10ms-24h)");
    EXPECT_ERR(ARGS("--alive-window", "1999"), "--alive-window: an alive window of 1999 ms",
               "twice the beat interval (1000 ms)");
    EXPECT_ERR(ARGS("--beat-interval", "2000"), "alive window of 3000 ms", "(2000 ms)");
    EXPECT_ERR(ARGS("--tombstone-retention", "49999"),
               "--tombstone-retention: a retention of 49999 ms", "ten reload intervals (5000 ms)");
    EXPECT_ERR(ARGS("--reload-interval", "400000", "--tombstone-retention", "3600000"),
               "a retention of 3600000 ms", "(400000 ms)");
    EXPECT_ERR(ARGS("--tombstone-retention", "-1"), "'-1' is not a duration");
    /*  Not given, the retention follows a long reload interval. */
    mt_config_t c;
    char err[512];
    ck_assert_msg(LOAD(&c, err, "--reload-interval", "400000") == MT_OK, "%s", err);
    ck_assert_int_eq(c.tombstone_retention_ms, 4000000);
    mt_config_free(&c);
    EXPECT_ERR(ARGS("--log-level", "verbose"),
               "--log-level: 'verbose' is not one of error|warning|info|debug");
    EXPECT_ERR(ARGS("--log-level", "INFO"), "'INFO' is not one of");
    EXPECT_ERR(ARGS("--replica-id", "a b"), "--replica-id: 'a b' is not a replica id",
               "1-64 characters");
    EXPECT_ERR(ARGS("--replica-id", "r/1"), "is not a replica id");
    EXPECT_ERR(ARGS("--replica-id",
                    "x234567890123456789012345678901234567890123456789012345678901234x"),
               "is not a replica id");
    EXPECT_ERR(ARGS("--db", "postgres://h/db"), "--db: dsn:", "scheme");
    EXPECT_ERR(ARGS("--db", "mysql://u:pw@h:70000/db"), "--db: dsn: port");
    EXPECT_ERR(ARGS("--db", "mysql://h/db?colour=red"), "--db: dsn:");
    EXPECT_ERR(ARGS("--config", "/nonexistent/metactord.cfg"),
               "--config: cannot read '/nonexistent/metactord.cfg': No such file or directory");
    EXPECT_ERR(ARGS("--config", "/tmp"), "--config: cannot read '/tmp': is a directory");
    EXPECT_ERR(ARGS("--config", "/dev/null"), "not a regular file");
}
END_TEST

START_TEST(endpoint_errors)
{
    const char *form = "tcp://HOST:PORT or ipc://PATH";
    EXPECT_ERR(ARGS("--endpoint", "http://h:1"), "--endpoint: 'http://h:1' is not", form);
    EXPECT_ERR(ARGS("--endpoint", "h:7400"), "is not", form);
    EXPECT_ERR(ARGS("--endpoint", "tcp://host"), "'tcp://host' is not", form);
    EXPECT_ERR(ARGS("--endpoint", "tcp://:7400"), "is not", form);
    EXPECT_ERR(ARGS("--endpoint", "tcp://h:0"), "port '0' is not a number in 1-65535");
    EXPECT_ERR(ARGS("--endpoint", "tcp://h:65536"), "port '65536'");
    EXPECT_ERR(ARGS("--endpoint", "tcp://h:x"), "port 'x'");
    EXPECT_ERR(ARGS("--endpoint", "tcp://h:*"), "port '*'");
    EXPECT_ERR(ARGS("--endpoint", "tcp://h:"), "port ''");
    EXPECT_ERR(ARGS("--endpoint", "tcp://a b:1"), "bad host 'a b'");
    EXPECT_ERR(ARGS("--endpoint", "tcp://[zz]:1"), "bad host '[zz]'");
    EXPECT_ERR(ARGS("--endpoint", "tcp://eth0;10.0.0.1:1"), "bad host");
    EXPECT_ERR(ARGS("--publish", "ipc://"), "--publish: 'ipc://': ipc:// needs a path");
    char longipc[200] = "ipc:///";
    memset(longipc + 7, 'p', 120);
    longipc[127] = '\0';
    EXPECT_ERR(ARGS("--publish", longipc), "ipc path longer than 107 bytes");
    char huge[400] = "tcp://";
    memset(huge + 6, 'h', 300);
    strcpy(huge + 306, ":1");
    EXPECT_ERR(ARGS("--endpoint", huge), "endpoint longer than 255 bytes");
    EXPECT_ERR(ARGS("--publish", "tcp://127.0.0.1:7400"),
               "--publish: 'tcp://127.0.0.1:7400' is also the request endpoint");
    /* valid forms */
    mt_config_t c;
    char err[512];
    ck_assert_msg(LOAD(&c, err, "--endpoint", "tcp://[::1]:7400", "--publish",
                       "tcp://my-host.example_1:7401", "--insecure") == MT_OK, "%s", err);
    mt_config_free(&c);
    ck_assert_msg(LOAD(&c, err, "--endpoint", "tcp://*:7400", "--publish",
                       "ipc://@abstract-name", "--insecure") == MT_OK, "%s", err);
    mt_config_free(&c);
}
END_TEST

START_TEST(env_errors)
{
    setenv("METACTOR_WORKERS", "many", 1);
    EXPECT_ERR(ARGS("--store-writers", "2"), "METACTOR_WORKERS: 'many' is not a number (0-64)");
    /* a flag hides a bad variable: it is never looked at */
    mt_config_t c;
    char err[512];
    ck_assert_msg(LOAD(&c, err, "--workers", "1") == MT_OK, "%s", err);
    mt_config_free(&c);
    unsetenv("METACTOR_WORKERS");
    setenv("METACTOR_ENDPOINT", "udp://x:1", 1);
    EXPECT_ERR(ARGS("--workers", "1"), "METACTOR_ENDPOINT: 'udp://x:1' is not");
    unsetenv("METACTOR_ENDPOINT");
    setenv("METACTOR_DB", "mysql://h", 1);
    EXPECT_ERR(ARGS("--workers", "1"), "METACTOR_DB: dsn:");
    unsetenv("METACTOR_DB");
    setenv("METACTOR_CONFIG", "/nonexistent/x.cfg", 1);
    EXPECT_ERR(ARGS("--workers", "1"), "METACTOR_CONFIG: cannot read '/nonexistent/x.cfg'");
}
END_TEST

START_TEST(file_errors)
{
    char w[400];
    snprintf(w, sizeof w, "config %s line 3: unknown setting 'transport/endpiont'", path);
    EXPECT_FILE_ERR("# x\ntransport\n    endpiont = tcp://h:1\n", w,
                    "(transport has: endpoint, publish, max_body, request_timeout, subscribe,"
                    " max_inflight, max_inflight_client)");
    snprintf(w, sizeof w, "config %s line 1: unknown section 'transprt'", path);
    EXPECT_FILE_ERR("transprt\n    endpoint = tcp://h:1\n", w);
    EXPECT_FILE_ERR("workers = 3\n", "line 1: unknown section 'workers' (did you mean runtime/workers?)");
    EXPECT_FILE_ERR("runtime\n    workers = 3\n        deeper = 1\n",
                    "line 3: unknown setting 'runtime/.../deeper'");
    EXPECT_FILE_ERR("runtime\n    workers = 3\nruntime\n    workers = 4\n",
                    "line 3: section 'runtime' appears twice (first on line 1)");
    EXPECT_FILE_ERR("runtime\n    workers = 3\n    workers = 4\n",
                    "line 3: runtime/workers set twice (first on line 2)");
    EXPECT_FILE_ERR("runtime = 1\n    workers = 3\n", "line 1: 'runtime' is a section");
    EXPECT_FILE_ERR("runtime\n    workers\n", "line 2: runtime/workers: missing value");
    EXPECT_FILE_ERR("runtime/workers = 3\n", "line 1: 'runtime/workers': no '/' in names");
    EXPECT_FILE_ERR("runtime\n   workers = 3\n", "line 2: indent by multiples of 4 spaces");
    EXPECT_FILE_ERR("runtime\n\tworkers = 3\n", "line 2: invalid syntax", "not tabs");
    EXPECT_FILE_ERR("    runtime\n", "line 1: 'runtime' is indented deeper");
    EXPECT_FILE_ERR("log\n    level = \"debug\n", "line 2: missing closing \"");
    EXPECT_FILE_ERR("log\n    level = 'debug' x\n", "line 2: invalid syntax after the quoted value");
    EXPECT_FILE_ERR("log\n    level debug\n", "line 2: invalid syntax 'debug' (expected level = VALUE)");
    EXPECT_FILE_ERR("[log]\nlevel = debug\n", "line 1: invalid syntax '[log]'");
    /* values: the file, the line and the path are named */
    snprintf(w, sizeof w, "config %s line 2: runtime/workers: 'lots' is not a number (0-64)", path);
    EXPECT_FILE_ERR("runtime\n    workers = lots\n", w);
    EXPECT_FILE_ERR("\nruntime\n    workers = 100   # too many\n",
                    "line 3: runtime/workers: 100 is out of range (0-64)");
    EXPECT_FILE_ERR("log\n    level = \"\"\n", "line 2: log/level: empty value");
    EXPECT_FILE_ERR("store\n    dsn = \"mysql://\"\n", "line 2: store/dsn: dsn:");
    EXPECT_FILE_ERR("transport\n    publish = \"tcp://h\"\n", "line 2: transport/publish: 'tcp://h' is not");
    EXPECT_FILE_ERR("replica\n    id = \"a:b\"\n", "line 2: replica/id: 'a:b' is not a replica id");
    EXPECT_FILE_ERR("membership\n    alive_window = 1500\n",
                    "line 2: membership/alive_window: an alive window of 1500 ms");
    /* a NUL byte: not a text file */
    FILE *f = fopen(path, "w");
    fwrite("log\n\0", 1, 5, f);
    fclose(f);
    expect_err_v(ARGS("--config", path), WANT("contains a NUL byte"));
    /* unreadable (not when root: root reads anything) */
    if (geteuid() != 0) {
        write_file(path, "log\n    level = info\n");
        chmod(path, 0);
        expect_err_v(ARGS("--config", path), WANT("cannot read", "Permission denied"));
        chmod(path, 0600);
    }
}
END_TEST

int main(void)
{
    Suite *su = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, replica_id_generation);
    tcase_add_test(tc, file);
    tcase_add_test(tc, example_file);
    tcase_add_test(tc, env_overrides_file);
    tcase_add_test(tc, flag_overrides_env);
    tcase_add_test(tc, help);
    tcase_add_test(tc, print_round_trip);
    tcase_add_test(tc, flag_errors);
    tcase_add_test(tc, endpoint_errors);
    tcase_add_test(tc, env_errors);
    tcase_add_test(tc, file_errors);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
