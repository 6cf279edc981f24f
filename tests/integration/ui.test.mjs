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
