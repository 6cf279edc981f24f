// The official OpenAI SDK, pointed at gemgate by base URL with an access key, against the fake.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFake, startGateway, ACCESS, ADMIN } from './harness.mjs';

let fake, gw, client;
before(async () => {
  fake = await startFake();
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: 'AIzaFake-ok-oa01,AIzaFake-ok-oa02', GEMGATE_FETCH_PRIVATE: '1' });
  client = new OpenAI({ apiKey: ACCESS, baseURL: `${gw.url}/v1`, maxRetries: 0 });
});
after(async () => { await gw.stop(); await fake.stop(); });

const lastBody = async () => JSON.parse((await fake.last()).body);

test('a plain completion', async () => {
  const r = await client.chat.completions.create({
    model: 'gemini-2.5-flash',
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello' }],
    temperature: 0.2, max_tokens: 100, stop: ['END'],
  });
  assert.equal(r.object, 'chat.completion');
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.model, 'gemini-2.5-flash');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, 'Hello from fake gemini-2.5-flash');
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.equal(r.usage.completion_tokens, 7);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 7);
  const sent = await lastBody();
  assert.equal(sent.systemInstruction.parts[0].text, 'Be brief.');
  assert.deepEqual(sent.contents, [{ role: 'user', parts: [{ text: 'Say hello' }] }]);
  assert.equal(sent.generationConfig.temperature, 0.2);
  assert.equal(sent.generationConfig.maxOutputTokens, 100);
  assert.deepEqual(sent.generationConfig.stopSequences, ['END']);
  assert.ok(!JSON.stringify(await fake.last()).includes(ACCESS), 'the access key never reaches the upstream');
});

test('a conversation: turns merged, instructions gathered, texts and options sent as the client wrote them', async () => {
  const text = 'line\none "q" \\ caf\u00e9 \u{1F600}\ttab';
  const r = await client.chat.completions.create({
    model: 'models/gemini-2.5-flash',
    messages: [
      { role: 'developer', content: [{ type: 'text', text: 'Rule one.' }] },
      { role: 'user', content: text },
      { role: 'user', content: [{ type: 'text', text: '' }, { type: 'text', text: 'second' }] },
      { role: 'assistant', content: 'Sure.' },
      { role: 'system', content: 'Rule two.' },
      { role: 'user', content: 'last' },
    ],
    top_p: 0.5, n: 2, seed: 7, max_tokens: 5, max_completion_tokens: 64, stop: 'END', presence_penalty: 0,
  });
  assert.equal(r.model, 'gemini-2.5-flash');
  assert.equal(r.choices.length, 2);
  assert.deepEqual(await lastBody(), {
    contents: [
      { role: 'user', parts: [{ text }, { text: 'second' }] },
      { role: 'model', parts: [{ text: 'Sure.' }] },
      { role: 'user', parts: [{ text: 'last' }] },
    ],
    systemInstruction: { parts: [{ text: 'Rule one.' }, { text: 'Rule two.' }] },
    generationConfig: { topP: 0.5, maxOutputTokens: 64, stopSequences: ['END'], candidateCount: 2, seed: 7 },
  });
});
test('a streamed completion: deltas one by one, a usage chunk, a clean end', async () => {
  const stream = await client.chat.completions.create({
    model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Count' }], stream: true,
    stream_options: { include_usage: true },
  }, { headers: { 'x-fake-chunks': '4', 'x-fake-interval-ms': '50' } });
  const deltas = [];
  let usage = null, finish = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.content) deltas.push(c.delta.content);
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.deepEqual(deltas, ['chunk 0 ', 'chunk 1 ', 'chunk 2 ', 'chunk 3 ']);
  assert.equal(finish, 'stop');
  assert.equal(usage.completion_tokens, 4);
});

test('a tool call round trip: call, tool result, answer', async () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } } }];
  const messages = [{ role: 'user', content: 'Weather in Paris?' }];
  const first = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages, tools, tool_choice: 'auto' });
  const call = first.choices[0].message.tool_calls[0];
  assert.equal(first.choices[0].finish_reason, 'tool_calls');
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
  const sent = await lastBody();
  assert.equal(sent.tools[0].functionDeclarations[0].name, 'get_weather');
  assert.equal(sent.tools[0].functionDeclarations[0].parameters.additionalProperties, undefined, 'schema cleaned for Gemini');
  messages.push(first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '{"temp":21}' });
  const second = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages, tools });
  assert.match(second.choices[0].message.content, /the tool said \{"content":\{"temp":21\}\}|the tool said .*21/);
  const sent2 = await lastBody();
  const roles = sent2.contents.map((c) => c.role);
  assert.deepEqual(roles, ['user', 'model', 'user']);
  assert.equal(sent2.contents[1].parts[0].functionCall.name, 'get_weather');
  assert.equal(sent2.contents[2].parts[0].functionResponse.name, 'get_weather');
});

test('streamed tool calls arrive as indexed deltas', async () => {
  const stream = await client.chat.completions.create({ model: 'gemini-2.5-flash', stream: true,
    messages: [{ role: 'user', content: 'Weather?' }],
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }] });
  const calls = [];
  let finish;
  for await (const chunk of stream) for (const c of chunk.choices) {
    for (const t of c.delta.tool_calls || []) calls.push(t);
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.equal(calls.length, 1);
  assert.equal(calls[0].index, 0);
  assert.equal(calls[0].function.name, 'get_weather');
  assert.equal(finish, 'tool_calls');
});

test('a JSON-schema response', async () => {
  const r = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'JSON please' }],
    response_format: { type: 'json_schema', json_schema: { name: 'a', strict: true, schema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false } } } });
  assert.deepEqual(JSON.parse(r.choices[0].message.content), { answer: 'Hello from fake' });
  const sent = await lastBody();
  assert.equal(sent.generationConfig.responseMimeType, 'application/json');
  assert.equal(sent.generationConfig.responseSchema.type.toLowerCase(), 'object');
  assert.equal(sent.generationConfig.responseSchema.additionalProperties, undefined);
});

test('reasoning_content with thinking on, never mixed into content', async () => {
  const r = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Think' }],
    thinking_config: { thinking_budget: 1024, include_thoughts: true } });
  const m = r.choices[0].message;
  assert.equal(m.reasoning_content, 'Let me think about it.');
  assert.equal(m.content, 'Hello from fake gemini-2.5-flash');
  assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 3);
  assert.deepEqual((await lastBody()).generationConfig.thinkingConfig, { thinkingBudget: 1024, includeThoughts: true });
  const stream = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Think' }],
    reasoning_effort: 'low', stream: true, thinking_config: { include_thoughts: true } });
  let reasoning = '', content = '';
  for await (const chunk of stream) for (const c of chunk.choices) {
    reasoning += c.delta.reasoning_content || '';
    content += c.delta.content || '';
  }
  assert.equal(reasoning, 'Let me think about it.');
  assert.ok(!content.includes('think'));
});

test('the admin thinking default applies when the request says nothing, and inject-prompt adds the prompt', async () => {
  const set = await gw.admin('/admin/config/thinking', { method: 'POST', body: JSON.stringify({ enabled: true, budget: 2048, include_thoughts: false }) });
  assert.equal(set.status, 200);
  await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] });
  assert.deepEqual((await lastBody()).generationConfig.thinkingConfig, { thinkingBudget: 2048, includeThoughts: false });
  const bad = await gw.admin('/admin/config/thinking', { method: 'POST', body: JSON.stringify({ budget: 99999 }) });
  assert.equal(bad.status, 400);
  assert.equal((await gw.admin('/admin/config/thinking')).body.budget, 2048, 'a refused change changes nothing');
  await gw.admin('/admin/config/thinking', { method: 'POST', body: JSON.stringify({ enabled: false }) });
  const inj = await gw.admin('/admin/config/inject-prompt', { method: 'POST', body: JSON.stringify({ enabled: true, content: 'INJECTED', position: 'user_prefix' }) });
  assert.equal(inj.status, 200);
  await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'question' }] });
  const sent = await lastBody();
  assert.match(JSON.stringify(sent.contents), /INJECTED/);
  assert.equal(sent.generationConfig?.thinkingConfig, undefined);
  await gw.admin('/admin/config/inject-prompt', { method: 'POST', body: JSON.stringify({ enabled: false }) });
});

test('n: 2 gives two choices', async () => {
  const r = await client.chat.completions.create({ model: 'gemini-2.5-flash', n: 2, messages: [{ role: 'user', content: 'x' }] });
  assert.equal(r.choices.length, 2);
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1]);
  assert.equal((await lastBody()).generationConfig.candidateCount, 2);
});

test('an image by URL is fetched by the gateway and sent inline', async () => {
  const r = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: [
    { type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: `${fake.url}/_fake/image.png` } }] }] });
  assert.equal(r.choices[0].finish_reason, 'stop');
  const parts = (await lastBody()).contents[0].parts;
  assert.equal(parts[1].inlineData.mimeType, 'image/png');
  assert.ok(parts[1].inlineData.data.length > 20);
  await assert.rejects(client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: [
    { type: 'image_url', image_url: { url: `${fake.url}/_fake/big.bin` } }] }] }), (e) => e.status === 400 && /larger/.test(e.message));
});

test('models list in OpenAI\'s shape for Bearer callers, Gemini\'s for x-goog-api-key callers', async () => {
  const list = await client.models.list();
  const ids = list.data.map((m) => m.id);
  assert.ok(ids.includes('gemini-2.5-flash'));
  assert.equal(list.data[0].object, 'model');
  const one = await client.models.retrieve('gemini-2.5-flash');
  assert.equal(one.id, 'gemini-2.5-flash');
  await assert.rejects(client.models.retrieve('no-such-model'), (e) => e.status === 404);
  const native = await gw.fetch('/v1/models', { headers: { 'x-goog-api-key': ACCESS } });
  assert.ok((await native.json()).models[0].name.startsWith('models/'));
});

test('embeddings, float and base64', async () => {
  const f = await client.embeddings.create({ model: 'text-embedding-004', input: ['one', 'two'], encoding_format: 'float' });
  assert.equal(f.data.length, 2);
  assert.equal(f.data[1].index, 1);
  assert.ok(f.data[0].embedding.length > 0 && typeof f.data[0].embedding[0] === 'number');
  const b = await client.embeddings.create({ model: 'text-embedding-004', input: 'one', dimensions: 8 });
  assert.ok(Array.isArray(b.data[0].embedding), 'the SDK decodes base64 into numbers');
  assert.deepEqual(b.data[0].embedding, f.data[0].embedding.map(Math.fround), 'the same vector, as float32');
  assert.equal((await lastBody()).requests[0].outputDimensionality, 8);
});

test('an image generation', async () => {
  const r = await client.images.generate({ model: 'imagen-3.0-generate-002', prompt: 'a cat', n: 1 });
  assert.equal(Buffer.from(r.data[0].b64_json, 'base64').subarray(1, 4).toString(), 'PNG');
  const g = await client.images.generate({ model: 'gemini-2.5-flash-image', prompt: 'a dog' });
  assert.equal(Buffer.from(g.data[0].b64_json, 'base64').subarray(1, 4).toString(), 'PNG');
});

test('errors: the SDK raises its typed errors with gemgate\'s message for 401, 400 and 429', async () => {
  const bad = new OpenAI({ apiKey: 'wrong', baseURL: `${gw.url}/v1`, maxRetries: 0 });
  await assert.rejects(bad.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.AuthenticationError && /access key not valid/.test(e.message));
  await assert.rejects(client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [] }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages');
  await assert.rejects(client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'wizard', content: 'x' }] }),
    (e) => e instanceof OpenAI.BadRequestError && /role/.test(e.message));
  const rl = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: 'AIzaFake-rl30-oarl' });
  try {
    const c = new OpenAI({ apiKey: ACCESS, baseURL: `${rl.url}/v1`, maxRetries: 0 });
    await assert.rejects(c.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof OpenAI.RateLimitError && e.error?.type === 'rate_limit_error');
    await assert.rejects(c.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e.status === 503 && e.headers.get('retry-after') !== null, 'no usable key: 503 with Retry-After');
  } finally { await rl.stop(); }
});

test('a mid-stream upstream failure ends the stream with an error event, never a silent cut', async () => {
  const stream = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }], stream: true },
    { headers: { 'x-fake-chunks': '5', 'x-fake-error-after': '2' } });
  const got = [];
  await assert.rejects((async () => { for await (const chunk of stream) got.push(chunk); })(), (e) => /Internal error/.test(e.message));
  assert.ok(got.length >= 2);
});

test('the admin settings are stored in the database and survive a restart', async () => {
  const db = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gemgate-set-')), 'g.db');
  const env = { GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: 'AIzaFake-ok-set1', GEMGATE_DB: db };
  let g = await startGateway(env);
  try {
    assert.equal((await g.admin('/admin/config/thinking', { method: 'POST', body: JSON.stringify({ enabled: true, budget: 777 }) })).status, 200);
    assert.equal((await g.admin('/admin/config/inject-prompt', { method: 'POST', body: JSON.stringify({ enabled: true, content: 'KEEP ME', position: 'system' }) })).status, 200);
    await g.stop();
    g = await startGateway(env);
    assert.deepEqual((await g.admin('/admin/config/thinking')).body, { enabled: true, budget: 777, include_thoughts: false });
    assert.deepEqual((await g.admin('/admin/config/inject-prompt')).body, { enabled: true, content: 'KEEP ME', position: 'system' });
    const c = new OpenAI({ apiKey: ACCESS, baseURL: `${g.url}/v1`, maxRetries: 0 });
    await c.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] });
    const sent = await lastBody();
    assert.equal(sent.generationConfig.thinkingConfig.thinkingBudget, 777);
    assert.match(JSON.stringify(sent.systemInstruction), /KEEP ME/);
  } finally { await g.stop(); fs.rmSync(path.dirname(db), { recursive: true, force: true }); }
});
