/*  metactl_keys.c — CURVE keys for metactl's connections: the replica's
    server key (--server-key KEY|FILE), the client certificate (--cert
    FILE), and setting them on sockets.

    Certificates are czmq zcert files; keys are Z85 text and only ever
    checked through libzmq (zmq_z85_decode, zmq_curve_public), never parsed
    here. Secret keys live in as few places as possible and are wiped when
    the sockets have them: libzmq keeps its own copy. */
#include "metactl.h"
#include "mt_cert.h"
#include "mt_core.h"

#include <czmq.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


bool ctl_is_key(const char *s)
{
    uint8_t bin[32];
    if (strlen(s) != 40 || !zmq_z85_decode(bin, s))
        return false;
    uint8_t any = 0;
    for (int i = 0; i < 32; i++)
        any |= bin[i];
    explicit_bzero(bin, sizeof bin);
    return any != 0;
}

void ctl_cert_destroy(struct _zcert_t **c_p)
{
    zcert_t *c = *c_p;
    if (!c)
        return;
    /*  zcert_destroy frees without wiping; the cert is ours and gone
        next, so writing through the const accessors is safe. */
    explicit_bzero((void *) zcert_secret_key(c), 32);
    explicit_bzero((void *) zcert_secret_txt(c), 40);
    zcert_destroy(c_p);
}

/*  Whether the file at path may be loaded: 1 yes, 0 no (a message said
    why), -1 it does not exist (or, when optional, cannot be read). */
static int cert_check(const char *path, bool optional, const char *what)
{
    char why[96];
    if (optional && access(path, R_OK) != 0)
        return -1;
    if (mt_cert_file_check(path, why, sizeof why) == MT_OK)
        return 1;
    if (errno == ENOENT && access(path, F_OK) != 0)
        return -1;
    fprintf(stderr, "metactl: %s: cannot load the certificate '%s': %s\n", what, path, why);
    return 0;
}

struct _zcert_t *ctl_cert_load(const char *path, const char *what)
{
    if (!*path) {
        fprintf(stderr, "metactl: %s: the file name is empty\n", what);
        return NULL;
    }
    if (strlen(path) > MT_CERT_PATH_MAX) {
        fprintf(stderr, "metactl: %s: the path is longer than %d characters\n", what,
                MT_CERT_PATH_MAX);
        return NULL;
    }
    /*  zcert_load reads path_secret when it can (a server's public file
        may well sit next to a secret file this user cannot read), else
        path. */
    char secret_file[MT_CERT_PATH_MAX + 8];
    snprintf(secret_file, sizeof secret_file, "%s_secret", path);
    const char *read = secret_file;
    int ok = cert_check(secret_file, true, what);
    if (ok < 0)
        ok = cert_check(read = path, false, what);
    if (ok < 0)
        fprintf(stderr, "metactl: %s: cannot load the certificate '%s': %s\n", what, path,
                strerror(ENOENT));
    if (ok <= 0)
        return NULL;
    zcert_t *c = zcert_load(path);      /* it parses: mt_cert_file_check */
    if (c && !ctl_is_key(zcert_public_txt(c)))
        ctl_cert_destroy(&c);       /* ZPL, but without a usable public key */
    if (!c)
        fprintf(stderr, "metactl: %s: cannot load the certificate '%s': %s has no public key\n",
                what, path, read);
    return c;
}

/*  Warns when the file holding a secret key is open to others, as ssh
    does (it still works: refusing would only make people chmod blindly). */
static void check_secret_mode(const char *file)
{
    struct stat st;
    if (stat(file, &st) == 0 && (st.st_mode & 077))
        fprintf(stderr, "metactl: warning: %s holds a secret key but is open to others "
                "(mode %04o): chmod 600 it\n", file, (unsigned) (st.st_mode & 07777));
}

int ctl_key_arg(const char *arg, const char *what, char out[41])
{
    if (!*arg) {
        fprintf(stderr, "metactl: %s: empty (a Z85 key of 40 characters, or a certificate "
                "file)\n", what);
        return CTL_EUSAGE;
    }
    /*  A key first: what the user typed means the same whatever files
        happen to lie in the current directory. */
    if (ctl_is_key(arg)) {
        memcpy(out, arg, 41);
        return CTL_OK;
    }
    if (access(arg, F_OK) != 0) {
        fprintf(stderr, "metactl: %s: '%s' is neither a Z85 key (40 characters) nor a "
                "certificate file (%s)\n", what, arg, strerror(errno));
        return CTL_EUSAGE;
    }
    zcert_t *c = ctl_cert_load(arg, what);
    if (!c)
        return CTL_EUSAGE;
    memcpy(out, zcert_public_txt(c), 41);
    ctl_cert_destroy(&c);
    return CTL_OK;
}

int ctl_cert_keys(const char *path, const char *what, char pub[41], char sec[41])
{
    zcert_t *c = ctl_cert_load(path, what);
    if (!c)
        return CTL_EUSAGE;
    char secret_file[MT_CERT_PATH_MAX + 8];
    snprintf(secret_file, sizeof secret_file, "%s_secret", path);
    /*  zcert_load falls back to the public file alone, leaving the secret
        key zero; PATH may also be a secret file itself. */
    const char *holder = access(secret_file, F_OK) == 0 ? secret_file : path;
    char derived[41];
    int rc = CTL_OK;
    if (!ctl_is_key(zcert_secret_txt(c))) {
        fprintf(stderr, "metactl: %s: '%s' has no secret key: a client certificate needs "
                "its secret file too (%s, made by `metactl cert new`: missing or "
                "unreadable)\n", what, path, secret_file);
        rc = CTL_EUSAGE;
    }
    else if (zmq_curve_public(derived, zcert_secret_txt(c)) != 0
             || strcmp(derived, zcert_public_txt(c)) != 0) {
        fprintf(stderr, "metactl: %s: in '%s' the secret key does not belong to the public "
                "key\n", what, holder);
        rc = CTL_EUSAGE;
    }
    else {
        check_secret_mode(holder);
        memcpy(pub, zcert_public_txt(c), 41);
        memcpy(sec, zcert_secret_txt(c), 41);
    }
    ctl_cert_destroy(&c);
    return rc;
}

int ctl_keys_load(const ctl_t *g, ctl_keys_t *k)
{
    memset(k, 0, sizeof *k);
    if (g->server_key) {
        if (ctl_key_arg(g->server_key, "--server-key", k->server_key) != CTL_OK)
            return CTL_EUSAGE;
        k->curve = true;
    }
    if (g->cert) {
        if (!k->curve) {
            fprintf(stderr, "metactl: --cert needs --server-key KEY|FILE (or "
                    "$METACTL_SERVER_KEY): the replica's public key. A certificate only "
                    "authenticates this client over CURVE, and CURVE needs the server's key\n");
            return CTL_EUSAGE;
        }
        if (ctl_cert_keys(g->cert, "--cert", k->public_key, k->secret_key) != CTL_OK) {
            ctl_keys_wipe(k);
            return CTL_EUSAGE;
        }
        k->has_cert = true;
        return CTL_OK;
    }
    /*  No certificate: a fresh keypair, which a replica refuses unless
        someone trusts it; it still encrypts. Made even without a server
        key, for watch --cluster members that publish theirs. */
    if (zmq_curve_keypair(k->public_key, k->secret_key) != 0 && k->curve) {
        fprintf(stderr, "metactl: cannot make a CURVE keypair (libzmq without CURVE?): %s\n",
                zmq_strerror(errno));
        return CTL_EUSAGE;
    }
    return CTL_OK;
}

void ctl_keys_wipe(ctl_keys_t *k)
{
    explicit_bzero(k->secret_key, sizeof k->secret_key);
}

bool ctl_sock_keys(void *zsock, const ctl_keys_t *k, const char *server_key)
{
    void *h = zsock_resolve(zsock);
    if (!server_key || !*server_key) {
        /*  Back to the NULL mechanism for the connections made next. */
        int off = 0;
        return zmq_setsockopt(h, ZMQ_CURVE_SERVER, &off, sizeof off) == 0;
    }
    /*  libzmq copies the options into each connection at connect time, so
        one socket may hold connections to servers with different keys. */
    return strlen(server_key) == 40 && strlen(k->public_key) == 40
           && strlen(k->secret_key) == 40
           && zmq_setsockopt(h, ZMQ_CURVE_SERVERKEY, server_key, 40) == 0
           && zmq_setsockopt(h, ZMQ_CURVE_PUBLICKEY, k->public_key, 40) == 0
           && zmq_setsockopt(h, ZMQ_CURVE_SECRETKEY, k->secret_key, 40) == 0;
}

void ctl_timeout_error(const ctl_t *g)
{
    fprintf(stderr, "timeout: no reply from %s within %d ms (is a replica running there?)\n",
            ctl_endpoint(g), g->timeout_ms);
    if (g->server_key && g->cert)
        fputs("metactl: over CURVE a replica also stays silent when --server-key is not its "
              "key, or when it does not trust --cert (its public file is not in the "
              "replica's trust store)\n", stderr);
    else if (g->server_key)
        fputs("metactl: over CURVE a replica also stays silent when --server-key is not its "
              "key; and without --cert this client presents a fresh key, which replicas "
              "refuse unless they trust it\n", stderr);
}
