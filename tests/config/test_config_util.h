/*  test_config_util.h — what the config tests share: a clean METACTOR_*
    environment and a temporary directory per test, loading from an argv
    literal, expected errors, and czmq certificates to point --cert at. */
#ifndef TEST_CONFIG_UTIL_H_INCLUDED
#define TEST_CONFIG_UTIL_H_INCLUDED

#include "mt_config.h"
#include "mt_core.h"

#include <check.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static char dir[256];
static char path[300];          /* dir/test.cfg */

static inline void clear_env(void)
{
    for (bool again = true; again;) {
        again = false;
        for (char **e = environ; *e; e++) {
            if (strncmp(*e, "METACTOR_", 9) == 0) {
                char name[128];
                snprintf(name, sizeof name, "%.*s", (int) strcspn(*e, "="), *e);
                unsetenv(name);
                again = true;
                break;
            }
        }
    }
}

static void setup(void)
{
    clear_env();
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mt_config_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/test.cfg", dir);
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    clear_env();
}

static inline void write_file(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/*  dir/name in a static buffer of its own (up to 8 alive at once). */
static inline const char *in_dir(const char *name)
{
    static char bufs[8][400];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

/*  A certificate pair dir/name and dir/name_secret (mode 600) with role
    metadata, as `metactl cert new` makes them; its path. */
static inline const char *make_cert(const char *name)
{
    const char *p = in_dir(name);
    zcert_t *c = zcert_new();
    ck_assert_ptr_nonnull(c);
    zcert_set_meta(c, "role", "replica");
    ck_assert_int_eq(zcert_save(c, p), 0);
    zcert_destroy(&c);
    char secret[420];
    snprintf(secret, sizeof secret, "%s_secret", p);
    chmod(secret, 0600);
    return p;
}

/*  mt_config_load with argv "metactord" + the NULL-terminated arguments. */
#define LOAD(cfg, err, ...) load_v((cfg), (err), (const char *[]) { "metactord", __VA_ARGS__, NULL })
#define LOAD0(cfg, err) load_v((cfg), (err), (const char *[]) { "metactord", NULL })

static inline int load_v(mt_config_t *cfg, char err[512], const char **args)
{
    int argc = 0;
    while (args[argc])
        argc++;
    err[0] = '\0';
    return mt_config_load(cfg, argc, (char **) args, err, 512);
}

/*  The load must fail and its message contain every one of the strings. */
static inline void expect_err_v(const char **args, const char *const *want)
{
    mt_config_t cfg;
    char err[512];
    int rc = load_v(&cfg, err, args);
    ck_assert_msg(rc == MT_EINVAL, "expected an error containing '%s', got rc %d", want[0], rc);
    for (int i = 0; want[i]; i++)
        ck_assert_msg(strstr(err, want[i]), "message '%s' lacks '%s'", err, want[i]);
    /*  The tests' passwords are all "hunter2": never in a message. */
    ck_assert_msg(!strstr(err, "hunter2") && !strstr(err, "ter2"), "'%s' quotes a password", err);
    ck_assert_ptr_null(cfg.replica_id);
    ck_assert_ptr_null(cfg.dsn);
    mt_config_free(&cfg);
}

#define ARGS(...) ((const char *[]) { "metactord", __VA_ARGS__, NULL })
#define WANT(...) ((const char *const[]) { __VA_ARGS__, NULL })
#define EXPECT_ERR(args, ...) expect_err_v(args, WANT(__VA_ARGS__))

/*  The file must fail to load and the message contain the strings. */
#define EXPECT_FILE_ERR(text, ...) do { \
        write_file(path, text); \
        expect_err_v(ARGS("--config", path), WANT(__VA_ARGS__)); \
    } while (0)

#endif
