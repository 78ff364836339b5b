/*  harness_int.h — what the harness's own files share; tests include
    harness.h only. The harness is one test's state (the clusters, their
    replicas, the test's zmq sockets) and a few helpers split across
    harness*.c by concept. */
#ifndef MT_SVC_HARNESS_INT_H_INCLUDED
#define MT_SVC_HARNESS_INT_H_INCLUDED

#include "harness.h"

#include <stddef.h>

/*  One cluster: its replicas are r[first .. first + n - 1]. */
typedef struct {
    char db[65];
    char *dsn;
    int first, n;
} hi_cluster_t;

typedef struct {
    int n;                      /* replicas of every cluster */
    h_replica_t r[H_MAX_REPLICAS];
    int ncl;
    hi_cluster_t cl[H_MAX_CLUSTERS];
    void *zctx;
    void *socks[32];            /* the tests' own sockets, closed at teardown */
    int nsocks;
    char log_prefix[400];
    /*  harness_curve.c: with h_curve_init, the identity of every socket
        the harness makes (DEALER, REQ, SUB) unless a test picks another. */
    struct {
        bool on;
        char dir[512];              /* certificates; dir/trust is the trust store */
        char server[41];            /* the replicas' public key */
        char pub[41], sec[41];      /* the harness's own (admin) keypair */
    } curve;
} harness_t;

/*  One test at a time per process (Check forks each test). */
extern harness_t h_state;

void hi_check_cluster(int c);
/*  Linger 0 first: zmq_ctx_term would otherwise wait for unsent messages. */
void hi_close_sock(void **s);

/*  harness_curve.c: CURVE client options with the default identity on a
    DEALER, REQ or SUB socket, before it connects (nothing without
    h_curve_init). */
void hi_curve_default(void *sock, int type);

/*  harness_db.c */
char *hi_dsn_for(const char *db);
void hi_db_fresh(int c);
void hi_db_drop(int c);

/*  harness_proc.c: SIGTERM to every running replica, reaped; appends to
    `bad` each one whose exit status is not 0. */
void hi_stop_all(char *bad, size_t cap);

/*  harness_pack.c: {"rid": rid, <the pairs of the map format fmt>}. */
void hi_pack_request(msgpack_packer *pk, uint64_t rid, const char *fmt, va_list *ap);

#endif
