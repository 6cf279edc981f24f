/* keypool — the pool of upstream Gemini API keys; contract in keypool.h. */
#include "pool/keypool.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"

#define WINDOW_SECS 60
#define DAY_MS 86400000LL
#define LAST_ERROR_MAX 200
#define MI_NONE 0                    /* model index of "" (calls without a model) */
#define MI_UNLISTED 1                /* model index of KP_UNLISTED */
#define HASH_SLOTS 1024              /* open addressing over ≤ KP_MAX_MODELS names: ≤ 25 % full */
#define CATALOG_TRIGGER 16           /* provisional names that ask for the upstream's list */
#define CATALOG_RETRY_MS 60000LL     /* after a failed listing */
#define CATALOG_REFRESH_MS 3600000LL /* a list older than this is refreshed for a new name */

/* One second of a sliding one-minute window. */
typedef struct {
  int64_t sec;                       /* now_ms / 1000 this bucket belongs to */
  int64_t requests, tokens;
} bucket;

/* State of one (key, model) pair; the model is its index in the pool's table. */
typedef struct {
  int64_t requests, errors;
  int run429;                        /* consecutive 429s, reset by a success on this pair */
  int64_t cooldown_until;
  quota_period cool_reason;          /* of the last 429: what the cooldown stands for */
  int64_t learned_rpm, learned_tpm, learned_rpd;   /* from QuotaFailure; 0 = not learned */
  bucket win[WINDOW_SECS];           /* RPM / TPM */
  int64_t rpd_day, rpd_requests;     /* RPD, per UTC day */
} mstate;

/* A tracked model name. */
typedef struct {
  char name[64];
  bool used;
  bool listed;                       /* in the upstream's last list */
  bool known;                        /* configured, learned or cooled: real whatever the list says */
  const kp_limit *limit;             /* resolved once from the pool's limits, or NULL */
} mname;

struct kp_key {
  char *secret;
  char hash[65];                     /* SHA-256 hex: learned limits are stored by it */
  int id;                            /* 1-based position, 0 once removed; read atomically */
  int refs;                          /* the pool's list holds one while the key is in it */
  int64_t inflight;                  /* acquired, not yet reported/released */
  int invalid, disabled, unhealthy, suspect;
  int failure_run;
  int64_t last_check_ms;
  int64_t requests, errors, latency_sum;
  int64_t today, today_requests, today_tokens;
  char last_error[LAST_ERROR_MAX + 1];
  mstate **ms;                       /* KP_MAX_MODELS slots by model index, NULL until used */
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
  /* the model table */
  mname models[KP_MAX_MODELS];
  size_t nmodels;                    /* indexes in use are below this */
  size_t nprovisional;               /* used, neither listed nor known */
  int16_t hidx[HASH_SLOTS];          /* model index + 1, 0 = empty */
  /* the upstream's model list */
  int64_t catalog_at;                /* last good list, 0 = none yet */
  int64_t catalog_try;               /* last attempt */
  bool catalog_busy, unlisted_seen;
  kp_mark_fn observer;               /* shared state (kp_set_observer), or NULL */
  void *observer_ctx;
};

/* ---- helpers (all called with the mutex held) ---- */

static const char *norm_model(const char *model) { return model ? model : ""; }

/* Tells the observer (if any) about a mark k just took; with the mutex held. */
static void emit(keypool *kp, kp_mark_kind kind, const kp_key *k, const char *model, int64_t until,
                 quota_period reason) {
  if (!kp->observer) return;
  kp_mark m = {.kind = kind, .until_ms = until, .reason = reason};
  memcpy(m.key_hash, k->hash, sizeof m.key_hash);
  snprintf(m.model, sizeof m.model, "%s", model ? model : "");
  kp->observer(kp->observer_ctx, &m);
}

static void key_free(kp_key *k) {
  if (!k) return;
  if (k->ms)
    for (size_t i = 0; i < KP_MAX_MODELS; i++) free(k->ms[i]);
  free(k->ms);
  memset(k->secret, 0, strlen(k->secret));
  free(k->secret);
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

/* ---- the model table ---- */

static size_t name_hash(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h % HASH_SLOTS;
}

static void hash_put(keypool *kp, size_t mi) {
  size_t h = name_hash(kp->models[mi].name);
  while (kp->hidx[h]) h = (h + 1) % HASH_SLOTS;
  kp->hidx[h] = (int16_t)(mi + 1);
}

/* The index of a tracked name, or -1. */
static int model_find(const keypool *kp, const char *name) {
  for (size_t h = name_hash(name);; h = (h + 1) % HASH_SLOTS) {
    int v = kp->hidx[h];
    if (!v) return -1;
    if (!strcmp(kp->models[v - 1].name, name)) return v - 1;
  }
}

static bool provisional(const mname *m) { return m->used && !m->listed && !m->known; }

/* Tracks name (truncated to 63 bytes) at a free index; -1 when the table is full. */
static int model_add(keypool *kp, const char *name) {
  size_t mi = 2;
  while (mi < kp->nmodels && kp->models[mi].used) mi++;
  if (mi >= KP_MAX_MODELS) return -1;
  if (mi == kp->nmodels) kp->nmodels++;
  mname *m = &kp->models[mi];
  memset(m, 0, sizeof *m);
  snprintf(m->name, sizeof m->name, "%s", name);
  m->used = true;
  m->limit = find_limit(kp, m->name);
  m->known = m->limit && strcmp(m->limit->model, "*");      /* named in GEMGATE_KEY_LIMITS */
  if (provisional(m)) kp->nprovisional++;
  hash_put(kp, mi);
  return (int)mi;
}

/* The model index for name: its own entry, a new one (with create, within the bounds in the
 * header), else the shared "(unlisted)" entry. */
static int model_index(keypool *kp, const char *name, int create) {
  if (!name[0]) return MI_NONE;
  char cut[64];
  size_t len = strlen(name);
  if (len >= sizeof cut) { memcpy(cut, name, sizeof cut - 1); cut[sizeof cut - 1] = 0; name = cut; }
  int mi = model_find(kp, name);
  if (mi >= 0) return mi;
  if (kp->catalog_at) { kp->unlisted_seen = true; return MI_UNLISTED; }
  if (!create || kp->nprovisional >= KP_PROVISIONAL_MAX) return MI_UNLISTED;
  mi = model_add(kp, name);
  return mi < 0 ? MI_UNLISTED : mi;
}

/* Marks model mi as real whatever the upstream's list says (a learned limit, a cooldown). */
static void model_known(keypool *kp, int mi) {
  mname *m = &kp->models[mi];
  if (mi < 2 || m->known) return;
  if (provisional(m)) kp->nprovisional--;
  m->known = true;
}

/* The key's state for model index mi; with create, adds it (NULL only on allocation failure). */
static mstate *ms_get(kp_key *k, int mi, int create) {
  if (!k->ms) {
    if (!create || !(k->ms = calloc(KP_MAX_MODELS, sizeof *k->ms))) return NULL;
  }
  if (!k->ms[mi] && create) k->ms[mi] = calloc(1, sizeof(mstate));
  return k->ms[mi];
}

static mstate *ms_at(const kp_key *k, size_t mi) { return k->ms ? k->ms[mi] : NULL; }

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

/* The tighter of a configured and a learned limit (0 = none). */
static int64_t tighter(int64_t configured, int64_t learned) {
  if (configured <= 0) return learned > 0 ? learned : 0;
  return learned > 0 && learned < configured ? learned : configured;
}

/* How long until k can serve model mi: -1 never (invalid/disabled), 0 now, else ms (cooldown
 * or a per-model limit without headroom, whichever ends last). */
static int64_t key_wait(keypool *kp, kp_key *k, int mi, int64_t now_ms) {
  if (k->invalid || k->disabled) return -1;
  mstate *m = ms_at(k, (size_t)mi);
  if (!m) return 0;
  int64_t wait = max64(0, m->cooldown_until - now_ms);
  const kp_limit *l = kp->models[mi].limit;
  int64_t rpm = tighter(l ? l->rpm : 0, m->learned_rpm), tpm = tighter(l ? l->tpm : 0, m->learned_tpm);
  int64_t rpd = tighter(l ? l->rpd : 0, m->learned_rpd);
  wait = max64(wait, window_wait(m, now_ms, rpm, 0));
  wait = max64(wait, window_wait(m, now_ms, tpm, 1));
  if (rpd > 0 && m->rpd_day == now_ms / DAY_MS && m->rpd_requests >= rpd)
    wait = max64(wait, (m->rpd_day + 1) * DAY_MS - now_ms);
  return wait;
}

/* Whether k can serve some model now: not invalid/disabled and not cooling for every model it
 * has been used with (the definition of kp_available). */
static int key_available(const keypool *kp, const kp_key *k, int64_t now_ms) {
  if (k->invalid || k->disabled) return 0;
  int any = 0;
  for (size_t i = 0; i < kp->nmodels; i++) {
    const mstate *m = ms_at(k, i);
    if (!m) continue;
    if (m->cooldown_until <= now_ms) return 1;
    any = 1;
  }
  return !any;
}

static int key_cooling_any(const keypool *kp, const kp_key *k, int64_t now_ms) {
  for (size_t i = 0; i < kp->nmodels; i++) {
    const mstate *m = ms_at(k, i);
    if (m && m->cooldown_until > now_ms) return 1;
  }
  return 0;
}

/* The health score of seed 002: (1/usage)·(1−errors/usage) with usage = requests + 1 (the
 * seed adds 1 so fresh keys score 1).  In-flight requests count as usage. */
static double health_score(const kp_key *k) {
  double usage = (double)(k->requests + k->inflight) + 1.0;
  return (1.0 / usage) * (1.0 - (double)k->errors / usage);
}

static int64_t model_requests(const kp_key *k, int mi) {
  const mstate *m = ms_at(k, (size_t)mi);
  return m ? m->requests : 0;
}

/* Whether candidate a beats the current best b.  Keys are visited in list order (round robin:
 * from the rotating position), so ties keep the earlier key.  Suspect keys, then keys marked
 * unhealthy, come after the others. */
static int prefer(keypool *kp, kp_key *a, kp_key *b, int mi) {
  if (a->suspect != b->suspect) return !a->suspect;
  if (a->unhealthy != b->unhealthy) return !a->unhealthy;
  switch (kp->cfg.strategy) {
  case KP_LEAST_USED: {
    /* In-flight requests count as used, so concurrent requests spread before any report. */
    int64_t ma = model_requests(a, mi) + a->inflight;
    int64_t mb = model_requests(b, mi) + b->inflight;
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
  case KP_INVALID: return "key rejected by the upstream";
  case KP_SERVER_ERROR: return "upstream server error";
  case KP_NETWORK_ERROR: return "network error";
  default: return "";
  }
}

/* Cooldown after the n-th consecutive 429: RetryInfo's delay, else base·2^(n−1); both capped.
 * (A per-day quota is not cooled this way: see cool_until.) */
static int64_t cooldown_ms(const kp_config *c, int n, int64_t retry_delay_ms) {
  int64_t d = retry_delay_ms >= 0 ? retry_delay_ms : c->cooldown_base_ms;
  for (int i = 1; retry_delay_ms < 0 && i < n && d < c->cooldown_max_ms; i++) d *= 2;
  return d < c->cooldown_max_ms ? d : c->cooldown_max_ms;
}

/* When a 429 lets (key, model) serve again: a per-day quota at Google's daily reset (midnight
 * America/Los_Angeles; its short retryDelay only says when to ask again, not when it will
 * work), any other after cooldown_ms. */
static int64_t cool_until(const kp_config *c, const mstate *m, int64_t now_ms, const kp_result *r) {
  if (r->period == QUOTA_PER_DAY) return verdict_next_pacific_midnight(now_ms);
  return now_ms + cooldown_ms(c, m->run429, r->retry_delay_ms);
}

static const char *reason_text(quota_period p) {
  return p == QUOTA_PER_DAY ? "per_day" : p == QUOTA_PER_MINUTE ? "per_minute" : "unstated";
}

/* A 429's quotaValue becomes the learned limit its metric and period name (requests per
 * minute/day, input tokens per minute).  Returns 1 when that changed what was known. */
static int learn(mstate *m, const kp_result *r) {
  if (r->quota_value <= 0) return 0;   /* "0": no quota at all; the cooldown says enough */
  int64_t *f = NULL;
  if (r->metric == QUOTA_REQUESTS && r->period == QUOTA_PER_MINUTE) f = &m->learned_rpm;
  else if (r->metric == QUOTA_REQUESTS && r->period == QUOTA_PER_DAY) f = &m->learned_rpd;
  else if (r->metric == QUOTA_INPUT_TOKENS && r->period == QUOTA_PER_MINUTE) f = &m->learned_tpm;
  if (!f || *f == r->quota_value) return 0;
  *f = r->quota_value;
  return 1;
}

static void learned_row(const kp_key *k, const mname *mn, const mstate *m, int64_t now_ms, kp_learned *out) {
  memset(out, 0, sizeof *out);
  memcpy(out->key_hash, k->hash, sizeof out->key_hash);
  snprintf(out->model, sizeof out->model, "%s", mn->name);
  out->rpm = m->learned_rpm;
  out->tpm = m->learned_tpm;
  out->rpd = m->learned_rpd;
  out->updated_at = now_ms;
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
  /* The two fixed entries of the model table, then the models the limits name. */
  kp->models[MI_NONE] = (mname){.name = "", .used = true, .known = true};
  kp->models[MI_UNLISTED] = (mname){.name = KP_UNLISTED, .used = true, .known = true,
                                     .limit = find_limit(kp, "*")};
  kp->nmodels = 2;
  hash_put(kp, MI_UNLISTED);
  for (size_t i = 0; i < c->nlimits; i++)
    if (strcmp(kp->limits[i].model, "*") && model_find(kp, kp->limits[i].model) < 0) model_add(kp, kp->limits[i].model);
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
      uint8_t h[32];
      crypto_sha256(s, strlen(s), h);
      crypto_hex(h, sizeof h, k->hash);
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
  int mi = model_index(kp, model, 1);
  size_t n = kp->nkeys, start = kp->cfg.strategy == KP_ROUND_ROBIN ? kp->rr : 0, best_i = 0;
  kp_key *best = NULL;
  int64_t soonest = -1;
  for (size_t j = 0; j < n; j++) {
    size_t i = (start + j) % n;
    kp_key *k = kp->keys[i];
    int64_t wait = key_wait(kp, k, mi, now_ms);
    int excluded = 0;
    for (size_t e = 0; e < n_exclude && !excluded; e++) excluded = exclude[e] == k;
    if (wait == 0 && !excluded) {
      if (!best || prefer(kp, k, best, mi)) { best = k; best_i = i; }
    } else if (wait >= 0 && (soonest < 0 || wait < soonest)) {
      soonest = wait;
    }
  }
  if (best) {
    mstate *m = ms_get(best, mi, 1);
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
int kp_report_learn(keypool *kp, kp_key *k, const char *model, int64_t now_ms, const kp_result *r,
                    kp_learned *out) {
  model = norm_model(model);
  int learned = 0;
  pthread_mutex_lock(&kp->mu);
  if (k->inflight > 0) k->inflight--;
  if (r && r->outcome != KP_ABORTED) {
    int mi = model_index(kp, model, 1);
    mstate *m = ms_get(k, mi, 1);
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
        m->cooldown_until = cool_until(&kp->cfg, m, now_ms, r);
        m->cool_reason = r->period;
        emit(kp, KP_MARK_COOL, k, kp->models[mi].name, m->cooldown_until, r->period);
        model_known(kp, mi);         /* a quota for it: Google knows the model */
        if (mi >= 2 && learn(m, r)) {     /* a real model's own entry: "" and "(unlisted)" are not */
          learned = 1;
          if (out) learned_row(k, &kp->models[mi], m, now_ms, out);
        }
      }
      break;
    case KP_INVALID:
      k->invalid = 1;
      k->suspect = 0;
      k->last_check_ms = now_ms;     /* first re-check one interval from now */
      emit(kp, KP_MARK_INVALID, k, NULL, now_ms, QUOTA_UNSTATED);
      break;
    case KP_SERVER_ERROR:
    case KP_NETWORK_ERROR:
      if (++k->failure_run >= kp->cfg.max_failures && !k->disabled) {
        k->disabled = 1;
        k->last_check_ms = now_ms;
        emit(kp, KP_MARK_DISABLED, k, NULL, now_ms, QUOTA_UNSTATED);
      }
      break;
    default: break;
    }
  }
  key_unref(k);
  pthread_mutex_unlock(&kp->mu);
  return learned;
}

void kp_report(keypool *kp, kp_key *k, const char *model, int64_t now_ms, const kp_result *r) {
  kp_report_learn(kp, k, model, now_ms, r, NULL);
}

/* Applies a stored row to the key with its hash (see the header). */
int kp_learn_load(keypool *kp, const kp_learned *row) {
  int applied = 0;
  pthread_mutex_lock(&kp->mu);
  for (size_t i = 0; i < kp->nkeys && !applied; i++) {
    kp_key *k = kp->keys[i];
    if (strcmp(k->hash, row->key_hash)) continue;
    int mi = row->model[0] ? model_find(kp, row->model) : -1;
    if (mi < 0 && row->model[0]) mi = model_add(kp, row->model);
    mstate *m = mi >= 2 ? ms_get(k, mi, 1) : NULL;
    if (!m) break;
    model_known(kp, mi);
    m->learned_rpm = row->rpm > 0 ? row->rpm : 0;
    m->learned_tpm = row->tpm > 0 ? row->tpm : 0;
    m->learned_rpd = row->rpd > 0 ? row->rpd : 0;
    applied = 1;
  }
  pthread_mutex_unlock(&kp->mu);
  return applied;
}

int kp_has_key_hash(keypool *kp, const char *hash) {
  int found = 0;
  pthread_mutex_lock(&kp->mu);
  for (size_t i = 0; i < kp->nkeys && !found; i++) found = !strcmp(kp->keys[i]->hash, hash);
  pthread_mutex_unlock(&kp->mu);
  return found;
}

/* Secrets are compared byte by byte here, which leaks nothing a caller does not already hold:
 * p is text the upstream sent, and only a match's length comes back. */
size_t kp_secret_match(keypool *kp, const char *p, size_t n, int *partial) {
  size_t best = 0;
  int part = 0;
  pthread_mutex_lock(&kp->mu);
  for (size_t i = 0; i < kp->nkeys; i++) {
    const char *s = kp->keys[i]->secret;
    size_t sl = strlen(s);
    if (sl <= n) {
      if (sl > best && !memcmp(s, p, sl)) best = sl;
    } else if (!memcmp(s, p, n)) {
      part = 1;
    }
  }
  pthread_mutex_unlock(&kp->mu);
  if (partial) *partial = part;
  return best;
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

void kp_unref(keypool *kp, kp_key *k) {
  pthread_mutex_lock(&kp->mu);
  key_unref(k);
  pthread_mutex_unlock(&kp->mu);
}

/* Invalid → suspect (see the header); its re-check comes one interval after the mark. */
void kp_unmark(keypool *kp, kp_key *k, int64_t now_ms) {
  pthread_mutex_lock(&kp->mu);
  if (k->invalid) {
    k->invalid = 0;
    k->suspect = 1;
    emit(kp, KP_MARK_SUSPECT, k, NULL, 0, QUOTA_UNSTATED);
  }
  key_unref(k);
  pthread_mutex_unlock(&kp->mu);
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
  for (size_t i = 0; i < kp->nkeys; i++) c += (size_t)key_available(kp, kp->keys[i], now_ms);
  pthread_mutex_unlock(&kp->mu);
  return c;
}

/* Hands out (referenced) invalid/disabled/suspect keys not checked for recheck_interval_ms, stamping
 * them as checked now so a probe in progress is not handed out twice. */
size_t kp_due_rechecks(keypool *kp, int64_t now_ms, kp_key **out, size_t cap) {
  pthread_mutex_lock(&kp->mu);
  size_t c = 0;
  for (size_t i = 0; i < kp->nkeys && c < cap; i++) {
    kp_key *k = kp->keys[i];
    if (!(k->invalid || k->disabled || k->suspect) || now_ms - k->last_check_ms < kp->cfg.recheck_interval_ms)
      continue;
    k->last_check_ms = now_ms;
    k->refs++;
    out[c++] = k;
  }
  pthread_mutex_unlock(&kp->mu);
  return c;
}

/* The probe's verdict (KP_CHECK_*): OK brings the key back (clears invalid, disabled, suspect
 * and the failure run); BAD keeps it out until the next interval and turns suspect into
 * invalid; UNKNOWN changes nothing.  Drops the reference. */
void kp_recheck_done(keypool *kp, kp_key *k, int64_t now_ms, int ok) {
  pthread_mutex_lock(&kp->mu);
  k->last_check_ms = now_ms;
  if (ok == KP_CHECK_OK && (k->invalid || k->disabled || k->suspect)) emit(kp, KP_MARK_CLEAR, k, NULL, 0, QUOTA_UNSTATED);
  if (ok == KP_CHECK_OK) k->invalid = k->disabled = k->suspect = k->failure_run = 0;
  else if (ok == KP_CHECK_BAD && k->suspect) { k->suspect = 0; k->invalid = 1; }
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

/* {"rpm","tpm","rpd"}, or null when all three are 0. */
static json_t *limit_json(int64_t rpm, int64_t tpm, int64_t rpd) {
  if (rpm <= 0 && tpm <= 0 && rpd <= 0) return json_null();
  return json_pack("{s:I, s:I, s:I}", "rpm", (json_int_t)rpm, "tpm", (json_int_t)tpm, "rpd", (json_int_t)rpd);
}

/* One object per key, in list order; fields as in the header. */
json_t *kp_status_keys(keypool *kp, int64_t now_ms) {
  json_t *arr = json_array();
  pthread_mutex_lock(&kp->mu);
  for (size_t i = 0; arr && i < kp->nkeys; i++) {
    kp_key *k = kp->keys[i];
    char mask[32];
    kp_mask(k->secret, mask, sizeof mask);
    const char *state = k->invalid ? "invalid" : k->disabled ? "disabled" : k->suspect ? "suspect"
                      : key_cooling_any(kp, k, now_ms) ? "cooling" : "active";
    int today = k->today == now_ms / DAY_MS;
    json_t *cool = json_object(), *why = json_object(), *limits = json_object();
    for (size_t j = 0; j < kp->nmodels; j++) {
      const mstate *m = ms_at(k, j);
      if (!m) continue;
      const mname *mn = &kp->models[j];
      int64_t left = m->cooldown_until - now_ms;
      if (left > 0) {
        json_object_set_new(cool, mn->name, json_integer((left + 999) / 1000));
        json_object_set_new(why, mn->name, json_string(reason_text(m->cool_reason)));
      }
      if (j == MI_NONE) continue;                     /* model-less calls have no limits */
      const kp_limit *l = mn->limit;
      json_t *cj = l ? limit_json(l->rpm, l->tpm, l->rpd) : json_null();
      json_t *lj = limit_json(m->learned_rpm, m->learned_tpm, m->learned_rpd);
      if (json_is_null(cj) && json_is_null(lj)) { json_decref(cj); json_decref(lj); continue; }
      json_object_set_new(limits, mn->name, json_pack("{s:o, s:o}", "configured", cj, "learned", lj));
    }
    json_array_append_new(arr, json_pack("{s:i, s:s, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:f, s:f, s:i, s:o, s:o, s:o, s:o}",
      "id", (int)i + 1, "key", mask, "state", state,
      "available", key_available(kp, k, now_ms), "healthy", !k->unhealthy,
      "today_requests", (json_int_t)(today ? k->today_requests : 0),
      "today_tokens", (json_int_t)(today ? k->today_tokens : 0),
      "requests", (json_int_t)k->requests, "errors", (json_int_t)k->errors,
      "error_rate", k->requests ? round_to((double)k->errors / (double)k->requests, 1e4) : 0.0,
      "avg_latency_ms", k->requests ? round_to((double)k->latency_sum / (double)k->requests, 10) : 0.0,
      "failure_run", k->failure_run,
      "last_error", k->last_error[0] ? json_text(k->last_error) : json_null(),
      "cooldowns", cool, "cooldown_reasons", why, "limits", limits));
  }
  pthread_mutex_unlock(&kp->mu);
  return arr;
}

/* Seed 002's get_model_stats: one entry per tracked model any current key has used, all keys
 * listed in each.  Model-less calls ("") are not a model and are left out.  One pass over
 * keys × tracked models. */
json_t *kp_pool_stats(keypool *kp, int64_t now_ms) {
  json_t *out = json_object();
  pthread_mutex_lock(&kp->mu);
  for (size_t j = 1; out && j < kp->nmodels; j++) {
    if (!kp->models[j].used) continue;
    int seen = 0;
    for (size_t x = 0; x < kp->nkeys && !seen; x++) seen = ms_at(kp->keys[x], j) != NULL;
    if (!seen) continue;
    json_int_t active = 0, error = 0, total = 0;
    json_t *usage = json_object(), *errs = json_object();
    for (size_t x = 0; x < kp->nkeys; x++) {
      kp_key *k = kp->keys[x];
      const mstate *m = ms_at(k, j);
      int64_t wait = key_wait(kp, k, (int)j, now_ms);
      char label[32];
      key_label(label, sizeof label, x);
      active += wait == 0;
      error += k->invalid || k->disabled || (m && m->cooldown_until > now_ms);
      total += m ? m->requests : 0;
      json_object_set_new(usage, label, json_integer(m ? m->requests : 0));
      json_object_set_new(errs, label, json_integer(m ? m->errors : 0));
    }
    json_object_set_new(out, kp->models[j].name, json_pack("{s:I, s:I, s:I, s:I, s:o, s:o}",
      "pool_size", (json_int_t)kp->nkeys, "active_instances", active, "error_instances", error,
      "total_usage", total, "usage_distribution", usage, "key_distribution", errs));
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
 * to.  Invalid marks stay (the key is known bad), as do the RPM/TPM/RPD windows and learned
 * limits (they mirror the upstream's quota, which a reset does not give back). */
void kp_reset_pool(keypool *kp, const char *model) {
  pthread_mutex_lock(&kp->mu);
  int only = model ? model_find(kp, model) : -1;
  for (size_t i = 0; i < kp->nkeys; i++) {
    kp_key *k = kp->keys[i];
    k->failure_run = 0;
    k->disabled = 0;
    for (size_t j = 0; j < kp->nmodels; j++) {
      mstate *m = ms_at(k, j);
      if (!m || (model && (int)j != only)) continue;
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
    for (size_t j = 0; j < kp->nmodels; j++) {
      mstate *m = ms_at(k, j);
      if (m) m->requests = m->errors = 0;
    }
  }
  pthread_mutex_unlock(&kp->mu);
}

/* ---- the upstream's model list ---- */

/* Whether a listing is due: many names tracked without a list, or one the last list lacked
 * once that list is old; never two at a time, and a failed one waits a minute. */
static bool catalog_due(const keypool *kp, int64_t now_ms) {
  if (kp->catalog_busy || (kp->catalog_try && now_ms - kp->catalog_try < CATALOG_RETRY_MS)) return false;
  if (!kp->catalog_at) return kp->nprovisional >= CATALOG_TRIGGER;
  return kp->unlisted_seen && now_ms - kp->catalog_at >= CATALOG_REFRESH_MS;
}

kp_key *kp_catalog_begin(keypool *kp, int64_t now_ms) {
  kp_key *use = NULL;
  pthread_mutex_lock(&kp->mu);
  if (catalog_due(kp, now_ms)) {
    for (size_t i = 0; i < kp->nkeys && !use; i++)
      if (!kp->keys[i]->suspect && key_wait(kp, kp->keys[i], MI_NONE, now_ms) == 0) use = kp->keys[i];
    if (use) {
      use->refs++;
      kp->catalog_busy = true;
      kp->catalog_try = now_ms;
    }
  }
  pthread_mutex_unlock(&kp->mu);
  return use;
}

/* Whether any key holds state for model mi that makes it worth keeping (a running cooldown). */
static bool model_cooling(const keypool *kp, size_t mi, int64_t now_ms) {
  for (size_t x = 0; x < kp->nkeys; x++) {
    const mstate *m = ms_at(kp->keys[x], mi);
    if (m && m->cooldown_until > now_ms) return true;
  }
  return false;
}

/* Takes model mi out of the table and every current key's state for it.  Keys detached by a
 * reload keep theirs until they are freed; nothing reads it. */
static void model_drop(keypool *kp, size_t mi) {
  for (size_t x = 0; x < kp->nkeys; x++) {
    kp_key *k = kp->keys[x];
    if (k->ms) { free(k->ms[mi]); k->ms[mi] = NULL; }
  }
  if (provisional(&kp->models[mi])) kp->nprovisional--;
  memset(&kp->models[mi], 0, sizeof kp->models[mi]);
  while (kp->nmodels > 2 && !kp->models[kp->nmodels - 1].used) kp->nmodels--;
}

void kp_catalog_done(keypool *kp, kp_key *k, int64_t now_ms, const char *const *names, size_t n, int ok) {
  pthread_mutex_lock(&kp->mu);
  kp->catalog_busy = false;
  if (ok && n) {
    for (size_t j = 2; j < kp->nmodels; j++) kp->models[j].listed = false;
    for (size_t i = 0; i < n; i++) {
      if (!names[i][0] || strlen(names[i]) >= sizeof kp->models[0].name) continue;
      int mi = model_find(kp, names[i]);
      if (mi < 0) mi = model_add(kp, names[i]);
      if (mi < 0) break;                                 /* the table is full */
      if (mi >= 2) kp->models[mi].listed = true;
    }
    /* Names the upstream does not list, that nothing marks as real, leave with their state. */
    for (size_t j = 2; j < kp->nmodels; j++) {
      mname *m = &kp->models[j];
      if (m->used && !m->listed && !m->known && !model_cooling(kp, j, now_ms)) model_drop(kp, j);
    }
    kp->nprovisional = 0;
    for (size_t j = 2; j < kp->nmodels; j++) kp->nprovisional += provisional(&kp->models[j]);
    memset(kp->hidx, 0, sizeof kp->hidx);
    for (size_t j = 1; j < kp->nmodels; j++)
      if (kp->models[j].used) hash_put(kp, j);
    kp->catalog_at = now_ms;
    kp->catalog_try = 0;
    kp->unlisted_seen = false;
  }
  key_unref(k);
  pthread_mutex_unlock(&kp->mu);
}

size_t kp_tracked_models(keypool *kp) {
  size_t n = 0;
  pthread_mutex_lock(&kp->mu);
  for (size_t j = 0; j < kp->nmodels; j++) {
    if (!kp->models[j].used) continue;
    int seen = 0;
    for (size_t x = 0; x < kp->nkeys && !seen; x++) seen = ms_at(kp->keys[x], j) != NULL;
    n += (size_t)seen;
  }
  pthread_mutex_unlock(&kp->mu);
  return n;
}

/* ---- keys by identity: resources that live on one key (owners.h) ---- */

/* k's hash (computed when the key joined the pool; the same form as upstream_keys.hash). */
static const char *key_hash_locked(kp_key *k) { return k->hash; }

void kp_key_hash(keypool *kp, kp_key *k, char out[65]) {
  pthread_mutex_lock(&kp->mu);
  memcpy(out, key_hash_locked(k), 65);
  pthread_mutex_unlock(&kp->mu);
}

static kp_key *find_hash(keypool *kp, const char *hash, size_t *idx) {
  for (size_t i = 0; i < kp->nkeys; i++)
    if (!strcmp(key_hash_locked(kp->keys[i]), hash)) { *idx = i; return kp->keys[i]; }
  return NULL;
}

/* kp_acquire for one given key: the same checks, the same counting, no strategy. */
kp_key *kp_acquire_hash(keypool *kp, const char *hash, const char *model, int64_t now_ms,
                        int64_t *retry_after_ms, kp_owner_state *state) {
  model = norm_model(model);
  pthread_mutex_lock(&kp->mu);
  size_t i = 0;
  kp_key *k = hash && hash[0] ? find_hash(kp, hash, &i) : NULL;
  int mi = k ? model_index(kp, model, 1) : MI_NONE;
  int64_t wait = k ? key_wait(kp, k, mi, now_ms) : -1;
  kp_owner_state st = !k ? KP_OWNER_GONE : wait < 0 ? KP_OWNER_DOWN : wait > 0 ? KP_OWNER_COOLING : KP_OWNER_OK;
  if (st == KP_OWNER_OK) {
    mstate *m = ms_get(k, mi, 1);
    if (m) {
      window_add(m, now_ms, 1, 0);
      int64_t day = now_ms / DAY_MS;
      if (m->rpd_day != day) { m->rpd_day = day; m->rpd_requests = 0; }
      m->rpd_requests++;
    }
    k->refs++;
    k->inflight++;
  } else {
    if (retry_after_ms)
      *retry_after_ms = st == KP_OWNER_COOLING ? max64(wait, 1000)
                      : st == KP_OWNER_DOWN ? kp->cfg.recheck_interval_ms : -1;
    k = NULL;
  }
  if (state) *state = st;
  pthread_mutex_unlock(&kp->mu);
  return k;
}

int kp_find_hash(keypool *kp, const char *hash, char *mask, size_t cap) {
  pthread_mutex_lock(&kp->mu);
  size_t i = 0;
  kp_key *k = find_hash(kp, hash, &i);
  if (k && mask) kp_mask(k->secret, mask, cap);
  pthread_mutex_unlock(&kp->mu);
  return k ? (int)i + 1 : 0;
}

int kp_hash_of_id(keypool *kp, int id, char out[65]) {
  pthread_mutex_lock(&kp->mu);
  int ok = id >= 1 && (size_t)id <= kp->nkeys;
  if (ok) memcpy(out, key_hash_locked(kp->keys[id - 1]), 65);
  pthread_mutex_unlock(&kp->mu);
  return ok;
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
  for (size_t j = 1; j < kp->nmodels; j++) {      /* the models' cached limits point into the old array */
    mname *mn = &kp->models[j];
    if (!mn->used) continue;
    bool was = provisional(mn);
    mn->limit = find_limit(kp, mn->name);
    if (j != MI_UNLISTED && mn->limit && strcmp(mn->limit->model, "*")) mn->known = true;
    if (was && !provisional(mn)) kp->nprovisional--;
  }
  for (size_t i = 0; i < kp->cfg.nlimits; i++)      /* a model the new limits name is a real one */
    if (strcmp(kp->limits[i].model, "*") && model_find(kp, kp->limits[i].model) < 0) model_add(kp, kp->limits[i].model);
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

/* ---- shared state: marks other instances take (shared/) ---- */

void kp_set_observer(keypool *kp, kp_mark_fn fn, void *ctx) {
  pthread_mutex_lock(&kp->mu);
  kp->observer = fn;
  kp->observer_ctx = ctx;
  pthread_mutex_unlock(&kp->mu);
}

/* Another instance's mark: the same state a local report would leave, without telling the
 * observer (it came from there).  A cooldown only ever lengthens one under way. */
int kp_apply_mark(keypool *kp, const kp_mark *mk) {
  int applied = 0;
  pthread_mutex_lock(&kp->mu);
  size_t i = 0;
  kp_key *k = find_hash(kp, mk->key_hash, &i);
  if (k) switch (mk->kind) {
  case KP_MARK_COOL: {
    int mi = model_index(kp, mk->model, 1);
    mstate *m = mi >= 0 ? ms_get(k, mi, 1) : NULL;
    if (m && mk->until_ms > m->cooldown_until) {
      m->cooldown_until = mk->until_ms;
      m->cool_reason = mk->reason;
      model_known(kp, mi);
      applied = 1;
    }
    break;
  }
  case KP_MARK_INVALID:
    applied = !k->invalid;
    k->invalid = 1;
    k->suspect = 0;
    if (applied) k->last_check_ms = mk->until_ms;
    break;
  case KP_MARK_DISABLED:
    applied = !k->disabled;
    k->disabled = 1;
    if (applied) k->last_check_ms = mk->until_ms;
    break;
  case KP_MARK_SUSPECT:
    applied = k->invalid;
    if (k->invalid) { k->invalid = 0; k->suspect = 1; }
    break;
  case KP_MARK_CLEAR:
    applied = k->invalid || k->disabled || k->suspect;
    k->invalid = k->disabled = k->suspect = k->failure_run = 0;
    break;
  }
  pthread_mutex_unlock(&kp->mu);
  return applied;
}

/* Every live mark: cooldowns not yet over, then invalid/disabled/suspect keys. */
size_t kp_marks_each(keypool *kp, int64_t now_ms, kp_mark_fn fn, void *ctx) {
  size_t n = 0;
  pthread_mutex_lock(&kp->mu);
  for (size_t i = 0; i < kp->nkeys; i++) {
    kp_key *k = kp->keys[i];
    kp_mark m = {.kind = KP_MARK_COOL};
    memcpy(m.key_hash, k->hash, sizeof m.key_hash);
    for (size_t mi = 0; k->ms && mi < kp->nmodels; mi++) {
      const mstate *s = k->ms[mi];
      if (!s || s->cooldown_until <= now_ms) continue;
      snprintf(m.model, sizeof m.model, "%s", kp->models[mi].name);
      m.until_ms = s->cooldown_until;
      m.reason = s->cool_reason;
      fn(ctx, &m);
      n++;
    }
    m.model[0] = 0;
    m.until_ms = k->last_check_ms;
    m.reason = QUOTA_UNSTATED;
    m.kind = k->invalid ? KP_MARK_INVALID : k->disabled ? KP_MARK_DISABLED : k->suspect ? KP_MARK_SUSPECT : KP_MARK_CLEAR;
    if (m.kind != KP_MARK_CLEAR) { fn(ctx, &m); n++; }
  }
  pthread_mutex_unlock(&kp->mu);
  return n;
}
