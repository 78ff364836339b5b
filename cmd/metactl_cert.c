/*  metactl_cert.c — `metactl cert new|show`: CURVE certificates as czmq
    zcert files (PROTOCOL.md, Security): a public file NAME, which goes
    into replicas' trust stores, and a secret file NAME_secret, which
    stays with its holder. The metadata says who the holder is (role, and
    node for a node's certificate).

    cert new writes both files into a fresh private directory next to
    their destination and then links them into place: the secret is never
    readable by others, not even for a moment and whatever the umask, an
    existing file is never overwritten without --force (link() fails
    atomically where a check-then-write would race), and a failure leaves
    no half-made certificate behind. zcert_save_secret alone would not do:
    it narrows the umask, but a file it overwrites keeps its old mode. */
#include "metactl.h"
#include "mt_alloc.h"
#include "mt_model.h"

#include <czmq.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GLOBALS "  Global option -o json is accepted here too (`metactl --help`).\n"

static const char usage_new[] =
    "usage: metactl cert new NAME --role ROLE [--node ID] [--dir DIR] [--force]\n"
    "  Creates a CURVE certificate (czmq zcert): the public file DIR/NAME, to put in\n"
    "  replicas' trust stores (setting trust), and the secret file DIR/NAME_secret\n"
    "  (mode 0600), which stays with its holder (`metactl --cert DIR/NAME`, or a\n"
    "  replica's setting cert). Its metadata: role, node (role node only),\n"
    "  name = NAME, created-at. Prints the public key and the paths, never the\n"
    "  secret key.\n"
    "  NAME                  a file name: 1-128 letters, digits, '.', '-', '_'; not\n"
    "                        starting with '.' or '-', not ending in _secret\n"
    "  --role ROLE           admin: every operation; reader: reads and watches;\n"
    "                        node: one node's register, heartbeat and get (needs\n"
    "                        --node); replica: a cluster's replicas, and remote\n"
    "                        clusters probing this one\n"
    "  --node ID             the node a role node certificate acts as (1-253 letters,\n"
    "                        digits, '.', '-', '_'); refused for the other roles\n"
    "  --dir DIR             an existing directory (default: the current one)\n"
    "  --force               replace existing files (default: refuse, exit 1)\n"
    "  With -o json: {\"public_key\", \"public_file\", \"secret_file\", \"secret_mode\",\n"
    "  \"metadata\"}. Exit status 0 created; 1 the files exist or cannot be\n"
    "  written; 2 usage error.\n" GLOBALS;

static const char usage_show[] =
    "usage: metactl cert show FILE\n"
    "  Shows the certificate FILE (its public file, or its secret file): the\n"
    "  public key, where the secret file is and its mode, and the metadata. Never\n"
    "  the secret key. Warns on stderr when the role is not one replicas know, or\n"
    "  the secret file is open to others.\n"
    "  With -o json: {\"public_key\", \"file\", \"secret_file\", \"secret_mode\",\n"
    "  \"metadata\"}. Exit status 0; 2 when FILE is not a certificate.\n" GLOBALS;

typedef struct {
    const char *role, *node, *dir;
    bool force;
} cert_args_t;

enum { O_ROLE = 256, O_NODE, O_DIR, O_FORCE };

static const struct option opts_new[] = {
    CTL_GLOBAL_LONG,
    { "role", required_argument, NULL, O_ROLE },
    { "node", required_argument, NULL, O_NODE },
    { "dir", required_argument, NULL, O_DIR },
    { "force", no_argument, NULL, O_FORCE },
    { NULL, 0, NULL, 0 },
};
static const struct option opts_show[] = { CTL_GLOBAL_LONG, { NULL, 0, NULL, 0 } };

static int cert_opt(void *args, int c, const char *arg, const char *u)
{
    cert_args_t *a = args;
    switch (c) {
    case O_ROLE: a->role = arg; return CTL_OK;
    case O_NODE: a->node = arg; return CTL_OK;
    case O_DIR: a->dir = arg; return CTL_OK;
    case O_FORCE: a->force = true; return CTL_OK;
    default: return CTL_NOT_MINE;
    }
}

static const char *const roles[] = { "admin", "reader", "node", "replica" };

static bool known_role(const char *role)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (role && strcmp(role, roles[i]) == 0)
            return true;
    return false;
}

#define NAME_MAX_LEN 128
#define SUFFIX "_secret"

/*  A name that is one plain file in DIR: no path, not hidden, not an
    option, and not NAME_secret of another certificate. */
static int check_name(const char *u, const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX_LEN)
        return ctl_usage_error(u, "cert new: NAME must be 1-%d characters", NAME_MAX_LEN);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '.' || c == '-' || c == '_'))
            return ctl_usage_error(u, "cert new: NAME '%s': only letters, digits, '.', '-' "
                                   "and '_' are allowed", name);
    }
    if (name[0] == '.' || name[0] == '-')
        return ctl_usage_error(u, "cert new: NAME '%s' must not start with '%c'", name, name[0]);
    size_t ns = strlen(SUFFIX);
    if (n >= ns && strcmp(name + n - ns, SUFFIX) == 0)
        return ctl_usage_error(u, "cert new: NAME '%s' must not end in " SUFFIX
                               " (that is the secret file's suffix)", name);
    return CTL_OK;
}

/* ---- showing ----------------------------------------------------------- */

/*  What is shown of a certificate: never its secret key. */
typedef struct {
    zcert_t *cert;
    const char *file_key;           /* "public_file" (new) or "file" (show) */
    const char *file;
    const char *secret_file;        /* NULL: there is none */
    unsigned secret_mode;
} shown_t;

static int cmp_str(void *a, void *b)
{
    return strcmp(a, b);
}

/*  The metadata keys: the ones this tool writes first, in their order,
    then any others sorted. Free with zlist_destroy. */
static zlist_t *meta_keys(zcert_t *c)
{
    static const char *const first[] = { "name", "role", "node", "created-at" };
    zlist_t *all = zcert_meta_keys(c);
    zlist_t *keys = zlist_new();
    if (!all || !keys)
        mt_oom("certificate metadata");
    zlist_autofree(keys);
    for (size_t i = 0; i < sizeof first / sizeof first[0]; i++)
        if (zcert_meta(c, first[i]))
            zlist_append(keys, (void *) first[i]);
    zlist_sort(all, cmp_str);
    for (char *k = zlist_first(all); k; k = zlist_next(all)) {
        bool dup = false;
        for (size_t i = 0; i < sizeof first / sizeof first[0] && !dup; i++)
            dup = strcmp(k, first[i]) == 0;
        if (!dup)
            zlist_append(keys, k);
    }
    zlist_destroy(&all);
    return keys;
}

static void pack_kv(msgpack_packer *pk, const char *key, const char *value)
{
    ctl_pack_str(pk, key);
    if (value)
        ctl_pack_str(pk, value);
    else
        msgpack_pack_nil(pk);
}

static void show_json(const shown_t *s, zlist_t *keys)
{
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", s->secret_mode);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    pack_kv(&pk, "public_key", zcert_public_txt(s->cert));
    pack_kv(&pk, s->file_key, s->file);
    pack_kv(&pk, "secret_file", s->secret_file);
    pack_kv(&pk, "secret_mode", s->secret_file ? mode : NULL);
    ctl_pack_str(&pk, "metadata");
    msgpack_pack_map(&pk, (uint32_t) zlist_size(keys));
    for (char *k = zlist_first(keys); k; k = zlist_next(keys))
        pack_kv(&pk, k, zcert_meta(s->cert, k));
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS)
        ctl_print_json(stdout, &u.data);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void show(const ctl_t *g, const shown_t *s)
{
    zlist_t *keys = meta_keys(s->cert);
    if (g->output == CTL_JSON) {
        show_json(s, keys);
        zlist_destroy(&keys);
        return;
    }
    int width = 14;                 /* "secret_file:" + 2 */
    for (char *k = zlist_first(keys); k; k = zlist_next(keys))
        if ((int) strlen(k) + 2 > width)
            width = (int) strlen(k) + 2;
    ctl_print_kv("public_key", width, zcert_public_txt(s->cert));
    ctl_print_kv(s->file_key, width, s->file);
    char secret[PATH_MAX + 32];
    if (s->secret_file)
        snprintf(secret, sizeof secret, "%s (mode %04o%s)", s->secret_file, s->secret_mode,
                 s->secret_mode & 077 ? ": open to others!" : "");
    else
        snprintf(secret, sizeof secret, "- (a public certificate only)");
    ctl_print_kv("secret_file", width, secret);
    for (char *k = zlist_first(keys); k; k = zlist_next(keys))
        ctl_print_kv(k, width, zcert_meta(s->cert, k));
    zlist_destroy(&keys);
}

/* ---- cert new ---------------------------------------------------------- */

/*  Moves tmp to path: rename with --force, else link (fails when path
    exists, atomically). tmp is removed by the caller's clean-up. */
static int place(const char *tmp, const char *path, bool force)
{
    if ((force ? rename(tmp, path) : link(tmp, path)) == 0)
        return CTL_OK;
    if (errno == EEXIST)
        fprintf(stderr, "metactl: %s exists (--force replaces it)\n", path);
    else
        fprintf(stderr, "metactl: cannot create %s: %s\n", path, strerror(errno));
    return CTL_EFAIL;
}

/*  Saves c as pub and sec through the private directory tmpdir. */
static int save(zcert_t *c, const char *tmpdir, const char *name, const char *pub,
                const char *sec, bool force)
{
    char tpub[PATH_MAX] = "", tsec[PATH_MAX] = "";
    int rc = CTL_EFAIL;
    /*  Each call checked: some czmq versions' zcert_save ignore a failed
        public file. chmod: the mode must not depend on czmq's umask. */
    if (snprintf(tpub, sizeof tpub, "%s/%s", tmpdir, name) >= (int) sizeof tpub
        || snprintf(tsec, sizeof tsec, "%s/%s" SUFFIX, tmpdir, name) >= (int) sizeof tsec)
        fprintf(stderr, "metactl: the path is too long: %s/%s\n", tmpdir, name);
    else if (zcert_save_public(c, tpub) != 0 || zcert_save_secret(c, tsec) != 0)
        fprintf(stderr, "metactl: cannot write the certificate in %s: %s\n", tmpdir,
                strerror(errno));
    else if (chmod(tsec, 0600) != 0)
        fprintf(stderr, "metactl: chmod %s: %s\n", tsec, strerror(errno));
    else if ((rc = place(tsec, sec, force)) == CTL_OK) {
        rc = place(tpub, pub, force);
        if (rc != CTL_OK && !force)
            unlink(sec);            /* ours, just linked: no half certificate */
    }
    unlink(tpub);
    unlink(tsec);
    rmdir(tmpdir);
    return rc;
}

static int cert_new(const ctl_t *g, const cert_args_t *a, const char *name, const char *u)
{
    int rc = check_name(u, name);
    if (rc != CTL_OK)
        return rc;
    if (!a->role)
        return ctl_usage_error(u, "cert new: --role is required (admin, reader, node or "
                               "replica)");
    if (!known_role(a->role))
        return ctl_usage_error(u, "cert new: --role '%s': expected admin, reader, node or "
                               "replica", a->role);
    bool node = strcmp(a->role, "node") == 0;
    char err[128];
    if (node && !a->node)
        return ctl_usage_error(u, "cert new: --role node needs --node ID (the node it acts "
                               "as)");
    if (!node && a->node)
        return ctl_usage_error(u, "cert new: --node is only for --role node");
    if (node && mt_node_id_check(a->node, err, sizeof err) != MT_OK)
        return ctl_usage_error(u, "cert new: --node '%s': %s", a->node,
                               strncmp(err, "id: ", 4) == 0 ? err + 4 : err);

    const char *dir = a->dir ? a->dir : ".";
    struct stat st;
    if (!*dir)
        return ctl_usage_error(u, "cert new: --dir is empty");
    if (stat(dir, &st) != 0)
        return ctl_usage_error(u, "cert new: --dir '%s': %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return ctl_usage_error(u, "cert new: --dir '%s' is not a directory", dir);
    /*  The temporary secret file is the longest path, and czmq's limit. */
    if (strlen(dir) + strlen("/.metactl-XXXXXX/") + strlen(name) + strlen(SUFFIX) > 255)
        return ctl_usage_error(u, "cert new: --dir and NAME make a path too long for czmq "
                               "(255 characters)");
    char pub[PATH_MAX], sec[PATH_MAX], tmpdir[PATH_MAX];
    snprintf(pub, sizeof pub, "%s/%s", dir, name);
    snprintf(sec, sizeof sec, "%s/%s" SUFFIX, dir, name);
    snprintf(tmpdir, sizeof tmpdir, "%s/.metactl-XXXXXX", dir);
    /*  Told early, before a key is made; place() is what guarantees it. */
    for (int i = 0; i < 2 && !a->force; i++)
        if (lstat(i ? sec : pub, &st) == 0) {
            fprintf(stderr, "metactl: %s exists (--force replaces it)\n", i ? sec : pub);
            return CTL_EFAIL;
        }

    zcert_t *c = zcert_new();
    if (!c || !ctl_is_key(zcert_public_txt(c))) {
        fprintf(stderr, "metactl: cannot make a CURVE keypair (libzmq without CURVE?)\n");
        ctl_cert_destroy(&c);
        return CTL_EFAIL;
    }
    char now[40];
    zcert_set_meta(c, "name", "%s", name);
    zcert_set_meta(c, "role", "%s", a->role);
    if (node)
        zcert_set_meta(c, "node", "%s", a->node);
    zcert_set_meta(c, "created-at", "%s", ctl_fmt_time(mt_wall_ms(), now, sizeof now));

    if (!mkdtemp(tmpdir)) {         /* mode 0700 */
        fprintf(stderr, "metactl: cannot create a directory in %s: %s\n", dir, strerror(errno));
        rc = CTL_EFAIL;
    }
    else
        rc = save(c, tmpdir, name, pub, sec, a->force);
    if (rc == CTL_OK)
        show(g, &(shown_t) { .cert = c, .file_key = "public_file", .file = pub,
                             .secret_file = sec, .secret_mode = 0600 });
    ctl_cert_destroy(&c);
    return rc;
}

/* ---- cert show --------------------------------------------------------- */

static int cert_show(const ctl_t *g, const char *file)
{
    zcert_t *c = ctl_cert_load(file, "cert show");
    if (!c)
        return CTL_EUSAGE;
    /*  zcert_load read FILE_secret when there is one; FILE may also be a
        secret file itself (then its secret key is not zero). */
    char sec[PATH_MAX];
    snprintf(sec, sizeof sec, "%s" SUFFIX, file);
    shown_t s = { .cert = c, .file_key = "file", .file = file };
    struct stat st;
    if (stat(sec, &st) == 0)
        s.secret_file = sec;
    else if (ctl_is_key(zcert_secret_txt(c)) && stat(file, &st) == 0)
        s.secret_file = file;
    if (s.secret_file)
        s.secret_mode = (unsigned) (st.st_mode & 07777);
    show(g, &s);

    const char *role = zcert_meta(c, "role");
    if (!known_role(role))
        fprintf(stderr, "metactl: warning: role '%s' is none of admin, reader, node, replica: "
                "replicas refuse this certificate\n", role ? role : "");
    else if (strcmp(role, "node") == 0 && !zcert_meta(c, "node"))
        fprintf(stderr, "metactl: warning: a role node certificate without a node: replicas "
                "refuse it\n");
    if (s.secret_file && (s.secret_mode & 077))
        fprintf(stderr, "metactl: warning: %s holds a secret key but is open to others: "
                "chmod 600 it\n", s.secret_file);
    ctl_cert_destroy(&c);
    return CTL_OK;
}

static const ctl_subcmd_t cert_cmds[] = {
    { "new", usage_new, opts_new },
    { "show", usage_show, opts_show },
};

static const ctl_group_t cert_group = CTL_GROUP(
    "cert", "usage: metactl cert COMMAND ...   (CURVE certificates, czmq zcert files)",
    cert_cmds, cert_opt);

int ctl_cmd_cert(ctl_t *g, int argc, char **argv)
{
    cert_args_t a = { 0 };
    const ctl_subcmd_t *sc;
    int npos;
    char **pos;
    int rc = ctl_group_parse(&cert_group, g, argc, argv, &a, &sc, &npos, &pos);
    if (rc != CTL_OK)
        return rc == CTL_HELP_DONE ? CTL_OK : rc;
    const char *what = strcmp(sc->name, "new") == 0 ? "NAME" : "FILE";
    if (npos < 1)
        return ctl_usage_error(sc->usage, "cert %s: the %s is missing", sc->name, what);
    if (npos > 1)
        return ctl_usage_error(sc->usage, "cert %s: unexpected argument '%s'", sc->name, pos[1]);
    if (strcmp(sc->name, "new") == 0)
        return cert_new(g, &a, pos[0], sc->usage);
    return cert_show(g, pos[0]);
}
