/*  mt_dsn.h — where the store finds its database: a parsed DSN.

        mysql://[USER[:PASSWORD]@]HOST[:PORT][,HOST[:PORT]...]/DB[?PARAM=VALUE[&PARAM=VALUE]...]

    scheme    mysql:// (mariadb:// is accepted as a synonym)
    USER      may be empty; percent-decoded (%40 is '@', %3A is ':', ...)
    PASSWORD  may be empty; percent-decoded. Never appears in error messages
              or in mt_dsn_format_redacted.
    HOST      a name or IPv4 address, or an IPv6 address in brackets
              ([::1]). Required unless `socket` is given.
    PORT      1-65535, default 3306.
    ,HOST...  several servers of one cluster (MariaDB Galera Cluster), at
              most MT_DSN_HOSTS_MAX: the store connects to the first that
              answers and is usable (on Galera: Synced and ready), in the
              order given, and moves on when its server dies or leaves
              the cluster. Give replicas different orders to spread them
              over the nodes. Not together with socket=.
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
    ssl_ca=PATH           TLS: the CA certificate(s) (PEM) the server's
                          certificate must chain to (MYSQL_OPT_SSL_CA)
    ssl_cert=PATH         TLS: this client's certificate (PEM), for servers
    ssl_key=PATH          that require one (REQUIRE X509); given together
                          (MYSQL_OPT_SSL_CERT, MYSQL_OPT_SSL_KEY)
    ssl_verify=BOOL       true|false (or 1|0), default true: verify that the
                          server's certificate names HOST and, without
                          ssl_ca, that it chains to one of the system's CAs
                          (MYSQL_OPT_SSL_VERIFY_SERVER_CERT)

    TLS (d->tls) is on when any ssl_* parameter is given, and then required
    (MYSQL_OPT_SSL_ENFORCE: never a silent fall-back to plain text). With
    ssl_ca the server's certificate must chain to it, whatever ssl_verify
    says (Connector/C 3.3 verifies the chain whenever a CA is given);
    ssl_verify=false drops the host name check, and without ssl_ca every
    check: encryption against passive eavesdroppers only.

    Errors never quote the authority (USER:PASSWORD@HOST:PORT) or the
    database name: a mistyped DSN such as mysql://admin:hunter2/db puts the
    password where the port belongs, and the message must not show it.

    Examples (what scripts/mariadb and scripts/galera print):
        mysql://metactor:metactor@127.0.0.1:3407/metactor?socket=/repo/var/mariadb/mysqld.sock
        mysql://metactor:metactor@127.0.0.1:3660,127.0.0.1:3661,127.0.0.1:3662/metactor

    Life cycle: mt_dsn_parse creates, mt_dsn_destroy frees (and sets the
    caller's pointer to NULL). A parsed DSN is immutable by convention once
    shared (mt_dsn_set_password is for its owner, before) and may be read
    from any thread. No function here does I/O.
*/
#ifndef MT_DSN_H_INCLUDED
#define MT_DSN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MT_DSN_DEFAULT_PORT 3306u
#define MT_DSN_DEFAULT_CONNECT_TIMEOUT_S 2u
#define MT_DSN_DEFAULT_READ_TIMEOUT_S 5u
#define MT_DSN_DEFAULT_WRITE_TIMEOUT_S 5u
#define MT_DSN_HOSTS_MAX 16u

typedef struct {
    char *host;         /* IPv6 without brackets */
    unsigned port;
} mt_dsn_host_t;

typedef struct {
    char *user;         /* never NULL; "" if absent */
    char *password;     /* never NULL; "" if absent */
    char *host;         /* the first host (hosts[0].host); NULL only if socket is set */
    char *db;           /* never NULL */
    char *socket;       /* NULL if not given */
    unsigned port;      /* the first host's (hosts[0].port) */
    mt_dsn_host_t *hosts;   /* every host, in the order given; NULL with socket alone */
    unsigned nhosts;        /* 0 only if socket is set without a host */
    unsigned connect_timeout_s, read_timeout_s, write_timeout_s;
    char *ssl_ca, *ssl_cert, *ssl_key;  /* NULL if not given */
    bool tls;           /* TLS required (see above) */
    bool ssl_verify;    /* check the server's name (see above); false without tls */
} mt_dsn_t;

/*  Parses text into a new mt_dsn_t stored in *out. Returns MT_OK, or
    MT_EINVAL (bad text or arguments; *out is NULL and err holds one line
    such as "dsn: port out of range (1-65535)") or MT_ENOMEM.
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

/*  The DSN as text with its password (percent-encoded), for a program that
    passes it on to the store; never for a log. Parses back to the same
    DSN. Caller frees (and should wipe); NULL if out of memory or d is NULL. */
char *mt_dsn_format(const mt_dsn_t *d);

/*  Replaces d's password (the old one wiped). MT_OK, MT_EINVAL (NULL
    arguments) or MT_ENOMEM (d unchanged). */
int mt_dsn_set_password(mt_dsn_t *d, const char *password);

#ifdef __cplusplus
}
#endif

#endif
