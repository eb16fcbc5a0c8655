import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SageMakerModelClient } from '../../shared/models/sagemaker-client';
import { createHarness, type Harness, type TestTenant } from '../support/harness';
import { b64, solidImage } from '../support/images';

/** What the runtime in front of the gateway does with the next calls. */
type Mode = 'pass' | 'malformed-json' | 'wrong-shape' | 'html' | 'empty' | 'slow';

const TIMEOUT_MS = 400;

/**
 * A model runtime at the machine's edge that answers garbage when told to, and otherwise passes
 * calls through to the real runtime (so a following request shows the tenant holds nothing).
 */
function faultyRuntime(realUrl: string) {
  let mode: Mode = 'pass';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const json = (status: number, body: string, type = 'application/json') => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      };
      if (mode === 'malformed-json') return json(200, '{"results": [{"label": "positive", "sco');
      if (mode === 'wrong-shape') return json(200, '{"unexpected": ["a", 1, null], "results": "none"}');
      if (mode === 'html')
        return json(200, '<html><body><h1>502 Bad Gateway</h1></body></html>', 'text/html');
      if (mode === 'empty') return json(200, '');
      if (mode === 'slow') await new Promise((r) => setTimeout(r, TIMEOUT_MS * 3));
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(
          (e): e is [string, string] =>
            typeof e[1] === 'string' && !['host', 'content-length', 'connection'].includes(e[0]),
        ),
      );
      try {
        const upstream = await fetch(new URL(req.url ?? '/', realUrl), {
          method: req.method,
          headers,
          body: Buffer.concat(chunks),
        });
        res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
        res.end(Buffer.from(await upstream.arrayBuffer()));
      } catch {
        res.destroy();
      }
    });
  });
  return {
    server,
    set: (m: Mode) => {
      mode = m;
    },
  };
}

interface Family {
  name: string;
  path: string;
  body: () => Promise<unknown>;
}

let png: Buffer;
const FAMILIES: Family[] = [
  {
    name: 'sentiment',
    path: '/v1/text/sentiment',
    body: async () => ({ model: 'sentiment', input: 'good' }),
  },
  {
    name: 'image moderation',
    path: '/v1/images/moderations',
    body: async () => ({ model: 'image-moderation@mobilenet-v2', image: b64(png) }),
  },
  { name: 'ocr', path: '/v1/images/ocr', body: async () => ({ model: 'ocr', image: b64(png) }) },
  {
    name: 'chat',
    path: '/v1/chat/completions',
    body: async () => ({ model: 'chat', max_tokens: 8, messages: [{ role: 'user', content: 'Hello.' }] }),
  },
  {
    name: 'chat (streamed)',
    path: '/v1/chat/completions',
    body: async () => ({
      model: 'chat',
      max_tokens: 8,
      stream: true,
      messages: [{ role: 'user', content: 'Hello.' }],
    }),
  },
];

describe('a model runtime that answers garbage or too late: 502/504, not billed, nothing held', () => {
  const runtime = faultyRuntime(inject('runtimeUrl'));
  let h: Harness;
  beforeAll(async () => {
    png = await solidImage('png');
    await new Promise<void>((r) => runtime.server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(runtime.server.address() as AddressInfo).port}`;
    h = await createHarness({
      env: { MODEL_TIMEOUT_MS: String(TIMEOUT_MS) },
      models: new SageMakerModelClient({ region: 'us-east-1', endpoint: url }),
    });
  });
  afterAll(async () => {
    runtime.server.closeAllConnections();
    await new Promise<void>((r) => (runtime.server as Server).close(() => r()));
  });

  /** After a failure: nothing billed, and (one request in flight at most) the next request is served. */
  async function expectNothingBilledOrHeld(t: TestTenant) {
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
    runtime.set('pass');
    const next = await h.call('/v1/text/sentiment', {
      key: t.key,
      json: { model: 'sentiment', input: 'next' },
    });
    expect(next.status, await next.clone().text()).toBe(200);
    expect(await h.stores.usage.listEvents(t.tenantId)).toHaveLength(1);
  }

  const garbage = ['malformed-json', 'wrong-shape', 'html', 'empty'] as const;
  const cases = FAMILIES.flatMap((f) => garbage.map((g) => [f.name, g, f] as const));

  it.each(cases)('%s answered with %s: 502 model_error, not billed', async (_name, mode, family) => {
    const t = await h.newTenant({ limitOverrides: { maxConcurrent: 1 } });
    runtime.set(mode);
    const res = await h.call(family.path, { key: t.key, json: await family.body() });
    // A stream's first line is read before its answer begins (its usage record opens on it), so an
    // empty event stream is a plain JSON error too.
    expect(res.status, await res.clone().text()).toBe(502);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('model_error');
    expect(body.error.message).toContain('not billed');
    await expectNothingBilledOrHeld(t);
  });

  it.each(FAMILIES.filter((f) => !f.name.startsWith('chat')).map((f) => [f.name, f] as const))(
    '%s answering after MODEL_TIMEOUT_MS: 504 model_timeout, not billed, released',
    async (_name, family) => {
      const t = await h.newTenant({ limitOverrides: { maxConcurrent: 1 } });
      runtime.set('slow');
      const res = await h.call(family.path, { key: t.key, json: await family.body() });
      expect(res.status, await res.clone().text()).toBe(504);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('model_timeout');
      expect(body.error.message).toContain('not billed');
      await expectNothingBilledOrHeld(t);
    },
  );
});
