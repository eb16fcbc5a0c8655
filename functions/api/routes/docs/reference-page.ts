/**
 * A dependency-free API reference: it fetches `/openapi.json` and renders every operation with
 * its parameters, body and answers. Self-contained so it works offline and behind any CDN policy.
 */
export const referencePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Tollgate API reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fafbfc}
main{max-width:960px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{margin-top:40px;border-bottom:1px solid #d0d7de}
.op{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 16px;margin:16px 0}
.m{display:inline-block;min-width:56px;font-weight:700;text-transform:uppercase;color:#fff;border-radius:4px;padding:0 6px;margin-right:8px;text-align:center}
.get{background:#0969da}.post{background:#1a7f37}.patch,.put{background:#9a6700}.delete{background:#cf222e}
code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{background:#f6f8fa;padding:8px;border-radius:6px;overflow:auto}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 8px;border-top:1px solid #eaeef2;vertical-align:top}
</style></head>
<body><main><h1>Tollgate API reference</h1><p id="desc">Loading <a href="/openapi.json">/openapi.json</a>...</p><div id="ops"></div></main>
<script>
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]);
fetch('/openapi.json').then((r) => r.json()).then((doc) => {
  const schemas = (doc.components && doc.components.schemas) || {};
  const deref = (s) => (s && s.$ref ? schemas[s.$ref.split('/').pop()] : s);
  const example = (s, depth = 0) => {
    s = deref(s);
    if (!s || depth > 6) return null;
    if (s.example !== undefined) return s.example;
    if (s.anyOf || s.oneOf) return example((s.anyOf || s.oneOf)[0], depth + 1);
    if (s.type === 'object' || s.properties) {
      const o = {};
      for (const [k, v] of Object.entries(s.properties || {})) o[k] = example(v, depth + 1);
      return o;
    }
    if (s.type === 'array') return [example(s.items, depth + 1)];
    if (s.enum) return s.enum[0];
    if (s.const !== undefined) return s.const;
    return { string: 'string', integer: 0, number: 0, boolean: true }[s.type] ?? null;
  };
  document.getElementById('desc').textContent = doc.info.description || '';
  const byTag = {};
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || 'Other';
      (byTag[tag] ||= []).push({ path, method, op });
    }
  }
  let html = '';
  for (const [tag, ops] of Object.entries(byTag)) {
    html += '<h2>' + esc(tag) + '</h2>';
    for (const { path, method, op } of ops) {
      html += '<section class="op"><div><span class="m ' + method + '">' + method + '</span><code>' + esc(path) + '</code></div>';
      html += '<p><strong>' + esc(op.summary) + '</strong> ' + esc(op.description) + '</p>';
      const params = op.parameters || [];
      if (params.length) {
        html += '<table><tr><th>Parameter</th><th>In</th><th>Description</th></tr>';
        for (const p of params) html += '<tr><td><code>' + esc(p.name) + '</code>' + (p.required ? ' *' : '') + '</td><td>' + esc(p.in) + '</td><td>' + esc(p.description || (p.schema && p.schema.description)) + '</td></tr>';
        html += '</table>';
      }
      const body = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
      if (body) html += '<p>Body</p><pre>' + esc(JSON.stringify(example(body.schema), null, 2)) + '</pre>';
      html += '<table><tr><th>Status</th><th>Meaning</th></tr>';
      for (const [status, res] of Object.entries(op.responses || {})) html += '<tr><td>' + esc(status) + '</td><td>' + esc(res.description) + '</td></tr>';
      html += '</table></section>';
    }
  }
  document.getElementById('ops').innerHTML = html;
}).catch((e) => { document.getElementById('desc').textContent = 'Could not load the API description: ' + e; });
</script></body></html>`;
