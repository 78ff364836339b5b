/*  metactl_node.c — `metactl node ...`: node.register, node.heartbeat,
    node.labels, node.get, node.delete and node.list of PROTOCOL.md. */
#include "metactl.h"
#include "mt_alloc.h"

#include <stdlib.h>
#include <string.h>

#define GLOBALS "  Global options -e, -o, -t, --server-key, --cert are accepted here too\n" \
    "  (`metactl --help`).\n"

static const char usage_register[] =
    "usage: metactl node register ID [--host-ip IP] [--grpc-port N] [--instance-type T]\n"
    "           [--label K=V]... [--capacity K=N]... [--quota K=N]... [--version C=V]...\n"
    "  Creates node ID, or replaces its registration group (node.register): the\n"
    "  maps given replace the stored ones (a map not given becomes empty), except\n"
    "  labels, which are merged into the stored labels (these win on a conflict).\n"
    "  --host-ip IP          the node's address\n"
    "  --grpc-port N         its gRPC port, 1-65535\n"
    "  --instance-type T     its instance type\n"
    "  --label K=V           a label (repeatable)\n"
    "  --capacity K=N        a capacity, e.g. cpu_milli=4000 (repeatable)\n"
    "  --quota K=N           a quota (repeatable)\n"
    "  --version C=V         a component's version (repeatable)\n"
    "  Prints the node (as `node get`).\n" GLOBALS;

static const char usage_heartbeat[] =
    "usage: metactl node heartbeat ID [--ready|--not-ready] [--image I]... [--template T]...\n"
    "           [--condition TYPE=STATUS[:REASON[:MESSAGE]]]... [--at MS]\n"
    "  Reports node ID's status (node.heartbeat); not_found if never registered.\n"
    "  --ready, --not-ready  what the node reports (default: ready)\n"
    "  --image I             an image present on the node (repeatable)\n"
    "  --template T          a local template (repeatable)\n"
    "  --condition C         a condition TYPE=STATUS[:REASON[:MESSAGE]] (repeatable;\n"
    "                        the message is the rest, colons included)\n"
    "  --at MS               heartbeat time, ms since the epoch (default: the replica's\n"
    "                        clock)\n"
    "  Prints the node (as `node get`).\n" GLOBALS;

static const char usage_labels[] =
    "usage: metactl node labels ID [--set K=V]... [--remove K]...\n"
    "  Sets and removes labels of node ID (node.labels).\n"
    "  --set K=V             set label K to V (repeatable)\n"
    "  --remove K            remove label K (repeatable)\n"
    "  Prints the node (as `node get`).\n" GLOBALS;

static const char usage_get[] =
    "usage: metactl node get ID\n"
    "  Shows node ID (node.get): key/value lines, or its view as JSON with -o json.\n"
    GLOBALS;

static const char usage_delete[] =
    "usage: metactl node delete ID\n"
    "  Deletes node ID (node.delete) on every replica.\n" GLOBALS;

static const char usage_list[] =
    "usage: metactl node list [--healthy] [--schedulable] [--selector K=V]... [--after ID]\n"
    "                         [--limit N] [--all] [--has-template T] [--has-image I]\n"
    "  Lists nodes sorted by id (node.list), as a table with the columns\n"
    "  ID HEALTHY READY HOST_IP PORT LABELS HEARTBEAT_AGE, or {\"nodes\": [...],\n"
    "  \"next\"?} with -o json.\n"
    "  --healthy             healthy nodes only\n"
    "  --schedulable         schedulable nodes only (healthy, not cordoned, labels readable)\n"
    "  --has-template T      only nodes whose local_templates hold T\n"
    "  --has-image I         only nodes whose images hold I\n"
    "  --selector K=V        only nodes whose label K equals V (repeatable: all must)\n"
    "  --after ID            start after node ID\n"
    "  --limit N             at most N nodes (0: no limit, the default); when the\n"
    "                        limit cuts the list, the reply's `next` is the id to pass\n"
    "                        to --after (table mode says so on stderr)\n"
    "  --all                 follow `next` until the end, N nodes per call (default\n"
    "                        1000); prints one list\n" GLOBALS;

/*  Everything any node command takes. */
typedef struct {
    const char *id;
    const char *host_ip, *instance_type;
    int64_t grpc_port;
    ctl_list_t labels, capacity, quota, versions;
    bool ready;
    ctl_list_t images, templates, conditions;
    int64_t at;
    ctl_list_t set, remove;
    bool healthy, schedulable;
    ctl_list_t selector;
    const char *after;
    int64_t limit;
    bool all;
    const char *has_template, *has_image;   /* list */
} node_args_t;

enum {
    O_HOST_IP = 256, O_GRPC_PORT, O_INSTANCE_TYPE, O_LABEL, O_CAPACITY, O_QUOTA,
    O_VERSION, O_READY, O_NOT_READY, O_IMAGE, O_TEMPLATE, O_CONDITION, O_AT, O_SET,
    O_REMOVE, O_HEALTHY, O_SELECTOR, O_AFTER, O_LIMIT, O_ALL, O_SCHEDULABLE, O_HAS_TEMPLATE, O_HAS_IMAGE,
};

static const struct option opts_register[] = {
    CTL_GLOBAL_LONG,
    { "host-ip", required_argument, NULL, O_HOST_IP },
    { "grpc-port", required_argument, NULL, O_GRPC_PORT },
    { "instance-type", required_argument, NULL, O_INSTANCE_TYPE },
    { "label", required_argument, NULL, O_LABEL },
    { "capacity", required_argument, NULL, O_CAPACITY },
    { "quota", required_argument, NULL, O_QUOTA },
    { "version", required_argument, NULL, O_VERSION },
    { NULL, 0, NULL, 0 },
};
static const struct option opts_heartbeat[] = {
    CTL_GLOBAL_LONG,
    { "ready", no_argument, NULL, O_READY },
    { "not-ready", no_argument, NULL, O_NOT_READY },
    { "image", required_argument, NULL, O_IMAGE },
    { "template", required_argument, NULL, O_TEMPLATE },
    { "condition", required_argument, NULL, O_CONDITION },
    { "at", required_argument, NULL, O_AT },
    { NULL, 0, NULL, 0 },
};
static const struct option opts_labels[] = {
    CTL_GLOBAL_LONG,
    { "set", required_argument, NULL, O_SET },
    { "remove", required_argument, NULL, O_REMOVE },
    { NULL, 0, NULL, 0 },
};
static const struct option opts_none[] = { CTL_GLOBAL_LONG, { NULL, 0, NULL, 0 } };
static const struct option opts_list[] = {
    CTL_GLOBAL_LONG,
    { "healthy", no_argument, NULL, O_HEALTHY },
    { "schedulable", no_argument, NULL, O_SCHEDULABLE },
    { "selector", required_argument, NULL, O_SELECTOR },
    { "after", required_argument, NULL, O_AFTER },
    { "limit", required_argument, NULL, O_LIMIT },
    { "all", no_argument, NULL, O_ALL },
    { "has-template", required_argument, NULL, O_HAS_TEMPLATE },
    { "has-image", required_argument, NULL, O_HAS_IMAGE },
    { NULL, 0, NULL, 0 },
};

/*  One option of any node command into a (a node_args_t). */
static int node_opt(void *args, int c, const char *arg, const char *u)
{
    node_args_t *a = args;
    switch (c) {
    case O_HOST_IP: a->host_ip = arg; return CTL_OK;
    case O_INSTANCE_TYPE: a->instance_type = arg; return CTL_OK;
    case O_GRPC_PORT: return ctl_opt_i64(u, "--grpc-port", arg, 1, 65535, &a->grpc_port);
    case O_LABEL: return ctl_list_add_kv(&a->labels, arg, false, "--label", u);
    case O_CAPACITY: return ctl_list_add_kv(&a->capacity, arg, true, "--capacity", u);
    case O_QUOTA: return ctl_list_add_kv(&a->quota, arg, true, "--quota", u);
    case O_VERSION: return ctl_list_add_kv(&a->versions, arg, false, "--version", u);
    case O_READY: a->ready = true; return CTL_OK;
    case O_NOT_READY: a->ready = false; return CTL_OK;
    case O_IMAGE: ctl_list_add(&a->images, arg); return CTL_OK;
    case O_TEMPLATE: ctl_list_add(&a->templates, arg); return CTL_OK;
    case O_CONDITION: return ctl_list_add_kv(&a->conditions, arg, false, "--condition", u);
    case O_AT: return ctl_opt_i64(u, "--at", arg, 1, INT64_MAX, &a->at);
    case O_SET: return ctl_list_add_kv(&a->set, arg, false, "--set", u);
    case O_REMOVE: ctl_list_add(&a->remove, arg); return CTL_OK;
    case O_HEALTHY: a->healthy = true; return CTL_OK;
    case O_SCHEDULABLE: a->schedulable = true; return CTL_OK;
    case O_SELECTOR: return ctl_list_add_kv(&a->selector, arg, false, "--selector", u);
    case O_AFTER: a->after = arg; return CTL_OK;
    case O_LIMIT: return ctl_opt_i64(u, "--limit", arg, 0, UINT32_MAX, &a->limit);
    case O_ALL: a->all = true; return CTL_OK;
    case O_HAS_TEMPLATE: a->has_template = arg; return CTL_OK;
    case O_HAS_IMAGE: a->has_image = arg; return CTL_OK;
    default: return CTL_NOT_MINE;
    }
}

static void args_free(node_args_t *a)
{
    ctl_list_t *lists[] = { &a->labels, &a->capacity, &a->quota, &a->versions, &a->images,
                            &a->templates, &a->conditions, &a->set, &a->remove, &a->selector };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        ctl_list_free(lists[i]);
}

/* ---- packing: each packs exactly the pairs its count function says ----- */

static uint32_t count_register(const node_args_t *a)
{
    return 1;                       /* "node" */
}

static void pack_register(msgpack_packer *pk, void *arg)
{
    const node_args_t *a = arg;
    uint32_t n = 1 + !!a->host_ip + !!a->grpc_port + !!a->instance_type + !!a->labels.n
                 + !!a->capacity.n + !!a->quota.n + !!a->versions.n;
    ctl_pack_str(pk, "node");
    msgpack_pack_map(pk, n);
    ctl_pack_str(pk, "id");
    ctl_pack_str(pk, a->id);
    if (a->host_ip) {
        ctl_pack_str(pk, "host_ip");
        ctl_pack_str(pk, a->host_ip);
    }
    if (a->grpc_port) {
        ctl_pack_str(pk, "grpc_port");
        msgpack_pack_int64(pk, a->grpc_port);
    }
    if (a->instance_type) {
        ctl_pack_str(pk, "instance_type");
        ctl_pack_str(pk, a->instance_type);
    }
    if (a->labels.n) {
        ctl_pack_str(pk, "labels");
        ctl_pack_str_map(pk, &a->labels);
    }
    if (a->capacity.n) {
        ctl_pack_str(pk, "capacity");
        ctl_pack_int_map(pk, &a->capacity);
    }
    if (a->quota.n) {
        ctl_pack_str(pk, "quota");
        ctl_pack_int_map(pk, &a->quota);
    }
    if (a->versions.n) {
        ctl_pack_str(pk, "versions");
        ctl_pack_str_map(pk, &a->versions);
    }
}

static uint32_t count_heartbeat(const node_args_t *a)
{
    return 2 + !!a->images.n + !!a->templates.n + !!a->conditions.n + !!a->at;
}

/*  "STATUS[:REASON[:MESSAGE]]" → status, reason, message. */
static void pack_condition(msgpack_packer *pk, const ctl_kv_t *c)
{
    const char *rest = c->value;
    const char *parts[3] = { "", "", "" };
    size_t lens[3] = { 0, 0, 0 };
    for (int i = 0; i < 3; i++) {
        const char *colon = i < 2 ? strchr(rest, ':') : NULL;
        parts[i] = rest;
        lens[i] = colon ? (size_t) (colon - rest) : strlen(rest);
        if (!colon) {
            rest = rest + lens[i];
            for (int j = i + 1; j < 3; j++)
                parts[j] = rest;
            break;
        }
        rest = colon + 1;
    }
    msgpack_pack_map(pk, 4);
    ctl_pack_str(pk, "type");
    ctl_pack_str(pk, c->key);
    static const char *const keys[3] = { "status", "reason", "message" };
    for (int i = 0; i < 3; i++) {
        ctl_pack_str(pk, keys[i]);
        msgpack_pack_str_with_body(pk, parts[i], lens[i]);
    }
}

static void pack_heartbeat(msgpack_packer *pk, void *arg)
{
    const node_args_t *a = arg;
    ctl_pack_str(pk, "id");
    ctl_pack_str(pk, a->id);
    ctl_pack_str(pk, "ready");
    if (a->ready)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    if (a->images.n) {
        ctl_pack_str(pk, "images");
        ctl_pack_str_array(pk, &a->images);
    }
    if (a->templates.n) {
        ctl_pack_str(pk, "local_templates");
        ctl_pack_str_array(pk, &a->templates);
    }
    if (a->conditions.n) {
        ctl_pack_str(pk, "conditions");
        msgpack_pack_array(pk, a->conditions.n);
        for (uint32_t i = 0; i < a->conditions.n; i++)
            pack_condition(pk, &a->conditions.items[i]);
    }
    if (a->at) {
        ctl_pack_str(pk, "heartbeat_at");
        msgpack_pack_int64(pk, a->at);
    }
}

static uint32_t count_labels(const node_args_t *a)
{
    return 1 + !!a->set.n + !!a->remove.n;
}

static void pack_labels(msgpack_packer *pk, void *arg)
{
    const node_args_t *a = arg;
    ctl_pack_str(pk, "id");
    ctl_pack_str(pk, a->id);
    if (a->set.n) {
        ctl_pack_str(pk, "set");
        ctl_pack_str_map(pk, &a->set);
    }
    if (a->remove.n) {
        ctl_pack_str(pk, "remove");
        ctl_pack_str_array(pk, &a->remove);
    }
}

static uint32_t count_id(const node_args_t *a)
{
    return 1;
}

static void pack_id(msgpack_packer *pk, void *arg)
{
    const node_args_t *a = arg;
    ctl_pack_str(pk, "id");
    ctl_pack_str(pk, a->id);
}

static uint32_t count_list(const node_args_t *a)
{
    return !!a->healthy + !!a->schedulable + !!a->selector.n + !!a->after + !!a->limit
        + !!a->has_template + !!a->has_image;
}

static void pack_list(msgpack_packer *pk, void *arg)
{
    const node_args_t *a = arg;
    if (a->healthy) {
        ctl_pack_str(pk, "healthy_only");
        msgpack_pack_true(pk);
    }
    if (a->schedulable) {
        ctl_pack_str(pk, "schedulable_only");
        msgpack_pack_true(pk);
    }
    if (a->selector.n) {
        ctl_pack_str(pk, "selector");
        ctl_pack_str_map(pk, &a->selector);
    }
    if (a->after) {
        ctl_pack_str(pk, "after");
        ctl_pack_str(pk, a->after);
    }
    if (a->limit) {
        ctl_pack_str(pk, "limit");
        msgpack_pack_uint64(pk, (uint64_t) a->limit);
    }
    if (a->has_template) {
        ctl_pack_str(pk, "has_template");
        ctl_pack_str(pk, a->has_template);
    }
    if (a->has_image) {
        ctl_pack_str(pk, "has_image");
        ctl_pack_str(pk, a->has_image);
    }
}

/* ---- list (may take several calls) ------------------------------------- */

static int run_list(ctl_t *g, mt_client_t **c_p, node_args_t *a)
{
    if (a->all && !a->limit)
        a->limit = 1000;
    mt_reply_t *pages = NULL;
    uint32_t npages = 0, nviews = 0;
    int rc = CTL_OK;
    char next[512] = "", after[512];
    for (;;) {
        pages = mt_xreallocarray(pages, npages + 1, sizeof *pages);
        rc = ctl_call(g, c_p, "node.list", count_list(a), pack_list, a, &pages[npages]);
        if (rc != CTL_OK)
            break;
        const msgpack_object *nodes = ctl_get(pages[npages].result, "nodes");
        npages++;
        if (!nodes || nodes->type != MSGPACK_OBJECT_ARRAY) {
            fprintf(stderr, "internal: the node.list reply has no \"nodes\" array\n");
            rc = CTL_EFAIL;
            break;
        }
        nviews += nodes->via.array.size;
        ctl_get_str(pages[npages - 1].result, "next", next, sizeof next);
        if (!a->all || !next[0])
            break;
        if (nodes->via.array.size == 0 || (a->after && strcmp(a->after, next) == 0)) {
            fprintf(stderr, "internal: node.list does not advance past '%s'\n", next);
            rc = CTL_EFAIL;
            break;
        }
        snprintf(after, sizeof after, "%s", next);
        a->after = after;
    }
    if (rc == CTL_OK && g->output == CTL_JSON && npages == 1)
        ctl_print_json(stdout, pages[0].result);
    else if (rc == CTL_OK) {
        const msgpack_object **views = mt_xcalloc(nviews, sizeof *views);
        uint32_t k = 0;
        for (uint32_t p = 0; p < npages; p++) {
            const msgpack_object *nodes = ctl_get(pages[p].result, "nodes");
            for (uint32_t i = 0; i < nodes->via.array.size; i++)
                views[k++] = &nodes->via.array.ptr[i];
        }
        if (g->output == CTL_JSON) {
            /*  --all over several pages: one {"nodes": [...]}. */
            fputs("{\"nodes\":[", stdout);
            for (uint32_t i = 0; i < k; i++) {
                char *json = ctl_json(views[i]);
                printf("%s%s", i ? "," : "", json);
                free(json);
            }
            fputs("]}\n", stdout);
        }
        else {
            ctl_print_node_list(views, k);
            if (!a->all && next[0])
                fprintf(stderr, "(more nodes follow: --after %s, or --all)\n", next);
        }
        free(views);
    }
    for (uint32_t p = 0; p < npages; p++)
        mt_reply_free(&pages[p]);
    free(pages);
    return rc;
}

/* ---- dispatch ---------------------------------------------------------- */

static int show_node(const msgpack_object *result, void *arg)
{
    ctl_print_node(ctl_get(result, "node"));
    return CTL_OK;
}

static int show_deleted(const msgpack_object *result, void *arg)
{
    printf("node %s deleted\n", ((const node_args_t *) arg)->id);
    return CTL_OK;
}

static const ctl_subcmd_t node_cmds[] = {
    { "register", usage_register, opts_register },
    { "heartbeat", usage_heartbeat, opts_heartbeat },
    { "labels", usage_labels, opts_labels },
    { "get", usage_get, opts_none },
    { "delete", usage_delete, opts_none },
    { "list", usage_list, opts_list },
};

static const ctl_group_t node_group = CTL_GROUP(
    "node", "usage: metactl node COMMAND ID|... [OPTIONS]   (the node operations)", node_cmds,
    node_opt);

/*  The one call of a command other than list: its pairs and how its
    reply is shown. */
static int run_one(const ctl_t *g, const char *cmd, node_args_t *a)
{
    uint32_t n;
    mt_client_pack_fn *pack;
    char op[32];
    snprintf(op, sizeof op, "node.%s", cmd);
    if (strcmp(cmd, "register") == 0)
        n = count_register(a), pack = pack_register;
    else if (strcmp(cmd, "heartbeat") == 0)
        n = count_heartbeat(a), pack = pack_heartbeat;
    else if (strcmp(cmd, "labels") == 0)
        n = count_labels(a), pack = pack_labels;
    else
        n = count_id(a), pack = pack_id;
    return ctl_call_show(g, op, n, pack, a,
                         strcmp(cmd, "delete") == 0 ? show_deleted : show_node);
}

int ctl_cmd_node(ctl_t *g, int argc, char **argv)
{
    node_args_t a = { .ready = true };
    const ctl_subcmd_t *sc;
    int npos;
    char **pos;
    int rc = ctl_group_parse(&node_group, g, argc, argv, &a, &sc, &npos, &pos);
    bool is_list = rc == CTL_OK && strcmp(sc->name, "list") == 0;
    if (rc == CTL_OK) {
        if (!is_list && npos < 1)
            rc = ctl_usage_error(sc->usage, "node %s: the node ID is missing", sc->name);
        else if (npos > (is_list ? 0 : 1))
            rc = ctl_usage_error(sc->usage, "node %s: unexpected argument '%s'", sc->name,
                                 pos[is_list ? 0 : 1]);
        else if (!is_list)
            a.id = pos[0];
    }
    if (rc == CTL_OK && is_list) {
        mt_client_t *client = ctl_connect(g);
        rc = client ? run_list(g, &client, &a) : CTL_EUSAGE;
        mt_client_destroy(&client);
    }
    else if (rc == CTL_OK)
        rc = run_one(g, sc->name, &a);
    args_free(&a);
    return rc == CTL_HELP_DONE ? CTL_OK : rc;
}
