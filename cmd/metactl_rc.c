/*  metactl_rc.c — `metactl rc ...`: rc.add, rc.set, rc.del, rc.get and
    rc.list of PROTOCOL.md (remote cluster references), and how a reference
    view is shown: key/value lines for one, a table for many.

    A reference may pin the remote's server key and carry the keypair this
    cluster presents to it (client_public + client_secret, from a zcert
    file). The secret is sent, never printed, and wiped after the call. */
#include "metactl.h"
#include "mt_model.h"

#include <stdlib.h>
#include <string.h>

#define GLOBALS "  Global options -e, -o, -t, --server-key, --cert are accepted here too\n" \
    "  (`metactl --help`).\n"

static const char usage_add[] =
    "usage: metactl rc add NAME HOSTNAME [--username U] [--password P]\n"
    "           [--remote-key KEY|FILE] [--client-cert FILE] [--demand-encryption]\n"
    "  Adds a reference named NAME to the remote cluster whose replica answers at\n"
    "  HOSTNAME, a request endpoint (tcp://HOST:PORT or ipc://PATH) (rc.add). The\n"
    "  service contacts the remote cluster first (unavailable if it cannot) and\n"
    "  learns its uuid and members; conflict if NAME exists.\n"
    "  --username U          the user to authenticate as (default: none)\n"
    "  --password P          its password: stored, never shown again (note that\n"
    "                        command lines are visible to other local users)\n"
    "  --remote-key KEY|FILE\n"
    "                        the remote cluster's public server key, pinned: Z85 (40\n"
    "                        characters) or its public certificate file. The remote\n"
    "                        is then contacted over CURVE, and a remote answering\n"
    "                        with another key is not answering\n"
    "  --client-cert FILE    the certificate this cluster presents to the remote (FILE\n"
    "                        and FILE_secret, from `metactl cert new ... --role\n"
    "                        replica`): its keypair is sent (client_public,\n"
    "                        client_secret) and stored; the secret is never shown.\n"
    "                        Send it over CURVE (--server-key), or a warning says so\n"
    "  --demand-encryption   contact the remote cluster only ever over CURVE (needs\n"
    "                        --remote-key)\n"
    "  Prints the reference (as `rc get`).\n" GLOBALS;

static const char usage_set[] =
    "usage: metactl rc set NAME|--id ID [--hostname H] [--username U] [--password P]\n"
    "           [--remote-key KEY|FILE] [--client-cert FILE]\n"
    "           [--demand-encryption|--no-demand-encryption] [--new-name N] [--revision R]\n"
    "  Changes the reference NAME (or the one with id ID) (rc.set): only what is\n"
    "  given changes; at least one change is required.\n"
    "  --id ID               select the reference by its id instead of its name\n"
    "  --hostname H          a new request endpoint of the remote cluster\n"
    "  --username U          a new user (empty: none)\n"
    "  --password P          a new password\n"
    "  --remote-key KEY|FILE\n"
    "                        a new pinned server key of the remote (as for rc add);\n"
    "                        '' removes the pin\n"
    "  --client-cert FILE    a new keypair to present to the remote (as for rc add);\n"
    "                        '' removes it\n"
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

/*  Everything any rc command takes. */
typedef struct {
    const char *name, *id, *uuid;   /* selectors (add: name) */
    const char *hostname, *username, *password, *new_name;
    int demand;                     /* -1: not given, else 0 / 1 */
    int64_t revision;               /* 0: not given */
    bool refresh;
    const char *remote_key;         /* --remote-key as given */
    const char *client_cert;        /* --client-cert as given */
    /*  What they resolve to ("" clears, on rc set), packed as given. */
    char server_key[41];
    char client_public[41];
    char client_secret[41];
} rc_args_t;

enum {
    O_ID = 256, O_UUID, O_HOSTNAME, O_USERNAME, O_PASSWORD, O_DEMAND, O_NO_DEMAND,
    O_NEW_NAME, O_REVISION, O_REFRESH, O_REMOTE_KEY, O_CLIENT_CERT,
};

static const struct option opts_add[] = {
    CTL_GLOBAL_LONG,
    { "username", required_argument, NULL, O_USERNAME },
    { "password", required_argument, NULL, O_PASSWORD },
    { "demand-encryption", no_argument, NULL, O_DEMAND },
    { "remote-key", required_argument, NULL, O_REMOTE_KEY },
    { "client-cert", required_argument, NULL, O_CLIENT_CERT },
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
    { "remote-key", required_argument, NULL, O_REMOTE_KEY },
    { "client-cert", required_argument, NULL, O_CLIENT_CERT },
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

/*  One option of any rc command into a (an rc_args_t). */
static int rc_opt(void *args, int c, const char *arg, const char *u)
{
    rc_args_t *a = args;
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
    case O_REMOTE_KEY: a->remote_key = arg; return CTL_OK;
    case O_CLIENT_CERT: a->client_cert = arg; return CTL_OK;
    default: return CTL_NOT_MINE;
    }
}

/* ---- packing: the pairs given, counted first --------------------------- */

static uint32_t count_args(const rc_args_t *a)
{
    return !!a->name + !!a->id + !!a->uuid + !!a->hostname + !!a->username + !!a->password
           + (a->demand >= 0) + !!a->new_name + !!a->revision + !!a->refresh + !!a->remote_key
           + 2 * !!a->client_cert;
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
    if (a->remote_key)
        pack_pair(pk, "server_key", a->server_key);
    if (a->client_cert) {
        pack_pair(pk, "client_public", a->client_public);
        pack_pair(pk, "client_secret", a->client_secret);
    }
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

#define KV_WIDTH 28                 /* "restrict_hostname_replace:" + 2 */

static const char *const known_keys[] = {
    "id", "name", "hostname", "uuid", "username", "demand_encryption", "server_key",
    "client_public", "restrict_hostname_replace", "node_list", "connectivity", "errors",
    "revision", "refreshed_at",
};
#define NKNOWN (sizeof known_keys / sizeof known_keys[0])

static void ref_value(ctl_buf_t *b, const msgpack_object *view, const char *key, int64_t now)
{
    if (strcmp(key, "refreshed_at") == 0)
        ctl_buf_time(b, view, key, now);
    else
        ctl_buf_value(b, ctl_get(view, key));
}

typedef struct {
    const msgpack_object *refs;     /* the array of views */
    int64_t now;
} ref_rows_t;

static void ref_row(ctl_buf_t *cell, uint32_t i, void *arg)
{
    const ref_rows_t *rr = arg;
    const msgpack_object *v = &rr->refs->via.array.ptr[i];
    static const char *const str_keys[] = { "name", "id", "hostname", "uuid" };
    for (int c = 0; c < 4; c++) {
        const msgpack_object *o = ctl_get(v, str_keys[c]);
        if (ctl_is_empty(o))
            mt_buf_printf(&cell[c], "-");
        else
            ctl_buf_obj(&cell[c], o);
    }
    const msgpack_object *nodes = ctl_get(v, "node_list");
    if (nodes && nodes->type == MSGPACK_OBJECT_ARRAY)
        mt_buf_printf(&cell[4], "%u", nodes->via.array.size);
    else
        mt_buf_printf(&cell[4], "-");
    ctl_buf_obj(&cell[5], ctl_get(v, "revision"));
    int64_t at;
    char d[32];
    if (!ctl_get_i64(v, "refreshed_at", &at) || at == 0)
        mt_buf_printf(&cell[6], "-");
    else if (rr->now >= at)
        mt_buf_printf(&cell[6], "%s ago", ctl_fmt_duration(rr->now - at, d, sizeof d));
    else
        mt_buf_printf(&cell[6], "in %s", ctl_fmt_duration(at - rr->now, d, sizeof d));
}

static void print_ref_list(const msgpack_object *refs)
{
    static const char *const headers[] = {
        "NAME", "ID", "HOSTNAME", "UUID", "NODES", "REVISION", "REFRESHED",
    };
    ref_rows_t rr = { .refs = refs, .now = mt_wall_ms() };
    ctl_table_show(sizeof headers / sizeof headers[0], headers, refs->via.array.size, ref_row,
                   &rr, stdout);
}

/* ---- dispatch ---------------------------------------------------------- */

static int show_ref(const msgpack_object *result, void *arg)
{
    ctl_print_view(ctl_get(result, "ref"), "reference", known_keys, NKNOWN, KV_WIDTH, ref_value);
    return CTL_OK;
}

static int show_deleted(const msgpack_object *result, void *arg)
{
    const rc_args_t *a = arg;
    if (a->name)
        printf("rc %s deleted\n", a->name);
    else
        printf("rc with id %s deleted\n", a->id);
    return CTL_OK;
}

static int show_list(const msgpack_object *result, void *arg)
{
    const msgpack_object *refs = ctl_get(result, "refs");
    if (!refs || refs->type != MSGPACK_OBJECT_ARRAY) {
        fprintf(stderr, "internal: the rc.list reply has no \"refs\" array\n");
        return CTL_EFAIL;
    }
    print_ref_list(refs);
    return CTL_OK;
}

static const ctl_subcmd_t rc_cmds[] = {
    { "add", usage_add, opts_add }, { "set", usage_set, opts_set },
    { "del", usage_del, opts_del }, { "get", usage_get, opts_get },
    { "list", usage_list, opts_list },
};

static const ctl_group_t rc_group = CTL_GROUP(
    "rc", "usage: metactl rc COMMAND ...   (remote cluster references)", rc_cmds, rc_opt);

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
        && a->demand < 0 && !a->new_name && !a->remote_key && !a->client_cert)
        return ctl_usage_error(u, "rc set: nothing to change (give --hostname, --username, "
                               "--password, --remote-key, --client-cert, "
                               "--[no-]demand-encryption or --new-name)");
    return CTL_OK;
}

/*  Resolves --remote-key and --client-cert (files are read now, so that a
    mistake is told before the service is asked). On rc set '' clears. */
static int load_keys(const ctl_t *g, const char *cmd, const char *u, rc_args_t *a)
{
    bool add = strcmp(cmd, "add") == 0;
    if (a->remote_key && (*a->remote_key || add)
        && ctl_key_arg(a->remote_key, "--remote-key", a->server_key) != CTL_OK)
        return CTL_EUSAGE;
    if (a->client_cert && (*a->client_cert || add)
        && ctl_cert_keys(a->client_cert, "--client-cert", a->client_public,
                         a->client_secret) != CTL_OK)
        return CTL_EUSAGE;
    if (a->demand == 1 && (add ? !a->remote_key : a->remote_key && !*a->remote_key))
        return ctl_usage_error(u, "rc %s: --demand-encryption needs the remote's key "
                               "(--remote-key KEY|FILE)", cmd);
    if (a->client_secret[0] && !g->server_key)
        fprintf(stderr, "metactl: warning: client_secret is sent to %s without CURVE (no "
                "--server-key): whoever sees the traffic can read it\n", g->endpoint);
    return CTL_OK;
}

int ctl_cmd_rc(ctl_t *g, int argc, char **argv)
{
    rc_args_t a = { .demand = -1 };
    const ctl_subcmd_t *sc;
    int npos;
    char **pos;
    int rc = ctl_group_parse(&rc_group, g, argc, argv, &a, &sc, &npos, &pos);
    if (rc == CTL_OK)
        rc = check_args(sc->name, sc->usage, &a, npos, pos);
    if (rc == CTL_OK)
        rc = load_keys(g, sc->name, sc->usage, &a);
    if (rc != CTL_OK) {
        explicit_bzero(a.client_secret, sizeof a.client_secret);
        return rc == CTL_HELP_DONE ? CTL_OK : rc;
    }

    char op[16];
    snprintf(op, sizeof op, "rc.%s", sc->name);
    ctl_show_fn *show = strcmp(sc->name, "del") == 0    ? show_deleted
                        : strcmp(sc->name, "list") == 0 ? show_list
                                                        : show_ref;
    rc = ctl_call_show(g, op, count_args(&a), pack_args, &a, show);
    explicit_bzero(a.client_secret, sizeof a.client_secret);
    return rc;
}
