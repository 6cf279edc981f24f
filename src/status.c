#include "status.h"

#include "keypool.h"
#include "server.h"

void status_health(http_req *r)
{
  gateway *gw = r->w->gw;
  size_t n = kp_available(gw->pool, now_ms());
  http_reply_json(r, 200, json_pack("{s:s,s:I}", "status", "ok", "available_keys", (json_int_t)n), NULL);
}

void status_wake(http_req *r)
{
  gateway *gw = r->w->gw;
  http_reply_json(r, 200, json_pack("{s:s,s:I}", "status", "awake", "uptime_seconds",
                                    (json_int_t)((now_ms() - gw->started_ms) / 1000)), NULL);
}

void status_keys(http_req *r)
{
  gateway *gw = r->w->gw;
  int64_t now = now_ms();
  json_t *keys = kp_status_keys(gw->pool, now);
  http_reply_json(r, 200, json_pack("{s:o,s:I,s:I}", "keys", keys, "total", (json_int_t)json_array_size(keys),
                                    "available", (json_int_t)kp_available(gw->pool, now)), NULL);
}

void status_pool_stats(http_req *r)
{
  http_reply_json(r, 200, kp_pool_stats(r->w->gw->pool, now_ms()), NULL);
}

void status_key_stats(http_req *r)
{
  http_reply_json(r, 200, kp_key_stats(r->w->gw->pool), NULL);
}

void status_pool_reset(http_req *r)
{
  const char *model = NULL;
  json_t *body = NULL;
  if(r->body_len) {
    json_error_t e;
    body = json_loadb(r->body, r->body_len, 0, &e);
    if(!json_is_object(body)) { json_decref(body); http_error(r, 400, NULL, "body must be a JSON object", NULL); return; }
    json_t *m = json_object_get(body, "model");
    if(m && !json_is_null(m) && (!json_is_string(m) || !json_string_length(m) || json_string_length(m) > 63)) {
      json_decref(body);
      http_error(r, 400, NULL, "\"model\" must be a model name", NULL);
      return;
    }
    model = json_string_value(m);
  }
  kp_reset_pool(r->w->gw->pool, model);
  http_reply_json(r, 200, json_pack("{s:s,s:s?}", "status", "ok", "model", model), NULL);
  json_decref(body);
}

void status_stats_reset(http_req *r)
{
  kp_reset_stats(r->w->gw->pool);
  http_reply_json(r, 200, json_pack("{s:s}", "status", "ok"), NULL);
}

void status_reload(http_req *r)
{
  gateway *gw = r->w->gw;
  if(server_reload_keys(gw)) { http_error(r, 500, NULL, "could not read the key file", NULL); return; }
  http_reply_json(r, 200, json_pack("{s:s,s:I}", "status", "ok", "keys", (json_int_t)gw->cfg.keys.n), NULL);
}
