/* fg_behav — what a key's tokens ask the fake to do ("AIzaFake-rl30-02" → 429, retry 30s). */
#ifndef FG_BEHAV_H
#define FG_BEHAV_H

#include <stddef.h>

/* The answer a key gets; the first outcome token in the key wins. */
enum fg_outcome {
    FG_OUT_OK,      /* answer normally (also the default) */
    FG_OUT_RL,      /* 429 RESOURCE_EXHAUSTED; retry_delay "" means no RetryInfo */
    FG_OUT_INVALID, /* 400 API_KEY_INVALID */
    FG_OUT_FORBID,  /* 403 PERMISSION_DENIED */
    FG_OUT_ECODE,   /* the status in ecode */
    FG_OUT_HANG,    /* read the request, never answer */
    /* Google's verdicts on a key (fg_reply_verdict): */
    FG_OUT_EXPIRED,   /* 400 API_KEY_EXPIRED */
    FG_OUT_BLOCKED,   /* 403 API_KEY_SERVICE_BLOCKED */
    FG_OUT_DISABLED,  /* 403 SERVICE_DISABLED */
    FG_OUT_SUSPENDED, /* 403 CONSUMER_SUSPENDED */
    FG_OUT_LEAKED,    /* 403 "Your API key was reported as leaked." */
};

/* Parsed behaviour.  Modifiers (flaky, slow, reset, chunks, gap) combine with the outcome;
 * each takes its first occurrence.  -1 / 0 mean "not given" as noted. */
typedef struct fg_behav {
    enum fg_outcome outcome;
    int ecode;             /* FG_OUT_ECODE only */
    char retry_delay[16];  /* FG_OUT_RL: "30s", "0.5s", or "" */
    int flaky;             /* 0: not flaky; N: requests 1, N+1, 2N+1... answer 503 */
    int slow_ms;           /* 0: no delay before the response head */
    int reset_after;       /* -1: never; N: RST after N stream chunks (non-streams: at once) */
    int chunks;            /* -1: default stream length */
    int gap_ms;            /* -1: default stream pacing */
    int rpm;               /* -1: no per-minute quota; N: generate calls per minute per model */
    int rpd;               /* -1: no per-day quota; N: generate calls per day per model */
} fg_behav;

/* Parses '-'-separated tokens from s[0..n) into *b; unknown tokens are ignored. */
void fg_behav_parse(const char *s, size_t n, fg_behav *b);

#endif
