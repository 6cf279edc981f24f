// Resources stay on the key that created them (issue 15 §3): caches, batches and interactions
// made through the gateway with the real @google/genai SDK, used again and again with 4 keys in
// round robin; the owner key cooling (429 + Retry-After) and removed (410); a restart on the same
// database remembers who owns what.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GoogleGenAI } from '@google/genai';
import { startFake, startGateway, ACCESS, ADMIN, dbText } from './harness.mjs';

const KEYS = ['AIzaFake-ok-r01', 'AIzaFake-ok-r02', 'AIzaFake-ok-r03', 'AIzaFake-ok-r04'];
const MODEL = 'gemini-2.5-flash';
let fake, gw, ai, dir, keysFile, db;

const owner = async (name) => (await (await fetch(`${fake.url}/_fake/resources`)).json()).resources.find((x) => x.name === name)?.key;
const byKey = async () => (await fake.stats()).by_key;
const reload = async (keys) => {
  fs.writeFileSync(keysFile, keys.join('\n'));
  const r = await fetch(`${gw.url}/admin/keys/reload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(r.status, 200);
};
const start = () => startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS_FILE: keysFile, GEMGATE_DB: db, GEMGATE_MAX_RETRIES: '3' });

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gemgate-res-'));
  keysFile = path.join(dir, 'keys');
  db = path.join(dir, 'gemgate.db');
  fs.writeFileSync(keysFile, KEYS.join('\n'));
  fake = await startFake();
  gw = await start();
  ai = new GoogleGenAI({ apiKey: ACCESS, httpOptions: { baseUrl: gw.url } });
});
after(async () => { await gw.stop(); await fake.stop(); fs.rmSync(dir, { recursive: true, force: true }); });

const cacheBody = { model: MODEL, config: { contents: [{ role: 'user', parts: [{ text: 'a long document '.repeat(50) }] }], ttl: '600s' } };

test('caches.create, then 20 generateContent calls with it: all on the owning key, all succeed', async () => {
  const cache = await ai.caches.create(cacheBody);
  assert.match(cache.name, /^cachedContents\//);
  const key = await owner(cache.name);
  assert.ok(KEYS.includes(key));
  const before = await byKey();
  for (let i = 0; i < 20; i++) {
    const r = await ai.models.generateContent({ model: MODEL, contents: `question ${i}`, config: { cachedContent: cache.name } });
    assert.match(r.text, /Hello from fake/);
    assert.ok(r.usageMetadata.cachedContentTokenCount > 0, 'the upstream used the cache');
  }
  const after = await byKey();
  assert.equal((after[key] || 0) - (before[key] || 0), 20, 'every use went to the owner');
  // Plain calls still rotate over all four keys.
  const plain = await byKey();
  for (let i = 0; i < 8; i++) await ai.models.generateContent({ model: MODEL, contents: 'plain' });
  const spread = await byKey();
  for (const k of KEYS) assert.equal((spread[k] || 0) - (plain[k] || 0), 2, `round robin reaches ${k}`);
  // get / update / delete by path go to the owner too; a delete forgets the resource.
  assert.equal((await ai.caches.get({ name: cache.name })).name, cache.name);
  const upd = await ai.caches.update({ name: cache.name, config: { ttl: '900s' } });
  assert.equal(upd.name, cache.name);
  assert.ok(JSON.stringify((await gw.admin('/admin/resources')).body).includes(cache.name));
  await ai.caches.delete({ name: cache.name });
  assert.ok(!JSON.stringify((await gw.admin('/admin/resources')).body).includes(cache.name), 'a delete forgets it');
});

test('a batch created with batches.create and polled with batches.get until it succeeds', async () => {
  const job = await ai.batches.create({ model: MODEL, src: [
    { contents: [{ role: 'user', parts: [{ text: 'one' }] }] },
    { contents: [{ role: 'user', parts: [{ text: 'two' }] }] },
  ], config: { displayName: 'two questions' } });
  assert.match(job.name, /^batches\//);
  const key = await owner(job.name);
  const seen = (await fake.stats()).requests;
  let state = job.state, polls = 0, got;
  while (state !== 'JOB_STATE_SUCCEEDED' && polls < 10) {
    got = await ai.batches.get({ name: job.name });
    state = got.state;
    polls++;
  }
  assert.equal(state, 'JOB_STATE_SUCCEEDED', 'every poll reached the owner (another key gets 403)');
  assert.equal(got.dest.inlinedResponses.length, 2);
  assert.equal((await fake.stats()).requests - seen, polls, 'one upstream request per poll: no key was refused');
  assert.ok((await byKey())[key] >= 1 + polls);
  assert.ok((await gw.keys()).every((k) => k.state === 'active'));
});

test('an interaction continued with previous_interaction_id, many times, whatever key is next', async () => {
  let prev = await ai.interactions.create({ model: MODEL, input: 'hello' });
  assert.match(prev.id, /^v1_/);
  const key = await owner(prev.id);
  const seen = (await fake.stats()).requests;
  for (let i = 0; i < 6; i++) {
    const next = await ai.interactions.create({ model: MODEL, input: `more ${i}`, previous_interaction_id: prev.id });
    assert.equal(next.previous_interaction_id, prev.id);
    assert.equal(await owner(next.id), key, 'the continuation lives on the same key');
    prev = next;
  }
  const got = await ai.interactions.get(prev.id);
  assert.equal(got.id, prev.id);
  assert.equal((await fake.stats()).requests - seen, 7, 'one upstream request per call: no key was refused');
  assert.ok((await gw.keys()).every((k) => k.state === 'active'));
});

test('the owner key cooling down: 429 with Retry-After naming the resource, other keys untouched', async () => {
  const cache = await ai.caches.create(cacheBody);
  const key = await owner(cache.name);
  await fake.mode(key, 'rl30');
  const body = JSON.stringify({ contents: [{ parts: [{ text: 'q' }] }], cachedContent: cache.name });
  const call = () => fetch(`${gw.url}/v1beta/models/${MODEL}:generateContent`, { method: 'POST',
    headers: { 'x-goog-api-key': ACCESS, 'content-type': 'application/json' }, body });
  const seen = (await fake.stats()).requests;
  let r = await call();
  assert.equal(r.status, 429, 'Google\'s 429 from the owner');
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
  assert.equal((await fake.stats()).requests - seen, 1, 'no other key was tried: it could not serve the cache');
  r = await call();
  assert.equal(r.status, 429);
  assert.ok(Number(r.headers.get('retry-after')) >= 20, 'until the cooldown ends');
  const j = await r.json();
  assert.equal(j.error.status, 'RESOURCE_EXHAUSTED');
  assert.match(j.error.message, new RegExp(`${cache.name} lives on an upstream key that is cooling down`));
  assert.equal((await fake.stats()).requests - seen, 1, 'answered by the gateway');
  // A plain call is served by another key meanwhile.
  assert.equal((await ai.models.generateContent({ model: MODEL, contents: 'plain' })).text.includes('Hello'), true);
  await fake.mode(key, null);
  await fetch(`${gw.url}/admin/pool/reset`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
});

test('a restart on the same database remembers the owners; the owner removed from the pool: 410', async () => {
  const cache = await ai.caches.create(cacheBody);
  const key = await owner(cache.name);
  await gw.stop();
  gw = await start();
  ai = new GoogleGenAI({ apiKey: ACCESS, httpOptions: { baseUrl: gw.url } });
  for (let i = 0; i < 8; i++) {
    const r = await ai.models.generateContent({ model: MODEL, contents: `after restart ${i}`, config: { cachedContent: cache.name } });
    assert.ok(r.usageMetadata.cachedContentTokenCount > 0);
  }
  await reload(KEYS.filter((k) => k !== key));
  const seen = (await fake.stats()).requests;
  const r = await fetch(`${gw.url}/v1beta/models/${MODEL}:generateContent`, { method: 'POST',
    headers: { 'x-goog-api-key': ACCESS }, body: JSON.stringify({ contents: [{ parts: [{ text: 'q' }] }], cachedContent: cache.name }) });
  assert.equal(r.status, 410);
  const j = await r.json();
  assert.equal(j.error.code, 410);
  assert.match(j.error.message, new RegExp(`${cache.name} lives on an upstream key that was removed`));
  assert.equal((await fake.stats()).requests, seen, 'nothing was sent upstream');
  const g = await fetch(`${gw.url}/v1beta/${cache.name}`, { headers: { 'x-goog-api-key': ACCESS } });
  assert.equal(g.status, 410, 'by path, too');
  await reload(KEYS);
  assert.equal((await fetch(`${gw.url}/v1beta/${cache.name}`, { headers: { 'x-goog-api-key': ACCESS } })).status, 200, 'back with its key');
});

test('the key secret never reaches the database: owners are kept by hash', async () => {
  const bytes = dbText(db);
  assert.ok(bytes.includes('cachedContents/'), 'resources are stored');
  for (const k of KEYS) assert.ok(!bytes.includes(k), `${k} is not in the database`);
});
