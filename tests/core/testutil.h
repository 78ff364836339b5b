/*  testutil.h — shared helpers for the core runtime tests (Check).

    Fork mode. The programs use Check's default fork status (CK_FORK unless
    the environment says CK_FORK=no): every test runs in its own child
    process, so
      * a crash or a hang fails only that test, and tcase timeouts work
        (Check cannot enforce timeouts with CK_FORK=no);
      * the sanitizers run their exit-time checks in every child: a leak
        (LSan), a data race (TSan, exitcode 66) or an ASan error makes that
        one test fail ("Early exit with return value N" / signal), with the
        sanitizer report printed just before the result line.
    The tests also pass with CK_FORK=no (handy under gdb): nothing carries
    over between tests, every global is reset by the fixture.

    Rules the tests follow:
      * no ck_assert inside behaviours or other runtime threads; behaviours
        record what they saw and report to a probe, the test thread asserts;
      * waits for something that must happen are long (T_WAIT) so slow
        sanitizer builds pass; waits showing that something does NOT happen
        are short (T_QUIET);
      * time is only checked as a lower bound (a timer never fires early).
*/
#ifndef MT_TESTUTIL_H
#define MT_TESTUTIL_H

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mt_check.h"
#include "mt_core.h"

#define T_WAIT  30000   /* ms: something that must happen */
#define T_QUIET 300     /* ms: something that must not happen */

#define T_UNUSED __attribute__((unused))

/* ---- the fixture: one runtime and one probe per test ------------------- */

static mt_runtime_t *rt T_UNUSED;
static mt_probe_t *probe T_UNUSED;
static int t_workers T_UNUSED = 4;     /* a file may change it before srunner */
static int t_batch T_UNUSED = 0;

/*  Counts mt_msg_free calls of messages made with t_msg_counted. */
static atomic_long t_drops T_UNUSED;

static inline void t_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static inline void rt_setup(void)
{
    atomic_store(&t_drops, 0);
    mt_runtime_opts_t o = { .workers = t_workers, .batch = t_batch };
    rt = mt_runtime_new(&o);
    ck_assert_ptr_nonnull(rt);
    probe = mt_probe_new(rt);
    ck_assert_ptr_nonnull(probe);
}

/*  Tests may destroy the runtime themselves (rt is then NULL). */
static inline void rt_teardown(void)
{
    if (probe)
        mt_probe_destroy(&probe);
    if (rt)
        mt_runtime_destroy(&rt);
}

/*  Destroys probe and runtime inside a test (to check what destroy does). */
static inline void t_destroy_runtime(void)
{
    mt_probe_destroy(&probe);
    ck_assert_ptr_null(probe);
    mt_runtime_destroy(&rt);
    ck_assert_ptr_null(rt);
}

static inline mt_actor_t *t_probe_actor(void) { return mt_probe_actor(probe); }
/*  A reference to the probe for an actor's state (unref it in destroy). */
static inline mt_actor_t *t_probe_ref(void) { return mt_actor_ref(mt_probe_actor(probe)); }

static inline mt_stats_t t_stats(void)
{
    mt_stats_t s;
    memset(&s, 0, sizeof s);
    mt_runtime_stats(rt, &s);
    return s;
}

/* ---- messages ----------------------------------------------------------- */

static inline void t_count_drop(mt_msg_t *m) { (void) m; atomic_fetch_add(&t_drops, 1); }

/*  An i64 message whose frees are counted in t_drops. */
static inline mt_msg_t *t_msg_counted(uint16_t type, int64_t v)
{
    mt_msg_t *m = mt_msg_new_i64(type, v);
    m->drop = t_count_drop;
    return m;
}

/*  A message carrying a copy of `len` bytes. */
static inline mt_msg_t *t_msg_blob(uint16_t type, const void *p, size_t len)
{
    mt_msg_t *m = mt_msg_new(type, len);
    memcpy(mt_msg_data(m), p, len);
    return m;
}

/*  Sends an i64 to an actor from a behaviour (no asserts on other threads). */
static inline void t_tell(mt_actor_t *to, uint16_t type, int64_t v)
{
    (void) mt_send_i64(to, type, v);
}

/*  Next message on the probe: must arrive within T_WAIT and be of `type`. */
static inline mt_msg_t *t_recv_type(uint16_t type)
{
    mt_msg_t *m = mt_probe_recv(probe, T_WAIT);
    ck_assert_msg(m != NULL, "probe: no message (wanted type %u)", type);
    ck_assert_msg(m->type == type, "probe: got type %u, wanted %u", m->type, type);
    return m;
}

/*  Same, returning the i64 payload and freeing the message. */
static inline int64_t t_recv_i64(uint16_t type)
{
    mt_msg_t *m = t_recv_type(type);
    ck_assert_uint_eq(m->size, sizeof(int64_t));
    int64_t v = mt_msg_i64(m);
    mt_msg_free(m);
    return v;
}

/*  Asserts the probe gets nothing for T_QUIET ms. */
#define t_assert_quiet() do {                                                \
        mt_msg_t *q_ = mt_probe_recv(probe, T_QUIET);                        \
        ck_assert_msg(q_ == NULL, "probe: unexpected message type %u",       \
                      q_ ? q_->type : 0);                                    \
    } while (0)

/*  Polls `cond` every ms for at most `ms`; evaluates to its last value. */
#define WAIT_UNTIL(cond, ms) __extension__ ({                                \
        uint64_t wu_dl_ = mt_now_ms() + (uint64_t) (ms);                     \
        bool wu_ok_;                                                         \
        while (!(wu_ok_ = (cond)) && mt_now_ms() < wu_dl_)                   \
            t_sleep_ms(1);                                                   \
        wu_ok_;                                                              \
    })

/*  Asserts that `cond` becomes true within `ms`; names it on failure. */
#define ck_assert_eventually(cond, ms)                                       \
    ck_assert_msg(WAIT_UNTIL(cond, ms), "still false after %d ms: %s",       \
                  (int) (ms), #cond)

/* ---- main ---------------------------------------------------------------- */

/*  CK_ENV: CK_VERBOSITY=verbose shows every test. */
#define T_MAIN(make_suite)                                                   \
    int main(void)                                                           \
    {                                                                        \
        return mt_check_run(make_suite());                                   \
    }

/*  A tcase with the runtime fixture and a timeout in seconds. */
static inline TCase *t_tcase(const char *name, double timeout_s)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, rt_setup, rt_teardown);
    tcase_set_timeout(tc, timeout_s);
    return tc;
}

#endif
