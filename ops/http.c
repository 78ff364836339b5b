/*  http.c — the HTTP listener: libmicrohttpd on one internal thread.

    The socket is made and bound here (not by libmicrohttpd) so that a bind
    error reaches the caller with its errno; the daemon then serves it
    (MHD_OPTION_LISTEN_SOCKET). Requests are few and small (a scraper every
    few seconds, a load balancer's probe): one thread, a handful of
    connections, a short timeout, no request body ever read. */
#include "ops_internal.h"

#include "mt_core.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNECTIONS 16
#define CONNECTION_TIMEOUT_S 10

struct mt_ops_http {
    struct MHD_Daemon *daemon;
    int fd;
    mt_ops_opts_t opts;
    char *listen, *version, *replica_id;    /* the opts' strings, owned */
};

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, char *body,
                               const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body,
                                                             MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned status, const char *msg)
{
    char *body = strdup(msg);
    return body ? respond(c, status, body, "text/plain; charset=utf-8") : MHD_NO;
}

static enum MHD_Result readyz(mt_ops_http_t *h, struct MHD_Connection *c)
{
    char why[256] = "", line[300];
    if (!h->opts.ready || h->opts.ready(h->opts.arg, why, sizeof why))
        return text(c, MHD_HTTP_OK, "ready\n");
    snprintf(line, sizeof line, "not ready: %s\n", why);
    return text(c, MHD_HTTP_SERVICE_UNAVAILABLE, line);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version,
                              const char *upload, size_t *upload_size, void **con_cls)
{
    mt_ops_http_t *h = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    if (strcmp(url, "/healthz") == 0)
        return text(c, MHD_HTTP_OK, "ok\n");
    if (strcmp(url, "/readyz") == 0)
        return readyz(h, c);
    if (strcmp(url, "/metrics") == 0) {
        char *body = mt_ops_metrics_render(&h->opts);
        if (!body)
            return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        return respond(c, MHD_HTTP_OK, body, "text/plain; version=0.0.4; charset=utf-8");
    }
    return text(c, MHD_HTTP_NOT_FOUND, "not found: /metrics, /healthz, /readyz\n");
}

/*  "HOST:PORT" or "[V6]:PORT" into getaddrinfo's form. */
static int split(const char *listen, char *host, size_t hostlen, const char **port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || !colon[1])
        return MT_EINVAL;
    const char *h = listen;
    size_t n = (size_t) (colon - listen);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n == 0 || n >= hostlen)
        return MT_EINVAL;
    memcpy(host, h, n);
    host[n] = '\0';
    *port = colon + 1;
    return MT_OK;
}

static int listen_on(const char *addr, int *fd_out, bool *v6, char *err, size_t errlen)
{
    char host[256];
    const char *port;
    if (split(addr, host, sizeof host, &port) != MT_OK) {
        snprintf(err, errlen, "http: '%s' is not ADDR:PORT", addr);
        return MT_EINVAL;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) {
        snprintf(err, errlen, "http: %s: %s", addr, gai_strerror(gai));
        return MT_EINVAL;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    int rc = fd < 0 ? -1 : 0;
    if (rc == 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (rc == 0)
        rc = bind(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc == 0)
        rc = listen(fd, 32);
    *v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    if (rc != 0) {
        snprintf(err, errlen, "http: cannot listen on %s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        return MT_ESYSTEM;
    }
    *fd_out = fd;
    return MT_OK;
}

int mt_ops_http_start(const mt_ops_opts_t *opts, mt_ops_http_t **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    mt_ops_http_t *h = calloc(1, sizeof *h);
    if (!h)
        return MT_ENOMEM;
    h->opts = *opts;
    h->listen = strdup(opts->listen ? opts->listen : "");
    h->version = strdup(opts->version ? opts->version : "");
    h->replica_id = strdup(opts->replica_id ? opts->replica_id : "");
    h->opts.listen = h->listen;
    h->opts.version = h->version;
    h->opts.replica_id = h->replica_id;
    h->fd = -1;
    bool v6 = false;
    int rc = h->listen && h->version && h->replica_id ? MT_OK : MT_ENOMEM;
    if (rc == MT_OK)
        rc = listen_on(h->listen, &h->fd, &v6, err, errlen);
    if (rc == MT_OK) {
        h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | (v6 ? MHD_USE_IPv6 : 0),
                                     0, NULL, NULL, handle, h,
                                     MHD_OPTION_LISTEN_SOCKET, h->fd,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned) MAX_CONNECTIONS,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) CONNECTION_TIMEOUT_S,
                                     MHD_OPTION_END);
        if (!h->daemon) {
            snprintf(err, errlen, "http: cannot start serving %s", h->listen);
            rc = MT_ESYSTEM;
        }
    }
    if (rc != MT_OK) {
        mt_ops_http_destroy(&h);
        return rc;
    }
    *out = h;
    return MT_OK;
}

void mt_ops_http_destroy(mt_ops_http_t **self_p)
{
    mt_ops_http_t *h = *self_p;
    if (!h)
        return;
    *self_p = NULL;
    if (h->daemon)
        MHD_stop_daemon(h->daemon);     /* joins its thread */
    if (h->fd >= 0)
        close(h->fd);                   /* MHD leaves a socket it was given */
    free(h->listen);
    free(h->version);
    free(h->replica_id);
    free(h);
}
