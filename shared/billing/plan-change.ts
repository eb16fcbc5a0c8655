import type { AuditActor } from '../accounts/audit-log';
import { isSelfServe, type Plan } from '../quotas/plans';
import type { Tenant } from '../tenants/tenant-store';
import type { GatewayFailure } from './billing';
import { type BillingDeps, billingReturnUrl } from './billing-deps';
import type { BillingAccount } from './billing-store';
import { includedDescription, startCheckout } from './checkout';
import { includedFor } from './invoice-preview';
import { commitDecision, type Decision, decidePlan, tenantUpdateItem } from './status';

export type PlanChangeResult =
  /** The tenant is on the new plan now: its limits apply from the next request. */
  | { status: 'applied'; from: string; to: string; endsAtPeriodEnd: boolean }
  /** A card is needed first: the plan applies when Stripe reports the paid Checkout. */
  | { status: 'checkout'; from: string; to: string; id: string; url: string }
  | { status: 'unknown_plan' }
  | { status: 'not_self_serve' }
  | { status: 'current_plan' }
  | { status: 'current_not_self_serve'; planName: string }
  | { status: 'tenant_inactive' }
  | { status: 'not_set_up'; missing: string[] }
  | { status: 'changed_meanwhile' }
  | ({ status: 'failed' } & GatewayFailure);

const ATTEMPTS = 4;

/**
 * An owner's change of plan. Ledger-only: applied at once (the tenant's plan, conditional on it
 * being as read, with an audit entry, in one transaction). With Stripe the tenant's plan follows
 * its subscription: a move to a paid plan without a live subscription goes through Checkout (the
 * webhook applies it); with one, the subscription's metadata (the plan) or its end (a move to a
 * hard-stop plan: it ends at the period's end, having invoiced the month's usage up to now) is
 * updated and Stripe's answer applied at once, by the same rule its webhook applies again later
 * (finding nothing left to change).
 */
export async function changePlan(
  d: BillingDeps,
  input: { tenant: Tenant; planId: string; actor: AuditActor; requestId: string | null },
): Promise<PlanChangeResult> {
  const plans = await d.plans.all();
  const target = plans.get(input.planId);
  if (!target) return { status: 'unknown_plan' };
  if (!isSelfServe(target)) return { status: 'not_self_serve' };
  let tenant = (await d.tenants.get(input.tenant.id)) ?? input.tenant;
  if (tenant.plan === target.id) return { status: 'current_plan' };
  const current = plans.get(tenant.plan);
  if (current && !isSelfServe(current)) return { status: 'current_not_self_serve', planName: current.name };
  if (tenant.status === 'suspended') return { status: 'tenant_inactive' };

  const audit = { action: 'tenant.plan', requestId: input.requestId };
  let account = await d.store.getAccount(tenant.id);
  const live = (a: BillingAccount | undefined) => !!a?.subscriptionId && a.status !== 'canceled';

  if (d.gateway.mode === 'ledger' || !live(account)) {
    if (d.gateway.mode === 'stripe' && target.overage === 'bill') {
      // A paid plan needs a card: Checkout starts the subscription, its webhook moves the plan.
      const checkout = await startCheckout(d, tenant, {
        plan: target.id,
        // Back to the plans page, which waits for Stripe's word and shows the new plan.
        returnUrl: new URL('/plans', billingReturnUrl(d.config)).toString(),
      });
      switch (checkout.status) {
        case 'created':
          return { status: 'checkout', from: tenant.plan, to: target.id, id: checkout.id, url: checkout.url };
        case 'already_subscribed':
          return { status: 'changed_meanwhile' };
        default:
          return checkout;
      }
    }
    // Nothing to charge (ledger-only, or a move to a hard-stop plan with no subscription): at once.
    return applyDirectly(d, tenant, target, input.actor, audit);
  }

  const downgrade = target.overage === 'hard_stop';
  const planChangedAt = Math.max(d.now().getTime(), account!.planChangedAt + 1);
  const included = includedFor(target, tenant);
  const updated = await d.gateway.updateSubscription(
    account!.subscriptionId!,
    downgrade
      ? { planChangedAt, cancelAtPeriodEnd: true }
      : {
          plan: target.id,
          planChangedAt,
          cancelAtPeriodEnd: false,
          description: includedDescription(included === 'everything' ? {} : included),
        },
    `tollgate-plan-${account!.subscriptionId}-${planChangedAt}`,
  );
  if (!updated.ok) return { status: 'failed', ...updated };

  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    if (attempt > 1) {
      [account, tenant] = await Promise.all([
        d.store.getAccount(tenant.id),
        d.tenants.get(tenant.id).then((t) => t ?? tenant),
      ]);
    }
    if (!account) return { status: 'changed_meanwhile' };
    const decision: Decision = decidePlan(account, tenant, updated.state, {
      eventCreated: null,
      nowSec: Math.floor(d.now().getTime() / 1000),
    });
    if (decision.outcome === 'stale') return { status: 'changed_meanwhile' };
    // A move to a hard-stop plan other than the one a subscription falls back to names its own.
    if (downgrade && decision.outcome === 'plan_changed' && tenant.plan !== target.id) {
      decision.tenant = { plan: target.id };
    }
    const committed = await commitDecision(d, {
      account,
      tenant,
      decision,
      actor: input.actor,
      audit: {
        ...audit,
        reason: downgrade
          ? `owner moved to ${target.id}; the Stripe subscription ends at the period's end`
          : `owner moved to ${target.id}; the Stripe subscription's plan changed`,
      },
    });
    if (committed === 'committed') {
      return { status: 'applied', from: input.tenant.plan, to: target.id, endsAtPeriodEnd: downgrade };
    }
  }
  return { status: 'changed_meanwhile' };
}

async function applyDirectly(
  d: BillingDeps,
  tenant: Tenant,
  target: Plan,
  actor: AuditActor,
  audit: { action: string; requestId: string | null },
): Promise<PlanChangeResult> {
  const now = d.now();
  const result = await d.store.transact([
    tenantUpdateItem(d.store.table, tenant, { plan: target.id }),
    d.audit.putItem(
      d.audit.entry(
        {
          actor,
          action: audit.action,
          target: { type: 'tenant', id: tenant.id, tenantId: tenant.id },
          before: { plan: tenant.plan },
          after: { plan: target.id, reason: 'owner changed plan' },
          requestId: audit.requestId,
        },
        now,
      ),
    ),
  ]);
  if (!result.ok) return { status: 'changed_meanwhile' };
  d.forgetTenant(tenant.id);
  return { status: 'applied', from: tenant.plan, to: target.id, endsAtPeriodEnd: false };
}
