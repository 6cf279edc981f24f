// The API reference, rendered from /openapi.json (the same document the tests validate).
'use strict';
(function () {
  const $ = (s) => document.querySelector(s);
  const el = (tag, attrs = {}, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'class') e.className = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  };
  const deref = (doc, s) => {
    for (let i = 0; s && s.$ref && i < 10; i++) s = s.$ref.slice(2).split('/').reduce((o, k) => o[k], doc);
    return s;
  };
  const schemaText = (doc, s) => JSON.stringify(deref(doc, s), (k, v) => (v && v.$ref ? deref(doc, v) : v), 2);
  const who = (op) => {
    if (!op.security || op.security.length === 0) return 'public';
    const names = op.security.flatMap((x) => Object.keys(x));
    return names.includes('admin') ? 'admin token' : 'access key';
  };

  function render(doc) {
    $('#title').textContent = `${doc.info.title} ${doc.info.version}`;
    $('#intro').textContent = doc.info.description;
    const byTag = new Map();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const tag = (op.tags || ['other'])[0];
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push({ path, method, op });
      }
    }
    const toc = $('#toc'), ops = $('#ops');
    for (const [tag, list] of byTag) {
      toc.append(el('a', { href: `#tag-${tag}` }, tag), ' ');
      const sec = el('section', { id: `tag-${tag}`, 'aria-labelledby': `h-${tag}` }, el('h2', { id: `h-${tag}` }, tag));
      for (const { path, method, op } of list) {
        const d = el('details', { class: 'op', 'data-search': `${method} ${path} ${op.summary || ''}`.toLowerCase() });
        d.append(el('summary', {}, el('span', { class: `m m-${method}` }, method.toUpperCase()), ' ',
          el('code', {}, path), ' ', el('span', { class: 'sum' }, op.summary || ''), ' ', el('span', { class: 'who' }, who(op))));
        if (op.description) d.append(el('p', {}, op.description));
        if (op.parameters && op.parameters.length) {
          const t = el('table', {}, el('caption', {}, 'Parameters'),
            el('tr', {}, el('th', { scope: 'col' }, 'name'), el('th', { scope: 'col' }, 'in'), el('th', { scope: 'col' }, 'description')));
          for (const p of op.parameters) t.append(el('tr', {}, el('td', {}, el('code', {}, p.name + (p.required ? ' *' : ''))), el('td', {}, p.in), el('td', {}, p.description || '')));
          d.append(t);
        }
        if (op.requestBody) {
          const c = op.requestBody.content['application/json'];
          d.append(el('h3', {}, 'Body'), el('pre', {}, schemaText(doc, c && c.schema)));
        }
        const codes = Object.keys(op.responses || {}).join(', ');
        d.append(el('p', { class: 'codes' }, `Answers: ${codes}`));
        sec.append(d);
      }
      ops.append(sec);
    }
    $('#filter').addEventListener('input', (e) => {
      const q = e.target.value.trim().toLowerCase();
      for (const d of document.querySelectorAll('details.op')) d.hidden = q && !d.dataset.search.includes(q);
    });
  }

  fetch('/openapi.json').then((r) => r.json()).then(render)
    .catch((e) => { $('#intro').textContent = `Could not load /openapi.json: ${e}`; });
})();
