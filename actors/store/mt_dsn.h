/*  mt_dsn.h — where the store finds its database: a parsed DSN.

        mysql://[USER[:PASSWORD]@]HOST[:PORT]/DB[?PARAM=VALUE[&PARAM=VALUE]...]

    scheme    mysql:// (mariadb:// is accepted as a synonym)
    USER      may be empty; percent-decoded (%40 is '@', %3A is ':', ...)
    PASSWORD  may be empty; percent-decoded. Never appears in error messages
              or in mt_dsn_format_redacted.
    HOST      a name or IPv4 address, or an IPv6 address in brackets
              ([::1]). Required unless `socket` is given.
    PORT      1-65535, default 3306.
    DB        letters, digits, '_' and '$'; 1 to 64 characters. Required.

    Parameters (each at most once, values percent-decoded; unknown ones are
    an error so that a misspelt parameter is not silently ignored):
    socket=PATH           absolute path of the server's unix socket. When set,
                          the connection goes through the socket: pass host
                          "localhost" (not d->host) and d->socket to
                          mysql_real_connect. HOST:PORT stay in the DSN for
                          clients on other machines.
    connect_timeout=S     seconds to establish a connection, 1-3600, default 2
                          (MYSQL_OPT_CONNECT_TIMEOUT)
    read_timeout=S        seconds to wait for a server reply, 1-3600, default 5
                          (MYSQL_OPT_READ_TIMEOUT)
    write_timeout=S       seconds to wait for a write to the server, 1-3600,
                          default 5 (MYSQL_OPT_WRITE_TIMEOUT)

    Example (what scripts/mariadb prints):
        mysql://metactor:metactor@127.0.0.1:3407/metactor?socket=/repo/var/mariadb/mysqld.sock

    Life cycle: mt_dsn_parse creates, mt_dsn_destroy frees (and sets the
    caller's pointer to NULL). A parsed DSN is immutable by convention and
    may be read from any thread. No function here does I/O.
*/
#ifndef MT_DSN_H_INCLUDED
#define MT_DSN_H_INCLUDED

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MT_DSN_DEFAULT_PORT 3306u
#define MT_DSN_DEFAULT_CONNECT_TIMEOUT_S 2u
#define MT_DSN_DEFAULT_READ_TIMEOUT_S 5u
#define MT_DSN_DEFAULT_WRITE_TIMEOUT_S 5u

typedef struct {
    char *user;         /* never NULL; "" if absent */
    char *password;     /* never NULL; "" if absent */
    char *host;         /* NULL only if socket is set; IPv6 without brackets */
    char *db;           /* never NULL */
    char *socket;       /* NULL if not given */
    unsigned port;
    unsigned connect_timeout_s, read_timeout_s, write_timeout_s;
} mt_dsn_t;

/*  Parses text into a new mt_dsn_t stored in *out. Returns MT_OK, or
    MT_EINVAL (bad text or arguments; *out is NULL and err holds one line
    such as "dsn: port out of range (1-65535): 70000") or MT_ENOMEM.
    err may be NULL; errlen counts its bytes, including the final NUL. */
int mt_dsn_parse(const char *text, mt_dsn_t **out, char *err, size_t errlen);

/*  Frees the DSN (wiping the password) and sets *p to NULL. NULL and *p ==
    NULL are allowed. */
void mt_dsn_destroy(mt_dsn_t **p);

/*  The DSN as text for logs, the password replaced by "***" (userinfo is
    omitted when user and password are empty, ":***" when the password is).
    Parameters appear only when set or different from their defaults; the
    result parses back to the same DSN except for the password. Caller
    frees; NULL if out of memory or d is NULL. */
char *mt_dsn_format_redacted(const mt_dsn_t *d);

#ifdef __cplusplus
}
#endif

#endif
