import type { BillingUnit } from '../catalog/types';
import type { FinanceGateway } from '../finance/finance-gateway';
import type { Channel } from '../metering/usage-store';
import type { GatewayResult } from './gateway-result';

/**
 * The billing port: what the platform asks of a payment provider. The usage ledger in DynamoDB is
 * the truth; the provider collects the money. Two adapters: Stripe (`stripe-billing.ts`) and the
 * ledger-only one (`ledger-billing.ts`, the local default), which answers `not_connected` to
 * everything that needs a provider, so the rest of billing (previews, status) works without one.
 */

export type { GatewayFailure, GatewayResult } from './gateway-result';

/** One aggregate of usage, as sent to a meter. */
export interface MeterEventInput {
  eventName: string;
  customerId: string;
  /** Whole units (tokens, images). */
  value: number;
  /** Deterministic: the provider drops a second event with the same identifier. */
  identifier: string;
  /** When the usage happened (seconds since the epoch): decides the billing period it lands in. */
  timestamp: number;
}

export interface InvoiceSummary {
  id: string;
  number: string | null;
  status: string | null;
  currency: string;
  /** In the currency's minor unit (cents). */
  totalCents: number;
  amountDueCents: number;
  periodStart: string;
  periodEnd: string;
  createdAt: string;
  hostedUrl: string | null;
  pdfUrl: string | null;
}

/** The plan a subscription is on, as its metadata and cancellation say. */
export interface SubscriptionPlanState {
  /** `metadata.plan`; null on subscriptions made before plans were chosen (then `payg`). */
  plan: string | null;
  /** `metadata.plan_changed_at` (ms, our clock); 0 when absent. */
  planChangedAt: number;
  /** Set to end at the period's end: the owner downgraded to free (or cancelled in the portal). */
  cancelAtPeriodEnd: boolean;
}

/** What a plan change asks of a subscription. */
export interface SubscriptionChange {
  /** The paid plan (metadata), when it changes. */
  plan?: string;
  planChangedAt: number;
  cancelAtPeriodEnd: boolean;
  /** The invoice line naming the included units, when the plan changes. */
  description?: string;
}

/** Subscription states as the provider reports them. */
export type ProviderSubscriptionStatus =
  | 'active'
  | 'trialing'
  | 'past_due'
  | 'unpaid'
  | 'canceled'
  | 'incomplete'
  | 'incomplete_expired'
  | 'paused';

/** A verified webhook event, reduced to what billing acts on. */
export type BillingEvent = { id: string; created: number } & (
  | {
      type: 'checkout.completed';
      customerId: string;
      subscriptionId: string | null;
      tenantId: string | null;
      /** The plan the Checkout was for (its metadata); null on sessions made before plans were chosen. */
      plan: string | null;
      /** When that plan was chosen (ms, our clock, from the metadata): orders plan changes. */
      planChangedAt: number;
    }
  | { type: 'invoice.paid'; customerId: string; invoiceId: string }
  | { type: 'invoice.payment_failed'; customerId: string; invoiceId: string }
  | ({
      type: 'subscription.updated';
      customerId: string;
      subscriptionId: string;
      status: ProviderSubscriptionStatus;
    } & SubscriptionPlanState)
  | { type: 'subscription.deleted'; customerId: string; subscriptionId: string }
  /**
   * A one-time payment succeeded (`payment_intent.succeeded`, or a payment-mode Checkout session
   * completed and paid): credited once per payment, whichever arrives first.
   */
  | { type: 'payment.succeeded'; customerId: string; paymentId: string }
  /** A one-time payment failed (`payment_intent.payment_failed`, an async Checkout payment that failed). */
  | {
      type: 'payment.failed';
      customerId: string;
      paymentId: string | null;
      topUpId: string | null;
      reason: string;
    }
  | { type: 'ignored'; providerType: string }
);

export type WebhookVerification =
  | { ok: true; event: BillingEvent }
  | { ok: false; reason: 'not_connected' | 'bad_signature' | 'too_old' | 'malformed' };

/** What `billing:setup` makes for one model version's unit. */
export interface MeterSpec {
  model: string;
  version: string;
  unit: BillingUnit;
  /** Online calls or batch lines: each has its own meter and price (batch at the batch price). */
  channel: Channel;
  /** The meter's event name: what meter events carry. */
  eventName: string;
  /** The words on the tenant's invoice (the product's name). */
  displayName: string;
  productId: string;
  /** Identifies the price of one price book, so a new price book makes a new price. */
  lookupKey: string;
  /** Cents per unit, as a decimal string (nano-USD / 1e7: exact). */
  unitAmountDecimal: string;
  priceBook: string;
}

export interface ProvisionedPrice {
  meterId: string;
  productId: string;
  priceId: string;
  /** What setup did: `created`, `updated` or `unchanged` per object. */
  changes: string[];
}

export interface CheckoutInput {
  customerId: string;
  tenantId: string;
  priceIds: string[];
  successUrl: string;
  cancelUrl: string;
  /** Start of the next calendar month (seconds): periods then match the ledger's months. */
  billingCycleAnchor: number;
  /** Printed on every invoice of the subscription. */
  description: string;
  /** The plan the subscription starts on, and when it was chosen (ms): kept in its metadata. */
  plan: string;
  planChangedAt: number;
}

/** Why a Tollgate payment was made: a top-up through Checkout, or an auto-recharge off-session. */
export type PaymentPurpose = 'top_up' | 'auto_recharge';
export const paymentPurposes: readonly PaymentPurpose[] = ['top_up', 'auto_recharge'];

/** A one-time payment (a Stripe PaymentIntent), reduced to what crediting needs. */
export interface PaymentSummary {
  id: string;
  /** The provider's status: only `succeeded` is credited. */
  status: string;
  /** In the currency's minor unit (cents). */
  amountCents: number;
  currency: string;
  customerId: string | null;
  /** From the payment's metadata (set by Tollgate when it asked for the payment). */
  tenantId: string | null;
  purpose: PaymentPurpose | null;
  /** Tollgate's own id of the top-up or recharge attempt (metadata). */
  topUpId: string | null;
  paymentMethodId: string | null;
  /** The card was saved for later off-session payments (`setup_future_usage`). */
  cardSaved: boolean;
  card: { brand: string; last4: string } | null;
  /** Seconds since the epoch. */
  created: number;
  receiptUrl: string | null;
  failure: { code: string | null; message: string } | null;
}

export interface PaymentCheckoutInput {
  customerId: string;
  tenantId: string;
  topUpId: string;
  amountCents: number;
  /** Keep the card for auto-recharge (`setup_future_usage: off_session`). */
  saveCard: boolean;
  successUrl: string;
  cancelUrl: string;
  idempotencyKey: string;
}

export interface OffSessionChargeInput {
  customerId: string;
  paymentMethodId: string;
  tenantId: string;
  topUpId: string;
  amountCents: number;
  /** Derived from the tenant, the day and the attempt's number: a retry makes no second charge. */
  idempotencyKey: string;
}

/**
 * The payment provider. Every method answers with a value; none throws for provider failures. Its
 * finance part (operators: invoices of every customer, refunds, credit notes) is in
 * `shared/finance/finance-gateway.ts`.
 */
export interface BillingGateway extends FinanceGateway {
  readonly mode: 'stripe' | 'ledger';
  createCustomer(
    input: { tenantId: string; name: string; email: string | null },
    idempotencyKey: string,
  ): Promise<GatewayResult<{ customerId: string }>>;
  deleteCustomer(customerId: string): Promise<GatewayResult<object>>;
  createCheckout(input: CheckoutInput): Promise<GatewayResult<{ id: string; url: string }>>;
  createPortal(input: { customerId: string; returnUrl: string }): Promise<GatewayResult<{ url: string }>>;
  cancelSubscription(subscriptionId: string): Promise<GatewayResult<object>>;
  /** Changes a subscription's plan or its end; answers the state it is in afterwards. */
  updateSubscription(
    subscriptionId: string,
    change: SubscriptionChange,
    idempotencyKey: string,
  ): Promise<GatewayResult<{ state: SubscriptionPlanState & { status: ProviderSubscriptionStatus } }>>;
  sendMeterEvent(event: MeterEventInput): Promise<GatewayResult<object>>;
  listInvoices(customerId: string, limit: number): Promise<GatewayResult<{ invoices: InvoiceSummary[] }>>;
  /** Checks the signature on the raw body (and the signed timestamp against `nowMs`). */
  verifyWebhook(rawBody: string, signature: string, nowMs: number): WebhookVerification;
  /** Creates or updates, idempotently, the meter, product and price of one spec. */
  provisionPrice(spec: MeterSpec): Promise<GatewayResult<ProvisionedPrice>>;
  /** Adds a price to a subscription unless it is there already. */
  ensureSubscriptionItem(subscriptionId: string, priceId: string): Promise<GatewayResult<{ added: boolean }>>;
  /** A Checkout session for a one-time payment of credit ("Tollgate credit"). */
  createPaymentCheckout(input: PaymentCheckoutInput): Promise<GatewayResult<{ id: string; url: string }>>;
  /** One payment, as the provider has it now (the truth a webhook's payload only hints at). */
  getTopUpPayment(paymentId: string): Promise<GatewayResult<{ payment: PaymentSummary }>>;
  /** Payments created at or after `createdFrom` (seconds), newest first, a page at a time. */
  listPayments(input: {
    createdFrom: number;
    startingAfter?: string;
    limit: number;
  }): Promise<GatewayResult<{ payments: PaymentSummary[]; hasMore: boolean }>>;
  /**
   * Charges a saved card off-session, confirmed at once. A declined card is `rejected` with
   * `code: 'card_declined'` (and the failed payment's id).
   */
  chargeSavedCard(input: OffSessionChargeInput): Promise<GatewayResult<{ payment: PaymentSummary }>>;
}

/** Billing status of a tenant, as billing sees it (the tenant's `status` follows it). */
export type BillingStatus = 'none' | 'active' | 'past_due' | 'suspended' | 'canceled';
