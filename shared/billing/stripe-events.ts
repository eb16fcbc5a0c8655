import {
  type BillingEvent,
  type PaymentPurpose,
  type ProviderSubscriptionStatus,
  paymentPurposes,
} from './billing';

type Obj = Record<string, unknown>;

/** An id, whether Stripe sent the id or the expanded object. */
export const idOf = (v: unknown): string | null =>
  typeof v === 'string'
    ? v
    : v && typeof v === 'object' && typeof (v as Obj).id === 'string'
      ? ((v as Obj).id as string)
      : null;

const SUBSCRIPTION_STATUSES = new Set<string>([
  'active',
  'trialing',
  'past_due',
  'unpaid',
  'canceled',
  'incomplete',
  'incomplete_expired',
  'paused',
]);

/** The plan a subscription (or a Checkout session) names in its metadata. */
export function planState(o: Obj): { plan: string | null; planChangedAt: number } {
  const m = (o.metadata ?? {}) as Obj;
  const at = Number(m.plan_changed_at);
  return {
    plan: typeof m.plan === 'string' && m.plan !== '' ? m.plan : null,
    planChangedAt: Number.isSafeInteger(at) && at > 0 ? at : 0,
  };
}

/** The purpose Tollgate put in a payment's metadata, if it is one of Tollgate's payments. */
export function purposeOf(metadata: unknown): PaymentPurpose | null {
  const p = (metadata as Obj | null | undefined)?.purpose;
  return typeof p === 'string' && (paymentPurposes as readonly string[]).includes(p)
    ? (p as PaymentPurpose)
    : null;
}

const metaString = (metadata: unknown, key: string): string | null => {
  const v = (metadata as Obj | null | undefined)?.[key];
  return typeof v === 'string' && v ? v : null;
};

/** A Stripe event reduced to what billing acts on; undefined when a field it needs is missing. */
export function toBillingEvent(e: {
  id: string;
  type: string;
  created: number;
  data: { object: Obj };
}): BillingEvent | undefined {
  if (typeof e?.id !== 'string' || typeof e.created !== 'number' || !e.data?.object) return undefined;
  const o = e.data.object;
  const base = { id: e.id, created: e.created };
  const customerId = idOf(o.customer);
  switch (e.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
    case 'checkout.session.async_payment_failed':
      if (o.mode === 'payment' && purposeOf(o.metadata)) {
        if (!customerId) return undefined;
        const paymentId = idOf(o.payment_intent);
        if (e.type === 'checkout.session.async_payment_failed') {
          return {
            ...base,
            type: 'payment.failed',
            customerId,
            paymentId,
            topUpId: metaString(o.metadata, 'top_up_id'),
            reason: 'The payment did not go through.',
          };
        }
        // Completed but not yet paid (a delayed payment method): the async event follows.
        if (o.payment_status !== 'paid' || !paymentId)
          return { ...base, type: 'ignored', providerType: e.type };
        return { ...base, type: 'payment.succeeded', customerId, paymentId };
      }
      if (o.mode !== 'subscription' || e.type !== 'checkout.session.completed')
        return { ...base, type: 'ignored', providerType: e.type };
      if (!customerId) return undefined;
      return {
        ...base,
        type: 'checkout.completed',
        customerId,
        subscriptionId: idOf(o.subscription),
        tenantId: typeof o.client_reference_id === 'string' ? o.client_reference_id : null,
        ...planState(o),
      };
    case 'invoice.paid':
    case 'invoice.payment_failed':
      if (!customerId || typeof o.id !== 'string') return undefined;
      return {
        ...base,
        type: e.type === 'invoice.paid' ? 'invoice.paid' : 'invoice.payment_failed',
        customerId,
        invoiceId: o.id,
      };
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted':
      if (!customerId || typeof o.id !== 'string') return undefined;
      if (e.type === 'customer.subscription.deleted') {
        return { ...base, type: 'subscription.deleted', customerId, subscriptionId: o.id };
      }
      if (typeof o.status !== 'string' || !SUBSCRIPTION_STATUSES.has(o.status)) return undefined;
      return {
        ...base,
        type: 'subscription.updated',
        customerId,
        subscriptionId: o.id,
        status: o.status as ProviderSubscriptionStatus,
        ...planState(o),
        cancelAtPeriodEnd: o.cancel_at_period_end === true,
      };
    case 'payment_intent.succeeded':
    case 'payment_intent.payment_failed':
      if (!purposeOf(o.metadata)) return { ...base, type: 'ignored', providerType: e.type };
      if (!customerId || typeof o.id !== 'string') return undefined;
      if (e.type === 'payment_intent.succeeded') {
        return { ...base, type: 'payment.succeeded', customerId, paymentId: o.id };
      }
      return {
        ...base,
        type: 'payment.failed',
        customerId,
        paymentId: o.id,
        topUpId: metaString(o.metadata, 'top_up_id'),
        reason:
          metaString(o.last_payment_error, 'message') ??
          metaString(o.last_payment_error, 'decline_code') ??
          'The payment did not go through.',
      };
    default:
      return { ...base, type: 'ignored', providerType: e.type };
  }
}
