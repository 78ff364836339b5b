/*  galera_load.h — the write load of test_galera.c: every running replica
    of a set writes at once, pipelined (several requests in flight on a
    DEALER of the test's own per replica), to nodes that every replica
    writes, so that writes through different Galera nodes meet on the
    same rows. What each reply acknowledged is kept, and what every
    replica lists is watched while the load runs.

    The nodes: `s00`…`s11` are registered first, then written by every
    replica (heartbeats; node.labels setting `w`; re-registrations setting
    `r`), never deleted. `d00`…`d05` are registered first and then only get
    heartbeats, from every replica, and one node.delete each in the middle
    of the load (d_k through replica k % n, or the next running one): no write of theirs can bring
    them back, so a heartbeat sent after the delete was acknowledged must
    not be acknowledged, and once a replica no longer lists one it must
    never list it again.

    Checks while running (each a test failure at once): an error other
    than `unavailable` (and `not_found` for a deleted node's heartbeat); a
    heartbeat acknowledged after its node's delete; a replica's node.list
    showing a node's revision below one it showed before, a node of
    s* missing after it was listed, or a d* node listed again.

    Checks at the end (gl_check_final, on a replica's list): every
    acknowledged write is there: revisions at least the highest
    acknowledged ones (equal when `exact`: no write had an unknown
    outcome), and the labels of the acknowledged write whose revision the
    list shows; every deleted node absent. Single-threaded: the test's
    own thread drives everything. */
#ifndef GALERA_LOAD_H_INCLUDED
#define GALERA_LOAD_H_INCLUDED

#include "harness.h"

/*  The database the Galera tests use. */
#define GL_DB "metactor_it_galera"
#define GL_SHARED 12
#define GL_DOOMED 6
#define GL_NODES (GL_SHARED + GL_DOOMED)
#define GL_REPLICAS H_MAX_REPLICAS

typedef struct gl_load gl_load_t;

/*  The load over replicas 0 .. n-1 (those not running yet join when
    started); registers every node (node k through replica k % n or the
    next running one, one request at a time). The d* deletes are
    sent once a replica has sent delete_after requests of the load. */
gl_load_t *gl_new(int n, int delete_after);
void gl_free(gl_load_t **l);

/*  Drives the load for ms milliseconds: keeps `window` requests in flight
    per replica (only those in `writing`; a NULL mask: all), handles the
    replies, and lists every running replica's nodes about every 250 ms. */
void gl_run(gl_load_t *l, int ms);
/*  Which replicas keep sending (the others only get their replies). */
void gl_set_writing(gl_load_t *l, int i, bool on);
/*  Stops sending; waits for every reply still due (fails after H_T). */
void gl_drain(gl_load_t *l);

/*  From now on, counts of what replica i got: the marker's time. */
void gl_mark(gl_load_t *l);
/*  Acknowledged writes of replica i sent after gl_mark. */
int gl_acked_since_mark(const gl_load_t *l, int i);
/*  ms from gl_mark to replica i's first acknowledged write sent after
    it (-1: none yet). A figure for the log, never asserted. */
int64_t gl_first_ack_ms(const gl_load_t *l, int i);
/*  Replies of replica i: acknowledged, unavailable. */
int gl_acked(const gl_load_t *l, int i);
int gl_unavailable(const gl_load_t *l, int i);
/*  Every d* node's delete acknowledged. */
bool gl_deletes_done(const gl_load_t *l);

/*  Lists replica i once more (the watch above, on demand). */
void gl_observe(gl_load_t *l, int i);
/*  Replica i's list holds every acknowledged write (see the top); exact:
    revisions equal to the highest acknowledged. */
void gl_check_final(gl_load_t *l, int i, bool exact);
/*  One line of counts per replica on stderr. */
void gl_report(const gl_load_t *l, const char *what);

#endif
