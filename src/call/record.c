/* record — a client call's ledger row; contract in record.h. */
#include "call/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utc.h"
#include "base/util.h"
#include "call/endpoint.h"
#include "call/usage.h"
#include "http/clientip.h"
#include "http/server.h"

/* X-Generation-Type is a label: letters, digits, '_', '-', '.', 1..31 of them. */
static bool valid_label(str v)
{
  if(!v.n || v.n > 31) return false;
  for(size_t i = 0; i < v.n; i++) {
    char c = v.p[i];
    if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
      return false;
  }
  return true;
}

void record_begin(ledger_row *row, const http_req *r, const principal *who, const char *model,
                  ledger_prompt_fn prompt_of)
{
  memset(row, 0, sizeof *row);
  row->user_id = who ? who->user_id : 0;
  row->access_key_id = who ? who->access_key_id : 0;
  snprintf(row->model, sizeof row->model, "%s", model ? model : "");
  const char *kind = call_endpoint_kind(r->method, r->path);
  snprintf(row->endpoint, sizeof row->endpoint, "%s", kind);
  str label = http_header_get(r, STR("X-Generation-Type"));
  if(valid_label(label)) snprintf(row->gen_type, sizeof row->gen_type, "%.*s", (int)label.n, label.p);
  else snprintf(row->gen_type, sizeof row->gen_type, "%s", call_gen_type(kind));
  row->stream = !strcmp(kind, "stream");
  clientip_of(r, row->ip, sizeof row->ip);
  snprintf(row->request_id, sizeof row->request_id, "%s", r->rid);
  row->body = r->body;                 /* the prompt is taken by the ledger's writer */
  row->body_len = r->body_len;
  row->prompt_of = prompt_of;
  row->created_ms = now_ms();
}

void record_end(ledger_row *row, int64_t t0_us, int status, const char *error, int64_t ttfb_us)
{
  row->success = status >= 200 && status < 300 && !error;
  row->http_status = status;
  if(error) snprintf(row->error, sizeof row->error, "%s", error);
  int64_t now = mono_us();
  row->latency_ms = t0_us > 0 && now >= t0_us ? (now - t0_us) / 1000 : 0;
  row->ttfb_ms = ttfb_us && t0_us > 0 && ttfb_us >= t0_us ? (ttfb_us - t0_us) / 1000 : 0;
}

void record_finish(ledger *l, ledger_row *row, int64_t t0_us, int status, const char *error, int64_t ttfb_us)
{
  record_end(row, t0_us, status, error, ttfb_us);
  if(l) ledger_record(l, row);
}

void record_local(const http_req *r, const principal *who, const char *model, ledger_prompt_fn prompt_of,
                  bool stream, int status, const char *error)
{
  ledger *l = r->w->gw->ledger;
  if(!l) return;
  ledger_row row;
  record_begin(&row, r, who, model, prompt_of);
  row.is_local = true;
  row.stream = stream;
  record_finish(l, &row, r->t0_us, status, error, 0);
}

static const char *skip_ws(const char *p, const char *end)
{
  while(p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  return p;
}

/* The string value of the first "key": … in body (a key, not a value that happens to read the
 * same, like "role": "model"), copied into out (cap bytes); false when there is none. */
static bool string_after(const char *body, size_t len, const char *key, char *out, size_t cap)
{
  size_t kl = strlen(key);
  const char *end = body + len;
  for(const char *q = body; (q = memmem(q, (size_t)(end - q), key, kl)); q += kl) {
    const char *p = skip_ws(q + kl, end);
    if(p >= end || *p != ':') continue;
    p = skip_ws(p + 1, end);
    if(p >= end || *p != '"') continue;
    size_t n = 0;
    for(p++; p < end && *p != '"' && n + 1 < cap; p++) out[n++] = *p;
    out[n] = '\0';
    return p < end && *p == '"';
  }
  return false;
}

void record_cache_facts(const char *body, size_t len, int64_t now, char *model, size_t cap, int64_t *seconds)
{
  char v[128];
  model[0] = '\0';
  if(body && string_after(body, len, "\"model\"", v, sizeof v))
    snprintf(model, cap, "%s", strncmp(v, "models/", 7) ? v : v + 7);
  *seconds = 3600;
  int64_t at;
  if(body && string_after(body, len, "\"ttl\"", v, sizeof v)) {
    char *e;
    double s = strtod(v, &e);
    if(e != v && *e == 's' && !e[1] && s >= 0 && s < 1e12) *seconds = (int64_t)(s + 0.999999);
  } else if(body && string_after(body, len, "\"expireTime\"", v, sizeof v) && utc_parse(v, &at)) {
    *seconds = at > now ? (at - now + 999) / 1000 : 0;
  }
}

/* The integer value of the first "key": … in body (a key, not a value), or -1. */
static int64_t int_after(const char *body, size_t len, const char *key)
{
  size_t kl = strlen(key);
  const char *end = body + len;
  for(const char *q = body; (q = memmem(q, (size_t)(end - q), key, kl)); q += kl) {
    const char *p = skip_ws(q + kl, end);
    if(p >= end || *p != ':') continue;
    p = skip_ws(p + 1, end);
    int64_t v = 0;
    bool digits = false;
    for(; p < end && *p >= '0' && *p <= '9' && v < ((int64_t)1 << 40); p++, digits = true) v = v * 10 + (*p - '0');
    return digits ? v : -1;
  }
  return -1;
}

void record_estimate(const char *body, size_t len, const char *kind, int64_t *prompt, int64_t *max_out, int64_t *images)
{
  if(!body) { body = ""; len = 0; }      /* no NULL + 0 below (clang's pointer-overflow check) */
  *prompt = (int64_t)(len + 3) / 4;
  int64_t m = len ? int_after(body, len, "\"maxOutputTokens\"") : -1;
  int64_t n = len ? int_after(body, len, "\"candidateCount\"") : -1;
  *max_out = m >= 0 ? m * (n >= 1 && n <= 8 ? n : 1) : -1;
  int64_t k = !strcmp(kind, "image") && len ? int_after(body, len, "\"sampleCount\"") : -1;
  *images = strcmp(kind, "image") ? 0 : k >= 1 && k <= 8 ? k : 4;
}

void record_batch_estimate(const char *body, size_t len, int64_t *prompt, int64_t *max_out, int64_t *requests)
{
  if(!body) { body = ""; len = 0; }      /* no NULL + 0 below (clang's pointer-overflow check) */
  *prompt = (int64_t)(len + 3) / 4;
  *max_out = len ? int_after(body, len, "\"maxOutputTokens\"") : -1;
  int64_t n = 0;
  const char *end = body + len;
  for(const char *q = body; len && (q = memmem(q, (size_t)(end - q), "\"request\"", 9)); q += 9) {
    const char *p = skip_ws(q + 9, end);
    if(p < end && *p == ':') n++;
  }
  *requests = n ? n : 1;
}

void record_batch(ledger *l, const http_req *r, const principal *who, int64_t user_id, const char *model,
                  const char *keymask, const usage *u, int64_t reserved, bool unread)
{
  if(!l) return;
  ledger_row row;
  record_begin(&row, r, who, model, NULL);
  row.user_id = user_id;
  row.body = NULL;                     /* the prompts were the creation's: this row has none */
  row.body_len = 0;
  snprintf(row.endpoint, sizeof row.endpoint, "batch");
  snprintf(row.gen_type, sizeof row.gen_type, "batch");
  row.stream = false;
  snprintf(row.upstream_key, sizeof row.upstream_key, "%s", keymask);
  row.in_tokens = u->prompt;
  row.out_tokens = u->candidates;
  row.thinking_tokens = u->thoughts;
  row.cached_tokens = u->cached;
  row.tool_tokens = u->tool;
  row.audio_tokens = u->audio_in;
  row.audio_cached_tokens = u->audio_cached;
  row.image_tokens = u->image_out;
  row.batch = true;
  row.unpriced = unread;
  row.reserved_nanos = reserved;
  row.counted = true;                  /* the creation counted the request */
  record_finish(l, &row, 0, 200, NULL, 0);
}
