/* store_pg — the PostgreSQL backend (libpq): `?` rewritten to $n, statements prepared per
 * connection (lazily, typed from their first bindings), bulk rows streamed with COPY, a lost
 * connection replaced at its next use outside a transaction.  Contract in store_pg.h / store.h;
 * the schema is store_pg_schema.c. */
#include "store/store_pg.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "base/log.h"
#include "base/util.h"

#define INT8_OID 20                 /* pg_type.oid of bigint */
#define RECONNECT_MS 1000           /* a lost connection tries again at most this often */

typedef struct pg_stmt pg_stmt;

typedef struct pg_conn {
  PGconn *pg;                       /* NULL while lost and not yet replaced */
  char *url;
  uint64_t gen;                     /* bumped by every connect: prepared statements and temporary
                                       tables live in one server session */
  unsigned seq;                     /* statement names */
  bool tx;                          /* inside a transaction (as of the last command) */
  uint64_t txn;                     /* transactions ended so far */
  bool lost;                        /* the last failure found the server gone */
  bool broken;                      /* queued rows failed outside any caller's call: fail until ROLLBACK */
  int64_t next_try_us;              /* reconnect no sooner than this (mono_us) */
  int64_t changes;
  char state[6];                    /* SQLSTATE of the last failed result, "" when none */
  pg_stmt *pending, *pending_tail;  /* bulk statements with queued rows, in first-queued order */
  char err[512];
} pg_conn;

/* A bound value: v points at num (an integer), at buf (text) or is NULL (SQL NULL). */
typedef struct param {
  const char *v;
  bool is_int;
  char num[24];
  char *buf;
  size_t cap;
} param;

struct pg_stmt {
  pg_conn *c;
  char *sql;                        /* with $n */
  int nparams;
  param *p;
  const char **vals;                /* scratch for PQexecPrepared */
  Oid *types;                       /* as prepared */
  char name[24];
  uint64_t gen;                     /* prepared in this session; 0: never */
  PGresult *res;                    /* the rows of the current execution */
  int row, nrows;
  bool failed;                      /* this execution failed: steps answer STORE_ERROR */
  /* bulk statements (prepare_bulk): rows as COPY text lines, sent by flush */
  bool bulk;
  char *copy_sql, *stage_sql, *merge_sql, *clear_sql;   /* stage/merge/clear: upserts only */
  uint64_t merged_txn;              /* the staging table holds rows merged in transaction txn */
  bool merged;
  char *rows;
  size_t len, cap, queued;
  pg_stmt *next_pending;
  bool is_pending;
};

/* ---- errors and the connection ---- */

static void set_err(pg_conn *c, const char *msg)
{
  snprintf(c->err, sizeof c->err, "%s", msg && *msg ? msg : "unknown PostgreSQL error");
  c->state[0] = '\0';                                 /* result_error sets it after */
  size_t n = strlen(c->err);                          /* libpq ends its messages with a newline */
  while(n && (c->err[n - 1] == '\n' || c->err[n - 1] == ' ')) c->err[--n] = '\0';
}

static void note_tx(pg_conn *c)
{
  PGTransactionStatusType t = PQtransactionStatus(c->pg);
  bool was = c->tx;
  if(t != PQTRANS_UNKNOWN) c->tx = t != PQTRANS_IDLE;
  if(was && !c->tx) c->txn++;
  if(PQstatus(c->pg) == CONNECTION_BAD) c->lost = true;
}

/* A failed result: its message kept, STORE_CONSTRAINT for integrity violations (class 23). */
static store_rc result_error(pg_conn *c, PGresult *r, const char *sql)
{
  const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  set_err(c, primary ? primary : PQerrorMessage(c->pg));
  note_tx(c);
  const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  snprintf(c->state, sizeof c->state, "%s", state ? state : "");
  if(state && !strncmp(state, "23", 2)) return STORE_CONSTRAINT;
  /* A statement that is wrong for PostgreSQL is a bug worth a line; a lost server is said once
   * by the store, and a constraint is the caller's business. */
  if(!c->lost) log_error("store: %s (in: %.120s)", c->err, sql);
  return STORE_ERROR;
}

static void quiet(void *arg, const char *msg) { (void)arg; (void)msg; }

/* Defaults first (the URL overrides them), then what gemgate needs whatever the URL says. */
static PGconn *connect_url(const char *url)
{
  const char *const kw[] = { "connect_timeout", "keepalives_idle", "keepalives_interval", "keepalives_count",
                             "fallback_application_name", "dbname", "client_encoding", NULL };
  const char *const val[] = { "5", "30", "10", "3", "gemgate", url, "UTF8", NULL };
  PGconn *pg = PQconnectdbParams(kw, val, 1);
  if(pg && PQstatus(pg) == CONNECTION_OK) PQsetNoticeProcessor(pg, quiet, NULL);
  return pg;
}

static int reconnect(pg_conn *c)
{
  int64_t now = mono_us();
  if(now < c->next_try_us) {
    if(!c->err[0]) set_err(c, "the database is unreachable");
    return -1;
  }
  PGconn *pg = connect_url(c->url);
  if(!pg || PQstatus(pg) != CONNECTION_OK) {
    set_err(c, pg ? PQerrorMessage(pg) : "out of memory");
    PQfinish(pg);
    c->lost = true;
    c->next_try_us = now + RECONNECT_MS * 1000;      /* a failed attempt waits; a success does not */
    return -1;
  }
  PQfinish(c->pg);
  c->pg = pg;
  c->gen++;
  if(c->tx) c->txn++;
  c->tx = false;
  c->lost = false;
  return 0;
}

/* The server closed the connection while it was idle (a restart, pg_terminate_backend): the
 * socket has its goodbye and then EOF to read.  A poll(2) per use, no round trip. */
static bool hung_up(pg_conn *c)
{
  struct pollfd pfd = { PQsocket(c->pg), POLLIN, 0 };
  if(pfd.fd < 0) return true;
  for(int i = 0; i < 4; i++) {                        /* the message, then the EOF */
    if(poll(&pfd, 1, 0) <= 0) return false;
    if(!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK) return true;
  }
  return false;
}

/* Ready to send a command: connected, or reconnected when that is safe.  A connection lost
 * inside a transaction stays failed until the caller rolls back: silently carrying on in a
 * new session would commit half a transaction. */
static bool ready(pg_conn *c)
{
  if(c->pg && PQstatus(c->pg) == CONNECTION_OK && (c->tx || !hung_up(c))) return true;
  if(c->tx) {
    c->lost = true;
    set_err(c, "the connection to the database was lost during a transaction");
    return false;
  }
  return reconnect(c) == 0;
}

/* ---- bulk rows ---- */

static int grow(char **p, size_t *cap, size_t need)
{
  if(need <= *cap) return 0;
  size_t n = *cap ? *cap : 256;
  while(n < need) n *= 2;
  char *q = realloc(*p, n);
  if(!q) return -1;
  *p = q;
  *cap = n;
  return 0;
}

/* One command without rows or parameters; 0 or -1 (message in c->err). */
static int run(pg_conn *c, const char *sql)
{
  PGresult *r = PQexec(c->pg, sql);
  ExecStatusType es = PQresultStatus(r);
  int rc = es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK ? 0 : -1;
  if(rc) result_error(c, r, sql); else note_tx(c);
  PQclear(r);
  return rc;
}

/* COPY the statement's queued rows; for an upsert into its staging table (emptied by the commit:
 * ON COMMIT DELETE ROWS truncates in place, where TRUNCATE would make a new file each time),
 * then merged.  Outside a transaction an upsert's flush is one of its own. */
static int send_rows(pg_conn *c, pg_stmt *st)
{
  if(!ready(c)) return -1;
  bool own = st->merge_sql && !c->tx;
  if(own && run(c, "BEGIN")) return -1;
  if(st->stage_sql && run(c, st->stage_sql)) return -1;
  if(st->merge_sql && st->merged && st->merged_txn == c->txn && run(c, st->clear_sql)) return -1;
  PGresult *r = PQexec(c->pg, st->copy_sql);
  if(PQresultStatus(r) != PGRES_COPY_IN) { result_error(c, r, st->copy_sql); PQclear(r); return -1; }
  PQclear(r);
  int ok = PQputCopyData(c->pg, st->rows, (int)st->len) == 1;
  ok = PQputCopyEnd(c->pg, ok ? NULL : "gemgate: could not send the rows") == 1 && ok;
  int rc = 0;
  while((r = PQgetResult(c->pg))) {
    if(PQresultStatus(r) != PGRES_COMMAND_OK && !rc) { result_error(c, r, st->copy_sql); rc = -1; }
    PQclear(r);
  }
  if(!ok && !rc) { set_err(c, PQerrorMessage(c->pg)); note_tx(c); rc = -1; }
  if(!rc && st->merge_sql && !(rc = run(c, st->merge_sql))) { st->merged = true; st->merged_txn = c->txn; }
  if(own) rc = rc ? (run(c, "ROLLBACK"), -1) : run(c, "COMMIT");
  if(!rc) c->changes = (int64_t)st->queued;
  return rc;
}

static int pg_flush(void *h)
{
  pg_conn *c = h;
  int rc = 0;
  while(c->pending) {
    pg_stmt *st = c->pending;
    c->pending = st->next_pending;
    st->next_pending = NULL;
    st->is_pending = false;
    if(!rc) rc = send_rows(c, st);
    st->len = st->queued = 0;
  }
  c->pending_tail = NULL;
  return rc;
}

static void drop_pending(pg_conn *c)
{
  for(pg_stmt *st = c->pending, *n; st; st = n) {
    n = st->next_pending;
    st->next_pending = NULL;
    st->is_pending = false;
    st->len = st->queued = 0;
  }
  c->pending = c->pending_tail = NULL;
}

static int put_raw(pg_stmt *st, const char *s, size_t n)
{
  if(grow(&st->rows, &st->cap, st->len + n)) return -1;
  memcpy(st->rows + st->len, s, n);
  st->len += n;
  return 0;
}

/* Appends s to a COPY text line, escaped (backslash, and the row and column separators). */
static int put_copy(pg_stmt *st, const char *s)
{
  size_t n = strlen(s);
  if(grow(&st->rows, &st->cap, st->len + 2 * n)) return -1;
  char *o = st->rows + st->len;
  for(size_t i = 0; i < n; i++) {
    char ch = s[i];
    if(ch == '\\' || ch == '\t' || ch == '\n' || ch == '\r') {
      *o++ = '\\';
      ch = ch == '\t' ? 't' : ch == '\n' ? 'n' : ch == '\r' ? 'r' : '\\';
    }
    *o++ = ch;
  }
  st->len = (size_t)(o - st->rows);
  return 0;
}

/* A bulk statement's step: the bound values become one COPY line (NULL is \N). */
static store_rc queue_row(pg_stmt *st)
{
  pg_conn *c = st->c;
  size_t mark = st->len;
  int bad = 0;
  for(int i = 0; !bad && i < st->nparams; i++) {
    if(i) bad = put_raw(st, "\t", 1);
    if(!bad) bad = st->p[i].v ? put_copy(st, st->p[i].v) : put_raw(st, "\\N", 2);
  }
  if(bad || put_raw(st, "\n", 1)) {
    st->len = mark;
    set_err(c, "out of memory");
    memcpy(c->state, "53200", 6);                     /* out_of_memory: transient */
    return STORE_ERROR;
  }
  st->queued++;
  if(!st->is_pending) {
    st->is_pending = true;
    if(c->pending_tail) c->pending_tail->next_pending = st; else c->pending = st;
    c->pending_tail = st;
  }
  c->changes = 1;
  return STORE_DONE;
}

/* ---- statements ---- */

/* sql with every ? (and ?N) as $N, numbered as SQLite numbers them (a bare ? is one more than the
 * highest so far); quoted text and comments are left alone.  NULL when out of memory or past
 * PostgreSQL's 65535 parameters. */
static char *rewrite(const char *sql, int *nparams)
{
  char *out = malloc(strlen(sql) * 6 + 1), *o = out;
  if(!out) return NULL;
  int max = 0;
  for(const char *s = sql; *s;) {
    if(*s == '\'' || *s == '"') {                      /* '' inside a literal reopens it: fine */
      char q = *s;
      *o++ = *s++;
      while(*s && *s != q) *o++ = *s++;
      if(*s) *o++ = *s++;
    } else if(s[0] == '-' && s[1] == '-') {
      while(*s && *s != '\n') *o++ = *s++;
    } else if(s[0] == '/' && s[1] == '*') {
      const char *e = strstr(s + 2, "*/");
      size_t n = e ? (size_t)(e + 2 - s) : strlen(s);
      memcpy(o, s, n);
      o += n;
      s += n;
    } else if(*s == '?') {
      long k = max + 1;
      char *end;
      s++;
      if(*s >= '0' && *s <= '9') { k = strtol(s, &end, 10); s = end; }
      if(k < 1 || k > 65535) { free(out); return NULL; }
      if(k > max) max = (int)k;
      o += sprintf(o, "$%ld", k);
    } else {
      *o++ = *s++;
    }
  }
  *o = '\0';
  *nparams = max;
  return out;
}

static void *pg_prepare(void *h, const char *sql)
{
  pg_conn *c = h;
  pg_stmt *st = calloc(1, sizeof *st);
  if(!st) return NULL;
  st->c = c;
  st->row = -1;
  st->sql = rewrite(sql, &st->nparams);
  size_t n = st->nparams ? (size_t)st->nparams : 1;
  st->p = calloc(n, sizeof *st->p);
  st->vals = calloc(n, sizeof *st->vals);
  st->types = calloc(n, sizeof *st->types);
  if(!st->sql || !st->p || !st->vals || !st->types) {
    set_err(c, st->sql ? "out of memory" : "too many parameters");
    free(st->sql); free(st->p); free(st->vals); free(st->types); free(st);
    return NULL;
  }
  return st;
}

static const char *skip_ws(const char *s) { while(*s == ' ' || *s == '\n' || *s == '\t') s++; return s; }

/* Consumes the keyword w (any case) followed by a non-letter. */
static bool word(const char **s, const char *w)
{
  const char *p = skip_ws(*s);
  size_t n = strlen(w);
  if(strncasecmp(p, w, n) || (p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= 'a' && p[n] <= 'z') || p[n] == '_') return false;
  *s = p + n;
  return true;
}

/* "(...)" without nesting or quotes, of identifier characters, commas and spaces (or, with
 * marks, only ?s): the inside into out.  Returns the count of comma-separated items, -1 if
 * it is not one. */
static int parens(const char **s, char *out, size_t cap, bool marks)
{
  const char *p = skip_ws(*s);
  if(*p != '(') return -1;
  const char *e = strchr(p, ')');
  if(!e || (size_t)(e - p) >= cap) return -1;
  int items = 1;
  for(const char *q = p + 1; q < e; q++) {
    bool ident = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_';
    if(*q == ',') items++;
    else if(!(*q == ' ' || (marks ? *q == '?' : ident))) return -1;
  }
  memcpy(out, p + 1, (size_t)(e - p - 1));
  out[e - p - 1] = '\0';
  *s = e + 1;
  return items;
}

static char *strfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *strfmt(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if(vasprintf(&s, fmt, ap) < 0) s = NULL;
  va_end(ap);
  return s;
}

/* A bulk statement: "INSERT INTO t (cols) VALUES (?, ...)" becomes a COPY into t; with
 * "ON CONFLICT (keys) ..." after it, a COPY into a temporary table of the same columns, merged
 * with one INSERT ... SELECT ... ORDER BY keys ON CONFLICT ... (rows locked in key order: two
 * writers never deadlock on the same rollups).  Any other statement runs row by row. */
static void *pg_prepare_bulk(void *h, const char *sql)
{
  pg_stmt *st = pg_prepare(h, sql);
  if(!st) return NULL;
  char table[64], cols[1024], marks[1024], keys[512] = "";
  const char *s = sql, *t;
  if(!word(&s, "INSERT") || !word(&s, "INTO")) return st;
  s = skip_ws(s);
  size_t tn = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
  if(!tn || tn >= sizeof table) return st;
  memcpy(table, s, tn);
  table[tn] = '\0';
  s += tn;
  int ncols = parens(&s, cols, sizeof cols, false);
  if(ncols != st->nparams || !word(&s, "VALUES") || parens(&s, marks, sizeof marks, true) != ncols) return st;
  s = skip_ws(s);
  t = s;
  bool upsert = *s && word(&t, "ON") && word(&t, "CONFLICT");
  if(*s && !upsert) return st;
  if(upsert && parens(&t, keys, sizeof keys, false) < 0) keys[0] = '\0';
  if(!upsert) {
    st->copy_sql = strfmt("COPY %s (%s) FROM STDIN", table, cols);
    if(!st->copy_sql) return st;
  } else {
    char stage[96];
    snprintf(stage, sizeof stage, "gg_bulk_%s_%08x", table, (unsigned)hash64(cols, strlen(cols)));
    st->stage_sql = strfmt("CREATE TEMP TABLE IF NOT EXISTS %s ON COMMIT DELETE ROWS AS SELECT %s FROM %s WITH NO DATA",
                           stage, cols, table);
    st->copy_sql = strfmt("COPY %s (%s) FROM STDIN", stage, cols);
    st->merge_sql = strfmt("INSERT INTO %s (%s) SELECT %s FROM %s%s%s %s", table, cols, cols, stage,
                           keys[0] ? " ORDER BY " : "", keys, s);
    st->clear_sql = strfmt("DELETE FROM %s", stage);  /* a second flush in one transaction */
    if(!st->stage_sql || !st->copy_sql || !st->merge_sql || !st->clear_sql) return st;
  }
  st->bulk = true;
  return st;
}

static void pg_finalize(void *h)
{
  pg_stmt *st = h;
  pg_conn *c = st->c;
  if(st->is_pending && pg_flush(c)) c->broken = true;   /* reported by the next statement */
  if(st->gen && st->gen == c->gen && c->pg && PQstatus(c->pg) == CONNECTION_OK &&
     PQtransactionStatus(c->pg) != PQTRANS_INERROR) {
    char sql[40];
    snprintf(sql, sizeof sql, "DEALLOCATE %s", st->name);
    PQclear(PQexec(c->pg, sql));
  }
  PQclear(st->res);
  for(int i = 0; i < st->nparams; i++) free(st->p[i].buf);
  free(st->p); free(st->vals); free(st->types); free(st->sql); free(st->rows);
  free(st->copy_sql); free(st->stage_sql); free(st->merge_sql); free(st->clear_sql);
  free(st);
}

static void pg_bind_int(void *h, int i, int64_t v)
{
  pg_stmt *st = h;
  if(i < 1 || i > st->nparams) return;
  param *p = &st->p[i - 1];
  snprintf(p->num, sizeof p->num, "%lld", (long long)v);
  p->v = p->num;
  p->is_int = true;
}

static void pg_bind_null(void *h, int i)
{
  pg_stmt *st = h;
  if(i >= 1 && i <= st->nparams) st->p[i - 1].v = NULL;
}

static void pg_bind_text(void *h, int i, const char *s)
{
  pg_stmt *st = h;
  if(i < 1 || i > st->nparams) return;
  param *p = &st->p[i - 1];
  size_t n = s ? strlen(s) + 1 : 0;
  if(!s || grow(&p->buf, &p->cap, n)) { p->v = NULL; return; }
  memcpy(p->buf, s, n);
  p->v = p->buf;
  p->is_int = false;
}

/* Prepared in this session with types that fit the bindings: an integer binding is a bigint
 * parameter (an untyped one next to an integer literal would be int4, and a time in ms does
 * not fit), the others are left to the server to infer.  A later, different binding prepares
 * the statement again. */
static int server_prepare(pg_stmt *st)
{
  pg_conn *c = st->c;
  bool fits = st->gen == c->gen;
  for(int i = 0; fits && i < st->nparams; i++)
    if(st->p[i].v && (st->types[i] == INT8_OID) != st->p[i].is_int) fits = false;
  if(fits) return 0;
  if(st->gen == c->gen) {
    char sql[40];
    snprintf(sql, sizeof sql, "DEALLOCATE %s", st->name);
    PQclear(PQexec(c->pg, sql));
  }
  for(int i = 0; i < st->nparams; i++)
    if(st->p[i].v || st->gen != c->gen) st->types[i] = st->p[i].v && st->p[i].is_int ? INT8_OID : 0;
  st->gen = 0;
  snprintf(st->name, sizeof st->name, "gg%u", ++c->seq);
  PGresult *r = PQprepare(c->pg, st->name, st->sql, st->nparams, st->types);
  int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
  if(rc) result_error(c, r, st->sql); else st->gen = c->gen;
  PQclear(r);
  return rc;
}

static store_rc pg_step(void *h)
{
  pg_stmt *st = h;
  pg_conn *c = st->c;
  if(st->bulk) return queue_row(st);
  if(st->failed) return STORE_ERROR;
  if(!st->res) {
    store_rc rc = STORE_ERROR;
    if(c->broken) set_err(c, "queued rows could not be written: roll back");
    else if(!pg_flush(c) && ready(c) && !server_prepare(st)) {
      for(int i = 0; i < st->nparams; i++) st->vals[i] = st->p[i].v;
      PGresult *r = PQexecPrepared(c->pg, st->name, st->nparams, st->vals, NULL, NULL, 0);
      ExecStatusType es = PQresultStatus(r);
      if(es == PGRES_TUPLES_OK || es == PGRES_COMMAND_OK) {
        note_tx(c);
        c->changes = atoll(PQcmdTuples(r));
        st->res = r;
        st->nrows = PQntuples(r);
        st->row = -1;
        rc = STORE_DONE;
      } else {
        rc = result_error(c, r, st->sql);
        PQclear(r);
      }
    }
    if(rc != STORE_DONE) { st->failed = true; return rc; }
  }
  if(st->row < st->nrows) st->row++;
  return st->row < st->nrows ? STORE_ROW : STORE_DONE;
}

static bool in_row(pg_stmt *st, int i) { return st->res && st->row >= 0 && st->row < st->nrows && i >= 0 && i < PQnfields(st->res); }

static int64_t pg_col_int(void *h, int i)
{
  pg_stmt *st = h;
  if(!in_row(st, i) || PQgetisnull(st->res, st->row, i)) return 0;
  const char *v = PQgetvalue(st->res, st->row, i);
  if(v[0] == 't' && !v[1]) return 1;                  /* a boolean, where SQLite has 1 and 0 */
  if(v[0] == 'f' && !v[1]) return 0;
  return strtoll(v, NULL, 10);                        /* a numeric SUM: its integer part */
}

static const char *pg_col_text(void *h, int i)
{
  pg_stmt *st = h;
  return in_row(st, i) && !PQgetisnull(st->res, st->row, i) ? PQgetvalue(st->res, st->row, i) : NULL;
}

static bool pg_col_null(void *h, int i)
{
  pg_stmt *st = h;
  return !in_row(st, i) || PQgetisnull(st->res, st->row, i);
}

static void pg_reset(void *h)
{
  pg_stmt *st = h;
  PQclear(st->res);
  st->res = NULL;
  st->row = -1;
  st->nrows = 0;
  st->failed = false;
  for(int i = 0; i < st->nparams; i++) st->p[i].v = NULL;
}

/* ---- connections ---- */

static int pg_exec(void *h, const char *sql)
{
  pg_conn *c = h;
  bool rollback = !strcmp(sql, "ROLLBACK"), begin = !strcmp(sql, "BEGIN");
  if(rollback) drop_pending(c);
  if(rollback || begin) c->broken = false;
  if(c->broken) { set_err(c, "queued rows could not be written: roll back"); return -1; }
  if(!rollback && pg_flush(c)) return -1;
  if(!ready(c)) {
    if(rollback) { c->tx = false; return 0; }         /* the server has dropped it already */
    return -1;
  }
  PGresult *r = PQexec(c->pg, sql);
  ExecStatusType es = PQresultStatus(r);
  int rc = es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK ? 0 : -1;
  if(rc) result_error(c, r, sql);
  else note_tx(c);
  /* COMMIT of a transaction an error aborted answers ROLLBACK, successfully. */
  if(!rc && !strcmp(sql, "COMMIT") && strcmp(PQcmdStatus(r), "COMMIT")) {
    set_err(c, "the transaction failed and was rolled back");
    rc = -1;
  }
  PQclear(r);
  return rc;
}

static void *pg_open(const char *url, char *err, size_t cap)
{
  pg_conn *c = calloc(1, sizeof *c);
  if(!c || !(c->url = strdup(url))) { free(c); snprintf(err, cap, "out of memory"); return NULL; }
  c->pg = connect_url(url);
  if(!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
    set_err(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
    snprintf(err, cap, "cannot connect to PostgreSQL: %s", c->err);
    PQfinish(c->pg);
    free(c->url);
    free(c);
    return NULL;
  }
  c->gen = 1;
  return c;
}

static void pg_close(void *h)
{
  pg_conn *c = h;
  if(!c) return;
  if(!c->tx) pg_flush(c);                               /* rows queued outside a transaction */
  drop_pending(c);
  PQfinish(c->pg);
  free(c->url);
  free(c);
}

static int64_t pg_changes(void *h) { return ((pg_conn *)h)->changes; }
static const char *pg_errmsg(void *h) { return ((pg_conn *)h)->err; }
static bool pg_lost(void *h) { return ((pg_conn *)h)->lost; }

/* By SQLSTATE class: 08 connection, 40 serialization failure or deadlock, 53 insufficient
 * resources (disk, memory, connections), 57 operator intervention (shutdown, cancel), 58 system
 * error.  23 (a constraint), 22 (bad data), P0 (a trigger's RAISE), 42 (the SQL) are the
 * statement's; so is a failure without a result that was not the connection's. */
static bool pg_transient(void *h)
{
  pg_conn *c = h;
  static const char *const classes[] = { "08", "40", "53", "57", "58" };
  if(c->lost) return true;
  for(size_t i = 0; i < sizeof classes / sizeof *classes; i++)
    if(!strncmp(c->state, classes[i], 2)) return true;
  return false;
}

static int pg_ping(void *h)
{
  pg_conn *c = h;
  return ready(c) && !run(c, "SELECT 1") ? 0 : -1;
}

static int pg_backup(void *h, const char *path, char *err, size_t cap)
{
  snprintf(err, cap, "gemgate backs up SQLite files only: back up a PostgreSQL database with pg_dump or the server's own backups");
  return -1;
}

/* ---- migrations ---- */

/* Any one number of gemgate's own, the same for every instance: pg_advisory_lock takes it per
 * database, so instances on other databases of the same server do not wait for each other. */
#define MIGRATION_LOCK 0x67656d6761746531LL           /* "gemgate1" */

/* The highest version applied, or -1 on error. */
static int applied(pg_conn *c)
{
  PGresult *r = PQexec(c->pg, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  int v = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
  if(v < 0) result_error(c, r, "schema_migrations");
  PQclear(r);
  return v;
}

/* Under the advisory lock: N instances starting together queue at the lock, the first applies
 * what is missing, each in its own transaction, and the others then find nothing to do.  A
 * migration that fails rolls back whole (PostgreSQL's DDL is transactional). */
static int pg_migrate(void *h, char *err, size_t cap)
{
  pg_conn *c = h;
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT pg_advisory_lock(%lld)", MIGRATION_LOCK);
  if(run(c, sql)) { snprintf(err, cap, "migrations: %s", c->err); return -1; }
  int rc = run(c, "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)");
  int have = rc ? -1 : applied(c);
  if(have < 0) rc = -1;
  for(int v = have + 1; !rc && v <= store_pg_version(); v++) {
    snprintf(sql, sizeof sql, "INSERT INTO schema_migrations VALUES (%d, CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT))", v);
    rc = run(c, "BEGIN") || run(c, store_pg_migrations[v - 1]) || run(c, sql) || run(c, "COMMIT") ? -1 : 0;
    if(rc) {
      snprintf(err, cap, "migration %d failed: %s", v, c->err);
      PQclear(PQexec(c->pg, "ROLLBACK"));
    }
  }
  if(rc && have < 0) snprintf(err, cap, "migrations: %s", c->err);
  snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%lld)", MIGRATION_LOCK);
  PQclear(PQexec(c->pg, sql));
  c->tx = false;
  return rc;
}

const store_backend store_pg = {
  .name = "postgres", .open = pg_open, .migrate = pg_migrate, .close = pg_close,
  .prepare = pg_prepare, .finalize = pg_finalize, .bind_int = pg_bind_int,
  .bind_text = pg_bind_text, .bind_null = pg_bind_null, .step = pg_step,
  .col_int = pg_col_int, .col_text = pg_col_text, .col_null = pg_col_null, .reset = pg_reset,
  .exec = pg_exec, .changes = pg_changes, .errmsg = pg_errmsg, .backup = pg_backup,
  .begin_sql = "BEGIN",
  .prepare_bulk = pg_prepare_bulk, .flush = pg_flush, .lost = pg_lost, .ping = pg_ping,
  .transient = pg_transient,
};
