// Test harness: starts the fake Gemini upstream and gemgate as child processes on loopback,
// finds their ports from what they print, and stops them by PID when a test file ends.
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const GEMGATE_BIN = process.env.GEMGATE_BIN || path.join(root, 'build/gemgate-test');
export const FAKE_BIN = process.env.FAKE_BIN || path.join(root, 'build/fakegemini');

export const ACCESS = 'test-access-key-1';
export const ADMIN = 'test-admin-token';

const children = new Set();
process.on('exit', () => { for (const c of children) try { process.kill(c.pid, 'SIGKILL'); } catch {} });

/** Spawns cmd and resolves once a line of its output (stdout or stderr) matches re (its first
 * group: the port). */
function spawnAndWait(cmd, args, env, stream, re) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const proc = { child, pid: child.pid, log: '', exited: null };
  child.stdout.on('data', (d) => { proc.log += d; });
  child.stderr.on('data', (d) => { proc.log += d; });
  const done = new Promise((resolve) => child.on('exit', (code, sig) => {
    children.delete(child); proc.exited = { code, sig }; resolve(proc.exited);
  }));
  proc.waitExit = () => done;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start:\n${proc.log}`)), 10000);
    const check = () => {
      const m = proc.log.match(re);
      if (m) { clearTimeout(timer); proc.port = Number(m[1]); resolve(proc); }
    };
    child.stdout.on('data', check);   // gemgate's log goes to stdout (no GEMGATE_LOG_DIR)
    child.stderr.on('data', check);
    child.on('exit', () => { clearTimeout(timer); reject(new Error(`${cmd} exited early:\n${proc.log}`)); });
  });
}

/** The fake Gemini upstream.  args: extra CLI flags. */
export async function startFake(args = []) {
  const p = await spawnAndWait(FAKE_BIN, ['--listen', '127.0.0.1:0', ...args], {}, 'stdout', /listening 127\.0\.0\.1:(\d+)/);
  p.url = `http://127.0.0.1:${p.port}`;
  p.stop = () => stop(p);
  p.stats = async () => (await fetch(`${p.url}/_fake/stats`)).json();
  p.last = async () => (await fetch(`${p.url}/_fake/last`)).json();
  p.reset = async () => fetch(`${p.url}/_fake/reset`, { method: 'POST' });
  p.mode = async (key, mode) => fetch(`${p.url}/_fake/mode`, { method: 'POST', body: JSON.stringify({ key, mode }) });
  return p;
}

/** gemgate with the given GEMGATE_* settings (defaults suit tests: 1 worker, quiet backoff). */
let dbSeq = 0;
const dbs = new Set();
process.on('exit', () => { for (const db of dbs) for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true }); });

// PostgreSQL mode: GEMGATE_DB in the environment is a postgres:// URL (`make test` points it at
// scripts/pg.sh's throwaway server).  Every gateway then gets a fresh database of its own on that
// server, and a test that names an SQLite file (to restart on the same data) gets one database
// per file name, so restarts find their data as they would in the file.
const PG = /^postgres(ql)?:\/\//.test(process.env.GEMGATE_DB || '') ? process.env.GEMGATE_DB : null;
export const ON_PG = PG !== null;
const pgDbs = new Map();                  // SQLite file name → database name
const psql = (url, ...sql) => execFileSync('psql', [url, '-qAtX', '-v', 'ON_ERROR_STOP=1', ...sql.flatMap((c) => ['-c', c])],
  { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
/** The URL of database `name` on the test server (the server's URL with another path). */
export const pgUrl = (name) => PG.replace(/^(postgres(?:ql)?:\/\/[^/?]*)(\/[^?]*)?/, `$1/${name}`);
process.on('exit', () => {
  if (PG && pgDbs.size) try { psql(PG, ...[...pgDbs.values()].map((d) => `DROP DATABASE IF EXISTS ${d} WITH (FORCE)`)); } catch {}
});

/** The URL a gateway gets for GEMGATE_DB `file` (a fresh one when file is null). */
function dbFor(file) {
  if (!PG) return file;
  const key = file ?? `fresh-${++dbSeq}`;
  if (!pgDbs.has(key)) {
    const name = `gg_${process.pid}_${pgDbs.size + 1}`;
    psql(PG, `CREATE DATABASE ${name}`);
    pgDbs.set(key, name);
  }
  return pgUrl(pgDbs.get(key));
}

/** SQL on the database the gateway with GEMGATE_DB `file` uses (PostgreSQL mode only). */
export const pgQuery = (file, sql) => psql(dbFor(file), sql);
/** SQL on the test server's own database (to refuse or cut a gateway's connections). */
export const pgServer = (sql) => psql(PG, sql);
/** The database name in a PostgreSQL URL. */
export const pgName = (url) => url.replace(/^postgres(?:ql)?:\/\/[^/?]*\/?/, '').replace(/\?.*/, '');

/** Everything stored for GEMGATE_DB `file`, as text: the SQLite file and its WAL, or a
 * PostgreSQL dump of its database — for asserting that a secret is nowhere in it. */
export function dbText(file) {
  if (PG) return execFileSync('pg_dump', ['--data-only', dbFor(file)], { stdio: ['ignore', 'pipe', 'pipe'] }).toString('latin1');
  return fs.readFileSync(file).toString('latin1') + (fs.existsSync(`${file}-wal`) ? fs.readFileSync(`${file}-wal`).toString('latin1') : '');
}

// Redis mode: GEMGATE_TEST_REDIS is a redis:// URL (`make test-pg` points it at scripts/redis.sh's
// throwaway server).  Every gateway then shares its state through a database of its own there,
// flushed first (test files run one after another and reuse the numbers); a restart on the same
// SQLite file gets a fresh one too, since what the suite restarts to prove is what the store
// keeps (a cooldown kept in Redis would outlive the restart).  A test that sets GEMGATE_REDIS
// itself keeps its own.
const REDIS = process.env.GEMGATE_TEST_REDIS || null;
export const ON_REDIS = REDIS !== null;
let redisSeq = 0;
function redisFresh() {
  const n = ++redisSeq;
  if (n > 999) throw new Error('redis mode: more than 999 gateways in one test file');
  const url = `${REDIS}/${n}`;
  execFileSync('redis-cli', ['-u', url, 'FLUSHDB'], { stdio: 'ignore' });
  return url;
}

export async function startGateway(env = {}, args = []) {
  // Each gateway gets its own database unless the test names one (to restart on the same).
  const named = env.GEMGATE_DB && !/^postgres(ql)?:\/\//.test(env.GEMGATE_DB) ? env.GEMGATE_DB : null;
  const db = env.GEMGATE_DB ? null : path.join(os.tmpdir(), `gemgate-test-${process.pid}-${++dbSeq}.db`);
  if (db) dbs.add(db);
  const url = PG && !env.GEMGATE_DB ? dbFor(null) : PG && named ? dbFor(named) : null;
  const p = await spawnAndWait(GEMGATE_BIN, args, {
    ...(db ? { GEMGATE_DB: db } : {}),
    GEMGATE_LISTEN: '127.0.0.1:0', GEMGATE_WORKERS: '1', GEMGATE_ACCESS_KEYS: ACCESS,
    GEMGATE_ADMIN_TOKEN: ADMIN, GEMGATE_RETRY_BACKOFF: '10ms', GEMGATE_LOG_LEVEL: 'info',
    GEMGATE_LOG_FORMAT: 'text', ...env,   // the tests read text lines; logs.test.mjs reads JSON
    ...(url ? { GEMGATE_DB: url } : {}),
    ...(REDIS && env.GEMGATE_REDIS === undefined ? { GEMGATE_REDIS: redisFresh() } : {}),
  }, 'stderr', /listening on 127\.0\.0\.1:(\d+)/);
  p.db = url ?? env.GEMGATE_DB ?? db;
  p.url = `http://127.0.0.1:${p.port}`;
  p.stop = async () => {
    const r = await stop(p);
    if (db) for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true });
    return r;
  };
  p.fetch = (pathname, opts = {}) => fetch(p.url + pathname, opts);
  p.call = (pathname, body, headers = {}) => fetch(p.url + pathname, {
    method: 'POST', headers: { 'x-goog-api-key': ACCESS, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body ?? { contents: [{ parts: [{ text: 'hi' }] }] }),
  });
  p.admin = async (pathname, opts = {}) => {
    const r = await fetch(p.url + pathname, { ...opts, headers: { authorization: `Bearer ${ADMIN}`, ...(opts.headers || {}) } });
    return { status: r.status, body: await r.json() };
  };
  p.keys = async () => (await p.admin('/api/status/keys')).body.keys;
  p.rss = () => rssKiB(p.pid);
  return p;
}

/** SIGTERM, then SIGKILL after a while; resolves with the exit status. */
export async function stop(p, sig = 'SIGTERM') {
  if (p.exited) return p.exited;
  try { process.kill(p.pid, sig); } catch { return p.exited; }
  const t = setTimeout(() => { try { process.kill(p.pid, 'SIGKILL'); } catch {} }, 10000);
  const r = await p.waitExit();
  clearTimeout(t);
  return r;
}

export function rssKiB(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(s.match(/VmRSS:\s+(\d+)/)[1]);
}

/** Sends raw bytes on a fresh connection; resolves with everything read until the server
 * closes or `ms` passes. */
export function raw(port, bytes, ms = 2000) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    const t = setTimeout(() => { s.destroy(); resolve(out); }, ms);
    s.on('data', (d) => { out += d.toString('latin1'); });
    s.on('close', () => { clearTimeout(t); resolve(out); });
    s.on('error', () => {});
    s.write(bytes);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns truthy or ms passes; returns the last value. */
export async function until(fn, ms = 5000, step = 50) {
  const end = Date.now() + ms;
  let v;
  while (!(v = await fn()) && Date.now() < end) await sleep(step);
  return v;
}

export const GEN = '/v1beta/models/gemini-2.5-flash:generateContent';
export const SSE = '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse';
export const ARR = '/v1beta/models/gemini-2.5-flash:streamGenerateContent';
