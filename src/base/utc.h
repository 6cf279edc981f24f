/* utc — calendar arithmetic in UTC on ms-since-epoch times: days, months, ISO 8601 text.  All
 * statistics and quotas of gemgate use UTC days. */
#ifndef GEMGATE_UTC_H
#define GEMGATE_UTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTC_DAY_MS 86400000LL
#define UTC_HOUR_MS 3600000LL

static inline int64_t utc_day(int64_t ms) { return ms >= 0 ? ms / UTC_DAY_MS : (ms - UTC_DAY_MS + 1) / UTC_DAY_MS; }

/* The first ms of the month containing ms, and of the month after it. */
int64_t utc_month_start(int64_t ms);
int64_t utc_next_month(int64_t ms);

/* "2025-01-23T10:30:00Z" (seconds precision) into out (≥ 21 bytes). */
void utc_iso(int64_t ms, char *out, size_t cap);

/* Parses "2025-01-23", "2025-01-23T10:30:00Z" (fraction and "+hh:mm" offsets accepted) or an
 * integer of seconds since the epoch.  Years 2000..9999 only.  false on anything else. */
bool utc_parse(const char *s, int64_t *ms);

#endif
