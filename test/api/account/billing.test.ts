import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCustomer } from '#shared/billing/checkout';
import { meterSpecs } from '#shared/billing/meters';
import { batchPrices } from '#shared/catalog/batch-prices';
import { newId } from '#shared/ids';
import { costNanoUsd, formatUsd } from '#shared/metering/pricing';
import { addMember, createKey, expectError, json, newOperator, newOwner } from '../../support/accounts';
import { billingHarness, subscribe } from '../../support/billing';
import type { FakeStripe } from '../../support/fake-stripe';
import { createHarness, type Harness } from '../../support/harness';

let h: Harness;
let fake: FakeStripe;

beforeAll(async () => {
  // The SDK's own retries on: concurrent requests with one idempotency key meet Stripe's 409.
  ({ h, fake } = await billingHarness({ env: { STRIPE_MAX_NETWORK_RETRIES: '2' } }));
});
afterAll(async () => {
  await fake.stop();
});

interface SentCheckout {
  mode: string;
  customer: string;
  client_reference_id: string;
  line_items: { price: string }[];
  subscription_data: { billing_cycle_anchor: string; description: string };
  success_url: string;
}

/** The parts of `GET /account/billing` these tests read. */
interface BillingBody {
  message: string | null;
  invoices: unknown[] | null;
  invoice_preview: { note: string };
}

const checkoutRequests = () => fake.requests.filter((r) => r.path === '/v1/checkout/sessions');

describe('POST /account/billing/checkout', () => {
  it('returns a Checkout URL for a metered subscription with every current price, for a new customer', async () => {
    const owner = await newOwner(h);
    const res = await h.call('/account/billing/checkout', { key: owner.token, method: 'POST' });
    expect(res.status, await res.clone().text()).toBe(201);
    const body = await json<{ object: string; id: string; url: string }>(res);
    expect(body.object).toBe('checkout_session');
    expect(body.url).toBe(`${fake.url}/checkout/pay/${body.id}`);

    const customer = fake
      .liveCustomers()
      .find((c) => (c.metadata as Record<string, string>).tenant_id === owner.tenantId);
    expect(customer).toMatchObject({ email: owner.email, name: 'Test Co' });
    const sent = checkoutRequests().at(-1)!.body as unknown as SentCheckout;
    expect(sent.mode).toBe('subscription');
    expect(sent.customer).toBe(customer!.id);
    expect(sent.client_reference_id).toBe(owner.tenantId);
    // Every online price; batch prices join the subscription when first billed (Stripe takes at
    // most 20 recurring prices on a subscription and in a Checkout).
    const specs = meterSpecs(await h.deps.resolver.catalog()).filter((s) => s.channel === 'online');
    expect(specs.length).toBeGreaterThan(5);
    expect(specs.length).toBeLessThanOrEqual(20);
    expect(sent.line_items).toHaveLength(specs.length);
    expect(new Set(sent.line_items.map((l) => l.price)).size).toBe(specs.length);
    const prices = await h.stores.billing.listPrices();
    const online = new Set(prices.filter((p) => !p.channel).map((p) => p.priceId));
    expect(sent.line_items.every((l) => online.has(l.price))).toBe(true);
    const anchor = Number(sent.subscription_data.billing_cycle_anchor);
    const now = new Date();
    expect(anchor).toBe(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) / 1000);
    expect(sent.subscription_data.description).toMatch(/beyond your plan's monthly included units/);
    expect(sent.success_url).toBe('http://localhost:8787/billing?checkout=success');
  });

  it('makes exactly one customer when two checkouts race', async () => {
    const owner = await newOwner(h);
    const [a, b] = await Promise.all([
      h.call('/account/billing/checkout', { key: owner.token, method: 'POST' }),
      h.call('/account/billing/checkout', { key: owner.token, method: 'POST' }),
    ]);
    expect([a.status, b.status], `${await a.clone().text()} ${await b.clone().text()}`).toEqual([201, 201]);
    const mine = fake
      .liveCustomers()
      .filter((c) => (c.metadata as Record<string, string>).tenant_id === owner.tenantId);
    expect(mine).toHaveLength(1);
    const [first, second] = checkoutRequests().slice(-2);
    expect(first!.body.customer).toBe(mine[0]!.id);
    expect(second!.body.customer).toBe(mine[0]!.id);
    expect((await h.stores.billing.getAccount(owner.tenantId))?.customerId).toBe(mine[0]!.id);
  });

  it('keeps one customer even when Stripe has forgotten the idempotency key: the second is deleted', async () => {
    const owner = await newOwner(h);
    const tenant = (await h.stores.tenants.get(owner.tenantId))!;
    const first = await ensureCustomer(h.deps.billing, tenant);
    // A day later Stripe no longer knows the key; a stale read makes the platform ask again.
    fake.forgetIdempotencyKeys();
    const realGet = h.stores.billing.getAccount.bind(h.stores.billing);
    let reads = 0;
    h.stores.billing.getAccount = async (id) => (reads++ === 0 ? undefined : realGet(id));
    try {
      const second = await ensureCustomer(h.deps.billing, tenant);
      expect(second).toEqual(first);
    } finally {
      h.stores.billing.getAccount = realGet;
    }
    const all = [...fake.customers.values()].filter(
      (c) => (c.metadata as Record<string, string>).tenant_id === owner.tenantId,
    );
    expect(all).toHaveLength(2);
    expect(all.filter((c) => !c.deleted)).toHaveLength(1);
  });

  it('is for owners and the billing role only', async () => {
    const owner = await newOwner(h);
    const developer = await addMember(h, owner, 'developer');
    await expectError(
      await h.call('/account/billing/checkout', { key: developer.token, method: 'POST' }),
      403,
      'forbidden',
    );
    await expectError(await h.call('/account/billing', { key: developer.token }), 403, 'forbidden');
    const billing = await addMember(h, owner, 'billing');
    expect((await h.call('/account/billing/checkout', { key: billing.token, method: 'POST' })).status).toBe(
      201,
    );
  });

  it('refuses a second subscription (409), and the portal manages the first', async () => {
    const owner = await newOwner(h);
    await subscribe(h, fake, owner);
    await expectError(
      await h.call('/account/billing/checkout', { key: owner.token, method: 'POST' }),
      409,
      'conflict',
    );
    const portal = await h.call('/account/billing/portal', { key: owner.token, method: 'POST' });
    expect(portal.status).toBe(201);
    expect(await json(portal)).toMatchObject({
      object: 'portal_session',
      url: expect.stringMatching(/^https:\/\/billing\.stripe\.test\//),
    });
    const sent = fake.requests.filter((r) => r.path === '/v1/billing_portal/sessions').at(-1)!;
    expect(sent.body.return_url).toBe('http://localhost:8787/billing');
    expect(await h.stores.tenants.get(owner.tenantId)).toMatchObject({ plan: 'payg', status: 'active' });
  });

  it('answers 503 when Stripe is down, and changes nothing', async () => {
    const owner = await newOwner(h);
    fake.failNext(3, 500, { path: /customers/ });
    const res = await h.call('/account/billing/checkout', { key: owner.token, method: 'POST' });
    fake.clearFaults();
    const error = await expectError(res, 503, 'billing_unavailable');
    expect(error.message).toMatch(/Stripe did not answer/);
    expect(res.headers.get('retry-after')).toBe('30');
    expect(await h.stores.billing.getAccount(owner.tenantId)).toBeUndefined();
  });
});

describe('GET /account/billing', () => {
  it('shows plan, status, running cost by version, the ledger preview and Stripe invoices', async () => {
    const owner = await newOwner(h);
    const { customerId } = await subscribe(h, fake, owner);
    fake.addInvoice(customerId, { totalCents: 1234 });
    const res = await h.call('/account/billing', { key: owner.token });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = await json<BillingBody>(res);
    expect(body).toMatchObject({
      object: 'billing',
      connected: true,
      message: null,
      plan: { id: 'payg', name: 'Pay as you go', bills_overage: true },
      status: 'active',
      tenant_status: 'active',
      grace_ends_at: null,
      running_cost: { total_usd: '0.000000000', by_version: [] },
      invoice_preview: { lines: [], subtotal_usd: '0.000000000', total_due_usd: '0.00' },
    });
    expect(body.invoices).toEqual([
      expect.objectContaining({ number: expect.stringMatching(/^TG-/), total: '12.34', status: 'paid' }),
    ]);
  });

  it('shows no invoices (and says why) when Stripe does not answer', async () => {
    const owner = await newOwner(h);
    await subscribe(h, fake, owner);
    fake.failNext(3, 500, { path: /invoices/ });
    const body = await json<BillingBody>(await h.call('/account/billing', { key: owner.token }));
    fake.clearFaults();
    expect(body.invoices).toBeNull();
    expect(body.message).toMatch(/Stripe did not answer/);
  });
});

describe('billing before `billing:setup`', () => {
  it('refuses Checkout with 503 and does not make a customer', async () => {
    const bare = await billingHarness({ setup: false });
    try {
      const owner = await newOwner(bare.h);
      await expectError(
        await bare.h.call('/account/billing/checkout', { key: owner.token, method: 'POST' }),
        503,
        'billing_unavailable',
      );
      expect(bare.fake.liveCustomers()).toHaveLength(0);
    } finally {
      await bare.fake.stop();
    }
  });
});

describe('ledger-only billing (no Stripe key)', () => {
  let ledger: Harness;
  beforeAll(async () => {
    ledger = await createHarness();
  });

  it('shows the preview and says billing is not connected', async () => {
    const owner = await newOwner(ledger);
    const body = await json<BillingBody>(await ledger.call('/account/billing', { key: owner.token }));
    expect(body).toMatchObject({
      connected: false,
      status: 'none',
      plan: { id: 'free', bills_overage: false },
      invoices: null,
    });
    expect(body.message).toMatch(/not connected/);
    expect(body.invoice_preview.note).toMatch(/nothing is due/);
  });

  it("keeps a statement per month: the ledger's lines and total as the preview has them, as a page", async () => {
    const op = await newOperator(ledger);
    const owner = await newOwner(ledger);
    expect(
      (await ledger.call('/account/billing/plan', { key: owner.token, json: { plan: 'payg' } })).status,
    ).toBe(200);
    const limited = await ledger.call(`/admin/tenants/${owner.tenantId}/limits`, {
      key: op.token,
      method: 'PATCH',
      json: { included: { input_tokens: 1 } },
    });
    expect(limited.status, await limited.clone().text()).toBe(200);
    const { secret } = await createKey(ledger, owner);
    for (const input of ['a fine day', 'a grey and dismal day']) {
      const res = await ledger.call('/v1/text/sentiment', {
        key: secret,
        json: { model: 'sentiment', input },
      });
      expect(res.status, await res.clone().text()).toBe(200);
    }
    const body = await json<
      BillingBody & {
        period: { month: string };
        statements: { month: string; url: string }[];
        invoice_preview: { total_due_usd: string; lines: { description: string; billable: number }[] };
      }
    >(await ledger.call('/account/billing', { key: owner.token }));
    const month = body.period.month;
    // A new account: this month only.
    expect(body.statements).toEqual([{ month, url: `/account/billing/statements/${month}` }]);
    expect(body.invoice_preview.lines.length).toBeGreaterThan(0);

    const page = await ledger.call(body.statements[0]!.url, { key: owner.token });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain(`Statement for ${month} (so far)`);
    expect(html).toContain(`Total: <strong>$${body.invoice_preview.total_due_usd} USD</strong>`);
    for (const line of body.invoice_preview.lines) {
      expect(html).toContain(line.description);
      expect(html).toContain(`<td align="right">${line.billable.toLocaleString('en-US')}</td>`);
    }
    expect(html).toMatch(/nothing is charged/);

    // A month not begun, one before the account, and a malformed one.
    const [y, m] = month.split('-').map(Number) as [number, number];
    const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
    await expectError(
      await ledger.call(`/account/billing/statements/${next}`, { key: owner.token }),
      404,
      'not_found',
      'month',
    );
    await expectError(
      await ledger.call('/account/billing/statements/2001-01', { key: owner.token }),
      404,
      'not_found',
      'month',
    );
    await expectError(
      await ledger.call('/account/billing/statements/2026-13', { key: owner.token }),
      400,
      'invalid_request',
    );
    // Billing documents are for owners and the billing role.
    const dev = await addMember(ledger, owner, 'developer');
    expect((await ledger.call(body.statements[0]!.url, { key: dev.token })).status).toBe(403);
  });

  it('shows batch lines apart from online calls in the running cost, the preview and the statement, at the batch price', async () => {
    const op = await newOperator(ledger);
    const owner = await newOwner(ledger);
    expect(
      (await ledger.call('/account/billing/plan', { key: owner.token, json: { plan: 'payg' } })).status,
    ).toBe(200);
    const limited = await ledger.call(`/admin/tenants/${owner.tenantId}/limits`, {
      key: op.token,
      method: 'PATCH',
      json: { included: { input_tokens: 0, output_tokens: 0, images: 0 } },
    });
    expect(limited.status, await limited.clone().text()).toBe(200);
    const catalog = await ledger.deps.resolver.catalog();
    const tiny = catalog.models.get('chat')!.versions.get('tiny-1')!;
    const half = batchPrices(tiny);
    const now = ledger.deps.now();
    const units = { input_tokens: 1_000_000, output_tokens: 300_000 };
    // The same use online and as a batch line, this month.
    for (const [i, channel] of [undefined, 'batch' as const].entries()) {
      const at = new Date(now.getTime() - 60_000 + i);
      expect(
        await ledger.stores.usage.record({
          requestId: newId('req', at.getTime()),
          tenantId: owner.tenantId,
          keyId: 'key_b',
          model: 'chat',
          version: 'tiny-1',
          units,
          costNanoUsd: costNanoUsd(units, channel ? half : tiny.prices),
          priceBook: tiny.priceBook,
          latencyMs: 3,
          status: 'succeeded',
          at: at.toISOString(),
          ...(channel ? { channel } : {}),
        }),
      ).toBe('recorded');
    }
    type Line = {
      description: string;
      channel: string;
      unit: string;
      billable: number;
      unit_price_usd: string;
      amount_usd: string;
    };
    const body = await json<{
      statements: { url: string }[];
      running_cost: {
        total_usd: string;
        by_version: { version: string; channel: string; cost_usd: string }[];
      };
      invoice_preview: { lines: Line[]; subtotal_usd: string };
    }>(await ledger.call('/account/billing', { key: owner.token }));
    const onlineCost = costNanoUsd(units, tiny.prices);
    const batchCost = costNanoUsd(units, half);
    expect(body.running_cost.by_version.map((v) => [v.version, v.channel, v.cost_usd])).toEqual([
      ['tiny-1', 'online', formatUsd(onlineCost)],
      ['tiny-1', 'batch', formatUsd(batchCost)],
    ]);
    expect(body.running_cost.total_usd).toBe(formatUsd(onlineCost + batchCost));
    const lines = body.invoice_preview.lines;
    expect(lines.map((l) => [l.description, l.channel, l.billable])).toEqual([
      ['Chat tiny-1 — input tokens', 'online', 1_000_000],
      ['Chat tiny-1 — output tokens', 'online', 300_000],
      ['Chat tiny-1 — input tokens (batch)', 'batch', 1_000_000],
      ['Chat tiny-1 — output tokens (batch)', 'batch', 300_000],
    ]);
    for (const l of lines.filter((x) => x.channel === 'batch')) {
      const unit = l.unit as 'input_tokens' | 'output_tokens';
      expect(l.unit_price_usd).toBe(formatUsd(half[unit]!));
      expect(l.amount_usd).toBe(formatUsd(half[unit]! * units[unit]));
    }
    expect(body.invoice_preview.subtotal_usd).toBe(formatUsd(onlineCost + batchCost));

    const html = await (await ledger.call(body.statements[0]!.url, { key: owner.token })).text();
    for (const l of lines) expect(html).toContain(`<tr><td>${l.description}</td>`);
  });

  it('answers Checkout and the portal with 409 billing_not_connected', async () => {
    const owner = await newOwner(ledger);
    await expectError(
      await ledger.call('/account/billing/checkout', { key: owner.token, method: 'POST' }),
      409,
      'billing_not_connected',
    );
    await expectError(
      await ledger.call('/account/billing/portal', { key: owner.token, method: 'POST' }),
      409,
      'billing_not_connected',
    );
  });
});
