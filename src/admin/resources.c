/* admin/resources — GET /admin/resources; contract in resources.h. */
#include "admin/resources.h"

#include <stdlib.h>
#include <string.h>

#include "base/utc.h"
#include "http/server.h"
#include "pool/keypool.h"
#include "pool/owners.h"
#include "store/query.h"
#include "users/users.h"

#define LIMIT_MAX 1000

typedef struct filter {
  own_filter f;
  char kind[24], model[64], hash[OWN_HASH_LEN + 1], cursor[OWN_NAME_MAX + 1];
  int64_t limit;
} filter;

static gg_rc parse(str qs, gateway *gw, filter *x, gg_err *e)
{
  gg_rc rc;
  bool present;
  int64_t key;
  x->f = (own_filter){ .user_id = -1, .kind = -1 };
  if((rc = query_int(qs, "user", 0, INT64_MAX / 2, -1, &x->f.user_id, e)) ||
     (rc = query_int(qs, "key", 1, 1000000, 0, &key, e)) ||
     (rc = query_int(qs, "limit", 1, LIMIT_MAX, 100, &x->limit, e)) ||
     (rc = query_label(qs, "model", x->model, sizeof x->model, e)) ||
     (rc = query_str(qs, "kind", x->kind, sizeof x->kind, &present, e)))
    return rc;
  if(present && (x->f.kind = own_kind_parse(x->kind)) < 0)
    return gg_fail(e, GG_BAD_INPUT, "kind must be file, cachedContent, batch, interaction, operation, tunedModel, "
                   "fileSearchStore or corpus");
  if(key > 0 && !kp_hash_of_id(gw->pool, (int)key, x->hash))
    return gg_fail(e, GG_NOT_FOUND, "no upstream key #%lld in the pool", (long long)key);
  if((rc = query_str(qs, "cursor", x->cursor, sizeof x->cursor, &present, e))) return rc;
  if(present && !owners_get(gw->owners, str_c(x->cursor), NULL))
    return gg_fail(e, GG_BAD_INPUT, "cursor must be a next_cursor from a previous answer");
  x->f.key_hash = x->hash;
  x->f.model = x->model;
  return GG_OK;
}

/* The user's group in users[] (created on first sight, in order of the newest resource). */
static json_t *group(gateway *gw, json_t *groups, int64_t uid)
{
  size_t i;
  json_t *g;
  json_array_foreach(groups, i, g)
    if(json_integer_value(json_object_get(g, "user_id")) == uid) return json_object_get(g, "resources");
  char name[64] = "static";
  if(uid && !(gw->users && users_exists(gw->users, uid, name, sizeof name))) name[0] = '\0';
  g = json_pack("{s:I,s:s?,s:[]}", "user_id", (json_int_t)uid, "name", name[0] ? name : NULL, "resources");
  json_array_append_new(groups, g);
  return json_object_get(g, "resources");
}

void admin_resources_list(http_req *r)
{
  gateway *gw = r->w->gw;
  filter x = { 0 };
  gg_err e = { "" };
  gg_rc rc = gw->owners ? parse(r->query, gw, &x, &e) : gg_fail(&e, GG_UNAVAILABLE, "no database");
  if(rc) { http_error_rc(r, rc, e.msg); return; }
  own_entry *page = malloc((size_t)x.limit * sizeof *page);
  if(!page) { http_error(r, 500, NULL, "out of memory", NULL); return; }
  bool more;
  size_t n = owners_page(gw->owners, &x.f, x.cursor, 0, page, (size_t)x.limit, &more);
  json_t *groups = json_array();
  for(size_t i = 0; i < n; i++) {
    own_entry *o = &page[i];
    char mask[32], when[32];
    int id = kp_find_hash(gw->pool, o->key_hash, mask, sizeof mask);
    utc_iso(o->created_ms, when, sizeof when);
    json_array_append_new(group(gw, groups, o->user_id), json_pack("{s:s,s:s,s:s,s:o,s:s}",
      "name", o->name, "kind", own_kind_name(o->kind), "model", o->model,
      "key", id ? json_pack("{s:i,s:s}", "id", id, "masked", mask) : json_null(), "created_at", when));
  }
  json_t *out = json_pack("{s:I,s:I,s:o}", "total", (json_int_t)owners_count(gw->owners), "count", (json_int_t)n,
                          "users", groups);
  if(more && n) json_object_set_new(out, "next_cursor", json_string(page[n - 1].name));
  free(page);
  http_reply_json(r, 200, out, NULL);
}
