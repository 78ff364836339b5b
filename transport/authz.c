/*  authz.c — the role table of mt_authz.h, applied to decoded requests. */
#include "mt_authz.h"

#include <stdio.h>
#include <string.h>

static bool reader_may(mt_op_t op)
{
    switch (op) {
    case MT_OP_NODE_GET: case MT_OP_NODE_LIST:
    case MT_OP_NODE_VERSIONS: case MT_OP_NODE_CHANGES:
    case MT_OP_RC_GET: case MT_OP_RC_LIST:
    case MT_OP_CLUSTER_INFO: case MT_OP_REPLICA_STATS:
        return true;
    default:
        return false;
    }
}

static bool reserved_label(const mt_node_reg_t *reg, const char **key)
{
    size_t n = strlen(MT_RESERVED_LABEL_PREFIX);
    for (uint32_t i = 0; reg && i < reg->nlabels; i++)
        if (strncmp(reg->labels[i].key, MT_RESERVED_LABEL_PREFIX, n) == 0) {
            *key = reg->labels[i].key;
            return true;
        }
    return false;
}

/*  A node certificate: its own node's register, heartbeat and get. */
static int node_check(const char *node, const mt_request_t *req, char *err, size_t errlen)
{
    switch (req->op) {
    case MT_OP_CLUSTER_INFO:
        return MT_OK;
    case MT_OP_NODE_REGISTER: case MT_OP_NODE_HEARTBEAT: case MT_OP_NODE_GET:
        break;
    default:
        snprintf(err, errlen, "a node certificate may not call %s", mt_op_name(req->op));
        return MT_EUNAUTH;
    }
    const mt_node_req_t *r = mt_node_req(req->msg);
    if (strcmp(r->id, node) != 0) {
        snprintf(err, errlen, "the certificate of node '%s' may not act as node '%s'", node, r->id);
        return MT_EUNAUTH;
    }
    const char *key;
    if (req->op == MT_OP_NODE_REGISTER && reserved_label(r->reg, &key)) {
        snprintf(err, errlen, "label '%s': keys under " MT_RESERVED_LABEL_PREFIX
                 " are set by administrators only", key);
        return MT_EUNAUTH;
    }
    return MT_OK;
}

int mt_authz_check(mt_role_t role, const char *node, const mt_request_t *req,
                   char *err, size_t errlen)
{
    switch (role) {
    case MT_ROLE_ADMIN:
        return MT_OK;
    case MT_ROLE_READER:
        if (reader_may(req->op))
            return MT_OK;
        break;
    case MT_ROLE_REPLICA:
        if (req->op == MT_OP_CLUSTER_INFO || req->op == MT_OP_REPLICA_STATS)
            return MT_OK;
        break;
    case MT_ROLE_NODE:
        return node_check(node, req, err, errlen);
    case MT_ROLE_NONE:
        snprintf(err, errlen, "the client's certificate is no longer trusted");
        return MT_EUNAUTH;
    }
    snprintf(err, errlen, "the role %s may not call %s", mt_role_name(role), mt_op_name(req->op));
    return MT_EUNAUTH;
}
