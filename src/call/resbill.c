/* resbill — bills for a finished batch and a cache's added life; contract in resbill.h. */
#include "call/resbill.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "base/log.h"
#include "base/utc.h"
#include "call/record.h"
#include "call/usage.h"
#include "http/server.h"

const char *resbill_unbillable(const char *kind, str path, const char *model, const char *body, size_t len)
{
  if(!strcmp(kind, "batch")) {
    static const str embed = STR(":asyncBatchEmbedContents");
    if(path.n >= embed.n && str_eq((str){ path.p + path.n - embed.n, embed.n }, embed))
      return "an embedding batch (Google reports no tokens for embeddings)";
    /* A key, not text: inside a JSON string the quotes would be escaped. */
    if(body && (memmem(body, len, "\"fileName\"", 10) || memmem(body, len, "\"file_name\"", 11)))
      return "a batch whose requests are in a file (its results are a file the gateway does not read)";
  }
  if(!strcmp(kind, "cache_update") && !model[0])
    return "a TTL change of a context cache this gateway did not see created";
  return NULL;
}

static int64_t num(const json_t *o, const char *k)
{
  const json_t *v = json_object_get(o, k);
  return json_is_integer(v) ? ledger_clamp_tokens(json_integer_value(v)) : 0;
}

static bool final_state(const char *st)
{
  static const char *const fin[] = { "BATCH_STATE_SUCCEEDED", "BATCH_STATE_FAILED", "BATCH_STATE_CANCELLED",
                                     "BATCH_STATE_EXPIRED", "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED",
                                     "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED" };
  for(size_t i = 0; st && i < ARRAY_LEN(fin); i++) if(!strcmp(st, fin[i])) return true;
  return false;
}

/* GET batches/{id} answered 2xx: if the batch is finished and not billed yet, its row.  Google's
 * answer is an Operation: metadata (a GenerateContentBatch: state, output) and, once done, a
 * response (GenerateContentBatchOutput).  A finished batch's answer holds every response and is
 * as long as they are, so the tokens are the ones the usage scanner added up while the answer
 * streamed past (usage_sum: one list, not both), never a parse of the captured front; that front
 * is parsed only when it is the whole answer, for a state that ended without "done" and for
 * results that are a file. */
static void batch_seen(http_req *r, const proxy_spec *s, const char *key_hash, const char *body, size_t len)
{
  gateway *gw = r->w->gw;
  usage sum;
  bool done;
  int64_t responses = proxy_usage_sum(r, &sum, &done);
  proxy_drop_usage(r);                 /* the GET itself costs nothing */
  if(!gw->owners) return;
  json_t *j = body && len < PROXY_CAPTURE_MAX ? json_loadb(body, len, 0, NULL) : NULL;
  const json_t *md = json_object_get(j, "metadata"), *resp = json_object_get(j, "response");
  const json_t *out = json_object_get(md, "output");
  done = done || json_is_true(json_object_get(j, "done")) || final_state(json_string_value(json_object_get(md, "state")));
  bool unread = !responses && (json_object_get(out, "responsesFile") || json_object_get(resp, "responsesFile"));
  json_decref(j);
  if(!done) return;
  own_entry e;
  if(owners_mark_billed(gw->owners, str_c(s->pin_name), now_ms(), &e)) {
    char mask[32];
    proxy_key_mask(r, mask, sizeof mask);
    record_batch(gw->ledger, r, &s->who, e.user_id, e.model, mask, &sum, e.reserved_nanos, unread);
    log_info("batch %s finished: billed for %s (%lld responses, %lld/%lld tokens)%s", e.name, s->who.label,
             (long long)responses, (long long)sum.prompt, (long long)(sum.candidates + sum.thoughts),
             unread ? "; its results are a file the gateway does not read: the row says unpriced" : "");
  }
}

/* PATCH cachedContents/{id} answered 2xx: the storage added beyond the furthest expiry billed,
 * for the tokens recorded at creation (else the answer's usageMetadata.totalTokenCount).  An
 * expiry the gateway never recorded (a cache created before it kept them) counts from now. */
static void cache_patched(http_req *r, const proxy_spec *s, const char *key_hash, const char *body, size_t len)
{
  gateway *gw = r->w->gw;
  json_t *j = body && gw->owners ? json_loadb(body, len, 0, NULL) : NULL;
  const json_t *et = json_object_get(j, "expireTime");
  int64_t to, now = now_ms();
  if(json_is_string(et) && utc_parse(json_string_value(et), &to)) {
    own_entry e = { 0 };
    bool known = owners_extend(gw->owners, str_c(s->pin_name), to, &e);
    int64_t from = known && e.expire_ms > now ? e.expire_ms : now;
    int64_t tokens = known && e.tokens > 0 ? e.tokens : num(json_object_get(j, "usageMetadata"), "totalTokenCount");
    proxy_set_storage(r, tokens, to > from ? (to - from + 999) / 1000 : 0);
  }
  json_decref(j);
}

void resbill_route(http_req *r, proxy_spec *s, const own_entry *owner)
{
  if(owner->kind == OWN_BATCH && str_eq(r->method, STR("GET")) && !s->body_owned) {
    s->capture = true;
    s->sum_usage = true;
    s->on_ok = batch_seen;
  } else if(owner->kind == OWN_CACHE && str_eq(r->method, STR("PATCH")) && !s->body_owned) {
    s->capture = true;
    s->on_ok = cache_patched;
  }
}
