import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDynamo, type Dynamo } from '#shared/db/client';
import { countTextTokens, textTokens } from '#shared/metering/text-tokens';
import type { UsageEvent } from '#shared/metering/usage-store';
import type { ModelClient, ModelInvocation } from '#shared/models/model-client';
import { SageMakerModelClient } from '#shared/models/sagemaker-client';
import { createHarness, type Harness, type TestTenant } from '../../support/harness';
import { b64, landscapeJpeg } from '../../support/images';
import { StoreFaults, writesUsageEvent } from '../../support/store-faults';

type Mode = 'pass' | 'fail' | 'timeout' | 'garble' | 'miscount';

/**
 * The real runtime behind a gate: each call first waits (up to 5 s) until the request's usage
 * record exists in the store, and only then runs, so a call answers only if its record was written
 * while it ran (a record written after the answer would never let it through: the call fails).
 * OCR is not hosted by the api runtime: its answer is made up here. `mode` makes the model fail
 * after the record exists: an error, a timeout, a garbled answer, or (sentiment) a wrong token count.
 */
function gatedModels(stores: () => Harness['stores'], tenant: () => string) {
  const real = new SageMakerModelClient({ region: 'us-east-1', endpoint: inject('runtimeUrl') });
  const gate = {
    mode: 'pass' as Mode,
    /** The record each call found when it was let through (undefined: never written in time). */
    seen: [] as (UsageEvent | undefined)[],
    /** Calls that had to wait (the record was not there yet when the model was called). */
    waited: 0,
    /** False: the model answers at once, record or not (a store that fails the record). */
    waitForRecord: true,
  };
  async function recordOf(call: ModelInvocation): Promise<UsageEvent | undefined> {
    const deadline = Date.now() + 5_000;
    for (let first = true; Date.now() < deadline; first = false) {
      const record = await stores().usage.get(tenant(), call.requestId);
      if (record) return record;
      if (first) gate.waited++;
      await new Promise((r) => setTimeout(r, 5));
    }
    return undefined;
  }
  const models: ModelClient = {
    async invoke(call) {
      const record = gate.waitForRecord ? await recordOf(call) : undefined;
      gate.seen.push(record);
      if (gate.waitForRecord && !record)
        return { ok: false, reason: 'model_error', detail: 'no record while the model ran', latencyMs: 1 };
      if (gate.mode === 'fail')
        return { ok: false, reason: 'model_error', detail: 'told to fail', latencyMs: 1 };
      if (gate.mode === 'timeout')
        return { ok: false, reason: 'timeout', detail: 'told to time out', latencyMs: 1 };
      if (gate.mode === 'garble')
        return { ok: true, body: { nonsense: true }, invokedVariant: undefined, latencyMs: 1 };
      if (call.endpointName.includes('ocr'))
        return {
          ok: true,
          body: {
            lines: [
              {
                text: 'HELLO',
                confidence: 0.9,
                box: [
                  [0, 0],
                  [9, 0],
                  [9, 9],
                  [0, 9],
                ],
              },
            ],
          },
          invokedVariant: call.variant,
          latencyMs: 1,
        };
      const answer = await real.invoke(call);
      if (gate.mode === 'miscount' && answer.ok) {
        const body = answer.body as { usage: { input_tokens: number } };
        return { ...answer, body: { ...body, usage: { input_tokens: body.usage.input_tokens + 1 } } };
      }
      return answer;
    },
    invokeStream: (call) => real.invokeStream(call),
  };
  return { models, gate };
}

const day = () => new Date().toISOString().slice(0, 10);

describe('usage recorded while the model runs (images, sentiment)', () => {
  let h: Harness;
  let t: TestTenant;
  let image: string;
  const { models, gate } = gatedModels(
    () => h.stores,
    () => t.tenantId,
  );
  beforeAll(async () => {
    h = await createHarness({ models });
    image = b64(await landscapeJpeg());
  });
  afterEach(() => {
    gate.mode = 'pass';
    gate.seen.length = 0;
  });

  const routes = [
    { path: '/v1/images/moderations', json: () => ({ model: 'image-moderation@mobilenet-v2', image }) },
    { path: '/v1/images/ocr', json: () => ({ model: 'ocr', image }) },
    { path: '/v1/text/sentiment', json: () => ({ model: 'sentiment', input: ['I love it.', 'Not good!'] }) },
  ];

  /** Nothing billed: no billed record, the one record void, and the aggregates at zero. */
  async function expectVoid(requestId: string) {
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
    expect((await h.stores.usage.get(t.tenantId, requestId))?.status).toBe('void');
    await h.drainUsage();
    const rows = await h.stores.usage.listDaily(t.tenantId, day(), day());
    expect(rows.reduce((n, r) => n + r.requests + r.costNanoUsd + r.images + r.inputTokens, 0)).toBe(0);
  }

  it.each(routes)('$path: the record is written before the model answers, and billed once', async (route) => {
    t = await h.newTenant();
    const res = await h.call(route.path, { key: t.key, json: route.json() });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as { id: string; usage: { cost_usd: string } };
    // The model was let through only once the record existed: the write overlapped the call.
    expect(gate.seen).toHaveLength(1);
    expect(gate.seen[0]).toMatchObject({ requestId: body.id, status: 'succeeded' });
    expect(gate.seen[0]!.leaseId).toEqual(expect.any(String));
    const events = await h.stores.usage.listEvents(t.tenantId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      requestId: body.id,
      status: 'succeeded',
      leaseId: gate.seen[0]!.leaseId,
    });
    expect(`0.${String(events[0]!.costNanoUsd).padStart(9, '0')}`).toBe(body.usage.cost_usd);
    await h.drainUsage();
    const rows = await h.stores.usage.listDaily(t.tenantId, day(), day());
    expect(rows.reduce((n, r) => n + r.requests, 0)).toBe(1);
    expect(rows.reduce((n, r) => n + r.costNanoUsd, 0)).toBe(events[0]!.costNanoUsd);
  });

  it.each(
    routes.flatMap((route) => (['fail', 'timeout', 'garble'] as const).map((mode) => ({ ...route, mode }))),
  )('$path, a model that fails ($mode) after the record was written: voided, not billed', async (route) => {
    t = await h.newTenant({ limitOverrides: { maxConcurrent: 1 } });
    gate.mode = route.mode;
    const res = await h.call(route.path, { key: t.key, json: route.json() });
    expect(res.status).toBe(route.mode === 'timeout' ? 504 : 502);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toContain('not billed');
    expect(gate.seen[0]?.status).toBe('succeeded');
    await expectVoid(res.headers.get('x-request-id')!);
    // The admission was given back: with one request in flight at most, the next is served.
    gate.mode = 'pass';
    expect((await h.call(route.path, { key: t.key, json: route.json() })).status).toBe(200);
  });

  it('sentiment bills the text token rule, and the runtime reports the same counts', async () => {
    t = await h.newTenant();
    const input = ['I love this, it is wonderful.', "Don't! 3.14 café 日本語 👍🏽", 'The food was not good.'];
    const res = await h.call('/v1/text/sentiment', { key: t.key, json: { model: 'sentiment', input } });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as { data: { tokens: number }[]; usage: { input_tokens: number } };
    expect(body.data.map((d) => d.tokens)).toEqual(input.map(countTextTokens));
    expect(body.data.map((d) => d.tokens)).toEqual([8, 11, 6]);
    expect(body.usage.input_tokens).toBe(25);
    expect((await h.stores.usage.listEvents(t.tenantId))[0]!.units).toEqual({ input_tokens: 25 });
  });

  it('sentiment: a model whose token count differs from the rule is a model error, voided', async () => {
    t = await h.newTenant();
    gate.mode = 'miscount';
    const res = await h.call('/v1/text/sentiment', {
      key: t.key,
      json: { model: 'sentiment', input: 'fine' },
    });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('model_error');
    expect(body.error.message).toContain('billing rule');
    await expectVoid(res.headers.get('x-request-id')!);
  });

  it('sentiment: a text of whitespace only is refused before anything is written', async () => {
    t = await h.newTenant();
    const res = await h.call('/v1/text/sentiment', {
      key: t.key,
      json: { model: 'sentiment', input: ['fine', ' \n\t '] },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('input[1]');
    expect(gate.seen).toEqual([]);
    expect(await h.stores.usage.listEvents(t.tenantId, undefined, { all: true })).toEqual([]);
  });
});

describe('the text token rule', () => {
  it('words, numbers and each other non-space character; never more tokens than characters', () => {
    expect(textTokens('The food was not good.')).toEqual(['The', 'food', 'was', 'not', 'good', '.']);
    expect(textTokens("don't 3.14 snake_case")).toEqual(['don', "'", 't', '3', '.', '14', 'snake_case']);
    expect(textTokens('naïve 日本語 👍🏽!')).toEqual(['naïve', '日本語', '👍', '🏽', '!']);
    expect(countTextTokens(' \t\n\u00a0\u2003')).toBe(0);
    const samples = [
      '',
      'a',
      '🙂🙂🙂',
      'x'.repeat(1000),
      'a, b; c. d! ¿e? «f»',
      '\ud800 lone',
      'e\u0301t\u00e9',
    ];
    for (const s of samples) {
      expect(countTextTokens(s)).toBe(textTokens(s).length);
      expect(countTextTokens(s)).toBeLessThanOrEqual(s.length);
    }
  });
});

describe('a usage record that cannot be written while the model runs', () => {
  const faults = new StoreFaults();
  let dynamo: Dynamo;
  let h: Harness;
  let t: TestTenant;
  const { models, gate } = gatedModels(
    () => h.stores,
    () => t.tenantId,
  );
  beforeAll(async () => {
    dynamo = createDynamo({
      region: 'us-east-1',
      endpoint: inject('dynamoEndpoint'),
      requestTimeoutMs: 2_500,
    });
    await faults.install(dynamo.client, inject('dynamoEndpoint'));
    h = await createHarness({ dynamo, models });
    gate.waitForRecord = false;
  });
  afterEach(() => faults.clear());
  afterAll(async () => {
    await faults.close();
    dynamo.client.destroy();
  });

  it.each(['/v1/images/moderations', '/v1/text/sentiment'])(
    '%s: the answer is withheld (503, retryable), nothing billed, the admission given back',
    async (path) => {
      t = await h.newTenant({ limitOverrides: { maxConcurrent: 1 } });
      const json =
        path === '/v1/text/sentiment'
          ? { model: 'sentiment', input: 'a fine day' }
          : { model: 'image-moderation@mobilenet-v2', image: b64(await landscapeJpeg()) };
      faults.fail(writesUsageEvent, 'ProvisionedThroughputExceededException');
      const res = await h.call(path, { key: t.key, json });
      expect(res.status).toBe(503);
      expect(res.headers.get('x-should-retry')).toBe('true');
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('store_unavailable');
      expect(body.error.message).toContain('not billed');
      expect(await h.stores.usage.listEvents(t.tenantId, undefined, { all: true })).toEqual([]);
      faults.clear();
      const next = await h.call(path, { key: t.key, json });
      expect(next.status, await next.clone().text()).toBe(200);
      expect(await h.stores.usage.listEvents(t.tenantId)).toHaveLength(1);
    },
  );
});
