/*  metactl_rc.c — `metactl rc ...`: rc.add, rc.set, rc.del, rc.get and
    rc.list of PROTOCOL.md (remote cluster references), and how a reference
    view is shown: key/value lines for one, a table for many. */
#include "metactl.h"
#include "mt_model.h"

#include <stdlib.h>
#include <string.h>

#define GLOBALS "  Global options -e, -o, -t are accepted here too (`metactl --help`).\n"

static const char usage_add[] =
    "usage: metactl rc add NAME HOSTNAME [--username U] [--password P] [--demand-encryption]\n"
    "  Adds a reference named NAME to the remote cluster whose replica answers at\n"
    "  HOSTNAME, a request endpoint (tcp://HOST:PORT or ipc://PATH) (rc.add). The\n"
    "  service contacts the remote cluster first (unavailable if it cannot) and\n"
    "  learns its uuid and members; conflict if NAME exists.\n"
    "  --username U          the user to authenticate as (default: none)\n"
    "  --password P          its password: stored, never shown again (note that\n"
    "                        command lines are visible to other local users)\n"
    "  --demand-encryption   require an encrypted connection to the remote cluster\n"
    "  Prints the reference (as `rc get`).\n" GLOBALS;

static const char usage_set[] =
    "usage: metactl rc set NAME|--id ID [--hostname H] [--username U] [--password P]\n"
    "           [--demand-encryption|--no-demand-encryption] [--new-name N] [--revision R]\n"
    "  Changes the reference NAME (or the one with id ID) (rc.set): only what is\n"
    "  given changes; at least one change is required.\n"
    "  --id ID               select the reference by its id instead of its name\n"
    "  --hostname H          a new request endpoint of the remote cluster\n"
    "  --username U          a new user (empty: none)\n"
    "  --password P          a new password\n"
    "  --demand-encryption, --no-demand-encryption\n"
    "                        require an encrypted connection, or stop requiring it\n"
    "  --new-name N          rename the reference to N\n"
    "  --revision R          compare-and-set: change only if the reference's revision\n"
    "                        is still R (conflict otherwise)\n"
    "  Prints the reference (as `rc get`).\n" GLOBALS;

static const char usage_del[] =
    "usage: metactl rc del NAME|--id ID\n"
    "  Deletes the reference NAME (or the one with id ID) on every replica (rc.del).\n"
    "  --id ID               select the reference by its id instead of its name\n" GLOBALS;

static const char usage_get[] =
    "usage: metactl rc get NAME|--id ID|--uuid UUID [--refresh]\n"
    "  Shows a reference (rc.get): key/value lines, or its view as JSON with -o json.\n"
    "  The password is never shown.\n"
    "  --id ID               select the reference by its id\n"
    "  --uuid UUID           select the reference to the remote cluster with this uuid\n"
    "  --refresh             ask the remote cluster for its members first (node_list,\n"
    "                        refreshed_at)\n" GLOBALS;

static const char usage_list[] =
    "usage: metactl rc list\n"
    "  Lists the references sorted by name (rc.list), as a table with the columns\n"
    "  NAME ID HOSTNAME UUID NODES REVISION REFRESHED (NODES: how many endpoints the\n"
    "  last refresh learned; REFRESHED: how long ago), or {\"refs\": [...]} with\n"
    "  -o json.\n" GLOBALS;

static const struct {
    const char *name;
    const char *usage;
} rc_usages[] = {
    { "add", usage_add }, { "set", usage_set }, { "del", usage_del },
    { "get", usage_get }, { "list", usage_list },
};
#define NCMDS (sizeof rc_usages / sizeof rc_usages[0])

/*  Everything any rc command takes. */
typedef struct {
    const char *name, *id, *uuid;   /* selectors (add: name) */
    const char *hostname, *username, *password, *new_name;
    int demand;                     /* -1: not given, else 0 / 1 */
    int64_t revision;               /* 0: not given */
    bool refresh;
} rc_args_t;

enum {
    O_ID = 256, O_UUID, O_HOSTNAME, O_USERNAME, O_PASSWORD, O_DEMAND, O_NO_DEMAND,
    O_NEW_NAME, O_REVISION, O_REFRESH,
};

static const struct option opts_add[] = {
    CTL_GLOBAL_LONG,
    { "username", required_argument, NULL, O_USERNAME },
    { "password", required_argument, NULL, O_PASSWORD },
    { "demand-encryption", no_argument, NULL, O_DEMAND },
    { NULL, 0, NULL, 0 },
};
static const struct option opts_set[] = {
    CTL_GLOBAL_LONG,
    { "id", required_argument, NULL, O_ID },
    { "hostname", required_argument, NULL, O_HOSTNAME },
    { "username", required_argument, NULL, O_USERNAME },
    { "password", required_argument, NULL, O_PASSWORD },
    { "demand-encryption", no_argument, NULL, O_DEMAND },
    { "no-demand-encryption", no_argument, NULL, O_NO_DEMAND },
    { "new-name", required_argument, NULL, O_NEW_NAME },
    { "revision", required_argument, NULL, O_REVISION },
    { NULL, 0, NULL, 0 },
};
static const struct option opts_del[] = {
    CTL_GLOBAL_LONG,
    { "id", required_argument, NULL, O_ID },
    { NULL, 0, NULL, 0 },
};
static const struct option opts_get[] = {
    CTL_GLOBAL_LONG,
    { "id", required_argument, NULL, O_ID },
    { "uuid", required_argument, NULL, O_UUID },
    { "refresh", no_argument, NULL, O_REFRESH },
    { NULL, 0, NULL, 0 },
};
static const struct option opts_list[] = { CTL_GLOBAL_LONG, { NULL, 0, NULL, 0 } };

/*  One option of any rc command into a. */
static int rc_opt(rc_args_t *a, int c, const char *arg, const char *u)
{
    switch (c) {
    case O_ID: a->id = arg; return CTL_OK;
    case O_UUID: a->uuid = arg; return CTL_OK;
    case O_HOSTNAME: a->hostname = arg; return CTL_OK;
    case O_USERNAME: a->username = arg; return CTL_OK;
    case O_PASSWORD: a->password = arg; return CTL_OK;
    case O_DEMAND: a->demand = 1; return CTL_OK;
    case O_NO_DEMAND: a->demand = 0; return CTL_OK;
    case O_NEW_NAME: a->new_name = arg; return CTL_OK;
    case O_REVISION: return ctl_opt_i64(u, "--revision", arg, 1, INT64_MAX, &a->revision);
    case O_REFRESH: a->refresh = true; return CTL_OK;
    default: return -2;             /* not an rc option */
    }
}

/* ---- packing: the pairs given, counted first --------------------------- */

static uint32_t count_args(const rc_args_t *a)
{
    return !!a->name + !!a->id + !!a->uuid + !!a->hostname + !!a->username + !!a->password
           + (a->demand >= 0) + !!a->new_name + !!a->revision + !!a->refresh;
}

static void pack_pair(msgpack_packer *pk, const char *key, const char *value)
{
    if (!value)
        return;
    ctl_pack_str(pk, key);
    ctl_pack_str(pk, value);
}

static void pack_args(msgpack_packer *pk, void *arg)
{
    const rc_args_t *a = arg;
    pack_pair(pk, "name", a->name);
    pack_pair(pk, "id", a->id);
    pack_pair(pk, "uuid", a->uuid);
    pack_pair(pk, "hostname", a->hostname);
    pack_pair(pk, "username", a->username);
    pack_pair(pk, "password", a->password);
    if (a->demand >= 0) {
        ctl_pack_str(pk, "demand_encryption");
        if (a->demand)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
    }
    pack_pair(pk, "new_name", a->new_name);
    if (a->revision) {
        ctl_pack_str(pk, "revision");
        msgpack_pack_int64(pk, a->revision);
    }
    if (a->refresh) {
        ctl_pack_str(pk, "refresh");
        msgpack_pack_true(pk);
    }
}

/* ---- views ------------------------------------------------------------- */

#define KV_WIDTH 20                 /* "demand_encryption:" + 2 */

static const char *const known_keys[] = {
    "id", "name", "hostname", "uuid", "username", "demand_encryption", "node_list",
    "revision", "refreshed_at",
};
#define NKNOWN (sizeof known_keys / sizeof known_keys[0])

static bool is_empty(const msgpack_object *o)
{
    return !o || o->type == MSGPACK_OBJECT_NIL
           || (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 0)
           || (o->type == MSGPACK_OBJECT_MAP && o->via.map.size == 0)
           || (o->type == MSGPACK_OBJECT_STR && o->via.str.size == 0);
}

/*  "2024-05-01T12:00:00.123Z (12.3s ago)", "never" for 0. */
static void add_time(ctl_buf_t *b, const msgpack_object *view, const char *key, int64_t now)
{
    int64_t ms;
    if (!ctl_get_i64(view, key, &ms)) {
        ctl_buf_obj(b, ctl_get(view, key));
        return;
    }
    if (ms == 0) {
        ctl_buf_printf(b, "never");
        return;
    }
    char t[48], d[32];
    ctl_fmt_time(ms, t, sizeof t);
    if (now >= ms)
        ctl_buf_printf(b, "%s (%s ago)", t, ctl_fmt_duration(now - ms, d, sizeof d));
    else
        ctl_buf_printf(b, "%s (in %s)", t, ctl_fmt_duration(ms - now, d, sizeof d));
}

static void print_ref(const msgpack_object *view)
{
    if (!view || view->type != MSGPACK_OBJECT_MAP) {
        printf("(no reference view)\n");
        return;
    }
    int64_t now = mt_wall_ms();
    ctl_buf_t b = { 0 };
    for (size_t i = 0; i < NKNOWN; i++) {
        const msgpack_object *o = ctl_get(view, known_keys[i]);
        if (!o)
            continue;
        ctl_buf_clear(&b);
        if (strcmp(known_keys[i], "refreshed_at") == 0)
            add_time(&b, view, known_keys[i], now);
        else if (is_empty(o))
            ctl_buf_printf(&b, "-");
        else if (o->type == MSGPACK_OBJECT_ARRAY || o->type == MSGPACK_OBJECT_MAP)
            ctl_buf_pairs(&b, o, ", ");
        else
            ctl_buf_obj(&b, o);
        ctl_print_kv(known_keys[i], KV_WIDTH, ctl_buf_str(&b));
    }
    /*  Keys this client does not know (a newer service). */
    for (uint32_t i = 0; i < view->via.map.size; i++) {
        const msgpack_object *k = &view->via.map.ptr[i].key;
        bool known = false;
        for (size_t j = 0; j < NKNOWN && !known; j++)
            known = ctl_str_eq(k, known_keys[j]);
        if (known || k->type != MSGPACK_OBJECT_STR)
            continue;
        char key[64];
        size_t n = k->via.str.size < sizeof key - 1 ? k->via.str.size : sizeof key - 1;
        memcpy(key, k->via.str.ptr, n);
        key[n] = '\0';
        ctl_buf_clear(&b);
        ctl_buf_obj(&b, &view->via.map.ptr[i].val);
        ctl_print_kv(key, KV_WIDTH, ctl_buf_str(&b));
    }
    ctl_buf_free(&b);
}

static void print_ref_list(const msgpack_object *refs)
{
    static const char *const headers[] = {
        "NAME", "ID", "HOSTNAME", "UUID", "NODES", "REVISION", "REFRESHED",
    };
    enum { NCOLS = sizeof headers / sizeof headers[0] };
    ctl_table_t t;
    ctl_table_init(&t, NCOLS, headers);
    ctl_buf_t cell[NCOLS] = { { 0 } };
    int64_t now = mt_wall_ms();
    for (uint32_t i = 0; i < refs->via.array.size; i++) {
        const msgpack_object *v = &refs->via.array.ptr[i];
        for (int c = 0; c < NCOLS; c++)
            ctl_buf_clear(&cell[c]);
        static const char *const str_keys[] = { "name", "id", "hostname", "uuid" };
        for (int c = 0; c < 4; c++) {
            const msgpack_object *o = ctl_get(v, str_keys[c]);
            if (is_empty(o))
                ctl_buf_printf(&cell[c], "-");
            else
                ctl_buf_obj(&cell[c], o);
        }
        const msgpack_object *nodes = ctl_get(v, "node_list");
        if (nodes && nodes->type == MSGPACK_OBJECT_ARRAY)
            ctl_buf_printf(&cell[4], "%u", nodes->via.array.size);
        else
            ctl_buf_printf(&cell[4], "-");
        ctl_buf_obj(&cell[5], ctl_get(v, "revision"));
        int64_t at;
        char d[32];
        if (!ctl_get_i64(v, "refreshed_at", &at) || at == 0)
            ctl_buf_printf(&cell[6], "-");
        else if (now >= at)
            ctl_buf_printf(&cell[6], "%s ago", ctl_fmt_duration(now - at, d, sizeof d));
        else
            ctl_buf_printf(&cell[6], "in %s", ctl_fmt_duration(at - now, d, sizeof d));
        const char *row[NCOLS];
        for (int c = 0; c < NCOLS; c++)
            row[c] = ctl_buf_str(&cell[c]);
        ctl_table_row(&t, row);
    }
    ctl_table_print(&t, stdout);
    for (int c = 0; c < NCOLS; c++)
        ctl_buf_free(&cell[c]);
    ctl_table_free(&t);
}

/* ---- dispatch ---------------------------------------------------------- */

static void usage_all(FILE *f)
{
    fputs("usage: metactl rc COMMAND ...   (remote cluster references)\n\n", f);
    for (size_t i = 0; i < NCMDS; i++)
        fprintf(f, "%s%s", i ? "\n" : "", rc_usages[i].usage);
}

/*  The positional arguments and selectors of cmd, checked. */
static int check_args(const char *cmd, const char *u, rc_args_t *a, int npos, char **pos)
{
    if (strcmp(cmd, "list") == 0) {
        if (npos > 0)
            return ctl_usage_error(u, "rc list: unexpected argument '%s'", pos[0]);
        return CTL_OK;
    }
    if (strcmp(cmd, "add") == 0) {
        if (npos < 2)
            return ctl_usage_error(u, "rc add: %s is missing", npos ? "the HOSTNAME" : "the NAME");
        if (npos > 2)
            return ctl_usage_error(u, "rc add: unexpected argument '%s'", pos[2]);
        a->name = pos[0];
        a->hostname = pos[1];
        return CTL_OK;
    }
    if (npos > 1)
        return ctl_usage_error(u, "rc %s: unexpected argument '%s'", cmd, pos[1]);
    if (npos == 1)
        a->name = pos[0];
    int selectors = !!a->name + !!a->id + !!a->uuid;
    bool get = strcmp(cmd, "get") == 0;
    if (selectors == 0)
        return ctl_usage_error(u, "rc %s: which reference? give its NAME%s", cmd,
                               get ? ", --id ID or --uuid UUID" : " or --id ID");
    if (selectors > 1)
        return ctl_usage_error(u, "rc %s: give only one of NAME%s", cmd,
                               get ? ", --id, --uuid" : " and --id");
    if (strcmp(cmd, "set") == 0 && !a->hostname && !a->username && !a->password
        && a->demand < 0 && !a->new_name)
        return ctl_usage_error(u, "rc set: nothing to change (give --hostname, --username, "
                               "--password, --[no-]demand-encryption or --new-name)");
    return CTL_OK;
}

int ctl_cmd_rc(ctl_t *g, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0
        || strcmp(argv[1], "help") == 0) {
        usage_all(argc < 2 ? stderr : stdout);
        return argc < 2 ? CTL_EUSAGE : CTL_OK;
    }
    const char *cmd = argv[1];
    const char *u = NULL;
    for (size_t i = 0; i < NCMDS; i++)
        if (strcmp(cmd, rc_usages[i].name) == 0)
            u = rc_usages[i].usage;
    if (!u) {
        fprintf(stderr, "metactl: unknown rc command '%s'\n\n", cmd);
        usage_all(stderr);
        return CTL_EUSAGE;
    }
    const struct option *opts = strcmp(cmd, "add") == 0   ? opts_add
                                : strcmp(cmd, "set") == 0 ? opts_set
                                : strcmp(cmd, "del") == 0 ? opts_del
                                : strcmp(cmd, "get") == 0 ? opts_get
                                                          : opts_list;
    rc_args_t a = { .demand = -1 };
    int rc = CTL_OK, c;
    argc--, argv++;                 /* argv[0] is now the rc command */
    ctl_getopt_reset();
    while (rc == CTL_OK && (c = getopt_long(argc, argv, CTL_GLOBAL_SHORT, opts, NULL)) != -1) {
        rc = rc_opt(&a, c, optarg, u);
        if (rc == -2)
            rc = ctl_global_opt(g, c, argv, u);
    }
    if (rc == CTL_OK)
        rc = check_args(cmd, u, &a, argc - optind, argv + optind);
    if (rc != CTL_OK)
        return rc == CTL_HELP_DONE ? CTL_OK : rc;

    mt_client_t *client = ctl_connect(g);
    if (!client)
        return CTL_EUSAGE;
    char op[16];
    snprintf(op, sizeof op, "rc.%s", cmd);
    mt_reply_t r;
    rc = ctl_call(g, client, op, count_args(&a), pack_args, &a, &r);
    if (rc == CTL_OK) {
        if (g->output == CTL_JSON)
            ctl_print_json(stdout, r.result);
        else if (strcmp(cmd, "del") == 0) {
            if (a.name)
                printf("rc %s deleted\n", a.name);
            else
                printf("rc with id %s deleted\n", a.id);
        }
        else if (strcmp(cmd, "list") == 0) {
            const msgpack_object *refs = ctl_get(r.result, "refs");
            if (refs && refs->type == MSGPACK_OBJECT_ARRAY)
                print_ref_list(refs);
            else {
                fprintf(stderr, "internal: the rc.list reply has no \"refs\" array\n");
                rc = CTL_EFAIL;
            }
        }
        else
            print_ref(ctl_get(r.result, "ref"));
        mt_reply_free(&r);
    }
    mt_client_destroy(&client);
    return rc;
}
