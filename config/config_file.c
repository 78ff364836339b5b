/*  config_file.c — reading metactord's ZPL config file.

    The file is read into memory once and checked line by line with
    zconfig's own grammar (4-space indents, `name = value`, quotes, `#`
    comments) before zconfig_str_load parses the same bytes: zconfig only
    says "invalid", while this check can name the line, the unknown key or
    the duplicate. */
#include "config_internal.h"

#include "mt_core.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the file -------------------------------------------------------------------- */

#define FILE_MAX (1024 * 1024)

static int read_file(const char *w, const char *path, char **text, char *err, size_t errlen)
{
    *text = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mt__config_fail(err, errlen, "%s: cannot read '%s': %s", w, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return mt__config_fail(err, errlen, "%s: cannot read '%s': %s", w, path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return mt__config_fail(err, errlen, "%s: cannot read '%s': %s", w, path,
                    S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    }
    if (st.st_size > FILE_MAX) {
        close(fd);
        return mt__config_fail(err, errlen, "%s: '%s' is larger than %d bytes", w, path, FILE_MAX);
    }
    char *buf = malloc((size_t) st.st_size + 1);
    if (!buf) {
        close(fd);
        return mt__config_fail(err, errlen, "%s: out of memory reading '%s'", w, path);
    }
    size_t got = 0;
    while (got < (size_t) st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t) st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            free(buf);
            return mt__config_fail(err, errlen, "%s: cannot read '%s': %s", w, path, strerror(e));
        }
        got += (size_t) n;
    }
    close(fd);
    buf[got] = '\0';
    if (strlen(buf) != got) {
        free(buf);
        return mt__config_fail(err, errlen, "config %s: contains a NUL byte (not a text file)", path);
    }
    *text = buf;
    return MT_OK;
}

static bool zpl_namechar(char c)    /* zconfig's s_is_namechar */
{
    return c != '\0' && (isalnum((unsigned char) c) || strchr("$-_@.&+/", c) != NULL);
}

/*  The rest of a line must be blank or a comment (zconfig's s_verify_eoln). */
static bool zpl_eoln(const char *p)
{
    while (isspace((unsigned char) *p))
        p++;
    return *p == '\0' || *p == '#';
}

static int setting_by_path(const char *path)
{
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++)
        if (mt__config_settings[i].path && strcmp(mt__config_settings[i].path, path) == 0)
            return i;
    return -1;
}

static bool is_section(const char *name, size_t n)
{
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++)
        if (mt__config_settings[i].path && strncmp(mt__config_settings[i].path, name, n) == 0 && mt__config_settings[i].path[n] == '/')
            return true;
    return false;
}

/*  "endpoint, publish, ..." — the keys of a section, for a hint. */
static void section_keys(const char *section, char *out, size_t n)
{
    size_t sl = strlen(section), w = 0;
    out[0] = '\0';
    for (int i = 0; i < MT_CONFIG_NSETTINGS && w < n; i++) {
        const char *p = mt__config_settings[i].path;
        if (p && strncmp(p, section, sl) == 0 && p[sl] == '/')
            w += (size_t) snprintf(out + w, n - w, "%s%s", w ? ", " : "", p + sl + 1);
    }
}

/*  Checks text against zconfig's grammar and the known settings, and
    records the line of each setting in c->line. */
static int zpl_check(const char *file, char *text, collected_t *c, char *err, size_t errlen)
{
    char sections[MT_CONFIG_NSETTINGS][256];
    int section_line[MT_CONFIG_NSETTINGS], nsections = 0;
    char section[256] = "";          /* the level-0 item above, if a known section */
    int chain = 0;                  /* levels below root of the last item's chain */
    int lineno = 0;
    for (char *line = text, *next; line; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t len = strlen(line);
        while (len && isspace((unsigned char) line[len - 1]))
            line[--len] = '\0';
        char *p = line;
        while (*p == ' ')
            p++;
        int spaces = (int) (p - line);
        if (spaces % 4)
            return mt__config_fail(err, errlen, "config %s line %d: indent by multiples of 4 spaces",
                        file, lineno);
        int level = spaces / 4;
        char *name = p;
        while (zpl_namechar(*p))
            p++;
        size_t nl = (size_t) (p - name);
        if (nl == 0) {
            if (!zpl_eoln(p))
                return mt__config_fail(err, errlen, "config %s line %d: invalid syntax '%.40s'%s", file,
                            lineno, p, strchr(line, '\t') ? " (indent with spaces, not tabs)"
                            : " (expected NAME = VALUE)");
            continue;
        }
        char nm[256];
        snprintf(nm, sizeof nm, "%.*s", (int) (nl < 255 ? nl : 255), name);
        if (memchr(name, '/', nl))
            return mt__config_fail(err, errlen, "config %s line %d: '%s': no '/' in names; nest the"
                        " setting under its section, indented by 4 spaces", file, lineno, nm);
        /*  The value, as zconfig's s_collect_value reads it. */
        while (isspace((unsigned char) *p))
            p++;
        bool has_value = *p == '=';
        if (has_value) {
            p++;
            while (isspace((unsigned char) *p))
                p++;
            if (*p == '"' || *p == '\'') {
                char *end = strchr(p + 1, *p);
                if (!end)
                    return mt__config_fail(err, errlen, "config %s line %d: missing closing %c", file,
                                lineno, *p);
                if (!zpl_eoln(end + 1))
                    return mt__config_fail(err, errlen, "config %s line %d: invalid syntax after the"
                                " quoted value: '%.40s'", file, lineno, end + 1);
            }
        }
        else if (!zpl_eoln(p))
            return mt__config_fail(err, errlen, "config %s line %d: invalid syntax '%.40s' (expected"
                        " %s = VALUE)", file, lineno, p, nm);
        if (level > chain)
            return mt__config_fail(err, errlen, "config %s line %d: '%s' is indented deeper than the"
                        " line above allows", file, lineno, nm);
        chain = level + 1;

        /*  The known settings: sections at level 0, settings at level 1. */
        if (level == 0) {
            if (!is_section(nm, strlen(nm))) {
                /*  A setting without its section? Say which one it is. */
                const char *hint = NULL;
                for (int i = 0; i < MT_CONFIG_NSETTINGS && !hint; i++) {
                    const char *sp = mt__config_settings[i].path ? strchr(mt__config_settings[i].path, '/') : NULL;
                    if (sp && strcmp(sp + 1, nm) == 0)
                        hint = mt__config_settings[i].path;
                }
                if (hint)
                    return mt__config_fail(err, errlen, "config %s line %d: unknown section '%s' (did you"
                                " mean %s?)", file, lineno, nm, hint);
                return mt__config_fail(err, errlen, "config %s line %d: unknown section '%s'", file,
                            lineno, nm);
            }
            if (has_value)
                return mt__config_fail(err, errlen, "config %s line %d: '%s' is a section: its settings"
                            " go on the lines below, indented by 4 spaces", file, lineno, nm);
            for (int i = 0; i < nsections; i++)
                if (strcmp(sections[i], nm) == 0)
                    return mt__config_fail(err, errlen, "config %s line %d: section '%s' appears twice"
                                " (first on line %d)", file, lineno, nm, section_line[i]);
            snprintf(sections[nsections], sizeof sections[0], "%s", nm);
            section_line[nsections++] = lineno;
            snprintf(section, sizeof section, "%s", nm);
            continue;
        }
        char path[520];
        snprintf(path, sizeof path, "%s/%s", section, nm);
        int s = level == 1 ? setting_by_path(path) : -1;
        if (s < 0) {
            char keys[256];
            section_keys(section, keys, sizeof keys);
            if (level > 1)
                return mt__config_fail(err, errlen, "config %s line %d: unknown setting '%s/.../%s'"
                            " (settings take a value, not a section)", file, lineno, section, nm);
            return mt__config_fail(err, errlen, "config %s line %d: unknown setting '%s' (%s has: %s)",
                        file, lineno, path, section, keys);
        }
        if (c->line[s])
            return mt__config_fail(err, errlen, "config %s line %d: %s set twice (first on line %d)",
                        file, lineno, path, c->line[s]);
        if (!has_value)
            return mt__config_fail(err, errlen, "config %s line %d: %s: missing value (%s = VALUE)",
                        file, lineno, path, nm);
        c->line[s] = lineno;
    }
    return MT_OK;
}

int mt__config_load_file(const char *w, const char *path, collected_t *c, zconfig_t **root,
                     char *err, size_t errlen)
{
    char *text = NULL;
    int rc = read_file(w, path, &text, err, errlen);
    if (rc != MT_OK)
        return rc;
    char *copy = strdup(text);      /* zpl_check cuts its lines */
    if (!copy) {
        free(text);
        return mt__config_fail(err, errlen, "%s: out of memory", w);
    }
    rc = zpl_check(path, copy, c, err, errlen);
    free(copy);
    if (rc == MT_OK) {
        *root = zconfig_str_load(text);
        if (!*root)
            rc = mt__config_fail(err, errlen, "config %s: not valid ZPL", path);
    }
    free(text);
    if (rc != MT_OK)
        return rc;
    for (int i = 0; i < MT_CONFIG_NSETTINGS; i++) {
        if (!c->line[i])
            continue;
        c->text[i] = zconfig_get(*root, mt__config_settings[i].path, NULL);
        c->src[i] = MT_CONFIG_FILE;
        if (!c->text[i])
            return mt__config_fail(err, errlen, "config %s line %d: %s: zconfig cannot find it", path,
                        c->line[i], mt__config_settings[i].path);
    }
    return MT_OK;
}
