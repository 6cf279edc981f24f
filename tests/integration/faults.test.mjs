// The fault suite: gemgate against a hostile upstream (tests/fault/hostile.mjs).  For each
// fault: what the client sees, the key's state afterwards (/api/status/keys) and the ledger row
// (/admin/usage); the gateway's memory comes back after the whole suite.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import fs from 'node:fs';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { startGateway, ACCESS, until, sleep } from './harness.mjs';
import { startHostile } from '../fault/hostile.mjs';

const KEY = 'AIzaSyHostileFaultSuiteKey00000000000001';
const KEY2 = 'AQ.Ab8RN6LhostileFaultSuiteKey_x-2';
let up, gw, oai;

before(async () => {
  up = await startHostile();
  gw = await startGateway({ GEMGATE_UPSTREAM: up.url, GEMGATE_KEYS: `${KEY},${KEY2}`, GEMGATE_MAX_RETRIES: '1' });
  oai = new OpenAI({ apiKey: ACCESS, baseURL: `${gw.url}/v1`, maxRetries: 0 });
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
