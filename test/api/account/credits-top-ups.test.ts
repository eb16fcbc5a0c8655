import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rechargeTenant, runAutoRecharges } from '#shared/billing/auto-recharge';
import { reconcilePayments } from '#shared/billing/top-ups';
import { addMember, expectError, json, newOwner, type TestUser } from '../../support/accounts';
import { billingHarness, postEvent } from '../../support/billing';
import type { FakeStripe } from '../../support/fake-stripe';
import { createHarness, type Harness } from '../../support/harness';

/**
 * Top-ups through Stripe Checkout (against the fake Stripe, through the real SDK), credited exactly
 * once per payment whatever the webhooks and the reconciliation do; receipts; auto-recharge.
 */

let h: Harness;
let fake: FakeStripe;

beforeAll(async () => {
  ({ h, fake } = await billingHarness({ setup: false }));
});
afterAll(async () => {
  await fake.stop();
});

/** The fake delivers its events to this harness's webhook, as Stripe does to the platform. */
const toWebhook = () =>
  fake.deliverWebhooksTo((body, signature) =>
    h.call('/webhooks/stripe', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'stripe-signature': signature },
    }),
  );

interface Credits {
  billing_mode: string;
  balance_usd: string;
  by_kind: { paid: string };
  grants: {
    id: string;
    kind: string;
    amount_usd: string;
    expires_at: string;
    receipt_url: string | null;
    purchase: { purpose: string; payment_id: string; amount_paid_usd: string } | null;
  }[];
  entries: { type: string; amount_usd: string; grant_id: string | null }[];
  top_up: { available: boolean; how: string };
  top_ups: { id: string; status: string; amount_usd: string; failure_reason: string | null }[];
  auto_recharge: {
    enabled: boolean;
    card: { last4: string } | null;
    recharges_today: number;
    last_attempt: { status: string; reason: string | null; at: string } | null;
    disabled_reason: string | null;
  };
}

async function credits(owner: TestUser): Promise<Credits> {
  const res = await h.call('/account/credits', { key: owner.token });
  expect(res.status, await res.clone().text()).toBe(200);
  return json<Credits>(res);
}

const topUpRequests = () =>
  fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/checkout/sessions');

async function topUp(owner: TestUser, body: Record<string, unknown>) {
  return h.call('/account/credits/top-ups', { key: owner.token, json: body });
}

/** Asks for a top-up and returns the Checkout session's id. */
async function startTopUp(owner: TestUser, amount = '25.00', saveCard = false): Promise<string> {
  const res = await topUp(owner, { amount_usd: amount, save_card: saveCard });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await json<{ id: string }>(res)).id;
}

async function prepaidOwner(): Promise<TestUser> {
  const owner = await newOwner(h);
  expect(
    await h.stores.quotas.credits.setBillingMode(
      { tenantId: owner.tenantId, mode: 'prepaid', actor: { kind: 'system', id: 'test' }, requestId: null },
      new Date(),
    ),
  ).toBe('changed');
  return owner;
}

/** The newest audit entries about a tenant. */
async function auditOf(tenantId: string) {
  const page = await h.stores.audit.list({ limit: 200 });
  if (page === 'bad_cursor') throw new Error('bad cursor');
  return page.entries.filter((e) => e.target.tenantId === tenantId);
}

const paidGrants = async (owner: TestUser) => (await credits(owner)).grants.filter((g) => g.kind === 'paid');

describe('POST /account/credits/top-ups', () => {
  it('refuses bad amounts and currencies with 400 naming the parameter, and changes nothing', async () => {
    const owner = await newOwner(h);
    const before = topUpRequests().length;
    for (const body of [
      { amount_usd: '0' },
      { amount_usd: '0.00' },
      { amount_usd: '-5.00' },
      { amount_usd: -5 },
      { amount_usd: '25.001' },
      { amount_usd: '4.99' },
      { amount_usd: '5000.01' },
      { amount_usd: '1e3' },
      { amount_usd: 'ten' },
      {},
    ]) {
      const err = await expectError(await topUp(owner, body), 400, 'invalid_request', 'amount_usd');
      expect(err.message).toMatch(/amount_usd/);
    }
    await expectError(
      await topUp(owner, { amount_usd: '25', currency: 'eur' }),
      400,
      'invalid_request',
      'currency',
    );
    await expectError(await topUp(owner, { amount_usd: '25', tip: 1 }), 400, 'invalid_request');
    expect(topUpRequests().length).toBe(before);
    const c = await credits(owner);
    expect(c.top_ups).toEqual([]);
    expect(c.grants).toEqual([]);
  });

  it('is for owners and billing members only', async () => {
    const owner = await newOwner(h);
    const dev = await addMember(h, owner, 'developer');
    await expectError(await topUp(dev, { amount_usd: '25' }), 403, 'forbidden');
    const billing = await addMember(h, owner, 'billing');
    expect((await topUp(billing, { amount_usd: '25' })).status).toBe(201);
  });

  it('opens a payment-mode Checkout for "Tollgate credit" that names the tenant and the purpose', async () => {
    const owner = await newOwner(h);
    const res = await topUp(owner, { amount_usd: '25.5', currency: 'USD', save_card: true });
    expect(res.status, await res.clone().text()).toBe(201);
    const body = await json<{ object: string; id: string; url: string; top_up_id: string }>(res);
    expect(body.object).toBe('checkout_session');
    expect(body.url).toBe(`${fake.url}/checkout/pay/${body.id}`);
    const sent = topUpRequests().at(-1)!.body as unknown as {
      mode: string;
      line_items: unknown;
      payment_intent_data: { metadata: unknown; setup_future_usage?: string };
      success_url: string;
    };
    expect(sent.mode).toBe('payment');
    expect(sent.line_items).toEqual([
      {
        quantity: '1',
        price_data: { currency: 'usd', unit_amount: '2550', product_data: { name: 'Tollgate credit' } },
      },
    ]);
    expect(sent.payment_intent_data.metadata).toEqual({
      tenant_id: owner.tenantId,
      purpose: 'top_up',
      top_up_id: body.top_up_id,
    });
    expect(sent.payment_intent_data.setup_future_usage).toBe('off_session');
    expect(sent.success_url).toMatch(/\/credits\?top_up=success$/);
    expect(topUpRequests().at(-1)!.idempotencyKey).toBe(`tollgate-top-up-${body.top_up_id}`);
    const c = await credits(owner);
    expect(c.top_ups).toMatchObject([{ id: body.top_up_id, status: 'pending', amount_usd: '25.50' }]);
    expect(c.grants).toEqual([]);
  });

  it('in ledger-only mode says credit is granted by an operator', async () => {
    const ledger = await createHarness();
    const owner = await newOwner(ledger);
    const err = await expectError(
      await ledger.call('/account/credits/top-ups', { key: owner.token, json: { amount_usd: '25' } }),
      409,
      'billing_not_connected',
    );
    expect(err.message).toMatch(/operator/);
    const c = await json<Credits>(await ledger.call('/account/credits', { key: owner.token }));
    expect(c.top_up.available).toBe(false);
    expect(c.top_up.how).toMatch(/operator/);
  });
});

describe('crediting a top-up exactly once', () => {
  it('pays through Checkout: credited once as a paid grant expiring in 365 days, with its receipt and saved card', async () => {
    toWebhook();
    const owner = await prepaidOwner();
    const sid = await startTopUp(owner, '25.00', true);
    await fake.payCheckout(sid);
    const c = await credits(owner);
    expect(c.balance_usd).toBe('25.000000000');
    expect(c.by_kind.paid).toBe('25.000000000');
    const [grant] = c.grants;
    expect(grant).toMatchObject({ kind: 'paid', amount_usd: '25.000000000' });
    expect(grant!.purchase).toMatchObject({ purpose: 'top_up', amount_paid_usd: '25.00' });
    const days = (Date.parse(grant!.expires_at) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(364.9);
    expect(days).toBeLessThan(365.1);
    expect(grant!.receipt_url).toMatch(new RegExp(`^${fake.url}/receipts/ch_`));
    expect((await fetch(grant!.receipt_url!)).status).toBe(200);
    expect(c.entries.filter((e) => e.type === 'grant')).toHaveLength(1);
    expect(c.top_ups[0]).toMatchObject({ status: 'paid' });
    expect(c.auto_recharge.card?.last4).toBe('4242');
    // Both events that announce the payment were delivered; one credited, one found it credited.
    const session = fake.sessions.get(sid)!;
    const outcomes = fake.deliveries.filter((d) =>
      [
        ...fake.eventsOf('payment_intent.succeeded', session.payment_intent as string),
        ...fake.eventsOf('checkout.session.completed', sid),
      ].some((e) => e.id === d.eventId),
    );
    expect(outcomes.map((o) => o.status)).toEqual([200, 200]);
    // The purchase is audited, by Stripe.
    const audit = await auditOf(owner.tenantId);
    expect(audit.some((e) => e.action === 'tenant.credit_grant' && e.actor.id === 'stripe')).toBe(true);
  });

  it('replayed, reordered and concurrent events credit nothing twice', async () => {
    fake.deliverWebhooksTo(undefined);
    const owner = await prepaidOwner();
    const sid = await startTopUp(owner, '10.00');
    await fake.payCheckout(sid);
    const completed = fake.eventsOf('checkout.session.completed', sid)[0]!;
    const pi = fake.sessions.get(sid)!.payment_intent as string;
    const succeeded = fake.eventsOf('payment_intent.succeeded', pi)[0]!;
    // Checkout's event first this time, then both again at once, then a replay of each.
    const first = await postEvent(h, fake, completed);
    expect(await json(first)).toMatchObject({ duplicate: false, outcome: 'credited' });
    const racing = await Promise.all([
      postEvent(h, fake, succeeded),
      postEvent(h, fake, succeeded),
      reconcilePayments(h.deps.billing, new Date()),
    ]);
    expect(racing[0].status).toBe(200);
    expect(racing[1].status).toBe(200);
    expect(await json(await postEvent(h, fake, completed))).toMatchObject({ duplicate: true });
    expect(await json(await postEvent(h, fake, succeeded))).toMatchObject({ duplicate: true });
    const grants = await paidGrants(owner);
    expect(grants).toHaveLength(1);
    expect((await credits(owner)).balance_usd).toBe('10.000000000');
  });

  it("forged events, and signed events about payments that are not this tenant's or did not succeed, change nothing", async () => {
    fake.deliverWebhooksTo(undefined);
    const owner = await prepaidOwner();
    const sid = await startTopUp(owner, '10.00');
    await fake.payCheckout(sid);
    const pi = fake.sessions.get(sid)!.payment_intent as string;
    const succeeded = fake.eventsOf('payment_intent.succeeded', pi)[0]!;
    // Forged: a wrong secret, and a body changed after signing (a bigger amount).
    await expectError(
      await postEvent(h, fake, succeeded, { secret: 'whsec_forged' }),
      400,
      'invalid_signature',
    );
    const tampered = structuredClone(succeeded) as { data: { object: Record<string, unknown> } };
    tampered.data.object.amount = 1_000_000;
    const body = JSON.stringify(tampered);
    const res = await h.call('/webhooks/stripe', {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'stripe-signature': fake.sign(JSON.stringify(succeeded)),
      },
    });
    expect(res.status).toBe(400);
    // Signed, but it claims another tenant's payment: what Stripe says of the payment decides.
    const other = await prepaidOwner();
    await startTopUp(other, '5.00'); // gives the other tenant a Stripe customer
    const otherCustomer = (await h.stores.billing.getAccount(other.tenantId))!.customerId!;
    const stolen = structuredClone(succeeded) as { id: string; data: { object: Record<string, unknown> } };
    stolen.id = `evt_stolen_${Date.now()}`;
    stolen.data.object.customer = otherCustomer;
    expect(await json(await postEvent(h, fake, stolen))).toMatchObject({ outcome: 'not_ours' });
    expect(await paidGrants(other)).toEqual([]);
    // Signed, about a payment that was declined: not credited.
    const declinedSid = await startTopUp(owner, '7.00');
    await expect(fake.payCheckout(declinedSid, { card: '4000000000009995' })).rejects.toThrow(/insufficient/);
    expect(await paidGrants(owner)).toEqual([]);
    // Only the real event credits, once.
    expect(await json(await postEvent(h, fake, succeeded))).toMatchObject({ outcome: 'credited' });
    expect(await paidGrants(owner)).toHaveLength(1);
  });

  it('records an asynchronous payment failure on the top-up, and a late failure after the payment changes nothing', async () => {
    fake.deliverWebhooksTo(undefined);
    const owner = await prepaidOwner();
    const sid = await startTopUp(owner, '12.00');
    const session = fake.sessions.get(sid)!;
    const failed = fake.event('checkout.session.async_payment_failed', {
      ...session,
      payment_status: 'unpaid',
    });
    expect(await json(await postEvent(h, fake, failed))).toMatchObject({ outcome: 'failure_recorded' });
    let c = await credits(owner);
    expect(c.top_ups[0]).toMatchObject({ status: 'failed' });
    expect(c.top_ups[0]!.failure_reason).toMatch(/did not go through/);
    expect(c.grants).toEqual([]);

    // Another top-up paid; a failure event for its payment arriving afterwards is stale.
    const paidSid = await startTopUp(owner, '8.00');
    await fake.payCheckout(paidSid);
    const pi = fake.sessions.get(paidSid)!.payment_intent as string;
    await postEvent(h, fake, fake.eventsOf('payment_intent.succeeded', pi)[0]!);
    const late = fake.event('payment_intent.payment_failed', {
      ...fake.paymentIntents.get(pi)!,
      last_payment_error: { message: 'Your card was declined.' },
    });
    await postEvent(h, fake, late);
    c = await credits(owner);
    expect(c.top_ups.find((t) => t.amount_usd === '8.00')).toMatchObject({ status: 'paid' });
    expect(c.balance_usd).toBe('8.000000000');
  });
});

describe('reconciliation against Stripe', () => {
  it('credits a payment whose webhook never came, once however often it runs, and the webhook arriving afterwards adds nothing', async () => {
    fake.deliverWebhooksTo(undefined);
    const owner = await prepaidOwner();
    const sid = await startTopUp(owner, '30.00');
    await fake.payCheckout(sid); // paid at Stripe; the platform heard nothing (it "crashed")
    expect(await paidGrants(owner)).toEqual([]);

    const first = await reconcilePayments(h.deps.billing, new Date());
    expect(first.credited).toBeGreaterThanOrEqual(1);
    expect(first.complete).toBe(true);
    expect((await credits(owner)).balance_usd).toBe('30.000000000');
    const second = await reconcilePayments(h.deps.billing, new Date());
    expect(second.credited).toBe(0);

    toWebhook();
    const pi = fake.sessions.get(sid)!.payment_intent as string;
    for (const e of [
      ...fake.eventsOf('payment_intent.succeeded', pi),
      ...fake.eventsOf('checkout.session.completed', sid),
    ]) {
      expect(await fake.redeliver(e.id as string)).toBe(200);
    }
    const grants = await paidGrants(owner);
    expect(grants).toHaveLength(1);
    expect((await credits(owner)).balance_usd).toBe('30.000000000');
  });

  it('pages through Stripe and skips payments that are not Tollgate credit', async () => {
    fake.deliverWebhooksTo(undefined);
    const owner = await prepaidOwner();
    const sids = [];
    for (let i = 0; i < 3; i++) sids.push(await startTopUp(owner, '5.00'));
    for (const sid of sids) await fake.payCheckout(sid);
    const before = fake.requests.length;
    const report = await reconcilePayments(h.deps.billing, new Date());
    const lists = fake.requests.slice(before).filter((r) => r.path === '/v1/payment_intents');
    expect(lists.length).toBe(report.pages);
    expect(lists.every((r) => Number(r.query.limit) === 100 && r.query.created)).toBe(true);
    expect((await credits(owner)).balance_usd).toBe('15.000000000');
  });
});

describe('PUT /account/credits/auto-recharge and the recharges', () => {
  const settings = { enabled: true, threshold_usd: '10.00', amount_usd: '20.00', max_per_day: 2 };
  const put = (owner: TestUser, body: unknown) =>
    h.call('/account/credits/auto-recharge', { key: owner.token, method: 'PUT', json: body });

  /** A prepaid tenant with $5 of paid credit and its card saved. */
  async function withSavedCard(): Promise<TestUser> {
    toWebhook();
    const owner = await prepaidOwner();
    await fake.payCheckout(await startTopUp(owner, '5.00', true));
    expect((await credits(owner)).auto_recharge.card).not.toBeNull();
    return owner;
  }

  it('needs a saved card, and refuses bad settings with 400 naming the parameter', async () => {
    const owner = await newOwner(h);
    await expectError(await put(owner, settings), 409, 'conflict');
    await expectError(
      await put(owner, { ...settings, amount_usd: '1.00' }),
      400,
      'invalid_request',
      'amount_usd',
    );
    await expectError(
      await put(owner, { ...settings, threshold_usd: '0' }),
      400,
      'invalid_request',
      'threshold_usd',
    );
    await expectError(
      await put(owner, { ...settings, max_per_day: 0 }),
      400,
      'invalid_request',
      'max_per_day',
    );
    await expectError(await put(owner, { enabled: true }), 400, 'invalid_request');
    expect((await credits(owner)).auto_recharge.enabled).toBe(false);
    const viewer = await addMember(h, owner, 'viewer');
    await expectError(await put(viewer, { enabled: false }), 403, 'forbidden');
  });

  it('recharges once when the balance is below the threshold, however many triggers race, bounded per day', async () => {
    const owner = await withSavedCard();
    const res = await put(owner, settings);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await json(res)).toMatchObject({
      enabled: true,
      threshold_usd: '10.000000000',
      amount_usd: '20.00',
    });
    const audit = await auditOf(owner.tenantId);
    expect(audit.some((e) => e.action === 'tenant.auto_recharge' && e.actor.kind === 'user')).toBe(true);

    const charges = () =>
      fake.requests.filter(
        (r) => r.method === 'POST' && r.path === '/v1/payment_intents' && r.status === 200,
      );
    const before = charges().length;
    const now = new Date();
    const outcomes = await Promise.all([
      rechargeTenant(h.deps.billing, owner.tenantId, now),
      rechargeTenant(h.deps.billing, owner.tenantId, now),
      rechargeTenant(h.deps.billing, owner.tenantId, now),
    ]);
    expect(outcomes.filter((o) => o === 'succeeded')).toHaveLength(1);
    expect(charges().length - before).toBe(1);
    const sent = charges().at(-1)!;
    expect(sent.idempotencyKey).toBe(
      `tollgate-recharge-${owner.tenantId}-${now.toISOString().slice(0, 10)}-1`,
    );
    expect(sent.body).toMatchObject({ amount: '2000', off_session: 'true', confirm: 'true' });
    let c = await credits(owner);
    expect(c.balance_usd).toBe('25.000000000');
    expect(c.auto_recharge).toMatchObject({ recharges_today: 1, last_attempt: { status: 'succeeded' } });
    expect(c.grants.filter((g) => g.purchase?.purpose === 'auto_recharge')).toHaveLength(1);

    // Above the threshold now: nothing. The webhook of that charge adds nothing either.
    expect(await rechargeTenant(h.deps.billing, owner.tenantId, now)).toBe('above_threshold');
    await fake.webhooksDelivered();
    expect((await credits(owner)).balance_usd).toBe('25.000000000');

    // A higher threshold: one more today (max 2), then the day's limit.
    await put(owner, { ...settings, threshold_usd: '100.00' });
    expect(await rechargeTenant(h.deps.billing, owner.tenantId, now)).toBe('succeeded');
    expect(await rechargeTenant(h.deps.billing, owner.tenantId, now)).toBe('daily_limit');
    c = await credits(owner);
    expect(c.balance_usd).toBe('45.000000000');
    expect(c.auto_recharge.recharges_today).toBe(2);
  });

  it('a charge whose answer was lost is finished by the next run with the same key: one charge, one credit', async () => {
    const owner = await withSavedCard();
    await put(owner, settings);
    fake.failNext(1, 500, { path: /^POST \/v1\/payment_intents$/, after: true });
    const now = new Date();
    expect(await rechargeTenant(h.deps.billing, owner.tenantId, now)).toBe('pending');
    expect((await credits(owner)).auto_recharge).toMatchObject({ recharges_today: 1 });
    expect(await rechargeTenant(h.deps.billing, owner.tenantId, now)).toBe('succeeded');
    const made = [...fake.paymentIntents.values()].filter(
      (p) =>
        (p.metadata as Record<string, string>).tenant_id === owner.tenantId &&
        (p.metadata as Record<string, string>).purpose === 'auto_recharge',
    );
    expect(made).toHaveLength(1);
    expect((await credits(owner)).balance_usd).toBe('25.000000000');
  });

  it('a declined recharge is recorded, shown, emailed to the owner, and turns auto-recharge off', async () => {
    const owner = await withSavedCard();
    await put(owner, settings);
    const account = await h.stores.billing.getAccount(owner.tenantId);
    fake.declineCard(account!.customerId!, 'insufficient_funds');
    const report = await runAutoRecharges(h.deps.billing, new Date());
    expect(report.failed).toBeGreaterThanOrEqual(1);
    const c = await credits(owner);
    expect(c.balance_usd).toBe('5.000000000');
    expect(c.auto_recharge).toMatchObject({
      enabled: false,
      disabled_reason: 'recharge_failed',
      last_attempt: { status: 'failed' },
    });
    expect(c.auto_recharge.last_attempt!.reason).toMatch(/insufficient/);
    expect(c.top_ups[0]).toMatchObject({ status: 'failed' });
    const mail = h.outbox.latest(owner.email, 'auto_recharge_failed');
    expect(mail?.subject).toMatch(/auto-recharge failed/i);
    expect(mail?.text).toMatch(/\$20\.00/);
    expect(mail?.text).toMatch(/insufficient/);
    // Off: the next run charges nothing.
    const before = fake.requests.filter(
      (r) => r.path === '/v1/payment_intents' && r.method === 'POST',
    ).length;
    expect(await rechargeTenant(h.deps.billing, owner.tenantId, new Date())).toBe('off');
    expect(fake.requests.filter((r) => r.path === '/v1/payment_intents' && r.method === 'POST').length).toBe(
      before,
    );
  });
});

describe('GET /account/credits/grants/{id}/receipt', () => {
  it("serves an HTML receipt for a paid grant; promotional credit and another account's grant are 404", async () => {
    const ledger = await createHarness();
    const owner = await newOwner(ledger);
    const other = await newOwner(ledger);
    const grant = async (tenantId: string, kind: string) => {
      const made = await ledger.stores.quotas.credits.grant(
        {
          tenantId,
          kind: kind as 'paid',
          amountNanoUsd: 12_340_000_000,
          expiresAt: '2030-01-01T00:00:00.000Z',
          note: 'Bank transfer 42',
          actor: { kind: 'operator', id: 'opr_1', email: 'ops@example.com' },
          requestId: null,
        },
        new Date(),
      );
      if (made.status !== 'granted') throw new Error('not granted');
      return made.grant.id;
    };
    const paid = await grant(owner.tenantId, 'paid');
    const promo = await grant(owner.tenantId, 'promotional');
    const foreign = await grant(other.tenantId, 'paid');
    const c = await json<Credits>(await ledger.call('/account/credits', { key: owner.token }));
    const view = c.grants.find((g) => g.id === paid)!;
    expect(view.receipt_url).toBe(`/account/credits/grants/${paid}/receipt`);
    expect(c.grants.find((g) => g.id === promo)!.receipt_url).toBeNull();

    const res = await ledger.call(view.receipt_url!, { key: owner.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('$12.340000000 USD');
    expect(html).toContain('Bank transfer 42');
    expect(html).toContain(paid);
    await expectError(
      await ledger.call(`/account/credits/grants/${promo}/receipt`, { key: owner.token }),
      404,
      'not_found',
    );
    await expectError(
      await ledger.call(`/account/credits/grants/${foreign}/receipt`, { key: owner.token }),
      404,
      'not_found',
    );
    const dev = await addMember(ledger, owner, 'developer');
    await expectError(await ledger.call(view.receipt_url!, { key: dev.token }), 403, 'forbidden');
  });
});
