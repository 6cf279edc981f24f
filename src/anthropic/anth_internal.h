/* anth_internal — helpers shared by the anth_*.c files; not part of the module's API. */
#ifndef GEMGATE_ANTH_INTERNAL_H
#define GEMGATE_ANTH_INTERNAL_H

#include "anthropic/anthropic.h"

/* The member k of o, or NULL when absent or JSON null. */
json_t *anth_opt(const json_t *o, const char *k);
/* "a string", "an object", … for messages. */
const char *anth_jtype(const json_t *v);
/* A 400 "<param>: <message>"; returns -1. */
int anth_bad(anth_error *e, const char *param, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Checked values: 0 when v is fine (*out set), else a 400 naming param. */
int anth_number_in(anth_error *e, const json_t *v, const char *param, double lo, double hi);
int anth_int_in(anth_error *e, const json_t *v, const char *param, int64_t lo, int64_t hi, int64_t *out);
int anth_bool(anth_error *e, const json_t *v, const char *param, bool *out);
/* snprintf that cuts silently (param paths). */
void anth_fmt(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Copy at most cap-1 bytes of s (n bytes), cutting at a character boundary. */
void anth_copy_utf8(char *dst, size_t cap, const char *s, size_t n);
/* Append the compact serialisation of j. */
int anth_dump(dbuf *b, const json_t *j);

void anth_usage_read(anth_usage *u, const json_t *usage_metadata);
/* {"input_tokens","output_tokens","cache_read_input_tokens","cache_creation_input_tokens":0}. */
json_t *anth_usage_json(const anth_usage *u);
/* Gemini finishReason → stop_reason (tool_use when the answer called a tool). */
const char *anth_stop_reason(const char *gemini_reason, bool called);
/* "toolu_<id less its msg_ prefix>_<k>" into out. */
void anth_tool_id(char *out, size_t cap, const char *msg_id, size_t k);

#endif
