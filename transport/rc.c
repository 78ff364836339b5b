/*  rc.c — the remote cluster reference block, its validation, and the
    constructors and drop callbacks of its messages. */
#include "mt_rc.h"

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
        + str_size(t->uuid) + str_size(t->username) + (t->password ? str_size(t->password) : 0);
    for (uint32_t i = 0; i < t->nnodes; i++)
        strings += str_size(t->node_list[i]);
    size_t size = (arrays + strings + 7) & ~(size_t) 7;
    char *block = malloc(size);
    if (!block)
        abort();
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
    /*  Wipe a password before the memory goes back to malloc. */
    if (rc->password)
        memset((char *) rc->password, 0, strlen(rc->password));
    free(rc);
}

mt_rc_t *mt_rc_without_password(const mt_rc_t *rc)
{
    mt_rc_t t = *rc;
    t.password = NULL;
    return mt_rc_build(&t);
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

int mt_rc_endpoint_check(const char *ep, char *err, size_t errlen)
{
    if (!ep || strlen(ep) >= 256)
        FAIL("hostname: must be a request endpoint (tcp://HOST:PORT or ipc://PATH)");
    if (strncmp(ep, "ipc://", 6) == 0 && ep[6])
        return MT_OK;
    if (strncmp(ep, "tcp://", 6) != 0)
        FAIL("hostname: must be a request endpoint (tcp://HOST:PORT or ipc://PATH)");
    const char *colon = strrchr(ep + 6, ':');
    if (!colon || colon == ep + 6)
        FAIL("hostname: %s has no host or port", ep);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535)
        FAIL("hostname: port must be 1-65535");
    for (const char *p = ep + 6; p < colon; p++)
        if (*p <= ' ' || *p == '/')
            FAIL("hostname: invalid host");
    return MT_OK;
}

/* ---- messages ---------------------------------------------------------- */

static void req_drop(mt_msg_t *msg)
{
    mt_rc_req_t *r = mt_rc_req(msg);
    free(r->hostname);
    free(r->username);
    if (r->password) {
        memset(r->password, 0, strlen(r->password));
        free(r->password);
    }
    r->hostname = r->username = r->password = NULL;
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
