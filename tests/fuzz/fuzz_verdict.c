/* fuzz_verdict: the QuotaFailure / RetryInfo / ErrorInfo reader (src/pool/verdict.c) on any
 * status and body.  Oracles: a delay is -1 or within 30 days (never a nan/inf/huge cast), a quota
 * value -1 or more, the reason a short string; Google durations alike. */
#include "fuzz.h"

#include "pool/verdict.h"

#define DAYS30 (30LL * 86400 * 1000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 2) return 0;
  int status = 200 + (data[0] | data[1] << 8) % 400;
  verdict v;
  verdict_read(status, (const char *)data + 2, size - 2, &v);
  CHECK(v.retry_delay_ms == -1 || (v.retry_delay_ms >= 0 && v.retry_delay_ms <= DAYS30));
  CHECK(v.quota_value >= -1);
  CHECK(memchr(v.reason, '\0', sizeof v.reason));
  CHECK(v.kind >= VERDICT_OK && v.kind <= VERDICT_SERVER);
  CHECK((status >= 200 && status < 300) == (v.kind == VERDICT_OK));
  char *s = fuzz_cstr(data + 2, size - 2 < 64 ? size - 2 : 64);
  int64_t d = verdict_duration_ms(s);
  CHECK(d == -1 || (d >= 0 && d <= DAYS30));
  free(s);
  int64_t now = (int64_t)(data[0] | data[1] << 8) * 3600000LL * 24 + 1700000000000LL;
  int64_t mid = verdict_next_pacific_midnight(now);
  CHECK(mid > now && mid - now <= 25LL * 3600000);
  return 0;
}
