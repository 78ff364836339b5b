/*  mailbox.c — an actor's mailbox: Vyukov's intrusive MPSC queue.

    push is wait-free (one exchange); pop is the consumer's alone. A message
    is linked in two steps (exchange head, then link the predecessor), so a
    consumer may briefly see a queue that is not empty but whose next node
    is not linked yet: pop then returns NULL but the queue is not drained,
    and the scheduler keeps the actor runnable. */
#include "internal.h"

void mt__mailbox_init(mt__mailbox_t *q)
{
    atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
    atomic_store_explicit(&q->head, &q->stub, memory_order_relaxed);
    q->tail = &q->stub;
}

void mt__mailbox_push(mt__mailbox_t *q, mt_msg_t *msg)
{
    atomic_store_explicit(&msg->next, NULL, memory_order_relaxed);
    /*  seq_cst: the sender reads the actor's token right after this; the
        consumer's "give the token back, then look at head" must not miss
        a message pushed before the sender saw the token taken. */
    mt_msg_t *prev = atomic_exchange_explicit(&q->head, msg, memory_order_seq_cst);
    /*  release: the consumer that reads prev->next sees msg's contents. */
    atomic_store_explicit(&prev->next, msg, memory_order_release);
}

mt_msg_t *mt__mailbox_pop(mt__mailbox_t *q)
{
    mt_msg_t *tail = q->tail;
    mt_msg_t *next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (tail == &q->stub) {
        if (!next)
            return NULL;
        q->tail = next;
        tail = next;
        next = atomic_load_explicit(&next->next, memory_order_acquire);
    }
    if (next) {
        q->tail = next;
        return tail;
    }
    /*  tail is the last linked node: either it is the last one pushed, or
        a producer has exchanged head and not linked yet. */
    if (tail != atomic_load_explicit(&q->head, memory_order_acquire))
        return NULL;
    mt__mailbox_push(q, &q->stub);
    next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (next) {
        q->tail = next;
        return tail;
    }
    return NULL;
}

bool mt__mailbox_drained(mt__mailbox_t *q)
{
    return q->tail == &q->stub;
}

bool mt__mailbox_quiet(mt__mailbox_t *q)
{
    /*  seq_cst pairs with the exchange in push. Only head is read: the
        caller may have given the token away, and tail is the consumer's. */
    return atomic_load_explicit(&q->head, memory_order_seq_cst) == &q->stub;
}
