/* settings — snapshots of the OpenAI settings; contract in settings.h. */
#include "call/settings.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "store/store.h"

#define SETTINGS_ROW "openai"   /* the settings table's row for these settings */

struct settings {
  pthread_mutex_t lock;         /* guards cur and every snapshot's refs */
  pthread_mutex_t change;       /* one change at a time: store order = swap order */
  settings_snap *cur;
};

static const oai_settings defaults = { .thinking_enabled = false, .thinking_budget = -1,
                                       .include_thoughts = false, .inject_enabled = false,
                                       .inject_content = "", .inject_position = OAI_INJECT_SYSTEM };

/* A new snapshot owning a copy of o's content.  refs = 1 (the settings' own). */
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

settings *settings_new(void)
{
  settings *s = calloc(1, sizeof *s);
  if(!s) return NULL;
  if(!(s->cur = snap_new(&defaults))) { free(s); return NULL; }
  pthread_mutex_init(&s->lock, NULL);
  pthread_mutex_init(&s->change, NULL);
  return s;
}

void settings_free(settings *s)
{
  if(!s) return;
  settings_release(s, s->cur);
  pthread_mutex_destroy(&s->lock);
  pthread_mutex_destroy(&s->change);
  free(s);
}

settings_snap *settings_acquire(settings *s)
{
  if(!s) return NULL;
  pthread_mutex_lock(&s->lock);
  settings_snap *snap = s->cur;
  snap->refs++;
  pthread_mutex_unlock(&s->lock);
  return snap;
}

/* The lock orders the decrement with settings_acquire's increment. */
void settings_release(settings *s, settings_snap *snap)
{
  if(!s || !snap) return;
  pthread_mutex_lock(&s->lock);
  int left = --snap->refs;
  pthread_mutex_unlock(&s->lock);
  if(!left) free(snap);
}

/* Swaps in next (its reference passes to s); the old snapshot lives on while held. */
static void install(settings *s, settings_snap *next)
{
  pthread_mutex_lock(&s->lock);
  settings_snap *prev = s->cur;
  s->cur = next;
  pthread_mutex_unlock(&s->lock);
  settings_release(s, prev);
}

static const char *const positions[] = { "system", "user_prefix", "user_suffix" };

json_t *settings_part_json(const oai_settings *o, settings_part part)
{
  if(part == SETTINGS_THINKING)
    return json_pack("{s:b,s:i,s:b}", "enabled", o->thinking_enabled, "budget", o->thinking_budget,
                     "include_thoughts", o->include_thoughts);
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

/* Applies an inject object's fields to o; o->inject_content may then be borrowed from j. */
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

static const char *apply(oai_settings *o, settings_part part, json_t *fields)
{
  return part == SETTINGS_THINKING ? apply_thinking(o, fields) : apply_inject(o, fields);
}

gg_rc settings_check(settings_part part, json_t *fields, gg_err *e)
{
  oai_settings o = defaults;
  const char *bad = apply(&o, part, fields);
  return bad ? gg_fail(e, GG_BAD_INPUT, "%s", bad) : GG_OK;
}

/* The stored form of o. */
static char *dump(const oai_settings *o)
{
  json_t *j = json_pack("{s:o,s:o}", "thinking", settings_part_json(o, SETTINGS_THINKING),
                        "inject", settings_part_json(o, SETTINGS_INJECT));
  char *out = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  return out;
}

char *settings_dump(settings *s)
{
  settings_snap *snap = settings_acquire(s);
  char *out = snap ? dump(&snap->oai) : NULL;
  settings_release(s, snap);
  return out;
}

gg_rc settings_load_json(settings *s, const char *text, gg_err *e)
{
  json_t *j = json_loads(text, 0, NULL);
  json_t *t = json_object_get(j, "thinking"), *in = json_object_get(j, "inject");
  pthread_mutex_lock(&s->change);
  settings_snap *cur = settings_acquire(s), *next = NULL;
  oai_settings o = cur->oai;
  const char *bad = json_is_object(j) ? NULL : "not a JSON object";
  if(!bad && t) bad = apply_thinking(&o, t);
  if(!bad && in) bad = apply_inject(&o, in);
  if(!bad && (next = snap_new(&o))) install(s, next);
  settings_release(s, cur);
  pthread_mutex_unlock(&s->change);
  json_decref(j);
  if(bad) return gg_fail(e, GG_BAD_INPUT, "stored settings: %s", bad);
  return next ? GG_OK : gg_fail(e, GG_NOMEM, "out of memory");
}

gg_rc settings_load(settings *s, struct store_conn *c, gg_err *e)
{
  store_stmt *st = store_prepare(c, "SELECT value FROM settings WHERE name = ?");
  if(!st) return gg_fail(e, GG_DB, "cannot read the settings");
  store_bind_text(st, 1, SETTINGS_ROW);
  gg_rc rc = GG_OK;
  store_rc step = store_step(st);
  if(step == STORE_ROW) {
    const char *v = store_col_text(st, 0);
    if(v && (rc = settings_load_json(s, v, e))) log_error("settings: the stored value is not valid; using defaults");
  } else if(step != STORE_DONE) rc = gg_fail(e, GG_DB, "cannot read the settings");
  store_reset(st);
  return rc;
}

/* Writes the stored form of o (on a store thread). */
static bool store_settings(struct store_conn *c, const oai_settings *o)
{
  char *json = dump(o);
  store_stmt *st = json ? store_prepare(c, "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)"
                                           " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at") : NULL;
  bool ok = false;
  if(st) {
    store_bind_text(st, 1, SETTINGS_ROW);
    store_bind_text(st, 2, json);
    store_bind_int(st, 3, now_ms());
    ok = store_step(st) == STORE_DONE;
    if(!ok) log_error("settings: not stored: %s", store_error(c));
    store_reset(st);
  }
  free(json);
  return ok;
}

gg_rc settings_change(settings *s, struct store_conn *c, settings_part part, json_t *fields, json_t **out, gg_err *e)
{
  pthread_mutex_lock(&s->change);
  settings_snap *cur = settings_acquire(s);
  oai_settings o = cur->oai;
  const char *bad = apply(&o, part, fields);
  settings_snap *next = bad ? NULL : snap_new(&o);
  gg_rc rc = bad ? gg_fail(e, GG_BAD_INPUT, "%s", bad)
           : !next ? gg_fail(e, GG_NOMEM, "out of memory")
           : c && !store_settings(c, &next->oai) ? gg_fail(e, GG_DB, "the settings could not be stored")
           : GG_OK;
  if(rc == GG_OK) {
    *out = settings_part_json(&next->oai, part);
    install(s, next);
  } else if(next) {
    free(next);
  }
  settings_release(s, cur);
  pthread_mutex_unlock(&s->change);
  return rc;
}
