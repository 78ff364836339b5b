/*  The README's example ("The runtime in one example"), as a user builds it
    against the installed runtime. Keep the two identical: test_install.sh
    compares everything below this comment with the README's snippet and
    fails when they differ. */

#include <mt_core.h>
#include <stdio.h>

static void counter(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    int64_t *total = state;
    *total += mt_msg_i64(msg);
    if (msg->from)                                   /* asked: answer */
        mt_reply(msg, mt_msg_new_i64(MT_MSG_USER, *total));
}

int main(void)
{
    mt_runtime_t *rt = mt_runtime_new(NULL);         /* one worker per core */
    mt_spawn_opts_t o = { .behaviour = counter, .state_size = sizeof(int64_t) };
    mt_actor_t *c = mt_spawn_opts(rt, &o);
    mt_send_i64(c, MT_MSG_USER, 40);
    mt_msg_t *reply;
    if (mt_ask_wait(rt, c, mt_msg_new_i64(MT_MSG_USER, 2), 1000, &reply) == MT_OK) {
        printf("%lld\n", (long long) mt_msg_i64(reply));   /* 42 */
        mt_msg_free(reply);
    }
    mt_actor_unref(&c);
    mt_runtime_destroy(&rt);
}
