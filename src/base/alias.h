/* alias — model name aliases (GEMGATE_MODEL_ALIASES), so that clients which insist on their
 * own model names (Claude Code, Codex) reach a Gemini model.
 *
 * The setting is a list of from=to pairs separated by commas or semicolons:
 * "claude-sonnet-4-5=gemini-2.5-pro,claude-*=gemini-2.5-flash".  A from ending in '*' matches
 * by prefix.  An exact entry wins over any prefix; among prefixes the longest wins.  A name no
 * entry matches is used as it is. */
#ifndef GEMGATE_ALIAS_H
#define GEMGATE_ALIAS_H

#include <stdbool.h>
#include <stddef.h>

#define ALIAS_NAME_MAX 128

typedef struct model_alias {
  char from[ALIAS_NAME_MAX];     /* without the trailing '*' of a prefix entry */
  char to[ALIAS_NAME_MAX];
  bool prefix;
} model_alias;

typedef struct model_aliases { model_alias *v; size_t n; } model_aliases;

/* Parse spec (NULL or "" = none) into *out (zeroed first).  0, or -1 with a message in err:
 * an entry without '=', an empty or too long side, a '*' anywhere but at the end of from, a
 * to that is not a model name ([A-Za-z0-9._-]). */
int aliases_parse(const char *spec, model_aliases *out, char *err, size_t errcap);
/* The model name is stands for: an entry's to, else name itself.  Never NULL for a non-NULL
 * name; the pointer is valid as long as a and name are. */
const char *aliases_resolve(const model_aliases *a, const char *name);
void aliases_free(model_aliases *a);

#endif
