/*  test_metactl_cert.c — metactl's certificates as a user meets them: the
    real binary (METACTL) run in a scratch directory, its files read back
    with czmq's zcert_load. cert new: both files, the metadata, the secret
    file's mode whatever the umask, no overwrite without --force, every
    refused name, role and node id leaving nothing behind; cert show: the
    public key and metadata, never the secret key. And the client side of
    --cert/--server-key/--client-cert that needs no service: the errors
    before connecting, the timeout hint, the warning about a client_secret
    sent without CURVE. No replica runs here (tests/service does that). */
#include "mt_check.h"
#include <check.h>
#include <czmq.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[200];               /* the scratch directory */
static char out[65536], err[65536]; /* the last run's stdout and stderr */

static void setup(void)
{
    unsetenv("METACTL_CERT");
    unsetenv("METACTL_SERVER_KEY");
    unsetenv("METACTOR_ENDPOINT");
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mt_ctl_cert_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

static void slurp(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/*  Runs metactl with the NULL-terminated arguments; its output lands in
    out and err. env: "NAME=VALUE" strings for the child, or NULL. Returns
    the exit status. */
static int run_env(const char *const *env, const char *const *args)
{
    char po[300], pe[300];
    snprintf(po, sizeof po, "%s/.out", dir);
    snprintf(pe, sizeof pe, "%s/.err", dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fo, 1);
        dup2(fe, 2);
        for (const char *const *e = env; e && *e; e++)
            putenv((char *) *e);
        const char *argv[64] = { METACTL };
        for (int i = 0; args[i] && i < 62; i++)
            argv[i + 1] = args[i];
        execv(METACTL, (char *const *) argv);
        _exit(127);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    slurp(po, out, sizeof out);
    slurp(pe, err, sizeof err);
    unlink(po);
    unlink(pe);
    ck_assert_msg(WIFEXITED(st), "metactl died: %s", err);
    return WEXITSTATUS(st);
}

#define RUN(...) run_env(NULL, (const char *const[]) { __VA_ARGS__, NULL })
#define RUN_ENV(env, ...) run_env(env, (const char *const[]) { __VA_ARGS__, NULL })

static const char *in_dir(const char *name)
{
    static char p[8][400];
    static int k;
    char *s = p[k++ % 8];
    snprintf(s, 400, "%s/%s", dir, name);
    return s;
}

static bool exists(const char *name)
{
    struct stat st;
    return lstat(in_dir(name), &st) == 0;
}

/*  The scratch directory holds exactly n entries (no temporary left). */
static void expect_entries(int n)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int k = 0;
    struct dirent *e;
    char names[1024] = "";
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            k++;
            strncat(names, e->d_name, sizeof names - strlen(names) - 2);
            strcat(names, " ");
        }
    closedir(d);
    ck_assert_msg(k == n, "expected %d files in the scratch dir, found: %s", n, names);
}

static unsigned mode_of(const char *name)
{
    struct stat st;
    ck_assert_int_eq(stat(in_dir(name), &st), 0);
    return (unsigned) (st.st_mode & 07777);
}

/*  A secret key that is really there: czmq gives 40 '0's for none. */
static bool has_secret(zcert_t *c)
{
    return strcmp(zcert_secret_txt(c), "0000000000000000000000000000000000000000") != 0;
}

static void expect_iso_time(const char *s)
{
    ck_assert_ptr_nonnull(s);
    int y, mo, d, h, mi, se, ms;
    char z;
    ck_assert_msg(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &se, &ms, &z)
                      == 8 && z == 'Z' && y >= 2024,
                  "created-at '%s' is not an ISO time", s);
}

START_TEST(new_creates_both_files)
{
    ck_assert_int_eq(RUN("cert", "new", "admin", "--role", "admin", "--dir", dir), 0);
    ck_assert(exists("admin"));
    ck_assert(exists("admin_secret"));
    expect_entries(2);
    ck_assert_uint_eq(mode_of("admin_secret"), 0600);

    zcert_t *c = zcert_load(in_dir("admin"));       /* reads admin_secret too */
    ck_assert_ptr_nonnull(c);
    ck_assert(has_secret(c));
    ck_assert_str_eq(zcert_meta(c, "role"), "admin");
    ck_assert_str_eq(zcert_meta(c, "name"), "admin");
    ck_assert_ptr_null(zcert_meta(c, "node"));
    expect_iso_time(zcert_meta(c, "created-at"));
    /*  What is printed: the key and the paths, never the secret. */
    ck_assert_ptr_nonnull(strstr(out, zcert_public_txt(c)));
    ck_assert_ptr_nonnull(strstr(out, in_dir("admin_secret")));
    ck_assert_ptr_null(strstr(out, zcert_secret_txt(c)));
    ck_assert_ptr_null(strstr(err, zcert_secret_txt(c)));

    /*  The public file alone has no secret key. */
    char text[4096];
    slurp(in_dir("admin"), text, sizeof text);
    ck_assert_ptr_null(strstr(text, "secret-key"));
    ck_assert_ptr_null(strstr(text, zcert_secret_txt(c)));
    zcert_destroy(&c);

    /*  -o json says the same. */
    ck_assert_int_eq(RUN("-o", "json", "cert", "new", "r1", "--role", "replica", "--dir", dir),
                     0);
    c = zcert_load(in_dir("r1"));
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(strstr(out, "\"role\":\"replica\""));
    ck_assert_ptr_nonnull(strstr(out, zcert_public_txt(c)));
    ck_assert_ptr_null(strstr(out, zcert_secret_txt(c)));
    zcert_destroy(&c);
}
END_TEST

START_TEST(new_node_certificate)
{
    ck_assert_int_eq(RUN("cert", "new", "n1", "--role", "node", "--node", "node-1.a_b", "--dir",
                         dir), 0);
    zcert_t *c = zcert_load(in_dir("n1"));
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(zcert_meta(c, "role"), "node");
    ck_assert_str_eq(zcert_meta(c, "node"), "node-1.a_b");
    ck_assert_str_eq(zcert_meta(c, "name"), "n1");
    zcert_destroy(&c);
    /*  The longest node id is fine. */
    char id[254];
    memset(id, 'x', 253);
    id[253] = '\0';
    ck_assert_int_eq(RUN("cert", "new", "n2", "--role", "node", "--node", id, "--dir", dir), 0);
    c = zcert_load(in_dir("n2"));
    ck_assert_str_eq(zcert_meta(c, "node"), id);
    zcert_destroy(&c);
}
END_TEST

/*  The secret is 0600 even when the umask would allow more, and the
    default directory is the current one. */
START_TEST(new_mode_whatever_the_umask)
{
    umask(0);
    ck_assert_int_eq(chdir(dir), 0);
    ck_assert_int_eq(RUN("cert", "new", "open", "--role", "reader"), 0);
    ck_assert_uint_eq(mode_of("open_secret"), 0600);
    ck_assert(exists("open"));
}
END_TEST

START_TEST(new_refuses_overwrite)
{
    ck_assert_int_eq(RUN("cert", "new", "a", "--role", "admin", "--dir", dir), 0);
    zcert_t *first = zcert_load(in_dir("a"));
    ck_assert_ptr_nonnull(first);

    ck_assert_int_eq(RUN("cert", "new", "a", "--role", "reader", "--dir", dir), 1);
    ck_assert_ptr_nonnull(strstr(err, "exists"));
    zcert_t *c = zcert_load(in_dir("a"));
    ck_assert(zcert_eq(c, first));                  /* untouched, both files */
    ck_assert_str_eq(zcert_meta(c, "role"), "admin");
    zcert_destroy(&c);
    expect_entries(2);

    /*  Only the secret file there: still refused, nothing added. */
    ck_assert_int_eq(unlink(in_dir("a")), 0);
    ck_assert_int_eq(RUN("cert", "new", "a", "--role", "reader", "--dir", dir), 1);
    ck_assert(!exists("a"));
    expect_entries(1);

    /*  --force replaces both, and the new secret is 0600 even though the
        file it replaces was not. */
    ck_assert_int_eq(chmod(in_dir("a_secret"), 0644), 0);
    ck_assert_int_eq(RUN("cert", "new", "a", "--role", "reader", "--dir", dir, "--force"), 0);
    c = zcert_load(in_dir("a"));
    ck_assert(!zcert_eq(c, first));
    ck_assert_str_eq(zcert_meta(c, "role"), "reader");
    ck_assert_uint_eq(mode_of("a_secret"), 0600);
    zcert_destroy(&c);
    zcert_destroy(&first);
    expect_entries(2);
}
END_TEST

START_TEST(new_refuses_bad_arguments)
{
    char long_name[130], long_id[255];
    memset(long_name, 'n', 129);
    long_name[129] = '\0';
    memset(long_id, 'i', 254);
    long_id[254] = '\0';
    static const char *const bad_names[] = {
        "", "a/b", "../up", ".", "..", ".hidden", "a b", "x_secret", "caf\xc3\xa9", "a;b",
        "-dash", "a*",
    };
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        int rc = RUN("cert", "new", "--role", "admin", "--dir", dir, "--", bad_names[i]);
        ck_assert_msg(rc == 2, "name '%s': exit %d, want 2 (%s)", bad_names[i], rc, err);
        ck_assert_msg(strstr(err, "NAME") != NULL, "name '%s': %s", bad_names[i], err);
    }
    ck_assert_int_eq(RUN("cert", "new", long_name, "--role", "admin", "--dir", dir), 2);

    /*  Roles. */
    ck_assert_int_eq(RUN("cert", "new", "c", "--dir", dir), 2);
    ck_assert_ptr_nonnull(strstr(err, "--role"));
    ck_assert_int_eq(RUN("cert", "new", "c", "--role", "root", "--dir", dir), 2);
    ck_assert_int_eq(RUN("cert", "new", "c", "--role", "Admin", "--dir", dir), 2);
    ck_assert_int_eq(RUN("cert", "new", "c", "--role", "", "--dir", dir), 2);

    /*  A node certificate needs its node, and only it takes one. */
    ck_assert_int_eq(RUN("cert", "new", "c", "--role", "node", "--dir", dir), 2);
    ck_assert_ptr_nonnull(strstr(err, "--node"));
    ck_assert_int_eq(RUN("cert", "new", "c", "--role", "admin", "--node", "n1", "--dir", dir), 2);
    ck_assert_ptr_nonnull(strstr(err, "--node"));
    static const char *const bad_ids[] = { "", "bad id", "a/b", "n\xc3\xa9", "a:b" };
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        int rc = RUN("cert", "new", "c", "--role", "node", "--node", bad_ids[i], "--dir", dir);
        ck_assert_msg(rc == 2, "node '%s': exit %d, want 2", bad_ids[i], rc);
    }
    ck_assert_int_eq(RUN("cert", "new", "c", "--role", "node", "--node", long_id, "--dir", dir),
                     2);

    /*  Directories, arguments. */
    ck_assert_int_eq(RUN("cert", "new", "c", "--role", "admin", "--dir", in_dir("nope")), 2);
    ck_assert_int_eq(RUN("cert", "new", "--role", "admin", "--dir", dir), 2);
    ck_assert_int_eq(RUN("cert", "new", "c", "d", "--role", "admin", "--dir", dir), 2);
    ck_assert_int_eq(RUN("cert", "frob"), 2);

    expect_entries(0);                              /* nothing made, nothing left */
}
END_TEST

START_TEST(show_never_prints_the_secret)
{
    ck_assert_int_eq(RUN("cert", "new", "n7", "--role", "node", "--node", "n7", "--dir", dir),
                     0);
    zcert_t *c = zcert_load(in_dir("n7"));
    ck_assert_ptr_nonnull(c);
    const char *files[] = { in_dir("n7"), in_dir("n7_secret") };
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(RUN("cert", "show", files[i]), 0);
        ck_assert_ptr_nonnull(strstr(out, zcert_public_txt(c)));
        ck_assert_ptr_nonnull(strstr(out, "node"));
        ck_assert_ptr_nonnull(strstr(out, "n7"));
        ck_assert_ptr_nonnull(strstr(out, "0600"));
        ck_assert_ptr_null(strstr(out, zcert_secret_txt(c)));
        ck_assert_ptr_null(strstr(err, zcert_secret_txt(c)));
        ck_assert_str_eq(err, "");
        ck_assert_int_eq(RUN("-o", "json", "cert", "show", files[i]), 0);
        ck_assert_ptr_nonnull(strstr(out, "\"node\":\"n7\""));
        ck_assert_ptr_nonnull(strstr(out, zcert_public_txt(c)));
        ck_assert_ptr_null(strstr(out, zcert_secret_txt(c)));
    }
    /*  A secret file open to others is pointed out. */
    ck_assert_int_eq(chmod(in_dir("n7_secret"), 0644), 0);
    ck_assert_int_eq(RUN("cert", "show", in_dir("n7")), 0);
    ck_assert_ptr_nonnull(strstr(err, "chmod 600"));
    ck_assert_ptr_null(strstr(out, zcert_secret_txt(c)));
    /*  A public file alone. */
    ck_assert_int_eq(unlink(in_dir("n7_secret")), 0);
    ck_assert_int_eq(RUN("cert", "show", in_dir("n7")), 0);
    ck_assert_ptr_nonnull(strstr(out, "public certificate only"));
    zcert_destroy(&c);

    /*  Not certificates. */
    ck_assert_int_eq(RUN("cert", "show", in_dir("missing")), 2);
    FILE *f = fopen(in_dir("junk"), "w");
    fputs("not a certificate\n", f);
    fclose(f);
    ck_assert_int_eq(RUN("-o", "json", "cert", "show", in_dir("junk")), 2);
    ck_assert_ptr_nonnull(strstr(err, "junk"));
    ck_assert_str_eq(out, "");      /* czmq's parser logs on stdout: not here */
    ck_assert_int_eq(RUN("cert", "show", dir), 2);
}
END_TEST

START_TEST(help)
{
    ck_assert_int_eq(RUN("cert", "--help"), 0);
    ck_assert_ptr_nonnull(strstr(out, "cert new NAME --role ROLE"));
    ck_assert_ptr_nonnull(strstr(out, "cert show FILE"));
    ck_assert_int_eq(RUN("cert", "new", "--help"), 0);
    ck_assert_ptr_nonnull(strstr(out, "--force"));
    ck_assert_int_eq(RUN("--help"), 0);
    ck_assert_ptr_nonnull(strstr(out, "--server-key KEY|FILE"));
    ck_assert_ptr_nonnull(strstr(out, "--cert FILE"));
    ck_assert_int_eq(RUN("rc", "add", "--help"), 0);
    ck_assert_ptr_nonnull(strstr(out, "--client-cert FILE"));
    ck_assert_ptr_nonnull(strstr(out, "--remote-key KEY|FILE"));
}
END_TEST

/*  --cert, --server-key and --client-cert errors are told before any
    connection; nothing listens at the endpoint. */
START_TEST(client_keys_offline)
{
    ck_assert_int_eq(RUN("cert", "new", "adm", "--role", "admin", "--dir", dir), 0);
    ck_assert_int_eq(RUN("cert", "new", "srv", "--role", "replica", "--dir", dir), 0);
    zcert_t *adm = zcert_load(in_dir("adm")), *srv = zcert_load(in_dir("srv"));
    char ep[300];
    snprintf(ep, sizeof ep, "ipc://%s/none", dir);

    /*  A certificate without the server's key. */
    ck_assert_int_eq(RUN("-e", ep, "--cert", in_dir("adm"), "stats"), 2);
    ck_assert_ptr_nonnull(strstr(err, "--server-key"));
    char env_cert[400];
    snprintf(env_cert, sizeof env_cert, "METACTL_CERT=%s", in_dir("adm"));
    ck_assert_int_eq(RUN_ENV(((const char *const[]) { env_cert, NULL }), "-e", ep, "stats"), 2);
    ck_assert_ptr_nonnull(strstr(err, "--server-key"));

    /*  Server keys that are not keys. */
    ck_assert_int_eq(RUN("-e", ep, "--server-key", "nonsense", "stats"), 2);
    ck_assert_int_eq(RUN("-e", ep, "--server-key", "0000000000000000000000000000000000000000",
                         "stats"), 2);
    ck_assert_int_eq(RUN("-e", ep, "--server-key", in_dir("missing"), "stats"), 2);

    /*  A certificate without its secret file. */
    ck_assert_int_eq(rename(in_dir("adm_secret"), in_dir("adm_moved")), 0);
    ck_assert_int_eq(RUN("-e", ep, "--server-key", zcert_public_txt(srv), "--cert",
                         in_dir("adm"), "stats"), 2);
    ck_assert_ptr_nonnull(strstr(err, "secret"));
    ck_assert_int_eq(RUN("-e", ep, "rc", "add", "x", "tcp://127.0.0.1:1", "--client-cert",
                         in_dir("adm")), 2);
    ck_assert_int_eq(rename(in_dir("adm_moved"), in_dir("adm_secret")), 0);

    /*  Demanding encryption without the remote's key. */
    ck_assert_int_eq(RUN("-e", ep, "rc", "add", "x", "tcp://127.0.0.1:1",
                         "--demand-encryption"), 2);
    ck_assert_ptr_nonnull(strstr(err, "--remote-key"));

    /*  Well-formed, nobody answers: the timeout hints at keys and trust,
        with the key given either way (Z85 text, or the public file). */
    ck_assert_int_eq(RUN("-e", ep, "-t", "100", "--server-key", zcert_public_txt(srv), "--cert",
                         in_dir("adm"), "stats"), 3);
    ck_assert_ptr_nonnull(strstr(err, "timeout"));
    ck_assert_ptr_nonnull(strstr(err, "trust"));
    char env_key[400];
    snprintf(env_key, sizeof env_key, "METACTL_SERVER_KEY=%s", in_dir("srv"));
    ck_assert_int_eq(RUN_ENV(((const char *const[]) { env_key, env_cert, NULL }), "-e", ep, "-t",
                             "100", "stats"), 3);
    ck_assert_ptr_nonnull(strstr(err, "trust"));

    /*  client_secret without CURVE: sent (nobody listens), with a
        warning; the secret itself appears nowhere. */
    ck_assert_int_eq(RUN("-e", ep, "-t", "100", "rc", "add", "x", "tcp://127.0.0.1:1",
                         "--client-cert", in_dir("adm"), "--remote-key", in_dir("srv")), 3);
    ck_assert_ptr_nonnull(strstr(err, "without CURVE"));
    ck_assert_ptr_null(strstr(err, zcert_secret_txt(adm)));
    ck_assert_ptr_null(strstr(out, zcert_secret_txt(adm)));
    ck_assert_int_eq(RUN("-e", ep, "-t", "100", "--server-key", in_dir("srv"), "--cert",
                         in_dir("adm"), "rc", "add", "x", "tcp://127.0.0.1:1", "--client-cert",
                         in_dir("adm")), 3);
    ck_assert_ptr_null(strstr(err, "without CURVE"));
    zcert_destroy(&adm);
    zcert_destroy(&srv);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("metactl_cert");
    TCase *tc = tcase_create("cert");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, new_creates_both_files);
    tcase_add_test(tc, new_node_certificate);
    tcase_add_test(tc, new_mode_whatever_the_umask);
    tcase_add_test(tc, new_refuses_overwrite);
    tcase_add_test(tc, new_refuses_bad_arguments);
    tcase_add_test(tc, show_never_prints_the_secret);
    tcase_add_test(tc, help);
    tcase_add_test(tc, client_keys_offline);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
