// Users, access keys, limits, upstream keys and prices through the admin API, against a real
// SQLite file; the admin routes' guard and bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFake, startGateway, until, sleep, dbText, ACCESS, ADMIN, GEN } from './harness.mjs';

const UKEY = 'AIzaFake-ok-user0001';
let fake, gw, dir, db;

const admin = (p, method = 'GET', body, token = ADMIN) => gw.fetch(p, {
  method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
}).then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json().catch(() => null) }));

async function createUser(name, limits = {}) {
  const r = await admin('/admin/config/user-key', 'POST', { name, ...limits });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

const callAs = (key, p = GEN, headers = {}) => gw.fetch(p, {
  method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json', ...headers },
  body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
});

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gemgate-users-'));
  db = path.join(dir, 'gemgate.db');
  fake = await startFake();
  // The loopback peer is a trusted proxy, so tests can speak for other client addresses
  // (X-Forwarded-For): the admin guard counts failed logins per address.
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: UKEY, GEMGATE_DB: db, GEMGATE_TEST_HOOKS: '1',
                            GEMGATE_ENCRYPTION_KEY: 'an encryption passphrase for the tests',
                            GEMGATE_TRUSTED_PROXIES: '127.0.0.1' });
});
after(async () => { await gw.stop(); await fake.stop(); fs.rmSync(dir, { recursive: true, force: true }); });

test('a user key is shown once, stored hashed, listed by prefix, and authenticates calls', async () => {
  const u = await createUser('alice', { rpm: 100, daily_budget: '2.50', allowed_models: ['gemini-2.5-*'] });
  assert.match(u.key, /^gg-[A-Za-z0-9_-]{43}$/);
  assert.equal(u.user.limits.daily_budget, '2.5000');
  assert.deepEqual(u.user.limits.allowed_models, ['gemini-2.5-*']);
  const list = await admin('/admin/users');
  assert.equal(list.status, 200);
  const s = JSON.stringify(list.body);
  assert.ok(!s.includes(u.key), 'the key is never listed again');
  assert.ok(s.includes(u.key.slice(0, 11)), 'listed by its prefix');
  const one = await admin(`/admin/users/${u.user_id}`);
  assert.equal(one.body.keys[0].prefix, u.key.slice(0, 11));
  const file = dbText(db);
  assert.ok(!file.includes(u.key.slice(11)), 'not stored in the clear');
  for (const how of [{ 'x-goog-api-key': u.key }, { authorization: `Bearer ${u.key}` }]) {
    const r = await gw.fetch(GEN, { method: 'POST', headers: how, body: '{}' });
    assert.equal(r.status, 200);
  }
  assert.equal((await gw.fetch(`${GEN}?key=${u.key}`, { method: 'POST', body: '{}' })).status, 200);
  assert.equal((await fake.last()).headers['x-goog-api-key'], UKEY, 'the upstream sees a pooled key, not the user key');
});

test('disable, enable, a second key, revoke', async () => {
  const u = await createUser('bob');
  const k2 = await admin(`/admin/users/${u.user_id}/keys`, 'POST', { key_name: 'laptop' });
  assert.equal(k2.status, 201);
  assert.notEqual(k2.body.key, u.key);
  assert.equal((await callAs(k2.body.key)).status, 200);
  assert.equal((await admin(`/admin/users/${u.user_id}/disable`, 'POST')).body.disabled, true);
  assert.equal((await callAs(u.key)).status, 401);
  assert.equal((await callAs(k2.body.key)).status, 401);
  assert.equal((await admin(`/admin/users/${u.user_id}/enable`, 'POST')).body.disabled, false);
  assert.equal((await callAs(u.key)).status, 200);
  const rv = await admin(`/admin/users/${u.user_id}/keys/${k2.body.key_id}`, 'DELETE');
  assert.equal(rv.status, 200);
  assert.equal(rv.body.keys.find((k) => k.id === k2.body.key_id).revoked, true);
  assert.equal((await callAs(k2.body.key)).status, 401);
  assert.equal((await callAs(u.key)).status, 200, 'the other key still works');
  assert.equal((await admin(`/admin/users/${u.user_id}/keys/${k2.body.key_id}/revoke`, 'POST')).status, 200, 'revoking twice is fine');
  assert.equal((await admin(`/admin/users/${u.user_id}/keys/999999`, 'DELETE')).status, 404);
  assert.equal((await callAs(ACCESS)).status, 200, 'static keys keep working');
});

test('limits change through PATCH and survive a restart', async () => {
  const u = await createUser('carol', { rpd: 10 });
  const p = await admin(`/admin/users/${u.user_id}`, 'PATCH', { rpm: 5, tpm: 1000, monthly_budget: 12.5, name: 'Carol' });
  assert.equal(p.status, 200);
  assert.deepEqual({ ...p.body.limits, allowed_models: undefined },
    { rpm: 5, tpm: 1000, rpd: 10, daily_budget: '0.0000', monthly_budget: '12.5000', allowed_models: undefined });
  assert.equal(p.body.name, 'Carol');
  assert.equal((await admin(`/admin/users/${u.user_id}`, 'POST', { allowed_models: ['gemini-2.0-flash'] })).status, 200);
  await gw.stop();
  // The loopback peer is a trusted proxy, so tests can speak for other client addresses
  // (X-Forwarded-For): the admin guard counts failed logins per address.
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: UKEY, GEMGATE_DB: db, GEMGATE_TEST_HOOKS: '1',
                            GEMGATE_ENCRYPTION_KEY: 'an encryption passphrase for the tests',
                            GEMGATE_TRUSTED_PROXIES: '127.0.0.1' });
  const again = await admin(`/admin/users/${u.user_id}`);
  assert.equal(again.body.limits.rpm, 5);
  assert.deepEqual(again.body.limits.allowed_models, ['gemini-2.0-flash']);
  assert.equal((await callAs(u.key, '/v1beta/models/gemini-2.0-flash:generateContent')).status, 200, 'keys survive a restart');
});

test('over a limit: 429 with Retry-After in the caller\'s shape; a model not allowed: 403', async () => {
  const u = await createUser('dave', { rpm: 2, allowed_models: ['gemini-2.5-flash'] });
  assert.equal((await callAs(u.key)).status, 200);
  assert.equal((await callAs(u.key)).status, 200);
  const r = await callAs(u.key);
  assert.equal(r.status, 429);
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
  const e = await r.json();
  assert.equal(e.error.status, 'RESOURCE_EXHAUSTED');
  assert.match(e.error.message, /2 requests per minute/);
  const oai = await gw.fetch('/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${u.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] }) });
  assert.equal(oai.status, 429);
  assert.ok((await oai.json()).error.message, 'OpenAI error shape');
  const denied = await callAs(u.key, '/v1beta/models/gemini-2.5-pro:generateContent');
  assert.equal(denied.status, 403);
  const rows = await until(async () => { const b = (await admin(`/admin/usage?user=${u.user_id}`)).body.rows; return b.length === 5 && b; }, 3000);
  assert.ok(rows, 'refused calls are recorded too');
  assert.equal(rows.filter((x) => x.refused).length, 3);
  assert.ok(rows.filter((x) => x.refused).every((x) => x.status === 'failed'));
});

test('daily request limit (seed 000) refuses the call after N', async () => {
  const u = await createUser('erin', { rpd: 3 });
  for (let i = 0; i < 3; i++) assert.equal((await callAs(u.key)).status, 200);
  const r = await callAs(u.key);
  assert.equal(r.status, 429);
  assert.match((await r.json()).error.message, /daily request limit/);
});

test('upstream keys: added once (409 again), masked, in the pool, disabled, removed; encrypted at rest', async () => {
  const secret = 'AIzaFake-ok-dbkey4242';
  const add = await admin('/admin/config/gemini-key', 'POST', { key: secret });
  assert.equal(add.status, 201);
  assert.equal(add.body.key, 'AIza…4242');
  assert.equal((await admin('/admin/config/gemini-key', 'POST', { key: secret })).status, 409);
  const list = await admin('/admin/config/gemini-keys');
  assert.ok(!JSON.stringify(list.body).includes(secret));
  assert.equal(list.body.encrypted_at_rest, true);
  assert.ok(await until(async () => (await gw.keys()).some((k) => k.key === 'AIza…4242')), 'merged into the pool');
  await fake.reset();
  for (let i = 0; i < 4; i++) await callAs(ACCESS);
  assert.equal((await fake.stats()).by_key[secret], 2, 'round robin over env key and stored key');
  const raw = dbText(db);
  assert.ok(!raw.includes(secret), 'the secret is not in the database file in the clear');
  assert.equal((await admin(`/admin/config/gemini-keys/${add.body.id}/disable`, 'POST')).body.enabled, false);
  assert.ok(!(await gw.keys()).some((k) => k.key === 'AIza…4242'), 'a disabled key leaves the pool');
  assert.equal((await admin(`/admin/config/gemini-keys/${add.body.id}/enable`, 'POST')).status, 200);
  const rc = await admin(`/admin/config/gemini-keys/${add.body.id}/recheck`, 'POST');
  assert.equal(rc.status, 200);
  assert.equal(rc.body.ok, true);
  assert.equal((await admin(`/admin/config/gemini-keys/${add.body.id}`, 'DELETE')).status, 200);
  assert.equal((await admin(`/admin/config/gemini-keys/${add.body.id}`, 'DELETE')).status, 404);
  assert.ok(!(await gw.keys()).some((k) => k.key === 'AIza…4242'));
  assert.equal((await admin('/admin/config/gemini-keys/abc/enable', 'POST')).status, 404);
  assert.equal((await admin('/admin/config/gemini-keys/1/explode', 'POST')).status, 404);
  assert.equal((await admin('/admin/config/gemini-keys/1', 'GET')).status, 405);
});

test('a stored upstream key survives a restart', async () => {
  const secret = 'AIzaFake-ok-persist77';
  assert.equal((await admin('/admin/config/gemini-key', 'POST', { key: secret })).status, 201);
  await gw.stop();
  // The loopback peer is a trusted proxy, so tests can speak for other client addresses
  // (X-Forwarded-For): the admin guard counts failed logins per address.
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: UKEY, GEMGATE_DB: db, GEMGATE_TEST_HOOKS: '1',
                            GEMGATE_ENCRYPTION_KEY: 'an encryption passphrase for the tests',
                            GEMGATE_TRUSTED_PROXIES: '127.0.0.1' });
  assert.ok((await gw.keys()).some((k) => k.key === 'AIza…st77'));
});

test('prices: defaults listed, edited by the admin, bad amounts refused', async () => {
  const l = await admin('/admin/prices');
  const flash = l.body.prices.find((p) => p.model === 'gemini-2.5-flash');
  assert.deepEqual({ input: flash.input, output: flash.output }, { input: '0.300000', output: '2.500000' });
  for (const m of ['gemini-2.5-pro', 'gemini-2.5-flash-lite', 'gemini-2.0-flash', 'gemini-embedding-001', 'imagen-4.0-generate-001'])
    assert.ok(l.body.prices.some((p) => p.model === m), m);
  const put = await admin('/admin/prices/my-model-1', 'PUT', { input: '1.5', output: 2 });
  assert.equal(put.status, 200);
  // issue 9: thinking is billed as output (no thinking price); a new model's cached price starts at its input price
  assert.deepEqual([put.body.input, put.body.output, put.body.cached, put.body.thinking], ['1.500000', '2.000000', '1.500000', undefined]);
  const post = await admin('/admin/prices/my-model-1', 'POST', { cached: '0.25' });
  assert.deepEqual([post.body.input, post.body.cached], ['1.500000', '0.250000']);
  for (const bad of [{ input: -1 }, { input: 'abc' }, { input: '0.0000001' }, { input: true }, { bogus: 1 }, { thinking: '0.25' }, {},
                     '[1]', 'not json'])
    assert.equal((await admin('/admin/prices/my-model-1', 'PUT', bad)).status, 400, JSON.stringify(bad));
  assert.equal((await admin("/admin/prices/x'%3B%20DROP%20TABLE%20prices", 'PUT', { input: 1 })).status, 400);
  assert.equal((await admin('/admin/prices')).body.prices.find((p) => p.model === 'my-model-1').input, '1.500000', 'unchanged by refusals');
});

const ADMIN_ROUTES = [
  ['POST', '/admin/config/user-key'], ['GET', '/admin/users'], ['GET', '/admin/users/1'], ['PATCH', '/admin/users/1'],
  ['POST', '/admin/users/1/disable'], ['POST', '/admin/users/1/enable'], ['POST', '/admin/users/1/keys'],
  ['DELETE', '/admin/users/1/keys/1'], ['GET', '/admin/users/1/usage-stats'], ['POST', '/admin/config/gemini-key'],
  ['GET', '/admin/config/gemini-keys'], ['DELETE', '/admin/config/gemini-keys/1'], ['POST', '/admin/config/gemini-keys/1/disable'],
  ['POST', '/admin/config/gemini-keys/1/recheck'], ['GET', '/admin/prices'], ['PUT', '/admin/prices/gemini-2.5-flash'],
  ['GET', '/admin/stats'], ['GET', '/admin/usage'], ['GET', '/admin/usage/export'], ['POST', '/admin/maintenance/cleanup'],
  ['POST', '/admin/maintenance/backup'], ['POST', '/admin/test/ledger'],
];

test('a non-admin gets 401/403 on every admin route, and nothing changes', async () => {
  const u = await createUser('mallory');
  const before = JSON.stringify((await admin('/admin/users')).body.users.map((x) => [x.id, x.limits, x.disabled, x.keys.length]));
  let n = 0;
  for (const [method, p] of ADMIN_ROUTES) {
    const none = await gw.fetch(p, { method, body: method === 'GET' ? undefined : '{"name":"x","days":1}' });
    assert.equal(none.status, 401, `${method} ${p} without a token`);
    assert.equal((await none.json()).error.code, 401);
    for (const tok of [u.key, ACCESS, 'wrong']) {
      // Each wrong try from an address of its own: the guard (below) is per address.
      const r = await gw.fetch(p, { method, body: method === 'GET' ? undefined : '{"name":"x","days":1}',
        headers: { authorization: `Bearer ${tok}`, 'x-forwarded-for': `198.51.100.${++n % 250}` } });
      assert.equal(r.status, 403, `${method} ${p} with a client key`);
    }
  }
  const after = JSON.stringify((await admin('/admin/users')).body.users.map((x) => [x.id, x.limits, x.disabled, x.keys.length]));
  assert.equal(after, before);
});

test('bad input to every user route: a clear 400/404, and nothing changes', async () => {
  const u = await createUser('frank', { rpm: 7 });
  const snapshot = async () => JSON.stringify((await admin('/admin/users')).body.users.map((x) => [x.id, x.name, x.limits, x.disabled, x.keys.length]));
  const before = await snapshot();
  const bad = [
    ['POST', '/admin/config/user-key', 'not json'],
    ['POST', '/admin/config/user-key', '[]'],
    ['POST', '/admin/config/user-key', {}],
    ['POST', '/admin/config/user-key', { name: '' }],
    ['POST', '/admin/config/user-key', { name: 'x'.repeat(100) }],
    ['POST', '/admin/config/user-key', { name: 'a\u0001b' }],
    ['POST', '/admin/config/user-key', { name: 42 }],
    ['POST', '/admin/config/user-key', { name: 'n', rpm: -1 }],
    ['POST', '/admin/config/user-key', { name: 'n', rpm: 1.5 }],
    ['POST', '/admin/config/user-key', { name: 'n', rpm: '10' }],
    ['POST', '/admin/config/user-key', { name: 'n', tpm: 1e20 }],
    ['POST', '/admin/config/user-key', { name: 'n', daily_budget: -3 }],
    ['POST', '/admin/config/user-key', { name: 'n', daily_budget: '1.23456' }],
    ['POST', '/admin/config/user-key', { name: 'n', monthly_budget: '1e3' }],
    ['POST', '/admin/config/user-key', { name: 'n', allowed_models: 'gemini-2.5-flash' }],
    ['POST', '/admin/config/user-key', { name: 'n', allowed_models: ["x' OR 1=1 --"] }],
    ['POST', '/admin/config/user-key', { name: 'n', admin: true }],
    ['POST', '/admin/config/user-key', { user_id: 'abc' }],
    ['POST', '/admin/config/user-key', { user_id: u.user_id, rpm: 5 }],
    ['PATCH', `/admin/users/${u.user_id}`, { rpm: -5 }],
    ['PATCH', `/admin/users/${u.user_id}`, {}],
    ['PATCH', `/admin/users/${u.user_id}`, 'nope'],
    ['PATCH', `/admin/users/${u.user_id}`, { name: '' }],
    ['POST', `/admin/users/${u.user_id}/keys`, { key_name: 7 }],
  ];
  for (const [m, p, b] of bad) {
    const r = await admin(p, m, b);
    assert.equal(r.status, 400, `${m} ${p} ${JSON.stringify(b)} → ${r.status}`);
    assert.equal(r.body.error.status, 'INVALID_ARGUMENT');
    assert.ok(r.body.error.message.length > 10, 'a clear message');
  }
  const notfound = [
    ['POST', '/admin/config/user-key', { user_id: 987654 }], ['GET', '/admin/users/987654'], ['PATCH', '/admin/users/987654', { rpm: 1 }],
    ['POST', '/admin/users/987654/disable'], ['GET', '/admin/users/abc'], ['GET', '/admin/users/1;DROP'],
    ['GET', `/admin/users/${u.user_id}/nothing`], ['DELETE', `/admin/users/${u.user_id}/keys/x`],
  ];
  for (const [m, p, b] of notfound) assert.equal((await admin(p, m, b)).status, 404, `${m} ${p}`);
  assert.equal((await admin(`/admin/users/${u.user_id}/disable`, 'GET')).status, 405);
  assert.equal(await snapshot(), before, 'nothing changed');
});

test('admin token guessing: ten wrong tokens from one address in a minute, then 429 for it (the right token too); others unaffected', async () => {
  const from = (ip, tok) => gw.fetch('/admin/users', { headers: { authorization: `Bearer ${tok}`, 'x-forwarded-for': ip } });
  for (let i = 0; i < 10; i++) assert.equal((await from('203.0.113.77', `guess-${i}`)).status, 403);
  const locked = await from('203.0.113.77', 'guess-10');
  assert.equal(locked.status, 429);
  assert.ok(Number(locked.headers.get('retry-after')) > 0 && Number(locked.headers.get('retry-after')) <= 60);
  assert.equal((await from('203.0.113.77', ADMIN)).status, 429, 'no more tries, not even the right one, until the minute is over');
  assert.equal((await from('203.0.113.78', ADMIN)).status, 200, 'another address is not held');
  assert.equal((await admin('/admin/users')).status, 200, 'nor the admin on loopback');
  // The sign-in route counts the same.
  const signin = await gw.fetch('/admin/session', { method: 'POST', headers: { 'x-forwarded-for': '203.0.113.77' },
    body: JSON.stringify({ token: ADMIN }) });
  assert.equal(signin.status, 429);
});
