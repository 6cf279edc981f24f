#include "call/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/dbcall.h"
#include "base/log.h"
#include "http/server.h"
#include "store/store.h"

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

/* A new snapshot owning a copy of content.  refs = 1 (the gateway's). */
static settings_snap *snap_new(const oai_settings *o)
{
  size_t n = o->inject_content ? strlen(o->inject_content) : 0;
  settings_snap *s = calloc(1, sizeof *s + n + 1);
  if(!s) return NULL;
  s->oai = *o;
  char *content = (char *)(s + 1);
  if(n) memcpy(content, o->inject_content, n);
  content[n] = '\0';
  s->oai.inject_content = content;
  s->refs = 1;
  return s;
}

static const oai_settings defaults = { .thinking_enabled = false, .thinking_budget = -1,
                                       .include_thoughts = false, .inject_enabled = false,
                                       .inject_content = "", .inject_position = OAI_INJECT_SYSTEM };

settings_snap *settings_acquire(gateway *gw)
{
  pthread_mutex_lock(&init_lock);
  if(!gw->settings) { pthread_mutex_init(&gw->settings_lock, NULL); gw->settings = snap_new(&defaults); }
  pthread_mutex_unlock(&init_lock);
  pthread_mutex_lock(&gw->settings_lock);
  settings_snap *s = gw->settings;
  if(s) s->refs++;
  pthread_mutex_unlock(&gw->settings_lock);
  return s;
}

/* Drops a reference; the lock orders it with settings_acquire's increment. */
static void snap_unref(gateway *gw, settings_snap *s)
{
  pthread_mutex_lock(&gw->settings_lock);
  int left = --s->refs;
  pthread_mutex_unlock(&gw->settings_lock);
  if(!left) free(s);
}

void settings_release(gateway *gw, settings_snap *s)
{
  if(s) snap_unref(gw, s);
}

/* Installs a new snapshot built from o. */
static int install(gateway *gw, const oai_settings *o)
{
  settings_snap *old = settings_acquire(gw), *s = snap_new(o);
  if(!s) { settings_release(gw, old); return -1; }
  pthread_mutex_lock(&gw->settings_lock);
  settings_snap *prev = gw->settings;
  gw->settings = s;
  pthread_mutex_unlock(&gw->settings_lock);
  snap_unref(gw, prev);
  snap_unref(gw, old);
  return 0;
}

static const char *const positions[] = { "system", "user_prefix", "user_suffix" };

static json_t *thinking_json(const oai_settings *o)
{
  return json_pack("{s:b,s:i,s:b}", "enabled", o->thinking_enabled, "budget", o->thinking_budget,
                   "include_thoughts", o->include_thoughts);
}

static json_t *inject_json(const oai_settings *o)
{
  return json_pack("{s:b,s:s,s:s}", "enabled", o->inject_enabled, "content", o->inject_content,
                   "position", positions[o->inject_position]);
}

/* Applies the fields present in j (a thinking object) to o.  NULL, or what is wrong. */
static const char *apply_thinking(oai_settings *o, json_t *j)
{
  json_t *v;
  if((v = json_object_get(j, "enabled"))) { if(!json_is_boolean(v)) return "\"enabled\" must be a boolean"; o->thinking_enabled = json_is_true(v); }
  if((v = json_object_get(j, "include_thoughts"))) { if(!json_is_boolean(v)) return "\"include_thoughts\" must be a boolean"; o->include_thoughts = json_is_true(v); }
  if((v = json_object_get(j, "budget"))) {
    if(!json_is_integer(v)) return "\"budget\" must be an integer: -1 (auto), 0 (off) or 1..32768";
    json_int_t b = json_integer_value(v);
    if(b < -1 || b > 32768) return "\"budget\" must be -1 (auto), 0 (off) or 1..32768";
    o->thinking_budget = (int)b;
  }
  return NULL;
}

/* Applies an inject object's fields to o; *content gets the new content (borrowed from j). */
static const char *apply_inject(oai_settings *o, json_t *j)
{
  json_t *v;
  if((v = json_object_get(j, "enabled"))) { if(!json_is_boolean(v)) return "\"enabled\" must be a boolean"; o->inject_enabled = json_is_true(v); }
  if((v = json_object_get(j, "content"))) {
    if(!json_is_string(v)) return "\"content\" must be a string";
    if(json_string_length(v) > 65536) return "\"content\" is longer than 65536 bytes";
    o->inject_content = json_string_value(v);
  }
  if((v = json_object_get(j, "position"))) {
    const char *p = json_string_value(v);
    size_t i = 0;
    while(p && i < 3 && strcmp(p, positions[i])) i++;
    if(!p || i == 3) return "\"position\" must be \"system\", \"user_prefix\" or \"user_suffix\"";
    o->inject_position = (oai_inject_pos)i;
  }
  return NULL;
}

int settings_load_json(gateway *gw, const char *text)
{
  json_error_t err;
  json_t *j = json_loads(text, 0, &err);
  settings_snap *cur = settings_acquire(gw);
  oai_settings o = cur->oai;
  json_t *t = json_object_get(j, "thinking"), *in = json_object_get(j, "inject");
  int rc = json_is_object(j) && (!t || !apply_thinking(&o, t)) && (!in || !apply_inject(&o, in)) ? install(gw, &o) : -1;
  settings_release(gw, cur);
  json_decref(j);
  return rc;
}

char *settings_dump(gateway *gw)
{
  settings_snap *s = settings_acquire(gw);
  json_t *j = json_pack("{s:o,s:o}", "thinking", thinking_json(&s->oai), "inject", inject_json(&s->oai));
  settings_release(gw, s);
  char *out = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  return out;
}

void settings_free_all(gateway *gw)
{
  if(gw->settings) snap_unref(gw, gw->settings);
  gw->settings = NULL;
}

#define SETTINGS_ROW "openai"   /* the settings table's row for these settings */

/* A change waiting to be stored before it is answered. */
typedef struct save_req { gateway *gw; bool thinking, ok; } save_req;

/* On a database thread: store the settings as they are now.  Whichever save runs last writes
 * the newest state, so two quick changes cannot be stored out of order. */
static void save_work(store_conn *c, void *arg)
{
  save_req *q = arg;
  char *json = settings_dump(q->gw);
  store_stmt *st = json ? store_prepare(c, "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)"
                                           " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at") : NULL;
  if(st) {
    store_bind_text(st, 1, SETTINGS_ROW);
    store_bind_text(st, 2, json);
    store_bind_int(st, 3, now_ms());
    q->ok = store_step(st) == STORE_DONE;
    if(!q->ok) log_error("settings: not stored: %s", store_error(c));
    store_reset(st);
  }
  free(json);
}

static json_t *thinking_json(const oai_settings *o);
static json_t *inject_json(const oai_settings *o);

/* Back on the loop: the settings as stored. */
static void save_reply(dbcall *d, http_req *r, void *arg)
{
  save_req *q = arg;
  settings_snap *s = settings_acquire(q->gw);
  if(q->ok) http_reply_json(r, 200, q->thinking ? thinking_json(&s->oai) : inject_json(&s->oai), NULL);
  else http_error(r, 500, NULL, "the settings could not be stored", NULL);
  settings_release(q->gw, s);
  dbcall_end(d);
}

int settings_load(gateway *gw, store_conn *c)
{
  store_stmt *st = store_prepare(c, "SELECT value FROM settings WHERE name = ?");
  if(!st) return -1;
  store_bind_text(st, 1, SETTINGS_ROW);
  int rc = 0;
  if(store_step(st) == STORE_ROW) {
    const char *v = store_col_text(st, 0);
    if(v && settings_load_json(gw, v)) { log_error("settings: the stored value is not valid; using defaults"); rc = -1; }
  }
  store_reset(st);
  return rc;
}

/* The shared shape of both routes: GET shows, POST changes the fields given. */
static void settings_route(http_req *r, bool thinking)
{
  gateway *gw = r->w->gw;
  settings_snap *cur = settings_acquire(gw);
  oai_settings o = cur->oai;
  json_t *body = NULL;
  if(str_eq(r->method, STR("POST"))) {
    if(!(body = http_body_object(r))) { settings_release(gw, cur); return; }
    const char *bad = thinking ? apply_thinking(&o, body) : apply_inject(&o, body);
    if(bad || install(gw, &o)) {
      json_decref(body);
      settings_release(gw, cur);
      http_error(r, bad ? 400 : 500, NULL, bad ? bad : "out of memory", NULL);
      return;
    }
    json_decref(body);
    if(gw->store) {                                   /* answer once it is stored */
      save_req *q = malloc(sizeof *q);
      if(q) *q = (save_req){ gw, thinking, false };
      if(!q || !dbcall_start(r, q, free, save_work, save_reply)) {
        install(gw, &cur->oai);                       /* not stored: change nothing */
        if(!q) http_error(r, 500, NULL, "out of memory", NULL);
      }
      settings_release(gw, cur);
      return;
    }
    body = NULL;
  }
  http_reply_json(r, 200, thinking ? thinking_json(&o) : inject_json(&o), NULL);
  json_decref(body);
  settings_release(gw, cur);
}

void settings_thinking(http_req *r) { settings_route(r, true); }
void settings_inject(http_req *r) { settings_route(r, false); }
