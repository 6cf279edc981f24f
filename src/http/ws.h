/* ws — the server side of RFC 6455 WebSocket on a connection taken over from HTTP (http_upgrade).
 *
 * ws_accept checks the opening handshake and answers 101; from then on the ws reads client
 * frames (which must be masked), answers pings with pongs, echoes a close, reassembles
 * fragmented messages (at most WS_MAX_MESSAGE bytes; a text message must be UTF-8) and hands each
 * text message to ops->on_text.  It sends unmasked text frames.  Protocol errors close with 1002,
 * 1007 or 1009.  A consumer that does not read: once more than max_pending bytes wait unsent, the
 * next ws_send_text closes the connection with 1008 instead of queuing — memory held for a
 * client never passes max_pending plus one frame (the socket's own send buffer is shrunk, too).
 *
 * Ownership: the ws frees itself when it ends, whatever the cause (the peer's close, an error, a
 * slow consumer, ws_close, shutdown), calling ops->on_close(arg) once just before; after that
 * (and so after any ws_close, or a ws_send_text that returned false) the caller must not use it. */
#ifndef GEMGATE_WS_H
#define GEMGATE_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "http/http.h"

#define WS_MAX_MESSAGE (64 * 1024)

typedef struct ws ws;

typedef struct ws_ops {
  void (*on_text)(ws *s, void *arg, const char *p, size_t n);
  void (*on_close)(void *arg);
} ws_ops;

/* The handshake: GET, Upgrade: websocket, Connection: upgrade, Sec-WebSocket-Version: 13, a
 * Sec-WebSocket-Key of 16 bytes in base64.  Answers 101 (with Sec-WebSocket-Protocol: protocol
 * when not NULL) and returns the ws; or answers 400 / 426 and returns NULL. */
ws *ws_accept(http_req *r, const char *protocol, size_t max_pending, const ws_ops *ops, void *arg);

/* Send one text message (one frame).  false: the ws has ended (it was closed for being slow,
 * with 1008, or had ended already) — do not use s again. */
bool ws_send_text(ws *s, const char *p, size_t n);

/* Close with code and reason (at most 123 bytes); ends the ws (on_close is called). */
void ws_close(ws *s, int code, const char *reason);

/* Bytes queued and not yet written. */
size_t ws_pending(const ws *s);

/* The worker whose loop the ws lives on. */
struct worker *ws_worker(const ws *s);

/* ---- the pure parts, for tests ---- */

/* base64(SHA-1(key + the RFC's GUID)) into out (29 bytes with the NUL). */
void ws_accept_key(str key, char out[29]);

typedef struct ws_frame {
  bool fin, masked;
  int rsv;                 /* the three reserved bits: must be 0 */
  int opcode;
  uint64_t len;
  uint8_t mask[4];
  size_t header_len;
} ws_frame;

/* A frame header from p[0..n): its length (2..14) with *f filled, 0 when more bytes are
 * needed, -1 when it is malformed (a 64-bit length with the top bit set). */
int ws_parse_header(const uint8_t *p, size_t n, ws_frame *f);

/* XOR p[0..n) with the mask, the first byte being at offset off of the payload. */
void ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off);

/* A server frame's header (unmasked) for a payload of len bytes into out; its length. */
size_t ws_frame_header(uint8_t out[10], int opcode, bool fin, uint64_t len);

/* Whether p[0..n) is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
bool ws_utf8_valid(const uint8_t *p, size_t n);

#endif
