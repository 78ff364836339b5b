/*  config_text.c — the --help text and printing the effective settings.
    The printout never shows a password: the DSN's as ***, the password
    setting as a comment; settings not set are comments too, so that the
    printout loads again with --config. */
#include "config_internal.h"

#include "mt_core.h"
#include "mt_dsn.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* ---- usage and print ------------------------------------------------------------------- */

static char usage_text[16384];
static pthread_once_t usage_once = PTHREAD_ONCE_INIT;

static void build_usage(void)
{
    size_t n = sizeof usage_text, w = 0;
#define PUT(...) (w += (size_t) snprintf(usage_text + w, w < n ? n - w : 0, __VA_ARGS__))
    PUT("Usage: metactord [--config FILE] [--NAME VALUE | --NAME=VALUE]...\n"
        "\n"
        "Every setting is taken from, strongest first: its flag, its environment\n"
        "variable (an empty one counts as unset), the config file, its default.\n"
        "The config file is in czmq's ZPL format: a section per line, its settings\n"
        "below it indented by 4 spaces, `name = \"value\"`, `#` comments; the path\n"
        "section/name is given for each setting below.\n"
        "A DURATION is a whole number with a unit, 500ms, 2s, 5m or 1h; a bare\n"
        "number is milliseconds.\n"
        "\n");
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++) {
        const setting_t *s = &mt__config_settings[i];
        char head[64];
        if (s->kind == K_SECRET)
            snprintf(head, sizeof head, "(no flag)");
        else
            snprintf(head, sizeof head, "--%s%s%s", s->flag, s->kind == K_BOOL ? "" : " ",
                     s->metavar);
        PUT("  %-28s env %s%s%s\n", head, s->env, s->path ? ", file " : "", s->path ? s->path : "");
        for (const char *p = s->help; *p;) {
            const char *e = strchr(p, '\n');
            int len = e ? (int) (e - p) : (int) strlen(p);
            PUT("      %.*s\n", len, p);
            p += len + (e ? 1 : 0);
        }
        if (s->def && s->kind == K_MS)
            PUT("      Default: %s.", mt__config_show_ms(atoll(s->def)));
        else if (s->def)
            PUT("      Default: %s%s.", s->def, s->kind == K_SIZE ? " bytes" : "");
        if (s->kind == K_MS)
            PUT(" Range: %s-", mt__config_show_ms(s->min));
        if (s->kind == K_MS)
            PUT("%s.", mt__config_show_ms(s->max));
        if (s->kind == K_INT || s->kind == K_SIZE)
            PUT("%sRange: %lld-%lld.", s->def ? " " : "      ", s->min, s->max);
        if (s->def || s->kind == K_INT || s->kind == K_SIZE || s->kind == K_MS)
            PUT("\n");
    }
    PUT("  -h, --help\n      Print this help and exit.\n");
#undef PUT
}

const char *mt_config_usage(void)
{
    pthread_once(&usage_once, build_usage);
    return usage_text;
}

void mt_config_print(const mt_config_t *cfg, FILE *out)
{
    static const char *const from[] = { "default", "file", "env", "flag" };
    fprintf(out, "#   metactord settings in effect%s%s\n", cfg->config_file ? "; file read: " : "",
            cfg->config_file ? cfg->config_file : "");
    const char *done[MT_CONFIG_NSETTINGS];
    int ndone = 0;
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++) {
        if (!mt__config_settings[i].path)
            continue;
        size_t sl = (size_t) (strchr(mt__config_settings[i].path, '/') - mt__config_settings[i].path);
        bool seen = false;
        for (int k = 0; k < ndone; k++)
            seen = seen || (strncmp(done[k], mt__config_settings[i].path, sl + 1) == 0);
        if (seen)
            continue;
        done[ndone++] = mt__config_settings[i].path;
        fprintf(out, "%.*s\n", (int) sl, mt__config_settings[i].path);
        for (int j = i; j < MT_CONFIG_NSETTINGS; j++) {
            const setting_t *s = &mt__config_settings[j];
            if (!s->path || strncmp(s->path, mt__config_settings[i].path, sl + 1) != 0)
                continue;
            const void *field = (const char *) cfg + s->offset;
            char value[600];
            unsigned src = cfg->source[j] < 4 ? cfg->source[j] : 0;
            if (s->kind == K_SECRET || ((s->kind == K_CERT || s->kind == K_DIR
                                         || s->kind == K_PWFILE || s->kind == K_ADDR)
                                        && !*(char *const *) field)) {
                /*  Not set, or a password: a comment, so the output loads. */
                fprintf(out, "    # %s = %s\n", strchr(s->path, '/') + 1,
                        s->kind != K_SECRET || src == MT_CONFIG_DEFAULT ? "(not set)"
                        : src == MT_CONFIG_ENV ? "***   (env, not shown)" : "***   (file, not shown)");
                continue;
            }
            switch (s->kind) {
            case K_BOOL:
                snprintf(value, sizeof value, "%s", *(const bool *) field ? "true" : "false");
                break;
            case K_INT:
            case K_MS:
                snprintf(value, sizeof value, "%d", *(const int *) field);
                break;
            case K_SIZE:
                snprintf(value, sizeof value, "%zu", *(const size_t *) field);
                break;
            case K_LOG:
                snprintf(value, sizeof value, "\"%s\"",
                         mt_log_level_name(*(const mt_log_level_t *) field));
                break;
            case K_LOGFMT:
                snprintf(value, sizeof value, "\"%s\"",
                         mt_log_format_name(*(const mt_log_format_t *) field));
                break;
            case K_DSN: {
                mt_dsn_t *d = NULL;
                char *red = NULL;
                if (cfg->dsn && mt_dsn_parse(cfg->dsn, &d, NULL, 0) == MT_OK)
                    red = mt_dsn_format_redacted(d);
                mt_dsn_destroy(&d);
                snprintf(value, sizeof value, "\"%s\"", red ? red : "");
                free(red);
                break;
            }
            default: {
                /*  ZPL has no escapes: quote with what the value lacks. */
                const char *v = *(char *const *) field;
                char q = v && strchr(v, '"') ? '\'' : '"';
                snprintf(value, sizeof value, "%c%s%c", q, v ? v : "", q);
                break;
            }
            }
            char note[80];
            if (j == MT_CONFIG_S_REPLICA_ID && src == MT_CONFIG_DEFAULT)
                snprintf(note, sizeof note, "generated from the hostname and endpoint");
            else if (src == MT_CONFIG_ENV)
                snprintf(note, sizeof note, "env %s", s->env);
            else if (src == MT_CONFIG_FLAG)
                snprintf(note, sizeof note, "flag --%s", s->flag);
            else
                snprintf(note, sizeof note, "%s", from[src]);
            char line[700];
            snprintf(line, sizeof line, "    %s = %s", strchr(s->path, '/') + 1, value);
            fprintf(out, "%-48s # %s\n", line, note);
        }
    }
}
