/* path — what a client API request names; contract in path.h. */
#include "call/path.h"

#include <string.h>
#include <strings.h>

static int hexval(char c)
{
  if(c >= '0' && c <= '9') return c - '0';
  if(c >= 'a' && c <= 'f') return c - 'a' + 10;
  if(c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A character whose escape the upstream would decode into a different segment or name than
 * the gateway checked.  What is left (space, '@', '+', …) cannot move a segment or hide a name. */
static bool must_be_plain(unsigned char c)
{
  if(c < 0x20 || c >= 0x7f) return true;
  if((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return strchr("/\\.:%-_~", c) != NULL;
}

const char *path_refusal(str path)
{
  if(!path.n || path.p[0] != '/') return "invalid request path: it must begin with '/'";
  const char *seg = path.p + 1, *end = path.p + path.n;
  for(const char *q = seg;; q++) {
    if(q == end || *q == '/') {
      size_t n = (size_t)(q - seg);
      if(n == 0) return "invalid request path: empty segment (\"//\" or a trailing \"/\")";
      if((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
        return "invalid request path: \".\" and \"..\" segments are not allowed";
      if(q == end) return NULL;
      seg = q + 1;
      continue;
    }
    unsigned char c = (unsigned char)*q;
    if(c == '\\' || c >= 0x80) return "invalid request path: backslash or non-ASCII byte";
    if(c != '%') continue;
    int hi = end - q > 2 ? hexval(q[1]) : -1, lo = hi >= 0 ? hexval(q[2]) : -1;
    if(lo < 0) return "invalid request path: malformed percent-escape";
    if(must_be_plain((unsigned char)(hi << 4 | lo)))
      return "invalid request path: a percent-encoded '/', '.', '%', ':' or name character "
             "(send it unencoded)";
    q += 2;
  }
}

/* The percent-decoded s into out (cap bytes, NUL-terminated); false when it does not fit or
 * has a malformed escape. */
static bool decode(str s, char *out, size_t cap)
{
  size_t n = 0;
  for(size_t i = 0; i < s.n; i++) {
    char c = s.p[i];
    if(c == '%') {
      int hi = i + 2 < s.n ? hexval(s.p[i + 1]) : -1;
      int lo = hi >= 0 ? hexval(s.p[i + 2]) : -1;
      if(lo < 0) return false;
      c = (char)(hi << 4 | lo);
      i += 2;
    } else if(c == '+') {
      c = ' ';
    }
    if(n + 1 >= cap) return false;
    out[n++] = c;
  }
  out[n] = '\0';
  return true;
}

bool path_query_dropped(str pair)
{
  static const char *const drop[] = {
    "key", "access_token",                      /* credentials: the pooled key is ours */
    "quotaUser", "userProject",                 /* whom Google bills or counts */
    "fields", "ct", ".xgafv", "apiVersion",     /* what Google reads or answers */
  };
  const char *eq = memchr(pair.p, '=', pair.n);
  str name = { pair.p, eq ? (size_t)(eq - pair.p) : pair.n };
  char buf[32];
  if(!decode(name, buf, sizeof buf)) return false;
  const char *n = buf[0] == '$' ? buf + 1 : buf;
  for(size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
    if(!strcasecmp(n, drop[i])) return true;
  return false;
}

const char *path_query_refusal(str query)
{
  const char *p = query.p, *end = p ? p + query.n : NULL;   /* NULL + 0 is UB */
  while(p && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    if(!amp) amp = end;
    const char *eq = memchr(p, '=', (size_t)(amp - p));
    char name[32], value[32];
    if(eq && decode((str){ p, (size_t)(eq - p) }, name, sizeof name) &&
       !strcasecmp(name[0] == '$' ? name + 1 : name, "alt")) {
      if(!decode((str){ eq + 1, (size_t)(amp - eq - 1) }, value, sizeof value))
        return "invalid alt: use json, sse or media";
      value[strcspn(value, ";")] = '\0';       /* json;enum-encoding=int is still JSON */
      if(strcasecmp(value, "json") && strcasecmp(value, "sse") && strcasecmp(value, "media"))
        return "invalid alt: use json, sse or media (the gateway meters JSON answers only)";
    }
    p = amp + 1;
  }
  return NULL;
}

/* ---------- one member of a JSON object body ---------- */

typedef struct cur { const char *p, *end; } cur;

static void ws(cur *c)
{
  while(c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

/* A string at c->p (its opening quote), decoded into out when out is not NULL (cap bytes;
 * a character outside ASCII or past cap makes *fits false).  0, or -1 when unterminated. */
static int string(cur *c, char *out, size_t cap, bool *fits)
{
  size_t n = 0;
  for(c->p++; c->p < c->end; c->p++) {
    unsigned char ch = (unsigned char)*c->p;
    if(ch == '"') {
      c->p++;
      if(out) out[n < cap ? n : cap - 1] = '\0';
      return 0;
    }
    if(ch == '\\') {
      if(++c->p >= c->end) return -1;
      ch = (unsigned char)*c->p;
      if(ch == 'u') {
        if(c->end - c->p < 5) return -1;
        int v = 0;
        for(int i = 1; i <= 4; i++) {
          int h = hexval(c->p[i]);
          if(h < 0) return -1;
          v = v << 4 | h;
        }
        c->p += 4;
        ch = v > 0 && v < 0x80 ? (unsigned char)v : 0x80;   /* never "model" */
      } else {
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *k = strchr(from, ch);
        if(!k || !ch) return -1;
        ch = (unsigned char)to[k - from];
      }
    }
    if(!out) continue;
    if(ch >= 0x80 || n + 1 >= cap) *fits = false;
    else out[n++] = (char)ch;
  }
  return -1;
}

/* Any value at c->p: a string, an object or array (brackets counted, strings skipped), or a
 * bare number / true / false / null.  0, or -1 when it runs off the end. */
static int skip_value(cur *c)
{
  if(c->p >= c->end) return -1;
  if(*c->p == '"') return string(c, NULL, 0, NULL);
  if(*c->p != '{' && *c->p != '[') {
    const char *s = c->p;
    while(c->p < c->end && !strchr(",}] \t\r\n", *c->p)) c->p++;
    return c->p > s ? 0 : -1;
  }
  size_t depth = 0;
  while(c->p < c->end) {
    char ch = *c->p;
    if(ch == '"') { if(string(c, NULL, 0, NULL)) return -1; continue; }
    c->p++;
    if(ch == '{' || ch == '[') depth++;
    else if((ch == '}' || ch == ']') && --depth == 0) return 0;
  }
  return -1;
}

int path_body_member(const char *body, size_t len, const char *key, char *out, size_t cap)
{
  cur c = { body, body + len };
  int found = 0;
  out[0] = '\0';
  ws(&c);
  if(c.p >= c.end || *c.p++ != '{') return -1;
  ws(&c);
  if(c.p < c.end && *c.p == '}') return 0;
  for(;;) {
    char name[64];
    bool fits = true;
    if(c.p >= c.end || *c.p != '"' || string(&c, name, sizeof name, &fits)) return -1;
    ws(&c);
    if(c.p >= c.end || *c.p++ != ':') return -1;
    ws(&c);
    if(fits && !strcmp(name, key)) {
      if(found || c.p >= c.end || *c.p != '"') return -1;      /* twice, or not a string */
      const char *s = ++c.p;
      while(c.p < c.end && *c.p != '"' && *c.p != '\\') c.p++;
      if(c.p >= c.end || *c.p == '\\' || (size_t)(c.p - s) >= cap) return -1;
      memcpy(out, s, (size_t)(c.p - s));
      out[c.p - s] = '\0';
      c.p++;
      found = 1;
    } else if(skip_value(&c)) {
      return -1;
    }
    ws(&c);
    if(c.p < c.end && *c.p == ',') { c.p++; ws(&c); continue; }
    if(c.p < c.end && *c.p == '}') return found;
    return -1;
  }
}
