// /metrics (checked by promtool), its counters and histograms after real traffic, the bounded
// label sets, and /debug/info with every secret masked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startFake, startGateway, GEN, SSE, ACCESS, ADMIN } from './harness.mjs';

const OK = 'AIzaSyMETRICS-ok-secret-2222';
const RL = 'AIzaSyMETRICS-rl30-secret-3333';        // always 429 with RetryInfo 30 s
let fake, gw, user;

const promtool = spawnSync('promtool', ['--version']).status === 0;

before(async () => {
  fake = await startFake();
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: `${RL},${OK}`, GEMGATE_STRATEGY: 'round_robin' });
  await gw.admin('/admin/prices/gemini-2.5-flash', { method: 'PUT', body: JSON.stringify({ input: '1.00', output: '2.00' }) });
  user = (await gw.admin('/admin/config/user-key', { method: 'POST', body: JSON.stringify({ name: 'metrics-user', rpd: 2 }) })).body;
  for (let i = 0; i < 4; i++) assert.equal((await gw.call(GEN)).status, 200);
  const s = await gw.call(SSE);
  assert.equal(s.status, 200);
  await s.text();
  for (let i = 0; i < 3; i++) await gw.call(GEN, undefined, { 'x-goog-api-key': user.key });   // the 3rd: quota
});
after(async () => { await gw?.stop(); await fake?.stop(); });

const scrape = async () => {
  const r = await gw.fetch('/metrics', { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  return r.text();
};
const sample = (text, re) => { const m = text.match(re); return m ? Number(m[1]) : NaN; };

test('promtool check metrics accepts /metrics', { skip: !promtool && 'promtool is missing (Debian package prometheus; scripts/packages.txt installs it)' }, async () => {
  const text = await scrape();
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
  assert.equal((r.stdout + r.stderr).trim(), '', 'no lint findings');
});

test('calls by route, model, status and user; tokens and cost by model', async () => {
  const t = await scrape();
  assert.equal(sample(t, /^gemgate_requests_total\{route="generate",model="gemini-2\.5-flash",status="200",user="static"\} (\d+)$/m), 4);
  assert.equal(sample(t, /^gemgate_requests_total\{route="stream",model="gemini-2\.5-flash",status="200",user="static"\} (\d+)$/m), 1);
  const uid = user.user_id ?? user.user?.id ?? user.id;
  assert.equal(sample(t, new RegExp(`^gemgate_requests_total\\{route="generate",model="gemini-2\\.5-flash",status="200",user="${uid}"\\} (\\d+)$`, 'm')), 2);
  assert.equal(sample(t, new RegExp(`^gemgate_requests_total\\{route="generate",model="gemini-2\\.5-flash",status="429",user="${uid}"\\} (\\d+)$`, 'm')), 1);
  assert.equal(sample(t, /^gemgate_quota_refusals_total (\d+)$/m), 1);
  const input = sample(t, /^gemgate_tokens_total\{model="gemini-2\.5-flash",type="input"\} (\d+)$/m);
  const output = sample(t, /^gemgate_tokens_total\{model="gemini-2\.5-flash",type="output"\} (\d+)$/m);
  assert.ok(input > 0 && output > 0);
  const cost = sample(t, /^gemgate_cost_usd_total\{model="gemini-2\.5-flash"\} ([\d.]+)$/m);
  assert.ok(Math.abs(cost - (input * 1 + output * 2) / 1e6) < 1e-9, `cost ${cost} for ${input}/${output} tokens`);
});

test('retries, cooldowns and key states per model follow the 429s', async () => {
  const t = await scrape();
  assert.ok(sample(t, /^gemgate_cooldowns_total (\d+)$/m) >= 1);
  assert.ok(sample(t, /^gemgate_retries_total (\d+)$/m) >= 1);
  assert.equal(sample(t, /^gemgate_keys\{model="gemini-2\.5-flash",state="cooling"\} (\d+)$/m), 1);
  assert.equal(sample(t, /^gemgate_keys\{model="gemini-2\.5-flash",state="active"\} (\d+)$/m), 1);
  assert.match(gw.log, /info {2}key AIza…3333: 429 for gemini-2\.5-flash, cooling down for RetryInfo's delay rid=[0-9a-f]{16}/,
    'the key state change is in the application log, the key masked');
});

test('histograms: upstream time, time to first byte, the gateway\'s own time, ledger commits', async () => {
  const t = await scrape();
  const calls = 4 + 1 + 2;                                   // calls that reached the upstream
  for (const h of ['gemgate_time_to_first_byte_seconds', 'gemgate_added_latency_seconds']) {
    assert.equal(sample(t, new RegExp(`^${h}_count (\\d+)$`, 'm')), calls, h);
    assert.equal(sample(t, new RegExp(`^${h}_bucket\\{le="\\+Inf"\\} (\\d+)$`, 'm')), calls, h);
  }
  assert.ok(sample(t, /^gemgate_upstream_duration_seconds_count (\d+)$/m) > calls, 'the 429 attempts too');
  // the gateway's own time is small: most calls under 10 ms
  assert.ok(sample(t, /^gemgate_added_latency_seconds_bucket\{le="0\.01"\} (\d+)$/m) >= calls - 1);
  assert.ok(sample(t, /^gemgate_ledger_commit_duration_seconds_count (\d+)$/m) >= 1);
  assert.ok(sample(t, /^gemgate_ledger_rows_written_total (\d+)$/m) >= 1);
  assert.equal(sample(t, /^gemgate_ledger_rows_dropped_total (\d+)$/m), 0);
  assert.equal(sample(t, /^gemgate_log_lines_dropped_total (\d+)$/m), 0);
  assert.ok(sample(t, /^gemgate_log_lines_total\{level="info"\} (\d+)$/m) >= calls);
  assert.ok(sample(t, /^gemgate_open_connections (\d+)$/m) >= 1);
  assert.equal(sample(t, /^gemgate_open_streams (\d+)$/m), 0);
  assert.ok(sample(t, /^process_resident_memory_bytes (\d+)$/m) > 1e6);
  assert.ok(sample(t, /^process_open_fds (\d+)$/m) > 3);
});

test('no secret in /metrics; label sets stay bounded however many models clients name', async () => {
  const bad = '/v1beta/models/evil"model\\x:generateContent';
  await gw.call(bad);
  const batch = (n0) => Promise.all(Array.from({ length: 50 }, (_, i) => gw.call(`/v1beta/models/junk-${n0 + i}:countTokens`)));
  for (let i = 0; i < 1100; i += 50) await batch(i);
  const t = await scrape();
  for (const k of [OK, RL, OK.slice(4, -4), RL.slice(4, -4), ACCESS, ADMIN, user.key]) assert.ok(!t.includes(k), 'a secret in /metrics');
  const series = t.split('\n').filter((l) => l.startsWith('gemgate_requests_total{')).length;
  assert.ok(series <= 1024 + 64, `${series} series`);
  assert.ok(sample(t, /^gemgate_requests_total\{route="count_tokens",model="other",status="200",user="other"\} (\d+)$/m) > 0);
  if (promtool) assert.equal(spawnSync('promtool', ['check', 'metrics'], { input: t }).status, 0, 'still valid with odd model names');
});

test('GET /debug/info: version, build, masked config, pool, store health, memory', async () => {
  assert.equal((await gw.fetch('/debug/info')).status, 401);
  const r = await gw.admin('/debug/info');
  assert.equal(r.status, 200);
  const d = r.body;
  assert.match(d.version, /^\d+\.\d+\.\d+$/);
  assert.ok(d.build.cc && d.build.cflags);
  assert.equal(d.workers, 1);
  assert.deepEqual(d.config.keys, ['AIza…3333', 'AIza…2222']);
  assert.equal(d.config.admin_token, 'set');
  assert.equal(d.config.access_keys, 1);
  assert.equal(d.pool.keys, 2);
  assert.equal(d.store.backend, 'sqlite');
  assert.equal(d.store.ok, true);
  assert.ok(d.store.schema_version >= 2);
  assert.ok(d.memory.rss_bytes > 1e6 && d.memory.peak_rss_bytes >= d.memory.rss_bytes);
  assert.equal(typeof d.memory.heap_in_use_bytes, 'number');   // glibc's count (0 under ASan's allocator)
  assert.ok(d.memory.log_ring_bytes > 0);
  const s = JSON.stringify(d);
  for (const k of [OK, RL, OK.slice(4, -4), ACCESS, ADMIN]) assert.ok(!s.includes(k), 'a secret in /debug/info');
});
