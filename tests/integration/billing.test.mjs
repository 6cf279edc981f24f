// The ledger you can bill from (issue 9).  The conformance table in docs/ledger.md is the spec:
// this file reads it, makes every row's call through the official SDK where one reaches it (raw
// HTTP otherwise) against the fake upstream with known usageMetadata (x-fake-usage), fetches the
// row from /admin/usage and compares every field, and the bill to the nano-dollar with the price
// table from GET /admin/prices.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { startFake, startGateway, until, sleep, ADMIN } from './harness.mjs';

const K1 = 'AIzaFake-ok-bill0001', K2 = 'AIzaFake-ok-bill0002';
const MASKS = ['AIza…0001', 'AIza…0002'];
const RETRIES = 1;
// The counts every generation answer carries (x-fake-usage): promptTokenCount includes the cached ones.
const U = { promptTokenCount: 1200, candidatesTokenCount: 340, thoughtsTokenCount: 56, cachedContentTokenCount: 200, totalTokenCount: 1596 };
const UH = { 'x-fake-usage': JSON.stringify(U) };
const UT = { input_tokens: 1200, output_tokens: 340, thinking_tokens: 56, cached_tokens: 200 };
const ZT = { input_tokens: 0, output_tokens: 0, thinking_tokens: 0, cached_tokens: 0 };

let fake, gw;
const admin = async (p, method = 'GET', body) => {
  const r = await gw.fetch(p, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
};

before(async () => {
  fake = await startFake();
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: `${K1},${K2}`, GEMGATE_MAX_RETRIES: String(RETRIES) });
});
after(async () => { await gw.stop(); await fake.stop(); });

// ---- the table ----

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
function conformanceTable() {
  const md = fs.readFileSync(path.join(root, 'docs/ledger.md'), 'utf8');
  const rows = {};
  for (const line of md.split('\n')) {
    const m = line.match(/^\| ([NOL]\d+) \|(.*)\|$/);
    if (!m) continue;
    const c = m[2].split('|').map((x) => x.trim());
    rows[m[1]] = { call: c[0], outcome: c[1], ep: c[2], s: c[3], status: c[4], http: c[5], local: c[6], tok: c[7], img: c[8], att: c[9] };
  }
  return rows;
}

// ---- money, exactly: prices are integer micro-USD per 1M tokens (per call / image) ----

const scaled = (s, scale) => {           // "0.300000" → 300000n at scale 6
  const [i, f = ''] = String(s).split('.');
  return BigInt(i) * 10n ** BigInt(scale) + BigInt((f + '0'.repeat(scale)).slice(0, scale) || '0');
};
let PRICES;
async function prices() {
  const r = await admin('/admin/prices');
  assert.equal(r.status, 200);
  PRICES = r.body.prices;
}
// The documented rule: the exact name, else the longest listed name it extends at a '-' or '@',
// else '*', else unpriced.
function priceOf(model) {
  const m = model.startsWith('models/') ? model.slice(7) : model;
  let best = null, star = null;
  for (const p of PRICES) {
    if (p.model === '*') { star = p; continue; }
    if (p.model === m) return p;
    if (m.startsWith(p.model) && '-@'.includes(m[p.model.length]) && (!best || p.model.length > best.model.length)) best = p;
  }
  return best || star;
}
function expectedBill(row) {
  const p = priceOf(row.model_name);
  if (!p) return { nanos: 0n, e4: 0n };
  const [inp, out, think, cached, req] = [p.input, p.output, p.thinking, p.cached, p.per_request].map((x) => scaled(x, 6));
  const t = (k) => BigInt(row[k]);
  const pico = (t('input_tokens') - t('cached_tokens')) * inp + t('cached_tokens') * cached + t('output_tokens') * out +
    t('thinking_tokens') * think + BigInt(row.images) * req * 1000000n;
  return { nanos: (pico + 500n) / 1000n, e4: (pico + 50000000n) / 100000000n };
}

// ---- callers ----

async function user(limits = {}) {
  const r = await admin('/admin/config/user-key', 'POST', { name: `u${Math.random().toString(36).slice(2, 8)}`, ...limits });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}
const genai = (u, extra = {}) => new GoogleGenAI({ apiKey: u.key, httpOptions: { baseUrl: gw.url, retryOptions: { attempts: 1 }, ...extra } });
const openai = (u) => new OpenAI({ apiKey: u.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
const raw = (u, p, body, headers = {}, method = 'POST') => gw.fetch(p, {
  method, headers: { 'x-goog-api-key': u.key, 'content-type': 'application/json', ...headers },
  body: method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
const hdr = (h) => ({ httpOptions: { headers: h } });
const PREDICT = { instances: [{ prompt: 'a cat' }], parameters: { sampleCount: 2 } };
const GEMBODY = { contents: [{ role: 'user', parts: [{ text: 'Bill me exactly' }] }] };
const rejects = async (p, status) => {
  let err = null;
  try { const r = await p; if (r && typeof r[Symbol.asyncIterator] === 'function') for await (const _ of r); } catch (e) { err = e; }
  if (status) assert.equal(err?.status, status, `expected ${status}, got ${err}`);
  return err;
};
async function rowsOf(u, n) {
  const rows = await until(async () => { const r = (await admin(`/admin/usage?user=${u.user_id}&limit=100`)).body.rows; return r.length >= n && r; }, 5000);
  assert.ok(rows, `${n} row(s) for user ${u.user_id}`);
  await sleep(30);
  const again = (await admin(`/admin/usage?user=${u.user_id}&limit=100`)).body.rows;
  assert.equal(again.length, n, 'exactly as many rows as calls');
  return again;
}
async function cutAfterFirstChunk(res) {
  const reader = res.body.getReader();
  await reader.read();
  await reader.cancel();
}

// What each table row's call is: it returns the user whose last row is the one to check, and
// what the row says beyond the table's columns.
const CASES = {
  N1: async (u) => { await genai(u).models.generateContent({ model: 'gemini-2.5-flash', contents: 'Bill me', config: hdr(UH) }); },
  N2: async (u) => {
    const s = await genai(u).models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Bill me', config: hdr(UH) });
    for await (const _ of s);
  },
  N3: async (u) => { await (await raw(u, '/v1beta/models/gemini-2.5-flash:streamGenerateContent', GEMBODY, UH)).text(); },
  N4: async (u) => {
    const s = await genai(u).models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Bill me',
      config: hdr({ ...UH, 'x-fake-error-after': '1' }) });
    try { for await (const _ of s); } catch {}
    return { error: /error in the stream/ };
  },
  N5: async (u) => {
    await fake.mode(K1, 'reset1'); await fake.mode(K2, 'reset1');
    try {
      const s = await genai(u).models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Bill me', config: hdr(UH) });
      try { for await (const _ of s); } catch {}
    } catch {}
    await fake.mode(K1, null); await fake.mode(K2, null);
    return { error: /stream cut/ };
  },
  N6: async (u) => { await genai(u).models.countTokens({ model: 'gemini-2.5-flash', contents: 'How many?' }); },
  N7: async (u) => {
    const r = await raw(u, '/v1beta/models/gemini-embedding-001:embedContent', { content: { parts: [{ text: 'embed me please' }] } });
    assert.equal(r.status, 200);
    return { tokens: { ...ZT, input_tokens: Math.ceil((await fake.last()).body_len / 4) } };
  },
  N8: async (u) => {
    const r = await genai(u).models.embedContent({ model: 'gemini-embedding-001', contents: ['one', 'two'] });
    assert.equal(r.embeddings.length, 2);
    return { tokens: { ...ZT, input_tokens: Math.ceil((await fake.last()).body_len / 4) } };
  },
  N9: async (u) => {                    // raw: @google/genai's generateImages is Vertex-only now
    const r = await raw(u, '/v1beta/models/imagen-4.0-generate-001:predict', PREDICT);
    assert.equal((await r.json()).predictions.length, 2);
  },
  N10: async (u) => { await genai(u).models.list(); return { model: '' }; },
  N11: async (u) => { await genai(u).models.get({ model: 'gemini-2.5-flash' }); },
  N12: async (u) => { await rejects(genai(u).models.generateContent({ model: 'gemini-2.5-flash', contents: 'x', config: hdr({ 'x-fake-status': '400' }) }), 400); },
  N13: async (u) => {
    await rejects(genai(u).models.generateContent({ model: 'gemini-2.5-flash', contents: 'x', config: hdr({ 'x-fake-status': '503' }) }), 503);
    await admin('/admin/pool/reset', 'POST');
  },
  N14: async (u) => { assert.equal((await raw(u, '/v1beta/models/imagen-4.0-generate-001:predict', PREDICT, { 'x-fake-status': '404' })).status, 404); },
  N15: { limits: { rpm: 1 }, rows: 2, call: async (u) => {
    await genai(u).models.generateContent({ model: 'gemini-2.5-flash', contents: 'one' });
    const e = await rejects(genai(u).models.generateContent({ model: 'gemini-2.5-flash', contents: 'two' }), 429);
    assert.match(e.message, /requests per minute/);
    return { refused: true };
  } },
  N16: { limits: { allowed_models: ['gemini-2.0-flash'] }, call: async (u) => {
    await rejects(genai(u).models.generateContent({ model: 'gemini-2.5-flash', contents: 'x' }), 403);
    return { refused: true };
  } },
  N17: async (u) => {
    await cutAfterFirstChunk(await raw(u, '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', GEMBODY,
      { ...UH, 'x-fake-chunks': '40', 'x-fake-interval-ms': '50' }));
    return { error: /client_closed/ };
  },
  N18: async (u) => { const r = await raw(u, '/v1beta/files', null, {}, 'GET'); assert.equal(r.status, 200); return { model: '' }; },
  O1: async (u) => {
    const r = await openai(u).chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Bill me' }] }, { headers: UH });
    assert.equal(r.usage.prompt_tokens, U.promptTokenCount);
  },
  O2: async (u) => {
    const s = await openai(u).chat.completions.create({ model: 'gemini-2.5-flash', stream: true, messages: [{ role: 'user', content: 'Bill me' }] }, { headers: UH });
    for await (const _ of s);
  },
  O3: async (u) => {
    await rejects(openai(u).chat.completions.create({ model: 'gemini-2.5-flash', stream: true, messages: [{ role: 'user', content: 'x' }] },
      { headers: { ...UH, 'x-fake-error-after': '1' } }));
    return { error: /./ };
  },
  O4: async (u) => {
    await rejects(openai(u).chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-fake-status': '500' } }), 500);
    await admin('/admin/pool/reset', 'POST');
  },
  O5: async (u) => {
    await rejects(openai(u).chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-fake-malformed': '1' } }), 502);
    return { error: /malformed/ };
  },
  O6: async (u) => {
    const r = await openai(u).embeddings.create({ model: 'gemini-embedding-001', input: 'embed these few words' });
    assert.ok(r.usage.prompt_tokens > 0);
    return { tokens: { ...ZT, input_tokens: r.usage.prompt_tokens } };
  },
  O7: async (u) => {
    const r = await openai(u).images.generate({ model: 'imagen-4.0-generate-001', prompt: 'a cat', n: 2 });
    assert.equal(r.data.length, 2);
  },
  O8: async (u) => {
    await rejects(openai(u).images.generate({ model: 'gemini-2.5-flash', prompt: 'a cat' }, { headers: UH }), 400);
    return { error: /No image/ };
  },
  O9: async (u) => { await openai(u).models.list(); return { model: '' }; },
  O10: async (u) => { const l = await openai(u).models.list(); assert.ok(l.data.length > 0); return { model: '' }; },
  O11: async (u) => { assert.equal((await openai(u).models.retrieve('gemini-2.5-flash')).id, 'gemini-2.5-flash'); },
  O12: async (u) => { await rejects(openai(u).models.retrieve('no-such-model'), 404); return { model: 'no-such-model' }; },
  O13: async (u) => { await rejects(openai(u).chat.completions.create({ model: 'gemini-2.5-flash', messages: [] }), 400); return { model: '' }; },
  O14: { limits: { rpm: 1 }, rows: 2, call: async (u) => {
    await openai(u).chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'one' }] });
    await rejects(openai(u).chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'two' }] }), 429);
    return { refused: true };
  } },
  O15: async (u) => {
    const ac = new AbortController();
    const s = await openai(u).chat.completions.create({ model: 'gemini-2.5-flash', stream: true, messages: [{ role: 'user', content: 'x' }] },
      { headers: { ...UH, 'x-fake-chunks': '40', 'x-fake-interval-ms': '50' }, signal: ac.signal });
    try { for await (const _ of s) { ac.abort(); } } catch {}
    return { error: /client_closed/ };
  },
};
// The model each call names, when the table's call does not say.
const MODEL = { N6: 'gemini-2.5-flash', N7: 'gemini-embedding-001', N8: 'gemini-embedding-001', N9: 'imagen-4.0-generate-001',
  N14: 'imagen-4.0-generate-001', O6: 'gemini-embedding-001', O7: 'imagen-4.0-generate-001', O11: 'gemini-2.5-flash' };

const TABLE = conformanceTable();

test('the conformance table and the cases name the same rows', () => {
  const ids = Object.keys(TABLE).filter((id) => !id.startsWith('L'));
  assert.ok(ids.length >= 30, `the table has ${ids.length} rows`);
  assert.deepEqual(ids.sort(), Object.keys(CASES).sort());
});

for (const [id, spec] of Object.entries(TABLE)) {
  if (id.startsWith('L')) continue;
  test(`${id} ${spec.call} — ${spec.outcome}`, async () => {
    if (!PRICES) await prices();
    const c = typeof CASES[id] === 'function' ? { call: CASES[id] } : CASES[id];
    const u = await user(c.limits);
    const said = (await c.call(u)) || {};
    const rows = await rowsOf(u, c.rows || 1);
    const row = rows[0];                                  // newest first: the call the row is about
    const yes = (v) => v === 'yes';
    const want = {
      user_id: u.user_id, access_key_id: u.key_id, endpoint: spec.ep, stream: yes(spec.s), status: spec.status,
      http_status: Number(spec.http), is_local: yes(spec.local), refused: !!said.refused,
      model_name: said.model ?? MODEL[id] ?? 'gemini-2.5-flash',
      images: Number(spec.img), attempts: spec.att === 'R' ? 1 + RETRIES : Number(spec.att),
      ...(said.tokens || (spec.tok === 'U' ? UT : ZT)),
    };
    for (const [k, v] of Object.entries(want)) assert.deepEqual(row[k], v, `${id}: ${k}`);
    assert.equal(row.generation_type, spec.ep, 'unlabelled: typed by the endpoint');
    assert.equal(row.request_ip, '127.0.0.1');
    if (row.is_local) assert.equal(row.upstream_key, '');
    else assert.ok(MASKS.includes(row.upstream_key), row.upstream_key);
    if (spec.status === 'success') assert.equal(row.error_message, '');
    else assert.match(row.error_message, said.error || /./);
    assert.ok(row.latency_ms >= 0 && row.latency_ms < 10000, `latency ${row.latency_ms}`);
    assert.ok(row.ttfb_ms >= 0 && row.ttfb_ms <= row.latency_ms, `ttfb ${row.ttfb_ms}`);
    const b = expectedBill(row);
    assert.equal(scaled(row.cost, 9), b.nanos, `${id}: cost ${row.cost}`);
    assert.equal(scaled(row.bill, 4), b.e4, `${id}: bill ${row.bill}`);
    if (spec.tok !== '0' || spec.img !== '0') assert.ok(b.nanos > 0n, `${id}: a billable row bills more than zero`);
  });
}

test('L1: a call without a valid access key leaves no row', async () => {
  const before = (await admin('/admin/usage?limit=1000')).body.rows.length;
  assert.equal((await gw.fetch('/v1beta/models/gemini-2.5-flash:generateContent', { method: 'POST', headers: { 'x-goog-api-key': 'nope' }, body: '{}' })).status, 401);
  const u = await user();
  await genai(u).models.generateContent({ model: 'gemini-2.5-flash', contents: 'x' });
  await rowsOf(u, 1);
  assert.equal((await admin('/admin/usage?limit=1000')).body.rows.length, before + 1);
});

test('an upstream that sends negative and huge counts: the gateway keeps serving, the row is clamped to [0, 2^40]', async () => {
  const u = await user();
  const MAX = 2 ** 40;
  const wild = '{"promptTokenCount":-5,"candidatesTokenCount":9223372036854775807,' +
    '"thoughtsTokenCount":99999999999999999999999,"cachedContentTokenCount":-1,"totalTokenCount":9223372036854775807}';
  const r = await raw(u, '/v1beta/models/gemini-2.5-pro:generateContent', GEMBODY, { 'x-fake-usage': wild });
  assert.equal(r.status, 200);
  assert.match(await r.text(), /99999999999999999999999/, 'the client gets the upstream\'s answer as it came');
  const s = await raw(u, '/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse', GEMBODY, { 'x-fake-usage': wild });
  await s.text();
  const o = await openai(u).chat.completions.create({ model: 'gemini-2.5-pro', messages: [{ role: 'user', content: 'x' }] },
    { headers: { 'x-fake-usage': '{"promptTokenCount":9223372036854775807,"candidatesTokenCount":-9223372036854775807}' } });
  assert.ok(o.choices.length);
  const rows = await rowsOf(u, 3);
  for (const row of rows.slice(1)) {
    assert.deepEqual([row.input_tokens, row.output_tokens, row.thinking_tokens, row.cached_tokens], [0, MAX, MAX, 0], row.endpoint);
    assert.equal(row.status, 'success');
    const b = expectedBill(row);
    assert.equal(scaled(row.cost, 9), b.nanos);
  }
  assert.equal(rows[0].input_tokens, MAX);
  assert.equal(rows[0].output_tokens, 0);
  const again = await genai(u).models.generateContent({ model: 'gemini-2.5-flash', contents: 'still there?' });
  assert.match(again.text, /Hello from fake/);
  const stats = await admin(`/admin/users/${u.user_id}`);
  assert.ok(stats.body.usage.today_tokens <= 8 * MAX && stats.body.usage.today_tokens > 0);
});
