/* log — leveled, line-at-a-time logging to stderr.  Each line is written with one write(2),
 * so lines from different worker threads never interleave.  Callers must never pass a key
 * secret: mask it first (kp_mask). */
#ifndef GEMGATE_LOG_H
#define GEMGATE_LOG_H

typedef enum { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG } log_level;

extern log_level log_threshold;

/* "error" | "warn" | "info" | "debug"; returns -1 on an unknown name. */
int log_parse_level(const char *name);

void log_msg(log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  do { if(log_threshold >= LOG_INFO) log_msg(LOG_INFO, __VA_ARGS__); } while(0)
#define log_debug(...) do { if(log_threshold >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while(0)

#endif
