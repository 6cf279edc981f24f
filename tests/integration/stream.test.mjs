// Streams: chunks reach the client as the upstream sends them, in both stream forms, and a
// slow reader holds the upstream back instead of growing the gateway's memory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startFake, startGateway, sleep, ACCESS, SSE, ARR } from './harness.mjs';

let fake, gw;
before(async () => {
  fake = await startFake();
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: 'AIzaFake-ok-str1' });
});
after(async () => { await gw.stop(); await fake.stop(); });

/** Reads a streamed answer, noting when each piece arrived. */
async function timed(pathname, headers) {
  const t0 = Date.now();
  const r = await gw.call(pathname, undefined, headers);
  const arrivals = [];
  let text = '';
  for await (const chunk of r.body) { arrivals.push(Date.now() - t0); text += Buffer.from(chunk).toString(); }
  return { r, arrivals, text, total: Date.now() - t0 };
}

test('alt=sse: events arrive one by one as sent, byte-faithful, first long before the last', async () => {
  const { r, arrivals, text, total } = await timed(SSE, { 'x-fake-chunks': '6', 'x-fake-interval-ms': '250' });
  assert.equal(r.headers.get('content-type'), 'text/event-stream');
  const events = text.split('\r\n\r\n').filter(Boolean);
  assert.equal(events.length, 6);
  assert.ok(events.every((e) => e.startsWith('data: {')));
  assert.ok(text.endsWith('\r\n\r\n'));
  assert.ok(arrivals.length >= 5, `pieces arrived separately: ${arrivals}`);
  assert.ok(arrivals[0] < total - 1000, `first piece at ${arrivals[0]} ms, all done at ${total} ms`);
  const lastUsage = JSON.parse(events.at(-1).slice(6)).usageMetadata;
  assert.equal(lastUsage.candidatesTokenCount, 6);
  await sleep(50);
  assert.match(gw.log, /streamGenerateContent model=gemini-2\.5-flash status=200 outcome=success attempts=1 tokens=\d+\/6 /,
    'tokens taken from the last usageMetadata');
});

test('JSON-array stream: elements joined by \\n,\\r\\n, closed by \\n], each forwarded as it comes', async () => {
  const { arrivals, text, total } = await timed(ARR, { 'x-fake-chunks': '4', 'x-fake-interval-ms': '250' });
  assert.ok(text.startsWith('[{'));
  assert.ok(text.endsWith('\n]'));
  assert.equal(text.split('\n,\r\n').length, 4);
  assert.equal(JSON.parse(text).length, 4);
  assert.ok(arrivals[0] < total - 500, `first piece at ${arrivals[0]} ms of ${total}`);
  await sleep(50);
  assert.match(gw.log, /:streamGenerateContent model=gemini-2\.5-flash status=200 outcome=success attempts=1 tokens=\d+\/4 /);
});

test('a reader that stops reading does not grow the gateway\'s memory; the stream then completes', async () => {
  const chunks = 1500, bytes = 65536;                       // ~98 MB through the gateway
  const before = gw.rss();
  const sock = net.connect(gw.port, '127.0.0.1');
  await new Promise((r) => sock.on('connect', r));
  sock.pause();
  sock.write(`POST ${SSE} HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${ACCESS}\r\nx-fake-chunks: ${chunks}\r\n` +
             `x-fake-chunk-bytes: ${bytes}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
  await sleep(1500);                                        // the fake could have sent it all by now
  const stalled = gw.rss();
  assert.ok(stalled - before < 16 * 1024, `RSS grew ${stalled - before} KiB while the reader stalled`);
  let got = 0;
  const done = new Promise((resolve) => sock.on('end', resolve));
  sock.on('data', (d) => { got += d.length; });
  sock.resume();
  await done;
  assert.ok(got > chunks * bytes, `all ${chunks} chunks arrived (${got} bytes)`);
  assert.ok(gw.rss() - before < 32 * 1024, 'memory stayed bounded');
});
