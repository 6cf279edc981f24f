/* gen — fills a gemgate database with ledger rows and their rollups, for the ledger benchmark.
 *
 *   gen DB [rows=10000000] [days=90] [users=200] [live]
 *
 * live: rows as the gateway's full-speed bench writes them instead (one user, one model, one
 * key, one type, made now, the bench's prompt): the rollups aggregate to a few buckets per batch
 * and each row costs its insert and its index entries — the writer's cost per row under load.
 *
 * DB is an SQLite file or a postgres:// URL (GEMGATE_DB's forms); the database must be new.
 * Users 1..users are created with the access keys "bench-key-<id>" (stored hashed, as the
 * gateway does).  Rows go through the real ledger writer (ledger_record → batches → rollups in
 * the same transaction), spread evenly over the last `days` days up to now, so the database is
 * exactly what the gateway itself would have written.  The generator feeds the queue as fast as
 * the writer drains it (keeping under half its bound, so nothing is dropped) and prints the
 * writer's sustained rate. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/crypto.h"
#include "ledger/ledger.h"
#include "base/log.h"
#include "base/util.h"
#include "ledger/prices.h"
#include "store/store.h"

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static const char *const MODELS[] = { "gemini-2.5-flash", "gemini-2.5-flash", "gemini-2.5-flash", "gemini-2.5-pro",
                                      "gemini-2.5-flash-lite", "gemini-2.0-flash", "gemini-embedding-001", "imagen-4.0-generate-001" };
static const char *const TYPES[] = { "content_image", "content_image", "ip_image", "chat", "generate", "stream", "embed" };
static const char *const PROMPTS[] = { "春天的花园，阳光明媚", "专业的商务风格，简约大气", "Summarise this article in three bullet points",
                                       "Translate to French: the weather is lovely today", "Write a haiku about databases",
                                       "A watercolor fox in a snowy forest", "Explain WAL mode in SQLite to a new engineer" };

/* CPU seconds of the busiest thread other than the main one (the ledger writer: the generator's
 * store pool thread idles), from /proc/self/task/<tid>/stat (utime + stime, in clock ticks). */
static double writer_cpu_s(void)
{
  DIR *d = opendir("/proc/self/task");
  if(!d) return 0;
  double best = 0;
  struct dirent *de;
  while((de = readdir(d))) {
    if(de->d_name[0] == '.' || atoi(de->d_name) == getpid()) continue;
    char path[300], buf[1024];
    snprintf(path, sizeof path, "/proc/self/task/%s/stat", de->d_name);
    FILE *f = fopen(path, "r");
    if(!f) continue;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');             /* after the name: state is field 3, utime 14, stime 15 */
    unsigned long long ut = 0, st = 0;
    if(p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2) {
      double sec = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
      if(sec > best) best = sec;
    }
  }
  closedir(d);
  return best;
}

static void create_users(store_conn *c, int users)
{
  int64_t now = now_ms();
  store_begin(c);
  for(int i = 1; i <= users; i++) {
    char name[32], key[32], hex[65];
    uint8_t h[32];
    snprintf(name, sizeof name, "bench-user-%d", i);
    snprintf(key, sizeof key, "bench-key-%d", i);
    crypto_sha256(key, strlen(key), h);
    crypto_hex(h, 32, hex);
    /* No explicit ids: a fresh database numbers them 1..users either way (SQLite's AUTOINCREMENT,
     * PostgreSQL's identity, whose sequence an explicit id would leave behind). */
    store_do(c, "INSERT INTO users (name, created_at, updated_at) VALUES (?, ?, ?)", "tii", name, now, now);
    store_do(c, "INSERT INTO access_keys (user_id, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?)", "ittti",
             (int64_t)i, name, key, hex, now);
  }
  store_commit(c);
}

int main(int argc, char **argv)
{
  if(argc < 2) { fprintf(stderr, "usage: gen DB [rows] [days] [users]\n"); return 2; }
  int64_t rows = argc > 2 ? atoll(argv[2]) : 10000000, days = argc > 3 ? atoll(argv[3]) : 90;
  int users = argc > 4 ? atoi(argv[4]) : 200;
  bool live = argc > 5 && !strcmp(argv[5], "live");
  char err[512];
  store *s = store_open(argv[1], 1, err, sizeof err);
  if(!s) { fprintf(stderr, "gen: %s\n", err); return 1; }
  store_conn *c = store_connect(s, err, sizeof err);
  store_stmt *st = store_prepare(c, "SELECT COUNT(*) FROM users");
  store_step(st);
  int64_t have = store_col_int(st, 0);
  store_reset(st);
  if(!have) create_users(c, users);
  prices *p = prices_new();
  prices_load(p, c, now_ms());
  store_disconnect(c);
  ledger *l = ledger_open(s, NULL, p, NULL, true, err, sizeof err);
  if(!l) { fprintf(stderr, "gen: %s\n", err); return 1; }

  int64_t end = now_ms(), span = days * 86400000LL, t0 = mono_us(), last = t0;
  ledger_row r;
  for(int64_t i = 0; i < rows; i++) {
    memset(&r, 0, sizeof r);
    double u = (double)(next() % 1000000) / 1e6;
    r.user_id = 1 + (int64_t)(u * u * users);                 /* a few heavy users, a long tail */
    r.access_key_id = r.user_id;
    const char *model = MODELS[next() % 8];
    snprintf(r.model, sizeof r.model, "%s", model);
    snprintf(r.gen_type, sizeof r.gen_type, "%s", TYPES[next() % 7]);
    snprintf(r.endpoint, sizeof r.endpoint, "%s", strcmp(r.gen_type, "stream") ? "generate" : "stream");
    snprintf(r.upstream_key, sizeof r.upstream_key, "AIza…%04d", (int)(next() % 8));
    uint64_t roll = next() % 100;
    r.success = roll < 95;
    r.http_status = r.success ? 200 : roll < 98 ? 429 : 500;
    if(!r.success) snprintf(r.error, sizeof r.error, "%d %s", r.http_status, r.http_status == 429 ? "rate limited" : "upstream error");
    r.refused = roll == 97;
    r.in_tokens = r.refused ? 0 : 50 + (int64_t)(next() % 2000);
    r.out_tokens = r.success ? 10 + (int64_t)(next() % 800) : 0;
    r.thinking_tokens = r.success && !strcmp(model, "gemini-2.5-pro") ? (int64_t)(next() % 1500) : 0;
    snprintf(r.ip, sizeof r.ip, "10.0.%d.%d", (int)(r.user_id % 256), (int)(next() % 256));
    snprintf(r.prompt, sizeof r.prompt, "%s #%lld", PROMPTS[next() % 7], (long long)i);
    r.latency_ms = 200 + (int64_t)(next() % 3000);
    r.ttfb_ms = r.latency_ms / 4;
    r.attempts = r.success ? 1 : 2;
    r.created_ms = end - span + (int64_t)((double)span * (double)i / (double)rows);
    if(live) {
      r.user_id = r.access_key_id = 1;
      snprintf(r.model, sizeof r.model, "gemini-2.5-flash");
      snprintf(r.gen_type, sizeof r.gen_type, "generate");
      snprintf(r.endpoint, sizeof r.endpoint, "generate");
      snprintf(r.upstream_key, sizeof r.upstream_key, "AIza…0001");
      snprintf(r.prompt, sizeof r.prompt, "Write a haiku about databases");
      snprintf(r.request_id, sizeof r.request_id, "%016llx", (unsigned long long)next());
      r.success = true;
      r.http_status = 200;
      r.error[0] = '\0';
      r.refused = false;
      r.created_ms = now_ms();
    }
    ledger_record(l, &r);
    if(i % 4096 == 0) {
      ledger_stats ls;
      for(;;) {                                             /* keep the queue under half its bound */
        ledger_get_stats(l, &ls);
        if(ls.queued < LEDGER_MAX_ROWS / 2) break;
        usleep(2000);
      }
      int64_t now = mono_us();
      if(now - last > 10000000) {
        fprintf(stderr, "gen: %lld rows written, %.0f rows/s\n", (long long)ls.written, ls.written / ((now - t0) / 1e6));
        last = now;
      }
    }
  }
  ledger_flush(l, 600000);
  ledger_stats ls;
  ledger_get_stats(l, &ls);
  double secs = (mono_us() - t0) / 1e6;
  double wcpu = writer_cpu_s();
  struct timespec cpu;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
  double cpu_us = (double)cpu.tv_sec * 1e6 + (double)cpu.tv_nsec / 1e3;
  printf("gen: %lld rows in %.1f s: %.0f rows/s sustained by the writer (%lld batches, %lld dropped); "
         "writer thread CPU %.2f µs per row; process CPU %.2f µs per row (writer, database and this generator)\n",
         (long long)ls.written, secs, ls.written / secs, (long long)ls.batches, (long long)ls.dropped,
         wcpu * 1e6 / (double)(ls.written ? ls.written : 1), cpu_us / (double)(ls.written ? ls.written : 1));
  ledger_close(l);
  prices_free(p);
  store_close(s);
  return ls.dropped ? 1 : 0;
}
