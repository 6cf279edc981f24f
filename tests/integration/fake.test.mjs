// The fake upstream itself (no gateway): the stateful Gemini API as Google runs it — resources
// owned by the key that made them, resumable uploads streamed, QuotaFailure 429s, key verdicts.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { startFake, rssKiB } from './harness.mjs';

let fake;
before(async () => { fake = await startFake(); });
after(async () => { await fake.stop(); });
beforeEach(async () => { await fake.reset(); });

const A = 'AIzaFake-ok-fileA';
const B = 'AQ.Fake-ok-fileB';
const GENP = (model = 'gemini-2.5-flash') => `/v1beta/models/${model}:generateContent`;

/** A JSON API call with key as x-goog-api-key (or ?key= when inQuery). */
async function api(method, path, key, body, inQuery = false) {
  const url = fake.url + path + (inQuery ? `${path.includes('?') ? '&' : '?'}key=${encodeURIComponent(key)}` : '');
  const headers = { 'content-type': 'application/json' };
  if (!inQuery && key) headers['x-goog-api-key'] = key;
  const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: text ? JSON.parse(text) : null };
}

/** Starts a resumable upload; returns the X-Goog-Upload-URL. */
async function startUpload(key, size, mime = 'application/octet-stream', name = 'f.bin') {
  const r = await fetch(`${fake.url}/upload/v1beta/files`, {
    method: 'POST',
    headers: {
      'x-goog-api-key': key, 'content-type': 'application/json', 'x-goog-upload-protocol': 'resumable',
      'x-goog-upload-command': 'start', 'x-goog-upload-header-content-length': String(size),
      'x-goog-upload-header-content-type': mime,
    },
    body: JSON.stringify({ file: { display_name: name } }),
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-goog-upload-status'), 'active');
  return r.headers.get('x-goog-upload-url');
}

/** Google's sha256Hash: base64 of the hex digest. */
const googleHash = (buf) => Buffer.from(crypto.createHash('sha256').update(buf).digest('hex')).toString('base64');

async function uploadFile(key, data, mime = 'text/plain') {
  const url = await startUpload(key, data.length, mime);
  const r = await fetch(url, { method: 'POST', headers: { 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' }, body: data });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-goog-upload-status'), 'final');
  return (await r.json()).file;
}

test('resumable upload of 1 MB: the upload URL points back at the fake with key and upload_id; metadata reads back', async () => {
  const data = crypto.randomBytes(1 << 20);
  const url = await startUpload(A, data.length, 'image/png', 'pic.png');
  const u = new URL(url);
  assert.equal(u.origin, fake.url);
  assert.equal(u.pathname, '/upload/v1beta/files');
  assert.equal(u.searchParams.get('key'), A);
  assert.match(u.searchParams.get('upload_id'), /^[a-z0-9]+$/);
  const r = await fetch(url, { method: 'POST', headers: { 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' }, body: data });
  const { file } = await r.json();
  assert.match(file.name, /^files\/[a-z0-9]{12}$/);
  assert.equal(file.displayName, 'pic.png');
  assert.equal(file.mimeType, 'image/png');
  assert.equal(file.sizeBytes, String(data.length));
  assert.equal(file.sha256Hash, googleHash(data));
  assert.equal(file.state, 'ACTIVE');
  assert.equal(file.source, 'UPLOADED');
  assert.equal(file.uri, `${fake.url}/v1beta/${file.name}`);
  for (const f of ['createTime', 'updateTime', 'expirationTime']) assert.match(file[f], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  const got = await api('GET', `/v1beta/${file.name}`, A);
  assert.equal(got.status, 200);
  assert.deepEqual(got.json, file);
  const res = (await (await fetch(`${fake.url}/_fake/resources`)).json()).resources;
  assert.deepEqual(res.map((x) => [x.kind, x.name, x.key]), [['file', file.name, A]]);
});

test('chunked upload: upload with X-Goog-Upload-Offset, query, then finalize; a chunked body streams too', async () => {
  const data = crypto.randomBytes(3 * 65536 + 7);
  const url = await startUpload(A, data.length);
  const part = (cmd, off, body) => fetch(url, { method: 'POST', headers: { 'x-goog-upload-command': cmd, 'x-goog-upload-offset': String(off) }, body });
  let r = await part('upload', 0, data.subarray(0, 65536));
  assert.equal(r.headers.get('x-goog-upload-status'), 'active');
  assert.equal(r.headers.get('x-goog-upload-size-received'), '65536');
  r = await part('upload', 5, data.subarray(65536, 70000));
  assert.equal(r.status, 400, 'a wrong offset is refused');
  r = await fetch(url, { method: 'POST', headers: { 'x-goog-upload-command': 'query' } });
  assert.equal(r.headers.get('x-goog-upload-size-received'), '65536');
  // The rest as Transfer-Encoding: chunked (a ReadableStream body has no length).
  const rest = data.subarray(65536);
  const stream = new ReadableStream({ start(c) { for (let i = 0; i < rest.length; i += 10000) c.enqueue(rest.subarray(i, i + 10000)); c.close(); } });
  r = await fetch(url, { method: 'POST', headers: { 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '65536' }, body: stream, duplex: 'half' });
  const { file } = await r.json();
  assert.equal(file.sizeBytes, String(data.length));
  assert.equal(file.sha256Hash, googleHash(data));
});

test('files belong to their key: another key gets 403 PERMISSION_DENIED, lists show only its own', async () => {
  const fa = await uploadFile(A, Buffer.from('hello from A'));
  const fb = await uploadFile(B, Buffer.from('hello from B'));
  const id = fa.name.slice(6);
  for (const method of ['GET', 'DELETE']) {
    const r = await api(method, `/v1beta/${fa.name}`, B);
    assert.equal(r.status, 403);
    assert.equal(r.json.error.status, 'PERMISSION_DENIED');
    assert.equal(r.json.error.message, `You do not have permission to access the File ${id} or it may not exist.`);
  }
  const none = await api('GET', '/v1beta/files/doesnotexist', A);
  assert.equal(none.status, 403, 'Google answers PERMISSION_DENIED for a file that does not exist');
  assert.deepEqual((await api('GET', '/v1beta/files', A)).json.files.map((f) => f.name), [fa.name]);
  assert.deepEqual((await api('GET', '/v1beta/files', B, undefined, true)).json.files.map((f) => f.name), [fb.name]);
  // Naming another key's file in a generate body: 403 as well, both spellings.
  for (const part of [{ fileData: { fileUri: fa.uri, mimeType: 'text/plain' } }, { file_data: { file_uri: fa.uri } }]) {
    const g = await api('POST', GENP(), B, { contents: [{ parts: [part, { text: 'summarise' }] }] });
    assert.equal(g.status, 403);
    assert.match(g.json.error.message, new RegExp(`File ${id} `));
  }
  assert.equal((await api('POST', GENP(), A, { contents: [{ parts: [{ fileData: { fileUri: fa.uri } }] }] })).status, 200);
  assert.equal((await api('DELETE', `/v1beta/${fa.name}`, A)).status, 200);
  assert.equal((await api('GET', `/v1beta/${fa.name}`, A)).status, 403, 'deleted');
});

test('files list pages with pageSize / pageToken / nextPageToken, newest first', async () => {
  const names = [];
  for (let i = 0; i < 5; i++) names.push((await uploadFile(A, Buffer.from(`f${i}`))).name);
  const p1 = (await api('GET', '/v1beta/files?pageSize=2', A)).json;
  assert.deepEqual(p1.files.map((f) => f.name), [names[4], names[3]]);
  const p2 = (await api('GET', `/v1beta/files?pageSize=2&pageToken=${p1.nextPageToken}`, A)).json;
  assert.deepEqual(p2.files.map((f) => f.name), [names[2], names[1]]);
  const p3 = (await api('GET', `/v1beta/files?pageSize=2&pageToken=${p2.nextPageToken}`, A)).json;
  assert.deepEqual(p3.files.map((f) => f.name), [names[0]]);
  assert.equal(p3.nextPageToken, undefined);
  assert.deepEqual((await api('GET', '/v1beta/files', 'AIzaFake-ok-empty')).json, {});
});

test('cachedContents: create, use (cachedContentTokenCount), patch, other key 403, unknown 404, delete', async () => {
  const c = await api('POST', '/v1beta/cachedContents', A, { model: 'models/gemini-2.5-flash', contents: [{ role: 'user', parts: [{ text: 'x'.repeat(4000) }] }], ttl: '300s' });
  assert.equal(c.status, 200);
  const cache = c.json;
  assert.match(cache.name, /^cachedContents\/[a-z0-9]+$/);
  assert.equal(cache.model, 'models/gemini-2.5-flash');
  assert.ok(cache.usageMetadata.totalTokenCount > 1000);
  assert.ok(Date.parse(cache.expireTime) - Date.parse(cache.createTime) > 299000);
  const g = await api('POST', GENP(), A, { cachedContent: cache.name, contents: [{ parts: [{ text: 'hi' }] }] });
  assert.equal(g.status, 200);
  assert.equal(g.json.usageMetadata.cachedContentTokenCount, cache.usageMetadata.totalTokenCount);
  assert.ok(g.json.usageMetadata.promptTokenCount > cache.usageMetadata.totalTokenCount);
  const other = await api('POST', GENP(), B, { cachedContent: cache.name, contents: [{ parts: [{ text: 'hi' }] }] });
  assert.equal(other.status, 403);
  assert.equal(other.json.error.status, 'PERMISSION_DENIED');
  assert.equal(other.json.error.message, 'CachedContent not found (or permission denied)');
  const nope = await api('POST', GENP(), A, { cachedContent: 'cachedContents/nope', contents: [] });
  assert.equal(nope.status, 404);
  assert.equal((await api('GET', `/v1beta/${cache.name}`, B)).status, 403);
  assert.equal((await api('GET', '/v1beta/cachedContents/nope', A)).status, 404);
  const p = await api('PATCH', `/v1beta/${cache.name}`, A, { ttl: '7200s' });
  assert.equal(p.status, 200);
  assert.ok(Date.parse(p.json.expireTime) - Date.now() > 7000000);
  assert.deepEqual((await api('GET', '/v1beta/cachedContents', A)).json.cachedContents.map((x) => x.name), [cache.name]);
  assert.deepEqual((await api('GET', '/v1beta/cachedContents', B)).json, {});
  assert.equal((await api('DELETE', `/v1beta/${cache.name}`, A)).status, 200);
  assert.equal((await api('GET', `/v1beta/${cache.name}`, A)).status, 404);
});

test('batches: a long-running operation that succeeds with inlined responses; cancel, list, other key', async () => {
  const body = { batch: { display_name: 'b1', input_config: { requests: { requests: [
    { request: { contents: [{ parts: [{ text: 'one' }] }] }, metadata: { key: 'r1' } },
    { request: { contents: [{ parts: [{ text: 'two' }] }] }, metadata: { key: 'r2' } }] } } } };
  const c = await api('POST', '/v1beta/models/gemini-2.5-flash:batchGenerateContent', A, body);
  assert.equal(c.status, 200);
  assert.match(c.json.name, /^batches\/[a-z0-9]+$/);
  assert.equal(c.json.metadata.state, 'BATCH_STATE_PENDING');
  assert.equal(c.json.metadata.batchStats.requestCount, '2');
  let op;
  for (let i = 0; i < 3 && !op?.done; i++) op = (await api('GET', `/v1beta/${c.json.name}`, A)).json;
  assert.equal(op.metadata.state, 'BATCH_STATE_SUCCEEDED');
  const out = op.response.inlinedResponses.inlinedResponses;
  assert.deepEqual(out.map((x) => x.metadata.key), ['r1', 'r2']);
  assert.equal(out[0].response.candidates[0].content.parts[0].text, 'Hello from fake gemini-2.5-flash');
  assert.equal((await api('GET', `/v1beta/${c.json.name}`, B)).status, 403);
  assert.equal((await api('GET', '/v1beta/batches/nope', A)).status, 404);
  assert.deepEqual((await api('GET', '/v1beta/batches', A)).json.operations.map((x) => x.name), [c.json.name]);
  const c2 = await api('POST', '/v1beta/models/gemini-2.5-flash:batchGenerateContent', A, body);
  assert.equal((await api('POST', `/v1beta/${c2.json.name}:cancel`, A, {})).status, 200);
  assert.equal((await api('GET', `/v1beta/${c2.json.name}`, A)).json.metadata.state, 'BATCH_STATE_CANCELLED');
  assert.equal((await api('DELETE', `/v1beta/${c2.json.name}`, A)).status, 200);
});

test('interactions: continued with previous_interaction_id by its owner only', async () => {
  const i1 = await api('POST', '/v1beta/interactions', A, { model: 'gemini-2.5-flash', input: 'hello' });
  assert.equal(i1.status, 200);
  assert.ok(i1.json.id);
  assert.equal(i1.json.status, 'completed');
  assert.equal(i1.json.outputs[0].text, 'Hello from fake gemini-2.5-flash');
  const i2 = await api('POST', '/v1beta/interactions', A, { model: 'gemini-2.5-flash', input: 'more', previous_interaction_id: i1.json.id });
  assert.equal(i2.status, 200);
  assert.equal(i2.json.previous_interaction_id, i1.json.id);
  const denied = await api('POST', '/v1beta/interactions', B, { model: 'gemini-2.5-flash', input: 'x', previous_interaction_id: i1.json.id });
  assert.equal(denied.status, 403);
  assert.equal(denied.json.error.status, 'PERMISSION_DENIED');
  assert.equal((await api('GET', `/v1beta/interactions/${i1.json.id}`, A)).json.id, i1.json.id);
  assert.equal((await api('GET', `/v1beta/interactions/${i1.json.id}`, B)).status, 403);
  assert.equal((await api('GET', '/v1beta/interactions/v1_nope', A)).status, 404);
});

/** The QuotaFailure, RetryInfo and ErrorInfo details of an error body, by type. */
const detail = (j, t) => j.error.details.find((d) => d['@type'] === `type.googleapis.com/google.rpc.${t}`);

test('rpm<N>: the N+1th call in a minute is a per-minute 429 for that model only', async () => {
  const key = 'AQ.Fake-rpm2-q1';
  assert.equal((await api('POST', GENP(), key, {})).status, 200);
  assert.equal((await api('POST', GENP(), key, {}, true)).status, 200);
  const r = await api('POST', GENP(), key, {});
  assert.equal(r.status, 429);
  assert.equal(r.json.error.status, 'RESOURCE_EXHAUSTED');
  const v = detail(r.json, 'QuotaFailure').violations[0];
  assert.equal(v.quotaId, 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier');
  assert.equal(v.quotaMetric, 'generativelanguage.googleapis.com/generate_content_free_tier_requests');
  assert.deepEqual(v.quotaDimensions, { location: 'global', model: 'gemini-2.5-flash' });
  assert.equal(v.quotaValue, '2');
  const delay = detail(r.json, 'RetryInfo').retryDelay;
  assert.match(delay, /^\d+s$/);
  assert.ok(parseInt(delay) >= 1 && parseInt(delay) <= 60);
  assert.equal((await api('POST', GENP('gemini-2.5-pro'), key, {})).status, 200, 'another model on the same key still works');
  assert.equal((await api('POST', '/v1beta/models/gemini-2.5-flash:countTokens', key, {})).status, 200, 'only generate calls count');
  await fake.reset();
  assert.equal((await api('POST', GENP(), key, {})).status, 200, '/_fake/reset clears the counters');
});

test('rpd<N>: past N calls a day the per-day 429 (quotaValue N) for that model only', async () => {
  const key = 'AIzaFake-rpd1-q2';
  assert.equal((await api('POST', GENP(), key, {})).status, 200);
  const r = await fetch(`${fake.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, { method: 'POST', headers: { 'x-goog-api-key': key }, body: '{}' });
  assert.equal(r.status, 429);
  const j = await r.json();
  const v = detail(j, 'QuotaFailure').violations[0];
  assert.equal(v.quotaId, 'GenerateRequestsPerDayPerProjectPerModel-FreeTier');
  assert.equal(v.quotaValue, '1');
  assert.equal(v.quotaDimensions.model, 'gemini-2.5-flash');
  assert.match(j.error.message, /limit: 1, model: gemini-2\.5-flash/);
  assert.equal((await api('POST', GENP('gemini-2.0-flash'), key, {})).status, 200);
  assert.equal((await api('POST', GENP(), 'AIzaFake-rl30-q3', {})).json.error.details.length, 3, 'rl<N> keeps its shape');
});

test('key verdicts carry Google\'s ErrorInfo reasons', async () => {
  const want = {
    expired: [400, 'INVALID_ARGUMENT', 'API_KEY_EXPIRED'],
    blocked: [403, 'PERMISSION_DENIED', 'API_KEY_SERVICE_BLOCKED'],
    disabled: [403, 'PERMISSION_DENIED', 'SERVICE_DISABLED'],
    suspended: [403, 'PERMISSION_DENIED', 'CONSUMER_SUSPENDED'],
    invalid: [400, 'INVALID_ARGUMENT', 'API_KEY_INVALID'],
  };
  for (const [tok, [code, status, reason]] of Object.entries(want)) {
    for (const key of [`AIzaFake-${tok}-v`, `AQ.Fake-${tok}-v`]) {
      const r = await api('POST', GENP(), key, {});
      assert.equal(r.status, code, key);
      assert.equal(r.json.error.status, status);
      const info = detail(r.json, 'ErrorInfo');
      assert.equal(info.reason, reason);
      assert.equal(info.domain, 'googleapis.com');
      assert.equal(info.metadata.service, 'generativelanguage.googleapis.com');
    }
  }
  const blocked = await api('POST', '/v1beta/models/gemini-2.5-flash:streamGenerateContent', 'AIzaFake-blocked-v', {});
  assert.match(detail(blocked.json, 'ErrorInfo').metadata.methodName, /StreamGenerateContent$/);
  assert.match(detail(blocked.json, 'ErrorInfo').metadata.consumer, /^projects\/\d{12}$/);
  const leaked = await api('POST', GENP(), 'AIzaFake-leaked-v', {});
  assert.equal(leaked.status, 403);
  assert.deepEqual(leaked.json, { error: { code: 403, message: 'Your API key was reported as leaked. Please use another API key.', status: 'PERMISSION_DENIED' } });
});

test('an AQ. key works like an AIza key, as header or ?key=', async () => {
  for (const inQuery of [false, true]) {
    const r = await api('POST', GENP(), 'AQ.Ab8RN6LfakeKey_x-ok-aq', { contents: [{ parts: [{ text: 'hi' }] }] }, inQuery);
    assert.equal(r.status, 200);
    assert.equal(r.json.candidates[0].content.parts[0].text, 'Hello from fake gemini-2.5-flash');
  }
  assert.equal((await fake.stats()).by_key['AQ.Ab8RN6LfakeKey_x-ok-aq'], 2);
});

test('a 64 MB upload streams: the fake\'s memory stays small', async () => {
  const size = 64 << 20;
  const url = new URL(await startUpload(A, size));
  const chunk = crypto.randomBytes(1 << 20);
  const hash = crypto.createHash('sha256');
  // Relative to the fake's own size (ASan builds start far bigger): a buffered body would add 64 MB.
  // VmHWM is the process's lifetime peak: start it afresh (Linux: 5 > clear_refs), else an earlier
  // test's peak would be blamed on this upload.
  let hwmReset = true;
  try { fs.writeFileSync(`/proc/${fake.pid}/clear_refs`, '5'); } catch { hwmReset = false; }
  const base = rssKiB(fake.pid);
  let peak = 0;
  const file = await new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-length': size, 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' } }, (res) => {
      let s = '';
      res.on('data', (d) => { s += d; });
      res.on('end', () => resolve(JSON.parse(s).file));
    });
    req.on('error', reject);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        peak = Math.max(peak, rssKiB(fake.pid));
        sent += chunk.length;
        hash.update(chunk);
        if (!req.write(chunk)) { req.once('drain', pump); return; }
      }
      req.end();
    };
    pump();
  });
  assert.equal(file.sizeBytes, String(size));
  assert.equal(file.sha256Hash, Buffer.from(hash.digest('hex')).toString('base64'));
  const hwm = Number(fs.readFileSync(`/proc/${fake.pid}/status`, 'utf8').match(/VmHWM:\s+(\d+)/)[1]);
  // A sanitizer build of the fake keeps freed memory in quarantine: allow it more, still far
  // below the 64 MB a buffered upload would hold.
  const slack = /san/.test(process.env.FAKE_BIN || '') ? 40 * 1024 : 16 * 1024;
  assert.ok(peak - base < slack, `fake RSS went from ${base} to ${peak} KiB during the upload`);
  if (hwmReset) assert.ok(hwm - base < slack + 8 * 1024, `fake VmHWM ${hwm} KiB (base ${base})`);
});

test('/_fake/reset clears resources; control routes keep their shapes', async () => {
  await uploadFile(A, Buffer.from('x'));
  await api('POST', '/v1beta/cachedContents', A, { model: 'gemini-2.5-flash', contents: [] });
  assert.equal((await (await fetch(`${fake.url}/_fake/resources`)).json()).resources.length, 2);
  assert.deepEqual(await (await fake.reset()).json(), { ok: true });
  assert.deepEqual(await (await fetch(`${fake.url}/_fake/resources`)).json(), { resources: [] });
  assert.deepEqual(await fake.stats(), { requests: 0, by_key: {}, by_path: {} });
});
