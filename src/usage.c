#include "usage.h"

#include <stdlib.h>
#include <string.h>

static const char KEY[] = "\"usageMetadata\"";
#define KEYLEN (sizeof KEY - 1)

enum { S_SEEK, S_COLON, S_OPEN, S_OBJECT };

void usage_init(usage_scan *s)
{
  memset(s, 0, offsetof(usage_scan, buf));
}

/* The integer after "name": in the captured object, or 0. */
static int64_t field(const char *obj, const char *name)
{
  const char *p = strstr(obj, name);
  if(!p) return 0;
  p += strlen(name);
  while(*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || *p == ':') p++;
  return strtoll(p, NULL, 10);
}

static void finish_object(usage_scan *s)
{
  s->buf[s->len] = '\0';
  s->u.prompt = field(s->buf, "\"promptTokenCount\"");
  s->u.candidates = field(s->buf, "\"candidatesTokenCount\"");
  s->u.thoughts = field(s->buf, "\"thoughtsTokenCount\"");
  s->u.cached = field(s->buf, "\"cachedContentTokenCount\"");
  s->u.total = field(s->buf, "\"totalTokenCount\"");
  s->u.seen = true;
}

void usage_feed(usage_scan *s, const char *p, size_t n)
{
  const char *end = p + n;
  while(p < end) {
    char ch = *p;
    switch(s->state) {
    case S_SEEK:
      if(s->matched == 0) {                   /* skip fast to the next quote */
        const char *q = memchr(p, '"', (size_t)(end - p));
        if(!q) return;
        p = q;
        ch = *p;
      }
      if(ch == KEY[s->matched]) {
        if(++s->matched == KEYLEN) { s->state = S_COLON; s->matched = 0; }
      } else {
        s->matched = ch == '"' ? 1 : 0;
      }
      break;
    case S_COLON:
    case S_OPEN:
      if(ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') break;
      if(s->state == S_COLON && ch == ':') { s->state = S_OPEN; break; }
      if(s->state == S_OPEN && ch == '{') {
        s->state = S_OBJECT;
        s->depth = 1;
        s->len = 0;
        s->in_str = s->esc = false;
        s->buf[s->len++] = ch;
        break;
      }
      s->state = S_SEEK;                      /* not what we thought: look again */
      continue;
    case S_OBJECT:
      if(s->len < USAGE_CAP - 1) s->buf[s->len++] = ch;
      if(s->in_str) {
        if(s->esc) s->esc = false;
        else if(ch == '\\') s->esc = true;
        else if(ch == '"') s->in_str = false;
      } else if(ch == '"') s->in_str = true;
      else if(ch == '{') s->depth++;
      else if(ch == '}' && --s->depth == 0) {
        finish_object(s);
        s->state = S_SEEK;
      }
      break;
    }
    p++;
  }
}
