/*  registry.c — names for actors. A name holds a reference to its actor and
    goes away when the actor stops. Lookups are rare (start-up, wiring), so
    one mutex over a fixed hash table is enough. */
#include "internal.h"

#include <string.h>

struct mt__name {
    mt__name_t *next;
    mt_actor_t *actor;          /* reference */
    char name[];
};

static uint32_t bucket(const char *s)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t) *s) * 16777619u;
    return h % MT__REG_BUCKETS;
}

void mt__registry_init(mt_runtime_t *rt)
{
    pthread_mutex_init(&rt->reg_lock, NULL);
}

int mt_register(mt_runtime_t *rt, const char *name, mt_actor_t *a)
{
    if (!name || !*name || !a)
        return MT_EINVAL;
    uint32_t b = bucket(name);
    pthread_mutex_lock(&rt->reg_lock);
    for (mt__name_t *n = rt->reg[b]; n; n = n->next) {
        if (strcmp(n->name, name) == 0) {
            pthread_mutex_unlock(&rt->reg_lock);
            return MT_EEXIST;
        }
    }
    if (!mt_actor_alive(a)) {
        pthread_mutex_unlock(&rt->reg_lock);
        return MT_ECLOSED;
    }
    size_t len = strlen(name) + 1;
    mt__name_t *n = malloc(sizeof *n + len);
    if (!n) {
        pthread_mutex_unlock(&rt->reg_lock);
        return MT_ENOMEM;
    }
    memcpy(n->name, name, len);
    n->actor = mt_actor_ref(a);
    n->next = rt->reg[b];
    rt->reg[b] = n;
    /*  seq_cst, with terminate's DEAD-then-NAMED: if the actor died while
        we named it, at least one of us sees the other and drops the name. */
    atomic_fetch_or_explicit(&a->flags, MT__A_NAMED, memory_order_seq_cst);
    pthread_mutex_unlock(&rt->reg_lock);
    if (!(atomic_load_explicit(&a->flags, memory_order_seq_cst) & MT__A_DEAD))
        return MT_OK;
    mt__registry_drop(rt, a);
    return MT_ECLOSED;
}

mt_actor_t *mt_lookup(mt_runtime_t *rt, const char *name)
{
    if (!name)
        return NULL;
    mt_actor_t *a = NULL;
    pthread_mutex_lock(&rt->reg_lock);
    for (mt__name_t *n = rt->reg[bucket(name)]; n; n = n->next) {
        if (strcmp(n->name, name) == 0) {
            a = mt_actor_ref(n->actor);
            break;
        }
    }
    pthread_mutex_unlock(&rt->reg_lock);
    return a;
}

/*  Unlinks matching entries into *out (freed by the caller, outside the
    lock: dropping the last reference frees an actor). */
static void take_where(mt_runtime_t *rt, const char *name, mt_actor_t *a, mt__name_t **out)
{
    for (int b = name ? (int) bucket(name) : 0; b < MT__REG_BUCKETS; b++) {
        for (mt__name_t **p = &rt->reg[b]; *p;) {
            mt__name_t *n = *p;
            if ((name && strcmp(n->name, name) == 0) || (!name && n->actor == a)) {
                *p = n->next;
                n->next = *out;
                *out = n;
            }
            else
                p = &n->next;
        }
        if (name)
            break;
    }
}

static void free_names(mt__name_t *list)
{
    while (list) {
        mt__name_t *n = list;
        list = n->next;
        mt_actor_unref(&n->actor);
        free(n);
    }
}

int mt_unregister(mt_runtime_t *rt, const char *name)
{
    if (!name)
        return MT_EINVAL;
    mt__name_t *out = NULL;
    pthread_mutex_lock(&rt->reg_lock);
    take_where(rt, name, NULL, &out);
    pthread_mutex_unlock(&rt->reg_lock);
    if (!out)
        return MT_ENOENT;
    free_names(out);
    return MT_OK;
}

void mt__registry_drop(mt_runtime_t *rt, mt_actor_t *a)
{
    mt__name_t *out = NULL;
    pthread_mutex_lock(&rt->reg_lock);
    take_where(rt, NULL, a, &out);
    pthread_mutex_unlock(&rt->reg_lock);
    free_names(out);
}

void mt__registry_free(mt_runtime_t *rt)
{
    mt__name_t *out = NULL;
    pthread_mutex_lock(&rt->reg_lock);
    for (int b = 0; b < MT__REG_BUCKETS; b++) {
        for (mt__name_t *n = rt->reg[b], *nx; n; n = nx) {
            nx = n->next;
            n->next = out;
            out = n;
        }
        rt->reg[b] = NULL;
    }
    pthread_mutex_unlock(&rt->reg_lock);
    free_names(out);
    pthread_mutex_destroy(&rt->reg_lock);
}
