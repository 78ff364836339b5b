/*  rc.c — the remote cluster reference block, its validation, and the
    constructors and drop callbacks of its messages. */
#include "mt_rc.h"
#include "mt_alloc.h"

#include "block.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t str_size(const char *s) { return (s ? strlen(s) : 0) + 1; }

static const char *pack(char **at, const char *s)
{
    size_t n = str_size(s);
    char *dst = *at;
    if (s)
        memcpy(dst, s, n);
    else
        *dst = '\0';
    *at += n;
    return dst;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

mt_rc_t *mt_rc_build(const mt_rc_t *t)
{
    size_t arrays = sizeof(mt_rc_t) + t->nnodes * sizeof(char *);
    size_t strings = str_size(t->id) + str_size(t->name) + str_size(t->hostname)
        + str_size(t->uuid) + str_size(t->username) + (t->password ? str_size(t->password) : 0)
        + str_size(t->server_key) + str_size(t->client_public)
        + (t->client_secret ? str_size(t->client_secret) : 0);
    for (uint32_t i = 0; i < t->nnodes; i++)
        strings += str_size(t->node_list[i]);
    size_t size = (arrays + strings + 7) & ~(size_t) 7;
    char *block = mt_xmalloc(size);
    mt_rc_t *r = (mt_rc_t *) block;
    *r = *t;
    atomic_init(&r->refs, 1);
    r->size = (uint32_t) size;
    const char **nodes = (const char **) (block + sizeof(mt_rc_t));
    char *at = block + arrays;
    r->id = pack(&at, t->id);
    r->name = pack(&at, t->name);
    r->hostname = pack(&at, t->hostname);
    r->uuid = pack(&at, t->uuid);
    r->username = pack(&at, t->username);
    r->password = t->password ? pack(&at, t->password) : NULL;
    r->server_key = pack(&at, t->server_key);
    r->client_public = pack(&at, t->client_public);
    r->client_secret = t->client_secret ? pack(&at, t->client_secret) : NULL;
    for (uint32_t i = 0; i < t->nnodes; i++)
        nodes[i] = pack(&at, t->node_list[i]);
    /*  Sorted: equal member sets compare equal, and the deterministic
        choice of a new hostname is the same on every replica. */
    qsort(nodes, t->nnodes, sizeof *nodes, cmp_str);
    r->node_list = nodes;
    return r;
}

mt_rc_t *mt_rc_ref(mt_rc_t *rc)
{
    if (rc)
        mt__block_hold(&rc->refs);
    return rc;
}

void mt_rc_unref(mt_rc_t **rc_p)
{
    mt_rc_t *rc = *rc_p;
    *rc_p = NULL;
    if (!rc || !mt__block_release(&rc->refs))
        return;
    /*  Wipe the secrets before the memory goes back to malloc. */
    mt_rc_wipe((char *) rc->password);
    mt_rc_wipe((char *) rc->client_secret);
    free(rc);
}

mt_rc_t *mt_rc_without_password(const mt_rc_t *rc)
{
    mt_rc_t t = *rc;
    t.password = NULL;
    t.client_secret = NULL;
    return mt_rc_build(&t);
}

void mt_rc_wipe(char *secret)
{
    if (secret)
        explicit_bzero(secret, strlen(secret));
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return MT_EBADREQ; } while (0)

int mt_rc_name_check(const char *name, char *err, size_t errlen)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > MT_RC_NAME_MAX)
        FAIL("name: must be 1-%d bytes", MT_RC_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char) name[i] < 0x20 || name[i] == 0x7f)
            FAIL("name: control characters are not allowed");
    return MT_OK;
}

#define EP_FORM "hostname: must be a request endpoint (tcp://HOST:PORT or ipc://PATH)"
#define EP_MAX 255              /* MT_ENDPOINT_MAX with its NUL */
#define HOST_MAX 253            /* a DNS name */
#define IPC_PATH_MAX 107        /* sockaddr_un.sun_path, with its NUL */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_xdigit(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static bool name_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.'
        || c == '-' || c == '_';
}

/*  A name, an IPv4 address, or [IPv6]: n bytes at h. */
static bool host_ok(const char *h, size_t n)
{
    if (n == 0)
        return false;
    if (h[0] == '[') {
        if (n < 4 || h[n - 1] != ']')
            return false;
        for (size_t i = 1; i < n - 1; i++)
            if (!is_xdigit(h[i]) && h[i] != ':' && h[i] != '.')
                return false;
        return true;
    }
    if (n > HOST_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char(h[i]))
            return false;
    return true;
}

int mt_rc_endpoint_check(const char *ep, char *err, size_t errlen)
{
    if (!ep || strnlen(ep, EP_MAX + 1) > EP_MAX)
        FAIL(EP_FORM);
    if (strncmp(ep, "ipc://", 6) == 0) {
        size_t n = strlen(ep + 6);
        if (n == 0 || n > IPC_PATH_MAX)
            FAIL("hostname: an ipc:// path must be 1-%d bytes", IPC_PATH_MAX);
        for (const char *p = ep + 6; *p; p++)
            if (*p <= ' ' || *p > '~' || *p == ';')
                FAIL("hostname: invalid ipc:// path");
        return MT_OK;
    }
    if (strncmp(ep, "tcp://", 6) != 0)
        FAIL(EP_FORM);
    const char *host = ep + 6, *colon = strrchr(host, ':');
    /*  [IPv6] holds colons: the port's is the one after the ']'. */
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        colon = close && close[1] == ':' ? close + 1 : NULL;
    }
    if (!colon || colon == host || !colon[1])
        FAIL("hostname: tcp:// needs HOST:PORT");
    const char *port = colon + 1;
    size_t pn = strlen(port);
    bool digits = pn <= 5 && port[0] != '0';
    for (size_t i = 0; digits && i < pn; i++)
        digits = is_digit(port[i]);
    long v = digits ? strtol(port, NULL, 10) : 0;
    if (v < 1 || v > 65535)
        FAIL("hostname: port must be 1-65535");
    if (!host_ok(host, (size_t) (colon - host)))
        FAIL("hostname: invalid host");
    return MT_OK;
}

bool mt_rc_endpoint_is_ipc(const char *ep)
{
    return ep && strncmp(ep, "ipc://", 6) == 0;
}

bool mt_rc_endpoint_allowed(const char *ep, bool allow_ipc)
{
    char scratch[8];
    return mt_rc_endpoint_check(ep, scratch, sizeof scratch) == MT_OK
        && (allow_ipc || !mt_rc_endpoint_is_ipc(ep));
}

/* ---- messages ---------------------------------------------------------- */

static void req_drop(mt_msg_t *msg)
{
    mt_rc_req_t *r = mt_rc_req(msg);
    free(r->hostname);
    free(r->username);
    mt_rc_wipe(r->password);
    free(r->password);
    mt_rc_wipe(r->client_secret);
    free(r->client_secret);
    free(r->server_key);
    free(r->client_public);
    r->hostname = r->username = r->password = NULL;
    r->server_key = r->client_public = r->client_secret = NULL;
}

mt_msg_t *mt_rc_req_new(mt_rc_op_t op)
{
    mt_msg_t *msg = mt_msg_new(MT_RC_REQ, sizeof(mt_rc_req_t));
    mt_rc_req(msg)->op = op;
    msg->drop = req_drop;
    return msg;
}

static void reply_drop(mt_msg_t *msg)
{
    mt_rc_reply_t *r = mt_rc_reply(msg);
    mt_rc_unref(&r->ref);
    for (uint32_t i = 0; i < r->nrefs; i++)
        mt_rc_unref(&r->refs[i]);
    free(r->refs);
    r->refs = NULL;
}

mt_msg_t *mt_rc_reply_new(int err, const char *message)
{
    mt_msg_t *msg = mt_msg_new(MT_RC_REPLY, sizeof(mt_rc_reply_t));
    mt_rc_reply_t *r = mt_rc_reply(msg);
    r->err = err;
    if (message)
        snprintf(r->message, sizeof r->message, "%s", message);
    msg->drop = reply_drop;
    return msg;
}

void mt_rc_reply_error(mt_msg_t *req, int err, const char *fmt, ...)
{
    mt_msg_t *reply = mt_rc_reply_new(err, NULL);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(mt_rc_reply(reply)->message, sizeof mt_rc_reply(reply)->message, fmt, ap);
    va_end(ap);
    mt_reply(req, reply);
}

static void changed_drop(mt_msg_t *msg)
{
    mt_rc_unref(&((mt_rc_changed_t *) mt_msg_data(msg))->ref);
}

mt_msg_t *mt_rc_changed_new(mt_node_change_t change, bool local, int64_t revision, mt_rc_t *ref)
{
    mt_msg_t *msg = mt_msg_new(MT_RC_CHANGED, sizeof(mt_rc_changed_t));
    mt_rc_changed_t *c = mt_msg_data(msg);
    c->change = change;
    c->local = local;
    c->revision = revision;
    c->ref = ref;
    msg->drop = changed_drop;
    return msg;
}

static void merge_drop(mt_msg_t *msg)
{
    mt_rc_unref(&((mt_rc_merge_t *) mt_msg_data(msg))->ref);
}

mt_msg_t *mt_rc_merge_new(mt_rc_t *ref)
{
    mt_msg_t *msg = mt_msg_new(MT_RC_MERGE, sizeof(mt_rc_merge_t));
    ((mt_rc_merge_t *) mt_msg_data(msg))->ref = ref;
    msg->drop = merge_drop;
    return msg;
}
