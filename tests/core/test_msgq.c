/*  core_msgq: mt_msgq_t — FIFO order, peek, count, a zeroed queue is
    empty, free_all runs every message's drop, a popped message can be
    pushed again or sent, and an actor's stash built on it (the pattern
    the node, rc agent and directory use). */
#include "testutil.h"

enum { T_WORK = MT_MSG_USER, T_LOCK, T_UNLOCK, T_DONE };

START_TEST(zeroed_is_empty)
{
    mt_msgq_t q;
    memset(&q, 0, sizeof q);
    ck_assert(mt_msgq_empty(&q));
    ck_assert_ptr_null(mt_msgq_peek(&q));
    ck_assert_ptr_null(mt_msgq_pop(&q));
    ck_assert_uint_eq(mt_msgq_count(&q), 0);
    mt_msgq_free_all(&q);           /* nothing to do */
    mt_msgq_init(&q);
    ck_assert(mt_msgq_empty(&q));
}
END_TEST

START_TEST(fifo_order)
{
    mt_msgq_t q;
    mt_msgq_init(&q);
    for (int i = 0; i < 1000; i++) {
        mt_msgq_push(&q, mt_msg_new_i64(T_WORK, i));
        ck_assert_uint_eq(mt_msgq_count(&q), (size_t) i + 1);
        ck_assert_int_eq(mt_msg_i64(mt_msgq_peek(&q)), 0);     /* oldest */
    }
    for (int i = 0; i < 1000; i++) {
        ck_assert(!mt_msgq_empty(&q));
        mt_msg_t *m = mt_msgq_pop(&q);
        ck_assert_int_eq(mt_msg_i64(m), i);
        mt_msg_free(m);
    }
    ck_assert(mt_msgq_empty(&q));
    ck_assert_ptr_null(mt_msgq_pop(&q));
}
END_TEST

/*  Emptied and refilled: the tail must not point at a popped message. */
START_TEST(interleaved)
{
    mt_msgq_t q;
    mt_msgq_init(&q);
    int64_t pushed = 0, popped = 0;
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i <= round % 5; i++)
            mt_msgq_push(&q, mt_msg_new_i64(T_WORK, pushed++));
        for (int i = 0; i <= round % 3 && !mt_msgq_empty(&q); i++) {
            mt_msg_t *m = mt_msgq_pop(&q);
            ck_assert_int_eq(mt_msg_i64(m), popped++);
            mt_msg_free(m);
        }
        ck_assert_uint_eq(mt_msgq_count(&q), (size_t) (pushed - popped));
    }
    /*  Popped and pushed again: goes to the back. */
    if (!mt_msgq_empty(&q)) {
        mt_msg_t *m = mt_msgq_pop(&q);
        ck_assert_int_eq(mt_msg_i64(m), popped);
        mt_msgq_push(&q, m);
        ck_assert_ptr_eq(q.tail, m);
    }
    mt_msgq_free_all(&q);
}
END_TEST

START_TEST(free_all_drops_every_message)
{
    mt_msgq_t q;
    mt_msgq_init(&q);
    for (int i = 0; i < 100; i++)
        mt_msgq_push(&q, t_msg_counted(T_WORK, i));
    mt_msgq_free_all(&q);
    ck_assert_int_eq(atomic_load(&t_drops), 100);
    ck_assert(mt_msgq_empty(&q));
    ck_assert_ptr_null(q.tail);
    mt_msgq_push(&q, t_msg_counted(T_WORK, 0));     /* usable again */
    ck_assert_uint_eq(mt_msgq_count(&q), 1);
    mt_msgq_free_all(&q);
    ck_assert_int_eq(atomic_load(&t_drops), 101);
}
END_TEST

/*  A message popped from a queue goes through a mailbox like any other. */
START_TEST(popped_message_can_be_sent)
{
    mt_msgq_t q;
    mt_msgq_init(&q);
    for (int i = 0; i < 10; i++)
        mt_msgq_push(&q, mt_msg_new_i64(T_DONE, i));
    mt_msg_t *m;
    while ((m = mt_msgq_pop(&q)))
        ck_assert_int_eq(mt_send(t_probe_actor(), m), MT_OK);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(t_recv_i64(T_DONE), i);
}
END_TEST

/* ---- a stash on mt_msgq_t ----------------------------------------------- */

typedef struct {
    mt_actor_t *report;
    bool locked;
    mt_msgq_t stash;
} stash_state_t;

static void stash_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    (void) self;
    stash_state_t *st = state;
    switch (msg->type) {
    case T_LOCK:
        st->locked = true;
        break;
    case T_UNLOCK: {
        st->locked = false;
        mt_msg_t *m;
        while ((m = mt_msgq_pop(&st->stash))) {
            t_tell(st->report, T_DONE, mt_msg_i64(m));
            mt_msg_free(m);
        }
        break;
    }
    case T_WORK:
        if (st->locked) {
            mt_msg_keep(msg);
            mt_msgq_push(&st->stash, msg);
        }
        else
            t_tell(st->report, T_DONE, mt_msg_i64(msg));
        break;
    default:
        break;
    }
}

static void stash_destroy(void *state)
{
    stash_state_t *st = state;
    mt_msgq_free_all(&st->stash);
    mt_actor_unref(&st->report);
}

/*  The stash is copied zeroed from `init`: an empty queue. */
static void stash_init(void *state, void *arg) { *(stash_state_t *) state = *(stash_state_t *) arg; }

START_TEST(actor_stash_in_order)
{
    stash_state_t init = { .report = t_probe_ref() };
    mt_spawn_opts_t o = { .behaviour = stash_behaviour, .state_size = sizeof init,
                          .init = stash_init, .init_arg = &init, .destroy = stash_destroy };
    mt_actor_t *a = mt_spawn_opts(rt, &o);
    ck_assert_ptr_nonnull(a);
    mt_send_i64(a, T_LOCK, 0);
    for (int i = 0; i < 5000; i++)
        mt_send_i64(a, T_WORK, i);
    t_assert_quiet();
    mt_send_i64(a, T_UNLOCK, 0);
    mt_send_i64(a, T_WORK, 5000);
    for (int i = 0; i <= 5000; i++)
        ck_assert_int_eq(t_recv_i64(T_DONE), i);
    mt_stop(a, 0);
    mt_actor_unref(&a);
}
END_TEST

/*  A stopped actor's destructor frees what its stash still holds. */
START_TEST(stash_freed_by_destructor)
{
    stash_state_t init = { .report = t_probe_ref() };
    mt_spawn_opts_t o = { .behaviour = stash_behaviour, .state_size = sizeof init,
                          .init = stash_init, .init_arg = &init, .destroy = stash_destroy };
    mt_actor_t *a = mt_spawn_opts(rt, &o);
    ck_assert_ptr_nonnull(a);
    mt_send_i64(a, T_LOCK, 0);
    for (int i = 0; i < 100; i++)
        mt_send(a, t_msg_counted(T_WORK, i));
    mt_stop(a, 0);
    ck_assert_eventually(!mt_actor_alive(a), T_WAIT);
    ck_assert_eventually(atomic_load(&t_drops) == 100, T_WAIT);
    mt_actor_unref(&a);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("core_msgq");
    TCase *tc = t_tcase("msgq", 60);
    tcase_add_test(tc, zeroed_is_empty);
    tcase_add_test(tc, fifo_order);
    tcase_add_test(tc, interleaved);
    tcase_add_test(tc, free_all_drops_every_message);
    tcase_add_test(tc, popped_message_can_be_sent);
    tcase_add_test(tc, actor_stash_in_order);
    tcase_add_test(tc, stash_freed_by_destructor);
    suite_add_tcase(s, tc);
    return s;
}

T_MAIN(make_suite)
