import { beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '#api/app';
import { createApiDeps, createStores } from '#api/wiring/deps';
import { keys } from '#shared/db/keys';
import { tableNames } from '#shared/db/tables';
import { newId } from '#shared/ids';
import { createLogger } from '#shared/logger';
import { type Admission, QuotaAdmission } from '#shared/quotas/admission';
import type { ReservationRequest } from '#shared/quotas/quota-types';
import { windowsAt } from '#shared/quotas/windows';
import { createHarness, type Harness } from '../../support/harness';
import {
  limitsOf,
  NOW,
  quotaRequest,
  readItem,
  TODAY,
  TTL_MS,
  usageEvent,
} from '../../support/quota-fixtures';

const W = windowsAt(NOW);
const limits = limitsOf;

describe('quota leases (DynamoDB Local)', () => {
  let h: Harness;
  let main: string;
  beforeAll(async () => {
    h = await createHarness();
    main = tableNames(h.config.STAGE).main;
  });

  /** An API instance's admission, on a clock the test holds still. */
  const instance = () =>
    new QuotaAdmission(h.stores.quotas, { leaseMs: 5_000, idleMs: 60_000, now: () => NOW });
  const request = quotaRequest;
  const event = (tenantId: string, requestId: string, tokens: number) =>
    usageEvent(tenantId, requestId, tokens);
  const actual = (tokens: number) => ({ tokens, units: { input_tokens: tokens }, costNanoUsd: tokens * 100 });
  const item = (k: { pk: string; sk: string }) => readItem(h, main, k);
  const admitted = (r: Awaited<ReturnType<QuotaAdmission['admit']>>): Admission => {
    if (!r.ok) throw new Error(`refused: ${r.limit}`);
    return r.admission;
  };

  it('admits most requests from a lease, without a store round trip, and stays exact at the limit', async () => {
    const t = newId('ten');
    const a = instance();
    const l = limits({ requestsPerMinute: 20, maxConcurrent: 100 });
    const kinds: string[] = [];
    for (let i = 0; i < 20; i++) kinds.push(admitted(await a.admit(request(t, l))).kind);
    expect(kinds.filter((k) => k === 'lease').length).toBeGreaterThan(10);
    const refused = await a.admit(request(t, l));
    expect(refused).toMatchObject({ ok: false, limit: 'rate_limit_requests', scope: 'tenant' });
    expect((await item(keys.quotaMinute(t, W.minute)))?.requests).toBe(20);
  });

  it('two instances share one limit: 200 concurrent admissions against 50 admit exactly 50', async () => {
    const t = newId('ten');
    const [a, b] = [instance(), instance()];
    const l = limits({ requestsPerMinute: 50, maxConcurrent: 1_000 });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).admit(request(t, l))),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(50);
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.limit === 'rate_limit_requests')).toBe(true);
  });

  it('N concurrent settles give N events, aggregates equal to their sum, and give-back leaves the counters equal to the ledger', async () => {
    const t = newId('ten');
    const a = instance();
    const l = limits({ tokensPerMinute: 100_000, maxConcurrent: 50, spendCapNanoUsd: 10_000_000 });
    const admissions = await Promise.all(Array.from({ length: 30 }, () => a.admit(request(t, l))));
    const settled = await Promise.all(
      admissions.map((r, i) => {
        const adm = admitted(r);
        return a.settle(adm, actual(i + 1), event(t, adm.reservation.requestId, i + 1));
      }),
    );
    expect(settled.every((s) => s === 'recorded')).toBe(true);
    const events = await h.stores.usage.listEvents(t);
    expect(events).toHaveLength(30);
    const sum = (30 * 31) / 2;
    // The aggregates come from the usage table's stream (the consumer), not from the settle.
    await h.drainUsage();
    const daily = await h.stores.usage.listDaily(t, TODAY, TODAY);
    expect(daily).toMatchObject([{ requests: 30, inputTokens: sum, costNanoUsd: sum * 100 }]);
    // The month as billed (the consumer's total) ignores what the lease holds; after the give-back
    // the counter itself is exact.
    expect(await h.stores.quotas.month(t, NOW)).toEqual({
      units: { input_tokens: sum, output_tokens: 0, images: 0 },
      costNanoUsd: sum * 100,
    });
    await a.close();
    expect(await h.stores.quotas.openReservations(t)).toEqual([]);
    expect(await item(keys.quotaMonth(t, W.month))).toMatchObject({
      input_tokens: sum,
      costNanoUsd: sum * 100,
    });
    expect(await item(keys.quotaMinute(t, W.minute))).toMatchObject({ requests: 30, tokens: sum });
    expect(await h.stores.quotas.inFlight(t)).toBe(0);
  });

  it('a request id settled twice through a lease is recorded once', async () => {
    const t = newId('ten');
    const a = instance();
    const l = limits({ requestsPerMinute: 100 });
    const first = admitted(await a.admit(request(t, l)));
    expect(first.kind).toBe('lease');
    const id = first.reservation.requestId;
    expect(await a.settle(first, actual(4), event(t, id, 4))).toBe('recorded');
    const again = admitted(await a.admit(request(t, l, { requestId: id })));
    expect(await a.settle(again, actual(4), event(t, id, 4))).toBe('duplicate');
    await a.close();
    expect(await h.stores.usage.listEvents(t)).toHaveLength(1);
    expect(await item(keys.quotaMonth(t, W.month))).toMatchObject({ input_tokens: 4, costNanoUsd: 400 });
    expect(await item(keys.quotaMinute(t, W.minute))).toMatchObject({ requests: 1 });
  });

  it('leases of other keys do not starve a tenant’s concurrency limit: idle ones give their slots back', async () => {
    const t = newId('ten');
    const a = instance();
    // Keys with limits of their own lease apart; the tenant allows 2 requests in flight.
    const l = limits({ maxConcurrent: 2 }, { requestsPerMinute: 100 });
    for (const keyId of ['key_a', 'key_b', 'key_c', 'key_d']) {
      const adm = admitted(await a.admit(request(t, l, { keyId })));
      await a.settle(adm, actual(1), { ...event(t, adm.reservation.requestId, 1), keyId });
    }
    const first = admitted(await a.admit(request(t, l, { keyId: 'key_e' })));
    const second = admitted(await a.admit(request(t, l, { keyId: 'key_f' })));
    expect(await a.admit(request(t, l, { keyId: 'key_g' }))).toMatchObject({
      ok: false,
      limit: 'concurrency_limit',
    });
    await a.release(first);
    await a.release(second);
    await a.close();
    expect(await h.stores.quotas.inFlight(t)).toBe(0);
  });

  it('a lease still being given back (a minute just ended) does not refuse the tenant’s next requests', async () => {
    const t = newId('ten');
    let now = NOW;
    // The give-back of the old minute's lease is slow to commit: the store still counts its slots.
    const quotas = h.stores.quotas;
    const leases = Object.create(quotas.leases) as typeof quotas.leases;
    leases.giveBack = async (...args) => {
      await new Promise((r) => setTimeout(r, 300));
      return quotas.leases.giveBack(...args);
    };
    const store = Object.assign(Object.create(quotas) as typeof quotas, { leases });
    const a = new QuotaAdmission(store, { leaseMs: 5_000, idleMs: 60_000, now: () => now });
    const l = limits({ maxConcurrent: 3 });
    const first = await Promise.all([0, 1, 2].map(() => a.admit(request(t, l, { now }))));
    await Promise.all(first.map((r) => a.release(admitted(r))));
    // The next minute: the same three at once, while the old lease's slots are on their way back.
    now = new Date(NOW.getTime() + 60_000);
    const next = await Promise.all([0, 1, 2].map(() => a.admit(request(t, l, { now }))));
    expect(next.map((r) => r.ok)).toEqual([true, true, true]);
    await Promise.all(next.map((r) => a.release(admitted(r))));
    await a.close();
    expect(await h.stores.quotas.inFlight(t)).toBe(0);
  });

  it('a lease whose minute ended frees the slots its running requests do not hold at once', async () => {
    const t = newId('ten');
    let now = NOW;
    // The clock jumps a minute with no renewal run in between: slots held an hour, so that only the
    // minute's end is what this test sees.
    const a = new QuotaAdmission(h.stores.quotas, {
      leaseMs: 5_000,
      idleMs: 60_000,
      slotTtlMs: 3_600_000,
      now: () => now,
    });
    const l = limits({ maxConcurrent: 3 });
    const old: Admission[] = [];
    for (let i = 0; i < 3; i++) old.push(admitted(await a.admit(request(t, l, { now }))));
    expect(old.map((o) => o.kind)).toEqual(['lease', 'lease', 'lease']);
    await a.release(old[0]!);
    await a.release(old[1]!);
    // One request of the old minute still runs: two slots are free for the next minute's requests.
    now = new Date(NOW.getTime() + 60_000);
    const next = await Promise.all([0, 1].map(() => a.admit(request(t, l, { now }))));
    expect(next.map((r) => r.ok)).toEqual([true, true]);
    expect(await a.admit(request(t, l, { now }))).toMatchObject({ ok: false, limit: 'concurrency_limit' });
    await a.release(old[2]!);
    await Promise.all(next.map((r) => a.release(admitted(r))));
    await a.close();
    expect(await h.stores.quotas.inFlight(t)).toBe(0);
    expect(await h.stores.quotas.openReservations(t)).toEqual([]);
  });

  it("in a minute's last seconds a warm lease is not refilled on every request (its window cannot reach further)", async () => {
    const t = newId('ten');
    let now = NOW;
    const grants: number[] = [];
    const quotas = h.stores.quotas;
    const leases = Object.create(quotas.leases) as typeof quotas.leases;
    leases.grant = (...args) => {
      grants.push(now.getTime());
      return quotas.leases.grant(...args);
    };
    const counting = new QuotaAdmission(Object.assign(Object.create(quotas) as typeof quotas, { leases }), {
      leaseMs: 5_000,
      idleMs: 60_000,
      now: () => now,
    });
    const l = limits({ requestsPerMinute: 10_000 });
    // From 12:00:57, three seconds before the minute ends, a request every tenth of a second.
    for (let i = 0; i < 20; i++) {
      now = new Date(NOW.getTime() + 27_000 + i * 100);
      const adm = admitted(await counting.admit(request(t, l, { now })));
      await counting.release(adm);
      // Requests apart in real time too: a refill started by one has ended before the next.
      await new Promise((r) => setTimeout(r, 50));
    }
    // The first grant, and its doublings as the headroom runs low: not twenty.
    expect(grants.length).toBeLessThanOrEqual(4);
    await counting.close();
  });

  it('a tenant kept at its concurrency limit is never refused: room to grow is not asked for at the limit', async () => {
    const t = newId('ten');
    const a = instance();
    const l = limits({ requestsPerMinute: 1_000_000, maxConcurrent: 16 });
    const refused: string[] = [];
    // Closed-loop callers, all 16 slots busy, long enough for many refills of the lease.
    for (let round = 0; round < 30; round++) {
      const results = await Promise.all(Array.from({ length: 16 }, () => a.admit(request(t, l))));
      for (const r of results) if (!r.ok) refused.push(r.limit);
      await Promise.all(results.map((r) => (r.ok ? a.release(r.admission) : undefined)));
    }
    expect(refused).toEqual([]);
    await a.close();
    expect(await h.stores.quotas.inFlight(t)).toBe(0);
  });

  it('while another instance holds every slot, a refused request costs one store round trip, not two', async () => {
    const t = newId('ten');
    const l = limits({ maxConcurrent: 2 });
    const holder = instance();
    const held = [admitted(await holder.admit(request(t, l))), admitted(await holder.admit(request(t, l)))];
    // The other instance: its lease refills and reservations counted.
    const quotas = h.stores.quotas;
    const calls: string[] = [];
    const leases = Object.create(quotas.leases) as typeof quotas.leases;
    leases.grant = (...args) => {
      calls.push('grant');
      return quotas.leases.grant(...args);
    };
    const store = Object.assign(Object.create(quotas) as typeof quotas, {
      leases,
      reserve: (r: ReservationRequest) => {
        calls.push('reserve');
        return quotas.reserve(r);
      },
    });
    const other = new QuotaAdmission(store, { leaseMs: 5_000, idleMs: 60_000, now: () => NOW });
    expect(await other.admit(request(t, l))).toMatchObject({ ok: false, limit: 'concurrency_limit' });
    expect(calls).toEqual(['grant', 'reserve']);
    calls.length = 0;
    expect(await other.admit(request(t, l))).toMatchObject({ ok: false, limit: 'concurrency_limit' });
    expect(calls).toEqual(['reserve']);
    // A slot comes free: the next request gets it (the store's exact answer).
    await holder.release(held[0]!);
    await holder.close();
    expect((await other.admit(request(t, l))).ok).toBe(true);
    await holder.release(held[1]!);
    await holder.close();
    await other.close();
  });

  it('a failed request still counts against the per-minute limit, as with a single reservation', async () => {
    const t = newId('ten');
    const a = instance();
    const l = limits({ requestsPerMinute: 100 });
    const ok = admitted(await a.admit(request(t, l)));
    const failed = admitted(await a.admit(request(t, l)));
    expect([ok.kind, failed.kind]).toEqual(['lease', 'lease']);
    await a.settle(ok, actual(3), event(t, ok.reservation.requestId, 3));
    await a.release(failed);
    await a.close();
    // Two requests in the minute (one served, one failed); only the served one's tokens and cost.
    expect(await item(keys.quotaMinute(t, W.minute))).toMatchObject({ requests: 2, tokens: 3 });
    expect(await item(keys.quotaMonth(t, W.month))).toMatchObject({ input_tokens: 3, costNanoUsd: 300 });
    expect(await h.stores.quotas.openReservations(t)).toEqual([]);
  });

  it('concurrent settles with a duplicate among them record each request once', async () => {
    const t = newId('ten');
    const a = instance();
    const l = limits({ requestsPerMinute: 1_000 });
    const first = admitted(await a.admit(request(t, l)));
    const dupId = first.reservation.requestId;
    expect(await a.settle(first, actual(7), event(t, dupId, 7))).toBe('recorded');
    const adms = await Promise.all(Array.from({ length: 20 }, () => a.admit(request(t, l))));
    const dup = admitted(await a.admit(request(t, l, { requestId: dupId })));
    const outcomes = await Promise.all([
      ...adms.map((r, i) => {
        const x = admitted(r);
        return a.settle(x, actual(i + 1), event(t, x.reservation.requestId, i + 1));
      }),
      a.settle(dup, actual(7), event(t, dupId, 7)),
    ]);
    expect(outcomes.filter((o) => o === 'recorded')).toHaveLength(20);
    expect(outcomes.at(-1)).toBe('duplicate');
    expect(await h.stores.usage.listEvents(t)).toHaveLength(21);
    await h.drainUsage();
    const daily = await h.stores.usage.listDaily(t, TODAY, TODAY);
    expect(daily).toMatchObject([{ requests: 21, inputTokens: 7 + 210 }]);
    await a.close();
    expect(await item(keys.quotaMonth(t, W.month))).toMatchObject({ input_tokens: 217, costNanoUsd: 21_700 });
  });

  it('an instance that dies holding a lease: the sweeper gives back exactly what was not settled', async () => {
    const t = newId('ten');
    let clock = NOW;
    const dead = new QuotaAdmission(h.stores.quotas, { leaseMs: 5_000, idleMs: 60_000, now: () => clock });
    const l = limits({ requestsPerMinute: 100, maxConcurrent: 20, spendCapNanoUsd: 1_000_000 });
    const adms = [];
    for (let i = 0; i < 3; i++) adms.push(admitted(await dead.admit(request(t, l))));
    expect(adms.every((x) => x.kind === 'lease')).toBe(true);
    await dead.settle(adms[0]!, actual(3), event(t, adms[0]!.reservation.requestId, 3));
    await dead.settle(adms[1]!, actual(5), event(t, adms[1]!.reservation.requestId, 5));
    // The third never settles: the process is gone. The lease holds more than was used.
    expect(Number((await item(keys.quotaMonth(t, W.month)))?.costNanoUsd)).toBeGreaterThan(800);
    expect(await h.stores.quotas.inFlight(t)).toBeGreaterThan(0);
    expect(await h.stores.quotas.sweepExpired(new Date(NOW.getTime() + 1_000))).toBe(0);
    const later = new Date(NOW.getTime() + 5_000 + TTL_MS + 1);
    expect(await h.stores.quotas.sweepExpired(later)).toBeGreaterThanOrEqual(1);
    expect(await h.stores.quotas.openReservations(t)).toEqual([]);
    expect(await h.stores.quotas.inFlight(t)).toBe(0);
    expect(await item(keys.quotaMonth(t, W.month))).toMatchObject({ input_tokens: 8, costNanoUsd: 800 });
    // A request that outlived its lease still settles: counted in full, with its event, once.
    clock = later;
    const third = adms[2]!;
    expect(await dead.settle(third, actual(2), event(t, third.reservation.requestId, 2))).toBe('recorded');
    expect(await item(keys.quotaMonth(t, W.month))).toMatchObject({ input_tokens: 10, costNanoUsd: 1_000 });
    expect(await h.stores.usage.listEvents(t)).toHaveLength(3);
  });

  it('the lease view counts this instance’s own requests at once (the rate-limit headers)', async () => {
    const t = newId('ten');
    const a = instance();
    const l = limits({ requestsPerMinute: 60, tokensPerMinute: 1_000 });
    for (let i = 0; i < 3; i++) admitted(await a.admit(request(t, l)));
    const peek = await a.peek(t, 'key_a', NOW);
    expect(peek?.tenant).toEqual({ requests: 3, tokens: 30 });
    const fourth = admitted(await a.admit(request(t, l)));
    expect(fourth.kind).toBe('lease');
    expect((await a.peek(t, 'key_a', NOW))?.tenant).toEqual({ requests: 4, tokens: 40 });
    await a.release(fourth);
    expect((await a.peek(t, 'key_a', NOW))?.tenant?.tokens).toBe(30);
  });
});

describe('two gateway instances over one store', () => {
  it('200 concurrent requests split over two apps against a limit of 50 serve exactly 50', async () => {
    const h = await createHarness();
    const second = createApiApp(
      createApiDeps(h.config, createLogger('silent'), {
        stores: h.stores,
        email: h.outbox,
        signingKeys: h.signingKeys,
      }),
    );
    const t = await h.newTenant({
      limitOverrides: { requestsPerMinute: 50, maxConcurrent: 1_000, tokensPerMinute: 1_000_000 },
    });
    const call = (i: number) => {
      const init = {
        method: 'POST',
        headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'sentiment', input: `text ${i}` }),
      };
      return i % 2 ? second.request('/v1/text/sentiment', init) : h.app.request('/v1/text/sentiment', init);
    };
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => call(i)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(50);
    expect(results.filter((r) => r.status === 429)).toHaveLength(150);
    expect(await h.stores.usage.listEvents(t.tenantId)).toHaveLength(50);
  });

  it('a warm request makes one write (its usage record) and no transaction', async () => {
    const h = await createHarness();
    const stores = createStores(h.config);
    const sent: string[] = [];
    stores.dynamo.doc.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'countCommands' },
    );
    const app = createApiApp(
      createApiDeps(h.config, createLogger('silent'), {
        stores,
        email: h.outbox,
        signingKeys: h.signingKeys,
      }),
    );
    const t = await h.newTenant({
      limitOverrides: { requestsPerMinute: 10_000, tokensPerMinute: 10_000_000 },
    });
    const call = () =>
      app.request('/v1/text/sentiment', {
        method: 'POST',
        headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'sentiment', input: 'a warm request' }),
      });
    for (let i = 0; i < 5; i++) expect((await call()).status).toBe(200);
    sent.length = 0;
    for (let i = 0; i < 20; i++) expect((await call()).status).toBe(200);
    // The harness caches no key or tenant (revocation tests), so those reads are per request here.
    // Each request writes its usage record, one PutItem; the lease's refills (a transaction each,
    // ahead of need, its size doubling) are the only other writes.
    const puts = sent.filter((c) => c === 'PutItemCommand').length;
    const transactions = sent.filter((c) => c === 'TransactWriteItemsCommand').length;
    const updates = sent.filter((c) => c === 'UpdateItemCommand' || c === 'UpdateCommand').length;
    expect(puts, sent.join(' ')).toBe(20);
    expect(updates, sent.join(' ')).toBe(0);
    // The warm-up ramped the lease up; a minute ending mid-run adds a give-back and one grant.
    expect(transactions, sent.join(' ')).toBeLessThanOrEqual(6);
    stores.dynamo.client.destroy();
  });
});
