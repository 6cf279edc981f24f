/* txlog — one transaction line per call; contract in txlog.h. */
#include "call/txlog.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "call/endpoint.h"
#include "ledger/prices.h"
#include "http/clientip.h"
#include "http/server.h"

/* The metrics' cost of a call, without resolving the model's price per call (a name search
 * under the table's lock, the largest part of this line's cost): each worker thread keeps the
 * version in force for its last few models for a second.  The ledger row is priced apart, on
 * the writer; a price change reaches these metrics within that second. */
#define MEMO_N 4
#define MEMO_MS 1000
typedef struct price_memo {
  const prices *p;
  int64_t until_ms;
  bool priced;
  price pr;
  char model[64];
} price_memo;

static int64_t metrics_cost(prices *p, const char *model, const bill_facts *bf)
{
  static _Thread_local price_memo memo[MEMO_N];
  static _Thread_local unsigned next;
  int64_t now = now_ms();
  price_memo *m = NULL;
  for(int i = 0; i < MEMO_N && !m; i++)
    if(memo[i].p == p && memo[i].until_ms > now && !strcmp(memo[i].model, model)) m = &memo[i];
  if(!m) {
    if(strlen(model) >= sizeof m->model) {            /* no price has such a name; unmemoised */
      bill b = { 0 };
      prices_bill(p, model, now, bf, false, &b);
      return b.cost_nanos;
    }
    m = &memo[next++ % MEMO_N];
    m->p = p;
    m->until_ms = now + MEMO_MS;
    m->priced = prices_lookup(p, model, now, &m->pr);
    snprintf(m->model, sizeof m->model, "%s", model);
  }
  if(!m->priced) return 0;
  bill b = { 0 };
  price_compute(&m->pr, bf, &b);
  return b.cost_nanos;
}

/* dst = s[0..n) cut to cap - 1, NUL-terminated (what snprintf("%.*s") gave, for less). */
static void copy_str(char *dst, size_t cap, str s)
{
  size_t n = s.n < cap - 1 ? s.n : cap - 1;
  if(n) memcpy(dst, s.p, n);
  dst[n] = '\0';
}

/* The decimal form of v into buf (at least 21 bytes); returns where it starts. */
static const char *decimal(char *buf, size_t cap, long long v)
{
  char *d = buf + cap;
  unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
  *--d = '\0';
  do *--d = (char)('0' + u % 10); while(u /= 10);
  if(v < 0) *--d = '-';
  return d;
}

void log_call(const http_req *r, const principal *who, const call_facts *f)
{
  gateway *gw = r->w->gw;
  int64_t now = mono_us(), total = now - r->t0_us;
  char ubuf[24];
  const char *user = !who || !who->user_id ? "static" : decimal(ubuf, sizeof ubuf, (long long)who->user_id);
  metrics_call(call_endpoint_kind(r->method, r->path), f->model, f->status, user);
  if(f->ttfb_us) mhist_observe(&metrics.ttfb, f->ttfb_us - r->t0_us);
  if(f->attempts) mhist_observe(&metrics.added, total - f->upstream_us);
  if(f->in || f->out || f->thinking) {
    bill_facts bf = { .in = f->in, .out = f->out, .thinking = f->thinking, .cached = f->cached, .success = true };
    int64_t cost = gw->prices && f->model ? metrics_cost(gw->prices, f->model, &bf) : 0;
    metrics_usage(f->model, f->in, f->out, f->thinking, f->cached, cost);
  }
  if(log_threshold < LOG_INFO) return;
  char ip[64], method[12], route[128];
  clientip_of(r, ip, sizeof ip);
  copy_str(method, sizeof method, r->method);
  copy_str(route, sizeof route, r->path);
  log_tx t = {
    .request_id = r->rid, .user = who ? who->label : "-", .ip = ip, .method = method, .route = route,
    .model = f->model, .key = f->keymask, .outcome = f->outcome, .status = f->status, .attempts = f->attempts,
    .tokens_in = f->in, .tokens_out = f->out + f->thinking, .latency_ms = total / 1000,
    .ttfb_ms = f->ttfb_us ? (f->ttfb_us - r->t0_us) / 1000 : 0,
  };
  log_transaction(&t);
}

void log_call_prompt(const http_req *r, ledger_prompt_fn prompt_of)
{
  if(log_threshold < LOG_DEBUG || !prompt_of || !r->w->cfg->log_prompts) return;
  char p[LOG_MSG_CAP - 16];
  prompt_of(r->body, r->body_len, p, sizeof p, 200);
  log_line_rid(LOG_DEBUG, LOG_DBG, r->rid, "prompt: %s", p);
}
