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

const id = (prefix: string) => `${prefix}_${randomBytes(10).toString('hex')}`;
const nowSec = () => Math.floor(Date.now() / 1000);

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

export class FakeStripe {
  readonly requests: RecordedRequest[] = [];
  readonly customers = new Map<string, Obj>();
  readonly meters = new Map<string, Obj>();
  readonly products = new Map<string, Obj>();
  readonly prices = new Map<string, Obj>();
  readonly sessions = new Map<string, Obj>();
  readonly subscriptions = new Map<string, Obj>();
  readonly invoices: Obj[] = [];
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

  /** The customer pays at Checkout: the session completes and a subscription with its prices starts. */
  completeCheckout(sessionId: string): Obj {
    const session = this.sessions.get(sessionId);
    if (!session) throw new Error(`no session ${sessionId}`);
    const subscription = this.makeSubscription(
      session.customer as string,
      (session.line_items as { price: string }[]).map((l) => l.price),
      (session.subscription_data as Obj | undefined)?.metadata as Obj | undefined,
    );
    Object.assign(session, { status: 'complete', payment_status: 'paid', subscription: subscription.id });
    return session;
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
      return c;
    }
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      const customer = body.customer as string;
      if (!this.customers.get(customer) || this.customers.get(customer)!.deleted)
        throw missing('customer', customer);
      for (const item of (body.line_items as Obj[]) ?? []) {
        if (!this.prices.has(item.price as string)) throw missing('price', item.price as string);
      }
      const sid = id('cs_test');
      const session = {
        id: sid,
        object: 'checkout.session',
        mode: body.mode,
        status: 'open',
        customer,
        client_reference_id: body.client_reference_id ?? null,
        metadata: body.metadata ?? {},
        subscription: null,
        success_url: body.success_url,
        cancel_url: body.cancel_url,
        line_items: body.line_items,
        subscription_data: body.subscription_data,
        url: `https://checkout.stripe.test/c/pay/${sid}`,
        livemode: false,
      };
      this.sessions.set(sid, session);
      return session;
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
      return sub;
    }
    if (seg[1] === 'subscription_items' && method === 'POST') {
      if (!seg[2]) {
        const sub = this.subscriptions.get(body.subscription as string);
        if (!sub) throw missing('subscription', body.subscription as string);
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
