/* keypool — the pool of upstream Gemini API keys (seeds 002 and 003).
 *
 * Holds every upstream key with its health: counters per key and per (key, model), a cooldown
 * per (key, model) after 429s, an "invalid" mark after API_KEY_INVALID/401/403, a "disabled"
 * mark after a run of failures, optional per-key per-model RPM/TPM/RPD limits.  Chooses a key
 * for each attempt by strategy, skipping keys that cannot serve the model now.
 *
 * Thread-safe: one mutex guards the pool; every call is short (no I/O, no allocation on the
 * choose/report path except the first time a (key, model) pair is seen).  Time is passed in
 * (milliseconds, any monotonic-ish epoch; CLOCK_REALTIME ms in the gateway) so tests can drive it.
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

typedef struct keypool keypool;
typedef struct kp_key kp_key;

/* What one upstream attempt with a key came to. */
typedef enum {
  KP_OK,             /* 2xx */
  KP_CLIENT_ERROR,   /* 4xx that is the request's fault (400 without API_KEY_INVALID, 404...):
                        the key answered, so it counts as a success for the key's health */
  KP_RATE_LIMITED,   /* 429: cool down (key, model) */
  KP_INVALID,        /* API_KEY_INVALID, 401, 403: mark invalid */
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
} kp_result;

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

/* Drop a reference without reporting (e.g. the request never started). */
void kp_release(keypool *kp, kp_key *k);

/* Take an extra reference (for a background re-check that outlives the caller). */
kp_key *kp_ref(keypool *kp, kp_key *k);

/* The key's secret and its stable index (1-based position in the current list, 0 if removed). */
const char *kp_key_secret(const kp_key *k);
int kp_key_id(const kp_key *k);

/* Mask a secret for display: first 4 and last 4 characters, "AIza…wxyz"; shorter secrets
 * become "…" + last 2.  Writes at most cap bytes including the NUL. */
void kp_mask(const char *secret, char *out, size_t cap);

/* Number of keys that could serve some model right now (not invalid/disabled, not cooling for
 * every model they have been used with).  Used by /health. */
size_t kp_available(keypool *kp, int64_t now_ms);

/* Keys due a background re-check (invalid or disabled, and last checked longer than
 * recheck_interval_ms ago); returns up to cap referenced keys in out.  The caller probes each
 * and calls kp_recheck_done (which drops the reference). */
size_t kp_due_rechecks(keypool *kp, int64_t now_ms, kp_key **out, size_t cap);
void kp_recheck_done(keypool *kp, kp_key *k, int64_t now_ms, int ok);

/* Seed 002's rotation check: at most every rotation_interval_ms, mark keys unhealthy whose
 * error rate > 20 % or that carry > 50 % of all requests (with more than one key); others
 * healthy again.  Called from the request path; cheap when not due. */
void kp_rotation_check(keypool *kp, int64_t now_ms);

/* JSON views (new references, caller owns).  No secret appears in them beyond kp_mask's form.
 * kp_status_keys: array, one object per key: {"id","key"(masked),"state"("active"|"cooling"|
 *   "invalid"|"disabled"),"available","healthy","today_requests","today_tokens","requests",
 *   "errors","error_rate","avg_latency_ms","failure_run","last_error","cooldowns":{model:seconds
 *   left}} — today = since UTC midnight.
 * kp_pool_stats: seed 002's get_model_stats shape, one entry per model seen: {model:{"pool_size",
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

/* Replace the tunables at run time (the admin API): strategy, cooldown base and cap, max_failures
 * (fields <= 0 keep their value) and the per-model limits (copied; every (key, model) pair takes
 * its new limit at once).  Windows, cooldowns under way and marks stay.  -1 when out of memory
 * (nothing changed). */
int kp_configure(keypool *kp, const kp_config *cfg);

/* The tunables: {"strategy","cooldown_ms","cooldown_max_ms","max_failures","key_limits":[{"model",
 * "rpm","tpm","rpd"}]} (a new reference). */
json_t *kp_config_json(keypool *kp);

#endif
