/* ws — RFC 6455 on a taken-over connection; contract in ws.h. */
#include "http/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "http/server.h"

enum { OP_CONT = 0, OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };

struct ws {
  struct conn *c;
  const ws_ops *ops;
  void *arg;
  size_t max_pending;
  bool ended;
  int depth;                 /* > 0 while on_read runs: ws_end then leaves the free to it */
  int msg_op;                /* the opcode of the fragmented message being assembled, or 0 */
  char *msg;                 /* its bytes so far */
  size_t msg_len;
};

/* ---------- the pure parts ---------- */

void ws_accept_key(str key, char out[29])
{
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char md[SHA_DIGEST_LENGTH];
  char buf[128];
  size_t n = key.n < sizeof buf - sizeof guid ? key.n : sizeof buf - sizeof guid;
  memcpy(buf, key.p, n);
  memcpy(buf + n, guid, sizeof guid - 1);
  SHA1((const unsigned char *)buf, n + sizeof guid - 1, md);
  EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

int ws_parse_header(const uint8_t *p, size_t n, ws_frame *f)
{
  if(n < 2) return 0;
  f->fin = p[0] & 0x80;
  f->rsv = (p[0] >> 4) & 7;
  f->opcode = p[0] & 0x0f;
  f->masked = p[1] & 0x80;
  uint64_t len = p[1] & 0x7f;
  size_t h = 2;
  if(len == 126) {
    if(n < 4) return 0;
    len = (uint64_t)p[2] << 8 | p[3];
    h = 4;
  } else if(len == 127) {
    if(n < 10) return 0;
    len = 0;
    for(int i = 0; i < 8; i++) len = len << 8 | p[2 + i];
    if(len >> 63) return -1;
    h = 10;
  }
  if(f->masked) {
    if(n < h + 4) return 0;
    memcpy(f->mask, p + h, 4);
    h += 4;
  }
  f->len = len;
  f->header_len = h;
  return (int)h;
}

void ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off)
{
  for(size_t i = 0; i < n; i++) p[i] ^= mask[(off + i) & 3];
}

size_t ws_frame_header(uint8_t out[10], int opcode, bool fin, uint64_t len)
{
  out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
  if(len < 126) { out[1] = (uint8_t)len; return 2; }
  if(len <= 0xffff) { out[1] = 126; out[2] = (uint8_t)(len >> 8); out[3] = (uint8_t)len; return 4; }
  out[1] = 127;
  for(int i = 0; i < 8; i++) out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
  return 10;
}

bool ws_utf8_valid(const uint8_t *p, size_t n)
{
  size_t i = 0;
  while(i < n) {
    uint8_t c = p[i];
    if(c < 0x80) { i++; continue; }
    size_t k;
    uint32_t cp, min;
    if((c & 0xe0) == 0xc0) { k = 1; cp = c & 0x1f; min = 0x80; }
    else if((c & 0xf0) == 0xe0) { k = 2; cp = c & 0x0f; min = 0x800; }
    else if((c & 0xf8) == 0xf0) { k = 3; cp = c & 0x07; min = 0x10000; }
    else return false;
    if(k >= n - i) return false;
    for(size_t j = 1; j <= k; j++) {
      if((p[i + j] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (p[i + j] & 0x3f);
    }
    if(cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += k + 1;
  }
  return true;
}

/* ---------- the connection ---------- */

static void ws_free(ws *s)
{
  free(s->msg);
  free(s);
}

static void ws_end(ws *s)
{
  if(s->ended) return;
  s->ended = true;
  if(s->ops->on_close) s->ops->on_close(s->arg);
  if(!s->depth) ws_free(s);
}

static void send_frame(ws *s, int opcode, const void *p, size_t n)
{
  uint8_t h[10];
  size_t hl = ws_frame_header(h, opcode, true, n);
  char frame[10 + 125];
  if(n <= 125) {                         /* control frames and short messages: one piece */
    memcpy(frame, h, hl);
    memcpy(frame + hl, p, n);
    http_upgraded_send(s->c, frame, hl + n);
    return;
  }
  http_upgraded_send(s->c, h, hl);
  http_upgraded_send(s->c, p, n);
}

void ws_close(ws *s, int code, const char *reason)
{
  if(s->ended) return;
  uint8_t body[125];
  size_t rl = reason ? strnlen(reason, 123) : 0;
  body[0] = (uint8_t)(code >> 8);
  body[1] = (uint8_t)code;
  memcpy(body + 2, reason ? reason : "", rl);
  send_frame(s, OP_CLOSE, body, rl + 2);
  http_upgraded_close(s->c);
  ws_end(s);
}

bool ws_send_text(ws *s, const char *p, size_t n)
{
  if(s->ended) return false;
  if(http_upgraded_pending(s->c) > s->max_pending) {
    ws_close(s, 1008, "too slow: messages are dropped when this many wait unread");
    return false;
  }
  send_frame(s, OP_TEXT, p, n);
  return true;
}

size_t ws_pending(const ws *s)
{
  return http_upgraded_pending(s->c);
}

struct worker *ws_worker(const ws *s)
{
  return http_upgraded_worker(s->c);
}

/* One complete frame (payload unmasked); false when the ws has ended. */
static bool on_frame(ws *s, const ws_frame *f, uint8_t *p)
{
  size_t n = (size_t)f->len;
  switch(f->opcode) {
  case OP_PING:
    send_frame(s, OP_PONG, p, n);
    return true;
  case OP_PONG:
    return true;
  case OP_CLOSE: {
    int code = n >= 2 ? p[0] << 8 | p[1] : 1000;
    if(n == 1 || (n >= 2 && (code < 1000 || code == 1004 || code == 1005 || code == 1006 || (code > 1014 && code < 3000))))
      code = 1002;
    else if(n > 2 && !ws_utf8_valid(p + 2, n - 2)) code = 1007;
    ws_close(s, code, NULL);          /* echo it, then close */
    return false;
  }
  case OP_TEXT: case OP_BINARY: case OP_CONT:
    break;
  default:
    ws_close(s, 1002, "unknown opcode");
    return false;
  }
  if(f->opcode == OP_CONT ? !s->msg_op : s->msg_op) {
    ws_close(s, 1002, f->opcode == OP_CONT ? "continuation without a message" : "a new message inside a fragmented one");
    return false;
  }
  if(f->opcode != OP_CONT) s->msg_op = f->opcode;
  if(s->msg_len + n > WS_MAX_MESSAGE) { ws_close(s, 1009, "message too big"); return false; }
  if(n) {
    char *m = realloc(s->msg, s->msg_len + n + 1);
    if(!m) { ws_close(s, 1011, "out of memory"); return false; }
    s->msg = m;
    memcpy(s->msg + s->msg_len, p, n);
    s->msg_len += n;
  }
  if(!f->fin) return true;
  int op = s->msg_op;
  size_t len = s->msg_len;
  s->msg_op = 0;
  s->msg_len = 0;
  if(op == OP_TEXT) {
    if(!ws_utf8_valid((const uint8_t *)(s->msg ? s->msg : ""), len)) { ws_close(s, 1007, "text is not UTF-8"); return false; }
    if(s->msg) s->msg[len] = '\0';
    if(s->ops->on_text) s->ops->on_text(s, s->arg, s->msg ? s->msg : "", len);
  }
  return !s->ended;                   /* binary messages are ignored */
}

static bool read_frames(ws *s, struct evbuffer *in)
{
  for(;;) {
    size_t avail = evbuffer_get_length(in);
    uint8_t hb[14];
    size_t hn = avail < sizeof hb ? avail : sizeof hb;
    if(evbuffer_copyout(in, hb, hn) < 0) return true;
    ws_frame f;
    int h = ws_parse_header(hb, hn, &f);
    if(h == 0) return true;
    if(h < 0 || f.rsv) { ws_close(s, 1002, "malformed frame"); return false; }
    if(!f.masked) { ws_close(s, 1002, "client frames must be masked"); return false; }
    if(f.opcode >= 8 && (!f.fin || f.len > 125)) { ws_close(s, 1002, "bad control frame"); return false; }
    if(f.len > WS_MAX_MESSAGE) { ws_close(s, 1009, "message too big"); return false; }
    if(avail < (size_t)h + f.len) return true;    /* wait for the whole frame */
    evbuffer_drain(in, (size_t)h);
    uint8_t *p = malloc((size_t)f.len + 1);
    if(!p) { ws_close(s, 1011, "out of memory"); return false; }
    evbuffer_remove(in, p, (size_t)f.len);
    ws_unmask(p, (size_t)f.len, f.mask, 0);
    bool alive = on_frame(s, &f, p);
    free(p);
    if(!alive) return false;
  }
}

static void on_read(void *arg, struct evbuffer *in)
{
  ws *s = arg;
  s->depth++;
  read_frames(s, in);
  if(--s->depth == 0 && s->ended) ws_free(s);
}

static void on_close(void *arg)
{
  ws_end(arg);
}

static const http_upgrade_ops upgrade_ops = { on_read, NULL, on_close };

ws *ws_accept(http_req *r, const char *protocol, size_t max_pending, const ws_ops *ops, void *arg)
{
  str up = http_header_get(r, STR("Upgrade")), conn = http_header_get(r, STR("Connection"));
  str ver = http_header_get(r, STR("Sec-WebSocket-Version")), key = http_header_get(r, STR("Sec-WebSocket-Key"));
  bool has_upgrade = false;
  for(size_t i = 0; conn.p && i + 7 <= conn.n; i++)
    if(str_ieq((str){ conn.p + i, 7 }, STR("upgrade"))) { has_upgrade = true; break; }
  if(!str_eq(r->method, STR("GET")) || !up.p || !str_ieq(up, STR("websocket")) || !has_upgrade) {
    http_error(r, 400, NULL, "a WebSocket handshake is expected here (GET with Upgrade: websocket)", NULL);
    return NULL;
  }
  if(!str_eq(ver, STR("13"))) {
    http_error(r, 426, NULL, "WebSocket version 13 is required", "Sec-WebSocket-Version: 13\r\n");
    return NULL;
  }
  unsigned char raw[64];
  if(key.n != 24 || EVP_DecodeBlock(raw, (const unsigned char *)key.p, 24) != 18 || key.p[22] != '=' || key.p[23] != '=') {
    http_error(r, 400, NULL, "Sec-WebSocket-Key must be 16 bytes in base64", NULL);
    return NULL;
  }
  ws *s = calloc(1, sizeof *s);
  if(!s) { http_error(r, 500, NULL, "out of memory", NULL); return NULL; }
  char acc[29];
  ws_accept_key(key, acc);
  char head[512];
  int n = snprintf(head, sizeof head, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: %s\r\n%s%s%sX-Request-Id: %s\r\nServer: gemgate\r\n\r\n", acc,
                   protocol ? "Sec-WebSocket-Protocol: " : "", protocol ? protocol : "", protocol ? "\r\n" : "", r->rid);
  s->ops = ops;
  s->arg = arg;
  s->max_pending = max_pending;
  s->c = http_upgrade(r, head, (size_t)n, &upgrade_ops, s);
  /* What waits for a slow reader in the kernel counts too: keep it small. */
  int sndbuf = 64 * 1024;
  setsockopt(http_upgraded_fd(s->c), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  return s;
}
