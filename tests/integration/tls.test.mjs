// The HTTPS path without the internet: the fake upstream serves TLS with a certificate from a
// test CA made here; gemgate verifies it with GEMGATE_CA_FILE and refuses what it cannot verify.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFake, startGateway, GEN, SSE } from './harness.mjs';

let dir, fake;
const ssl = (...a) => execFileSync('openssl', a, { cwd: dir, stdio: 'pipe' });

function makeCA(name) {
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
      '-keyout', `${name}.key`, '-out', `${name}.pem`);
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gemgate-tls-'));
  makeCA('ca');
  makeCA('otherca');
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-days', '2', '-extfile', 'ext.cnf', '-out', 'server.pem');
  fake = await startFake(['--tls-cert', path.join(dir, 'server.pem'), '--tls-key', path.join(dir, 'server.key')]);
});
after(async () => { await fake.stop(); fs.rmSync(dir, { recursive: true, force: true }); });

test('gemgate verifies the upstream against GEMGATE_CA_FILE and proxies over TLS, streams too', async () => {
  const gw = await startGateway({ GEMGATE_UPSTREAM: `https://127.0.0.1:${fake.port}`, GEMGATE_KEYS: 'AIzaFake-ok-tls1',
                                  GEMGATE_CA_FILE: path.join(dir, 'ca.pem') });
  try {
    const r = await gw.call(GEN);
    assert.equal(r.status, 200);
    assert.match((await r.json()).candidates[0].content.parts[0].text, /Hello from fake/);
    const s = await gw.call(SSE, undefined, { 'x-fake-chunks': '3' });
    assert.equal((await s.text()).split('\r\n\r\n').filter(Boolean).length, 3);
  } finally { await gw.stop(); }
});

test('an upstream certificate that cannot be verified is refused: 502, and the key is not blamed as invalid', async () => {
  for (const ca of [path.join(dir, 'otherca.pem'), null]) {
    const env = { GEMGATE_UPSTREAM: `https://127.0.0.1:${fake.port}`, GEMGATE_KEYS: 'AIzaFake-ok-tls2', GEMGATE_MAX_RETRIES: '0' };
    if (ca) env.GEMGATE_CA_FILE = ca;
    const gw = await startGateway(env);
    try {
      const r = await gw.call(GEN);
      assert.equal(r.status, 502);
      const e = await r.json();
      assert.match(e.error.message, /certificate|SSL/i);
      assert.notEqual((await gw.keys())[0].state, 'invalid');
    } finally { await gw.stop(); }
  }
});
