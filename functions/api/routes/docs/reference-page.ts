/**
 * A dependency-free API reference: it fetches `/openapi.json` and renders how to authenticate,
 * then every operation with its credentials, parameters, request example, and each answer with
 * its headers and examples (every error code's too). Self-contained so it works offline and
 * behind any CDN policy (its inline script and style are allowed by hash: security-headers.ts).
 */
export const referencePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Tollgate API reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fafbfc}
main{max-width:980px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{margin-top:40px;border-bottom:1px solid #d0d7de}h3{margin:20px 0 4px}
.op{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 16px;margin:16px 0}
.m{display:inline-block;min-width:56px;font-weight:700;text-transform:uppercase;color:#fff;border-radius:4px;padding:0 6px;margin-right:8px;text-align:center}
.get{background:#0969da}.post{background:#1a7f37}.patch,.put{background:#9a6700}.delete{background:#cf222e}
.auth{color:#57606a;font-size:13px;margin:4px 0}
code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{background:#f6f8fa;padding:8px;border-radius:6px;overflow:auto;max-height:420px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 8px;border-top:1px solid #eaeef2;vertical-align:top}
details{margin:2px 0}summary{cursor:pointer;color:#0969da}
</style></head>
<body><main><h1>Tollgate API reference</h1><p>The machine-readable description: <a href="/openapi.json">/openapi.json</a>.</p><div id="intro">Loading...</div><div id="ops"></div></main>
<script>
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]);
const inline = (s) => esc(s).replace(/\\*\\*([^*]+)\\*\\*/g, '<strong>$1</strong>').replace(/\`([^\`]+)\`/g, '<code>$1</code>');
const markdown = (text) => {
  let html = '';
  let list = false;
  for (const line of String(text ?? '').split('\\n')) {
    const item = line.startsWith('- ');
    if (list && !item) { html += '</ul>'; list = false; }
    if (line.startsWith('## ')) html += '<h3>' + inline(line.slice(3)) + '</h3>';
    else if (item) { if (!list) { html += '<ul>'; list = true; } html += '<li>' + inline(line.slice(2)) + '</li>'; }
    else if (line.trim()) html += '<p>' + inline(line) + '</p>';
  }
  return html + (list ? '</ul>' : '');
};
const json = (v) => '<pre>' + esc(typeof v === 'string' ? v : JSON.stringify(v, null, 2)) + '</pre>';
fetch('/openapi.json').then((r) => r.json()).then((doc) => {
  const components = doc.components || {};
  const ref = (o) => {
    if (!o || !o.$ref) return o;
    const [, , kind, name] = o.$ref.split('/');
    return (components[kind] || {})[name];
  };
  const example = (s, depth = 0) => {
    s = ref(s);
    if (!s || depth > 8) return null;
    if (s.example !== undefined) return s.example;
    if (s.examples && s.examples.length) return s.examples[0];
    const branches = s.anyOf || s.oneOf;
    if (branches) return example(branches.find((b) => b.type !== 'null') || branches[0], depth + 1);
    if (s.type === 'object' || s.properties) {
      const o = {};
      for (const [k, v] of Object.entries(s.properties || {})) o[k] = example(v, depth + 1);
      return o;
    }
    if (s.type === 'array') return [example(s.items, depth + 1)];
    if (s.enum) return s.enum[0];
    if (s.const !== undefined) return s.const;
    const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
    return { string: 'string', integer: 0, number: 0, boolean: true }[type] ?? null;
  };
  const mediaExamples = (media) => {
    if (!media) return '';
    if (media.example !== undefined) return json(media.example);
    if (media.examples) {
      return Object.entries(media.examples).map(([name, e]) => {
        const ex = ref(e) || {};
        return '<details><summary>' + inline(ex.summary || name) + '</summary>' + json(ex.value) + '</details>';
      }).join('');
    }
    return json(example(media.schema));
  };
  const schemes = components.securitySchemes || {};
  const security = (op) => {
    if (!op.security || !op.security.length) return 'No credentials.';
    return 'Credentials: ' + op.security.map((req) => Object.entries(req).map(([name, scopes]) =>
      '<a href="#auth-' + esc(name) + '">' + esc(name) + '</a>' + (scopes.length ? ' (scope <code>' + scopes.map(esc).join('</code>, <code>') + '</code>)' : '')).join(' and ')).join(' or ') + '.';
  };

  let intro = markdown(doc.info.description);
  if (doc.servers && doc.servers.length) intro += '<h3>Server</h3><p>' + doc.servers.map((s) => '<code>' + esc(s.url) + '</code> ' + esc(s.description)).join('<br>') + '</p>';
  intro += '<h3>Credentials</h3><table><tr><th>Scheme</th><th>How to send it</th></tr>';
  for (const [name, s] of Object.entries(schemes)) {
    const how = s.type === 'http' ? 'Header <code>Authorization: ' + esc(s.scheme === 'bearer' ? 'Bearer' : s.scheme) + ' &lt;token&gt;</code>' : esc(s.in) + ' <code>' + esc(s.name) + '</code>';
    intro += '<tr id="auth-' + esc(name) + '"><td><code>' + esc(name) + '</code></td><td>' + how + '<br>' + inline(s.description) + '</td></tr>';
  }
  intro += '</table>';
  document.getElementById('intro').innerHTML = intro;

  const byTag = {};
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || 'Other';
      (byTag[tag] ||= []).push({ path, method, op });
    }
  }
  const tagText = Object.fromEntries((doc.tags || []).map((t) => [t.name, t.description]));
  let html = '';
  for (const [tag, ops] of Object.entries(byTag)) {
    html += '<h2>' + esc(tag) + '</h2>' + (tagText[tag] ? '<p>' + inline(tagText[tag]) + '</p>' : '');
    for (const { path, method, op } of ops) {
      html += '<section class="op"><div><span class="m ' + method + '">' + method + '</span><code>' + esc(path) + '</code></div>';
      html += '<p><strong>' + inline(op.summary) + '</strong> ' + inline(op.description) + '</p>';
      html += '<p class="auth">' + security(op) + '</p>';
      const params = (op.parameters || []).map(ref);
      if (params.length) {
        html += '<table><tr><th>Parameter</th><th>In</th><th>Description</th></tr>';
        for (const p of params) html += '<tr><td><code>' + esc(p.name) + '</code>' + (p.required ? ' *' : '') + '</td><td>' + esc(p.in) + '</td><td>' + inline(p.description || (p.schema && p.schema.description)) + '</td></tr>';
        html += '</table>';
      }
      const body = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
      if (body) html += '<p>Request body' + (op.requestBody.required ? '' : ' (optional)') + '</p>' + mediaExamples(body);
      html += '<table><tr><th>Status</th><th>Meaning, headers and examples</th></tr>';
      for (const [status, res] of Object.entries(op.responses || {})) {
        const headers = Object.keys(res.headers || {});
        const content = res.content || {};
        html += '<tr><td>' + esc(status) + '</td><td>' + inline(res.description);
        if (headers.length) html += '<br><small>Headers: ' + headers.map((h) => '<code>' + esc(h) + '</code>').join(', ') + '</small>';
        for (const [type, media] of Object.entries(content)) {
          html += '<details><summary>' + esc(type) + ' example' + (media.examples ? 's' : '') + '</summary>' + mediaExamples(media) + '</details>';
        }
        html += '</td></tr>';
      }
      html += '</table></section>';
    }
  }
  document.getElementById('ops').innerHTML = html;
}).catch((e) => { document.getElementById('intro').textContent = 'Could not load the API description: ' + e; });
</script></body></html>`;
