// SIGTERM lets in-flight streams finish and then exits; SIGHUP reloads the key file without
// dropping connections.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFake, startGateway, sleep, until, GEN, SSE } from './harness.mjs';

let fake;
before(async () => { fake = await startFake(); });
after(async () => { await fake.stop(); });

test('SIGTERM: in-flight streams finish, new connections are refused, exit 0', async () => {
  const gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: 'AIzaFake-ok-sig1' });
  const r = await gw.call(SSE, undefined, { 'x-fake-chunks': '8', 'x-fake-interval-ms': '150' });
  const reading = r.text();
  await sleep(200);
  process.kill(gw.pid, 'SIGTERM');
  await sleep(100);
  await assert.rejects(gw.fetch('/health'), 'no longer accepting');
  const text = await reading;
  assert.equal(text.split('\r\n\r\n').filter(Boolean).length, 8, 'the stream finished whole');
  const ex = await gw.waitExit();
  assert.equal(ex.code, 0);
});

test('SIGTERM with a stream that outlives GEMGATE_DRAIN_TIMEOUT: the gateway still stops', async () => {
  const gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: 'AIzaFake-ok-sig2', GEMGATE_DRAIN_TIMEOUT: '500ms' });
  const r = await gw.call(SSE, undefined, { 'x-fake-chunks': '100', 'x-fake-interval-ms': '100' });
  const reading = r.text().catch(() => 'cut');
  await sleep(100);
  const t0 = Date.now();
  process.kill(gw.pid, 'SIGTERM');
  const ex = await gw.waitExit();
  assert.ok(Date.now() - t0 < 3000);
  assert.equal(ex.code, 0);
  await reading;
});

test('SIGHUP re-reads GEMGATE_KEYS_FILE; an open keep-alive connection keeps working', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gemgate-keys-'));
  const file = path.join(dir, 'keys');
  fs.writeFileSync(file, 'AIzaFake-ok-old1\n');
  const gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS_FILE: file });
  try {
    await fake.reset();
    const stream = await gw.call(SSE, undefined, { 'x-fake-chunks': '6', 'x-fake-interval-ms': '100' });
    const reading = stream.text();
    assert.equal((await gw.call(GEN)).status, 200);
    fs.writeFileSync(file, '# rotated\nAIzaFake-ok-new1\nAIzaFake-ok-new2\n');
    process.kill(gw.pid, 'SIGHUP');
    assert.ok(await until(async () => (await gw.keys()).length === 2), 'reloaded');
    for (let i = 0; i < 4; i++) assert.equal((await gw.call(GEN)).status, 200);
    const st = await fake.stats();
    assert.equal(st.by_key['AIzaFake-ok-new1'], 2);
    assert.equal(st.by_key['AIzaFake-ok-new2'], 2);
    assert.equal((await reading).split('\r\n\r\n').filter(Boolean).length, 6, 'the stream in flight was not dropped');
    assert.deepEqual((await gw.keys()).map((k) => k.key), ['AIza…new1', 'AIza…new2']);
  } finally { await gw.stop(); fs.rmSync(dir, { recursive: true, force: true }); }
});
