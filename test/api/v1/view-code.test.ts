import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY_VARIABLE, codeSamples, pythonLiteral, shellQuote } from '../../../web/src/lib/code-samples';
import { createHarness, type Harness, type TestTenant } from '../../support/harness';

const run = promisify(execFile);

/**
 * The playground's "View code": the snippets it shows are run as a user would run them, against
 * the API on a real port, with the key in the environment (never in the code). curl and the
 * JavaScript ones really call; the Python ones are checked by Python's own parser, and their body
 * by Python's literal evaluator (the machine has no `openai` or `requests` package for Python).
 */
describe('View code: the snippets call the API as shown', () => {
  let h: Harness;
  let t: TestTenant;
  let server: ServerType;
  let origin: string;
  let dir: string;
  const env = () => ({ ...process.env, [API_KEY_VARIABLE]: t.key });

  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant();
    dir = await mkdtemp(join(tmpdir(), 'view-code-'));
    server = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((r) => server.once('listening', () => r()));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server?.close(() => r()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // A quote, a backslash and a newline: what naive quoting breaks.
  const tricky = `It's "fine"\\ really.\nReally.`;

  it('curl: the shell passes the body through unchanged, and the API answers it', async () => {
    const { curl } = codeSamples(origin, {
      path: '/v1/text/sentiment',
      body: { model: 'sentiment@v1', input: [tricky] },
    });
    expect(curl).not.toContain(t.key);
    const { stdout } = await run('bash', ['-c', `${curl} -sS -w '\\n%{http_code}'`], { env: env() });
    const [json, status] = [
      stdout.slice(0, stdout.lastIndexOf('\n')),
      stdout.slice(stdout.lastIndexOf('\n') + 1),
    ];
    expect(status).toBe('200');
    const body = JSON.parse(json) as { model: string; data: { index: number }[] };
    expect(body.model).toBe('sentiment@v1');
    expect(body.data).toHaveLength(1);
  });

  it('JavaScript with the official SDK: chat, plain and streamed', async () => {
    for (const stream of [false, true]) {
      const { javascript } = codeSamples(origin, {
        path: '/v1/chat/completions',
        body: {
          model: 'chat@tiny-1',
          messages: [{ role: 'user', content: tricky }],
          max_tokens: 4,
          ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
        },
      });
      // Run beside the repository's node_modules, so `import 'openai'` resolves to the official SDK.
      const file = join(import.meta.dirname, `.view-code-${process.pid}-${stream}.mjs`);
      await writeFile(file, javascript);
      try {
        const { stdout } = await run(process.execPath, [file], { env: env() });
        if (stream) expect(stdout.length).toBeGreaterThan(0);
        else expect(stdout).toContain("model: 'chat@tiny-1'");
      } finally {
        await rm(file, { force: true });
      }
    }
  });

  it('JavaScript with fetch: an endpoint of its own (embeddings go through the SDK too)', async () => {
    for (const req of [
      { path: '/v1/text/sentiment', body: { model: 'sentiment', input: ['a fine day'] } },
      { path: '/v1/embeddings', body: { model: 'embeddings', input: ['a fine day'] } },
    ]) {
      const { javascript } = codeSamples(origin, req);
      const file = join(import.meta.dirname, `.view-code-${process.pid}.mjs`);
      await writeFile(file, javascript);
      try {
        const { stdout } = await run(process.execPath, [file], { env: env() });
        if (req.path === '/v1/text/sentiment') expect(stdout).toMatch(/^200 /);
        else expect(stdout).toContain("object: 'list'");
      } finally {
        await rm(file, { force: true });
      }
    }
  });

  it("Python: valid syntax, and the body it sends is the request's, value for value", async () => {
    const body = { model: 'sentiment', input: [tricky], flag: true, none: null, n: 1.5 };
    for (const path of ['/v1/text/sentiment', '/v1/chat/completions']) {
      const { python } = codeSamples(origin, { path, body });
      const script = join(dir, 'check.py');
      await writeFile(script, 'import ast, sys\nast.parse(open(sys.argv[1]).read())\n');
      const snippet = join(dir, 'snippet.py');
      await writeFile(snippet, python);
      await run('python3', [script, snippet]);
    }
    const literal = join(dir, 'literal.py');
    await writeFile(
      literal,
      `import ast, json, sys\nprint(json.dumps(ast.literal_eval(sys.stdin.read())))\n`,
    );
    const child = execFile('python3', [literal]);
    const out = new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout?.on('data', (d) => (text += d));
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`python3 exited ${code}`))));
    });
    child.stdin?.end(pythonLiteral(body));
    expect(JSON.parse(await out)).toEqual(body);
  });

  it('shell quoting survives single quotes', async () => {
    const { stdout } = await run('bash', ['-c', `printf %s ${shellQuote(tricky)}`]);
    expect(stdout).toBe(tricky);
  });
});
