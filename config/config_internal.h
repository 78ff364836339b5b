/*  config_internal.h — what config.c, config_file.c and config_text.c share. */
#ifndef MT_CONFIG_INTERNAL_H_INCLUDED
#define MT_CONFIG_INTERNAL_H_INCLUDED

#include "mt_config.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum { K_FILE, K_ID, K_ENDPOINT, K_DSN, K_INT, K_SIZE, K_LOG } kind_t;

typedef struct {
    const char *flag;           /* without "--" */
    const char *path;           /* ZPL path; NULL: not in the file */
    const char *env;
    kind_t kind;
    const char *metavar;
    long long min, max;         /* K_INT, K_SIZE */
    const char *def;            /* NULL: none (config) or generated (replica id) */
    size_t offset;              /* of the field in mt_config_t */
    const char *help;
} setting_t;

/*  The table behind every setting (config.c). */
extern const setting_t mt__config_settings[MT_CONFIG_NSETTINGS];

/*  Where a setting's text came from, for messages. */
typedef struct {
    const char *text[MT_CONFIG_NSETTINGS];
    mt_config_source_t src[MT_CONFIG_NSETTINGS];
    int line[MT_CONFIG_NSETTINGS];          /* file: line of the setting */
    const char *file;                       /* the config file's name */
} collected_t;

/*  Writes the message and returns MT_EINVAL. */
int mt__config_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*  Reads and checks a ZPL file into c (config_file.c); *root on success. */
struct _zconfig_t;
int mt__config_load_file(const char *w, const char *path, collected_t *c,
                         struct _zconfig_t **root, char *err, size_t errlen);

#endif
