/* record — a client call's ledger row; contract in record.h. */
#include "call/record.h"

#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "call/endpoint.h"
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
  row->body = r->body;                 /* the prompt is taken by the ledger's writer */
  row->body_len = r->body_len;
  row->prompt_of = prompt_of;
  row->created_ms = now_ms();
}

void record_end(ledger_row *row, const http_req *r, int status, const char *error, int64_t ttfb_us)
{
  row->success = status >= 200 && status < 300 && !error;
  row->http_status = status;
  if(error) snprintf(row->error, sizeof row->error, "%s", error);
  row->latency_ms = (mono_us() - r->t0_us) / 1000;
  row->ttfb_ms = ttfb_us ? (ttfb_us - r->t0_us) / 1000 : 0;
}

void record_local(const http_req *r, const principal *who, const char *model, ledger_prompt_fn prompt_of,
                  int status, bool refused, const char *error)
{
  ledger *l = r->w->gw->ledger;
  if(!l) return;
  ledger_row row;
  record_begin(&row, r, who, model, prompt_of);
  row.is_local = true;
  row.refused = refused;
  record_end(&row, r, status, error, 0);
  ledger_record(l, &row);
}
