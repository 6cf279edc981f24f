// Anthropic's Messages API through the official @anthropic-ai/sdk, pointed at gemgate by base
// URL with an access key, against the fake upstream: plain, streamed (event by event against
// Anthropic's documented sequence), a tool round trip with its thought signature, thinking,
// count_tokens, the model list and typed errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startFake, startGateway, ACCESS, ADMIN, sleep } from './harness.mjs';

const SIG = 'ZmFrZS10aG91Z2h0LXNpZ25hdHVyZQ==';   // the fake's signature on every call part
let fake, gw, client, limited;
before(async () => {
  fake = await startFake();
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: 'AIzaFake-ok-an01,AIzaFake-ok-an02',
    GEMGATE_MODEL_ALIASES: 'claude-*=gemini-2.5-flash,claude-opus-4-1=gemini-2.5-pro', GEMGATE_FETCH_PRIVATE: '1' });
  client = new Anthropic({ apiKey: ACCESS, baseURL: gw.url, maxRetries: 0 });
  const r = await gw.admin('/admin/config/user-key', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'one-a-minute', rpm: 1 }) });
  limited = new Anthropic({ apiKey: r.body.key, baseURL: gw.url, maxRetries: 0 });
});
after(async () => { await gw.stop(); await fake.stop(); });

const lastBody = async () => JSON.parse((await fake.last()).body);
const weather = [{ name: 'get_weather', description: 'Weather of a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } }];

test('a plain message: the alias reaches Gemini, the answer names the client\'s model', async () => {
  const r = await client.messages.create({
    model: 'claude-sonnet-4-5-20250929', max_tokens: 200, system: 'Be brief.', temperature: 0.3, top_k: 20,
    stop_sequences: ['END'], messages: [{ role: 'user', content: 'Say hello' }],
  });
  assert.equal(r.type, 'message');
  assert.match(r.id, /^msg_/);
  assert.equal(r.role, 'assistant');
  assert.equal(r.model, 'claude-sonnet-4-5-20250929');
  assert.deepEqual(r.content, [{ type: 'text', text: 'Hello from fake gemini-2.5-flash' }]);
  assert.equal(r.stop_reason, 'end_turn');
  assert.equal(r.stop_sequence, null);
  assert.equal(r.usage.output_tokens, 7);
  assert.ok(r.usage.input_tokens > 0);
  const last = await fake.last();
  assert.equal(last.path, '/v1beta/models/gemini-2.5-flash:generateContent');
  assert.ok(!JSON.stringify(last).includes(ACCESS), 'the access key never reaches the upstream');
  assert.equal(last.headers['x-api-key'], undefined);
  const sent = JSON.parse(last.body);
  assert.deepEqual(sent.systemInstruction, { parts: [{ text: 'Be brief.' }] });
  assert.deepEqual(sent.contents, [{ role: 'user', parts: [{ text: 'Say hello' }] }]);
  assert.deepEqual(sent.generationConfig, { maxOutputTokens: 200, temperature: 0.3, topK: 20, stopSequences: ['END'] });
});

/* The raw events of a stream, in order. */
async function events(params, opts) {
  const stream = await client.messages.create({ ...params, stream: true }, opts);
  const out = [];
  for await (const ev of stream) out.push(ev);
  return out;
}

/* "type[/delta or block type]" words, pings left out (any number may come). */
const shape = (evs) => evs.filter((e) => e.type !== 'ping')
  .map((e) => e.type + (e.delta?.type ? `/${e.delta.type}` : e.content_block ? `/${e.content_block.type}` : ''));

test('a streamed message follows Anthropic\'s event sequence, event by event', async () => {
  const evs = await events({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'Count' }] },
    { headers: { 'x-fake-chunks': '3', 'x-fake-interval-ms': '20' } });
  assert.deepEqual(shape(evs), ['message_start', 'content_block_start/text', 'content_block_delta/text_delta',
    'content_block_delta/text_delta', 'content_block_delta/text_delta', 'content_block_stop', 'message_delta/', 'message_stop']
    .map((s) => s.replace(/\/$/, '')));
  // The SDK drops pings; on the wire one follows message_start, and each event: line names its data's type.
  const wire = await (await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': ACCESS, 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'claude-x', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] }) })).text();
  const frames = wire.split('\n\n').filter(Boolean).map((f) => f.split('\n'));
  assert.ok(frames.every(([ev, data]) => ev.startsWith('event: ') && data.startsWith('data: ') &&
    JSON.parse(data.slice(6)).type === ev.slice(7)));
  assert.deepEqual(frames.slice(0, 2).map(([ev]) => ev), ['event: message_start', 'event: ping']);
  const start = evs[0].message;
  assert.deepEqual([start.type, start.role, start.model, start.content, start.stop_reason], ['message', 'assistant', 'claude-haiku-4-5', [], null]);
  assert.deepEqual(evs.filter((e) => e.delta?.type === 'text_delta').map((e) => e.delta.text), ['chunk 0 ', 'chunk 1 ', 'chunk 2 ']);
  assert.ok(evs.filter((e) => e.index !== undefined).every((e) => e.index === 0));
  const md = evs.find((e) => e.type === 'message_delta');
  assert.equal(md.delta.stop_reason, 'end_turn');
  assert.equal(md.usage.output_tokens, 3);
  assert.equal((await fake.last()).path, '/v1beta/models/gemini-2.5-flash:streamGenerateContent');
  // The SDK's own accumulator agrees.
  const final = await client.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'Count' }] },
    { headers: { 'x-fake-chunks': '2' } }).finalMessage();
  assert.deepEqual(final.content, [{ type: 'text', text: 'chunk 0 chunk 1 ' }]);
});

test('a tool round trip keeps the thought signature, in a plain and a streamed turn', async () => {
  const messages = [{ role: 'user', content: 'Weather in Paris?' }];
  const first = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, tools: weather,
    tool_choice: { type: 'auto' }, messages });
  assert.equal(first.stop_reason, 'tool_use');
  assert.deepEqual(first.content.map((b) => b.type), ['thinking', 'tool_use']);
  assert.equal(first.content[0].signature, SIG);
  const use = first.content[1];
  assert.equal(use.name, 'get_weather');
  assert.deepEqual(use.input, { city: 'Paris' });
  assert.match(use.id, /^toolu_/);
  const sent = await lastBody();
  assert.equal(sent.tools[0].functionDeclarations[0].name, 'get_weather');
  assert.deepEqual(sent.tools[0].functionDeclarations[0].parametersJsonSchema, weather[0].input_schema);
  assert.deepEqual(sent.toolConfig, { functionCallingConfig: { mode: 'AUTO' } });
  messages.push({ role: 'assistant', content: first.content },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '{"temp":21}' }] });
  const second = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, tools: weather, messages });
  assert.equal(second.content[0].text, 'Hello from fake gemini-2.5-flash: the tool said {"content":{"temp":21}}');
  const sent2 = await lastBody();
  assert.deepEqual(sent2.contents.map((c) => c.role), ['user', 'model', 'user']);
  assert.deepEqual(sent2.contents[1].parts, [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: SIG }]);
  assert.deepEqual(sent2.contents[2].parts, [{ functionResponse: { name: 'get_weather', response: { content: { temp: 21 } } } }]);
  // Streamed: the signature comes as a signature_delta, the call as one input_json_delta.
  const evs = await events({ model: 'claude-sonnet-4-5', max_tokens: 100, tools: weather, messages: messages.slice(0, 1) });
  assert.deepEqual(shape(evs), ['message_start', 'content_block_start/thinking', 'content_block_delta/signature_delta',
    'content_block_stop', 'content_block_start/tool_use', 'content_block_delta/input_json_delta', 'content_block_stop',
    'message_delta', 'message_stop']);
  assert.equal(evs.find((e) => e.delta?.type === 'signature_delta').delta.signature, SIG);
  assert.deepEqual(JSON.parse(evs.find((e) => e.delta?.type === 'input_json_delta').delta.partial_json), { city: 'Paris' });
  assert.equal(evs.find((e) => e.type === 'message_delta').delta.stop_reason, 'tool_use');
  const acc = await client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, tools: weather, messages: messages.slice(0, 1) }).finalMessage();
  assert.deepEqual(acc.content.find((b) => b.type === 'tool_use').input, { city: 'Paris' });
  assert.equal(acc.content.find((b) => b.type === 'thinking').signature, SIG);
});

test('thinking: budget_tokens becomes thinkingConfig, thoughts come back as thinking blocks', async () => {
  const r = await client.messages.create({ model: 'claude-opus-4-1', max_tokens: 4000,
    thinking: { type: 'enabled', budget_tokens: 2048 }, messages: [{ role: 'user', content: 'Think' }] });
  assert.deepEqual((await lastBody()).generationConfig.thinkingConfig, { thinkingBudget: 2048, includeThoughts: true });
  assert.equal((await fake.last()).path, '/v1beta/models/gemini-2.5-pro:generateContent');   // the exact alias
  assert.deepEqual(r.content, [{ type: 'thinking', thinking: 'Let me think about it.', signature: '' },
    { type: 'text', text: 'Hello from fake gemini-2.5-pro' }]);
  assert.equal(r.usage.output_tokens, 7 + 3, 'thoughts are output tokens');
  const evs = await events({ model: 'claude-opus-4-1', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2048 },
    messages: [{ role: 'user', content: 'Think' }] }, { headers: { 'x-fake-chunks': '2' } });
  assert.deepEqual(shape(evs), ['message_start', 'content_block_start/thinking', 'content_block_delta/thinking_delta',
    'content_block_stop', 'content_block_start/text', 'content_block_delta/text_delta', 'content_block_delta/text_delta',
    'content_block_stop', 'message_delta', 'message_stop']);
  assert.equal(evs.find((e) => e.delta?.type === 'thinking_delta').delta.thinking, 'Let me think about it.');
  assert.equal(evs.find((e) => e.type === 'content_block_start' && e.content_block.type === 'text').index, 1);
});

test('count_tokens answers the upstream\'s count, sends the whole request', async () => {
  const r = await client.messages.countTokens({ model: 'claude-sonnet-4-5', system: 'S', tools: weather,
    messages: [{ role: 'user', content: 'How many tokens is this?' }] });
  const last = await fake.last();
  assert.equal(last.path, '/v1beta/models/gemini-2.5-flash:countTokens');
  assert.equal(r.input_tokens, Math.ceil(last.body_len / 4));
  const sent = JSON.parse(last.body).generateContentRequest;
  assert.equal(sent.model, 'models/gemini-2.5-flash');
  assert.equal(sent.tools[0].functionDeclarations[0].name, 'get_weather');
});

test('the model list in Anthropic\'s shape, aliases included', async () => {
  const page = await client.models.list();
  const ids = page.data.map((m) => m.id);
  assert.ok(ids.includes('gemini-2.5-flash'));
  assert.ok(ids.includes('claude-opus-4-1'));
  assert.ok(page.data.every((m) => m.type === 'model' && typeof m.display_name === 'string' && m.created_at));
  const one = await client.models.retrieve('gemini-2.5-pro');
  assert.equal(one.id, 'gemini-2.5-pro');
  await assert.rejects(client.models.retrieve('claude-3-nope'), (e) => e instanceof Anthropic.NotFoundError && e.error.error.type === 'not_found_error');
});

test('typed errors in Anthropic\'s shape; refused requests never reach the upstream', async () => {
  const before = (await fake.stats()).requests;
  const bad = (params) => client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }], ...params });
  await assert.rejects(bad({ container: 'c1' }), (e) => {
    assert.ok(e instanceof Anthropic.BadRequestError);
    assert.equal(e.status, 400);
    assert.equal(e.error.type, 'error');
    assert.equal(e.error.error.type, 'invalid_request_error');
    assert.match(e.error.error.message, /^container: /);
    return true;
  });
  await assert.rejects(bad({ tools: [{ type: 'bash_20250124', name: 'bash' }] }), (e) => e instanceof Anthropic.BadRequestError && /^tools\.0\.type/.test(e.error.error.message));
  await assert.rejects(bad({ messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'nope', content: 'x' }] }] }),
    (e) => e instanceof Anthropic.BadRequestError && /tool_use_id/.test(e.message));
  const stranger = new Anthropic({ apiKey: 'not-a-key', baseURL: gw.url, maxRetries: 0 });
  await assert.rejects(stranger.messages.create({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof Anthropic.AuthenticationError && e.error.error.type === 'authentication_error');
  const bearer = new Anthropic({ authToken: ACCESS, apiKey: null, baseURL: gw.url, maxRetries: 0 });
  assert.equal((await bearer.messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })).type, 'message');
  const batches = await fetch(`${gw.url}/v1/messages/batches`, { method: 'POST', headers: { 'x-api-key': ACCESS }, body: '{}' });
  assert.equal(batches.status, 404);
  assert.equal((await batches.json()).error.type, 'not_found_error');
  assert.equal((await fake.stats()).requests, before + 1, 'only the Bearer call went upstream');
  // The gateway's own quota: 429 as Anthropic's rate_limit_error, with Retry-After.
  await limited.messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
  await assert.rejects(limited.messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof Anthropic.RateLimitError && e.error.error.type === 'rate_limit_error' && Number(e.headers.get('retry-after')) > 0);
  // An upstream refusal keeps its status and Google's message.
  await assert.rejects(client.messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] },
    { headers: { 'x-fake-status': '400' } }), (e) => e instanceof Anthropic.BadRequestError && e.error.error.type === 'invalid_request_error');
});

test('a cut stream ends with an error event, never silently', async () => {
  const stream = await client.messages.create({ model: 'claude-x', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] },
    { headers: { 'x-fake-chunks': '3', 'x-fake-error-after': '1' } });
  const seen = [];
  await assert.rejects((async () => { for await (const ev of stream) seen.push(ev.type); })(), (e) => /INTERNAL/.test(e.message));
  assert.deepEqual(seen.filter((t) => t !== 'ping'), ['message_start', 'content_block_start', 'content_block_delta']);
});

test('one ledger row per call, endpoint messages, type chat', async () => {
  await sleep(300);
  const rows = (await gw.admin('/admin/usage?user=0&limit=200')).body.rows;
  const msgs = rows.filter((r) => r.endpoint === 'messages');
  assert.ok(msgs.length >= 10);
  assert.ok(msgs.every((r) => r.generation_type === 'chat'));
  assert.ok(msgs.some((r) => r.model_name === 'gemini-2.5-pro' && r.thinking_tokens === 3));
  assert.ok(msgs.some((r) => r.prompt === 'Say hello'));
  assert.ok(msgs.some((r) => r.stream && r.status === 'success'), 'a streamed message is recorded as a stream');
  assert.ok(rows.some((r) => r.endpoint === 'count_tokens' && r.model_name === 'gemini-2.5-flash'));
  assert.ok(msgs.some((r) => r.http_status === 400 && r.is_local), 'a refused request is recorded too');
});
