/*  harness_rc.h — what the remote cluster reference programs (test_rc*.c)
    share: their clusters and intervals, and reads of the references as
    cluster A holds them. Everything goes through the wire protocol.

    Clusters (rc_setup): cluster A (replicas a0 a1 a2, database
    metactor_it_TAG_a) holds the references; cluster B (b0 b1,
    metactor_it_TAG_b) and cluster C (c0, metactor_it_TAG_c) are the remote
    clusters, each on its own database of the fixture's server. TAG is the
    program's: ctest runs the programs in parallel.

    Intervals (every replica, rc_args): --refresh-interval 1000
    --reload-interval 1000 --beat-interval 200 --alive-window 600.
      * refresh 1000 ms: the priority writer's step (replica i waits i × the
        interval) must be longer than the spread of the replicas' own
        evaluations of one event: their refresh ticks are in phase (they
        learn a reference within milliseconds of each other) but a probe of
        the dead hostname takes up to the prober's 1 s timeout, and a
        sanitizer build on a loaded 2-CPU machine adds scheduling delays of
        100s of ms. With 500 ms the step would be shorter than one probe of
        a dead endpoint. 1000 ms keeps a failover at a few seconds.
      * beat 200 / alive window 600: a SIGKILLed replica leaves its
        cluster's live list within ~0.6-0.8 s (B's cluster.info stops
        listing b0; A's priorities move up when a0 dies), three missed beats
        before a replica counts as dead.
      * reload 1000 ms: whatever a notice missed arrives within a second.

    MT_TEST_ONLY=NAME[,NAME] runs only those tests (see h_tcase).

    Nothing asserts speed; waits are "until X or timeout" (H_WAIT), except
    that a takeover must happen "within about one further interval", which
    is checked with a generous bound and the measured times printed. */
#ifndef MT_SVC_HARNESS_RC_H_INCLUDED
#define MT_SVC_HARNESS_RC_H_INCLUDED

#include "harness.h"

#define TIMEOUT_S 300
#define REFRESH_MS 1000

/*  Global replica indexes (h_setup_clusters numbers them in order). */
enum { A0, A1, A2, B0, B1, C0, NREPLICAS };
enum { CL_A, CL_B, CL_C };

#define PASSWORD "Pw-7f3e9c51-never-shown"
#define PASSWORD2 "Pw-2-a81b44d0-never-shown"

/*  The intervals above for replica i's next starts, with this alive
    window (ms); `debug`: at log level debug. */
void rc_args(int i, const char *alive_window, bool debug);
/*  Clusters A, B and C with rc_args(i, "600", false); starts nothing. */
void rc_setup(const char *tag);
/*  The database of cluster `cluster` ('a', 'r0', ...) of program tag. */
const char *rc_db(const char *tag, const char *cluster);
const char *rc_ep(int i);       /* replica i's request endpoint */
void rc_sleep_intervals(int n);

/*  A stat of replica.stats (fails if it has none). */
int64_t rc_stat(int i, const char *name);
/*  A stat summed over cluster A's running replicas. */
int64_t rc_sum_a(const char *name);
/*  The writers' stats of A's running replicas, on stderr. */
void rc_print_stats(const char *when);
char *rc_cluster_uuid(int i);   /* caller frees */

/*  Exactly the keys of PROTOCOL.md's reference view that the service
    implements; never a password or client_secret. */
void rc_check_view(const msgpack_object *v, const char *where);
/*  rc.get by `key` (name, id, uuid) on replica i: the reply (caller frees),
    or NULL if not_found; fails on anything else. */
h_reply_t *rc_get(int i, const char *key, const char *val);
bool rc_found(int i, const char *name);
/*  No running replica of A finds it. */
bool rc_gone_everywhere(const char *key, const char *val);
/*  The string at ref/<field> of name's view on replica i equals want. */
bool rc_field_is(int i, const char *name, const char *field, const char *want);
int64_t rc_rev_of(int i, const char *name);     /* -1: not found */
/*  Every running replica of A holds `name` with this hostname. */
bool rc_all_host(const char *name, const char *host);
bool rc_all_rev(const char *name, int64_t rev);
/*  rc.list's size on replica i, each view checked. */
uint32_t rc_list_size(int i);

h_reply_t *rc_add(int i, const char *name, const char *host, const char *password);

/*  Cluster A alone (a0 a1 a2, rc_args with `debug`), for programs whose
    remotes are fakes (test_rc_hostile.c). */
void rc_setup_a(const char *tag, bool debug);
/*  Replica i's process is running: not exited, not even unreaped. */
bool rc_alive(int i);
/*  The file at path holds none of needles (NULL or "" skipped); else the
    first found is copied into found. */
bool rc_file_lacks(const char *path, const char *const *needles, size_t n, char *found,
                   size_t foundlen);

/*  A fake remote cluster served from a thread of the test program: a
    ROUTER on tcp://127.0.0.1:port answering cluster.info (uuid as given)
    the way its mode says. With server_secret it is a CURVE server holding
    that key, with a ZAP handler that records the client keys shown and
    admits only the one rc_fake_allow names (any when none). */
typedef enum {
    RC_FAKE_GOOD,           /* itself alive (its key when CURVE), a dead member;
                               CURVE: also other_endpoint, listed with
                               RC_FAKE_OTHER_KEY */
    RC_FAKE_HUGE_COUNT,     /* issue 9: 2^24+3 members, nil but the last four (16 MiB) */
    RC_FAKE_MANY_NILS,      /* ~2^20 nils then itself: just under 1 MiB */
    RC_FAKE_LYING_COUNT,    /* an array of 2^24+3 declared, 16 bytes given */
    RC_FAKE_GARBAGE,        /* members with ';', spaces, control bytes, non-UTF-8, bad
                               ports, ipc://, nil, integers, bad keys; and itself */
    RC_FAKE_TOO_MANY,       /* 300 distinct alive members */
    RC_FAKE_WRONG_TYPES,    /* cluster_uuid an integer, members a map */
    RC_FAKE_ERROR,          /* an error reply with a non-UTF-8 message */
    RC_FAKE_NOT_MSGPACK,    /* an HTTP response */
    RC_FAKE_64MIB,          /* a valid answer padded to 64 MiB */
    RC_FAKE_SILENT,         /* never answers */
} rc_fake_mode_t;

#define RC_FAKE_OTHER_KEY "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

typedef struct rc_fake rc_fake_t;
rc_fake_t *rc_fake_start(int port, const char *uuid, const char *server_secret);
void rc_fake_mode(rc_fake_t *f, rc_fake_mode_t mode);
void rc_fake_allow(rc_fake_t *f, const char *client_public);
const char *rc_fake_endpoint(const rc_fake_t *f);
const char *rc_fake_other_endpoint(const rc_fake_t *f);
uint64_t rc_fake_requests(rc_fake_t *f);        /* cluster.info requests received */
uint64_t rc_fake_zap(rc_fake_t *f, bool admitted);  /* handshakes admitted / refused */
void rc_fake_last_client(rc_fake_t *f, char out[41]);
void rc_fake_stop(rc_fake_t **f);
/*  The reference `name` added on A0 to B through b0, known by all of A
    (refreshed with both of B); its id (caller frees). */
char *rc_add_ref_to_b(const char *name);

#endif
