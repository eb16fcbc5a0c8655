import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { newOperator, newOwner } from '../support/accounts';
import { createHarness, type Harness, type TestTenant } from '../support/harness';
import { expectHostileAnswer, headerValue, hostileBody, nastyString } from '../support/hostile';

/**
 * Property tests over every JSON body in /openapi.json: whatever arrives (wrong types, huge
 * strings and arrays, deep nesting, lone surrogates, numbers no field wants, text that is not
 * JSON), the answer is below 500 and, when refused, the OpenAI envelope. The /v1 inference
 * routes are held to more: always a 4xx, and nothing metered, reserved or counted.
 */

interface Operation {
  method: string;
  path: string;
  fields: string[];
}

interface OpenApi {
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content?: Record<string, { schema?: Schema }> };
        parameters?: { name: string; in: string }[];
      }
    >
  >;
  components?: { schemas?: Record<string, Schema> };
}
interface Schema {
  $ref?: string;
  properties?: Record<string, unknown>;
  allOf?: Schema[];
}

function fieldsOf(spec: OpenApi, schema: Schema | undefined): string[] {
  if (!schema) return [];
  if (schema.$ref) return fieldsOf(spec, spec.components?.schemas?.[schema.$ref.split('/').pop()!]);
  const own = Object.keys(schema.properties ?? {});
  return [...own, ...(schema.allOf ?? []).flatMap((s) => fieldsOf(spec, s))];
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** An id in a path: odd text percent-encoded, or percent escapes that decode to nothing valid. */
const pathSegment: fc.Arbitrary<string> = fc.oneof(
  nastyString.map((s) => encodeURIComponent(s.replace(LONE_SURROGATE, '\ufffd')) || 'x'),
  fc.constantFrom('%E0%A4%A', '%', '%zz', '%00', '..', '%2e%2e', '%2F', 'ten_%FF'),
);

const RUNS = Number(process.env.HOSTILE_RUNS ?? 25);

describe('hostile JSON bodies on every route that takes one', () => {
  let h: Harness;
  let t: TestTenant;
  let ownerToken: string;
  let operatorToken: string;
  let operations: Operation[];
  let queries: { path: string; params: string[] }[];

  beforeAll(async () => {
    h = await createHarness({ env: { LOGIN_MAX_FAILURES_PER_IP: '100000' } });
    t = await h.newTenant();
    ownerToken = (await newOwner(h)).token;
    operatorToken = (await newOperator(h)).token;
    const spec = (await (await h.call('/openapi.json')).json()) as OpenApi;
    operations = Object.entries(spec.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.requestBody?.content?.['application/json'])
        .map(([method, op]) => ({
          method: method.toUpperCase(),
          path,
          fields: fieldsOf(spec, op.requestBody?.content?.['application/json']?.schema),
        })),
    );
    queries = Object.entries(spec.paths).flatMap(([path, ops]) => {
      const params = (ops.get?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      return params.length > 0 ? [{ path, params }] : [];
    });
  });

  function credentialFor(path: string): string | undefined {
    if (path.startsWith('/v1/')) return t.key;
    if (path.startsWith('/account')) return ownerToken;
    if (path.startsWith('/admin')) return operatorToken;
    return undefined;
  }

  it('finds the JSON operations in /openapi.json (the sweep is not empty)', () => {
    expect(operations.length).toBeGreaterThan(30);
    expect(operations.map((o) => `${o.method} ${o.path}`)).toEqual(
      expect.arrayContaining([
        'POST /v1/chat/completions',
        'POST /auth/login',
        'PATCH /admin/tenants/{tenant_id}',
      ]),
    );
  });

  it('every route answers hostile bodies below 500, in the envelope', async () => {
    for (const op of operations) {
      await fc.assert(
        fc.asyncProperty(hostileBody(op.fields), pathSegment, async (body, id) => {
          const path = op.path.replace(/\{[^}]+\}/g, id);
          const res = await h.call(path, {
            method: op.method,
            key: credentialFor(op.path),
            body,
            headers: { 'content-type': 'application/json' },
          });
          await expectHostileAnswer(res, `${op.method} ${op.path} with ${body.slice(0, 120)}`);
        }),
        { numRuns: RUNS },
      );
    }
  }, 180_000);

  it('every route answers hostile headers below 500, in the envelope', async () => {
    for (const op of operations) {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            authorization: headerValue,
            'content-type': headerValue,
            cookie: headerValue,
            origin: headerValue,
            'idempotency-key': headerValue,
            'stripe-signature': headerValue,
          }),
          async (headers) => {
            const res = await h.call(op.path.replace(/\{[^}]+\}/g, 'x'), {
              method: op.method,
              body: '{}',
              headers,
            });
            await expectHostileAnswer(
              res,
              `${op.method} ${op.path} with ${JSON.stringify(headers).slice(0, 200)}`,
            );
          },
        ),
        { numRuns: Math.ceil(RUNS / 2) },
      );
    }
  }, 180_000);

  it('every GET with query parameters (dates, cursors, limits, searches) answers hostile values below 500', async () => {
    expect(queries.map((q) => q.path)).toEqual(expect.arrayContaining(['/v1/usage', '/admin/audit']));
    for (const q of queries) {
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(
            fc.constantFrom(...q.params),
            fc.oneof(nastyString, fc.string(), fc.double().map(String)),
            {
              minKeys: 1,
            },
          ),
          async (values) => {
            const qs = new URLSearchParams(
              Object.entries(values).map(([k, v]): [string, string] => [
                k,
                v.replace(LONE_SURROGATE, '\ufffd'),
              ]),
            );
            const path = `${q.path.replace(/\{[^}]+\}/g, 'x')}?${qs}`;
            const res = await h.call(path, { key: credentialFor(q.path) });
            await expectHostileAnswer(res, `GET ${path.slice(0, 200)}`);
          },
        ),
        { numRuns: RUNS },
      );
    }
  }, 180_000);
});
