// PostgreSQL connection loss (runs when the suite runs on PostgreSQL: `make test-pg`): the
// database stops taking connections and drops the gateway's.  Meanwhile calls are still proxied
// at full speed, admin routes answer 503 with Retry-After, ledger rows wait in memory, and the
// log says so once; when the database is back the log says that once, admin routes work again
// and every queued row is written.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFake, startGateway, until, ON_PG, pgServer, pgName, ACCESS, ADMIN, GEN } from './harness.mjs';

let fake, gw, db;
const skip = !ON_PG && 'PostgreSQL only (make test-pg)';
const admin = async (p) => {
  const r = await gw.fetch(p, { headers: { authorization: `Bearer ${ADMIN}` } });
  return { status: r.status, retry: r.headers.get('retry-after'), body: await r.json() };
};
const count = (re) => (gw.log.match(re) || []).length;

before(async () => {
  if (skip) return;
  fake = await startFake();
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: 'AIzaFake-ok-pgloss1' });
  db = pgName(gw.db);
});
after(async () => {
  if (skip) return;
  pgServer(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
  await gw.stop();
  await fake.stop();
});

test('database gone: calls still served, admin 503 + Retry-After, rows kept; back: all rows written', { skip }, async () => {
  for (let i = 0; i < 3; i++) assert.equal((await gw.call(GEN)).status, 200);
  assert.ok(await until(async () => (await admin('/admin/usage?limit=100')).body.rows?.length === 3), 'rows before');

  pgServer(`ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
  pgServer(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}'`);
  const t0 = Date.now();
  for (let i = 0; i < 20; i++) assert.equal((await gw.call(GEN)).status, 200, 'proxied without the database');
  assert.ok(Date.now() - t0 < 2000, `20 calls took ${Date.now() - t0} ms: the loop never waits for the database`);
  const down = await until(async () => { const r = await admin('/admin/usage'); return r.status === 503 && r; });
  assert.ok(down, 'admin routes answer 503 while the database is gone');
  assert.equal(down.retry, '1');
  assert.match(down.body.error.message, /database is unreachable/);
  assert.equal((await admin('/admin/stats')).status, 503);
  assert.ok(await until(() => count(/store: lost the connection to the database/g) === 1), gw.log);
  assert.equal(count(/ledger: batch not written/g), 0, 'the loss is said once, by the store');
  assert.equal((await gw.call(GEN)).status, 200);

  pgServer(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
  const back = await until(async () => (await admin('/admin/usage?limit=100')).status === 200, 5000);
  assert.ok(back, 'admin routes work again once the database is back');
  assert.ok(await until(() => count(/store: the database is reachable again after/g) >= 1), gw.log);
  const rows = await until(async () => { const r = (await admin('/admin/usage?limit=100')).body.rows; return r?.length === 24 && r; }, 10000);
  assert.ok(rows, 'every row queued meanwhile is written');
  const st = (await admin('/admin/stats')).body;
  assert.equal(st.ledger.written, 24);
  assert.equal(st.ledger.dropped, 0);
  assert.equal(st.ledger.queued, 0);
  assert.equal(count(/store: lost the connection to the database/g), 1, 'one line for the loss');
  assert.ok(!/password|postgres:\/\/[^@\s]*:[^@\s]*@/.test(gw.log), 'no credentials in the log');
});
