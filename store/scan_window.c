/*  scan_window.c — see mt_scan_window.h for why. */
#include "mt_scan_window.h"

#include <string.h>

/*  The newest mark whose pass ended at least txn_max_ms before t: every
    revision up to it had committed (or was gone) by t. */
static int64_t mark_settled_by(const mt_scan_window_t *w, uint64_t t)
{
    int64_t mark = 0;
    for (int i = 0; i < w->nhist; i++)
        if (w->hist[i].done_ms + (uint64_t) w->txn_max_ms <= t && w->hist[i].mark > mark)
            mark = w->hist[i].mark;
    return mark;
}

int64_t mt_scan_window_start(mt_scan_window_t *w, uint64_t now_ms)
{
    w->prev_started_ms = w->started_ms;
    w->started_ms = now_ms;
    return mark_settled_by(w, w->prev_started_ms);
}

int64_t mt_scan_window_covered(const mt_scan_window_t *w)
{
    return mark_settled_by(w, w->started_ms);
}

void mt_scan_window_done(mt_scan_window_t *w, uint64_t now_ms, int64_t mark)
{
    if (w->nhist == MT_SCAN_WINDOW_HISTORY) {     /* the oldest marks are of no use */
        memmove(w->hist, w->hist + 1, (MT_SCAN_WINDOW_HISTORY - 1) * sizeof w->hist[0]);
        w->nhist--;
    }
    w->hist[w->nhist].done_ms = now_ms;
    w->hist[w->nhist].mark = mark;
    w->nhist++;
}
