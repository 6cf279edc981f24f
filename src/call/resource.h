/* resource — calls that name or create a stateful Gemini resource (files, cachedContents,
 * batches, interactions, operations, tunedModels, fileSearchStores, corpora).
 *
 * Such a resource lives in the Google project behind the key that created it (pool/owners.h), so
 * a call naming one goes to that key: in its path ("files/x", "cachedContents/x:…",
 * "batches/x:cancel", "models/m/operations/x") or in its body ("cachedContent", any
 * fileData.fileUri / file_data.file_uri naming a Files API URI, a batch's file_name,
 * "previous_interaction_id").  A resource of another user answers 404 as one that does not
 * exist; names the gateway never recorded go through the normal pool.  Answers that create a
 * resource are recorded with the key and the user; a successful DELETE forgets it.
 *
 * Cost on the hot path: a plain generateContent (no resource in its path) costs three memmem
 * over its body; only a body that contains "files/", "cachedContents/" or
 * "previous_interaction_id" is parsed.  Bodies are never changed. */
#ifndef GEMGATE_RESOURCE_H
#define GEMGATE_RESOURCE_H

#include <stdbool.h>

#include "call/proxy.h"

/* Why a call is refused before any attempt. */
typedef struct res_refusal {
  int status;
  char message[2 * OWN_NAME_MAX + 200];
  char body[2 * OWN_NAME_MAX + 400];     /* the answer in Google's error shape, as Google words it */
} res_refusal;

/* Looks at the upstream path (s->url) and body (s->body) of a call by s->who: pins s to the
 * owning key, sets the recording hook (s->on_ok, s->capture) for answers that create or delete
 * a resource.  false when the call must be refused (another user's resource: 404; resources on
 * two different keys: 400), with *why. */
bool resource_route(http_req *r, proxy_spec *s, res_refusal *why);

/* Records the resource a 2xx answer names ("name", "id" of an interaction, "file.name" of an
 * upload's finalize, "metadata.tunedModel") for key_hash and who; model is the fallback when the
 * answer names none.  Ignores answers that name no resource kind it knows. */
void resource_record(struct gateway *gw, const principal *who, const char *key_hash, const char *model,
                     const char *body, size_t len);

/* The owner name a path (after /v1beta/ or /v1/) names: "files/x" for "files/x:download",
 * "tunedModels/t" for "tunedModels/t/operations/o", "models/m/operations/o" for a long-running
 * generation; {NULL, 0} when none.  *kind gets its kind. */
str resource_in_path(str rest, int *kind);

/* The resource a Files API URI names: "files/x" for "files/x", ".../v1beta/files/x" and
 * ".../v1/files/x"; {NULL, 0} for anything else. */
str resource_file_uri(str uri);

/* The part of path after its API version ("/v1beta/files/x" → "files/x", also after /upload:
 * "/upload/v1beta/fileSearchStores/s:uploadToFileSearchStore"); {NULL, 0} when the path does
 * not start with [/upload]/v1beta/, /v1/ or /v1alpha/. */
str resource_rest(str path);

/* The 404 that a resource of that kind answers when it does not exist (Google's words for it),
 * for name. */
void resource_not_found(int kind, str name, char *out, size_t cap);

#endif
