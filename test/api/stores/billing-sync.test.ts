import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeterEventInput } from '#shared/billing/billing';
import { previewInvoice } from '#shared/billing/invoice-preview';
import { CLOSE_DELAY_MS, syncUsage } from '#shared/billing/meter-sync';
import { meterEventName, nanoUsdToCentsDecimal } from '#shared/billing/meters';
import { batchPrices } from '#shared/catalog/batch-prices';
import type { BillingUnit } from '#shared/catalog/types';
import { keys } from '#shared/db/keys';
import { newId } from '#shared/ids';
import { costNanoUsd } from '#shared/metering/pricing';
import type { UsageEvent } from '#shared/metering/usage-store';
import { billingSync } from '../../../functions/jobs/billing-sync';
// mulberry32 (deterministic, so a failing run replays from its seed): the test models' own.
import { prng } from '../../../local/models/tiny-chat';
import { newOwner, type TestUser } from '../../support/accounts';
import { billingHarness, subscribe } from '../../support/billing';
import { type FakeStripe, MAX_SUBSCRIPTION_ITEMS } from '../../support/fake-stripe';
import { createHarness, type Harness } from '../../support/harness';

let h: Harness;
let fake: FakeStripe;

beforeAll(async () => {
  // A short client timeout, so "Stripe hangs" costs little test time.
  ({ h, fake } = await billingHarness({ env: { STRIPE_TIMEOUT_MS: '300' } }));
});
afterAll(async () => {
  await fake.stop();
});

const MARCH = Date.UTC(2026, 2, 1);
const APRIL = Date.UTC(2026, 3, 1);
const TARGETS = [
  { model: 'sentiment', version: 'v1', units: ['input_tokens'] as BillingUnit[] },
  { model: 'chat', version: 'tiny-1', units: ['input_tokens', 'output_tokens'] as BillingUnit[] },
  { model: 'chat', version: 'smollm2-135m', units: ['input_tokens', 'output_tokens'] as BillingUnit[] },
  { model: 'image-moderation', version: 'inception-v3', units: ['images'] as BillingUnit[] },
  { model: 'ocr', version: 'ppocr-v4', units: ['images'] as BillingUnit[] },
];

/** Usage events written straight into the ledger, as served requests would write them. */
async function serve(
  tenantId: string,
  rnd: () => number,
  opts: { count: number; from: number; to: number; scale?: number },
): Promise<UsageEvent[]> {
  const catalog = await h.deps.resolver.catalog();
  const events: UsageEvent[] = [];
  for (let i = 0; i < opts.count; i++) {
    const started = opts.from + Math.floor(rnd() * (opts.to - opts.from));
    const target = TARGETS[Math.floor(rnd() * TARGETS.length)]!;
    const units: UsageEvent['units'] = {};
    for (const u of target.units) {
      units[u] = u === 'images' ? 1 + Math.floor(rnd() * 8) : 1 + Math.floor(rnd() * 400 * (opts.scale ?? 1));
    }
    const version = catalog.models.get(target.model)!.versions.get(target.version)!;
    events.push({
      requestId: newId('req', started),
      tenantId,
      keyId: 'key_sync',
      model: target.model,
      version: target.version,
      units,
      costNanoUsd: costNanoUsd(units, version.prices),
      priceBook: version.priceBook,
      latencyMs: 5,
      status: 'succeeded',
      // Served up to 40 s after it started: some cross an hour (or the month) boundary.
      at: new Date(started + Math.floor(rnd() * 40_000)).toISOString(),
    });
  }
  for (let i = 0; i < events.length; i += 25) {
    await Promise.all(events.slice(i, i + 25).map((e) => h.stores.usage.record(e)));
  }
  return events;
}

/** The ledger's word: units per meter for events served in [from, to). */
function ledgerTotals(events: UsageEvent[], from: number, to: number): Map<string, number> {
  const totals = new Map<string, number>();
  for (const e of events) {
    const at = Date.parse(e.at);
    if (at < from || at >= to) continue;
    for (const [unit, n] of Object.entries(e.units) as [BillingUnit, number][]) {
      const name = meterEventName(e.model, e.version, unit);
      totals.set(name, (totals.get(name) ?? 0) + n);
    }
  }
  return totals;
}

/** What Stripe holds for a customer, for events whose timestamp is in [from, to). */
function stripeTotals(customerId: string, from: number, to: number): Map<string, number> {
  const totals = new Map<string, number>();
  for (const e of fake.meterEvents.values()) {
    if (e.customer !== customerId || e.timestamp * 1000 < from || e.timestamp * 1000 >= to) continue;
    totals.set(e.event_name, (totals.get(e.event_name) ?? 0) + e.value);
  }
  return totals;
}

const sorted = (m: Map<string, number>) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b));

async function setIncluded(tenantId: string, included: Record<string, number>) {
  await h.stores.dynamo.doc.send(
    new UpdateCommand({
      TableName: h.stores.billing.table,
      Key: keys.tenant(tenantId),
      UpdateExpression: 'SET limitOverrides = :o',
      ExpressionAttributeValues: { ':o': { included } },
    }),
  );
}

class Crash extends Error {}

describe('the meter sync', () => {
  let owner: TestUser;
  let customerId: string;
  let events: UsageEvent[];
  const seed = Number(process.env.BILLING_SYNC_SEED ?? Date.now() % 1_000_000);

  beforeAll(async () => {
    owner = await newOwner(h);
    ({ customerId } = await subscribe(h, fake, owner, MARCH / 1000));
    // Nothing included: every unit the ledger has must reach Stripe, to the unit.
    await setIncluded(owner.tenantId, { input_tokens: 0, output_tokens: 0, images: 0 });
    const rnd = prng(seed);
    events = [
      // Before the subscription: never billed.
      ...(await serve(owner.tenantId, rnd, { count: 20, from: MARCH - 3_600_000, to: MARCH - 60_000 })),
      ...(await serve(owner.tenantId, rnd, { count: 500, from: MARCH - 60_000, to: APRIL + 30 * 60_000 })),
    ];
  });

  it(`sends exactly the ledger's month, to the unit, through failures, throttling, timeouts and crashes (seed ${seed})`, async () => {
    const rnd = prng(seed + 1);
    const now = new Date(APRIL + 2 * 86_400_000);
    const meterPath = /meter_events/;
    let runs = 0;
    let crashes = 0;
    for (;;) {
      runs++;
      expect(runs, `seed ${seed}: the sync never finished`).toBeLessThan(300);
      // The first runs crash and lose a response for sure; then faults come at random.
      const kind = runs === 1 ? 4 : runs === 2 ? 1 : Math.floor(rnd() * 6);
      const first = runs <= 2;
      const n = first ? 1 : 1 + Math.floor(rnd() * 5);
      if (kind === 1) fake.failNext(n, 500, { path: meterPath, after: runs === 2 || rnd() < 0.5 });
      if (kind === 2) fake.throttle(n, { path: meterPath });
      if (kind === 3 && rnd() < 0.3) fake.delayNext(1, 600, { path: meterPath });
      let accepted = 0;
      const crashAfter = kind === 4 ? n : Number.POSITIVE_INFINITY;
      const afterAccepted = (_e: MeterEventInput) => {
        // The process dies after Stripe accepted, before the acceptance was written down.
        if (++accepted >= crashAfter) throw new Crash('crashed');
      };
      let report: Awaited<ReturnType<typeof syncUsage>> | undefined;
      try {
        report = await syncUsage(h.deps.billing, now, {
          // The first two runs go far enough to meet usage, so their fault surely strikes.
          maxWindowsPerTenant: first ? 10_000 : 1 + Math.floor(rnd() * 80),
          concurrency: 1 + Math.floor(rnd() * 4),
          maxAttempts: 2,
          backoffMs: 1,
          afterAccepted,
        });
      } catch (err) {
        if (!(err instanceof Crash)) throw err;
        crashes++;
      }
      fake.clearFaults();
      if (report?.complete) break;
    }
    expect(crashes).toBeGreaterThan(0);
    // Reruns resent what Stripe already had, and Stripe refused the duplicates.
    const duplicates = fake.requests.filter(
      (r) => meterPath.test(r.path) && r.status === 400 && fake.meterEvents.has(r.body.identifier as string),
    );
    expect(duplicates.length).toBeGreaterThan(0);

    for (const [from, to] of [
      [MARCH, APRIL],
      [APRIL, APRIL + 86_400_000],
    ] as const) {
      expect(sorted(stripeTotals(customerId, from, to))).toEqual(sorted(ledgerTotals(events, from, to)));
    }
    // Nothing from before the subscription.
    expect(stripeTotals(customerId, 0, MARCH).size).toBe(0);
    // One event per window and meter: identifiers are unique per (tenant, window, meter).
    for (const e of fake.meterEvents.values()) {
      if (e.customer !== customerId) continue;
      expect(e.identifier).toBe(`${owner.tenantId}:${e.timestamp * 1000}:${e.event_name}`);
    }

    // A rerun when everything is sent sends nothing.
    const before = fake.requests.length;
    const again = await syncUsage(h.deps.billing, now);
    expect(again).toMatchObject({ complete: true, events: 0 });
    expect(fake.requests.length).toBe(before);
    // Up to 300 runs of a random size over a month of hourly windows, each against the fake Stripe:
    // a seed that draws many small runs takes longer than the api project's 30 s default.
  }, 120_000);
});

describe('the meter sync and included units', () => {
  it("bills only what lies beyond the plan's monthly included units, as the preview says", async () => {
    const owner = await newOwner(h);
    const { customerId } = await subscribe(h, fake, owner, MARCH / 1000);
    await setIncluded(owner.tenantId, { input_tokens: 30_000, output_tokens: 10_000, images: 20 });
    const events = await serve(owner.tenantId, prng(7), {
      count: 150,
      from: MARCH,
      to: MARCH + 10 * 86_400_000,
      scale: 5,
    });
    const report = await syncUsage(h.deps.billing, new Date(APRIL + 86_400_000), {
      maxWindowsPerTenant: 10_000,
    });
    expect(report.problems).toEqual([]);

    const used = ledgerTotals(events, MARCH, APRIL);
    const byUnit = (m: Map<string, number>, unit: string) =>
      [...m.entries()].filter(([k]) => k.endsWith(unit)).reduce((s, [, v]) => s + v, 0);
    const sent = stripeTotals(customerId, MARCH, APRIL);
    expect(byUnit(sent, 'input_tokens')).toBe(byUnit(used, 'input_tokens') - 30_000);
    expect(byUnit(sent, 'output_tokens')).toBe(byUnit(used, 'output_tokens') - 10_000);
    expect(byUnit(sent, 'images')).toBe(byUnit(used, 'images') - 20);

    const tenant = (await h.stores.tenants.get(owner.tenantId))!;
    const preview = await previewInvoice(
      {
        usage: h.stores.usage,
        catalog: await h.deps.resolver.catalog(),
        modelTimeoutMs: h.config.MODEL_TIMEOUT_MS,
      },
      tenant,
      await h.stores.plans.get('payg'),
      '2026-03',
    );
    const previewed = new Map(
      preview.lines
        .filter((l) => l.billable > 0)
        .map((l) => [meterEventName(l.model, l.version, l.unit), l.billable]),
    );
    expect(sorted(sent)).toEqual(sorted(previewed));
    expect(preview.lines.reduce((s, l) => s + l.included, 0)).toBe(40_020);
  });
});

describe('batch lines in the meters', () => {
  it('go to meters of their own at the batch price, after the included units both channels consume', async () => {
    const owner = await newOwner(h);
    const { customerId, subscriptionId } = await subscribe(h, fake, owner, MARCH / 1000);
    await setIncluded(owner.tenantId, { input_tokens: 100, output_tokens: 0, images: 0 });
    const catalog = await h.deps.resolver.catalog();
    const record = async (
      minutes: number,
      model: string,
      version: string,
      units: UsageEvent['units'],
      channel?: 'batch',
    ) => {
      const v = catalog.models.get(model)!.versions.get(version)!;
      const at = MARCH + minutes * 60_000;
      const e: UsageEvent = {
        requestId: newId('req', at),
        tenantId: owner.tenantId,
        keyId: 'key_batch',
        model,
        version,
        units,
        // A batch line costs what the batch price says, as the batch worker records it.
        costNanoUsd: costNanoUsd(units, channel ? batchPrices(v) : v.prices),
        priceBook: v.priceBook,
        latencyMs: 5,
        status: 'succeeded',
        at: new Date(at).toISOString(),
        ...(channel ? { channel } : {}),
      };
      expect(await h.stores.usage.record(e)).toBe('recorded');
      return e;
    };
    await record(60, 'sentiment', 'v1', { input_tokens: 60 });
    await record(120, 'sentiment', 'v1', { input_tokens: 80 }, 'batch');
    await record(180, 'chat', 'tiny-1', { input_tokens: 10, output_tokens: 20 });
    await record(210, 'chat', 'tiny-1', { input_tokens: 30, output_tokens: 40 }, 'batch');
    await record(240, 'ocr', 'ppocr-v4', { images: 3 }, 'batch');
    const items = () =>
      (fake.subscriptions.get(subscriptionId)!.items as { data: { price: { id: string } }[] }).data.map(
        (i) => i.price.id,
      );
    const prices = await h.stores.billing.listPrices();
    const batchIds = new Set(prices.filter((p) => p.channel === 'batch').map((p) => p.priceId));
    // Checkout put the online prices only on the subscription.
    expect(items().filter((id) => batchIds.has(id))).toEqual([]);
    const report = await syncUsage(h.deps.billing, new Date(APRIL + 86_400_000), {
      maxWindowsPerTenant: 10_000,
    });
    expect(report.problems).toEqual([]);

    // The online sentiment call took 60 of the 100 included tokens, the batch line the other 40.
    const expected = new Map([
      ['tg_sentiment_v1_input_tokens_batch', 40],
      ['tg_chat_tiny-1_input_tokens', 10],
      ['tg_chat_tiny-1_output_tokens', 20],
      ['tg_chat_tiny-1_input_tokens_batch', 30],
      ['tg_chat_tiny-1_output_tokens_batch', 40],
      ['tg_ocr_ppocr-v4_images_batch', 3],
    ]);
    expect(sorted(stripeTotals(customerId, MARCH, APRIL))).toEqual(sorted(expected));

    // Each batch meter has its price at the batch amount, and the sync put the batch prices it
    // billed on the subscription (those only), so the invoice bills them.
    expect(
      items()
        .filter((id) => batchIds.has(id))
        .sort(),
    ).toEqual(
      prices
        .filter((p) => p.channel === 'batch' && expected.has(p.eventName))
        .map((p) => p.priceId)
        .sort(),
    );
    for (const name of expected.keys()) {
      const p = prices.find((r) => r.eventName === name)!;
      expect(p.channel, name).toBe(name.endsWith('_batch') ? 'batch' : undefined);
      const v = catalog.models.get(p.model)!.versions.get(p.version)!;
      const nano = (p.channel === 'batch' ? batchPrices(v) : v.prices)[p.unit]!;
      expect(p.unitAmountDecimal, name).toBe(nanoUsdToCentsDecimal(nano));
      expect(fake.prices.get(p.priceId)?.unit_amount_decimal, name).toBe(p.unitAmountDecimal);
      expect(items(), name).toContain(p.priceId);
    }
    const online = prices.find((r) => r.eventName === 'tg_chat_tiny-1_output_tokens')!;
    const batch = prices.find((r) => r.eventName === 'tg_chat_tiny-1_output_tokens_batch')!;
    expect(online.priceId).not.toBe(batch.priceId);
    expect(online.meterId).not.toBe(batch.meterId);

    // The ledger's preview has the same lines, batch ones apart at the batch price, exactly.
    const preview = await previewInvoice(
      { usage: h.stores.usage, catalog, modelTimeoutMs: h.config.MODEL_TIMEOUT_MS },
      (await h.stores.tenants.get(owner.tenantId))!,
      await h.stores.plans.get('payg'),
      '2026-03',
    );
    const billed = preview.lines.filter((l) => l.billable > 0);
    expect(
      sorted(new Map(billed.map((l) => [meterEventName(l.model, l.version, l.unit, l.channel), l.billable]))),
    ).toEqual(sorted(expected));
    const tinyOut = billed.find(
      (l) => l.channel === 'batch' && l.version === 'tiny-1' && l.unit === 'output_tokens',
    )!;
    expect(tinyOut).toMatchObject({
      description: 'Chat tiny-1 — output tokens (batch)',
      unitPriceNanoUsd: batchPrices(catalog.models.get('chat')!.versions.get('tiny-1')!).output_tokens,
      amountNanoUsd: 40 * batchPrices(catalog.models.get('chat')!.versions.get('tiny-1')!).output_tokens!,
    });
    expect(preview.subtotalNanoUsd).toBe(billed.reduce((s, l) => s + l.billable * l.unitPriceNanoUsd, 0));
    expect(preview.lines.find((l) => l.channel === 'online' && l.model === 'sentiment')).toMatchObject({
      used: 60,
      included: 60,
      billable: 0,
    });
  });
});

describe('batch prices on a full subscription', () => {
  it('stop the tenant with a problem naming the price, and send nothing of the window, when Stripe has no room', async () => {
    const owner = await newOwner(h);
    const { customerId, subscriptionId } = await subscribe(h, fake, owner, MARCH / 1000);
    await setIncluded(owner.tenantId, { input_tokens: 0, output_tokens: 0, images: 0 });
    // Stripe's 20 items taken (other prices the account was sold, say).
    const data = (fake.subscriptions.get(subscriptionId)!.items as { data: Record<string, unknown>[] }).data;
    while (data.length < MAX_SUBSCRIPTION_ITEMS)
      data.push({ id: `si_other_${data.length}`, price: { id: 'price_other' } });
    const catalog = await h.deps.resolver.catalog();
    const v = catalog.models.get('sentiment')!.versions.get('v1')!;
    const at = MARCH + 30 * 60_000;
    const units = { input_tokens: 12 };
    expect(
      await h.stores.usage.record({
        requestId: newId('req', at),
        tenantId: owner.tenantId,
        keyId: 'key_full',
        model: 'sentiment',
        version: 'v1',
        units,
        costNanoUsd: costNanoUsd(units, batchPrices(v)),
        priceBook: v.priceBook,
        latencyMs: 5,
        status: 'succeeded',
        at: new Date(at).toISOString(),
        channel: 'batch',
      }),
    ).toBe('recorded');
    const report = await syncUsage(h.deps.billing, new Date(MARCH + 2 * 3_600_000), {
      maxWindowsPerTenant: 10,
    });
    const price = (await h.stores.billing.listPrices()).find(
      (p) => p.eventName === 'tg_sentiment_v1_input_tokens_batch',
    )!;
    const problem = report.problems.find((p) => p.tenantId === owner.tenantId);
    expect(problem).toMatchObject({ reason: 'rejected' });
    expect(problem?.message).toContain(price.priceId);
    expect(stripeTotals(customerId, MARCH, APRIL).size).toBe(0);
    expect((await h.stores.billing.getSync(owner.tenantId))?.cursorMs).toBe(MARCH);

    // Room made: the next run puts the price on and sends the window, once.
    data.splice(data.findIndex((i) => String(i.id).startsWith('si_other_')));
    const again = await syncUsage(h.deps.billing, new Date(MARCH + 2 * 3_600_000), {
      maxWindowsPerTenant: 10,
    });
    expect(again.problems.filter((p) => p.tenantId === owner.tenantId)).toEqual([]);
    expect([...stripeTotals(customerId, MARCH, APRIL)]).toEqual([['tg_sentiment_v1_input_tokens_batch', 12]]);
    expect(data.some((i) => (i.price as { id: string }).id === price.priceId)).toBe(true);
  });
});

describe('the meter sync, window by window', () => {
  it('waits until a window has closed', async () => {
    const owner = await newOwner(h);
    const { customerId } = await subscribe(h, fake, owner, MARCH / 1000);
    await setIncluded(owner.tenantId, { input_tokens: 0, output_tokens: 0, images: 0 });
    const hour = MARCH + 5 * 3_600_000;
    await serve(owner.tenantId, prng(3), { count: 5, from: hour + 1_000, to: hour + 60_000 });
    const end = hour + 3_600_000;
    await syncUsage(h.deps.billing, new Date(end + CLOSE_DELAY_MS - 1));
    expect(stripeTotals(customerId, hour, end).size).toBe(0);
    await syncUsage(h.deps.billing, new Date(end + CLOSE_DELAY_MS));
    expect(stripeTotals(customerId, hour, end).size).toBeGreaterThan(0);
  });

  it('backs off while Stripe throttles, then finishes', async () => {
    const owner = await newOwner(h);
    const { customerId } = await subscribe(h, fake, owner, MARCH / 1000);
    await setIncluded(owner.tenantId, { input_tokens: 0, output_tokens: 0, images: 0 });
    const events = await serve(owner.tenantId, prng(11), { count: 30, from: MARCH, to: MARCH + 86_400_000 });
    fake.throttle(4, { path: /meter_events/, retryAfterSeconds: 2 });
    const waits: number[] = [];
    const report = await syncUsage(h.deps.billing, new Date(APRIL), {
      concurrency: 1,
      maxWindowsPerTenant: 10_000,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    fake.clearFaults();
    expect(report.problems).toEqual([]);
    expect(waits).toEqual([2000, 2000, 2000, 2000]);
    expect(sorted(stripeTotals(customerId, MARCH, APRIL))).toEqual(
      sorted(ledgerTotals(events, MARCH, APRIL)),
    );
  });

  it('stops at a lasting failure without moving the cursor, and reports it as a metric', async () => {
    const owner = await newOwner(h);
    await subscribe(h, fake, owner, MARCH / 1000);
    await setIncluded(owner.tenantId, { input_tokens: 0, output_tokens: 0, images: 0 });
    await serve(owner.tenantId, prng(5), { count: 3, from: MARCH, to: MARCH + 60_000 });
    fake.failNext(100, 500, { path: /meter_events/ });
    const lines: string[] = [];
    const result = await billingSync(h.deps.billing, new Date(APRIL), {
      maxAttempts: 2,
      backoffMs: 1,
      emit: (l) => lines.push(l),
    });
    fake.clearFaults();
    expect(result.complete).toBe(false);
    expect(result.problems.some((p) => p.tenantId === owner.tenantId && p.reason === 'unavailable')).toBe(
      true,
    );
    expect((await h.stores.billing.getSync(owner.tenantId))?.cursorMs).toBe(MARCH);
    expect(JSON.parse(lines[0]!)).toMatchObject({ BillingSyncFailures: 1, service: 'billing-sync' });
    // The oldest unsent window, [MARCH, MARCH + 1 h), closed 2 minutes after its end.
    const lag = lines.map((l) => JSON.parse(l)).find((r) => 'BillingSyncLagMinutes' in r);
    expect(lag).toMatchObject({ service: 'billing-sync', Stage: h.config.STAGE });
    expect(result.lagMinutes).toBe((APRIL - MARCH - 3_600_000 - 120_000) / 60_000);
    expect(lag.BillingSyncLagMinutes).toBe(Math.round(result.lagMinutes));
  });

  it('reports no lag once every closed window is sent', async () => {
    const lines: string[] = [];
    const result = await billingSync(h.deps.billing, new Date(APRIL), {
      maxWindowsPerTenant: 10_000,
      emit: (l) => lines.push(l),
    });
    expect(result.complete).toBe(true);
    expect(result.lagMinutes).toBe(0);
    expect(lines.map((l) => JSON.parse(l))).toContainEqual(
      expect.objectContaining({ BillingSyncLagMinutes: 0, service: 'billing-sync' }),
    );
  });

  it('sends nothing in ledger-only mode', async () => {
    const ledger = await createHarness();
    expect(await syncUsage(ledger.deps.billing, new Date())).toEqual({
      tenants: 0,
      windows: 0,
      events: 0,
      complete: true,
      stopped: null,
      cursor: '',
      problems: [],
      lagMinutes: 0,
    });
  });
});
