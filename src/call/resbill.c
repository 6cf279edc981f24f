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

/* The tokenCount of modality mod in a *TokensDetails list, or 0. */
static int64_t modality(const json_t *list, const char *mod)
{
  size_t i;
  const json_t *x;
  json_array_foreach(list, i, x) {
    const json_t *m = json_object_get(x, "modality");
    if(json_is_string(m) && !strcmp(json_string_value(m), mod)) return num(x, "tokenCount");
  }
  return 0;
}

/* a += b, each count kept within [0, LEDGER_MAX_TOKENS] (both are, so the sum cannot overflow). */
static void add(int64_t *a, int64_t b) { *a = ledger_clamp_tokens(*a + b); }

static void add_usage(usage *s, const json_t *um)
{
  if(!json_is_object(um)) return;
  add(&s->prompt, num(um, "promptTokenCount"));
  add(&s->candidates, num(um, "candidatesTokenCount"));
  add(&s->thoughts, num(um, "thoughtsTokenCount"));
  add(&s->cached, num(um, "cachedContentTokenCount"));
  add(&s->tool, num(um, "toolUsePromptTokenCount"));
  add(&s->total, num(um, "totalTokenCount"));
  add(&s->audio_in, modality(json_object_get(um, "promptTokensDetails"), "AUDIO"));
  add(&s->audio_cached, modality(json_object_get(um, "cacheTokensDetails"), "AUDIO"));
  add(&s->image_out, modality(json_object_get(um, "candidatesTokensDetails"), "IMAGE"));
  s->seen = true;
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
 * response (GenerateContentBatchOutput); the inlined responses are in either — read once. */
static void batch_seen(http_req *r, const proxy_spec *s, const char *key_hash, const char *body, size_t len)
{
  gateway *gw = r->w->gw;
  proxy_drop_usage(r);                 /* the GET itself costs nothing */
  json_t *j = body && gw->owners ? json_loadb(body, len, 0, NULL) : NULL;
  const json_t *md = json_object_get(j, "metadata"), *resp = json_object_get(j, "response");
  const json_t *state = json_object_get(md, "state");
  if(!json_is_true(json_object_get(j, "done")) && !final_state(json_string_value(state))) { json_decref(j); return; }
  const json_t *out = json_object_get(md, "output");
  const json_t *list = json_object_get(json_object_get(out, "inlinedResponses"), "inlinedResponses");
  if(!json_is_array(list)) list = json_object_get(json_object_get(resp, "inlinedResponses"), "inlinedResponses");
  bool unread = !json_is_array(list) && (json_object_get(out, "responsesFile") || json_object_get(resp, "responsesFile"));
  usage sum = { 0 };
  size_t i;
  const json_t *x;
  json_array_foreach(list, i, x) add_usage(&sum, json_object_get(json_object_get(x, "response"), "usageMetadata"));
  own_entry e;
  if(owners_mark_billed(gw->owners, str_c(s->pin_name), now_ms(), &e)) {
    char mask[32];
    proxy_key_mask(r, mask, sizeof mask);
    record_batch(gw->ledger, r, &s->who, e.user_id, e.model, mask, &sum, e.reserved_nanos, unread);
    log_info("batch %s finished: billed for %s (%zu responses, %lld/%lld tokens)%s", e.name, s->who.label,
             json_array_size(list), (long long)sum.prompt, (long long)(sum.candidates + sum.thoughts),
             unread ? "; its results are a file the gateway does not read: the row says unpriced" : "");
  }
  json_decref(j);
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
    s->on_ok = batch_seen;
  } else if(owner->kind == OWN_CACHE && str_eq(r->method, STR("PATCH")) && !s->body_owned) {
    s->capture = true;
    s->on_ok = cache_patched;
  }
}
