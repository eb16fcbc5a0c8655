import { describe, expect, it } from 'vitest';
import type { BillingEvent } from '../../shared/billing/billing';
import type { BillingAccount } from '../../shared/billing/billing-store';
import { includedDescription, nextMonthStart } from '../../shared/billing/checkout';
import { allocate, includedFor, nanoUsdToCents, servedOrder } from '../../shared/billing/invoice-preview';
import { meterIdentifier } from '../../shared/billing/meter-sync';
import {
  meterDisplayName,
  meterEventName,
  meterSpecs,
  nanoUsdToCentsDecimal,
} from '../../shared/billing/meters';
import { decideEvent, decideGrace } from '../../shared/billing/status';
import { toBillingEvent } from '../../shared/billing/stripe-events';
import { seedCatalog } from '../../shared/catalog/seed';
import type { Catalog } from '../../shared/catalog/types';
import type { UsageEvent } from '../../shared/metering/usage-store';
import { defaultPlans } from '../../shared/quotas/plans';
import type { Tenant } from '../../shared/tenants/tenant-store';

function catalogOf(stage: string): Catalog {
  const seed = seedCatalog(stage);
  const models: Catalog['models'] = new Map();
  for (const m of seed.models) models.set(m.name, { model: m, versions: new Map() });
  for (const v of seed.versions) models.get(v.model)!.versions.set(v.version, v);
  return { models };
}

function event(
  at: string,
  units: UsageEvent['units'],
  model = 'chat',
  version = 'tiny-1',
  id = at,
): UsageEvent {
  return {
    requestId: `req_${id}`,
    tenantId: 'ten_1',
    keyId: 'key_1',
    model,
    version,
    units,
    costNanoUsd: 0,
    priceBook: 'pb',
    latencyMs: 1,
    status: 'succeeded',
    at,
  };
}

describe('meters and prices', () => {
  it('turn nano-USD per unit into exact cents for unit_amount_decimal', () => {
    expect(nanoUsdToCentsDecimal(150)).toBe('0.000015');
    expect(nanoUsdToCentsDecimal(100)).toBe('0.00001');
    expect(nanoUsdToCentsDecimal(1)).toBe('0.0000001');
    expect(nanoUsdToCentsDecimal(10_000_000)).toBe('1');
    expect(nanoUsdToCentsDecimal(1_234_567_890)).toBe('123.456789');
    expect(nanoUsdToCentsDecimal(0)).toBe('0');
    expect(() => nanoUsdToCentsDecimal(1.5)).toThrow(RangeError);
  });

  it('name one meter per model version and unit, in words an invoice reader knows', () => {
    expect(meterEventName('chat', 'smollm2-135m', 'output_tokens')).toBe(
      'tg_chat_smollm2-135m_output_tokens',
    );
    expect(meterDisplayName('chat', 'tiny-1', 'output_tokens')).toBe('Chat tiny-1 — output tokens');
    expect(meterDisplayName('image-moderation', 'inception-v3', 'images')).toBe(
      'Image moderation inception-v3 — images',
    );
    expect(meterDisplayName('ocr', 'ppocr-v4', 'images')).toBe('OCR ppocr-v4 — images');
    const specs = meterSpecs(catalogOf('test'));
    // One per callable version and unit the model bills by: tokens for text, images for vision.
    expect(specs.map((s) => s.eventName)).toContain('tg_chat_smollm2-135m_output_tokens');
    expect(specs.map((s) => s.eventName)).toContain('tg_image-moderation_inception-v3_images');
    expect(specs.map((s) => s.eventName)).toContain('tg_sentiment_v1_input_tokens');
    const versions = [...catalogOf('test').models.values()].flatMap((m) =>
      [...m.versions.values()].map((v) => m.model.units.filter((u) => v.prices[u] !== undefined).length),
    );
    // Each online meter has a batch twin.
    expect(specs).toHaveLength(2 * versions.reduce((a, b) => a + b, 0));
    expect(specs.filter((s) => s.channel === 'batch')).toHaveLength(versions.reduce((a, b) => a + b, 0));
    expect(specs.find((s) => s.eventName === 'tg_image-moderation_inception-v3_images')).toMatchObject({
      unitAmountDecimal: '0.15',
    });
    const out = specs.find((s) => s.eventName === 'tg_chat_tiny-1_output_tokens')!;
    expect(out).toMatchObject({
      unitAmountDecimal: '0.000015',
      lookupKey: 'tg_chat_tiny-1_output_tokens@pb-2026-01',
    });
  });

  it('give batch lines meters and prices of their own, at the batch price', () => {
    expect(meterEventName('chat', 'tiny-1', 'output_tokens', 'batch')).toBe(
      'tg_chat_tiny-1_output_tokens_batch',
    );
    expect(meterDisplayName('chat', 'tiny-1', 'output_tokens', 'batch')).toBe(
      'Chat tiny-1 — output tokens (batch)',
    );
    const catalog = catalogOf('test');
    const specs = meterSpecs(catalog);
    const online = specs.find((s) => s.eventName === 'tg_chat_tiny-1_output_tokens')!;
    const batch = specs.find((s) => s.eventName === 'tg_chat_tiny-1_output_tokens_batch')!;
    expect(online.channel).toBe('online');
    // 150 nano-USD online, half of it for batch.
    expect(batch).toMatchObject({
      channel: 'batch',
      model: 'chat',
      version: 'tiny-1',
      unit: 'output_tokens',
      productId: 'tg_chat_tiny-1_output_tokens_batch',
      lookupKey: 'tg_chat_tiny-1_output_tokens_batch@pb-2026-01',
      unitAmountDecimal: '0.0000075',
      displayName: 'Chat tiny-1 — output tokens (batch)',
    });
    // Every name is one meter's: no batch name is an online one.
    expect(new Set(specs.map((s) => s.eventName)).size).toBe(specs.length);
    // An operator's batch price wins over the default half.
    catalog.models.get('chat')!.versions.get('tiny-1')!.batchPrices = { input_tokens: 10, output_tokens: 40 };
    expect(
      meterSpecs(catalog).find((s) => s.eventName === 'tg_chat_tiny-1_output_tokens_batch')!
        .unitAmountDecimal,
    ).toBe('0.000004');
  });

  it('leave retired versions out', () => {
    const catalog = catalogOf('test');
    catalog.models.get('chat')!.versions.get('tiny-1')!.status = 'retired';
    expect(meterSpecs(catalog).some((s) => s.version === 'tiny-1')).toBe(false);
  });

  it('keep identifiers within Stripe’s 100 characters and deterministic', () => {
    const a = meterIdentifier(
      'ten_01JABCDEFGHJKMNPQRSTVWXYZ0',
      1_700_000_000_000,
      'tg_chat_tiny-1_output_tokens',
    );
    expect(a).toBe('ten_01JABCDEFGHJKMNPQRSTVWXYZ0:1700000000000:tg_chat_tiny-1_output_tokens');
    const long = meterIdentifier('ten_x', 1, `tg_${'m'.repeat(120)}`);
    expect(long.length).toBeLessThanOrEqual(100);
    expect(long).toBe(meterIdentifier('ten_x', 1, `tg_${'m'.repeat(120)}`));
  });

  it('round a line to the cent half up', () => {
    expect(nanoUsdToCents(4_999_999)).toBe(0);
    expect(nanoUsdToCents(5_000_000)).toBe(1);
    expect(nanoUsdToCents(1_234_567_890)).toBe(123);
  });

  it('anchor subscriptions at the next calendar month and say what the quantities are', () => {
    expect(nextMonthStart(new Date('2026-12-15T10:00:00Z'))).toBe(Date.UTC(2027, 0, 1) / 1000);
    expect(includedDescription({ input_tokens: 1_000_000, images: 0 })).toContain('1,000,000 input tokens');
  });
});

describe('included units', () => {
  const payg = defaultPlans.find((p) => p.id === 'payg')!;

  it('are everything on a plan that stops instead of billing, and the plan’s (or the override) otherwise', () => {
    expect(
      includedFor(
        defaultPlans.find((p) => p.id === 'free'),
        {},
      ),
    ).toBe('everything');
    expect(includedFor(payg, {})).toEqual(payg.included);
    expect(includedFor(payg, { limitOverrides: { included: { images: 0 } } })).toMatchObject({ images: 0 });
  });

  it('are consumed by usage in served order, across versions, and then billed', () => {
    const events = [
      event('2026-03-01T00:00:02Z', { input_tokens: 70 }, 'chat', 'smollm2-135m'),
      event('2026-03-01T00:00:01Z', { input_tokens: 50, output_tokens: 5 }),
    ].sort(servedOrder);
    const { lines, usedAfter } = allocate(events, { input_tokens: 100, output_tokens: 0 }, {});
    const tiny = [...lines.values()].find((l) => l.version === 'tiny-1' && l.unit === 'input_tokens')!;
    const small = [...lines.values()].find((l) => l.version === 'smollm2-135m')!;
    // tiny-1 was served first: it takes 50 of the 100; smollm2 gets the other 50 and pays for 20.
    expect(tiny).toMatchObject({ used: 50, included: 50, billable: 0 });
    expect(small).toMatchObject({ used: 70, included: 50, billable: 20 });
    expect([...lines.values()].find((l) => l.unit === 'output_tokens')).toMatchObject({ billable: 5 });
    expect(usedAfter).toEqual({ input_tokens: 120, output_tokens: 5 });
  });

  it('are consumed by online calls and batch lines alike, in served order, each billed on its own line', () => {
    const events = [
      event('2026-03-01T00:00:01Z', { input_tokens: 60 }, 'chat', 'tiny-1', 'a'),
      {
        ...event('2026-03-01T00:00:02Z', { input_tokens: 80, output_tokens: 9 }, 'chat', 'tiny-1', 'b'),
        channel: 'batch' as const,
      },
      event('2026-03-01T00:00:03Z', { input_tokens: 5 }, 'chat', 'tiny-1', 'c'),
    ];
    const { lines, usedAfter } = allocate(events, { input_tokens: 100, output_tokens: 0 }, {});
    const of = (channel: string, unit: string) =>
      [...lines.values()].find((l) => l.channel === channel && l.unit === unit);
    expect(lines.size).toBe(3);
    expect(of('online', 'input_tokens')).toMatchObject({ used: 65, included: 60, billable: 5 });
    // The batch line came second: the 40 left of the 100 are its, the other 40 are billed.
    expect(of('batch', 'input_tokens')).toMatchObject({ used: 80, included: 40, billable: 40 });
    expect(of('batch', 'output_tokens')).toMatchObject({ used: 9, included: 0, billable: 9 });
    expect(usedAfter).toEqual({ input_tokens: 145, output_tokens: 9 });
  });

  it('carry over between windows: the same split whatever the windowing', () => {
    const events = Array.from({ length: 40 }, (_, i) =>
      event(`2026-03-01T0${Math.floor(i / 10)}:00:${String(i % 60).padStart(2, '0')}Z`, {
        input_tokens: 7 + i,
      }),
    );
    const whole = allocate(events, { input_tokens: 300 }, {});
    let used = {};
    let billable = 0;
    for (let h = 0; h < 4; h++) {
      const part = allocate(events.slice(h * 10, h * 10 + 10), { input_tokens: 300 }, used);
      used = part.usedAfter;
      billable += [...part.lines.values()].reduce((s, l) => s + l.billable, 0);
    }
    expect(billable).toBe([...whole.lines.values()].reduce((s, l) => s + l.billable, 0));
    expect(billable).toBe(events.reduce((s, e) => s + e.units.input_tokens!, 0) - 300);
  });
});

describe('billing status decisions', () => {
  const tenant: Tenant = { id: 'ten_1', name: 'T', status: 'active', plan: 'payg', createdAt: '' };
  const account: BillingAccount = {
    tenantId: 'ten_1',
    customerId: 'cus_1',
    subscriptionId: 'sub_1',
    status: 'active',
    pastDueSince: null,
    statusEventAt: 1000,
    suspendedByBilling: false,
    billedFromMs: 0,
    billedUntilMs: null,
    plan: 'payg',
    cancelAtPeriodEnd: false,
    planChangedAt: 0,
    planEventAt: 0,
    updatedAt: '',
  };
  const ev = (e: Record<string, unknown>) =>
    ({ id: 'evt_1', created: 2000, customerId: 'cus_1', ...e }) as BillingEvent;

  it('move active -> past_due on a failed payment, and back on payment', () => {
    const failed = decideEvent(account, tenant, ev({ type: 'invoice.payment_failed', invoiceId: 'in_1' }));
    expect(failed).toMatchObject({ outcome: 'past_due', tenant: { status: 'past_due' }, notify: 'past_due' });
    const due = { ...account, status: 'past_due' as const, pastDueSince: 'x', statusEventAt: 2000 };
    const paid = decideEvent(
      due,
      { ...tenant, status: 'past_due' },
      ev({ type: 'invoice.paid', created: 3000 }),
    );
    expect(paid).toMatchObject({ outcome: 'active', tenant: { status: 'active', pastDueSince: null } });
  });

  it('ignore an event older than the one that set the status', () => {
    expect(decideEvent(account, tenant, ev({ type: 'invoice.payment_failed', created: 999 })).outcome).toBe(
      'stale',
    );
  });

  it('never reactivate a tenant an operator suspended', () => {
    const due = { ...account, status: 'past_due' as const, statusEventAt: 2000 };
    const paid = decideEvent(
      due,
      { ...tenant, status: 'suspended' },
      ev({ type: 'invoice.paid', created: 3000 }),
    );
    expect(paid.outcome).toBe('active');
    expect(paid.tenant).toBeUndefined();
  });

  it('suspend after the grace period, not before', () => {
    const due = { ...account, status: 'past_due' as const, pastDueSince: '2026-03-01T00:00:00.000Z' };
    expect(decideGrace(due, tenant, new Date('2026-03-07T23:00:00Z'), 7).outcome).toBe('unchanged');
    expect(
      decideGrace(due, { ...tenant, status: 'past_due' }, new Date('2026-03-08T00:00:00Z'), 7),
    ).toMatchObject({
      outcome: 'suspended',
      tenant: { status: 'suspended' },
    });
  });

  it('cancel a second subscription instead of billing twice', () => {
    const d = decideEvent(
      account,
      tenant,
      ev({ type: 'checkout.completed', subscriptionId: 'sub_2', tenantId: null }),
    );
    expect(d).toMatchObject({ outcome: 'duplicate_subscription', cancelSubscription: 'sub_2' });
  });

  it('end a subscription: back to free, suspended if money is owed', () => {
    const ended = decideEvent(account, tenant, ev({ type: 'subscription.deleted', subscriptionId: 'sub_1' }));
    expect(ended).toMatchObject({ outcome: 'canceled', tenant: { plan: 'free' } });
    const owed = decideEvent(
      { ...account, status: 'past_due' },
      tenant,
      ev({ type: 'subscription.deleted', subscriptionId: 'sub_1' }),
    );
    expect(owed).toMatchObject({ outcome: 'suspended', tenant: { plan: 'free', status: 'suspended' } });
  });
});

describe('Stripe events', () => {
  it('are reduced to what billing acts on', () => {
    const base = { id: 'evt_1', created: 5, object: 'event' };
    expect(
      toBillingEvent({
        ...base,
        type: 'checkout.session.completed',
        data: {
          object: {
            mode: 'subscription',
            customer: 'cus_1',
            subscription: 'sub_1',
            client_reference_id: 'ten_1',
          },
        },
      }),
    ).toEqual({
      id: 'evt_1',
      created: 5,
      type: 'checkout.completed',
      customerId: 'cus_1',
      subscriptionId: 'sub_1',
      tenantId: 'ten_1',
      plan: null,
      planChangedAt: 0,
    });
    expect(
      toBillingEvent({
        ...base,
        type: 'customer.subscription.updated',
        data: {
          object: {
            id: 'sub_1',
            customer: 'cus_1',
            status: 'active',
            cancel_at_period_end: true,
            metadata: { plan: 'team', plan_changed_at: '1700000000000' },
          },
        },
      }),
    ).toMatchObject({ plan: 'team', planChangedAt: 1_700_000_000_000, cancelAtPeriodEnd: true });
    expect(
      toBillingEvent({
        ...base,
        type: 'customer.subscription.updated',
        data: { object: { id: 'sub_1', customer: { id: 'cus_1' }, status: 'past_due' } },
      }),
    ).toMatchObject({ type: 'subscription.updated', customerId: 'cus_1', status: 'past_due' });
    expect(toBillingEvent({ ...base, type: 'charge.refunded', data: { object: {} } })).toMatchObject({
      type: 'ignored',
    });
    expect(toBillingEvent({ ...base, type: 'invoice.paid', data: { object: {} } })).toBeUndefined();
  });
});
