/*  config_password.c — the database password, kept off the command line.

    It comes from, first found wins: the file of --db-password-file
    (METACTOR_DB_PASSWORD_FILE, store/password_file), the variable
    METACTOR_DB_PASSWORD or store/password in the config file (one setting,
    the environment over the file), and last the DSN's own. The winner is
    put into the DSN the store connects with (cfg->dsn, mt_dsn_format), so
    nothing downstream knows where it came from.

    Why a file first: a command line is world-readable (ps, /proc/PID/
    cmdline), a process's environment only by its user and root, and a
    file with mode 600 only by its owner — and it is what container
    secrets are. A password in --db still works, with a warning; so does a
    file that others can read, since refusing it would only make people
    widen their permissions elsewhere. No message or warning holds a
    password; buffers that held one are wiped. */
#include "config_internal.h"

#include "mt_core.h"
#include "mt_dsn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASSWORD_MAX 1024       /* bytes, without the final newline */

/*  The password in path: one line, its line end dropped. */
static int read_password(mt_config_t *cfg, const char *w, const char *path, char **out,
                         char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mt__config_fail(err, errlen, "%s: cannot read '%s': %s", w, path, strerror(errno));
    struct stat st;
    char buf[PASSWORD_MAX + 3];         /* + "\r\n" + one byte to see it is longer */
    ssize_t n = -1;
    int rc = MT_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = mt__config_fail(err, errlen, "%s: '%s' is not a regular file", w, path);
    else if ((n = read(fd, buf, sizeof buf - 1)) < 0)
        rc = mt__config_fail(err, errlen, "%s: cannot read '%s': %s", w, path, strerror(errno));
    close(fd);
    if (rc != MT_OK)
        return rc;
    size_t len = n > 0 ? (size_t) n : 0;
    buf[len] = '\0';
    if (len && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (len && buf[len - 1] == '\r')
        buf[--len] = '\0';
    if (strlen(buf) != len)
        rc = mt__config_fail(err, errlen, "%s: '%s' holds a NUL byte: not a password file", w,
                             path);
    else if (len > PASSWORD_MAX)
        rc = mt__config_fail(err, errlen, "%s: '%s' is longer than %d bytes: not a password file",
                             w, path, PASSWORD_MAX);
    else if (memchr(buf, '\n', len))
        rc = mt__config_fail(err, errlen, "%s: '%s' holds more than one line (the password alone"
                             " goes in it)", w, path);
    else if (len == 0)
        rc = mt__config_fail(err, errlen, "%s: '%s' is empty", w, path);
    else if (!(*out = strdup(buf)))
        rc = mt__config_fail(err, errlen, "%s: out of memory", w);
    explicit_bzero(buf, sizeof buf);
    if (rc == MT_OK && (st.st_mode & S_IRWXO))
        mt__config_warn(cfg, "%s: '%s' can be read by every user (mode %04o): chmod 600 it", w,
                        path, (unsigned) (st.st_mode & 07777));
    return rc;
}

int mt__config_password(mt_config_t *cfg, const collected_t *c, char *err, size_t errlen)
{
    char w[512];
    mt_dsn_t *d = NULL;
    if (mt_dsn_parse(cfg->dsn, &d, NULL, 0) != MT_OK)      /* parsed once already */
        return mt__config_fail(err, errlen, "config: out of memory");
    bool dsn_has_password = d->password[0] != '\0';

    char *from_file = NULL;
    const char *password = c->text[MT_CONFIG_S_DB_PASSWORD];
    if (cfg->db_password_file) {
        mt__config_where(c, MT_CONFIG_S_DB_PASSWORD_FILE, w, sizeof w);
        if (read_password(cfg, w, cfg->db_password_file, &from_file, err, errlen) != MT_OK) {
            mt_dsn_destroy(&d);
            return MT_EINVAL;
        }
        password = from_file;
    }

    if (c->src[MT_CONFIG_S_DB] == MT_CONFIG_FLAG && dsn_has_password)
        mt__config_warn(cfg, "--db: the DSN holds a password, which every user of this machine"
                        " can read on the command line (ps)%s; use --db-password-file FILE,"
                        " METACTOR_DB_PASSWORD or store/password in the config file",
                        password ? " (and is not used: another password setting wins)" : "");
    struct stat st;
    if (c->file && ((c->src[MT_CONFIG_S_DB] == MT_CONFIG_FILE && dsn_has_password)
                    || c->src[MT_CONFIG_S_DB_PASSWORD] == MT_CONFIG_FILE)
        && stat(c->file, &st) == 0 && (st.st_mode & S_IRWXO))
        mt__config_warn(cfg, "config %s holds the database password and can be read by every"
                        " user (mode %04o): chmod 600 it, or move the password to"
                        " --db-password-file", c->file, (unsigned) (st.st_mode & 07777));

    int rc = MT_OK;
    if (password) {
        char *text = NULL;
        if (mt_dsn_set_password(d, password) != MT_OK || !(text = mt_dsn_format(d)))
            rc = mt__config_fail(err, errlen, "config: out of memory");
        else {
            /*  A long password may push the DSN past what the store reads. */
            mt_dsn_t *back = NULL;
            char why[256];
            if (mt_dsn_parse(text, &back, why, sizeof why) != MT_OK) {
                mt__config_where(c, from_file ? MT_CONFIG_S_DB_PASSWORD_FILE
                                              : MT_CONFIG_S_DB_PASSWORD, w, sizeof w);
                rc = mt__config_fail(err, errlen, "%s: with this password, %s", w, why);
            }
            mt_dsn_destroy(&back);
            explicit_bzero(rc == MT_OK ? cfg->dsn : text, strlen(rc == MT_OK ? cfg->dsn : text));
            if (rc == MT_OK) {
                free(cfg->dsn);
                cfg->dsn = text;
            }
            else
                free(text);
        }
    }
    if (from_file) {
        explicit_bzero(from_file, strlen(from_file));
        free(from_file);
    }
    mt_dsn_destroy(&d);
    return rc;
}
