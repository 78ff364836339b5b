/*  rc_dispatch.c — hands each probe to a prober that is free.

    Messages handled:
      MT__RC_PROBE   to a free prober (sender and corr kept, so the prober
                     answers the agent directly), or queued in order.
      MT__RC_IDLE    a prober finished: it gets the oldest queued probe.

    Why not a fixed prober per reference: a probe of a dead remote blocks
    its prober for the timeout of each endpoint tried, and with a fixed
    assignment every reference behind it waits (measured: a healthy
    reference sharing a prober with four dead ones took 4 s per refresh).
    Handed to whichever is free, a dead remote holds one prober at most. */
#include "rcs_internal.h"

#include <stdlib.h>

typedef struct {
    mt__rcs_cfg_t *cfg;             /* cfg->probers, set before any probe */
    int *idle;                      /* free probers' indexes (a stack) */
    int nidle;
    mt_msgq_t queue;                /* probes waiting for a free prober */
} dispatcher_t;

static void to_prober(dispatcher_t *d, mt_msg_t *msg)
{
    mt_send(d->cfg->probers[d->idle[--d->nidle]], msg);
}

static void behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    dispatcher_t *d = state;
    if (msg->type == MT__RC_PROBE) {
        mt_msg_keep(msg);
        if (d->nidle) {
            to_prober(d, msg);
            return;
        }
        mt_msgq_push(&d->queue, msg);
    }
    else if (msg->type == MT__RC_IDLE) {
        d->idle[d->nidle++] = *(int *) mt_msg_data(msg);
        mt_msg_t *next = mt_msgq_pop(&d->queue);
        if (next)
            to_prober(d, next);
    }
}

static void destroy(void *state)
{
    dispatcher_t *d = state;
    mt_msgq_free_all(&d->queue);
    free(d->idle);
    mt__rcs_cfg_unref(&d->cfg);
    free(d);
}

mt_actor_t *mt__rc_dispatcher_spawn(mt_runtime_t *rt, mt__rcs_cfg_t *cfg)
{
    dispatcher_t *d = calloc(1, sizeof *d);
    if (!d || !(d->idle = calloc((size_t) cfg->nprobers, sizeof *d->idle))) {
        free(d);
        return NULL;
    }
    for (int i = 0; i < cfg->nprobers; i++)
        d->idle[d->nidle++] = i;
    d->cfg = mt__rcs_cfg_ref(cfg);
    mt_actor_t *a = mt_spawn(rt, behaviour, d, destroy);
    if (!a)
        destroy(d);
    return a;
}
