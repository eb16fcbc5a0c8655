import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncUsage } from '#shared/billing/meter-sync';
import { meterEventName } from '#shared/billing/meters';
import { newId } from '#shared/ids';
import {
  addMember,
  createKey,
  expectError,
  json,
  newOperator,
  newOwner,
  type TestOperator,
  type TestUser,
} from '../../support/accounts';
import { billingHarness, postEvent, subscribe } from '../../support/billing';
import type { FakeStripe } from '../../support/fake-stripe';
import { createHarness, type Harness } from '../../support/harness';

type Obj = Record<string, unknown>;

interface PlanChangeBody {
  object: string;
  status: 'applied' | 'checkout_required';
  plan: string;
  previous_plan: string;
  subscription_ends_at_period_end: boolean;
  url: string | null;
  message: string;
}

interface PlanOptionsBody {
  current_plan: string;
  connected: boolean;
  subscription: { plan: string | null; ends_at_period_end: boolean } | null;
  data: { id: string; current: boolean; self_serve: boolean; overage: string; price_basis: string }[];
}

const changePlan = (h: Harness, user: TestUser, plan: unknown) =>
  h.call('/account/billing/plan', { key: user.token, json: { plan } });

const sentiment = (h: Harness, key: string, input = 'a fine day, truly a fine day') =>
  h.call('/v1/text/sentiment', { key, json: { model: 'sentiment', input } });

/** The tenant's plan and the audit entries of its plan changes. */
async function planState(h: Harness, tenantId: string) {
  const tenant = await h.stores.tenants.get(tenantId);
  const page = await h.stores.audit.list({ limit: 200 });
  const entries = page === 'bad_cursor' ? [] : page.entries;
  return {
    plan: tenant?.plan,
    changes: entries.filter((e) => e.target.tenantId === tenantId && e.action === 'tenant.plan'),
  };
}

/** An operator-made self-serve paid plan besides pay-as-you-go, to move between paid plans. */
async function ensureTeamPlan(h: Harness, op: TestOperator): Promise<void> {
  const res = await h.call('/admin/plans', {
    key: op.token,
    json: {
      id: 'team',
      name: 'Team',
      overage: 'bill',
      self_serve: true,
      requests_per_minute: 1_200,
      spend_cap_usd: '500',
      included: { input_tokens: 5_000_000, output_tokens: 1_000_000, images: 2_000 },
    },
  });
  expect([201, 409], await res.clone().text()).toContain(res.status);
}

describe('plan changes, ledger-only (no Stripe)', () => {
  let h: Harness;
  let op: TestOperator;
  beforeAll(async () => {
    h = await createHarness();
    op = await newOperator(h);
    await ensureTeamPlan(h, op);
  });

  it('lists the self-serve plans with the current one marked, and not the operator-only ones', async () => {
    const owner = await newOwner(h);
    const res = await h.call('/account/billing/plans', { key: owner.token });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = await json<PlanOptionsBody>(res);
    expect(body).toMatchObject({ current_plan: 'free', connected: false, subscription: null });
    const ids = body.data.map((p) => p.id);
    expect(ids.slice(0, 2)).toEqual(['free', 'payg']);
    expect(ids).toContain('team');
    expect(ids).not.toContain('enterprise');
    expect(body.data.filter((p) => p.current).map((p) => p.id)).toEqual(['free']);
    expect(body.data[0]!.price_basis).toMatch(/refused until the next month/);
    expect(body.data[1]!.price_basis).toMatch(/billed per model version/);
  });

  it('a free tenant at its included units is told where to upgrade; upgrading serves its next request at once', async () => {
    const owner = await newOwner(h);
    const { secret } = await createKey(h, owner);
    const limited = await h.call(`/admin/tenants/${owner.tenantId}/limits`, {
      key: op.token,
      method: 'PATCH',
      json: { included: { input_tokens: 3 } },
    });
    expect(limited.status, await limited.clone().text()).toBe(200);
    // Uses up the month's 3 included input tokens.
    await sentiment(h, secret, 'ok');
    const refused = await sentiment(h, secret);
    const error = await expectError(refused, 429, 'quota_exceeded');
    expect(refused.headers.get('x-should-retry')).toBe('false');
    expect(error.message).toContain(`${new URL('/plans', h.config.PUBLIC_URL)}`);

    const res = await changePlan(h, owner, 'payg');
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await json<PlanChangeBody>(res)).toMatchObject({
      object: 'plan_change',
      status: 'applied',
      plan: 'payg',
      previous_plan: 'free',
      subscription_ends_at_period_end: false,
      url: null,
    });
    const state = await planState(h, owner.tenantId);
    expect(state.plan).toBe('payg');
    expect(state.changes).toHaveLength(1);
    expect(state.changes[0]).toMatchObject({
      actor: { kind: 'user', id: owner.userId, email: owner.email },
      before: { plan: 'free' },
      after: { plan: 'payg' },
    });
    expect((await sentiment(h, secret)).status).toBe(200);

    // And back: Free's hard stop bites on the next request.
    const down = await changePlan(h, owner, 'free');
    expect(down.status, await down.clone().text()).toBe(200);
    await expectError(await sentiment(h, secret), 429, 'quota_exceeded');
    expect((await planState(h, owner.tenantId)).changes).toHaveLength(2);
  });

  it('moves between paid plans at once', async () => {
    const owner = await newOwner(h);
    expect((await changePlan(h, owner, 'payg')).status).toBe(200);
    const res = await changePlan(h, owner, 'team');
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await planState(h, owner.tenantId)).plan).toBe('team');
    const plans = await json<PlanOptionsBody>(await h.call('/account/billing/plans', { key: owner.token }));
    expect(plans.current_plan).toBe('team');
  });

  it('refuses bad input with a 4xx naming `plan`, changing nothing', async () => {
    const owner = await newOwner(h);
    const before = await planState(h, owner.tenantId);
    await expectError(await changePlan(h, owner, 'gold'), 400, 'invalid_request', 'plan');
    await expectError(await changePlan(h, owner, 'enterprise'), 400, 'invalid_request', 'plan');
    await expectError(await changePlan(h, owner, 42), 400, 'invalid_request', 'plan');
    await expectError(await changePlan(h, owner, ''), 400, 'invalid_request', 'plan');
    await expectError(
      await h.call('/account/billing/plan', { key: owner.token, json: {} }),
      400,
      'invalid_request',
      'plan',
    );
    await expectError(
      await h.call('/account/billing/plan', { key: owner.token, json: { plan: 'payg', when: 'now' } }),
      400,
      'invalid_request',
    );
    const current = await expectError(await changePlan(h, owner, 'free'), 409, 'conflict', 'plan');
    expect(current.message).toMatch(/already/);
    expect(await planState(h, owner.tenantId)).toEqual(before);
  });

  it('a member without the billing permission gets 403; the billing role may change plan', async () => {
    const owner = await newOwner(h);
    const developer = await addMember(h, owner, 'developer');
    await expectError(await changePlan(h, developer, 'payg'), 403, 'forbidden');
    expect((await planState(h, owner.tenantId)).plan).toBe('free');
    const billing = await addMember(h, owner, 'billing');
    expect((await changePlan(h, billing, 'payg')).status).toBe(200);
  });

  it('refuses a suspended tenant, and a plan its operator set', async () => {
    const owner = await newOwner(h);
    const suspend = await h.call(`/admin/tenants/${owner.tenantId}/suspend`, {
      key: op.token,
      json: { reason: 'test' },
    });
    expect(suspend.status, await suspend.clone().text()).toBe(200);
    const refused = await expectError(await changePlan(h, owner, 'payg'), 403, 'tenant_inactive');
    expect(refused.message).toMatch(/suspended/);
    expect((await planState(h, owner.tenantId)).plan).toBe('free');

    const other = await newOwner(h);
    const set = await h.call(`/admin/tenants/${other.tenantId}`, {
      key: op.token,
      method: 'PATCH',
      json: { plan: 'enterprise' },
    });
    expect(set.status, await set.clone().text()).toBe(200);
    const operatorSet = await expectError(await changePlan(h, other, 'payg'), 409, 'conflict', 'plan');
    expect(operatorSet.message).toMatch(/operator/);
    const listed = await json<PlanOptionsBody>(await h.call('/account/billing/plans', { key: other.token }));
    expect(listed.data.find((p) => p.current)).toMatchObject({ id: 'enterprise', self_serve: false });
  });
});

describe('plan changes with Stripe', () => {
  let h: Harness;
  let fake: FakeStripe;
  let op: TestOperator;
  beforeAll(async () => {
    // The SDK's own retries on: concurrent requests with one idempotency key meet Stripe's 409.
    ({ h, fake } = await billingHarness({ env: { STRIPE_MAX_NETWORK_RETRIES: '2' } }));
    op = await newOperator(h);
    await ensureTeamPlan(h, op);
  });
  afterAll(async () => {
    await fake.stop();
  });

  const subOf = (id: string) => structuredClone(fake.subscriptions.get(id)!);
  const account = (tenantId: string) => h.stores.billing.getAccount(tenantId);
  const hook = async (type: string, object: Obj, created?: number) =>
    json<{ duplicate: boolean; outcome: string | null }>(
      await postEvent(h, fake, fake.event(type, object, created)),
    );
  const liveSubscriptions = (customer: string) =>
    [...fake.subscriptions.values()].filter((s) => s.customer === customer && s.status !== 'canceled');

  /** Free -> the plan through Checkout: the customer pays, Stripe reports it. */
  async function upgradeThroughCheckout(owner: TestUser, plan = 'payg') {
    const res = await changePlan(h, owner, plan);
    expect(res.status, await res.clone().text()).toBe(202);
    const body = await json<PlanChangeBody>(res);
    expect(body).toMatchObject({ status: 'checkout_required', plan, previous_plan: 'free' });
    // Nothing changes before Stripe says the customer paid.
    expect((await planState(h, owner.tenantId)).plan).toBe('free');
    const sessionId = [...fake.sessions.values()].find((s) => s.url === body.url)!.id as string;
    const session = fake.completeCheckout(sessionId);
    expect(await hook('checkout.session.completed', session)).toMatchObject({ outcome: 'subscribed' });
    return { customerId: session.customer as string, subscriptionId: session.subscription as string };
  }

  it('from free: Checkout for the chosen plan; the webhook applies it, once', async () => {
    const owner = await newOwner(h);
    const res = await changePlan(h, owner, 'team');
    expect(res.status).toBe(202);
    const body = await json<PlanChangeBody>(res);
    expect(body.url).toMatch(/^https?:\/\//);
    const sent = fake.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1)!.body as Obj;
    expect((sent.subscription_data as Obj).metadata).toMatchObject({
      plan: 'team',
      tenant_id: owner.tenantId,
    });
    expect((sent.subscription_data as Obj).description).toMatch(/5,000,000 input tokens/);
    const sessionId = [...fake.sessions.values()].find((s) => s.url === body.url)!.id as string;
    const session = fake.completeCheckout(sessionId);
    const event = fake.event('checkout.session.completed', session);
    expect(await json(await postEvent(h, fake, event))).toMatchObject({ outcome: 'subscribed' });
    expect(await json(await postEvent(h, fake, event))).toMatchObject({ duplicate: true });
    expect((await planState(h, owner.tenantId)).plan).toBe('team');
    expect(await account(owner.tenantId)).toMatchObject({ plan: 'team', cancelAtPeriodEnd: false });
    const listed = await json<PlanOptionsBody>(await h.call('/account/billing/plans', { key: owner.token }));
    expect(listed).toMatchObject({
      current_plan: 'team',
      connected: true,
      subscription: { plan: 'team', ends_at_period_end: false },
    });
  });

  it('between paid plans: the subscription is updated and the plan applies at once; its webhook changes nothing more', async () => {
    const owner = await newOwner(h);
    const { subscriptionId } = await upgradeThroughCheckout(owner);
    const res = await changePlan(h, owner, 'team');
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await json<PlanChangeBody>(res)).toMatchObject({ status: 'applied', plan: 'team' });
    const sub = subOf(subscriptionId);
    expect(sub).toMatchObject({ metadata: { plan: 'team' }, cancel_at_period_end: false });
    expect(sub.description).toMatch(/5,000,000 input tokens/);
    const after = await planState(h, owner.tenantId);
    expect(after.plan).toBe('team');
    expect(after.changes).toHaveLength(1);

    const event = fake.event('customer.subscription.updated', sub);
    expect(await json(await postEvent(h, fake, event))).toMatchObject({ outcome: 'unchanged' });
    expect(await json(await postEvent(h, fake, event))).toMatchObject({ duplicate: true });
    expect(await planState(h, owner.tenantId)).toEqual(after);
  });

  it('webhooks out of order: an older plan state after a newer one changes nothing', async () => {
    const owner = await newOwner(h);
    const { subscriptionId } = await upgradeThroughCheckout(owner);
    expect((await changePlan(h, owner, 'team')).status).toBe(200);
    const toTeam = subOf(subscriptionId);
    expect((await changePlan(h, owner, 'payg')).status).toBe(200);
    const toPayg = subOf(subscriptionId);
    const created = Math.floor(Date.now() / 1000);
    // Stripe delivers the second change first, then the first (same second: the metadata orders them).
    expect(await hook('customer.subscription.updated', toPayg, created)).toMatchObject({
      outcome: 'unchanged',
    });
    expect(await hook('customer.subscription.updated', toTeam, created)).toMatchObject({
      outcome: 'stale',
    });
    expect((await planState(h, owner.tenantId)).plan).toBe('payg');
    expect(await account(owner.tenantId)).toMatchObject({ plan: 'payg' });
  });

  it('a plan changed in Stripe (webhook only) moves the tenant; an older event does not move it back', async () => {
    const owner = await newOwner(h);
    const { subscriptionId } = await upgradeThroughCheckout(owner);
    const old = subOf(subscriptionId);
    const sub = fake.subscriptions.get(subscriptionId)!;
    sub.metadata = { ...(sub.metadata as Obj), plan: 'team', plan_changed_at: String(Date.now() + 5) };
    const now = Math.floor(Date.now() / 1000);
    expect(await hook('customer.subscription.updated', subOf(subscriptionId), now)).toMatchObject({
      outcome: 'plan_changed',
    });
    expect((await planState(h, owner.tenantId)).plan).toBe('team');
    expect(await hook('customer.subscription.updated', old, now - 60)).toMatchObject({ outcome: 'stale' });
    expect((await planState(h, owner.tenantId)).plan).toBe('team');
  });

  it("to free: Free's limits at once, the subscription ends at the period's end, usage is billed up to the move", async () => {
    const owner = await newOwner(h);
    const { customerId, subscriptionId } = await upgradeThroughCheckout(owner);
    const before = Date.now();
    const res = await changePlan(h, owner, 'free');
    expect(res.status, await res.clone().text()).toBe(200);
    const body = await json<PlanChangeBody>(res);
    expect(body).toMatchObject({ status: 'applied', plan: 'free', subscription_ends_at_period_end: true });
    expect(body.message).toMatch(/end of the month/);
    expect(subOf(subscriptionId)).toMatchObject({ status: 'active', cancel_at_period_end: true });
    expect((await planState(h, owner.tenantId)).plan).toBe('free');
    const downgraded = (await account(owner.tenantId))!;
    expect(downgraded).toMatchObject({ subscriptionId, cancelAtPeriodEnd: true, plan: 'payg' });
    expect(downgraded.billedUntilMs).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    const listed = await json<PlanOptionsBody>(await h.call('/account/billing/plans', { key: owner.token }));
    expect(listed.subscription).toEqual({ plan: 'payg', ends_at_period_end: true });

    // Stripe's echo of the change changes nothing; the end of the period ends the subscription
    // without moving the end of billing past the downgrade.
    expect(await hook('customer.subscription.updated', subOf(subscriptionId))).toMatchObject({
      outcome: 'unchanged',
    });
    fake.subscriptions.get(subscriptionId)!.status = 'canceled';
    const periodEnd = Math.floor(Date.now() / 1000) + 3_600;
    expect(await hook('customer.subscription.deleted', subOf(subscriptionId), periodEnd)).toMatchObject({
      outcome: 'canceled',
    });
    expect(await account(owner.tenantId)).toMatchObject({
      subscriptionId: null,
      status: 'canceled',
      billedUntilMs: downgraded.billedUntilMs,
    });
    expect((await planState(h, owner.tenantId)).plan).toBe('free');
    expect(liveSubscriptions(customerId)).toHaveLength(0);

    // Upgrading again starts a new subscription through Checkout.
    await upgradeThroughCheckout(owner);
    expect(liveSubscriptions(customerId)).toHaveLength(1);
  });

  it('back to a paid plan before the period ends: the same subscription goes on, no second one', async () => {
    const owner = await newOwner(h);
    const { customerId, subscriptionId } = await upgradeThroughCheckout(owner);
    expect((await changePlan(h, owner, 'free')).status).toBe(200);
    const res = await changePlan(h, owner, 'team');
    expect(res.status, await res.clone().text()).toBe(200);
    expect(subOf(subscriptionId)).toMatchObject({ cancel_at_period_end: false, metadata: { plan: 'team' } });
    expect(liveSubscriptions(customerId)).toHaveLength(1);
    expect((await planState(h, owner.tenantId)).plan).toBe('team');
    expect(await account(owner.tenantId)).toMatchObject({ cancelAtPeriodEnd: false, billedUntilMs: null });
  });

  it('cancelling in the portal moves the tenant to free; renewing there moves it back', async () => {
    const owner = await newOwner(h);
    const { subscriptionId } = await upgradeThroughCheckout(owner);
    const sub = fake.subscriptions.get(subscriptionId)!;
    const now = Math.floor(Date.now() / 1000);
    sub.cancel_at_period_end = true;
    expect(await hook('customer.subscription.updated', subOf(subscriptionId), now)).toMatchObject({
      outcome: 'plan_changed',
    });
    expect((await planState(h, owner.tenantId)).plan).toBe('free');
    sub.cancel_at_period_end = false;
    expect(await hook('customer.subscription.updated', subOf(subscriptionId), now + 1)).toMatchObject({
      outcome: 'plan_changed',
    });
    expect((await planState(h, owner.tenantId)).plan).toBe('payg');
  });

  it('two upgrades paid at once leave one subscription', async () => {
    const owner = await newOwner(h);
    const [a, b] = await Promise.all([changePlan(h, owner, 'payg'), changePlan(h, owner, 'team')]);
    expect([a.status, b.status]).toEqual([202, 202]);
    const urls = [(await json<PlanChangeBody>(a)).url, (await json<PlanChangeBody>(b)).url];
    const sessions = urls.map((u) => [...fake.sessions.values()].find((s) => s.url === u)!);
    const paid = sessions.map((s) => fake.completeCheckout(s.id as string));
    const outcomes = [];
    for (const s of paid) outcomes.push((await hook('checkout.session.completed', s)).outcome);
    expect(outcomes).toEqual(['subscribed', 'duplicate_subscription']);
    expect(liveSubscriptions(paid[0]!.customer as string)).toHaveLength(1);
    expect((await planState(h, owner.tenantId)).plan).toBe('payg');
  });

  it("usage served before a downgrade to free is still sent to Stripe under the paid plan's included units", async () => {
    const owner = await newOwner(h);
    const hour = 3_600_000;
    const start = Math.floor(Date.now() / hour) * hour - 4 * hour;
    const { customerId } = await subscribe(h, fake, owner, start / 1000);
    const limited = await h.call(`/admin/tenants/${owner.tenantId}/limits`, {
      key: op.token,
      method: 'PATCH',
      json: { included: { input_tokens: 100 } },
    });
    expect(limited.status).toBe(200);
    // 150 input tokens served two hours before the downgrade: 50 past the included 100.
    await h.stores.usage.record({
      requestId: newId('req', start + hour),
      tenantId: owner.tenantId,
      keyId: 'key_plan',
      model: 'sentiment',
      version: 'v1',
      units: { input_tokens: 150 },
      costNanoUsd: 15_000,
      priceBook: (await h.deps.resolver.catalog()).models.get('sentiment')!.versions.get('v1')!.priceBook,
      latencyMs: 5,
      status: 'succeeded',
      at: new Date(start + hour + 1_000).toISOString(),
    });
    expect((await changePlan(h, owner, 'free')).status).toBe(200);
    const report = await syncUsage(h.deps.billing, new Date());
    expect(report.problems).toEqual([]);
    const sent = [...fake.meterEvents.values()].filter((e) => e.customer === customerId);
    expect(sent.map((e) => [e.event_name, e.value])).toEqual([
      [meterEventName('sentiment', 'v1', 'input_tokens'), 50],
    ]);
  });

  it('a Stripe failure changes nothing and says to retry', async () => {
    const owner = await newOwner(h);
    const { subscriptionId } = await upgradeThroughCheckout(owner);
    fake.failNext(3, 500, { path: /subscriptions/ });
    await expectError(await changePlan(h, owner, 'team'), 503, 'billing_unavailable');
    expect((await planState(h, owner.tenantId)).plan).toBe('payg');
    expect(subOf(subscriptionId)).toMatchObject({ metadata: { plan: 'payg' } });
  });
});
