/*  ops_internal.h — what http.c, prometheus.c and metric_table.c share. */
#ifndef MT_OPS_INTERNAL_H_INCLUDED
#define MT_OPS_INTERNAL_H_INCLUDED

#include "mt_ops.h"

#include <stddef.h>

typedef enum { MT__OPS_COUNTER, MT__OPS_GAUGE } mt__ops_kind_t;

typedef struct {
    const char *name;               /* as in replica.stats */
    mt__ops_kind_t kind;
    const char *help;
} mt__ops_metric_t;

/*  The table's line for a replica.stats counter, or NULL. */
const mt__ops_metric_t *mt__ops_metric(const char *name);

/*  A growing text buffer; on out of memory it stays NULL and ignores more. */
typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} mt__ops_buf_t;

void mt__ops_printf(mt__ops_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
