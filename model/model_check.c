/*  model_check.c — validation of node groups, with a message for the
    client that names the field. */
#include "mt_model.h"

#include "mt_labels.h"

#include <stdio.h>
#include <string.h>

/* ---- validation -------------------------------------------------------- */

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return MT_EBADREQ; } while (0)

int mt_node_id_check(const char *id, char *err, size_t errlen)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > MT_NODE_ID_MAX)
        FAIL("id: must be 1-%d characters", MT_NODE_ID_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '.' || c == '-' || c == '_'))
            FAIL("id: only letters, digits, '.', '-' and '_' are allowed");
    }
    return MT_OK;
}

static bool str_ok(const char *s)
{
    return !s || strlen(s) <= MT_STR_MAX;
}

static int check_str_map(const char *what, const mt_str_pair_t *m, uint32_t n,
                         size_t key_max, char *err, size_t errlen)
{
    if (n > MT_MAP_MAX)
        FAIL("%s: at most %d entries", what, MT_MAP_MAX);
    for (uint32_t i = 0; i < n; i++) {
        if (!m[i].key || !*m[i].key)
            FAIL("%s: keys must not be empty", what);
        if (strlen(m[i].key) > key_max)
            FAIL("%s: keys are at most %zu bytes", what, key_max);
        if (!str_ok(m[i].value))
            FAIL("%s: values are at most %d bytes", what, MT_STR_MAX);
    }
    return MT_OK;
}

static int check_int_map(const char *what, const mt_int_pair_t *m, uint32_t n,
                         char *err, size_t errlen)
{
    if (n > MT_MAP_MAX)
        FAIL("%s: at most %d entries", what, MT_MAP_MAX);
    for (uint32_t i = 0; i < n; i++) {
        if (!m[i].key || !*m[i].key)
            FAIL("%s: keys must not be empty", what);
        if (strlen(m[i].key) > MT_KEY_MAX)
            FAIL("%s: keys are at most %d bytes", what, MT_KEY_MAX);
        if (m[i].value < 0)
            FAIL("%s: %s must not be negative", what, m[i].key);
    }
    return MT_OK;
}

int mt_node_reg_check(const mt_node_reg_t *r, char *err, size_t errlen)
{
    if (r->grpc_port < 0 || r->grpc_port > 65535)
        FAIL("grpc_port: must be 1-65535");
    if (!str_ok(r->host_ip) || !str_ok(r->instance_type))
        FAIL("host_ip, instance_type: at most %d bytes", MT_STR_MAX);
    int rc;
    /*  Label keys may be longer than other keys: a prefix and a name
        (mt_labels.h; their syntax is checked where requests are decoded). */
    if ((rc = check_str_map("labels", r->labels, r->nlabels, MT_LABEL_KEY_MAX, err, errlen))
        || (rc = check_int_map("capacity", r->capacity, r->ncapacity, err, errlen))
        || (rc = check_int_map("quota", r->quota, r->nquota, err, errlen))
        || (rc = check_str_map("versions", r->versions, r->nversions, MT_KEY_MAX, err, errlen))
        || (rc = mt_components_check(r->components, r->ncomponents, err, errlen)))
        return rc;
    return MT_OK;
}

int mt_node_status_check(const mt_node_status_t *s, char *err, size_t errlen)
{
    if (s->heartbeat_at < 0)
        FAIL("heartbeat_at: must not be negative");
    if (s->heartbeat_at > MT_TIME_MAX)
        FAIL("heartbeat_at: at most %lld", (long long) MT_TIME_MAX);
    if (s->seen_at < 0 || s->seen_at > MT_TIME_MAX)
        FAIL("seen_at: must be 0-%lld", (long long) MT_TIME_MAX);
    if (s->nconditions > MT_MAP_MAX)
        FAIL("conditions: at most %d entries", MT_MAP_MAX);
    for (uint32_t i = 0; i < s->nconditions; i++) {
        const mt_condition_t *c = &s->conditions[i];
        if (!str_ok(c->type) || !str_ok(c->status) || !str_ok(c->reason) || !str_ok(c->message))
            FAIL("conditions: strings are at most %d bytes", MT_STR_MAX);
    }
    if (s->nimages > MT_LIST_MAX || s->ntemplates > MT_LIST_MAX)
        FAIL("images, local_templates: at most %d items", MT_LIST_MAX);
    for (uint32_t i = 0; i < s->nimages; i++)
        if (!str_ok(s->images[i]))
            FAIL("images: at most %d bytes each", MT_STR_MAX);
    for (uint32_t i = 0; i < s->ntemplates; i++)
        if (!str_ok(s->local_templates[i]))
            FAIL("local_templates: at most %d bytes each", MT_STR_MAX);
    return MT_OK;
}
