/* log — the gateway's three log streams, written off the request path.
 *
 * Streams (seed 003): application (start, configuration, key state changes, errors),
 * transaction (one line per client call) and debug.  A line is formatted by the calling thread
 * and copied into a slot of one in-memory ring (lock-free: a compare-and-swap claims a slot, no
 * lock, no syscall, no allocation) and a logger thread writes the ring out in batches, as JSON lines or
 * text, to files in a directory (app.log, transaction.log, debug.log; rotated by size and
 * count, reopened by log_reopen; the application stream is copied to stdout) or to stdout.  When the ring is full the line is dropped and
 * counted (log_get_stats) — a worker never waits for the disk.  The ring also keeps the newest
 * lines for the live-log routes (log_get).
 *
 * Before log_start and after log_stop a line is written at once to stderr (tools, unit tests).
 * Callers must never pass a key secret: mask it first (kp_mask); access keys by id only. */
#ifndef GEMGATE_LOG_H
#define GEMGATE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG } log_level;
typedef enum { LOG_APP, LOG_TX, LOG_DBG, LOG_NSTREAMS } log_stream;

extern log_level log_threshold;

#define LOG_RID_CAP 65                 /* a request id: at most 64 characters */
#define LOG_MSG_CAP 400                /* a message is cut to this many bytes */

/* "error" | "warn" | "info" | "debug"; returns -1 on an unknown name. */
int log_parse_level(const char *name);
const char *log_level_name(log_level l);
/* "app" | "transaction" | "debug"; -1 on an unknown name. */
int log_parse_stream(const char *name);
const char *log_stream_name(log_stream s);

/* An application line (stream app; LOG_DEBUG lines go to the debug stream). */
void log_msg(log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line of stream s carrying request id rid (NULL or "": none). */
void log_line_rid(log_level lvl, log_stream s, const char *rid, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  do { if(log_threshold >= LOG_INFO) log_msg(LOG_INFO, __VA_ARGS__); } while(0)
#define log_debug(...) do { if(log_threshold >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while(0)

/* One client call, for the transaction stream (level info).  Strings are copied (cut to fit);
 * NULL means "-".  key: the last upstream key tried, masked. */
typedef struct log_tx {
  const char *request_id, *user, *ip, *method, *route, *model, *key, *outcome;
  int status, attempts;
  int64_t tokens_in, tokens_out, latency_ms, ttfb_ms;
} log_tx;
void log_transaction(const log_tx *t);

/* ---- the logger thread ---- */

typedef struct log_opts {
  const char *dir;          /* NULL or "": stdout */
  bool json;                /* JSON lines (else text) */
  int64_t max_size;         /* rotate a file before it passes this many bytes (0: never) */
  int max_files;            /* rotated files kept per stream: name.1 … name.N (0: truncate) */
  size_t ring;              /* lines the ring holds (rounded up to a power of two; 0: 8192) */
} log_opts;

/* Allocates the ring, opens the files and starts the logger thread.  -1 with a message (the
 * directory cannot be made or a file opened). */
int log_start(const log_opts *o, char *err, size_t cap);
/* Writes every line logged so far, stops the thread.  Lines after it go straight to stderr. */
void log_stop(void);
/* Reopen the files on the logger thread's next turn (SIGUSR1, after an outside rotation). */
void log_reopen(void);
/* Wait (up to timeout_ms) until every line logged so far has been written; true when so. */
bool log_flush(int64_t timeout_ms);

typedef struct log_stats {
  int64_t lines;            /* lines put in the ring */
  int64_t dropped;          /* lines refused because the ring was full */
  int64_t written;          /* lines written out */
  int64_t bytes;            /* bytes written out */
  int64_t write_errors, rotations;
  int64_t by_level[4];      /* lines put in the ring, per level */
  size_t ring, pending;     /* the ring's size; lines waiting to be written */
} log_stats;
void log_get_stats(log_stats *out);

/* ---- reading the ring (the live-log routes) ---- */

typedef struct log_line {
  uint64_t pos;             /* its position: lines are numbered from 0 in logging order */
  int64_t ts_ms;
  uint8_t level, stream;
  bool is_tx;
  char rid[LOG_RID_CAP];
  union {
    char msg[LOG_MSG_CAP];
    struct {
      char user[32], ip[48], method[12], route[128], model[64], key[32], outcome[24];
      int status, attempts;
      int64_t tokens_in, tokens_out, latency_ms, ttfb_ms;
    } tx;
  } u;
} log_line;

/* The position the next line will get.  Lines [log_head() - ring, log_head()) may be read. */
uint64_t log_head(void);
/* A copy of the line at pos: false when it is not (yet, or any longer) in the ring — its slot
 * is being written, or has been reused.  Any thread; never blocks. */
bool log_get(uint64_t pos, log_line *out);

/* Which lines a reader wants: stream -1 any; lines at level max_level or more severe; rid ""
 * any, else that request's lines only. */
typedef struct log_filter { int stream; int max_level; char rid[LOG_RID_CAP]; } log_filter;
bool log_match(const log_line *l, const log_filter *f);

/* The line as one JSON object or one text line, without a newline, into buf (NUL-terminated,
 * cut at cap).  Returns its length. */
size_t log_render(const log_line *l, bool json, char *buf, size_t cap);

#endif
