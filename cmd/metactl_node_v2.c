/*  metactl_node_v2.c — `metactl node versions` (node.versions: the version
    matrix) and `metactl node changes` (node.changes: what changed since a
    revision). metactl_node.c hands these two subcommands here. */
#include "metactl.h"

#include <stdlib.h>
#include <string.h>

const char ctl_usage_node_versions[] =
    "usage: metactl node versions [--selector K=V]...\n"
    "  The version matrix (node.versions): for each component, each version and\n"
    "  how many nodes run it, over the nodes the selector picks (all without\n"
    "  one, whatever their health). Table COMPONENT VERSION NODES, or\n"
    "  {\"components\": {...}} with -o json.\n"
    "  --selector K=V        only nodes whose label K equals V (repeatable: all must)\n";

const char ctl_usage_node_changes[] =
    "usage: metactl node changes --since REV [--limit N]\n"
    "  Every node change with a revision above REV, oldest first, deletes included\n"
    "  (node.changes). Table CHANGE ID REVISION, then `mark M` (the revision to\n"
    "  pass as the next --since), or the reply as JSON with -o json. `expired`\n"
    "  when REV is older than the tombstone retention: list again.\n"
    "  --since REV           a node.list `revision` or a previous `mark`\n"
    "  --limit N             at most N changes, 1-10000 (default 10000)\n";

typedef struct {
    ctl_list_t selector;
    int64_t since, limit;
} v2_args_t;

enum { O_SELECTOR = 256, O_SINCE, O_LIMIT };

static const struct option opts_versions[] = {
    CTL_GLOBAL_LONG,
    { "selector", required_argument, NULL, O_SELECTOR },
    { NULL, 0, NULL, 0 },
};
static const struct option opts_changes[] = {
    CTL_GLOBAL_LONG,
    { "since", required_argument, NULL, O_SINCE },
    { "limit", required_argument, NULL, O_LIMIT },
    { NULL, 0, NULL, 0 },
};

static int v2_opt(void *args, int c, const char *arg, const char *u)
{
    v2_args_t *a = args;
    switch (c) {
    case O_SELECTOR: return ctl_list_add_kv(&a->selector, arg, false, "--selector", u);
    case O_SINCE: return ctl_opt_i64(u, "--since", arg, 0, INT64_MAX, &a->since);
    case O_LIMIT: return ctl_opt_i64(u, "--limit", arg, 1, 10000, &a->limit);
    default: return CTL_NOT_MINE;
    }
}

static const ctl_subcmd_t v2_cmds[] = {
    { "versions", ctl_usage_node_versions, opts_versions },
    { "changes", ctl_usage_node_changes, opts_changes },
};

static const ctl_group_t v2_group = CTL_GROUP(
    "node", "usage: metactl node versions|changes [OPTIONS]", v2_cmds, v2_opt);

static void pack_versions(msgpack_packer *pk, void *arg)
{
    const v2_args_t *a = arg;
    ctl_pack_str(pk, "selector");
    ctl_pack_str_map(pk, &a->selector);
}

static void pack_changes(msgpack_packer *pk, void *arg)
{
    const v2_args_t *a = arg;
    ctl_pack_str(pk, "since");
    msgpack_pack_int64(pk, a->since);
    if (a->limit) {
        ctl_pack_str(pk, "limit");
        msgpack_pack_int64(pk, a->limit);
    }
}

/*  The matrix as rows: (component, version, count), components and
    versions in the order of the reply (the service sorts them). */
typedef struct {
    const msgpack_object *comps;
} matrix_t;

static uint32_t matrix_rows(const msgpack_object *comps)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < comps->via.map.size; i++)
        if (comps->via.map.ptr[i].val.type == MSGPACK_OBJECT_MAP)
            n += comps->via.map.ptr[i].val.via.map.size;
    return n;
}

static void matrix_row(ctl_buf_t *cells, uint32_t row, void *arg)
{
    const matrix_t *m = arg;
    for (uint32_t i = 0; i < m->comps->via.map.size; i++) {
        const msgpack_object *vs = &m->comps->via.map.ptr[i].val;
        if (vs->type != MSGPACK_OBJECT_MAP)
            continue;
        if (row >= vs->via.map.size) {
            row -= vs->via.map.size;
            continue;
        }
        ctl_buf_obj(&cells[0], &m->comps->via.map.ptr[i].key);
        ctl_buf_obj(&cells[1], &vs->via.map.ptr[row].key);
        ctl_buf_obj(&cells[2], &vs->via.map.ptr[row].val);
        return;
    }
}

static int show_versions(const msgpack_object *result, void *arg)
{
    const msgpack_object *comps = ctl_get(result, "components");
    if (!comps || comps->type != MSGPACK_OBJECT_MAP)
        return CTL_EFAIL;
    static const char *const headers[] = { "COMPONENT", "VERSION", "NODES" };
    matrix_t m = { comps };
    ctl_table_show(3, headers, matrix_rows(comps), matrix_row, &m, stdout);
    return CTL_OK;
}

static void change_row(ctl_buf_t *cells, uint32_t row, void *arg)
{
    const msgpack_object *c = &((const msgpack_object *) arg)->via.array.ptr[row];
    ctl_buf_obj(&cells[0], ctl_get(c, "change"));
    ctl_buf_obj(&cells[1], ctl_get(c, "id"));
    ctl_buf_obj(&cells[2], ctl_get(c, "revision"));
}

static int show_changes(const msgpack_object *result, void *arg)
{
    const msgpack_object *ch = ctl_get(result, "changes");
    int64_t mark;
    if (!ch || ch->type != MSGPACK_OBJECT_ARRAY || !ctl_get_i64(result, "mark", &mark))
        return CTL_EFAIL;
    static const char *const headers[] = { "CHANGE", "ID", "REVISION" };
    ctl_table_show(3, headers, ch->via.array.size, change_row, (void *) ch, stdout);
    printf("mark %lld\n", (long long) mark);
    return CTL_OK;
}

int ctl_cmd_node_v2(ctl_t *g, int argc, char **argv)
{
    v2_args_t a = { .since = -1 };
    const ctl_subcmd_t *sc;
    int npos;
    char **pos;
    int rc = ctl_group_parse(&v2_group, g, argc, argv, &a, &sc, &npos, &pos);
    if (rc == CTL_OK && npos > 0)
        rc = ctl_usage_error(sc->usage, "node %s: unexpected argument '%s'", sc->name, pos[0]);
    if (rc == CTL_OK && strcmp(sc->name, "versions") == 0)
        rc = ctl_call_show(g, "node.versions", a.selector.n ? 1 : 0,
                           a.selector.n ? pack_versions : NULL, &a, show_versions);
    else if (rc == CTL_OK && a.since < 0)
        rc = ctl_usage_error(sc->usage, "node changes: --since REV is required");
    else if (rc == CTL_OK)
        rc = ctl_call_show(g, "node.changes", a.limit ? 2 : 1, pack_changes, &a,
                           show_changes);
    ctl_list_free(&a.selector);
    return rc == CTL_HELP_DONE ? CTL_OK : rc;
}
