/* settings — admin routes for the OpenAI settings; contract in settings.h. */
#include "admin/settings.h"

#include <stdlib.h>

#include "admin/dbcall.h"
#include "call/settings.h"
#include "http/server.h"
#include "shared/rshare.h"

typedef struct change_job { settings *s; settings_part part; json_t *fields; gateway *gw; } change_job;

static void change_free(void *arg)
{
  change_job *j = arg;
  json_decref(j->fields);
  free(j);
}

static gg_rc change_work(store_conn *c, void *arg, json_t **out, gg_err *e)
{
  change_job *j = arg;
  gg_rc rc = settings_change(j->s, c, j->part, j->fields, out, e);
  if(!rc) rshare_publish(j->gw->shared, RSHARE_SETTINGS);    /* stored: other instances reload it */
  return rc;
}

/* The shared shape of both routes: GET shows, POST changes the fields given. */
static void settings_route(http_req *r, settings_part part)
{
  gateway *gw = r->w->gw;
  settings *s = gw->settings;
  if(!s) { http_error_rc(r, GG_UNAVAILABLE, "the settings are not loaded"); return; }
  if(!str_eq(r->method, STR("POST"))) {
    settings_snap *snap = settings_acquire(s);
    http_reply_json(r, 200, settings_part_json(&snap->oai, part), NULL);
    settings_release(s, snap);
    return;
  }
  json_t *body = http_body_object(r);
  if(!body) return;
  gg_err e = { "" };
  gg_rc rc = settings_check(part, body, &e);
  if(rc) { json_decref(body); http_error_rc(r, rc, e.msg); return; }
  if(!gw->store) {                                  /* nothing to store it in: memory only */
    json_t *out = NULL;
    rc = settings_change(s, NULL, part, body, &out, &e);
    json_decref(body);
    if(rc) http_error_rc(r, rc, e.msg);
    else http_reply_json(r, 200, out, NULL);
    return;
  }
  change_job *j = malloc(sizeof *j);
  if(!j) { json_decref(body); http_error_rc(r, GG_NOMEM, NULL); return; }
  *j = (change_job){ s, part, body, gw };
  dbcall_json(r, j, change_free, change_work, 200);   /* answered once stored */
}

void admin_settings_thinking(http_req *r) { settings_route(r, SETTINGS_THINKING); }
void admin_settings_inject(http_req *r) { settings_route(r, SETTINGS_INJECT); }
