// Seed 002's chat sessions over raw HTTP against the fake upstream: a five-turn conversation
// whose fifth upstream request carries every earlier turn, across a gateway restart; another
// user's 404; the history cap; idle expiry; two messages answered at once; the stream; one
// ledger row per message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { startFake, startGateway, ACCESS, sleep } from './harness.mjs';

const db = path.join(os.tmpdir(), `gemgate-chat-${process.pid}.db`);
const cleanDb = () => { for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true }); };
const env = (fake) => ({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: 'AIzaFake-ok-ch01,AIzaFake-ok-ch02', GEMGATE_DB: db,
  GEMGATE_CHAT_MAX_TURNS: '10' });
let fake, gw, userB;
before(async () => {
  cleanDb();
  fake = await startFake();
  gw = await startGateway(env(fake));
  userB = (await gw.admin('/admin/config/user-key', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'B' }) })).body.key;
});
after(async () => { await gw.stop(); await fake.stop(); cleanDb(); });

const call = (g, method, p, body, key = ACCESS) => g.fetch(p, { method, headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
  body: body === undefined ? undefined : JSON.stringify(body) });
const json = async (r) => ({ status: r.status, body: await r.json() });
const lastBody = async () => JSON.parse((await fake.last()).body);
const HELLO = 'Hello from fake gemini-2.5-flash';

let session;
test('a five-turn conversation survives a restart; the fifth request carries every earlier turn', async () => {
  const c = await json(await call(gw, 'POST', '/api/chat/sessions', { model: 'gemini-2.5-flash', system: 'Be brief.',
    generation_config: { temperature: 0.4 } }));
  assert.equal(c.status, 201);
  session = c.body.id;
  assert.match(session, /^chat_/);
  assert.deepEqual([c.body.model, c.body.turns, c.body.max_turns], ['gemini-2.5-flash', 0, 10]);
  assert.deepEqual(c.body.system, { parts: [{ text: 'Be brief.' }] });
  const said = [];
  for (let i = 1; i <= 5; i++) {
    if (i === 3) {                                   // a restart in the middle: the store keeps the session
      await gw.stop();
      gw = await startGateway(env(fake));
    }
    const text = `turn ${i}`;
    said.push(text);
    const r = await json(await call(gw, 'POST', `/api/chat/sessions/${session}/messages`, { text }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.session_id, r.body.text, r.body.turns, r.body.dropped_turns, r.body.saved], [session, HELLO, i, 0, true]);
    assert.deepEqual(r.body.reply, { role: 'model', parts: [{ text: HELLO }] });
    assert.equal(r.body.finish_reason, 'STOP');
    assert.equal(r.body.usage_metadata.candidatesTokenCount, 7);
  }
  const sent = await lastBody();
  assert.deepEqual(sent.contents, said.flatMap((t, k) => k < 4
    ? [{ role: 'user', parts: [{ text: t }] }, { role: 'model', parts: [{ text: HELLO }] }]
    : [{ role: 'user', parts: [{ text: t }] }]));
  assert.deepEqual(sent.systemInstruction, { parts: [{ text: 'Be brief.' }] });
  assert.deepEqual(sent.generationConfig, { temperature: 0.4 });
  assert.equal((await fake.last()).path, '/v1beta/models/gemini-2.5-flash:generateContent');
  const got = await json(await call(gw, 'GET', `/api/chat/sessions/${session}`));
  assert.equal(got.body.turns, 5);
  assert.equal(got.body.history.length, 10);
  assert.deepEqual(got.body.history.at(-1), { role: 'model', parts: [{ text: HELLO }] });
  const list = await json(await call(gw, 'GET', '/api/chat/sessions'));
  assert.ok(list.body.sessions.some((s) => s.id === session && s.turns === 5 && !s.history));
});

test('another user\'s session is a 404 everywhere, and costs no upstream call', async () => {
  const before = (await fake.stats()).requests;
  for (const [method, p, body] of [['GET', `/api/chat/sessions/${session}`], ['DELETE', `/api/chat/sessions/${session}`],
    ['POST', `/api/chat/sessions/${session}/messages`, { text: 'hi' }]]) {
    const r = await json(await call(gw, method, p, body, userB));
    assert.equal(r.status, 404, `${method} ${p}`);
    assert.equal(r.body.error.status, 'NOT_FOUND');
  }
  assert.deepEqual((await json(await call(gw, 'GET', '/api/chat/sessions', undefined, userB))).body.sessions, []);
  assert.equal((await fake.stats()).requests, before);
  assert.equal((await call(gw, 'GET', `/api/chat/sessions/${session}`)).status, 200, 'still there for its owner');
  assert.equal((await gw.fetch(`/api/chat/sessions/${session}`)).status, 401, 'no key, no session');
});

test('a streamed message: Gemini\'s events as they come, then the session event; the turn is saved whole', async () => {
  const r = await gw.fetch(`/api/chat/sessions/${session}/messages?stream=1`, { method: 'POST',
    headers: { 'x-goog-api-key': ACCESS, 'content-type': 'application/json', 'x-fake-chunks': '3' }, body: JSON.stringify({ parts: [{ text: 'turn 6' }] }) });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/event-stream/);
  const frames = (await r.text()).split(/\r?\n\r?\n/).filter(Boolean);
  assert.equal(frames.length, 4);
  assert.deepEqual(frames.slice(0, 3).map((f) => JSON.parse(f.slice(6)).candidates[0].content.parts[0].text), ['chunk 0 ', 'chunk 1 ', 'chunk 2 ']);
  assert.ok(frames[3].startsWith('event: session\ndata: '));
  assert.deepEqual(JSON.parse(frames[3].split('data: ')[1]), { session_id: session, finish_reason: 'STOP', turns: 6, dropped_turns: 0, saved: true });
  const got = await json(await call(gw, 'GET', `/api/chat/sessions/${session}`));
  assert.deepEqual(got.body.history.slice(-2), [{ role: 'user', parts: [{ text: 'turn 6' }] }, { role: 'model', parts: [{ text: 'chunk 0 chunk 1 chunk 2 ' }] }]);
});

test('bad input is a 400 that changes nothing; DELETE removes a session', async () => {
  for (const body of [{}, { text: '' }, { text: 'a', parts: [] }, { text: 'a', extra: 1 }, { parts: ['x'] }]) {
    const r = await json(await call(gw, 'POST', `/api/chat/sessions/${session}/messages`, body));
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error.status, 'INVALID_ARGUMENT');
  }
  for (const body of [{}, { model: 'a/b' }, { model: 'm', generation_config: 5 }, { model: 'm', tools: [] }])
    assert.equal((await call(gw, 'POST', '/api/chat/sessions', body)).status, 400, JSON.stringify(body));
  assert.equal((await json(await call(gw, 'GET', `/api/chat/sessions/${session}`))).body.turns, 6);
  const s = (await json(await call(gw, 'POST', '/api/chat/sessions', { model: 'gemini-2.5-flash' }))).body.id;
  assert.deepEqual((await json(await call(gw, 'DELETE', `/api/chat/sessions/${s}`))).body, { id: s, deleted: true });
  assert.equal((await call(gw, 'GET', `/api/chat/sessions/${s}`)).status, 404);
  assert.equal((await call(gw, 'PUT', `/api/chat/sessions/${s}`)).status, 405);
});

test('every message is one ledger row of type chat', async () => {
  await sleep(300);
  const rows = (await gw.admin('/admin/usage?user=0&limit=200')).body.rows.filter((r) => r.endpoint === 'chat_session');
  assert.equal(rows.filter((r) => r.status === 'success').length, 6, 'turns 1–6: one each, the first two from before the restart');
  assert.ok(rows.every((r) => r.generation_type === 'chat'));
  assert.ok(rows.some((r) => r.prompt === 'turn 6' && r.stream));
  assert.ok(rows.some((r) => r.http_status === 400 && r.is_local));
});

test('the history cap drops the oldest exchanges and says so; idle sessions expire; concurrent answers keep every turn', async () => {
  const slow = await startFake();
  const g = await startGateway({ GEMGATE_UPSTREAM: slow.url, GEMGATE_KEYS: 'AIzaFake-slow300-cap01', GEMGATE_CHAT_MAX_TURNS: '2',
    GEMGATE_CHAT_IDLE_TIMEOUT: '2s' });
  try {
    const s = (await json(await call(g, 'POST', '/api/chat/sessions', { model: 'gemini-2.5-flash' }))).body.id;
    const sent = [];
    for (const t of ['a', 'b', 'c']) sent.push(await json(await call(g, 'POST', `/api/chat/sessions/${s}/messages`, { text: t })));
    assert.deepEqual(sent.map((r) => [r.body.turns, r.body.dropped_turns]), [[1, 0], [2, 0], [2, 1]]);
    assert.deepEqual((JSON.parse((await slow.last()).body)).contents.map((c) => c.parts[0].text), ['b', HELLO, 'c']);
    const got = (await json(await call(g, 'GET', `/api/chat/sessions/${s}`))).body;
    assert.deepEqual([got.turns, got.dropped_turns], [2, 1]);
    // Two messages at once: both answered from the same history, the second told to send again.
    const both = await Promise.all(['d', 'e'].map((t) => call(g, 'POST', `/api/chat/sessions/${s}/messages`, { text: t })));
    assert.deepEqual(both.map((r) => r.status).sort(), [200, 409]);
    const after = (await json(await call(g, 'GET', `/api/chat/sessions/${s}`))).body;
    assert.equal(after.history.length, 4, 'the cap holds, nothing half-saved');
    assert.equal(after.history.filter((c) => c.role === 'user').map((c) => c.parts[0].text).length, 2);
    await sleep(2300);
    assert.equal((await call(g, 'GET', `/api/chat/sessions/${s}`)).status, 404, 'idle past GEMGATE_CHAT_IDLE_TIMEOUT');
  } finally { await g.stop(); await slow.stop(); }
});
