/* openai_chat_fast — the common chat completions request → the Gemini body in one pass, no tree;
 * contract in openai.h (oai_chat_parse_fast).
 *
 * The shape it takes: model, messages of role system/developer/user/assistant whose content is
 * a string or an array of text parts, and the sampling options openai_chat.c maps one for one
 * (temperature, top_p, top_k, max_tokens, max_completion_tokens, stop, n, seed, the penalties,
 * stream, stream_options).  Texts are copied as they stand between their quotes (both sides are
 * JSON).  It answers only where openai_chat.c would answer the same thing: any key it does not
 * translate but the tree path reads (tools, response_format, thinking…), a key seen twice, a
 * value out of range or of another type, an escape \u, an injection to place — false, and the
 * tree path decides, with its exact errors. */
#include "openai/openai_internal.h"

#include <stdlib.h>
#include <string.h>

#define KEY_IS(k, kn, lit) ((kn) == sizeof(lit) - 1 && !memcmp((k), (lit), sizeof(lit) - 1))

enum { F_MODEL, F_MESSAGES, F_STREAM, F_STREAM_OPTIONS, F_TEMPERATURE, F_TOP_P, F_TOP_K, F_MAX_TOKENS,
       F_MAX_COMPLETION_TOKENS, F_STOP, F_N, F_SEED, F_PRESENCE, F_FREQUENCY, NF };
static const char *const FIELDS[NF] = {
  "model", "messages", "stream", "stream_options", "temperature", "top_p", "top_k", "max_tokens",
  "max_completion_tokens", "stop", "n", "seed", "presence_penalty", "frequency_penalty",
};
/* Read by the tree path and not translated here: their presence (not null) sends it there. */
static const char *const TREE_ONLY[] = {
  "tools", "tool_choice", "response_format", "thinking_config", "google", "reasoning_effort",
};

typedef struct req {
  oai_buf contents, sys, gc;
  const char *role;             /* the open turn's role in contents ("user"/"model"), NULL: none */
  str prompt;                   /* the last user text, as it stands */
  str model;
  str temperature, top_p, presence, frequency;   /* number tokens as they stand */
  int64_t top_k, max_tokens, max_completion, n, seed;
  bool has_top_k, has_max_tokens, has_max_completion, has_seed;
  str stop[5];                  /* the non-empty stop sequences */
  size_t nstop;
} req;

static void ws(oai_scan *s)
{
  while(s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static bool word(oai_scan *s, const char *w, size_t n)
{
  ws(s);
  if((size_t)(s->end - s->p) < n || memcmp(s->p, w, n)) return false;
  s->p += n;
  return true;
}

#define NUL_LIT(s) word((s), "null", 4)

static bool boolean(oai_scan *s, bool *v)
{
  if(word(s, "true", 4)) return *v = true;
  if(word(s, "false", 5)) return !(*v = false);
  return false;
}

/* A number token in [lo, hi] (the tree path's oai_number_in), as it stands in *tok. */
static bool number_in(oai_scan *s, double lo, double hi, str *tok, double *out)
{
  ws(s);
  const char *b = s->p;
  char buf[64];
  if(!oai_scan_number(s, NULL, NULL) || (size_t)(s->p - b) >= sizeof buf) return false;
  memcpy(buf, b, (size_t)(s->p - b));
  buf[s->p - b] = '\0';
  double d = strtod(buf, NULL);               /* as jansson reads it */
  *tok = (str){ b, (size_t)(s->p - b) };
  if(out) *out = d;
  return d >= lo && d <= hi;
}

/* An integer token in [lo, hi]; a real (which the tree path may take) is left to it. */
static bool int_in(oai_scan *s, int64_t lo, int64_t hi, int64_t *v)
{
  bool is_int;
  return oai_scan_number(s, &is_int, v) && is_int && *v >= lo && *v <= hi;
}

/* One non-empty text part (t as it stands) into the role's turn, merged with the open one. */
static bool put_text(req *q, const char *role, str t)
{
  oai_buf *b = role ? &q->contents : &q->sys;
  if(!role) {
    if(b->n && OAI_LIT(b, ",")) return false;
  } else if(q->role != role) {
    if(q->role && OAI_LIT(b, "]},")) return false;
    if(OAI_LIT(b, "{\"role\":\"") || oai_buf_append(b, role, strlen(role)) || OAI_LIT(b, "\",\"parts\":[")) return false;
    q->role = role;
  } else if(OAI_LIT(b, ",")) return false;
  return !OAI_LIT(b, "{\"text\":\"") && !oai_buf_append(b, t.p, t.n) && !OAI_LIT(b, "\"}");
}

/* A message's content: a string or an array of {"type":"text","text":…} parts, each non-empty
 * text into role's turn (NULL: systemInstruction); *first gets the first non-empty text. */
static bool parts(oai_scan *s, req *q, const char *role, str *first)
{
  ws(s);
  const char *t;
  size_t tn;
  bool plain;
  *first = (str){ NULL, 0 };
  if(s->p < s->end && *s->p == '"') {
    if(!oai_scan_string(s, &t, &tn, &plain)) return false;
    if(tn) *first = (str){ t, tn };
    return !tn || put_text(q, role, *first);
  }
  if(!oai_scan_eat(s, '[')) return false;          /* null, a number, an object: the tree path */
  if(oai_scan_eat(s, ']')) return true;
  do {
    const char *k;
    size_t kn;
    int r;
    str text = { NULL, 0 };
    bool has_text = false, is_text = false, has_type = false;
    for(bool f = true; (r = oai_scan_member(s, &f, &k, &kn)) > 0;) {
      if(KEY_IS(k, kn, "type")) {
        if(has_type || !oai_scan_string(s, &t, &tn, &plain)) return false;
        has_type = true;
        is_text = KEY_IS(t, tn, "text");
      } else if(KEY_IS(k, kn, "text")) {
        if(has_text || !oai_scan_string(s, &t, &tn, &plain)) return false;
        has_text = true;
        text = (str){ t, tn };
      } else if(!kn || !oai_scan_skip(s)) return false;
    }
    if(r < 0 || !is_text || !has_text) return false;
    if(text.n) {
      if(!first->p) *first = text;
      if(!put_text(q, role, text)) return false;
    }
  } while(oai_scan_eat(s, ','));
  return oai_scan_eat(s, ']');
}

static bool message(oai_scan *s, req *q)
{
  const char *k, *t;
  size_t kn, tn;
  bool plain, has_role = false, has_content = false;
  const char *role = NULL;
  bool user = false;
  oai_scan later = { NULL, NULL };               /* content seen before the role */
  int r;
  for(bool f = true; (r = oai_scan_member(s, &f, &k, &kn)) > 0;) {
    if(KEY_IS(k, kn, "role")) {
      if(has_role || !oai_scan_string(s, &t, &tn, &plain)) return false;
      has_role = true;
      if(KEY_IS(t, tn, "system") || KEY_IS(t, tn, "developer")) role = NULL;
      else if(KEY_IS(t, tn, "user")) role = "user", user = true;
      else if(KEY_IS(t, tn, "assistant")) role = "model";
      else return false;                          /* tool, or not a role: the tree path */
    } else if(KEY_IS(k, kn, "content")) {
      if(has_content) return false;
      has_content = true;
      if(has_role) {
        str first;
        if(!parts(s, q, role, &first)) return false;
        if(user && first.p) q->prompt = first;
      } else {
        ws(s);
        later.p = s->p;
        if(!oai_scan_skip(s)) return false;
        later.end = s->p;
      }
    } else if(KEY_IS(k, kn, "tool_calls")) {
      if(!NUL_LIT(s)) return false;
    } else if(!kn || !oai_scan_skip(s)) return false;
  }
  if(r < 0 || !has_role || !has_content) return false;
  if(later.p) {
    str first;
    if(!parts(&later, q, role, &first)) return false;
    if(user && first.p) q->prompt = first;
  }
  return true;
}

static bool messages(oai_scan *s, req *q)
{
  if(!oai_scan_eat(s, '[') || oai_scan_eat(s, ']')) return false;
  do {
    if(!message(s, q)) return false;
  } while(oai_scan_eat(s, ','));
  return oai_scan_eat(s, ']');
}

static bool stop(oai_scan *s, req *q)
{
  const char *t;
  size_t tn;
  bool plain;
  ws(s);
  if(s->p < s->end && *s->p == '"') {
    if(!oai_scan_string(s, &t, &tn, &plain)) return false;
    if(tn) q->stop[q->nstop++] = (str){ t, tn };
    return true;
  }
  if(!oai_scan_eat(s, '[')) return false;
  if(oai_scan_eat(s, ']')) return true;
  size_t i = 0;
  do {
    if(i++ == 5 || !oai_scan_string(s, &t, &tn, &plain)) return false;
    if(tn) q->stop[q->nstop++] = (str){ t, tn };
  } while(oai_scan_eat(s, ','));
  return oai_scan_eat(s, ']');
}

static bool stream_options(oai_scan *s, oai_chat *c)
{
  const char *k;
  size_t kn;
  bool seen = false;
  int r;
  for(bool f = true; (r = oai_scan_member(s, &f, &k, &kn)) > 0;) {
    if(KEY_IS(k, kn, "include_usage")) {
      if(seen) return false;
      seen = true;
      if(!NUL_LIT(s) && !boolean(s, &c->include_usage)) return false;
    } else if(!kn || !oai_scan_skip(s)) return false;
  }
  return r == 0;
}

static bool field(oai_scan *s, int f, req *q, oai_chat *c)
{
  const char *t;
  size_t tn;
  bool plain;
  double d;
  switch(f) {
  case F_MODEL:
    if(!oai_scan_string(s, &t, &tn, &plain) || !plain || tn > 7 + 128) return false;
    q->model = (str){ t, tn };
    return true;
  case F_MESSAGES: return messages(s, q);
  case F_STREAM: return boolean(s, &c->stream);
  case F_STREAM_OPTIONS: return stream_options(s, c);
  case F_TEMPERATURE: return number_in(s, 0, 2, &q->temperature, NULL);
  case F_TOP_P: return number_in(s, 0, 1, &q->top_p, NULL);
  case F_TOP_K: return (q->has_top_k = true) && int_in(s, 1, INT32_MAX, &q->top_k);
  case F_MAX_TOKENS: return (q->has_max_tokens = true) && int_in(s, 1, INT32_MAX, &q->max_tokens);
  case F_MAX_COMPLETION_TOKENS: return (q->has_max_completion = true) && int_in(s, 1, INT32_MAX, &q->max_completion);
  case F_STOP: return stop(s, q);
  case F_N: return int_in(s, 1, OAI_MAX_CHOICES, &q->n);
  case F_SEED: return (q->has_seed = true) && int_in(s, INT32_MIN, INT32_MAX, &q->seed);
  case F_PRESENCE:
    if(!number_in(s, -2, 2, &q->presence, &d)) return false;
    if(d == 0) q->presence.p = NULL;             /* a zero penalty is left out, as the tree path does */
    return true;
  case F_FREQUENCY:
    if(!number_in(s, -2, 2, &q->frequency, &d)) return false;
    if(d == 0) q->frequency.p = NULL;
    return true;
  }
  return false;
}

/* ,"name": when b already has a member, else "name": */
static bool gkey(oai_buf *b, const char *name)
{
  return !(b->n ? OAI_LIT(b, ",\"") : OAI_LIT(b, "\"")) && !oai_buf_append(b, name, strlen(name)) && !OAI_LIT(b, "\":");
}

static bool gen_config(req *q, const oai_settings *set, const char *model)
{
  oai_buf *b = &q->gc;
  bool ok = true;
  if(q->temperature.p) ok = ok && gkey(b, "temperature") && !oai_buf_append(b, q->temperature.p, q->temperature.n);
  if(q->top_p.p) ok = ok && gkey(b, "topP") && !oai_buf_append(b, q->top_p.p, q->top_p.n);
  if(q->has_top_k) ok = ok && gkey(b, "topK") && oai_put_int(b, q->top_k);
  if(q->has_max_tokens || q->has_max_completion)           /* max_completion_tokens wins */
    ok = ok && gkey(b, "maxOutputTokens") && oai_put_int(b, q->has_max_completion ? q->max_completion : q->max_tokens);
  for(size_t i = 0; ok && i < q->nstop; i++)
    ok = (i ? !OAI_LIT(b, ",\"") : gkey(b, "stopSequences") && !OAI_LIT(b, "[\"")) &&
         !oai_buf_append(b, q->stop[i].p, q->stop[i].n) && !OAI_LIT(b, "\"");
  if(q->nstop) ok = ok && !OAI_LIT(b, "]");
  if(q->n > 1) ok = ok && gkey(b, "candidateCount") && oai_put_int(b, q->n);
  if(q->has_seed) ok = ok && gkey(b, "seed") && oai_put_int(b, q->seed);
  if(q->presence.p) ok = ok && gkey(b, "presencePenalty") && !oai_buf_append(b, q->presence.p, q->presence.n);
  if(q->frequency.p) ok = ok && gkey(b, "frequencyPenalty") && !oai_buf_append(b, q->frequency.p, q->frequency.n);
  if(set && set->thinking_enabled && oai_may_think(model))
    ok = ok && gkey(b, "thinkingConfig") && !OAI_LIT(b, "{\"thinkingBudget\":") && oai_put_int(b, set->thinking_budget) &&
         !(set->include_thoughts && set->thinking_budget != 0 ? OAI_LIT(b, ",\"includeThoughts\":true}")
                                                              : OAI_LIT(b, ",\"includeThoughts\":false}"));
  return ok;
}

static bool assemble(req *q, oai_buf *b)
{
  bool ok = !OAI_LIT(b, "{\"contents\":[");
  if(q->contents.n) ok = ok && !oai_buf_append(b, q->contents.p, q->contents.n) && !OAI_LIT(b, "]}");
  else ok = ok && q->sys.n &&                      /* only instructions: they become the user's turn */
            !OAI_LIT(b, "{\"role\":\"user\",\"parts\":[") && !oai_buf_append(b, q->sys.p, q->sys.n) && !OAI_LIT(b, "]}");
  ok = ok && !OAI_LIT(b, "]");
  if(q->contents.n && q->sys.n)
    ok = ok && !OAI_LIT(b, ",\"systemInstruction\":{\"parts\":[") && !oai_buf_append(b, q->sys.p, q->sys.n) &&
         !OAI_LIT(b, "]}");
  if(q->gc.n)
    ok = ok && !OAI_LIT(b, ",\"generationConfig\":{") && !oai_buf_append(b, q->gc.p, q->gc.n) && !OAI_LIT(b, "}");
  return ok && !OAI_LIT(b, "}") && !oai_buf_append(b, "", 1) && (b->n--, true);
}

/* The ledger's prompt: the first OAI_PROMPT_CHARS characters of t, its escapes decoded (there is
 * no \u: the scanner leaves those to the tree path). */
static char *prompt_dup(str t)
{
  char out[OAI_PROMPT_CHARS * 4];
  size_t o = 0;
  for(size_t i = 0; i < t.n && o < sizeof out; i++) {
    char ch = t.p[i];
    if(ch == '\\') {
      ch = t.p[++i];
      ch = ch == 'n' ? '\n' : ch == 't' ? '\t' : ch == 'r' ? '\r' : ch == 'b' ? '\b' : ch == 'f' ? '\f' : ch;
    }
    out[o++] = ch;
  }
  return oai_dup_chars(out, o, OAI_PROMPT_CHARS);
}

static bool top(oai_scan *s, req *q, oai_chat *c)
{
  const char *k;
  size_t kn;
  bool seen[NF] = { false };
  int r;
  for(bool first = true; (r = oai_scan_member(s, &first, &k, &kn)) > 0;) {
    if(!kn) return false;
    int f = 0;
    while(f < NF && !(kn == strlen(FIELDS[f]) && !memcmp(k, FIELDS[f], kn))) f++;
    if(f < NF) {
      if(seen[f]) return false;                  /* jansson keeps the last: the tree path */
      seen[f] = true;
      if(NUL_LIT(s)) {                           /* null: not given (a 400 for these two) */
        if(f == F_MODEL || f == F_MESSAGES) return false;
        continue;
      }
      if(!field(s, f, q, c)) return false;
      continue;
    }
    bool tree = false;
    for(size_t i = 0; i < ARRAY_LEN(TREE_ONLY); i++) tree |= kn == strlen(TREE_ONLY[i]) && !memcmp(k, TREE_ONLY[i], kn);
    if(tree ? !NUL_LIT(s) : !oai_scan_skip(s)) return false;
  }
  ws(s);
  return r == 0 && s->p == s->end && seen[F_MODEL] && seen[F_MESSAGES] && q->model.p;
}

bool oai_chat_parse_fast(const char *p, size_t n, const oai_settings *set, oai_chat *c)
{
  memset(c, 0, sizeof *c);
  if(!p || !n) return false;
  if(set && set->inject_enabled && set->inject_content && *set->inject_content) return false;
  req q = { .n = 1 };
  oai_scan s = { p, p + n };
  oai_buf body = { 0 };
  char name[7 + 128 + 1];
  bool ok = top(&s, &q, c);
  if(ok) {
    memcpy(name, q.model.p, q.model.n);
    name[q.model.n] = '\0';
    ok = oai_model_ok(name);
  }
  if(ok) {
    c->model = strdup(strncmp(name, "models/", 7) ? name : name + 7);
    c->n = (int)q.n;
    ok = ok && c->model && gen_config(&q, set, c->model) && assemble(&q, &body) &&
         (c->prompt = prompt_dup(q.prompt.p ? q.prompt : (str){ "", 0 }));
  }
  oai_buf_free(&q.contents);
  oai_buf_free(&q.sys);
  oai_buf_free(&q.gc);
  if(!ok) {
    oai_buf_free(&body);
    oai_chat_free(c);
    return false;
  }
  c->raw = body.p;
  c->raw_len = body.n;
  return true;
}
