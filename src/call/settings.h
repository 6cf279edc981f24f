/* settings — seed 004's gateway-wide settings for OpenAI requests: the default thinking config
 * and the injected prompt.  Readers take an immutable snapshot (a reference), so a request
 * never sees a half-changed setting and never holds a lock; an admin change swaps the snapshot.
 * A change is stored in the database's settings table by a database thread (never the event
 * loop) and loaded again at start. */
#ifndef GEMGATE_SETTINGS_H
#define GEMGATE_SETTINGS_H

#include "http/http.h"
#include "openai/openai.h"

typedef struct settings_snap {
  oai_settings oai;             /* inject_content points into this snapshot */
  int refs;
} settings_snap;

struct gateway;

/* The current snapshot, referenced; give it back with settings_release. */
settings_snap *settings_acquire(struct gateway *gw);
void settings_release(struct gateway *gw, settings_snap *s);

/* Replace the settings from their stored JSON form ({"thinking":{…},"inject":{…}}); used at
 * start.  -1 when the JSON does not hold valid settings (nothing changes then). */
int settings_load_json(struct gateway *gw, const char *json);

struct store_conn;

/* At start, on the main thread: the settings stored in the database, if any.  -1 when the
 * stored value is unreadable (defaults stay). */
int settings_load(struct gateway *gw, struct store_conn *c);

/* The stored JSON form of the current settings; malloc'ed, caller frees. */
char *settings_dump(struct gateway *gw);

void settings_free_all(struct gateway *gw);

/* Admin routes: POST /admin/config/thinking {"enabled","budget","include_thoughts"},
 * POST /admin/config/inject-prompt {"enabled","content","position"}, and GET of both. */
void settings_thinking(http_req *r);
void settings_inject(http_req *r);

#endif
