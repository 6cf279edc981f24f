// Logs: request ids on every answer and in the ledger, JSON log files per stream, rotation and
// SIGUSR1, no secret in any line; /api/status/logs, the WebSocket and the SSE form.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFake, startGateway, until, sleep, raw, GEN, ACCESS, ADMIN } from './harness.mjs';

const KEY1 = 'AIzaSyLOGS-secret-one-1111';
let fake, gw, dir;

before(async () => {
  fake = await startFake();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gemgate-logs-'));
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: KEY1, GEMGATE_LOG_DIR: dir,
                            GEMGATE_LOG_FORMAT: 'json', GEMGATE_LOG_MAX_SIZE: '64k', GEMGATE_LOG_MAX_FILES: '2' });
});
after(async () => {
  await gw?.stop();
  await fake?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const lines = (name) => {
  try { return fs.readFileSync(path.join(dir, name), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)); }
  catch { return []; }
};

test('every answer carries an X-Request-Id; a client cannot choose it without a trusted proxy', async () => {
  const ok = await gw.call(GEN);
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('x-request-id'), /^[0-9a-f]{16}$/);
  const nf = await gw.fetch('/nope');
  assert.equal(nf.status, 404);
  assert.match(nf.headers.get('x-request-id'), /^[0-9a-f]{16}$/);
  assert.notEqual(nf.headers.get('x-request-id'), ok.headers.get('x-request-id'));
  const bad = await raw(gw.port, 'GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
  assert.match(bad, /^HTTP\/1\.1 400 /);
  assert.match(bad, /\r\nX-Request-Id: [0-9a-f]{16}\r\n/);
  const forged = await gw.call(GEN, undefined, { 'x-request-id': 'client-chosen-1' });
  assert.notEqual(forged.headers.get('x-request-id'), 'client-chosen-1');
});

test('a trusted proxy\'s X-Request-Id is kept, in the answer, the transaction log and the ledger row', async () => {
  const g2 = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: KEY1, GEMGATE_TRUSTED_PROXIES: '127.0.0.1',
                                  GEMGATE_LOG_FORMAT: 'text' });
  try {
    const r = await g2.call(GEN, undefined, { 'x-request-id': 'edge-42.a:b_c' });
    assert.equal(r.headers.get('x-request-id'), 'edge-42.a:b_c');
    const junk = await g2.call(GEN, undefined, { 'x-request-id': 'has spaces and <html>' });
    assert.match(junk.headers.get('x-request-id'), /^[0-9a-f]{16}$/, 'an id that is not a token is replaced');
    assert.ok(await until(() => g2.log.includes('rid=edge-42.a:b_c'), 2000), 'the text line carries rid=');
    const rows = await until(async () => {
      const u = await g2.admin('/admin/usage?limit=10');
      return u.body.rows?.find((x) => x.request_id === 'edge-42.a:b_c');
    }, 3000);
    assert.ok(rows, 'the ledger row has the request id');
  } finally { await g2.stop(); }
});

test('JSON lines in app.log and transaction.log; the call\'s line has its id, masked key, tokens', async () => {
  const r = await gw.call(GEN);
  const rid = r.headers.get('x-request-id');
  const tx = await until(() => lines('transaction.log').find((l) => l.request_id === rid), 2000);
  assert.ok(tx, 'the transaction line is written within 2 s');
  assert.equal(tx.stream, 'transaction');
  assert.equal(tx.level, 'info');
  assert.equal(tx.status, 200);
  assert.equal(tx.outcome, 'success');
  assert.equal(tx.user, 'static#1');
  assert.equal(tx.key, 'AIza…1111');
  assert.equal(tx.attempts, 1);
  assert.ok(tx.tokens_out > 0);
  assert.match(tx.route, /:generateContent$/);
  const app = lines('app.log');
  assert.ok(app.some((l) => /listening on/.test(l.msg)), 'start-up lines in app.log');
  assert.ok(!app.some((l) => l.stream === 'transaction'), 'streams kept apart');
  assert.ok(!fs.existsSync(path.join(dir, 'debug.log')), 'no debug.log at level info');
  for (const f of fs.readdirSync(dir)) {
    const s = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const secret of [KEY1, KEY1.slice(4, -4), ACCESS, ADMIN]) assert.ok(!s.includes(secret), `${f} leaks a secret`);
  }
});

test('files rotate by size and count; SIGUSR1 reopens them', async () => {
  for (let i = 0; i < 30; i++) await Promise.all(Array.from({ length: 20 }, () => gw.call(GEN)));
  assert.ok(await until(() => fs.existsSync(path.join(dir, 'transaction.log.1')), 3000), 'rotated once');
  assert.ok(!fs.existsSync(path.join(dir, 'transaction.log.3')), 'GEMGATE_LOG_MAX_FILES=2 kept');
  for (const f of ['transaction.log', 'transaction.log.1']) assert.ok(fs.statSync(path.join(dir, f)).size <= 64 * 1024);
  fs.renameSync(path.join(dir, 'app.log'), path.join(dir, 'app.old'));
  process.kill(gw.pid, 'SIGUSR1');
  assert.ok(await until(() => lines('app.log').some((l) => /log files reopened/.test(l.msg)), 2000),
    'a new app.log after SIGUSR1');
  assert.equal((await gw.fetch('/health')).status, 200);
});
