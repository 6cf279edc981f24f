#include "base/config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cidr.h"
#include "base/log.h"
#include "base/util.h"

/* Every setting: its name without the GEMGATE_ prefix, its default, and what it means (for
 * --help).  The raw values are collected first (env, then file, then flags), then parsed. */
typedef struct setting { const char *name, *def, *help; } setting;

static const setting settings[] = {
  { "LISTEN",          "127.0.0.1:8080", "address:port to serve on" },
  { "UPSTREAM",        "https://generativelanguage.googleapis.com", "Gemini API base URL" },
  { "KEYS",            "",      "upstream API keys, comma or newline separated" },
  { "KEYS_FILE",       "",      "file with one upstream key per line (re-read on SIGHUP)" },
  { "ADMIN_TOKEN",     "",      "Bearer token for /admin and /api/status routes" },
  { "ACCESS_KEYS",     "",      "static client access keys, comma separated" },
  { "DB",              "gemgate.db", "SQLite file (or postgres://...)" },
  { "ENCRYPTION_KEY",  "",      "encrypts upstream keys stored in the database (64 hex digits or a passphrase)" },
  { "LOG_PROMPTS",     "1",     "1: keep the first 500 characters of each prompt in the ledger; 0: never" },
  { "UNPRICED",        "",      "a call to a model with no price: refuse | max | zero (default: refuse for users with a budget, else zero)" },
  { "TRUSTED_PROXIES", "",      "proxies (addresses or CIDRs) whose X-Forwarded-For is believed" },
  { "REDIS",           "",      "redis://host:port for shared state" },
  { "STRATEGY",        "round_robin", "round_robin | least_used | health" },
  { "MAX_RETRIES",     "3",     "retries on another key after 429/5xx/network errors" },
  { "TIMEOUT",         "60s",   "upstream connect and total timeout" },
  { "STREAM_IDLE_TIMEOUT", "60s", "cut a stream silent for this long" },
  { "COOLDOWN",        "10s",   "base cooldown after a 429 without RetryInfo" },
  { "COOLDOWN_MAX",    "15m",   "cap of cooldowns" },
  { "MAX_FAILURES",    "5",     "consecutive failures that disable a key" },
  { "RECHECK_INTERVAL", "60s",  "how often disabled/invalid keys are re-tested" },
  { "ROTATION_INTERVAL", "5m",  "seed 002's rotation check period" },
  { "KEY_LIMITS",      "",      "per-key limits: model:rpm=N,tpm=N,rpd=N;*:rpm=N" },
  { "RETRY_BACKOFF",   "100ms", "first retry backoff (doubles, with jitter)" },
  { "LOG_LEVEL",       "info",  "error | warn | info | debug" },
  { "LOG_DIR",         "",      "directory for app.log, transaction.log, debug.log (empty: stdout)" },
  { "LOG_FORMAT",      "json",  "json | text: how log lines are written" },
  { "LOG_MAX_SIZE",    "50m",   "rotate a log file before it passes this size (0: never)" },
  { "LOG_MAX_FILES",   "5",     "rotated files kept per log (name.1 ... name.N)" },
  { "WORKERS",         "0",     "worker threads (0: one per core)" },
  { "PROXY",           "",      "outbound proxies (http://, socks5://), comma separated" },
  { "CA_FILE",         "",      "CA bundle to verify the upstream with" },
  { "FETCH_PRIVATE",   "0",     "1: image URLs in OpenAI requests may name private/loopback hosts" },
  { "FETCH_MAX_TOTAL", "40m",   "most bytes of images fetched for one OpenAI request, all its images together" },
  { "FETCH_MAX_INFLIGHT", "256m", "most bytes of fetched images held at once, all requests together" },
  { "MAX_BODY",        "20m",   "largest request body" },
  { "MAX_UPLOAD",      "2048m", "largest upload continuation body (Files API resumable uploads stream, not buffered)" },
  { "UPLOAD_TTL",      "24h",   "how long a gateway upload URL stays valid after its start" },
  { "MAX_HEADER",      "64k",   "largest request head" },
  { "IDLE_TIMEOUT",    "60s",   "client idle / stalled timeout" },
  { "HEADER_TIMEOUT",  "20s",   "a request head must arrive whole within this (slowloris)" },
  { "BODY_TIMEOUT",    "20s",   "a request body must arrive within this, or keep BODY_MIN_RATE" },
  { "BODY_MIN_RATE",   "500",   "bytes a second a body slower than BODY_TIMEOUT must average (0: none)" },
  { "MAX_CONNS",       "10000", "connections per worker" },
  { "DRAIN_TIMEOUT",   "30s",   "on SIGTERM, time for in-flight requests to finish" },
  { "MODEL_ALIASES",   "",      "model names for clients that insist on theirs: from=to,prefix*=to (e.g. claude-*=gemini-2.5-flash)" },
  { "CHAT_MAX_TURNS",  "50",    "exchanges a chat session keeps (older ones are dropped)" },
  { "CHAT_IDLE_TIMEOUT", "24h", "a chat session unused for this long is removed" },
  { "RESPONSES_TTL",   "720h",  "how long a stored Responses API response is kept (previous_response_id)" },
};
#define NSETTINGS ARRAY_LEN(settings)

static int find_setting(const char *name, size_t n)
{
  for(size_t i = 0; i < NSETTINGS; i++)
    if(strlen(settings[i].name) == n && !strncmp(settings[i].name, name, n)) return (int)i;
  return -1;
}

static void set_raw(char **raw, int i, const char *v)
{
  free(raw[i]);
  raw[i] = strdup(v);
}

void strlist_split(strlist *out, const char *s)
{
  while(s && *s) {
    size_t n = strcspn(s, ",\n");
    const char *b = s, *e = s + n;
    while(b < e && isspace((unsigned char)*b)) b++;
    while(e > b && isspace((unsigned char)e[-1])) e--;
    if(e > b && *b != '#') {
      out->v = realloc(out->v, (out->n + 1) * sizeof *out->v);
      out->v[out->n++] = str_dup((str){ b, (size_t)(e - b) });
    }
    s += n;
    if(*s) s++;
  }
}

void strlist_free(strlist *l)
{
  for(size_t i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = 0;
}

/* Reads a whole small file into a malloc'ed string; NULL on error. */
static char *read_file(const char *path)
{
  FILE *f = fopen(path, "r");
  if(!f) return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  size_t r;
  while(buf && (r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += r;
    if(cap - len - 1 == 0) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  if(buf) buf[len] = '\0';
  return buf;
}

static int load_file(char **raw, const char *path)
{
  char *text = read_file(path);
  if(!text) { fprintf(stderr, "gemgate: cannot read config file %s\n", path); return -1; }
  int lineno = 0, rc = 0;
  for(char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    lineno++;
    while(isspace((unsigned char)*line)) line++;
    if(!*line || *line == '#') continue;
    char *eq = strchr(line, '=');
    if(!eq) { fprintf(stderr, "gemgate: %s:%d: expected NAME=VALUE\n", path, lineno); rc = -1; break; }
    char *name = line, *val = eq + 1;
    *eq = '\0';
    for(char *e = eq; e > name && isspace((unsigned char)e[-1]); ) *--e = '\0';
    if(!strncmp(name, "GEMGATE_", 8)) name += 8;
    size_t vl = strlen(val);
    while(vl && isspace((unsigned char)val[vl - 1])) val[--vl] = '\0';
    if(vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) { val[vl - 1] = '\0'; val++; }
    int i = find_setting(name, strlen(name));
    if(i < 0) { fprintf(stderr, "gemgate: %s:%d: unknown setting %s\n", path, lineno, name); rc = -1; break; }
    set_raw(raw, i, val);
  }
  free(text);
  return rc;
}

static void usage(void)
{
  fprintf(stderr, "usage: gemgate [--config FILE] [--name value ...]\n\n"
                  "Settings (environment GEMGATE_NAME, file NAME=VALUE, flag --name):\n");
  for(size_t i = 0; i < NSETTINGS; i++) {
    char flag[64];
    size_t j = 0;
    for(const char *c = settings[i].name; *c && j < sizeof flag - 1; c++)
      flag[j++] = *c == '_' ? '-' : (char)tolower((unsigned char)*c);
    flag[j] = '\0';
    fprintf(stderr, "  --%-20s %s (default: %s)\n", flag, settings[i].help,
            *settings[i].def ? settings[i].def : "none");
  }
}

/* Flags: --config FILE, --help, and --<setting> VALUE / --<setting>=VALUE. */
static int load_flags(char **raw, int argc, char **argv, const char **config_file)
{
  for(int a = 1; a < argc; a++) {
    const char *arg = argv[a];
    if(!strcmp(arg, "--help") || !strcmp(arg, "-h")) { usage(); return 1; }
    if(strncmp(arg, "--", 2)) { fprintf(stderr, "gemgate: unexpected argument %s\n", arg); return -1; }
    arg += 2;
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    const char *val = eq ? eq + 1 : (a + 1 < argc ? argv[++a] : NULL);
    if(!val) { fprintf(stderr, "gemgate: --%.*s needs a value\n", (int)n, arg); return -1; }
    if(n == 6 && !strncmp(arg, "config", 6)) { *config_file = val; continue; }
    char name[64];
    if(n >= sizeof name) { fprintf(stderr, "gemgate: unknown flag --%s\n", arg); return -1; }
    for(size_t i = 0; i < n; i++) name[i] = arg[i] == '-' ? '_' : (char)toupper((unsigned char)arg[i]);
    int i = find_setting(name, n);
    if(i < 0) { fprintf(stderr, "gemgate: unknown flag --%.*s\n", (int)n, arg); return -1; }
    set_raw(raw, i, val);
  }
  return 0;
}

/* GEMGATE_KEY_LIMITS: "model:rpm=N,tpm=N,rpd=N;model2:...". */
static int parse_limits(config *cfg, const char *s)
{
  while(*s) {
    const char *end = s + strcspn(s, ";");
    const char *colon = memchr(s, ':', (size_t)(end - s));
    if(!colon || colon == s || colon - s >= 64) goto bad;
    kp_limit l = { 0 };
    memcpy(l.model, s, (size_t)(colon - s));
    for(const char *p = colon + 1; p < end; ) {
      const char *ce = p + strcspn(p, ",;");
      char item[64];
      if(ce - p >= (long)sizeof item) goto bad;
      memcpy(item, p, (size_t)(ce - p));
      item[ce - p] = '\0';
      char *eq = strchr(item, '=');
      if(!eq) goto bad;
      *eq = '\0';
      int64_t v = parse_int(eq + 1);
      if(v < 0) goto bad;
      if(!strcmp(item, "rpm")) l.rpm = v;
      else if(!strcmp(item, "tpm")) l.tpm = v;
      else if(!strcmp(item, "rpd")) l.rpd = v;
      else goto bad;
      p = *ce == ',' ? ce + 1 : ce;
    }
    cfg->limits = realloc(cfg->limits, (cfg->nlimits + 1) * sizeof *cfg->limits);
    cfg->limits[cfg->nlimits++] = l;
    s = *end ? end + 1 : end;
  }
  return 0;
bad:
  fprintf(stderr, "gemgate: GEMGATE_KEY_LIMITS: expected model:rpm=N,tpm=N,rpd=N;... near \"%s\"\n", s);
  return -1;
}

static char *keys_raw;  /* GEMGATE_KEYS as given, kept for SIGHUP reloads */

int config_read_keys(config *cfg)
{
  strlist l = { 0 };
  strlist_split(&l, keys_raw);
  if(cfg->keys_file) {
    char *text = read_file(cfg->keys_file);
    if(!text) { strlist_free(&l); return -1; }
    strlist_split(&l, text);
    free(text);
  }
  strlist_free(&cfg->keys);
  cfg->keys = l;
  return 0;
}

#define BAD(name, what) do { fprintf(stderr, "gemgate: GEMGATE_%s: %s\n", name, what); goto fail; } while(0)

int config_load(config *cfg, int argc, char **argv)
{
  memset(cfg, 0, sizeof *cfg);
  char *raw[NSETTINGS] = { 0 };
  int rc = -1;
  for(size_t i = 0; i < NSETTINGS; i++) {
    char env[64];
    snprintf(env, sizeof env, "GEMGATE_%s", settings[i].name);
    const char *v = getenv(env);
    set_raw(raw, (int)i, v ? v : settings[i].def);
  }
  const char *file = NULL;
  int f = load_flags(raw, argc, argv, &file);
  if(f) { rc = f; goto fail; }
  if(file && load_file(raw, file)) goto fail;
  if(file && load_flags(raw, argc, argv, &file)) goto fail;   /* flags outrank the file */

#define RAW(name) raw[find_setting(name, strlen(name))]
#define OPT(name) (*RAW(name) ? strdup(RAW(name)) : NULL)
  cfg->listen = strdup(RAW("LISTEN"));
  if(!strchr(cfg->listen, ':')) BAD("LISTEN", "expected address:port");
  cfg->upstream = strdup(RAW("UPSTREAM"));
  size_t ul = strlen(cfg->upstream);
  while(ul && cfg->upstream[ul - 1] == '/') cfg->upstream[--ul] = '\0';
  if(strncmp(cfg->upstream, "http://", 7) && strncmp(cfg->upstream, "https://", 8))
    BAD("UPSTREAM", "expected an http:// or https:// URL");
  cfg->keys_file = OPT("KEYS_FILE");
  cfg->admin_token = OPT("ADMIN_TOKEN");
  strlist_split(&cfg->access_keys, RAW("ACCESS_KEYS"));
  cfg->db = OPT("DB");
  cfg->redis = OPT("REDIS");
  cfg->log_dir = OPT("LOG_DIR");
  cfg->ca_file = OPT("CA_FILE");
  cfg->encryption_key = OPT("ENCRYPTION_KEY");
  strlist_split(&cfg->trusted_proxies, RAW("TRUSTED_PROXIES"));
  char bad[64];
  if(cidr_list_parse(&cfg->trusted_nets, (const char *const *)cfg->trusted_proxies.v, cfg->trusted_proxies.n,
                     bad, sizeof bad) < 0) {
    fprintf(stderr, "gemgate: GEMGATE_TRUSTED_PROXIES: \"%s\" is not an address or CIDR block\n", bad);
    goto fail;
  }
  const char *lp = RAW("LOG_PROMPTS");
  if(!strcmp(lp, "1") || !strcmp(lp, "on") || !strcmp(lp, "true")) cfg->log_prompts = 1;
  else if(!strcmp(lp, "0") || !strcmp(lp, "off") || !strcmp(lp, "false")) cfg->log_prompts = 0;
  else BAD("LOG_PROMPTS", "expected 1 or 0");
  const char *up = RAW("UNPRICED");
  if(!*up) cfg->unpriced = CFG_UNPRICED_DEFAULT;
  else if(!strcmp(up, "refuse")) cfg->unpriced = CFG_UNPRICED_REFUSE;
  else if(!strcmp(up, "max")) cfg->unpriced = CFG_UNPRICED_MAX;
  else if(!strcmp(up, "zero")) cfg->unpriced = CFG_UNPRICED_ZERO;
  else BAD("UNPRICED", "expected refuse, max or zero");
  strlist_split(&cfg->proxies, RAW("PROXY"));

  const char *s = RAW("STRATEGY");
  if(!strcmp(s, "round_robin")) cfg->pool.strategy = KP_ROUND_ROBIN;
  else if(!strcmp(s, "least_used")) cfg->pool.strategy = KP_LEAST_USED;
  else if(!strcmp(s, "health")) cfg->pool.strategy = KP_HEALTH;
  else BAD("STRATEGY", "expected round_robin, least_used or health");

  struct { const char *name; int64_t *dst; int kind; int64_t min; } nums[] = {
    { "TIMEOUT", &cfg->timeout_ms, 'd', 1 },
    { "STREAM_IDLE_TIMEOUT", &cfg->stream_idle_ms, 'd', 1 },
    { "COOLDOWN", &cfg->pool.cooldown_base_ms, 'd', 0 },
    { "COOLDOWN_MAX", &cfg->pool.cooldown_max_ms, 'd', 0 },
    { "RECHECK_INTERVAL", &cfg->pool.recheck_interval_ms, 'd', 1 },
    { "ROTATION_INTERVAL", &cfg->pool.rotation_interval_ms, 'd', 0 },
    { "RETRY_BACKOFF", &cfg->retry_backoff_ms, 'd', 0 },
    { "IDLE_TIMEOUT", &cfg->idle_timeout_ms, 'd', 1 },
    { "HEADER_TIMEOUT", &cfg->header_timeout_ms, 'd', 1 },
    { "BODY_TIMEOUT", &cfg->body_timeout_ms, 'd', 1 },
    { "BODY_MIN_RATE", &cfg->body_min_rate, 'i', 0 },
    { "DRAIN_TIMEOUT", &cfg->drain_timeout_ms, 'd', 0 },
    { "MAX_BODY", &cfg->max_body, 's', 1 },
    { "MAX_UPLOAD", &cfg->max_upload, 's', 1 },
    { "UPLOAD_TTL", &cfg->upload_ttl_ms, 'd', 1 },
    { "MAX_HEADER", &cfg->max_header, 's', 1024 },
    { "MAX_CONNS", &cfg->max_conns, 'i', 1 },
    { "FETCH_MAX_TOTAL", &cfg->fetch_max_total, 's', 1 },
    { "FETCH_MAX_INFLIGHT", &cfg->fetch_max_inflight, 's', 1 },
  };
  for(size_t i = 0; i < ARRAY_LEN(nums); i++) {
    const char *v = RAW(nums[i].name);
    int64_t x = nums[i].kind == 'd' ? parse_duration_ms(v) : nums[i].kind == 's' ? parse_size(v) : parse_int(v);
    if(x < nums[i].min) BAD(nums[i].name, nums[i].kind == 'd' ? "expected a duration such as 30s, 500ms, 2m"
                                        : nums[i].kind == 's' ? "expected a size such as 20m or 64k" : "expected a positive integer");
    *nums[i].dst = x;
  }
  int64_t v;
  if((v = parse_int(RAW("MAX_RETRIES"))) < 0 || v > 20) BAD("MAX_RETRIES", "expected 0..20");
  cfg->max_retries = (int)v;
  if((v = parse_int(RAW("FETCH_PRIVATE"))) < 0 || v > 1) BAD("FETCH_PRIVATE", "expected 0 or 1");
  cfg->fetch_private = (int)v;
  if((v = parse_int(RAW("MAX_FAILURES"))) < 1 || v > 1000000) BAD("MAX_FAILURES", "expected a positive integer");
  cfg->pool.max_failures = (int)v;
  if((v = parse_int(RAW("WORKERS"))) < 0 || v > 256) BAD("WORKERS", "expected 0..256");
  cfg->workers = v ? (int)v : (int)sysconf(_SC_NPROCESSORS_ONLN);
  if(cfg->workers < 1) cfg->workers = 1;
  int lvl = log_parse_level(RAW("LOG_LEVEL"));
  if(lvl < 0) BAD("LOG_LEVEL", "expected error, warn, info or debug");
  cfg->log_level = lvl;
  const char *lf = RAW("LOG_FORMAT");
  if(!strcmp(lf, "json")) cfg->log_json = 1;
  else if(strcmp(lf, "text")) BAD("LOG_FORMAT", "expected json or text");
  if((cfg->log_max_size = parse_size(RAW("LOG_MAX_SIZE"))) < 0) BAD("LOG_MAX_SIZE", "expected a size such as 50m");
  if((v = parse_int(RAW("LOG_MAX_FILES"))) < 0 || v > 1000) BAD("LOG_MAX_FILES", "expected 0..1000");
  cfg->log_max_files = (int)v;
  if(parse_limits(cfg, RAW("KEY_LIMITS"))) goto fail;
  cfg->pool.limits = cfg->limits;
  cfg->pool.nlimits = cfg->nlimits;

  char aerr[160];
  if(aliases_parse(RAW("MODEL_ALIASES"), &cfg->aliases, aerr, sizeof aerr)) BAD("MODEL_ALIASES", aerr);
  if((v = parse_int(RAW("CHAT_MAX_TURNS"))) < 1 || v > 10000) BAD("CHAT_MAX_TURNS", "expected 1..10000");
  cfg->chat_max_turns = (int)v;
  if((cfg->chat_idle_ms = parse_duration_ms(RAW("CHAT_IDLE_TIMEOUT"))) < 1000) BAD("CHAT_IDLE_TIMEOUT", "expected a duration of at least 1s, such as 24h");
  if((cfg->responses_ttl_ms = parse_duration_ms(RAW("RESPONSES_TTL"))) < 1000) BAD("RESPONSES_TTL", "expected a duration of at least 1s, such as 720h");

  keys_raw = strdup(RAW("KEYS"));
  if(config_read_keys(cfg)) BAD("KEYS_FILE", "cannot read the file");
  rc = 0;
fail:
  for(size_t i = 0; i < NSETTINGS; i++) free(raw[i]);
  return rc;
}

void config_free(config *cfg)
{
  free(cfg->listen); free(cfg->upstream); free(cfg->keys_file); free(cfg->admin_token);
  free(cfg->db); free(cfg->redis); free(cfg->log_dir); free(cfg->ca_file); free(cfg->limits);
  free(cfg->encryption_key); strlist_free(&cfg->trusted_proxies); cidr_list_free(&cfg->trusted_nets);
  strlist_free(&cfg->keys); strlist_free(&cfg->access_keys); strlist_free(&cfg->proxies);
  aliases_free(&cfg->aliases);
  free(keys_raw);
  keys_raw = NULL;
}
