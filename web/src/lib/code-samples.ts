/**
 * "View code": the exact request a console form sends, as curl, JavaScript and Python. Chat and
 * embeddings use the official OpenAI SDKs pointed at this server; the other endpoints are
 * Tollgate's own, so plain HTTP. The key is never written into the code: it is read from
 * `TOLLGATE_API_KEY`, as it should be in the user's own programs.
 */

export interface SampleRequest {
  /** An API path, `/v1/...`. */
  path: string;
  body: Record<string, unknown>;
}

export interface CodeSamples {
  curl: string;
  javascript: string;
  python: string;
}

export const API_KEY_VARIABLE = 'TOLLGATE_API_KEY';

/** Single-quoted for a POSIX shell: `'` becomes `'\''`. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** JSON as a Python literal: true/false/null spelled the Python way, strings as JSON strings (valid in Python). */
export function pythonLiteral(value: unknown, indent = 0): string {
  const pad = '    '.repeat(indent + 1);
  const end = '    '.repeat(indent);
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number' || typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => `${pad}${pythonLiteral(v, indent + 1)},`).join('\n')}\n${end}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${pad}${JSON.stringify(k)}: ${pythonLiteral(v, indent + 1)},`).join('\n')}\n${end}}`;
}

/** Keyword arguments for the Python SDK: `model="x",\n    messages=[...]`. */
function pythonKwargs(body: Record<string, unknown>): string {
  return Object.entries(body)
    .map(([k, v]) => `    ${k}=${pythonLiteral(v, 1)},`)
    .join('\n');
}

/** An object literal for JavaScript, indented under a call. */
function jsLiteral(body: Record<string, unknown>): string {
  return JSON.stringify(body, null, 2);
}

const SDK_CALLS: Record<string, { js: string; py: string }> = {
  '/v1/chat/completions': { js: 'client.chat.completions.create', py: 'client.chat.completions.create' },
  '/v1/embeddings': { js: 'client.embeddings.create', py: 'client.embeddings.create' },
};

/** The three snippets for one request to the API at `origin` (e.g. `https://api.example.com`). */
export function codeSamples(origin: string, req: SampleRequest): CodeSamples {
  const url = `${origin.replace(/\/$/, '')}${req.path}`;
  const json = JSON.stringify(req.body, null, 2);
  const curl = [
    `curl ${url} \\`,
    `  -H "Authorization: Bearer $${API_KEY_VARIABLE}" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d ${shellQuote(json)}`,
  ].join('\n');

  const sdk = SDK_CALLS[req.path];
  const baseURL = `${origin.replace(/\/$/, '')}/v1`;
  const stream = req.body.stream === true;
  const javascript = sdk
    ? [
        `import OpenAI from 'openai';`,
        '',
        `const client = new OpenAI({ baseURL: ${JSON.stringify(baseURL)}, apiKey: process.env.${API_KEY_VARIABLE} });`,
        '',
        `const answer = await ${sdk.js}(${jsLiteral(req.body)});`,
        stream
          ? `for await (const chunk of answer) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');`
          : 'console.log(answer);',
      ].join('\n')
    : [
        `const res = await fetch(${JSON.stringify(url)}, {`,
        `  method: 'POST',`,
        `  headers: { authorization: \`Bearer \${process.env.${API_KEY_VARIABLE}}\`, 'content-type': 'application/json' },`,
        `  body: JSON.stringify(${jsLiteral(req.body).replace(/\n/g, '\n  ')}),`,
        `});`,
        'console.log(res.status, await res.json());',
      ].join('\n');

  const python = sdk
    ? [
        'import os',
        'from openai import OpenAI',
        '',
        `client = OpenAI(base_url=${JSON.stringify(baseURL)}, api_key=os.environ[${JSON.stringify(API_KEY_VARIABLE)}])`,
        '',
        `answer = ${sdk.py}(`,
        pythonKwargs(req.body),
        ')',
        stream
          ? 'for chunk in answer:\n    if chunk.choices:\n        print(chunk.choices[0].delta.content or "", end="")'
          : 'print(answer)',
      ].join('\n')
    : [
        'import os',
        'import requests',
        '',
        'res = requests.post(',
        `    ${JSON.stringify(url)},`,
        `    headers={"Authorization": f"Bearer {os.environ['${API_KEY_VARIABLE}']}"},`,
        `    json=${pythonLiteral(req.body, 1)},`,
        ')',
        'print(res.status_code, res.json())',
      ].join('\n');

  return { curl, javascript, python };
}
