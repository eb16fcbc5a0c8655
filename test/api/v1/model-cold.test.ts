import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferenceComponentName } from '#shared/catalog/deployment';
import { SageMakerModelClient } from '#shared/models/sagemaker-client';
import { COLD_RETRY_AFTER_SECONDS } from '../../../functions/api/gateway/inference';
import { createSentimentModel } from '../../../local/runtime/models/sentiment';
import { endpoint } from '../../../local/runtime/registry';
import { createRuntimeServer, NO_CAPACITY_MESSAGE } from '../../../local/runtime/server';
import { createHarness, type Harness } from '../../support/harness';

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

/** The seed's sentiment version, as the harness's catalog (stage `test`) routes to it. */
const SENTIMENT = { endpointName: 'tollgate-test-sentiment', variant: 'v1' };

/**
 * A version whose inference component runs no copy (a preview version scaled to zero): the
 * runtime answers as SageMaker does, the real SDK carries it, and the gateway tells the caller
 * to come back later instead of failing opaquely.
 */
describe('a cold version (its inference component has no copy)', () => {
  const sentiment = createSentimentModel();
  // Read by the runtime on every call: a name in it makes that component cold.
  const cold = new Set<string>();
  const runtime = createRuntimeServer(new Map([[SENTIMENT.endpointName, endpoint({ v1: sentiment })]]), {
    coldComponents: cold,
  });
  let h: Harness;
  let client: SageMakerModelClient;
  beforeAll(async () => {
    await sentiment.load();
    const url = await listen(runtime);
    client = new SageMakerModelClient({ region: 'us-east-1', endpoint: url });
    h = await createHarness({ models: client });
  });
  afterAll(() => {
    client.destroy();
    runtime.closeAllConnections();
    runtime.close();
  });

  const classify = (key: string) =>
    h.call('/v1/text/sentiment', { key, json: { model: 'sentiment@v1', input: ['I love it'] } });

  it('answers 503 model_cold with a bounded Retry-After and x-should-retry, bills nothing, and serves once warm', async () => {
    const t = await h.newTenant();
    cold.add(inferenceComponentName(SENTIMENT));
    try {
      const res = await classify(t.key);
      expect(res.status).toBe(503);
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBe(COLD_RETRY_AFTER_SECONDS);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(res.headers.get('x-should-retry')).toBe('true');
      const body = (await res.json()) as { error: { code: string; type: string; message: string } };
      expect(body.error).toMatchObject({ code: 'model_cold', type: 'api_error' });
      expect(body.error.message).toContain('sentiment@v1');
      expect(body.error.message).toContain('not billed');
      expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
    } finally {
      cold.delete(inferenceComponentName(SENTIMENT));
    }

    // A copy is up: the same call is served and billed once.
    const warm = await classify(t.key);
    expect(warm.status).toBe(200);
    expect((await h.stores.usage.listEvents(t.tenantId)).length).toBe(1);
  });

  it("classifies SageMaker's no-capacity answer as cold for unary and streamed calls alike", async () => {
    cold.add(inferenceComponentName(SENTIMENT));
    try {
      const call = { ...SENTIMENT, body: { inputs: ['x'] }, timeoutMs: 5_000, requestId: 'req_cold' };
      const unary = await client.invoke(call);
      expect(unary).toMatchObject({ ok: false, reason: 'cold', detail: NO_CAPACITY_MESSAGE });
      const streamed = await client.invokeStream(call);
      expect(streamed).toMatchObject({ ok: false, reason: 'cold' });
    } finally {
      cold.delete(inferenceComponentName(SENTIMENT));
    }
  });

  it('addresses each version by its inference component: another component is not there, a cold one only is cold', async () => {
    const call = { body: { inputs: ['x'] }, timeoutMs: 5_000, requestId: 'req_component' };
    // A variant the endpoint does not host: its component does not exist (not retryable).
    const missing = await client.invoke({ ...call, endpointName: SENTIMENT.endpointName, variant: 'v9' });
    expect(missing).toMatchObject({ ok: false, reason: 'not_installed' });
    expect(missing.ok ? '' : missing.detail).toContain(
      `Inference component ${inferenceComponentName({ ...SENTIMENT, variant: 'v9' })} not found`,
    );
    // Another endpoint's component being cold does not touch this one.
    cold.add(inferenceComponentName({ endpointName: 'tollgate-test-other', variant: 'v1' }));
    try {
      const served = await client.invoke({ ...call, ...SENTIMENT });
      expect(served.ok).toBe(true);
    } finally {
      cold.clear();
    }
  });
});
