/*  views.c — every node's current blocks, readable from any thread.

    node.get used to cross three threads (gateway → directory → node actor
    → gateway); each crossing wakes a sleeping thread, which on this class
    of machine costs more than the lookup itself. The node actors now also
    publish their blocks here (an mt_htab: a lock per shard) before they answer
    the request that changed them; the gateway answers node.get from here
    on its own thread (mt_nodes_peek). A node this replica holds no
    registration for is not here: its get takes the old way, which loads
    it from the database.

    Read-your-writes holds: an actor publishes a merge before it answers
    the write, so a get sent after the answer finds the new blocks. Health
    is not published: it is judged at read time, as the actor judges it. */
#include "views.h"

#include "mt_alloc.h"
#include "mt_hash.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    mt_htab_link_t link;            /* hash of id (seeded: ids come from clients) */
    mt_node_reg_t *reg;
    mt_node_status_t *status;
    mt_node_live_t *live;
    char id[];
} view_t;

mt__views_t *mt__views_new(void)
{
    return mt_htab_new();
}

static void view_free(mt_htab_link_t *link)
{
    view_t *e = (view_t *) link;
    mt_node_reg_unref(&e->reg);
    mt_node_status_unref(&e->status);
    mt_node_live_unref(&e->live);
    free(e);
}

void mt__views_destroy(mt__views_t **views_p)
{
    mt_htab_destroy(views_p, view_free);
}

static uint64_t hash_of(const mt__views_t *v, const char *id)
{
    return mt_fnv1a64(MT_FNV1A64_INIT ^ mt_htab_seed(v), id, strlen(id));
}

static view_t *find(mt_htab_shard_t *s, uint64_t hash, const char *id)
{
    for (mt_htab_link_t *e = mt_htab_first(s, hash); e; e = e->next)
        if (e->hash == hash && strcmp(((view_t *) e)->id, id) == 0)
            return (view_t *) e;
    return NULL;
}

void mt__views_set(mt__views_t *v, const char *id, mt_node_reg_t *reg,
                   mt_node_status_t *status, mt_node_live_t *live)
{
    uint64_t hash = hash_of(v, id);
    /*  References taken and dropped outside the lock: only swaps inside. */
    view_t *gone = NULL, old = { 0 };
    if (reg) {
        reg = mt_node_reg_ref(reg);
        status = mt_node_status_ref(status);
        live = mt_node_live_ref(live);
    }
    mt_htab_shard_t *s = mt_htab_lock(v, hash);
    view_t *e = find(s, hash, id);
    if (!reg) {
        if ((gone = e))
            mt_htab_remove(s, &e->link);
    } else if (e) {
        old = *e;
        e->reg = reg, e->status = status, e->live = live;
    } else {
        size_t n = strlen(id) + 1;
        e = mt_xmalloc(sizeof *e + n);
        *e = (view_t) { .link.hash = hash, .reg = reg, .status = status, .live = live };
        memcpy(e->id, id, n);
        mt_htab_add(s, &e->link);
    }
    mt_htab_unlock(s);
    if (gone)
        view_free(&gone->link);
    mt_node_reg_unref(&old.reg);
    mt_node_status_unref(&old.status);
    mt_node_live_unref(&old.live);
}

bool mt__views_get(mt__views_t *v, const char *id, mt_node_view_t *out)
{
    uint64_t hash = hash_of(v, id);
    mt_htab_shard_t *s = mt_htab_lock(v, hash);
    view_t *e = find(s, hash, id);
    if (e) {
        out->reg = mt_node_reg_ref(e->reg);
        out->status = mt_node_status_ref(e->status);
        out->live = mt_node_live_ref(e->live);
    }
    mt_htab_unlock(s);
    return e != NULL;
}

bool mt__views_has(mt__views_t *v, const char *id, int64_t reg_revision,
                   int64_t status_revision)
{
    uint64_t hash = hash_of(v, id);
    mt_htab_shard_t *s = mt_htab_lock(v, hash);
    view_t *e = find(s, hash, id);
    bool has = e && e->reg->reg_revision >= reg_revision
               && (status_revision <= 0 || (e->status && e->status->status_revision >= status_revision));
    mt_htab_unlock(s);
    return has;
}
