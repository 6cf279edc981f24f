// OpenAI's Responses API through the official openai SDK (client.responses), pointed at gemgate
// with an access key, against the fake upstream: plain, streamed (event by event, and through
// the SDK's strict stream accumulator), a tool round trip with its thought signature (stored
// and stateless), a previous_response_id chain of three, JSON schema, reasoning, the stored
// response's routes, another user's 404 and errors in OpenAI's shape.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFake, startGateway, ACCESS, sleep } from './harness.mjs';

const SIG = 'ZmFrZS10aG91Z2h0LXNpZ25hdHVyZQ==';   // the fake's signature on every call part
let fake, gw, client, other;
before(async () => {
  fake = await startFake();
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: 'AIzaFake-ok-rs01,AIzaFake-ok-rs02',
    GEMGATE_MODEL_ALIASES: 'gpt-5*=gemini-2.5-flash', GEMGATE_FETCH_PRIVATE: '1' });
  client = new OpenAI({ apiKey: ACCESS, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  const u = await gw.admin('/admin/config/user-key', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'someone-else' }) });
  other = new OpenAI({ apiKey: u.body.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
});
after(async () => { await gw.stop(); await fake.stop(); });

const lastBody = async () => JSON.parse((await fake.last()).body);
const weather = [{ type: 'function', name: 'get_weather', description: 'Weather of a city', strict: true,
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } }];

test('a plain response: input string, instructions, the alias, usage', async () => {
  const r = await client.responses.create({ model: 'gpt-5-mini', input: 'Say hello', instructions: 'Be brief.',
    max_output_tokens: 100, temperature: 0.2, metadata: { ticket: 't1' } });
  assert.equal(r.object, 'response');
  assert.match(r.id, /^resp_/);
  assert.equal(r.status, 'completed');
  assert.equal(r.model, 'gpt-5-mini');
  assert.equal(r.output_text, 'Hello from fake gemini-2.5-flash');
  assert.deepEqual(r.output.map((i) => i.type), ['message']);
  assert.equal(r.output[0].role, 'assistant');
  assert.equal(r.instructions, 'Be brief.');
  assert.deepEqual(r.metadata, { ticket: 't1' });
  assert.equal(r.usage.output_tokens, 7);
  assert.equal(r.usage.total_tokens, r.usage.input_tokens + 7);
  const last = await fake.last();
  assert.equal(last.path, '/v1beta/models/gemini-2.5-flash:generateContent');
  assert.ok(!JSON.stringify(last).includes(ACCESS));
  const sent = JSON.parse(last.body);
  assert.deepEqual(sent.systemInstruction, { parts: [{ text: 'Be brief.' }] });
  assert.deepEqual(sent.contents, [{ role: 'user', parts: [{ text: 'Say hello' }] }]);
  assert.deepEqual(sent.generationConfig, { maxOutputTokens: 100, temperature: 0.2 });
});

test('a streamed response: the typed event sequence with sequence numbers, and the SDK\'s accumulator', async () => {
  const stream = await client.responses.create({ model: 'gemini-2.5-flash', input: 'Count', stream: true },
    { headers: { 'x-fake-chunks': '3', 'x-fake-interval-ms': '20' } });
  const evs = [];
  for await (const ev of stream) evs.push(ev);
  assert.deepEqual(evs.map((e) => e.type), ['response.created', 'response.in_progress', 'response.output_item.added',
    'response.content_part.added', 'response.output_text.delta', 'response.output_text.delta', 'response.output_text.delta',
    'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
  assert.deepEqual(evs.map((e) => e.sequence_number), evs.map((_, i) => i));
  assert.equal(evs[0].response.status, 'in_progress');
  const item = evs[2].item;
  assert.ok(evs.slice(3, 10).every((e) => e.item_id === undefined || e.item_id === item.id));
  assert.deepEqual(evs.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta), ['chunk 0 ', 'chunk 1 ', 'chunk 2 ']);
  assert.equal(evs[7].text, 'chunk 0 chunk 1 chunk 2 ');
  const done = evs.at(-1).response;
  assert.equal(done.status, 'completed');
  assert.equal(done.output[0].content[0].text, 'chunk 0 chunk 1 chunk 2 ');
  assert.equal(done.usage.output_tokens, 3);
  // The stored response is the completed one.
  assert.equal((await client.responses.retrieve(done.id)).output[0].content[0].text, 'chunk 0 chunk 1 chunk 2 ');
  const acc = await client.responses.stream({ model: 'gemini-2.5-flash', input: 'Count' }, { headers: { 'x-fake-chunks': '2' } }).finalResponse();
  assert.equal(acc.output_text, 'chunk 0 chunk 1 ');
});

test('a tool round trip: the call, its signature back upstream (stored conversation and stateless items)', async () => {
  const first = await client.responses.create({ model: 'gemini-2.5-flash', input: 'Weather in Paris?', tools: weather, tool_choice: 'auto' });
  assert.deepEqual(first.output.map((i) => i.type), ['reasoning', 'function_call']);
  assert.equal(first.output[0].encrypted_content, SIG);
  const call = first.output[1];
  assert.equal(call.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });
  assert.match(call.call_id, /^call_/);
  const sent = await lastBody();
  assert.equal(sent.tools[0].functionDeclarations[0].name, 'get_weather');
  assert.equal(sent.tools[0].functionDeclarations[0].parameters.additionalProperties, undefined, 'cleaned for Gemini');
  assert.deepEqual(sent.toolConfig, { functionCallingConfig: { mode: 'AUTO' } });
  // Stored: only the output goes up; the gateway rebuilds the rest.
  const second = await client.responses.create({ model: 'gemini-2.5-flash', previous_response_id: first.id, tools: weather,
    input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"temp":21}' }] });
  assert.equal(second.output_text, 'Hello from fake gemini-2.5-flash: the tool said {"content":{"temp":21}}');
  assert.equal(second.previous_response_id, first.id);
  const sent2 = await lastBody();
  assert.deepEqual(sent2.contents.map((c) => c.role), ['user', 'model', 'user']);
  assert.deepEqual(sent2.contents[1].parts, [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: SIG }]);
  assert.deepEqual(sent2.contents[2].parts, [{ functionResponse: { name: 'get_weather', response: { content: { temp: 21 } } } }]);
  // Stateless: the client sends its items back, the signature rides in encrypted_content.
  const s1 = await client.responses.create({ model: 'gemini-2.5-flash', input: 'Weather in Paris?', tools: weather, store: false,
    include: ['reasoning.encrypted_content'] });
  await assert.rejects(client.responses.retrieve(s1.id), (e) => e instanceof OpenAI.NotFoundError, 'store: false keeps nothing');
  const c1 = s1.output.find((i) => i.type === 'function_call');
  await client.responses.create({ model: 'gemini-2.5-flash', tools: weather, store: false,
    input: [{ role: 'user', content: 'Weather in Paris?' }, ...s1.output, { type: 'function_call_output', call_id: c1.call_id, output: 'sunny' }] });
  const sent3 = await lastBody();
  assert.deepEqual(sent3.contents[1].parts, [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: SIG }]);
  assert.equal(sent3.contents[2].parts[0].functionResponse.name, 'get_weather');
  // Streamed: the call arrives as an item with one arguments delta.
  const evs = [];
  for await (const ev of await client.responses.create({ model: 'gemini-2.5-flash', input: 'Weather?', tools: weather, stream: true })) evs.push(ev);
  assert.deepEqual(evs.map((e) => e.type), ['response.created', 'response.in_progress', 'response.output_item.added',
    'response.output_item.done', 'response.output_item.added', 'response.function_call_arguments.delta',
    'response.function_call_arguments.done', 'response.output_item.done', 'response.completed']);
  assert.equal(evs[3].item.encrypted_content, SIG);
  assert.deepEqual(JSON.parse(evs[6].arguments), { city: 'Paris' });
});

test('a previous_response_id chain of three carries every turn', async () => {
  const r1 = await client.responses.create({ model: 'gemini-2.5-flash', input: 'One', instructions: 'Count with me.' });
  const r2 = await client.responses.create({ model: 'gemini-2.5-flash', input: 'Two', previous_response_id: r1.id });
  const r3 = await client.responses.create({ model: 'gemini-2.5-flash', input: [{ role: 'user', content: 'Three' }], previous_response_id: r2.id });
  const sent = await lastBody();
  assert.deepEqual(sent.contents, [
    { role: 'user', parts: [{ text: 'One' }] }, { role: 'model', parts: [{ text: 'Hello from fake gemini-2.5-flash' }] },
    { role: 'user', parts: [{ text: 'Two' }] }, { role: 'model', parts: [{ text: 'Hello from fake gemini-2.5-flash' }] },
    { role: 'user', parts: [{ text: 'Three' }] }]);
  assert.equal(sent.systemInstruction, undefined, 'instructions are not carried over (as OpenAI documents)');
  assert.equal(r3.previous_response_id, r2.id);
  // The stored response and its input items.
  const got = await client.responses.retrieve(r2.id);
  assert.deepEqual([got.id, got.output_text, got.previous_response_id], [r2.id, 'Hello from fake gemini-2.5-flash', r1.id]);
  const items = [];
  for await (const it of client.responses.inputItems.list(r3.id)) items.push(it);
  assert.equal(items.length, 1);
  assert.equal(items[0].type, 'message');
  assert.equal(items[0].content[0].text, 'Three');
  // Another user sees none of it.
  await assert.rejects(other.responses.retrieve(r2.id), (e) => e instanceof OpenAI.NotFoundError);
  await assert.rejects(other.responses.create({ model: 'gemini-2.5-flash', input: 'Four', previous_response_id: r3.id }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'previous_response_not_found' && e.param === 'previous_response_id');
  await assert.rejects(other.responses.delete(r1.id), (e) => e instanceof OpenAI.NotFoundError);
  // Deleted is gone, for its owner too, and cannot be continued.
  await client.responses.delete(r1.id);
  await assert.rejects(client.responses.retrieve(r1.id), (e) => e instanceof OpenAI.NotFoundError);
  await assert.rejects(client.responses.create({ model: 'gemini-2.5-flash', input: 'x', previous_response_id: r1.id }),
    (e) => e instanceof OpenAI.NotFoundError);
});

test('text.format json_schema → responseSchema, the answer is that JSON', async () => {
  const r = await client.responses.create({ model: 'gemini-2.5-flash', input: 'JSON please',
    text: { format: { type: 'json_schema', name: 'a', strict: true,
      schema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false } } } });
  assert.deepEqual(JSON.parse(r.output_text), { answer: 'Hello from fake' });
  assert.equal(r.text.format.type, 'json_schema');
  const sent = await lastBody();
  assert.equal(sent.generationConfig.responseMimeType, 'application/json');
  assert.equal(sent.generationConfig.responseSchema.type.toLowerCase(), 'object');
});

test('reasoning: effort and summary → thinkingConfig, thought summaries and reasoning tokens', async () => {
  const r = await client.responses.create({ model: 'gemini-2.5-flash', input: 'Think', reasoning: { effort: 'medium', summary: 'auto' } });
  assert.deepEqual((await lastBody()).generationConfig.thinkingConfig, { thinkingBudget: 8192, includeThoughts: true });
  assert.deepEqual(r.output.map((i) => i.type), ['reasoning', 'message']);
  assert.deepEqual(r.output[0].summary, [{ type: 'summary_text', text: 'Let me think about it.' }]);
  assert.equal(r.output_text, 'Hello from fake gemini-2.5-flash');
  assert.equal(r.usage.output_tokens_details.reasoning_tokens, 3);
  assert.equal(r.usage.output_tokens, 10);
  const evs = [];
  for await (const ev of await client.responses.create({ model: 'gemini-2.5-flash', input: 'Think', stream: true,
    reasoning: { effort: 'low', summary: 'detailed' } }, { headers: { 'x-fake-chunks': '1' } })) evs.push(ev);
  assert.deepEqual(evs.map((e) => e.type).slice(2, 8), ['response.output_item.added', 'response.reasoning_summary_part.added',
    'response.reasoning_summary_text.delta', 'response.reasoning_summary_text.done', 'response.reasoning_summary_part.done',
    'response.output_item.done']);
  assert.equal(evs[4].delta, 'Let me think about it.');
});

test('web_search becomes Google Search grounding; refused fields are 400s naming them, never forwarded', async () => {
  await client.responses.create({ model: 'gemini-2.5-flash', input: 'News?', tools: [{ type: 'web_search' }] });
  assert.deepEqual((await lastBody()).tools, [{ googleSearch: {} }]);
  const before = (await fake.stats()).requests;
  const bad = (extra) => client.responses.create({ model: 'gemini-2.5-flash', input: 'x', ...extra });
  await assert.rejects(bad({ conversation: 'conv_1' }), (e) => e instanceof OpenAI.BadRequestError && e.param === 'conversation' &&
    e.type === 'invalid_request_error');
  await assert.rejects(bad({ tools: [{ type: 'file_search', vector_store_ids: ['v'] }] }), (e) => e instanceof OpenAI.BadRequestError && e.param === 'tools[0].type');
  await assert.rejects(bad({ truncation: 'auto' }), (e) => e.status === 400 && e.param === 'truncation');
  await assert.rejects(bad({ input: [{ type: 'function_call_output', call_id: 'call_nobody', output: 'x' }] }),
    (e) => e.status === 400 && e.param === 'input[0].call_id');
  assert.equal((await fake.stats()).requests, before, 'nothing refused reached the upstream');
  const stranger = new OpenAI({ apiKey: 'nope', baseURL: `${gw.url}/v1`, maxRetries: 0 });
  await assert.rejects(stranger.responses.create({ model: 'm', input: 'x' }), (e) => e instanceof OpenAI.AuthenticationError);
  const cancel = await fetch(`${gw.url}/v1/responses/resp_x/cancel`, { method: 'POST', headers: { authorization: `Bearer ${ACCESS}` } });
  assert.equal(cancel.status, 404);
  assert.equal((await cancel.json()).error.code, 'unknown_url');
  await assert.rejects(client.responses.create({ model: 'gemini-2.5-flash', input: 'x' }, { headers: { 'x-fake-status': '400' } }),
    (e) => e instanceof OpenAI.BadRequestError);
});

test('one ledger row per call, endpoint responses, type chat', async () => {
  await sleep(300);
  const rows = (await gw.admin('/admin/usage?user=0&limit=500')).body.rows;
  const posts = rows.filter((r) => r.endpoint === 'responses');
  assert.ok(posts.length >= 15);
  assert.ok(posts.every((r) => r.generation_type === 'chat'));
  assert.ok(posts.some((r) => r.prompt === 'Say hello' && r.model_name === 'gemini-2.5-flash'));
  assert.ok(posts.some((r) => r.prompt === 'Three'));
  assert.ok(posts.some((r) => r.thinking_tokens === 3));
  assert.ok(posts.some((r) => r.http_status === 400 && r.is_local));
});
