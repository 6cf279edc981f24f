// The usage ledger and its statistics, against a real SQLite file: seed 000's usage-stats answer
// field by field, user isolation, admin statistics, the filtered ledger, CSV exports, cleanup and
// backup.  Rows for the statistics come through the test hook (GEMGATE_TEST_HOOKS=1), which calls
// ledger_record like the request path does; the last tests check that real calls of every kind
// leave exactly one row each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFake, startGateway, until, sleep, ON_PG, ACCESS, ADMIN, GEN, SSE, ARR } from './harness.mjs';

const KEY = 'AIzaFake-ok-ledg0001';
const DAY = 86400000;
let fake, gw, dir, db, A, B;

const admin = (p, method = 'GET', body) => gw.fetch(p, {
  method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
  body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
}).then(async (r) => ({ status: r.status, headers: r.headers, text: await r.text() }))
  .then((r) => { try { r.body = JSON.parse(r.text); } catch { r.body = null; } return r; });

const asUser = (key, p) => gw.fetch(p, { headers: { authorization: `Bearer ${key}` } });
const stats = async (key, q = '') => { const r = await asUser(key, `/api/gemini/usage-stats${q}`); return { status: r.status, body: await r.json() }; };

async function record(rows) {
  const r = await admin('/admin/test/ledger', 'POST', { rows, flush: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.flushed, true);
}

async function startGw() {
  return startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: KEY, GEMGATE_DB: db, GEMGATE_TEST_HOOKS: '1' });
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gemgate-ledger-'));
  db = path.join(dir, 'gemgate.db');
  fake = await startFake();
  gw = await startGw();
  A = (await admin('/admin/config/user-key', 'POST', { name: 'A' })).body;
  B = (await admin('/admin/config/user-key', 'POST', { name: 'B' })).body;
  const now = Date.now();
  const rows = [];
  // A: 3 ip_image (one failed), 12 content_image, spread over the last minutes; 2 rows 8 days ago.
  for (let i = 0; i < 15; i++) {
    const ip = i < 3;
    rows.push({ user_id: A.user_id, access_key_id: A.key_id, model: ip ? 'gemini-2.5-flash-image' : 'gemini-2.5-flash',
      gen_type: ip ? 'ip_image' : 'content_image', endpoint: 'generate', success: i !== 1, http_status: i === 1 ? 500 : 200,
      error: i === 1 ? 'upstream said no' : '', prompt: ip ? `专业的商务风格 ${i}` : `春天的花园，阳光明媚 ${i}`,
      in_tokens: 100, out_tokens: 10, created_ms: now - (15 - i) * 1000 });
  }
  rows.push({ user_id: A.user_id, model: 'gemini-2.5-pro', gen_type: 'ip_image', success: true, http_status: 200, prompt: 'old one', created_ms: now - 8 * DAY });
  rows.push({ user_id: A.user_id, model: 'gemini-2.5-pro', gen_type: 'chat', success: true, http_status: 200, prompt: 'old two', created_ms: now - 8 * DAY + 1 });
  for (let i = 0; i < 5; i++)
    rows.push({ user_id: B.user_id, access_key_id: B.key_id, model: 'gemini-2.5-pro', gen_type: 'secret_b_type', success: true,
      http_status: 200, prompt: `B private prompt ${i}`, in_tokens: 1000, out_tokens: 100, created_ms: now - 5000 + i });
  rows.push({ user_id: 0, model: 'gemini-2.0-flash', gen_type: 'generate', success: true, http_status: 200, prompt: 'static caller', created_ms: now - 100 });
  await record(rows);
});
after(async () => { await gw.stop(); await fake.stop(); fs.rmSync(dir, { recursive: true, force: true }); });

test('usage-stats answers in exactly seed 000\'s shape', async () => {
  const { status, body } = await stats(A.key);
  assert.equal(status, 200);
  assert.deepEqual(Object.keys(body), ['status', 'data']);
  assert.equal(body.status, 'success');
  const d = body.data;
  assert.deepEqual(Object.keys(d).sort(), ['by_type', 'failed_count', 'period', 'recent_usage', 'success_count', 'success_rate', 'total_count']);
  assert.equal(d.period, 'all');
  assert.equal(d.total_count, 17);
  assert.equal(d.success_count, 16);
  assert.equal(d.failed_count, 1);
  assert.equal(d.success_rate, 94.12);                      // 16/17, percent, 2 decimals
  assert.deepEqual(d.by_type, { ip_image_count: 4, content_image_count: 12, chat_count: 1 });
  assert.equal(d.recent_usage.length, 10);
  for (const u of d.recent_usage) {
    assert.deepEqual(Object.keys(u).sort(), ['created_at', 'error_message', 'generation_type', 'id', 'prompt', 'success']);
    assert.equal(typeof u.id, 'number');
    assert.equal(typeof u.success, 'boolean');
    assert.equal(typeof u.error_message, 'string');
    assert.match(u.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  }
  const ids = d.recent_usage.map((u) => u.id);
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
  assert.equal(d.recent_usage[0].prompt, '春天的花园，阳光明媚 14');
  const failed = (await stats(A.key, '?type=ip_image')).body.data;
  assert.deepEqual([failed.total_count, failed.success_count, failed.failed_count, failed.success_rate], [4, 3, 1, 75]);
  assert.deepEqual(failed.by_type, { ip_image_count: 4, content_image_count: 0, chat_count: 0 });
  const f = failed.recent_usage.find((u) => !u.success);
  assert.equal(f.error_message, 'upstream said no');
});

test('periods and filters: today, week, month, all; type; model', async () => {
  const today = (await stats(A.key, '?period=today')).body.data;
  assert.equal(today.period, 'today');
  assert.equal(today.total_count, 15);
  assert.equal((await stats(A.key, '?period=week')).body.data.total_count, 15);
  assert.equal((await stats(A.key, '?period=month')).body.data.total_count, 17);
  assert.equal((await stats(A.key, '?period=all&type=all')).body.data.total_count, 17);
  const m = (await stats(A.key, '?model=gemini-2.5-pro')).body.data;
  assert.equal(m.total_count, 2);
  assert.deepEqual(m.recent_usage.map((u) => u.prompt), ['old two', 'old one']);
  const none = (await stats(A.key, '?type=nothing_here')).body.data;
  assert.deepEqual([none.total_count, none.success_rate, none.recent_usage.length], [0, 0, 0]);
});

test('user A never sees user B\'s data, through any route', async () => {
  const a = JSON.stringify((await stats(A.key)).body);
  assert.ok(!a.includes('B private') && !a.includes('secret_b_type'));
  const b = (await stats(B.key)).body.data;
  assert.equal(b.total_count, 5);
  assert.deepEqual(b.by_type, { secret_b_type_count: 5 });
  assert.ok(!JSON.stringify(b).includes('春天'));
  const csvA = await (await asUser(A.key, '/api/usage/export?format=csv')).text();
  assert.ok(!csvA.includes('B private'));
  assert.equal(csvA.trim().split('\r\n').length, 1 + 17);
  const csvB = await (await asUser(B.key, '/api/usage/export')).text();
  assert.equal(csvB.trim().split('\r\n').length, 1 + 5);
  assert.ok(!csvB.includes('春天'));
  const st = (await stats(ACCESS)).body.data;                // static keys: the "static" user 0
  assert.equal(st.total_count, 1);
  assert.equal(st.recent_usage[0].prompt, 'static caller');
  for (const p of ['/admin/usage', `/admin/users/${B.user_id}/usage-stats`, '/admin/stats', '/admin/usage/export'])
    assert.equal((await asUser(A.key, p)).status, 403, p);
  assert.equal((await gw.fetch('/api/gemini/usage-stats')).status, 401);
  assert.equal((await asUser('gg-forged', '/api/gemini/usage-stats')).status, 401);
  const viaAdmin = await admin(`/admin/users/${A.user_id}/usage-stats`);
  assert.deepEqual(viaAdmin.body, (await stats(A.key)).body, 'the admin sees the same answer');
});

test('bad statistics parameters: a clear 400', async () => {
  for (const q of ['?period=century', '?period=', '?period=today%27%20OR%201=1', "?type=x'%20OR%20'1'='1", '?model=a%20b',
                   `?type=${'x'.repeat(40)}`, '?type=%zz'])
    assert.equal((await stats(A.key, q)).status, 400, q);
  assert.equal((await asUser(A.key, '/api/usage/export?format=xml')).status, 400);
  assert.equal((await asUser(A.key, '/api/usage/export?period=forever')).status, 400);
  for (const q of ['?period=year', '?top=0', '?top=5000', '?top=x'])
    assert.equal((await admin(`/admin/stats${q}`)).status, 400, q);
});

test('admin stats: seed 004\'s usage_stats per model and window, and totals per model, user, key, type', async () => {
  const { status, body } = await admin('/admin/stats?period=all');
  assert.equal(status, 200);
  const flash = body.usage_stats['gemini-2.5-flash'];
  for (const w of ['minute', 'hour', 'day']) {
    assert.equal(typeof flash[w].requests, 'number');
    assert.equal(typeof flash[w].tokens, 'number');
  }
  assert.equal(flash.day.requests, 12);
  assert.equal(flash.day.tokens, 12 * 110);
  assert.ok(body.totals.requests >= 23);
  assert.equal(body.by_user[String(A.user_id)].requests, 17);
  assert.equal(body.by_user[String(A.user_id)].name, 'A');
  assert.equal(body.by_user[String(B.user_id)].requests, 5);
  assert.equal(body.by_type.ip_image.requests, 4);
  assert.equal(body.by_type.ip_image.success_rate, 75);
  assert.equal(body.by_model['gemini-2.5-pro'].input_tokens, 5000);
  assert.equal(body.by_model['gemini-2.5-pro'].cost, '0.011250');   // 5000 × 1.25 + 500 × 10.00 per 1M
  assert.ok(body.by_key);
  assert.equal(typeof body.gemini_keys, 'number');
  assert.equal(body.ledger.dropped, 0);
  const today = (await admin('/admin/stats')).body;
  assert.equal(today.period, 'today');
  assert.equal(today.by_user[String(A.user_id)].requests, 15);
});

test('the admin ledger: filters, keyset paging, offset, and bad filters refused', async () => {
  const all = (await admin(`/admin/usage?user=${A.user_id}&limit=1000`)).body.rows;
  assert.equal(all.length, 17);
  const r0 = all.find((x) => x.generation_type === 'content_image');
  assert.deepEqual(Object.keys(r0).sort(), ['access_key_id', 'attempts', 'audio_tokens', 'bill', 'cached_audio_tokens', 'cached_tokens', 'cost', 'created_at',
    'endpoint', 'error_message', 'generation_type', 'http_status', 'id', 'image_tokens', 'images', 'input_tokens', 'is_local', 'latency_ms',
    'model_id', 'model_name', 'output_tokens', 'price_version', 'prompt', 'refused', 'request_id', 'request_ip', 'status', 'storage_seconds',
    'storage_tokens', 'stream', 'thinking_tokens', 'tool_tokens', 'ttfb_ms', 'unpriced', 'upstream_key', 'user_id']);
  assert.equal(r0.access_key_id, A.key_id);
  assert.equal(r0.bill, '0.0001');                            // 100 × 0.30 + 10 × 2.50 per 1M = 0.000055
  assert.equal(typeof r0.model_id, 'number');
  const seen = [];
  let cursor = '';
  for (let page = 0; page < 10; page++) {
    const r = await admin(`/admin/usage?user=${A.user_id}&limit=4${cursor ? `&cursor=${cursor}` : ''}`);
    seen.push(...r.body.rows.map((x) => x.id));
    if (!r.body.next_cursor) break;
    cursor = r.body.next_cursor;
  }
  assert.deepEqual(seen, all.map((x) => x.id), 'pages cover every row once, in order');
  const off = (await admin(`/admin/usage?user=${A.user_id}&limit=5&offset=5`)).body.rows.map((x) => x.id);
  assert.deepEqual(off, all.slice(5, 10).map((x) => x.id));
  assert.equal((await admin(`/admin/usage?user=${A.user_id}&status=failed`)).body.rows.length, 1);
  assert.equal((await admin(`/admin/usage?type=secret_b_type`)).body.rows.length, 5);
  assert.equal((await admin(`/admin/usage?key=${B.key_id}`)).body.rows.length, 5);
  assert.equal((await admin(`/admin/usage?model=gemini-2.5-pro&user=${A.user_id}`)).body.rows.length, 2);
  const from = new Date(Date.now() - 2 * DAY).toISOString().slice(0, 19) + 'Z';
  assert.equal((await admin(`/admin/usage?user=${A.user_id}&from=${from}`)).body.rows.length, 15);
  assert.equal((await admin(`/admin/usage?user=${A.user_id}&to=${from}`)).body.rows.length, 2);
  for (const q of ['user=abc', 'user=-1', 'limit=0', 'limit=5000', 'offset=-1', 'status=maybe', 'from=yesterday', 'from=2025-13-01',
                   'from=2025-02-01&to=2025-01-01', 'cursor=xyz', 'key=0', "model=x'--", 'type=%3Bdrop', 'to=1e10'])
    assert.equal((await admin(`/admin/usage?${q}`)).status, 400, q);
});

test('CSV exports: header, quoting, formula guard, filters', async () => {
  await record([{ user_id: B.user_id, gen_type: 'csv_test', success: true, http_status: 200, prompt: '=HYPERLINK("x"), "quoted"\nnext line' }]);
  const r = await admin('/admin/usage/export?format=csv&type=csv_test');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/csv/);
  const lines = r.text.split('\r\n');
  assert.equal(lines[0].split(',').length, 25);
  assert.match(lines[0], /^id,created_at,user_id,access_key_id/);
  assert.ok(r.text.includes('"\'=HYPERLINK(""x""), ""quoted""\nnext line"'), r.text);
  const big = await admin('/admin/usage/export?format=csv');
  assert.ok(big.text.trim().split('\r\n').length >= 25);
  assert.equal((await admin('/admin/usage/export?format=json')).status, 400);
});

test('cleanup deletes old rows, returns the count, keeps the rollups', async () => {
  const before = (await admin('/admin/stats?period=all')).body.totals.requests;
  for (const bad of [{ days: 0 }, { days: -5 }, { days: 'ten' }, { days: 1.5 }, { days: 100000 }, { weeks: 2 }, 'nope', '[]'])
    assert.equal((await admin('/admin/maintenance/cleanup', 'POST', bad)).status, 400, JSON.stringify(bad));
  const r = await admin('/admin/maintenance/cleanup', 'POST', { days: 7 });
  assert.equal(r.status, 200);
  assert.equal(r.body.deleted, 2);
  assert.equal((await admin(`/admin/usage?user=${A.user_id}&limit=100`)).body.rows.length, 15);
  assert.equal((await admin('/admin/stats?period=all')).body.totals.requests, before, 'rollups kept');
  assert.equal((await stats(A.key)).body.data.total_count, 17, 'the user\'s totals too');
  assert.equal((await admin('/admin/maintenance/cleanup', 'POST', {})).body.deleted, 0, 'default 30 days');
});

test('backup on PostgreSQL: refused with a pointer to pg_dump, nothing written', { skip: !ON_PG }, async () => {
  const r = await admin('/admin/maintenance/backup', 'POST');
  assert.equal(r.status, 500);
  assert.match(r.body.error.message, /pg_dump/);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('backup: a consistent copy next to the database; names validated, never overwritten', { skip: ON_PG && 'SQLite only' }, async () => {
  const r = await admin('/admin/maintenance/backup', 'POST');
  assert.equal(r.status, 200);
  assert.equal(path.dirname(r.body.path), dir);
  assert.ok(fs.statSync(r.body.path).size > 0);
  const named = await admin('/admin/maintenance/backup', 'POST', { name: 'nightly-1.db' });
  assert.equal(named.body.path, path.join(dir, 'nightly-1.db'));
  assert.equal((await admin('/admin/maintenance/backup', 'POST', { name: 'nightly-1.db' })).status, 409);
  for (const name of ['../escape.db', '/etc/evil.db', 'x.txt', '.hidden.db', 'a/b.db', '', 42, 'a..b.db'])
    assert.equal((await admin('/admin/maintenance/backup', 'POST', { name })).status, 400, String(name));
  assert.ok(!fs.existsSync(path.join(dir, '..', 'escape.db')));
});

// ---- every call leaves exactly one row ----

async function rowsOf(user, n) {
  return until(async () => { const r = (await admin(`/admin/usage?user=${user}&limit=100`)).body.rows; return r.length >= n && r; }, 3000);
}

test('each call of every kind leaves exactly one row with the right tokens, status and bill', async () => {
  const u = (await admin('/admin/config/user-key', 'POST', { name: 'kinds' })).body;
  await admin('/admin/prices/test-priced', 'PUT', { input: '1000', output: '2000' });   // $0.001 / $0.002 a token
  const h = { 'x-goog-api-key': u.key, 'content-type': 'application/json' };
  const body = JSON.stringify({ contents: [{ parts: [{ text: 'count me' }] }] });
  const post = (p, extra = {}) => gw.fetch(p, { method: 'POST', headers: { ...h, ...extra }, body });
  assert.equal((await post('/v1beta/models/test-priced:generateContent', { 'x-generation-type': 'ip_image' })).status, 200);
  await (await post(SSE)).text();
  await (await post(ARR)).text();
  await (await post('/v1beta/models/gemini-2.5-flash:countTokens')).text();
  await (await gw.fetch('/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${u.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] }) })).text();
  assert.equal((await post(GEN, { 'x-fake-status': '500' })).status, 500);
  const rows = await rowsOf(u.user_id, 6);
  assert.ok(rows, 'six rows');
  await sleep(300);
  assert.equal((await admin(`/admin/usage?user=${u.user_id}`)).body.rows.length, 6, 'exactly one per call');
  const byEp = Object.fromEntries(rows.map((r) => [r.generation_type === 'ip_image' ? 'priced' : `${r.endpoint}${r.stream ? '+s' : ''}${r.status}`, r]));
  const priced = byEp.priced;
  const inTok = Math.ceil(body.length / 4);
  assert.deepEqual([priced.input_tokens, priced.output_tokens, priced.status, priced.http_status], [inTok, 7, 'success', 200]);
  assert.equal(priced.bill, (inTok * 0.001 + 7 * 0.002).toFixed(4));
  assert.equal(priced.access_key_id, u.key_id);
  assert.equal(priced.upstream_key, 'AIza…0001');
  assert.equal(priced.prompt, 'count me');
  assert.equal(priced.request_ip, '127.0.0.1');
  const streams = rows.filter((r) => r.stream);
  assert.equal(streams.length, 2);
  for (const s of streams) assert.equal(s.output_tokens, 3);
  assert.ok(rows.some((r) => r.endpoint === 'count_tokens'));
  assert.ok(rows.some((r) => r.endpoint === 'chat' && r.status === 'success'));
  const failed = rows.find((r) => r.http_status === 500);
  assert.equal(failed.status, 'failed');
  assert.ok(failed.error_message.length > 0);
  assert.ok(failed.attempts >= 1);
});

test('a refused call and a client that disconnects mid-stream each leave one failed row', async () => {
  const u = (await admin('/admin/config/user-key', 'POST', { name: 'edge', rpm: 1 })).body;
  const h = { 'x-goog-api-key': u.key, 'content-type': 'application/json', 'x-fake-chunks': '40', 'x-fake-interval-ms': '50' };
  const ac = new AbortController();
  const r = await gw.fetch(SSE, { method: 'POST', headers: h, body: '{}', signal: ac.signal });
  const reader = r.body.getReader();
  await reader.read();
  ac.abort();
  const refused = await gw.fetch(GEN, { method: 'POST', headers: h, body: '{}' });
  assert.equal(refused.status, 429);
  const rows = await rowsOf(u.user_id, 2);
  assert.ok(rows);
  await sleep(300);
  const all = (await admin(`/admin/usage?user=${u.user_id}`)).body.rows;
  assert.equal(all.length, 2);
  assert.ok(all.every((x) => x.status === 'failed'));
  assert.equal(all.filter((x) => x.refused && x.http_status === 429).length, 1);
});

test('under load, SIGTERM and a restart lose no row: requests answered = rows stored', async () => {
  const u = (await admin('/admin/config/user-key', 'POST', { name: 'load' })).body;
  let answered = 0, stop = false;
  const worker = async () => {
    while (!stop) {
      try {
        const r = await gw.fetch(GEN, { method: 'POST', headers: { 'x-goog-api-key': u.key }, body: '{}' });
        await r.text();
        answered++;
      } catch { return; }
    }
  };
  const workers = Array.from({ length: 16 }, worker);
  await sleep(1500);
  process.kill(gw.pid, 'SIGTERM');
  stop = true;
  await Promise.all(workers);
  assert.equal((await gw.waitExit()).code, 0);
  gw = await startGw();
  const total = (await admin(`/admin/users/${u.user_id}/usage-stats`)).body.data.total_count;
  assert.ok(answered > 100, `load: ${answered}`);
  assert.equal(total, answered);
});
