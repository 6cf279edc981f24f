// The ledger you can bill from (issue 9).  The conformance table in docs/ledger.md is the spec:
// this file reads it, makes every row's call through the official SDK where one reaches it (raw
// HTTP otherwise) against the fake upstream with known usageMetadata (x-fake-usage), fetches the
// row from /admin/usage and compares every field, and the bill to the nano-dollar with the price
// table from GET /admin/prices.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { startFake, startGateway, until, sleep, ACCESS, ADMIN } from './harness.mjs';

const GEN_FLASH = '/v1beta/models/gemini-2.5-flash:generateContent';

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
let PRICES, ALIASES, VERSIONS;
async function prices() {
  const r = await admin('/admin/prices');
  assert.equal(r.status, 200);
  PRICES = r.body.prices;
  VERSIONS = r.body.versions;
  ALIASES = Object.fromEntries(r.body.aliases.map((a) => [a.alias, a.model]));
}
// The documented rules: the exact name; an alias; the name without a trailing @…, -preview,
// -exp, -latest or -<digits>, again; '*' if priced; else unpriced.
function priceOf(model) {
  const find = (m) => PRICES.find((p) => p.model === m);
  let name = model.startsWith('models/') ? model.slice(7) : model;
  for (;;) {
    const p = find(name) || (ALIASES[name] && find(ALIASES[name]));
    if (p) return p;
    const at = name.lastIndexOf('@'), dash = name.lastIndexOf('-');
    if (at >= 0) { name = name.slice(0, at); continue; }
    if (dash <= 0 || !/^(preview|exp|latest|\d{1,8})$/.test(name.slice(dash + 1))) break;
    name = name.slice(0, dash);
  }
  return find('*') || null;
}
const min = (a, b) => (a < b ? a : b);
// The documented bill (docs/ledger.md, "Money"), in pico-USD, from one price version.
function billWith(p, row) {
  const m = (k) => scaled(p[k], 6), t = (k) => BigInt(row[k] ?? 0);
  const inp = t('input_tokens'), cached = min(t('cached_tokens'), inp), audio = min(t('audio_tokens'), inp);
  // cached audio is part of both the audio and the cached tokens: billed once, at the audio cache rate
  const acached = min(min(t('cached_audio_tokens'), audio), cached), textCached = cached - acached;
  const audioFresh = min(audio - acached, inp - cached), textFresh = inp - cached - audioFresh;
  const out = t('output_tokens'), imageOut = min(t('image_tokens'), out);
  const lng = BigInt(p.long_context_tokens) > 0n && inp > BigInt(p.long_context_tokens);
  const pin = m(lng ? 'input_long' : 'input'), pout = m(lng ? 'output_long' : 'output'), pcached = m(lng ? 'cached_long' : 'cached');
  let pico = (textFresh + t('tool_tokens')) * pin + audioFresh * m('audio_input') + textCached * pcached +
    acached * m('audio_cached') +
    (out - imageOut + t('thinking_tokens')) * pout + imageOut * m('image_output') + t('images') * m('per_image') * 1000000n +
    (row.status === 'success' ? m('per_request') * 1000000n : 0n) + t('storage_tokens') * m('storage_per_hour') * t('storage_seconds') / 3600n;
  if (row.endpoint === 'batch') pico = pico * BigInt(p.batch_percent) / 100n;   // batch mode
  return pico;
}
function expectedBill(row, atMax = null) {
  const p = priceOf(row.model_name);
  const use = p || atMax;
  const pico = use && !row.refused ? billWith(use, row) : 0n;
  return { nanos: (pico + 500n) / 1000n, e4: (pico + 50000000n) / 100000000n, version: p ? p.id : null,
           model_id: p ? p.model_id : null, unpriced: !p && !!row.model_name };
}
// GEMGATE_UNPRICED=max: every field at its highest over the whole table, flat.
function topPrice() {
  const top = { long_context_tokens: 0 };
  for (const k of ['input', 'input_long', 'output', 'output_long', 'cached', 'cached_long', 'audio_input', 'audio_cached',
    'image_output', 'per_image', 'per_request', 'storage_per_hour']) {
    let best = 0n;
    for (const v of VERSIONS) if (scaled(v[k], 6) > best) best = scaled(v[k], 6);
    top[k] = `${best / 1000000n}.${String(best % 1000000n).padStart(6, '0')}`;
  }
  for (const [a, b] of [['input', 'input_long'], ['output', 'output_long'], ['cached', 'cached_long']]) {
    const hi = scaled(top[a], 6) > scaled(top[b], 6) ? top[a] : top[b];
    top[a] = top[b] = hi;
  }
  return top;
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

// Batches: two inlined requests; each finished response carries BU (x-fake-usage at creation).
const BATCH_SRC = [{ contents: [{ role: 'user', parts: [{ text: 'first' }] }] }, { contents: [{ role: 'user', parts: [{ text: 'second' }] }] }];
const BU = { promptTokenCount: 1000, candidatesTokenCount: 200, thoughtsTokenCount: 50, cachedContentTokenCount: 100, totalTokenCount: 1250,
  promptTokensDetails: [{ modality: 'TEXT', tokenCount: 700 }, { modality: 'AUDIO', tokenCount: 300 }],
  cacheTokensDetails: [{ modality: 'TEXT', tokenCount: 60 }, { modality: 'AUDIO', tokenCount: 40 }] };
const BT = { input_tokens: 2000, output_tokens: 400, thinking_tokens: 100, cached_tokens: 200, audio_tokens: 600, cached_audio_tokens: 80 };
// Cached audio: 300 of the prompt's 1200 tokens are audio, 80 of its 200 cached ones are.
const AU = { ...U, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 900 }, { modality: 'AUDIO', tokenCount: 300 }],
  cacheTokensDetails: [{ modality: 'TEXT', tokenCount: 120 }, { modality: 'AUDIO', tokenCount: 80 }] };
const AT = { ...UT, audio_tokens: 300, cached_audio_tokens: 80 };

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
  N19: async (u) => {
    const b = await genai(u).batches.create({ model: 'gemini-2.5-flash', src: BATCH_SRC, config: { displayName: 'n19' } });
    assert.match(b.name, /^batches\//);
    assert.equal(b.state, 'JOB_STATE_PENDING');
  },
  N20: { rows: 5, call: async (u) => {
    const ai = genai(u, { headers: { 'x-fake-usage': JSON.stringify(BU) } });
    const b = await ai.batches.create({ model: 'gemini-2.5-flash', src: BATCH_SRC });
    let got;
    for (let i = 0; i < 3; i++) got = await genai(u).batches.get({ name: b.name });   // running, finished, finished again
    assert.equal(got.state, 'JOB_STATE_SUCCEEDED');
    assert.equal(got.dest.inlinedResponses.length, 2);
    return { pick: (r) => r.endpoint === 'batch' && r.input_tokens > 0, tokens: BT };
  } },
  N21: { rows: 2, call: async (u) => {
    const ai = genai(u);
    const e0 = Date.now() + 3600e3;
    const c = await ai.caches.create({ model: 'gemini-2.5-flash', config: { contents: 'Cache these words for a while', expireTime: new Date(e0).toISOString() } });
    const up = await ai.caches.update({ name: c.name, config: { expireTime: new Date(e0 + 7200e3).toISOString() } });
    assert.equal(Date.parse(up.expireTime), e0 + 7200e3);
    return { extra: { storage_tokens: c.usageMetadata.totalTokenCount, storage_seconds: 7200 } };
  } },
  N22: { rows: 2, call: async (u) => {
    const ai = genai(u);
    const e0 = Date.now() + 3600e3;
    const c = await ai.caches.create({ model: 'gemini-2.5-flash', config: { contents: 'Cache these words for a while', expireTime: new Date(e0).toISOString() } });
    await ai.caches.update({ name: c.name, config: { expireTime: new Date(e0 - 1800e3).toISOString() } });
    return { extra: { storage_seconds: 0 } };
  } },
  N23: async (u) => {
    await genai(u).models.generateContent({ model: 'gemini-2.5-flash', contents: 'Listen', config: hdr({ 'x-fake-usage': JSON.stringify(AU) }) });
    return { tokens: AT };
  },
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
    const row = said.pick ? rows.find(said.pick) : rows[0];   // newest first: the call the row is about
    assert.ok(row, `${id}: the row`);
    const yes = (v) => v === 'yes';
    const want = {
      user_id: u.user_id, access_key_id: u.key_id, endpoint: spec.ep, stream: yes(spec.s), status: spec.status,
      http_status: Number(spec.http), is_local: yes(spec.local), refused: !!said.refused,
      model_name: said.model ?? MODEL[id] ?? 'gemini-2.5-flash',
      images: Number(spec.img), attempts: spec.att === 'R' ? 1 + RETRIES : Number(spec.att),
      ...(said.tokens || (spec.tok === 'U' ? UT : ZT)), ...said.extra,
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
    if (!row.refused) assert.equal(row.price_version, b.version, `${id}: the version that billed it`);
    if (!row.refused) assert.equal(row.model_id, b.model_id, `${id}: model_id`);
    assert.equal(row.unpriced, b.unpriced, `${id}: unpriced`);
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

// ---- prices as data: versions, aliases, what cannot be priced ----

test('GET /admin/prices: the shipped list as versions with effective_from, every field, the aliases and the rules', async () => {
  const r = await admin('/admin/prices');
  assert.equal(r.status, 200);
  const byModel = Object.fromEntries(r.body.prices.map((p) => [p.model, p]));
  for (const m of ['gemini-2.5-pro', 'gemini-2.5-flash', 'gemini-2.5-flash-lite', 'gemini-2.0-flash', 'gemini-embedding-001',
    'imagen-4.0-generate-001', 'gemini-3-pro-preview', 'gemini-3-flash-preview'])
    assert.ok(byModel[m], m);
  const pro = byModel['gemini-2.5-pro'];
  assert.equal(pro.source, 'default');
  assert.equal(pro.effective_from, '2026-12-01T00:00:00Z');
  assert.deepEqual([pro.input, pro.input_long, pro.output, pro.output_long, pro.cached, pro.long_context_tokens, pro.batch_percent],
    ['1.250000', '2.500000', '10.000000', '15.000000', '0.125000', 200000, 50]);
  assert.equal(byModel['gemini-2.5-flash'].audio_input, '1.000000');
  assert.equal(byModel['imagen-4.0-generate-001'].per_image, '0.040000');
  assert.ok(!('thinking' in pro), 'thinking is billed as output');
  assert.ok(r.body.aliases.some((a) => a.alias === 'gemini-pro-latest' && a.model === 'gemini-2.5-pro'));
  assert.match(r.body.rules, /alias/);
  assert.match(r.body.unpriced, /refuse for users with a budget/);
  assert.ok(r.body.versions.length >= r.body.prices.length);
});

test('a price change is a new version: later calls bill at it, earlier rows keep theirs; the past cannot be changed', async () => {
  const u = await user();
  const call = async () => genai(u).models.generateContent({ model: 'gemini-2.0-flash-lite', contents: 'v', config: hdr(UH) });
  await call();
  const [first] = await rowsOf(u, 1);
  const old = await admin('/admin/prices');
  const v1 = old.body.prices.find((p) => p.model === 'gemini-2.0-flash-lite');
  assert.equal(first.price_version, v1.id);
  const put = await admin('/admin/prices/gemini-2.0-flash-lite', 'PUT', { output: '9.5' });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.notEqual(put.body.id, v1.id);
  assert.equal(put.body.model_id, v1.model_id, 'the same model');
  assert.equal(put.body.input, v1.input, 'fields left out are carried');
  assert.equal(put.body.source, 'admin');
  await prices();
  await call();
  const rows = await rowsOf(u, 2);
  assert.equal(rows[0].price_version, put.body.id);
  assert.equal(scaled(rows[0].cost, 9), expectedBill(rows[0]).nanos);
  assert.equal(rows[1].cost, first.cost, 'the earlier row is not rebilled');
  assert.ok(scaled(rows[0].cost, 9) > scaled(first.cost, 9));
  for (const bad of [{ output: '1', effective_from: '2020-01-01T00:00:00Z' }, { output: -1 }, { thinking: '1' }, { batch_percent: 101 },
    { alias_of: 'no-such-model' }, {}, { output: '1', effective_from: 'soon' }])
    assert.equal((await admin('/admin/prices/gemini-2.0-flash-lite', 'PUT', bad)).status, 400, JSON.stringify(bad));
  const future = await admin('/admin/prices/gemini-2.0-flash-lite', 'PUT', { output: '20', effective_from: '2099-01-01T00:00:00Z' });
  assert.equal(future.status, 200);
  const now = await admin('/admin/prices');
  assert.equal(now.body.prices.find((p) => p.model === 'gemini-2.0-flash-lite').id, put.body.id, 'not in force yet');
  assert.ok(now.body.versions.some((v) => v.id === future.body.id));
  await prices();
});

test('aliases: gemini-pro-latest and dated previews bill as their family; an admin adds one', async () => {
  const u = await user();
  await genai(u).models.generateContent({ model: 'gemini-pro-latest', contents: 'a', config: hdr(UH) });
  await genai(u).models.generateContent({ model: 'gemini-2.5-flash-preview-09-2025', contents: 'a', config: hdr(UH) });
  const put = await admin('/admin/prices/my-house-model', 'PUT', { alias_of: 'gemini-2.5-flash-lite' });
  assert.equal(put.status, 200);
  await prices();
  await genai(u).models.generateContent({ model: 'my-house-model', contents: 'a', config: hdr(UH) });
  const rows = await rowsOf(u, 3);
  const want = ['gemini-2.5-flash-lite', 'gemini-2.5-flash', 'gemini-2.5-pro'];
  rows.forEach((row, i) => {
    const p = PRICES.find((x) => x.model === want[i]);
    assert.equal(row.price_version, p.id, row.model_name);
    assert.equal(row.unpriced, false);
    assert.equal(scaled(row.cost, 9), (billWith(p, row) + 500n) / 1000n);
  });
});

test('audio input, image output and tool-use tokens are priced apart; above 200k a Pro prompt bills the long rates', async () => {
  const u = await user();
  const img = { promptTokenCount: 1000, candidatesTokenCount: 1300, totalTokenCount: 2310, toolUsePromptTokenCount: 10,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: 600 }, { modality: 'AUDIO', tokenCount: 400 }],
    candidatesTokensDetails: [{ modality: 'TEXT', tokenCount: 10 }, { modality: 'IMAGE', tokenCount: 1290 }] };
  await genai(u).models.generateContent({ model: 'gemini-2.5-flash-image', contents: 'draw', config: hdr({ 'x-fake-usage': JSON.stringify(img) }) });
  const long = { promptTokenCount: 250000, candidatesTokenCount: 1000, totalTokenCount: 251000 };
  await genai(u).models.generateContent({ model: 'gemini-2.5-pro', contents: 'long', config: hdr({ 'x-fake-usage': JSON.stringify(long) }) });
  const [lrow, irow] = await rowsOf(u, 2);
  assert.deepEqual([irow.audio_tokens, irow.image_tokens, irow.tool_tokens, irow.output_tokens], [400, 1290, 10, 1300]);
  const fi = PRICES.find((p) => p.model === 'gemini-2.5-flash-image');
  // 600 text + 10 tool at $0.30, 400 audio at the audio rate, 10 text out at $2.50, 1290 image tokens at $30
  const pico = 610n * scaled(fi.input, 6) + 400n * scaled(fi.audio_input, 6) + 10n * scaled(fi.output, 6) + 1290n * scaled(fi.image_output, 6);
  assert.equal(scaled(irow.cost, 9), (pico + 500n) / 1000n);
  assert.equal(scaled(lrow.cost, 9), (250000n * 2500000n + 1000n * 15000000n + 500n) / 1000n, '$2.50 in, $15 out');
});

test('a context cache: its storage is billed for the TTL asked (tokens × hours × the storage price)', async () => {
  const u = await user();
  const r = await raw(u, '/v1beta/cachedContents', { model: 'models/gemini-2.5-flash', ttl: '7200s',
    contents: [{ role: 'user', parts: [{ text: 'x'.repeat(4000) }] }] });
  assert.equal(r.status, 200);
  const made = await r.json();
  const [row] = await rowsOf(u, 1);
  assert.equal(row.endpoint, 'cache');
  assert.equal(row.model_name, 'gemini-2.5-flash');
  assert.equal(row.storage_tokens, made.usageMetadata.totalTokenCount);
  assert.equal(row.storage_seconds, 7200);
  const p = PRICES.find((x) => x.model === 'gemini-2.5-flash');
  assert.equal(scaled(row.cost, 9), (BigInt(row.storage_tokens) * scaled(p.storage_per_hour, 6) * 7200n / 3600n + 500n) / 1000n);
  assert.ok(scaled(row.cost, 9) > 0n);
});

test('unpriced: with a budget, refused 403 in the caller\'s shape naming the model; without one, served and billed zero, the row says unpriced', async () => {
  const M = 'gemini-2.5-flash-native-audio-preview-09-2025';
  const rich = await user(), poor = await user({ daily_budget: '0.0001' });
  const ok = await genai(rich).models.generateContent({ model: M, contents: 'x', config: hdr(UH) });
  assert.match(ok.text, /Hello from fake/);
  const e = await rejects(genai(poor).models.generateContent({ model: M, contents: 'x' }), 403);
  assert.match(e.message, new RegExp(`${M}.*no price`));
  const oe = await rejects(openai(poor).chat.completions.create({ model: M, messages: [{ role: 'user', content: 'x' }] }), 403);
  assert.equal(oe.error.type, 'permission_error');
  assert.match(oe.message, /no price/);
  // the calls the gateway cannot bill are refused for a budget too, whatever the model: a batch
  // whose requests (and so results) are a file, an embedding batch, a TTL change of a cache it
  // never saw created (inlined batches and known caches are billed: the tests below)
  const b = await raw(poor, '/v1beta/models/gemini-2.5-flash:batchGenerateContent', { batch: { input_config: { file_name: 'files/abc' } } });
  assert.equal(b.status, 403);
  assert.match((await b.json()).error.message, /requests are in a file .* cannot be billed by this gateway.*budget/);
  const eb = await raw(poor, '/v1beta/models/gemini-embedding-001:asyncBatchEmbedContents', { batch: { input_config: { requests: { requests: [] } } } });
  assert.equal(eb.status, 403);
  assert.match((await eb.json()).error.message, /embedding batch/);
  const patch = await raw(poor, '/v1beta/cachedContents/abc', { ttl: '999999s' }, {}, 'PATCH');
  assert.equal(patch.status, 403);
  assert.match((await patch.json()).error.message, /did not see created/);
  // priced calls of the poor user still go through
  await genai(poor).models.generateContent({ model: 'gemini-pro-latest', contents: 'x' });
  const [free] = await rowsOf(rich, 1);
  assert.deepEqual([free.unpriced, free.status, free.cost, free.price_version], [true, 'success', '0.000000000', null]);
  const refused = (await rowsOf(poor, 6)).filter((r) => r.refused);
  assert.equal(refused.length, 5);
  for (const r of refused) assert.deepEqual([r.unpriced, r.http_status, r.status, r.cost], [true, 403, 'failed', '0.000000000']);
});

test('GEMGATE_UNPRICED=max bills an unknown model at the table\'s highest prices; =refuse refuses everyone, static keys too', async () => {
  const fake2 = await startFake();
  const gmax = await startGateway({ GEMGATE_UPSTREAM: fake2.url, GEMGATE_KEYS: K1, GEMGATE_UNPRICED: 'max' });
  const gref = await startGateway({ GEMGATE_UPSTREAM: fake2.url, GEMGATE_KEYS: K1, GEMGATE_UNPRICED: 'refuse' });
  try {
    const adm = (g, p) => g.fetch(p, { headers: { authorization: `Bearer ${ADMIN}` } }).then((r) => r.json());
    const r = await gmax.call('/v1beta/models/gemini-exp-1206:generateContent', GEMBODY, UH);
    assert.equal(r.status, 200);
    const rows = await until(async () => { const x = (await adm(gmax, '/admin/usage')).rows; return x.length && x; });
    const pr = await adm(gmax, '/admin/prices');
    const saved = [PRICES, VERSIONS, ALIASES];
    [PRICES, VERSIONS] = [pr.prices, pr.versions];
    const b = expectedBill(rows[0], topPrice());
    [PRICES, VERSIONS, ALIASES] = saved;
    assert.equal(rows[0].unpriced, true);
    assert.equal(scaled(rows[0].cost, 9), b.nanos);
    assert.ok(b.nanos > 0n);
    assert.match((await adm(gmax, '/admin/prices')).unpriced, /^max$/);
    const s = await gref.call('/v1beta/models/gemini-exp-1206:generateContent', GEMBODY);
    assert.equal(s.status, 403);
    assert.equal((await gref.call(GEN_FLASH, GEMBODY)).status, 200, 'priced models are served');
  } finally {
    await gmax.stop(); await gref.stop(); await fake2.stop();
  }
});

// ---- budgets that hold under concurrency ----

test('64 concurrent calls by a user with $0.01 left spend at most the budget plus one call; then 429 until midnight, in either shape', async () => {
  const u = await user({ daily_budget: '0.01' });
  const usage = { promptTokenCount: 1000, candidatesTokenCount: 600, totalTokenCount: 1600 };   // $0.0018 on 2.5 Flash
  const body = { contents: [{ parts: [{ text: 'spend' }] }], generationConfig: { maxOutputTokens: 2000 } };
  const one = async () => {
    const r = await raw(u, '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', body,
      { 'x-fake-usage': JSON.stringify(usage), 'x-fake-chunks': '4', 'x-fake-interval-ms': '60' });
    await r.text();
    return { status: r.status, retry: r.headers.get('retry-after') };
  };
  let results = [];
  for (let wave = 0; wave < 12 && !results.some((x) => x.status === 429 && Number(x.retry) > 1); wave++)
    results = results.concat(await Promise.all(Array.from({ length: 64 }, one)));
  const served = results.filter((x) => x.status === 200).length;
  const held = results.filter((x) => x.status === 429 && x.retry === '1').length;
  assert.ok(served >= 2, `served ${served}`);
  assert.ok(held > 0, 'calls were held back while others were in flight');
  assert.ok(results.every((x) => x.status === 200 || x.status === 429));
  const rows = await until(async () => {
    const r = (await admin(`/admin/usage?user=${u.user_id}&limit=1000`)).body.rows;
    return r.length === results.length && r;
  }, 8000);
  assert.ok(rows, 'one row per call');
  const spent = rows.reduce((a, r) => a + scaled(r.cost, 9), 0n);
  const per = 1800000n;
  assert.equal(BigInt(rows.filter((r) => r.status === 'success').length) * per, spent);
  assert.ok(spent <= 10000000n + per, `spent ${spent} nanos`);
  assert.ok(spent >= 10000000n, 'the budget was used up');
  // over budget now: 429 with Retry-After until 00:00 UTC, Google's shape and OpenAI's
  const toMidnight = Math.ceil((Math.ceil(Date.now() / 86400000) * 86400000 - Date.now()) / 1000);
  const g = await raw(u, '/v1beta/models/gemini-2.5-flash:generateContent', GEMBODY);
  assert.equal(g.status, 429);
  assert.ok(Math.abs(Number(g.headers.get('retry-after')) - toMidnight) <= 2);
  assert.equal((await g.json()).error.status, 'RESOURCE_EXHAUSTED');
  const o = await rejects(openai(u).chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] }), 429);
  assert.equal(o.error.type, 'rate_limit_error');
  assert.match(o.message, /daily cost budget reached/);
  assert.ok(Math.abs(Number(o.headers.get('retry-after')) - toMidnight) <= 2);
  const st = (await admin(`/admin/users/${u.user_id}`)).body.usage;
  assert.equal(st.in_flight, 0);
  assert.equal(st.reserved, '0.000000', 'every reservation was released');
});

// ---- batches and cache TTL changes (docs/ledger.md, "Batches and cache TTL changes") ----

const usd6 = (nanos) => { const u = (nanos + 500n) / 1000n; return `${u / 1000000n}.${String(u % 1000000n).padStart(6, '0')}`; };
const pollDone = async (ai, name) => {
  for (let i = 0; i < 5; i++) { const b = await ai.batches.get({ name }); if (b.state === 'JOB_STATE_SUCCEEDED') return b; }
  assert.fail(`${name} never finished`);
};

test('a budgeted user\'s batch reserves its estimate at the batch price until its bill, then settles to the billed cost; over budget, 429 in the caller\'s shape', async () => {
  if (!PRICES) await prices();
  const p = PRICES.find((x) => x.model === 'gemini-2.5-flash');
  const u = await user({ daily_budget: '0.004' });
  const ai = genai(u);
  const src = [{ contents: 'one', config: { maxOutputTokens: 1000 } }, { contents: 'two', config: { maxOutputTokens: 1000 } }];
  const b1 = await ai.batches.create({ model: 'gemini-2.5-flash', src });
  const len = BigInt((await fake.last()).body_len);
  // ⌈body bytes / 4⌉ prompt tokens at the input price + 2 requests × maxOutputTokens at the output price, at batch_percent
  const est = (((len + 3n) / 4n) * scaled(p.input, 6) + 2n * 1000n * scaled(p.output, 6)) * BigInt(p.batch_percent) / 100n;
  const estNanos = (est + 500n) / 1000n;
  let st = (await admin(`/admin/users/${u.user_id}`)).body.usage;
  assert.deepEqual([st.in_flight, st.reserved], [1, usd6(estNanos)], 'the creation\'s reservation is held by the batch');
  const b2 = await ai.batches.create({ model: 'gemini-2.5-flash', src });
  assert.ok(2n * estNanos >= 4000000n, 'two reservations fill the budget');
  const held = await rejects(ai.batches.create({ model: 'gemini-2.5-flash', src }), 429);
  assert.match(held.message, /in flight/);
  await pollDone(ai, b1.name);
  await pollDone(ai, b2.name);
  const rows = await until(async () => {
    const r = (await admin(`/admin/usage?user=${u.user_id}&type=batch&limit=100`)).body.rows.filter((x) => x.input_tokens > 0);
    return r.length === 2 && r;
  });
  assert.ok(rows, 'two billed batch rows');
  let spent = 0n;
  for (const r of rows) {
    assert.equal(r.output_tokens, 14, 'the fake\'s 7 candidates per response, summed');
    assert.equal(r.thinking_tokens, 24);
    assert.equal(scaled(r.cost, 9), expectedBill(r).nanos);
    spent += scaled(r.cost, 9);
  }
  st = await until(async () => { const x = (await admin(`/admin/users/${u.user_id}`)).body.usage; return x.in_flight === 0 && x; });
  assert.equal(st.reserved, '0.000000', 'both reservations released by their bills');
  assert.equal(st.today_cost, usd6(spent), 'spent is what the bills say: the GETs that saw the batches finished bill nothing');
  for (const r of (await admin(`/admin/usage?user=${u.user_id}&type=other&limit=100`)).body.rows) assert.deepEqual([r.input_tokens, r.cost], [0, '0.000000000']);
  // a third batch fits now; a user over budget gets the usual 429 until midnight, in Google's shape
  const b3 = await ai.batches.create({ model: 'gemini-2.5-flash', src });
  assert.equal((await admin(`/admin/users/${u.user_id}`)).body.usage.in_flight, 1);
  await ai.batches.delete({ name: b3.name });          // deleted unseen: never billed, its reservation released
  st = (await admin(`/admin/users/${u.user_id}`)).body.usage;
  assert.deepEqual([st.in_flight, st.reserved], [0, '0.000000']);
  const poor = await user({ daily_budget: '0.0001' });
  await genai(poor).models.generateContent({ model: 'gemini-2.5-flash', contents: 'spend', config: hdr(UH) });
  await until(async () => (await admin(`/admin/users/${poor.user_id}`)).body.usage.today_cost !== '0.000000');
  const r = await raw(poor, '/v1beta/models/gemini-2.5-flash:batchGenerateContent', { batch: { input_config: { requests: { requests: [{ request: GEMBODY }] } } } });
  assert.equal(r.status, 429);
  assert.ok(Number(r.headers.get('retry-after')) > 1);
  const e = (await r.json()).error;
  assert.deepEqual([e.code, e.status], [429, 'RESOURCE_EXHAUSTED']);
  assert.match(e.message, /daily cost budget reached/);
});

test('a batch whose finished answer is far larger than any capture (600 responses in both lists, over twice the 256 KiB capture) is billed for every response once', async () => {
  const u = await user();
  const src = Array.from({ length: 600 }, (_, i) => ({ contents: [{ role: 'user', parts: [{ text: `request ${i}` }] }] }));
  const b = await genai(u, { headers: { 'x-fake-usage': JSON.stringify(BU) } }).batches.create({ model: 'gemini-2.5-flash', src });
  await genai(u).batches.get({ name: b.name });                                        // running
  const size = (await (await raw(u, `/v1beta/${b.name}`, null, {}, 'GET')).text()).length; // finished: the whole answer
  assert.ok(size > 2 * 256 * 1024, `the finished answer is ${size} bytes`);
  const got = await genai(u).batches.get({ name: b.name });
  assert.equal(got.dest.inlinedResponses.length, 600);
  const rows = await rowsOf(u, 5);                                                     // create, 3 GETs, the bill
  const bill = rows.filter((r) => r.endpoint === 'batch' && r.input_tokens > 0);
  assert.equal(bill.length, 1, 'one billed row');
  assert.deepEqual([bill[0].input_tokens, bill[0].output_tokens, bill[0].thinking_tokens, bill[0].cached_tokens, bill[0].cached_audio_tokens],
    [600 * 1000, 600 * 200, 600 * 50, 600 * 100, 600 * 40], 'every response counted, neither list twice');
});

test('a batch is billed once: polled by two keys of its user at once, and again after a restart on the same database', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gemgate-batch-'));
  const env = { GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: `${K1},${K2}`, GEMGATE_DB: path.join(dir, 'b.db') };
  let g = await startGateway(env);
  try {
    const adm = async (q) => (await g.fetch(q, { headers: { authorization: `Bearer ${ADMIN}` } })).json();
    const u = await (await g.fetch('/admin/config/user-key', { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'batcher' }) })).json();
    const k2 = await (await g.fetch('/admin/config/user-key', { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: u.user_id }) })).json();
    const ai = (key) => new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: g.url, retryOptions: { attempts: 1 }, headers: { 'x-fake-usage': JSON.stringify(BU) } } });
    const b = await ai(u.key).batches.create({ model: 'gemini-2.5-flash', src: BATCH_SRC });
    await ai(u.key).batches.get({ name: b.name });                       // running
    const seen = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => ai(i % 2 ? k2.key : u.key).batches.get({ name: b.name })));
    assert.ok(seen.every((x) => x.state === 'JOB_STATE_SUCCEEDED'));
    const billed = async () => (await adm(`/admin/usage?user=${u.user_id}&type=batch&limit=100`)).rows.filter((r) => r.input_tokens > 0);
    const once = await until(async () => { const r = await billed(); return r.length && r; });
    await sleep(100);
    assert.equal((await billed()).length, 1, 'one billed row for six concurrent polls');
    assert.deepEqual([once[0].input_tokens, once[0].cached_audio_tokens, once[0].user_id], [BT.input_tokens, BT.cached_audio_tokens, u.user_id]);
    await g.stop();
    g = await startGateway(env);
    const again = await ai(u.key).batches.get({ name: b.name });
    assert.equal(again.state, 'JOB_STATE_SUCCEEDED');
    await sleep(100);
    assert.equal((await billed()).length, 1, 'not billed again after a restart');
    assert.equal((await adm(`/admin/usage?user=${u.user_id}&limit=100`)).rows.length, 1 + 1 + 6 + 1 + 1, 'create, 7 GETs, the bill');
  } finally {
    await g.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('cache TTL changes bill only storage beyond the furthest expiry billed: extend, shorten (no credit), extend again', async () => {
  if (!PRICES) await prices();
  const p = PRICES.find((x) => x.model === 'gemini-2.5-flash');
  const u = await user();
  const ai = genai(u);
  const e0 = Date.now() + 3600e3, at = (ms) => new Date(ms).toISOString();
  const c = await ai.caches.create({ model: 'gemini-2.5-flash', config: { contents: 'Cache me', expireTime: at(e0) } });
  const tokens = BigInt(c.usageMetadata.totalTokenCount);
  await ai.caches.update({ name: c.name, config: { expireTime: at(e0 + 1800e3) } });   // +30 min
  await ai.caches.update({ name: c.name, config: { expireTime: at(e0 - 600e3) } });    // shortened: nothing
  await ai.caches.update({ name: c.name, config: { expireTime: at(e0 + 3600e3) } });   // billed from e0+30min: +30 min
  const rows = (await rowsOf(u, 4)).reverse();
  assert.deepEqual(rows.map((r) => [r.endpoint, r.storage_seconds]), [['cache', 3600], ['cache_update', 1800], ['cache_update', 0], ['cache_update', 1800]]);
  for (const r of rows.slice(1)) {
    assert.equal(r.storage_tokens, Number(tokens), 'the tokens recorded at creation');
    assert.equal(scaled(r.cost, 9), (tokens * scaled(p.storage_per_hour, 6) * BigInt(r.storage_seconds) / 3600n + 500n) / 1000n);
    assert.equal(r.price_version, p.id);
  }
  assert.ok(scaled(rows[1].cost, 9) > 0n);
  // a budgeted user's TTL change of a cache it created is billed, not refused
  const b = await user({ daily_budget: '1' });
  const cb = await genai(b).caches.create({ model: 'gemini-2.5-flash', config: { contents: 'Cache me', expireTime: at(e0) } });
  await genai(b).caches.update({ name: cb.name, config: { expireTime: at(e0 + 3600e3) } });
  const [br] = await rowsOf(b, 2);
  assert.deepEqual([br.endpoint, br.status, br.storage_seconds, br.refused], ['cache_update', 'success', 3600, false]);
});

// ---- reconciliation ----

test('reconcile: after a mixed load with refusals, errors, disconnects and a SIGTERM mid-load, rows, rollups and counters agree to the nano-dollar', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gemgate-recon-'));
  const env = { GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: `${K1},${K2}`, GEMGATE_DB: path.join(dir, 'r.db'), GEMGATE_MAX_RETRIES: '1' };
  let g = await startGateway(env);
  const adm = async (p, method = 'GET', body) => {
    const r = await g.fetch(p, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, body: await r.json() };
  };
  const mk = async (limits) => (await adm('/admin/config/user-key', 'POST', { name: `r${Math.random().toString(36).slice(2, 7)}`, ...limits })).body;
  const users = [await mk({ daily_budget: '0.02' }), await mk({ rpm: 20 }), await mk({}), { key: ACCESS }];
  const body = (n) => JSON.stringify({ contents: [{ parts: [{ text: `mixed ${n}` }] }] });
  const usage = (n) => JSON.stringify({ promptTokenCount: 100 + n, candidatesTokenCount: 7 * n + 1, thoughtsTokenCount: n % 3,
    cachedContentTokenCount: n % 5, totalTokenCount: 200 + 8 * n });
  const kinds = [
    (k, n) => ({ p: '/v1beta/models/gemini-2.5-flash:generateContent', h: { 'x-goog-api-key': k, 'x-fake-usage': usage(n) } }),
    (k, n) => ({ p: '/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse', h: { 'x-goog-api-key': k, 'x-fake-usage': usage(n), 'x-fake-chunks': '3', 'x-fake-interval-ms': '20' } }),
    (k, n) => ({ p: '/v1/chat/completions', h: { authorization: `Bearer ${k}`, 'x-fake-usage': usage(n) },
                 b: JSON.stringify({ model: 'gemini-2.5-flash-lite', stream: n % 2 === 0, messages: [{ role: 'user', content: `m${n}` }] }) }),
    (k, n) => ({ p: '/v1/embeddings', h: { authorization: `Bearer ${k}` }, b: JSON.stringify({ model: 'gemini-embedding-001', input: `e${n}` }) }),
    (k) => ({ p: '/v1/images/generations', h: { authorization: `Bearer ${k}` }, b: JSON.stringify({ model: 'imagen-4.0-fast-generate-001', prompt: 'p', n: 2 }) }),
    (k) => ({ p: '/v1beta/models/gemini-2.5-flash:generateContent', h: { 'x-goog-api-key': k, 'x-fake-status': '503' } }),
    (k) => ({ p: '/v1beta/models/gemini-2.5-flash-native-audio-preview-09-2025:generateContent', h: { 'x-goog-api-key': k } }),
    (k) => ({ p: '/v1/models', h: { authorization: `Bearer ${k}` }, get: true }),
    (k) => ({ p: '/v1/chat/completions', h: { authorization: `Bearer ${k}` }, b: '{"model":"gemini-2.5-flash","messages":[]}' }),
    (k, n) => ({ p: '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', h: { 'x-goog-api-key': k, 'x-fake-usage': usage(n), 'x-fake-chunks': '30', 'x-fake-interval-ms': '20' }, cut: true }),
  ];
  let n = 0, stop = false;
  const worker = async (w) => {
    while (!stop) {
      const i = n++, u = users[(i + w) % users.length], c = kinds[i % kinds.length](u.key, i);
      const ac = new AbortController();
      try {
        const r = await g.fetch(c.p, { method: c.get ? 'GET' : 'POST', headers: { 'content-type': 'application/json', ...c.h },
          body: c.get ? undefined : c.b ?? body(i), signal: ac.signal });
        if (c.cut) { const rd = r.body.getReader(); await rd.read(); ac.abort(); } else await r.text();
      } catch {}
    }
  };
  const check = async (label) => {
    const r = await adm('/admin/usage/reconcile');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.mismatches, [], `${label}: ${JSON.stringify(r.body.mismatches)}`);
    assert.equal(r.body.ok, true, label);
    assert.equal(r.body.counters.compared, true);
    assert.equal(r.body.counters.in_flight, 0);
    assert.equal(r.body.counters.memory_today.cost, r.body.counters.rows_today.cost);
    assert.ok(scaled(r.body.totals.rows.cost, 9) > 0n);
    return r.body;
  };
  try {
    let ws = Array.from({ length: 12 }, (_, w) => worker(w));
    await sleep(1500);
    stop = true;
    await Promise.all(ws);
    await sleep(200);                                     // the cut streams' rows
    const live = await check('live');
    assert.ok(live.rows >= 50, `rows ${live.rows}`);
    assert.ok(live.totals.rows.refused > 0, 'refusals in the mix');
    // SIGTERM in the middle of a second load; restart on the same database
    stop = false;
    ws = Array.from({ length: 12 }, (_, w) => worker(w));
    await sleep(800);
    process.kill(g.pid, 'SIGTERM');
    stop = true;
    await Promise.all(ws);
    assert.equal((await g.waitExit()).code, 0);
    g = await startGateway(env);
    const after = await check('after a restart');
    assert.ok(after.rows > live.rows);
    const bad = await adm('/admin/usage/reconcile?from=2026-13-01');
    assert.equal(bad.status, 400);
    assert.equal((await adm('/admin/usage/reconcile?from=2026-02-01&to=2026-01-01')).status, 400);
    const old = await adm('/admin/usage/reconcile?from=2020-01-01&to=2020-01-02');
    assert.deepEqual([old.body.ok, old.body.rows, old.body.counters.compared], [true, 0, false]);
  } finally {
    await g.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
