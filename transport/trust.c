/*  trust.c — the trust store (mt_trust.h).

    Why not zcertstore's own directory loader: it reloads on every lookup
    whenever the directory's modification time, size or file count moved
    (one directory walk per lookup, and the gateway looks up every
    request), keeps no record of why a file was skipped, and cannot say
    what a certificate's metadata must hold. Here a scan lists the
    directory at most once per refresh interval, and rebuilds only when a
    file's name, inode, size or modification time changed; certificates
    are still read by zcert_load (czmq parses every key and file). */
#include "mt_trust.h"

#include <czmq.h>
#include <dirent.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    mt_role_t role;
    char node[MT_NODE_ID_MAX + 1];
} entry_t;

struct mt_trust {
    pthread_mutex_t lock;
    char *dir;
    uint32_t refresh_ms;
    int64_t scanned_at;             /* zclock_mono of the last scan */
    uint64_t signature;             /* of the listing the entries came from */
    zhashx_t *entries;              /* Z85 public key → entry_t */
    zhashx_t *reported;             /* "name size mtime" of files already logged as bad */
    uint64_t removals;              /* scans that found a trusted key gone */
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

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

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

/*  A digest of the listing: any file added, removed, replaced or touched
    changes it. Entries come in readdir order, so the digest is a sum of
    per-file hashes (order-free). false when the directory cannot be read. */
static bool listing(const char *dir, uint64_t *sig)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    uint64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        if (!candidate(dir, e->d_name, &st))
            continue;
        uint64_t h = fnv(0xcbf29ce484222325ull, e->d_name, strlen(e->d_name) + 1);
        int64_t f[] = { (int64_t) st.st_ino, (int64_t) st.st_size, st.st_mtim.tv_sec,
                        st.st_mtim.tv_nsec };
        sum += fnv(h, f, sizeof f);
    }
    closedir(d);
    *sig = sum;
    return true;
}

/*  Logs a bad file once per version of it (a scan runs every second). */
static void report(mt_trust_t *t, zhashx_t *seen, const char *name, const struct stat *st,
                   const char *why)
{
    char key[PATH_MAX + 64];
    snprintf(key, sizeof key, "%s %lld %lld", name, (long long) st->st_size,
             (long long) st->st_mtim.tv_sec);
    if (!zhashx_lookup(t->reported, key))
        zsys_warning("trust: %s/%s ignored: %s", t->dir, name, why);
    zhashx_insert(seen, key, "");
}

/*  Reads one certificate into entries; why it was refused otherwise. */
static const char *load_one(zhashx_t *entries, const char *path, const struct stat *st)
{
    if (st->st_size > MT_TRUST_FILE_MAX)
        return "larger than a certificate can be";
    zcert_t *cert = zcert_load(path);
    if (!cert)
        return "not a certificate (czmq zcert_load refused it)";
    const char *why = NULL;
    entry_t e = { .role = mt_role_parse(zcert_meta(cert, "role")) };
    const char *node = zcert_meta(cert, "node");
    char err[128];
    if (e.role == MT_ROLE_NONE)
        why = "metadata 'role' must be admin, reader, node or replica";
    else if (e.role == MT_ROLE_NODE
             && (!node || mt_node_id_check(node, err, sizeof err) != MT_OK))
        why = "a node certificate needs a valid node id in metadata 'node'";
    else if (e.role != MT_ROLE_NODE && node)
        why = "metadata 'node' belongs on node certificates only";
    else {
        if (node)
            snprintf(e.node, sizeof e.node, "%s", node);
        entry_t *copy = malloc(sizeof *copy);
        if (!copy)
            abort();
        *copy = e;
        zhashx_update(entries, zcert_public_txt(cert), copy);
    }
    zcert_destroy(&cert);
    return why;
}

static void entry_free(void **item)
{
    free(*item);
    *item = NULL;
}

static zhashx_t *entries_new(void)
{
    zhashx_t *h = zhashx_new();
    zhashx_set_destructor(h, entry_free);
    return h;
}

/*  Replaces the entries; counts a removal when a key trusted before is
    not trusted now (or trusted with another role or node). */
static void replace(mt_trust_t *t, zhashx_t *entries)
{
    bool removed = false;
    for (entry_t *old = t->entries ? zhashx_first(t->entries) : NULL; old && !removed;
         old = zhashx_next(t->entries)) {
        const entry_t *now = zhashx_lookup(entries, zhashx_cursor(t->entries));
        removed = !now || now->role != old->role || strcmp(now->node, old->node) != 0;
    }
    t->removals += removed;
    zhashx_destroy(&t->entries);
    t->entries = entries;
}

static void rebuild(mt_trust_t *t)
{
    zhashx_t *entries = entries_new();
    zhashx_t *seen = zhashx_new();
    DIR *d = opendir(t->dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        struct stat st;
        if (!candidate(t->dir, e->d_name, &st))
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", t->dir, e->d_name);
        const char *why = load_one(entries, path, &st);
        if (why)
            report(t, seen, e->d_name, &st, why);
    }
    if (d)
        closedir(d);
    replace(t, entries);
    zhashx_destroy(&t->reported);
    t->reported = seen;
}

/*  Under the lock. A directory that went away (or is unreadable) trusts
    nobody: failing closed is the only safe reading of a missing store. */
static void refresh(mt_trust_t *t)
{
    int64_t now = zclock_mono();
    if (t->entries && now - t->scanned_at < t->refresh_ms)
        return;
    t->scanned_at = now;
    uint64_t sig = 0;
    if (!listing(t->dir, &sig)) {
        if (!t->entries || zhashx_size(t->entries))
            zsys_error("trust: cannot read %s: no certificate is trusted", t->dir);
        replace(t, entries_new());
        t->signature = 0;
        return;
    }
    if (t->entries && sig == t->signature && sig != 0)
        return;
    t->signature = sig;
    rebuild(t);
}

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
    t->refresh_ms = refresh_ms ? refresh_ms : 1000;
    t->reported = zhashx_new();
    pthread_mutex_lock(&t->lock);
    refresh(t);
    pthread_mutex_unlock(&t->lock);
    return t;
}

void mt_trust_destroy(mt_trust_t **trust_p)
{
    mt_trust_t *t = *trust_p;
    if (!t)
        return;
    *trust_p = NULL;
    zhashx_destroy(&t->entries);
    zhashx_destroy(&t->reported);
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
    refresh(t);
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
    refresh(t);
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
