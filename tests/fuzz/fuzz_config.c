/* fuzz_config: the configuration and limits parsers (src/base/config.c, util.c): settings
 * given as flags, one "NAME=value" a line (names from the list below; never ones that name
 * files), sizes, durations, GEMGATE_KEY_LIMITS, trusted proxy CIDRs.  Oracle: config_load either
 * refuses or gives values within their stated ranges; the number parsers never overflow. */
#include "fuzz.h"

#include "base/cidr.h"
#include "base/config.h"
#include "base/util.h"

static const char *const names[] = {
  "listen", "upstream", "keys", "access-keys", "strategy", "max-retries", "timeout", "stream-idle-timeout",
  "cooldown", "cooldown-max", "max-failures", "recheck-interval", "rotation-interval", "key-limits",
  "retry-backoff", "log-level", "workers", "proxy", "fetch-private", "max-body", "max-upload", "upload-ttl",
  "max-header", "idle-timeout", "max-conns", "drain-timeout", "trusted-proxies", "log-prompts",
  "fetch-max-total", "fetch-max-inflight", "admin-token", "encryption-key",
};
#define NNAMES (sizeof names / sizeof names[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text = fuzz_cstr(data, size);
  char *argv[34] = { "gemgate" };
  int argc = 1;
  for(char *save = NULL, *line = strtok_r(text, "\n", &save); line && argc < 33; line = strtok_r(NULL, "\n", &save)) {
    size_t k = (unsigned char)line[0] % NNAMES;
    size_t len = strlen(names[k]) + strlen(line + 1) + 4;
    argv[argc] = malloc(len);
    snprintf(argv[argc++], len, "--%s=%s", names[k], line + 1);
    /* and the raw parsers on the value alone */
    int64_t d = parse_duration_ms(line + 1), z = parse_size(line + 1), i = parse_int(line + 1);
    CHECK(d >= -1 && z >= -1 && i >= -1);
    uint8_t a[16];
    (void)cidr_parse_ip(line + 1, a);
  }
  config cfg;
  int rc = config_load(&cfg, argc, argv);
  if(rc == 0) {
    CHECK(cfg.workers >= 1 && cfg.max_retries >= 0 && cfg.max_retries <= 20);
    CHECK(cfg.timeout_ms >= 1 && cfg.max_body >= 1 && cfg.max_header >= 1024 && cfg.max_conns >= 1);
    CHECK(cfg.fetch_max_total >= 1 && cfg.fetch_max_inflight >= 1);
    for(size_t l = 0; l < cfg.nlimits; l++) CHECK(cfg.limits[l].rpm >= 0 && cfg.limits[l].tpm >= 0 && cfg.limits[l].rpd >= 0);
    (void)cidr_list_has(&cfg.trusted_nets, "10.1.2.3");
    (void)cidr_list_has(&cfg.trusted_nets, "::1");
  }
  config_free(&cfg);
  for(int a = 1; a < argc; a++) free(argv[a]);
  free(text);
  return 0;
}
