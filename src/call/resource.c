/* resource — routing calls to the key that owns the resource they name; contract in
 * resource.h. */
#include "call/resource.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/log.h"
#include "base/utc.h"
#include "call/resbill.h"
#include "http/server.h"
#include "pool/keypool.h"
#include "pool/owners.h"
#include "users/users.h"

#define MAX_REFS 16
#define MAX_DEPTH 64

typedef struct refs {
  size_t n;
  struct { char name[OWN_NAME_MAX + 1]; } v[MAX_REFS];
} refs;

/* ---------- names ---------- */

str resource_rest(str path)
{
  static const str ver[] = { STR("/v1beta/"), STR("/v1/"), STR("/v1alpha/") };
  if(str_starts(path, STR("/upload/"))) path = (str){ path.p + 7, path.n - 7 };   /* uploads name theirs too */
  for(size_t i = 0; i < ARRAY_LEN(ver); i++)
    if(str_starts(path, ver[i])) return (str){ path.p + ver[i].n, path.n - ver[i].n };
  return (str){ NULL, 0 };
}

/* Where a segment that starts at p ends: at '/', ':', '?', '#' or end. */
static const char *seg_end(const char *p, const char *end)
{
  while(p < end && *p != '/' && *p != ':' && *p != '?' && *p != '#') p++;
  return p;
}

str resource_in_path(str rest, int *kind)
{
  const char *end = rest.p + rest.n;
  *kind = own_kind_of(rest);
  if(*kind < 0) return (str){ NULL, 0 };
  const char *id;
  if(str_starts(rest, STR("models/"))) {
    const char *ops = memmem(rest.p, rest.n, "/operations/", 12);
    id = ops + 12;
  } else {
    id = memchr(rest.p, '/', rest.n) + 1;
  }
  const char *e = seg_end(id, end);
  if(e == id) { *kind = -1; return (str){ NULL, 0 }; }
  return (str){ rest.p, (size_t)(e - rest.p) };
}

static bool id_char(char ch)
{
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

str resource_file_uri(str uri)
{
  static const str ver[] = { STR("/v1beta/files/"), STR("/v1/files/"), STR("/v1alpha/files/") };
  const char *name = NULL;
  if(str_starts(uri, STR("files/"))) name = uri.p;
  for(size_t i = 0; !name && i < ARRAY_LEN(ver); i++) {
    const char *p = memmem(uri.p, uri.n, ver[i].p, ver[i].n);
    if(p) name = p + ver[i].n - 6;
  }
  if(!name) return (str){ NULL, 0 };
  const char *end = uri.p + uri.n, *id = name + 6, *e = id;
  while(e < end && id_char(*e)) e++;
  if(e == id || (e < end && *e != '?' && *e != '#' && *e != ':')) return (str){ NULL, 0 };
  return (str){ name, (size_t)(e - name) };
}

void resource_not_found(int kind, str name, char *out, size_t cap)
{
  const char *slash = memchr(name.p, '/', name.n);
  str id = slash ? (str){ slash + 1, name.n - (size_t)(slash + 1 - name.p) } : name;
  if(kind == OWN_FILE)
    snprintf(out, cap, "You do not have permission to access the File %.*s or it may not exist.", (int)id.n, id.p);
  else if(kind == OWN_CACHE)
    snprintf(out, cap, "CachedContent not found (or permission denied)");
  else
    snprintf(out, cap, "Requested entity was not found.");
}

/* ---------- references in a body ---------- */

static void add_ref(refs *rf, str name)
{
  if(!name.p || !name.n || name.n > OWN_NAME_MAX || rf->n == MAX_REFS) return;
  for(size_t i = 0; i < rf->n; i++)
    if(strlen(rf->v[i].name) == name.n && !memcmp(rf->v[i].name, name.p, name.n)) return;
  memcpy(rf->v[rf->n].name, name.p, name.n);
  rf->v[rf->n].name[name.n] = '\0';
  rf->n++;
}

static void walk(const json_t *j, refs *rf, int depth)
{
  if(depth > MAX_DEPTH) return;
  if(json_is_array(j)) {
    size_t i;
    const json_t *v;
    json_array_foreach(j, i, v) walk(v, rf, depth + 1);
    return;
  }
  if(!json_is_object(j)) return;
  const char *k;
  const json_t *v;
  json_object_foreach((json_t *)j, k, v) {
    if(!json_is_string(v)) { walk(v, rf, depth + 1); continue; }
    str s = { json_string_value(v), json_string_length(v) };
    if(!strcmp(k, "fileUri") || !strcmp(k, "file_uri")) {
      add_ref(rf, resource_file_uri(s));
    } else if(!strcmp(k, "fileName") || !strcmp(k, "file_name")) {   /* a batch's input file */
      if(str_starts(s, STR("files/"))) add_ref(rf, resource_file_uri(s));
    } else if(!strcmp(k, "cachedContent") || !strcmp(k, "cached_content")) {
      if(str_starts(s, STR("cachedContents/"))) add_ref(rf, s);
    } else if(!strcmp(k, "previous_interaction_id") && s.n && s.n + 13 <= OWN_NAME_MAX) {
      char name[OWN_NAME_MAX + 1];
      int n = snprintf(name, sizeof name, "interactions/%.*s", (int)s.n, s.p);
      add_ref(rf, (str){ name, (size_t)n });
    }
  }
}

/* Three memmem first: most bodies name nothing and are never parsed. */
static void body_refs(const char *body, size_t len, refs *rf)
{
  if(!len || (!memmem(body, len, "files/", 6) && !memmem(body, len, "cachedContents/", 15) &&
              !memmem(body, len, "previous_interaction_id", 23)))
    return;
  json_t *j = json_loadb(body, len, 0, NULL);
  if(j) walk(j, rf, 0);
  json_decref(j);
}

/* ---------- recording ---------- */

static const char *jstr(const json_t *o, const char *k)
{
  const json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* facts: what resbill.h bills it for later (a cache's tokens and expiry, a batch's reservation);
 * NULL for none. */
static bool record_one(gateway *gw, const principal *who, const char *key_hash, const char *model,
                       const char *name, const own_entry *facts)
{
  int kind;
  str n = resource_in_path(str_c(name), &kind);
  if(!n.p || n.n > OWN_NAME_MAX) return false;
  own_entry e = { .kind = (own_kind)kind, .user_id = who->user_id, .created_ms = now_ms() };
  if(facts) {
    e.tokens = facts->tokens;
    e.expire_ms = facts->expire_ms;
    e.reserved_nanos = kind == OWN_BATCH ? facts->reserved_nanos : 0;
  }
  memcpy(e.name, n.p, n.n);
  e.name[n.n] = '\0';
  snprintf(e.key_hash, sizeof e.key_hash, "%s", key_hash);
  if(model && !strncmp(model, "models/", 7)) model += 7;
  snprintf(e.model, sizeof e.model, "%s", model ? model : "");
  if(!owners_put(gw->owners, &e)) return false;
  log_info("resource %s (%s) recorded for %s on key #%d", e.name, own_kind_name(e.kind), who->label,
           kp_find_hash(gw->pool, key_hash, NULL, 0));
  return e.reserved_nanos > 0;
}

/* resource_record, holding reserved (a batch's budget reservation) on the batch it names: true
 * when it was so held. */
static bool record_held(gateway *gw, const principal *who, const char *key_hash, const char *model,
                        const char *body, size_t len, int64_t reserved)
{
  bool held = false;
  if(!gw->owners || !body || !len || !key_hash[0]) return false;
  json_t *j = json_loadb(body, len, 0, NULL);
  if(!json_is_object(j)) { json_decref(j); return false; }
  own_entry facts = { .reserved_nanos = reserved };
  const json_t *tok = json_object_get(json_object_get(j, "usageMetadata"), "totalTokenCount");
  if(json_is_integer(tok)) facts.tokens = ledger_clamp_tokens(json_integer_value(tok));
  const char *exp = jstr(j, "expireTime");
  if(exp && !utc_parse(exp, &facts.expire_ms)) facts.expire_ms = 0;
  const json_t *file = json_object_get(j, "file"), *meta = json_object_get(j, "metadata");
  const char *m = jstr(j, "model");
  if(!m) m = jstr(meta, "model");
  if(!m) m = model;
  const char *name = json_is_object(file) ? jstr(file, "name") : jstr(j, "name");
  if(name) held = record_one(gw, who, key_hash, m, name, &facts);
  else if(jstr(j, "id")) {                /* an interaction: named by its id alone */
    char n[OWN_NAME_MAX + 1];
    if((size_t)snprintf(n, sizeof n, "interactions/%s", jstr(j, "id")) < sizeof n) record_one(gw, who, key_hash, m, n, NULL);
  }
  const char *tuned = jstr(meta, "tunedModel");
  if(tuned) record_one(gw, who, key_hash, m, tuned, NULL);
  json_decref(j);
  return held;
}

void resource_record(gateway *gw, const principal *who, const char *key_hash, const char *model,
                     const char *body, size_t len)
{
  record_held(gw, who, key_hash, model, body, len, 0);
}

/* A batch's reservation moves from its creation's row to the batch, until its bill (resbill.h);
 * when the answer names no batch to hold it, it is released now. */
static void on_created(http_req *r, const proxy_spec *s, const char *key_hash, const char *body, size_t len)
{
  gateway *gw = r->w->gw;
  int64_t held = proxy_take_reservation(r);
  if(!record_held(gw, &s->who, key_hash, s->model, body, len, held) && held && gw->users)
    users_settle(gw->users, s->who.user_id, held, 0, 0, 0, now_ms());
}

/* A batch deleted before it was seen finished is never billed: its reservation is released
 * (taken atomically, as a bill would take it, so a GET at the same moment cannot take it too). */
static void on_deleted(http_req *r, const proxy_spec *s, const char *key_hash, const char *body, size_t len)
{
  gateway *gw = r->w->gw;
  own_entry e;
  if(owners_mark_billed(gw->owners, str_c(s->pin_name), now_ms(), &e) && e.reserved_nanos > 0 && gw->users)
    users_settle(gw->users, e.user_id, e.reserved_nanos, 0, 0, 0, now_ms());
  if(owners_remove(gw->owners, str_c(s->pin_name)))
    log_info("resource %s deleted by %s", s->pin_name, s->who.label);
}

/* ---------- routing ---------- */

/* POST on a collection, or a model action, that answers with a new resource. */
static bool creates(str rest)
{
  static const str coll[] = { STR("cachedContents"), STR("interactions"), STR("tunedModels"),
                              STR("fileSearchStores"), STR("corpora") };
  static const str act[] = { STR(":batchGenerateContent"), STR(":asyncBatchEmbedContent"),
                             STR(":predictLongRunning") };
  for(size_t i = 0; i < ARRAY_LEN(coll); i++)
    if(str_eq(rest, coll[i])) return true;
  if(!str_starts(rest, STR("models/"))) return false;
  const char *colon = memchr(rest.p, ':', rest.n);
  if(!colon) return false;
  str a = { colon, rest.n - (size_t)(colon - rest.p) };
  for(size_t i = 0; i < ARRAY_LEN(act); i++)
    if(str_eq(a, act[i])) return true;
  return false;
}

/* Google's error shape with its (empty) details, as Google's own NOT_FOUND answers carry it. */
static bool refuse(res_refusal *why, int status, const char *gstatus)
{
  json_t *j = json_pack("{s:{s:i,s:s,s:s,s:[]}}", "error", "code", status, "message", why->message,
                        "status", gstatus, "details");
  char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  why->status = status;
  snprintf(why->body, sizeof why->body, "%s", t ? t : "{}");
  free(t);
  return false;
}

bool resource_route(http_req *r, proxy_spec *s, res_refusal *why)
{
  gateway *gw = r->w->gw;
  if(!gw->owners || !s->url) return true;
  size_t bl = strlen(gw->cfg.upstream);
  if(strncmp(s->url, gw->cfg.upstream, bl)) return true;
  str path = { s->url + bl, strcspn(s->url + bl, "?") };
  str rest = resource_rest(path);
  if(!rest.p) return true;
  bool post = s->body_owned || str_eq(r->method, STR("POST"));
  bool del = !s->body_owned && str_eq(r->method, STR("DELETE"));
  refs rf = { 0 };
  int pkind;
  str pname = resource_in_path(rest, &pkind);
  if(pname.p) add_ref(&rf, pname);
  body_refs(s->body, s->body_len, &rf);
  own_entry owner, e;
  bool have = false;
  for(size_t i = 0; i < rf.n; i++) {
    if(!owners_get(gw->owners, str_c(rf.v[i].name), &e)) continue;
    if(e.user_id != s->who.user_id) {    /* tenancy: as if it did not exist */
      resource_not_found((int)e.kind, str_c(e.name), why->message, sizeof why->message);
      return refuse(why, 404, "NOT_FOUND");
    }
    if(!have) { owner = e; have = true; continue; }
    if(strcmp(e.key_hash, owner.key_hash)) {
      snprintf(why->message, sizeof why->message, "%s and %s were created with different upstream keys "
               "(Google projects) and cannot be used in one request", owner.name, e.name);
      return refuse(why, 400, "INVALID_ARGUMENT");
    }
  }
  if(have) {
    memcpy(s->pin, owner.key_hash, sizeof s->pin);
    snprintf(s->pin_name, sizeof s->pin_name, "%s", owner.name);
    if(!s->model[0] && owner.model[0]) {    /* the resource's model, for allowed_models and the pool */
      const char *m = strncmp(owner.model, "models/", 7) ? owner.model : owner.model + 7;
      size_t n = strlen(m);
      if(n < sizeof s->model) memcpy(s->model, m, n + 1);   /* a longer name is not a model we know */
    }
  }
  if(post && creates(rest)) {
    s->capture = true;
    s->on_ok = on_created;
  } else if(del && have && pname.p && pname.n == rest.n && !strcmp(owner.name, rf.v[0].name)) {
    s->on_ok = on_deleted;
  } else if(have && pname.p && pname.n == rest.n && !strcmp(owner.name, rf.v[0].name)) {
    resbill_route(r, s, &owner);      /* a batch looked at, a cache's life changed */
  }
  return true;
}
