/* keypool — the pool of upstream Gemini API keys; contract in keypool.h. */
#include "pool/keypool.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_SECS 60
#define DAY_MS 86400000LL
#define LAST_ERROR_MAX 200

/* One second of a sliding one-minute window. */
typedef struct {
  int64_t sec;                       /* now_ms / 1000 this bucket belongs to */
  int64_t requests, tokens;
} bucket;

/* State of one (key, model) pair. */
typedef struct {
  char model[64];
  const kp_limit *limit;             /* resolved once from the pool's limits, or NULL */
  int64_t requests, errors;
  int run429;                        /* consecutive 429s, reset by a success on this pair */
  int64_t cooldown_until;
  bucket win[WINDOW_SECS];           /* RPM / TPM */
  int64_t rpd_day, rpd_requests;     /* RPD, per UTC day */
} mstate;

struct kp_key {
  char *secret;
  int id;                            /* 1-based position, 0 once removed; read atomically */
  int refs;                          /* the pool's list holds one while the key is in it */
  int64_t inflight;                  /* acquired, not yet reported/released */
  int invalid, disabled, unhealthy;
  int failure_run;
  int64_t last_check_ms;
  int64_t requests, errors, latency_sum;
  int64_t today, today_requests, today_tokens;
  char last_error[LAST_ERROR_MAX + 1];
  mstate *models;
  size_t nmodels, capmodels;
};

struct keypool {
  pthread_mutex_t mu;
  kp_config cfg;
  kp_limit *limits;
  kp_key **keys;
  size_t nkeys;
  size_t rr;                         /* round robin: index to consider first */
  int rotated;                       /* the rotation check has run at least once */
  int64_t last_rotation;
};

/* ---- helpers (all called with the mutex held) ---- */

static const char *norm_model(const char *model) { return model ? model : ""; }

static void key_free(kp_key *k) {
  if (!k) return;
  free(k->secret);
  free(k->models);
  free(k);
}

/* Drops one reference; frees the key at zero. */
static void key_unref(kp_key *k) {
  if (--k->refs == 0) key_free(k);
}

/* The limits entry for a model: its own, else "*", else NULL.  Model-less calls (list models)
 * are not generation calls, so no per-model limit applies to them. */
static const kp_limit *find_limit(const keypool *kp, const char *model) {
  if (!model[0]) return NULL;
  const kp_limit *star = NULL;
  for (size_t i = 0; i < kp->cfg.nlimits; i++) {
    if (!strcmp(kp->limits[i].model, model)) return &kp->limits[i];
    if (!strcmp(kp->limits[i].model, "*")) star = &kp->limits[i];
  }
  return star;
}

/* The key's state for a model; with create, adds it (NULL only on allocation failure). */
static mstate *mstate_get(keypool *kp, kp_key *k, const char *model, int create) {
  for (size_t i = 0; i < k->nmodels; i++)
    if (!strncmp(k->models[i].model, model, sizeof k->models[i].model - 1)) return &k->models[i];
  if (!create) return NULL;
  if (k->nmodels == k->capmodels) {
    size_t cap = k->capmodels ? k->capmodels * 2 : 4;
    mstate *m = realloc(k->models, cap * sizeof *m);
    if (!m) return NULL;
    k->models = m;
    k->capmodels = cap;
  }
  mstate *m = &k->models[k->nmodels++];
  memset(m, 0, sizeof *m);
  snprintf(m->model, sizeof m->model, "%s", model);
  m->limit = find_limit(kp, m->model);
  return m;
}

/* The bucket of second sec (floor modulo, so times near or before the epoch work too). */
static size_t slot(int64_t sec) { return (size_t)(((sec % WINDOW_SECS) + WINDOW_SECS) % WINDOW_SECS); }

/* Adds to the window bucket of now_ms, recycling the bucket if it holds an older second. */
static void window_add(mstate *m, int64_t now_ms, int64_t requests, int64_t tokens) {
  int64_t sec = now_ms / 1000;
  bucket *b = &m->win[slot(sec)];
  if (b->sec != sec) *b = (bucket){.sec = sec};
  b->requests += requests;
  b->tokens += tokens;
}

/* 0 when the last minute's total (requests or tokens) is below limit; else ms until enough of
 * the oldest seconds leave the window to bring it below. */
static int64_t window_wait(const mstate *m, int64_t now_ms, int64_t limit, int tokens) {
  if (limit <= 0) return 0;
  int64_t now_sec = now_ms / 1000, total = 0;
  for (int i = 0; i < WINDOW_SECS; i++) {
    const bucket *b = &m->win[i];
    if (b->sec > now_sec - WINDOW_SECS && b->sec <= now_sec) total += tokens ? b->tokens : b->requests;
  }
  if (total < limit) return 0;
  for (int64_t s = now_sec - WINDOW_SECS + 1; s <= now_sec; s++) {  /* oldest second first */
    const bucket *b = &m->win[slot(s)];
    if (b->sec != s) continue;
    total -= tokens ? b->tokens : b->requests;
    if (total < limit) return (s + WINDOW_SECS) * 1000 - now_ms;
  }
  return (now_sec + WINDOW_SECS) * 1000 - now_ms;  /* not reached: the loop empties the window */
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* How long until k can serve model: -1 never (invalid/disabled), 0 now, else ms (cooldown or
 * a per-model limit without headroom, whichever ends last). */
static int64_t key_wait(keypool *kp, kp_key *k, const char *model, int64_t now_ms) {
  if (k->invalid || k->disabled) return -1;
  mstate *m = mstate_get(kp, k, model, 0);
  if (!m) return 0;
  int64_t wait = max64(0, m->cooldown_until - now_ms);
  const kp_limit *l = m->limit;
  if (l) {
    wait = max64(wait, window_wait(m, now_ms, l->rpm, 0));
    wait = max64(wait, window_wait(m, now_ms, l->tpm, 1));
    if (l->rpd > 0 && m->rpd_day == now_ms / DAY_MS && m->rpd_requests >= l->rpd)
      wait = max64(wait, (m->rpd_day + 1) * DAY_MS - now_ms);
  }
  return wait;
}

/* Whether k can serve some model now: not invalid/disabled and not cooling for every model it
 * has been used with (the definition of kp_available). */
static int key_available(const kp_key *k, int64_t now_ms) {
  if (k->invalid || k->disabled) return 0;
  if (k->nmodels == 0) return 1;
  for (size_t i = 0; i < k->nmodels; i++)
    if (k->models[i].cooldown_until <= now_ms) return 1;
  return 0;
}

static int key_cooling_any(const kp_key *k, int64_t now_ms) {
  for (size_t i = 0; i < k->nmodels; i++)
    if (k->models[i].cooldown_until > now_ms) return 1;
  return 0;
}

/* The health score of seed 002: (1/usage)·(1−errors/usage) with usage = requests + 1 (the
 * seed adds 1 so fresh keys score 1).  In-flight requests count as usage. */
static double health_score(const kp_key *k) {
  double usage = (double)(k->requests + k->inflight) + 1.0;
  return (1.0 / usage) * (1.0 - (double)k->errors / usage);
}

static int64_t model_requests(keypool *kp, kp_key *k, const char *model) {
  mstate *m = mstate_get(kp, k, model, 0);
  return m ? m->requests : 0;
}

/* Whether candidate a beats the current best b.  Keys are visited in list order (round robin:
 * from the rotating position), so ties keep the earlier key. */
static int prefer(keypool *kp, kp_key *a, kp_key *b, const char *model) {
  if (a->unhealthy != b->unhealthy) return !a->unhealthy;
  switch (kp->cfg.strategy) {
  case KP_LEAST_USED: {
    /* In-flight requests count as used, so concurrent requests spread before any report. */
    int64_t ma = model_requests(kp, a, model) + a->inflight;
    int64_t mb = model_requests(kp, b, model) + b->inflight;
    if (ma != mb) return ma < mb;
    return a->requests + a->inflight < b->requests + b->inflight;
  }
  case KP_HEALTH: return health_score(a) > health_score(b);
  default: return 0;
  }
}

/* Rolls today's counters over at UTC midnight. */
static void today_roll(kp_key *k, int64_t now_ms) {
  int64_t day = now_ms / DAY_MS;
  if (k->today != day) {
    k->today = day;
    k->today_requests = k->today_tokens = 0;
  }
}

/* Copies msg into last_error, truncated at a UTF-8 boundary, with the key's own secret masked
 * should an upstream message ever echo it. */
static void set_last_error(kp_key *k, const char *msg) {
  char buf[2 * LAST_ERROR_MAX + 1], mask[32];
  size_t o = 0, slen = strlen(k->secret);
  kp_mask(k->secret, mask, sizeof mask);
  while (*msg && o < sizeof buf - 1) {
    if (slen && !strncmp(msg, k->secret, slen)) {
      o += (size_t)snprintf(buf + o, sizeof buf - o, "%s", mask);
      if (o > sizeof buf - 1) o = sizeof buf - 1;
      msg += slen;
    } else {
      buf[o++] = *msg++;
    }
  }
  buf[o] = 0;
  size_t n = strlen(buf);
  if (n > LAST_ERROR_MAX) {
    n = LAST_ERROR_MAX;
    while (n > 0 && ((unsigned char)buf[n] & 0xC0) == 0x80) n--;  /* don't split a character */
  }
  memcpy(k->last_error, buf, n);
  k->last_error[n] = 0;
}

static const char *outcome_text(kp_outcome o) {
  switch (o) {
  case KP_RATE_LIMITED: return "rate limited (429)";
  case KP_INVALID: return "key invalid";
  case KP_SERVER_ERROR: return "upstream server error";
  case KP_NETWORK_ERROR: return "network error";
  default: return "";
  }
}

/* Cooldown after the n-th consecutive 429: RetryInfo's delay, else base·2^(n−1); both capped. */
static int64_t cooldown_ms(const kp_config *c, int n, int64_t retry_delay_ms) {
  int64_t d = retry_delay_ms >= 0 ? retry_delay_ms : c->cooldown_base_ms;
  for (int i = 1; retry_delay_ms < 0 && i < n && d < c->cooldown_max_ms; i++) d *= 2;
  return d < c->cooldown_max_ms ? d : c->cooldown_max_ms;
}

static double round_to(double x, double scale) { return round(x * scale) / scale; }

/* A JSON string for text that may not be valid UTF-8 (upstream messages): as is when valid,
 * else with every non-ASCII byte shown as '?'. */
static json_t *json_text(const char *s) {
  json_t *j = json_string(s);
  if (j) return j;
  char buf[LAST_ERROR_MAX + 1];
  size_t n = 0;
  for (; s[n] && n < LAST_ERROR_MAX; n++) buf[n] = (unsigned char)s[n] < 0x80 ? s[n] : '?';
  buf[n] = 0;
  return json_string(buf);
}

static void key_label(char *buf, size_t cap, size_t i) { snprintf(buf, cap, "Key #%zu", i + 1); }

/* ---- public API ---- */

/* A new empty pool with a copy of cfg (and of its limits); zero fields get the header's
 * defaults.  NULL on allocation failure. */
keypool *kp_new(const kp_config *cfg) {
  keypool *kp = calloc(1, sizeof *kp);
  if (!kp) return NULL;
  if (cfg) kp->cfg = *cfg;
  kp_config *c = &kp->cfg;
  if (c->cooldown_base_ms <= 0) c->cooldown_base_ms = 10000;
  if (c->cooldown_max_ms <= 0) c->cooldown_max_ms = 15 * 60000;
  if (c->max_failures <= 0) c->max_failures = 5;
  if (c->recheck_interval_ms <= 0) c->recheck_interval_ms = 60000;
  if (c->rotation_interval_ms <= 0) c->rotation_interval_ms = 5 * 60000;
  if (c->nlimits) {
    kp->limits = calloc(c->nlimits, sizeof *kp->limits);
    if (!kp->limits) { free(kp); return NULL; }
    memcpy(kp->limits, c->limits, c->nlimits * sizeof *kp->limits);
    for (size_t i = 0; i < c->nlimits; i++) kp->limits[i].model[sizeof kp->limits[i].model - 1] = 0;
  }
  c->limits = kp->limits;
  pthread_mutex_init(&kp->mu, NULL);
  return kp;
}

/* Frees the pool and its keys.  Every reference must have been handed back before. */
void kp_free(keypool *kp) {
  if (!kp) return;
  for (size_t i = 0; i < kp->nkeys; i++) key_free(kp->keys[i]);
  free(kp->keys);
  free(kp->limits);
  pthread_mutex_destroy(&kp->mu);
  free(kp);
}

/* Replaces the key list, keeping the state of keys whose secret stays; see the header.  On
 * allocation failure the pool is left unchanged. */
size_t kp_set_keys(keypool *kp, const char *const *secrets, size_t n) {
  pthread_mutex_lock(&kp->mu);
  kp_key **nk = calloc(n ? n : 1, sizeof *nk);
  size_t cnt = 0;
  if (!nk) goto fail;
  for (size_t i = 0; i < n; i++) {
    const char *s = secrets[i];
    if (!s || !s[0]) continue;
    int dup = 0;
    for (size_t j = 0; j < cnt && !dup; j++) dup = !strcmp(nk[j]->secret, s);
    if (dup) continue;
    kp_key *k = NULL;
    for (size_t j = 0; j < kp->nkeys && !k; j++)
      if (!strcmp(kp->keys[j]->secret, s)) k = kp->keys[j];
    if (!k) {
      k = calloc(1, sizeof *k);
      if (!k || !(k->secret = strdup(s))) { free(k); goto fail; }
      k->refs = 1;                   /* the pool's reference */
      k->id = -1;                    /* marks "new" until committed below */
    }
    nk[cnt++] = k;
  }
  /* Commit: keys left out are detached (and freed unless still referenced). */
  for (size_t j = 0; j < kp->nkeys; j++) {
    kp_key *k = kp->keys[j];
    int kept = 0;
    for (size_t i = 0; i < cnt && !kept; i++) kept = nk[i] == k;
    if (!kept) {
      __atomic_store_n(&k->id, 0, __ATOMIC_RELAXED);
      key_unref(k);
    }
  }
  for (size_t i = 0; i < cnt; i++) __atomic_store_n(&nk[i]->id, (int)i + 1, __ATOMIC_RELAXED);
  free(kp->keys);
  kp->keys = nk;
  kp->nkeys = cnt;
  if (kp->rr >= cnt) kp->rr = 0;
  pthread_mutex_unlock(&kp->mu);
  return cnt;
fail:
  if (nk)
    for (size_t i = 0; i < cnt; i++)
      if (nk[i]->id == -1) key_free(nk[i]);
  free(nk);
  cnt = kp->nkeys;
  pthread_mutex_unlock(&kp->mu);
  return cnt;
}

/* Chooses a key for model by strategy (see the header); healthy keys first.  Counts the request
 * in the key's RPM/RPD windows and returns it referenced, or NULL with *retry_after_ms set.
 * Keys in exclude that could serve still count for retry_after (as "soon"): another request
 * could use them. */
kp_key *kp_acquire(keypool *kp, const char *model, int64_t now_ms,
                   kp_key *const *exclude, size_t n_exclude, int64_t *retry_after_ms) {
  model = norm_model(model);
  pthread_mutex_lock(&kp->mu);
  size_t n = kp->nkeys, start = kp->cfg.strategy == KP_ROUND_ROBIN ? kp->rr : 0, best_i = 0;
  kp_key *best = NULL;
  int64_t soonest = -1;
  for (size_t j = 0; j < n; j++) {
    size_t i = (start + j) % n;
    kp_key *k = kp->keys[i];
    int64_t wait = key_wait(kp, k, model, now_ms);
    int excluded = 0;
    for (size_t e = 0; e < n_exclude && !excluded; e++) excluded = exclude[e] == k;
    if (wait == 0 && !excluded) {
      if (!best || prefer(kp, k, best, model)) { best = k; best_i = i; }
    } else if (wait >= 0 && (soonest < 0 || wait < soonest)) {
      soonest = wait;
    }
  }
  if (best) {
    mstate *m = mstate_get(kp, best, model, 1);
    if (m) {                         /* on allocation failure the request just goes uncounted */
      window_add(m, now_ms, 1, 0);
      int64_t day = now_ms / DAY_MS;
      if (m->rpd_day != day) { m->rpd_day = day; m->rpd_requests = 0; }
      m->rpd_requests++;
    }
    best->refs++;
    best->inflight++;
    kp->rr = (best_i + 1) % n;
  } else if (retry_after_ms) {
    *retry_after_ms = soonest < 0 ? -1 : max64(soonest, 1000);
  }
  pthread_mutex_unlock(&kp->mu);
  return best;
}

/* Records the attempt's outcome for k and model (see kp_outcome) and drops the reference.
 * KP_ABORTED touches nothing but the reference. */
void kp_report(keypool *kp, kp_key *k, const char *model, int64_t now_ms, const kp_result *r) {
  model = norm_model(model);
  pthread_mutex_lock(&kp->mu);
  if (k->inflight > 0) k->inflight--;
  if (r && r->outcome != KP_ABORTED) {
    mstate *m = mstate_get(kp, k, model, 1);
    int success = r->outcome == KP_OK || r->outcome == KP_CLIENT_ERROR;
    k->requests++;
    k->latency_sum += r->latency_ms > 0 ? r->latency_ms : 0;
    today_roll(k, now_ms);
    k->today_requests++;
    if (r->tokens > 0) k->today_tokens += r->tokens;
    if (m) {
      m->requests++;
      if (r->tokens > 0) window_add(m, now_ms, 0, r->tokens);
    }
    if (success) {
      k->failure_run = 0;
      if (m) m->run429 = 0;
    } else {
      k->errors++;
      if (m) m->errors++;
      set_last_error(k, r->error && r->error[0] ? r->error : outcome_text(r->outcome));
    }
    switch (r->outcome) {
    case KP_RATE_LIMITED:
      if (m) {
        m->run429++;
        m->cooldown_until = now_ms + cooldown_ms(&kp->cfg, m->run429, r->retry_delay_ms);
      }
      break;
    case KP_INVALID:
      k->invalid = 1;
      k->last_check_ms = now_ms;     /* first re-check one interval from now */
      break;
    case KP_SERVER_ERROR:
    case KP_NETWORK_ERROR:
      if (++k->failure_run >= kp->cfg.max_failures && !k->disabled) {
        k->disabled = 1;
        k->last_check_ms = now_ms;
      }
      break;
    default: break;
    }
  }
  key_unref(k);
  pthread_mutex_unlock(&kp->mu);
}

/* Drops a reference taken by kp_acquire without reporting. */
void kp_release(keypool *kp, kp_key *k) {
  pthread_mutex_lock(&kp->mu);
  if (k->inflight > 0) k->inflight--;
  key_unref(k);
  pthread_mutex_unlock(&kp->mu);
}

/* Adds a reference to k; returns k. */
kp_key *kp_ref(keypool *kp, kp_key *k) {
  pthread_mutex_lock(&kp->mu);
  k->refs++;
  pthread_mutex_unlock(&kp->mu);
  return k;
}

/* The secret; immutable, valid while k is referenced. */
const char *kp_key_secret(const kp_key *k) { return k->secret; }

/* 1-based position in the current list, 0 once removed. */
int kp_key_id(const kp_key *k) { return __atomic_load_n(&k->id, __ATOMIC_RELAXED); }

/* "AIza…wxyz" for secrets of 10+ bytes, "…" + last 2 for 6–9 bytes, and just "…" below that
 * (showing 2 of 5 characters would give away too much of the secret). */
void kp_mask(const char *secret, char *out, size_t cap) {
  if (!out || cap == 0) return;
  size_t n = secret ? strlen(secret) : 0;
  if (n >= 10) snprintf(out, cap, "%.4s\u2026%s", secret, secret + n - 4);
  else if (n >= 6) snprintf(out, cap, "\u2026%s", secret + n - 2);
  else snprintf(out, cap, "\u2026");
}

/* Keys that could serve some model now (see key_available). */
size_t kp_available(keypool *kp, int64_t now_ms) {
  pthread_mutex_lock(&kp->mu);
  size_t c = 0;
  for (size_t i = 0; i < kp->nkeys; i++) c += (size_t)key_available(kp->keys[i], now_ms);
  pthread_mutex_unlock(&kp->mu);
  return c;
}

/* Hands out (referenced) invalid/disabled keys not checked for recheck_interval_ms, stamping
 * them as checked now so a probe in progress is not handed out twice. */
size_t kp_due_rechecks(keypool *kp, int64_t now_ms, kp_key **out, size_t cap) {
  pthread_mutex_lock(&kp->mu);
  size_t c = 0;
  for (size_t i = 0; i < kp->nkeys && c < cap; i++) {
    kp_key *k = kp->keys[i];
    if (!(k->invalid || k->disabled) || now_ms - k->last_check_ms < kp->cfg.recheck_interval_ms)
      continue;
    k->last_check_ms = now_ms;
    k->refs++;
    out[c++] = k;
  }
  pthread_mutex_unlock(&kp->mu);
  return c;
}

/* The probe's verdict: ok brings the key back (clears invalid, disabled and the failure run);
 * otherwise it stays out until the next interval.  Drops the reference. */
void kp_recheck_done(keypool *kp, kp_key *k, int64_t now_ms, int ok) {
  pthread_mutex_lock(&kp->mu);
  k->last_check_ms = now_ms;
  if (ok) k->invalid = k->disabled = k->failure_run = 0;
  key_unref(k);
  pthread_mutex_unlock(&kp->mu);
}

/* Seed 002's check, at most once per rotation_interval_ms (the first call always runs): a key
 * is unhealthy when its error rate > 20 % or, with more than one key, it carries > 50 % of all
 * requests; every other key is healthy. */
void kp_rotation_check(keypool *kp, int64_t now_ms) {
  pthread_mutex_lock(&kp->mu);
  if (!kp->rotated || now_ms - kp->last_rotation >= kp->cfg.rotation_interval_ms) {
    kp->rotated = 1;
    kp->last_rotation = now_ms;
    int64_t total = 0;
    for (size_t i = 0; i < kp->nkeys; i++) total += kp->keys[i]->requests;
    for (size_t i = 0; i < kp->nkeys; i++) {
      kp_key *k = kp->keys[i];
      k->unhealthy = k->errors * 5 > k->requests || (kp->nkeys > 1 && k->requests * 2 > total);
    }
  }
  pthread_mutex_unlock(&kp->mu);
}

/* One object per key, in list order; fields as in the header. */
json_t *kp_status_keys(keypool *kp, int64_t now_ms) {
  json_t *arr = json_array();
  pthread_mutex_lock(&kp->mu);
  for (size_t i = 0; arr && i < kp->nkeys; i++) {
    kp_key *k = kp->keys[i];
    char mask[32];
    kp_mask(k->secret, mask, sizeof mask);
    const char *state = k->invalid ? "invalid" : k->disabled ? "disabled"
                      : key_cooling_any(k, now_ms) ? "cooling" : "active";
    int today = k->today == now_ms / DAY_MS;
    json_t *cool = json_object();
    for (size_t j = 0; j < k->nmodels; j++) {
      int64_t left = k->models[j].cooldown_until - now_ms;
      if (left > 0) json_object_set_new(cool, k->models[j].model, json_integer((left + 999) / 1000));
    }
    json_array_append_new(arr, json_pack("{s:i, s:s, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:f, s:f, s:i, s:o, s:o}",
      "id", (int)i + 1, "key", mask, "state", state,
      "available", key_available(k, now_ms), "healthy", !k->unhealthy,
      "today_requests", (json_int_t)(today ? k->today_requests : 0),
      "today_tokens", (json_int_t)(today ? k->today_tokens : 0),
      "requests", (json_int_t)k->requests, "errors", (json_int_t)k->errors,
      "error_rate", k->requests ? round_to((double)k->errors / (double)k->requests, 1e4) : 0.0,
      "avg_latency_ms", k->requests ? round_to((double)k->latency_sum / (double)k->requests, 10) : 0.0,
      "failure_run", k->failure_run,
      "last_error", k->last_error[0] ? json_text(k->last_error) : json_null(),
      "cooldowns", cool));
  }
  pthread_mutex_unlock(&kp->mu);
  return arr;
}

/* Seed 002's get_model_stats: one entry per model any current key has seen, all keys listed
 * in each.  Model-less calls ("") are not a model and are left out. */
json_t *kp_pool_stats(keypool *kp, int64_t now_ms) {
  json_t *out = json_object();
  pthread_mutex_lock(&kp->mu);
  for (size_t i = 0; out && i < kp->nkeys; i++) {
    for (size_t j = 0; j < kp->keys[i]->nmodels; j++) {
      const char *model = kp->keys[i]->models[j].model;
      if (!model[0] || json_object_get(out, model)) continue;
      json_int_t active = 0, error = 0, total = 0;
      json_t *usage = json_object(), *errs = json_object();
      for (size_t x = 0; x < kp->nkeys; x++) {
        kp_key *k = kp->keys[x];
        mstate *m = mstate_get(kp, k, model, 0);
        int64_t wait = key_wait(kp, k, model, now_ms);
        char label[32];
        key_label(label, sizeof label, x);
        active += wait == 0;
        error += k->invalid || k->disabled || (m && m->cooldown_until > now_ms);
        total += m ? m->requests : 0;
        json_object_set_new(usage, label, json_integer(m ? m->requests : 0));
        json_object_set_new(errs, label, json_integer(m ? m->errors : 0));
      }
      json_object_set_new(out, model, json_pack("{s:I, s:I, s:I, s:I, s:o, s:o}",
        "pool_size", (json_int_t)kp->nkeys, "active_instances", active, "error_instances", error,
        "total_usage", total, "usage_distribution", usage, "key_distribution", errs));
    }
  }
  pthread_mutex_unlock(&kp->mu);
  return out;
}

/* Seed 002's get_api_key_stats over the current keys. */
json_t *kp_key_stats(keypool *kp) {
  json_t *usage = json_object();
  json_int_t total = 0, failed = 0;
  pthread_mutex_lock(&kp->mu);
  for (size_t i = 0; usage && i < kp->nkeys; i++) {
    kp_key *k = kp->keys[i];
    char label[32];
    key_label(label, sizeof label, i);
    total += k->requests;
    failed += k->errors;
    double rq = (double)k->requests;
    json_object_set_new(usage, label, json_pack("{s:I, s:I, s:f, s:f}",
      "usage", (json_int_t)k->requests, "errors", (json_int_t)k->errors,
      "avg_time", k->requests ? round_to((double)k->latency_sum / rq / 1000.0, 1e3) : 0.0,
      "error_rate", k->requests ? round_to((double)k->errors / rq, 1e4) : 0.0));
  }
  size_t nkeys = kp->nkeys;
  pthread_mutex_unlock(&kp->mu);
  return json_pack("{s:I, s:I, s:I, s:o}", "total_keys", (json_int_t)nkeys,
                   "total_requests", total, "failed_requests", failed, "key_usage", usage);
}

/* Seed 002's reset_api_pool: for one model (or all when NULL) clears cooldowns, 429 runs and
 * the per-model counters; clears every key's failure run and with it the disabled mark it led
 * to.  Invalid marks stay (the key is known bad), as do the RPM/TPM/RPD windows (they mirror
 * the upstream's quota, which a reset does not give back). */
void kp_reset_pool(keypool *kp, const char *model) {
  pthread_mutex_lock(&kp->mu);
  for (size_t i = 0; i < kp->nkeys; i++) {
    kp_key *k = kp->keys[i];
    k->failure_run = 0;
    k->disabled = 0;
    for (size_t j = 0; j < k->nmodels; j++) {
      mstate *m = &k->models[j];
      if (model && strcmp(m->model, model)) continue;
      m->cooldown_until = 0;
      m->run429 = 0;
      m->requests = m->errors = 0;
    }
  }
  pthread_mutex_unlock(&kp->mu);
}

/* Seed 002's reset_api_stats: zeroes request/error/latency counters of every key and (key,
 * model), the last error and the rotation check's verdicts (they were drawn from those
 * counters).  Marks, cooldowns, failure runs, today's usage and limit windows stay. */
void kp_reset_stats(keypool *kp) {
  pthread_mutex_lock(&kp->mu);
  for (size_t i = 0; i < kp->nkeys; i++) {
    kp_key *k = kp->keys[i];
    k->requests = k->errors = k->latency_sum = 0;
    k->last_error[0] = 0;
    k->unhealthy = 0;
    for (size_t j = 0; j < k->nmodels; j++) k->models[j].requests = k->models[j].errors = 0;
  }
  pthread_mutex_unlock(&kp->mu);
}

/* ---- run-time tunables (the admin API's settings) ---- */

int kp_configure(keypool *kp, const kp_config *cfg) {
  kp_limit *lim = NULL;
  if (cfg->nlimits) {
    lim = calloc(cfg->nlimits, sizeof *lim);
    if (!lim) return -1;
    memcpy(lim, cfg->limits, cfg->nlimits * sizeof *lim);
    for (size_t i = 0; i < cfg->nlimits; i++) lim[i].model[sizeof lim[i].model - 1] = 0;
  }
  pthread_mutex_lock(&kp->mu);
  kp->cfg.strategy = cfg->strategy;
  if (cfg->cooldown_base_ms > 0) kp->cfg.cooldown_base_ms = cfg->cooldown_base_ms;
  if (cfg->cooldown_max_ms > 0) kp->cfg.cooldown_max_ms = cfg->cooldown_max_ms;
  if (cfg->max_failures > 0) kp->cfg.max_failures = cfg->max_failures;
  kp_limit *old = kp->limits;
  kp->limits = lim;
  kp->cfg.limits = lim;
  kp->cfg.nlimits = cfg->nlimits;
  for (size_t i = 0; i < kp->nkeys; i++)          /* the pairs' cached limits point into the old array */
    for (size_t j = 0; j < kp->keys[i]->nmodels; j++)
      kp->keys[i]->models[j].limit = find_limit(kp, kp->keys[i]->models[j].model);
  pthread_mutex_unlock(&kp->mu);
  free(old);
  return 0;
}

json_t *kp_config_json(keypool *kp) {
  static const char *const names[] = { "round_robin", "least_used", "health" };
  json_t *limits = json_array();
  pthread_mutex_lock(&kp->mu);
  for (size_t i = 0; i < kp->cfg.nlimits; i++)
    json_array_append_new(limits, json_pack("{s:s,s:I,s:I,s:I}", "model", kp->limits[i].model, "rpm",
                                            (json_int_t)kp->limits[i].rpm, "tpm", (json_int_t)kp->limits[i].tpm,
                                            "rpd", (json_int_t)kp->limits[i].rpd));
  json_t *o = json_pack("{s:s,s:I,s:I,s:i,s:o}", "strategy", names[kp->cfg.strategy % 3],
                        "cooldown_ms", (json_int_t)kp->cfg.cooldown_base_ms, "cooldown_max_ms",
                        (json_int_t)kp->cfg.cooldown_max_ms, "max_failures", kp->cfg.max_failures, "key_limits", limits);
  pthread_mutex_unlock(&kp->mu);
  return o;
}
