import type { AuditActor } from '../accounts/audit-log';
import { keys } from '../db/keys';
import type { TransactItem } from '../db/transact';
import type { Tenant, TenantStatus } from '../tenants/tenant-store';
import type { BillingEvent, BillingStatus, SubscriptionPlanState } from './billing';
import { type BillingDeps, billingReturnUrl, FREE_PLAN, graceEndsAt, PAID_PLAN } from './billing-deps';
import type { BillingAccount } from './billing-store';
import { pastDueMessage, restoredMessage, suspendedMessage } from './emails';

/**
 * What an event (or the grace clock) does to a tenant: pure, decided from the account and tenant
 * as read, then committed in one transaction conditional on both being unchanged.
 *
 * active --payment failed--> past_due --grace over--> suspended
 *    ^                          |                        |
 *    +-------- paid ------------+------------------------+
 * A subscription that ends while money is owed leaves the tenant suspended until it is paid.
 * Events carry the provider's `created` time: one older than the event that set the current
 * status is stale and changes nothing (webhooks arrive out of order).
 */
export interface Decision {
  outcome:
    | 'subscribed'
    | 'active'
    | 'past_due'
    | 'suspended'
    | 'canceled'
    | 'unchanged'
    | 'stale'
    | 'ignored'
    | 'duplicate_subscription'
    | 'plan_changed';
  account?: Partial<Omit<BillingAccount, 'tenantId'>>;
  tenant?: { status?: TenantStatus; plan?: string; pastDueSince?: string | null };
  notify?: 'past_due' | 'suspended' | 'restored';
  /** A second subscription (two Checkouts completed): cancelled before the event is recorded. */
  cancelSubscription?: string;
}

const owing = (s: BillingStatus) => s === 'past_due' || s === 'suspended';

/** The tenant's way back to active after a payment: only from what billing itself did to it. */
function tenantBack(a: BillingAccount, t: Tenant): Decision['tenant'] {
  if (t.status === 'past_due' || (t.status === 'suspended' && a.suspendedByBilling)) {
    return { status: 'active', pastDueSince: null };
  }
  return undefined;
}

function toActive(a: BillingAccount, t: Tenant, created: number): Decision {
  if (created < a.statusEventAt) return { outcome: 'stale' };
  if (!owing(a.status)) {
    return a.status === 'active'
      ? { outcome: 'unchanged', account: { statusEventAt: created } }
      : { outcome: 'ignored' };
  }
  return {
    outcome: a.subscriptionId ? 'active' : 'canceled',
    account: {
      status: a.subscriptionId ? 'active' : 'canceled',
      pastDueSince: null,
      suspendedByBilling: false,
      statusEventAt: created,
    },
    tenant: tenantBack(a, t),
    notify: 'restored',
  };
}

function toPastDue(a: BillingAccount, t: Tenant, created: number): Decision {
  if (created < a.statusEventAt) return { outcome: 'stale' };
  if (owing(a.status)) return { outcome: 'unchanged', account: { statusEventAt: created } };
  if (a.status !== 'active') return { outcome: 'ignored' };
  const since = new Date(created * 1000).toISOString();
  return {
    outcome: 'past_due',
    account: { status: 'past_due', pastDueSince: since, statusEventAt: created },
    tenant: t.status === 'active' ? { status: 'past_due', pastDueSince: since } : undefined,
    notify: 'past_due',
  };
}

/** The tenant's plan is the subscription's (not one an operator set): plan changes move it. */
const onSubscriptionPlan = (a: BillingAccount, t: Tenant) =>
  t.plan === FREE_PLAN || t.plan === (a.plan ?? PAID_PLAN);

function ended(a: BillingAccount, t: Tenant, created: number): Decision {
  const owes = owing(a.status);
  const tenant: NonNullable<Decision['tenant']> = {};
  if (t.plan !== FREE_PLAN && onSubscriptionPlan(a, t)) tenant.plan = FREE_PLAN;
  // A downgrade to free stopped the billing when it was made, not at the period's end.
  const until =
    a.cancelAtPeriodEnd && a.billedUntilMs !== null
      ? Math.min(a.billedUntilMs, created * 1000)
      : created * 1000;
  if (owes && (t.status === 'active' || t.status === 'past_due')) tenant.status = 'suspended';
  return {
    outcome: owes ? 'suspended' : 'canceled',
    account: {
      subscriptionId: null,
      billedUntilMs: until,
      cancelAtPeriodEnd: false,
      status: owes ? 'suspended' : 'canceled',
      suspendedByBilling: owes || a.suspendedByBilling,
      statusEventAt: Math.max(created, a.statusEventAt),
    },
    tenant: Object.keys(tenant).length ? tenant : undefined,
    notify: owes && a.status !== 'suspended' ? 'suspended' : undefined,
  };
}

/**
 * What a subscription's plan state does to the tenant: the subscription's plan, or free when it is
 * set to end at the period's end (a downgrade: free's limits now, the month's usage so far still
 * invoiced at the period's end, nothing billed after the downgrade). Ordered by when the plan was
 * chosen (`planChangedAt`, which our route writes into the metadata), then by the provider's
 * `created` (`at`, seconds; null for the answer to our own update, which no event orders); an
 * older state changes nothing. Applied from the route's update and again from its webhook: the
 * second finds nothing to change.
 */
export function decidePlan(
  a: BillingAccount,
  t: Tenant,
  s: SubscriptionPlanState,
  at: { eventCreated: number | null; nowSec: number },
): Decision {
  const created = at.eventCreated;
  if (
    s.planChangedAt < a.planChangedAt ||
    (s.planChangedAt === a.planChangedAt && created !== null && created < a.planEventAt)
  ) {
    return { outcome: 'stale' };
  }
  const plan = s.plan ?? a.plan ?? PAID_PLAN;
  const account: Decision['account'] = {
    plan,
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
    planChangedAt: s.planChangedAt,
    planEventAt: Math.max(created ?? 0, a.planEventAt),
  };
  if (plan === a.plan && s.cancelAtPeriodEnd === a.cancelAtPeriodEnd)
    return { outcome: 'unchanged', account };
  const target = s.cancelAtPeriodEnd ? FREE_PLAN : plan;
  // Usage stops going to the provider at a downgrade; a renewal picks it up again.
  account.billedUntilMs = s.cancelAtPeriodEnd ? (created ?? at.nowSec) * 1000 : null;
  return {
    outcome: 'plan_changed',
    account,
    tenant: onSubscriptionPlan(a, t) && t.plan !== target ? { plan: target } : undefined,
  };
}

/** Both halves of a subscription update: its payment status and its plan. */
function merged(status: Decision, plan: Decision): Decision {
  const tenant = status.tenant || plan.tenant ? { ...status.tenant, ...plan.tenant } : undefined;
  return {
    outcome:
      plan.outcome === 'plan_changed'
        ? 'plan_changed'
        : plan.outcome === 'stale' && (status.outcome === 'unchanged' || status.outcome === 'ignored')
          ? 'stale'
          : status.outcome,
    account: status.account || plan.account ? { ...status.account, ...plan.account } : undefined,
    tenant,
    notify: status.notify,
  };
}

/** What a verified provider event does to a tenant. */
export function decideEvent(a: BillingAccount, t: Tenant, e: BillingEvent): Decision {
  switch (e.type) {
    case 'checkout.completed': {
      if (!e.subscriptionId) return { outcome: 'ignored' };
      if (a.subscriptionId === e.subscriptionId) return { outcome: 'unchanged' };
      if (a.subscriptionId && a.status !== 'canceled' && a.status !== 'none') {
        return { outcome: 'duplicate_subscription', cancelSubscription: e.subscriptionId };
      }
      const newer = e.created >= a.statusEventAt;
      const tenant: NonNullable<Decision['tenant']> = {};
      if (t.plan === FREE_PLAN) tenant.plan = e.plan ?? PAID_PLAN;
      if (newer) Object.assign(tenant, tenantBack(a, t) ?? {});
      return {
        outcome: 'subscribed',
        account: {
          subscriptionId: e.subscriptionId,
          billedFromMs: e.created * 1000,
          billedUntilMs: null,
          plan: e.plan ?? PAID_PLAN,
          cancelAtPeriodEnd: false,
          planChangedAt: Math.max(e.planChangedAt, a.planChangedAt),
          planEventAt: e.created,
          ...(newer
            ? { status: 'active', statusEventAt: e.created, pastDueSince: null, suspendedByBilling: false }
            : {}),
        },
        tenant: Object.keys(tenant).length ? tenant : undefined,
      };
    }
    case 'invoice.paid':
      return toActive(a, t, e.created);
    case 'invoice.payment_failed':
      return toPastDue(a, t, e.created);
    case 'subscription.updated':
      if (e.subscriptionId !== a.subscriptionId) return { outcome: 'ignored' };
      if (e.status === 'canceled' || e.status === 'incomplete_expired') return ended(a, t, e.created);
      return merged(
        e.status === 'active' || e.status === 'trialing'
          ? toActive(a, t, e.created)
          : e.status === 'past_due' || e.status === 'unpaid'
            ? toPastDue(a, t, e.created)
            : { outcome: 'ignored' },
        decidePlan(a, t, e, { eventCreated: e.created, nowSec: e.created }),
      );
    case 'subscription.deleted':
      if (e.subscriptionId !== a.subscriptionId) return { outcome: 'ignored' };
      return ended(a, t, e.created);
    case 'payment.succeeded':
    case 'payment.failed':
    case 'ignored':
      // Payments are credited by top-ups.ts, not here.
      return { outcome: 'ignored' };
  }
}

/** The grace clock: a past-due account whose grace period is over is suspended. */
export function decideGrace(a: BillingAccount, t: Tenant, now: Date, graceDays: number): Decision {
  if (a.status !== 'past_due' || !a.pastDueSince) return { outcome: 'unchanged' };
  if (graceEndsAt(a.pastDueSince, graceDays).getTime() > now.getTime()) return { outcome: 'unchanged' };
  return {
    outcome: 'suspended',
    account: { status: 'suspended', suspendedByBilling: true },
    tenant: t.status === 'active' || t.status === 'past_due' ? { status: 'suspended' } : undefined,
    notify: 'suspended',
  };
}

export type CommitResult = 'committed' | 'already_processed' | 'changed_meanwhile';

/**
 * Commits a decision: the event marker (when from an event), the account change, the tenant's
 * status or plan, and an audit entry, in one transaction conditional on the account and tenant
 * being as read. Then evicts the tenant from the key cache and sends the notice (best effort).
 */
export async function commitDecision(
  d: BillingDeps,
  input: {
    account: BillingAccount;
    tenant: Tenant;
    decision: Decision;
    event?: BillingEvent;
    actor: AuditActor;
    /** An owner's plan change: its audit action, reason and request. */
    audit?: { action: string; reason: string; requestId: string | null };
  },
): Promise<CommitResult> {
  const { account: a, tenant: t, decision, event } = input;
  const now = d.now();
  const items: TransactItem[] = [];
  if (event) items.push(d.store.eventMarkerItem(t.id, event, decision.outcome, now));
  if (decision.account) {
    items.push(d.store.accountUpdateItem(t.id, { ...decision.account, updatedAt: now.toISOString() }, a));
  }
  const tc = decision.tenant;
  if (tc) items.push(tenantUpdateItem(d.store.table, t, tc));
  const statusChanged = decision.account?.status !== undefined && decision.account.status !== a.status;
  if (tc || statusChanged) {
    items.push(
      d.audit.putItem(
        d.audit.entry(
          {
            actor: input.actor,
            action: input.audit?.action ?? 'tenant.billing',
            target: { type: 'tenant', id: t.id, tenantId: t.id },
            before: { status: t.status, plan: t.plan, billing_status: a.status },
            after: {
              status: tc?.status ?? t.status,
              plan: tc?.plan ?? t.plan,
              billing_status: decision.account?.status ?? a.status,
              reason: event ? `${event.type} (${event.id})` : (input.audit?.reason ?? 'grace period over'),
            },
            requestId: input.audit?.requestId ?? null,
          },
          now,
        ),
      ),
    );
  }
  if (items.length === 0) return 'committed';
  const result = await d.store.transact(items);
  if (!result.ok) {
    if (event && result.reasons[0]?.Code === 'ConditionalCheckFailed') return 'already_processed';
    return 'changed_meanwhile';
  }
  if (tc) d.forgetTenant(t.id);
  if (decision.notify && t.contactEmail) await notify(d, t, decision, now);
  return 'committed';
}

export function tenantUpdateItem(
  table: string,
  t: Tenant,
  tc: NonNullable<Decision['tenant']>,
): TransactItem {
  const sets: string[] = [];
  const removes: string[] = [];
  const names: Record<string, string> = { '#s': 'status', '#p': 'plan' };
  const values: Record<string, unknown> = { ':read_s': t.status, ':read_p': t.plan };
  if (tc.status) {
    sets.push('#s = :s');
    values[':s'] = tc.status;
  }
  if (tc.plan) {
    sets.push('#p = :p');
    values[':p'] = tc.plan;
  }
  if (tc.pastDueSince === null) removes.push('pastDueSince');
  else if (tc.pastDueSince) {
    sets.push('pastDueSince = :pds');
    values[':pds'] = tc.pastDueSince;
  }
  return {
    Update: {
      TableName: table,
      Key: keys.tenant(t.id),
      UpdateExpression: [
        sets.length ? `SET ${sets.join(', ')}` : '',
        removes.length ? `REMOVE ${removes.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join(' '),
      ConditionExpression: '#s = :read_s AND #p = :read_p',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
}

async function notify(d: BillingDeps, t: Tenant, decision: Decision, now: Date): Promise<void> {
  const to = t.contactEmail!;
  const billingUrl = billingReturnUrl(d.config);
  const since = decision.account?.pastDueSince ?? now.toISOString();
  const message =
    decision.notify === 'past_due'
      ? pastDueMessage(to, {
          tenantName: t.name,
          graceEnds: graceEndsAt(since, d.config.PAST_DUE_GRACE_DAYS),
          billingUrl,
        })
      : decision.notify === 'suspended'
        ? suspendedMessage(to, { tenantName: t.name, billingUrl })
        : restoredMessage(to, { tenantName: t.name });
  await d.email.send(message).catch((err: unknown) => {
    d.log.warn({ err, tenantId: t.id, kind: message.kind }, 'billing notice not sent');
  });
}
