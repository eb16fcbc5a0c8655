import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

/**
 * A local stand-in for the Stripe API, for tests: the real `stripe` SDK talks to it through its
 * `host`/`port`/`protocol` options. It implements the endpoints Tollgate calls, answers in
 * Stripe's JSON shapes (`object` fields, lists, `{error:{type,message,code}}`), keeps Stripe's
 * rules that matter here (Idempotency-Key replay and in-flight 409s, meter events deduplicated by
 * identifier, meters and customers that must exist), records every request, and fails, throttles
 * or stalls on demand.
 *
 * **Hosted Checkout.** A Checkout session's `url` is this server's own page,
 * `${fake.url}/checkout/pay/{session id}`: a small HTML page (no API key needed, as for Stripe's)
 * with a card number field (`#card`, prefilled with 4242 4242 4242 4242) and two buttons, Pay
 * (`#pay`) and Cancel (`#cancel`). Pay does what `payCheckout` does: it completes the session by its
 * mode (see `completeCheckout`), delivers the webhook events that produced, signed, to the target
 * set with `deliverWebhooksTo` (awaiting each answer; without a target they are only recorded in
 * `events`), then redirects (303) to the session's `success_url` (`{CHECKOUT_SESSION_ID}` replaced).
 * Cancel redirects to `cancel_url` and changes nothing. A session already completed shows a page
 * saying so and cannot be paid twice.
 *
 * **Cards.** The card number picks the outcome, as Stripe's test cards do:
 * - `4242 4242 4242 4242` (or any other number): succeeds;
 * - `4000 0000 0000 0341`: attaches to the customer (a setup succeeds) but every charge on it is
 *   declined (`card_declined`, decline code `generic_decline`);
 * - `4000 0000 0000 9995`: every charge is declined (`insufficient_funds`);
 * - `4000 0000 0000 0002`: every charge is declined (`generic_decline`).
 * A declined payment on the Checkout page shows the decline and leaves the session open.
 * `declineCard(customerId)` makes a customer's saved default card decline from then on.
 *
 * **Payments.** Payment mode makes a succeeded PaymentIntent with a Charge whose `receipt_url` is
 * served here (`${fake.url}/receipts/{charge id}`, HTML); with `payment_intent_data[setup_future_usage]`
 * the card is saved as the customer's default payment method
 * (`invoice_settings.default_payment_method`). Setup mode saves the card the same way.
 * `POST /v1/payment_intents` with `confirm=true` (off-session charges) succeeds or, for a
 * declining card, answers 402 `card_error` with the failed PaymentIntent and emits
 * `payment_intent.payment_failed`. Events the API's own calls produce are delivered after the
 * answer, as Stripe does; `webhooksDelivered()` waits for them.
 */

type Obj = Record<string, unknown>;

export interface RecordedRequest {
  method: string;
  path: string;
  query: Obj;
  body: Obj;
  idempotencyKey: string | undefined;
  status: number;
}

interface Fault {
  remaining: number;
  match: RegExp;
  status: number;
  /** Process the request first, then answer with the fault (the response was "lost"). */
  after: boolean;
  delayMs: number;
  retryAfter?: number;
}

export interface AcceptedMeterEvent {
  identifier: string;
  event_name: string;
  customer: string;
  value: number;
  timestamp: number;
}

/** Parses Stripe's form encoding: `a[b][0][c]=v` -> `{a:{b:[{c:'v'}]}}`. */
export function parseForm(text: string): Obj {
  const root: Obj = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const parts = rawKey.replace(/\]/g, '').split('[');
    let node: Obj | unknown[] = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const last = i === parts.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(parts[i + 1]!);
      const key: string | number = Array.isArray(node) ? Number(part) : part;
      const container = node as Record<string | number, unknown>;
      if (last) container[key] = value;
      else {
        container[key] ??= nextIsIndex ? [] : {};
        node = container[key] as Obj | unknown[];
      }
    }
  }
  return root;
}

/** Where the fake sends webhook events: a URL (POSTed like Stripe does) or a function (tests without a server). */
export type WebhookTarget = string | ((body: string, signature: string) => Promise<{ status: number }>);

/** Stripe's test cards that decline, by number: the decline code of every charge on them. */
const DECLINING_CARDS: Record<string, string> = {
  '4000000000000341': 'generic_decline',
  '4000000000009995': 'insufficient_funds',
  '4000000000000002': 'generic_decline',
};
/** Cards that decline at the first charge, including at Checkout (0341 attaches first, then declines). */
const DECLINE_AT_CHECKOUT = new Set(['4000000000009995', '4000000000000002']);

const html = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const id = (prefix: string) => `${prefix}_${randomBytes(10).toString('hex')}`;
const nowSec = () => Math.floor(Date.now() / 1000);

class CardDeclined extends Error {
  constructor(readonly declineCode: string) {
    super(
      declineCode === 'insufficient_funds' ? 'Your card has insufficient funds.' : 'Your card was declined.',
    );
  }
}

class StripeFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: Obj,
    readonly headers: Record<string, string> = {},
  ) {
    super(String((body.error as Obj)?.message));
  }
}

function invalid(message: string, extra: Obj = {}, status = 400): StripeFailure {
  return new StripeFailure(status, { error: { type: 'invalid_request_error', message, ...extra } });
}

function missing(what: string, value: string): StripeFailure {
  return invalid(`No such ${what}: '${value}'`, { code: 'resource_missing', param: 'id' }, 404);
}

/** Stripe's limit of items on a subscription (and of recurring prices in a subscription Checkout). */
export const MAX_SUBSCRIPTION_ITEMS = 20;

export class FakeStripe {
  readonly requests: RecordedRequest[] = [];
  readonly customers = new Map<string, Obj>();
  readonly meters = new Map<string, Obj>();
  readonly products = new Map<string, Obj>();
  readonly prices = new Map<string, Obj>();
  readonly sessions = new Map<string, Obj>();
  readonly subscriptions = new Map<string, Obj>();
  readonly invoices: Obj[] = [];
  readonly paymentIntents = new Map<string, Obj>();
  readonly charges = new Map<string, Obj>();
  readonly paymentMethods = new Map<string, Obj>();
  readonly setupIntents = new Map<string, Obj>();
  /** Every event the fake produced, oldest first, with what each delivery answered. */
  readonly events: Obj[] = [];
  readonly deliveries: { eventId: string; type: string; status: number }[] = [];
  /** Payment methods whose charges decline, with the decline code. */
  private readonly declining = new Map<string, string>();
  private webhookTarget: WebhookTarget | undefined;
  private readonly inFlightDeliveries = new Set<Promise<void>>();
  /** Accepted meter events, by identifier (a second one with the same identifier is refused). */
  readonly meterEvents = new Map<string, AcceptedMeterEvent>();
  readonly secretKey = `sk_test_${randomBytes(12).toString('hex')}`;
  readonly webhookSecret = `whsec_${randomBytes(16).toString('hex')}`;
  private readonly idempotency = new Map<
    string,
    { state: 'in_flight' | 'done'; status: number; body: Obj }
  >();
  /** How long each request takes to process (a little, so concurrent requests really overlap). */
  latencyMs = 5;
  private faults: Fault[] = [];
  private readonly sdk = new Stripe('sk_test_signing_only');

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeStripe> {
    let fake: FakeStripe | undefined;
    const server = createServer((req, res) => void fake!.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    fake = new FakeStripe(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return fake;
  }

  /** Config for a platform that talks to this fake. */
  env(): Record<string, string> {
    return {
      STRIPE_SECRET_KEY: this.secretKey,
      STRIPE_WEBHOOK_SECRET: this.webhookSecret,
      STRIPE_API_BASE: this.url,
      STRIPE_MAX_NETWORK_RETRIES: '0',
      STRIPE_TIMEOUT_MS: '2000',
    };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** The next `n` requests matching `path` fail with `status` (after being processed, with `after`). */
  failNext(n: number, status = 500, opts: { path?: RegExp; after?: boolean } = {}): void {
    this.faults.push({
      remaining: n,
      match: opts.path ?? /./,
      status,
      after: opts.after ?? false,
      delayMs: 0,
    });
  }

  /** The next `n` matching requests get 429, optionally with Retry-After. */
  throttle(n: number, opts: { path?: RegExp; retryAfterSeconds?: number } = {}): void {
    this.faults.push({
      remaining: n,
      match: opts.path ?? /./,
      status: 429,
      after: false,
      delayMs: 0,
      retryAfter: opts.retryAfterSeconds,
    });
  }

  /** The next `n` matching requests are processed, then answered only after `ms` (past the client's timeout). */
  delayNext(n: number, ms: number, opts: { path?: RegExp } = {}): void {
    this.faults.push({ remaining: n, match: opts.path ?? /./, status: 200, after: true, delayMs: ms });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Stripe keeps idempotency keys about 24 hours; this is "a day later". */
  forgetIdempotencyKeys(): void {
    this.idempotency.clear();
  }

  /** Sum of accepted meter event values per event name (optionally for one customer). */
  meterTotals(customerId?: string): Map<string, number> {
    const totals = new Map<string, number>();
    for (const e of this.meterEvents.values()) {
      if (customerId && e.customer !== customerId) continue;
      totals.set(e.event_name, (totals.get(e.event_name) ?? 0) + e.value);
    }
    return totals;
  }

  liveCustomers(): Obj[] {
    return [...this.customers.values()].filter((c) => !c.deleted);
  }

  /**
   * The customer pays at Checkout, without a browser: the session completes by its mode and the
   * events that produces are recorded in `events` (not delivered: the caller posts them, or uses
   * `payCheckout`). Subscription mode starts a subscription with the session's prices; payment
   * mode makes a succeeded PaymentIntent and its Charge (saving the card as the customer's default
   * with `setup_future_usage`); setup mode saves the card as the customer's default. Throws for a
   * card that declines (see the class comment), leaving the session open.
   */
  completeCheckout(sessionId: string, opts: { card?: string } = {}): Obj {
    return this.complete(sessionId, opts.card ?? '4242424242424242').session;
  }

  /** `completeCheckout`, then the events delivered to the webhook target (as the Pay button does). */
  async payCheckout(sessionId: string, opts: { card?: string } = {}): Promise<Obj> {
    const { session, events } = this.complete(sessionId, opts.card ?? '4242424242424242');
    for (const e of events) await this.deliver(e);
    return session;
  }

  /** Webhook events go to `target` from now on (undefined: only recorded in `events`). */
  deliverWebhooksTo(target: WebhookTarget | undefined): void {
    this.webhookTarget = target;
  }

  /** Sends a recorded event again (Stripe's retries, or a delivery that was held back). */
  async redeliver(eventId: string): Promise<number> {
    const event = this.events.find((e) => e.id === eventId);
    if (!event) throw new Error(`no event ${eventId}`);
    return this.deliver(event);
  }

  /** Waits until the events produced by API calls so far have been delivered. */
  async webhooksDelivered(): Promise<void> {
    while (this.inFlightDeliveries.size > 0) await Promise.all([...this.inFlightDeliveries]);
  }

  /** The recorded events of one type (optionally about one object id). */
  eventsOf(type: string, objectId?: string): Obj[] {
    return this.events.filter(
      (e) => e.type === type && (!objectId || ((e.data as Obj).object as Obj).id === objectId),
    );
  }

  /** The customer's default card declines every charge from now on (`decline_code`). */
  declineCard(customerId: string, declineCode = 'card_declined'): void {
    const pm = this.defaultPaymentMethod(customerId);
    if (!pm) throw new Error(`customer ${customerId} has no default payment method`);
    this.declining.set(pm, declineCode);
  }

  /** The customer's default payment method id, if any. */
  defaultPaymentMethod(customerId: string): string | undefined {
    const c = this.customers.get(customerId);
    return ((c?.invoice_settings as Obj | undefined)?.default_payment_method as string | null) ?? undefined;
  }

  private complete(sessionId: string, cardNumber: string): { session: Obj; events: Obj[] } {
    const session = this.sessions.get(sessionId);
    if (!session) throw new Error(`no session ${sessionId}`);
    if (session.status !== 'open') throw new Error(`session ${sessionId} is ${String(session.status)}`);
    const card = cardNumber.replace(/\D/g, '');
    const customer = (session.customer as string | null) ?? null;
    const events: Obj[] = [];
    if (session.mode === 'payment') {
      if (DECLINE_AT_CHECKOUT.has(card)) throw new CardDeclined(DECLINING_CARDS[card]!);
      const pid = (session.payment_intent_data as Obj | undefined) ?? {};
      const pm = this.makePaymentMethod(card, customer);
      const save = Boolean(pid.setup_future_usage) && customer;
      if (save) this.setDefault(customer, pm.id as string);
      const { intent, charge } = this.makePayment({
        amount: session.amount_total as number,
        currency: session.currency as string,
        customer,
        paymentMethod: pm.id as string,
        metadata: (pid.metadata as Obj | undefined) ?? {},
        description: (pid.description as string | undefined) ?? null,
        setupFutureUsage: (pid.setup_future_usage as string | undefined) ?? null,
        offSession: false,
      });
      Object.assign(session, { status: 'complete', payment_status: 'paid', payment_intent: intent.id });
      events.push(
        this.record('payment_intent.succeeded', intent),
        this.record('charge.succeeded', charge!),
        this.record('checkout.session.completed', session),
      );
    } else if (session.mode === 'setup') {
      if (DECLINE_AT_CHECKOUT.has(card)) throw new CardDeclined(DECLINING_CARDS[card]!);
      const pm = this.makePaymentMethod(card, customer);
      if (customer) this.setDefault(customer, pm.id as string);
      const setup = {
        id: id('seti'),
        object: 'setup_intent',
        status: 'succeeded',
        customer,
        payment_method: pm.id,
        usage: 'off_session',
        metadata: ((session.setup_intent_data as Obj | undefined)?.metadata as Obj | undefined) ?? {},
        created: nowSec(),
        livemode: false,
      };
      this.setupIntents.set(setup.id, setup);
      Object.assign(session, {
        status: 'complete',
        payment_status: 'no_payment_required',
        setup_intent: setup.id,
      });
      events.push(
        this.record('setup_intent.succeeded', setup),
        this.record('checkout.session.completed', session),
      );
    } else {
      if (DECLINE_AT_CHECKOUT.has(card)) throw new CardDeclined(DECLINING_CARDS[card]!);
      if (customer) this.setDefault(customer, this.makePaymentMethod(card, customer).id as string);
      const subscription = this.makeSubscription(
        customer as string,
        ((session.line_items as { price?: string }[]) ?? []).flatMap((l) => (l.price ? [l.price] : [])),
        (session.subscription_data as Obj | undefined)?.metadata as Obj | undefined,
      );
      Object.assign(session, { status: 'complete', payment_status: 'paid', subscription: subscription.id });
      events.push(
        this.record('customer.subscription.created', subscription),
        this.record('checkout.session.completed', session),
      );
    }
    return { session, events };
  }

  private makePaymentMethod(card: string, customer: string | null): Obj {
    const pm = {
      id: id('pm'),
      object: 'payment_method',
      type: 'card',
      customer,
      card: {
        brand: 'visa',
        last4: card.slice(-4).padStart(4, '0'),
        exp_month: 12,
        exp_year: 2034,
        funding: 'credit',
      },
      created: nowSec(),
      livemode: false,
    };
    this.paymentMethods.set(pm.id, pm);
    const decline = DECLINING_CARDS[card];
    if (decline) this.declining.set(pm.id, decline);
    return pm;
  }

  private setDefault(customerId: string, paymentMethod: string): void {
    const c = this.customers.get(customerId);
    if (!c) return;
    c.invoice_settings = {
      ...((c.invoice_settings as Obj | undefined) ?? {}),
      default_payment_method: paymentMethod,
    };
  }

  /** A PaymentIntent (and its Charge when it succeeds), or a failed one for a declining card. */
  private makePayment(input: {
    amount: number;
    currency: string;
    customer: string | null;
    paymentMethod: string;
    metadata: Obj;
    description: string | null;
    setupFutureUsage: string | null;
    offSession: boolean;
  }): { intent: Obj; charge?: Obj; declineCode?: string } {
    const created = nowSec();
    const intent: Obj = {
      id: id('pi'),
      object: 'payment_intent',
      amount: input.amount,
      amount_received: 0,
      currency: input.currency,
      customer: input.customer,
      description: input.description,
      metadata: input.metadata,
      payment_method: input.paymentMethod,
      setup_future_usage: input.setupFutureUsage,
      status: 'requires_payment_method',
      latest_charge: null,
      last_payment_error: null,
      created,
      livemode: false,
    };
    this.paymentIntents.set(intent.id as string, intent);
    const declineCode = this.declining.get(input.paymentMethod);
    if (declineCode) {
      const message =
        declineCode === 'insufficient_funds'
          ? 'Your card has insufficient funds.'
          : 'Your card was declined.';
      intent.last_payment_error = {
        type: 'card_error',
        code: 'card_declined',
        decline_code: declineCode,
        message,
        payment_method: this.paymentMethods.get(input.paymentMethod),
      };
      return { intent, declineCode };
    }
    const chargeId = id('ch');
    const charge = {
      id: chargeId,
      object: 'charge',
      amount: input.amount,
      amount_captured: input.amount,
      amount_refunded: 0,
      currency: input.currency,
      customer: input.customer,
      description: input.description,
      metadata: input.metadata,
      paid: true,
      captured: true,
      status: 'succeeded',
      payment_intent: intent.id,
      payment_method: input.paymentMethod,
      payment_method_details: {
        type: 'card',
        card: (this.paymentMethods.get(input.paymentMethod) as Obj)?.card,
      },
      receipt_url: `${this.url}/receipts/${chargeId}`,
      created,
      livemode: false,
    };
    this.charges.set(chargeId, charge);
    Object.assign(intent, { status: 'succeeded', amount_received: input.amount, latest_charge: chargeId });
    return { intent, charge };
  }

  /** Records an event (a snapshot of the object, as Stripe's payloads are). */
  private record(type: string, object: Obj): Obj {
    const e = this.event(type, structuredClone(object));
    this.events.push(e);
    return e;
  }

  /** Delivers an event to the target, signed; answers the target's status (0: none set or unreachable). */
  private async deliver(event: Obj): Promise<number> {
    const target = this.webhookTarget;
    if (!target) return 0;
    const body = JSON.stringify(event);
    const signature = this.sign(body);
    let status = 0;
    try {
      if (typeof target === 'string') {
        const res = await fetch(target, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature },
        });
        await res.arrayBuffer();
        status = res.status;
      } else status = (await target(body, signature)).status;
    } catch {
      status = 0;
    }
    this.deliveries.push({ eventId: event.id as string, type: event.type as string, status });
    return status;
  }

  /** Events an API call produced: delivered after its answer, in order. */
  private deliverLater(events: Obj[]): void {
    const p: Promise<void> = new Promise<void>((r) => setImmediate(r))
      .then(async () => {
        for (const e of events) await this.deliver(e);
      })
      .finally(() => this.inFlightDeliveries.delete(p));
    this.inFlightDeliveries.add(p);
  }

  /** An invoice for a customer, as the portal and `GET /account/billing` list them. */
  addInvoice(customer: string, opts: { totalCents: number; status?: string }): Obj {
    const created = nowSec();
    const invoice = {
      id: id('in'),
      object: 'invoice',
      customer,
      number: `TG-${this.invoices.length + 1}`,
      status: opts.status ?? 'paid',
      currency: 'usd',
      total: opts.totalCents,
      amount_due: opts.totalCents,
      period_start: created - 30 * 86_400,
      period_end: created,
      created,
      hosted_invoice_url: `https://invoice.stripe.test/i/${created}`,
      invoice_pdf: `https://invoice.stripe.test/i/${created}/pdf`,
      livemode: false,
    };
    this.invoices.push(invoice);
    return invoice;
  }

  /** A webhook event in Stripe's shape. */
  event(type: string, object: Obj, created = nowSec()): Obj {
    return {
      id: id('evt'),
      object: 'event',
      api_version: '2026-10-28.endive',
      created,
      type,
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      data: { object },
    };
  }

  /** The `Stripe-Signature` header for a payload, signed like Stripe does (at `timestamp`, seconds). */
  sign(payload: string, opts: { timestamp?: number; secret?: string } = {}): string {
    return this.sdk.webhooks.generateTestHeaderString({
      payload,
      secret: opts.secret ?? this.webhookSecret,
      ...(opts.timestamp !== undefined ? { timestamp: opts.timestamp } : {}),
    });
  }

  private makeSubscription(customer: string, priceIds: string[], metadata: Obj = {}): Obj {
    const subId = id('sub');
    const subscription: Obj = {
      id: subId,
      object: 'subscription',
      customer,
      status: 'active',
      metadata,
      cancel_at_period_end: false,
      created: nowSec(),
      items: {
        object: 'list',
        data: priceIds.map((p) => ({
          id: id('si'),
          object: 'subscription_item',
          subscription: subId,
          price: this.prices.get(p),
        })),
        has_more: false,
        url: `/v1/subscription_items?subscription=${subId}`,
      },
    };
    this.subscriptions.set(subId, subscription);
    return subscription;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    if (path.startsWith('/checkout/') || path.startsWith('/receipts/')) {
      await this.page(method, path, Buffer.concat(chunks).toString('utf8'), res);
      return;
    }
    const body = parseForm(Buffer.concat(chunks).toString('utf8'));
    const query = parseForm(url.searchParams.toString());
    const idempotencyKey = req.headers['idempotency-key'] as string | undefined;
    const record: RecordedRequest = { method, path, query, body, idempotencyKey, status: 0 };
    this.requests.push(record);
    const send = (status: number, payload: Obj, headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': id('req'), ...headers });
      res.end(JSON.stringify(payload));
    };

    if (req.headers.authorization !== `Bearer ${this.secretKey}`) {
      send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
      return;
    }
    const fault = this.faults.find((f) => f.remaining > 0 && f.match.test(`${method} ${path}`));
    if (fault) fault.remaining--;
    if (fault && !fault.after) {
      const headers: Record<string, string> =
        fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
      send(
        fault.status,
        {
          error: {
            type: fault.status === 429 ? 'invalid_request_error' : 'api_error',
            code: fault.status === 429 ? 'rate_limit' : undefined,
            message:
              fault.status === 429
                ? 'Too many requests hit the API too quickly.'
                : 'An unknown error occurred',
          },
        },
        headers,
      );
      return;
    }

    let status = 200;
    let payload: Obj;
    let headers: Record<string, string> = {};
    const cached = method === 'POST' && idempotencyKey ? this.idempotency.get(idempotencyKey) : undefined;
    if (cached?.state === 'in_flight') {
      send(409, {
        error: {
          type: 'idempotency_error',
          message:
            'There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): retry later.',
        },
      });
      return;
    }
    if (cached?.state === 'done') {
      status = cached.status;
      payload = cached.body;
      headers = { 'idempotent-replayed': 'true' };
    } else {
      if (method === 'POST' && idempotencyKey) {
        this.idempotency.set(idempotencyKey, { state: 'in_flight', status: 0, body: {} });
      }
      try {
        await new Promise((r) => setTimeout(r, this.latencyMs));
        payload = this.route(method, path, query, body);
      } catch (err) {
        if (!(err instanceof StripeFailure)) throw err;
        status = err.status;
        payload = err.body;
        headers = err.headers;
      }
      if (method === 'POST' && idempotencyKey) {
        // Stripe keeps the answer of a request that ran (success or a 4xx), not of a 5xx.
        if (status < 500) this.idempotency.set(idempotencyKey, { state: 'done', status, body: payload });
        else this.idempotency.delete(idempotencyKey);
      }
    }
    if (fault?.after) {
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      else {
        send(fault.status, { error: { type: 'api_error', message: 'An unknown error occurred' } });
        return;
      }
    }
    if (res.destroyed) return;
    send(status, payload, headers);
  }

  /** The hosted pages: Checkout (Pay / Cancel) and charge receipts. */
  private async page(method: string, path: string, form: string, res: ServerResponse): Promise<void> {
    const reply = (status: number, title: string, inner: string) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><html><head><meta charset="utf-8"><title>${html(title)}</title></head>` +
          `<body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">${inner}</body></html>`,
      );
    };
    const redirect = (to: string) => {
      res.writeHead(303, { location: to });
      res.end();
    };
    const receipt = /^\/receipts\/([\w]+)$/.exec(path);
    if (receipt) {
      const charge = this.charges.get(receipt[1]!);
      if (!charge) return reply(404, 'Not found', '<h1>No such receipt</h1>');
      const card = ((charge.payment_method_details as Obj | undefined)?.card as Obj | undefined) ?? {};
      return reply(
        200,
        'Receipt',
        `<h1>Receipt</h1><p id="amount">Amount paid: $${((charge.amount as number) / 100).toFixed(2)} ${html(
          String(charge.currency).toUpperCase(),
        )}</p><p>Date paid: ${new Date((charge.created as number) * 1000).toISOString()}</p>` +
          `<p>Payment method: ${html(String(card.brand ?? 'card'))} ending ${html(String(card.last4 ?? ''))}</p>` +
          `<p>Receipt for ${html(charge.id as string)}</p>`,
      );
    }
    const m = /^\/checkout\/pay\/([\w]+)(?:\/(pay|cancel))?$/.exec(path);
    const session = m ? this.sessions.get(m[1]!) : undefined;
    if (!m || !session) return reply(404, 'Not found', '<h1>This Checkout session does not exist</h1>');
    const action = m[2];
    if (session.status !== 'open') {
      return reply(
        action ? 409 : 200,
        'Checkout',
        '<h1>This Checkout session is no longer available</h1><p id="status">It was already completed.</p>',
      );
    }
    if (method === 'POST' && action === 'cancel') return redirect(session.cancel_url as string);
    let error = '';
    if (method === 'POST' && action === 'pay') {
      const card = new URLSearchParams(form).get('card') ?? '4242424242424242';
      try {
        await this.payCheckout(session.id as string, { card });
        return redirect(String(session.success_url).replace('{CHECKOUT_SESSION_ID}', session.id as string));
      } catch (err) {
        if (!(err instanceof CardDeclined)) throw err;
        error = err.message;
      }
    }
    const total =
      session.mode === 'payment'
        ? `<p id="total">Total due: $${((session.amount_total as number) / 100).toFixed(2)} ${html(
            String(session.currency).toUpperCase(),
          )}</p><ul>${((session.line_items as Obj[]) ?? [])
            .map(
              (l) =>
                `<li>${html(String(((l.price_data as Obj)?.product_data as Obj)?.name ?? l.price))}</li>`,
            )
            .join('')}</ul>`
        : session.mode === 'setup'
          ? '<p id="total">Save a card for future payments.</p>'
          : '<p id="total">Start a subscription.</p>';
    reply(
      error ? 402 : 200,
      'Checkout',
      `<h1>Checkout (test mode)</h1>${total}` +
        (error ? `<p id="error" role="alert">${html(error)}</p>` : '') +
        `<form method="post" action="/checkout/pay/${html(session.id as string)}/pay">` +
        '<label>Card number <input id="card" name="card" value="4242 4242 4242 4242"></label> ' +
        '<button id="pay" type="submit">Pay</button></form>' +
        `<form method="post" action="/checkout/pay/${html(session.id as string)}/cancel">` +
        '<button id="cancel" type="submit">Cancel</button></form>',
    );
  }

  private expand(object: Obj, query: Obj): Obj {
    const fields = (query.expand as string[] | undefined) ?? [];
    if (fields.length === 0) return object;
    const out = structuredClone(object);
    for (const f of fields) {
      if (f === 'latest_charge' && typeof out.latest_charge === 'string')
        out.latest_charge = this.charges.get(out.latest_charge) ?? out.latest_charge;
      if (f === 'payment_intent' && typeof out.payment_intent === 'string')
        out.payment_intent = this.paymentIntents.get(out.payment_intent) ?? out.payment_intent;
      if (f === 'payment_method' && typeof out.payment_method === 'string')
        out.payment_method = this.paymentMethods.get(out.payment_method) ?? out.payment_method;
      if (f === 'invoice_settings.default_payment_method') {
        const settings = out.invoice_settings as Obj | undefined;
        if (typeof settings?.default_payment_method === 'string')
          settings.default_payment_method =
            this.paymentMethods.get(settings.default_payment_method) ?? settings.default_payment_method;
      }
    }
    return out;
  }

  private paymentIntentsRoute(method: string, seg: string[], query: Obj, body: Obj): Obj {
    if (method === 'GET' && !seg[2]) {
      const created = (query.created as Obj | undefined) ?? {};
      const all = [...this.paymentIntents.values()]
        .filter(
          (p) =>
            (!query.customer || p.customer === query.customer) &&
            (created.gte === undefined || (p.created as number) >= Number(created.gte)) &&
            (created.gt === undefined || (p.created as number) > Number(created.gt)) &&
            (created.lte === undefined || (p.created as number) <= Number(created.lte)) &&
            (created.lt === undefined || (p.created as number) < Number(created.lt)),
        )
        .reverse();
      const listed = this.list('/v1/payment_intents', all, query);
      return { ...listed, data: (listed.data as Obj[]).map((p) => this.expand(p, subExpand(query))) };
    }
    if (method === 'POST' && !seg[2]) {
      const amount = Number(body.amount);
      if (!Number.isInteger(amount) || amount < 50)
        throw invalid('Amount must be at least $0.50 usd', { param: 'amount', code: 'amount_too_small' });
      if (typeof body.currency !== 'string')
        throw invalid('Missing required param: currency.', { param: 'currency' });
      const customer = (body.customer as string | undefined) ?? null;
      if (customer && (!this.customers.get(customer) || this.customers.get(customer)!.deleted))
        throw missing('customer', customer);
      const paymentMethod = body.payment_method as string | undefined;
      if (paymentMethod && !this.paymentMethods.has(paymentMethod))
        throw missing('payment_method', paymentMethod);
      if (body.confirm !== 'true' || !paymentMethod) {
        throw invalid('The fake supports only confirmed PaymentIntents with a payment_method.', {
          param: 'payment_method',
        });
      }
      const made = this.makePayment({
        amount,
        currency: body.currency,
        customer,
        paymentMethod,
        metadata: (body.metadata as Obj | undefined) ?? {},
        description: (body.description as string | undefined) ?? null,
        setupFutureUsage: null,
        offSession: body.off_session === 'true',
      });
      if (made.declineCode) {
        this.deliverLater([this.record('payment_intent.payment_failed', made.intent)]);
        const err = made.intent.last_payment_error as Obj;
        throw new StripeFailure(402, {
          error: {
            type: 'card_error',
            code: 'card_declined',
            decline_code: made.declineCode,
            message: err.message,
            payment_intent: made.intent,
            payment_method: err.payment_method,
          },
        });
      }
      this.deliverLater([
        this.record('payment_intent.succeeded', made.intent),
        this.record('charge.succeeded', made.charge!),
      ]);
      return this.expand(made.intent, query);
    }
    const intent = this.paymentIntents.get(seg[2] ?? '');
    if (!intent) throw missing('payment_intent', seg[2] ?? '');
    return this.expand(intent, query);
  }

  private route(method: string, path: string, query: Obj, body: Obj): Obj {
    const seg = path.split('/').filter(Boolean);
    const key = `${method} /${seg.slice(0, 3).join('/')}`;
    if (method === 'POST' && path === '/v1/customers') {
      const customer = {
        id: id('cus'),
        object: 'customer',
        created: nowSec(),
        name: body.name ?? null,
        email: body.email ?? null,
        metadata: body.metadata ?? {},
        livemode: false,
      };
      this.customers.set(customer.id, customer);
      return customer;
    }
    if (seg[0] === 'v1' && seg[1] === 'customers' && seg[2]) {
      const c = this.customers.get(seg[2]);
      if (!c || c.deleted) throw missing('customer', seg[2]);
      if (method === 'DELETE') {
        c.deleted = true;
        return { id: c.id, object: 'customer', deleted: true };
      }
      if (method === 'POST') {
        for (const k of ['name', 'email'] as const) if (body[k] !== undefined) c[k] = body[k];
        if (body.metadata) c.metadata = { ...(c.metadata as Obj), ...(body.metadata as Obj) };
        const settings = body.invoice_settings as Obj | undefined;
        if (settings?.default_payment_method !== undefined) {
          const pm = settings.default_payment_method as string;
          if (pm && !this.paymentMethods.has(pm)) throw missing('payment_method', pm);
          this.setDefault(c.id as string, pm);
        }
      }
      return this.expand(c, query);
    }
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      const customer = (body.customer as string | undefined) ?? null;
      if (customer && (!this.customers.get(customer) || this.customers.get(customer)!.deleted))
        throw missing('customer', customer);
      const mode = body.mode as string;
      if (!['subscription', 'payment', 'setup'].includes(mode))
        throw invalid(`Invalid mode: ${String(mode)}`, { param: 'mode' });
      let amountTotal = 0;
      let currency: string | null = (body.currency as string | undefined) ?? null;
      // Stripe: a subscription-mode session takes at most 20 line items with recurring prices.
      if (mode === 'subscription' && ((body.line_items as Obj[]) ?? []).length > MAX_SUBSCRIPTION_ITEMS)
        throw invalid(
          `A Checkout Session in subscription mode can have at most ${MAX_SUBSCRIPTION_ITEMS} line items with recurring prices.`,
          { param: 'line_items' },
        );
      for (const [i, item] of ((body.line_items as Obj[]) ?? []).entries()) {
        const quantity = Number(item.quantity ?? 1);
        if (item.price !== undefined) {
          const price = this.prices.get(item.price as string);
          if (!price) throw missing('price', item.price as string);
          currency ??= price.currency as string;
          continue;
        }
        const data = item.price_data as Obj | undefined;
        const unit = Number(data?.unit_amount);
        if (!data || !Number.isInteger(unit) || unit < 0 || typeof data.currency !== 'string')
          throw invalid('Each line item needs a price or price_data with currency and unit_amount.', {
            param: `line_items[${i}]`,
          });
        if (!(data.product_data as Obj | undefined)?.name && !data.product)
          throw invalid('price_data needs product or product_data[name].', {
            param: `line_items[${i}][price_data]`,
          });
        if (mode !== 'payment' && !data.recurring)
          throw invalid('price_data without recurring is only for payment mode.', {
            param: `line_items[${i}]`,
          });
        currency ??= data.currency;
        amountTotal += unit * quantity;
      }
      if (mode === 'payment' && amountTotal < 50)
        throw invalid("The Checkout Session's total amount due must add up to at least $0.50 usd", {
          param: 'line_items',
        });
      const sid = id('cs_test');
      const session = {
        id: sid,
        object: 'checkout.session',
        mode,
        status: 'open',
        customer,
        client_reference_id: body.client_reference_id ?? null,
        metadata: body.metadata ?? {},
        subscription: null,
        payment_intent: null,
        setup_intent: null,
        payment_status: mode === 'setup' ? 'no_payment_required' : 'unpaid',
        amount_total: mode === 'payment' ? amountTotal : null,
        currency: mode === 'setup' ? null : currency,
        success_url: body.success_url,
        cancel_url: body.cancel_url,
        line_items: body.line_items,
        subscription_data: body.subscription_data,
        payment_intent_data: body.payment_intent_data,
        setup_intent_data: body.setup_intent_data,
        created: nowSec(),
        url: `${this.url}/checkout/pay/${sid}`,
        livemode: false,
      };
      this.sessions.set(sid, session);
      return session;
    }
    if (method === 'GET' && seg[1] === 'checkout' && seg[2] === 'sessions' && seg[3]) {
      const session = this.sessions.get(seg[3]);
      if (!session) throw missing('checkout.session', seg[3]);
      return this.expand(session, query);
    }
    if (seg[1] === 'payment_intents') return this.paymentIntentsRoute(method, seg, query, body);
    if (method === 'GET' && seg[1] === 'charges' && seg[2]) {
      const charge = this.charges.get(seg[2]);
      if (!charge) throw missing('charge', seg[2]);
      return this.expand(charge, query);
    }
    if (method === 'GET' && seg[1] === 'payment_methods' && seg[2]) {
      const pm = this.paymentMethods.get(seg[2]);
      if (!pm) throw missing('payment_method', seg[2]);
      return pm;
    }
    if (method === 'POST' && path === '/v1/billing_portal/sessions') {
      const customer = body.customer as string;
      if (!this.customers.has(customer)) throw missing('customer', customer);
      const pid = id('bps');
      return {
        id: pid,
        object: 'billing_portal.session',
        customer,
        return_url: body.return_url,
        url: `https://billing.stripe.test/p/session/${pid}`,
        livemode: false,
      };
    }
    if (key === 'GET /v1/billing/meters') return this.list(path, [...this.meters.values()], query);
    if (method === 'POST' && path === '/v1/billing/meters') {
      if ([...this.meters.values()].some((m) => m.event_name === body.event_name && m.status === 'active')) {
        throw invalid(`A meter with event_name ${String(body.event_name)} already exists.`);
      }
      const meter = {
        id: id('mtr'),
        object: 'billing.meter',
        created: nowSec(),
        updated: nowSec(),
        display_name: body.display_name,
        event_name: body.event_name,
        event_time_window: null,
        status: 'active',
        status_transitions: { deactivated_at: null },
        default_aggregation: body.default_aggregation,
        customer_mapping: body.customer_mapping,
        value_settings: body.value_settings,
        livemode: false,
      };
      this.meters.set(meter.id, meter);
      return meter;
    }
    if (method === 'POST' && seg[1] === 'billing' && seg[2] === 'meters' && seg[3]) {
      const meter = this.meters.get(seg[3]);
      if (!meter) throw missing('billing.meter', seg[3]);
      if (seg[4] === 'reactivate') meter.status = 'active';
      if (body.display_name) meter.display_name = body.display_name;
      return meter;
    }
    if (method === 'POST' && path === '/v1/billing/meter_events') return this.meterEvent(body);
    if (seg[1] === 'products') {
      if (method === 'POST' && !seg[2]) {
        const pid = (body.id as string) ?? id('prod');
        if (this.products.has(pid))
          throw invalid(`Product already exists.`, { code: 'resource_already_exists' });
        const product = {
          id: pid,
          object: 'product',
          active: true,
          name: body.name,
          metadata: body.metadata ?? {},
          created: nowSec(),
          livemode: false,
        };
        this.products.set(pid, product);
        return product;
      }
      const product = this.products.get(seg[2] ?? '');
      if (!product) throw missing('product', seg[2] ?? '');
      if (method === 'POST') {
        if (body.name) product.name = body.name;
        if (body.active !== undefined) product.active = body.active === 'true';
      }
      return product;
    }
    if (seg[1] === 'prices') {
      if (method === 'GET' && !seg[2]) {
        const keys = (query.lookup_keys as string[] | undefined) ?? [];
        const active = query.active === undefined ? undefined : query.active === 'true';
        return this.list(
          path,
          [...this.prices.values()].filter(
            (p) =>
              (keys.length === 0 || keys.includes(p.lookup_key as string)) &&
              (active === undefined || p.active === active),
          ),
          query,
        );
      }
      if (method === 'POST' && !seg[2]) return this.createPrice(body);
      const price = this.prices.get(seg[2] ?? '');
      if (!price) throw missing('price', seg[2] ?? '');
      return price;
    }
    const finance = this.financeRoute(method, seg, query, body);
    if (finance) return finance;
    if (key === 'GET /v1/invoices') {
      return this.list(
        path,
        this.invoices.filter((i) => !query.customer || i.customer === query.customer).reverse(),
        query,
      );
    }
    if (seg[1] === 'subscriptions' && seg[2]) {
      const sub = this.subscriptions.get(seg[2]);
      if (!sub) throw missing('subscription', seg[2]);
      if (method === 'DELETE') {
        if (sub.status === 'canceled') throw invalid('This subscription is already canceled.');
        sub.status = 'canceled';
      }
      if (method === 'POST') {
        if (sub.status === 'canceled') {
          throw invalid('A canceled subscription can only update its cancellation_details and metadata.');
        }
        if (body.metadata) sub.metadata = { ...(sub.metadata as Obj), ...(body.metadata as Obj) };
        if (body.cancel_at_period_end !== undefined) {
          sub.cancel_at_period_end = body.cancel_at_period_end === 'true';
        }
        if (body.description !== undefined) sub.description = body.description;
        this.deliverLater([this.record('customer.subscription.updated', sub)]);
      }
      return sub;
    }
    if (seg[1] === 'subscription_items' && method === 'POST') {
      if (!seg[2]) {
        const sub = this.subscriptions.get(body.subscription as string);
        if (!sub) throw missing('subscription', body.subscription as string);
        // Stripe: a subscription holds at most 20 items.
        if (((sub.items as Obj).data as Obj[]).length >= MAX_SUBSCRIPTION_ITEMS)
          throw invalid(`A subscription can have at most ${MAX_SUBSCRIPTION_ITEMS} items.`, {
            param: 'price',
          });
        const item = {
          id: id('si'),
          object: 'subscription_item',
          subscription: sub.id,
          price: this.prices.get(body.price as string),
        };
        ((sub.items as Obj).data as Obj[]).push(item);
        return item;
      }
      for (const sub of this.subscriptions.values()) {
        const item = ((sub.items as Obj).data as Obj[]).find((i) => i.id === seg[2]);
        if (item) {
          item.price = this.prices.get(body.price as string);
          return item;
        }
      }
      throw missing('subscription_item', seg[2]);
    }
    throw invalid(`Unrecognized request URL (${method}: ${path}).`, {}, 404);
  }

  // ---- Operator finance: invoices across customers, payments, refunds, credit notes ----------

  readonly refunds: Obj[] = [];
  readonly creditNotes: Obj[] = [];
  /** What refunds and credit notes are dated (seconds): a test whose platform clock is moved moves this too. */
  financeClock: () => number = nowSec;

  /**
   * An invoice in full (amounts paid and remaining, due date, a subscription parent), `created` and
   * its period given in seconds. A paid invoice gets a succeeded payment intent (`payment_intent`
   * on the returned object, as a test reads it; Stripe lists it among the invoice's payments).
   */
  addFinanceInvoice(
    customer: string,
    opts: {
      totalCents: number;
      status: 'draft' | 'open' | 'paid' | 'uncollectible' | 'void';
      created: number;
      periodStart?: number;
      periodEnd?: number;
      dueDate?: number | null;
      subscription?: string | null;
      currency?: string;
    },
  ): Obj {
    const paid = opts.status === 'paid' ? opts.totalCents : 0;
    const remaining = opts.status === 'open' || opts.status === 'uncollectible' ? opts.totalCents : 0;
    const invoiceId = id('in');
    const invoice: Obj = {
      id: invoiceId,
      object: 'invoice',
      customer,
      number: `TG-${this.invoices.length + 1}`,
      status: opts.status,
      currency: opts.currency ?? 'usd',
      total: opts.totalCents,
      amount_due: opts.totalCents,
      amount_paid: paid,
      amount_remaining: remaining,
      pre_payment_credit_notes_amount: 0,
      post_payment_credit_notes_amount: 0,
      period_start: opts.periodStart ?? opts.created - 30 * 86_400,
      period_end: opts.periodEnd ?? opts.created,
      created: opts.created,
      due_date: opts.dueDate ?? null,
      parent:
        opts.subscription === null
          ? null
          : {
              type: 'subscription_details',
              quote_details: null,
              subscription_details: { subscription: opts.subscription ?? id('sub'), metadata: {} },
            },
      hosted_invoice_url: `https://invoice.stripe.test/i/${invoiceId}`,
      invoice_pdf: `https://invoice.stripe.test/i/${invoiceId}/pdf`,
      livemode: false,
    };
    this.invoices.push(invoice);
    if (opts.status === 'paid') {
      const pi = this.addPayment(customer, opts.totalCents, {
        created: opts.created,
        currency: opts.currency,
      });
      return { ...invoice, payment_intent: pi.id };
    }
    return invoice;
  }

  /** A succeeded payment made directly (an invoice's, or a top-up's in a test with no Checkout), `created` in seconds. */
  addPayment(customer: string, amountCents: number, opts: { created?: number; currency?: string } = {}): Obj {
    const pi: Obj = {
      id: id('pi'),
      object: 'payment_intent',
      customer,
      amount: amountCents,
      amount_received: amountCents,
      currency: opts.currency ?? 'usd',
      status: 'succeeded',
      created: opts.created ?? nowSec(),
      livemode: false,
    };
    this.paymentIntents.set(pi.id as string, pi);
    return pi;
  }

  private refundedOf(paymentIntent: string): number {
    return this.refunds
      .filter((r) => r.payment_intent === paymentIntent && r.status !== 'failed' && r.status !== 'canceled')
      .reduce((sum, r) => sum + (r.amount as number), 0);
  }

  /** `gte`/`gt`/`lte`/`lt` of a `created` filter (or an exact value). */
  private static inCreated(created: number, filter: unknown): boolean {
    if (filter === undefined) return true;
    if (typeof filter === 'string') return created === Number(filter);
    const f = filter as Record<string, string>;
    return (
      (f.gte === undefined || created >= Number(f.gte)) &&
      (f.gt === undefined || created > Number(f.gt)) &&
      (f.lte === undefined || created <= Number(f.lte)) &&
      (f.lt === undefined || created < Number(f.lt))
    );
  }

  /** Newest first, like Stripe's lists (ties: the later made first). */
  private static newestFirst(all: Obj[]): Obj[] {
    return all
      .map((o, i) => ({ o, i }))
      .sort((a, b) => (b.o.created as number) - (a.o.created as number) || b.i - a.i)
      .map((x) => x.o);
  }

  private financeRoute(method: string, seg: string[], query: Obj, body: Obj): Obj | undefined {
    const path = `/${seg.join('/')}`;
    if (method === 'GET' && path === '/v1/invoices' && !query.customer) {
      return this.list(
        path,
        FakeStripe.newestFirst(
          this.invoices.filter(
            (i) =>
              FakeStripe.inCreated(i.created as number, query.created) &&
              (!query.status || i.status === query.status),
          ),
        ),
        query,
      );
    }
    if (method === 'GET' && seg[1] === 'invoices' && seg[2] && !seg[3]) {
      const invoice = this.invoices.find((i) => i.id === seg[2]);
      if (!invoice) throw missing('invoice', seg[2]);
      return invoice;
    }
    if (seg[1] === 'refunds' && !seg[2]) {
      if (method === 'GET') {
        return this.list(
          path,
          FakeStripe.newestFirst(
            this.refunds.filter(
              (r) =>
                FakeStripe.inCreated(r.created as number, query.created) &&
                (!query.payment_intent || r.payment_intent === query.payment_intent) &&
                (!query.charge || r.charge === query.charge),
            ),
          ),
          query,
        );
      }
      const pi = this.paymentIntents.get(body.payment_intent as string);
      if (!pi) throw missing('payment_intent', String(body.payment_intent));
      const left = (pi.amount_received as number) - this.refundedOf(pi.id as string);
      const amount = body.amount === undefined ? left : Number(body.amount);
      if (!Number.isInteger(amount) || amount < 1)
        throw invalid('Invalid positive integer', { param: 'amount' });
      if (amount > left) {
        throw invalid(
          `Refund amount ($${(amount / 100).toFixed(2)}) is greater than unrefunded amount on charge ($${(left / 100).toFixed(2)})`,
          { code: 'amount_too_large', param: 'amount' },
        );
      }
      const charge = typeof pi.latest_charge === 'string' ? this.charges.get(pi.latest_charge) : undefined;
      if (charge) {
        charge.amount_refunded = (charge.amount_refunded as number) + amount;
        charge.refunded = charge.amount_refunded === charge.amount_captured;
      }
      const refund: Obj = {
        id: id('re'),
        object: 'refund',
        amount,
        currency: pi.currency,
        payment_intent: pi.id,
        charge: charge?.id ?? null,
        reason: body.reason ?? null,
        metadata: body.metadata ?? {},
        status: 'succeeded',
        created: this.financeClock(),
      };
      this.refunds.push(refund);
      return refund;
    }
    if (seg[1] === 'credit_notes' && !seg[2]) {
      if (method === 'GET') {
        return this.list(
          path,
          FakeStripe.newestFirst(
            this.creditNotes.filter(
              (n) =>
                FakeStripe.inCreated(n.created as number, query.created) &&
                (!query.invoice || n.invoice === query.invoice) &&
                (!query.customer || n.customer === query.customer),
            ),
          ),
          query,
        );
      }
      const invoice = this.invoices.find((i) => i.id === body.invoice);
      if (!invoice) throw missing('invoice', String(body.invoice));
      if (invoice.status !== 'open' && invoice.status !== 'paid') {
        throw invalid(
          `Invoice ${String(invoice.id)} is ${String(invoice.status)}: credit notes need an open or paid invoice.`,
        );
      }
      const amount = Number(body.amount);
      const credited =
        (invoice.pre_payment_credit_notes_amount as number) +
        (invoice.post_payment_credit_notes_amount as number);
      if (!Number.isInteger(amount) || amount < 1 || amount > (invoice.total as number) - credited) {
        throw invalid('The credit note amount is more than the invoice can be credited.', {
          param: 'amount',
        });
      }
      if (invoice.status === 'paid') {
        const placed =
          Number(body.credit_amount ?? 0) +
          Number(body.refund_amount ?? 0) +
          Number(body.out_of_band_amount ?? 0);
        if (placed !== amount) {
          throw invalid(
            'The sum of credit amount, refund amount and out of band amount must equal the credit note amount for a paid invoice.',
          );
        }
        invoice.post_payment_credit_notes_amount =
          (invoice.post_payment_credit_notes_amount as number) + amount;
      } else {
        invoice.pre_payment_credit_notes_amount =
          (invoice.pre_payment_credit_notes_amount as number) + amount;
        invoice.amount_remaining = Math.max(0, (invoice.amount_remaining as number) - amount);
        invoice.amount_due = Math.max(0, (invoice.amount_due as number) - amount);
      }
      const note: Obj = {
        id: id('cn'),
        object: 'credit_note',
        invoice: invoice.id,
        customer: invoice.customer,
        amount,
        total: amount,
        currency: invoice.currency,
        memo: body.memo ?? null,
        metadata: body.metadata ?? {},
        status: 'issued',
        type: invoice.status === 'paid' ? 'post_payment' : 'pre_payment',
        created: this.financeClock(),
      };
      this.creditNotes.push(note);
      return note;
    }
    return undefined;
  }

  // ---- end of operator finance -----------------------------------------------------------------

  private meterEvent(body: Obj): Obj {
    const name = body.event_name as string;
    const payload = (body.payload as Obj | undefined) ?? {};
    const identifier = (body.identifier as string | undefined) ?? id('mev');
    if (![...this.meters.values()].some((m) => m.event_name === name && m.status === 'active')) {
      throw invalid(`No active meter was found for event_name ${name}.`, { param: 'event_name' });
    }
    const customer = payload.stripe_customer_id as string;
    if (!this.customers.has(customer)) throw invalid(`No such customer: '${customer}'`, { param: 'payload' });
    const value = Number(payload.value);
    if (!Number.isFinite(value)) throw invalid('payload[value] must be a number.', { param: 'payload' });
    const timestamp = body.timestamp === undefined ? nowSec() : Number(body.timestamp);
    if (identifier.length > 100) throw invalid('identifier is too long.', { param: 'identifier' });
    if (this.meterEvents.has(identifier)) {
      throw new StripeFailure(
        400,
        {
          error: {
            type: 'invalid_request_error',
            message: `An event already exists with identifier ${identifier}.`,
          },
        },
        { 'stripe-should-retry': 'false' },
      );
    }
    this.meterEvents.set(identifier, { identifier, event_name: name, customer, value, timestamp });
    return {
      object: 'billing.meter_event',
      created: nowSec(),
      event_name: name,
      identifier,
      livemode: false,
      payload,
      timestamp,
    };
  }

  private createPrice(body: Obj): Obj {
    if (!this.products.has(body.product as string)) throw missing('product', body.product as string);
    const recurring = body.recurring as Obj | undefined;
    if (recurring?.usage_type === 'metered' && !this.meters.has(recurring.meter as string)) {
      throw missing('billing.meter', recurring.meter as string);
    }
    const lookup = body.lookup_key as string | undefined;
    const holder = lookup ? [...this.prices.values()].find((p) => p.lookup_key === lookup) : undefined;
    if (holder) {
      if (body.transfer_lookup_key !== 'true')
        throw invalid(`A price with lookup key ${lookup} already exists.`);
      holder.lookup_key = null;
    }
    const price = {
      id: id('price'),
      object: 'price',
      active: true,
      currency: body.currency,
      product: body.product,
      unit_amount: null,
      unit_amount_decimal: body.unit_amount_decimal,
      billing_scheme: body.billing_scheme ?? 'per_unit',
      lookup_key: lookup ?? null,
      nickname: body.nickname ?? null,
      metadata: body.metadata ?? {},
      recurring: recurring
        ? {
            interval: recurring.interval,
            interval_count: 1,
            usage_type: recurring.usage_type,
            meter: recurring.meter ?? null,
            trial_period_days: null,
          }
        : null,
      type: recurring ? 'recurring' : 'one_time',
      created: nowSec(),
      livemode: false,
    };
    this.prices.set(price.id, price);
    return price;
  }

  private list(path: string, all: Obj[], query: Obj): Obj {
    const limit = Math.min(Number(query.limit ?? 10), 100);
    let start = 0;
    if (query.starting_after) start = all.findIndex((o) => o.id === query.starting_after) + 1;
    const data = all.slice(start, start + limit);
    return { object: 'list', data, has_more: start + limit < all.length, url: path };
  }
}

/** `expand[]=data.latest_charge` on a list: the fields to expand on each item. */
function subExpand(query: Obj): Obj {
  const fields = ((query.expand as string[] | undefined) ?? []).flatMap((f) =>
    f.startsWith('data.') ? [f.slice(5)] : [],
  );
  return { expand: fields };
}
