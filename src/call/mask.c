/* mask — pooled secrets out of upstream bytes; contract in mask.h. */
#include "call/mask.h"

#include <string.h>

static bool key_char(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

/* Key characters at the front of p[0..n), at most MASK_MAX. */
static size_t key_run(const char *p, size_t n)
{
  if(n > MASK_MAX) n = MASK_MAX;
  size_t i = 0;
  while(i < n && key_char((unsigned char)p[i])) i++;
  return i;
}

/* The next place at or after `from` where a prefix ("AIza" or "AQ.") starts, or n.  One memchr
 * for the 'A' both begin with (vectorised in libc) rather than a memmem per prefix: the
 * answer's bytes are walked once, and only an 'A' costs a look at what follows. */
static size_t next_prefix(const char *p, size_t n, size_t from)
{
  while(from < n) {
    const char *a = memchr(p + from, 'A', n - from);
    if(!a) return n;
    size_t at = (size_t)(a - p), left = n - at;
    if((left >= 4 && !memcmp(a, "AIza", 4)) || (left >= 3 && !memcmp(a, "AQ.", 3))) return at;
    from = at + 1;
  }
  return n;
}

/* The next hit at or after `from` (n when none) into *ai (and n into *qi: both prefixes are
 * found by the one scan); a position still ahead of `from` is kept, so a buffer is searched
 * about once. */
static void hits(const char *p, size_t n, size_t from, size_t *ai, size_t *qi, bool fresh)
{
  if(fresh || *ai < from) *ai = next_prefix(p, n, from);
  *qi = n;
}

/* The longest secret (pooled, or own) that p[0..n) begins with; *partial: p is a proper prefix
 * of one. */
static size_t match(keypool *kp, const char *own, const char *p, size_t n, int *partial)
{
  int part = 0;
  size_t best = kp ? kp_secret_match(kp, p, n, &part) : 0;
  if(own) {
    size_t ol = strlen(own);
    if(ol <= n) { if(ol > best && !memcmp(own, p, ol)) best = ol; }
    else if(!memcmp(own, p, n)) part = 1;
  }
  if(partial) *partial = part;
  return best;
}

/* q[0..k) is a secret: its masked form, in place (same length). */
static void hide(char *q, size_t k)
{
  if(k < 11) { memset(q, '*', k); return; }
  memcpy(q + 4, "\xe2\x80\xa6", 3);                   /* U+2026 "…" */
  memset(q + 7, '*', k - 11);
}

size_t mask_buf(keypool *kp, const char *own, char *p, size_t n, bool final)
{
  size_t count = 0, ai, qi, at;
  hits(p, n, 0, &ai, &qi, true);
  while((at = ai < qi ? ai : qi) < n) {
    size_t run = key_run(p + at, n - at), next = at + 1;
    int partial;
    size_t k = match(kp, own, p + at, run, &partial);
    if(k) { hide(p + at, k); count++; next = at + k; }
    else if(final && partial && at + run == n) { memset(p + at, '*', run); count++; next = n; }
    hits(p, n, next, &ai, &qi, false);
  }
  return count;
}

/* How many bytes at the end of p[0..n) are a proper beginning of a prefix ("A", "AI", "AIz",
 * "AQ"): a key may start there.  (Whole prefixes are hits, handled before.) */
static size_t tail_prefix(const char *p, size_t n)
{
  static const char *const pre[] = { "AIz", "AI", "AQ", "A" };
  for(size_t j = 0; j < sizeof pre / sizeof pre[0]; j++) {
    size_t l = strlen(pre[j]);
    if(n >= l && !memcmp(p + n - l, pre[j], l)) return l;
  }
  return 0;
}

static void out(mask_emit emit, void *ctx, const char *p, size_t n)
{
  if(n) emit(ctx, p, n);
}

/* mask_feed on p[i..n) with nothing held before it. */
static void feed_direct(mask_stream *m, keypool *kp, const char *own, const char *p, size_t n, size_t i,
                        mask_emit emit, void *ctx)
{
  size_t last = i, ai, qi, at;
  hits(p, n, i, &ai, &qi, true);
  while((at = ai < qi ? ai : qi) < n) {
    size_t run = key_run(p + at, n - at);
    if(at + run == n && run < MASK_MAX) {            /* may go on in the next piece */
      out(emit, ctx, p + last, at - last);
      memcpy(m->hold, p + at, run);
      m->nhold = run;
      return;
    }
    size_t k = match(kp, own, p + at, run, NULL);
    if(k) {
      char c[MASK_MAX];
      out(emit, ctx, p + last, at - last);
      memcpy(c, p + at, k);
      hide(c, k);
      out(emit, ctx, c, k);
      last = i = at + k;
    } else {
      i = at + 1;
    }
    hits(p, n, i, &ai, &qi, false);
  }
  size_t t = tail_prefix(p + last, n - last);
  out(emit, ctx, p + last, n - last - t);
  memcpy(m->hold, p + n - t, t);
  m->nhold = t;
}

void mask_feed(mask_stream *m, keypool *kp, const char *own, const char *p, size_t n, mask_emit emit,
               void *ctx)
{
  if(!m->nhold) { feed_direct(m, kp, own, p, n, 0, emit, ctx); return; }
  /* The held bytes and the front of p, joined.  A short p: the join is the piece.  Else the
   * candidates that start in the held part are decided here, with as many bytes after them as
   * a whole buffer would give them (MASK_MAX), and p goes on from where they end. */
  size_t nh = m->nhold, take = n < MASK_MAX ? n : MASK_MAX, cn = nh + take, upto = nh, ai, qi, at;
  char c[2 * MASK_MAX];
  memcpy(c, m->hold, nh);
  memcpy(c + nh, p, take);
  m->nhold = 0;
  if(take == n) { feed_direct(m, kp, own, c, cn, 0, emit, ctx); return; }
  hits(c, cn, 0, &ai, &qi, true);
  while((at = ai < qi ? ai : qi) < nh) {
    size_t run = key_run(c + at, cn - at), next = at + 1;   /* run < cn - at: p goes on */
    size_t k = match(kp, own, c + at, run, NULL);
    if(k) {
      hide(c + at, k);
      next = at + k;
      if(next > upto) upto = next;
    }
    hits(c, cn, next, &ai, &qi, false);
  }
  out(emit, ctx, c, upto);
  feed_direct(m, kp, own, p, n, upto - nh, emit, ctx);
}

void mask_flush(mask_stream *m, keypool *kp, const char *own, mask_emit emit, void *ctx)
{
  if(!m->nhold) return;
  mask_buf(kp, own, m->hold, m->nhold, true);
  out(emit, ctx, m->hold, m->nhold);
  m->nhold = 0;
}
