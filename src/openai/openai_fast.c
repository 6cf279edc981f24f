/* openai_fast — a plain Gemini answer → an OpenAI chat.completion in one pass, no tree; contract
 * in openai.h (oai_chat_fast).
 *
 * Both sides are JSON, so the text of the answer is copied as it stands between its quotes: no
 * decode, no re-encode.  Everything else in the answer is checked as strictly as jansson would
 * parse it (that is what makes the two paths agree: a document the tree path would refuse is
 * never answered here); whatever this scanner is not sure of — an escape \u, a shape other than
 * one candidate whose parts are all text, a key it needs seen twice, a number it would have to
 * think about — sends the answer to the tree path, which then decides, errors included. */
#include "openai/openai_internal.h"

#include <stdint.h>
#include <string.h>

#define FAST_DEPTH 64          /* deeper than this: the tree path (jansson allows 2048) */

typedef oai_scan scan;

static void ws(scan *s)
{
  while(s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static bool eat(scan *s, char c)
{
  ws(s);
  if(s->p < s->end && *s->p == c) { s->p++; return true; }
  return false;
}

/* A string at s->p (after blanks): its contents as they stand, between the quotes, into
 * *b and *bn; *plain when it holds no escape.  False for what jansson would refuse (a raw control
 * byte, bad UTF-8, an unknown escape, no end) and for \u, which is left to the tree path. */
static bool string(scan *s, const char **b, size_t *bn, bool *plain)
{
  ws(s);
  if(s->p >= s->end || *s->p != '"') return false;
  const char *q = ++s->p;
  bool pl = true;
  while(q < s->end) {
    unsigned char c = (unsigned char)*q;
    if(c == '"') break;
    if(c < 0x20) return false;
    if(c == '\\') {
      if(q + 1 >= s->end || !strchr("\"\\/bfnrt", q[1]) || !q[1]) return false;
      pl = false;
      q += 2;
      continue;
    }
    if(c < 0x80) { q++; continue; }
    size_t l = oai_utf8_seq((const unsigned char *)q, (size_t)(s->end - q));
    if(!l) return false;
    q += l;
  }
  if(q >= s->end) return false;
  if(b) *b = s->p, *bn = (size_t)(q - s->p);
  if(plain) *plain = pl;
  s->p = q + 1;
  return true;
}

/* A number: JSON's grammar.  *is_int and *v for an integer of at most 18 digits; false for an
 * integer longer than that or a real with a long mantissa or exponent (where jansson could
 * overflow: left to it). */
static bool number(scan *s, bool *is_int, int64_t *v)
{
  ws(s);
  const char *q = s->p;
  bool neg = q < s->end && *q == '-';
  if(neg) q++;
  if(q >= s->end || *q < '0' || *q > '9') return false;
  if(*q == '0' && q + 1 < s->end && q[1] >= '0' && q[1] <= '9') return false;
  int64_t x = 0;
  int digits = 0;
  for(; q < s->end && *q >= '0' && *q <= '9'; q++, digits++)
    if(digits < 18) x = x * 10 + (*q - '0');
  bool integer = true;
  if(q < s->end && *q == '.') {
    integer = false;
    if(++q >= s->end || *q < '0' || *q > '9') return false;
    while(q < s->end && *q >= '0' && *q <= '9') q++;
  }
  if(q < s->end && (*q == 'e' || *q == 'E')) {
    integer = false;
    if(++q < s->end && (*q == '+' || *q == '-')) q++;
    int ed = 0;
    for(; q < s->end && *q >= '0' && *q <= '9'; q++) ed++;
    if(ed < 1 || ed > 2) return false;
  }
  if(integer && digits > 18) return false;
  if(!integer && digits > 20) return false;      /* with an exponent of 2 digits: no overflow */
  s->p = q;
  if(is_int) *is_int = integer;
  if(v) *v = neg ? -x : x;
  return true;
}

static bool literal(scan *s, const char *w, size_t n)
{
  if((size_t)(s->end - s->p) < n || memcmp(s->p, w, n)) return false;
  s->p += n;
  return true;
}

/* Any value, checked and passed over. */
static bool skip(scan *s, int depth)
{
  if(depth > FAST_DEPTH) return false;
  ws(s);
  if(s->p >= s->end) return false;
  switch(*s->p) {
  case '"': return string(s, NULL, NULL, NULL);
  case 't': return literal(s, "true", 4);
  case 'f': return literal(s, "false", 5);
  case 'n': return literal(s, "null", 4);
  case '{':
    s->p++;
    if(eat(s, '}')) return true;
    do {
      if(!string(s, NULL, NULL, NULL) || !eat(s, ':') || !skip(s, depth + 1)) return false;
    } while(eat(s, ','));
    return eat(s, '}');
  case '[':
    s->p++;
    if(eat(s, ']')) return true;
    do {
      if(!skip(s, depth + 1)) return false;
    } while(eat(s, ','));
    return eat(s, ']');
  default: return number(s, NULL, NULL);
  }
}

/* The next key of an object (after '{' or ','), as it stands; false at a malformed one. */
static bool key(scan *s, const char **k, size_t *kn)
{
  bool plain;
  return string(s, k, kn, &plain) && eat(s, ':') && (plain || (*kn = 0, true));
}

#define KEY_IS(k, kn, lit) ((kn) == sizeof(lit) - 1 && !memcmp((k), (lit), sizeof(lit) - 1))

/* Steps through an object's members: call with *first set at its '{'; 1 with the next key in
 * *k and *kn and the value at s->p, 0 after its '}', -1 when malformed. */
static int member(scan *s, bool *first, const char **k, size_t *kn)
{
  if(*first) {
    *first = false;
    if(!eat(s, '{')) return -1;
    if(eat(s, '}')) return 0;
  } else if(!eat(s, ',')) return eat(s, '}') ? 0 : -1;
  return key(s, k, kn) ? 1 : -1;
}

/* For each member of the object at s->p, its key in k/kn; after the loop, r < 0: malformed. */
#define MEMBERS(s, k, kn, first, r) for(bool first = true; ((r) = member((s), &first, &(k), &(kn))) > 0;)


/* {"parts":[{"text":"…"}, …], "role": …}: text parts only (a thoughtSignature beside a text is
 * ignored by the tree path too); a thought, a call or anything else → the tree path. */
static bool content(scan *s, oai_fast *a)
{
  const char *k;
  size_t kn;
  bool parts = false;
  int r, pr;
  MEMBERS(s, k, kn, first, r) {
    if(KEY_IS(k, kn, "parts")) {
      if(parts || !eat(s, '[')) return false;
      parts = true;
      if(eat(s, ']')) continue;
      do {
        const char *pk;
        size_t pkn;
        bool text = false;
        MEMBERS(s, pk, pkn, pfirst, pr) {
          if(KEY_IS(pk, pkn, "text")) {
            const char *t;
            size_t tn;
            if(text || !string(s, &t, &tn, NULL)) return false;
            text = true;
            if(tn) {
              if(a->ntext == sizeof a->text / sizeof a->text[0]) return false;
              a->text[a->ntext] = t, a->textn[a->ntext++] = tn;
            }
          } else if(KEY_IS(pk, pkn, "thoughtSignature")) {
            if(!skip(s, 4)) return false;
          } else return false;
        }
        if(pr < 0 || !text) return false;
      } while(eat(s, ','));
      if(!eat(s, ']')) return false;
    } else if(!kn || !skip(s, 3)) return false;
  }
  return r == 0 && parts;
}

static bool candidate(scan *s, oai_fast *a)
{
  const char *k;
  size_t kn;
  bool seen_content = false, seen_index = false;   /* a key twice: the tree path (jansson keeps the last) */
  int r;
  MEMBERS(s, k, kn, first, r) {
    if(KEY_IS(k, kn, "content")) {
      if(seen_content || !content(s, a)) return false;
      seen_content = true;
    } else if(KEY_IS(k, kn, "finishReason")) {
      const char *f;
      size_t fn;
      bool plain;
      if(a->has_finish || !string(s, &f, &fn, &plain) || !plain || fn >= sizeof a->finish) return false;
      memcpy(a->finish, f, fn);
      a->finish[fn] = '\0';
      a->has_finish = true;
    } else if(KEY_IS(k, kn, "index")) {
      bool is_int;
      int64_t v;
      if(seen_index || !number(s, &is_int, &v)) return false;
      seen_index = a->has_index = true;
      a->index_int = is_int;
      a->index = v;
    } else if(!kn || !skip(s, 2)) return false;
  }
  return r == 0;                                /* no content: nothing said (as the tree path has it) */
}

/* usageMetadata: the five counts (a positive integer, else 0), the rest passed over. */
static bool usage(scan *s, oai_fast *a)
{
  static const char *const names[] = { "promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount",
                                       "cachedContentTokenCount", "totalTokenCount" };
  int64_t *slot[] = { &a->prompt, &a->candidates, &a->thoughts, &a->cached, &a->total };
  bool seen[5] = { false };
  const char *k;
  size_t kn;
  int r;
  MEMBERS(s, k, kn, first, r) {
    int i = 0;
    while(i < 5 && !(kn == strlen(names[i]) && !memcmp(k, names[i], kn))) i++;
    if(i < 5) {
      ws(s);
      a->has_usage = true;
      bool is_int;
      int64_t v;
      if(seen[i] || s->p >= s->end || (*s->p != '-' && (*s->p < '0' || *s->p > '9'))) return false;
      if(!number(s, &is_int, &v)) return false;
      seen[i] = true;
      *slot[i] = is_int && v > 0 ? v : 0;
    } else if(!kn || !skip(s, 2)) return false;
  }
  a->has_usage = true;
  return r == 0;
}

/* A JSON string of ours (the id, the model the client named): plain ASCII printable only. */
static bool put_plain(oai_buf *b, const char *v)
{
  for(const char *c = v; *c; c++)
    if((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f || *c == '"' || *c == '\\') return false;
  return !OAI_LIT(b, "\"") && !oai_buf_append(b, v, strlen(v)) && !OAI_LIT(b, "\"");
}

/* Decimal without snprintf: its seven integers were a fifth of the answer's cost. */
bool oai_put_int(oai_buf *b, int64_t v)
{
  char n[24], *e = n + sizeof n, *q = e;
  uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  do *--q = (char)('0' + u % 10); while(u /= 10);
  if(v < 0) *--q = '-';
  return !oai_buf_append(b, q, (size_t)(e - q));
}

static bool render(oai_buf *b, const oai_fast *a, const oai_meta *m)
{
  int64_t index = a->has_index && a->index_int && a->index >= 0 && a->index < 1024 ? a->index : 0;
  int64_t completion = a->candidates + a->thoughts;
  bool ok = !OAI_LIT(b, "{\"id\":") && put_plain(b, m->id ? m->id : "") &&
            !OAI_LIT(b, ",\"object\":\"chat.completion\",\"created\":") && oai_put_int(b, m->created) &&
            !OAI_LIT(b, ",\"model\":") && put_plain(b, m->model ? m->model : "") &&
            !OAI_LIT(b, ",\"choices\":[{\"index\":") && oai_put_int(b, index) &&
            !OAI_LIT(b, ",\"message\":{\"role\":\"assistant\",\"content\":\"");
  ok = ok && oai_fast_text(b, a);
  const char *finish = oai_finish_reason(a->has_finish ? a->finish : NULL);
  ok = ok && !OAI_LIT(b, "\"},\"logprobs\":null,\"finish_reason\":\"") && !oai_buf_append(b, finish, strlen(finish)) &&
       !OAI_LIT(b, "\"}],\"usage\":{\"prompt_tokens\":") && oai_put_int(b, a->prompt) &&
       !OAI_LIT(b, ",\"completion_tokens\":") && oai_put_int(b, completion) &&
       !OAI_LIT(b, ",\"total_tokens\":") && oai_put_int(b, a->prompt + completion) &&
       !OAI_LIT(b, ",\"prompt_tokens_details\":{\"cached_tokens\":") && oai_put_int(b, a->cached) &&
       !OAI_LIT(b, "},\"completion_tokens_details\":{\"reasoning_tokens\":") && oai_put_int(b, a->thoughts) &&
       !OAI_LIT(b, "}}}") && !oai_buf_append(b, "", 1);
  if(ok) b->n--;                                   /* NUL-terminated, not counted */
  return ok;
}

bool oai_fast_scan(const char *p, size_t n, oai_fast *a)
{
  memset(a, 0, sizeof *a);
  if(!p || !n) return false;                   /* an empty event's data has no buffer */
  scan s = { p, p + n };
  const char *k;
  size_t kn;
  bool cands = false, used = false;
  int r;
  MEMBERS(&s, k, kn, first, r) {
    if(KEY_IS(k, kn, "candidates")) {
      /* exactly one candidate */
      if(cands || !eat(&s, '[') || !candidate(&s, a) || !eat(&s, ']')) return false;
      cands = true;
    } else if(KEY_IS(k, kn, "usageMetadata")) {
      if(used || !usage(&s, a)) return false;
      used = true;
    } else if(!kn || KEY_IS(k, kn, "error") || KEY_IS(k, kn, "promptFeedback") || !skip(&s, 1)) return false;
  }
  ws(&s);
  return r == 0 && s.p == s.end && cands;
}

bool oai_fast_text(oai_buf *b, const oai_fast *a)
{
  for(size_t i = 0; i < a->ntext; i++)
    if(oai_buf_append(b, a->text[i], a->textn[i])) return false;
  return true;
}

char *oai_chat_fast(const char *p, size_t n, const oai_meta *m, size_t *len)
{
  oai_fast a;
  if(!oai_fast_scan(p, n, &a)) return NULL;
  oai_buf b = { 0 };
  if(!render(&b, &a, m)) { oai_buf_free(&b); return NULL; }
  *len = b.n;
  return b.p;
}

/* The scanner, for the request direction (openai_chat_fast.c). */
bool oai_scan_eat(oai_scan *s, char c) { return eat(s, c); }
bool oai_scan_string(oai_scan *s, const char **b, size_t *bn, bool *plain) { return string(s, b, bn, plain); }
bool oai_scan_number(oai_scan *s, bool *is_int, int64_t *v) { return number(s, is_int, v); }
bool oai_scan_skip(oai_scan *s) { return skip(s, 1); }
int oai_scan_member(oai_scan *s, bool *first, const char **k, size_t *kn) { return member(s, first, k, kn); }
