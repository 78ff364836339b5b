/*  msgq.c — a FIFO of messages owned by one actor (stash, waiters, work
    queues), linked through msg->next as the mailbox is.

    Relaxed accesses suffice: a queue is touched by its owner alone, and a
    message reaches another thread only through a mailbox, whose push
    publishes everything written before it (mailbox.c). */
#include "internal.h"

void mt_msgq_init(mt_msgq_t *q)
{
    q->head = q->tail = NULL;
}

void mt_msgq_push(mt_msgq_t *q, mt_msg_t *msg)
{
    atomic_store_explicit(&msg->next, NULL, memory_order_relaxed);
    if (q->tail)
        atomic_store_explicit(&q->tail->next, msg, memory_order_relaxed);
    else
        q->head = msg;
    q->tail = msg;
}

mt_msg_t *mt_msgq_pop(mt_msgq_t *q)
{
    mt_msg_t *msg = q->head;
    if (!msg)
        return NULL;
    q->head = atomic_load_explicit(&msg->next, memory_order_relaxed);
    if (!q->head)
        q->tail = NULL;
    /*  Not left pointing into the queue: the message may be pushed, sent
        or kept next, and a stale link would only mislead a debugger. */
    atomic_store_explicit(&msg->next, NULL, memory_order_relaxed);
    return msg;
}

mt_msg_t *mt_msgq_peek(const mt_msgq_t *q)
{
    return q->head;
}

bool mt_msgq_empty(const mt_msgq_t *q)
{
    return q->head == NULL;
}

size_t mt_msgq_count(const mt_msgq_t *q)
{
    size_t n = 0;
    for (mt_msg_t *m = q->head; m; m = atomic_load_explicit(&m->next, memory_order_relaxed))
        n++;
    return n;
}

void mt_msgq_free_all(mt_msgq_t *q)
{
    mt_msg_t *m;
    while ((m = mt_msgq_pop(q)))
        mt_msg_free(m);
}
