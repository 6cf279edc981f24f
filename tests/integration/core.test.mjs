// The gateway's front door: routes, authentication, passthrough fidelity and bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startFake, startGateway, raw, ACCESS, ADMIN, GEN, SSE, ON_REDIS } from './harness.mjs';

const KEY1 = 'AIzaFake-ok-aaaa1111';
const KEY2 = 'AIzaFake-ok-bbbb2222';
let fake, gw;

before(async () => {
  fake = await startFake();
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: `${KEY1},${KEY2}`, GEMGATE_MAX_BODY: '1m' });
});
after(async () => { await gw.stop(); await fake.stop(); });

test('health needs no token and counts usable keys', async () => {
  const r = await gw.fetch('/health');
  assert.equal(r.status, 200);
  // With shared state (GEMGATE_REDIS) /health also says whether Redis is reachable.
  assert.deepEqual(await r.json(), { status: 'ok', available_keys: 2, ...(ON_REDIS ? { redis: 'up' } : {}) });
  assert.equal((await gw.fetch('/wake')).status, 200);
});

test('a call without an access key, or with a wrong one, is refused in Google\'s shape and never reaches the upstream', async () => {
  await fake.reset();
  const none = await gw.fetch(GEN, { method: 'POST', body: '{}' });
  assert.equal(none.status, 401);
  const e = await none.json();
  assert.equal(e.error.code, 401);
  assert.equal(e.error.status, 'UNAUTHENTICATED');
  const wrong = await gw.fetch(GEN, { method: 'POST', body: '{}', headers: { 'x-goog-api-key': 'nope' } });
  assert.equal(wrong.status, 401);
  const pooled = await gw.fetch(GEN, { method: 'POST', body: '{}', headers: { 'x-goog-api-key': KEY1 } });
  assert.equal(pooled.status, 401, 'an upstream key is not an access key');
  assert.equal((await fake.stats()).requests, 0);
});

test('the access key works as header, ?key= and Bearer; the upstream sees only a pooled key', async () => {
  const body = JSON.stringify({ contents: [{ parts: [{ text: 'héllo' }] }] });
  const ways = [
    [GEN, { 'x-goog-api-key': ACCESS }],
    [`${GEN}?key=${ACCESS}&foo=bar`, {}],
    [GEN, { authorization: `Bearer ${ACCESS}` }],
  ];
  for (const [p, h] of ways) {
    const r = await gw.fetch(p, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-custom': 'kept', ...h } });
    assert.equal(r.status, 200, p);
    const j = await r.json();
    assert.match(j.candidates[0].content.parts[0].text, /Hello from fake gemini-2.5-flash/);
    const last = await fake.last();
    assert.ok([KEY1, KEY2].includes(last.headers['x-goog-api-key']), 'a pooled key was sent');
    assert.equal(last.headers.authorization, undefined);
    assert.ok(!last.query.includes('key='), `client key stripped from query: ${last.query}`);
    if (p.includes('foo=bar')) assert.ok(last.query.includes('foo=bar'), 'other query kept');
    assert.equal(last.headers['x-custom'], 'kept');
    assert.equal(last.body_sha256, crypto.createHash('sha256').update(body).digest('hex'), 'body byte for byte');
  }
});

test('response bodies pass byte for byte, for both API versions', async () => {
  for (const v of ['v1beta', 'v1']) {
    const viaGw = await (await gw.call(`/${v}/models/gemini-2.5-flash:countTokens`, { contents: [] })).text();
    const direct = await (await fetch(`${fake.url}/${v}/models/gemini-2.5-flash:countTokens`, {
      method: 'POST', body: JSON.stringify({ contents: [] }), headers: { 'x-goog-api-key': KEY1 } })).text();
    assert.equal(viaGw, direct);
  }
  const models = await gw.fetch('/v1beta/models', { headers: { 'x-goog-api-key': ACCESS } });
  assert.equal(models.status, 200);
  assert.ok((await models.json()).models.length > 0);
});

test('upstream 4xx that are the request\'s fault come back at once, unchanged, without a retry', async () => {
  await fake.reset();
  const r = await gw.fetch('/v1beta/models/no-such-model:generateContent', {
    method: 'POST', body: '{}', headers: { 'x-goog-api-key': ACCESS, 'x-fake-status': '404' } });
  assert.equal(r.status, 404);
  assert.equal((await r.json()).error.status, 'NOT_FOUND');
  assert.equal((await fake.stats()).requests, 1);
});

test('unknown route 404, wrong method 405 with Allow, admin routes need the token', async () => {
  const nf = await gw.fetch('/nope');
  assert.equal(nf.status, 404);
  assert.equal((await nf.json()).error.code, 404);
  const wm = await gw.fetch('/health', { method: 'POST' });
  assert.equal(wm.status, 405);
  assert.equal(wm.headers.get('allow'), 'GET');
  assert.equal((await gw.fetch('/api/status/keys')).status, 401);
  assert.equal((await gw.fetch('/api/status/keys', { headers: { authorization: 'Bearer wrong' } })).status, 403);
  assert.equal((await gw.fetch('/api/status/keys', { headers: { authorization: `Bearer ${ACCESS}` } })).status, 403);
  assert.equal((await gw.fetch('/api/status/keys', { headers: { authorization: `Bearer ${ADMIN}` } })).status, 200);
});

test('malformed request line, huge headers, oversized and bad bodies get clear errors; the gateway keeps serving', async () => {
  const bad = await raw(gw.port, 'GARBAGE\r\n\r\n');
  assert.match(bad, /^HTTP\/1\.[01] 400 /);
  const badVer = await raw(gw.port, 'GET / HTTP/9.9\r\n\r\n');
  assert.match(badVer, / 400 /);
  const huge = await raw(gw.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70000)}\r\n\r\n`);
  assert.match(huge, /^HTTP\/1\.1 431 /);
  const many = await raw(gw.port, `GET /health HTTP/1.1\r\n${Array.from({ length: 120 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`);
  assert.match(many, / 431 /);
  const big = await raw(gw.port, `POST ${GEN} HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${ACCESS}\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`);
  assert.match(big, /^HTTP\/1\.1 413 /);
  assert.match(big, /"code":413/);
  const bigChunked = await raw(gw.port, `POST ${GEN} HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${ACCESS}\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n`);
  assert.match(bigChunked, / 413 /);
  const smuggle = await raw(gw.port, `POST ${GEN} HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc`);
  assert.match(smuggle, / 400 /);
  // With a credential: a caller without one is refused at the head, before its body (limits.test).
  const badChunk = await raw(gw.port, `POST ${GEN} HTTP/1.1\r\nx-goog-api-key: ${ACCESS}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`);
  assert.match(badChunk, / 400 /);
  const r = await gw.fetch('/health');
  assert.equal(r.status, 200, 'still serving');
});

test('keep-alive, pipelining in order, HTTP/1.0 and chunked request bodies', async () => {
  const two = await raw(gw.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const statuses = [...two.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['200', '404']);
  const h10 = await raw(gw.port, 'GET /health HTTP/1.0\r\n\r\n');
  assert.match(h10, /^HTTP\/1\.0 200 /);
  const body = '{"contents":[]}';
  const chunked = await raw(gw.port, `POST /v1beta/models/m:countTokens HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${ACCESS}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n${body.slice(0, 5)}\r\n${(body.length - 5).toString(16)}\r\n${body.slice(5)}\r\n0\r\n\r\n`);
  assert.match(chunked, /^HTTP\/1\.1 200 /);
  const last = await fake.last();
  assert.equal(last.body_len, body.length);
});

test('no key secret appears in any status route or in the log', async () => {
  const routes = ['/api/status/keys', '/admin/pool/stats', '/admin/keys/stats'];
  for (const p of routes) {
    const r = await gw.admin(p);
    assert.equal(r.status, 200, p);
    const s = JSON.stringify(r.body);
    for (const k of [KEY1, KEY2]) {
      assert.ok(!s.includes(k), `${p} leaks a key`);
      assert.ok(!s.includes(k.slice(4, -4)), `${p} leaks the middle of a key`);
    }
  }
  const keys = await gw.keys();
  assert.equal(keys[0].key, 'AIza…1111');
  await gw.call(SSE);
  for (const k of [KEY1, KEY2, ACCESS]) assert.ok(!gw.log.includes(k), 'log leaks a secret');
});

test('/status and /metrics (admin) report the process and the pool, with no secret', async () => {
  assert.equal((await gw.fetch('/metrics')).status, 401);
  const st = await gw.admin('/status');
  assert.equal(st.status, 200);
  assert.ok(st.body.memory_usage_mb > 0 && st.body.memory_usage_mb < 200);
  assert.ok(st.body.uptime_seconds >= 0);
  const r = await gw.fetch('/metrics', { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.match(r.headers.get('content-type'), /^text\/plain/);
  const text = await r.text();
  // calls are counted by route, model, status and user now (metrics.test.mjs): sum the series
  const requests = [...text.matchAll(/^gemgate_requests_total\{[^}]*\} (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
  assert.ok(requests > 5);
  assert.match(text, /^gemgate_key_requests_total\{key="1"\} \d+$/m);
  assert.match(text, /^gemgate_key_available\{key="2",state="active"\} 1$/m);
  for (const k of [KEY1, KEY2]) assert.ok(!text.includes(k.slice(4, -4)));
});
