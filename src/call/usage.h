/* usage — token counts of a Gemini response, taken from its last "usageMetadata" object while
 * the bytes stream past, without buffering the response.  Works on plain JSON, on alt=sse event
 * streams and on the JSON-array stream form alike: it looks only for the key "usageMetadata"
 * outside strings (a quote inside a JSON string is escaped, so the quoted key cannot match
 * there) and captures the object that follows, up to USAGE_CAP bytes.
 *
 * On request it also counts the images of an Imagen answer (its "bytesBase64Encoded" keys) and
 * notices an error object inside a stream ({"error":{"code":…}), which Google sends when a
 * stream fails after its 200. */
#ifndef GEMGATE_USAGE_H
#define GEMGATE_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USAGE_CAP 2048

/* Every count clamped to [0, LEDGER_MAX_TOKENS].  prompt includes cached (Google counts so);
 * audio_in is the AUDIO entry of promptTokensDetails, audio_cached that of cacheTokensDetails,
 * image_out the IMAGE entry of candidatesTokensDetails. */
typedef struct usage {
  int64_t prompt, candidates, thoughts, cached, tool, total;
  int64_t audio_in, audio_cached, image_out;
  bool seen;
} usage;

/* The tail of the previous piece, for a needle cut in two. */
typedef struct usage_carry { size_t n; char b[24]; } usage_carry;

typedef struct usage_scan {
  usage u;                 /* counts from the last complete usageMetadata object */
  bool want_images;        /* count images (set after usage_init) */
  bool want_errors;        /* look for a stream's error object (set after usage_init) */
  int64_t images;          /* "bytesBase64Encoded" keys seen */
  bool error_seen;         /* an error object was seen */
  usage_carry ci, ce, cp;  /* carries of the three needles: image, compact and pretty error */
  int state, depth;
  bool in_str, esc;
  size_t len;
  size_t ncarry;           /* the last bytes of the previous piece, for a key cut in two */
  char carry[16];
  char buf[USAGE_CAP];
} usage_scan;

void usage_init(usage_scan *s);
void usage_feed(usage_scan *s, const char *p, size_t n);

#endif
