// The key pool's rules, each proved against the fake upstream's per-key behaviours.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFake, startGateway, sleep, until, GEN, SSE } from './harness.mjs';

let fake;
before(async () => { fake = await startFake(); });
after(async () => { await fake.stop(); });

const byKey = async (k) => (await fake.stats()).by_key[k] || 0;
const keyState = async (gw, suffix) => (await gw.keys()).find((k) => k.key.endsWith(suffix));

async function withGateway(env, fn) {
  await fake.reset();
  const gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, ...env });
  try { await fn(gw); } finally { await gw.stop(); }
}

test('a 429 cools that key for RetryInfo\'s delay, for that model only; calls go to the other key', async () => {
  const RL = 'AIzaFake-rl30-aaa1', OK = 'AIzaFake-ok-bbb2';
  await withGateway({ GEMGATE_KEYS: `${RL},${OK}` }, async (gw) => {
    for (let i = 0; i < 6; i++) assert.equal((await gw.call(GEN)).status, 200, 'client never sees the 429');
    assert.equal(await byKey(RL), 1, 'the cooling key was skipped after its 429');
    assert.equal(await byKey(OK), 6);
    const s = await keyState(gw, 'aaa1');
    const left = s.cooldowns['gemini-2.5-flash'];
    assert.ok(left > 25 && left <= 30, `cooldown from RetryInfo (30s), got ${left}`);
    assert.equal(s.state, 'cooling');
    for (let i = 0; i < 2; i++) assert.equal((await gw.call('/v1beta/models/gemini-2.0-flash:generateContent')).status, 200);
    assert.ok(await byKey(RL) >= 2, 'another model still uses the key');
  });
});

test('without RetryInfo the cooldown is the configured base, doubling on repeats', async () => {
  const RL = 'AIzaFake-rl-ccc3', OK = 'AIzaFake-ok-ddd4';
  await withGateway({ GEMGATE_KEYS: `${RL},${OK}`, GEMGATE_COOLDOWN: '1s' }, async (gw) => {
    assert.equal((await gw.call(GEN)).status, 200);
    const first = (await keyState(gw, 'ccc3')).cooldowns['gemini-2.5-flash'];
    assert.ok(first > 0 && first <= 1, `first cooldown ≈ 1 s, got ${first}`);
    await sleep(1100);
    await until(async () => { await gw.call(GEN); return (await byKey(RL)) >= 2; }, 3000);
    const second = (await keyState(gw, 'ccc3')).cooldowns['gemini-2.5-flash'];
    assert.ok(second > 1 && second <= 2, `second cooldown ≈ 2 s, got ${second}`);
  });
});

test('an invalid key is marked, skipped for every model, and a re-check brings it back once it answers', async () => {
  const BAD = 'AIzaFake-invalid-eee5', OK = 'AIzaFake-ok-fff6';
  await withGateway({ GEMGATE_KEYS: `${BAD},${OK}`, GEMGATE_RECHECK_INTERVAL: '300ms' }, async (gw) => {
    for (let i = 0; i < 4; i++) assert.equal((await gw.call(GEN)).status, 200);
    assert.equal((await keyState(gw, 'eee5')).state, 'invalid');
    const used = await byKey(BAD);
    await gw.call('/v1beta/models/gemini-2.0-flash:generateContent');
    assert.equal((await fake.stats()).by_path['/v1beta/models/gemini-2.0-flash:generateContent'] >= 1, true);
    assert.equal((await gw.keys()).find((k) => k.key.endsWith('eee5')).state, 'invalid');
    assert.equal((await gw.fetch('/health').then((r) => r.json())).available_keys, 1);
    await fake.mode(BAD, 'ok');
    const back = await until(async () => (await keyState(gw, 'eee5')).state === 'active', 5000);
    assert.ok(back, 're-check restored the key');
    assert.ok((await byKey(BAD)) > used, 'the re-check called the upstream with the key');
    assert.equal((await gw.fetch('/health').then((r) => r.json())).available_keys, 2);
  });
});

test('a run of failures disables a key; a success in between resets the run', async () => {
  const E = 'AIzaFake-e500-ggg7';
  await withGateway({ GEMGATE_KEYS: E, GEMGATE_MAX_FAILURES: '3', GEMGATE_MAX_RETRIES: '0', GEMGATE_RECHECK_INTERVAL: '1h' }, async (gw) => {
    for (let i = 0; i < 3; i++) assert.equal((await gw.call(GEN)).status, 500, 'the upstream 500 is passed on');
    const s = await keyState(gw, 'ggg7');
    assert.equal(s.state, 'disabled');
    assert.equal(s.failure_run, 3);
    const r = await gw.call(GEN);
    assert.equal(r.status, 503);
    assert.equal(await byKey(E), 3, 'a disabled key is not called');
  });
  const F = 'AIzaFake-flaky2-hhh8';
  await withGateway({ GEMGATE_KEYS: F, GEMGATE_MAX_FAILURES: '2', GEMGATE_MAX_RETRIES: '0' }, async (gw) => {
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push((await gw.call(GEN)).status);
    assert.deepEqual(codes, [503, 200, 503, 200, 503, 200]);
    const s = await keyState(gw, 'hhh8');
    assert.equal(s.state, 'active', 'each success reset the run, so the key was never disabled');
    assert.equal(s.failure_run, 0);
    assert.equal(s.errors, 3);
  });
});

test('retries land on a different key each time and stop at GEMGATE_MAX_RETRIES', async () => {
  const keys = ['a', 'b', 'c', 'd', 'e'].map((x) => `AIzaFake-e503-key${x}`);
  await withGateway({ GEMGATE_KEYS: keys.join(','), GEMGATE_MAX_RETRIES: '2' }, async (gw) => {
    const r = await gw.call(GEN);
    assert.equal(r.status, 503);
    assert.equal((await r.json()).error.status, 'UNAVAILABLE');
    const st = await fake.stats();
    const hit = keys.filter((k) => st.by_key[k]);
    assert.equal(st.requests, 3, '1 try + 2 retries');
    assert.equal(hit.length, 3, 'three different keys');
    assert.ok(hit.every((k) => st.by_key[k] === 1));
  });
});

test('a retry after a 5xx or a dropped connection succeeds on a healthy key', async () => {
  await withGateway({ GEMGATE_KEYS: 'AIzaFake-e503-iii9,AIzaFake-reset0-jjj0,AIzaFake-ok-kkk1' }, async (gw) => {
    for (let i = 0; i < 3; i++) assert.equal((await gw.call(GEN)).status, 200);
  });
});

test('a stream is never retried once its first chunk has gone out', async () => {
  const R = 'AIzaFake-reset2-lll2', OK = 'AIzaFake-ok-mmm3';
  await withGateway({ GEMGATE_KEYS: `${R},${OK}`, GEMGATE_STRATEGY: 'round_robin' }, async (gw) => {
    const r = await gw.call(SSE, undefined, { 'x-fake-chunks': '5' });
    assert.equal(r.status, 200);
    let text = '';
    let failed = false;
    try { for await (const chunk of r.body) text += Buffer.from(chunk).toString(); } catch { failed = true; }
    assert.ok(failed || /"error"/.test(text), 'the client sees the cut');
    assert.equal((text.match(/chunk \d/g) || []).length, 2, 'two chunks, then the cut');
    assert.equal((await fake.stats()).requests, 1, 'no second attempt');
    const s = await keyState(gw, 'lll2');
    assert.equal(s.errors, 1);
  });
});

test('a client that disconnects aborts the upstream call and leaves the key\'s record clean', async () => {
  const K = 'AIzaFake-ok-nnn4';
  await withGateway({ GEMGATE_KEYS: K }, async (gw) => {
    const ac = new AbortController();
    const r = await gw.call(SSE, undefined, { 'x-fake-chunks': '100', 'x-fake-interval-ms': '100' });
    const reader = r.body.getReader();
    await reader.read();
    await reader.cancel();
    const t0 = Date.now();
    const logged = await until(() => gw.log.includes('outcome=client_closed'), 3000);
    assert.ok(logged, 'the gateway noticed the disconnect');
    assert.ok(Date.now() - t0 < 3000, 'long before the 10 s stream would end');
    ac.abort();
    const s = await keyState(gw, 'nnn4');
    assert.equal(s.errors, 0);
    assert.equal(s.failure_run, 0);
    assert.equal(s.state, 'active');
  });
});

test('no usable key gives 503 with Retry-After until the soonest cooldown ends', async () => {
  await withGateway({ GEMGATE_KEYS: 'AIzaFake-rl20-ooo5,AIzaFake-rl40-ppp6' }, async (gw) => {
    const first = await gw.call(GEN);
    assert.equal(first.status, 429, 'every key was tried: the last upstream answer is passed on');
    const r = await gw.call(GEN);
    assert.equal(r.status, 503);
    const ra = Number(r.headers.get('retry-after'));
    assert.ok(ra >= 19 && ra <= 20, `Retry-After ≈ 20, got ${ra}`);
    const e = await r.json();
    assert.equal(e.error.code, 503);
    assert.equal((await fake.stats()).requests, 2);
  });
});

test('strategies: round_robin alternates, least_used evens out, health avoids the failing key', async () => {
  await withGateway({ GEMGATE_KEYS: 'AIzaFake-ok-rr01,AIzaFake-ok-rr02,AIzaFake-ok-rr03', GEMGATE_STRATEGY: 'round_robin' }, async (gw) => {
    for (let i = 0; i < 9; i++) await gw.call(GEN);
    const st = await fake.stats();
    assert.deepEqual(['rr01', 'rr02', 'rr03'].map((k) => st.by_key[`AIzaFake-ok-${k}`]), [3, 3, 3]);
  });
  await withGateway({ GEMGATE_KEYS: 'AIzaFake-ok-lu01,AIzaFake-ok-lu02', GEMGATE_STRATEGY: 'least_used' }, async (gw) => {
    for (let i = 0; i < 6; i++) await gw.call(GEN);
    const st = await fake.stats();
    assert.deepEqual([st.by_key['AIzaFake-ok-lu01'], st.by_key['AIzaFake-ok-lu02']], [3, 3]);
  });
  await withGateway({ GEMGATE_KEYS: 'AIzaFake-flaky2-hl01,AIzaFake-ok-hl02', GEMGATE_STRATEGY: 'health', GEMGATE_MAX_FAILURES: '100' }, async (gw) => {
    for (let i = 0; i < 10; i++) assert.equal((await gw.call(GEN)).status, 200);
    const st = await fake.stats();
    assert.ok(st.by_key['AIzaFake-ok-hl02'] > st.by_key['AIzaFake-flaky2-hl01'], JSON.stringify(st.by_key));
  });
});

test('per-key RPM limits: a key without headroom is skipped before it earns a 429', async () => {
  await withGateway({ GEMGATE_KEYS: 'AIzaFake-ok-lim1,AIzaFake-ok-lim2', GEMGATE_KEY_LIMITS: 'gemini-2.5-flash:rpm=2' }, async (gw) => {
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await gw.call(GEN)).status);
    assert.deepEqual(codes, [200, 200, 200, 200, 503]);
    const st = await fake.stats();
    assert.equal(st.by_key['AIzaFake-ok-lim1'], 2);
    assert.equal(st.by_key['AIzaFake-ok-lim2'], 2);
    assert.equal((await gw.call('/v1beta/models/gemini-2.0-flash:generateContent')).status, 200, 'other models are not limited');
  });
});

test('seed 002 statistics and resets', async () => {
  await withGateway({ GEMGATE_KEYS: 'AIzaFake-rl30-st01,AIzaFake-ok-st02' }, async (gw) => {
    for (let i = 0; i < 3; i++) await gw.call(GEN);
    const pool = (await gw.admin('/admin/pool/stats')).body;
    const m = pool['gemini-2.5-flash'];
    assert.equal(m.pool_size, 2);
    assert.equal(m.active_instances, 1);
    assert.equal(m.error_instances, 1);
    assert.equal(m.total_usage, 4);
    assert.deepEqual(m.usage_distribution, { 'Key #1': 1, 'Key #2': 3 });
    const ks = (await gw.admin('/admin/keys/stats')).body;
    assert.equal(ks.total_keys, 2);
    assert.equal(ks.total_requests, 4);
    assert.equal(ks.failed_requests, 1);
    assert.deepEqual(Object.keys(ks.key_usage['Key #1']).sort(), ['avg_time', 'error_rate', 'errors', 'usage']);
    assert.equal(ks.key_usage['Key #1'].error_rate, 1);
    const reset = await gw.admin('/admin/pool/reset', { method: 'POST', body: JSON.stringify({ model: 'gemini-2.5-flash' }) });
    assert.equal(reset.status, 200);
    assert.equal((await gw.admin('/admin/pool/stats')).body['gemini-2.5-flash'].active_instances, 2, 'cooldown cleared');
    const bad = await gw.admin('/admin/pool/reset', { method: 'POST', body: '{"model":5}' });
    assert.equal(bad.status, 400);
    assert.equal((await gw.admin('/admin/keys/stats/reset', { method: 'POST' })).status, 200);
    assert.equal((await gw.admin('/admin/keys/stats')).body.total_requests, 0);
  });
});
