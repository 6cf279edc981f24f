/* rshare — shared state through Redis; contract in rshare.h.
 *
 * Why one thread of its own rather than a connection per worker loop: what goes to Redis is
 * rare (a mark is taken on a 429, an invalid key, a failure run; a notice on an admin change),
 * and what comes back must reach one pool, so one pair of connections serves every worker and
 * each worker's hot path stays free of Redis altogether.  Hand-off is a mutex-guarded list. */
#include "shared/rshare.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "base/log.h"
#include "base/util.h"
#include "pool/owners.h"

#define MARKS_KEY "gemgate:marks"          /* hash: field per mark, value "kind until reason" */
/* The channel, "gemgate:events:<db>" ("<instance> mark …", "<instance> settings|keys"): pub/sub
 * ignores SELECT, so the database number keeps deployments sharing one Redis apart. */
#define QUEUE_MAX 4096                     /* marks waiting for the loop; beyond, dropped */
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000
#define PING_MS 1000
#define PING_DEAD_MS 2000

/* HSET (a cooldown only when it ends later than the one stored; "" deletes) and PUBLISH, in
 * one step that no other instance can interleave with. */
static const char MARK_LUA[] =
  "local f, v, t = ARGV[1], ARGV[2], tonumber(ARGV[4])\n"
  "if v == '' then redis.call('HDEL', KEYS[1], f)\n"
  "elseif t == 0 then redis.call('HSET', KEYS[1], f, v)\n"
  "else\n"
  "  local cur = redis.call('HGET', KEYS[1], f)\n"
  "  local old = cur and tonumber(string.match(cur, '^%d+ (%d+)')) or 0\n"
  "  if old < t then redis.call('HSET', KEYS[1], f, v) end\n"
  "end\n"
  "return redis.call('PUBLISH', KEYS[2], ARGV[3])\n";

/* A command for the loop; cb (or on_reply) gets its answer with priv. */
typedef struct qitem { struct qitem *next; char *cmd; int len; redisCallbackFn *cb; void *priv; } qitem;

struct rshare {
  char host[256], pass[256], shown[320], id[17], channel[48];
  int port, db;
  keypool *kp;
  struct owners *owners;                   /* rshare_share_owners, or NULL */
  rshare_change_fn on_change;
  void *ctx;
  struct event_base *base;
  struct event *wake, *retry, *tick;
  pthread_t thread;
  pthread_mutex_t mu;                      /* guards the queue and stopping */
  qitem *head, *tail;
  size_t qlen;
  bool stopping;
  /* loop thread only */
  redisAsyncContext *cmd, *sub;
  bool cmd_ok, sub_ok, ever_up, down_logged, ping_out;
  int64_t backoff_ms, ping_sent;
  atomic_bool up;
  atomic_llong marks_sent, marks_received, notices, reconnects, dropped;
};

static void start_connect(rshare *r);

static bool stopping(rshare *r)
{
  pthread_mutex_lock(&r->mu);
  bool s = r->stopping;
  pthread_mutex_unlock(&r->mu);
  return s;
}

/* ---- the queue (any thread) ---- */

static bool enqueue_cb(rshare *r, char *cmd, int len, redisCallbackFn *cb, void *priv)
{
  qitem *q = len > 0 ? malloc(sizeof *q) : NULL;
  pthread_mutex_lock(&r->mu);
  if(!q || r->stopping || r->qlen >= QUEUE_MAX || !atomic_load(&r->up)) {
    pthread_mutex_unlock(&r->mu);
    free(q);
    if(len > 0) redisFreeCommand(cmd);
    atomic_fetch_add(&r->dropped, 1);
    return false;
  }
  *q = (qitem){ NULL, cmd, len, cb, priv };
  if(r->tail) r->tail->next = q; else r->head = q;
  r->tail = q;
  r->qlen++;
  pthread_mutex_unlock(&r->mu);
  event_active(r->wake, EV_READ, 0);
  return true;
}

static void enqueue(rshare *r, char *cmd, int len) { enqueue_cb(r, cmd, len, NULL, NULL); }

/* The EVAL that stores and publishes m; its length, or -1. */
static int format_mark(rshare *r, const kp_mark *m, char **out)
{
  char field[160], value[64], msg[256];
  if(m->kind == KP_MARK_COOL) snprintf(field, sizeof field, "%s|c|%s", m->key_hash, m->model);
  else snprintf(field, sizeof field, "%s|k", m->key_hash);
  if(m->kind == KP_MARK_CLEAR) value[0] = 0;
  else snprintf(value, sizeof value, "%d %lld %d", (int)m->kind, (long long)m->until_ms, (int)m->reason);
  snprintf(msg, sizeof msg, "%s mark %d %s %lld %d %s", r->id, (int)m->kind, m->key_hash,
           (long long)m->until_ms, (int)m->reason, m->model);
  long long t = m->kind == KP_MARK_COOL ? (long long)m->until_ms : 0;
  return redisFormatCommand(out, "EVAL %s 2 %s %s %s %s %s %lld", MARK_LUA, MARKS_KEY, r->channel, field, value, msg, t);
}

/* The pool's observer: with the pool's mutex held, so it only formats and queues. */
static void observe(void *ctx, const kp_mark *m)
{
  rshare *r = ctx;
  if(!atomic_load(&r->up)) { atomic_fetch_add(&r->dropped, 1); return; }
  char *cmd = NULL;
  int len = format_mark(r, m, &cmd);
  enqueue(r, cmd, len);
}

/* ---- replies (loop thread) ---- */

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
  redisReply *rp = reply;
  if(rp && rp->type == REDIS_REPLY_ERROR) log_warn("redis: %s", rp->str);
}

static void on_pong(redisAsyncContext *ac, void *reply, void *priv)
{
  rshare *r = priv;
  if(reply) r->ping_out = false;
}

/* kp_marks_each's callback on reconnection: straight to the command connection. */
static void push_mark(void *ctx, const kp_mark *m)
{
  rshare *r = ctx;
  char *cmd = NULL;
  int len = format_mark(r, m, &cmd);
  if(len <= 0) return;
  if(r->cmd && redisAsyncFormattedCommand(r->cmd, on_reply, NULL, cmd, (size_t)len) == REDIS_OK)
    atomic_fetch_add(&r->marks_sent, 1);
  redisFreeCommand(cmd);
}

/* "<hash>|c|<model>" or "<hash>|k" with "kind until reason" into m; false when malformed. */
static bool parse_stored(const char *field, const char *value, kp_mark *m)
{
  memset(m, 0, sizeof *m);
  if(strlen(field) < 66 || field[64] != '|') return false;
  memcpy(m->key_hash, field, 64);
  if(!strncmp(field + 65, "c|", 2)) snprintf(m->model, sizeof m->model, "%s", field + 67);
  else if(strcmp(field + 65, "k")) return false;
  int kind, reason;
  long long until;
  if(sscanf(value, "%d %lld %d", &kind, &until, &reason) != 3 || kind < KP_MARK_COOL || kind > KP_MARK_CLEAR
     || reason < QUOTA_UNSTATED || reason > QUOTA_PER_DAY)
    return false;
  m->kind = (kp_mark_kind)kind;
  m->until_ms = until;
  m->reason = (quota_period)reason;
  return true;
}

/* HGETALL's answer after a (re)connection: other instances' marks into the pool; cooldowns
 * that are over leave the hash. */
static void on_marks(redisAsyncContext *ac, void *reply, void *priv)
{
  rshare *r = priv;
  redisReply *rp = reply;
  if(!rp || rp->type != REDIS_REPLY_ARRAY) return;
  int64_t now = now_ms();
  size_t applied = 0;
  for(size_t i = 0; i + 1 < rp->elements; i += 2) {
    kp_mark m;
    const char *f = rp->element[i]->str, *v = rp->element[i + 1]->str;
    if(!f || !v || !parse_stored(f, v, &m)) continue;
    if(m.kind == KP_MARK_COOL && m.until_ms <= now) {
      redisAsyncCommand(ac, NULL, NULL, "HDEL %s %s", MARKS_KEY, f);
      continue;
    }
    applied += (size_t)kp_apply_mark(r->kp, &m);
  }
  log_info("redis: %zu shared marks applied", applied);
}

/* A message on the channel from another instance. */
static void on_message(rshare *r, const char *msg)
{
  char origin[17], verb[16];
  int off = 0;
  if(sscanf(msg, "%16s %15s %n", origin, verb, &off) != 2 || !strcmp(origin, r->id)) return;
  if(!strcmp(verb, "mark")) {
    int kind, reason, n = 0;
    long long until;
    kp_mark m = { 0 };
    if(sscanf(msg + off, "%d %64s %lld %d %n", &kind, m.key_hash, &until, &reason, &n) != 4
       || kind < KP_MARK_COOL || kind > KP_MARK_CLEAR || reason < QUOTA_UNSTATED || reason > QUOTA_PER_DAY)
      return;
    snprintf(m.model, sizeof m.model, "%s", msg + off + n);
    m.kind = (kp_mark_kind)kind;
    m.until_ms = until;
    m.reason = (quota_period)reason;
    atomic_fetch_add(&r->marks_received, 1);
    kp_apply_mark(r->kp, &m);
  } else if(!strcmp(verb, "own")) {
    own_entry e = { 0 };
    int removed, kind, n = 0;
    long long user, created, tokens, expire, billed;
    char hash[OWN_HASH_LEN + 2], model[OWN_MODEL_MAX + 2];
    struct owners *o = __atomic_load_n(&r->owners, __ATOMIC_ACQUIRE);
    if(!o || sscanf(msg + off, "%d %d %lld %lld %lld %lld %lld %65s %64s %n", &removed, &kind, &user, &created, &tokens,
                    &expire, &billed, hash, model, &n) != 9
       || kind < 0 || kind >= OWN_NKINDS)
      return;
    snprintf(e.name, sizeof e.name, "%s", msg + off + n);
    e.kind = (own_kind)kind;
    e.user_id = user;
    e.created_ms = created;
    e.tokens = tokens;
    e.expire_ms = expire;
    e.billed_ms = billed;
    if(strlen(hash) > OWN_HASH_LEN || strlen(model) > OWN_MODEL_MAX) return;
    if(strcmp(hash, "-")) memcpy(e.key_hash, hash, strlen(hash) + 1);
    if(strcmp(model, "-")) memcpy(e.model, model, strlen(model) + 1);
    owners_apply(o, &e, removed != 0);
  } else if(r->on_change && (!strcmp(verb, "settings") || !strcmp(verb, "keys") || !strcmp(verb, "users"))) {
    atomic_fetch_add(&r->notices, 1);
    r->on_change(r->ctx, verb[0] == 's' ? RSHARE_SETTINGS : verb[0] == 'k' ? RSHARE_KEYS : RSHARE_USERS);
  }
}

static void publish_now(rshare *r, const char *verb)
{
  if(r->cmd) redisAsyncCommand(r->cmd, on_reply, NULL, "PUBLISH %s %s %s", r->channel, r->id, verb);
}

/* Both connections usable: share what each side has. */
static void ready(rshare *r)
{
  atomic_store(&r->up, true);
  r->backoff_ms = BACKOFF_MIN_MS;
  r->ping_out = false;
  size_t pushed = kp_marks_each(r->kp, now_ms(), push_mark, r);
  redisAsyncCommand(r->cmd, on_marks, r, "HGETALL %s", MARKS_KEY);
  if(r->ever_up) {
    /* Notices missed while apart, both ways: others reload, and so does this instance. */
    publish_now(r, "settings");
    publish_now(r, "keys");
    publish_now(r, "users");
    if(r->on_change) {
      r->on_change(r->ctx, RSHARE_SETTINGS);
      r->on_change(r->ctx, RSHARE_KEYS);
      r->on_change(r->ctx, RSHARE_USERS);
    }
    atomic_fetch_add(&r->reconnects, 1);
    log_warn("redis: up again at %s: %zu local marks pushed, resubscribed", r->shown, pushed);
  } else {
    log_info("redis: connected to %s (instance %s)", r->shown, r->id);
  }
  r->ever_up = true;
  r->down_logged = false;
}

static void on_sub(redisAsyncContext *ac, void *reply, void *priv)
{
  rshare *r = priv;
  redisReply *rp = reply;
  if(!rp || rp->type != REDIS_REPLY_ARRAY || rp->elements < 3 || !rp->element[0]->str) return;
  const char *type = rp->element[0]->str;
  if(!strcmp(type, "subscribe")) {
    r->sub_ok = true;
    if(r->cmd_ok && ac == r->sub) ready(r);
  } else if(!strcmp(type, "message") && rp->element[2]->str) {
    on_message(r, rp->element[2]->str);
  }
}

/* ---- connection life (loop thread) ---- */

/* A connection failed or closed (the one whose callback reports it is already NULL): close
 * the other, fall back to local state, retry later. */
static void lost(rshare *r, const char *why)
{
  bool was = atomic_exchange(&r->up, false);
  r->cmd_ok = r->sub_ok = r->ping_out = false;
  redisAsyncContext *c = r->cmd, *s = r->sub;
  r->cmd = r->sub = NULL;
  if(c) redisAsyncFree(c);
  if(s) redisAsyncFree(s);
  if(was) log_warn("redis: down (%s): using local state, reconnecting", why ? why : "closed");
  else if(!r->down_logged) log_warn("redis: cannot reach %s (%s): using local state, retrying", r->shown, why ? why : "closed");
  r->down_logged = true;
  if(!stopping(r) && !evtimer_pending(r->retry, NULL)) {
    struct timeval tv = { r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000 };
    evtimer_add(r->retry, &tv);
    r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
  }
}

/* Which of r's connections ac is; NULLs it (hiredis frees it after the callback). */
static bool forget(rshare *r, const redisAsyncContext *ac)
{
  if(ac == r->cmd) { r->cmd = NULL; return true; }
  if(ac == r->sub) { r->sub = NULL; return true; }
  return false;                                    /* one lost() already let go of */
}

static void on_connect(const redisAsyncContext *ac, int status)
{
  rshare *r = ac->data;
  if(status != REDIS_OK) {
    char why[128];
    snprintf(why, sizeof why, "%s", ac->errstr);
    if(forget(r, ac)) lost(r, why);
    return;
  }
  if(ac == r->cmd) {
    r->cmd_ok = true;
    if(r->sub_ok) ready(r);
  }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
  rshare *r = ac->data;
  char why[128];
  snprintf(why, sizeof why, "%s", status == REDIS_OK ? "closed" : ac->errstr);
  if(forget(r, ac)) lost(r, why);
}

static redisAsyncContext *open_one(rshare *r)
{
  redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);
  if(!ac) return NULL;
  if(ac->err) { redisAsyncFree(ac); return NULL; }
  ac->data = r;
  redisLibeventAttach(ac, r->base);
  redisAsyncSetConnectCallback(ac, on_connect);
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  if(r->pass[0]) redisAsyncCommand(ac, on_reply, NULL, "AUTH %s", r->pass);
  if(r->db) redisAsyncCommand(ac, on_reply, NULL, "SELECT %d", r->db);
  return ac;
}

static void start_connect(rshare *r)
{
  r->cmd = open_one(r);
  r->sub = r->cmd ? open_one(r) : NULL;
  if(!r->cmd || !r->sub) { lost(r, "connect failed"); return; }
  redisAsyncCommand(r->sub, on_sub, r, "SUBSCRIBE %s", r->channel);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
  rshare *r = arg;
  if(!r->cmd && !r->sub && !stopping(r)) start_connect(r);
}

/* Once a second: a PING on the command connection; one unanswered for 2 s means Redis hangs. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
  rshare *r = arg;
  if(!atomic_load(&r->up) || !r->cmd) return;
  int64_t now = now_ms();
  if(r->ping_out) {
    if(now - r->ping_sent > PING_DEAD_MS) lost(r, "no answer to PING");
    return;
  }
  r->ping_out = true;
  r->ping_sent = now;
  redisAsyncCommand(r->cmd, on_pong, r, "PING");
}

/* The queue into the command connection, or the stop. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
  rshare *r = arg;
  pthread_mutex_lock(&r->mu);
  qitem *q = r->head;
  r->head = r->tail = NULL;
  r->qlen = 0;
  bool stop = r->stopping;
  pthread_mutex_unlock(&r->mu);
  while(q) {
    qitem *next = q->next;
    if(!stop && r->cmd && atomic_load(&r->up)
       && redisAsyncFormattedCommand(r->cmd, q->cb ? q->cb : on_reply, q->priv, q->cmd, (size_t)q->len) == REDIS_OK) {
      if(!q->cb) atomic_fetch_add(&r->marks_sent, 1);
    } else {
      atomic_fetch_add(&r->dropped, 1);
      if(q->cb) q->cb(NULL, NULL, q->priv);        /* no answer: the waiter goes on without */
    }
    redisFreeCommand(q->cmd);
    free(q);
    q = next;
  }
  if(stop) {
    atomic_store(&r->up, false);
    redisAsyncContext *c = r->cmd, *s = r->sub;
    r->cmd = r->sub = NULL;
    if(c) redisAsyncFree(c);
    if(s) redisAsyncFree(s);
    event_base_loopbreak(r->base);
  }
}

static void *loop_main(void *arg)
{
  rshare *r = arg;
  start_connect(r);
  event_base_dispatch(r->base);
  return NULL;
}

/* ---- per-user windows ---- */

/* One user's RPM (a sliding minute: a sorted set of admission times), TPM (tokens per second in
 * a hash, the last 60 seconds summed) and RPD (a counter per UTC day), checked and counted in one
 * step.  Answers {verdict, retry_ms}: 0 admitted (counted), 1 RPM, 2 RPD, 3 TPM. */
static const char USER_LUA[] =
  "local now, rpm, tpm, rpd = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
  "if rpd > 0 and tonumber(redis.call('GET', KEYS[3]) or '0') >= rpd then return {2, 0} end\n"
  "if tpm > 0 then\n"
  "  local sec, sum, h = math.floor(now / 1000), 0, redis.call('HGETALL', KEYS[2])\n"
  "  for i = 1, #h, 2 do\n"
  "    if tonumber(h[i]) <= sec - 60 then redis.call('HDEL', KEYS[2], h[i]) else sum = sum + tonumber(h[i + 1]) end\n"
  "  end\n"
  "  if sum >= tpm then return {3, 60000} end\n"
  "end\n"
  "if rpm > 0 then\n"
  "  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)\n"
  "  if redis.call('ZCARD', KEYS[1]) >= rpm then\n"
  "    local o = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
  "    return {1, tonumber(o[2]) + 60000 - now}\n"
  "  end\n"
  "  redis.call('ZADD', KEYS[1], now, ARGV[5])\n"
  "  redis.call('PEXPIRE', KEYS[1], 61000)\n"
  "end\n"
  "if rpd > 0 then redis.call('INCR', KEYS[3]); redis.call('PEXPIRE', KEYS[3], 90000000) end\n"
  "return {0, 0}\n";

struct rshare_wait {
  rshare_verdict_fn fn;
  void *arg;
  struct event_base *base;
  atomic_bool cancelled;
  int verdict;
  int64_t retry_ms;
};

static atomic_llong admissions;      /* a unique member for the sorted sets, with the instance id */

/* On the caller's loop: the verdict, unless the caller gave up meanwhile. */
static void deliver(evutil_socket_t fd, short what, void *arg)
{
  rshare_wait *w = arg;
  if(!atomic_load(&w->cancelled)) w->fn(w->arg, w->verdict, w->retry_ms);
  free(w);
}

/* On rshare's loop (or from a failed hand-off: ac NULL): the script's answer to the waiter. */
static void on_verdict(redisAsyncContext *ac, void *reply, void *priv)
{
  rshare_wait *w = priv;
  redisReply *rp = reply;
  w->verdict = -1;
  if(rp && rp->type == REDIS_REPLY_ARRAY && rp->elements == 2 && rp->element[0]->type == REDIS_REPLY_INTEGER) {
    w->verdict = (int)rp->element[0]->integer;
    w->retry_ms = rp->element[1]->type == REDIS_REPLY_INTEGER ? rp->element[1]->integer : 1000;
  } else if(rp && rp->type == REDIS_REPLY_ERROR) {
    log_warn("redis: %s", rp->str);
  }
  struct timeval now = { 0, 0 };
  if(atomic_load(&w->cancelled) || event_base_once(w->base, -1, EV_TIMEOUT, deliver, w, &now)) free(w);
}

rshare_wait *rshare_user_check(rshare *r, struct event_base *base, int64_t user_id, int64_t rpm, int64_t tpm,
                               int64_t rpd, int64_t now, rshare_verdict_fn fn, void *arg)
{
  if(!r || !atomic_load(&r->up)) return NULL;
  rshare_wait *w = malloc(sizeof *w);
  if(!w) return NULL;
  *w = (rshare_wait){ .fn = fn, .arg = arg, .base = base };
  atomic_init(&w->cancelled, false);
  char km[64], kt[64], kd[80], member[48];
  snprintf(km, sizeof km, "gemgate:u:%lld:m", (long long)user_id);
  snprintf(kt, sizeof kt, "gemgate:u:%lld:t", (long long)user_id);
  snprintf(kd, sizeof kd, "gemgate:u:%lld:d:%lld", (long long)user_id, (long long)(now / 86400000));
  snprintf(member, sizeof member, "%s-%lld", r->id, (long long)atomic_fetch_add(&admissions, 1));
  char *cmd = NULL;
  int len = redisFormatCommand(&cmd, "EVAL %s 3 %s %s %s %lld %lld %lld %lld %s", USER_LUA, km, kt, kd, (long long)now,
                               (long long)rpm, (long long)tpm, (long long)rpd, member);
  if(!enqueue_cb(r, cmd, len, on_verdict, w)) { free(w); return NULL; }
  return w;
}

void rshare_wait_cancel(rshare_wait *w)
{
  if(w) atomic_store(&w->cancelled, true);
}

void rshare_user_tokens(rshare *r, int64_t user_id, int64_t tokens, int64_t now)
{
  if(!r || tokens <= 0 || !atomic_load(&r->up)) return;
  char kt[64];
  snprintf(kt, sizeof kt, "gemgate:u:%lld:t", (long long)user_id);
  char *cmd = NULL;
  int len = redisFormatCommand(&cmd, "EVAL %s 1 %s %lld %lld", "redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2]) "
                               "return redis.call('PEXPIRE', KEYS[1], 61000)", kt, (long long)(now / 1000), (long long)tokens);
  enqueue(r, cmd, len);
}

/* ---- resource owners ---- */

/* owners' observer: a resource this instance created or deleted, to the others. */
static void observe_owner(void *ctx, const own_entry *e, bool removed)
{
  rshare *r = ctx;
  if(!atomic_load(&r->up)) { atomic_fetch_add(&r->dropped, 1); return; }
  char msg[512];
  snprintf(msg, sizeof msg, "%s own %d %d %lld %lld %lld %lld %lld %s %s %s", r->id, removed ? 1 : 0, (int)e->kind,
           (long long)e->user_id, (long long)e->created_ms, (long long)e->tokens, (long long)e->expire_ms,
           (long long)e->billed_ms, e->key_hash[0] ? e->key_hash : "-", e->model[0] ? e->model : "-", e->name);
  char *cmd = NULL;
  int len = redisFormatCommand(&cmd, "PUBLISH %s %s", r->channel, msg);
  enqueue(r, cmd, len);
}

void rshare_share_owners(rshare *r, struct owners *o)
{
  if(!r || !o) return;
  __atomic_store_n(&r->owners, o, __ATOMIC_RELEASE);    /* read by the loop thread */
  owners_set_observer(o, observe_owner, r);
}

/* ---- the URL ---- */

/* redis://[[user]:password@]host[:port][/db] into r; NULL or the complaint. */
static const char *parse_url(rshare *r, const char *url)
{
  if(strncmp(url, "redis://", 8)) return "GEMGATE_REDIS must be redis://[:password@]host[:port][/db]";
  const char *p = url + 8, *at = strrchr(p, '@'), *slash;
  if(at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    if(colon && (size_t)(at - colon - 1) < sizeof r->pass) snprintf(r->pass, sizeof r->pass, "%.*s", (int)(at - colon - 1), colon + 1);
    p = at + 1;
  }
  slash = strchr(p, '/');
  size_t hl = slash ? (size_t)(slash - p) : strlen(p);
  const char *colon = NULL;
  if(*p == '[') {                                  /* [::1]:6379 */
    const char *close = memchr(p, ']', hl);
    if(!close) return "GEMGATE_REDIS: unclosed [ in the host";
    snprintf(r->host, sizeof r->host, "%.*s", (int)(close - p - 1), p + 1);
    colon = close + 1 < p + hl && close[1] == ':' ? close + 1 : NULL;
  } else {
    colon = memchr(p, ':', hl);
    size_t n = colon ? (size_t)(colon - p) : hl;
    if(n >= sizeof r->host) return "GEMGATE_REDIS: host too long";
    snprintf(r->host, sizeof r->host, "%.*s", (int)n, p);
  }
  if(!r->host[0]) snprintf(r->host, sizeof r->host, "127.0.0.1");
  r->port = 6379;
  if(colon) {
    char *end;
    long v = strtol(colon + 1, &end, 10);
    if(end == colon + 1 || end != p + hl || v < 1 || v > 65535) return "GEMGATE_REDIS: the port must be 1..65535";
    r->port = (int)v;
  }
  if(slash && slash[1]) {
    char *end;
    long v = strtol(slash + 1, &end, 10);
    if(*end || v < 0 || v > 1000000) return "GEMGATE_REDIS: the database must be a number";
    r->db = (int)v;
  }
  snprintf(r->channel, sizeof r->channel, "gemgate:events:%d", r->db);
  snprintf(r->shown, sizeof r->shown, "redis://%s%s:%d/%d", r->pass[0] ? "***@" : "", r->host, r->port, r->db);
  return NULL;
}

/* ---- the public face ---- */

rshare *rshare_start(const char *url, keypool *kp, rshare_change_fn on_change, void *ctx, char *err, size_t errcap)
{
  rshare *r = calloc(1, sizeof *r);
  if(!r) { snprintf(err, errcap, "out of memory"); return NULL; }
  const char *bad = parse_url(r, url);
  if(bad) { snprintf(err, errcap, "%s", bad); free(r); return NULL; }
  uint8_t rnd[8];
  FILE *f = fopen("/dev/urandom", "rb");
  if(!f || fread(rnd, 1, sizeof rnd, f) != sizeof rnd) for(size_t i = 0; i < sizeof rnd; i++) rnd[i] = (uint8_t)random();
  if(f) fclose(f);
  for(size_t i = 0; i < sizeof rnd; i++) snprintf(r->id + 2 * i, 3, "%02x", rnd[i]);
  r->kp = kp;
  r->on_change = on_change;
  r->ctx = ctx;
  r->backoff_ms = BACKOFF_MIN_MS;
  pthread_mutex_init(&r->mu, NULL);
  evthread_use_pthreads();                         /* event_active from other threads */
  struct timeval sec = { PING_MS / 1000, 0 };
  if(!(r->base = event_base_new()) || !(r->wake = event_new(r->base, -1, 0, on_wake, r))
     || !(r->retry = evtimer_new(r->base, on_retry, r)) || !(r->tick = event_new(r->base, -1, EV_PERSIST, on_tick, r))
     || event_add(r->tick, &sec)) {
    snprintf(err, errcap, "cannot make an event loop");
    goto fail;
  }
  kp_set_observer(kp, observe, r);
  if(pthread_create(&r->thread, NULL, loop_main, r)) {
    kp_set_observer(kp, NULL, NULL);
    snprintf(err, errcap, "cannot start a thread");
    goto fail;
  }
  return r;
fail:
  if(r->tick) event_free(r->tick);
  if(r->retry) event_free(r->retry);
  if(r->wake) event_free(r->wake);
  if(r->base) event_base_free(r->base);
  pthread_mutex_destroy(&r->mu);
  free(r);
  return NULL;
}

void rshare_stop(rshare *r)
{
  if(!r) return;
  kp_set_observer(r->kp, NULL, NULL);
  if(r->owners) owners_set_observer(r->owners, NULL, NULL);
  pthread_mutex_lock(&r->mu);
  r->stopping = true;
  pthread_mutex_unlock(&r->mu);
  event_active(r->wake, EV_READ, 0);
  pthread_join(r->thread, NULL);
  event_free(r->tick);
  event_free(r->retry);
  event_free(r->wake);
  event_base_free(r->base);
  pthread_mutex_destroy(&r->mu);
  memset(r->pass, 0, sizeof r->pass);
  free(r);
}

bool rshare_up(rshare *r) { return r && atomic_load(&r->up); }

void rshare_publish(rshare *r, rshare_topic t)
{
  if(!r || !atomic_load(&r->up)) return;
  char *cmd = NULL;
  char msg[64];
  snprintf(msg, sizeof msg, "%s %s", r->id, t == RSHARE_SETTINGS ? "settings" : t == RSHARE_KEYS ? "keys" : "users");
  int len = redisFormatCommand(&cmd, "PUBLISH %s %s", r->channel, msg);
  enqueue(r, cmd, len);
}

struct event_base *rshare_base(rshare *r) { return r->base; }

json_t *rshare_json(rshare *r)
{
  return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "state", rshare_up(r) ? "up" : "down", "url", r->shown,
                   "instance", r->id, "marks_sent", (json_int_t)atomic_load(&r->marks_sent),
                   "marks_received", (json_int_t)atomic_load(&r->marks_received),
                   "notices_received", (json_int_t)atomic_load(&r->notices),
                   "reconnects", (json_int_t)atomic_load(&r->reconnects), "dropped", (json_int_t)atomic_load(&r->dropped));
}
