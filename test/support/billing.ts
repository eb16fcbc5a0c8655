import { expect } from 'vitest';
import { setupBilling } from '../../shared/billing/setup';
import { json, type TestUser } from './accounts';
import { FakeStripe } from './fake-stripe';
import { createHarness, type Harness } from './harness';

/** A harness whose billing talks to a fresh fake Stripe, with meters and prices set up. */
export async function billingHarness(
  opts: { env?: Record<string, string>; setup?: boolean; now?: () => Date } = {},
): Promise<{ h: Harness; fake: FakeStripe }> {
  const fake = await FakeStripe.start();
  const h = await createHarness({ env: { ...fake.env(), ...opts.env }, now: opts.now });
  if (opts.setup !== false) {
    const report = await setupBilling({
      gateway: h.deps.billing.gateway,
      store: h.stores.billing,
      catalog: await h.deps.resolver.catalog(),
      now: h.deps.now,
    });
    expect(report.problems).toEqual([]);
  }
  return { h, fake };
}

/** Posts a Stripe event to the webhook, signed with the fake's secret (or as `opts` says). */
export async function postEvent(
  h: Harness,
  fake: FakeStripe,
  event: Record<string, unknown>,
  opts: { timestamp?: number; secret?: string; signature?: string } = {},
): Promise<Response> {
  const body = JSON.stringify(event);
  return h.call('/webhooks/stripe', {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'stripe-signature': opts.signature ?? fake.sign(body, opts),
    },
  });
}

/**
 * The whole upgrade: Checkout through the API, the customer pays (the fake completes the session),
 * Stripe calls the webhook. `created` (seconds) dates the subscription's start.
 */
export async function subscribe(
  h: Harness,
  fake: FakeStripe,
  owner: TestUser,
  created?: number,
): Promise<{ customerId: string; subscriptionId: string }> {
  const res = await h.call('/account/billing/checkout', { key: owner.token, method: 'POST' });
  expect(res.status, await res.clone().text()).toBe(201);
  const { id } = await json<{ id: string }>(res);
  const session = fake.completeCheckout(id);
  const hook = await postEvent(h, fake, fake.event('checkout.session.completed', session, created));
  expect(hook.status, await hook.clone().text()).toBe(200);
  expect(await json(hook)).toMatchObject({ outcome: 'subscribed' });
  return { customerId: session.customer as string, subscriptionId: session.subscription as string };
}
