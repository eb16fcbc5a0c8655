import Stripe from 'stripe';
import type {
  CreatedRange,
  ProviderCreditNote,
  ProviderInvoice,
  ProviderPayment,
  ProviderRefund,
} from '../finance/finance-gateway';
import type {
  BillingGateway,
  CheckoutInput,
  GatewayResult,
  InvoiceSummary,
  MeterEventInput,
  MeterSpec,
  OffSessionChargeInput,
  PaymentCheckoutInput,
  PaymentSummary,
  ProviderSubscriptionStatus,
  ProvisionedPrice,
  SubscriptionChange,
  WebhookVerification,
} from './billing';
import { idOf, planState, purposeOf, toBillingEvent } from './stripe-events';

export interface StripeBillingOptions {
  secretKey: string;
  webhookSecret?: string;
  /** Where requests go instead of api.stripe.com (tests' fake Stripe): `http://127.0.0.1:12111`. */
  apiBase?: string;
  timeoutMs: number;
  /**
   * The SDK's own retries: connection errors, 409 (a concurrent request with the same idempotency
   * key) and 5xx, each with the request's idempotency key, so a retry never does a thing twice.
   * It does not retry 429 unless Stripe says to; pacing meter events is the sync's job.
   */
  maxNetworkRetries: number;
  webhookToleranceSeconds: number;
}

type Obj = Record<string, unknown>;

/** A duplicate meter-event identifier means the event was delivered before: that is success. */
function isDuplicateMeterEvent(err: Stripe.errors.StripeError): boolean {
  return (
    err.statusCode === 400 &&
    (err.code === 'duplicate_meter_event' || /already exists with identifier/i.test(err.message))
  );
}

function failure(err: unknown): GatewayResult<never> {
  if (!(err instanceof Stripe.errors.StripeError)) {
    return { ok: false, kind: 'unavailable', message: (err as Error).message ?? String(err) };
  }
  const status = err.statusCode;
  if (status === 429) {
    const header = err.headers?.['retry-after'];
    const seconds = header ? Number(header) : Number.NaN;
    return {
      ok: false,
      kind: 'throttled',
      ...(Number.isFinite(seconds) ? { retryAfterMs: seconds * 1000 } : {}),
    };
  }
  if (status === undefined || status >= 500 || err.type === 'StripeConnectionError') {
    return { ok: false, kind: 'unavailable', message: err.message };
  }
  return { ok: false, kind: 'rejected', message: err.message, ...(err.code ? { code: err.code } : {}) };
}

/** Trailing zeros do not change a decimal: Stripe may echo `0.0000150000` for `0.000015`. */
function sameDecimal(a: string | null | undefined, b: string): boolean {
  const norm = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  return a !== null && a !== undefined && norm(a) === norm(b);
}

const iso = (sec: number) => new Date(sec * 1000).toISOString();
const customerIdOf = (c: string | { id: string } | null | undefined) =>
  typeof c === 'string' ? c : (c?.id ?? null);

function invoiceOf(i: Stripe.Invoice): ProviderInvoice {
  return {
    id: i.id ?? '',
    customerId: customerIdOf(i.customer) ?? '',
    number: i.number ?? null,
    status: i.status ?? null,
    currency: i.currency,
    totalCents: i.total,
    amountPaidCents: i.amount_paid,
    amountRemainingCents: i.amount_remaining,
    creditedCents: (i.pre_payment_credit_notes_amount ?? 0) + (i.post_payment_credit_notes_amount ?? 0),
    createdAt: iso(i.created),
    periodStart: iso(i.period_start),
    periodEnd: iso(i.period_end),
    dueAt: i.due_date ? iso(i.due_date) : null,
    fromSubscription: i.parent?.type === 'subscription_details',
    hostedUrl: i.hosted_invoice_url ?? null,
  };
}

function refundOf(r: Stripe.Refund): ProviderRefund {
  return {
    id: r.id,
    amountCents: r.amount,
    currency: r.currency,
    status: r.status ?? null,
    paymentIntentId: customerIdOf(r.payment_intent as string | { id: string } | null),
    createdAt: iso(r.created),
  };
}

function creditNoteOf(n: Stripe.CreditNote): ProviderCreditNote {
  return {
    id: n.id,
    invoiceId: customerIdOf(n.invoice as string | { id: string }) ?? '',
    customerId: customerIdOf(n.customer as string | { id: string }) ?? '',
    totalCents: n.total,
    currency: n.currency,
    status: n.status,
    createdAt: iso(n.created),
  };
}

/**
 * Reads a list page by page (100 at a time) until it ends or `maxItems` are read: a finance page
 * view reads at most that many objects from Stripe, and says when there were more.
 */
async function listBounded<T extends { id?: string | null }, R>(
  page: (startingAfter: string | undefined) => Promise<Stripe.ApiList<T>>,
  map: (t: T) => R,
  maxItems: number,
): Promise<{ items: R[]; truncated: boolean }> {
  const items: R[] = [];
  let after: string | undefined;
  for (;;) {
    const list = await page(after);
    for (const t of list.data) {
      if (items.length >= maxItems) return { items, truncated: true };
      items.push(map(t));
    }
    if (!list.has_more || list.data.length === 0) return { items, truncated: false };
    after = list.data[list.data.length - 1]!.id ?? undefined;
  }
}

/** A PaymentIntent (its `latest_charge` expanded or not) as billing reads it. */
export function paymentSummary(pi: Stripe.PaymentIntent): PaymentSummary {
  const charge = typeof pi.latest_charge === 'object' && pi.latest_charge ? pi.latest_charge : null;
  const card = charge?.payment_method_details?.card;
  const meta = pi.metadata ?? {};
  const err = pi.last_payment_error;
  return {
    id: pi.id,
    status: pi.status,
    amountCents: pi.amount,
    currency: pi.currency,
    customerId: idOf(pi.customer),
    tenantId: meta.tenant_id || null,
    purpose: purposeOf(meta),
    topUpId: meta.top_up_id || null,
    paymentMethodId: idOf(pi.payment_method),
    cardSaved: pi.setup_future_usage === 'off_session' || pi.setup_future_usage === 'on_session',
    card: card ? { brand: card.brand ?? 'card', last4: card.last4 ?? '' } : null,
    created: pi.created,
    receiptUrl: charge?.receipt_url ?? null,
    failure: err ? { code: err.decline_code ?? err.code ?? null, message: err.message ?? 'declined' } : null,
  };
}

/** The billing port over the official Stripe SDK. */
export class StripeBillingGateway implements BillingGateway {
  readonly mode = 'stripe' as const;
  private readonly stripe: Stripe;
  private meters: Map<string, Stripe.Billing.Meter> | undefined;

  constructor(private readonly opts: StripeBillingOptions) {
    const base = opts.apiBase ? new URL(opts.apiBase) : undefined;
    this.stripe = new Stripe(opts.secretKey, {
      maxNetworkRetries: opts.maxNetworkRetries,
      timeout: opts.timeoutMs,
      telemetry: false,
      appInfo: { name: 'tollgate' },
      ...(base
        ? {
            host: base.hostname,
            port: base.port || (base.protocol === 'https:' ? 443 : 80),
            protocol: base.protocol === 'https:' ? 'https' : 'http',
          }
        : {}),
    });
  }

  private async call<T extends object>(fn: () => Promise<T>): Promise<GatewayResult<T>> {
    try {
      return { ok: true, ...(await fn()) };
    } catch (err) {
      return failure(err);
    }
  }

  async createCustomer(
    input: { tenantId: string; name: string; email: string | null },
    idempotencyKey: string,
  ): Promise<GatewayResult<{ customerId: string }>> {
    return this.call(async () => {
      const c = await this.stripe.customers.create(
        {
          name: input.name,
          ...(input.email ? { email: input.email } : {}),
          metadata: { tenant_id: input.tenantId },
        },
        { idempotencyKey },
      );
      return { customerId: c.id };
    });
  }

  deleteCustomer(customerId: string) {
    return this.call(async () => {
      await this.stripe.customers.del(customerId);
      return {};
    });
  }

  createCheckout(input: CheckoutInput) {
    return this.call(async () => {
      const s = await this.stripe.checkout.sessions.create({
        mode: 'subscription',
        customer: input.customerId,
        client_reference_id: input.tenantId,
        line_items: input.priceIds.map((price) => ({ price })),
        success_url: input.successUrl,
        cancel_url: input.cancelUrl,
        metadata: {
          tenant_id: input.tenantId,
          plan: input.plan,
          plan_changed_at: String(input.planChangedAt),
        },
        subscription_data: {
          metadata: {
            tenant_id: input.tenantId,
            plan: input.plan,
            plan_changed_at: String(input.planChangedAt),
          },
          description: input.description,
          billing_cycle_anchor: input.billingCycleAnchor,
        },
      });
      if (!s.url) throw new Error('Stripe answered a Checkout session without a URL');
      return { id: s.id, url: s.url };
    });
  }

  createPortal(input: { customerId: string; returnUrl: string }) {
    return this.call(async () => {
      const s = await this.stripe.billingPortal.sessions.create({
        customer: input.customerId,
        return_url: input.returnUrl,
      });
      return { url: s.url };
    });
  }

  async cancelSubscription(subscriptionId: string) {
    return this.call(async () => {
      await this.stripe.subscriptions.cancel(subscriptionId);
      return {};
    });
  }

  updateSubscription(subscriptionId: string, change: SubscriptionChange, idempotencyKey: string) {
    return this.call(async () => {
      const s = await this.stripe.subscriptions.update(
        subscriptionId,
        {
          cancel_at_period_end: change.cancelAtPeriodEnd,
          metadata: {
            ...(change.plan ? { plan: change.plan } : {}),
            plan_changed_at: String(change.planChangedAt),
          },
          ...(change.description ? { description: change.description } : {}),
          // Metered prices only: nothing to prorate.
          proration_behavior: 'none',
        },
        { idempotencyKey },
      );
      return {
        state: {
          ...planState(s as unknown as Obj),
          cancelAtPeriodEnd: s.cancel_at_period_end === true,
          status: s.status as ProviderSubscriptionStatus,
        },
      };
    });
  }

  async sendMeterEvent(event: MeterEventInput): Promise<GatewayResult<object>> {
    try {
      await this.stripe.billing.meterEvents.create({
        event_name: event.eventName,
        identifier: event.identifier,
        timestamp: event.timestamp,
        payload: { stripe_customer_id: event.customerId, value: String(event.value) },
      });
      return { ok: true };
    } catch (err) {
      if (err instanceof Stripe.errors.StripeError && isDuplicateMeterEvent(err)) return { ok: true };
      return failure(err);
    }
  }

  listInvoices(customerId: string, limit: number) {
    return this.call(async () => {
      const list = await this.stripe.invoices.list({ customer: customerId, limit });
      const invoices: InvoiceSummary[] = list.data.map((i) => ({
        id: i.id ?? '',
        number: i.number ?? null,
        status: i.status ?? null,
        currency: i.currency,
        totalCents: i.total,
        amountDueCents: i.amount_due,
        periodStart: new Date(i.period_start * 1000).toISOString(),
        periodEnd: new Date(i.period_end * 1000).toISOString(),
        createdAt: new Date(i.created * 1000).toISOString(),
        hostedUrl: i.hosted_invoice_url ?? null,
        pdfUrl: i.invoice_pdf ?? null,
      }));
      return { invoices };
    });
  }

  listInvoicesCreated(range: CreatedRange, maxItems: number) {
    return this.call(async () => {
      const { items, truncated } = await listBounded(
        (starting_after) =>
          this.stripe.invoices.list({
            created: { gte: range.fromSec, lt: range.toSec },
            limit: 100,
            ...(starting_after ? { starting_after } : {}),
          }),
        invoiceOf,
        maxItems,
      );
      return { invoices: items, truncated };
    });
  }

  listRefundsCreated(range: CreatedRange, maxItems: number) {
    return this.call(async () => {
      const { items, truncated } = await listBounded(
        (starting_after) =>
          this.stripe.refunds.list({
            created: { gte: range.fromSec, lt: range.toSec },
            limit: 100,
            ...(starting_after ? { starting_after } : {}),
          }),
        refundOf,
        maxItems,
      );
      return { refunds: items, truncated };
    });
  }

  listCreditNotesCreated(range: CreatedRange, maxItems: number) {
    return this.call(async () => {
      const { items, truncated } = await listBounded(
        (starting_after) =>
          this.stripe.creditNotes.list({
            created: { gte: range.fromSec, lt: range.toSec },
            limit: 100,
            ...(starting_after ? { starting_after } : {}),
          }),
        creditNoteOf,
        maxItems,
      );
      return { creditNotes: items, truncated };
    });
  }

  getInvoice(invoiceId: string) {
    return this.call(async () => ({ invoice: invoiceOf(await this.stripe.invoices.retrieve(invoiceId)) }));
  }

  getPayment(paymentIntentId: string) {
    return this.call(async () => {
      const [pi, refunds] = await Promise.all([
        this.stripe.paymentIntents.retrieve(paymentIntentId),
        this.stripe.refunds.list({ payment_intent: paymentIntentId, limit: 100 }),
      ]);
      const payment: ProviderPayment = {
        id: pi.id,
        customerId: customerIdOf(pi.customer as string | { id: string } | null),
        currency: pi.currency,
        status: pi.status,
        amountReceivedCents: pi.amount_received,
        refundedCents: refunds.data
          .filter((r) => r.status !== 'failed' && r.status !== 'canceled')
          .reduce((sum, r) => sum + r.amount, 0),
      };
      return { payment };
    });
  }

  createRefund(
    input: {
      paymentIntentId: string;
      amountCents: number;
      reason: string | null;
      metadata: Record<string, string>;
    },
    idempotencyKey: string,
  ) {
    return this.call(async () => {
      const r = await this.stripe.refunds.create(
        {
          payment_intent: input.paymentIntentId,
          amount: input.amountCents,
          ...(input.reason ? { reason: input.reason as Stripe.RefundCreateParams.Reason } : {}),
          metadata: input.metadata,
        },
        { idempotencyKey },
      );
      return { refund: refundOf(r) };
    });
  }

  createCreditNote(
    input: {
      invoiceId: string;
      amountCents: number;
      paid: boolean;
      memo: string | null;
      metadata: Record<string, string>;
    },
    idempotencyKey: string,
  ) {
    return this.call(async () => {
      const n = await this.stripe.creditNotes.create(
        {
          invoice: input.invoiceId,
          amount: input.amountCents,
          // A paid invoice's credit must go somewhere: the customer's balance, for the next invoice.
          ...(input.paid ? { credit_amount: input.amountCents } : {}),
          ...(input.memo ? { memo: input.memo } : {}),
          metadata: input.metadata,
        },
        { idempotencyKey },
      );
      return { creditNote: creditNoteOf(n) };
    });
  }

  verifyWebhook(rawBody: string, signature: string, nowMs: number): WebhookVerification {
    if (!this.opts.webhookSecret) return { ok: false, reason: 'not_connected' };
    let event: { id: string; type: string; created: number; data: { object: Obj } };
    try {
      event = this.stripe.webhooks.constructEvent(
        rawBody,
        signature,
        this.opts.webhookSecret,
        this.opts.webhookToleranceSeconds,
        undefined,
        // Milliseconds: the SDK divides by 1000 itself.
        nowMs,
      ) as unknown as typeof event;
    } catch (err) {
      if (err instanceof SyntaxError) return { ok: false, reason: 'malformed' };
      return /tolerance/i.test((err as Error).message)
        ? { ok: false, reason: 'too_old' }
        : { ok: false, reason: 'bad_signature' };
    }
    const mapped = toBillingEvent(event);
    return mapped ? { ok: true, event: mapped } : { ok: false, reason: 'malformed' };
  }

  async provisionPrice(spec: MeterSpec): Promise<GatewayResult<ProvisionedPrice>> {
    return this.call(async () => {
      const changes: string[] = [];
      const meter = await this.ensureMeter(spec, changes);
      const product = await this.ensureProduct(spec, changes);
      const price = await this.ensureMeteredPrice(spec, product.id, meter.id, changes);
      return { meterId: meter.id, productId: product.id, priceId: price.id, changes };
    });
  }

  async ensureSubscriptionItem(subscriptionId: string, priceId: string) {
    return this.call(async () => {
      const [subscription, price] = await Promise.all([
        this.stripe.subscriptions.retrieve(subscriptionId),
        this.stripe.prices.retrieve(priceId),
      ]);
      const items = subscription.items.data;
      if (items.some((i) => i.price.id === priceId)) return { added: false };
      const productOf = (p: Stripe.Price) => idOf(p.product);
      const sameMeter = items.find((i) => productOf(i.price) === productOf(price));
      if (sameMeter) {
        // One price per meter on a subscription: two would bill the same usage twice.
        await this.stripe.subscriptionItems.update(sameMeter.id, {
          price: priceId,
          proration_behavior: 'none',
        });
      } else {
        // The key names the subscription's size as read: the SDK's retries and a concurrent run
        // that read the same state share it, while a try after the subscription changed (room
        // made after Stripe refused a 21st item) is a new request, not a replay of that refusal.
        await this.stripe.subscriptionItems.create(
          { subscription: subscriptionId, price: priceId, proration_behavior: 'none' },
          { idempotencyKey: `tollgate-item-${subscriptionId}-${priceId}-${items.length}` },
        );
      }
      return { added: true };
    });
  }

  createPaymentCheckout(input: PaymentCheckoutInput) {
    return this.call(async () => {
      const metadata = { tenant_id: input.tenantId, purpose: 'top_up', top_up_id: input.topUpId };
      const s = await this.stripe.checkout.sessions.create(
        {
          mode: 'payment',
          customer: input.customerId,
          client_reference_id: input.tenantId,
          line_items: [
            {
              quantity: 1,
              price_data: {
                currency: 'usd',
                unit_amount: input.amountCents,
                product_data: { name: 'Tollgate credit' },
              },
            },
          ],
          payment_intent_data: {
            metadata,
            description: 'Tollgate credit',
            ...(input.saveCard ? { setup_future_usage: 'off_session' as const } : {}),
          },
          metadata,
          success_url: input.successUrl,
          cancel_url: input.cancelUrl,
        },
        { idempotencyKey: input.idempotencyKey },
      );
      if (!s.url) throw new Error('Stripe answered a Checkout session without a URL');
      return { id: s.id, url: s.url };
    });
  }

  getTopUpPayment(paymentId: string) {
    return this.call(async () => {
      const pi = await this.stripe.paymentIntents.retrieve(paymentId, { expand: ['latest_charge'] });
      return { payment: paymentSummary(pi) };
    });
  }

  listPayments(input: { createdFrom: number; startingAfter?: string; limit: number }) {
    return this.call(async () => {
      const page = await this.stripe.paymentIntents.list({
        created: { gte: input.createdFrom },
        limit: input.limit,
        expand: ['data.latest_charge'],
        ...(input.startingAfter ? { starting_after: input.startingAfter } : {}),
      });
      return { payments: page.data.map(paymentSummary), hasMore: page.has_more };
    });
  }

  async chargeSavedCard(input: OffSessionChargeInput): Promise<GatewayResult<{ payment: PaymentSummary }>> {
    try {
      const pi = await this.stripe.paymentIntents.create(
        {
          amount: input.amountCents,
          currency: 'usd',
          customer: input.customerId,
          payment_method: input.paymentMethodId,
          off_session: true,
          confirm: true,
          description: 'Tollgate credit (auto-recharge)',
          metadata: { tenant_id: input.tenantId, purpose: 'auto_recharge', top_up_id: input.topUpId },
          expand: ['latest_charge'],
        },
        { idempotencyKey: input.idempotencyKey },
      );
      return { ok: true, payment: paymentSummary(pi) };
    } catch (err) {
      // The same recharge still in flight (another run): not an answer, try again later.
      if (
        err instanceof Stripe.errors.StripeIdempotencyError ||
        (err as { statusCode?: number }).statusCode === 409
      ) {
        return { ok: false, kind: 'unavailable', message: (err as Error).message };
      }
      if (err instanceof Stripe.errors.StripeCardError) {
        return {
          ok: false,
          kind: 'rejected',
          message: err.message,
          code: 'card_declined',
          ...(err.decline_code ? { declineCode: err.decline_code } : {}),
          ...(err.payment_intent?.id ? { paymentIntentId: err.payment_intent.id } : {}),
        };
      }
      return failure(err);
    }
  }

  private async ensureMeter(spec: MeterSpec, changes: string[]): Promise<Stripe.Billing.Meter> {
    if (!this.meters) {
      this.meters = new Map();
      for await (const m of this.stripe.billing.meters.list({ limit: 100 })) this.meters.set(m.event_name, m);
    }
    let meter = this.meters.get(spec.eventName);
    if (!meter) {
      meter = await this.stripe.billing.meters.create({
        display_name: spec.displayName,
        event_name: spec.eventName,
        default_aggregation: { formula: 'sum' },
        customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
        value_settings: { event_payload_key: 'value' },
      });
      changes.push('meter created');
    } else {
      if (meter.status === 'inactive') {
        meter = await this.stripe.billing.meters.reactivate(meter.id);
        changes.push('meter reactivated');
      }
      if (meter.display_name !== spec.displayName) {
        meter = await this.stripe.billing.meters.update(meter.id, { display_name: spec.displayName });
        changes.push('meter renamed');
      }
    }
    this.meters.set(spec.eventName, meter);
    return meter;
  }

  private async ensureProduct(spec: MeterSpec, changes: string[]): Promise<Stripe.Product> {
    let product: Stripe.Product | undefined;
    try {
      product = await this.stripe.products.retrieve(spec.productId);
    } catch (err) {
      if (!(err instanceof Stripe.errors.StripeError) || err.statusCode !== 404) throw err;
    }
    const metadata = { model: spec.model, version: spec.version, unit: spec.unit, channel: spec.channel };
    if (!product) {
      changes.push('product created');
      return this.stripe.products.create({ id: spec.productId, name: spec.displayName, metadata });
    }
    if (product.name !== spec.displayName || !product.active) {
      changes.push('product updated');
      return this.stripe.products.update(product.id, { name: spec.displayName, active: true });
    }
    return product;
  }

  private async ensureMeteredPrice(
    spec: MeterSpec,
    productId: string,
    meterId: string,
    changes: string[],
  ): Promise<Stripe.Price> {
    const found = await this.stripe.prices.list({ lookup_keys: [spec.lookupKey], active: true, limit: 1 });
    const current = found.data[0];
    if (
      current &&
      sameDecimal(current.unit_amount_decimal?.toString(), spec.unitAmountDecimal) &&
      current.recurring?.meter === meterId &&
      idOf(current.product) === productId
    ) {
      return current;
    }
    changes.push(current ? 'price replaced' : 'price created');
    return this.stripe.prices.create({
      currency: 'usd',
      product: productId,
      unit_amount_decimal: Stripe.Decimal.from(spec.unitAmountDecimal),
      billing_scheme: 'per_unit',
      recurring: { interval: 'month', usage_type: 'metered', meter: meterId },
      lookup_key: spec.lookupKey,
      transfer_lookup_key: true,
      nickname: `${spec.displayName} (${spec.priceBook})`,
      metadata: {
        model: spec.model,
        version: spec.version,
        unit: spec.unit,
        channel: spec.channel,
        price_book: spec.priceBook,
      },
    });
  }
}
