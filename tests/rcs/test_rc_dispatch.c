/*  test_rc_dispatch.c — the probe dispatcher (actors/rc/rc_dispatch.c):
    each probe goes to a prober that is free, the others wait in order, and
    a prober that says it is idle gets the oldest waiting one. Two probes
    stand in for the probers, a third for the agents that ask; the agent's
    reply-to and correlation id travel with the probe, so the prober answers
    the agent directly.

    Cases:
      free_probers_first   two probers, three probes: one each, the third
                           waits for whichever prober is idle first */
#include "rcs_internal.h"
#include "mt_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T 30000                     /* bounds a hang only */

static mt_runtime_t *rt;
static mt__rcs_cfg_t *cfg;
static mt_probe_t *prober[2], *agent;
static mt_actor_t *dispatcher;

static void setup(void)
{
    rt = mt_runtime_new(NULL);
    ck_assert_ptr_nonnull(rt);
    agent = mt_probe_new(rt);
    cfg = calloc(1, sizeof *cfg);
    ck_assert_ptr_nonnull(cfg);
    atomic_init(&cfg->refs, 1);
    cfg->nprobers = 2;
    cfg->probers = calloc(2, sizeof *cfg->probers);
    ck_assert_ptr_nonnull(cfg->probers);
    for (int i = 0; i < 2; i++) {
        prober[i] = mt_probe_new(rt);
        cfg->probers[i] = mt_actor_ref(mt_probe_actor(prober[i]));
    }
    dispatcher = mt__rc_dispatcher_spawn(rt, cfg);
    ck_assert_ptr_nonnull(dispatcher);
}

static void teardown(void)
{
    mt_stop(dispatcher, 0);
    mt_actor_unref(&dispatcher);
    mt__rcs_cfg_unref(&cfg);
    for (int i = 0; i < 2; i++)
        mt_probe_destroy(&prober[i]);
    mt_probe_destroy(&agent);
    mt_runtime_destroy(&rt);
}

/*  A probe of host, asked by the agent with corr. */
static void ask(const char *host, uint64_t corr)
{
    mt_msg_t *m = mt__rc_probe_new(NULL, host, NULL, NULL, T);
    m->from = mt_actor_ref(mt_probe_actor(agent));
    m->corr = corr;
    ck_assert_int_eq(mt_send(dispatcher, m), MT_OK);
}

/*  The next probe prober i gets: host's, with the agent's reply-to. */
static void got(int i, const char *host, uint64_t corr)
{
    mt_msg_t *m = mt_probe_expect(prober[i], MT__RC_PROBE, T);
    ck_assert_msg(m, "prober %d got no probe", i);
    ck_assert_str_eq(((mt__rc_probe_t *) mt_msg_data(m))->endpoints[0], host);
    ck_assert_uint_eq(m->corr, corr);
    ck_assert_ptr_eq(m->from, mt_probe_actor(agent));
    mt_msg_free(m);
}

static void idle(int i)
{
    mt_msg_t *m = mt_msg_new(MT__RC_IDLE, sizeof(int));
    *(int *) mt_msg_data(m) = i;
    ck_assert_int_eq(mt_send(dispatcher, m), MT_OK);
}

START_TEST(free_probers_first)
{
    ask("tcp://a:1", 1);
    ask("tcp://b:1", 2);
    ask("tcp://c:1", 3);
    /*  The free probers are a stack: the last one freed is busy first. */
    got(1, "tcp://a:1", 1);
    got(0, "tcp://b:1", 2);
    /*  c waits for the first prober that says it is free. */
    idle(1);
    got(1, "tcp://c:1", 3);
    idle(0);
    ask("tcp://d:1", 4);
    got(0, "tcp://d:1", 4);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rc_dispatch");
    TCase *tc = tcase_create("dispatch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, free_probers_first);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
