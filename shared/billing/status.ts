import type { AuditActor } from '../accounts/audit-log';
import { keys } from '../db/keys';
import type { TransactItem } from '../db/transact';
import type { Tenant, TenantStatus } from '../tenants/tenant-store';
import type { BillingEvent, BillingStatus } from './billing';
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
    | 'duplicate_subscription';
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

function ended(a: BillingAccount, t: Tenant, created: number): Decision {
  const owes = owing(a.status);
  const tenant: NonNullable<Decision['tenant']> = {};
  if (t.plan === PAID_PLAN) tenant.plan = FREE_PLAN;
  if (owes && (t.status === 'active' || t.status === 'past_due')) tenant.status = 'suspended';
  return {
    outcome: owes ? 'suspended' : 'canceled',
    account: {
      subscriptionId: null,
      billedUntilMs: created * 1000,
      status: owes ? 'suspended' : 'canceled',
      suspendedByBilling: owes || a.suspendedByBilling,
      statusEventAt: Math.max(created, a.statusEventAt),
    },
    tenant: Object.keys(tenant).length ? tenant : undefined,
    notify: owes && a.status !== 'suspended' ? 'suspended' : undefined,
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
      if (t.plan === FREE_PLAN) tenant.plan = PAID_PLAN;
      if (newer) Object.assign(tenant, tenantBack(a, t) ?? {});
      return {
        outcome: 'subscribed',
        account: {
          subscriptionId: e.subscriptionId,
          billedFromMs: e.created * 1000,
          billedUntilMs: null,
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
      if (e.status === 'active' || e.status === 'trialing') return toActive(a, t, e.created);
      if (e.status === 'past_due' || e.status === 'unpaid') return toPastDue(a, t, e.created);
      if (e.status === 'canceled' || e.status === 'incomplete_expired') return ended(a, t, e.created);
      return { outcome: 'ignored' };
    case 'subscription.deleted':
      if (e.subscriptionId !== a.subscriptionId) return { outcome: 'ignored' };
      return ended(a, t, e.created);
    case 'ignored':
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
            action: 'tenant.billing',
            target: { type: 'tenant', id: t.id, tenantId: t.id },
            before: { status: t.status, plan: t.plan, billing_status: a.status },
            after: {
              status: tc?.status ?? t.status,
              plan: tc?.plan ?? t.plan,
              billing_status: decision.account?.status ?? a.status,
              ...(event ? { reason: `${event.type} (${event.id})` } : { reason: 'grace period over' }),
            },
            requestId: null,
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

function tenantUpdateItem(table: string, t: Tenant, tc: NonNullable<Decision['tenant']>): TransactItem {
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
