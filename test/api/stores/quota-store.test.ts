import { beforeAll, describe, expect, it } from 'vitest';
import { keys } from '#shared/db/keys';
import { tableNames } from '#shared/db/tables';
import { newId } from '#shared/ids';
import type { EffectiveLimits } from '#shared/quotas/plans';
import { QuotaStore } from '#shared/quotas/quota-store';
import { windowsAt } from '#shared/quotas/windows';
import { createHarness, type Harness } from '../../support/harness';
import { NOW, quotaRequest, readItem, usageEvent } from '../../support/quota-fixtures';

const W = windowsAt(NOW);

const limits = (l: {
  tenant?: Partial<EffectiveLimits['tenant']>;
  key?: EffectiveLimits['key'];
}): EffectiveLimits => ({
  tenant: { monthlyUnits: {}, ...l.tenant },
  key: l.key ?? {},
  included: {},
});

describe('quota counters under concurrency (DynamoDB Local)', () => {
  let h: Harness;
  let store: QuotaStore;
  let main: string;
  beforeAll(async () => {
    h = await createHarness();
    const names = tableNames(h.config.STAGE);
    main = names.main;
    store = new QuotaStore(h.stores.dynamo.doc, names.main, names.usage);
  });

  const request = quotaRequest;
  const item = (k: { pk: string; sk: string }) => readItem(h, main, k);
  const event = (tenantId: string, requestId: string, tokens: number) =>
    usageEvent(tenantId, requestId, tokens);

  it('200 concurrent requests against 50 requests per minute: exactly 50 pass', async () => {
    const t = newId('ten');
    const l = limits({ tenant: { requestsPerMinute: 50 } });
    const results = await Promise.all(Array.from({ length: 200 }, () => store.reserve(request(t, l))));
    expect(results.filter((r) => r.ok)).toHaveLength(50);
    const refused = results.filter((r) => !r.ok);
    expect(refused).toHaveLength(150);
    for (const r of refused) {
      expect(r).toMatchObject({
        limit: 'rate_limit_requests',
        scope: 'tenant',
        limitValue: 50,
        retryAfterSec: 30,
      });
    }
    expect((await item(keys.quotaMinute(t, W.minute)))?.requests).toBe(50);
  });

  it('a refusal by one limit leaves every other counter untouched', async () => {
    const t = newId('ten');
    const l = limits({
      tenant: { requestsPerMinute: 100, tokensPerMinute: 10_000, spendCapNanoUsd: 1e9 },
      key: { requestsPerMinute: 5 },
    });
    for (let i = 0; i < 5; i++) expect((await store.reserve(request(t, l))).ok).toBe(true);
    const refused = await store.reserve(request(t, l));
    expect(refused).toMatchObject({ ok: false, limit: 'rate_limit_requests', scope: 'key' });
    expect(await item(keys.quotaMinute(t, W.minute))).toMatchObject({ requests: 5, tokens: 50 });
    expect(await item(keys.quotaMonth(t, W.month))).toMatchObject({ input_tokens: 50, costNanoUsd: 5_000 });
  });

  it('monthly included units hold under concurrency (free plan hard stop)', async () => {
    const t = newId('ten');
    const l = limits({ tenant: { monthlyUnits: { input_tokens: 1_000 } } });
    const results = await Promise.all(
      Array.from({ length: 30 }, () =>
        store.reserve(request(t, l, { tokens: 100, units: { input_tokens: 100 } })),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    expect(results.find((r) => !r.ok)).toMatchObject({ limit: 'quota_exceeded' });
    expect((await item(keys.quotaMonth(t, W.month)))?.input_tokens).toBe(1_000);
  });

  it('a spend cap is never exceeded, and settling below the reservation frees headroom', async () => {
    const t = newId('ten');
    const l = limits({ tenant: { spendCapNanoUsd: 10_000 } });
    const results = await Promise.all(Array.from({ length: 30 }, () => store.reserve(request(t, l))));
    const ok = results.filter((r) => r.ok);
    expect(ok).toHaveLength(10);
    expect(results.find((r) => !r.ok)).toMatchObject({ limit: 'spend_cap_reached', limitValue: 10_000 });
    // Each used a tenth of what it reserved.
    for (const r of ok) {
      if (!r.ok) continue;
      expect(
        await store.settle(
          r.reservation,
          { tokens: 1, units: { input_tokens: 1 }, costNanoUsd: 100 },
          event(t, r.reservation.requestId, 1),
        ),
      ).toBe('recorded');
    }
    expect(await item(keys.quotaMonth(t, W.month))).toMatchObject({ costNanoUsd: 1_000, input_tokens: 10 });
    expect((await store.reserve(request(t, l))).ok).toBe(true);
  });

  it('settles once: a repeated settle changes nothing', async () => {
    const t = newId('ten');
    const l = limits({ tenant: { tokensPerMinute: 1_000, maxConcurrent: 2 } });
    const r = await store.reserve(
      request(t, l, { tokens: 100, units: { input_tokens: 100 }, costNanoUsd: 10_000 }),
    );
    if (!r.ok) throw new Error('expected a reservation');
    const actual = { tokens: 30, units: { input_tokens: 30 }, costNanoUsd: 3_000 };
    expect(await store.settle(r.reservation, actual, event(t, r.reservation.requestId, 30))).toBe('recorded');
    expect(await store.settle(r.reservation, actual, event(t, r.reservation.requestId, 30))).toBe(
      'duplicate',
    );
    expect(await item(keys.quotaMinute(t, W.minute))).toMatchObject({ requests: 1, tokens: 30 });
    expect(await item(keys.quotaMonth(t, W.month))).toMatchObject({ input_tokens: 30, costNanoUsd: 3_000 });
    expect(await item(keys.quotaInFlight(t))).toMatchObject({ inflight: 0 });
    expect(await item(keys.reservation(t, r.reservation.requestId))).toBeUndefined();
    const events = await h.stores.usage.listEvents(t);
    expect(events).toHaveLength(1);
  });

  it('caps requests in flight, and a release gives everything back', async () => {
    const t = newId('ten');
    const l = limits({ tenant: { maxConcurrent: 3, tokensPerMinute: 10_000 } });
    const results = await Promise.all(Array.from({ length: 10 }, () => store.reserve(request(t, l))));
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(results.find((r) => !r.ok)).toMatchObject({ limit: 'concurrency_limit' });
    for (const r of results) if (r.ok) expect(await store.release(r.reservation)).toBe(true);
    expect(await item(keys.quotaInFlight(t))).toMatchObject({ inflight: 0 });
    expect(await item(keys.quotaMinute(t, W.minute))).toMatchObject({ tokens: 0 });
    expect(await item(keys.quotaMonth(t, W.month))).toMatchObject({ input_tokens: 0, costNanoUsd: 0 });
  });

  it('refuses at once a request bigger than a whole window, touching nothing', async () => {
    const t = newId('ten');
    const r = await store.reserve(request(t, limits({ tenant: { tokensPerMinute: 50 } }), { tokens: 51 }));
    expect(r).toMatchObject({ ok: false, limit: 'rate_limit_tokens', limitValue: 50 });
    expect(await item(keys.quotaMinute(t, W.minute))).toBeUndefined();
    expect(await item(keys.quotaMonth(t, W.month))).toBeUndefined();
  });

  it('the sweeper releases reservations that outlived their expiry; a late settle still counts once', async () => {
    const t = newId('ten');
    const l = limits({ tenant: { maxConcurrent: 1, tokensPerMinute: 10_000 } });
    const r = await store.reserve(request(t, l, { ttlMs: 1_000 }));
    if (!r.ok) throw new Error('expected a reservation');
    expect((await store.reserve(request(t, l))).ok).toBe(false);
    const released = await store.sweepExpired(new Date(NOW.getTime() + 2_000));
    expect(released).toBeGreaterThanOrEqual(1);
    expect(await item(keys.reservation(t, r.reservation.requestId))).toBeUndefined();
    expect(await item(keys.quotaInFlight(t))).toMatchObject({ inflight: 0 });
    // The process was only slow, not dead: its settle counts the actual use in full, once.
    const actual = { tokens: 7, units: { input_tokens: 7 }, costNanoUsd: 700 };
    expect(await store.settle(r.reservation, actual, event(t, r.reservation.requestId, 7))).toBe('recorded');
    expect(await store.settle(r.reservation, actual, event(t, r.reservation.requestId, 7))).toBe('duplicate');
    expect(await item(keys.quotaMonth(t, W.month))).toMatchObject({ input_tokens: 7, costNanoUsd: 700 });
    expect(await item(keys.quotaInFlight(t))).toMatchObject({ inflight: 0 });
  });
});
