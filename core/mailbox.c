/*  mailbox.c — an actor's mailbox: Vyukov's intrusive MPSC queue, with the
    actor's scheduling token folded into it (as ponyc's messageq does).

    push is wait-free (one exchange); pop is the consumer's alone. The low
    bit of `head` marks the mailbox empty *and unscheduled*: a push that
    replaces a marked head learns it was empty and must make the actor run
    (it now holds the token). The consumer gives the token back with one
    compare-and-swap that succeeds only if nothing was pushed since it
    drained the queue; after that it never touches the actor again, since
    whoever takes the token next may run it to its end and free it.

    A message is linked in two steps (exchange head, then link the
    predecessor), so a consumer may briefly see a queue that is not empty
    but whose next node is not linked yet: pop returns NULL, the queue is
    not drained, and the consumer keeps the token and comes back. */
#include "internal.h"

#define MARK ((uintptr_t) 1)

static inline mt_msg_t *marked(mt_msg_t *m) { return (mt_msg_t *) ((uintptr_t) m | MARK); }

void mt__mailbox_init(mt__mailbox_t *q)
{
    atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
    atomic_store_explicit(&q->head, marked(&q->stub), memory_order_relaxed);
    q->tail = &q->stub;
}

bool mt__mailbox_push(mt__mailbox_t *q, mt_msg_t *msg)
{
    atomic_store_explicit(&msg->next, NULL, memory_order_relaxed);
    /*  acq_rel: release publishes msg to the consumer; acquire, when we
        take the token, makes the previous holder's writes visible to us. */
    mt_msg_t *prev = atomic_exchange_explicit(&q->head, msg, memory_order_acq_rel);
    bool was_empty = (uintptr_t) prev & MARK;
    prev = (mt_msg_t *) ((uintptr_t) prev & ~MARK);
    /*  release: the consumer that reads prev->next sees msg's contents. */
    atomic_store_explicit(&prev->next, msg, memory_order_release);
    return was_empty;
}

/*  The consumer's own push of the stub: head is never marked while the
    consumer holds the token, so this never reports "was empty". */
static void push_stub(mt__mailbox_t *q)
{
    (void) mt__mailbox_push(q, &q->stub);
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
    push_stub(q);
    next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (next) {
        q->tail = next;
        return tail;
    }
    return NULL;
}

bool mt__mailbox_release(mt__mailbox_t *q)
{
    if (q->tail != &q->stub
        || atomic_load_explicit(&q->stub.next, memory_order_acquire) != NULL)
        return false;           /* not drained: a push is half done */
    mt_msg_t *expected = &q->stub;
    /*  release: the next token holder sees everything this turn did. */
    return atomic_compare_exchange_strong_explicit(&q->head, &expected, marked(&q->stub),
                                                   memory_order_acq_rel, memory_order_relaxed);
}

bool mt__mailbox_acquire(mt__mailbox_t *q)
{
    mt_msg_t *expected = marked(&q->stub);
    return atomic_compare_exchange_strong_explicit(&q->head, &expected, &q->stub,
                                                   memory_order_acq_rel, memory_order_relaxed);
}
