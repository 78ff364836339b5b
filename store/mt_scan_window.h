/*  mt_scan_window.h — which revisions an incremental reload pass must read.

    Revisions are drawn from a sequence before commit, so a transaction may
    commit after a scan already read higher revisions. A transaction holds
    its revision at most txn_max_ms (the store enforces it), so a pass may
    start after the mark of the newest pass that finished at least
    txn_max_ms before the previous pass started: everything below that mark
    committed before the previous pass read. The cost is re-reading about
    (interval + txn_max_ms) of changes — it grows with the change rate, never
    with the number of rows. Used by the node and the reference reloads. */
#ifndef MT_SCAN_WINDOW_H_INCLUDED
#define MT_SCAN_WINDOW_H_INCLUDED

#include <stdint.h>

#define MT_SCAN_WINDOW_HISTORY 64

typedef struct {
    int64_t txn_max_ms;
    uint64_t started_ms, prev_started_ms;
    struct { uint64_t done_ms; int64_t mark; } hist[MT_SCAN_WINDOW_HISTORY];
    int nhist;
} mt_scan_window_t;

/*  A pass starts now: returns the revision it reads after (0: everything). */
int64_t mt_scan_window_start(mt_scan_window_t *w, uint64_t now_ms);
/*  For the pass just started: the newest mark M such that every revision
    <= M had committed (or was gone) before the pass began — its pass ended
    at least txn_max_ms before. 0 if none is old enough yet. */
int64_t mt_scan_window_covered(const mt_scan_window_t *w);
/*  The pass finished successfully now, with the mark the store drew. */
void mt_scan_window_done(mt_scan_window_t *w, uint64_t now_ms, int64_t mark);

#endif
