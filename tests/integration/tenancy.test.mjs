// Tenancy (issue 15 §4): upstream keys are shared by every user, yet a user lists, reads, uses
// and deletes only their own resources; another user's answer 404 exactly like one that does not
// exist; the admin sees them all in GET /admin/resources.  Real @google/genai clients, 4 keys.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GoogleGenAI } from '@google/genai';
import { startFake, startGateway, ACCESS, ADMIN } from './harness.mjs';

const KEYS = ['AIzaFake-ok-t01', 'AIzaFake-ok-t02', 'AIzaFake-ok-t03', 'AIzaFake-ok-t04'];
const MODEL = 'gemini-2.5-flash';
let fake, gw, alice, bob, anon, A, B;
const made = { alice: [], bob: [] };

const client = (key) => new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: gw.url } });
const api = async (key, method, p, body) => {
  const r = await fetch(gw.url + p, { method, headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, json: await r.json().catch(() => null) };
};
const cache = (ai, text) => ai.caches.create({ model: MODEL, config: { contents: [{ role: 'user', parts: [{ text }] }], ttl: '600s' } });
const all = async (pager) => { const out = []; for await (const x of pager) out.push(x.name); return out; };

before(async () => {
  fake = await startFake();
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: KEYS.join(',') });
  const mk = async (name) => (await gw.admin('/admin/config/user-key', { method: 'POST', body: JSON.stringify({ name }) })).body;
  A = await mk('alice');
  B = await mk('bob');
  alice = client(A.key);
  bob = client(B.key);
  anon = client(ACCESS);
  // Five caches for alice land on all four keys (round robin); one for bob; a batch each.
  for (let i = 0; i < 5; i++) made.alice.push((await cache(alice, `alice ${i}`)).name);
  made.bob.push((await cache(bob, 'bob')).name);
  made.aliceBatch = (await alice.batches.create({ model: MODEL, src: [{ contents: [{ role: 'user', parts: [{ text: 'x' }] }] }] })).name;
});
after(async () => { await gw.stop(); await fake.stop(); });

test('lists answer only the caller\'s own resources, merged across every key that holds them', async () => {
  const res = (await (await fetch(`${fake.url}/_fake/resources`)).json()).resources;
  const keysOfAlice = new Set(res.filter((x) => made.alice.includes(x.name)).map((x) => x.key));
  assert.equal(keysOfAlice.size, 4, 'alice\'s caches are spread over the four keys');
  assert.deepEqual(await all(await alice.caches.list()), [...made.alice].reverse(), 'newest first, all of them');
  assert.deepEqual(await all(await bob.caches.list()), made.bob);
  assert.deepEqual(await all(await anon.caches.list()), [], 'the static access keys are a principal of their own');
  assert.deepEqual(await all(await alice.batches.list()), [made.aliceBatch]);
  assert.deepEqual(await all(await bob.batches.list()), []);
  assert.deepEqual((await api(B.key, 'GET', '/v1beta/batches')).json, {}, 'Google\'s empty answer');
  assert.deepEqual((await api(B.key, 'GET', '/v1beta/files')).json, {});
});

test('lists page with pageSize / pageToken / nextPageToken in Google\'s shape', async () => {
  const p1 = (await api(A.key, 'GET', '/v1beta/cachedContents?pageSize=2')).json;
  assert.equal(p1.cachedContents.length, 2);
  assert.ok(p1.nextPageToken);
  const p2 = (await api(A.key, 'GET', `/v1beta/cachedContents?pageSize=2&pageToken=${p1.nextPageToken}`)).json;
  const p3 = (await api(A.key, 'GET', `/v1beta/cachedContents?pageSize=2&pageToken=${p2.nextPageToken}`)).json;
  assert.equal(p3.nextPageToken, undefined);
  assert.deepEqual([...p1.cachedContents, ...p2.cachedContents, ...p3.cachedContents].map((c) => c.name), [...made.alice].reverse());
  assert.ok(p1.cachedContents.every((c) => c.model === `models/${MODEL}` && c.expireTime), 'each read fresh from its key');
  const bad = await api(A.key, 'GET', '/v1beta/cachedContents?pageToken=not-a-token!');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.status, 'INVALID_ARGUMENT');
  assert.equal((await api(A.key, 'GET', '/v1beta/cachedContents?pageSize=-1')).status, 400);
});

test('another user\'s resource answers 404 exactly like one that does not exist, and is left alone', async () => {
  const theirs = made.alice[0];
  const nope = 'cachedContents/doesnotexist00';
  for (const [method, suffix, body] of [['GET', ''], ['PATCH', '', { ttl: '60s' }], ['DELETE', '']]) {
    const a = await api(B.key, method, `/v1beta/${theirs}${suffix}`, body);
    const n = await api(B.key, method, `/v1beta/${nope}${suffix}`, body);
    assert.equal(a.status, 404, `${method} another user's cache`);
    assert.deepEqual(a.json, n.json, `${method}: the same body as for a cache that does not exist`);
  }
  const use = await api(B.key, 'POST', `/v1beta/models/${MODEL}:generateContent`, { contents: [{ parts: [{ text: 'q' }] }], cachedContent: theirs });
  const useNope = await api(B.key, 'POST', `/v1beta/models/${MODEL}:generateContent`, { contents: [{ parts: [{ text: 'q' }] }], cachedContent: nope });
  assert.equal(use.status, 404);
  assert.deepEqual(use.json, useNope.json, 'using it in a body: the same 404');
  await assert.rejects(bob.caches.get({ name: theirs }), (e) => e.status === 404);
  assert.equal((await alice.caches.get({ name: theirs })).name, theirs, 'still there for its owner');
  const b = await api(B.key, 'GET', `/v1beta/${made.aliceBatch}`);
  const bn = await api(B.key, 'GET', '/v1beta/batches/doesnotexist00');
  assert.equal(b.status, 404);
  assert.deepEqual(b.json, bn.json, 'a batch likewise');
  assert.equal((await api(ACCESS, 'GET', `/v1beta/${made.bob[0]}`)).status, 404, 'static keys see no user\'s resources');
});

test('GET /admin/resources lists every resource per user, with filters, and needs the admin token', async () => {
  const r = await gw.admin('/admin/resources');
  assert.equal(r.status, 200);
  assert.equal(r.body.total, 7);
  const byUser = Object.fromEntries(r.body.users.map((u) => [u.name, u.resources]));
  assert.deepEqual(byUser.alice.map((x) => x.name), [made.aliceBatch, ...[...made.alice].reverse()]);
  assert.deepEqual(byUser.bob.map((x) => x.name), made.bob);
  const one = byUser.alice.find((x) => x.name === made.alice[0]);
  assert.equal(one.kind, 'cachedContent');
  assert.equal(one.model, MODEL);
  assert.match(one.key.masked, /^AIza…-t0\d$/);
  assert.ok(!JSON.stringify(r.body).includes('AIzaFake-ok-t0'), 'no secret');
  const f = await gw.admin(`/admin/resources?user=${B.user_id}&kind=cachedContent`);
  assert.deepEqual(f.body.users.map((u) => u.user_id), [B.user_id]);
  assert.equal(f.body.count, 1);
  const k = await gw.admin(`/admin/resources?key=${one.key.id}`);
  assert.ok(k.body.users.flatMap((u) => u.resources).every((x) => x.key.id === one.key.id));
  const p = await gw.admin('/admin/resources?limit=4');
  assert.equal(p.body.count, 4);
  const p2 = await gw.admin(`/admin/resources?limit=4&cursor=${encodeURIComponent(p.body.next_cursor)}`);
  assert.equal(p2.body.count, 3);
  assert.equal(p2.body.next_cursor, undefined);
  assert.equal((await gw.admin('/admin/resources?kind=nope')).status, 400);
  assert.equal((await gw.admin('/admin/resources?key=99')).status, 404);
  assert.equal((await fetch(`${gw.url}/admin/resources`)).status, 401);
});

test('a resource deleted by its owner, or gone upstream, leaves the lists', async () => {
  await alice.caches.delete({ name: made.alice[4] });
  // Gone upstream behind the gateway's back (expired, deleted elsewhere): found and forgotten.
  const res = (await (await fetch(`${fake.url}/_fake/resources`)).json()).resources;
  const key = res.find((x) => x.name === made.alice[3]).key;
  assert.equal((await fetch(`${fake.url}/v1beta/${made.alice[3]}`, { method: 'DELETE', headers: { 'x-goog-api-key': key } })).status, 200);
  assert.deepEqual(await all(await alice.caches.list()), made.alice.slice(0, 3).reverse());
  const adm = await gw.admin(`/admin/resources?user=${A.user_id}&kind=cachedContent`);
  assert.equal(adm.body.count, 3);
});

test('a call on a resource is checked against the model the resource was made with (allowed_models)', async () => {
  const mk = (await gw.admin('/admin/config/user-key', { method: 'POST',
    body: JSON.stringify({ name: 'carol', allowed_models: ['gemini-2.5-pro'] }) })).body;
  const carol = client(mk.key);
  const pro = await carol.caches.create({ model: 'gemini-2.5-pro',
    config: { contents: [{ role: 'user', parts: [{ text: 'pro context' }] }], ttl: '600s' } });
  assert.equal((await api(mk.key, 'GET', `/v1beta/${pro.name}`)).status, 200, 'her own cache, an allowed model');
  const patched = await gw.admin(`/admin/users/${mk.user_id}`, { method: 'PATCH',
    body: JSON.stringify({ allowed_models: ['gemini-2.5-flash'] }) });
  assert.equal(patched.status, 200);
  const seen = (await (await fetch(`${fake.url}/_fake/stats`)).json()).requests;
  const r = await api(mk.key, 'GET', `/v1beta/${pro.name}`);   // the path names no model: the cache's counts
  assert.equal(r.status, 403, JSON.stringify(r.json));
  assert.match(r.json.error.message, /gemini-2\.5-pro/);
  assert.equal((await (await fetch(`${fake.url}/_fake/stats`)).json()).requests, seen, 'refused here, never forwarded');
});
