/* upload — the Files API's resumable uploads through the gateway (POST /upload/{v}/files, and
 * the other /upload/ routes such as fileSearchStores/…:uploadToFileSearchStore).
 *
 * Start (X-Goog-Upload-Protocol: resumable, X-Goog-Upload-Command: start): forwarded with a
 * pooled key like any call.  Google answers with X-Goog-Upload-URL (and -Control-URL) pointing
 * at Google with the key's credential; the client never sees it.  The gateway keeps that URL (its
 * key= dropped: the key travels as x-goog-api-key) in a session bound to the key and the caller,
 * and answers with its own URL instead:
 *     <scheme>://<Host>/upload/<v>/files?upload_id=<token>&upload_protocol=resumable
 * token: 128 random bits in hex, unguessable; the session expires GEMGATE_UPLOAD_TTL after the
 * start (default 24 h), or at finalize.  The scheme is http, or https when a trusted proxy
 * (GEMGATE_TRUSTED_PROXIES) says X-Forwarded-Proto: https.
 *
 * Continuation (upload, finalize, query at that URL): the token alone authorises it, as Google's
 * upload URL does (a client may send no key); a credential that is sent must be the same
 * principal's.  It goes to the stored URL with the same key, its body streamed both ways with
 * backpressure (http_body_read → h1client's streamed body): a 2 GB upload is never held in
 * memory.  GEMGATE_MAX_BODY does not apply to it; GEMGATE_MAX_UPLOAD (default 2048 MiB) does.
 * The finalize answer's file.name is recorded for that key and user (call/resource.h).
 * Unknown or expired tokens answer 404.  Through GEMGATE_PROXY (libcurl) continuations are
 * refused with 501: streamed bodies need gemgate's own client.
 *
 * Sessions live in memory only (at most UPLOADS_MAX at once; a start beyond answers 503): a
 * restart forgets uploads in progress, and their clients start again. */
#ifndef GEMGATE_UPLOAD_H
#define GEMGATE_UPLOAD_H

#include <stdbool.h>

#include "call/upsession.h"
#include "http/http.h"

/* The stream_body hook's answer for uploads: an upload continuation (/upload/…?upload_id=). */
bool upload_streams(const http_req *r);

/* POST /upload/…: a start, or a continuation of a session. */
void upload_route(http_req *r);

#endif
