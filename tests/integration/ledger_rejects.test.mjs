// A ledger row the database refuses (issue 13): a trigger installed in the gateway's own
// database refuses every row of one model, as a bad value or a CHECK would.  Calls through
// Google's SDK keep being answered; the refused rows land in ledger_rejects, every other row of
// their batches and of later batches is written, and the metric, /admin/stats and
// /admin/usage/reconcile say how many were refused.  The log names them without a secret.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { GoogleGenAI } from '@google/genai';
import { startFake, startGateway, until, ON_PG, ACCESS, ADMIN } from './harness.mjs';

const KEY = 'AIzaFake-ok-rejects1';
let fake, gw, ai;
const sql = (q) => ON_PG
  ? execFileSync('psql', [gw.db, '-qAtXc', q]).toString().trim()
  : execFileSync('sqlite3', [gw.db, q]).toString().trim();

before(async () => {
  fake = await startFake();
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: KEY });
  ai = new GoogleGenAI({ apiKey: ACCESS, httpOptions: { baseUrl: gw.url, retryOptions: { attempts: 1 } } });
  sql(ON_PG
    ? "CREATE FUNCTION refuse_lite() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.model_name = 'gemini-2.5-flash-lite'"
      + " THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; RETURN NEW; END $$;"
      + ' CREATE TRIGGER refuse_lite BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION refuse_lite();'
    : "CREATE TRIGGER refuse_lite BEFORE INSERT ON ledger WHEN NEW.model_name = 'gemini-2.5-flash-lite'"
      + " BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END;");
});
after(async () => { await gw.stop(); await fake.stop(); });

test('a row the database refuses is quarantined; the rest of its batch and later batches are written', async () => {
  // 40 calls at once (one or two batches), 3 of them on the refused model.
  const calls = [];
  for (let i = 0; i < 40; i++) {
    const model = i % 13 === 5 ? 'gemini-2.5-flash-lite' : 'gemini-2.5-flash';
    calls.push(ai.models.generateContent({ model, contents: `call ${i}` }));
  }
  for (const r of await Promise.all(calls)) assert.match(r.text, /Hello from fake/);
  // A later batch, after the refusals.
  for (let i = 0; i < 5; i++) await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: `later ${i}` });

  const rec = await until(async () => {
    const r = await gw.admin('/admin/usage/reconcile');
    return r.body.flushed && r.body.ledger.written === 42 && r.body;
  }, 15000);
  assert.ok(rec, 'every row but the refused ones written');
  assert.equal(rec.ledger.rejected, 3);
  assert.equal(rec.ledger.dropped, 0);
  assert.equal(rec.rejects, 3, 'reconcile counts the window\'s quarantined rows');
  assert.equal(rec.rows, 42);
  assert.ok(!rec.mismatches.some((m) => !String(m.source).startsWith('memory')), 'rows and rollups agree');

  assert.equal(sql("SELECT COUNT(*) FROM ledger WHERE model_name = 'gemini-2.5-flash-lite'"), '0');
  assert.equal(sql("SELECT COUNT(*) FROM ledger WHERE model_name = 'gemini-2.5-flash'"), '42');
  assert.equal(sql("SELECT COUNT(*) FROM ledger_rejects WHERE error LIKE '%refused by the test trigger%'"
    + " AND fields LIKE '%\"model_name\":\"gemini-2.5-flash-lite\"%' AND rejected_at >= created_at"), '3');
  const fields = JSON.parse(sql('SELECT fields FROM ledger_rejects LIMIT 1'));
  assert.equal(fields.status, 'success');
  assert.equal(fields.http_status, 200);
  assert.ok(fields.input_tokens > 0);
  assert.match(fields.upstream_key, /…/, 'the key as masked in the ledger');

  const metrics = await (await gw.fetch('/metrics', { headers: { authorization: `Bearer ${ADMIN}` } })).text();
  assert.match(metrics, /^gemgate_ledger_rows_rejected_total 3$/m);
  assert.equal((gw.log.match(/ledger: row refused by the database, kept in ledger_rejects/g) || []).length, 3, 'one line per row');
  assert.ok(!gw.log.includes(KEY), 'no key secret in the log');
  assert.ok(!sql('SELECT fields FROM ledger_rejects').includes(KEY), 'no key secret in the quarantine');
});
