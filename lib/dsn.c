/*  dsn.c — parses and formats mysql:// DSNs; the grammar is in mt_dsn.h.

    The parser works on spans of the input and copies only the finished
    fields. The userinfo is the authority up to its last '@' (as in RFC 3986
    parsers), so a password may hold ':' and '@' unencoded; '/' and '?' in a
    password must be percent-encoded. The password is never copied into an
    error message: when an unencoded '/' or '?' in it would shift the
    password into the host or port, the parser sees an '@' after the host
    and says so without echoing anything. Nor is anything else of the
    authority or the database name quoted: a forgotten '@' or host
    (mysql://admin:hunter2/db, mysql://u:p@ss:word/db) moves a password into
    the host, port or database, and the parser cannot tell. Messages name
    the field and what is wrong with it instead; parameters (paths and
    numbers) are quoted.
*/
#include "mt_dsn.h"
#include "mt_err.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DSN_MAX_LEN 4096
#define DB_MAX_LEN 64
#define HOST_MAX_LEN 255
#define SOCKET_MAX_LEN 107   /* sockaddr_un.sun_path holds 108 bytes with the NUL */
#define TIMEOUT_MAX_S 3600u
#define ECHO_MAX 64          /* longest piece of input quoted in a message */
#define FORM "(mysql://[USER[:PASSWORD]@]HOST[:PORT]/DB)"   /* instead of a port */

typedef struct {
    const char *p;
    size_t n;
} span_t;

static span_t span_between(const char *from, const char *to)
{
    return (span_t){ from, (size_t)(to - from) };
}

/*  A bounded piece of input for "%.*s": messages stay one short line. */
#define ECHO(s) (int)((s).n < ECHO_MAX ? (s).n : ECHO_MAX), (s).p

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return MT_EINVAL;
}

/* Locale-independent character classes. */
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

static int hex_value(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static const char *span_find(span_t s, char c)
{
    return s.n ? memchr(s.p, c, s.n) : NULL;
}

/*  Percent-decodes s into a new string in *out. what names the field. */
static int decode(span_t s, const char *what, char **out, char *err, size_t errlen)
{
    char *buf = malloc(s.n + 1), *w = buf;
    if (!buf)
        return MT_ENOMEM;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] != '%') {
            *w++ = s.p[i];
            continue;
        }
        int hi = i + 2 < s.n ? hex_value(s.p[i + 1]) : -1;
        int lo = i + 2 < s.n ? hex_value(s.p[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            free(buf);
            return fail(err, errlen, "dsn: bad percent-escape in %s (expected %%XX)", what);
        }
        if (hi == 0 && lo == 0) {
            free(buf);
            return fail(err, errlen, "dsn: NUL byte (%%00) in %s", what);
        }
        *w++ = (char)(hi << 4 | lo);
        i += 2;
    }
    *w = '\0';
    *out = buf;
    return MT_OK;
}

/*  Parses decimal digits of s into *value, 1..max. what names the field;
    the text is quoted only if echo (never a port: see the top). */
static int parse_number(span_t s, unsigned max, const char *what, bool echo, unsigned *value,
                        char *err, size_t errlen)
{
    if (s.n == 0)
        return fail(err, errlen, "dsn: empty %s", what);
    span_t shown = echo ? s : (span_t){ FORM, sizeof FORM - 1 };
    const char *colon = echo ? ": " : " ";
    unsigned long v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (!is_digit(s.p[i]))
            return fail(err, errlen, "dsn: %s is not a number%s%.*s", what, colon, ECHO(shown));
        if (v <= max)   /* stops growing past max: no overflow however long */
            v = v * 10 + (unsigned long)(s.p[i] - '0');
    }
    if (v < 1 || v > max)
        return fail(err, errlen, "dsn: %s out of range (1-%u)%s%.*s", what, max, colon,
                    ECHO(shown));
    *value = (unsigned)v;
    return MT_OK;
}

/*  HOST or [IPV6], optionally :PORT. host.p is NULL when absent. */
static int parse_hostport(span_t s, span_t *host, unsigned *port, char *err, size_t errlen)
{
    span_t port_text = { NULL, 0 };
    bool has_port = false;
    const char *end = s.p + s.n;

    *host = (span_t){ NULL, 0 };
    if (s.n > 0 && s.p[0] == '[') {
        const char *close = span_find(s, ']');
        if (!close)
            return fail(err, errlen, "dsn: missing ']' after IPv6 address");
        *host = span_between(s.p + 1, close);
        bool ok = host->n > 0 && span_find(*host, ':');
        for (size_t i = 0; ok && i < host->n; i++)
            ok = hex_value(host->p[i]) >= 0 || host->p[i] == ':' || host->p[i] == '.';
        if (!ok)
            return fail(err, errlen, "dsn: invalid IPv6 address in brackets (hex digits, ':' "
                        "and '.')");
        if (close + 1 < end) {
            if (close[1] != ':')
                return fail(err, errlen, "dsn: unexpected text after ']' (expected :PORT)");
            has_port = true;
            port_text = span_between(close + 2, end);
        }
    } else {
        const char *colon = span_find(s, ':');
        if (colon) {
            has_port = true;
            port_text = span_between(colon + 1, end);
            if (span_find(port_text, ':'))
                return fail(err, errlen, "dsn: more than one ':' after the host (an IPv6 "
                            "address goes in brackets: [::1]:3306)");
        }
        *host = span_between(s.p, colon ? colon : end);
        if (host->n > HOST_MAX_LEN)
            return fail(err, errlen, "dsn: host longer than %d characters", HOST_MAX_LEN);
        for (size_t i = 0; i < host->n; i++) {
            char c = host->p[i];
            if (!is_alnum(c) && c != '-' && c != '.' && c != '_')
                return fail(err, errlen, "dsn: invalid character in host (letters, digits, "
                            "'-', '.' and '_'; an IPv6 address in brackets)");
        }
        if (host->n == 0)
            host->p = NULL;
    }
    *port = MT_DSN_DEFAULT_PORT;
    if (has_port)
        return parse_number(port_text, 65535, "port", false, port, err, errlen);
    return MT_OK;
}

static char *span_dup(span_t s)
{
    return strndup(s.p ? s.p : "", s.n);
}

/*  HOST[:PORT][,HOST[:PORT]...]: every host is required once there are
    several (an empty one is a stray ','). */
static int parse_hosts(span_t s, span_t *hosts, unsigned *ports, unsigned *n, char *err,
                       size_t errlen)
{
    const char *end = s.p + s.n, *from = s.p;
    *n = 0;
    for (;;) {
        const char *comma = memchr(from, ',', (size_t) (end - from));
        if (*n == MT_DSN_HOSTS_MAX)
            return fail(err, errlen, "dsn: more than %u hosts", MT_DSN_HOSTS_MAX);
        int rc = parse_hostport(span_between(from, comma ? comma : end), &hosts[*n], &ports[*n],
                                err, errlen);
        if (rc != MT_OK)
            return rc;
        (*n)++;
        if (!comma)
            break;
        from = comma + 1;
    }
    for (unsigned i = 0; *n > 1 && i < *n; i++)
        if (!hosts[i].p)
            return fail(err, errlen, "dsn: empty host in a list of hosts (HOST:PORT,HOST:PORT)");
    return MT_OK;
}

/*  d->hosts from the spans; d->host and d->port are the first. */
static int copy_hosts(mt_dsn_t *d, const span_t *hosts, const unsigned *ports, unsigned n)
{
    if (n == 0)
        return MT_OK;
    d->hosts = calloc(n, sizeof *d->hosts);
    if (!d->hosts)
        return MT_ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        d->hosts[d->nhosts].port = ports[i];
        if (!(d->hosts[d->nhosts].host = span_dup(hosts[i])))
            return MT_ENOMEM;
        d->nhosts++;
    }
    d->host = d->hosts[0].host;
    d->port = d->hosts[0].port;
    return MT_OK;
}

static int parse_db(span_t s, char *err, size_t errlen)
{
    if (s.n == 0)
        return fail(err, errlen, "dsn: database name required (mysql://HOST/DB)");
    if (s.n > DB_MAX_LEN)
        return fail(err, errlen, "dsn: database name longer than %d characters", DB_MAX_LEN);
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (!is_alnum(c) && c != '_' && c != '$')
            return fail(err, errlen,
                        "dsn: invalid character in database name (letters, digits, _ and $)");
    }
    return MT_OK;
}

enum { P_SOCKET, P_CONNECT_TIMEOUT, P_READ_TIMEOUT, P_WRITE_TIMEOUT, P_SSL_CA, P_SSL_CERT,
       P_SSL_KEY, P_SSL_VERIFY, P_COUNT };
static const char *const param_names[P_COUNT] = {
    [P_SOCKET] = "socket",
    [P_CONNECT_TIMEOUT] = "connect_timeout",
    [P_READ_TIMEOUT] = "read_timeout",
    [P_WRITE_TIMEOUT] = "write_timeout",
    [P_SSL_CA] = "ssl_ca",
    [P_SSL_CERT] = "ssl_cert",
    [P_SSL_KEY] = "ssl_key",
    [P_SSL_VERIFY] = "ssl_verify",
};

/*  ssl_verify's value; -1 if it is none of the spellings. */
static int parse_bool(const char *t)
{
    if (strcmp(t, "true") == 0 || strcmp(t, "1") == 0)
        return 1;
    if (strcmp(t, "false") == 0 || strcmp(t, "0") == 0)
        return 0;
    return -1;
}

/*  One PARAM=VALUE into d. seen has a flag per parameter; *verify gets
    ssl_verify's value (left alone if absent). */
static int parse_param(span_t s, mt_dsn_t *d, bool seen[P_COUNT], int *verify, char *err,
                       size_t errlen)
{
    if (s.n == 0)
        return fail(err, errlen, "dsn: empty parameter (stray '?' or '&')");
    const char *eq = span_find(s, '=');
    if (!eq)
        return fail(err, errlen, "dsn: parameter without value: %.*s", ECHO(s));
    span_t name = span_between(s.p, eq), value = span_between(eq + 1, s.p + s.n);
    int k = 0;
    while (k < P_COUNT && !(strlen(param_names[k]) == name.n &&
                            memcmp(param_names[k], name.p, name.n) == 0))
        k++;
    if (k == P_COUNT)
        return fail(err, errlen, "dsn: unknown parameter: %.*s", ECHO(name));
    if (seen[k])
        return fail(err, errlen, "dsn: duplicate parameter: %s", param_names[k]);
    seen[k] = true;
    if (value.n == 0)
        return fail(err, errlen, "dsn: empty value for parameter: %s", param_names[k]);

    char *text = NULL;
    int rc = decode(value, param_names[k], &text, err, errlen);
    if (rc != MT_OK)
        return rc;
    span_t v = { text, strlen(text) };
    switch (k) {
    case P_SOCKET:
        if (text[0] != '/')
            rc = fail(err, errlen, "dsn: socket path must be absolute: %.*s", ECHO(v));
        else if (v.n > SOCKET_MAX_LEN)
            rc = fail(err, errlen, "dsn: socket path longer than %d bytes", SOCKET_MAX_LEN);
        else {
            d->socket = text;
            return MT_OK;
        }
        break;
    case P_CONNECT_TIMEOUT:
        rc = parse_number(v, TIMEOUT_MAX_S, param_names[k], true, &d->connect_timeout_s, err,
                          errlen);
        break;
    case P_READ_TIMEOUT:
        rc = parse_number(v, TIMEOUT_MAX_S, param_names[k], true, &d->read_timeout_s, err, errlen);
        break;
    case P_WRITE_TIMEOUT:
        rc = parse_number(v, TIMEOUT_MAX_S, param_names[k], true, &d->write_timeout_s, err,
                          errlen);
        break;
    case P_SSL_CA:
    case P_SSL_CERT:
    case P_SSL_KEY:
        /*  Paths are Connector/C's to open: relative ones are relative to
            the process's working directory, as for the mariadb client. */
        *(k == P_SSL_CA ? &d->ssl_ca : k == P_SSL_CERT ? &d->ssl_cert : &d->ssl_key) = text;
        return MT_OK;
    case P_SSL_VERIFY:
        if ((*verify = parse_bool(text)) < 0)
            rc = fail(err, errlen, "dsn: ssl_verify must be true or false (or 1 or 0): %.*s",
                      ECHO(v));
        break;
    }
    free(text);
    return rc;
}

int mt_dsn_parse(const char *text, mt_dsn_t **out, char *err, size_t errlen)
{
    if (err && errlen > 0)
        err[0] = '\0';
    if (!out)
        return fail(err, errlen, "dsn: no place for the result (out is NULL)");
    *out = NULL;
    if (!text || !*text)
        return fail(err, errlen, "dsn: empty");
    size_t len = strnlen(text, DSN_MAX_LEN + 1);
    if (len > DSN_MAX_LEN)
        return fail(err, errlen, "dsn: longer than %d characters", DSN_MAX_LEN);
    /*  The authority (with the password) ends at the first '/' or '?'
        after the scheme; a character in it is not described at all. */
    const char *sep = strstr(text, "://");
    size_t auth_from = sep ? (size_t)(sep + 3 - text) : 0;
    size_t auth_to = auth_from + strcspn(text + auth_from, "/?");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c <= ' ' || c == 0x7f) && i >= auth_from && i < auth_to)
            return fail(err, errlen, "dsn: space or control character in the user, password "
                        "or host (percent-encode it in the user and password)");
        if (c <= ' ' || c == 0x7f)
            return fail(err, errlen, "dsn: invalid character (code %u) at offset %zu", c, i);
    }

    /* scheme */
    const char *p;
    if (strncmp(text, "mysql://", 8) == 0)
        p = text + 8;
    else if (strncmp(text, "mariadb://", 10) == 0)
        p = text + 10;
    else {
        if (sep && sep - text <= 16)
            return fail(err, errlen, "dsn: unsupported scheme \"%.*s\" (expected mysql://)",
                        (int)(sep - text), text);
        return fail(err, errlen, "dsn: must start with mysql://");
    }
    const char *end = text + len;

    /* authority = [userinfo@]hostport, up to the first '/' or '?' */
    const char *auth_end = p + strcspn(p, "/?");
    span_t authority = span_between(p, auth_end);
    const char *at = memrchr(authority.p, '@', authority.n);
    if (memchr(auth_end, '@', (size_t)(end - auth_end)))
        return fail(err, errlen,
                    "dsn: '@' after the host: percent-encode '/', '?' and '@' in the user "
                    "and password (%%2F %%3F %%40) and '@' in a socket path");
    span_t userinfo = at ? span_between(p, at) : (span_t){ p, 0 };
    span_t hostport = at ? span_between(at + 1, auth_end) : authority;

    span_t hosts[MT_DSN_HOSTS_MAX];
    unsigned ports[MT_DSN_HOSTS_MAX], nhosts = 0;
    int rc = parse_hosts(hostport, hosts, ports, &nhosts, err, errlen);
    if (rc != MT_OK)
        return rc;
    span_t host = hosts[0];
    unsigned port = ports[0];

    /* /DB */
    const char *q = auth_end + strcspn(auth_end, "?");
    span_t db = *auth_end == '/' ? span_between(auth_end + 1, q) : (span_t){ q, 0 };
    if ((rc = parse_db(db, err, errlen)) != MT_OK)
        return rc;

    mt_dsn_t *d = calloc(1, sizeof *d);
    if (!d)
        return MT_ENOMEM;
    d->port = port;
    d->connect_timeout_s = MT_DSN_DEFAULT_CONNECT_TIMEOUT_S;
    d->read_timeout_s = MT_DSN_DEFAULT_READ_TIMEOUT_S;
    d->write_timeout_s = MT_DSN_DEFAULT_WRITE_TIMEOUT_S;

    /* ?PARAM=VALUE&... */
    int verify = -1;
    if (*q == '?') {
        bool seen[P_COUNT] = { false };
        const char *s = q + 1;
        for (;;) {
            const char *amp = s + strcspn(s, "&");
            if ((rc = parse_param(span_between(s, amp), d, seen, &verify, err, errlen)) != MT_OK)
                goto failed;
            if (*amp != '&')
                break;
            s = amp + 1;
        }
    }
    if (!d->ssl_cert != !d->ssl_key) {
        rc = fail(err, errlen, "dsn: ssl_cert and ssl_key go together (a client certificate "
                  "and its key)");
        goto failed;
    }
    d->tls = d->ssl_ca || d->ssl_cert || verify >= 0;
    d->ssl_verify = d->tls && verify != 0;
    if (!host.p && !d->socket) {
        rc = fail(err, errlen, "dsn: host required (or ?socket=PATH)");
        goto failed;
    }
    if (nhosts > 1 && d->socket) {
        rc = fail(err, errlen, "dsn: socket= names one server: not with several hosts");
        goto failed;
    }

    /* userinfo = USER[:PASSWORD] */
    const char *colon = span_find(userinfo, ':');
    span_t user = colon ? span_between(userinfo.p, colon) : userinfo;
    span_t password = colon ? span_between(colon + 1, userinfo.p + userinfo.n) : (span_t){ p, 0 };
    if ((rc = decode(user, "user", &d->user, err, errlen)) != MT_OK ||
        (rc = decode(password, "password", &d->password, err, errlen)) != MT_OK)
        goto failed;

    d->db = span_dup(db);
    if (!d->db || copy_hosts(d, hosts, ports, host.p ? nhosts : 0) != MT_OK) {
        rc = MT_ENOMEM;
        goto failed;
    }
    *out = d;
    return MT_OK;

failed:
    mt_dsn_destroy(&d);
    return rc;
}

void mt_dsn_destroy(mt_dsn_t **p)
{
    if (!p || !*p)
        return;
    mt_dsn_t *d = *p;
    if (d->password)
        explicit_bzero(d->password, strlen(d->password));
    free(d->user);
    free(d->password);
    for (unsigned i = 0; i < d->nhosts; i++)
        free(d->hosts[i].host);
    free(d->hosts);
    free(d->db);
    free(d->socket);
    free(d->ssl_ca);
    free(d->ssl_cert);
    free(d->ssl_key);
    free(d);
    *p = NULL;
}

int mt_dsn_set_password(mt_dsn_t *d, const char *password)
{
    if (!d || !password)
        return MT_EINVAL;
    char *copy = strdup(password);
    if (!copy)
        return MT_ENOMEM;
    if (d->password) {
        explicit_bzero(d->password, strlen(d->password));
        free(d->password);
    }
    d->password = copy;
    return MT_OK;
}

