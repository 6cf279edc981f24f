/* window — a sliding window of request and token counts made of fixed slots (e.g. 60 slots of
 * one second = the last minute).  Plain data, no locking: the owner guards it.  Time is passed
 * in (ms since the epoch) so tests can drive it. */
#ifndef GEMGATE_WINDOW_H
#define GEMGATE_WINDOW_H

#include <stdint.h>

#define WIN_MAX_SLOTS 60

typedef struct win {
  int64_t width_ms;                 /* one slot */
  int nslots;                       /* the window is nslots × width_ms long */
  int64_t idx[WIN_MAX_SLOTS];       /* the absolute slot number (t / width) each cell holds */
  int64_t req[WIN_MAX_SLOTS], tok[WIN_MAX_SLOTS];
} win;

void win_init(win *w, int nslots, int64_t width_ms);

/* Count requests and tokens at time t (t may lie in the past, as long as it is inside the
 * window; older is ignored). */
void win_add(win *w, int64_t t, int64_t req, int64_t tok);

/* Sums over the window ending at now. */
void win_sum(const win *w, int64_t now, int64_t *req, int64_t *tok);

/* How long until the window's requests (tokens: !requests) fall below limit, in ms; 0 if they
 * already are. */
int64_t win_wait(const win *w, int64_t now, int64_t limit, int requests);

#endif
