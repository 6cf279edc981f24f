/* keypool — the pool of upstream Gemini API keys (seeds 002 and 003; issue 15).
 *
 * Holds every upstream key with its health: counters per key and per (key, model), a cooldown
 * per (key, model) after 429s (until Google's daily reset for a per-day quota), an "invalid"
 * mark on Google's verdict about the key, "suspect" when the circuit breaker took such a mark
 * back, a "disabled" mark after a run of failures, per-key per-model RPM/TPM/RPD limits —
 * configured (GEMGATE_KEY_LIMITS) and learned from QuotaFailure's quotaValue.  Chooses a key for
 * each attempt by strategy, skipping keys that cannot serve the model now.  docs/pool.md says
 * what moves a key between its states.
 *
 * Per-model state is bounded: the pool tracks at most KP_MAX_MODELS model names.  Before the
 * upstream's model list is known a name gets its own state while fewer than
 * KP_PROVISIONAL_MAX such names are tracked; once many are, the background re-check lists the
 * upstream's models (kp_catalog_begin/done) and names it does not list leave the pool and from
 * then on share one "(unlisted)" entry.
 *
 * Thread-safe: one mutex guards the pool; every call is short (no I/O; on the choose/report
 * path no allocation except the first time a (key, model) pair is seen).  Time is passed in
 * (milliseconds since the epoch, CLOCK_REALTIME in the gateway: per-day quotas reset at a wall
 * clock hour) so tests can drive it.
 *
 * Ownership: kp_acquire returns a reference to a key; the caller must hand it back exactly once
 * with kp_report (or kp_release).  The key's secret stays valid while referenced, even if a
 * reload removes the key from the pool. */
#ifndef GEMGATE_KEYPOOL_H
#define GEMGATE_KEYPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "base/config.h"   /* kp_config, kp_limit, kp_strategy: settings, so they live in base */
#include "pool/verdict.h"

#define KP_MAX_MODELS 256           /* model names tracked, "" and "(unlisted)" included */
#define KP_PROVISIONAL_MAX 64       /* of them, names not known from the upstream's list */
#define KP_UNLISTED "(unlisted)"    /* the entry names the upstream does not list share */

typedef struct keypool keypool;
typedef struct kp_key kp_key;

/* What one upstream attempt with a key came to. */
typedef enum {
  KP_OK,             /* 2xx */
  KP_CLIENT_ERROR,   /* the request's fault (verdict.h's VERDICT_REQUEST: NOT_FOUND, a plain
                        PERMISSION_DENIED...): the key answered, so it counts as a success */
  KP_RATE_LIMITED,   /* 429: cool down (key, model); period says for how long */
  KP_INVALID,        /* Google's verdict on the key (VERDICT_KEY): mark invalid */
  KP_SERVER_ERROR,   /* 5xx */
  KP_NETWORK_ERROR,  /* connect/TLS/reset/timeout */
  KP_ABORTED         /* the client went away: not held against the key, counters unchanged */
} kp_outcome;

typedef struct kp_result {
  kp_outcome outcome;
  int64_t retry_delay_ms;            /* RetryInfo.retryDelay for KP_RATE_LIMITED, or -1 */
  int64_t latency_ms;                /* time of the attempt */
  int64_t tokens;                    /* totalTokenCount of the call (for TPM and today's tokens) */
  const char *error;                 /* short message for last_error (copied, truncated), or NULL */
  /* KP_RATE_LIMITED, from the QuotaFailure (zero: none stated) */
  quota_period period;               /* QUOTA_PER_DAY: cool until the next Pacific midnight */
  quota_metric metric;
  int64_t quota_value;               /* the limit Google enforces, > 0; else nothing is learned */
} kp_result;

/* A learned limit as the store keeps it (pool/learned.h): one row per (key, model). */
typedef struct kp_learned {
  char key_hash[65];                 /* SHA-256 hex of the secret, never the secret */
  char model[64];
  int64_t rpm, tpm, rpd;             /* 0: not learned */
  int64_t updated_at;                /* ms */
} kp_learned;

/* A new pool with no keys.  NULL on allocation failure. */
keypool *kp_new(const kp_config *cfg);
void kp_free(keypool *kp);

/* Replace the key list (SIGHUP reload, admin changes).  Keys already present keep their state
 * and statistics; new keys start fresh; removed keys leave the pool (and are freed once no
 * longer referenced).  Empty strings and duplicates are ignored.  Returns the number of keys. */
size_t kp_set_keys(keypool *kp, const char *const *secrets, size_t n);

/* Choose a key for `model` (may be NULL or "" for calls without a model) at time now_ms,
 * skipping keys in `exclude` (keys already tried by this request, n_exclude of them; compared by
 * identity) and keys that are invalid, disabled, cooling down for this model, or without RPM/RPD
 * headroom for it.  Keys marked unhealthy by the rotation check are used only when no healthy
 * key is available.  Counts the request against the key's RPM/RPD windows at once.
 * Returns a referenced key, or NULL when none can serve; then *retry_after_ms (if not NULL) is
 * the time until the soonest cooldown ends (or a window frees up), at least 1000, or -1 when no
 * key will ever serve without outside action (all invalid/disabled, or the pool is empty). */
kp_key *kp_acquire(keypool *kp, const char *model, int64_t now_ms,
                   kp_key *const *exclude, size_t n_exclude, int64_t *retry_after_ms);

/* Report how the attempt went and drop the reference. */
void kp_report(keypool *kp, kp_key *k, const char *model, int64_t now_ms, const kp_result *r);

/* kp_report, and when the answer taught the pool a new limit for (k, model) (a 429's
 * quotaValue that differs from what was known), 1 with the whole row in *out for the caller to
 * persist; else 0. */
int kp_report_learn(keypool *kp, kp_key *k, const char *model, int64_t now_ms, const kp_result *r,
                    kp_learned *out);

/* Start-up: a stored learned limit.  Applied when a key with that hash is in the pool and the
 * model can be tracked (returns 1); else ignored (0). */
int kp_learn_load(keypool *kp, const kp_learned *row);

/* Whether a key whose secret hashes (SHA-256 hex) to hash is in the pool. */
int kp_has_key_hash(keypool *kp, const char *hash);

/* Masking (call/mask.h): the length of the longest pooled secret that p[0..n) begins with, 0
 * when none; *partial (when not NULL) is set when p[0..n) is a proper prefix of a pooled secret
 * (a key cut off by the end of the bytes seen so far). */
size_t kp_secret_match(keypool *kp, const char *p, size_t n, int *partial);

/* Drop a reference without reporting (e.g. the request never started). */
void kp_release(keypool *kp, kp_key *k);

/* Take an extra reference (for a background re-check that outlives the caller), and drop one
 * taken so (kp_unref leaves in-flight counts alone, unlike kp_release). */
kp_key *kp_ref(keypool *kp, kp_key *k);
void kp_unref(keypool *kp, kp_key *k);

/* The circuit breaker's undo: k was marked invalid by a request that a second key then refused
 * the same way, so the request, not k, was at fault.  k becomes "suspect": usable (after keys
 * that are not), re-tested by the background re-check, which makes it active or invalid.  A
 * key no longer invalid (a re-check came first) is left alone.  Drops one reference. */
void kp_unmark(keypool *kp, kp_key *k, int64_t now_ms);

/* The key's secret and its stable index (1-based position in the current list, 0 if removed). */
const char *kp_key_secret(const kp_key *k);
int kp_key_id(const kp_key *k);

/* Mask a secret for display: first 4 and last 4 characters, "AIza…wxyz"; shorter secrets
 * become "…" + last 2.  Writes at most cap bytes including the NUL. */
void kp_mask(const char *secret, char *out, size_t cap);

/* Number of keys that could serve some model right now (not invalid/disabled, not cooling for
 * every model they have been used with).  Used by /health. */
size_t kp_available(keypool *kp, int64_t now_ms);

/* Keys due a background re-check (invalid, disabled or suspect, and last checked longer than
 * recheck_interval_ms ago); returns up to cap referenced keys in out.  The caller probes each
 * and calls kp_recheck_done (which drops the reference) with what the probe found:
 * KP_CHECK_OK brings the key back; KP_CHECK_BAD (the upstream refused the key) keeps it out and
 * turns a suspect key invalid; KP_CHECK_UNKNOWN (no answer, 429, 5xx) changes no mark. */
enum { KP_CHECK_BAD = 0, KP_CHECK_OK = 1, KP_CHECK_UNKNOWN = 2 };
size_t kp_due_rechecks(keypool *kp, int64_t now_ms, kp_key **out, size_t cap);
void kp_recheck_done(keypool *kp, kp_key *k, int64_t now_ms, int ok);

/* The upstream's model list (pool/catalog.h fetches it).  kp_catalog_begin: when a list is due
 * (many names tracked without one, or a name the last list lacked and that list is an hour
 * old), a referenced usable key to list with, and the pool counts the listing as under way;
 * else NULL.  kp_catalog_done (names without "models/"; ok false when the listing failed, then
 * it is tried again a minute later) drops the reference: listed names are tracked, names
 * neither listed nor configured, learned or cooling leave the pool with their state. */
kp_key *kp_catalog_begin(keypool *kp, int64_t now_ms);
void kp_catalog_done(keypool *kp, kp_key *k, int64_t now_ms, const char *const *names, size_t n, int ok);

/* Number of model names the pool tracks now ("" and "(unlisted)" included once used). */
size_t kp_tracked_models(keypool *kp);

/* Seed 002's rotation check: at most every rotation_interval_ms, mark keys unhealthy whose
 * error rate > 20 % or that carry > 50 % of all requests (with more than one key); others
 * healthy again.  Called from the request path; cheap when not due. */
void kp_rotation_check(keypool *kp, int64_t now_ms);

/* JSON views (new references, caller owns).  No secret appears in them beyond kp_mask's form.
 * kp_status_keys: array, one object per key: {"id","key"(masked),"state"("active"|"cooling"|
 *   "suspect"|"invalid"|"disabled"),"available","healthy","today_requests","today_tokens",
 *   "requests","errors","error_rate","avg_latency_ms","failure_run","last_error",
 *   "cooldowns":{model:seconds left},"cooldown_reasons":{model:"per_minute"|"per_day"|
 *   "unstated"},"limits":{model:{"configured":{"rpm","tpm","rpd"}|null,"learned":{…}|null}}}
 *   — today = since UTC midnight; limits lists the key's models that have either kind.
 * kp_pool_stats: seed 002's get_model_stats shape, one entry per tracked model some key has
 *   used (O(keys × tracked models), so bounded by KP_MAX_MODELS): {model:{"pool_size",
 *   "active_instances","error_instances","total_usage","usage_distribution":{"Key #i":n},
 *   "key_distribution":{"Key #i":n}}}.  pool_size = number of keys; active = keys usable for the
 *   model now; error = keys invalid/disabled/cooling for it; usage_distribution = requests per key
 *   for the model; key_distribution = errors per key for the model.
 * kp_key_stats: seed 002's get_api_key_stats shape: {"total_keys","total_requests",
 *   "failed_requests","key_usage":{"Key #i":{"usage","errors","avg_time"(seconds),"error_rate"}}}. */
json_t *kp_status_keys(keypool *kp, int64_t now_ms);
json_t *kp_pool_stats(keypool *kp, int64_t now_ms);
json_t *kp_key_stats(keypool *kp);

/* Seed 002's resets.  kp_reset_pool: model NULL = every model; clears cooldowns, per-model
 * counters and failure runs for the model(s); invalid marks stay.  kp_reset_stats: zeroes
 * request/error/latency counters of every key and model (state stays). */
void kp_reset_pool(keypool *kp, const char *model);
void kp_reset_stats(keypool *kp);

/* ---- keys by identity (resources that live on one key: owners.h) ---- */

/* A key's identity for records that outlive it: the hex SHA-256 of its secret (the form the
 * store's upstream_keys.hash has), into out[65]. */
void kp_key_hash(keypool *kp, kp_key *k, char out[65]);

typedef enum {
  KP_OWNER_OK,        /* acquired */
  KP_OWNER_COOLING,   /* cooling down or without headroom for the model: *retry_after_ms */
  KP_OWNER_DOWN,      /* invalid or disabled: *retry_after_ms is the re-check interval */
  KP_OWNER_GONE       /* no key with that hash in the pool (removed) */
} kp_owner_state;

/* kp_acquire for the one key whose kp_key_hash is hash: the same checks and counting, no choice.
 * NULL with *state (and *retry_after_ms, -1 when GONE) saying why. */
kp_key *kp_acquire_hash(keypool *kp, const char *hash, const char *model, int64_t now_ms,
                        int64_t *retry_after_ms, kp_owner_state *state);

/* The 1-based id of the key with that hash (its kp_mask into mask when not NULL), or 0 when no
 * key in the pool has it. */
int kp_find_hash(keypool *kp, const char *hash, char *mask, size_t cap);

/* The hash of the key with that 1-based id into out[65]; 0 when there is none. */
int kp_hash_of_id(keypool *kp, int id, char out[65]);

/* Replace the tunables at run time (the admin API): strategy, cooldown base and cap, max_failures
 * (fields <= 0 keep their value) and the per-model limits (copied; every (key, model) pair takes
 * its new limit at once).  Windows, cooldowns under way and marks stay.  -1 when out of memory
 * (nothing changed). */
int kp_configure(keypool *kp, const kp_config *cfg);

/* The tunables: {"strategy","cooldown_ms","cooldown_max_ms","max_failures","key_limits":[{"model",
 * "rpm","tpm","rpd"}]} (a new reference). */
json_t *kp_config_json(keypool *kp);

/* ---- shared state (shared/rshare.h): marks several instances agree on ---- */

typedef enum {
  KP_MARK_COOL,       /* (key, model) cools down until until_ms, for reason */
  KP_MARK_INVALID,    /* Google refused the key */
  KP_MARK_DISABLED,   /* a run of failures */
  KP_MARK_SUSPECT,    /* the circuit breaker took an invalid mark back (kp_unmark) */
  KP_MARK_CLEAR       /* a re-check brought the key back: no invalid/disabled/suspect mark */
} kp_mark_kind;

typedef struct kp_mark {
  kp_mark_kind kind;
  char key_hash[65];                 /* kp_key_hash's form: never the secret */
  char model[64];                    /* KP_MARK_COOL */
  int64_t until_ms;                  /* COOL: the end; INVALID/DISABLED: when it was taken */
  quota_period reason;               /* COOL: per-minute, per-day or unstated */
} kp_mark;

typedef void (*kp_mark_fn)(void *ctx, const kp_mark *m);

/* fn(ctx, mark) each time a report, kp_unmark or a re-check gives a key a mark (or clears
 * one); NULL stops it.  Called with the pool's mutex held, from any thread: fn must not call
 * the pool and must not block (it queues).  Marks applied with kp_apply_mark are not told. */
void kp_set_observer(keypool *kp, kp_mark_fn fn, void *ctx);

/* Apply another instance's mark to the key with that hash (ignored when no such key, or when a
 * cooldown would end sooner than the one under way).  1 when it changed something. */
int kp_apply_mark(keypool *kp, const kp_mark *m);

/* fn(ctx, mark) for every live mark (cooldowns not over at now_ms; invalid, disabled, suspect),
 * with the mutex held (fn as for kp_set_observer); returns how many. */
size_t kp_marks_each(keypool *kp, int64_t now_ms, kp_mark_fn fn, void *ctx);

#endif
