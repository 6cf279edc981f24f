/* owners — who owns each stateful Gemini resource: the upstream key (the Google project) that
 * created it and the gateway user it was created for.
 *
 * Files, cachedContents, batches, interactions, long-running operations, tunedModels,
 * fileSearchStores and corpora live in the project behind one key; another key naming them gets
 * 403.  The call engine records each name an upstream 2xx answer creates (owners_put) and sends
 * later requests naming it to that key; tenancy (a user sees only their own) reads the user.
 *
 * Memory: a hash map over the names plus a list from newest to oldest, at most `cap` entries.
 * Beyond the cap the oldest entry is forgotten (and deleted from the store): a request naming a
 * forgotten resource goes through the normal pool again, as an unknown one does.  Keys are kept
 * as the hex SHA-256 of their secret (the form upstream_keys.hash has), never the secret.
 *
 * Persistence: with owners_open, every change is queued to a writer thread of its own (never a
 * query on an event loop) that writes the `resources` table in batches; owners_close drains the
 * queue, so a graceful stop loses nothing.  The queue is bounded (OWNERS_QUEUE_MAX): when the
 * database stalls beyond it, changes stay in memory only and a warning is logged.
 *
 * Thread-safe: one mutex over the map; every call is short. */
#ifndef GEMGATE_OWNERS_H
#define GEMGATE_OWNERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

struct store;
struct store_conn;

#define OWNERS_CAP_DEFAULT 100000
#define OWNERS_QUEUE_MAX 8192
#define OWN_NAME_MAX 255          /* longer names are not recorded */
#define OWN_HASH_LEN 64           /* hex SHA-256 */
#define OWN_MODEL_MAX 63

typedef enum {
  OWN_FILE, OWN_CACHE, OWN_BATCH, OWN_INTERACTION, OWN_OPERATION, OWN_TUNED_MODEL,
  OWN_FILE_SEARCH_STORE, OWN_CORPUS, OWN_NKINDS
} own_kind;

typedef struct own_entry {
  char name[OWN_NAME_MAX + 1];      /* "files/abc", "cachedContents/x", "interactions/v1_…" */
  own_kind kind;
  char key_hash[OWN_HASH_LEN + 1];
  int64_t user_id;                  /* 0: the static access keys (one principal) */
  char model[OWN_MODEL_MAX + 1];    /* "" when the answer named none */
  int64_t created_ms;
  /* What the gateway bills the resource for after its call (call/resbill.h): a cache's tokens and
   * the furthest expiry billed so far (ms, 0 = unknown); a batch's billed time (0 = not yet).
   * reserved_nanos: a batch's budget reservation, held from its creation to its bill — memory
   * only (a restart drops it, and the bill then releases nothing). */
  int64_t tokens, expire_ms, billed_ms;
  int64_t reserved_nanos;
} own_entry;

typedef struct owners owners;

owners *owners_new(size_t cap);
/* Stops the writer (after draining it) and frees everything. */
void owners_free(owners *o);

/* Loads the newest `cap` rows of the resources table (start-up, before any put).  0 / -1. */
int owners_load(owners *o, struct store_conn *c);

/* Starts the writer on its own connection to s.  0, or -1 with a message. */
int owners_open(owners *o, struct store *s, char *err, size_t errcap);

/* Drains the writer's queue and stops it (before store_close); puts after this stay in memory. */
void owners_close(owners *o);

/* Records e (replacing an entry of the same name).  false for a name that is empty, too long or
 * of no known kind. */
bool owners_put(owners *o, const own_entry *e);

/* The entry for name into *out; false when unknown. */
bool owners_get(owners *o, str name, own_entry *out);

/* Marks a batch billed at now, once: true (with its entry, reservation included, in *out; the
 * reservation is cleared) only for the first call on a known name not billed yet, false for
 * every later one — many clients polling the same batch bill it once.  Persisted. */
bool owners_mark_billed(owners *o, str name, int64_t now, own_entry *out);

/* A cache's life moves to expire_ms: *out gets the entry as it was; its expiry becomes the later
 * of the two (the furthest time billed).  false when unknown.  Persisted. */
bool owners_extend(owners *o, str name, int64_t expire_ms, own_entry *out);

/* Forgets name; false when it was unknown. */
bool owners_remove(owners *o, str name);

/* ---- shared state (shared/rshare.h): resources another instance created ----
 * fn(ctx, e, removed) after each owners_put and owners_remove (not evictions, not loads, not
 * owners_apply), from the caller's thread, outside the mutex; fn must not block (it queues).
 * owners_apply records (or forgets) another instance's entry in memory only: that instance
 * wrote the shared database already.  false as owners_put / owners_remove. */
typedef void (*own_observer)(void *ctx, const own_entry *e, bool removed);
void owners_set_observer(owners *o, own_observer fn, void *ctx);
bool owners_apply(owners *o, const own_entry *e, bool removed);

/* A filter for owners_page: -1 / "" mean any. */
typedef struct own_filter {
  int64_t user_id;
  int kind;
  const char *key_hash;
  const char *model;
} own_filter;

/* Up to cap entries matching f, newest first, starting after the entry named `after` (NULL or ""
 * from the newest; a name no longer known continues with the entries created before
 * after_ms).  Returns how many were written; *more says whether further ones match. */
size_t owners_page(owners *o, const own_filter *f, const char *after, int64_t after_ms,
                   own_entry *out, size_t cap, bool *more);

size_t owners_count(owners *o);

/* "file", "cachedContent", "batch", "interaction", "operation", "tunedModel",
 * "fileSearchStore", "corpus". */
const char *own_kind_name(own_kind k);
/* The kind for its name above, or -1. */
int own_kind_parse(const char *s);

/* The kind of a resource name by its collection ("files/x" → OWN_FILE, "models/m/operations/x"
 * → OWN_OPERATION, "tunedModels/t/operations/o" → OWN_TUNED_MODEL), or -1. */
int own_kind_of(str name);

#endif
