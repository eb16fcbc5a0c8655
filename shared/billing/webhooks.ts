import type { AuditActor } from '../accounts/audit-log';
import type { BillingEvent } from './billing';
import type { BillingDeps } from './billing-deps';
import { commitDecision, type Decision, decideEvent } from './status';
import { handlePaymentEvent, type PaymentEventOutcome } from './top-ups';

export type WebhookResult =
  | { status: 'rejected'; reason: 'not_connected' | 'bad_signature' | 'too_old' | 'malformed' }
  | {
      status: 'processed';
      eventId: string;
      outcome: Decision['outcome'] | Exclude<PaymentEventOutcome, 'duplicate'> | 'unknown_customer';
    }
  | { status: 'duplicate'; eventId: string };

const STRIPE: AuditActor = { kind: 'system', id: 'stripe' };
const ATTEMPTS = 4;

function customerOf(e: BillingEvent): string | null {
  return e.type === 'ignored' ? null : e.customerId;
}

/**
 * A provider webhook: the signature is checked on the raw body first (a bad signature, an old
 * signed timestamp or a malformed body changes nothing), then the event is applied once per event
 * id: its marker is written in the same transaction as the change it makes. Concurrent events for
 * one tenant are serialised by that transaction's conditions and retried.
 */
export async function handleWebhook(
  d: BillingDeps,
  rawBody: string,
  signature: string,
): Promise<WebhookResult> {
  const verified = d.gateway.verifyWebhook(rawBody, signature, d.now().getTime());
  if (!verified.ok) return { status: 'rejected', reason: verified.reason };
  const event = verified.event;
  const customerId = customerOf(event);
  if (!customerId) return { status: 'processed', eventId: event.id, outcome: 'ignored' };
  const tenantId = await d.store.tenantOfCustomer(customerId);
  if (!tenantId) {
    // Not one of ours (another integration on the same Stripe account): acknowledged, nothing kept.
    d.log.warn({ eventId: event.id, type: event.type }, 'Stripe event for an unknown customer ignored');
    return { status: 'processed', eventId: event.id, outcome: 'unknown_customer' };
  }
  if (await d.store.eventSeen(tenantId, event.id)) return { status: 'duplicate', eventId: event.id };
  if (event.type === 'payment.succeeded' || event.type === 'payment.failed') {
    const outcome = await handlePaymentEvent(d, tenantId, event);
    d.log.info({ tenantId, eventId: event.id, type: event.type, outcome }, 'Stripe event');
    return outcome === 'duplicate'
      ? { status: 'duplicate', eventId: event.id }
      : { status: 'processed', eventId: event.id, outcome };
  }

  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const [account, tenant] = await Promise.all([d.store.getAccount(tenantId), d.tenants.get(tenantId)]);
    if (!account || !tenant) {
      d.log.warn({ eventId: event.id, tenantId }, 'Stripe event for a tenant without a billing account');
      return { status: 'processed', eventId: event.id, outcome: 'unknown_customer' };
    }
    const decision = decideEvent(account, tenant, event);
    if (decision.cancelSubscription) {
      // Metered usage is per customer: a second subscription would bill every unit twice.
      const cancelled = await d.gateway.cancelSubscription(decision.cancelSubscription);
      if (!cancelled.ok && cancelled.kind !== 'rejected') {
        throw new Error(`could not cancel duplicate subscription: ${cancelled.kind}`);
      }
      d.log.warn(
        { tenantId, subscriptionId: decision.cancelSubscription },
        'a second subscription was cancelled',
      );
    }
    const committed = await commitDecision(d, { account, tenant, decision, event, actor: STRIPE });
    if (committed === 'committed') {
      d.log.info(
        { tenantId, eventId: event.id, type: event.type, outcome: decision.outcome },
        'Stripe event',
      );
      return { status: 'processed', eventId: event.id, outcome: decision.outcome };
    }
    if (committed === 'already_processed') return { status: 'duplicate', eventId: event.id };
  }
  throw new Error(`Stripe event ${event.id} kept conflicting with concurrent changes`);
}
