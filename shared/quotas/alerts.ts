import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { TtlCache } from '../cache';
import type { BillingUnit } from '../catalog/types';
import { keys } from '../db/keys';
import type { EmailSender } from '../email/email-sender';
import { usageAlertMessage } from '../email/templates';
import { formatUsd } from '../metering/pricing';
import type { Tenant } from '../tenants/tenant-store';
import { billingUnits, type EffectiveLimits } from './plans';
import type { MonthUse } from './quota-store';

/** Percentages of a limit at which the tenant is told, once each per month. */
export const ALERT_THRESHOLDS = [50, 80, 100] as const;
export type AlertThreshold = (typeof ALERT_THRESHOLDS)[number];

/**
 * What an alert measures: the month's spend against its cap, a unit against what the plan
 * includes, one API key's month spend against its budget (`key_spend`, with `keyId`), or one
 * project's against its budget (`project_spend`, with `projectId`).
 */
export type AlertMetric = 'spend' | `included_${BillingUnit}` | 'key_spend' | 'project_spend';

export interface UsageAlert {
  tenantId: string;
  month: string;
  metric: AlertMetric;
  threshold: AlertThreshold;
  /** The use when it was noticed (nano-USD for `spend`, units otherwise). */
  used: number;
  limit: number;
  at: string;
  /** Where the email went; null when the tenant has no contact address. */
  notified: string | null;
  /** A key budget's alert: the key, its name when the alert was raised, and the budget's mode. */
  keyId?: string;
  keyName?: string;
  budgetMode?: 'hard_stop' | 'alert_only';
  /** Every address emailed (a key budget's alert may go to several). */
  recipients?: string[];
  /** A project budget's alert: the project, and its name when the alert was raised. */
  projectId?: string;
  projectName?: string;
}

export type Reached = Pick<UsageAlert, 'metric' | 'threshold' | 'used' | 'limit'>;

/**
 * The thresholds a month's use has reached: of the effective spend cap, and of each unit the plan
 * includes (on a free plan that is the hard stop; on pay-as-you-go, where billing starts).
 */
export function reachedThresholds(use: MonthUse, limits: EffectiveLimits): Reached[] {
  const out: Reached[] = [];
  const measure = (metric: AlertMetric, used: number, limit: number | undefined) => {
    if (limit === undefined || limit <= 0) return;
    for (const threshold of ALERT_THRESHOLDS) {
      // Integer arithmetic: used / limit >= threshold / 100.
      if (used * 100 >= limit * threshold) out.push({ metric, threshold, used, limit });
    }
  };
  measure('spend', use.costNanoUsd, limits.tenant.spendCapNanoUsd);
  for (const u of billingUnits) measure(`included_${u}`, use.units[u] ?? 0, limits.included[u]);
  return out;
}

const UNIT_WORDS: Record<BillingUnit, string> = {
  input_tokens: 'input tokens',
  output_tokens: 'output tokens',
  images: 'images',
};

function describe(a: Reached, hardStop: boolean) {
  if (a.metric === 'spend') {
    return {
      what: 'monthly spend cap',
      used: `$${formatUsd(a.used)}`,
      limit: `$${formatUsd(a.limit)}`,
      next:
        a.threshold >= 100
          ? 'Requests that would go past the cap are refused (429 spend_cap_reached) until the month ends or the cap is raised.'
          : 'At the cap, requests are refused until the month ends or the cap is raised (PATCH /account/limits).',
    };
  }
  const unit = a.metric.slice('included_'.length) as BillingUnit;
  return {
    what: `included ${UNIT_WORDS[unit]}`,
    used: a.used.toLocaleString('en-US'),
    limit: a.limit.toLocaleString('en-US'),
    next: hardStop
      ? 'At the included amount, requests are refused (429 quota_exceeded) until the month ends or the plan changes.'
      : 'Past the included amount, use is billed at the model’s prices, up to your spend cap.',
  };
}

/** Alerts in the `main` table under their tenant, one item per tenant x month x metric x threshold. */
export class AlertStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Records an alert once: false when it was already recorded (by any instance). */
  async record(alert: UsageAlert): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...keys.usageAlert(alert.tenantId, alert.month, alertSlot(alert), alert.threshold),
            type: 'usage_alert',
            ...alert,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  /** A tenant's alerts, newest month first; one month's with `month`. */
  async list(tenantId: string, opts: { month?: string; limit?: number } = {}): Promise<UsageAlert[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        ExpressionAttributeValues: {
          ':pk': keys.tenant(tenantId).pk,
          ':p': keys.usageAlertPrefix(opts.month),
        },
        ScanIndexForward: false,
        Limit: opts.limit ?? 100,
      }),
    );
    return (out.Items ?? []).map((i) => ({
      tenantId: i.tenantId as string,
      month: i.month as string,
      metric: i.metric as AlertMetric,
      threshold: i.threshold as AlertThreshold,
      used: Number(i.used),
      limit: Number(i.limit),
      at: i.at as string,
      notified: (i.notified as string | null | undefined) ?? null,
      ...(i.keyId
        ? {
            keyId: i.keyId as string,
            keyName: i.keyName as string,
            budgetMode: i.budgetMode as 'hard_stop' | 'alert_only',
            recipients: (i.recipients as string[] | undefined) ?? [],
          }
        : {}),
      ...(i.projectId
        ? {
            projectId: i.projectId as string,
            projectName: i.projectName as string,
            budgetMode: i.budgetMode as 'hard_stop' | 'alert_only',
            recipients: (i.recipients as string[] | undefined) ?? [],
          }
        : {}),
    }));
  }
}

/** What one alert is once per month for: the metric, and for a key or project budget its id too. */
function alertSlot(a: Pick<UsageAlert, 'metric' | 'keyId' | 'projectId'>): string {
  if (a.keyId) return `${a.metric}#${a.keyId}`;
  return a.projectId ? `${a.metric}#${a.projectId}` : a.metric;
}

/**
 * Notices when a tenant's month crosses 50/80/100% of a limit and tells them once: each alert is
 * a conditional put (so one instance in the fleet wins) and an email to the tenant's contact.
 * Each instance remembers which alerts exist, so after the first try a reached threshold costs
 * nothing on later requests; the check itself is arithmetic on counters the request read anyway.
 */
export class UsageAlerts {
  private readonly known: TtlCache<true>;

  constructor(
    private readonly store: AlertStore,
    private readonly email: EmailSender,
    private readonly opts: { publicUrl: string; now: () => Date; memoryMs?: number },
  ) {
    this.known = new TtlCache(opts.memoryMs ?? 3_600_000, 50_000);
  }

  /** Records and sends the alerts `reached` holds that were not recorded yet; returns the new ones. */
  async notify(
    tenant: Tenant,
    month: string,
    reached: Reached[],
    opts: { hardStop: boolean },
  ): Promise<UsageAlert[]> {
    const fresh = reached.filter((r) => !this.known.get(memoKey(tenant.id, month, r)));
    if (fresh.length === 0) return [];
    const at = this.opts.now().toISOString();
    const to = tenant.contactEmail ?? null;
    const recorded: UsageAlert[] = [];
    for (const r of fresh) {
      const alert: UsageAlert = { tenantId: tenant.id, month, ...r, at, notified: to };
      if (await this.store.record(alert)) recorded.push(alert);
      this.known.set(memoKey(tenant.id, month, r), true);
    }
    if (!to) return recorded;
    // Several thresholds of one limit crossed at once: one email, for the highest.
    const highest = new Map<AlertMetric, UsageAlert>();
    for (const a of recorded) {
      const prev = highest.get(a.metric);
      if (!prev || prev.threshold < a.threshold) highest.set(a.metric, a);
    }
    for (const a of highest.values()) {
      await this.email.send(
        usageAlertMessage(to, this.opts.publicUrl, {
          tenantName: tenant.name,
          month,
          threshold: a.threshold,
          ...describe(a, opts.hardStop),
        }),
      );
    }
    return recorded;
  }
}

function memoKey(tenantId: string, month: string, r: Reached): string {
  return `${tenantId}#${month}#${r.metric}#${r.threshold}`;
}
