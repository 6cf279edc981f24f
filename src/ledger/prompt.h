/* prompt — the text tools the ledger stores prompts and labels with (seed 000 keeps a prompt's
 * first 500 characters).  Knows no API dialect: which part of a request body is its prompt is
 * the call engine's business (call/body_prompt.h).  Pure functions, thread-safe. */
#ifndef GEMGATE_PROMPT_H
#define GEMGATE_PROMPT_H

#include <stddef.h>

/* The byte length of the longest prefix of s[0..n) with at most max_chars UTF-8 characters and
 * at most max_bytes bytes, cut at a character boundary. */
size_t prompt_cut(const char *s, size_t n, size_t max_chars, size_t max_bytes);

/* Replaces every byte of s that is not part of valid UTF-8 with '?', in place (the ledger stores
 * only valid text, so every JSON view of it can be built). */
void prompt_sanitize(char *s);

#endif
