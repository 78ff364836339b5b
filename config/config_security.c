/*  config_security.c — the replica's certificate, its trust store, and
    the bind rule: without a certificate nothing but loopback or ipc://.

    The certificate is only checked here (the transport uses it): both
    files readable, each a zcert file, the secret one with a secret key
    that belongs to the public one. Messages name files, never keys.

    A certificate file is first checked by mt_cert_file_check (mt_cert.h):
    czmq must never parse a file it cannot read without a word. */
#include "config_internal.h"

#include "mt_cert.h"
#include "mt_core.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/*  One file of the pair: its curve/public-key into pub and, if sec is not
    NULL, its curve/secret-key into sec (Z85, 40 characters each). */
static int cert_file(const char *w, const char *what, const char *path, char pub[41],
                     char sec[41], struct stat *st, char *err, size_t errlen)
{
    char why[96] = "";
    if (stat(path, st) != 0 || access(path, R_OK) != 0)
        return mt__config_fail(err, errlen, "%s: cannot read the %s '%s': %s", w, what, path,
                               strerror(errno));
    if (mt_cert_file_check(path, why, sizeof why) != MT_OK)
        return mt__config_fail(err, errlen, "%s: the %s '%s' is %s", w, what, path, why);
    zconfig_t *root = zconfig_load(path);   /* it parses: mt_cert_file_check */
    const char *p = root ? zconfig_get(root, "curve/public-key", "") : "";
    const char *s = root ? zconfig_get(root, "curve/secret-key", "") : "";
    bool has_pub = strlen(p) == 40, ok = has_pub && (!sec || strlen(s) == 40);
    if (ok) {
        memcpy(pub, p, 41);
        if (sec)
            memcpy(sec, s, 41);
    }
    zconfig_destroy(&root);             /* zconfig does not wipe: nothing to do about it */
    if (!ok)
        return mt__config_fail(err, errlen, "%s: the %s '%s' is not a czmq certificate (no %s)",
                               w, what, path, has_pub ? "curve/secret-key" : "curve/public-key");
    return MT_OK;
}

int mt__config_check_cert(mt_config_t *cfg, const char *w, const char *path, char *err,
                          size_t errlen)
{
    if (strlen(path) > MT_CERT_PATH_MAX)
        return mt__config_fail(err, errlen, "%s: path longer than %d bytes", w, MT_CERT_PATH_MAX);
    char secret[MT_CERT_PATH_MAX + 8];
    snprintf(secret, sizeof secret, "%s_secret", path);
    char pub[41], sec_pub[41], sec_key[41];
    struct stat st;
    if (cert_file(w, "public certificate", path, pub, NULL, &st, err, errlen) != MT_OK
        || cert_file(w, "secret certificate", secret, sec_pub, sec_key, &st, err,
                     errlen) != MT_OK)
        return MT_EINVAL;
    explicit_bzero(sec_key, sizeof sec_key);
    if (strcmp(pub, sec_pub) != 0)
        return mt__config_fail(err, errlen, "%s: '%s' and '%s' are not one certificate (their"
                               " public keys differ)", w, path, secret);
    /*  Then as the transport will load it. */
    zcert_t *cert = zcert_load(path);
    bool has_secret = false;
    if (cert) {
        const byte *k = zcert_secret_key(cert);
        for (int i = 0; i < 32; i++)
            has_secret = has_secret || k[i] != 0;
    }
    zcert_destroy(&cert);
    if (!has_secret)
        return mt__config_fail(err, errlen, "%s: zcert_load('%s') finds no secret key in '%s'",
                               w, path, secret);
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        mt__config_warn(cfg, "%s: the secret key '%s' can be read by other users (mode %04o):"
                        " chmod 600 it", w, secret, (unsigned) (st.st_mode & 07777));
    return MT_OK;
}

int mt__config_check_dir(const char *w, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return mt__config_fail(err, errlen, "%s: cannot use '%s': %s", w, path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return mt__config_fail(err, errlen, "%s: '%s' is not a directory", w, path);
    if (access(path, R_OK | X_OK) != 0)
        return mt__config_fail(err, errlen, "%s: cannot read the directory '%s': %s", w, path,
                               strerror(errno));
    return MT_OK;
}

/*  ipc://, or tcp:// on 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) or
    localhost. A * host, 0.0.0.0, other names and interfaces are not. The
    endpoint is valid (config.c checked it). */
bool mt__config_loopback(const char *endpoint)
{
    if (strncmp(endpoint, "ipc://", 6) == 0)
        return true;
    const char *host = endpoint + 6, *colon = strrchr(host, ':');
    char h[256];
    snprintf(h, sizeof h, "%.*s", (int) (colon - host), host);
    if (h[0] == '[') {
        memmove(h, h + 1, strlen(h));
        h[strlen(h) - 1] = '\0';
    }
    if (strcasecmp(h, "localhost") == 0)
        return true;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, h, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, h, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6)
               || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return false;
}

int mt__config_check_security(mt_config_t *cfg, const collected_t *c, char *err,
                              size_t errlen)
{
    char w[512];
    if (cfg->cert && !cfg->trust) {
        mt__config_where(c, MT_CONFIG_S_CERT, w, sizeof w);
        return mt__config_fail(err, errlen, "%s: a certificate needs a trust store: give --trust"
                               " DIR (METACTOR_TRUST, security/trust), the directory of the"
                               " certificates this replica accepts", w);
    }
    if (cfg->trust && !cfg->cert) {
        mt__config_where(c, MT_CONFIG_S_TRUST, w, sizeof w);
        return mt__config_fail(err, errlen, "%s: a trust store is used only with this replica's"
                               " own certificate: give --cert FILE too", w);
    }
    if (cfg->cert || cfg->insecure)
        return MT_OK;
    const struct { int setting; const char *what; } eps[] = {
        { MT_CONFIG_S_ENDPOINT, "requests" }, { MT_CONFIG_S_PUBLISH, "change notices" },
    };
    for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++) {
        const char *ep = eps[i].setting == MT_CONFIG_S_ENDPOINT ? cfg->endpoint
                                                                  : cfg->pub_endpoint;
        if (mt__config_loopback(ep))
            continue;
        mt__config_where(c, eps[i].setting, w, sizeof w);
        return mt__config_fail(err, errlen, "%s: '%s' is not loopback or ipc://, and without a"
                               " certificate %s are not authenticated: give --cert FILE and"
                               " --trust DIR, or --insecure to serve it unauthenticated", w, ep,
                               eps[i].what);
    }
    return MT_OK;
}
