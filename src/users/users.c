/* users — users, access keys, quotas; contract in users.h. */
#include "users/users.h"
#include "base/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "base/log.h"
#include "base/money.h"
#include "store/store.h"
#include "base/utc.h"
#include "base/window.h"

#define KEY_PREFIX "gg-"
#define PREFIX_SHOWN 11            /* "gg-" + 8 characters: enough to tell keys apart */
#define NO_USER "no such user"
#define STORE_FAILED "could not store the change"

typedef struct akey {
  int64_t id, user_id;
  uint8_t hash[32];
  char prefix[16], name[64];
  int64_t created_at, revoked_at;  /* revoked_at 0: live */
} akey;

typedef struct user {
  int64_t id;
  char name[64];
  int64_t created_at;
  akey **keys;                     /* every key, revoked ones too (guarded by the rwlock) */
  size_t nkeys;
  pthread_mutex_t mu;              /* guards what follows */
  bool disabled;
  user_limits lim;
  win minute;                      /* requests and tokens in the last 60 s */
  int64_t day, day_requests, day_tokens, day_cost;   /* day: utc_day; cost in nanos */
  int64_t month, month_cost;       /* month: its first ms */
  int64_t reserved, in_flight;     /* the estimates of the budgeted calls in flight, and their count */
} user;

struct users {
  pthread_rwlock_t lock;
  pthread_mutex_t admin;
  user **v;                        /* sorted by id (ids only grow) */
  size_t n;
  akey **slots;                    /* open addressing over live keys, by hash; rebuilt on change */
  size_t nslots;
};

users *users_new(void)
{
  users *u = calloc(1, sizeof *u);
  if(!u) return NULL;
  pthread_rwlock_init(&u->lock, NULL);
  pthread_mutex_init(&u->admin, NULL);
  return u;
}

void users_free(users *u)
{
  if(!u) return;
  for(size_t i = 0; i < u->n; i++) {
    for(size_t k = 0; k < u->v[i]->nkeys; k++) free(u->v[i]->keys[k]);
    free(u->v[i]->keys);
    pthread_mutex_destroy(&u->v[i]->mu);
    free(u->v[i]);
  }
  free(u->v);
  free(u->slots);
  pthread_rwlock_destroy(&u->lock);
  pthread_mutex_destroy(&u->admin);
  free(u);
}

/* ---- maps (callers hold the rwlock) ---- */

static user *find_user(const users *u, int64_t id)
{
  size_t lo = 0, hi = u->n;
  while(lo < hi) {
    size_t mid = (lo + hi) / 2;
    if(u->v[mid]->id == id) return u->v[mid];
    if(u->v[mid]->id < id) lo = mid + 1; else hi = mid;
  }
  return NULL;
}

static uint64_t slot_of(const uint8_t *hash) { uint64_t h; memcpy(&h, hash, 8); return h; }

static const akey *find_key(const users *u, const uint8_t hash[32])
{
  if(!u->nslots) return NULL;
  for(size_t i = slot_of(hash) & (u->nslots - 1);; i = (i + 1) & (u->nslots - 1)) {
    const akey *k = u->slots[i];
    if(!k) return NULL;
    if(!memcmp(k->hash, hash, 32)) return k;
  }
}

/* Rebuilds the key table from every user's live keys (write lock held).  Admin changes are
 * rare, so a rebuild beats tombstones in simplicity. */
static int rebuild_slots(users *u)
{
  size_t live = 0;
  for(size_t i = 0; i < u->n; i++)
    for(size_t k = 0; k < u->v[i]->nkeys; k++) live += !u->v[i]->keys[k]->revoked_at;
  size_t n = 16;
  while(n < live * 2) n *= 2;
  akey **s = calloc(n, sizeof *s);
  if(!s) return -1;
  for(size_t i = 0; i < u->n; i++)
    for(size_t k = 0; k < u->v[i]->nkeys; k++) {
      akey *key = u->v[i]->keys[k];
      if(key->revoked_at) continue;
      size_t j = slot_of(key->hash) & (n - 1);
      while(s[j]) j = (j + 1) & (n - 1);
      s[j] = key;
    }
  free(u->slots);
  u->slots = s;
  u->nslots = n;
  return 0;
}

/* Adds a user to the sorted list (write lock held). */
static user *add_user(users *u, int64_t id, const char *name, int64_t created_at)
{
  user *x = calloc(1, sizeof *x);
  user **nv = x ? realloc(u->v, (u->n + 1) * sizeof *nv) : NULL;
  if(!nv) { free(x); return NULL; }
  u->v = nv;
  x->id = id;
  snprintf(x->name, sizeof x->name, "%s", name ? name : "");
  x->created_at = created_at;
  pthread_mutex_init(&x->mu, NULL);
  win_init(&x->minute, 60, 1000);
  size_t i = u->n;
  while(i > 0 && u->v[i - 1]->id > id) { u->v[i] = u->v[i - 1]; i--; }
  u->v[i] = x;
  u->n++;
  return x;
}

static akey *add_key(user *x, int64_t id, const uint8_t hash[32], const char *prefix, const char *name,
                     int64_t created_at, int64_t revoked_at)
{
  akey *k = calloc(1, sizeof *k);
  akey **nk = k ? realloc(x->keys, (x->nkeys + 1) * sizeof *nk) : NULL;
  if(!nk) { free(k); return NULL; }
  x->keys = nk;
  *k = (akey){ .id = id, .user_id = x->id, .created_at = created_at, .revoked_at = revoked_at };
  memcpy(k->hash, hash, 32);
  snprintf(k->prefix, sizeof k->prefix, "%s", prefix ? prefix : "");
  snprintf(k->name, sizeof k->name, "%s", name ? name : "");
  x->keys[x->nkeys++] = k;
  return k;
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    unsigned v;
    if(sscanf(s + 2 * i, "%2x", &v) != 1) return -1;
    out[i] = (uint8_t)v;
  }
  return 0;
}

/* ---- counters (user mutex held) ---- */

static void roll(user *x, int64_t now)
{
  int64_t day = utc_day(now), month = utc_month_start(now);
  if(x->day != day) { x->day = day; x->day_requests = 0; x->day_tokens = 0; x->day_cost = 0; }
  if(x->month != month) { x->month = month; x->month_cost = 0; }
}

/* ---- loading ---- */

static void read_limits(store_stmt *st, int col, user_limits *l)
{
  l->rpm = store_col_int(st, col);
  l->tpm = store_col_int(st, col + 1);
  l->rpd = store_col_int(st, col + 2);
  l->daily_budget_e4 = store_col_int(st, col + 3);
  l->monthly_budget_e4 = store_col_int(st, col + 4);
  const char *m = store_col_text(st, col + 5);
  snprintf(l->models, sizeof l->models, "%s", m ? m : "");
}

/* Every stored access key onto its user: a key already known takes its revocation, a new one is
 * added (at start none is known).  The caller holds u->lock for writing. */
static store_rc load_keys(users *u, struct store_conn *c)
{
  store_stmt *st = store_prepare(c, "SELECT id, user_id, hash, prefix, name, created_at,"
                                    " COALESCE(revoked_at, 0) FROM access_keys ORDER BY id");
  if(!st) return STORE_DONE;          /* as before: the users stand without their keys */
  store_rc rc;
  while((rc = store_step(st)) == STORE_ROW) {
    user *x = find_user(u, store_col_int(st, 1));
    uint8_t h[32];
    const char *hex = store_col_text(st, 2);
    if(!x || !hex || strlen(hex) != 64 || unhex(hex, h, 32)) continue;
    akey *k = NULL;
    for(size_t i = 0; i < x->nkeys && !k; i++) if(x->keys[i]->id == store_col_int(st, 0)) k = x->keys[i];
    if(k) k->revoked_at = store_col_int(st, 6);
    else add_key(x, store_col_int(st, 0), h, store_col_text(st, 3), store_col_text(st, 4),
                 store_col_int(st, 5), store_col_int(st, 6));
  }
  store_reset(st);
  return rc;
}

/* Every user with its limits, for users_load and users_refresh. */
static const char USERS_SQL[] = "SELECT id, name, disabled, created_at, rpm, tpm, rpd, daily_budget_e4,"
                                " monthly_budget_e4, models FROM users ORDER BY id";

int users_load(users *u, struct store_conn *c, int64_t now)
{
  store_stmt *st = store_prepare(c, USERS_SQL);
  if(!st) return -1;
  store_rc rc;
  pthread_rwlock_wrlock(&u->lock);
  while((rc = store_step(st)) == STORE_ROW) {
    user *x = add_user(u, store_col_int(st, 0), store_col_text(st, 1), store_col_int(st, 3));
    if(!x) { rc = STORE_ERROR; break; }
    x->disabled = store_col_int(st, 2) != 0;
    read_limits(st, 4, &x->lim);
    roll(x, now);
  }
  store_reset(st);
  if(rc == STORE_DONE) rc = load_keys(u, c);
  if(rc == STORE_DONE) rc = rebuild_slots(u) ? STORE_ERROR : STORE_DONE;
  pthread_rwlock_unlock(&u->lock);
  if(rc != STORE_DONE) return -1;

  /* Counters: today's and this month's totals from the per-user daily totals, the last minute
   * from the rows themselves.  Refused calls never count against a quota. */
  int64_t today = utc_day(now), month0 = utc_day(utc_month_start(now));
  /* Summed here with saturation, not by SQL's SUM, which fails on overflow. */
  st = store_prepare(c, "SELECT CAST(value AS INTEGER), day, calls - refused, input_tokens, output_tokens,"
                        " thinking_tokens, cost_nanos FROM usage_dim WHERE dim = 'user' AND day >= ? AND day <= ?");
  if(!st) return -1;
  store_bind_int(st, 1, month0 < today ? month0 : today);
  store_bind_int(st, 2, today);
  pthread_rwlock_rdlock(&u->lock);
  while((rc = store_step(st)) == STORE_ROW) {
    user *x = find_user(u, store_col_int(st, 0));
    if(!x) continue;
    int64_t tokens = i64_add(i64_add(store_col_int(st, 3), store_col_int(st, 4)), store_col_int(st, 5));
    int64_t cost = store_col_int(st, 6);
    pthread_mutex_lock(&x->mu);
    x->month_cost = i64_add(x->month_cost, cost);
    if(store_col_int(st, 1) == today) {
      x->day_requests = i64_add(x->day_requests, store_col_int(st, 2));
      x->day_tokens = i64_add(x->day_tokens, tokens);
      x->day_cost = i64_add(x->day_cost, cost);
    }
    pthread_mutex_unlock(&x->mu);
  }
  store_reset(st);
  if(rc == STORE_DONE && (st = store_prepare(c, "SELECT user_id, created_at, 1, input_tokens + output_tokens"
                                                " + thinking_tokens FROM ledger WHERE created_at >= ? AND refused = 0"))) {
    store_bind_int(st, 1, now - 60000);
    while((rc = store_step(st)) == STORE_ROW) {
      user *x = find_user(u, store_col_int(st, 0));
      if(!x) continue;
      pthread_mutex_lock(&x->mu);
      win_add(&x->minute, store_col_int(st, 1), 1, store_col_int(st, 3));
      pthread_mutex_unlock(&x->mu);
    }
    store_reset(st);
  }
  pthread_rwlock_unlock(&u->lock);
  return rc == STORE_DONE ? 0 : -1;
}

/* ---- request path ---- */

bool users_auth(users *u, const char *cred, size_t n, principal *who)
{
  uint8_t h[32];
  crypto_sha256(cred, n, h);
  bool ok = false;
  pthread_rwlock_rdlock(&u->lock);
  const akey *k = find_key(u, h);
  user *x = k ? find_user(u, k->user_id) : NULL;
  if(x) {
    pthread_mutex_lock(&x->mu);
    ok = !x->disabled;
    pthread_mutex_unlock(&x->mu);
  }
  if(ok) {
    who->static_key = 0;
    who->user_id = x->id;
    who->access_key_id = k->id;
    snprintf(who->name, sizeof who->name, "%s", x->name);
    snprintf(who->label, sizeof who->label, "user#%lld/key#%lld", (long long)x->id, (long long)k->id);
  }
  pthread_rwlock_unlock(&u->lock);
  return ok;
}

bool users_model_allowed(const char *list, const char *model)
{
  if(!list || !*list || !model || !*model) return true;     /* no list, or a call without a model */
  if(!strncmp(model, "models/", 7)) model += 7;
  size_t ml = strlen(model);
  for(const char *p = list; *p;) {
    size_t n = strcspn(p, ",");
    if(n && p[n - 1] == '*' ? (ml >= n - 1 && !strncmp(model, p, n - 1)) : (n == ml && !strncmp(model, p, n)))
      return true;
    p += n;
    if(*p) p++;
  }
  return false;
}

/* Sets a refusal; the message is filled in by the caller. */
static int refuse(quota_verdict *v, int status, int64_t wait_ms)
{
  v->status = status;
  v->retry_after_s = wait_ms > 0 ? (wait_ms + 999) / 1000 : 1;
  return status;
}

int users_check(users *u, const principal *who, const char *model, int64_t now, quota_verdict *v)
{
  return users_check_call(u, who, model, now, 0, v);
}

int users_check_call(users *u, const principal *who, const char *model, int64_t now, int64_t estimate, quota_verdict *v)
{
  memset(v, 0, sizeof *v);
  if(!who->user_id) return 0;
  pthread_rwlock_rdlock(&u->lock);
  user *x = find_user(u, who->user_id);
  if(!x) {
    pthread_rwlock_unlock(&u->lock);
    snprintf(v->message, sizeof v->message, "this access key's user no longer exists");
    return refuse(v, 403, 0);
  }
  pthread_mutex_lock(&x->mu);
  const user_limits *l = &x->lim;
  int64_t rpm_n, tpm_n;
  roll(x, now);
  win_sum(&x->minute, now, &rpm_n, &tpm_n);
  int64_t to_midnight = (x->day + 1) * UTC_DAY_MS - now;
  char *m = v->message;
  size_t mc = sizeof v->message;
  if(x->disabled) {
    refuse(v, 403, 0);
    snprintf(m, mc, "this access key's user is disabled");
  } else if(!users_model_allowed(l->models, model)) {
    refuse(v, 403, 0);
    snprintf(m, mc, "model \"%.80s\" is not allowed for this access key", model);
  } else if(l->rpd && x->day_requests >= l->rpd) {
    refuse(v, 429, to_midnight);
    snprintf(m, mc, "daily request limit reached (%lld per day); it resets at 00:00 UTC", (long long)l->rpd);
  } else if(l->daily_budget_e4 && x->day_cost >= l->daily_budget_e4 * 100000) {
    refuse(v, 429, to_midnight);
    snprintf(m, mc, "daily cost budget reached; it resets at 00:00 UTC");
  } else if(l->monthly_budget_e4 && x->month_cost >= l->monthly_budget_e4 * 100000) {
    refuse(v, 429, utc_next_month(now) - now);
    snprintf(m, mc, "monthly cost budget reached; it resets on the 1st at 00:00 UTC");
  } else if(estimate > 0 && x->reserved && ((l->daily_budget_e4 && i64_add(x->day_cost, x->reserved) >= l->daily_budget_e4 * 100000) ||
                            (l->monthly_budget_e4 && i64_add(x->month_cost, x->reserved) >= l->monthly_budget_e4 * 100000))) {
    refuse(v, 429, 1000);
    snprintf(m, mc, "cost budget held by %lld call%s in flight; retry when they end", (long long)x->in_flight,
             x->in_flight == 1 ? "" : "s");
  } else if(l->rpm && rpm_n >= l->rpm) {
    refuse(v, 429, win_wait(&x->minute, now, l->rpm, 1));
    snprintf(m, mc, "rate limit: %lld requests per minute for this access key", (long long)l->rpm);
  } else if(l->tpm && tpm_n >= l->tpm) {
    refuse(v, 429, win_wait(&x->minute, now, l->tpm, 0));
    snprintf(m, mc, "rate limit: %lld tokens per minute for this access key", (long long)l->tpm);
  } else {
    win_add(&x->minute, now, 1, 0);
    x->day_requests++;
    if((l->daily_budget_e4 || l->monthly_budget_e4) && estimate > 0) {
      x->reserved = i64_add(x->reserved, estimate);
      x->in_flight++;
      v->reserved_nanos = estimate;
    }
  }
  pthread_mutex_unlock(&x->mu);
  pthread_rwlock_unlock(&u->lock);
  return v->status;
}

int users_refresh(users *u, struct store_conn *c, int64_t now)
{
  store_stmt *st = store_prepare(c, USERS_SQL);
  if(!st) return -1;
  store_rc rc;
  pthread_rwlock_wrlock(&u->lock);
  while((rc = store_step(st)) == STORE_ROW) {
    int64_t id = store_col_int(st, 0);
    user *x = find_user(u, id);
    bool fresh = !x;
    if(!x && !(x = add_user(u, id, store_col_text(st, 1), store_col_int(st, 3)))) { rc = STORE_ERROR; break; }
    pthread_mutex_lock(&x->mu);
    snprintf(x->name, sizeof x->name, "%s", store_col_text(st, 1) ? store_col_text(st, 1) : "");
    x->disabled = store_col_int(st, 2) != 0;
    read_limits(st, 4, &x->lim);
    if(fresh) roll(x, now);
    pthread_mutex_unlock(&x->mu);
  }
  store_reset(st);
  if(rc == STORE_DONE) rc = load_keys(u, c);
  if(rc == STORE_DONE) rc = rebuild_slots(u) ? STORE_ERROR : STORE_DONE;
  pthread_rwlock_unlock(&u->lock);
  return rc == STORE_DONE ? 0 : -1;
}

bool users_rates_of(users *u, int64_t user_id, int64_t *rpm, int64_t *tpm, int64_t *rpd)
{
  *rpm = *tpm = *rpd = 0;
  if(!u || !user_id) return false;
  pthread_rwlock_rdlock(&u->lock);
  user *x = find_user(u, user_id);
  if(x) {
    pthread_mutex_lock(&x->mu);
    *rpm = x->lim.rpm;
    *tpm = x->lim.tpm;
    *rpd = x->lim.rpd;
    pthread_mutex_unlock(&x->mu);
  }
  pthread_rwlock_unlock(&u->lock);
  return *rpm || *tpm || *rpd;
}

bool users_budgeted(users *u, int64_t user_id)
{
  if(!u || !user_id) return false;
  bool b = false;
  pthread_rwlock_rdlock(&u->lock);
  user *x = find_user(u, user_id);
  if(x) {
    pthread_mutex_lock(&x->mu);
    b = x->lim.daily_budget_e4 || x->lim.monthly_budget_e4;
    pthread_mutex_unlock(&x->mu);
  }
  pthread_rwlock_unlock(&u->lock);
  return b;
}

void users_settle(users *u, int64_t user_id, int64_t reserved, int64_t requests, int64_t tokens, int64_t cost_nanos,
                  int64_t t)
{
  if(!u || !user_id) return;
  pthread_rwlock_rdlock(&u->lock);
  user *x = find_user(u, user_id);
  if(x) {
    pthread_mutex_lock(&x->mu);
    if(reserved > 0) {
      x->reserved = x->reserved > reserved ? x->reserved - reserved : 0;
      if(x->in_flight > 0) x->in_flight--;
    }
    /* A call counts in the day and month it was made: one that began before midnight and settles
     * after it is yesterday's (the rows say so), not today's. */
    if(utc_day(t) > x->day) roll(x, t);          /* forward only */
    win_add(&x->minute, t, 0, tokens);
    if(utc_day(t) == x->day) {
      x->day_requests = i64_add(x->day_requests, requests);
      x->day_tokens = i64_add(x->day_tokens, tokens);
      x->day_cost = i64_add(x->day_cost, cost_nanos);
    }
    if(utc_month_start(t) == x->month) x->month_cost = i64_add(x->month_cost, cost_nanos);
    pthread_mutex_unlock(&x->mu);
  }
  pthread_rwlock_unlock(&u->lock);
}

void users_account(users *u, int64_t user_id, int64_t tokens, int64_t cost_nanos, int64_t t)
{
  users_settle(u, user_id, 0, 0, tokens, cost_nanos, t);
}

bool users_counters_of(users *u, int64_t user_id, int64_t now, users_counters *out)
{
  bool found = false;
  pthread_rwlock_rdlock(&u->lock);
  user *x = find_user(u, user_id);
  if(x) {
    pthread_mutex_lock(&x->mu);
    roll(x, now);
    *out = (users_counters){ x->day, x->day_requests, x->day_tokens, x->day_cost, x->month, x->month_cost,
                             x->reserved, x->in_flight };
    pthread_mutex_unlock(&x->mu);
    found = true;
  }
  pthread_rwlock_unlock(&u->lock);
  return found;
}

int64_t *users_ids(users *u, size_t *n)
{
  pthread_rwlock_rdlock(&u->lock);
  int64_t *v = u->n ? malloc(u->n * sizeof *v) : NULL;
  *n = v ? u->n : 0;
  for(size_t i = 0; v && i < u->n; i++) v[i] = u->v[i]->id;
  pthread_rwlock_unlock(&u->lock);
  return v;
}

/* ---- views ---- */

static json_t *key_json(const akey *k)
{
  char c[32], r[32];
  utc_iso(k->created_at, c, sizeof c);
  utc_iso(k->revoked_at, r, sizeof r);
  return json_pack("{s:I,s:s,s:s,s:s,s:b,s:s?}", "id", (json_int_t)k->id, "name", k->name, "prefix", k->prefix,
                   "created_at", c, "revoked", k->revoked_at != 0, "revoked_at", k->revoked_at ? r : NULL);
}

static json_t *limits_json(const user_limits *l)
{
  json_t *models = json_array();
  for(const char *p = l->models; *p;) {
    size_t n = strcspn(p, ",");
    if(n) json_array_append_new(models, json_stringn(p, n));
    p += n;
    if(*p) p++;
  }
  return json_pack("{s:I,s:I,s:I,s:o,s:o,s:o}", "rpm", (json_int_t)l->rpm, "tpm", (json_int_t)l->tpm,
                   "rpd", (json_int_t)l->rpd, "daily_budget", money_json(l->daily_budget_e4, 4),
                   "monthly_budget", money_json(l->monthly_budget_e4, 4), "allowed_models", models);
}

/* rwlock held (read). */
static json_t *user_json(user *x, int64_t now)
{
  json_t *keys = json_array();
  for(size_t k = 0; k < x->nkeys; k++) json_array_append_new(keys, key_json(x->keys[k]));
  pthread_mutex_lock(&x->mu);
  roll(x, now);
  int64_t mr, mt;
  win_sum(&x->minute, now, &mr, &mt);
  char created[32];
  utc_iso(x->created_at, created, sizeof created);
  json_t *j = json_pack("{s:I,s:s,s:b,s:s,s:o,s:o,s:{s:I,s:I,s:I,s:I,s:o,s:o}}", "id", (json_int_t)x->id,
                        "name", x->name, "disabled", x->disabled, "created_at", created,
                        "limits", limits_json(&x->lim), "keys", keys, "usage",
                        "minute_requests", (json_int_t)mr, "minute_tokens", (json_int_t)mt,
                        "today_requests", (json_int_t)x->day_requests, "today_tokens", (json_int_t)x->day_tokens,
                        "today_cost", money_json(money_round(x->day_cost, 9, 6), 6),
                        "month_cost", money_json(money_round(x->month_cost, 9, 6), 6));
  if(j) {
    json_t *usage = json_object_get(j, "usage");
    json_object_set_new(usage, "in_flight", json_integer(x->in_flight));
    json_object_set_new(usage, "reserved", money_json(money_round(x->reserved, 9, 6), 6));
  }
  pthread_mutex_unlock(&x->mu);
  return j;
}

json_t *users_json(users *u, int64_t user_id, int64_t now)
{
  pthread_rwlock_rdlock(&u->lock);
  user *x = find_user(u, user_id);
  json_t *j = x ? user_json(x, now) : NULL;
  pthread_rwlock_unlock(&u->lock);
  return j;
}

json_t *users_list_json(users *u, int64_t now)
{
  json_t *arr = json_array();
  pthread_rwlock_rdlock(&u->lock);
  for(size_t i = 0; i < u->n; i++) json_array_append_new(arr, user_json(u->v[i], now));
  pthread_rwlock_unlock(&u->lock);
  return arr;
}

bool users_exists(users *u, int64_t user_id, char *name, size_t cap)
{
  pthread_rwlock_rdlock(&u->lock);
  user *x = find_user(u, user_id);
  if(x && name) snprintf(name, cap, "%s", x->name);
  pthread_rwlock_unlock(&u->lock);
  return x != NULL;
}

void users_counts(users *u, int64_t *nusers, int64_t *nenabled, int64_t *nkeys)
{
  int64_t a = 0, b = 0, k = 0;
  pthread_rwlock_rdlock(&u->lock);
  for(size_t i = 0; i < u->n; i++) {
    user *x = u->v[i];
    a++;
    pthread_mutex_lock(&x->mu);
    b += !x->disabled;
    pthread_mutex_unlock(&x->mu);
    for(size_t j = 0; j < x->nkeys; j++) k += !x->keys[j]->revoked_at;
  }
  pthread_rwlock_unlock(&u->lock);
  *nusers = a; *nenabled = b; *nkeys = k;
}

/* ---- admin changes ---- */

/* A new random key: "gg-" + 43 base64url characters (256 bits).  Its hash in hex into hexhash. */
static bool new_key(char key[64], uint8_t hash[32], char hexhash[65])
{
  uint8_t raw[32];
  if(!crypto_random(raw, sizeof raw)) return false;
  memcpy(key, KEY_PREFIX, 3);
  crypto_b64url(raw, sizeof raw, key + 3, 61);
  crypto_sha256(key, strlen(key), hash);
  crypto_hex(hash, 32, hexhash);
  return true;
}

/* Inserts a key for user_id (inside the caller's transaction); fills *k's fields. */
static int insert_key(struct store_conn *c, int64_t user_id, const char *name, int64_t now,
                      char key[64], uint8_t hash[32], char prefix[16], int64_t *key_id)
{
  char hex[65];
  if(!new_key(key, hash, hex)) return -1;
  snprintf(prefix, 16, "%.*s", PREFIX_SHOWN, key);
  store_stmt *st = store_prepare(c, "INSERT INTO access_keys (user_id, name, prefix, hash, created_at)"
                                    " VALUES (?, ?, ?, ?, ?) RETURNING id");
  if(!st) return -1;
  store_bind_int(st, 1, user_id);
  store_bind_text(st, 2, name);
  store_bind_text(st, 3, prefix);
  store_bind_text(st, 4, hex);
  store_bind_int(st, 5, now);
  int rc = store_step(st) == STORE_ROW ? 0 : -1;
  *key_id = rc ? 0 : store_col_int(st, 0);
  while(rc == 0 && store_step(st) == STORE_ROW) {}
  store_reset(st);
  return rc;
}

/* The answer to a key creation: the user, plus the key itself — shown this once. */
static json_t *created_json(users *u, int64_t user_id, int64_t key_id, const char *key, int64_t now)
{
  json_t *j = users_json(u, user_id, now);
  json_t *o = json_pack("{s:s,s:I,s:I,s:s,s:s,s:o}", "status", "ok", "user_id", (json_int_t)user_id,
                        "key_id", (json_int_t)key_id, "key", key, "note",
                        "store this key now: it is shown only once", "user", j ? j : json_null());
  return o;
}

gg_rc users_create(users *u, struct store_conn *c, const char *name, const user_limits *l, const char *key_name, json_t **out, gg_err *e)
{
  int64_t now = now_ms(), uid = 0, kid = 0;
  char key[64], prefix[16];
  uint8_t hash[32];
  pthread_mutex_lock(&u->admin);
  int ok = store_begin(c) == 0;
  store_stmt *st = ok ? store_prepare(c, "INSERT INTO users (name, rpm, tpm, rpd, daily_budget_e4, monthly_budget_e4,"
                                         " models, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id") : NULL;
  if(st) {
    store_bind_text(st, 1, name);
    store_bind_int(st, 2, l->rpm);
    store_bind_int(st, 3, l->tpm);
    store_bind_int(st, 4, l->rpd);
    store_bind_int(st, 5, l->daily_budget_e4);
    store_bind_int(st, 6, l->monthly_budget_e4);
    store_bind_text(st, 7, l->models);
    store_bind_int(st, 8, now);
    store_bind_int(st, 9, now);
    ok = store_step(st) == STORE_ROW;
    uid = ok ? store_col_int(st, 0) : 0;
    while(ok && store_step(st) == STORE_ROW) {}
    store_reset(st);
  } else ok = 0;
  ok = ok && insert_key(c, uid, key_name ? key_name : name, now, key, hash, prefix, &kid) == 0;
  ok = ok && store_commit(c) == 0;
  if(!ok) {
    log_error("users: cannot create a user: %s", store_error(c));
    store_rollback(c);
    pthread_mutex_unlock(&u->admin);
    return gg_fail(e, GG_DB, STORE_FAILED);
  }
  pthread_rwlock_wrlock(&u->lock);
  user *x = add_user(u, uid, name, now);
  if(x) {
    x->lim = *l;
    roll(x, now);
    add_key(x, kid, hash, prefix, key_name ? key_name : name, now, 0);
  }
  rebuild_slots(u);
  pthread_rwlock_unlock(&u->lock);
  pthread_mutex_unlock(&u->admin);
  *out = created_json(u, uid, kid, key, now);
  return GG_OK;
}

gg_rc users_add_key(users *u, struct store_conn *c, int64_t user_id, const char *key_name, json_t **out, gg_err *e)
{
  int64_t now = now_ms(), kid = 0;
  char key[64], prefix[16], name[64];
  uint8_t hash[32];
  if(!users_exists(u, user_id, name, sizeof name)) return gg_fail(e, GG_NOT_FOUND, NO_USER);
  pthread_mutex_lock(&u->admin);
  int ok = store_begin(c) == 0 && insert_key(c, user_id, key_name ? key_name : name, now, key, hash, prefix, &kid) == 0 &&
           store_commit(c) == 0;
  if(!ok) {
    log_error("users: cannot add a key: %s", store_error(c));
    store_rollback(c);
    pthread_mutex_unlock(&u->admin);
    return gg_fail(e, GG_DB, STORE_FAILED);
  }
  pthread_rwlock_wrlock(&u->lock);
  user *x = find_user(u, user_id);
  if(x) add_key(x, kid, hash, prefix, key_name ? key_name : name, now, 0);
  rebuild_slots(u);
  pthread_rwlock_unlock(&u->lock);
  pthread_mutex_unlock(&u->admin);
  *out = created_json(u, user_id, kid, key, now);
  return GG_OK;
}

gg_rc users_update(users *u, struct store_conn *c, int64_t user_id, const char *name, const user_limits *l, int have, json_t **out, gg_err *e)
{
  int64_t now = now_ms();
  pthread_mutex_lock(&u->admin);
  pthread_rwlock_rdlock(&u->lock);
  user *x = find_user(u, user_id);
  user_limits nl;
  if(x) {
    pthread_mutex_lock(&x->mu);
    nl = x->lim;
    pthread_mutex_unlock(&x->mu);
  }
  pthread_rwlock_unlock(&u->lock);
  if(!x) { pthread_mutex_unlock(&u->admin); return gg_fail(e, GG_NOT_FOUND, NO_USER); }
  if(have & USERS_F_RPM) nl.rpm = l->rpm;
  if(have & USERS_F_TPM) nl.tpm = l->tpm;
  if(have & USERS_F_RPD) nl.rpd = l->rpd;
  if(have & USERS_F_DAILY) nl.daily_budget_e4 = l->daily_budget_e4;
  if(have & USERS_F_MONTHLY) nl.monthly_budget_e4 = l->monthly_budget_e4;
  if(have & USERS_F_MODELS) memcpy(nl.models, l->models, sizeof nl.models);
  int64_t rc = store_do(c, "UPDATE users SET name = COALESCE(?, name), rpm = ?, tpm = ?, rpd = ?, daily_budget_e4 = ?,"
                           " monthly_budget_e4 = ?, models = ?, updated_at = ? WHERE id = ?", "tiiiiitii",
                        name, nl.rpm, nl.tpm, nl.rpd, nl.daily_budget_e4, nl.monthly_budget_e4, nl.models, now, user_id);
  if(rc < 0) {
    log_error("users: cannot update user %lld: %s", (long long)user_id, store_error(c));
    pthread_mutex_unlock(&u->admin);
    return gg_fail(e, GG_DB, STORE_FAILED);
  }
  pthread_rwlock_wrlock(&u->lock);
  pthread_mutex_lock(&x->mu);
  x->lim = nl;
  if(name) snprintf(x->name, sizeof x->name, "%s", name);
  pthread_mutex_unlock(&x->mu);
  pthread_rwlock_unlock(&u->lock);
  pthread_mutex_unlock(&u->admin);
  *out = users_json(u, user_id, now);
  return GG_OK;
}

gg_rc users_set_disabled(users *u, struct store_conn *c, int64_t user_id, bool disabled, json_t **out, gg_err *e)
{
  int64_t now = now_ms();
  if(!users_exists(u, user_id, NULL, 0)) return gg_fail(e, GG_NOT_FOUND, NO_USER);
  pthread_mutex_lock(&u->admin);
  if(store_do(c, "UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?", "iii", (int64_t)disabled, now, user_id) < 0) {
    pthread_mutex_unlock(&u->admin);
    return gg_fail(e, GG_DB, STORE_FAILED);
  }
  pthread_rwlock_rdlock(&u->lock);
  user *x = find_user(u, user_id);
  pthread_mutex_lock(&x->mu);
  x->disabled = disabled;
  pthread_mutex_unlock(&x->mu);
  pthread_rwlock_unlock(&u->lock);
  pthread_mutex_unlock(&u->admin);
  *out = users_json(u, user_id, now);
  return GG_OK;
}

gg_rc users_revoke_key(users *u, struct store_conn *c, int64_t user_id, int64_t key_id, json_t **out, gg_err *e)
{
  int64_t now = now_ms();
  pthread_mutex_lock(&u->admin);
  pthread_rwlock_rdlock(&u->lock);
  user *x = find_user(u, user_id);
  akey *k = NULL;
  for(size_t i = 0; x && i < x->nkeys; i++) if(x->keys[i]->id == key_id) k = x->keys[i];
  pthread_rwlock_unlock(&u->lock);
  if(!k) { pthread_mutex_unlock(&u->admin); return gg_fail(e, GG_NOT_FOUND, "no such access key for this user"); }
  if(!k->revoked_at &&
     store_do(c, "UPDATE access_keys SET revoked_at = ? WHERE id = ? AND user_id = ?", "iii", now, key_id, user_id) < 0) {
    pthread_mutex_unlock(&u->admin);
    return gg_fail(e, GG_DB, STORE_FAILED);
  }
  pthread_rwlock_wrlock(&u->lock);
  if(!k->revoked_at) k->revoked_at = now;
  rebuild_slots(u);
  pthread_rwlock_unlock(&u->lock);
  pthread_mutex_unlock(&u->admin);
  *out = users_json(u, user_id, now);
  return GG_OK;
}
