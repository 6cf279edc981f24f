/* fg_gen — the bodies of generateContent and streamGenerateContent, and the request features
 * that shape them: candidateCount, includeThoughts, function calling, JSON mode, image models,
 * x-fake-finish and x-fake-error-after.  A plain request costs one memchr-driven pass over its
 * body; jansson parses the body only when candidateCount, functionDeclarations or
 * functionResponse appear in it. */
#ifndef FG_GEN_H
#define FG_GEN_H

#include "fg_api.h"

/* A 1x1 PNG, base64: :predict answers it, image models inline it, /_fake/image.png decodes it. */
#define FG_PNG_B64                                                                             \
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5Er" \
    "kJggg=="

/* Reads req's generation features into r (ncand, thought_part, thoughts, content, text,
 * finish); r->model must be set.  For a stream (stream != 0) also plans its objects from
 * r->chunks and x-fake-error-after (content_objects, error_at, objects, pieces).  Returns
 * NULL, or the message of a 400 INVALID_ARGUMENT to answer instead. */
const char *fg_gen_plan(const fg_req *req, fg_str model, int stream, fg_reply *r);

/* Writes the generateContent entity into r->body. */
void fg_gen_body(fg_reply *r);

/* Appends stream object i (0 <= i < r->objects) to b, padded toward r->chunk_bytes when the
 * content is plain text. */
void fg_gen_object(fg_buf *b, const fg_reply *r, int i);

#endif
