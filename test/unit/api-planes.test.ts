import { OpenAPIHono } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '#api/http/env';
import { registerBatchPlane } from '#api/planes/batch';
import { registerBillingPlane } from '../../functions/api/planes/billing';
import { registerConsolePlane } from '../../functions/api/planes/console';
import { registerDataPlane } from '../../functions/api/planes/data';
import { describeApi } from '../../functions/api/planes/docs';
import { type ApiPlane, apiPlanes, planeOf, planeRoutePaths } from '../../shared/api-planes';

/** A plane's documented operations as `METHOD /path` with `{param}` filled in as a client would. */
function operations(register: (app: OpenAPIHono<AppEnv>) => void): string[] {
  const app = new OpenAPIHono<AppEnv>();
  register(app);
  const doc = app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } });
  return Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    Object.keys(item ?? {}).map((method) => `${method.toUpperCase()} ${path.replace(/\{[^}]+\}/g, 'x_1')}`),
  );
}

const byPlane: Record<Exclude<ApiPlane, 'docs'>, (app: OpenAPIHono<AppEnv>) => void> = {
  data: registerDataPlane,
  console: registerConsolePlane,
  billing: registerBillingPlane,
  batch: registerBatchPlane,
};

describe('API planes (one function each in the cloud)', () => {
  it('routes every documented operation to the plane whose function serves it', () => {
    const all = operations(describeApi);
    expect(all.length).toBeGreaterThan(40);
    const served: string[] = [];
    for (const [plane, register] of Object.entries(byPlane) as [ApiPlane, typeof registerDataPlane][]) {
      const ops = operations(register);
      expect(ops.length, plane).toBeGreaterThan(0);
      for (const op of ops) expect(planeOf(op.split(' ')[1]!), op).toBe(plane);
      served.push(...ops);
    }
    // Each operation is served by exactly one plane, and the document lists exactly those.
    expect(served.sort()).toEqual([...all].sort());
    expect(new Set(served).size).toBe(served.length);
  });

  it('gives the documentation its own plane, and every path nobody claims to the console', () => {
    expect(planeOf('/openapi.json')).toBe('docs');
    expect(planeOf('/docs')).toBe('docs');
    expect(planeOf('/docs/x')).toBe('console');
    expect(planeOf('/v1')).toBe('console');
    expect(planeOf('/v1/chat/completions')).toBe('data');
    expect(planeOf('/account')).toBe('console');
    expect(planeOf('/account/billing')).toBe('billing');
    expect(planeOf('/account/billing/checkout')).toBe('billing');
    expect(planeOf('/account/billingx')).toBe('console');
    expect(planeOf('/webhooks/stripe')).toBe('billing');
    expect(planeOf('/')).toBe('console');
  });

  it('names an HTTP API route for every plane but the default one, in API Gateway syntax', () => {
    expect(Object.keys(planeRoutePaths).sort()).toEqual(apiPlanes.filter((p) => p !== 'console').sort());
    for (const path of Object.values(planeRoutePaths).flat()) {
      expect(path).toMatch(/^\/[\w./-]*(\{proxy\+\})?$/);
    }
  });
});
