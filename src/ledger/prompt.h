/* prompt — the text of a call's prompt, for the ledger (seed 000 keeps its first 500 characters).
 * Pure functions: no allocation visible to callers, thread-safe. */
#ifndef GEMGATE_PROMPT_H
#define GEMGATE_PROMPT_H

#include <stddef.h>

#define PROMPT_PARSE_MAX (256 * 1024)   /* bodies up to this are parsed as JSON */
#define PROMPT_SCAN_MAX (64 * 1024)     /* larger ones: the first "text" in this many bytes */

/* The byte length of the longest prefix of s[0..n) with at most max_chars UTF-8 characters and
 * at most max_bytes bytes, cut at a character boundary. */
size_t prompt_cut(const char *s, size_t n, size_t max_chars, size_t max_bytes);

/* Replaces every byte of s that is not part of valid UTF-8 with '?', in place (the ledger stores
 * only valid text, so every JSON view of it can be built). */
void prompt_sanitize(char *s);

/* The prompt of a Gemini or OpenAI request body into out (NUL-terminated, at most max_chars
 * characters and cap-1 bytes): the last user turn's text parts joined by newlines; else an
 * embedding's input or an image prompt.  "" when there is none. */
void prompt_extract(const char *body, size_t len, char *out, size_t cap, size_t max_chars);

#endif
