/*  scan_window.c — see mt_scan_window.h for why. */
#include "mt_scan_window.h"

#include <string.h>

int64_t mt_scan_window_start(mt_scan_window_t *w, uint64_t now_ms)
{
    w->prev_started_ms = w->started_ms;
    w->started_ms = now_ms;
    int64_t after = 0;
    for (int i = 0; i < w->nhist; i++)
        if (w->hist[i].done_ms + (uint64_t) w->txn_max_ms <= w->prev_started_ms
            && w->hist[i].mark > after)
            after = w->hist[i].mark;
    return after;
}

int64_t mt_scan_window_covered(const mt_scan_window_t *w)
{
    int64_t covered = 0;
    for (int i = 0; i < w->nhist; i++)
        if (w->hist[i].done_ms + (uint64_t) w->txn_max_ms <= w->started_ms
            && w->hist[i].mark > covered)
            covered = w->hist[i].mark;
    return covered;
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
