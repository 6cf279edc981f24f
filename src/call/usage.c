#include "call/usage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"

static const char KEY[] = "\"usageMetadata\"";
#define KEYLEN (sizeof KEY - 1)

enum { S_SEEK, S_COLON, S_OPEN, S_OBJECT };

void usage_init(usage_scan *s)
{
  memset(s, 0, offsetof(usage_scan, buf));   /* the capture buffer needs no zeroing */
}

/* The integer at p (after a key's closing quote: blanks and the colon skipped), clamped to
 * [0, LEDGER_MAX_TOKENS] — the one place upstream counts enter, so no sum downstream can
 * overflow — or 0. */
static int64_t number_at(const char *p)
{
  while(*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || *p == ':') p++;
  long long v = strtoll(p, NULL, 10);          /* out of range: LLONG_MAX / LLONG_MIN */
  return ledger_clamp_tokens(v);
}

/* The tokenCount of the entry for modality (e.g. "AUDIO") in the array after the key that ends
 * at p — a list of {"modality":"…","tokenCount":N} — or 0. */
static int64_t modality(const char *p, const char *mod)
{
  if(!(p = strchr(p, '['))) return 0;
  const char *end = strchr(p, ']');
  if(!end) return 0;
  char want[32];
  int wn = snprintf(want, sizeof want, "\"%s\"", mod);
  for(const char *q = p; (q = strstr(q, "\"modality\"")) && q < end; q++) {
    const char *v = q + 10;
    while(*v == ' ' || *v == ':' || *v == '\n' || *v == '\r' || *v == '\t') v++;
    if(strncmp(v, want, (size_t)wn)) continue;
    const char *open = q, *close = strchr(q, '}');
    while(open > p && *open != '{') open--;
    if(!close || close > end) return 0;
    const char *t = memmem(open, (size_t)(close - open), "\"tokenCount\"", 12);
    return t ? number_at(t + 12) : 0;
  }
  return 0;
}

/* The keys finish_object reads; each counts at its first occurrence in the object (at any
 * depth), as a search of the captured text for the quoted name would find it. */
enum { K_PROMPT, K_CAND, K_THOUGHTS, K_CACHED, K_TOOL, K_TOTAL, K_PDET, K_CDET, K_CANDDET, K_N };
static const struct { const char *name; size_t len; } KEYS[K_N] = {
  [K_PROMPT] = { "promptTokenCount", 16 },       [K_CAND] = { "candidatesTokenCount", 20 },
  [K_THOUGHTS] = { "thoughtsTokenCount", 18 },   [K_CACHED] = { "cachedContentTokenCount", 23 },
  [K_TOOL] = { "toolUsePromptTokenCount", 23 },  [K_TOTAL] = { "totalTokenCount", 15 },
  [K_PDET] = { "promptTokensDetails", 19 },      [K_CDET] = { "cacheTokensDetails", 18 },
  [K_CANDDET] = { "candidatesTokensDetails", 23 },
};

/* One pass over the captured object: every string is looked at once, and a string that is one
 * of KEYS notes where its value starts.  (Nine strstr calls over the object used to cost more
 * than the rest of the scan.) */
static void finish_object(usage_scan *s)
{
  s->buf[s->len] = '\0';
  const char *at[K_N] = { 0 };
  for(const char *p = s->buf; (p = strchr(p, '"'));) {
    const char *q = ++p;
    while(*q && *q != '"') q += (*q == '\\' && q[1]) ? 2 : 1;
    if(!*q) break;
    size_t n = (size_t)(q - p);
    for(int k = 0; k < K_N; k++)
      if(!at[k] && KEYS[k].len == n && !memcmp(p, KEYS[k].name, n)) { at[k] = q + 1; break; }
    p = q + 1;
  }
  s->u.prompt = at[K_PROMPT] ? number_at(at[K_PROMPT]) : 0;
  s->u.candidates = at[K_CAND] ? number_at(at[K_CAND]) : 0;
  s->u.thoughts = at[K_THOUGHTS] ? number_at(at[K_THOUGHTS]) : 0;
  s->u.cached = at[K_CACHED] ? number_at(at[K_CACHED]) : 0;
  s->u.tool = at[K_TOOL] ? number_at(at[K_TOOL]) : 0;
  s->u.total = at[K_TOTAL] ? number_at(at[K_TOTAL]) : 0;
  s->u.audio_in = at[K_PDET] ? modality(at[K_PDET], "AUDIO") : 0;
  s->u.audio_cached = at[K_CDET] ? modality(at[K_CDET], "AUDIO") : 0;
  s->u.image_out = at[K_CANDDET] ? modality(at[K_CANDDET], "IMAGE") : 0;
  s->u.seen = true;
  if(s->want_sum) {
    usage_add(&s->sum[s->done_seen], &s->u);
    s->objects[s->done_seen]++;
  }
}

int64_t usage_sum(const usage_scan *s, usage *out)
{
  int i = s->objects[1] ? 1 : 0;
  *out = s->sum[i];
  return s->objects[i];
}

void usage_add(usage *a, const usage *b)
{
  a->prompt = ledger_clamp_tokens(a->prompt + b->prompt);
  a->candidates = ledger_clamp_tokens(a->candidates + b->candidates);
  a->thoughts = ledger_clamp_tokens(a->thoughts + b->thoughts);
  a->cached = ledger_clamp_tokens(a->cached + b->cached);
  a->tool = ledger_clamp_tokens(a->tool + b->tool);
  a->total = ledger_clamp_tokens(a->total + b->total);
  a->audio_in = ledger_clamp_tokens(a->audio_in + b->audio_in);
  a->audio_cached = ledger_clamp_tokens(a->audio_cached + b->audio_cached);
  a->image_out = ledger_clamp_tokens(a->image_out + b->image_out);
  a->seen = a->seen || b->seen;
}

/* Looks for the key in [p, end), also where it starts in the carried tail of the previous
 * piece.  Returns the byte after the key, or NULL (and carries this piece's tail).  memchr for
 * the rare 'M' does the scanning, so most bytes cost next to nothing. */
static const char *find_key(usage_scan *s, const char *p, const char *end)
{
  size_t n = (size_t)(end - p);
  if(s->ncarry) {                                    /* a key cut between two pieces */
    char win[2 * KEYLEN];
    size_t take = n < KEYLEN - 1 ? n : KEYLEN - 1, nc = s->ncarry;
    memcpy(win, s->carry, nc);
    memcpy(win + nc, p, take);
    s->ncarry = 0;
    for(size_t i = 0; i < nc && i + KEYLEN <= nc + take; i++)
      if(!memcmp(win + i, KEY, KEYLEN)) return p + (i + KEYLEN - nc);
    if(n < KEYLEN - 1) {                             /* a tiny piece: carry both */
      size_t keep = nc + n < KEYLEN - 1 ? nc + n : KEYLEN - 1;
      memcpy(s->carry, win + nc + n - keep, keep);
      s->ncarry = keep;
      return NULL;
    }
  }
  for(const char *q = p + 6; q < end && (q = memchr(q, 'M', (size_t)(end - q))); q++)
    if(q + 9 <= end && !memcmp(q - 6, KEY, KEYLEN)) return q + 9;
  size_t keep = n < KEYLEN - 1 ? n : KEYLEN - 1;
  memcpy(s->carry, end - keep, keep);
  s->ncarry = keep;
  return NULL;
}

/* The last nl-1 bytes of the stream so far into c, for a needle cut by the next piece: win holds
 * the old carry (c->n bytes) followed by the start of p[0..n). */
static void carry_on(usage_carry *c, size_t nl, const char *win, const char *p, size_t n)
{
  if(n >= nl - 1) {
    memcpy(c->b, p + n - (nl - 1), nl - 1);
    c->n = nl - 1;
  } else {
    size_t k = c->n, keep = k + n < nl - 1 ? k + n : nl - 1;
    memmove(c->b, win + k + n - keep, keep);
    c->n = keep;
  }
}

/* Occurrences of needle (nl ≤ sizeof c->b + 1 bytes) in the stream so far that end in p[0..n),
 * carrying the last nl-1 bytes for the next piece. */
static int64_t count_needle(const char *needle, size_t nl, usage_carry *c, const char *p, size_t n)
{
  int64_t found = 0;
  size_t k = c->n, take = n < nl - 1 ? n : nl - 1;
  char win[2 * sizeof c->b];
  memcpy(win, c->b, k);
  memcpy(win + k, p, take);
  for(size_t i = 0; i < k && i + nl <= k + take; i++) found += !memcmp(win + i, needle, nl);
  for(const char *q = p, *end = p + n; (q = memmem(q, (size_t)(end - q), needle, nl)); q++) found++;
  carry_on(c, nl, win, p, n);
  return found;
}

static const char IMAGE_KEY[] = "\"bytesBase64Encoded\"";
static const char ERROR_COMPACT[] = "{\"error\":{\"code\":";
static const char ERROR_PRETTY[] = "{\n  \"error\": {";
static const char DONE_PRETTY[] = "\"done\": true";
static const char DONE_COMPACT[] = "\"done\":true";

/* The offset in p just past the first occurrence of needle (nl ≤ sizeof c->b + 1 bytes) that
 * ends in p[0..n) — one begun in the carried tail included — or -1, carrying the tail. */
static long find_needle(const char *needle, size_t nl, usage_carry *c, const char *p, size_t n)
{
  size_t k = c->n, take = n < nl - 1 ? n : nl - 1;
  char win[2 * sizeof c->b];
  memcpy(win, c->b, k);
  memcpy(win + k, p, take);
  for(size_t i = 0; i < k && i + nl <= k + take; i++)
    if(!memcmp(win + i, needle, nl)) return (long)(i + nl - k);
  const char *q = memmem(p, n, needle, nl);
  if(q) return (long)(q - p + (long)nl);
  carry_on(c, nl, win, p, n);
  return -1;
}

/* The usageMetadata objects in p[0..n). */
static void scan(usage_scan *s, const char *p, size_t n)
{
  const char *end = p + n;
  while(p < end) {
    char ch = *p;
    switch(s->state) {
    case S_SEEK:
      p = find_key(s, p, end);
      if(!p) return;
      s->state = S_COLON;
      continue;
    case S_COLON:
    case S_OPEN:
      if(ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') break;
      if(s->state == S_COLON && ch == ':') { s->state = S_OPEN; break; }
      if(s->state == S_OPEN && ch == '{') {
        s->state = S_OBJECT;
        s->depth = 1;
        s->len = 0;
        s->in_str = s->esc = false;
        s->buf[s->len++] = ch;
        break;
      }
      s->state = S_SEEK;                      /* not what we thought: look again */
      continue;
    case S_OBJECT: {                          /* a tight loop to the object's end, then one copy */
      const char *q = p;
      bool in_str = s->in_str, esc = s->esc, closed = false;
      int depth = s->depth;
      for(; q < end; q++) {
        char c = *q;
        if(in_str) {
          if(esc) esc = false;
          else if(c == '\\') esc = true;
          else if(c == '"') in_str = false;
        } else if(c == '"') in_str = true;
        else if(c == '{') depth++;
        else if(c == '}' && --depth == 0) { q++; closed = true; break; }
      }
      size_t got = (size_t)(q - p), room = USAGE_CAP - 1 - s->len;
      memcpy(s->buf + s->len, p, got < room ? got : room);
      s->len += got < room ? got : room;
      s->in_str = in_str, s->esc = esc, s->depth = depth;
      if(closed) { finish_object(s); s->state = S_SEEK; }
      p = q;
      continue;
    }
    }
    p++;
  }
}

void usage_feed(usage_scan *s, const char *p, size_t n)
{
  if(s->want_images) s->images += count_needle(IMAGE_KEY, sizeof IMAGE_KEY - 1, &s->ci, p, n);
  if(s->want_errors && !s->error_seen &&
     (count_needle(ERROR_COMPACT, sizeof ERROR_COMPACT - 1, &s->ce, p, n) ||
      count_needle(ERROR_PRETTY, sizeof ERROR_PRETTY - 1, &s->cp, p, n)))
    s->error_seen = true;
  if(s->want_sum && !s->done_seen) {       /* objects before it and after it are two lists */
    long a = find_needle(DONE_PRETTY, sizeof DONE_PRETTY - 1, &s->cd, p, n);
    long b = find_needle(DONE_COMPACT, sizeof DONE_COMPACT - 1, &s->cdc, p, n);
    long at = a < 0 ? b : b < 0 ? a : a < b ? a : b;
    if(at >= 0) {
      scan(s, p, (size_t)at);
      s->done_seen = true;
      p += at;
      n -= (size_t)at;
    }
  }
  scan(s, p, n);
}
