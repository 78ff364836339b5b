/*  zap.h — (internal) the ZAP handler of mt_security. */
#ifndef MT_ZAP_H_INCLUDED
#define MT_ZAP_H_INCLUDED

#include "mt_trust.h"

#include <czmq.h>
#include <stdatomic.h>

/*  Binds the ZAP endpoint of czmq's context (inproc://zeromq.zap.01) on
    the caller's thread, so a failure is the caller's to report, then
    answers every CURVE handshake on a thread of its own. NULL when the
    endpoint cannot be bound (another handler, zauth say, holds it). */
zactor_t *mt__zap_start(mt_trust_t *trust, _Atomic uint64_t *refused);

#endif
