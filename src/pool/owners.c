/* owners — the resource ownership map and its writer; contract in owners.h. */
#include "pool/owners.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/store.h"

typedef struct node {
  struct node *hnext;               /* the bucket's chain */
  struct node *older, *newer;       /* the list, newest first */
  int64_t user_id, created_ms;
  int64_t tokens, expire_ms, billed_ms, reserved_nanos;
  uint8_t kind;
  char key_hash[OWN_HASH_LEN + 1];
  char model[OWN_MODEL_MAX + 1];
  char name[];
} node;

/* A change queued for the writer. */
typedef struct op {
  struct op *next;
  bool del;
  own_entry e;
} op;

struct owners {
  pthread_mutex_t mu;
  size_t cap, n;
  node **buckets;
  size_t nbuckets;                  /* a power of two */
  node *newest, *oldest;
  /* the writer */
  store_conn *c;
  pthread_t thread;
  pthread_cond_t cv;
  op *head, *tail;
  size_t nops;
  bool running, closing;
  int64_t last_drop_log;
  own_observer observer;            /* shared state (owners_set_observer), or NULL */
  void *observer_ctx;
};

static const char *const kind_names[OWN_NKINDS] = {
  [OWN_FILE] = "file", [OWN_CACHE] = "cachedContent", [OWN_BATCH] = "batch",
  [OWN_INTERACTION] = "interaction", [OWN_OPERATION] = "operation",
  [OWN_TUNED_MODEL] = "tunedModel", [OWN_FILE_SEARCH_STORE] = "fileSearchStore",
  [OWN_CORPUS] = "corpus",
};

const char *own_kind_name(own_kind k) { return (unsigned)k < OWN_NKINDS ? kind_names[k] : "?"; }

int own_kind_parse(const char *s)
{
  for(int i = 0; s && i < OWN_NKINDS; i++)
    if(!strcmp(s, kind_names[i])) return i;
  return -1;
}

int own_kind_of(str name)
{
  static const struct { str prefix; own_kind kind; } coll[] = {
    { STR("files/"), OWN_FILE }, { STR("cachedContents/"), OWN_CACHE }, { STR("batches/"), OWN_BATCH },
    { STR("interactions/"), OWN_INTERACTION }, { STR("operations/"), OWN_OPERATION },
    { STR("tunedModels/"), OWN_TUNED_MODEL }, { STR("fileSearchStores/"), OWN_FILE_SEARCH_STORE },
    { STR("corpora/"), OWN_CORPUS },
  };
  for(size_t i = 0; i < ARRAY_LEN(coll); i++)
    if(str_starts(name, coll[i].prefix) && name.n > coll[i].prefix.n) return (int)coll[i].kind;
  /* models/{m}/operations/{id}: a long-running generation (Veo) */
  if(str_starts(name, STR("models/")) && memmem(name.p, name.n, "/operations/", 12)) return OWN_OPERATION;
  return -1;
}

/* ---- the map (mutex held) ---- */

static size_t bucket_of(const owners *o, const char *p, size_t n) { return hash64(p, n) & (o->nbuckets - 1); }

static node *find(const owners *o, str name)
{
  for(node *x = o->buckets[bucket_of(o, name.p, name.n)]; x; x = x->hnext)
    if(strlen(x->name) == name.n && !memcmp(x->name, name.p, name.n)) return x;
  return NULL;
}

static void grow(owners *o)
{
  size_t nb = o->nbuckets * 2;
  node **b = calloc(nb, sizeof *b);
  if(!b) return;                    /* longer chains, still correct */
  for(size_t i = 0; i < o->nbuckets; i++)
    for(node *x = o->buckets[i], *next; x; x = next) {
      next = x->hnext;
      size_t j = hash64(x->name, strlen(x->name)) & (nb - 1);
      x->hnext = b[j];
      b[j] = x;
    }
  free(o->buckets);
  o->buckets = b;
  o->nbuckets = nb;
}

static void unlink_node(owners *o, node *x)
{
  node **pp = &o->buckets[bucket_of(o, x->name, strlen(x->name))];
  while(*pp != x) pp = &(*pp)->hnext;
  *pp = x->hnext;
  if(x->newer) x->newer->older = x->older; else o->newest = x->older;
  if(x->older) x->older->newer = x->newer; else o->oldest = x->newer;
  o->n--;
}

static void to_entry(const node *x, own_entry *e)
{
  snprintf(e->name, sizeof e->name, "%s", x->name);
  e->kind = (own_kind)x->kind;
  memcpy(e->key_hash, x->key_hash, sizeof e->key_hash);
  e->user_id = x->user_id;
  memcpy(e->model, x->model, sizeof e->model);
  e->created_ms = x->created_ms;
  e->tokens = x->tokens;
  e->expire_ms = x->expire_ms;
  e->billed_ms = x->billed_ms;
  e->reserved_nanos = x->reserved_nanos;
}

/* ---- the writer ---- */

static void enqueue(owners *o, bool del, const own_entry *e)
{
  if(!o->running || o->closing) return;
  if(o->nops >= OWNERS_QUEUE_MAX) {
    int64_t now = now_ms();
    if(now - o->last_drop_log > 60000) {
      o->last_drop_log = now;
      log_warn("resources: the database writer is behind by %zu changes; new ones stay in memory only", o->nops);
    }
    return;
  }
  op *p = malloc(sizeof *p);
  if(!p) return;
  p->next = NULL;
  p->del = del;
  p->e = *e;
  if(o->tail) o->tail->next = p; else o->head = p;
  o->tail = p;
  o->nops++;
  pthread_cond_signal(&o->cv);
}

static void write_ops(store_conn *c, op *list)
{
  if(store_begin(c)) { log_warn("resources: cannot write: %s", store_error(c)); return; }
  for(op *p = list; p; p = p->next) {
    int64_t rc = p->del
      ? store_do(c, "DELETE FROM resources WHERE name = ?", "t", p->e.name)
      : store_do(c, "INSERT INTO resources (name, kind, key_hash, user_id, model, created_at, tokens, expires_at,"
                    " billed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, key_hash = excluded.key_hash,"
                    " user_id = excluded.user_id, model = excluded.model, created_at = excluded.created_at,"
                    " tokens = excluded.tokens, expires_at = excluded.expires_at, billed_at = excluded.billed_at",
                 "tttitiiii", p->e.name, own_kind_name(p->e.kind), p->e.key_hash, p->e.user_id, p->e.model,
                 p->e.created_ms, p->e.tokens, p->e.expire_ms, p->e.billed_ms);
    if(rc < 0) log_warn("resources: cannot write %s: %s", p->e.name, store_error(c));
  }
  if(store_commit(c)) { log_warn("resources: cannot commit: %s", store_error(c)); store_rollback(c); }
}

static void *writer_main(void *arg)
{
  owners *o = arg;
  pthread_mutex_lock(&o->mu);
  for(;;) {
    while(!o->head && !o->closing) pthread_cond_wait(&o->cv, &o->mu);
    if(!o->head) break;
    op *list = o->head;
    o->head = o->tail = NULL;
    o->nops = 0;
    pthread_mutex_unlock(&o->mu);
    write_ops(o->c, list);
    while(list) { op *next = list->next; free(list); list = next; }
    pthread_mutex_lock(&o->mu);
  }
  pthread_mutex_unlock(&o->mu);
  return NULL;
}

/* ---- public ---- */

owners *owners_new(size_t cap)
{
  owners *o = calloc(1, sizeof *o);
  if(!o) return NULL;
  o->cap = cap ? cap : OWNERS_CAP_DEFAULT;
  o->nbuckets = 1024;
  o->buckets = calloc(o->nbuckets, sizeof *o->buckets);
  if(!o->buckets) { free(o); return NULL; }
  pthread_mutex_init(&o->mu, NULL);
  pthread_cond_init(&o->cv, NULL);
  return o;
}

void owners_close(owners *o)
{
  if(!o) return;
  pthread_mutex_lock(&o->mu);
  bool running = o->running;
  o->closing = true;
  pthread_cond_broadcast(&o->cv);
  pthread_mutex_unlock(&o->mu);
  if(!running) return;
  pthread_join(o->thread, NULL);
  store_disconnect(o->c);
  o->c = NULL;
  o->running = false;
}

void owners_free(owners *o)
{
  if(!o) return;
  owners_close(o);
  for(node *x = o->newest, *next; x; x = next) { next = x->older; free(x); }
  for(op *p = o->head, *next; p; p = next) { next = p->next; free(p); }
  free(o->buckets);
  pthread_mutex_destroy(&o->mu);
  pthread_cond_destroy(&o->cv);
  free(o);
}

int owners_open(owners *o, struct store *s, char *err, size_t errcap)
{
  o->c = store_connect(s, err, errcap);
  if(!o->c) return -1;
  o->running = true;
  if(pthread_create(&o->thread, NULL, writer_main, o)) {
    snprintf(err, errcap, "cannot start the resources writer");
    store_disconnect(o->c);
    o->c = NULL;
    o->running = false;
    return -1;
  }
  return 0;
}

/* owners_put; local false for another instance's entry: neither written nor told. */
static bool put(owners *o, const own_entry *e, bool local)
{
  size_t len = strnlen(e->name, sizeof e->name);
  if(!len || len > OWN_NAME_MAX || own_kind_of((str){ e->name, len }) < 0 || (unsigned)e->kind >= OWN_NKINDS)
    return false;
  node *x = malloc(sizeof *x + len + 1);
  if(!x) return false;
  memcpy(x->name, e->name, len + 1);
  x->kind = (uint8_t)e->kind;
  snprintf(x->key_hash, sizeof x->key_hash, "%s", e->key_hash);
  snprintf(x->model, sizeof x->model, "%s", e->model);
  x->user_id = e->user_id;
  x->created_ms = e->created_ms;
  x->tokens = e->tokens;
  x->expire_ms = e->expire_ms;
  x->billed_ms = e->billed_ms;
  x->reserved_nanos = e->reserved_nanos;
  pthread_mutex_lock(&o->mu);
  node *old = find(o, (str){ x->name, len });
  if(old && !local) {   /* told by another instance: its billing facts join ours, never undo them */
    if(old->billed_ms > x->billed_ms) x->billed_ms = old->billed_ms;
    if(old->expire_ms > x->expire_ms) x->expire_ms = old->expire_ms;
    if(!x->tokens) x->tokens = old->tokens;
    x->reserved_nanos = old->reserved_nanos;
  }
  if(old) { unlink_node(o, old); free(old); }
  while(o->n >= o->cap && o->oldest) {   /* full: forget the oldest */
    node *v = o->oldest;
    own_entry ve;
    to_entry(v, &ve);
    unlink_node(o, v);
    free(v);
    enqueue(o, true, &ve);
  }
  if(o->n >= o->nbuckets) grow(o);
  size_t b = bucket_of(o, x->name, len);
  x->hnext = o->buckets[b];
  o->buckets[b] = x;
  x->newer = NULL;
  x->older = o->newest;
  if(o->newest) o->newest->newer = x; else o->oldest = x;
  o->newest = x;
  o->n++;
  if(local) enqueue(o, false, e);
  own_observer tell = local ? o->observer : NULL;
  void *ctx = o->observer_ctx;
  pthread_mutex_unlock(&o->mu);
  if(tell) tell(ctx, e, false);
  return true;
}

bool owners_put(owners *o, const own_entry *e) { return put(o, e, true); }

bool owners_get(owners *o, str name, own_entry *out)
{
  pthread_mutex_lock(&o->mu);
  node *x = find(o, name);
  if(x && out) to_entry(x, out);
  pthread_mutex_unlock(&o->mu);
  return x != NULL;
}

bool owners_remove(owners *o, str name)
{
  pthread_mutex_lock(&o->mu);
  node *x = find(o, name);
  own_entry e;
  if(x) {
    to_entry(x, &e);
    unlink_node(o, x);
    free(x);
    enqueue(o, true, &e);
  }
  own_observer tell = x ? o->observer : NULL;
  void *ctx = o->observer_ctx;
  pthread_mutex_unlock(&o->mu);
  if(tell) tell(ctx, &e, true);
  return x != NULL;
}

void owners_set_observer(owners *o, own_observer fn, void *ctx)
{
  pthread_mutex_lock(&o->mu);
  o->observer = fn;
  o->observer_ctx = ctx;
  pthread_mutex_unlock(&o->mu);
}

bool owners_apply(owners *o, const own_entry *e, bool removed)
{
  if(!removed) return put(o, e, false);
  pthread_mutex_lock(&o->mu);
  node *x = find(o, (str){ e->name, strlen(e->name) });
  if(x) { unlink_node(o, x); free(x); }
  pthread_mutex_unlock(&o->mu);
  return x != NULL;
}

bool owners_mark_billed(owners *o, str name, int64_t now, own_entry *out)
{
  pthread_mutex_lock(&o->mu);
  node *x = find(o, name);
  bool first = x && !x->billed_ms;
  own_entry e = { 0 };
  if(first) {
    to_entry(x, out);
    x->billed_ms = now > 0 ? now : 1;
    x->reserved_nanos = 0;
    to_entry(x, &e);
    enqueue(o, false, &e);
  }
  own_observer tell = first ? o->observer : NULL;
  void *ctx = o->observer_ctx;
  pthread_mutex_unlock(&o->mu);
  if(tell) tell(ctx, &e, false);          /* the other instances: billed, not to bill again */
  return first;
}

bool owners_extend(owners *o, str name, int64_t expire_ms, own_entry *out)
{
  pthread_mutex_lock(&o->mu);
  node *x = find(o, name);
  own_entry e = { 0 };
  bool later = false;
  if(x) {
    to_entry(x, out);
    if(expire_ms > x->expire_ms) {
      x->expire_ms = expire_ms;
      to_entry(x, &e);
      enqueue(o, false, &e);
      later = true;
    }
  }
  own_observer tell = later ? o->observer : NULL;
  void *ctx = o->observer_ctx;
  pthread_mutex_unlock(&o->mu);
  if(tell) tell(ctx, &e, false);
  return x != NULL;
}

static bool matches(const node *x, const own_filter *f)
{
  return (f->user_id < 0 || x->user_id == f->user_id) && (f->kind < 0 || x->kind == f->kind) &&
         (!f->key_hash || !f->key_hash[0] || !strcmp(x->key_hash, f->key_hash)) &&
         (!f->model || !f->model[0] || !strcmp(x->model, f->model));
}

size_t owners_page(owners *o, const own_filter *f, const char *after, int64_t after_ms,
                   own_entry *out, size_t cap, bool *more)
{
  size_t n = 0;
  *more = false;
  pthread_mutex_lock(&o->mu);
  node *x = o->newest;
  if(after && after[0]) {
    node *a = find(o, str_c(after));
    if(a) x = a->older;
    else while(x && x->created_ms >= after_ms) x = x->older;
  }
  for(; x; x = x->older) {
    if(!matches(x, f)) continue;
    if(n == cap) { *more = true; break; }
    to_entry(x, &out[n++]);
  }
  pthread_mutex_unlock(&o->mu);
  return n;
}

size_t owners_count(owners *o)
{
  pthread_mutex_lock(&o->mu);
  size_t n = o->n;
  pthread_mutex_unlock(&o->mu);
  return n;
}

/* Oldest first, so each put makes its entry the newest; only the newest cap rows are read. */
int owners_load(owners *o, store_conn *c)
{
  store_stmt *st = store_prepare(c, "SELECT name, kind, key_hash, user_id, model, created_at, tokens, expires_at,"
                                    " billed_at FROM"
                                    " (SELECT * FROM resources ORDER BY created_at DESC, name DESC LIMIT ?) AS newest"
                                    " ORDER BY created_at, name");
  if(!st) return -1;
  store_bind_int(st, 1, (int64_t)o->cap);
  bool running = o->running;
  o->running = false;               /* loading writes nothing back */
  store_rc rc;
  while((rc = store_step(st)) == STORE_ROW) {
    own_entry e = { 0 };
    int kind = own_kind_parse(store_col_text(st, 1));
    if(kind < 0) continue;
    snprintf(e.name, sizeof e.name, "%s", store_col_text(st, 0) ? store_col_text(st, 0) : "");
    e.kind = (own_kind)kind;
    snprintf(e.key_hash, sizeof e.key_hash, "%s", store_col_text(st, 2) ? store_col_text(st, 2) : "");
    e.user_id = store_col_int(st, 3);
    snprintf(e.model, sizeof e.model, "%s", store_col_text(st, 4) ? store_col_text(st, 4) : "");
    e.created_ms = store_col_int(st, 5);
    e.tokens = store_col_int(st, 6);
    e.expire_ms = store_col_int(st, 7);
    e.billed_ms = store_col_int(st, 8);
    put(o, &e, false);      /* loaded: nothing to write back or tell */
  }
  store_reset(st);
  o->running = running;
  return rc == STORE_DONE ? 0 : -1;
}
