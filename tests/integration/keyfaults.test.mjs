// Issue 15, sections 1 and 2: only Google's verdict on a key marks it; a bad request never takes a
// key down; slow clients are not the key's fault; quotas as Google states them; learned limits;
// keys of every format; per-model state stays bounded.  Against the fake upstream, which answers
// as Google does (docs/fake-upstream.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startFake, startGateway, until, GEN, ACCESS, ADMIN } from './harness.mjs';

let fake;
before(async () => { fake = await startFake(); });
after(async () => { await fake.stop(); });

const FLASH20 = '/v1beta/models/gemini-2.0-flash:generateContent';
const byKey = async (k) => (await fake.stats()).by_key[k] || 0;
const keyState = async (gw, suffix) => (await gw.keys()).find((k) => k.key.endsWith(suffix));

async function withGateway(env, fn) {
  await fake.reset();
  const gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, ...env });
  try { await fn(gw); } finally { await gw.stop(); }
}

/** Every key active and available, none with an error. */
async function allClean(gw, n) {
  const keys = await gw.keys();
  assert.equal(keys.length, n);
  for (const k of keys) {
    assert.equal(k.state, 'active', `${k.key}: ${k.state} (${k.last_error})`);
    assert.equal(k.available, true);
    assert.equal(k.errors, 0, `${k.key}: ${k.last_error}`);
  }
  assert.equal((await gw.fetch('/health').then((r) => r.json())).available_keys, n);
}

const get = (gw, p) => gw.fetch(p, { headers: { 'x-goog-api-key': ACCESS } });

test('a request naming a made-up file or cache is the request\'s fault: answered as is, no retry, every key available', async () => {
  const keys = ['AIzaFake-ok-rf01', 'AIzaFake-ok-rf02', 'AIzaFake-ok-rf03'];
  await withGateway({ GEMGATE_KEYS: keys.join(','), GEMGATE_MAX_RETRIES: '2' }, async (gw) => {
    const file = await get(gw, '/v1beta/files/nope');
    assert.equal(file.status, 403, 'Google answers PERMISSION_DENIED for a file that does not exist');
    assert.equal((await file.json()).error.status, 'PERMISSION_DENIED');
    const cache = await gw.call(GEN, { cachedContent: 'cachedContents/nope', contents: [{ parts: [{ text: 'hi' }] }] });
    assert.equal(cache.status, 404);
    assert.equal((await cache.json()).error.status, 'NOT_FOUND');
    // A plain 403 PERMISSION_DENIED without a reason about the key (the old rule marked it).
    const plain = await gw.call(GEN, undefined, { 'x-fake-status': '403' });
    assert.equal(plain.status, 403);
    const bad = await gw.call(GEN, undefined, { 'x-fake-status': '400' });
    assert.equal(bad.status, 400);
    assert.equal((await fake.stats()).requests, 4, 'one upstream attempt each: a request fault is not retried');
    await allClean(gw, 3);
    assert.equal((await gw.call(GEN)).status, 200);
  });
});

test('text that merely says API_KEY_INVALID marks nothing: the error JSON is read, not searched', async () => {
  await withGateway({ GEMGATE_KEYS: 'AIzaFake-ok-tx01,AIzaFake-ok-tx02' }, async (gw) => {
    // Google's message names the file, so the error body contains the words.
    const r = await get(gw, '/v1beta/files/API_KEY_INVALID');
    assert.equal(r.status, 403);
    assert.match((await r.json()).error.message, /API_KEY_INVALID/);
    const prompt = await gw.call(GEN, { contents: [{ parts: [{ text: 'API_KEY_INVALID reason: "API_KEY_INVALID"' }] }] }, { 'x-fake-status': '400' });
    assert.equal(prompt.status, 400);
    assert.equal((await gw.call(GEN, { contents: [{ parts: [{ text: 'say API_KEY_INVALID' }] }] })).status, 200);
    await allClean(gw, 2);
  });
});

test('each of Google\'s verdicts on a key marks exactly that key invalid, and the request succeeds on another', async () => {
  const reasons = { invalid: 'API_KEY_INVALID', expired: 'API_KEY_EXPIRED', blocked: 'API_KEY_SERVICE_BLOCKED',
                    disabled: 'SERVICE_DISABLED', suspended: 'CONSUMER_SUSPENDED', leaked: 'LEAKED' };
  for (const [token, reason] of Object.entries(reasons)) {
    const BAD = `AIzaFake-${token}-vd01`, OK = `AIzaFake-ok-vd02`, OK2 = 'AIzaFake-ok-vd03';
    await withGateway({ GEMGATE_KEYS: `${BAD},${OK},${OK2}`, GEMGATE_RECHECK_INTERVAL: '1h' }, async (gw) => {
      const r = await gw.call(GEN);
      assert.equal(r.status, 200, `${token}: the client never sees the bad key`);
      const keys = await gw.keys();
      assert.equal(keys[0].state, 'invalid', token);
      assert.match(keys[0].last_error, new RegExp(reason));
      assert.deepEqual(keys.slice(1).map((k) => k.state), ['active', 'active'], `${token}: only that key`);
      assert.equal((await fake.stats()).requests, 2, `${token}: one retry`);
      for (let i = 0; i < 3; i++) assert.equal((await gw.call(GEN)).status, 200);
      assert.equal(await byKey(BAD), 1, `${token}: skipped from then on`);
    });
  }
});

test('circuit breaker: a second key refusing the same request stops it; the first key comes back as suspect', async () => {
  const keys = ['AIzaFake-ok-cb01', 'AIzaFake-ok-cb02', 'AIzaFake-ok-cb03'];
  await withGateway({ GEMGATE_KEYS: keys.join(','), GEMGATE_RECHECK_INTERVAL: '1h', GEMGATE_MAX_RETRIES: '5' }, async (gw) => {
    // A 401 is a verdict on the key; this request draws one from every key.
    const r = await gw.call(GEN, undefined, { 'x-fake-status': '401' });
    assert.equal(r.status, 401, 'the client gets the second key\'s answer');
    assert.equal((await fake.stats()).requests, 2, 'stopped after the second key, not 1 + GEMGATE_MAX_RETRIES');
    const st = await gw.keys();
    assert.deepEqual(st.map((k) => k.state), ['suspect', 'active', 'active']);
    assert.equal(st[0].available, true);
    assert.equal((await gw.admin('/api/status/keys')).body.available, 3);
    // Suspect keys are used after the others, but they are used.
    for (let i = 0; i < 4; i++) assert.equal((await gw.call(GEN)).status, 200);
    assert.equal(await byKey(keys[0]), 1, 'the suspect key waits while clean keys serve');
  });
  // The background re-check decides: the key answers, so it is active again.
  await withGateway({ GEMGATE_KEYS: keys.join(','), GEMGATE_RECHECK_INTERVAL: '300ms' }, async (gw) => {
    assert.equal((await gw.call(GEN, undefined, { 'x-fake-status': '401' })).status, 401);
    assert.equal((await keyState(gw, 'cb01')).state, 'suspect');
    assert.ok(await until(async () => (await keyState(gw, 'cb01')).state === 'active', 5000), 're-check made it active');
  });
  // A suspect key that really is bad: its re-check makes it invalid.  The second key of the
  // tripped request was left alone; the next request that reaches it marks it.
  const X = 'AIzaFake-invalid-cb04', Y = 'AIzaFake-expired-cb05', Z = 'AIzaFake-ok-cb06';
  await withGateway({ GEMGATE_KEYS: `${X},${Y},${Z}`, GEMGATE_RECHECK_INTERVAL: '300ms' }, async (gw) => {
    const r = await gw.call(GEN);
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error.details[0].reason, 'API_KEY_EXPIRED');
    assert.deepEqual((await gw.keys()).map((k) => k.state), ['suspect', 'active', 'active']);
    assert.ok(await until(async () => (await keyState(gw, 'cb04')).state === 'invalid', 5000), 're-check made it invalid');
    for (let i = 0; i < 3; i++) assert.equal((await gw.call(GEN)).status, 200, 'a request that reaches Y marks it; Z serves');
    assert.deepEqual((await gw.keys()).map((k) => k.state), ['invalid', 'invalid', 'active']);
  });
});

/** Seconds from now until the next midnight in America/Los_Angeles. */
function secondsToPacificMidnight() {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone: 'America/Los_Angeles', hour12: false,
    hour: 'numeric', minute: 'numeric', second: 'numeric' }).formatToParts(new Date()).map((x) => [x.type, x.value]));
  return 86400 - ((Number(p.hour) % 24) * 3600 + Number(p.minute) * 60 + Number(p.second));
}

test('a per-day 429 cools that key for that model until Google\'s reset at Pacific midnight; other models still use it', async () => {
  const D = 'AIzaFake-rpd1-pd01';
  await withGateway({ GEMGATE_KEYS: D, GEMGATE_COOLDOWN_MAX: '15m' }, async (gw) => {
    assert.equal((await gw.call(GEN)).status, 200);
    const r = await gw.call(GEN);
    assert.equal(r.status, 429, 'one key only: the upstream answer is passed on');
    const s = await keyState(gw, 'pd01');
    const left = s.cooldowns['gemini-2.5-flash'], want = secondsToPacificMidnight();
    assert.ok(Math.abs(left - want) <= 5, `cooldown ${left}s, next Pacific midnight in ${want}s`);
    assert.ok(left > 900, 'longer than GEMGATE_COOLDOWN_MAX and the short retryDelay Google sends with it');
    if (want > 3600) assert.ok(left > 3600, 'hours, not seconds');
    assert.equal(s.cooldown_reasons['gemini-2.5-flash'], 'per_day');
    assert.deepEqual(s.limits['gemini-2.5-flash'], { configured: null, learned: { rpm: 0, tpm: 0, rpd: 1 } });
    assert.equal((await gw.call(FLASH20)).status, 200, 'another model still works on it');
    assert.equal(await byKey(D), 3);
    const no = await gw.call(GEN);
    assert.equal(no.status, 503);
    assert.ok(Number(no.headers.get('retry-after')) > 900, 'Retry-After until the reset');
    assert.equal(await byKey(D), 3, 'not asked again today');
  });
});

test('a per-minute 429 cools by RetryInfo and teaches the key\'s rpm', async () => {
  const M = 'AIzaFake-rpm1-pm01', OK = 'AIzaFake-ok-pm02';
  await withGateway({ GEMGATE_KEYS: `${M},${OK}`, GEMGATE_STRATEGY: 'round_robin' }, async (gw) => {
    for (let i = 0; i < 3; i++) assert.equal((await gw.call(GEN)).status, 200);
    assert.equal(await byKey(M), 2, 'the third call met the minute quota and went on to the other key');
    const s = await keyState(gw, 'pm01');
    const left = s.cooldowns['gemini-2.5-flash'];
    assert.ok(left >= 1 && left <= 60, `RetryInfo's delay (≤ 60 s), got ${left}`);
    assert.equal(s.cooldown_reasons['gemini-2.5-flash'], 'per_minute');
    assert.equal(s.limits['gemini-2.5-flash'].learned.rpm, 1);
    assert.equal(s.state, 'cooling');
  });
});

test('learned limits route like GEMGATE_KEY_LIMITS and survive a restart', async () => {
  const db = path.join(os.tmpdir(), `gemgate-learned-${process.pid}.db`);
  const M = 'AIzaFake-rpm2-ll01', OK = 'AIzaFake-ok-ll02';
  const env = { GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: `${M},${OK}`, GEMGATE_DB: db };
  try {
    await fake.reset();
    let gw = await startGateway(env);
    try {
      for (let i = 0; i < 5; i++) assert.equal((await gw.call(GEN)).status, 200);
      const s = await keyState(gw, 'll01');
      assert.deepEqual(s.limits['gemini-2.5-flash'], { configured: null, learned: { rpm: 2, tpm: 0, rpd: 0 } });
      assert.ok(!JSON.stringify(await gw.keys()).includes(M), 'no secret in the status');
    } finally { await gw.stop(); }
    await fake.reset();
    gw = await startGateway(env);
    try {
      const s = await keyState(gw, 'll01');
      assert.equal(s.limits['gemini-2.5-flash']?.learned?.rpm, 2, 'loaded from the store');
      for (let i = 0; i < 8; i++) assert.equal((await gw.call(GEN)).status, 200);
      assert.equal(await byKey(M), 2, 'two a minute, then skipped before it earns a 429');
      assert.equal(await byKey(OK), 6);
    } finally { await gw.stop(); }
  } finally { for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true }); }
});

test('AQ.… keys work exactly like AIza… keys: sent as x-goog-api-key, masked, marked, stored', async () => {
  const A = 'AQ.Fake-ok-aq01xyz', BAD = 'AQ.Fake-invalid-aq02xyz', STORED = 'AQ.Fake-ok-aq03xyz';
  await withGateway({ GEMGATE_KEYS: `${BAD},${A}`, GEMGATE_RECHECK_INTERVAL: '1h' }, async (gw) => {
    assert.equal((await gw.call(GEN)).status, 200);
    const last = await fake.last();
    assert.equal(last.headers['x-goog-api-key'], A);
    assert.ok(!last.query.includes('key='), 'never in the URL');
    const keys = await gw.keys();
    assert.deepEqual(keys.map((k) => [k.key, k.state]), [['AQ.F\u20262xyz', 'invalid'], ['AQ.F\u20261xyz', 'active']]);
    const add = await gw.admin('/admin/config/gemini-key', { method: 'POST', body: JSON.stringify({ key: STORED }) });
    assert.equal(add.status, 201, JSON.stringify(add.body));
    assert.equal(add.body.key, 'AQ.F\u20263xyz');
    for (let i = 0; i < 4; i++) assert.equal((await gw.call(GEN)).status, 200);
    assert.ok(await byKey(STORED) >= 1, 'the stored AQ key serves');
    const metrics = await (await gw.fetch('/metrics', { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    const status = JSON.stringify(await gw.keys());
    for (const secret of [A, BAD, STORED]) {
      assert.ok(!status.includes(secret) && !metrics.includes(secret), 'no secret in status or metrics');
      assert.ok(!gw.log.includes(secret), 'no secret in the log');
    }
  });
});

/** A minimal forward proxy for http:// URLs (GEMGATE_PROXY: the libcurl path). */
function forwardProxy() {
  const server = http.createServer((req, res) => {
    const u = new URL(req.url);
    const up = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: req.method, headers: req.headers },
      (ur) => { res.writeHead(ur.statusCode, ur.headers); ur.pipe(res); });
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` })));
}

/** One client that reads the first bytes of a big non-stream answer, stops reading for ms, then
 * reads the rest.  Resolves with the status and whether the whole body arrived. */
function slowReader(port, body, ms) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks = [];
    let paused = false;
    s.on('data', (d) => {
      chunks.push(d);
      if (!paused) { paused = true; s.pause(); setTimeout(() => s.resume(), ms); }
    });
    s.on('end', () => {
      const all = Buffer.concat(chunks).toString('latin1');
      const split = all.indexOf('\r\n\r\n');
      const len = Number((all.slice(0, split).match(/content-length: (\d+)/i) || [])[1]);
      resolve({ status: Number(all.slice(9, 12)), whole: all.length - split - 4 === len && all.endsWith('}') });
    });
    s.on('error', (e) => resolve({ status: 0, error: e.message }));
    s.write(`POST ${GEN} HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${ACCESS}\r\ncontent-type: application/json\r\n` +
            `connection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
}

test('twenty slow readers of a big answer with a short GEMGATE_TIMEOUT leave every key available (direct and through a proxy)', async () => {
  // The fake echoes a tool result in every candidate: 1 MiB × 4 candidates, a 4 MiB answer that
  // cannot fit in the sockets' buffers, so the gateway holds the upstream while each client waits.
  const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'go' }] },
    { role: 'user', parts: [{ functionResponse: { name: 'f', response: { r: 'x'.repeat(1 << 20) } } }] }],
    generationConfig: { candidateCount: 4 } });
  const keys = ['AIzaFake-ok-sr01', 'AIzaFake-ok-sr02'];
  // Its own fake with two threads: building twenty 8 MiB answers one after another (slower
  // still under ASan) would make the last ones a real upstream timeout.
  const big = await startFake(['--threads', '2']);
  const p = await forwardProxy();
  try {
    for (const extra of [{}, { GEMGATE_PROXY: p.url }]) {
      const gw = await startGateway({ GEMGATE_UPSTREAM: big.url, GEMGATE_KEYS: keys.join(','), GEMGATE_TIMEOUT: '5s',
                                      GEMGATE_MAX_FAILURES: '3', ...extra });
      try {
        // Each client holds the gateway for 7.5 s, longer than GEMGATE_TIMEOUT (5 s: headroom for
        // a loaded machine and the ASan build to produce twenty 4 MiB answers in time).
        const rs = await Promise.all(Array.from({ length: 20 }, () => slowReader(gw.port, body, 7500)));
        const label = extra.GEMGATE_PROXY ? 'through the proxy' : 'direct';
        assert.deepEqual(rs.map((r) => r.status), Array(20).fill(200), label);
        assert.ok(rs.every((r) => r.whole), `${label}: every answer arrived whole`);
        await allClean(gw, 2);
      } finally { await gw.stop(); }
    }
  } finally { p.server.close(); await big.stop(); }
});

test('40,000 made-up model names cost no pool state; /admin/pool/stats answers; real models keep theirs', async () => {
  await withGateway({ GEMGATE_KEYS: 'AIzaFake-ok-mm01,AIzaFake-ok-mm02' }, async (gw) => {
    assert.equal((await gw.call(GEN)).status, 200);
    const body = '{"contents":[{"parts":[{"text":"hi"}]}]}';
    // 8 connections, 5,000 pipelined requests each.
    const burst = (from, n) => new Promise((resolve) => {
      const s = net.connect(gw.port, '127.0.0.1');
      let seen = 0, tail = '';
      s.on('data', (d) => {
        const text = tail + d.toString('latin1');
        // tail is text's prefix, already counted: count only what this piece completes
        seen += (text.match(/HTTP\/1\.1 200 /g) || []).length - (tail.match(/HTTP\/1\.1 200 /g) || []).length;
        tail = text.slice(-16);
        if (seen >= n) { s.destroy(); resolve(seen); }
      });
      s.on('error', () => resolve(seen));
      let reqs = '';
      for (let i = from; i < from + n; i++) {
        reqs += `POST /v1beta/models/made-up-${i}:generateContent HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${ACCESS}\r\n` +
                `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
      }
      s.write(reqs);
    });
    const served = await Promise.all(Array.from({ length: 8 }, (_, i) => burst(i * 5000, 5000)));
    assert.equal(served.reduce((a, b) => a + b, 0), 40000, 'every call answered');
    // The pool listed the upstream's models once and dropped the names it does not list.
    assert.ok(await until(async () => Object.keys((await gw.admin('/admin/pool/stats')).body).length <= 3, 5000));
    const stats = (await gw.admin('/admin/pool/stats')).body;
    assert.deepEqual(Object.keys(stats).sort(), ['(unlisted)', 'gemini-2.5-flash']);
    assert.equal(stats['gemini-2.5-flash'].total_usage, 1);
    assert.equal((await fake.stats()).by_path['/v1beta/models'], 1, 'one listing');
    const keys = await gw.keys();
    assert.ok(keys.every((k) => Object.keys(k.cooldowns).length === 0 && k.state === 'active'));
    assert.equal((await gw.call('/v1beta/models/gemini-2.5-pro:generateContent')).status, 200);
    assert.ok((await gw.admin('/admin/pool/stats')).body['gemini-2.5-pro'], 'a listed model gets its own state');
  });
});
