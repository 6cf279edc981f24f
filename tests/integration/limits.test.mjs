// Server limits (idle, slow requests, connections) and outbound proxies pinned per key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startFake, startGateway, raw, sleep, GEN, ACCESS } from './harness.mjs';

let fake;
before(async () => { fake = await startFake(); });
after(async () => { await fake.stop(); });

test('a request head that stalls gets 408; an idle keep-alive connection is closed; both free their slot', async () => {
  const gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: 'AIzaFake-ok-lim1', GEMGATE_IDLE_TIMEOUT: '300ms' });
  try {
    const slow = await raw(gw.port, 'GET /health HTTP/1.1\r\nHost: x\r\n', 3000);
    assert.match(slow, /^HTTP\/1\.1 408 /);
    const t0 = Date.now();
    const idle = await raw(gw.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n', 3000);
    assert.match(idle, /^HTTP\/1\.1 200 /);
    assert.ok(Date.now() - t0 < 2000, 'the idle connection was closed by the gateway');
  } finally { await gw.stop(); }
});

test('past GEMGATE_MAX_CONNS a new connection gets 503, and serving resumes when others leave', async () => {
  const gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: 'AIzaFake-ok-lim2', GEMGATE_MAX_CONNS: '3' });
  const socks = [];
  try {
    for (let i = 0; i < 3; i++) {
      const s = net.connect(gw.port, '127.0.0.1');
      await new Promise((r) => s.on('connect', r));
      socks.push(s);
    }
    await sleep(100);
    const over = await raw(gw.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(over, /^HTTP\/1\.1 503 /);
    for (const s of socks) s.destroy();
    await sleep(100);
    assert.equal((await gw.fetch('/health')).status, 200);
  } finally { await gw.stop(); }
});

/** A minimal forward proxy for http:// URLs, counting which upstream key came through it. */
function forwardProxy() {
  const seen = {};
  const server = http.createServer((req, res) => {
    const key = req.headers['x-goog-api-key'];
    seen[key] = (seen[key] || 0) + 1;
    const u = new URL(req.url);
    const up = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: req.method, headers: req.headers },
      (ur) => { res.writeHead(ur.statusCode, ur.headers); ur.pipe(res); });
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, seen, url: `http://127.0.0.1:${server.address().port}` })));
}

test('GEMGATE_PROXY: calls go out through the proxies, each key always through the same one', async () => {
  const p1 = await forwardProxy(), p2 = await forwardProxy();
  const keys = Array.from({ length: 6 }, (_, i) => `AIzaFake-ok-px${i}`);
  const gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: keys.join(','), GEMGATE_PROXY: `${p1.url},${p2.url}` });
  try {
    for (let i = 0; i < 24; i++) assert.equal((await gw.call(GEN)).status, 200);
    const total = (o) => Object.values(o).reduce((a, b) => a + b, 0);
    assert.equal(total(p1.seen) + total(p2.seen), 24, 'every call went through a proxy');
    for (const k of keys) assert.ok(!(p1.seen[k] && p2.seen[k]), `${k} used one proxy only`);
    assert.ok(total(p1.seen) > 0 && total(p2.seen) > 0, 'both proxies used');
  } finally { await gw.stop(); p1.server.close(); p2.server.close(); }
});

test('a caller who will be refused never makes the gateway read its body: 401 at once, the connection closed', async () => {
  const gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: 'AIzaFake-ok-adm1', GEMGATE_ADMIN_TOKEN: 'the-admin-token' });
  try {
    const big = 19 * 1024 * 1024;
    const head = (path, auth) => `POST ${path} HTTP/1.1\r\nHost: x\r\n${auth}content-type: application/json\r\n` +
                                 `content-length: ${big}\r\n\r\n{"contents":`;
    const before = gw.rss();
    // 50 connections announce 19 MiB each with no or a wrong credential and send a few bytes:
    // each is answered at head time (raw() resolves when the gateway closes), the body unread.
    const t0 = Date.now();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => raw(gw.port,
      i % 2 ? head(GEN, '') : head('/admin/prices/x', 'authorization: Bearer wrong\r\n'), 3000)));
    assert.ok(Date.now() - t0 < 2500, 'answered at the head, not after a body timeout');
    for (const [i, a] of answers.entries()) {
      assert.match(a, i % 2 ? /^HTTP\/1\.1 401 / : /^HTTP\/1\.1 (403|429) /, a.slice(0, 80));   // 429: the admin guard
      assert.match(a, /\r\nconnection: close\r\n/i);
    }
    assert.ok(gw.rss() - before < 16 * 1024, `RSS grew ${gw.rss() - before} KiB`);
    // Without a body (and for the right credential) nothing changed: the call goes through.
    assert.equal((await gw.call(GEN)).status, 200);
  } finally { await gw.stop(); }
});

/** Writes pieces to a new connection, one every ms, and resolves with what came back by the end. */
function drip(port, pieces, ms, wait = 4000) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '', i = 0;
    const timer = setInterval(() => { if (i < pieces.length && !s.destroyed) s.write(pieces[i++]); }, ms);
    const done = () => { clearInterval(timer); resolve(out); };
    s.on('data', (d) => { out += d.toString('latin1'); });
    s.on('close', done);
    s.on('error', () => {});
    setTimeout(() => { s.destroy(); done(); }, wait);
  });
}

test('slowloris: a head or a body dripped in gets 408 at its deadline, however regular the drip; a body at a fair rate passes', async () => {
  const gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: 'AIzaFake-ok-slow1', GEMGATE_IDLE_TIMEOUT: '60s',
                                  GEMGATE_HEADER_TIMEOUT: '1s', GEMGATE_BODY_TIMEOUT: '1s', GEMGATE_BODY_MIN_RATE: '2000' });
  try {
    // The head, two bytes every 150 ms: never idle, never complete.
    const head = `POST ${GEN} HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${ACCESS}\r\nX-Pad: ${'p'.repeat(200)}\r\n`;
    const t0 = Date.now();
    const a = await drip(gw.port, head.match(/[\s\S]{1,2}/g), 150);
    assert.match(a, /^HTTP\/1\.1 408 /);
    assert.match(a, /request head not received in time/);
    assert.ok(Date.now() - t0 < 2500, `408 after ${Date.now() - t0} ms`);
    // A body announced as 100 kB, ten bytes every 150 ms (~70 B/s, under the minimum rate).
    const bodyHead = `POST ${GEN} HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${ACCESS}\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n`;
    const b = await drip(gw.port, [bodyHead, ...Array(40).fill('x'.repeat(10))], 150);
    assert.match(b, /^HTTP\/1\.1 408 /);
    assert.match(b, /request body not received in time/);
    // A body past BODY_TIMEOUT that keeps the rate (about 6.7 kB/s for 1.5 s) is served.
    const body = JSON.stringify({ contents: [{ parts: [{ text: 'y'.repeat(9800) }] }] });
    const fairHead = bodyHead.replace('100000', String(body.length));
    const fair = await drip(gw.port, [fairHead, ...body.match(/[\s\S]{1,1000}/g)], 150, 6000);
    assert.match(fair, /^HTTP\/1\.1 200 /);
  } finally { await gw.stop(); }
});
