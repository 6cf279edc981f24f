/* responses_internal — what responses_out.c and responses_stream.c share. */
#ifndef GEMGATE_RESPONSES_INTERNAL_H
#define GEMGATE_RESPONSES_INTERNAL_H

#include "openai/openai_internal.h"
#include "openai/responses.h"

/* "<prefix>_<id less resp_>_<k>" into out: item ids (msg_, rs_, fc_) and call ids (call_). */
void rr_id(char *out, size_t cap, const char *prefix, const char *resp_id, size_t k);
/* The Responses usage object (input/output tokens with cached and reasoning details). */
json_t *rr_usage(const oai_usage *u);
/* The response object: m's echo with id, object, created_at, status, error (NULL: null),
 * incomplete_details (NULL: null), model, output (taken), usage (NULL: null). */
json_t *rr_object(const oai_rmeta *m, const char *status, json_t *output, const oai_usage *u, const char *incomplete,
                  const oai_error *error);
/* Why an answer is incomplete — "max_output_tokens", "content_filter" — or NULL. */
const char *rr_incomplete(const char *finish_reason, bool blocked);

#endif
