/*  cert.c — see mt_cert.h. The file is read once, held against the line
    shapes, and wiped: it may be a secret file. */
#include "mt_cert.h"
#include "mt_core.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*  A ZPL line zconfig reads without complaint: indent, NAME, optionally
    = VALUE (quoted, then only a comment; or unquoted to the end), or a
    blank line or a comment. */
#define ZPL_LINE "^ *([-A-Za-z0-9$_@.&+/]+ *(= *(\"[^\"]*\"|'[^']*'|[^\"' ].*)? *)?)?(#.*)?$"

static int fail(char *why, size_t whylen, const char *text)
{
    snprintf(why, whylen, "%s", text);
    return MT_EINVAL;
}

/*  Every line of text (cut at its newlines) has the shape of ZPL_LINE. */
static bool zpl_lines(char *text)
{
    regex_t re;
    if (regcomp(&re, ZPL_LINE, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool ok = true;
    for (char *line = text, *next; ok && line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        ok = regexec(&re, line, 0, NULL, 0) == 0;
    }
    regfree(&re);
    return ok;
}

int mt_cert_file_check(const char *path, char *why, size_t whylen)
{
    if (strlen(path) > MT_CERT_PATH_MAX)
        return fail(why, whylen, "too long a path for czmq");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(why, whylen, "%s", strerror(e));
        errno = e;
        return MT_EINVAL;
    }
    struct stat st;
    char *buf = NULL;
    const char *bad = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        bad = "not a regular file";
    else if (st.st_size > MT_CERT_FILE_MAX)
        bad = "larger than a certificate can be";
    else if (!(buf = calloc(1, (size_t) st.st_size + 1)))
        bad = "out of memory";
    else if (read(fd, buf, (size_t) st.st_size) != st.st_size
             || strlen(buf) != (size_t) st.st_size)
        bad = "not a text file";
    else if (!zpl_lines(buf))
        bad = "not a czmq certificate (not ZPL)";
    close(fd);
    if (buf) {
        explicit_bzero(buf, (size_t) st.st_size);
        free(buf);
    }
    return bad ? fail(why, whylen, bad) : MT_OK;
}
