// A hostile Gemini upstream for the fault suite (tests/integration/faults.test.mjs): a raw TCP
// server on loopback, in the test's own process, that answers each call by the model its path
// names (/v1beta/models/<scenario>:<method>) with bytes a well-behaved server would never send —
// resets, stalls, drips, broken framing, huge heads and bodies, bad JSON, absurd retry delays,
// echoed keys.  No TLS: a gateway pointed at it with https:// fails its handshake (the server
// answers a ClientHello with junk), which is that scenario.
import net from 'node:net';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const usage = (p = 3, c = 5) => ({ promptTokenCount: p, candidatesTokenCount: c, totalTokenCount: p + c });
const answer = (text, u = usage()) => JSON.stringify({
  candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index: 0 }],
  usageMetadata: u, modelVersion: 'hostile',
});
const googleError = (code, status, message, details) =>
  JSON.stringify({ error: { code, message, status, ...(details ? { details } : {}) } });

function head(status, headers, reason = 'X') {
  return `HTTP/1.1 ${status} ${reason}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;
}
const json = (status, body, extra = []) =>
  head(status, ['Content-Type: application/json; charset=UTF-8', `Content-Length: ${Buffer.byteLength(body)}`, ...extra]) + body;
const chunk = (s) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
const sse = (obj) => `data: ${typeof obj === 'string' ? obj : JSON.stringify(obj)}\r\n\r\n`;
const sseHead = (extra = []) => head(200, ['Content-Type: text/event-stream', 'Transfer-Encoding: chunked', ...extra]);

const PNG = Buffer.from('89504e470d0a1a0a', 'hex');
const image = (n) => { const b = Buffer.alloc(n); PNG.copy(b); return b; };

/** Images for OpenAI image_url parts (GET /img/<bytes>[/chunked|/hold]): plain with a
 * Content-Length, chunked without one, or announced bigger than sent and then held open. */
async function serveImage(sock, req) {
  const [, , n, how] = req.path.split('/');
  const body = image(Number(n));
  if (how === 'chunked') {
    sock.write(head(200, ['Content-Type: image/png', 'Transfer-Encoding: chunked']));
    for (let i = 0; i < body.length; i += 65536) {
      const part = body.subarray(i, i + 65536);
      sock.write(`${part.length.toString(16)}\r\n`);
      sock.write(part);
      sock.write('\r\n');
    }
    sock.write('0\r\n\r\n');
    return true;
  }
  if (how === 'hold') {
    sock.write(head(200, ['Content-Type: image/png', `Content-Length: ${body.length + 1}`]));
    sock.write(body);
    return false;                                       // never ends: held until the gateway lets go
  }
  sock.write(head(200, ['Content-Type: image/png', `Content-Length: ${body.length}`]));
  sock.write(body);
  return true;
}

/** What each scenario does with a call.  sock: the raw socket; req: { method, path, headers, key, body }.
 * Returns true when the connection may carry another request. */
// The big body: 2 GiB; 512 MiB against a sanitizer build, whose pace on a loaded machine can
// stall a stream past the suite's 1.5 s idle timeout (the plain build proves the 2 GiB); 64 MiB
// under ThreadSanitizer, whose pauses (history resets) cut 512 MiB there on a loaded machine —
// it looks for races in the streaming, which the first megabytes already exercise.
const SAN = /san/.test(process.env.GEMGATE_BIN || '');
const TSAN = /build-tsan/.test(process.env.GEMGATE_BIN || '');
export const BIG = Number(process.env.FAULT_BIG_BYTES || (TSAN ? 2 ** 26 : SAN ? 2 ** 29 : 2 ** 31));

/** Writes n bytes of 'x' with backpressure; resolves false when the peer went away. */
function writeMany(sock, n) {
  const block = Buffer.alloc(1 << 20, 'x');
  return new Promise((resolve) => {
    let left = n;
    const gone = () => resolve(false);
    sock.once('close', gone);
    const more = () => {
      while (left > 0) {
        const b = left >= block.length ? block : block.subarray(0, left);
        left -= b.length;
        if (!sock.write(b)) { sock.once('drain', more); return; }
      }
      sock.off('close', gone);
      resolve(true);
    };
    more();
  });
}

/** Writes s one byte per ms until done or the peer goes away. */
function drip(sock, s, ms) {
  return new Promise((resolve) => {
    let i = 0;
    const t = setInterval(() => {
      if (sock.destroyed || i >= s.length) { clearInterval(t); resolve(); return; }
      sock.write(s[i++]);
    }, ms);
    sock.once('close', () => { clearInterval(t); resolve(); });
  });
}

async function bigAnswer(sock, n) {
  const pre = '{"candidates":[{"content":{"parts":[{"text":"', post = `"}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":${JSON.stringify(usage(7, 11))}}`;
  sock.write(head(200, ['Content-Type: application/json', `Content-Length: ${pre.length + n + post.length}`]) + pre);
  if (!(await writeMany(sock, n))) return false;
  sock.write(post);
  return true;
}

const quota429 = (delay) => json(429, googleError(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota', [
  { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{
    quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
    quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier', quotaValue: '10' }] },
  { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: delay },
]));
let delays = 0;

export const scenarios = {
  ok: async (sock) => { sock.write(json(200, answer('fine'))); return true; },
  // a stream reset after its first event
  'reset-stream': async (sock) => {
    sock.write(sseHead() + chunk(sse(JSON.parse(answer('first')))));
    await sleep(50);
    sock.resetAndDestroy();
    return false;
  },
  // a head, then nothing: the body never comes
  'hang-head': async (sock) => {
    sock.write(head(200, ['Content-Type: application/json', 'Content-Length: 1000']));
    return false;
  },
  // the answer's head, a byte a second
  drip: async (sock) => { await drip(sock, json(200, answer('slow')), 1000); return false; },
  // chunked framing that breaks after the first chunk
  'bad-chunk': async (sock) => {
    sock.write(head(200, ['Content-Type: application/json', 'Transfer-Encoding: chunked']) + chunk('{"candidates":') + 'zz\r\n');
    return false;
  },
  // a 2 GiB answer (Content-Length framed), written as fast as it is read; and a 64 MiB one
  big: (sock) => bigAnswer(sock, BIG),
  'big-warm': (sock) => bigAnswer(sock, 64 << 20),
  // a head past 64 KiB, and one whose header value holds a NUL
  'huge-head': async (sock) => { sock.write(head(200, [`X-Big: ${'a'.repeat(70000)}`, 'Content-Length: 2']) + '{}'); return true; },
  'nul-header': async (sock) => { sock.write(head(200, ['X-V: a\0b', 'Content-Length: 2']) + '{}'); return true; },
  // 200 with a body that is not JSON; usage with absurd numbers
  'bad-json': async (sock) => { sock.write(json(200, '{"candidates": [ {not json, at all')); return true; },
  'huge-usage': async (sock) => {
    sock.write(json(200, answer('big numbers', { promptTokenCount: 9223372036854775807, candidatesTokenCount: 9223372036854775807,
      totalTokenCount: -5, thoughtsTokenCount: 1e300, cachedContentTokenCount: 'many' })));
    return true;
  },
  // 429s whose RetryInfo says nan, inf, 1e20s in turn
  'absurd-delay': async (sock) => { sock.write(quota429(['nan', 'inf', '1e20s', '-5s'][delays++ % 4])); return true; },
  // keys echoed: in a body (and a header), in an error, split across two stream chunks
  'echo-body': async (sock, req) => {
    sock.write(json(200, answer(`your key is ${req.key}, keep it safe`), [`X-Echo-Key: ${req.key}`]));
    return true;
  },
  'echo-error': async (sock, req) => {
    sock.write(json(400, googleError(400, 'INVALID_ARGUMENT', `request with key ${req.key} is malformed`),
      [`X-Echo-Key: key=${req.key}`]));
    return true;
  },
  'echo-stream': async (sock, req) => {
    const ev = sse({ candidates: [{ content: { parts: [{ text: `streamed ${req.key} here` }], role: 'model' }, index: 0 }] });
    const cut = ev.indexOf(req.key) + 9;             // inside the key
    sock.write(sseHead() + chunk(ev.slice(0, cut)));
    await sleep(60);
    sock.write(chunk(ev.slice(cut)));
    await sleep(20);
    sock.write(chunk(sse(JSON.parse(answer('.', usage(2, 4))))) + '0\r\n\r\n');
    return true;
  },
};

function parseHead(text) {
  const lines = text.split('\r\n');
  const [method, target] = lines[0].split(' ');
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { method, path: target, headers };
}

/** Starts the server; { port, url, calls (by scenario), close() }. */
export async function startHostile() {
  const calls = {};
  const sockets = new Set();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0), busy = false, more = false;
    const pump = async () => {
      if (busy) { more = true; return; }
      busy = true;
      try {
        for (;;) {
          if (buf.length && buf[0] === 0x16) {        // a TLS ClientHello: answer junk, hang up
            sock.end('HTTP/1.1 400 this is no TLS server\r\n\r\n');
            return;
          }
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const req = parseHead(buf.subarray(0, end).toString('latin1'));
          const len = Number(req.headers['content-length'] || 0);
          if (buf.length < end + 4 + len) return;
          req.body = buf.subarray(end + 4, end + 4 + len).toString();
          buf = buf.subarray(end + 4 + len);
          req.key = req.headers['x-goog-api-key'] || '';
          if (req.path.startsWith('/img/')) {
            calls.img = (calls.img || 0) + 1;
            if (!(await serveImage(sock, req))) return;
            continue;
          }
          const m = req.path.match(/models\/([^:/?]+)/);
          const name = m ? m[1] : '';
          calls[name] = (calls[name] || 0) + 1;
          const fn = scenarios[name];
          let again;
          if (fn) again = await fn(sock, req);
          else { sock.write(json(404, googleError(404, 'NOT_FOUND', `no scenario ${name}`))); again = true; }
          if (!again || sock.destroyed) return;
        }
      } finally {
        busy = false;
        if (more && !sock.destroyed) { more = false; pump(); }
      }
    };
    sock.on('data', (d) => { buf = Buffer.concat([buf, d]); pump(); });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port, url: `http://127.0.0.1:${port}`, calls,
    close: () => { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(r)); },
  };
}
