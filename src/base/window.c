/* window — fixed-slot sliding windows; contract in window.h. */
#include "base/window.h"
#include "base/util.h"

#include <string.h>

void win_init(win *w, int nslots, int64_t width_ms)
{
  memset(w, 0, sizeof *w);
  w->nslots = nslots > WIN_MAX_SLOTS ? WIN_MAX_SLOTS : nslots < 1 ? 1 : nslots;
  w->width_ms = width_ms > 0 ? width_ms : 1000;
  for(int i = 0; i < WIN_MAX_SLOTS; i++) w->idx[i] = -1;
}

/* A slot is live when it lies within the last nslots slots ending at now's slot. */
static int live(const win *w, int i, int64_t cur)
{
  return w->idx[i] >= 0 && w->idx[i] <= cur && w->idx[i] > cur - w->nslots;
}

void win_add(win *w, int64_t t, int64_t req, int64_t tok)
{
  if(t < 0) return;
  int64_t s = t / w->width_ms;
  int i = (int)(s % w->nslots);
  if(w->idx[i] > s) return;                      /* older than what the cell holds: expired */
  if(w->idx[i] != s) { w->idx[i] = s; w->req[i] = 0; w->tok[i] = 0; }
  w->req[i] = i64_add(w->req[i], req);
  w->tok[i] = i64_add(w->tok[i], tok);
}

void win_sum(const win *w, int64_t now, int64_t *req, int64_t *tok)
{
  int64_t cur = now / w->width_ms, r = 0, k = 0;
  for(int i = 0; i < w->nslots; i++)
    if(live(w, i, cur)) { r = i64_add(r, w->req[i]); k = i64_add(k, w->tok[i]); }
  if(req) *req = r;
  if(tok) *tok = k;
}

int64_t win_wait(const win *w, int64_t now, int64_t limit, int requests)
{
  int64_t cur = now / w->width_ms, sum = 0;
  win_sum(w, now, requests ? &sum : NULL, requests ? NULL : &sum);
  if(sum < limit) return 0;
  /* Expire the oldest live slots first until the sum drops below the limit. */
  for(int64_t s = cur - w->nslots + 1; s <= cur; s++) {
    int i = (int)(((s % w->nslots) + w->nslots) % w->nslots);
    if(w->idx[i] != s) continue;
    sum -= requests ? w->req[i] : w->tok[i];
    if(sum < limit) {
      int64_t wait = (s + w->nslots) * w->width_ms - now;
      return wait > 0 ? wait : 1;
    }
  }
  return (int64_t)w->nslots * w->width_ms;
}
