// Two instances as one gateway (issue 11): A and B on one PostgreSQL database and one Redis,
// behind nothing but their two ports.  Runs in PostgreSQL mode (make test-pg); the Redis is the
// test's own redis-server on loopback (so it can be stopped mid-run), stopped by its PID.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { GoogleGenAI } from '@google/genai';
import { startFake, startGateway, pgQuery, until, GEN, ACCESS, ON_PG } from './harness.mjs';

const HAVE_REDIS = (() => { try { execFileSync('redis-server', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const skip = !ON_PG ? 'needs PostgreSQL (make test-pg)' : !HAVE_REDIS ? 'needs redis-server' : false;

const RL = 'AIzaFake-rl30-aaa1';        // 429, per-minute QuotaFailure, RetryInfo 30 s
const DAY = 'AIzaFake-rpd0-ccc3';       // 429, per-day QuotaFailure from the first call
const BAD = 'AIzaFake-invalid-eee5';    // API_KEY_INVALID
const OK = 'AIzaFake-ok-bbb2';
const FLASH20 = '/v1beta/models/gemini-2.0-flash:generateContent';

let fake, redis, A, B, redisPort, env;
let calls = 0;                           // generate calls made through A and B: one ledger row each
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gg-shared-'));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** redis-server in the foreground on 127.0.0.1:port (no persistence); resolves once it answers. */
async function startRedis(port) {
  const p = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no',
    '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  p.exited = new Promise((r) => p.once('exit', r));
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  const ready = await until(() => /Ready to accept connections/.test(out), 5000);
  if (!ready) { p.kill('SIGKILL'); throw new Error(`redis-server did not start: ${out}`); }
  return p;
}
async function stopRedis(p) {
  if (!p || p.exitCode !== null) return;
  process.kill(p.pid, 'SIGKILL');      // as a crash would: no goodbye to the clients
  await p.exited;
}

const call = async (gw, pathname = GEN) => { calls++; return gw.call(pathname); };
const keyOf = async (gw, suffix) => (await gw.keys()).find((k) => k.key.endsWith(suffix));
const byKey = async (k) => (await fake.stats()).by_key[k] || 0;
const health = async (gw) => (await gw.fetch('/health')).json();

before(async () => {
  if (skip) return;
  fake = await startFake();
  redisPort = await freePort();
  redis = await startRedis(redisPort);
  env = { GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: `${RL},${DAY},${BAD},${OK}`, GEMGATE_DB: 'shared-two',
    GEMGATE_REDIS: `redis://127.0.0.1:${redisPort}/0`, GEMGATE_RECHECK_INTERVAL: '1h' };
  A = await startGateway(env);
  B = await startGateway(env);
});

after(async () => {
  if (skip) return;
  await A?.stop();
  await B?.stop();
  await stopRedis(redis);
  await fake?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('both instances say Redis is up, in /health and /debug/info', { skip }, async () => {
  for (const gw of [A, B]) {
    assert.equal((await health(gw)).redis, 'up');
    const info = (await gw.admin('/debug/info')).body.redis;
    assert.equal(info.state, 'up');
    assert.equal(info.url, `redis://127.0.0.1:${redisPort}/0`);
  }
});

test('a per-minute and a per-day 429 and an invalid key seen by A are honoured by B within 1 s', { skip }, async () => {
  for (let i = 0; i < 8 && (await byKey(RL)) + (await byKey(DAY)) + (await byKey(BAD)) < 3; i++)
    assert.equal((await call(A)).status, 200, 'the client never sees the 429');
  assert.equal(await byKey(RL), 1);
  assert.equal(await byKey(DAY), 1);
  assert.equal(await byKey(BAD), 1);
  const t0 = Date.now();
  const seen = await until(async () => {
    const [rl, day, bad] = [await keyOf(B, 'aaa1'), await keyOf(B, 'ccc3'), await keyOf(B, 'eee5')];
    return rl.cooldown_reasons['gemini-2.5-flash'] === 'per_minute' && day.cooldown_reasons['gemini-2.5-flash'] === 'per_day'
      && bad.state === 'invalid';
  }, 1000, 20);
  assert.ok(seen, `B took A's marks within 1 s (${Date.now() - t0} ms)`);
  const day = await keyOf(B, 'ccc3');
  assert.ok(day.cooldowns['gemini-2.5-flash'] > 60, 'per day: until the daily reset, not seconds');
  const rl = await keyOf(B, 'aaa1');
  assert.ok(rl.cooldowns['gemini-2.5-flash'] > 20 && rl.cooldowns['gemini-2.5-flash'] <= 30, 'per minute: RetryInfo\'s 30 s');
  const okBefore = await byKey(OK);
  for (let i = 0; i < 6; i++) assert.equal((await call(B)).status, 200);
  assert.equal(await byKey(RL), 1, 'B never tried the cooling key');
  assert.equal(await byKey(DAY), 1, 'B never tried the key out for the day');
  assert.equal(await byKey(BAD), 1, 'B never tried the invalid key');
  assert.equal(await byKey(OK), okBefore + 6);
});

test('settings and key-list changes made through A reach B within 1 s', { skip }, async () => {
  let t0 = Date.now();
  const set = await A.admin('/admin/config/pool', { method: 'POST', body: JSON.stringify({ strategy: 'least_used', max_retries: 4 }) });
  assert.equal(set.status, 200);
  let ok = await until(async () => {
    const b = (await B.admin('/admin/config/pool')).body;
    return b.strategy === 'least_used' && b.max_retries === 4;
  }, 1000, 20);
  assert.ok(ok, `B has A's pool settings (${Date.now() - t0} ms)`);
  t0 = Date.now();
  const think = await A.admin('/admin/config/thinking', { method: 'POST', body: JSON.stringify({ enabled: true, budget: 1234, include_thoughts: false }) });
  assert.equal(think.status, 200);
  ok = await until(async () => (await B.admin('/admin/config/thinking')).body.budget === 1234, 1000, 20);
  assert.ok(ok, `B has A's thinking settings (${Date.now() - t0} ms)`);
  t0 = Date.now();
  const NEW = 'AIzaFake-ok-new9';
  const add = await A.admin('/admin/config/gemini-key', { method: 'POST', body: JSON.stringify({ key: NEW }) });
  assert.equal(add.status, 201);
  ok = await until(async () => (await B.keys()).some((k) => k.key.endsWith('new9')), 1000, 20);
  assert.ok(ok, `B's pool has the key added through A (${Date.now() - t0} ms)`);
  const keysB = JSON.stringify(await B.keys());
  assert.ok(!keysB.includes(NEW), 'the secret is masked');
  // Back to what the other tests expect (round robin over the keys).
  const del = await A.admin(`/admin/config/gemini-keys/${add.body.id}`, { method: 'DELETE' });
  assert.equal(del.status, 200);
  ok = await until(async () => !(await B.keys()).some((k) => k.key.endsWith('new9')), 1000, 20);
  assert.ok(ok, 'the removal reaches B too');
});

test('a user made through A is known to B within 1 s, and with rpm: 10 gets exactly 10 of 30 requests spread over A and B', { skip }, async () => {
  const made = await A.admin('/admin/config/user-key', { method: 'POST', body: JSON.stringify({ name: 'shared-rpm', rpm: 10 }) });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const t0 = Date.now();
  const known = await until(async () => JSON.stringify((await B.admin('/admin/users')).body).includes('shared-rpm'), 1000, 20);
  assert.ok(known, `B knows the user (${Date.now() - t0} ms)`);
  const as = (gw) => { calls++; return gw.fetch(GEN, { method: 'POST', headers: { 'x-goog-api-key': made.body.key, 'content-type': 'application/json' },
    body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }) }); };
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => as(i % 2 ? A : B)));
  const codes = answers.map((r) => r.status);
  assert.equal(codes.filter((c) => c === 200).length, 10, `exactly 10 through: ${codes.join(',')}`);
  assert.equal(codes.filter((c) => c === 429).length, 20);
  const refused = answers.find((r) => r.status === 429);
  assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After on the refusal');
  const body = await refused.json();
  assert.equal(body.error.status, 'RESOURCE_EXHAUSTED', 'in Google\'s shape');
  // Revoking the key through B reaches A too (the probe is a 401 at the door: no ledger row).
  const rv = await B.admin(`/admin/users/${made.body.user_id}/keys/${made.body.key_id}`, { method: 'DELETE' });
  assert.equal(rv.status, 200, JSON.stringify(rv.body));
  const probe = () => A.fetch(GEN, { method: 'POST', headers: { 'x-goog-api-key': made.body.key, 'content-type': 'application/json' },
    body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }) });
  const seen = await until(async () => (await A.admin(`/admin/users/${made.body.user_id}`)).body.keys
    ?.find((k) => k.id === made.body.key_id)?.revoked === true, 1000, 20);
  assert.ok(seen, 'A has the revocation B made within 1 s');
  assert.equal((await probe()).status, 401, 'A refuses the key B revoked');
});

test('files uploaded through A (files.upload) are used through B on the key that owns each', { skip }, async () => {
  // A pair of its own, on keys that all answer, so uploads spread over them (round robin).
  const KEYS = ['AIzaFake-ok-f01', 'AIzaFake-ok-f02', 'AIzaFake-ok-f03'];
  const fenv = { ...env, GEMGATE_KEYS: KEYS.join(','), GEMGATE_DB: 'shared-files', GEMGATE_REDIS: `redis://127.0.0.1:${redisPort}/1` };
  const A2 = await startGateway(fenv), B2 = await startGateway(fenv);
  try {
    const viaA = new GoogleGenAI({ apiKey: ACCESS, httpOptions: { baseUrl: A2.url } });
    const viaB = new GoogleGenAI({ apiKey: ACCESS, httpOptions: { baseUrl: B2.url } });
    const files = [];
    for (let i = 0; i < 3; i++)
      files.push(await viaA.files.upload({ file: new Blob([Buffer.from(`notes ${i}`)], { type: 'text/plain' }), config: { displayName: `n${i}` } }));
    const owners = (await (await fetch(`${fake.url}/_fake/resources`)).json()).resources;
    const ownerOf = (f) => owners.find((x) => x.name === f.name).key;
    assert.equal(new Set(files.map(ownerOf)).size, 3, 'the uploads landed on three keys');
    const known = await until(async () => {  // B learns of them over Redis
      const r = await B2.admin('/admin/resources');
      return r.status === 200 && files.every((f) => JSON.stringify(r.body).includes(f.name));
    }, 1000, 20);
    assert.ok(known, 'B lists the files A recorded within 1 s');
    const seen = await fake.stats();
    for (const f of files) {
      const r = await viaB.models.generateContent({ model: 'gemini-2.5-flash', contents: [{ role: 'user', parts: [
        { fileData: { fileUri: f.uri, mimeType: 'text/plain' } }, { text: 'summarise' }] }] });
      assert.match(r.text, /Hello from fake/);
      assert.equal((await viaB.files.get({ name: f.name })).name, f.name, 'read through B too');
    }
    const now = await fake.stats();
    assert.equal(now.requests - seen.requests, 6, 'no attempt was refused and retried on another key');
    for (const k of KEYS) assert.equal((now.by_key[k] || 0) - (seen.by_key[k] || 0), 2, `each use went to the owning key (${k})`);
  } finally { await A2.stop(); await B2.stop(); }
});

test('a batch billed through A is not billed again when B sees it finished', { skip }, async () => {
  const benv = { ...env, GEMGATE_KEYS: OK, GEMGATE_DB: 'shared-batch', GEMGATE_REDIS: `redis://127.0.0.1:${redisPort}/3` };
  const A3 = await startGateway(benv), B3 = await startGateway(benv);
  try {
    const ai = (gw) => new GoogleGenAI({ apiKey: ACCESS, httpOptions: { baseUrl: gw.url, retryOptions: { attempts: 1 } } });
    const b = await ai(A3).batches.create({ model: 'gemini-2.5-flash', src: [{ contents: [{ role: 'user', parts: [{ text: 'one' }] }] }] });
    await ai(A3).batches.get({ name: b.name });                                          // running
    assert.equal((await ai(A3).batches.get({ name: b.name })).state, 'JOB_STATE_SUCCEEDED');   // billed by A
    const billed = () => Number(pgQuery('shared-batch', "SELECT count(*) FROM ledger WHERE endpoint = 'batch' AND input_tokens > 0").trim());
    assert.ok(await until(() => billed() === 1, 5000, 50), 'A billed the batch');
    await new Promise((r) => setTimeout(r, 300));                                          // A's billed mark reaches B over Redis
    assert.equal((await ai(B3).batches.get({ name: b.name })).state, 'JOB_STATE_SUCCEEDED');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(billed(), 1, 'B knows A billed it: one bill for the batch');
  } finally { await A3.stop(); await B3.stop(); }
});

test('Redis stopped mid-run: both keep serving on local state, and recover and reconcile when it is back', { skip }, async () => {
  await stopRedis(redis);
  const down = await until(async () => (await health(A)).redis === 'down' && (await health(B)).redis === 'down', 4000);
  assert.ok(down, 'both say redis: down');
  for (const gw of [A, B]) for (let i = 0; i < 3; i++) assert.equal((await call(gw)).status, 200, 'still serving');
  // A mark taken while apart: A cools RL for another model, locally only.
  for (let i = 0; i < 6 && !(await keyOf(A, 'aaa1')).cooldowns['gemini-2.0-flash']; i++)
    assert.equal((await call(A, FLASH20)).status, 200);
  assert.ok((await keyOf(A, 'aaa1')).cooldowns['gemini-2.0-flash'] > 0);
  assert.equal((await keyOf(B, 'aaa1')).cooldowns['gemini-2.0-flash'], undefined, 'B cannot know yet');
  redis = await startRedis(redisPort);          // empty: nothing persisted
  const up = await until(async () => (await health(A)).redis === 'up' && (await health(B)).redis === 'up', 8000);
  assert.ok(up, 'both reconnect (bounded backoff)');
  const pushed = await until(async () => (await keyOf(B, 'aaa1')).cooldowns['gemini-2.0-flash'] > 0, 2000);
  assert.ok(pushed, 'A pushed its local mark on reconnection; B took it');
  assert.ok((await A.admin('/debug/info')).body.redis.reconnects >= 1);
  for (const gw of [A, B]) {              // the log is written by a thread of its own: a moment later
    await until(() => /redis: up again/.test(gw.log), 1000);
    assert.equal((gw.log.match(/redis: down/g) || []).length, 1, 'one line for the loss');
    assert.equal((gw.log.match(/redis: up again/g) || []).length, 1, 'one line for the recovery');
  }
});

test('both instances write one ledger whose row count equals the calls', { skip }, async () => {
  const t0 = Date.now();
  let n = -1;
  const ok = await until(() => { n = Number(pgQuery('shared-two', 'SELECT count(*) FROM ledger').trim()); return n === calls; }, 5000, 100);
  assert.ok(ok, `ledger rows ${n}, calls ${calls} (${Date.now() - t0} ms)`);
});
