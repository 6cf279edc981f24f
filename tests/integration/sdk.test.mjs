// Google's own JavaScript SDK, pointed at gemgate by base URL with an access key as its API key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GoogleGenAI } from '@google/genai';
import { startFake, startGateway, ACCESS } from './harness.mjs';

let fake, gw, ai;
before(async () => {
  fake = await startFake();
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: 'AIzaFake-ok-sdk1,AIzaFake-ok-sdk2' });
  ai = new GoogleGenAI({ apiKey: ACCESS, httpOptions: { baseUrl: gw.url } });
});
after(async () => { await gw.stop(); await fake.stop(); });

test('generateContent', async () => {
  const r = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say hello' });
  assert.match(r.text, /Hello from fake gemini-2\.5-flash/);
  assert.ok(r.usageMetadata.totalTokenCount > 0);
});

test('generateContentStream delivers every chunk', async () => {
  const stream = await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Count',
    config: { httpOptions: { headers: { 'x-fake-chunks': '5' } } } });
  const parts = [];
  for await (const chunk of stream) parts.push(chunk.text);
  assert.equal(parts.length, 5);
  assert.equal(parts.join(''), 'chunk 0 chunk 1 chunk 2 chunk 3 chunk 4 ');
});

test('countTokens', async () => {
  const r = await ai.models.countTokens({ model: 'gemini-2.5-flash', contents: 'How many tokens is this?' });
  assert.ok(r.totalTokens > 0);
});

test('embedContent', async () => {
  const r = await ai.models.embedContent({ model: 'text-embedding-004', contents: ['one', 'two'] });
  assert.equal(r.embeddings.length, 2);
  assert.ok(r.embeddings[0].values.length > 0);
});

test('a wrong access key raises the SDK\'s error with status 401', async () => {
  const bad = new GoogleGenAI({ apiKey: 'wrong', httpOptions: { baseUrl: gw.url } });
  await assert.rejects(bad.models.generateContent({ model: 'gemini-2.5-flash', contents: 'x' }),
    (e) => e.status === 401 && /access key not valid/.test(e.message));
});

test('the calls were spread over the pool', async () => {
  const st = await fake.stats();
  assert.ok(st.by_key['AIzaFake-ok-sdk1'] > 0 && st.by_key['AIzaFake-ok-sdk2'] > 0);
});
