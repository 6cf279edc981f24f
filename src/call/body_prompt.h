/* body_prompt — which text of a client's request body is its prompt, one extractor per API
 * dialect.  The call engine hands the right one to the ledger with the row (ledger_row.prompt_of),
 * and the ledger's writer thread runs it on a copy of the body: no worker parses a body for its
 * prompt.  Both write into out (NUL-terminated, at most max_chars UTF-8 characters and cap-1
 * bytes) the texts joined by newlines, "" when there is none.  Bodies over
 * BODY_PROMPT_PARSE_MAX bytes (or not JSON) are not parsed: the first "text" string of their
 * first BODY_PROMPT_SCAN_MAX bytes is taken.  Pure, thread-safe. */
#ifndef GEMGATE_BODY_PROMPT_H
#define GEMGATE_BODY_PROMPT_H

#include <stddef.h>

#define BODY_PROMPT_PARSE_MAX (256 * 1024)   /* bodies up to this are parsed as JSON */
#define BODY_PROMPT_SCAN_MAX (64 * 1024)     /* larger ones: the first "text" in this many bytes */

/* A native Gemini body: the last user turn's text parts (generateContent and its stream,
 * countTokens); else embedContent's content, batchEmbedContents' first request, an Imagen
 * instance's prompt.  The common {"contents":[…]} shape is read without building a tree. */
void body_prompt_gemini(const char *body, size_t len, char *out, size_t cap, size_t max_chars);

/* An OpenAI body: the last user message's content (string or text parts); else an embedding's
 * (first) input, an image prompt. */
void body_prompt_openai(const char *body, size_t len, char *out, size_t cap, size_t max_chars);

/* A Responses API body: its input when it is a string, else the last user message item's
 * content (string or input_text parts). */
void body_prompt_responses(const char *body, size_t len, char *out, size_t cap, size_t max_chars);

/* A chat session message body (POST /api/chat/sessions/{id}/messages): its text, else the text
 * of its parts. */
void body_prompt_chat(const char *body, size_t len, char *out, size_t cap, size_t max_chars);

#endif
