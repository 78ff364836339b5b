/*  node_live.c — a node's live group (PROTOCOL.md, `metrics`): one
    immutable, reference-counted block like the other groups, but never
    written to the database; it rides the notices only. */
#include "mt_model.h"
#include "mt_alloc.h"

#include "block.h"
#include "sort.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *metric_key(const void *p) { return ((const mt_int_pair_t *) p)->key; }

mt_node_live_t *mt_node_live_build(const mt_node_live_t *t)
{
    size_t arrays = sizeof(mt_node_live_t) + t->nmetrics * sizeof(mt_int_pair_t);
    size_t strings = 0;
    for (uint32_t i = 0; i < t->nmetrics; i++)
        strings += strlen(t->metrics[i].key) + 1;
    size_t size = (arrays + strings + 7u) & ~(size_t) 7u;
    char *block = mt_xmalloc(size);
    mt_node_live_t *l = (mt_node_live_t *) block;
    *l = *t;
    atomic_init(&l->refs, 1);
    l->size = (uint32_t) size;
    mt_int_pair_t *m = (mt_int_pair_t *) (block + sizeof *l);
    char *str = block + arrays;
    for (uint32_t i = 0; i < t->nmetrics; i++) {
        size_t n = strlen(t->metrics[i].key) + 1;
        memcpy(str, t->metrics[i].key, n);
        m[i] = (mt_int_pair_t) { str, t->metrics[i].value };
        str += n;
    }
    /*  A msgpack map may repeat a key: the last one wins, as in every
        other map of a node. */
    uint32_t out = mt__sort_unique(m, t->nmetrics, sizeof *m, metric_key);
    l->nmetrics = out;
    l->metrics = m;
    return l;
}

mt_node_live_t *mt_node_live_ref(mt_node_live_t *live)
{
    if (live)
        mt__block_hold(&live->refs);
    return live;
}

void mt_node_live_unref(mt_node_live_t **live_p)
{
    mt_node_live_t *live = *live_p;
    *live_p = NULL;
    if (live && mt__block_release(&live->refs))
        free(live);
}

bool mt_node_live_newer(const mt_node_live_t *a, const mt_node_live_t *b)
{
    if (!a)
        return false;
    if (!b)
        return true;
    if (a->status_revision != b->status_revision)
        return a->status_revision > b->status_revision;
    return a->metrics_at > b->metrics_at;
}

int mt_node_live_check(const mt_node_live_t *l, char *err, size_t errlen)
{
    if (l->nmetrics > MT_MAP_MAX) {
        snprintf(err, errlen, "metrics: at most %d entries", MT_MAP_MAX);
        return MT_EBADREQ;
    }
    if (l->metrics_at < 0 || l->metrics_at > MT_TIME_MAX) {
        snprintf(err, errlen, "metrics_at: must be 0-%lld", (long long) MT_TIME_MAX);
        return MT_EBADREQ;
    }
    for (uint32_t i = 0; i < l->nmetrics; i++) {
        size_t n = l->metrics[i].key ? strlen(l->metrics[i].key) : 0;
        if (n == 0 || n > MT_KEY_MAX) {
            snprintf(err, errlen, "metrics: keys are 1-%d bytes", MT_KEY_MAX);
            return MT_EBADREQ;
        }
        if (l->metrics[i].value < 0) {
            snprintf(err, errlen, "metrics: %s must not be negative", l->metrics[i].key);
            return MT_EBADREQ;
        }
    }
    return MT_OK;
}
