// The edges of the client surface (issue 15, section 5): paths Google would read differently
// than the gateway checked are refused before any upstream call, OpenAI paths the gateway does
// not serve answer in OpenAI's shape without spending a pooled key, and headers that steer
// Google's billing or routing never reach the upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import OpenAI from 'openai';
import { startFake, startGateway, ACCESS, ADMIN, GEN } from './harness.mjs';

let fake, gw, flashOnly;
before(async () => {
  fake = await startFake();
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: 'AIzaFake-ok-edge01,AIzaFake-ok-edge02' });
  const r = await gw.fetch('/admin/config/user-key', {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'flash-only', allowed_models: ['gemini-2.5-flash'] }),
  });
  assert.equal(r.status, 201);
  flashOnly = (await r.json()).key;
});
after(async () => { await gw.stop(); await fake.stop(); });

/* One request exactly as written — fetch() would normalise "..", "%2e%2e" and "./" away. */
function rawCall(method, target, headers = {}, body = '') {
  const head = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close',
    `Content-Length: ${Buffer.byteLength(body)}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return new Promise((resolve, reject) => {
    const s = net.connect(gw.port, '127.0.0.1');
    const chunks = [];
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const at = text.indexOf('\r\n\r\n');
      const status = Number(text.slice(9, 12));
      const hdrs = text.slice(0, at).toLowerCase();
      let b = text.slice(at + 4);
      if (/transfer-encoding: chunked/.test(hdrs)) b = b.replace(/^[0-9a-f]+\r\n/, '').replace(/\r\n0\r\n\r\n$/, '');
      let json = null;
      try { json = JSON.parse(b); } catch {}
      resolve({ status, hdrs, json });
    });
    // write, not end: a half-closed client counts as gone (499) once its call is under way
    s.write(`${head.join('\r\n')}\r\n\r\n${body}`);
  });
}

const HI = JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] });
const nothingForwarded = async (what) => {
  const st = await fake.stats();
  assert.equal(st.requests, 0, `${what}: the fake saw ${JSON.stringify(st.by_path)}`);
};

const TRAVERSALS = [
  '/v1beta/models/gemini-2.5-flash/../gemini-2.5-pro:generateContent',
  '/v1beta/models/gemini-2.5-flash/%2e%2e/gemini-2.5-pro:generateContent',
  '/v1beta/models/gemini-2.5-flash/%2E%2E/gemini-2.5-pro:generateContent',
  '/v1beta/models/gemini-2.5-flash/.%2e/gemini-2.5-pro:generateContent',
  '/v1beta/models/gemini-2.5-flash%2f..%2fgemini-2.5-pro:generateContent',
  '/v1beta/models/gemini-2.5-flash%2F..%2Fgemini-2.5-pro:generateContent',
  '/v1beta/models/gemini-2.5-flash%252f..%252fgemini-2.5-pro:generateContent',
  '/v1beta/models/gemini-2.5-flash/%252e%252e/gemini-2.5-pro:generateContent',
  '/v1beta/./models/gemini-2.5-pro:generateContent',
  '/v1beta//models/gemini-2.5-pro:generateContent',
  '/v1beta/models/gemini-2.5-pr%6f:generateContent',
  '/v1/models/gemini-2.5-flash/../gemini-2.5-pro:generateContent',
];

test('every traversal form is refused 400 in Google\'s shape, and the upstream sees nothing', async () => {
  await fake.reset();
  for (const p of TRAVERSALS) {
    const r = await rawCall('POST', p, { 'x-goog-api-key': ACCESS, 'content-type': 'application/json' }, HI);
    assert.equal(r.status, 400, p);
    assert.equal(r.json?.error?.status, 'INVALID_ARGUMENT', p);
    assert.match(r.json.error.message, /invalid request path/, p);
  }
  await nothingForwarded('traversals');
  const ok = await rawCall('POST', GEN, { 'x-goog-api-key': ACCESS, 'content-type': 'application/json' }, HI);
  assert.equal(ok.status, 200, 'the canonical path still works over the same raw client');
});

test('a user allowed only gemini-2.5-flash cannot reach another model: not by traversal, not by the body', async () => {
  const as = { 'x-goog-api-key': flashOnly, 'content-type': 'application/json' };
  assert.equal((await rawCall('POST', GEN, as, HI)).status, 200, 'the allowed model works');
  assert.equal((await rawCall('POST', '/v1beta/models/gemini-2.5-pro:generateContent', as, HI)).status, 403);
  await fake.reset();
  for (const p of ['/v1beta/models/gemini-2.5-flash/../gemini-2.5-pro:generateContent',
                   '/v1beta/models/gemini-2.5-flash/%2e%2e/gemini-2.5-pro:generateContent',
                   '/v1beta/models/gemini-2.5-flash%2f%2e%2e%2fgemini-2.5-pro:streamGenerateContent']) {
    const r = await rawCall('POST', p, as, HI);
    assert.equal(r.status, 400, p);
  }
  // Routes that name their model in the body are checked against it, read as Google reads it.
  const turn = (body) => rawCall('POST', '/v1beta/interactions', as, body);
  assert.equal((await turn(JSON.stringify({ model: 'gemini-2.5-pro', input: 'hi' }))).status, 403);
  assert.equal((await turn('{"mod\\u0065l":"gemini-2.5-pro","input":"hi"}')).status, 403, 'an escaped key is the same key');
  assert.equal((await turn('{"model":"gemini-2.5-flash","model":"gemini-2.5-pro","input":"hi"}')).status, 400, 'a duplicate is refused');
  const cache = await rawCall('POST', '/v1beta/cachedContents', as,
    JSON.stringify({ model: 'models/gemini-2.5-pro', contents: [{ role: 'user', parts: [{ text: 'x' }] }] }));
  assert.equal(cache.status, 403);
  assert.match(cache.json.error.message, /gemini-2\.5-pro.*not allowed/);
  assert.equal((await rawCall('POST', '/v1beta/tunedModels/mine:generateContent', as, HI)).status, 403, 'a tuned model must be listed');
  await nothingForwarded('refused calls of the flash-only user');
  const allowed = await turn(JSON.stringify({ model: 'gemini-2.5-flash', input: 'hi' }));
  assert.equal(allowed.status, 200, 'an interaction on the allowed model goes through');
  assert.equal((await fake.last()).path, '/v1beta/interactions');
});

test('alt=proto (an answer the gateway cannot meter) is refused; alt=sse still streams', async () => {
  await fake.reset();
  const r = await gw.call(`${GEN}?alt=proto`);
  assert.equal(r.status, 400);
  assert.match((await r.json()).error.message, /alt/);
  await nothingForwarded('alt=proto');
  const sse = await gw.call('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  assert.equal(sse.status, 200);
  assert.match(await sse.text(), /^data: /);
});

const UNSERVED = [
  ['POST', '/v1/responses/resp_1/cancel', 404],      // /v1/responses itself is served since issue 12
  ['PUT', '/v1/responses', 405, 'POST'],
  ['POST', '/v1/completions', 404],
  ['POST', '/v1/audio/transcriptions', 404],
  ['POST', '/v1/audio/speech', 404],
  ['GET', '/v1/files', 404],
  ['POST', '/v1/files', 404],
  ['POST', '/v1/batches', 404],
  ['POST', '/v1/moderations', 404],
  ['GET', '/v1/assistants', 404],
  ['POST', '/v1/images/edits', 404],
  ['GET', '/v1/chat/completions/chatcmpl-1', 404],
  ['GET', '/v1/chat/completions', 405, 'POST'],
  ['DELETE', '/v1/chat/completions', 405, 'POST'],
  ['GET', '/v1/embeddings', 405, 'POST'],
  ['PUT', '/v1/images/generations', 405, 'POST'],
  ['POST', '/v1/models', 405, 'GET'],
  ['DELETE', '/v1/models/gemini-2.5-flash', 405, 'GET'],
];

test('unserved OpenAI paths and wrong methods answer locally in OpenAI\'s shape, never upstream', async () => {
  await fake.reset();
  for (const [method, p, status, allow] of UNSERVED) {
    const r = await gw.fetch(p, { method, headers: { authorization: `Bearer ${ACCESS}`, 'content-type': 'application/json' },
      body: method === 'GET' ? undefined : '{"model":"gemini-2.5-flash","input":"hi"}' });
    const what = `${method} ${p}`;
    assert.equal(r.status, status, what);
    const e = (await r.json()).error;
    assert.equal(e.type, 'invalid_request_error', what);
    assert.equal(e.param, null, what);
    assert.equal(e.code, status === 404 ? 'unknown_url' : 'method_not_allowed', what);
    assert.ok(e.message.includes(`${method} ${p}`) || status === 405, `${what}: ${e.message}`);
    assert.equal(r.headers.get('allow'), allow ?? null, what);
  }
  const stranger = await gw.fetch('/v1/responses', { method: 'POST', headers: { authorization: 'Bearer nope' }, body: '{}' });
  assert.equal(stranger.status, 401);
  assert.equal((await stranger.json()).error.code, 'invalid_api_key');
  const dots = await rawCall('GET', '/v1/chat/../models', { authorization: `Bearer ${ACCESS}` });
  assert.equal(dots.status, 400);
  assert.equal(dots.json.error.type, 'invalid_request_error', 'a bad OpenAI-shaped path gets OpenAI\'s shape');
  await nothingForwarded('unserved OpenAI paths');
});

test('the official openai SDK: completions.create and moderations.create reject with a 404 APIError', async () => {
  await fake.reset();
  const client = new OpenAI({ apiKey: ACCESS, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  await assert.rejects(client.moderations.create({ model: 'omni-moderation-latest', input: 'hi' }),
    (e) => e instanceof OpenAI.APIError && e instanceof OpenAI.NotFoundError && e.status === 404 &&
      e.code === 'unknown_url' && e.type === 'invalid_request_error');
  await assert.rejects(client.completions.create({ model: 'gemini-2.5-flash', prompt: 'hi' }),
    (e) => e instanceof OpenAI.APIError && e.status === 404 && e.code === 'unknown_url');
  await nothingForwarded('SDK calls to unserved paths');
  const ok = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(ok.object, 'chat.completion', 'the served route is untouched');
  const resp = await client.responses.create({ model: 'gemini-2.5-flash', input: 'hi' });
  assert.equal(resp.object, 'response', 'the Responses API is served since issue 12');
});

test('Gemini\'s own /v1/ paths still pass through, with any credential', async () => {
  await fake.reset();
  const bearer = await gw.fetch('/v1/models/gemini-2.5-flash:generateContent', {
    method: 'POST', headers: { authorization: `Bearer ${ACCESS}`, 'content-type': 'application/json' }, body: HI });
  assert.equal(bearer.status, 200);
  assert.match((await bearer.json()).candidates[0].content.parts[0].text, /gemini-2\.5-flash/);
  // /v1/files with a Gemini credential is Gemini's list, answered from the gateway's own record
  // of the caller's resources (tenancy, docs/pool.md), not OpenAI's 404.
  const files = await gw.fetch('/v1/files', { headers: { 'x-goog-api-key': ACCESS } });
  assert.equal(files.status, 200);
  assert.ok(!('error' in await files.json()));
  const models = await gw.fetch('/v1/models', { headers: { 'x-goog-api-key': ACCESS } });
  assert.ok((await models.json()).models.length > 0);
  const seen = (await fake.stats()).by_path;
  assert.ok(seen['/v1/models/gemini-2.5-flash:generateContent'] && seen['/v1/models'], JSON.stringify(seen));
});

const DROPPED = {
  'x-goog-user-project': 'someone-elses-project',
  'x-goog-quota-user': 'u1',
  'x-http-method-override': 'DELETE',
  'x-goog-request-params': 'name=models/gemini-2.5-pro',
  'x-server-timeout': '1',
  'x-goog-fieldmask': 'candidates',
  'x-goog-api-version': '2099-01-01',
  'forwarded': 'for=10.0.0.1;host=evil.example',
  'x-forwarded-for': '10.0.0.1',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'http',
  'x-real-ip': '10.0.0.1',
  'via': '1.1 someproxy',
  'x-android-package': 'com.example.app',
};

test('headers that steer Google\'s billing or routing never reach the upstream; ordinary ones do', async () => {
  for (const [how, send] of [
    ['native', (h) => gw.call(`${GEN}?$userProject=p&quotaUser=u&fields=candidates&%24fields=x&$.xgafv=1&foo=bar`, undefined, h)],
    ['openai', (h) => new OpenAI({ apiKey: ACCESS, baseURL: `${gw.url}/v1`, maxRetries: 0 })
      .chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] }, { headers: h })],
  ]) {
    const r = await send({ ...DROPPED, 'x-custom': 'kept', 'x-goog-api-client': 'genai-js/1.0.0' });
    if (how === 'native') {
      assert.equal(r.status, 200);
      assert.ok((await r.json()).usageMetadata, 'the field mask did not strip the usage the gateway meters');
    }
    const last = await fake.last();
    for (const name of Object.keys(DROPPED)) assert.equal(last.headers[name], undefined, `${how}: ${name} forwarded`);
    assert.equal(last.headers['x-custom'], 'kept', how);
    assert.equal(last.headers['x-goog-api-client'], 'genai-js/1.0.0', `${how}: SDK telemetry is forwarded`);
    assert.equal(last.method, 'POST', how);
    if (how === 'native') assert.equal(last.query, 'foo=bar', 'the query forms are dropped too, the rest kept');
  }
});
