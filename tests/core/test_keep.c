/*  core_keep: mt_msg_keep — a kept message outlives its turn: stash and
    handle later (stash/unstash), forward it as is, send it back to self;
    a message not kept is freed after the behaviour returns. */
#include "testutil.h"

enum { T_WORK = MT_MSG_USER, T_LOCK, T_UNLOCK, T_DONE, T_FLUSH, T_REPORT };

/*  While locked, T_WORK is stashed (kept); T_UNLOCK handles the stash in
    order, then later work directly. Reports each handled value. */
#define STASH_MAX 4096
typedef struct {
    mt_actor_t *report;
    bool locked;
    mt_msg_t *stash[STASH_MAX];
    int n;
    int64_t overflow;
} stash_state_t;

static void handle_work(stash_state_t *st, mt_msg_t *msg)
{
    t_tell(st->report, T_DONE, mt_msg_i64(msg));
}

static void stash_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    stash_state_t *st = state;
    switch (msg->type) {
    case T_LOCK:
        st->locked = true;
        break;
    case T_UNLOCK:
        st->locked = false;
        for (int i = 0; i < st->n; i++) {
            handle_work(st, st->stash[i]);
            mt_msg_free(st->stash[i]);
        }
        st->n = 0;
        break;
    case T_WORK:
        if (!st->locked) {
            handle_work(st, msg);
        } else if (st->n < STASH_MAX) {
            mt_msg_keep(msg);
            st->stash[st->n++] = msg;
        } else {
            st->overflow++;
        }
        break;
    case T_FLUSH:
        t_tell(st->report, T_REPORT, st->n + 1000000 * st->overflow);
        break;
    }
}

static void stash_destroy(void *state)
{
    stash_state_t *st = state;
    for (int i = 0; i < st->n; i++)
        mt_msg_free(st->stash[i]);      /* kept messages belong to us */
    mt_actor_unref(&st->report);
    free(st);
}

static mt_actor_t *spawn_stash(void)
{
    stash_state_t *st = calloc(1, sizeof *st);
    st->report = t_probe_ref();
    mt_actor_t *a = mt_spawn(rt, stash_behaviour, st, stash_destroy);
    ck_assert_ptr_nonnull(a);
    return a;
}

START_TEST(stash_unstash)
{
    mt_actor_t *a = spawn_stash();
    ck_assert_int_eq(mt_send_i64(a, T_LOCK, 0), MT_OK);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(mt_send(a, t_msg_counted(T_WORK, i)), MT_OK);
    ck_assert_int_eq(mt_send_i64(a, T_FLUSH, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_REPORT), 1000);          /* all stashed */
    ck_assert_int_eq(atomic_load(&t_drops), 0);             /* none freed */
    t_assert_quiet();                                       /* none handled */

    ck_assert_int_eq(mt_send_i64(a, T_UNLOCK, 0), MT_OK);
    for (int i = 1000; i < 1100; i++)
        ck_assert_int_eq(mt_send(a, t_msg_counted(T_WORK, i)), MT_OK);
    for (int i = 0; i < 1100; i++)
        ck_assert_int_eq(t_recv_i64(T_DONE), i);            /* stash first, in order */
    ck_assert_eventually(atomic_load(&t_drops) >= 1100, T_WAIT);   /* each freed once */
    ck_assert_int_eq(atomic_load(&t_drops), 1100);
    t_sleep_ms(50);
    ck_assert_int_eq(atomic_load(&t_drops), 1100);
    mt_actor_unref(&a);
}
END_TEST

/*  Kept messages still stashed when the actor stops are freed by its
    destructor (and not by the runtime as well: ASan would see a double
    free, the count a double drop). */
START_TEST(stash_freed_by_destructor)
{
    mt_actor_t *a = spawn_stash();
    ck_assert_int_eq(mt_send_i64(a, T_LOCK, 0), MT_OK);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(mt_send(a, t_msg_counted(T_WORK, i)), MT_OK);
    ck_assert_int_eq(mt_send_i64(a, T_FLUSH, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_REPORT), 100);
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    mt_stop(a, 0);
    mt_msg_free(t_recv_type(MT_MSG_DOWN));
    ck_assert_eventually(atomic_load(&t_drops) >= 100, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), 100);
    t_sleep_ms(50);
    ck_assert_int_eq(atomic_load(&t_drops), 100);
    mt_actor_unref(&a);
}
END_TEST

/*  A kept message forwarded as is (same object) to the next actor: the
    payload arrives intact, the message is freed once at the end. */
typedef struct { mt_actor_t *next; int64_t add; } fwd_state_t;

static void fwd_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    fwd_state_t *st = state;
    mt_msg_keep(msg);
    *(int64_t *) mt_msg_data(msg) += st->add;
    if (mt_send(st->next, msg) != MT_OK)
        t_tell(st->next, T_REPORT, -1);
}

static void fwd_destroy(void *state)
{
    fwd_state_t *st = state;
    mt_actor_unref(&st->next);
    free(st);
}

START_TEST(keep_and_forward)
{
    enum { N = 10 };
    mt_actor_t *a[N];
    mt_actor_t *next = t_probe_actor();
    for (int i = N - 1; i >= 0; i--) {
        fwd_state_t *st = calloc(1, sizeof *st);
        st->next = mt_actor_ref(next);
        st->add = i + 1;
        a[i] = mt_spawn(rt, fwd_behaviour, st, fwd_destroy);
        ck_assert_ptr_nonnull(a[i]);
        next = a[i];
    }
    for (int k = 0; k < 500; k++)
        ck_assert_int_eq(mt_send(a[0], t_msg_counted(T_WORK, k * 1000)), MT_OK);
    for (int k = 0; k < 500; k++) {
        mt_msg_t *m = t_recv_type(T_WORK);
        ck_assert_int_eq(mt_msg_i64(m), k * 1000 + N * (N + 1) / 2);
        ck_assert_int_eq(atomic_load(&t_drops) <= k, 1);
        mt_msg_free(m);
    }
    ck_assert_int_eq(atomic_load(&t_drops), 500);
    for (int i = 0; i < N; i++)
        mt_actor_unref(&a[i]);
}
END_TEST

/*  Re-sending a kept message to self: handled again later. */
static void again_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    mt_actor_t *report = state;
    int64_t *v = mt_msg_data(msg);
    if (++*v % 100 != 0) {
        mt_msg_keep(msg);
        mt_send(self, msg);
    } else {
        t_tell(report, T_DONE, *v);
    }
}

static void unref_state(void *state)
{
    mt_actor_t *a = state;
    mt_actor_unref(&a);
}

START_TEST(keep_and_send_to_self)
{
    mt_actor_t *a = mt_spawn(rt, again_behaviour, t_probe_ref(), unref_state);
    ck_assert_ptr_nonnull(a);
    for (int k = 0; k < 10; k++)
        ck_assert_int_eq(mt_send(a, t_msg_counted(T_WORK, k * 100)), MT_OK);
    int64_t sum = 0;
    for (int k = 0; k < 10; k++)
        sum += t_recv_i64(T_DONE);
    ck_assert_int_eq(sum, 100 * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10));
    ck_assert_eventually(atomic_load(&t_drops) >= 10, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), 10);
    mt_actor_unref(&a);
}
END_TEST

/*  Not kept: freed after the behaviour returns, exactly once. */
static void plain_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg) { }

START_TEST(not_kept_is_freed)
{
    mt_actor_t *a = mt_spawn(rt, plain_behaviour, NULL, NULL);
    ck_assert_ptr_nonnull(a);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(mt_send(a, t_msg_counted(T_WORK, i)), MT_OK);
    ck_assert_eventually(atomic_load(&t_drops) >= 1000, T_WAIT);
    ck_assert_int_eq(atomic_load(&t_drops), 1000);
    t_sleep_ms(50);
    ck_assert_int_eq(atomic_load(&t_drops), 1000);
    mt_actor_unref(&a);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("core_keep");
    TCase *tc = t_tcase("keep", 60);
    tcase_add_test(tc, stash_unstash);
    tcase_add_test(tc, stash_freed_by_destructor);
    tcase_add_test(tc, keep_and_forward);
    tcase_add_test(tc, keep_and_send_to_self);
    tcase_add_test(tc, not_kept_is_freed);
    suite_add_tcase(s, tc);
    return s;
}

T_MAIN(make_suite)
