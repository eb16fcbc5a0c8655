import { createConfig, lintFromString } from '@redocly/openapi-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiDocument } from '../../functions/api/planes/docs';
import { ChatRequest } from '../../functions/api/routes/v1/chat/schema';
import { errorCodes } from '../../shared/errors';

type Response = {
  description?: string;
  headers?: Record<string, unknown>;
  content?: Record<string, { example?: unknown; examples?: Record<string, { $ref?: string }> }>;
};
type Operation = {
  security?: Record<string, string[]>[];
  parameters?: { $ref?: string; name?: string }[];
  requestBody?: { content: Record<string, { example?: unknown }> };
  responses: Record<string, Response>;
};

const doc = apiDocument({ publicUrl: 'https://api.example.com' });
const paths = doc.paths as Record<string, Record<string, Operation>>;
const operations = Object.entries(paths).flatMap(([path, item]) =>
  Object.entries(item).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, path, method, op })),
);
const v1 = operations.filter((o) => o.path.startsWith('/v1/'));
/** The POSTs that call a model (the batch plane's files and batches only store and queue). */
const modelCalls = v1.filter((o) => o.method === 'post' && !/^\/v1\/(files|batches)\b/.test(o.path));
const hasNull = (v: unknown): boolean =>
  v === null || (typeof v === 'object' && Object.values(v as object).some(hasNull));

describe('/openapi.json: enough to build a client from', () => {
  it('is valid OpenAPI 3.1: every $ref resolves, and every example matches its schema', async () => {
    const config = await createConfig({
      rules: {
        struct: 'error',
        'no-unresolved-refs': 'error',
        'no-invalid-media-type-examples': { severity: 'error', allowAdditionalProperties: false },
        'no-invalid-schema-examples': 'error',
        'path-parameters-defined': 'error',
        'operation-parameters-unique': 'error',
      },
    });
    const problems = await lintFromString({ source: JSON.stringify(doc), config });
    expect(problems.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)).toEqual([]);
  }, 30_000);

  it('names its server, and says how to send the key and the session', () => {
    expect(doc.servers).toEqual([expect.objectContaining({ url: 'https://api.example.com' })]);
    expect(doc.info.description).toContain('Authorization: Bearer tg_live_');
    expect(Object.keys(doc.components?.securitySchemes ?? {}).sort()).toEqual([
      'apiKey',
      'session',
      'sessionCookie',
    ]);
  });

  it('asks /v1 for an API key, /account and /admin for a session, and /auth for nothing but logout', () => {
    for (const { name, path, op } of operations) {
      const schemes = (op.security ?? []).flatMap((s) => Object.keys(s)).sort();
      if (path.startsWith('/v1/')) expect(schemes, name).toEqual(['apiKey']);
      else if (/^\/(account|admin)(\/|$)/.test(path) || path === '/auth/logout')
        expect(schemes, name).toEqual(['session', 'sessionCookie']);
      else expect(schemes, name).toEqual([]);
    }
  });

  it('lists 401, 403, 429 and 503 on every /v1 route, with Retry-After where a retry can succeed', () => {
    expect(v1.length).toBeGreaterThanOrEqual(7);
    for (const { name, op } of v1) {
      for (const status of ['401', '403', '429', '503'])
        expect(op.responses[status], `${name} ${status}`).toBeDefined();
      expect(op.responses['429']?.headers, name).toHaveProperty('retry-after');
      expect(op.responses['503']?.headers, name).toHaveProperty('retry-after');
    }
    const chat = paths['/v1/chat/completions']?.post;
    for (const status of ['400', '409', '413', '415', '422', '429', '502', '503', '504']) {
      expect(chat?.responses[status], status).toBeDefined();
    }
    expect(chat?.responses['429']?.headers).toHaveProperty('x-should-retry');
  });

  it('documents the headers: x-request-id everywhere, the rate limits and model version on /v1', () => {
    for (const { name, op } of operations) {
      for (const [status, res] of Object.entries(op.responses)) {
        expect(res.headers, `${name} ${status}`).toHaveProperty('x-request-id');
      }
    }
    for (const { name, op } of v1) {
      const ok = op.responses['200']?.headers ?? {};
      for (const h of ['limit', 'remaining', 'reset'].flatMap((k) => [
        `x-ratelimit-${k}-requests`,
        `x-ratelimit-${k}-tokens`,
      ])) {
        expect(ok, `${name} ${h}`).toHaveProperty(h);
      }
    }
    for (const { name, op, method } of modelCalls) {
      const ok = op.responses['200']?.headers ?? {};
      for (const h of ['x-model-version', 'deprecation', 'sunset', 'idempotent-replayed']) {
        expect(ok, `${name} ${h}`).toHaveProperty(h);
      }
      expect(op.parameters, `${method} ${name}`).toContainEqual({
        $ref: '#/components/parameters/Idempotency-Key',
      });
    }
    expect(Object.keys(doc.components?.headers ?? {})).toEqual(
      expect.arrayContaining(['retry-after', 'x-should-retry', 'deprecation', 'sunset', 'x-model-version']),
    );
  });

  it('shows each error code under the status it is answered with', () => {
    let shown = 0;
    for (const { name, op } of operations) {
      for (const [status, res] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        const examples = res.content?.['application/json']?.examples ?? {};
        expect(Object.keys(examples).length, `${name} ${status}`).toBeGreaterThan(0);
        for (const code of Object.keys(examples)) {
          expect(String(errorCodes[code as keyof typeof errorCodes]?.status), `${name}: ${code}`).toBe(
            status,
          );
          expect(res.description, `${name} ${status}`).toContain(`\`${code}\``);
          shown++;
        }
      }
    }
    expect(shown).toBeGreaterThan(200);
  });

  it('gives a real chat body (no nulls, accepted by the route) and a real sentiment answer', () => {
    const chat = paths['/v1/chat/completions']?.post?.requestBody?.content['application/json']?.example;
    expect(hasNull(chat)).toBe(false);
    expect(ChatRequest.safeParse(chat).success).toBe(true);
    const sentiment =
      paths['/v1/text/sentiment']?.post?.responses['200']?.content?.['application/json']?.example;
    expect(sentiment).toMatchObject({ object: 'list', data: [{ label: 'positive' }, { label: 'negative' }] });
    for (const { name, op } of modelCalls) {
      expect(op.requestBody?.content['application/json']?.example, name).toBeDefined();
      expect(op.responses['200']?.content?.['application/json']?.example, name).toBeDefined();
    }
  });
});

describe('the redocly lint the first test relies on', () => {
  let config: Awaited<ReturnType<typeof createConfig>>;
  beforeAll(async () => {
    config = await createConfig({
      rules: {
        'no-unresolved-refs': 'error',
        'no-invalid-media-type-examples': { severity: 'error', allowAdditionalProperties: false },
      },
    });
  });

  it('catches a broken $ref and an example that does not match its schema', async () => {
    const broken = structuredClone(doc) as unknown as { paths: typeof paths };
    const op = broken.paths['/v1/text/sentiment']?.post;
    if (!op?.requestBody) throw new Error('no sentiment route');
    op.requestBody.content['application/json'] = {
      ...op.requestBody.content['application/json'],
      example: { model: 5 },
    };
    op.responses['200'] = {
      ...op.responses['200'],
      headers: { 'x-nope': { $ref: '#/components/headers/x-nope' } },
    };
    const problems = await lintFromString({ source: JSON.stringify(broken), config });
    expect(problems.map((p) => p.ruleId).sort()).toEqual(
      expect.arrayContaining(['no-invalid-media-type-examples', 'no-unresolved-refs']),
    );
  }, 30_000);
});
