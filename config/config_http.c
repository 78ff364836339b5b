/*  config_http.c — the HTTP listener's address (--http ADDR:PORT) and who
    may reach it. /metrics, /healthz and /readyz are never authenticated
    (Prometheus and load balancers speak no CURVE), so the listener binds
    loopback only unless --http-public says the network is trusted: with
    authentication on, an open port would undo what the certificates
    protect (node names, counts, the cluster's load); without it, the same
    default keeps the two kinds of listener alike. */
#include "config_internal.h"

#include "mt_core.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  HOST:PORT with HOST a name, an IPv4 address or [IPv6] (no *: say
    0.0.0.0 or [::]); PORT 1-65535. The same syntax as tcp:// endpoints. */
int mt__config_check_addr(const char *w, const char *text, char *err, size_t errlen)
{
    const char *form = "ADDR:PORT, e.g. 127.0.0.1:9400 or [::1]:9400";
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text)
        return mt__config_fail(err, errlen, "%s: '%s' is not %s", w, text, form);
    size_t hl = (size_t) (colon - text);
    bool ok = true;
    if (text[0] == '[') {
        ok = hl > 2 && text[hl - 1] == ']';
        for (size_t i = 1; ok && i < hl - 1; i++)
            ok = isxdigit((unsigned char) text[i]) || text[i] == ':' || text[i] == '.';
    }
    else
        for (size_t i = 0; ok && i < hl; i++)
            ok = isalnum((unsigned char) text[i]) || text[i] == '.' || text[i] == '-';
    const char *ps = colon + 1;
    bool digits = *ps && strlen(ps) <= 5;
    for (const char *q = ps; digits && *q; q++)
        digits = isdigit((unsigned char) *q);
    long port = digits ? strtol(ps, NULL, 10) : 0;
    if (!ok || port < 1 || port > 65535)
        return mt__config_fail(err, errlen, "%s: '%s' is not %s", w, text, form);
    return MT_OK;
}

int mt__config_check_http(const mt_config_t *cfg, const collected_t *c, char *err,
                          size_t errlen)
{
    if (!cfg->http || cfg->http_public)
        return MT_OK;
    char ep[300], w[512];
    snprintf(ep, sizeof ep, "tcp://%s", cfg->http);
    if (mt__config_loopback(ep))
        return MT_OK;
    mt__config_where(c, MT_CONFIG_S_HTTP, w, sizeof w);
    return mt__config_fail(err, errlen, "%s: '%s' is not loopback, and /metrics and /readyz are"
                           " not authenticated%s: give --http-public to serve them there all"
                           " the same", w, cfg->http,
                           cfg->cert ? " (the certificates do not cover them)" : "");
}
