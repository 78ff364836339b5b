/*  config_internal.h — what config.c, config_file.c and config_text.c share. */
#ifndef MT_CONFIG_INTERNAL_H_INCLUDED
#define MT_CONFIG_INTERNAL_H_INCLUDED

#include "mt_config.h"

#include <stdbool.h>
#include <stddef.h>

/*  K_BOOL: bool field; as a flag, --NAME alone means true.
    K_CERT, K_DIR, K_PWFILE: a path (char *), checked in config_security.c
    and config_password.c. K_SECRET: never a flag and never stored in a
    field (offset unused): the password, merged into the DSN. */
typedef enum {
    K_FILE, K_ID, K_ENDPOINT, K_DSN, K_INT, K_SIZE, K_LOG, K_LOGFMT, K_BOOL, K_CERT, K_DIR, K_PWFILE,
    K_SECRET,
    K_MS,               /* a duration (config_duration.c) into an int of ms */
    K_ADDR              /* ADDR:PORT (char *), or unset (config_http.c) */
} kind_t;

typedef struct {
    const char *flag;           /* without "--"; K_SECRET: refused as a flag */
    const char *path;           /* ZPL path; NULL: not in the file */
    const char *env;
    kind_t kind;
    const char *metavar;
    long long min, max;         /* K_INT, K_SIZE */
    const char *def;            /* NULL: none (config) or generated (replica id) */
    size_t offset;              /* of the field in mt_config_t */
    const char *help;
} setting_t;

/*  The table behind every setting (config_settings.c). */
extern const setting_t mt__config_settings[MT_CONFIG_NSETTINGS];

/*  Where a setting's text came from, for messages. */
typedef struct {
    const char *text[MT_CONFIG_NSETTINGS];
    mt_config_source_t src[MT_CONFIG_NSETTINGS];
    int line[MT_CONFIG_NSETTINGS];          /* file: line of the setting */
    const char *file;                       /* the config file's name */
} collected_t;

/*  "--workers", "METACTOR_WORKERS", "config FILE line N: runtime/workers". */
void mt__config_where(const collected_t *c, int i, char *out, size_t n);

/*  Appends one line to cfg->warnings (no secret in it, ever). */
void mt__config_warn(mt_config_t *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*  true|false|1|0 → 1|0; -1 otherwise. */
int mt__config_bool(const char *text);

/*  config_security.c: the certificate (w: where it came from), the trust
    directory, and after everything is converted: cert and trust go
    together, and the bind rule (see mt_config.h). */
int mt__config_check_cert(mt_config_t *cfg, const char *w, const char *path, char *err,
                          size_t errlen);
int mt__config_check_dir(const char *w, const char *path, char *err, size_t errlen);
int mt__config_check_security(mt_config_t *cfg, const collected_t *c, char *err,
                              size_t errlen);

/*  config_password.c: puts the password (file, environment or config
    file) into cfg->dsn; warns of a password on the command line and of
    secrets that other users can read. */
int mt__config_password(mt_config_t *cfg, const collected_t *c, char *err, size_t errlen);

/*  config_duration.c: text as a duration in ms within [min, max]. */
int mt__config_duration(const char *w, const char *text, long long min, long long max,
                        long long *out, char *err, size_t errlen);

/*  "5s" for 5000: a thread's own buffer, valid until its next call. */
const char *mt__config_show_ms(long long ms);

/*  config_http.c: the syntax of ADDR:PORT; after conversion, the rule that
    a listener other than loopback needs --http-public. */
int mt__config_check_addr(const char *w, const char *text, char *err, size_t errlen);
int mt__config_check_http(const mt_config_t *cfg, const collected_t *c, char *err,
                          size_t errlen);

/*  config_security.c: tcp://HOST:PORT on a loopback address, or ipc://. */
bool mt__config_loopback(const char *endpoint);

/*  Writes the message and returns MT_EINVAL. */
int mt__config_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*  Reads and checks a ZPL file into c (config_file.c); *root on success. */
struct _zconfig_t;
int mt__config_load_file(const char *w, const char *path, collected_t *c,
                         struct _zconfig_t **root, char *err, size_t errlen);

#endif
