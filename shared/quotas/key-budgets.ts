import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Member } from '../accounts/user-store';
import type { ApiKey, KeyBudgetAlertRule } from '../auth/api-key-store';
import { TtlCache } from '../cache';
import { keys } from '../db/keys';
import type { EmailSender } from '../email/email-sender';
import { keyBudgetAlertMessage } from '../email/templates';
import type { Logger } from '../logger';
import { formatUsd } from '../metering/pricing';
import type { KeyMonth } from '../metering/usage-consumer';
import type { AlertStore, AlertThreshold, UsageAlert } from './alerts';
import { budgetOf, type KeyBudget, reachedBudgetThresholds, recipientAddresses } from './key-budget-rules';
import { windowsAt } from './windows';

/** What the key budget alerts read: the key, the team, the tenant's name. */
export interface KeyBudgetSources {
  apiKeys: { get(tenantId: string, keyId: string): Promise<ApiKey | undefined> };
  users: { listMembers(tenantId: string): Promise<Member[]> };
  tenants: { get(tenantId: string): Promise<{ name: string } | undefined> };
}

/**
 * Per-key budget alerts: each threshold of a key's budget reached once per key per month is
 * recorded (a conditional put keyed by tenant x month x key x threshold, so however many consumers
 * or instances notice it at once, one wins) and emailed by its winner to the rule's recipients.
 *
 * Measured on the key's month total that the usage consumer keeps from the usage records (exact,
 * counted once), and checked there after each batch: off the request path, in any mode, so an
 * alert-only budget costs admission nothing. A hard stop's 100% is also raised when the cap
 * refuses a request (`onRefused`), as the tenant's spend cap does: a cap stops requests before the
 * month's use can reach it exactly. A check that fails is logged and made again on the key's next
 * use (the thresholds are levels, not edges).
 */
export class KeyBudgetAlerts {
  /** Keys (with or without a budget) for a short while: a batch of one key's records reads it once. */
  private readonly keysCache: TtlCache<ApiKey | null>;
  /** Alerts known to exist: after the first try a reached threshold costs nothing. */
  private readonly known: TtlCache<true>;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly usageTable: string,
    private readonly store: AlertStore,
    private readonly sources: KeyBudgetSources,
    private readonly email: EmailSender,
    private readonly opts: {
      publicUrl: string;
      now: () => Date;
      log?: Logger;
      /** How long a key's budget may lag an owner's change here (AUTH_CACHE_TTL_MS). */
      keyCacheMs: number;
    },
  ) {
    this.keysCache = new TtlCache(opts.keyCacheMs, 10_000);
    this.known = new TtlCache(3_600_000, 50_000);
  }

  /** A key's month spend as the usage consumer counted it (nano-USD). */
  async monthSpend(tenantId: string, keyId: string, month: string): Promise<number> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.usageTable,
        Key: keys.usageKeyMonth(tenantId, keyId, month),
        ConsistentRead: true,
        ProjectionExpression: 'costNanoUsd',
      }),
    );
    return Number(out.Item?.costNanoUsd ?? 0);
  }

  /** After a consumer batch: every touched key with a budget, checked. Never throws. */
  async afterBatch(touched: KeyMonth[]): Promise<void> {
    await Promise.all(
      touched.map((t) =>
        this.check(t).catch((err: unknown) =>
          this.opts.log?.warn({ err, tenantId: t.tenantId, keyId: t.keyId }, 'key budget alert check failed'),
        ),
      ),
    );
  }

  /** Raises the thresholds of the key's budget that its month spend has reached; returns the new ones. */
  async check(t: KeyMonth): Promise<UsageAlert[]> {
    const key = await this.key(t.tenantId, t.keyId);
    const budget = budgetOf(key?.limits);
    if (!key || !budget || budget.alerts.length === 0) return [];
    const pending = budget.alerts.filter((r) => !this.known.get(memoKey(t, r.threshold)));
    if (pending.length === 0) return [];
    const used = await this.monthSpend(t.tenantId, t.keyId, t.month);
    const reached = reachedBudgetThresholds({ ...budget, alerts: pending }, used);
    return this.raise(key, budget, t.month, reached, used);
  }

  /**
   * A request refused by the key's hard-stop budget: its 100% alert, if the budget has one. The
   * month's use is the consumer's total (what was spent; the refusing counter also holds capacity
   * that leases keep unused).
   */
  async onRefused(tenantId: string, keyId: string, now: Date): Promise<UsageAlert[]> {
    const month = windowsAt(now).month;
    const t = { tenantId, keyId, month };
    if (this.known.get(memoKey(t, 100))) return [];
    const key = await this.key(tenantId, keyId);
    const budget = budgetOf(key?.limits);
    const rule = budget?.alerts.find((r) => r.threshold === 100);
    if (!key || !budget || budget.mode !== 'hard_stop' || !rule) return [];
    const used = await this.monthSpend(tenantId, keyId, month);
    return this.raise(key, budget, month, [rule], used);
  }

  private async key(tenantId: string, keyId: string): Promise<ApiKey | null> {
    return this.keysCache.getOrLoad(
      `${tenantId}#${keyId}`,
      async () => (await this.sources.apiKeys.get(tenantId, keyId)) ?? null,
    );
  }

  private async raise(
    key: ApiKey,
    budget: KeyBudget,
    month: string,
    rules: KeyBudgetAlertRule[],
    used: number,
  ): Promise<UsageAlert[]> {
    if (rules.length === 0) return [];
    const t = { tenantId: key.tenantId, keyId: key.id, month };
    const members = await this.sources.users.listMembers(key.tenantId);
    const at = this.opts.now().toISOString();
    const recorded: { alert: UsageAlert; to: string[] }[] = [];
    for (const rule of rules) {
      const to = recipientAddresses(rule.recipients, members, key.createdBy);
      const alert: UsageAlert = {
        tenantId: key.tenantId,
        month,
        metric: 'key_spend',
        threshold: rule.threshold,
        used,
        limit: budget.amountNanoUsd,
        at,
        notified: to.length ? to.join(', ') : null,
        keyId: key.id,
        keyName: key.name,
        budgetMode: budget.mode,
        recipients: to,
      };
      if (await this.store.record(alert)) recorded.push({ alert, to });
      this.known.set(memoKey(t, rule.threshold), true);
    }
    if (recorded.length === 0) return [];
    // Several thresholds crossed at once: each address gets one email, for the highest it is told of.
    const highest = new Map<string, UsageAlert>();
    for (const { alert, to } of recorded) {
      for (const address of to) {
        const prev = highest.get(address);
        if (!prev || prev.threshold < alert.threshold) highest.set(address, alert);
      }
    }
    const tenantName = (await this.sources.tenants.get(key.tenantId))?.name ?? key.tenantId;
    for (const [to, a] of highest) {
      await this.email.send(
        keyBudgetAlertMessage(to, this.opts.publicUrl, {
          tenantName,
          keyName: key.name,
          keyPrefix: key.visiblePrefix,
          month,
          threshold: a.threshold,
          used: `$${formatUsd(a.used)}`,
          budget: `$${formatUsd(a.limit)}`,
          mode: budget.mode,
        }),
      );
    }
    return recorded.map((r) => r.alert);
  }
}

function memoKey(t: KeyMonth, threshold: AlertThreshold | number): string {
  return `${t.tenantId}#${t.keyId}#${t.month}#${threshold}`;
}
