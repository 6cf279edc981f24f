// Resumable uploads through the gateway (issue 15 §3): the real @google/genai files.upload, the
// rewritten upload URL (no key, bound to the user and the key, expiring), bodies that stream
// through in bounded memory (512 MB), and a file that stays its user's (§4).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { GoogleGenAI } from '@google/genai';
import { startFake, startGateway, sleep, raw, ACCESS, GEMGATE_BIN } from './harness.mjs';

const KEYS = ['AIzaFake-ok-u01', 'AIzaFake-ok-u02', 'AIzaFake-ok-u03', 'AIzaFake-ok-u04'];
const MODEL = 'gemini-2.5-flash';
const SAN = /build-t?san/.test(GEMGATE_BIN);   // ASan and TSan builds start far bigger: only growth is compared there
let fake, gw, A, B, alice, bob;

const owner = async (name) => (await (await fetch(`${fake.url}/_fake/resources`)).json()).resources.find((x) => x.name === name)?.key;
const googleHash = (hex) => Buffer.from(hex).toString('base64');

/** A raw resumable start through the gateway: the answer's headers. */
async function startUpload(key, size, extra = {}) {
  const r = await fetch(`${gw.url}/upload/v1beta/files`, { method: 'POST', headers: {
    'x-goog-api-key': key, 'content-type': 'application/json', 'x-goog-upload-protocol': 'resumable',
    'x-goog-upload-command': 'start', 'x-goog-upload-header-content-length': String(size),
    'x-goog-upload-header-content-type': 'application/octet-stream', ...extra,
  }, body: JSON.stringify({ file: { display_name: 'raw' } }) });
  assert.equal(r.status, 200);
  return r.headers;
}

/** POSTs size bytes (chunk repeated) to url in one request, honouring backpressure; samples the
 * gateway's RSS meanwhile.  Resolves with the answer and the peak RSS (KiB). */
function streamUpload(url, size, chunk, headers, chunked = false) {
  let peak = 0;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: {
      ...(chunked ? {} : { 'content-length': size }), 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0', ...headers,
    } }, (res) => {
      let s = '';
      res.on('data', (d) => { s += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: s, peak }));
    });
    req.on('error', reject);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        peak = Math.max(peak, gw.rss());
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { req.once('drain', pump); return; }
      }
      req.end();
    };
    pump();
  });
}

before(async () => {
  fake = await startFake();
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: KEYS.join(','), GEMGATE_MAX_UPLOAD: '1024m' });
  const mk = async (name) => (await gw.admin('/admin/config/user-key', { method: 'POST', body: JSON.stringify({ name }) })).body;
  A = await mk('alice');
  B = await mk('bob');
  alice = new GoogleGenAI({ apiKey: A.key, httpOptions: { baseUrl: gw.url } });
  bob = new GoogleGenAI({ apiKey: B.key, httpOptions: { baseUrl: gw.url } });
});
after(async () => { await gw.stop(); await fake.stop(); });

let bigFile;

test('files.upload of a 50 MB file, then 20 generateContent calls with it: all succeed with 4 keys in round robin', async () => {
  const data = crypto.randomBytes(50 << 20);
  bigFile = await alice.files.upload({ file: new Blob([data], { type: 'video/mp4' }), config: { displayName: 'fifty' } });
  assert.match(bigFile.name, /^files\//);
  assert.equal(bigFile.sizeBytes, String(data.length));
  assert.equal(bigFile.sha256Hash, googleHash(crypto.createHash('sha256').update(data).digest('hex')), 'byte for byte');
  const key = await owner(bigFile.name);
  assert.ok(KEYS.includes(key));
  const seen = await fake.stats();
  for (let i = 0; i < 20; i++) {
    const r = await alice.models.generateContent({ model: MODEL, contents: [{ role: 'user', parts: [
      { fileData: { fileUri: bigFile.uri, mimeType: bigFile.mimeType } }, { text: `question ${i}` }] }] });
    assert.match(r.text, /Hello from fake/);
  }
  const now = await fake.stats();
  assert.equal(now.requests - seen.requests, 20, 'no attempt was refused and retried');
  assert.equal((now.by_key[key] || 0) - (seen.by_key[key] || 0), 20, 'every use went to the owning key');
  assert.equal((await alice.files.get({ name: bigFile.name })).name, bigFile.name);
  assert.ok((await gw.keys()).every((k) => k.state === 'active'));
});

test('an OpenAI chat naming the file (image_url with its Files API URI) goes to its key too', async () => {
  const key = await owner(bigFile.name);
  const seen = (await fake.stats()).by_key[key] || 0;
  for (let i = 0; i < 4; i++) {
    const r = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${A.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: 'what is it?' },
        { type: 'image_url', image_url: { url: bigFile.uri } }] }] }) });
    assert.equal(r.status, 200, await r.clone().text());
  }
  assert.equal(((await fake.stats()).by_key[key] || 0) - seen, 4);
  const last = await fake.last();
  assert.deepEqual(JSON.parse(last.body).contents[0].parts[1], { fileData: { fileUri: bigFile.uri } }, 'sent as fileData, not fetched');
});

test('user B gets 404 for user A\'s file and sees none of A\'s in lists', async () => {
  const mine = await bob.files.upload({ file: new Blob([Buffer.from('bob\'s notes')], { type: 'text/plain' }) });
  const id = bigFile.name.slice(6);
  const get = await fetch(`${gw.url}/v1beta/${bigFile.name}`, { headers: { 'x-goog-api-key': B.key } });
  assert.equal(get.status, 404);
  assert.equal((await get.json()).error.message, `You do not have permission to access the File ${id} or it may not exist.`);
  await assert.rejects(bob.files.get({ name: bigFile.name }), (e) => e.status === 404);
  await assert.rejects(bob.files.delete({ name: bigFile.name }), (e) => e.status === 404);
  await assert.rejects(bob.models.generateContent({ model: MODEL, contents: [{ role: 'user', parts: [
    { fileData: { fileUri: bigFile.uri } }, { text: 'x' }] }] }), (e) => e.status === 404);
  const names = [];
  for await (const f of await bob.files.list()) names.push(f.name);
  assert.deepEqual(names, [mine.name]);
  const theirs = [];
  for await (const f of await alice.files.list()) theirs.push(f.name);
  assert.ok(theirs.includes(bigFile.name) && !theirs.includes(mine.name));
  assert.equal((await alice.files.get({ name: bigFile.name })).name, bigFile.name, 'untouched');
});

test('the rewritten upload URL carries no key, is the gateway\'s, and is bound to the user', async () => {
  const h = await startUpload(A.key, 11);
  const url = h.get('x-goog-upload-url');
  assert.equal(h.get('x-goog-upload-control-url'), url);
  assert.match(url, new RegExp(`^${gw.url}/upload/v1beta/files\\?upload_id=[0-9a-f]{32}&upload_protocol=resumable$`));
  for (const k of KEYS) assert.ok(![...h.values()].some((v) => v.includes(k)), 'no upstream key in any header');
  assert.ok(![...h.values()].some((v) => v.includes(fake.url)), 'nothing points at the upstream');
  // Another user's credential, an unknown token: 404 like a session that does not exist.
  const other = await fetch(url, { method: 'POST', headers: { 'x-goog-api-key': B.key, 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' }, body: 'hello world' });
  assert.equal(other.status, 404);
  const unknown = await fetch(url.replace(/upload_id=[0-9a-f]+/, `upload_id=${'0'.repeat(32)}`), { method: 'POST', headers: { 'x-goog-upload-command': 'query' } });
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).error.status, 'NOT_FOUND');
  // The token alone continues it, as Google's upload URL does; on the key that started it.
  const q = await fetch(url, { method: 'POST', headers: { 'x-goog-upload-command': 'query' } });
  assert.equal(q.status, 200);
  assert.equal(q.headers.get('x-goog-upload-size-received'), '0');
  const fin = await fetch(url, { method: 'POST', headers: { 'x-goog-api-key': A.key, 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' }, body: 'hello world' });
  assert.equal(fin.status, 200);
  assert.equal(fin.headers.get('x-goog-upload-status'), 'final');
  const { file } = await fin.json();
  assert.equal(file.sizeBytes, '11');
  const adm = await gw.admin(`/admin/resources?user=${A.user_id}&kind=file`);
  assert.ok(adm.body.users[0].resources.some((x) => x.name === file.name), 'recorded for alice');
  assert.equal((await fetch(url, { method: 'POST', headers: { 'x-goog-upload-command': 'query' } })).status, 404, 'a finalized session is gone');
});

test('an upload larger than GEMGATE_MAX_UPLOAD is refused at its start and at its body', async () => {
  const r = await fetch(`${gw.url}/upload/v1beta/files`, { method: 'POST', headers: {
    'x-goog-api-key': A.key, 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start',
    'x-goog-upload-header-content-length': String(2 * 1024 ** 3) }, body: '{}' });
  assert.equal(r.status, 413);
  const seen = (await fake.stats()).requests;
  const url = (await startUpload(A.key, 10)).get('x-goog-upload-url');
  const u = new URL(url);
  const big = await raw(gw.port, `POST ${u.pathname}${u.search} HTTP/1.1\r\nHost: x\r\nx-goog-upload-command: upload, finalize\r\n` +
                                 `Content-Length: ${1025 << 20}\r\n\r\nabc`);
  assert.match(big, /^HTTP\/1\.1 413 /, 'refused before any byte went upstream');
  assert.equal((await fake.stats()).requests - seen, 1, 'only the start reached the upstream');
});

test('an expired upload URL is refused', async () => {
  const short = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: KEYS[0], GEMGATE_UPLOAD_TTL: '300ms' });
  try {
    const r = await fetch(`${short.url}/upload/v1beta/files`, { method: 'POST', headers: { 'x-goog-api-key': ACCESS,
      'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start' }, body: '{}' });
    const url = r.headers.get('x-goog-upload-url');
    assert.equal((await fetch(url, { method: 'POST', headers: { 'x-goog-upload-command': 'query' } })).status, 200);
    await sleep(400);
    const late = await fetch(url, { method: 'POST', headers: { 'x-goog-upload-command': 'query' } });
    assert.equal(late.status, 404);
  } finally { await short.stop(); }
});

test('a 512 MB upload streams through: the gateway\'s RSS stays under 64 MB, every byte arrives', async (t) => {
  const size = 512 << 20;
  const url = (await startUpload(A.key, size)).get('x-goog-upload-url');
  const chunk = crypto.randomBytes(1 << 20);
  const hash = crypto.createHash('sha256');
  for (let i = 0; i < 512; i++) hash.update(chunk);
  const base = gw.rss();
  const res = await streamUpload(url, size, chunk, { 'x-goog-api-key': A.key });
  assert.equal(res.status, 200, res.body);
  const { file } = JSON.parse(res.body);
  assert.equal(file.sizeBytes, String(size));
  assert.equal(file.sha256Hash, googleHash(hash.digest('hex')));
  const hwm = Number(fs.readFileSync(`/proc/${gw.pid}/status`, 'utf8').match(/VmHWM:\s+(\d+)/)[1]);
  t.diagnostic(`gateway RSS ${base} → peak ${res.peak} KiB, VmHWM ${hwm} KiB`);
  assert.ok(res.peak - base < 24 * 1024, `RSS went from ${base} to ${res.peak} KiB during the upload`);
  if (!SAN) {
    assert.ok(res.peak < 64 * 1024, `RSS peak ${res.peak} KiB`);
    assert.ok(hwm < 64 * 1024, `VmHWM ${hwm} KiB`);
  }
});

test('a chunked upload body streams too, byte for byte', async () => {
  const size = 24 << 20;
  const url = (await startUpload(A.key, size)).get('x-goog-upload-url');
  const chunk = crypto.randomBytes(100000);
  const hash = crypto.createHash('sha256');
  for (let sent = 0; sent < size; sent += chunk.length) hash.update(chunk.subarray(0, Math.min(chunk.length, size - sent)));
  const res = await streamUpload(url, size, chunk, {}, true);
  assert.equal(res.status, 200, res.body);
  const { file } = JSON.parse(res.body);
  assert.equal(file.sizeBytes, String(size));
  assert.equal(file.sha256Hash, googleHash(hash.digest('hex')));
});

test('a malformed chunked upload body answers 400; a client that goes away mid-upload costs no key anything', async () => {
  let u = new URL((await startUpload(A.key, 10)).get('x-goog-upload-url'));
  const bad = await raw(gw.port, `POST ${u.pathname}${u.search} HTTP/1.1\r\nHost: x\r\nx-goog-upload-command: upload, finalize\r\n` +
                                 'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n');
  assert.match(bad, /^HTTP\/1\.1 400 /);
  assert.match(bad, /the upload body is malformed/);
  const errors = (await gw.keys()).map((k) => k.errors);
  u = new URL((await startUpload(A.key, 10 << 20)).get('x-goog-upload-url'));
  const sock = net.connect(gw.port, '127.0.0.1');
  await new Promise((r) => sock.on('connect', r));
  sock.write(`POST ${u.pathname}${u.search} HTTP/1.1\r\nHost: x\r\nx-goog-upload-command: upload, finalize\r\nContent-Length: ${10 << 20}\r\n\r\n`);
  sock.write(Buffer.alloc(1 << 20));
  await sleep(100);
  sock.destroy();
  await sleep(100);
  assert.deepEqual((await gw.keys()).map((k) => k.errors), errors, 'no key was held responsible');
  assert.ok((await gw.keys()).every((k) => k.state === 'active'));
  assert.equal((await fetch(`${gw.url}/health`)).status, 200);
  assert.match(gw.log, /upload .* the client went away after \d+ bytes/);
});
