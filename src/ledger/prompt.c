/* prompt — cutting and cleaning prompt text; contract in prompt.h. */
#include "ledger/prompt.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

size_t prompt_cut(const char *s, size_t n, size_t max_chars, size_t max_bytes)
{
  size_t i = 0, chars = 0;
  while(i < n && chars < max_chars) {
    unsigned char c = (unsigned char)s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if(i + len > n || i + len > max_bytes) break;
    i += len;
    chars++;
  }
  return i;
}

void prompt_sanitize(char *s)
{
  unsigned char *p = (unsigned char *)s;
  while(*p) {
    unsigned c = *p;
    size_t len = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
    bool ok = len > 0;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for(size_t i = 1; ok && i < len; i++) {
      if((p[i] & 0xc0) != 0x80) ok = false;
      else cp = cp << 6 | (p[i] & 0x3f);
    }
    /* overlong forms, surrogates and values past U+10FFFF are not valid either */
    if(ok && ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))))
      ok = false;
    if(!ok) { *p++ = '?'; continue; }
    p += len;
  }
}
