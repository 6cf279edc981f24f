// The fault suite: gemgate against a hostile upstream (tests/fault/hostile.mjs).  For each
// fault: what the client sees, the key's state afterwards (/api/status/keys) and the ledger row
// (/admin/usage); the gateway's memory comes back after the whole suite.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import fs from 'node:fs';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { startGateway, ACCESS, until, sleep, raw } from './harness.mjs';
import { startHostile, BIG } from '../fault/hostile.mjs';

const KEY = 'AIzaSyHostileFaultSuiteKey00000000000001';
const KEY2 = 'AQ.Ab8RN6LhostileFaultSuiteKey_x-2';
let up, gw, oai, idleRss;

// Short timeouts bound each fault; keys are not disabled by a run of failures here, so each
// fault's mark on them can be read.
before(async () => {
  up = await startHostile();
  gw = await startGateway({ GEMGATE_UPSTREAM: up.url, GEMGATE_KEYS: `${KEY},${KEY2}`, GEMGATE_MAX_RETRIES: '1',
                            GEMGATE_TIMEOUT: '1500ms', GEMGATE_STREAM_IDLE_TIMEOUT: '1500ms', GEMGATE_MAX_FAILURES: '1000' });
  oai = new OpenAI({ apiKey: ACCESS, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  // Idle is measured warm: after requests that cycled more memory than the sanitizer builds'
  // quarantine (ASAN_OPTIONS=quarantine_size_mb=8) and the allocator's caches hold.
  const big = { contents: [{ parts: [{ text: 'w'.repeat(600 << 10) }] }] };
  for (let i = 0; i < 24; i++) assert.equal((await gw.call('/v1beta/models/ok:generateContent', i % 2 ? big : undefined)).status, 200);
  assert.match(await rawCall('big-warm', 'streamGenerateContent'), /^HTTP\/1\.1 200 /);
  await sleep(300);
  idleRss = gw.rss();
});
after(async () => { await gw.stop(); await up.close(); });

// A header value as its bytes say (fetch reads headers as latin1).
const hdr = (r, name) => Buffer.from(r.headers.get(name) || '', 'latin1').toString('utf8');
const native = (model, method = 'generateContent', q = '') => gw.call(`/v1beta/models/${model}:${method}${q}`);

/** The last ledger row of a model (after the writer has committed it). */
async function lastRow(model) {
  return until(async () => {
    const r = await gw.admin(`/admin/usage?limit=50`);
    return (r.body.rows || []).find((x) => x.model_name === model);
  });
}

const noSecret = (s, what) => {
  for (const k of [KEY, KEY2]) {
    assert.ok(!s.includes(k), `${what} holds the key ${k}`);
    assert.ok(!s.includes(k.slice(6, 22)), `${what} holds part of the key ${k}`);
  }
};

/** A native call on a raw socket: everything the gateway sent until it closed. */
const rawCall = (model, method = 'generateContent', q = '', ms = 8000) => {
  const body = '{"contents":[{"parts":[{"text":"hi"}]}]}';
  return raw(gw.port, `POST /v1beta/models/${model}:${method}${q} HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${ACCESS}\r\n` +
             `content-type: application/json\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n${body}`, ms);
};

/** The keys' error counts, to see what one fault added. */
const errorsNow = async () => Object.fromEntries((await gw.keys()).map((k) => [k.key, k.errors]));

/** After a fault: both keys still there and usable (a broken answer is no verdict on a key),
 * at least one with one more error, its last error naming the fault. */
async function keysAfter(before, lastError) {
  const keys = await gw.keys();
  assert.equal(keys.length, 2);
  for (const k of keys) {
    assert.ok(k.state === 'active' && k.available, `${k.key}: ${k.state}`);
    noSecret(JSON.stringify(k), 'the key status');
  }
  const hit = keys.filter((k) => k.errors > before[k.key]);
  assert.ok(hit.length >= 1, 'the fault counted against a key');
  for (const k of hit) assert.match(k.last_error, lastError);
}

/** After a call that went well: both keys active, no error added. */
async function keysUntouched(before) {
  for (const k of await gw.keys()) {
    assert.ok(k.state === 'active' && k.available, `${k.key}: ${k.state}`);
    assert.equal(k.errors, before[k.key], `${k.key}: ${k.last_error}`);
  }
}

// ---------- no pooled secret in what comes from the upstream ----------

test('a key the upstream echoes is masked in the body and a header (native, Content-Length kept)', async () => {
  const r = await native('echo-body');
  const text = await r.text();
  assert.equal(r.status, 200);
  noSecret(text, 'the body');
  noSecret(hdr(r, 'x-echo-key'), 'X-Echo-Key');
  assert.match(hdr(r, 'x-echo-key'), /^(AIza|AQ\.A)…\**.{4}$/);
  const j = JSON.parse(text);                            // framing intact: the whole JSON arrived
  assert.match(j.candidates[0].content.parts[0].text, /^your key is (AIza|AQ\.A)…\*+.{4}, keep it safe$/);
  assert.equal(Number(r.headers.get('content-length')), Buffer.byteLength(text));
});

test('a key echoed in an upstream error is masked for the client, the ledger and the log', async () => {
  const r = await native('echo-error');
  const text = await r.text();
  assert.equal(r.status, 400);
  noSecret(text, 'the error body');
  noSecret(hdr(r, 'x-echo-key'), 'the error header');
  assert.match(hdr(r, 'x-echo-key'), /^key=(AIza|AQ\.A)…\**.{4}$/);
  assert.match(JSON.parse(text).error.message, /^request with key (AIza|AQ\.A)…\*+.{4} is malformed$/);
  const row = await lastRow('echo-error');
  assert.ok(row, 'a ledger row');
  assert.equal(row.http_status, 400);
  assert.match(row.upstream_key, /^(AIza|AQ\.A)….{4}$/);
  noSecret(JSON.stringify(row), 'the ledger row');
});

test('a key split across two stream chunks is masked (native SSE)', async () => {
  const r = await native('echo-stream', 'streamGenerateContent', '?alt=sse');
  const text = await r.text();
  assert.equal(r.status, 200);
  noSecret(text, 'the stream');
  assert.match(text, /streamed (AIza|AQ\.A)…\*+.{4} here/);
});

test('the OpenAI route masks echoed keys too: answer, stream, error', async () => {
  const c = await oai.chat.completions.create({ model: 'echo-body', messages: [{ role: 'user', content: 'hi' }] });
  noSecret(JSON.stringify(c), 'the completion');
  assert.match(c.choices[0].message.content, /^your key is (AIza|AQ\.A)…\*+.{4}, keep it safe$/);
  const s = await oai.chat.completions.create({ model: 'echo-stream', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  let text = '';
  for await (const ch of s) text += ch.choices[0]?.delta?.content || '';
  noSecret(text, 'the streamed completion');
  assert.match(text, /streamed (AIza|AQ\.A)…\*+.{4} here/);
  await assert.rejects(oai.chat.completions.create({ model: 'echo-error', messages: [{ role: 'user', content: 'hi' }] }),
    (e) => { assert.equal(e.status, 400); noSecret(JSON.stringify(e.error ?? e.message), 'the OpenAI error'); return true; });
  noSecret(gw.log, 'the gateway log');
});

// ---------- out of file descriptors ----------

/** CPU time (ticks: 1/100 s) the process used so far. */
const cpuTicks = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};

test('out of descriptors (EMFILE): the listener rests, logs once a second, and serves again after', async () => {
  const g = await startGateway({ GEMGATE_UPSTREAM: up.url, GEMGATE_KEYS: KEY });
  try {
    // The start raised the soft limit to the hard one and lowered MAX_CONNS to fit it.
    const lim = fs.readFileSync(`/proc/${g.pid}/limits`, 'utf8').match(/Max open files\s+(\d+)\s+(\d+)/);
    assert.equal(lim[1], lim[2], 'soft limit raised to the hard limit');
    // Now leave the running gateway two descriptors to spare: the third client meets EMFILE.
    const open = fs.readdirSync(`/proc/${g.pid}/fd`).length;
    execFileSync('prlimit', ['--pid', String(g.pid), `--nofile=${open + 2}:${lim[2]}`]);
    const socks = Array.from({ length: 12 }, () => net.connect(g.port, '127.0.0.1').on('error', () => {}));
    await sleep(300);
    const cpu0 = cpuTicks(g.pid), log0 = g.log.length;
    await sleep(2000);
    const ticks = cpuTicks(g.pid) - cpu0;
    const lines = g.log.slice(log0).split('\n').filter((l) => l.includes('accept failed')).length;
    assert.ok(ticks < 40, `the worker spun: ${ticks} ticks of CPU in 2 s`);
    assert.ok(lines >= 1 && lines <= 3, `${lines} "accept failed" lines in 2 s`);
    assert.match(g.log, /accept failed \d+ times since the last report: Too many open files .*not accepting for 500 ms/);
    for (const s of socks) s.destroy();
    execFileSync('prlimit', ['--pid', String(g.pid), `--nofile=${lim[1]}:${lim[2]}`]);
    const ok = await until(async () => (await g.fetch('/health').catch(() => ({ status: 0 }))).status === 200, 5000);
    assert.ok(ok, 'serves again once descriptors are free');
  } finally { await g.stop(); }
});

// ---------- fetched images: a total per request, a cap for all ----------

test('image_url fetches: over GEMGATE_FETCH_MAX_TOTAL is 413, over the global cap 503, both in OpenAI\'s shape', async () => {
  const g = await startGateway({ GEMGATE_UPSTREAM: up.url, GEMGATE_KEYS: KEY, GEMGATE_FETCH_PRIVATE: '1',
                                 GEMGATE_FETCH_MAX_TOTAL: '3m', GEMGATE_FETCH_MAX_INFLIGHT: '5m' });
  const c = new OpenAI({ apiKey: ACCESS, baseURL: `${g.url}/v1`, maxRetries: 0 });
  const ask = (urls, opts) => c.chat.completions.create({ model: 'ok', messages: [{ role: 'user', content: [
    { type: 'text', text: 'look' }, ...urls.map((u) => ({ type: 'image_url', image_url: { url: `${up.url}/img/${u}` } }))] }] }, opts);
  try {
    const one = await ask(['2000000']);
    assert.equal(one.choices[0].message.content, 'fine');
    for (const two of [['2000000', '2000000'], ['2000000/chunked', '2000000/chunked']]) {
      await assert.rejects(ask(two), (e) => {
        assert.equal(e.status, 413);
        assert.equal(e.code, 'images_too_large');
        assert.equal(e.type, 'invalid_request_error');
        assert.match(e.message, /larger than 3145728 bytes together/);
        return true;
      }, two.join(' '));
    }
    // A request whose image is being held open keeps its bytes counted: the next one is refused
    // while the gateway holds 5 MB of images, and served once the first has let go.
    const held = new AbortController(), before = up.calls.img;
    const first = ask(['2900000/hold'], { signal: held.signal }).catch((e) => e);
    await until(() => up.calls.img > before);
    await sleep(300);                                  // its 2.9 MB are in by now
    const c2 = new OpenAI({ apiKey: ACCESS, baseURL: `${g.url}/v1`, maxRetries: 0 });
    const g2 = (u) => c2.chat.completions.create({ model: 'ok', messages: [{ role: 'user', content: [
      { type: 'image_url', image_url: { url: `${up.url}/img/${u}` } }] }] });
    await assert.rejects(g2('2500000'), (e) => {
      assert.equal(e.status, 503);
      assert.equal(e.code, 'server_busy');
      assert.equal(e.headers.get('retry-after'), '1');
      return true;
    });
    held.abort();
    await first;
    const again = await until(async () => g2('2500000').catch(() => null), 5000, 100);
    assert.equal(again.choices[0].message.content, 'fine');
    const rows = (await g.admin('/admin/usage?limit=20')).body.rows;
    assert.ok(rows.some((r) => r.http_status === 413), 'the refusal has its ledger row');
  } finally { await g.stop(); }
});

// ---------- a hostile upstream ----------

test('reset mid-stream: the client gets the first event, then the stream error, and the cut', async () => {
  const before = await errorsNow();
  const out = await rawCall('reset-stream', 'streamGenerateContent', '?alt=sse');
  assert.match(out, /^HTTP\/1\.1 200 /);
  assert.match(out, /"text":"first"/);
  assert.match(out, /upstream stream was cut/);
  assert.ok(!out.endsWith('0\r\n\r\n'), 'no clean end of the chunked body');
  const row = await lastRow('reset-stream');
  // The client saw a 200 head, then a cut: the row says so, and that the call failed (docs/ledger.md).
  assert.equal(row.http_status, 200);
  assert.equal(row.status, 'failed');
  assert.match(row.error_message, /stream cut/);
  await keysAfter(before, /stream cut|reset|closed/);
});

test('a head, then nothing: cut at GEMGATE_TIMEOUT, the client sees a short body and the close', async () => {
  const before = await errorsNow(), t0 = Date.now();
  const out = await rawCall('hang-head');
  assert.ok(Date.now() - t0 < 5000, 'bounded by the timeout');
  assert.match(out, /^HTTP\/1\.1 200 /);
  assert.ok(out.length - out.indexOf('\r\n\r\n') - 4 < 1000, 'the body it announced never came');
  const row = await lastRow('hang-head');
  // The client saw a 200 head, then a cut: the row says so, and that the call failed (docs/ledger.md).
  assert.equal(row.http_status, 200);
  assert.equal(row.status, 'failed');
  assert.match(row.error_message, /stream cut: upstream .*timeout/);
  await keysAfter(before, /timeout/);
});

test('a byte a second: each key times out (GEMGATE_TIMEOUT), the client gets 504 in Google\'s shape', async () => {
  const before = await errorsNow(), t0 = Date.now();
  const r = await native('drip');
  const j = await r.json();
  assert.ok(Date.now() - t0 < 6000, 'bounded: two attempts of 1.5 s');
  assert.equal(r.status, 504);
  assert.equal(j.error.code, 504);
  assert.match(j.error.message, /after 2 attempts: upstream .*timeout/);
  const row = await lastRow('drip');
  assert.equal(row.http_status, 504);
  assert.equal(row.attempts, 2);
  await keysAfter(before, /timeout/);
});

test('invalid chunked framing: the answer is cut, never passed on as if whole', async () => {
  const before = await errorsNow();
  const out = await rawCall('bad-chunk');
  assert.match(out, /^HTTP\/1\.1 200 /);
  assert.ok(!out.endsWith('0\r\n\r\n'), 'no clean end');
  const row = await lastRow('bad-chunk');
  // The client saw a 200 head, then a cut: the row says so, and that the call failed (docs/ledger.md).
  assert.equal(row.http_status, 200);
  assert.equal(row.status, 'failed');
  assert.match(row.error_message, /malformed chunked body/);
  await keysAfter(before, /malformed chunked/);
});

test('a 2 GB answer (a stream: no total timeout) passes in bounded memory, metered at its end', async () => {
  const body = '{"contents":[{"parts":[{"text":"hi"}]}]}', before = await errorsNow();
  let peak = 0, got = 0, head = '';
  const sampler = setInterval(() => { peak = Math.max(peak, gw.rss()); }, 100);
  await new Promise((resolve, reject) => {
    const s = net.connect(gw.port, '127.0.0.1');
    s.on('data', (d) => {
      if (!head) {
        const t = d.toString('latin1'), i = t.indexOf('\r\n\r\n');
        head = t.slice(0, i);
        got += d.length - i - 4;
      } else got += d.length;
    });
    s.on('end', resolve);
    s.on('error', reject);
    s.write(`POST /v1beta/models/big:streamGenerateContent HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${ACCESS}\r\n` +
            `content-type: application/json\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
  });
  clearInterval(sampler);
  assert.match(head, /^HTTP\/1\.1 200 /);
  const cl = Number(head.match(/content-length: (\d+)/i)[1]);
  assert.ok(cl > BIG);
  assert.equal(got, cl, 'every byte arrived');
  assert.ok(peak - idleRss < 96 * 1024, `RSS grew by ${peak - idleRss} KiB while ${BIG} bytes passed`);
  const row = await lastRow('big');
  assert.equal(row.http_status, 200);
  assert.ok(!row.error_message);
  assert.equal(row.input_tokens, 7);                   // the usage after 2 GB of text was found
  assert.equal(row.output_tokens, 11);
  await keysUntouched(before);
});

test('a head over 64 KiB, or with a NUL in a value: 502, no broken head for the client', async () => {
  for (const [model, why] of [['huge-head', /larger than 64 KiB/], ['nul-header', /malformed upstream response head/]]) {
    const before = await errorsNow();
    const out = await rawCall(model);
    assert.match(out, /^HTTP\/1\.1 502 /, model);
    const head = out.slice(0, out.indexOf('\r\n\r\n'));
    assert.ok(!/[\0\r](?!\n)/.test(head) && !head.includes('X-Big') && !head.includes('X-V'), `${model}: a clean head`);
    assert.match(JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)).error.message, why);
    const row = await lastRow(model);
    assert.equal(row.http_status, 502);
    assert.equal(row.attempts, 2);
    await keysAfter(before, why);
  }
});

test('malformed JSON: passed through as it came on the native route, a 502 in OpenAI\'s shape on /v1', async () => {
  const before = await errorsNow();
  const r = await native('bad-json');
  assert.equal(r.status, 200);
  assert.equal(await r.text(), '{"candidates": [ {not json, at all');
  assert.equal((await lastRow('bad-json')).http_status, 200);
  await assert.rejects(oai.chat.completions.create({ model: 'bad-json', messages: [{ role: 'user', content: 'hi' }] }),
    (e) => { assert.equal(e.status, 502); assert.equal(e.type, 'api_error'); return true; });
  const rows = await until(async () => {
    const r = (await gw.admin('/admin/usage?limit=5')).body.rows.filter((x) => x.model_name === 'bad-json');
    return r.length === 2 && r;
  });
  // (The OpenAI call's row says what the upstream answered, 200, not the 502 its client got:
  // that recording is openai_route.c's, changed elsewhere in issue 13.)
  assert.equal(rows.length, 2, 'both calls have their row');
  await keysUntouched(before);                         // a 200 is the key's success, whatever its body
});

// Clamping token counts is the ledger's part of issue 13: until it lands, the sum of two
// INT64_MAX counts overflows in ledger.c (a UBSan abort in the sanitizer builds), so this runs on
// a gateway of its own and is marked todo — the lead drops the mark with that change.
test('absurd usage numbers (INT64_MAX, negative, 1e300, text): the call succeeds and its row is sane',
     { todo: 'token counts clamped by the ledger change of issue 13' }, async () => {
  const g = await startGateway({ GEMGATE_UPSTREAM: up.url, GEMGATE_KEYS: KEY });
  try {
    const r = await g.call('/v1beta/models/huge-usage:generateContent');
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(await r.text()).candidates[0].content.parts[0].text, 'big numbers');
    const row = await until(async () => (await g.admin('/admin/usage?limit=5')).body.rows[0]);
    assert.equal(row.http_status, 200);
    for (const f of ['input_tokens', 'output_tokens', 'thinking_tokens', 'cached_tokens'])
      assert.ok(Number.isSafeInteger(row[f]) && row[f] >= 0, `${f}: ${row[f]}`);
    assert.equal((await g.fetch('/health')).status, 200, 'the gateway is still up');
    const [k] = await g.keys();
    assert.ok(k.state === 'active' && k.errors === 0);
  } finally { await g.stop(); }
});

test('429s with a retryDelay of nan, inf, 1e20s: the key cools for a sane while, the client gets the 429', async () => {
  const r = await native('absurd-delay');
  assert.equal(r.status, 429);
  assert.equal((await r.json()).error.status, 'RESOURCE_EXHAUSTED');
  const keys = await gw.keys();
  for (const k of keys) {
    const left = k.cooldowns['absurd-delay'];
    assert.ok(left > 0 && left <= 15 * 60, `${k.key}: cooling ${left} s for the model`);
    assert.notEqual(k.state, 'invalid');
  }
  assert.equal((await native('ok')).status, 200, 'other models are served meanwhile');
  const row = await lastRow('absurd-delay');
  assert.equal(row.http_status, 429);
  assert.equal(row.attempts, 2);
});

test('a TLS handshake that fails: 502 after each key, no key marked invalid', async () => {
  const g = await startGateway({ GEMGATE_UPSTREAM: `https://127.0.0.1:${up.port}`, GEMGATE_KEYS: `${KEY},${KEY2}`,
                                 GEMGATE_MAX_RETRIES: '1', GEMGATE_TIMEOUT: '2s' });
  try {
    const r = await g.call('/v1beta/models/ok:generateContent');
    assert.equal(r.status, 502);
    assert.match((await r.json()).error.message, /after 2 attempts: .*(TLS|SSL|handshake|wrong version)/i);
    const keys = await g.keys();
    for (const k of keys) {
      assert.equal(k.state, 'active');
      assert.match(k.last_error, /TLS|SSL|handshake|wrong version/i);
    }
    const row = await until(async () => (await g.admin('/admin/usage?limit=5')).body.rows[0]);
    assert.equal(row.http_status, 502);
    noSecret(g.log, 'the log');
  } finally { await g.stop(); }
});

// Under ThreadSanitizer (make test-tsan) RSS holds TSan's shadow of every address the suite
// touched: it says nothing about the gateway's own memory there.
test('after the suite the gateway\'s memory is back within 10 % of idle',
     { skip: process.env.TSAN_OPTIONS ? 'ThreadSanitizer shadow memory' : false }, async () => {
  const ok = await until(async () => {
    await gw.call('/v1beta/models/ok:generateContent');
    return gw.rss() <= idleRss * 1.1;
  }, 8000, 500);
  assert.ok(ok, `RSS ${gw.rss()} KiB, idle was ${idleRss} KiB`);
  noSecret(gw.log, 'the gateway log');
});
