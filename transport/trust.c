/*  trust.c — the trust store (mt_trust.h).

    A thread of the store's own rescans the directory every refresh
    interval and swaps in a new table; lookups (the gateway's, for every
    request, and the ZAP handler's) only take the lock for one hash lookup
    and never wait for a scan. A scan stats every file but parses only
    those whose name, inode, size or modification time changed (measured
    with 10,000 node certificates: re-reading them all on the gateway's
    thread stalled requests for 260 ms).

    Why not zcertstore's own directory loader: it reloads every certificate
    on the lookup that follows any change of the directory, on the caller's
    thread, keeps no record of why a file was skipped, and cannot say what
    a certificate's metadata must hold. Certificates are still read by
    zcert_load: czmq parses every key and file. */
#include "mt_trust.h"
#include "mt_alloc.h"
#include "mt_log.h"
#include "mt_cert.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    mt_role_t role;
    char node[MT_NODE_ID_MAX + 1];
} entry_t;

/*  What a scan knows of one file, to skip it next time if unchanged. */
typedef struct {
    ino_t ino;
    off_t size;
    struct timespec mtime;
    char key[MT_KEY_Z85_LEN + 1];   /* "" when the file was refused */
    entry_t entry;
} file_t;

struct mt_trust {
    pthread_mutex_t lock;           /* guards entries, removals, stop */
    pthread_cond_t wake;
    pthread_t scanner;
    bool stop, started;
    char *dir;
    uint32_t refresh_ms;
    zhashx_t *entries;              /* Z85 public key → entry_t (swapped whole) */
    uint64_t removals;              /* scans that found a trusted key gone */
    zhashx_t *files;                /* (scanner only) file name → file_t */
    bool unreadable;                /* (scanner only) the directory, last time */
};

static const char *const role_names[] = {
    [MT_ROLE_ADMIN] = "admin", [MT_ROLE_READER] = "reader",
    [MT_ROLE_NODE] = "node", [MT_ROLE_REPLICA] = "replica",
};

const char *mt_role_name(mt_role_t role)
{
    return role > MT_ROLE_NONE && role <= MT_ROLE_REPLICA ? role_names[role] : NULL;
}

mt_role_t mt_role_parse(const char *name)
{
    for (mt_role_t r = MT_ROLE_ADMIN; name && r <= MT_ROLE_REPLICA; r++)
        if (strcmp(name, role_names[r]) == 0)
            return r;
    return MT_ROLE_NONE;
}

static void item_free(void **item)
{
    free(*item);
    *item = NULL;
}

static zhashx_t *table_new(void)
{
    zhashx_t *h = zhashx_new();
    zhashx_set_destructor(h, item_free);
    return h;
}

/* ---- one file ----------------------------------------------------------- */

/*  Files the store reads: regular (symlinks followed, as Kubernetes mounts
    secrets), not hidden, not a secret file. */
static bool candidate(const char *dir, const char *name, struct stat *st)
{
    size_t n = strlen(name);
    if (name[0] == '.' || (n >= 7 && strcmp(name + n - 7, "_secret") == 0))
        return false;
    char path[PATH_MAX];
    if ((size_t) snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return false;
    return stat(path, st) == 0 && S_ISREG(st->st_mode);
}

static bool unchanged(const file_t *f, const struct stat *st)
{
    return f->ino == st->st_ino && f->size == st->st_size
           && f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/*  Reads one certificate into f; why it was refused otherwise. */
static const char *load_one(file_t *f, const char *path, char *buf, size_t buflen)
{
    /*  zcert_load would read the secret instead: a trust store holds
        public files only, and a secret beside one is refused loudly. */
    char secret[PATH_MAX + 8];
    snprintf(secret, sizeof secret, "%s_secret", path);
    if (access(secret, F_OK) == 0)
        return "its secret file lies beside it: a trust store holds public files only";
    if (mt_cert_file_check(path, buf, buflen) != MT_OK)
        return buf;
    zcert_t *cert = zcert_load(path);
    if (!cert)
        return "not a certificate (czmq zcert_load refused it)";
    const char *why = NULL;
    f->entry.role = mt_role_parse(zcert_meta(cert, "role"));
    const char *node = zcert_meta(cert, "node");
    char err[128];
    if (f->entry.role == MT_ROLE_NONE)
        why = "metadata 'role' must be admin, reader, node or replica";
    else if (f->entry.role == MT_ROLE_NODE
             && (!node || mt_node_id_check(node, err, sizeof err) != MT_OK))
        why = "a node certificate needs a valid node id in metadata 'node'";
    else if (f->entry.role != MT_ROLE_NODE && node)
        why = "metadata 'node' belongs on node certificates only";
    else {
        snprintf(f->entry.node, sizeof f->entry.node, "%s", node ? node : "");
        snprintf(f->key, sizeof f->key, "%s", zcert_public_txt(cert));
    }
    zcert_destroy(&cert);
    return why;
}

/*  The file's record for this scan: the last one when the file did not
    change, else read again (a refusal is logged once per version of the
    file, since the version is what the record remembers). */
static file_t *scan_file(mt_trust_t *t, const char *name, const struct stat *st)
{
    file_t *old = zhashx_lookup(t->files, name);
    file_t *f = mt_xmalloc(sizeof *f);
    if (old && unchanged(old, st)) {
        *f = *old;
        return f;
    }
    *f = (file_t) { .ino = st->st_ino, .size = st->st_size, .mtime = st->st_mtim };
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", t->dir, name);
    char buf[96];
    const char *why = load_one(f, path, buf, sizeof buf);
    if (why)
        mt_log_warning("trust: %s ignored: %s", path, why);
    return f;
}

/* ---- a scan ------------------------------------------------------------- */

/*  Whether some key trusted in `before` is not trusted in `after`, or with
    another role or node. */
static bool lost_a_key(zhashx_t *before, zhashx_t *after)
{
    for (entry_t *old = before ? zhashx_first(before) : NULL; old; old = zhashx_next(before)) {
        const entry_t *now = zhashx_lookup(after, zhashx_cursor(before));
        if (!now || now->role != old->role || strcmp(now->node, old->node) != 0)
            return true;
    }
    return false;
}

static void swap_in(mt_trust_t *t, zhashx_t *entries)
{
    pthread_mutex_lock(&t->lock);
    t->removals += lost_a_key(t->entries, entries);
    zhashx_t *old = t->entries;
    t->entries = entries;
    pthread_mutex_unlock(&t->lock);
    zhashx_destroy(&old);
}

/*  A directory that went away (or is unreadable) trusts nobody: failing
    closed is the only safe reading of a missing store. */
static void scan(mt_trust_t *t)
{
    DIR *d = opendir(t->dir);
    if (!d) {
        if (!t->unreadable)
            mt_log_error("trust: cannot read %s: %s; no certificate is trusted", t->dir,
                       strerror(errno));
        t->unreadable = true;
        zhashx_purge(t->files);
        swap_in(t, table_new());
        return;
    }
    t->unreadable = false;
    zhashx_t *files = table_new(), *entries = table_new();
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        if (!candidate(t->dir, e->d_name, &st))
            continue;
        file_t *f = scan_file(t, e->d_name, &st);
        zhashx_update(files, e->d_name, f);
        if (f->key[0]) {
            entry_t *copy = mt_xmalloc(sizeof *copy);
            *copy = f->entry;
            zhashx_update(entries, f->key, copy);
        }
    }
    closedir(d);
    zhashx_destroy(&t->files);
    t->files = files;
    swap_in(t, entries);
}

static void *scanner(void *arg)
{
    mt_trust_t *t = arg;
    pthread_mutex_lock(&t->lock);
    while (!t->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += t->refresh_ms / 1000;
        until.tv_nsec += (long) (t->refresh_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        while (!t->stop && pthread_cond_timedwait(&t->wake, &t->lock, &until) != ETIMEDOUT)
            ;
        if (t->stop)
            break;
        pthread_mutex_unlock(&t->lock);
        scan(t);
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

/* ---- the store ---------------------------------------------------------- */

mt_trust_t *mt_trust_new(const char *dir, uint32_t refresh_ms)
{
    struct stat st;
    if (!dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    mt_trust_t *t = calloc(1, sizeof *t);
    if (!t || !(t->dir = strdup(dir))) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->wake, &ca);
    pthread_condattr_destroy(&ca);
    t->refresh_ms = refresh_ms ? refresh_ms : 1000;
    t->files = table_new();
    scan(t);                        /* trusted from the first lookup on */
    t->started = pthread_create(&t->scanner, NULL, scanner, t) == 0;
    if (!t->started) {
        mt_trust_destroy(&t);
        return NULL;
    }
    return t;
}

void mt_trust_destroy(mt_trust_t **trust_p)
{
    mt_trust_t *t = *trust_p;
    if (!t)
        return;
    *trust_p = NULL;
    if (t->started) {
        pthread_mutex_lock(&t->lock);
        t->stop = true;
        pthread_cond_signal(&t->wake);
        pthread_mutex_unlock(&t->lock);
        pthread_join(t->scanner, NULL);
    }
    zhashx_destroy(&t->entries);
    zhashx_destroy(&t->files);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    free(t->dir);
    free(t);
}

mt_role_t mt_trust_lookup(mt_trust_t *t, const char *key, char *node)
{
    if (node)
        node[0] = '\0';
    if (!key || strlen(key) != MT_KEY_Z85_LEN)
        return MT_ROLE_NONE;
    pthread_mutex_lock(&t->lock);
    const entry_t *e = zhashx_lookup(t->entries, key);
    mt_role_t role = e ? e->role : MT_ROLE_NONE;
    if (e && node)
        memcpy(node, e->node, sizeof e->node);
    pthread_mutex_unlock(&t->lock);
    return role;
}

uint64_t mt_trust_removals(mt_trust_t *t)
{
    pthread_mutex_lock(&t->lock);
    uint64_t n = t->removals;
    pthread_mutex_unlock(&t->lock);
    return n;
}

uint32_t mt_trust_size(mt_trust_t *t)
{
    pthread_mutex_lock(&t->lock);
    uint32_t n = (uint32_t) zhashx_size(t->entries);
    pthread_mutex_unlock(&t->lock);
    return n;
}
