/*  retry.c — a write transaction that failed for a reason of the moment is
    run again as a whole, from its first statement.

    Every writer loops `do { rc = once(); } while (mt__store_sql_retry(c, rc, &n))`,
    and each `once` begins afresh: it locks and reads the row again, draws
    new revisions, re-checks its compare-and-set against what it reads now.
    So a retry never reuses a revision or a verdict of the attempt that
    failed, and the caller is answered once, with the last attempt's
    outcome. Retried, with a growing, jittered pause (replicas that collided
    once should not collide again in step):
      1213  deadlock; on Galera also a certification conflict (another
            node committed a write set touching our rows first), at any
            statement or at COMMIT. A transaction that fails certification
            is rolled back on every node alike, so even at COMMIT nothing
            of it is stored. Up to MT_SQL_ATTEMPTS attempts.
      1205  lock wait timeout (it has waited 2 s already): once more.
      1047  the Galera node left the primary component (conn.c closed the
            connection): once more, on a new connection to the next host
            that serves (connect.c). Not after COMMIT: the write set may
            have reached the primary component before the node left, so the
            outcome is unknown and the answer stays unavailable — never an
            "ok" for something not known to be stored, never a second copy.
    A connection lost otherwise is never retried here: in flight, a write
    is answered unavailable (the store reconnects; the reload settles
    what a lost COMMIT did). */
#include "store_internal.h"

#include <mysqld_error.h>
#include <stdint.h>
#include <time.h>

#define MT_SQL_ATTEMPTS 6           /* for 1213 */
#define PAUSE_BASE_US 2000          /* first pause 2-4 ms, then doubling */

/*  A small per-thread generator: the pause needs no quality, only to
    differ between replicas and threads. */
static uint32_t jitter(void)
{
    static _Thread_local uint64_t x;
    if (!x)
        x = (mt_now_ms() << 20) ^ (uint64_t) (uintptr_t) &x ^ 0x9e3779b97f4a7c15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return (uint32_t) x;
}

static void pause_before(int attempt)
{
    uint64_t base = (uint64_t) PAUSE_BASE_US << (attempt < 6 ? attempt - 1 : 5);
    uint64_t us = base + jitter() % (base + 1);
    struct timespec ts = { (time_t) (us / 1000000), (long) (us % 1000000) * 1000 };
    nanosleep(&ts, NULL);
}

bool mt__store_sql_retry(mt__store_conn_t *c, int rc, int *attempt)
{
    if (rc == MT_OK)
        return false;
    mt__store_conn_rollback(c);
    if (rc != MT_EUNAVAIL)
        return false;
    int n = ++*attempt;
    switch (c->err_no) {
    case ER_LOCK_DEADLOCK:
        if (n >= MT_SQL_ATTEMPTS || !mt__store_conn_up(c))
            return false;
        pause_before(n);
        return true;
    case ER_LOCK_WAIT_TIMEOUT:
        return n == 1 && mt__store_conn_up(c);
    case ER_UNKNOWN_COM_ERROR:
        if (n > 1 || c->commit_failed)
            return false;
        pause_before(n);
        return mt__store_conn_open(c) == MT_OK;
    default:
        return false;
    }
}
