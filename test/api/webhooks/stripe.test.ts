import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enforceGrace } from '#shared/billing/grace';
import { keys } from '#shared/db/keys';
import { createKey, expectError, json, newOwner, type TestUser } from '../../support/accounts';
import { billingHarness, postEvent, subscribe } from '../../support/billing';
import type { FakeStripe } from '../../support/fake-stripe';
import { createHarness, type Harness } from '../../support/harness';

let h: Harness;
let fake: FakeStripe;

beforeAll(async () => {
  ({ h, fake } = await billingHarness());
});
afterAll(async () => {
  await fake.stop();
});

const nowSec = () => Math.floor(Date.now() / 1000);

async function subscribed(): Promise<{
  owner: TestUser;
  customerId: string;
  subscriptionId: string;
  key: string;
}> {
  const owner = await newOwner(h);
  const ids = await subscribe(h, fake, owner, nowSec() - 3600);
  const { secret } = await createKey(h, owner);
  return { owner, ...ids, key: secret };
}

/** Everything a webhook could change for a tenant. */
async function snapshot(tenantId: string) {
  const [tenant, account] = await Promise.all([
    h.stores.tenants.get(tenantId),
    h.stores.billing.getAccount(tenantId),
  ]);
  return { tenant, account };
}

const invoice = (customer: string) => ({
  id: `in_${Math.random().toString(36).slice(2)}`,
  object: 'invoice',
  customer,
});

function sentiment(key: string) {
  return h.call('/v1/text/sentiment', { key, json: { model: 'sentiment', input: 'I love it' } });
}

describe('POST /webhooks/stripe: verification', () => {
  it('refuses a bad signature, and nothing changes', async () => {
    const { owner, customerId } = await subscribed();
    const before = await snapshot(owner.tenantId);
    const event = fake.event('invoice.payment_failed', invoice(customerId));
    await expectError(
      await postEvent(h, fake, event, { secret: 'whsec_not_the_right_one' }),
      400,
      'invalid_signature',
    );
    // Signed for a different body: the signature covers the exact bytes.
    const other = JSON.stringify({ ...event, id: 'evt_other' });
    await expectError(
      await postEvent(h, fake, event, { signature: fake.sign(other) }),
      400,
      'invalid_signature',
    );
    await expectError(await postEvent(h, fake, event, { signature: 'garbage' }), 400, 'invalid_signature');
    expect(await snapshot(owner.tenantId)).toEqual(before);
    expect(await h.stores.billing.eventSeen(owner.tenantId, event.id as string)).toBe(false);
  });

  it('refuses a signed timestamp older than the tolerance (a replay), and nothing changes', async () => {
    const { owner, customerId } = await subscribed();
    const before = await snapshot(owner.tenantId);
    const event = fake.event('invoice.payment_failed', invoice(customerId));
    const error = await expectError(
      await postEvent(h, fake, event, { timestamp: nowSec() - 301 }),
      400,
      'invalid_signature',
    );
    expect(error.message).toMatch(/too old/);
    expect(await snapshot(owner.tenantId)).toEqual(before);
  });

  it('refuses a request without a signature', async () => {
    const res = await h.call('/webhooks/stripe', {
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    await expectError(res, 400, 'invalid_request', 'stripe-signature');
  });

  it('applies a replayed event id once', async () => {
    const { owner, customerId } = await subscribed();
    const failed = fake.event('invoice.payment_failed', invoice(customerId), nowSec() - 60);
    expect(await json(await postEvent(h, fake, failed))).toMatchObject({
      duplicate: false,
      outcome: 'past_due',
    });
    const paid = fake.event('invoice.paid', invoice(customerId), nowSec() - 30);
    expect(await json(await postEvent(h, fake, paid))).toMatchObject({ outcome: 'active' });
    const before = await snapshot(owner.tenantId);
    // Stripe retries (or an attacker replays with a fresh signature): same event id, nothing changes.
    expect(await json(await postEvent(h, fake, failed))).toMatchObject({ duplicate: true, outcome: null });
    expect(await snapshot(owner.tenantId)).toEqual(before);
    expect(before.tenant?.status).toBe('active');
  });

  it('acknowledges events of customers that are not ours without keeping anything', async () => {
    const event = fake.event('invoice.paid', invoice('cus_elsewhere'));
    expect(await json(await postEvent(h, fake, event))).toMatchObject({ outcome: 'unknown_customer' });
  });

  it('is not under session auth, and answers 409 where billing is not connected', async () => {
    const ledger = await createHarness();
    const res = await ledger.call('/webhooks/stripe', {
      body: '{}',
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=abc' },
    });
    await expectError(res, 409, 'billing_not_connected');
  });
});

describe('payment failure, grace and recovery', () => {
  it('past_due (warning header, email), then suspended after the grace period, then active again when paid', async () => {
    const { owner, customerId, key } = await subscribed();
    expect((await sentiment(key)).headers.get('x-tollgate-warning')).toBeNull();

    const failedAt = nowSec() - 120;
    const failed = await postEvent(
      h,
      fake,
      fake.event('invoice.payment_failed', invoice(customerId), failedAt),
    );
    expect(await json(failed)).toMatchObject({ outcome: 'past_due' });
    const tenant = await h.stores.tenants.get(owner.tenantId);
    expect(tenant).toMatchObject({
      status: 'past_due',
      pastDueSince: new Date(failedAt * 1000).toISOString(),
    });

    // Keeps serving, with a warning naming the day it stops.
    const served = await sentiment(key);
    expect(served.status).toBe(200);
    const graceEnd = new Date((failedAt + 7 * 86_400) * 1000).toISOString();
    expect(served.headers.get('x-tollgate-warning')).toContain(`until ${graceEnd}`);
    const email = h.outbox.latest(owner.email, 'payment_past_due');
    expect(email?.text).toContain(graceEnd.slice(0, 10));
    const billing = await json<Record<string, unknown>>(
      await h.call('/account/billing', { key: owner.token }),
    );
    expect(billing).toMatchObject({ status: 'past_due', grace_ends_at: graceEnd });

    // A day before the end of grace nothing happens; after it, suspended.
    const d = h.deps.billing;
    expect((await enforceGrace(d, new Date((failedAt + 6 * 86_400) * 1000))).suspended).not.toContain(
      owner.tenantId,
    );
    expect((await enforceGrace(d, new Date((failedAt + 7 * 86_400 + 1) * 1000))).suspended).toContain(
      owner.tenantId,
    );
    expect(await h.stores.tenants.get(owner.tenantId)).toMatchObject({ status: 'suspended' });
    await expectError(await sentiment(key), 403, 'tenant_inactive');
    expect(h.outbox.latest(owner.email, 'billing_suspended')).toBeDefined();

    // Paid: active again, no warning.
    const paid = await postEvent(h, fake, fake.event('invoice.paid', invoice(customerId)));
    expect(await json(paid)).toMatchObject({ outcome: 'active' });
    const again = await sentiment(key);
    expect(again.status).toBe(200);
    expect(again.headers.get('x-tollgate-warning')).toBeNull();
    expect(await h.stores.tenants.get(owner.tenantId)).toMatchObject({ status: 'active' });
    expect((await h.stores.tenants.get(owner.tenantId))?.pastDueSince).toBeUndefined();
    expect(h.outbox.latest(owner.email, 'billing_restored')).toBeDefined();

    // Every transition is in the audit log, with Stripe (or the grace clock) as the actor (the
    // tenant's other entries, such as its key being made, are not billing's).
    const page = await h.stores.audit.list({ limit: 100 });
    const mine =
      page !== 'bad_cursor'
        ? page.entries.filter(
            (e) =>
              e.target.tenantId === owner.tenantId && (e.before?.billing_status ?? e.after?.billing_status),
          )
        : [];
    expect(
      mine.map((e) => [e.actor.id, e.before?.billing_status, e.after?.billing_status]).reverse(),
    ).toEqual([
      ['stripe', 'none', 'active'],
      ['stripe', 'active', 'past_due'],
      ['billing-grace', 'past_due', 'suspended'],
      ['stripe', 'suspended', 'active'],
    ]);
  });

  it('handles out-of-order events: an older failure after a newer payment changes nothing', async () => {
    const { owner, customerId } = await subscribed();
    const t = nowSec();
    const paid = fake.event('invoice.paid', invoice(customerId), t - 10);
    const olderFailure = fake.event('invoice.payment_failed', invoice(customerId), t - 20);
    expect(await json(await postEvent(h, fake, paid))).toMatchObject({ outcome: 'unchanged' });
    expect(await json(await postEvent(h, fake, olderFailure))).toMatchObject({ outcome: 'stale' });
    expect(await h.stores.tenants.get(owner.tenantId)).toMatchObject({ status: 'active' });
  });

  it('follows customer.subscription.updated, and ends with customer.subscription.deleted', async () => {
    const { owner, customerId, subscriptionId } = await subscribed();
    const sub = (status: string) => ({
      id: subscriptionId,
      object: 'subscription',
      customer: customerId,
      status,
    });
    expect(
      await json(await postEvent(h, fake, fake.event('customer.subscription.updated', sub('past_due')))),
    ).toMatchObject({
      outcome: 'past_due',
    });
    expect(
      await json(await postEvent(h, fake, fake.event('customer.subscription.updated', sub('active')))),
    ).toMatchObject({
      outcome: 'active',
    });
    expect(
      await json(await postEvent(h, fake, fake.event('customer.subscription.deleted', sub('canceled')))),
    ).toMatchObject({
      outcome: 'canceled',
    });
    expect(await h.stores.tenants.get(owner.tenantId)).toMatchObject({ status: 'active', plan: 'free' });
    expect(await h.stores.billing.getAccount(owner.tenantId)).toMatchObject({
      status: 'canceled',
      subscriptionId: null,
    });
  });

  it('cancels a second subscription from a second completed Checkout', async () => {
    const { owner, customerId } = await subscribed();
    // A second session, opened before the first was paid, paid too.
    const sessionRes = await h.deps.billing.gateway.createCheckout({
      customerId,
      tenantId: owner.tenantId,
      priceIds: [[...fake.prices.keys()][0]!],
      successUrl: 'http://x',
      cancelUrl: 'http://x',
      plan: 'payg',
      planChangedAt: Date.now(),
      billingCycleAnchor: nowSec() + 86_400,
      description: 'x',
    });
    expect(sessionRes.ok).toBe(true);
    const second = fake.completeCheckout((sessionRes as { id: string }).id);
    const res = await postEvent(h, fake, fake.event('checkout.session.completed', second));
    expect(await json(res)).toMatchObject({ outcome: 'duplicate_subscription' });
    expect(fake.subscriptions.get(second.subscription as string)?.status).toBe('canceled');
  });

  it('applies concurrent events for one tenant each once, whatever the interleaving', async () => {
    const { owner, customerId, subscriptionId } = await subscribed();
    const t = nowSec() - 30;
    const events = [
      fake.event('invoice.payment_failed', invoice(customerId), t),
      fake.event(
        'customer.subscription.updated',
        { id: subscriptionId, object: 'subscription', customer: customerId, status: 'past_due' },
        t,
      ),
      fake.event('invoice.payment_failed', invoice(customerId), t),
    ];
    const answers = await Promise.all([...events, events[0]!].map((e) => postEvent(h, fake, e)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    const bodies = await Promise.all(answers.map((a) => json<{ duplicate: boolean; outcome: string }>(a)));
    // The same event posted twice at once: applied once.
    expect(bodies.filter((b) => !b.duplicate)).toHaveLength(3);
    expect(bodies.filter((b) => b.outcome === 'past_due')).toHaveLength(1);
    expect(await h.stores.tenants.get(owner.tenantId)).toMatchObject({
      status: 'past_due',
      pastDueSince: new Date(t * 1000).toISOString(),
    });
    expect(h.outbox.list(owner.email).filter((m) => m.kind === 'payment_past_due')).toHaveLength(1);
  });

  it('keeps one marker per processed event, under the tenant', async () => {
    const { owner, customerId } = await subscribed();
    const event = fake.event('invoice.paid', invoice(customerId));
    await postEvent(h, fake, event);
    expect(keys.stripeEvent(owner.tenantId, event.id as string).pk).toBe(`TENANT#${owner.tenantId}`);
    expect(await h.stores.billing.eventSeen(owner.tenantId, event.id as string)).toBe(true);
  });
});
