// The embedded pages: /openapi.json (validated: OpenAPI 3.1, refs, ids, and every documented
// route answers), /docs, the admin UI's files; then the admin UI in a real browser (Debian's
// chromium through playwright-core), with screenshots under tests/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFake, startGateway, until, GEN, ACCESS, ADMIN } from './harness.mjs';

const KEY = 'AIzaSyUI-docs-secret-4444';
let fake, gw;

before(async () => {
  fake = await startFake();
  gw = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: KEY });
});
after(async () => { await gw?.stop(); await fake?.stop(); });

/** Structural validation of an OpenAPI 3.1 document: what the tools that read it rely on. */
function validateOpenAPI(doc) {
  const problems = [];
  const bad = (m) => problems.push(m);
  if (!/^3\.1\.\d+$/.test(doc.openapi)) bad(`openapi is ${doc.openapi}`);
  if (!doc.info?.title || !doc.info?.version) bad('info.title and info.version are required');
  const resolve = (ref) => ref.startsWith('#/') ? ref.slice(2).split('/').reduce((o, k) => o?.[k], doc) : undefined;
  const walk = (v, at) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}/${i}`));
    else if (v && typeof v === 'object') {
      if (typeof v.$ref === 'string' && resolve(v.$ref) === undefined) bad(`${at}: $ref ${v.$ref} does not resolve`);
      for (const [k, x] of Object.entries(v)) walk(x, `${at}/${k}`);
    }
  };
  walk(doc, '#');
  const ids = new Set();
  const methods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
  for (const [p, ops] of Object.entries(doc.paths || {})) {
    if (!p.startsWith('/')) bad(`path ${p} does not start with /`);
    for (const [m, op] of Object.entries(ops)) {
      if (!methods.has(m)) { bad(`${p}: ${m} is not an HTTP method`); continue; }
      if (!op.operationId) bad(`${m} ${p}: no operationId`);
      else if (ids.has(op.operationId)) bad(`${m} ${p}: operationId ${op.operationId} repeated`);
      ids.add(op.operationId);
      if (!op.responses || !Object.keys(op.responses).length) bad(`${m} ${p}: no responses`);
      for (const [code, r] of Object.entries(op.responses || {})) {
        if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(code)) bad(`${m} ${p}: response ${code}`);
        if (!r.$ref && !r.description) bad(`${m} ${p} ${code}: a response needs a description`);
      }
      const declared = new Set((op.parameters || []).filter((x) => x.in === 'path' && x.required).map((x) => x.name));
      for (const [, name] of p.matchAll(/\{([^}]+)\}/g)) if (!declared.has(name)) bad(`${m} ${p}: path parameter ${name} undeclared`);
      for (const prm of op.parameters || []) {
        if (!['query', 'header', 'path', 'cookie'].includes(prm.in)) bad(`${m} ${p}: parameter ${prm.name} in ${prm.in}`);
        if (!prm.schema && !prm.content) bad(`${m} ${p}: parameter ${prm.name} has no schema`);
      }
      for (const s of op.security || []) for (const k of Object.keys(s))
        if (!doc.components?.securitySchemes?.[k]) bad(`${m} ${p}: security scheme ${k} undefined`);
    }
  }
  return problems;
}

test('/openapi.json is a valid OpenAPI 3.1 document, public, with no secret', async () => {
  const r = await gw.fetch('/openapi.json');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  const text = await r.text();
  const doc = JSON.parse(text);
  assert.deepEqual(validateOpenAPI(doc), []);
  for (const s of [KEY, ADMIN, ACCESS]) assert.ok(!text.includes(s));
  assert.ok(Object.keys(doc.paths).length > 60);
});

test('every documented route without parameters is served (no 404 for a documented GET)', async () => {
  const doc = await (await gw.fetch('/openapi.json')).json();
  await gw.call(GEN);
  const skip = new Set(['/api/status/logs/stream']);           // an endless stream: logs.test.mjs
  let checked = 0;
  for (const [p, ops] of Object.entries(doc.paths)) {
    if (p.includes('{') || skip.has(p) || !ops.get) continue;
    const client = (ops.get.security || []).some((s) => s.accessKey);
    const r = await gw.fetch(p, { redirect: 'manual', headers: { authorization: `Bearer ${client ? ACCESS : ADMIN}` } });
    await r.arrayBuffer();
    assert.notEqual(r.status, 404, `GET ${p} is documented but answers 404`);
    assert.ok(r.status < 500, `GET ${p}: ${r.status}`);
    checked++;
  }
  assert.ok(checked > 20, `${checked} routes checked`);
  // and what is not documented is not served
  assert.equal((await gw.fetch('/admin/nonexistent', { headers: { authorization: `Bearer ${ADMIN}` } })).status, 404);
  assert.equal((await gw.fetch('/admin/nonexistent', { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } })).status, 404);
});

test('/docs and the UI\'s files are embedded, with a strict Content-Security-Policy', async () => {
  const d = await gw.fetch('/docs');
  assert.equal(d.status, 200);
  assert.match(d.headers.get('content-type'), /^text\/html/);
  assert.match(d.headers.get('content-security-policy'), /default-src 'self'; script-src 'self'/);
  assert.equal(d.headers.get('x-content-type-options'), 'nosniff');
  const html = await d.text();
  assert.match(html, /<script src="\/admin\/ui\/docs\.js" defer><\/script>/);
  assert.ok(!/<script>/.test(html) && !/ on[a-z]+=/.test(html), 'no inline script');
  const js = await gw.fetch('/admin/ui/docs.js');
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  const ui = await gw.fetch('/admin/');
  assert.equal(ui.status, 200);
  assert.match(await ui.text(), /<title>gemgate admin<\/title>/);
  const redirect = await gw.fetch('/admin', { redirect: 'manual' });
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.get('location'), '/admin/');
  for (const p of ['/admin/ui/nope.js', '/admin/ui/.hidden', '/admin/ui/..%2fMakefile']) assert.equal((await gw.fetch(p)).status, 404, p);
  for (const f of ['app.js', 'app.css', 'docs.js', 'index.html']) {
    const t = await (await gw.fetch(`/admin/ui/${f}`)).text();
    for (const s of [KEY, ADMIN, ACCESS]) assert.ok(!t.includes(s), `${f} holds a secret`);
  }
});

test('/admin/stats/series: requests, successes, tokens and cost per step, by model and user', async () => {
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  const before = (await gw.admin('/admin/stats/series?range=hour')).body;
  const had = sum(before.by_model['gemini-2.5-flash']?.requests ?? [0]);
  for (let i = 0; i < 3; i++) await gw.call(GEN);
  const s = await until(async () => {               // the ledger writes in batches
    const r = await gw.admin('/admin/stats/series?range=hour');
    return sum(r.body.by_model['gemini-2.5-flash']?.requests ?? [0]) >= had + 3 && r.body;
  }, 3000);
  assert.ok(s, 'the three calls are in the series');
  assert.equal(s.steps, 60);
  assert.equal(s.step_seconds, 60);
  const total = sum(s.total.requests);
  assert.equal(Object.values(s.by_model).reduce((a, m) => a + sum(m.requests), 0), total, 'the models add up');
  assert.equal(Object.values(s.by_user).reduce((a, m) => a + sum(m.requests), 0), total, 'the users add up');
  assert.ok(sum(s.by_user.static.requests) >= 3);
  assert.ok(sum(s.by_model['gemini-2.5-flash'].tokens) > 0);
  assert.ok(s.total.requests.at(-1) + s.total.requests.at(-2) >= 3, 'in the newest steps');
  const day = await gw.admin('/admin/stats/series?range=day');
  assert.equal(day.body.steps, 24);
  assert.equal((await gw.admin('/admin/stats/series?range=year')).status, 400);
});

test('pool settings: a bad value changes nothing; a per-model limit applies at once; they survive a restart', async () => {
  const os = await import('node:os');
  const db = path.join(os.tmpdir(), `gemgate-pool-${process.pid}.db`);
  let g = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: KEY, GEMGATE_DB: db, GEMGATE_LOG_FORMAT: 'json' });
  try {
    const before = (await g.admin('/admin/config/pool')).body;
    assert.equal(before.strategy, 'round_robin');
    for (const bad of [{ strategy: 'random' }, { max_retries: 99 }, { cooldown_ms: 5000, cooldown_max_ms: 10 }, { key_limits: [{ rpm: 1 }] }, { nope: 1 }]) {
      const r = await g.admin('/admin/config/pool', { method: 'POST', body: JSON.stringify(bad) });
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(r.body.error.status, 'INVALID_ARGUMENT');
    }
    assert.deepEqual((await g.admin('/admin/config/pool')).body, before, 'nothing changed');
    const set = await g.admin('/admin/config/pool', { method: 'POST', body: JSON.stringify({ strategy: 'least_used', max_retries: 1,
      key_limits: [{ model: 'gemini-2.5-flash', rpm: 1, tpm: 0, rpd: 0 }] }) });
    assert.equal(set.status, 200);
    assert.equal(set.body.strategy, 'least_used');
    assert.equal(set.body.cooldown_ms, before.cooldown_ms, 'fields not sent keep their value');
    assert.equal((await g.call(GEN)).status, 200);
    const second = await g.call(GEN);
    assert.equal(second.status, 503, 'the only key has no RPM headroom left for the model');
    assert.ok(Number(second.headers.get('retry-after')) > 0);
    assert.equal((await g.call('/v1beta/models/gemini-2.5-pro:generateContent')).status, 200, 'other models are not limited');
    await g.stop();
    g = await startGateway({ GEMGATE_UPSTREAM: fake.url, GEMGATE_KEYS: KEY, GEMGATE_DB: db });
    const after = (await g.admin('/admin/config/pool')).body;
    assert.equal(after.strategy, 'least_used');
    assert.equal(after.max_retries, 1);
    assert.deepEqual(after.key_limits, [{ model: 'gemini-2.5-flash', rpm: 1, tpm: 0, rpd: 0 }]);
  } finally {
    await g.stop();
    for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true });
  }
});

// ---------- the admin UI in a real browser ----------

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const haveBrowser = fs.existsSync(CHROMIUM);
const noBrowser = !haveBrowser && `no browser at ${CHROMIUM} (Debian package chromium; scripts/packages.txt installs it)`;
const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../artifacts');
let browser, page;

const shot = async (name, p = page) => {
  const text = await p.evaluate(() => document.body.innerText);
  assert.ok(!/\[object |\bundefined\b|\bNaN\b/.test(text), `${name}: the page shows a rendering slip: ${text.match(/.{0,40}(\[object |undefined|NaN).{0,40}/)?.[0]}`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await p.screenshot({ path: path.join(ARTIFACTS, `ui-${name}.png`), fullPage: true });
};
const go = async (hash) => { await page.goto(`${gw.url}/admin/#/${hash}`); await page.waitForSelector('main h1'); };

test('browser: a wrong token is refused; the right one signs in to the dashboard', { skip: noBrowser }, async () => {
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !/401|Failed to load resource/.test(m.text())) errors.push(m.text()); });
  page.errors = errors;
  await page.goto(`${gw.url}/admin/`);
  await page.getByLabel('Admin token').fill('not-the-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('admin token not valid').waitFor();
  await shot('signin');
  await page.getByLabel('Admin token').fill(ADMIN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
  const cookies = await ctx.cookies();
  const c = cookies.find((x) => x.name === 'gemgate_session');
  assert.ok(c && c.httpOnly && c.sameSite === 'Strict', 'an HttpOnly, SameSite=Strict session cookie');
  assert.equal(await page.evaluate(() => document.cookie), '', 'the cookie is not readable by script');
});

test('browser: the dashboard\'s charts have data after traffic; usable on a phone', { skip: noBrowser }, async () => {
  for (let i = 0; i < 5; i++) await gw.call(GEN);
  await until(async () => (await gw.admin('/admin/usage?limit=100')).body.rows.length >= 5, 3000);
  await go('dashboard');
  await page.waitForSelector('svg.chart');
  const requests = Number((await page.locator('#kpi-requests').textContent()).replace(/,/g, ''));
  assert.ok(requests >= 5, `${requests} requests on the dashboard`);
  const points = await page.$$eval('svg.chart', (s) => s.map((x) => Number(x.dataset.points)));
  assert.ok(points.length >= 6 && points.every((p) => p > 0), `every chart has data: ${points}`);
  assert.ok(await page.locator('svg.chart rect').count() > 0, 'the requests chart has bars');
  await shot('dashboard');
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, storageState: await page.context().storageState() });
  await phone.goto(`${gw.url}/admin/#/dashboard`);
  await phone.waitForSelector('svg.chart');
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 1, `no sideways scrolling on a phone (${overflow}px)`);
  await shot('dashboard-phone', phone);
  await phone.close();
});

test('browser: add keys by bulk paste (deduplicated, validated) and see them in the table', { skip: noBrowser }, async () => {
  await go('keys');
  const NEW = 'AIzaSyUI-added-secret-5555';
  await page.getByLabel('Upstream API keys (bulk paste)').fill(`${NEW}\n${NEW}, bad key!\n`);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByText(/1 added/).waitFor();
  const msg = await page.locator('.msg.err, .msg.ok').first().textContent();
  assert.match(msg, /1 duplicates ignored/);
  assert.match(msg, /not a key/);
  await page.locator('td code', { hasText: 'AIza…5555' }).first().waitFor();
  assert.ok(await page.getByRole('button', { name: 'Disable key AIza…5555' }).isVisible());
  const html = await page.content();
  assert.ok(!html.includes(NEW) && !html.includes(KEY), 'no key secret in the page');
  await shot('keys');
});

test('browser: create a user; the key is shown once and works with the OpenAI SDK', { skip: noBrowser }, async () => {
  await go('users');
  await page.getByLabel('Name').fill('browser-user');
  await page.getByLabel('Requests per day').fill('100');
  await page.getByRole('button', { name: 'Create user and key' }).click();
  const key = (await page.locator('#new-key').textContent()).trim();
  assert.ok(key.length > 20);
  await shot('users');
  const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1` });
  const r = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] });
  assert.match(r.choices[0].message.content, /Hello from fake/);
  await page.getByRole('button', { name: 'Done' }).click();
  await go('users');
  assert.ok(!(await page.content()).includes(key), 'the key is not shown again');
  await page.getByRole('cell', { name: 'browser-user', exact: true }).waitFor();
});

test('browser: a call appears in live logs within 2 s; pause holds new lines', { skip: noBrowser }, async () => {
  await go('logs');
  await page.getByText('Live.').waitFor({ timeout: 5000 });
  const r = await gw.call(GEN);
  const rid = r.headers.get('x-request-id');
  const t0 = Date.now();
  await page.locator(`#logview [data-rid="${rid}"]`).first().waitFor({ timeout: 2000 });
  assert.ok(Date.now() - t0 <= 2000);
  await shot('logs');
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByText('Live, paused.').waitFor();
  const held = (await gw.call(GEN)).headers.get('x-request-id');
  await new Promise((res) => setTimeout(res, 600));
  assert.equal(await page.locator(`#logview [data-rid="${held}"]`).count(), 0, 'paused: not shown');
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.locator(`#logview [data-rid="${held}"]`).first().waitFor({ timeout: 2000 });
});

test('browser: change the thinking default and see it applied to the next call', { skip: noBrowser }, async () => {
  await go('settings');
  const form = page.locator('form', { has: page.getByRole('heading', { name: /Thinking default/ }) });
  await form.getByLabel('Enabled').check();
  await form.getByLabel(/Budget/).fill('1024');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.getByText('Saved and applied.').waitFor();
  assert.deepEqual((await gw.admin('/admin/config/thinking')).body, { enabled: true, budget: 1024, include_thoughts: false });
  const client = new OpenAI({ apiKey: ACCESS, baseURL: `${gw.url}/v1` });
  await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'think' }] });
  const last = await fake.last();
  const body = typeof last.body === 'string' ? JSON.parse(last.body) : last.body;
  assert.equal(body?.generationConfig?.thinkingConfig?.thinkingBudget, 1024, `the upstream saw ${JSON.stringify(last).slice(0, 300)}`);
  const pool = page.locator('form', { has: page.getByRole('heading', { name: 'Key pool' }) });
  await pool.getByLabel('Retries').fill('2');
  await pool.getByRole('button', { name: 'Save' }).click();
  await pool.getByText('Saved and applied.').waitFor();
  assert.equal((await gw.admin('/admin/config/pool')).body.max_retries, 2);
  await shot('settings');
});

test('browser: the usage page pages the ledger and exports CSV; the docs render', { skip: noBrowser }, async () => {
  await go('usage');
  await page.locator('table td').first().waitFor();
  const rows = await page.locator('section table tr').count();
  assert.ok(rows > 5);
  const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
  const csv = await page.evaluate(async (h) => (await fetch(h)).text(), href);
  assert.match(csv, /^id,created_at,user_id/);
  await shot('usage');
  await page.goto(`${gw.url}/docs`);
  await page.locator('details.op').first().waitFor();
  assert.ok(await page.locator('details.op').count() > 60);
  await shot('docs');
  assert.deepEqual(page.errors, [], 'no script errors');
});

test('browser: sign out, and the session is refused', { skip: noBrowser }, async () => {
  await go('dashboard');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('Signed out.').waitFor();
  const status = await page.evaluate(async () => (await fetch('/api/status/keys')).status);
  assert.equal(status, 401);
  await page.goto(`${gw.url}/admin/#/keys`);
  await page.getByLabel('Admin token').waitFor();
  await shot('signed-out');
  await browser.close();
});
