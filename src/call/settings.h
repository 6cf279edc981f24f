/* settings — seed 004's gateway-wide settings for OpenAI requests: the default thinking config
 * and the injected prompt.  Readers take an immutable snapshot (a reference), so a request
 * never sees a half-changed setting and holds a lock only to count its reference; a change
 * builds a new snapshot and swaps it in.  The settings are stored in the database's settings
 * table (row "openai") as {"thinking":{…},"inject":{…}} and loaded again at start.  The admin
 * routes are admin/settings.c's. */
#ifndef GEMGATE_SETTINGS_H
#define GEMGATE_SETTINGS_H

#include <jansson.h>

#include "base/rc.h"
#include "openai/openai.h"

typedef struct settings settings;
struct store_conn;

typedef struct settings_snap {
  oai_settings oai;             /* inject_content points into this snapshot */
  int refs;                     /* under the settings' lock */
} settings_snap;

/* The two parts, each shown and changed on its own: "thinking" {enabled, budget,
 * include_thoughts} and "inject" {enabled, content, position}. */
typedef enum { SETTINGS_THINKING, SETTINGS_INJECT } settings_part;

/* Defaults: thinking off (budget -1 = auto), no injected prompt.  NULL when out of memory. */
settings *settings_new(void);
/* Frees s and its current snapshot.  Only once no reader can be holding or acquiring one
 * (after the workers are gone). */
void settings_free(settings *s);

/* The current snapshot, referenced (NULL when s is NULL); give it back with settings_release.
 * Any thread. */
settings_snap *settings_acquire(settings *s);
void settings_release(settings *s, settings_snap *snap);

/* Replace the settings from their stored JSON form; the parts (and fields) left out keep their
 * value.  GG_BAD_INPUT (nothing changes) or GG_NOMEM. */
gg_rc settings_load_json(settings *s, const char *json, gg_err *e);

/* At start: the settings stored in the database, if any.  GG_BAD_INPUT when the stored value
 * is unreadable (the settings stay as they are), GG_DB. */
gg_rc settings_load(settings *s, struct store_conn *c, gg_err *e);

/* The stored JSON form of the current settings; malloc'ed, caller frees (NULL: no memory). */
char *settings_dump(settings *s);

/* One part of o as the admin routes show it (a new reference). */
json_t *settings_part_json(const oai_settings *o, settings_part part);

/* Whether fields (a JSON object) is a valid change to part: GG_OK, or GG_BAD_INPUT with the
 * message for the client.  Checks only; nothing changes. */
gg_rc settings_check(settings_part part, json_t *fields, gg_err *e);

/* Apply fields to part of the current settings, store the result (when c is not NULL; on a
 * store pool thread), then swap it in: memory changes only once the row is stored, and
 * changes are serialised, so the stored row and memory always agree.  GG_OK with *out
 * (settings_part_json of the new settings); GG_BAD_INPUT, GG_NOMEM, GG_DB (nothing changed). */
gg_rc settings_change(settings *s, struct store_conn *c, settings_part part, json_t *fields, json_t **out, gg_err *e);

#endif
