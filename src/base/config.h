/* config — every setting of the gateway, from environment variables GEMGATE_*, an optional
 * config file (--config FILE, lines NAME=VALUE) and command-line flags (--name value or
 * --name=value, where --max-retries stands for GEMGATE_MAX_RETRIES), in rising precedence. */
#ifndef GEMGATE_CONFIG_H
#define GEMGATE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "pool/keypool.h"

typedef struct strlist { char **v; size_t n; } strlist;

typedef struct config {
  char *listen;            /* host:port */
  char *upstream;          /* base URL, no trailing slash */
  strlist keys;            /* GEMGATE_KEYS plus GEMGATE_KEYS_FILE's lines */
  char *keys_file;
  char *admin_token;       /* NULL: admin routes refuse every caller */
  strlist access_keys;     /* static client keys */
  char *db, *redis, *log_dir, *ca_file;
  char *encryption_key;    /* GEMGATE_ENCRYPTION_KEY: upstream keys at rest; NULL = stored plain */
  strlist trusted_proxies; /* X-Forwarded-For is believed only from these */
  int log_prompts;         /* 1: the ledger keeps the first 500 characters of prompts */
  strlist proxies;         /* outbound proxies; each key pinned to one by hash */
  int workers;
  int log_level;             /* log_level */
  int max_retries;
  int fetch_private;           /* image URLs may name private/loopback hosts (tests, intranets) */
  int64_t timeout_ms;          /* connect + whole non-stream call; time to first byte of a stream */
  int64_t stream_idle_ms;      /* a stream with no byte for this long is cut */
  int64_t idle_timeout_ms;     /* client keep-alive / slow request / stalled reader */
  int64_t drain_timeout_ms;    /* SIGTERM: how long in-flight requests may finish */
  int64_t max_body, max_header;
  int64_t max_conns;           /* per worker */
  int64_t retry_backoff_ms;    /* first retry's backoff (doubles, with jitter) */
  kp_config pool;
  kp_limit *limits;
  size_t nlimits;
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
