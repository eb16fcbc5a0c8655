import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SageMakerModelClient } from '#shared/models/sagemaker-client';
import { freePort } from '../../../local/dynamodb';
import { createHarness, type Harness, type TestTenant } from '../../support/harness';

interface SentimentBody {
  id: string;
  model: string;
  data: { index: number; label: string; score: number; tokens: number }[];
  usage: { input_tokens: number; total_tokens: number; cost_usd: string };
}

describe('POST /v1/text/sentiment against the real model', () => {
  let h: Harness;
  let t: TestTenant;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant();
  });

  it('classifies texts, names the version, and meters exactly what it answered', async () => {
    const res = await h.call('/v1/text/sentiment', {
      key: t.key,
      json: {
        model: 'sentiment',
        input: ['I love this, it is wonderful.', 'This is terrible and I hate it.', 'The food was not good.'],
      },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as SentimentBody;
    expect(body.model).toBe('sentiment@v1');
    expect(res.headers.get('x-model-version')).toBe('sentiment@v1');
    expect(body.id).toBe(res.headers.get('x-request-id'));
    expect(body.data.map((d) => d.label)).toEqual(['positive', 'negative', 'negative']);
    expect(body.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const tokens = body.data.reduce((s, d) => s + d.tokens, 0);
    expect(tokens).toBeGreaterThan(10);
    expect(body.usage.input_tokens).toBe(tokens);
    // $0.10 per 1M input tokens = 100 nano-USD per token.
    expect(body.usage.cost_usd).toBe(`0.${String(tokens * 100).padStart(9, '0')}`);

    const events = await h.stores.usage.listEvents(t.tenantId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      requestId: body.id,
      tenantId: t.tenantId,
      keyId: t.keyId,
      model: 'sentiment',
      version: 'v1',
      units: { input_tokens: tokens },
      costNanoUsd: tokens * 100,
      priceBook: 'pb-2026-01',
      status: 'succeeded',
    });
    // Written while the model ran (record-ahead.test.ts), before its latency was known: 0.
    expect(events[0]!.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('accepts a single string and selects versions by name, version and alias', async () => {
    for (const model of ['sentiment', 'sentiment@v1', 'sentiment@latest', 'sentiment@stable']) {
      const res = await h.call('/v1/text/sentiment', {
        key: t.key,
        json: { model, input: 'what a great day' },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as SentimentBody;
      expect(body.model).toBe('sentiment@v1');
      expect(body.data).toHaveLength(1);
      expect(body.data[0]!.label).toBe('positive');
    }
  });

  it('GET /v1/usage sums the aggregates of this tenant only', async () => {
    const other = await h.newTenant();
    await h.call('/v1/text/sentiment', {
      key: other.key,
      json: { model: 'sentiment', input: 'someone else entirely' },
    });
    const events = await h.stores.usage.listEvents(t.tenantId);
    const res = await h.call('/v1/usage', { key: t.key });
    expect(res.status).toBe(200);
    const usage = (await res.json()) as {
      data: { key_id: string; model: string; version: string; requests: number; input_tokens: number }[];
      totals: { requests: number; input_tokens: number; cost_usd: string };
    };
    expect(usage.data).toHaveLength(1);
    expect(usage.data[0]).toMatchObject({ key_id: t.keyId, model: 'sentiment', version: 'v1' });
    expect(usage.totals.requests).toBe(events.length);
    expect(usage.totals.input_tokens).toBe(events.reduce((s, e) => s + (e.units.input_tokens ?? 0), 0));
    const otherUsage = (await (await h.call('/v1/usage', { key: other.key })).json()) as {
      totals: { requests: number };
    };
    expect(otherUsage.totals.requests).toBe(1);
  });
});

describe('a model that fails is a 502/504 and is not billed', () => {
  let hang: Server;
  let garbage: Server;
  const urls: Record<string, string> = {};
  beforeAll(async () => {
    // Fault injection at the machine's edge: runtimes that hang or answer nonsense.
    hang = createServer(() => {});
    garbage = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>definitely not json</html>');
    });
    for (const [name, srv] of [
      ['hang', hang],
      ['garbage', garbage],
    ] as const) {
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      urls[name] = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    }
    urls.down = `http://127.0.0.1:${await freePort()}`;
  });
  afterAll(() => {
    hang.closeAllConnections();
    hang.close();
    garbage.close();
  });

  it.each([
    ['down', 502, 'model_unavailable'],
    ['hang', 504, 'model_timeout'],
    ['garbage', 502, 'model_error'],
  ])('runtime %s: %i %s, within the timeout, nothing metered', async (which, status, code) => {
    const h = await createHarness({
      env: { MODEL_TIMEOUT_MS: '300' },
      models: new SageMakerModelClient({ region: 'us-east-1', endpoint: urls[which] }),
    });
    const t = await h.newTenant();
    const started = Date.now();
    const res = await h.call('/v1/text/sentiment', {
      key: t.key,
      json: { model: 'sentiment', input: 'hello' },
    });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message).toContain('not billed');
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
  });
});
