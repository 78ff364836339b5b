/*  core_pinned: pinned actors on their own thread: woken by a watched fd
    (mt_actor_watch_fd + on_fd) and by their mailbox; a custom wait hook;
    blocking in a pinned actor does not block the workers. */
#include <fcntl.h>
#include <poll.h>

#include "testutil.h"

enum { T_WATCH = MT_MSG_USER, T_UNWATCH, T_MSG, T_FD, T_RC, T_WAITIO, T_BLOCK,
       T_SET, T_THREAD, T_ACK };

typedef struct {
    mt_actor_t *report;
    int rfd;                     /* read end of the pipe */
    pthread_t thread;            /* thread of the first behaviour call */
    bool have_thread;
    int64_t wrong_thread;        /* calls seen on another thread */
    int64_t wait_calls;
    atomic_int destroyed;
    atomic_bool destroyed_on_own_thread;
} pin_state_t;

static void note_thread(pin_state_t *st)
{
    if (!st->have_thread) {
        st->thread = pthread_self();
        st->have_thread = true;
    } else if (!pthread_equal(st->thread, pthread_self())) {
        st->wrong_thread++;
    }
}

static void pin_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    pin_state_t *st = state;
    note_thread(st);
    switch (msg->type) {
    case T_WATCH:
        t_tell(st->report, T_RC, mt_actor_watch_fd(self, st->rfd, POLLIN));
        break;
    case T_UNWATCH:
        t_tell(st->report, T_RC, mt_actor_unwatch_fd(self, st->rfd));
        break;
    case T_MSG:
        t_tell(st->report, T_MSG, mt_msg_i64(msg));
        break;
    case T_THREAD:
        t_tell(st->report, T_THREAD, st->wrong_thread
               + (pthread_equal(st->thread, *(pthread_t *) mt_msg_data(msg)) ? 1000 : 0));
        break;
    }
}

/*  Reads what the pipe has, reports each byte. */
static void drain_pipe(pin_state_t *st, uint16_t type)
{
    unsigned char buf[64];
    ssize_t n;
    while ((n = read(st->rfd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            t_tell(st->report, type, buf[i]);
}

static void pin_on_fd(mt_actor_t *self, void *state, int fd, short revents)
{
    pin_state_t *st = state;
    note_thread(st);
    if (fd != st->rfd || !(revents & POLLIN)) {
        t_tell(st->report, T_FD, -1);
        return;
    }
    drain_pipe(st, T_FD);
}

static void pin_destroy(void *state)
{
    pin_state_t *st = state;
    if (st->have_thread)
        atomic_store(&st->destroyed_on_own_thread, pthread_equal(st->thread, pthread_self()));
    mt_actor_unref(&st->report);
    atomic_fetch_add(&st->destroyed, 1);
}

static int pipefd[2];

static pin_state_t *new_pin_state(void)
{
    ck_assert_int_eq(pipe2(pipefd, O_NONBLOCK | O_CLOEXEC), 0);
    pin_state_t *st = calloc(1, sizeof *st);
    st->report = t_probe_ref();
    st->rfd = pipefd[0];
    return st;
}

static void free_pin_state(pin_state_t *st)
{
    close(pipefd[0]);
    close(pipefd[1]);
    free(st);
}

static void write_byte(unsigned char c)
{
    ck_assert_int_eq(write(pipefd[1], &c, 1), 1);
}

static int down_reason(mt_actor_t *a)
{
    mt_msg_t *m = t_recv_type(MT_MSG_DOWN);
    mt_down_t *d = mt_msg_data(m);
    ck_assert_ptr_eq(d->actor, a);
    int r = d->reason;
    mt_msg_free(m);
    return r;
}

START_TEST(wakes_on_fd_and_mailbox)
{
    pin_state_t *st = new_pin_state();
    mt_spawn_opts_t o = { .behaviour = pin_behaviour, .state = st, .destroy = pin_destroy,
                          .pinned = true, .on_fd = pin_on_fd };
    mt_actor_t *a = mt_spawn_opts(rt, &o);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(mt_send_i64(a, T_WATCH, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_RC), MT_OK);

    /* Alternate: each wake-up source alone must wake the idle actor. */
    for (int i = 0; i < 100; i++) {
        write_byte((unsigned char) i);
        ck_assert_int_eq(t_recv_i64(T_FD), i);
        ck_assert_int_eq(mt_send_i64(a, T_MSG, i), MT_OK);
        ck_assert_int_eq(t_recv_i64(T_MSG), i);
    }
    /* Both at once. */
    write_byte(200);
    ck_assert_int_eq(mt_send_i64(a, T_MSG, 201), MT_OK);
    bool fd = false, msg = false;
    for (int k = 0; k < 2; k++) {
        mt_msg_t *m = mt_probe_recv(probe, T_WAIT);
        ck_assert_ptr_nonnull(m);
        if (m->type == T_FD) {
            ck_assert_int_eq(mt_msg_i64(m), 200);
            fd = true;
        } else {
            ck_assert_uint_eq(m->type, T_MSG);
            ck_assert_int_eq(mt_msg_i64(m), 201);
            msg = true;
        }
        mt_msg_free(m);
    }
    ck_assert(fd && msg);

    /* Behaviour and on_fd ran on one thread, not the test's. */
    pthread_t me = pthread_self();
    ck_assert_int_eq(mt_send(a, t_msg_blob(T_THREAD, &me, sizeof me)), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_THREAD), 0);

    /* Unwatched: the fd no longer wakes it. */
    ck_assert_int_eq(mt_send_i64(a, T_UNWATCH, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_RC), MT_OK);
    write_byte(7);
    t_assert_quiet();
    ck_assert_int_eq(mt_send_i64(a, T_MSG, 8), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_MSG), 8);

    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    mt_stop(a, 0);
    ck_assert_int_eq(down_reason(a), 0);
    ck_assert_eventually(atomic_load(&st->destroyed) >= 1, T_WAIT);
    ck_assert_int_eq(atomic_load(&st->destroyed), 1);
    ck_assert(atomic_load(&st->destroyed_on_own_thread));
    mt_actor_unref(&a);
    t_destroy_runtime();
    ck_assert_int_eq(atomic_load(&st->destroyed), 1);
    free_pin_state(st);
}
END_TEST

/* ---- custom wait hook --------------------------------------------------------- */

static int pin_wait(mt_actor_t *self, void *state, int mailbox_fd, int timeout_ms)
{
    pin_state_t *st = state;
    note_thread(st);
    st->wait_calls++;
    struct pollfd p[2] = { { .fd = mailbox_fd, .events = POLLIN },
                           { .fd = st->rfd, .events = POLLIN } };
    int n = poll(p, 2, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : MT_ESYSTEM;
    if (p[1].revents & POLLIN) {
        unsigned char buf[64];
        ssize_t r;
        while ((r = read(st->rfd, buf, sizeof buf)) > 0)
            for (ssize_t i = 0; i < r; i++) {
                if (buf[i] == 'q')
                    return MT_ECLOSED;          /* stop the actor */
                t_tell(st->report, T_WAITIO, buf[i]);
            }
    }
    return 0;
}

static mt_actor_t *spawn_waiter(pin_state_t *st)
{
    mt_spawn_opts_t o = { .behaviour = pin_behaviour, .state = st, .destroy = pin_destroy,
                          .pinned = true, .wait = pin_wait };
    mt_actor_t *a = mt_spawn_opts(rt, &o);
    ck_assert_ptr_nonnull(a);
    return a;
}

START_TEST(custom_wait_hook)
{
    pin_state_t *st = new_pin_state();
    mt_actor_t *a = spawn_waiter(st);
    for (int i = 0; i < 100; i++) {
        write_byte((unsigned char) i);
        ck_assert_int_eq(t_recv_i64(T_WAITIO), i);
        ck_assert_int_eq(mt_send_i64(a, T_MSG, i), MT_OK);
        ck_assert_int_eq(t_recv_i64(T_MSG), i);
    }
    /* A burst of mailbox messages, and timers, through the hook too. */
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(mt_send_i64(a, T_MSG, i), MT_OK);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(t_recv_i64(T_MSG), i);
    mt_send_after(a, mt_msg_new_i64(T_MSG, 5000), 20);
    ck_assert_int_eq(t_recv_i64(T_MSG), 5000);

    pthread_t me = pthread_self();
    ck_assert_int_eq(mt_send(a, t_msg_blob(T_THREAD, &me, sizeof me)), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_THREAD), 0);       /* hook on the same thread */

    /* The hook returns an error: the actor stops. */
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    write_byte('q');
    (void) down_reason(a);
    ck_assert_eventually(atomic_load(&st->destroyed) >= 1, T_WAIT);
    ck_assert_int_eq(atomic_load(&st->destroyed), 1);
    ck_assert(!mt_actor_alive(a));
    ck_assert_int_eq(mt_send_i64(a, T_MSG, 0), MT_ECLOSED);
    mt_actor_unref(&a);
    t_destroy_runtime();
    ck_assert_int_eq(atomic_load(&st->destroyed), 1);
    free_pin_state(st);
}
END_TEST

/*  The stop reason of an actor stopped by its wait hook is the hook's error. */
START_TEST(wait_hook_error_is_reason)
{
    pin_state_t *st = new_pin_state();
    mt_actor_t *a = spawn_waiter(st);
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    write_byte('q');
    ck_assert_int_eq(down_reason(a), MT_ECLOSED);
    mt_actor_unref(&a);
    t_destroy_runtime();
    free_pin_state(st);
}
END_TEST

/*  A pinned actor with a custom hook, stopped from outside and by runtime
    destroy while idle in its hook. */
START_TEST(wait_hook_stop_and_destroy)
{
    pin_state_t *st = new_pin_state();
    mt_actor_t *a = spawn_waiter(st);
    ck_assert_int_eq(mt_send_i64(a, T_MSG, 1), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_MSG), 1);
    ck_assert_int_eq(mt_monitor(t_probe_actor(), a), MT_OK);
    mt_stop(a, 12);
    ck_assert_int_eq(down_reason(a), 12);
    ck_assert_eventually(atomic_load(&st->destroyed) >= 1, T_WAIT);
    ck_assert_int_eq(atomic_load(&st->destroyed), 1);
    ck_assert(atomic_load(&st->destroyed_on_own_thread));
    mt_actor_unref(&a);
    free_pin_state(st);

    st = new_pin_state();
    a = spawn_waiter(st);
    ck_assert_int_eq(mt_send_i64(a, T_MSG, 2), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_MSG), 2);
    mt_actor_unref(&a);
    t_destroy_runtime();                 /* must wake the hook and join */
    ck_assert_int_eq(atomic_load(&st->destroyed), 1);
    free_pin_state(st);
}
END_TEST

/* ---- blocking ------------------------------------------------------------------- */

/*  With one worker, a pinned actor blocks until an ordinary actor sets a
    flag: if the pinned actor ran on the worker this would never end. */
static atomic_bool flag;

static void blocker_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    mt_actor_t *report = state;
    if (msg->type == T_BLOCK) {
        uint64_t dl = mt_now_ms() + T_WAIT;
        while (!atomic_load(&flag) && mt_now_ms() < dl)
            t_sleep_ms(1);
        t_tell(report, T_ACK, atomic_load(&flag));
    }
}

static void setter_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    atomic_store(&flag, true);
}

static void unref_state(void *state)
{
    mt_actor_t *a = state;
    mt_actor_unref(&a);
}

static void setup_one_worker(void)
{
    int saved = t_workers;
    t_workers = 1;
    rt_setup();
    t_workers = saved;
}

START_TEST(pinned_blocking_does_not_block_workers)
{
    atomic_store(&flag, false);
    mt_stats_t s = t_stats();
    ck_assert_int_eq(s.workers, 1);
    mt_spawn_opts_t o = { .behaviour = blocker_behaviour, .state = t_probe_ref(),
                          .destroy = unref_state, .pinned = true };
    mt_actor_t *p = mt_spawn_opts(rt, &o);
    ck_assert_ptr_nonnull(p);
    mt_actor_t *w = mt_spawn(rt, setter_behaviour, NULL, NULL);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(mt_send_i64(p, T_BLOCK, 0), MT_OK);
    t_sleep_ms(50);
    ck_assert_int_eq(mt_send_i64(w, T_SET, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_ACK), 1);
    mt_actor_unref(&p);
    mt_actor_unref(&w);
}
END_TEST

/*  Many pinned actors, each with its own thread, talking to each other. */
static void pass_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    mt_actor_t **next = state;       /* next[0]: next actor or NULL = probe */
    int64_t v = mt_msg_i64(msg);
    if (next[0])
        t_tell(next[0], T_MSG, v + 1);
    else
        t_tell(next[1], T_MSG, v + 1);
}

static void pass_destroy(void *state)
{
    mt_actor_t **next = state;
    mt_actor_unref(&next[0]);
    mt_actor_unref(&next[1]);
    free(next);
}

START_TEST(many_pinned_chain)
{
    enum { N = 32, ROUNDS = 200 };
    mt_actor_t *a[N];
    mt_actor_t *next = NULL;
    for (int i = N - 1; i >= 0; i--) {
        mt_actor_t **st = calloc(2, sizeof *st);
        st[0] = next ? mt_actor_ref(next) : NULL;
        st[1] = t_probe_ref();
        mt_spawn_opts_t o = { .behaviour = pass_behaviour, .state = st,
                              .destroy = pass_destroy, .pinned = (i % 2 == 0) };
        a[i] = mt_spawn_opts(rt, &o);
        ck_assert_ptr_nonnull(a[i]);
        next = a[i];
    }
    for (int r = 0; r < ROUNDS; r++)
        ck_assert_int_eq(mt_send_i64(a[0], T_MSG, r * 1000), MT_OK);
    for (int r = 0; r < ROUNDS; r++)
        ck_assert_int_eq(t_recv_i64(T_MSG), r * 1000 + N);
    for (int i = 0; i < N; i++)
        mt_actor_unref(&a[i]);
}
END_TEST

/*  At most MT_MAX_WATCH fds; watching again updates; unwatching an fd that
    is not watched fails; a non-pinned actor cannot watch. */
static void limit_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    mt_actor_t *report = state;
    int fds[MT_MAX_WATCH + 1][2];
    int64_t r = 0;                       /* bit i: step i went as it should */
    for (int i = 0; i <= MT_MAX_WATCH; i++)
        if (pipe2(fds[i], O_CLOEXEC) != 0)
            fds[i][0] = fds[i][1] = -1;
    bool ok = true;
    for (int i = 0; i < MT_MAX_WATCH; i++)
        ok = ok && mt_actor_watch_fd(self, fds[i][0], POLLIN) == MT_OK;
    r |= ok << 0;
    r |= (mt_actor_watch_fd(self, fds[MT_MAX_WATCH][0], POLLIN) != MT_OK) << 1;
    r |= (mt_actor_watch_fd(self, fds[0][0], POLLIN | POLLPRI) == MT_OK) << 2;
    r |= (mt_actor_unwatch_fd(self, fds[MT_MAX_WATCH][0]) != MT_OK) << 3;
    ok = true;
    for (int i = 0; i < MT_MAX_WATCH; i++)
        ok = ok && mt_actor_unwatch_fd(self, fds[i][0]) == MT_OK;
    r |= ok << 4;
    for (int i = 0; i <= MT_MAX_WATCH; i++) {
        close(fds[i][0]);
        close(fds[i][1]);
    }
    t_tell(report, T_ACK, r);
}

static void not_pinned_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    mt_actor_t *report = state;
    t_tell(report, T_ACK, mt_actor_watch_fd(self, 0, POLLIN) != MT_OK);
}

START_TEST(watch_limits)
{
    mt_spawn_opts_t o = { .behaviour = limit_behaviour, .state = t_probe_ref(),
                          .destroy = unref_state, .pinned = true, .on_fd = NULL };
    mt_actor_t *a = mt_spawn_opts(rt, &o);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(mt_send_i64(a, T_WATCH, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_ACK), 0x1f);
    mt_actor_t *b = mt_spawn(rt, not_pinned_behaviour, t_probe_ref(), unref_state);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(mt_send_i64(b, T_WATCH, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_ACK), 1);
    mt_actor_unref(&a);
    mt_actor_unref(&b);
}
END_TEST

/*  A pinned thread carries the name it was given, as top -H and perf
    show it; one without a name gets the runtime's generic one. */
static void name_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    (void) self;
    char name[16] = "";
    pthread_getname_np(pthread_self(), name, sizeof name);
    t_tell(state, T_ACK, strcmp(name, msg->type == T_MSG ? "mt-test-pin" : "mt-pinned") == 0);
}

START_TEST(pinned_threads_are_named)
{
    mt_spawn_opts_t o = { .behaviour = name_behaviour, .state = t_probe_ref(),
                          .destroy = unref_state, .pinned = true,
                          .thread_name = "mt-test-pin-and-more-than-15" };
    mt_actor_t *a = mt_spawn_opts(rt, &o);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(mt_send_i64(a, T_MSG, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_ACK), 0);     /* 15 characters kept: "mt-test-pin-and" */
    o.thread_name = "mt-test-pin";
    o.state = t_probe_ref();
    mt_actor_t *b = mt_spawn_opts(rt, &o);
    ck_assert_int_eq(mt_send_i64(b, T_MSG, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_ACK), 1);
    o.thread_name = NULL;
    o.state = t_probe_ref();
    mt_actor_t *c = mt_spawn_opts(rt, &o);
    ck_assert_int_eq(mt_send_i64(c, T_SET, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_ACK), 1);
    mt_actor_unref(&a);
    mt_actor_unref(&b);
    mt_actor_unref(&c);
}
END_TEST

/*  mt_actor_hold_mail: a hold ends with its message, sent to the actor
    itself no earlier than the hold's end (a lower bound: no clock bound on
    the machine's speed) and behind the mail that came meanwhile, which is
    all handled, in order; a new hold drops the old one's message; a hold
    with no message ends one; an actor on a worker cannot hold. T_SET
    starts a hold of the given ms (0: none, ending any), ended by T_ACK
    with the time; T_MSG reports its value. */
static void hold_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    switch (msg->type) {
    case T_SET: {
        int64_t ms = mt_msg_i64(msg);
        mt_msg_t *end = ms ? mt_msg_new(T_ACK, sizeof(int64_t)) : NULL;
        t_tell(state, T_RC, mt_actor_hold_mail(self, ms ? mt_now_ms() + (uint64_t) ms : 0, end));
        break;
    }
    case T_ACK:                         /* the end of a hold */
        t_tell(state, T_ACK, (int64_t) mt_now_ms());
        break;
    case T_MSG:
        t_tell(state, T_MSG, mt_msg_i64(msg));
        break;
    }
}

START_TEST(a_hold_ends_with_its_message_behind_the_held_mail)
{
    mt_spawn_opts_t o = { .behaviour = hold_behaviour, .state = t_probe_ref(),
                          .destroy = unref_state, .pinned = true };
    mt_actor_t *a = mt_spawn_opts(rt, &o);
    ck_assert_ptr_nonnull(a);
    uint64_t until = mt_now_ms() + 300;         /* no later than the actor's */
    ck_assert_int_eq(mt_send_i64(a, T_SET, 300), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_RC), MT_OK);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(mt_send_i64(a, T_MSG, i), MT_OK);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(t_recv_i64(T_MSG), i);
    ck_assert_int_ge(t_recv_i64(T_ACK), (int64_t) until);
    /*  A new hold replaces one under way: only its end comes; and a hold
        without a message ends one, so nothing comes at all. */
    ck_assert_int_eq(mt_send_i64(a, T_SET, 60000), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_RC), MT_OK);
    ck_assert_int_eq(mt_send_i64(a, T_SET, 50), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_RC), MT_OK);
    t_recv_i64(T_ACK);                          /* the 50 ms one, long before a minute */
    ck_assert_int_eq(mt_send_i64(a, T_SET, 200), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_RC), MT_OK);
    ck_assert_int_eq(mt_send_i64(a, T_SET, 0), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_RC), MT_OK);
    ck_assert_int_eq(mt_send_i64(a, T_MSG, 7), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_MSG), 7);
    t_assert_quiet();                           /* no end of the cancelled holds */
    mt_actor_t *b = mt_spawn(rt, hold_behaviour, t_probe_ref(), unref_state);
    ck_assert_int_eq(mt_send_i64(b, T_SET, 100), MT_OK);
    ck_assert_int_eq(t_recv_i64(T_RC), MT_EINVAL);
    mt_actor_unref(&a);
    mt_actor_unref(&b);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("core_pinned");
    TCase *tc = t_tcase("pinned", 60);
    tcase_add_test(tc, wakes_on_fd_and_mailbox);
    tcase_add_test(tc, custom_wait_hook);
    tcase_add_test(tc, wait_hook_error_is_reason);
    tcase_add_test(tc, wait_hook_stop_and_destroy);
    tcase_add_test(tc, many_pinned_chain);
    tcase_add_test(tc, watch_limits);
    tcase_add_test(tc, pinned_threads_are_named);
    tcase_add_test(tc, a_hold_ends_with_its_message_behind_the_held_mail);
    suite_add_tcase(s, tc);

    TCase *one = tcase_create("one_worker");
    tcase_add_checked_fixture(one, setup_one_worker, rt_teardown);
    tcase_set_timeout(one, 60);
    tcase_add_test(one, pinned_blocking_does_not_block_workers);
    suite_add_tcase(s, one);
    return s;
}

T_MAIN(make_suite)
