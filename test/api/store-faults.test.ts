import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDynamo, DYNAMO_MAX_ATTEMPTS, type Dynamo } from '../../shared/db/client';
import { reconcileMonth } from '../../shared/metering/reconcile';
import { createHarness, type Harness, type TestTenant } from '../support/harness';
import { type StoreCall, StoreFaults, writesUsageEvent } from '../support/store-faults';

const WRITES = new Set(['TransactWriteItems', 'UpdateItem', 'PutItem', 'DeleteItem', 'BatchWriteItem']);
/** Every write but the settle's: admission (the reservation and its counters) and the bookkeeping around it. */
const admissionWrite = (c: StoreCall) => WRITES.has(c.operation) && !writesUsageEvent(c);
const month = () => new Date().toISOString().slice(0, 7);

interface ErrorBody {
  error: { code: string; message: string };
}

describe('a store that throttles or stalls: bounded retries, a clear 503, nothing half-written', () => {
  const faults = new StoreFaults();
  let dynamo: Dynamo;
  let h: Harness;
  beforeAll(async () => {
    // A short per-attempt timeout so that a stalled store is given up on within the test;
    // long enough that DynamoDB Local on a busy machine is never mistaken for one.
    dynamo = createDynamo({
      region: 'us-east-1',
      endpoint: inject('dynamoEndpoint'),
      requestTimeoutMs: 2_500,
    });
    await faults.install(dynamo.client, inject('dynamoEndpoint'));
    h = await createHarness({ dynamo });
  });
  afterEach(() => faults.clear());
  afterAll(async () => {
    await faults.close();
    dynamo.client.destroy();
  });

  // One request in flight at most: a reservation left behind by a fault would refuse the next request.
  const tenant = () => h.newTenant({ limitOverrides: { maxConcurrent: 1 } });
  const sentiment = (t: TestTenant, input = 'a fine day') =>
    h.call('/v1/text/sentiment', { key: t.key, json: { model: 'sentiment', input } });

  /** Nothing billed and nothing held: no event, aggregates that agree, and the next request served. */
  async function expectNothingBilledOrHeld(t: TestTenant) {
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
    const usage = (await (await h.call('/v1/usage', { key: t.key })).json()) as {
      totals: { requests: number; cost_usd: string };
    };
    expect(usage.totals).toMatchObject({ requests: 0, cost_usd: '0.000000000' });
    expect(await reconcileMonth(h.stores.usage, t.tenantId, month())).toMatchObject({
      events: 0,
      differences: [],
    });
    const next = await sentiment(t, 'after the fault');
    expect(next.status, await next.clone().text()).toBe(200);
    const id = ((await next.json()) as { id: string }).id;
    expect((await h.stores.usage.listEvents(t.tenantId)).map((e) => e.requestId)).toEqual([id]);
    await h.drainUsage();
    expect(await reconcileMonth(h.stores.usage, t.tenantId, month())).toMatchObject({
      events: 1,
      differences: [],
    });
  }

  it.each(['ProvisionedThroughputExceededException', 'ThrottlingException'] as const)(
    'admission writes throttled (%s) on every attempt: 503 store_unavailable, retryable, nothing written',
    async (fault) => {
      const t = await tenant();
      faults.fail(admissionWrite, fault);
      const res = await sentiment(t);
      expect(res.status).toBe(503);
      expect(res.headers.get('x-should-retry')).toBe('true');
      expect(res.headers.get('retry-after')).toBe('1');
      const body = (await res.json()) as ErrorBody;
      expect(body.error.code).toBe('store_unavailable');
      expect(body.error.message).toContain('not billed');
      // Retried, but a bounded number of times: each throttled call was tried exactly DYNAMO_MAX_ATTEMPTS times.
      // (Transactions only: bookkeeping such as a key's last use is written off the request's path.)
      const throttled = faults.calls.filter(
        (c) => c.fault !== undefined && c.operation === 'TransactWriteItems',
      );
      expect(throttled.length).toBeGreaterThanOrEqual(DYNAMO_MAX_ATTEMPTS);
      for (const b of new Set(throttled.map((c) => c.body)))
        expect(throttled.filter((c) => c.body === b)).toHaveLength(DYNAMO_MAX_ATTEMPTS);
      // The model never ran, so nothing reached the settle.
      expect(faults.calls.filter(writesUsageEvent)).toEqual([]);
      faults.clear();
      await expectNothingBilledOrHeld(t);
    },
  );

  it('the settle throttled on every attempt: 503, the result withheld, released, no event and no aggregate moved', async () => {
    const t = await tenant();
    faults.fail(writesUsageEvent, 'ProvisionedThroughputExceededException');
    const res = await sentiment(t, 'this answer is withheld');
    expect(res.status).toBe(503);
    expect(res.headers.get('x-should-retry')).toBe('true');
    const body = (await res.json()) as ErrorBody & { data?: unknown };
    expect(body.error.code).toBe('store_unavailable');
    expect(body.error.message).toContain('withheld');
    expect(body.data).toBeUndefined();
    expect(faults.injected(writesUsageEvent)).toBe(DYNAMO_MAX_ATTEMPTS);
    // Every attempt is the same conditional put of one request id: had an earlier attempt landed
    // unacknowledged, a retry could not write it a second time (and is known for what it is).
    const bodies = faults.calls.filter(writesUsageEvent).map((c) => c.body);
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0]!).ConditionExpression).toBe('attribute_not_exists(pk)');
    // Nothing else moved: no aggregate is written on the request's path (the stream consumer
    // derives them from records, and there is none).
    expect(faults.calls.filter((c) => WRITES.has(c.operation) && c.body.includes('"DAY#'))).toEqual([]);
    faults.clear();
    await expectNothingBilledOrHeld(t);
  });

  it('a settle throttled fewer times than it is attempted: 200, and exactly one event', async () => {
    const t = await tenant();
    faults.fail(writesUsageEvent, 'ThrottlingException', DYNAMO_MAX_ATTEMPTS - 1);
    const res = await sentiment(t, 'served after two refusals');
    expect(res.status, await res.clone().text()).toBe(200);
    const id = ((await res.json()) as { id: string }).id;
    expect(faults.injected(writesUsageEvent)).toBe(DYNAMO_MAX_ATTEMPTS - 1);
    expect((await h.stores.usage.listEvents(t.tenantId)).map((e) => e.requestId)).toEqual([id]);
    const usage = (await (await h.call('/v1/usage', { key: t.key })).json()) as {
      totals: { requests: number };
    };
    expect(usage.totals.requests).toBe(1);
    expect(await reconcileMonth(h.stores.usage, t.tenantId, month())).toMatchObject({
      events: 1,
      differences: [],
    });
  });

  it.each([
    ['admission', admissionWrite, 'not run'],
    ['the settle', writesUsageEvent, 'withheld'],
  ] as const)(
    '%s slower than the request timeout on every attempt: 503, not billed, nothing held',
    async (_which, match, says) => {
      const t = await tenant();
      faults.fail(match, { slowMs: 10_000 });
      const res = await sentiment(t, 'the store is slow today');
      expect(res.status).toBe(503);
      expect(res.headers.get('x-should-retry')).toBe('true');
      const body = (await res.json()) as ErrorBody;
      expect(body.error.code).toBe('store_unavailable');
      expect(body.error.message).toContain(says);
      // Each attempt was given up at the request timeout, and retried a bounded number of times.
      expect(faults.injected(match)).toBeGreaterThanOrEqual(DYNAMO_MAX_ATTEMPTS);
      if (match === writesUsageEvent) expect(faults.injected(match)).toBe(DYNAMO_MAX_ATTEMPTS);
      faults.clear();
      await expectNothingBilledOrHeld(t);
    },
  );
});
