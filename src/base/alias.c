/* alias — model name aliases; contract in alias.h. */
#include "base/alias.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool name_ok(const char *s, size_t n)
{
  if(!n) return false;
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if(!isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

/* s[0..n) without blanks at either end. */
static void trim(const char **s, size_t *n)
{
  while(*n && isspace((unsigned char)**s)) { (*s)++; (*n)--; }
  while(*n && isspace((unsigned char)(*s)[*n - 1])) (*n)--;
}

static int entry(model_aliases *out, const char *s, size_t n, char *err, size_t errcap)
{
  const char *eq = memchr(s, '=', n);
  if(!eq) { snprintf(err, errcap, "expected from=to, got \"%.*s\"", (int)(n > 60 ? 60 : n), s); return -1; }
  const char *f = s, *t = eq + 1;
  size_t fn = (size_t)(eq - s), tn = n - fn - 1;
  trim(&f, &fn);
  trim(&t, &tn);
  bool prefix = fn && f[fn - 1] == '*';
  if(prefix) fn--;
  if((!fn && !prefix) || !tn || fn >= ALIAS_NAME_MAX || tn >= ALIAS_NAME_MAX || memchr(f, '*', fn) ||
     memchr(f, '=', fn) || !name_ok(t, tn)) {
    snprintf(err, errcap, "bad alias \"%.*s\": from=to with model names, a '*' only at the end of from",
             (int)(n > 60 ? 60 : n), s);
    return -1;
  }
  model_alias *v = realloc(out->v, (out->n + 1) * sizeof *v);
  if(!v) { snprintf(err, errcap, "out of memory"); return -1; }
  out->v = v;
  model_alias *a = &v[out->n++];
  memset(a, 0, sizeof *a);
  memcpy(a->from, f, fn);
  memcpy(a->to, t, tn);
  a->prefix = prefix;
  return 0;
}

int aliases_parse(const char *spec, model_aliases *out, char *err, size_t errcap)
{
  memset(out, 0, sizeof *out);
  for(const char *s = spec; s && *s; ) {
    size_t n = strcspn(s, ",;\n");
    const char *b = s;
    size_t bn = n;
    trim(&b, &bn);
    if(bn && entry(out, b, bn, err, errcap)) { aliases_free(out); return -1; }
    s += n;
    if(*s) s++;
  }
  return 0;
}

const char *aliases_resolve(const model_aliases *a, const char *name)
{
  if(!a || !name) return name;
  const model_alias *best = NULL;
  size_t len = strlen(name);
  for(size_t i = 0; i < a->n; i++) {
    const model_alias *m = &a->v[i];
    if(!m->prefix) {
      if(!strcmp(m->from, name)) return m->to;
      continue;
    }
    size_t fl = strlen(m->from);
    if(fl <= len && !memcmp(m->from, name, fl) && (!best || fl > strlen(best->from))) best = m;
  }
  return best ? best->to : name;
}

void aliases_free(model_aliases *a)
{
  free(a->v);
  a->v = NULL;
  a->n = 0;
}
