/*  msg.c — message allocation. A message is one pool block: header, then
    payload, so sending costs one allocation. */
#include "internal.h"

#include <string.h>

mt_msg_t *mt_msg_new(uint16_t type, size_t size)
{
    if (size > UINT32_MAX - sizeof(mt_msg_t))
        mt__panic("message payload too large (%zu bytes)", size);
    mt_msg_t *msg = mt__pool_alloc(sizeof(mt_msg_t) + size);
    memset(msg, 0, sizeof(mt_msg_t) + size);
    msg->type = type;
    msg->size = (uint32_t) size;
    return msg;
}

mt_msg_t *mt_msg_new_i64(uint16_t type, int64_t value)
{
    mt_msg_t *msg = mt__pool_alloc(sizeof(mt_msg_t) + sizeof(int64_t));
    memset(msg, 0, sizeof(mt_msg_t));
    msg->type = type;
    msg->size = sizeof(int64_t);
    memcpy(mt_msg_data(msg), &value, sizeof value);
    return msg;
}

void mt_msg_free(mt_msg_t *msg)
{
    if (!msg)
        return;
    if (msg->drop)
        msg->drop(msg);
    if (msg->timer)
        mt__timer_release_msg(msg);
    if (msg->from)
        mt_actor_unref(&msg->from);
    mt__pool_free(msg, sizeof(mt_msg_t) + msg->size);
}

void mt_msg_keep(mt_msg_t *msg)
{
    /*  Recorded on the thread, not in the message: once kept, the message
        may be handed to another thread before the behaviour returns. */
    if (msg != mt__tls.handling)
        mt__panic("mt_msg_keep: only the message being handled can be kept "
                  "(a stashed or sent message is already the caller's or gone)");
    mt__tls.kept = msg;
}
