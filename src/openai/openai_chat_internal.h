/* openai_chat_internal — the state of one chat request translation, shared by openai_chat.c
 * (parameters, tools, thinking) and openai_msgs.c (messages). */
#ifndef GEMGATE_OPENAI_CHAT_INTERNAL_H
#define GEMGATE_OPENAI_CHAT_INTERNAL_H

#include "openai/openai_internal.h"

typedef struct chat_cx {
  const oai_settings *set;
  oai_chat *c;
  oai_error *e;
  json_t *contents;          /* Gemini contents, same-role turns merged */
  json_t *sys;               /* systemInstruction parts */
  json_t *calls;             /* tool_call_id → function name, from assistant tool_calls */
  size_t fetch_cap;
  json_t *last_user;         /* the content holding the last user message's parts … */
  size_t lu_start, lu_end;   /* … at parts[lu_start, lu_end) — where injections go */
  const char *prompt;        /* the last user text, borrowed from the request */
  size_t prompt_len;
  bool gemini3;              /* the model wants thought signatures on replayed calls */
} chat_cx;

/* Each sets a 400 in x->e and returns -1. */
int cx_missing(chat_cx *x, const char *param);
int cx_type(chat_cx *x, const char *param, const json_t *v, const char *want);
int cx_value(chat_cx *x, const char *param, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Translate "messages" into x->contents and x->sys.  0 or -1. */
int chat_messages(chat_cx *x, const json_t *msgs);

#endif
