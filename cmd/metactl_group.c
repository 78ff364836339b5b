/*  metactl_group.c — how commands parse their options and run one call:
    the getopt loop, command groups with subcommands (node, rc) and "call,
    then show the result or its JSON". One copy, so that every command
    treats help, unknown subcommands, option errors and -o json alike. */
#include "metactl.h"

#include <string.h>

int ctl_getopt_loop(ctl_t *g, int argc, char **argv, const struct option *opts,
                    const char *usage, ctl_opt_fn *opt, void *args)
{
    ctl_getopt_reset();
    int rc = CTL_OK, c;
    while (rc == CTL_OK && (c = getopt_long(argc, argv, CTL_GLOBAL_SHORT, opts, NULL)) != -1) {
        rc = opt ? opt(args, c, optarg, usage) : CTL_NOT_MINE;
        if (rc == CTL_NOT_MINE)
            rc = ctl_global_opt(g, c, argv, usage);
    }
    return rc;
}

static void group_usage(const ctl_group_t *grp, FILE *f)
{
    fprintf(f, "%s\n\n", grp->title);
    for (size_t i = 0; i < grp->ncmds; i++)
        fprintf(f, "%s%s", i ? "\n" : "", grp->cmds[i].usage);
}

int ctl_group_parse(const ctl_group_t *grp, ctl_t *g, int argc, char **argv, void *args,
                    const ctl_subcmd_t **cmd, int *npos, char ***pos)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0
        || strcmp(argv[1], "help") == 0) {
        group_usage(grp, argc < 2 ? stderr : stdout);
        return argc < 2 ? CTL_EUSAGE : CTL_HELP_DONE;
    }
    const ctl_subcmd_t *sc = NULL;
    for (size_t i = 0; i < grp->ncmds && !sc; i++)
        if (strcmp(argv[1], grp->cmds[i].name) == 0)
            sc = &grp->cmds[i];
    if (!sc) {
        fprintf(stderr, "metactl: unknown %s command '%s'\n\n", grp->name, argv[1]);
        group_usage(grp, stderr);
        return CTL_EUSAGE;
    }
    argc--, argv++;                 /* argv[0] is now the subcommand */
    int rc = ctl_getopt_loop(g, argc, argv, sc->opts, sc->usage, grp->opt, args);
    *cmd = sc;
    *npos = argc - optind;
    *pos = argv + optind;
    return rc;
}

int ctl_call_show(const ctl_t *g, const char *op, uint32_t nargs, mt_client_pack_fn *pack,
                  void *arg, ctl_show_fn *show)
{
    mt_client_t *c = ctl_connect(g);
    if (!c)
        return CTL_EUSAGE;
    mt_reply_t r;
    int rc = ctl_call(g, &c, op, nargs, pack, arg, &r);
    if (rc == CTL_OK) {
        if (g->output == CTL_JSON)
            ctl_print_json(stdout, r.result);
        else
            rc = show(r.result, arg);
        mt_reply_free(&r);
    }
    mt_client_destroy(&c);
    return rc;
}
