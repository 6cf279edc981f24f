/* config — every setting of the gateway, from environment variables GEMGATE_*, an optional
 * config file (--config FILE, lines NAME=VALUE) and command-line flags (--name value or
 * --name=value, where --max-retries stands for GEMGATE_MAX_RETRIES), in rising precedence. */
#ifndef GEMGATE_CONFIG_H
#define GEMGATE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "base/alias.h"
#include "base/cidr.h"

/* The key pool's settings (pool/keypool.h takes them as they are). */
typedef enum { KP_ROUND_ROBIN, KP_LEAST_USED, KP_HEALTH } kp_strategy;

typedef struct kp_limit {            /* per-key limits for one model; 0 = unlimited */
  char model[64];                    /* model name, or "*" for every model without its own entry */
  int64_t rpm, tpm, rpd;
} kp_limit;

typedef struct kp_config {
  kp_strategy strategy;              /* default KP_ROUND_ROBIN */
  int64_t cooldown_base_ms;          /* first 429 without RetryInfo cools for this long (10 s) */
  int64_t cooldown_max_ms;           /* cap of base*2^(n-1) and of RetryInfo delays (15 min) */
  int max_failures;                  /* consecutive failures that disable a key (5) */
  int64_t recheck_interval_ms;       /* how often disabled/invalid keys are re-tested (60 s) */
  int64_t rotation_interval_ms;      /* seed 002's rotation check, at most this often (5 min) */
  const kp_limit *limits;            /* copied by kp_new */
  size_t nlimits;
} kp_config;

typedef struct strlist { char **v; size_t n; } strlist;

/* A call to a model without a price: refused (403) for users with a budget and billed at zero
 * for the rest (DEFAULT), refused for everyone, billed at the table's highest prices, or free. */
enum { CFG_UNPRICED_DEFAULT, CFG_UNPRICED_REFUSE, CFG_UNPRICED_MAX, CFG_UNPRICED_ZERO };

typedef struct config {
  char *listen;            /* host:port */
  char *upstream;          /* base URL, no trailing slash */
  strlist keys;            /* GEMGATE_KEYS plus GEMGATE_KEYS_FILE's lines */
  char *keys_file;
  char *admin_token;       /* NULL: admin routes refuse every caller */
  strlist access_keys;     /* static client keys */
  char *db, *redis, *log_dir, *ca_file;
  char *encryption_key;    /* GEMGATE_ENCRYPTION_KEY: upstream keys at rest; NULL = stored plain */
  strlist trusted_proxies; /* X-Forwarded-For is believed only from these ... */
  cidr_list trusted_nets;  /* ... parsed (http/clientip.c reads it) */
  int log_prompts;         /* 1: the ledger keeps the first 500 characters of prompts */
  int unpriced;            /* GEMGATE_UNPRICED: CFG_UNPRICED_* */
  strlist proxies;         /* outbound proxies; each key pinned to one by hash */
  int workers;
  int log_level;             /* log_level */
  int log_json;              /* GEMGATE_LOG_FORMAT=json (1) or text (0) */
  int64_t log_max_size;      /* rotate past this many bytes; 0 never */
  int log_max_files;         /* rotated files kept per log */
  int max_retries;
  int fetch_private;           /* image URLs may name private/loopback hosts (tests, intranets) */
  int64_t timeout_ms;          /* connect + whole non-stream call; time to first byte of a stream */
  int64_t stream_idle_ms;      /* a stream with no byte for this long is cut */
  int64_t idle_timeout_ms;     /* client keep-alive / slow request / stalled reader */
  int64_t header_timeout_ms;   /* a request head arrives whole within this */
  int64_t body_timeout_ms;     /* a body arrives within this, or averages body_min_rate */
  int64_t body_min_rate;       /* bytes/s; 0: no rate, the timeout alone */
  int64_t drain_timeout_ms;    /* SIGTERM: how long in-flight requests may finish */
  int64_t max_body, max_header;
  int64_t max_upload;          /* an upload continuation's body (streamed; max_body does not apply) */
  int64_t upload_ttl_ms;       /* a gateway upload URL expires this long after its start */
  int64_t max_conns;           /* per worker */
  int64_t fetch_max_total;     /* image bytes fetched for one request, all its images (upstream/fetch.h) */
  int64_t fetch_max_inflight;  /* image bytes held by fetches at once, all requests */
  int64_t retry_backoff_ms;    /* first retry's backoff (doubles, with jitter) */
  kp_config pool;
  kp_limit *limits;
  size_t nlimits;
  /* The client dialects (issue 12). */
  model_aliases aliases;       /* GEMGATE_MODEL_ALIASES, parsed (base/alias.h) */
  int chat_max_turns;          /* exchanges a chat session keeps; older ones are dropped */
  int64_t chat_idle_ms;        /* a chat session unused for this long is gone */
  int64_t responses_ttl_ms;    /* a stored Responses API response lives this long */
} config;

/* Fill *cfg from the environment, the config file and argv.  On bad input prints one clear
 * message to stderr and returns -1.  Returns 1 when --help was asked (usage printed). */
int config_load(config *cfg, int argc, char **argv);
void config_free(config *cfg);

/* (Re)read GEMGATE_KEYS and GEMGATE_KEYS_FILE into cfg->keys.  -1 if the file cannot be read. */
int config_read_keys(config *cfg);

/* Split on commas and newlines, trimming blanks; appends to *out. */
void strlist_split(strlist *out, const char *s);
void strlist_free(strlist *l);

#endif
