// gemgate's admin web UI: one page, no framework, no outside requests.  It signs in with the
// admin token (POST /admin/session: an HttpOnly cookie, plus a CSRF token kept in memory and sent
// as X-CSRF-Token with every change), then works through the same admin API as curl does.
// The upstream keys it shows are masked by the server; a user's new access key is shown once.
'use strict';
(function () {
  const app = document.getElementById('app');
  let csrf = null;
  let timers = [];
  let socket = null;

  // ---------- small helpers ----------
  const h = (tag, attrs = {}, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of kids.flat(Infinity)) if (c !== null && c !== undefined && c !== false) e.append(c);
    return e;
  };
  let uid = 0;
  const field = (label, input) => {
    const id = input.id || `f${++uid}`;
    input.id = id;
    return h('div', {}, h('label', { for: id }, label), input);
  };
  const num = (n, d = 0) => (n === null || n === undefined || Number.isNaN(Number(n)) ? '–' : Number(n).toLocaleString('en-US', { maximumFractionDigits: d }));
  const usd = (n) => `$${Number(n || 0).toFixed(Number(n) < 1 ? 4 : 2)}`;
  const say = (el, text, ok) => { el.textContent = text; el.className = `msg ${ok ? 'ok' : 'err'}`; el.hidden = !text; };
  const msgBox = () => h('p', { class: 'msg', role: 'status', 'aria-live': 'polite', hidden: true });

  class ApiError extends Error { constructor(status, message) { super(message); this.status = status; } }

  async function api(method, path, body) {
    const headers = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
    const text = await r.text();
    let j = null;
    try { j = text ? JSON.parse(text) : null; } catch { j = null; }
    if (r.status === 401) { showSignIn('Your session has ended: sign in again.'); throw new ApiError(401, 'signed out'); }
    if (!r.ok) throw new ApiError(r.status, (j && j.error && j.error.message) || `${r.status} ${r.statusText}`);
    return j;
  }

  function stop() {
    for (const t of timers) clearInterval(t);
    timers = [];
    if (socket) { socket.onclose = null; socket.close(); socket = null; }
  }

  // ---------- sign in / out ----------
  function showSignIn(note) {
    stop();
    csrf = null;
    const token = h('input', { type: 'password', autocomplete: 'current-password', required: true, name: 'token' });
    const msg = msgBox();
    if (note) say(msg, note, false);
    const form = h('form', { class: 'card signin', 'aria-labelledby': 'signin-h' },
      h('h1', { id: 'signin-h' }, 'gemgate admin'),
      h('p', { class: 'muted' }, 'Sign in with the admin token (GEMGATE_ADMIN_TOKEN).'),
      field('Admin token', token), msg, h('p', {}, h('button', { type: 'submit' }, 'Sign in')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const r = await fetch('/admin/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: token.value }) });
      token.value = '';
      const j = await r.json().catch(() => ({}));
      if (r.status !== 201) { say(msg, (j.error && j.error.message) || 'Sign-in failed', false); token.focus(); return; }
      csrf = j.csrf;
      if (!location.hash || location.hash === '#/signin') location.hash = '#/dashboard';
      route();
    });
    app.replaceChildren(h('main', { id: 'main' }, form));
    token.focus();
  }

  async function signOut() {
    try { await api('DELETE', '/admin/session'); } catch { /* signed out either way */ }
    showSignIn('Signed out.');
  }

  // ---------- layout ----------
  const pages = [['dashboard', 'Dashboard'], ['keys', 'Keys'], ['users', 'Users'], ['usage', 'Usage'], ['logs', 'Live logs'], ['settings', 'Settings']];

  function layout(name, title) {
    const nav = h('nav', { 'aria-label': 'Sections' }, pages.map(([p, label]) =>
      h('a', { href: `#/${p}`, 'aria-current': p === name ? 'page' : null }, label)),
      h('a', { href: '/docs' }, 'API docs'),
      h('button', { type: 'button', class: 'ghost', onclick: signOut, id: 'signout' }, 'Sign out'));
    const main = h('main', { id: 'main', tabindex: '-1' }, h('h1', {}, title));
    app.replaceChildren(h('header', { class: 'bar' }, h('span', { class: 'brand' }, 'gemgate'), nav), main);
    main.focus({ preventScroll: true });
    return main;
  }

  // ---------- charts (SVG, drawn here) ----------
  const palette = ['#0b57d0', '#137333', '#b06000', '#a142f4', '#b3261e', '#007b83', '#5f6368', '#e37400', '#9aa0a6'];

  function chart(title, series, opts = {}) {
    const W = 320, H = 140, P = { l: 40, r: 6, t: 8, b: 12 };
    const n = Math.max(1, ...series.map((s) => s.values.length));
    const max = Math.max(opts.max || 0, ...series.flatMap((s) => s.values), 0) || 1;
    const x = (i) => P.l + (W - P.l - P.r) * (n === 1 ? 0.5 : i / (n - 1));
    const y = (v) => H - P.b - (H - P.t - P.b) * (v / max);
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.setAttribute('class', 'chart');
    svg.setAttribute('role', 'img');
    const total = series.reduce((a, s) => a + s.values.reduce((p, q) => p + q, 0), 0);
    svg.setAttribute('aria-label', `${title}: ${series.length} series, ${opts.fmt ? opts.fmt(total) : num(total)} in all`);
    svg.dataset.points = String(series.reduce((a, s) => a + s.values.filter((v) => v > 0).length, 0));
    const add = (tag, attrs) => {
      const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
      svg.append(e);
      return e;
    };
    for (const f of [0, 0.5, 1]) {
      add('line', { x1: P.l, x2: W - P.r, y1: y(max * f), y2: y(max * f), stroke: '#e3e6ea' });
      add('text', { x: P.l - 4, y: y(max * f) + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#5b6570' }).textContent = opts.fmt ? opts.fmt(max * f) : num(max * f, max < 10 ? 1 : 0);
    }
    series.forEach((s, k) => {
      const color = palette[k % palette.length];
      if (opts.bars && k === 0) {
        const bw = Math.max(1, (W - P.l - P.r) / n - 1);
        s.values.forEach((v, i) => { if (v > 0) add('rect', { x: x(i) - bw / 2, y: y(v), width: bw, height: H - P.b - y(v), fill: color, opacity: 0.8 }); });
      } else {
        add('polyline', { points: s.values.map((v, i) => `${x(i)},${y(v)}`).join(' '), fill: 'none', stroke: color, 'stroke-width': 2 });
      }
    });
    const legend = h('p', { class: 'legend' }, series.map((s, k) => [h('i', { style: null, 'data-c': k }), s.name]));
    legend.querySelectorAll('i').forEach((i) => { i.style.background = palette[Number(i.dataset.c) % palette.length]; });
    return h('figure', { class: 'card' }, h('figcaption', {}, h('b', {}, title)), svg, legend);
  }

  // ---------- dashboard ----------
  async function dashboard(main) {
    const range = h('select', {}, h('option', { value: 'hour' }, 'Last hour (per minute)'), h('option', { value: 'day' }, 'Last day (per hour)'), h('option', { value: 'month' }, 'Last 30 days (per day)'));
    range.value = sessionStorage.getItem('range') || 'hour';
    const kpis = h('div', { class: 'kpis', 'aria-live': 'polite' });
    const charts = h('div', { class: 'grid' });
    const pool = h('section', { class: 'card', 'aria-labelledby': 'pool-h' }, h('h2', { id: 'pool-h' }, 'The pool at a glance'));
    main.append(h('div', { class: 'row' }, field('Range', range)), kpis, charts, pool);
    const load = async () => {
      const [s, keys, health] = await Promise.all([api('GET', `/admin/stats/series?range=${range.value}`), api('GET', '/api/status/keys'), api('GET', '/health')]);
      const sum = (a) => a.reduce((x, y) => x + y, 0);
      const req = sum(s.total.requests), ok = sum(s.total.success);
      const perMin = s.total.requests.map((v) => v / (s.step_seconds / 60));
      kpis.replaceChildren(
        h('div', { class: 'kpi' }, h('b', { id: 'kpi-requests' }, num(req)), h('span', {}, 'requests')),
        h('div', { class: 'kpi' }, h('b', {}, req ? `${(100 * ok / req).toFixed(1)} %` : '–'), h('span', {}, 'success rate')),
        h('div', { class: 'kpi' }, h('b', {}, num(sum(s.total.tokens))), h('span', {}, 'tokens')),
        h('div', { class: 'kpi' }, h('b', {}, usd(sum(s.total.cost))), h('span', {}, 'cost')),
        h('div', { class: 'kpi' }, h('b', {}, `${health.available_keys} / ${keys.total}`), h('span', {}, 'keys available')));
      const lines = (group, k) => Object.entries(group).map(([name, v]) => ({ name, values: v[k] }));
      const rate = s.total.requests.map((v, i) => (v ? (100 * s.total.success[i]) / v : 0));
      charts.replaceChildren(
        chart('Requests per minute', [{ name: 'all', values: perMin }], { bars: true }),
        chart('Success rate (%)', [{ name: 'success rate', values: rate }], { max: 100 }),
        chart('Requests by model', lines(s.by_model, 'requests')),
        chart('Requests by user', lines(s.by_user, 'requests')),
        chart('Tokens by model', lines(s.by_model, 'tokens')),
        chart('Cost by model (USD)', lines(s.by_model, 'cost'), { fmt: (v) => `$${v.toFixed(v < 1 ? 4 : 2)}` }));
      const states = {};
      for (const k of keys.keys) states[k.state] = (states[k.state] || 0) + 1;
      pool.replaceChildren(h('h2', { id: 'pool-h' }, 'The pool at a glance'),
        h('p', {}, Object.entries(states).map(([st, c]) => [h('span', { class: `pill s-${st}` }, `${c} ${st}`), ' ']), keys.keys.length ? '' : 'No upstream keys yet.'));
    };
    range.addEventListener('change', () => { sessionStorage.setItem('range', range.value); load().catch(() => {}); });
    await load();
    timers.push(setInterval(() => load().catch(() => {}), 15000));
  }

  // ---------- keys ----------
  async function keysPage(main) {
    const msg = msgBox();
    const statusTable = h('div', { class: 'scroll' });
    const storedTable = h('div', { class: 'scroll' });
    const paste = h('textarea', { placeholder: 'One key per line (or comma separated)', spellcheck: 'false', autocomplete: 'off' });
    const addForm = h('form', { class: 'card', 'aria-labelledby': 'add-h' }, h('h2', { id: 'add-h' }, 'Add keys'),
      field('Upstream API keys (bulk paste)', paste), h('p', {}, h('button', { type: 'submit' }, 'Add')), msg);
    main.append(h('section', { class: 'card', 'aria-labelledby': 'st-h' }, h('h2', { id: 'st-h' }, 'Status'), statusTable),
      addForm, h('section', { class: 'card', 'aria-labelledby': 'sk-h' }, h('h2', { id: 'sk-h' }, 'Keys stored through the admin API'), storedTable));
    let cooldowns = [];
    const renderStatus = (keys, limits) => {
      cooldowns = [];
      const lim = (m) => limits.find((l) => l.model === m) || limits.find((l) => l.model === '*');
      const t = h('table', {}, h('caption', { class: 'muted' }, 'Live: cooldowns count down; refreshed every 5 s'),
        h('tr', {}, ['#', 'Key', 'State', 'Today', 'Requests', 'Errors', 'Avg latency', 'Cooldowns and limits per model'].map((c) => h('th', { scope: 'col' }, c))));
      for (const k of keys) {
        const cd = h('td', {});
        const models = new Set([...Object.keys(k.cooldowns || {}), ...Object.keys(k.learned_limits || {})]);
        for (const m of models) {
          const left = (k.cooldowns || {})[m];
          const span = h('span', { class: 'cd' });
          if (left) { cooldowns.push({ span, until: Date.now() + left * 1000, m }); }
          else span.textContent = `${m}: ready`;
          const l = lim(m), learned = (k.learned_limits || {})[m];
          cd.append(h('div', {}, span,
            l ? h('span', { class: 'muted' }, ` · configured rpm ${l.rpm || '∞'} tpm ${l.tpm || '∞'} rpd ${l.rpd || '∞'}`) : '',
            learned ? h('span', { class: 'muted' }, ` · learned ${Object.entries(learned).map(([a, b]) => `${a} ${b}`).join(' ')}`) : ''));
        }
        if (!models.size) cd.append(h('span', { class: 'muted' }, limits.length ? `configured: ${limits.map((l) => `${l.model} rpm ${l.rpm || '∞'}`).join(', ')}` : '–'));
        t.append(h('tr', {}, h('td', {}, String(k.id)), h('td', {}, h('code', {}, k.key)),
          h('td', {}, h('span', { class: `pill s-${k.state}` }, k.state), k.last_error ? h('div', { class: 'muted' }, k.last_error) : ''),
          h('td', {}, `${num(k.today_requests)} req, ${num(k.today_tokens)} tok`), h('td', {}, num(k.requests)),
          h('td', {}, `${num(k.errors)} (${num(100 * (k.error_rate || 0), 1)} %)`), h('td', {}, `${num(k.avg_latency_ms)} ms`), cd));
      }
      statusTable.replaceChildren(keys.length ? t : h('p', { class: 'muted' }, 'No upstream keys: add some below, or set GEMGATE_KEYS.'));
      tick();
    };
    const tick = () => {
      for (const c of cooldowns) {
        const s = Math.max(0, Math.ceil((c.until - Date.now()) / 1000));
        c.span.textContent = s ? `${c.m}: cooling, ${s} s left` : `${c.m}: ready`;
        c.span.className = s ? 'cd s-cooling' : 'cd';
      }
    };
    const action = (id, what) => async () => {
      try {
        if (what === 'delete') { if (!confirm('Remove this key?')) return; await api('DELETE', `/admin/config/gemini-keys/${id}`); }
        else await api('POST', `/admin/config/gemini-keys/${id}/${what}`);
        say(msg, `Key ${id}: ${what} done`, true);
      } catch (e) { say(msg, `Key ${id}: ${e.message}`, false); }
      load();
    };
    const renderStored = (list) => {
      const t = h('table', {}, h('tr', {}, ['Id', 'Key', 'Enabled', 'Added', 'Actions'].map((c) => h('th', { scope: 'col' }, c))));
      for (const k of list.keys) {
        t.append(h('tr', {}, h('td', {}, String(k.id)), h('td', {}, h('code', {}, k.key)), h('td', {}, k.enabled ? 'yes' : 'no'), h('td', {}, k.created_at || ''),
          h('td', {}, h('div', { class: 'row' },
            h('button', { type: 'button', class: 'ghost', onclick: action(k.id, k.enabled ? 'disable' : 'enable'), 'aria-label': `${k.enabled ? 'Disable' : 'Enable'} key ${k.key}` }, k.enabled ? 'Disable' : 'Enable'),
            h('button', { type: 'button', class: 'ghost', onclick: action(k.id, 'recheck'), 'aria-label': `Re-check key ${k.key}` }, 'Re-check'),
            h('button', { type: 'button', class: 'danger', onclick: action(k.id, 'delete'), 'aria-label': `Remove key ${k.key}` }, 'Remove')))));
      }
      storedTable.replaceChildren(list.keys.length ? t : h('p', { class: 'muted' }, 'None yet.'));
    };
    const load = async () => {
      const [st, stored, pool] = await Promise.all([api('GET', '/api/status/keys'), api('GET', '/admin/config/gemini-keys'), api('GET', '/admin/config/pool')]);
      renderStatus(st.keys, pool.key_limits || []);
      renderStored(stored);
    };
    addForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      const all = paste.value.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
      const keys = [...new Set(all)];
      const bad = keys.filter((k) => !/^[A-Za-z0-9_\-.]{8,200}$/.test(k));
      const good = keys.filter((k) => !bad.includes(k));
      let added = 0, present = 0;
      const errors = [];
      for (const key of good) {
        try { await api('POST', '/admin/config/gemini-key', { key }); added++; }
        catch (err) { if (err.status === 409) present++; else errors.push(err.message); }
      }
      paste.value = '';
      const parts = [`${added} added`];
      if (present) parts.push(`${present} already there`);
      if (all.length - keys.length) parts.push(`${all.length - keys.length} duplicates ignored`);
      if (bad.length) parts.push(`${bad.length} not a key (letters, digits, - _ . only, 8 or more)`);
      if (errors.length) parts.push(`refused: ${errors.join('; ')}`);
      say(msg, parts.join(', '), !bad.length && !errors.length);
      load();
    });
    await load();
    timers.push(setInterval(tick, 1000), setInterval(() => load().catch(() => {}), 5000));
  }

  // ---------- users ----------
  async function usersPage(main) {
    const msg = msgBox();
    const list = h('div', { class: 'scroll' });
    const shown = h('div', { 'aria-live': 'polite' });
    const name = h('input', { required: true, autocomplete: 'off' });
    const rpm = h('input', { type: 'number', min: 0, value: 0 });
    const tpm = h('input', { type: 'number', min: 0, value: 0 });
    const rpd = h('input', { type: 'number', min: 0, value: 0 });
    const daily = h('input', { inputmode: 'decimal', placeholder: '0 = none' });
    const monthly = h('input', { inputmode: 'decimal', placeholder: '0 = none' });
    const models = h('input', { placeholder: 'all models', autocomplete: 'off' });
    const form = h('form', { class: 'card', 'aria-labelledby': 'nu-h' }, h('h2', { id: 'nu-h' }, 'New user'),
      h('div', { class: 'row' }, field('Name', name), field('Requests per minute', rpm), field('Tokens per minute', tpm), field('Requests per day', rpd)),
      h('div', { class: 'row' }, field('Daily budget (USD)', daily), field('Monthly budget (USD)', monthly), field('Allowed models (comma separated)', models)),
      h('p', {}, h('button', { type: 'submit' }, 'Create user and key')), shown);
    const usage = h('div', {});
    main.append(form, msg, h('section', { class: 'card', 'aria-labelledby': 'ul-h' }, h('h2', { id: 'ul-h' }, 'Users'), list), usage);
    const limitsBody = (o) => {
      const b = { rpm: Number(o.rpm.value || 0), tpm: Number(o.tpm.value || 0), rpd: Number(o.rpd.value || 0) };
      if (o.daily.value) b.daily_budget = o.daily.value;
      if (o.monthly.value) b.monthly_budget = o.monthly.value;
      b.allowed_models = o.models.value.split(',').map((s) => s.trim()).filter(Boolean);
      return b;
    };
    const showKey = (key, who) => {
      const box = h('p', { class: 'secret', id: 'new-key' }, key);
      const copy = h('button', { type: 'button', class: 'ghost', onclick: async () => {
        try { await navigator.clipboard.writeText(key); copy.textContent = 'Copied'; } catch { copy.textContent = 'Select and copy it'; }
      } }, 'Copy');
      shown.replaceChildren(h('div', { class: 'msg ok' }, h('b', {}, `Access key for ${who} — shown this once: store it now.`), box, copy,
        h('button', { type: 'button', class: 'ghost', onclick: () => shown.replaceChildren() }, 'Done')));
    };
    const act = (fn, text) => async () => { try { await fn(); say(msg, text, true); } catch (e) { say(msg, e.message, false); } load(); };
    const showUsage = async (u) => {
      const s = await api('GET', `/admin/users/${u.id}/usage-stats?period=month`);
      const d = s.data || {};
      usage.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'us-h' }, h('h2', { id: 'us-h' }, `Usage of ${u.name} (this month)`),
        h('p', {}, `${num(d.total_count)} calls, ${num(d.success_count)} succeeded (${d.success_rate ?? 0} %), ${num(d.failed_count)} failed.`),
        h('div', { class: 'scroll' }, h('table', {}, h('tr', {}, ['When', 'Type', 'Model', 'Success', 'Prompt'].map((c) => h('th', { scope: 'col' }, c))),
          (d.recent_usage || []).map((x) => h('tr', {}, h('td', {}, x.created_at || ''), h('td', {}, x.generation_type || ''), h('td', {}, x.model_name || x.model || ''),
            h('td', {}, String(x.success)), h('td', {}, (x.prompt || '').slice(0, 80))))))));
    };
    const editForm = (u) => {
      const f = { rpm: h('input', { type: 'number', min: 0, value: u.limits.rpm }), tpm: h('input', { type: 'number', min: 0, value: u.limits.tpm }),
        rpd: h('input', { type: 'number', min: 0, value: u.limits.rpd }), daily: h('input', { value: u.limits.daily_budget }),
        monthly: h('input', { value: u.limits.monthly_budget }), models: h('input', { value: (u.limits.allowed_models || []).join(', ') }) };
      const form2 = h('form', { class: 'card' }, h('h3', {}, `Limits of ${u.name}`),
        h('div', { class: 'row' }, field('Requests per minute', f.rpm), field('Tokens per minute', f.tpm), field('Requests per day', f.rpd)),
        h('div', { class: 'row' }, field('Daily budget (USD)', f.daily), field('Monthly budget (USD)', f.monthly), field('Allowed models', f.models)),
        h('p', {}, h('button', { type: 'submit' }, 'Save limits')));
      form2.addEventListener('submit', (e) => { e.preventDefault(); act(() => api('PATCH', `/admin/users/${u.id}`, limitsBody(f)), `Limits of ${u.name} saved`)(); });
      usage.replaceChildren(form2);
      f.rpm.focus();
    };
    const load = async () => {
      const r = await api('GET', '/admin/users');
      const t = h('table', {}, h('tr', {}, ['Id', 'Name', 'State', 'Limits', 'Today', 'Keys', 'Actions'].map((c) => h('th', { scope: 'col' }, c))));
      for (const u of r.users) {
        const keys = u.keys.map((k) => h('div', {}, h('code', {}, `${k.prefix}…`), ` ${k.name || ''} `, k.revoked ? h('span', { class: 'pill s-disabled' }, 'revoked')
          : h('button', { type: 'button', class: 'ghost', 'aria-label': `Revoke key ${k.id} of ${u.name}`, onclick: act(() => api('DELETE', `/admin/users/${u.id}/keys/${k.id}`), `Key ${k.id} revoked`) }, 'Revoke')));
        const l = u.limits;
        t.append(h('tr', {}, h('td', {}, String(u.id)), h('td', {}, u.name), h('td', {}, h('span', { class: `pill s-${u.disabled ? 'disabled' : 'active'}` }, u.disabled ? 'disabled' : 'active')),
          h('td', {}, `rpm ${l.rpm || '∞'}, tpm ${l.tpm || '∞'}, rpd ${l.rpd || '∞'}; budget ${l.daily_budget}/day ${l.monthly_budget}/month${l.allowed_models.length ? `; models: ${l.allowed_models.join(', ')}` : ''}`),
          h('td', {}, `${num(u.usage.today_requests)} req, $${u.usage.today_cost}`), h('td', {}, keys),
          h('td', {}, h('div', { class: 'row' },
            h('button', { type: 'button', class: 'ghost', onclick: () => editForm(u), 'aria-label': `Edit limits of ${u.name}` }, 'Limits'),
            h('button', { type: 'button', class: 'ghost', onclick: () => showUsage(u).catch((e) => say(msg, e.message, false)), 'aria-label': `Usage of ${u.name}` }, 'Usage'),
            h('button', { type: 'button', class: 'ghost', onclick: act(async () => { const k = await api('POST', `/admin/users/${u.id}/keys`, {}); showKey(k.key, u.name); }, `New key for ${u.name}`), 'aria-label': `New key for ${u.name}` }, 'New key'),
            h('button', { type: 'button', class: u.disabled ? 'ghost' : 'danger', onclick: act(() => api('POST', `/admin/users/${u.id}/${u.disabled ? 'enable' : 'disable'}`), `${u.name} ${u.disabled ? 'enabled' : 'disabled'}`), 'aria-label': `${u.disabled ? 'Enable' : 'Disable'} ${u.name}` }, u.disabled ? 'Enable' : 'Disable')))));
      }
      list.replaceChildren(r.users.length ? t : h('p', { class: 'muted' }, 'No users yet.'));
    };
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const r = await api('POST', '/admin/config/user-key', { name: name.value.trim(), ...limitsBody({ rpm, tpm, rpd, daily, monthly, models }) });
        showKey(r.key, name.value.trim());
        say(msg, `User ${name.value.trim()} created`, true);
        name.value = '';
      } catch (err) { say(msg, err.message, false); }
      load();
    });
    await load();
  }

  // ---------- usage ----------
  async function usagePage(main) {
    const f = { user: h('input', { inputmode: 'numeric', placeholder: 'user id' }), model: h('input', { placeholder: 'any' }), type: h('input', { placeholder: 'any' }),
      status: h('select', {}, h('option', { value: '' }, 'any'), h('option', { value: 'success' }, 'success'), h('option', { value: 'failed' }, 'failed')),
      from: h('input', { type: 'datetime-local' }), to: h('input', { type: 'datetime-local' }) };
    const msg = msgBox();
    const table = h('div', { class: 'scroll' });
    const prev = h('button', { type: 'button', class: 'ghost' }, 'Newer');
    const next = h('button', { type: 'button', class: 'ghost' }, 'Older');
    const csv = h('a', { href: '#', download: 'gemgate-usage.csv' }, 'Export CSV');
    const form = h('form', { class: 'card', 'aria-label': 'Filters' }, h('div', { class: 'row' }, field('User', f.user), field('Model', f.model), field('Type', f.type),
      field('Status', f.status), field('From', f.from), field('To', f.to), h('button', { type: 'submit' }, 'Apply')));
    const stats = h('div', {});
    main.append(form, msg, h('section', { class: 'card', 'aria-labelledby': 'lg-h' }, h('h2', { id: 'lg-h' }, 'The ledger'), table,
      h('div', { class: 'row' }, prev, next, csv)), stats);
    const cursors = [];
    let cursor = '';
    const query = () => {
      const q = new URLSearchParams();
      for (const k of ['user', 'model', 'type', 'status']) if (f[k].value.trim()) q.set(k, f[k].value.trim());
      for (const k of ['from', 'to']) if (f[k].value) q.set(k, new Date(f[k].value).toISOString().replace(/\.\d+Z$/, 'Z'));
      return q;
    };
    const load = async () => {
      const q = query();
      csv.href = `/admin/usage/export?format=csv&${q}`;
      q.set('limit', '25');
      if (cursor) q.set('cursor', cursor);
      const r = await api('GET', `/admin/usage?${q}`);
      const t = h('table', {}, h('tr', {}, ['When', 'User', 'Model', 'Type', 'Status', 'Tokens in/out', 'Bill', 'Key', 'Latency', 'Request id'].map((c) => h('th', { scope: 'col' }, c))));
      for (const x of r.rows) t.append(h('tr', {}, h('td', {}, x.created_at), h('td', {}, String(x.user_id)), h('td', {}, x.model_name), h('td', {}, x.generation_type),
        h('td', {}, h('span', { class: `pill s-${x.status}` }, `${x.status} ${x.http_status}`), x.error_message ? h('div', { class: 'muted' }, x.error_message) : ''),
        h('td', {}, `${num(x.input_tokens)} / ${num(x.output_tokens)}`), h('td', {}, `$${x.bill}`), h('td', {}, h('code', {}, x.upstream_key || '–')),
        h('td', {}, `${num(x.latency_ms)} ms`), h('td', {}, h('code', {}, x.request_id || ''))));
      table.replaceChildren(r.rows.length ? t : h('p', { class: 'muted' }, 'No rows match.'));
      next.disabled = !r.next_cursor;
      next.onclick = () => { cursors.push(cursor); cursor = r.next_cursor; load(); };
      prev.disabled = !cursors.length;
      prev.onclick = () => { cursor = cursors.pop() || ''; load(); };
    };
    const loadStats = async () => {
      const s = await api('GET', '/admin/stats?period=month&top=10');
      const rows = (obj) => Object.entries(obj || {});
      const part = (title, o) => h('div', {}, h('h3', {}, title), h('table', {}, h('tr', {}, ['', 'Requests', 'Success', 'Tokens', 'Cost'].map((c) => h('th', { scope: 'col' }, c))),
        (Array.isArray(o) ? o.map((v) => [v.name || v.value || v.model || v.user_id, v]) : rows(o)).map(([k, v]) => h('tr', {}, h('td', {}, String(k)),
          h('td', {}, num(v.requests ?? v.total_count ?? v.calls)), h('td', {}, `${v.success_rate ?? ''}`), h('td', {}, num(v.tokens ?? ((v.input_tokens || 0) + (v.output_tokens || 0)))), h('td', {}, `${v.cost ?? v.bill ?? ''}`)))));
      const by = s.by_user || s.users || s.breakdown?.user;
      stats.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'st2-h' }, h('h2', { id: 'st2-h' }, 'Statistics per user (this month)'),
        h('div', { class: 'scroll' }, by ? part('By user', by) : h('pre', {}, JSON.stringify(s.totals || s, null, 1).slice(0, 2000)))));
    };
    form.addEventListener('submit', (e) => { e.preventDefault(); cursor = ''; cursors.length = 0; load().catch((err) => say(msg, err.message, false)); });
    await load();
    loadStats().catch(() => {});
  }

  // ---------- live logs ----------
  async function logsPage(main) {
    const stream = h('select', {}, h('option', { value: '' }, 'all'), h('option', { value: 'app' }, 'application'), h('option', { value: 'transaction' }, 'transaction'), h('option', { value: 'debug' }, 'debug'));
    const level = h('select', {}, ['debug', 'info', 'warn', 'error'].map((l) => h('option', { value: l }, l)));
    level.value = 'info';
    const rid = h('input', { placeholder: 'any', autocomplete: 'off' });
    const pause = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Pause');
    const clear = h('button', { type: 'button', class: 'ghost' }, 'Clear');
    const state = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' }, 'Connecting…');
    const view = h('div', { id: 'logview', role: 'log', 'aria-label': 'Log lines', tabindex: '0' });
    main.append(h('div', { class: 'card' }, h('div', { class: 'row' }, field('Stream', stream), field('Level (and more severe)', level), field('Request id', rid), pause, clear), state), view);
    let paused = false;
    const filters = () => ({ stream: stream.value || null, level: level.value, request_id: rid.value.trim() || null, paused });
    const line = (l) => {
      if (l.type === 'lost') return h('div', { class: 'l-warn' }, `… ${l.count} lines lost (the ring moved on)`);
      const t = (l.ts || '').slice(11, 23);
      const body = l.stream === 'transaction'
        ? `${l.method} ${l.route} model=${l.model} status=${l.status} ${l.outcome} attempts=${l.attempts} tokens=${l.tokens_in}/${l.tokens_out} ${l.latency_ms} ms key=${l.key} user=${l.user}`
        : l.msg;
      return h('div', { class: `l-${l.level}`, 'data-rid': l.request_id || '' }, `${t} ${l.level.padEnd(5)} ${l.stream.padEnd(11)} ${body}${l.request_id ? ` rid=${l.request_id}` : ''}`);
    };
    const connect = async () => {
      const t = await api('POST', '/admin/session', {});
      const q = new URLSearchParams({ ticket: t.ticket, n: '100', level: level.value });
      if (stream.value) q.set('stream', stream.value);
      if (rid.value.trim()) q.set('request_id', rid.value.trim());
      const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/status/logs/ws?${q}`);
      socket = ws;
      ws.onopen = () => { state.textContent = 'Live.'; };
      ws.onmessage = (ev) => {
        const l = JSON.parse(ev.data);
        if (l.type === 'filter' || l.type === 'error') { state.textContent = l.type === 'error' ? l.message : `Live${l.paused ? ', paused' : ''}.`; return; }
        const atEnd = view.scrollTop + view.clientHeight >= view.scrollHeight - 20;
        view.append(line(l));
        while (view.childNodes.length > 2000) view.firstChild.remove();
        if (atEnd) view.scrollTop = view.scrollHeight;
      };
      ws.onclose = (ev) => {
        if (socket !== ws) return;
        state.textContent = `Disconnected (${ev.code}${ev.reason ? `: ${ev.reason}` : ''}); reconnecting…`;
        setTimeout(() => { if (socket === ws) connect().catch(() => {}); }, 2000);
      };
    };
    const send = () => { if (socket && socket.readyState === 1) socket.send(JSON.stringify(filters())); };
    for (const e of [stream, level]) e.addEventListener('change', send);
    rid.addEventListener('change', send);
    pause.addEventListener('click', () => { paused = !paused; pause.textContent = paused ? 'Resume' : 'Pause'; pause.setAttribute('aria-pressed', String(paused)); send(); });
    clear.addEventListener('click', () => view.replaceChildren());
    await connect();
  }

  // ---------- settings ----------
  async function settingsPage(main) {
    const [th, inj, pool, prices] = await Promise.all([api('GET', '/admin/config/thinking'), api('GET', '/admin/config/inject-prompt'),
      api('GET', '/admin/config/pool'), api('GET', '/admin/prices')]);
    const section = (id, title, ...kids) => {
      const msg = msgBox();
      const form = h('form', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...kids, h('p', {}, h('button', { type: 'submit' }, 'Save')), msg);
      return { form, msg };
    };
    const saveWith = ({ form, msg }, fn) => form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try { await fn(); say(msg, 'Saved and applied.', true); } catch (err) { say(msg, err.message, false); }
    });
    // thinking
    const tEn = h('input', { type: 'checkbox', checked: th.enabled }), tBud = h('input', { type: 'number', min: -1, max: 32768, value: th.budget }),
      tInc = h('input', { type: 'checkbox', checked: th.include_thoughts });
    const tS = section('th-h', 'Thinking default (OpenAI requests)', h('div', { class: 'row' }, field('Enabled', tEn), field('Budget (-1 auto, 0 off, 1–32768)', tBud), field('Include thoughts', tInc)));
    saveWith(tS, () => api('POST', '/admin/config/thinking', { enabled: tEn.checked, budget: Number(tBud.value), include_thoughts: tInc.checked }));
    // prompt injection
    const iEn = h('input', { type: 'checkbox', checked: inj.enabled }), iCon = h('textarea', {}, inj.content || ''),
      iPos = h('select', {}, ['system', 'user_prefix', 'user_suffix'].map((p) => h('option', { value: p }, p)));
    iPos.value = inj.position || 'system';
    const iS = section('in-h', 'Prompt injection', h('div', { class: 'row' }, field('Enabled', iEn), field('Position', iPos)), field('Content', iCon));
    saveWith(iS, () => api('POST', '/admin/config/inject-prompt', { enabled: iEn.checked, content: iCon.value, position: iPos.value }));
    // pool
    const pStr = h('select', {}, ['round_robin', 'least_used', 'health'].map((p) => h('option', { value: p }, p)));
    pStr.value = pool.strategy;
    const pRet = h('input', { type: 'number', min: 0, max: 20, value: pool.max_retries }), pCd = h('input', { type: 'number', min: 0.001, step: 'any', value: pool.cooldown_ms / 1000 }),
      pCm = h('input', { type: 'number', min: 0.001, step: 'any', value: pool.cooldown_max_ms / 1000 }), pMf = h('input', { type: 'number', min: 1, value: pool.max_failures });
    const pS = section('po-h', 'Key pool', h('div', { class: 'row' }, field('Strategy', pStr), field('Retries', pRet), field('Cooldown after a 429 (s)', pCd), field('Longest cooldown (s)', pCm), field('Failures before a key is disabled', pMf)));
    saveWith(pS, () => api('POST', '/admin/config/pool', { strategy: pStr.value, max_retries: Number(pRet.value), cooldown_ms: Math.round(Number(pCd.value) * 1000),
      cooldown_max_ms: Math.round(Number(pCm.value) * 1000), max_failures: Number(pMf.value) }));
    // per-model limits
    const limRows = h('tbody', {});
    const limRow = (l = { model: '', rpm: 0, tpm: 0, rpd: 0 }) => {
      const m = h('input', { value: l.model, 'aria-label': 'Model ("*" for all others)', placeholder: 'model or *' });
      const ins = ['rpm', 'tpm', 'rpd'].map((k) => h('input', { type: 'number', min: 0, value: l[k] || 0, 'aria-label': k.toUpperCase() }));
      const tr = h('tr', {}, h('td', {}, m), ins.map((i) => h('td', {}, i)), h('td', {}, h('button', { type: 'button', class: 'ghost', onclick: () => tr.remove(), 'aria-label': 'Remove this limit' }, 'Remove')));
      tr.read = () => ({ model: m.value.trim(), rpm: Number(ins[0].value), tpm: Number(ins[1].value), rpd: Number(ins[2].value) });
      limRows.append(tr);
    };
    (pool.key_limits || []).forEach(limRow);
    const lS = section('li-h', 'Per-key limits per model (0 = none)', h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, ['Model', 'RPM', 'TPM', 'RPD', ''].map((c) => h('th', { scope: 'col' }, c)))), limRows)),
      h('p', {}, h('button', { type: 'button', class: 'ghost', onclick: () => limRow() }, 'Add a model')));
    saveWith(lS, () => api('POST', '/admin/config/pool', { key_limits: [...limRows.children].map((tr) => tr.read()).filter((l) => l.model) }));
    // prices
    const prTable = h('div', { class: 'scroll' });
    const renderPrices = (list) => prTable.replaceChildren(h('table', {}, h('tr', {}, ['Model', 'Input', 'Output', 'Thinking', 'Cached', 'Per request'].map((c) => h('th', { scope: 'col' }, c))),
      list.prices.map((p) => h('tr', {}, h('td', {}, p.model), h('td', {}, p.input), h('td', {}, p.output), h('td', {}, p.thinking), h('td', {}, p.cached), h('td', {}, p.per_request)))));
    renderPrices(prices);
    const pm = { model: h('input', { required: true, placeholder: 'gemini-2.5-flash' }) };
    for (const k of ['input', 'output', 'thinking', 'cached', 'per_request']) pm[k] = h('input', { inputmode: 'decimal', placeholder: 'unchanged' });
    const prS = section('pr-h', `Prices (${prices.unit || 'USD per million tokens'})`, prTable,
      h('div', { class: 'row' }, field('Model', pm.model), field('Input', pm.input), field('Output', pm.output), field('Thinking', pm.thinking), field('Cached', pm.cached), field('Per request', pm.per_request)));
    saveWith(prS, async () => {
      const b = {};
      for (const k of ['input', 'output', 'thinking', 'cached', 'per_request']) if (pm[k].value.trim()) b[k] = pm[k].value.trim();
      await api('PUT', `/admin/prices/${encodeURIComponent(pm.model.value.trim())}`, b);
      renderPrices(await api('GET', '/admin/prices'));
    });
    main.append(tS.form, iS.form, pS.form, lS.form, prS.form);
  }

  // ---------- routing ----------
  const views = { dashboard: [dashboard, 'Dashboard'], keys: [keysPage, 'Keys'], users: [usersPage, 'Users'], usage: [usagePage, 'Usage'], logs: [logsPage, 'Live logs'], settings: [settingsPage, 'Settings'] };

  async function route() {
    stop();
    if (!csrf) return showSignIn();
    const name = (location.hash.match(/^#\/(\w+)/) || [])[1] || 'dashboard';
    const [fn, title] = views[name] || views.dashboard;
    document.title = `${title} · gemgate admin`;
    const main = layout(name, title);
    try { await fn(main); } catch (e) { if (!(e instanceof ApiError && e.status === 401)) main.append(h('p', { class: 'msg err', role: 'alert' }, `Could not load: ${e.message}`)); }
  }

  window.addEventListener('hashchange', route);
  fetch('/admin/session', { credentials: 'same-origin' }).then((r) => r.json()).then((s) => {
    if (s.signed_in) { csrf = s.csrf; route(); } else showSignIn();
  }).catch(() => showSignIn('The gateway did not answer.'));
})();
