/*  dsn_format.c — a parsed DSN back to text (mt_dsn.h): with its password
    for a program that hands it on, or redacted for a log. Several hosts
    are written in their order, so the text parses back to the same DSN. */
#include "mt_dsn.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*  Writes s percent-encoding every byte outside RFC 3986's unreserved set
    and keep (characters harmless where s goes). */
static void put_encoded(FILE *f, const char *s, const char *keep)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (is_alnum((char)c) || strchr("-._~", c) || (keep && strchr(keep, c)))
            fputc(c, f);
        else
            fprintf(f, "%%%02X", c);
    }
}

/*  The DSN as text; the password as "***" if redact. */
static char *format(const mt_dsn_t *d, bool redact)
{
    if (!d)
        return NULL;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;

    fputs("mysql://", f);
    bool has_password = d->password && d->password[0];
    if ((d->user && d->user[0]) || has_password) {
        put_encoded(f, d->user ? d->user : "", NULL);
        if (has_password && redact)
            fputs(":***", f);
        else if (has_password) {
            fputc(':', f);
            put_encoded(f, d->password, NULL);
        }
        fputc('@', f);
    }
    for (unsigned i = 0; i < d->nhosts; i++) {
        const mt_dsn_host_t *h = &d->hosts[i];
        fprintf(f, strchr(h->host, ':') ? "%s[%s]:%u" : "%s%s:%u", i ? "," : "", h->host,
                h->port);
    }
    if (d->nhosts == 0 && d->port != MT_DSN_DEFAULT_PORT)
        fprintf(f, ":%u", d->port);
    fprintf(f, "/%s", d->db ? d->db : "");

    char sep = '?';
    const struct { const char *name, *value; } paths[] = {
        { "socket", d->socket }, { "ssl_ca", d->ssl_ca }, { "ssl_cert", d->ssl_cert },
        { "ssl_key", d->ssl_key },
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (paths[i].value) {
            fprintf(f, "%c%s=", sep, paths[i].name);
            put_encoded(f, paths[i].value, "/+,;:=!$'()*");
            sep = '&';
        }
    }
    const struct { const char *name; unsigned value, dflt; } t[] = {
        { "connect_timeout", d->connect_timeout_s, MT_DSN_DEFAULT_CONNECT_TIMEOUT_S },
        { "read_timeout", d->read_timeout_s, MT_DSN_DEFAULT_READ_TIMEOUT_S },
        { "write_timeout", d->write_timeout_s, MT_DSN_DEFAULT_WRITE_TIMEOUT_S },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (t[i].value != t[i].dflt) {
            fprintf(f, "%c%s=%u", sep, t[i].name, t[i].value);
            sep = '&';
        }
    }
    /*  TLS verifies by default: ssl_verify is written when it is not, or
        when it alone asks for TLS. */
    if (d->tls && !d->ssl_verify)
        fprintf(f, "%cssl_verify=false", sep);
    else if (d->tls && !d->ssl_ca && !d->ssl_cert)
        fprintf(f, "%cssl_verify=true", sep);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

char *mt_dsn_format_redacted(const mt_dsn_t *d)
{
    return format(d, true);
}

char *mt_dsn_format(const mt_dsn_t *d)
{
    return format(d, false);
}
