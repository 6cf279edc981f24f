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
  bool want_sum;           /* also add every usageMetadata object into sum (set after usage_init):
                            * a finished batch's answer holds one per response, however long */
  usage sum[2];            /* with want_sum: every object's counts added (clamped), [0] those
                            * before "done": true, [1] those after it (usage_sum) */
  int64_t objects[2];      /* with want_sum: the usageMetadata objects added, likewise */
  bool done_seen;          /* with want_sum: "done": true seen (an Operation that has finished) */
  usage_carry cd, cdc;     /* carries of the two done needles: pretty and compact */
  usage_carry ci, ce, cp;  /* carries of the three needles: image, compact and pretty error */
  int state, depth;
  bool in_str, esc;
  size_t len;
  size_t ncarry;           /* the last bytes of the previous piece, for a key cut in two */
  char carry[16];
  char buf[USAGE_CAP];
} usage_scan;

void usage_init(usage_scan *s);
/* With want_sum, a finished batch's tokens into *out; returns how many responses they are.  An
 * Operation is written name, metadata, done, response (proto field order), and a finished
 * batch's responses stand in metadata.output, in response, or in both: those after "done" when
 * there are any, else those before — never both lists. */
int64_t usage_sum(const usage_scan *s, usage *out);
/* a += b, each count kept within [0, LEDGER_MAX_TOKENS] (both are: the sum cannot overflow). */
void usage_add(usage *a, const usage *b);
void usage_feed(usage_scan *s, const char *p, size_t n);

#endif
