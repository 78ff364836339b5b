/*  test_config_ops.c — the settings operators meet first: durations with
    units (flags, environment, config file; errors; printing) and the HTTP
    listener's address and its loopback rule. */
#include "test_config_util.h"
#include "mt_check.h"

START_TEST(duration_parse)
{
    static const struct { const char *text; long long ms; } ok[] = {
        { "0", 0 }, { "750", 750 }, { "500ms", 500 }, { "2s", 2000 }, { "5m", 300000 },
        { "1h", 3600000 }, { "0s", 0 }, { "90s", 90000 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        long long ms = -1;
        ck_assert_msg(mt_config_duration_ms(ok[i].text, &ms) == MT_OK, "%s", ok[i].text);
        ck_assert_int_eq(ms, ok[i].ms);
    }
    static const char *const bad[] = {
        "", "s", "2 s", " 2s", "2S", "1.5s", "-1s", "+2s", "2sec", "1m30s", "2d", "ms", "0x10",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long long ms = -1;
        ck_assert_msg(mt_config_duration_ms(bad[i], &ms) == MT_EINVAL, "'%s' accepted", bad[i]);
    }
    long long ms = 0;
    ck_assert_int_eq(mt_config_duration_ms("99999999999999999999h", &ms), MT_OK);
    ck_assert(ms == LLONG_MAX);                 /* saturated: the range check refuses it */
}
END_TEST

START_TEST(duration_sources)
{
    mt_config_t c;
    char err[512];
    write_file(path, "nodes\n    reload_interval = \"2s\"\n    health_timeout = 1m\n");
    setenv("METACTOR_BEAT_INTERVAL", "250ms", 1);
    ck_assert_msg(LOAD(&c, err, "--config", path, "--request-timeout", "1h",
                       "--refresh-interval=90s", "--alive-window", "1000") == MT_OK, "%s", err);
    ck_assert_int_eq(c.reload_interval_ms, 2000);
    ck_assert_int_eq(c.health_timeout_ms, 60000);
    ck_assert_int_eq(c.beat_interval_ms, 250);
    ck_assert_int_eq(c.request_timeout_ms, 3600000);
    ck_assert_int_eq(c.refresh_interval_ms, 90000);
    ck_assert_int_eq(c.alive_window_ms, 1000);              /* a bare number: ms */
    ck_assert_int_eq(c.tombstone_retention_ms, 3600000);    /* the default, 1h */

    /* printed in ms, and the printout loads again to the same values */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mt_config_print(&c, f);
    fclose(f);
    ck_assert_msg(strstr(buf, "    reload_interval = 2000"), "%s", buf);
    write_file(in_dir("printed.cfg"), buf);
    free(buf);
    unsetenv("METACTOR_BEAT_INTERVAL");
    mt_config_t d;
    ck_assert_msg(LOAD(&d, err, "--config", in_dir("printed.cfg")) == MT_OK, "%s", err);
    ck_assert_int_eq(d.health_timeout_ms, 60000);
    ck_assert_int_eq(d.beat_interval_ms, 250);
    mt_config_free(&d);
    mt_config_free(&c);
}
END_TEST

START_TEST(duration_errors)
{
    EXPECT_ERR(ARGS("--reload-interval", "2x"),
               "--reload-interval: '2x' is not a duration", "500ms, 2s, 5m, 1h");
    EXPECT_ERR(ARGS("--reload-interval", "2h"), "--reload-interval: 2h is out of range (10ms-1h)");
    EXPECT_ERR(ARGS("--health-timeout", "1.5s"), "'1.5s' is not a duration");
    setenv("METACTOR_ALIVE_WINDOW", "3 s", 1);
    EXPECT_ERR(ARGS("--beat-interval", "1s"), "METACTOR_ALIVE_WINDOW: '3 s' is not a duration");
    unsetenv("METACTOR_ALIVE_WINDOW");
    EXPECT_FILE_ERR("membership\n    beat_interval = 2m\n",
                    "line 2: membership/beat_interval: 2m is out of range (10ms-1m)");
    /* the rules between settings still speak milliseconds */
    EXPECT_ERR(ARGS("--beat-interval", "2s", "--alive-window", "3s"),
               "an alive window of 3000 ms must be at least twice the beat interval (2000 ms)");
}
END_TEST

START_TEST(http_listen)
{
    mt_config_t c;
    char err[512];
    ck_assert_msg(LOAD0(&c, err) == MT_OK, "%s", err);
    ck_assert_ptr_null(c.http);                             /* off unless set */
    ck_assert(!c.http_public);
    mt_config_free(&c);
    static const char *const loopback[] = {
        "127.0.0.1:9400", "127.9.9.9:1", "localhost:9400", "[::1]:65535",
    };
    for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++) {
        ck_assert_msg(LOAD(&c, err, "--http", loopback[i]) == MT_OK, "%s: %s", loopback[i], err);
        ck_assert_str_eq(c.http, loopback[i]);
        ck_assert_int_eq(c.source[MT_CONFIG_S_HTTP], MT_CONFIG_FLAG);
        mt_config_free(&c);
    }
    /* not loopback: only with --http-public, with or without a certificate */
    EXPECT_ERR(ARGS("--http", "0.0.0.0:9400"), "--http: '0.0.0.0:9400' is not loopback",
               "--http-public");
    EXPECT_ERR(ARGS("--http", "[::]:9400"), "is not loopback", "--http-public");
    setenv("METACTOR_HTTP", "10.1.2.3:9400", 1);
    EXPECT_ERR(ARGS("--workers", "1"), "METACTOR_HTTP: '10.1.2.3:9400' is not loopback");
    ck_assert_msg(LOAD(&c, err, "--http-public") == MT_OK, "%s", err);
    ck_assert_str_eq(c.http, "10.1.2.3:9400");
    ck_assert(c.http_public);
    mt_config_free(&c);
    unsetenv("METACTOR_HTTP");
    /* syntax */
    static const char *const bad[] = {
        "9400", ":9400", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
        "127.0.0.1:http", "[::1:9400", "*:9400", "tcp://127.0.0.1:9400",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        EXPECT_ERR(ARGS("--http", bad[i]), "is not ADDR:PORT");
    /* the example file leaves it off */
    write_file(path, "http\n    listen = \"127.0.0.1:9401\"\n    public = false\n");
    ck_assert_msg(LOAD(&c, err, "--config", path) == MT_OK, "%s", err);
    ck_assert_str_eq(c.http, "127.0.0.1:9401");
    ck_assert_int_eq(c.source[MT_CONFIG_S_HTTP], MT_CONFIG_FILE);
    mt_config_free(&c);
}
END_TEST

START_TEST(http_help)
{
    const char *u = mt_config_usage();
    const char *need[] = {
        "--http ADDR:PORT", "METACTOR_HTTP", "http/listen", "/metrics", "/readyz",
        "Not authenticated, even with --cert", "loopback",
        "--http-public[=true|false]", "METACTOR_HTTP_PUBLIC", "http/public",
        "A DURATION is a whole number with a unit, 500ms, 2s, 5m or 1h",
    };
    for (size_t i = 0; i < sizeof need / sizeof *need; i++)
        ck_assert_msg(strstr(u, need[i]), "usage lacks '%s':\n%s", need[i], u);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("config_ops");
    TCase *tc = tcase_create("ops");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, duration_parse);
    tcase_add_test(tc, duration_sources);
    tcase_add_test(tc, duration_errors);
    tcase_add_test(tc, http_listen);
    tcase_add_test(tc, http_help);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
