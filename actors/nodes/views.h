/*  views.h — (internal) every node's current blocks, readable from any
    thread (see views.c): written by node actors, read by mt_nodes_peek. */
#ifndef MT_NODES_VIEWS_H_INCLUDED
#define MT_NODES_VIEWS_H_INCLUDED

#include "mt_htab.h"
#include "mt_model.h"

#include <stdbool.h>

typedef mt_htab_t mt__views_t;

mt__views_t *mt__views_new(void);
void mt__views_destroy(mt__views_t **views_p);
/*  Publishes id's blocks (references taken); reg NULL: id has none. */
void mt__views_set(mt__views_t *v, const char *id, mt_node_reg_t *reg,
                   mt_node_status_t *status, mt_node_live_t *live);
/*  Fills out's reg, status and live (references) when id has blocks here;
    leaves out alone and returns false otherwise. */
bool mt__views_get(mt__views_t *v, const char *id, mt_node_view_t *out);
/*  True when id's published blocks are at these revisions or newer (a
    revision 0: that group is not asked about): a merge of them would
    change nothing. */
bool mt__views_has(mt__views_t *v, const char *id, int64_t reg_revision,
                   int64_t status_revision);

#endif
