/*  metactl_cluster.c — `metactl cluster info` (cluster.info) and
    `metactl stats` (replica.stats). */
#include "metactl.h"

#include <string.h>

static const char usage_cluster[] =
    "usage: metactl cluster info\n"
    "  The cluster's uuid, the replica answering, and the members (cluster.info):\n"
    "  REPLICA_ID ENDPOINT PUB_ENDPOINT [PUBLIC_KEY] ALIVE (PUBLIC_KEY: each\n"
    "  replica's CURVE server key, when the cluster has keys); with -o json the\n"
    "  reply's result.\n"
    "  Global options -e, -o, -t, --server-key, --cert are accepted here too\n"
    "  (`metactl --help`).\n";

static const char usage_stats[] =
    "usage: metactl stats\n"
    "  The counters of the replica answering (replica.stats), one `name  value`\n"
    "  line each (nested maps as dotted names); with -o json the reply's result.\n"
    "  Global options -e, -o, -t, --server-key, --cert are accepted here too\n"
    "  (`metactl --help`).\n";

/*  Global options only. */
static const struct option opts[] = { CTL_GLOBAL_LONG, { NULL, 0, NULL, 0 } };

/*  ALIVE stays last: scripts/service greps for ' true$'. */
static const char *const member_keys[] = {
    "replica_id", "endpoint", "pub_endpoint", "public_key", "alive",
};

typedef struct {
    const msgpack_object *members;
    bool keys;                      /* the PUBLIC_KEY column is shown */
} members_t;

static void member_row(ctl_buf_t *cell, uint32_t i, void *arg)
{
    const members_t *ms = arg;
    const msgpack_object *m = &ms->members->via.array.ptr[i];
    int c = 0;
    for (int k = 0; k < 5; k++) {
        if (k == 3 && !ms->keys)
            continue;
        const msgpack_object *o = ctl_get(m, member_keys[k]);
        if (k == 3 && ctl_is_empty(o))
            mt_buf_printf(&cell[c++], "-");
        else
            ctl_buf_obj(&cell[c++], o);
    }
}

static int show_info(const msgpack_object *res, void *arg)
{
    ctl_buf_t b = { 0 };
    ctl_buf_obj(&b, ctl_get(res, "cluster_uuid"));
    ctl_print_kv("cluster_uuid", 14, mt_buf_str(&b));
    mt_buf_reset(&b);
    ctl_buf_obj(&b, ctl_get(res, "replica_id"));
    ctl_print_kv("replica_id", 14, mt_buf_str(&b));
    mt_buf_free(&b);

    static const char *const headers[] = {
        "REPLICA_ID", "ENDPOINT", "PUB_ENDPOINT", "PUBLIC_KEY", "ALIVE",
    };
    static const char *const headers_plain[] = {
        "REPLICA_ID", "ENDPOINT", "PUB_ENDPOINT", "ALIVE",
    };
    const msgpack_object *m = ctl_get(res, "members");
    uint32_t n = m && m->type == MSGPACK_OBJECT_ARRAY ? m->via.array.size : 0;
    members_t ms = { .members = m };
    for (uint32_t i = 0; i < n && !ms.keys; i++)
        ms.keys = !ctl_is_empty(ctl_get(&m->via.array.ptr[i], "public_key"));
    printf("\n");
    ctl_table_show(ms.keys ? 5 : 4, ms.keys ? headers : headers_plain, n, member_row, &ms,
                   stdout);
    return CTL_OK;
}

/*  Flattens nested maps into rows "a.b  value". */
static void stats_rows(ctl_table_t *t, const msgpack_object *map, const char *prefix)
{
    ctl_buf_t name = { 0 }, value = { 0 };
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        const msgpack_object *v = &map->via.map.ptr[i].val;
        mt_buf_reset(&name);
        mt_buf_reset(&value);
        if (*prefix)
            mt_buf_printf(&name, "%s.", prefix);
        ctl_buf_obj(&name, k);
        if (v->type == MSGPACK_OBJECT_MAP && v->via.map.size > 0) {
            stats_rows(t, v, mt_buf_str(&name));
            continue;
        }
        ctl_buf_obj(&value, v);
        const char *row[2] = { mt_buf_str(&name), mt_buf_str(&value) };
        ctl_table_row(t, row);
    }
    mt_buf_free(&name);
    mt_buf_free(&value);
}

static int show_stats(const msgpack_object *res, void *arg)
{
    static const char *const headers[] = { "NAME", "VALUE" };
    ctl_table_t t;
    ctl_table_init(&t, 2, headers);
    stats_rows(&t, res, "");
    ctl_table_print(&t, stdout);
    ctl_table_free(&t);
    return CTL_OK;
}

int ctl_cmd_cluster(ctl_t *g, int argc, char **argv)
{
    int rc = ctl_getopt_loop(g, argc, argv, opts, usage_cluster, NULL, NULL);
    if (rc != CTL_OK)
        return rc == CTL_HELP_DONE ? CTL_OK : rc;
    if (optind >= argc)
        return ctl_usage_error(usage_cluster, "cluster: which? (info)");
    if (strcmp(argv[optind], "info") != 0)
        return ctl_usage_error(usage_cluster, "unknown cluster command '%s'", argv[optind]);
    if (optind + 1 < argc)
        return ctl_usage_error(usage_cluster, "unexpected argument '%s'", argv[optind + 1]);
    return ctl_call_show(g, "cluster.info", 0, NULL, NULL, show_info);
}

int ctl_cmd_stats(ctl_t *g, int argc, char **argv)
{
    int rc = ctl_getopt_loop(g, argc, argv, opts, usage_stats, NULL, NULL);
    if (rc != CTL_OK)
        return rc == CTL_HELP_DONE ? CTL_OK : rc;
    if (optind < argc)
        return ctl_usage_error(usage_stats, "unexpected argument '%s'", argv[optind]);
    return ctl_call_show(g, "replica.stats", 0, NULL, NULL, show_stats);
}
