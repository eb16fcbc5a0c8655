import type { Tenant } from '../tenants/tenant-store';
import type { GatewayFailure } from './billing';
import { type BillingDeps, billingReturnUrl, FREE_PLAN, PAID_PLAN } from './billing-deps';
import { includedFor } from './invoice-preview';
import { meterSpecs } from './meters';

export type CustomerResult = { ok: true; customerId: string } | ({ ok: false } & GatewayFailure);

/**
 * The tenant's provider customer, made on first need. Exactly one per tenant, however many
 * requests race: every attempt asks the provider with the same idempotency key (so concurrent and
 * retried calls get the same customer back), and the id is stored with a conditional write; if a
 * different customer was stored first (an idempotency key outlives the provider's 24 hours only
 * on a crash between the two steps), the new one is deleted.
 */
export async function ensureCustomer(d: BillingDeps, tenant: Tenant): Promise<CustomerResult> {
  const known = (await d.store.getAccount(tenant.id))?.customerId;
  if (known) return { ok: true, customerId: known };
  const made = await d.gateway.createCustomer(
    { tenantId: tenant.id, name: tenant.name, email: tenant.contactEmail ?? null },
    `tollgate-customer-${tenant.id}`,
  );
  if (!made.ok) return made;
  const attached = await d.store.attachCustomer(tenant.id, made.customerId, d.now());
  if (attached.status === 'attached') return { ok: true, customerId: made.customerId };
  if (attached.existing !== made.customerId) {
    const removed = await d.gateway.deleteCustomer(made.customerId);
    d.log.warn(
      { tenantId: tenant.id, kept: attached.existing, deleted: made.customerId, ok: removed.ok },
      'a second Stripe customer was made for a tenant and deleted',
    );
  }
  return { ok: true, customerId: attached.existing };
}

export type CheckoutResult =
  | { status: 'created'; id: string; url: string }
  | { status: 'already_subscribed' }
  | { status: 'not_set_up'; missing: string[] }
  | ({ status: 'failed' } & GatewayFailure);

/** Start of the next calendar month (UTC), in seconds: the subscription's periods then match the ledger's months. */
export function nextMonthStart(now: Date): number {
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) / 1000;
}

/**
 * A Checkout session that collects a payment method and starts the metered subscription with
 * every current price (one per model version and unit). Refused while a subscription is live:
 * the portal manages that one.
 */
export async function startCheckout(
  d: BillingDeps,
  tenant: Tenant,
  opts: { plan?: string; returnUrl?: string } = {},
): Promise<CheckoutResult> {
  if (d.gateway.mode === 'ledger') return { status: 'failed', kind: 'not_connected' };
  const account = await d.store.getAccount(tenant.id);
  if (account?.subscriptionId && account.status !== 'canceled') return { status: 'already_subscribed' };
  // Online prices only: Stripe takes at most 20 recurring prices on a subscription (and in a
  // Checkout), so a batch price joins the subscription when the sync first bills batch units at it.
  const specs = meterSpecs(await d.catalog()).filter((s) => s.channel === 'online');
  const prices = new Map((await d.store.listPrices()).map((p) => [p.lookupKey, p.priceId]));
  const missing = specs.filter((s) => !prices.has(s.lookupKey)).map((s) => s.lookupKey);
  if (missing.length > 0 || specs.length === 0) return { status: 'not_set_up', missing };
  const customer = await ensureCustomer(d, tenant);
  if (!customer.ok) return { status: 'failed', ...customer };
  const back = opts.returnUrl ?? billingReturnUrl(d.config);
  // The plan the tenant moves to (the one chosen; else free moves to pay-as-you-go and others keep
  // theirs), with its overrides.
  const planId = opts.plan ?? (tenant.plan === FREE_PLAN ? PAID_PLAN : tenant.plan);
  const plan = await d.plans.get(planId);
  const included = includedFor(plan, tenant);
  const session = await d.gateway.createCheckout({
    customerId: customer.customerId,
    tenantId: tenant.id,
    priceIds: specs.map((s) => prices.get(s.lookupKey)!),
    successUrl: `${back}${back.includes('?') ? '&' : '?'}checkout=success`,
    cancelUrl: `${back}${back.includes('?') ? '&' : '?'}checkout=canceled`,
    billingCycleAnchor: nextMonthStart(d.now()),
    description: includedDescription(included === 'everything' ? {} : included),
    plan: planId,
    planChangedAt: d.now().getTime(),
  });
  if (!session.ok) return { status: 'failed', ...session };
  return { status: 'created', id: session.id, url: session.url };
}

/** The line every invoice carries, so its quantities make sense to the tenant. */
export function includedDescription(included: Partial<Record<string, number>>): string {
  const parts = Object.entries(included)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([unit, n]) => `${n!.toLocaleString('en-US')} ${unit.replace('_', ' ')}`);
  return parts.length
    ? `Tollgate usage, billed per model version. Quantities are what you used beyond your plan's monthly included units (${parts.join(', ')}).`
    : 'Tollgate usage, billed per model version.';
}

export type PortalResult = { status: 'created'; url: string } | ({ status: 'failed' } & GatewayFailure);

/** A customer-portal session (invoices, cards, cancellation). */
export async function openPortal(d: BillingDeps, tenant: Tenant): Promise<PortalResult> {
  if (d.gateway.mode === 'ledger') return { status: 'failed', kind: 'not_connected' };
  const customer = await ensureCustomer(d, tenant);
  if (!customer.ok) return { status: 'failed', ...customer };
  const portal = await d.gateway.createPortal({
    customerId: customer.customerId,
    returnUrl: billingReturnUrl(d.config),
  });
  return portal.ok ? { status: 'created', url: portal.url } : { status: 'failed', ...portal };
}
