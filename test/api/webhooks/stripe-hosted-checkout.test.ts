import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, newOwner } from '../../support/accounts';
import { billingHarness } from '../../support/billing';
import type { FakeStripe } from '../../support/fake-stripe';
import type { Harness } from '../../support/harness';

/**
 * The fake Stripe's hosted Checkout page, as tests that drive a browser use it: the session's URL
 * serves a page whose Pay button completes the session by its mode, delivers the signed events
 * and redirects to success_url; Cancel redirects to cancel_url.
 */

let h: Harness;
let fake: FakeStripe;
let stripe: Stripe;
let receiver: Server;
let receiverUrl = '';
const received: { type: string; verified: boolean; object: Record<string, unknown> }[] = [];

beforeAll(async () => {
  ({ h, fake } = await billingHarness());
  const base = new URL(fake.url);
  stripe = new Stripe(fake.secretKey, {
    host: base.hostname,
    port: base.port,
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  // A webhook endpoint that checks every delivery's signature with the SDK, as the platform does.
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified = true;
      let event: { type: string; data: { object: Record<string, unknown> } };
      try {
        event = stripe.webhooks.constructEvent(
          body,
          String(req.headers['stripe-signature']),
          fake.webhookSecret,
        ) as unknown as typeof event;
      } catch {
        verified = false;
        event = JSON.parse(body);
      }
      received.push({ type: event.type, verified, object: event.data.object });
      res.writeHead(verified ? 200 : 400).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await fake.stop();
  await new Promise<void>((r) => receiver.close(() => r()));
});

async function customer(): Promise<string> {
  return (await stripe.customers.create({ name: 'Test Co' })).id;
}

async function paymentSession(customerId: string, saveCard: boolean) {
  return stripe.checkout.sessions.create({
    mode: 'payment',
    customer: customerId,
    line_items: [
      {
        quantity: 1,
        price_data: { currency: 'usd', unit_amount: 2500, product_data: { name: 'Tollgate credit' } },
      },
    ],
    payment_intent_data: {
      metadata: { tenant_id: 'tenant-x', purpose: 'top_up' },
      ...(saveCard ? { setup_future_usage: 'off_session' as const } : {}),
    },
    success_url: 'http://console.test/credits?top_up=success&session={CHECKOUT_SESSION_ID}',
    cancel_url: 'http://console.test/credits?top_up=canceled',
  });
}

const press = (url: string, button: 'pay' | 'cancel', card?: string) =>
  fetch(`${url}/${button}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: card ? new URLSearchParams({ card }).toString() : '',
  });

describe('the fake Stripe hosted Checkout page', () => {
  it('pays a payment-mode session: a succeeded PaymentIntent with a receipt, the card saved, signed events delivered, then success_url', async () => {
    fake.deliverWebhooksTo(receiverUrl);
    received.length = 0;
    const cus = await customer();
    const session = await paymentSession(cus, true);
    expect(session.url).toBe(`${fake.url}/checkout/pay/${session.id}`);

    const page = await fetch(session.url!);
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain('id="pay"');
    expect(text).toContain('id="cancel"');
    expect(text).toContain('$25.00');

    const paid = await press(session.url!, 'pay');
    expect(paid.status).toBe(303);
    expect(paid.headers.get('location')).toBe(
      `http://console.test/credits?top_up=success&session=${session.id}`,
    );
    expect(received.map((e) => [e.type, e.verified])).toEqual([
      ['payment_intent.succeeded', true],
      ['charge.succeeded', true],
      ['checkout.session.completed', true],
    ]);
    const completed = received[2]!.object;
    expect(completed).toMatchObject({ mode: 'payment', payment_status: 'paid', status: 'complete' });

    const intent = await stripe.paymentIntents.retrieve(completed.payment_intent as string, {
      expand: ['latest_charge'],
    });
    expect(intent).toMatchObject({
      status: 'succeeded',
      amount: 2500,
      currency: 'usd',
      customer: cus,
      metadata: { tenant_id: 'tenant-x', purpose: 'top_up' },
    });
    const charge = intent.latest_charge as Stripe.Charge;
    expect(charge.receipt_url).toBe(`${fake.url}/receipts/${charge.id}`);
    const receipt = await fetch(charge.receipt_url!);
    expect(receipt.status).toBe(200);
    expect(await receipt.text()).toContain('$25.00');

    const saved = (await stripe.customers.retrieve(cus)) as Stripe.Customer;
    expect(saved.invoice_settings.default_payment_method).toBe(intent.payment_method);

    // Paid once: the page now says so, and a second press changes nothing.
    expect(await (await fetch(session.url!)).text()).toContain('no longer available');
    expect((await press(session.url!, 'pay')).status).toBe(409);
    expect(fake.eventsOf('checkout.session.completed', session.id)).toHaveLength(1);
  });

  it('does not save the card without setup_future_usage', async () => {
    fake.deliverWebhooksTo(undefined);
    const cus = await customer();
    const session = await paymentSession(cus, false);
    expect((await press(session.url!, 'pay')).status).toBe(303);
    expect(fake.defaultPaymentMethod(cus)).toBeUndefined();
    // Without a target the events are recorded, not delivered.
    expect(fake.eventsOf('checkout.session.completed', session.id)).toHaveLength(1);
  });

  it('Cancel goes back to cancel_url and changes nothing', async () => {
    fake.deliverWebhooksTo(receiverUrl);
    received.length = 0;
    const session = await paymentSession(await customer(), true);
    const canceled = await press(session.url!, 'cancel');
    expect(canceled.status).toBe(303);
    expect(canceled.headers.get('location')).toBe('http://console.test/credits?top_up=canceled');
    expect(received).toEqual([]);
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
  });

  it('a declining card shows the decline and leaves the session open', async () => {
    fake.deliverWebhooksTo(receiverUrl);
    received.length = 0;
    const session = await paymentSession(await customer(), true);
    const declined = await press(session.url!, 'pay', '4000 0000 0000 9995');
    expect(declined.status).toBe(402);
    expect(await declined.text()).toContain('insufficient funds');
    expect(received).toEqual([]);
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
  });

  it('a saved card that declines (0341): off-session charges answer 402 card_error and emit payment_intent.payment_failed', async () => {
    fake.deliverWebhooksTo(receiverUrl);
    received.length = 0;
    const cus = await customer();
    const setup = await stripe.checkout.sessions.create({
      mode: 'setup',
      customer: cus,
      currency: 'usd',
      success_url: 'http://console.test/ok',
      cancel_url: 'http://console.test/no',
    });
    expect((await press(setup.url!, 'pay', '4000000000000341')).status).toBe(303);
    const pm = fake.defaultPaymentMethod(cus)!;
    expect(pm).toMatch(/^pm_/);
    const err = await stripe.paymentIntents
      .create(
        {
          amount: 1000,
          currency: 'usd',
          customer: cus,
          payment_method: pm,
          off_session: true,
          confirm: true,
        },
        { idempotencyKey: `recharge-${cus}` },
      )
      .then(
        () => undefined,
        (e: Stripe.errors.StripeError) => e,
      );
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err!.code).toBe('card_declined');
    expect(err!.payment_intent?.status).toBe('requires_payment_method');
    await fake.webhooksDelivered();
    expect(received.map((e) => e.type)).toEqual([
      'setup_intent.succeeded',
      'checkout.session.completed',
      'payment_intent.payment_failed',
    ]);
  });

  it('off-session charges on a good card succeed once per idempotency key, and declineCard makes them fail', async () => {
    fake.deliverWebhooksTo(undefined);
    const cus = await customer();
    await fake.payCheckout((await paymentSession(cus, true)).id);
    const pm = fake.defaultPaymentMethod(cus)!;
    const charge = () =>
      stripe.paymentIntents.create(
        {
          amount: 1000,
          currency: 'usd',
          customer: cus,
          payment_method: pm,
          off_session: true,
          confirm: true,
        },
        { idempotencyKey: `recharge-${cus}-1` },
      );
    const [a, b] = [await charge(), await charge()];
    expect(a.id).toBe(b.id);
    expect(a.status).toBe('succeeded');
    const listed = await stripe.paymentIntents.list({ customer: cus, limit: 100 });
    expect(listed.data).toHaveLength(2);
    fake.declineCard(cus, 'insufficient_funds');
    await expect(
      stripe.paymentIntents.create(
        {
          amount: 1000,
          currency: 'usd',
          customer: cus,
          payment_method: pm,
          off_session: true,
          confirm: true,
        },
        { idempotencyKey: `recharge-${cus}-2` },
      ),
    ).rejects.toMatchObject({ code: 'card_declined', decline_code: 'insufficient_funds' });
  });

  it("subscribes through the page: the platform's own Checkout, Pay, the webhook delivered to the platform", async () => {
    fake.deliverWebhooksTo((body, signature) =>
      h.call('/webhooks/stripe', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'stripe-signature': signature },
      }),
    );
    const owner = await newOwner(h);
    const res = await h.call('/account/billing/checkout', { key: owner.token, method: 'POST' });
    expect(res.status).toBe(201);
    const { url } = await json<{ url: string }>(res);
    expect(url.startsWith(`${fake.url}/checkout/pay/`)).toBe(true);
    const paid = await press(url, 'pay');
    expect(paid.status).toBe(303);
    expect(paid.headers.get('location')).toContain('checkout=success');
    expect(fake.deliveries.slice(-2).map((d) => [d.type, d.status])).toEqual([
      ['customer.subscription.created', 200],
      ['checkout.session.completed', 200],
    ]);
    const account = await h.stores.billing.getAccount(owner.tenantId);
    expect(account?.subscriptionId).toMatch(/^sub_/);
    expect((await h.stores.tenants.get(owner.tenantId))?.plan).toBe('payg');
  });
});
