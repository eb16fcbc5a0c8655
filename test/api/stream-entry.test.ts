import { Hono } from 'hono';
import { beforeAll, describe, expect, it } from 'vitest';
import { edgeOnly } from '../../functions/api/lambda/edge-only';
import { EDGE_SECRET_HEADER } from '../../shared/http/client-ip';
import { createHarness, type Harness, type TestTenant } from '../support/harness';

/**
 * The streaming Function URL's entry (functions/api/lambda/data-stream.ts) as it wraps the data
 * plane: only CloudFront (the edge secret) gets through, and only to the streaming routes.
 */
const secret = 'edge-secret-for-tests-0123456789abcdefghijklmn';

describe('the streaming entry (Function URL) behind edgeOnly', () => {
  let h: Harness;
  let t: TestTenant;
  let gate: Hono;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant();
    gate = edgeOnly(h.app, { edgeSecret: secret });
  });
  const chat = (headers: Record<string, string>, path = '/v1/chat/completions') =>
    gate.request(path, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({
        model: 'chat',
        messages: [{ role: 'user', content: 'Hello' }],
        max_tokens: 4,
        stream: true,
      }),
    });

  it('answers 403 without the edge secret, before any work (nothing metered)', async () => {
    const before = (await h.stores.usage.listEvents(t.tenantId)).length;
    const attempts: Record<string, string>[] = [
      {},
      { [EDGE_SECRET_HEADER]: 'wrong' },
      { [EDGE_SECRET_HEADER]: `${secret}x` },
    ];
    for (const headers of attempts) {
      const res = await chat(headers);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: { code: 'forbidden', type: 'permission_error' } });
    }
    expect((await h.stores.usage.listEvents(t.tenantId)).length).toBe(before);
  });

  it('streams a chat completion with the edge secret', async () => {
    const res = await chat({ [EDGE_SECRET_HEADER]: secret });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await res.text()).toContain('data: [DONE]');
  });

  it('serves only the streaming routes: the rest of the data plane is a 404 here', async () => {
    for (const path of ['/v1/text/sentiment', '/v1/models', '/v1/chat/completions/x', '/health']) {
      const res = await chat({ [EDGE_SECRET_HEADER]: secret }, path);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
    }
  });

  it('refuses to build without a secret', () => {
    expect(() => edgeOnly(new Hono(), { edgeSecret: undefined })).toThrow(/EDGE_SECRET/);
    expect(() => edgeOnly(new Hono(), { edgeSecret: '' })).toThrow(/EDGE_SECRET/);
  });
});
