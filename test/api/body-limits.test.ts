import { beforeAll, describe, expect, it } from 'vitest';
import { newOperator, newOwner } from '../support/accounts';
import { createHarness, type Harness, type TestTenant } from '../support/harness';
import { expectHostileAnswer } from '../support/hostile';

const LIMIT = 4096;

/** MAX_BODY_BYTES on every route that takes a body, streamed chat and chunked uploads included. */
describe('request size limit on every route', () => {
  let h: Harness;
  let t: TestTenant;
  let tokens: Record<string, string>;
  let operations: { method: string; path: string }[];
  beforeAll(async () => {
    h = await createHarness({ env: { MAX_BODY_BYTES: String(LIMIT) } });
    t = await h.newTenant();
    tokens = { account: (await newOwner(h)).token, admin: (await newOperator(h)).token };
    const spec = (await (await h.call('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    };
    operations = Object.entries(spec.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.requestBody)
        .map(([method]) => ({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, 'x') })),
    );
  });

  const oversize = JSON.stringify({ model: 'chat', stream: true, input: 'x'.repeat(LIMIT), messages: [] });
  const keyFor = (path: string) =>
    path.startsWith('/v1/')
      ? t.key
      : path.startsWith('/account')
        ? tokens.account
        : path.startsWith('/admin')
          ? tokens.admin
          : undefined;

  it('a body over the limit is 413 request_too_large on every route, before anything else', async () => {
    expect(operations.length).toBeGreaterThan(30);
    for (const op of operations) {
      const res = await h.call(op.path, {
        method: op.method,
        key: keyFor(op.path),
        body: oversize,
        headers: { 'content-type': 'application/json' },
      });
      const env = await expectHostileAnswer(res, `${op.method} ${op.path}`, { strict: true });
      expect(res.status, `${op.method} ${op.path}`).toBe(413);
      expect(env?.error.code).toBe('request_too_large');
    }
  });

  it('a chunked body without Content-Length is cut off at the limit too (streaming chat)', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 64) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await h.app.request('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    await expectHostileAnswer(res, 'chunked', { strict: true });
    expect(res.status).toBe(413);
    // Stopped reading well before the 64 KiB the client had.
    expect(sent).toBeLessThan(64);
  });

  it('nothing was metered or reserved', async () => {
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
    expect(await h.stores.quotas.openReservations(t.tenantId)).toEqual([]);
  });
});
