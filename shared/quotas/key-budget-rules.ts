import type { Member } from '../accounts/user-store';
import type { BudgetRecipient, KeyBudgetAlertRule, KeyBudgetMode, KeyLimits } from '../auth/api-key-store';

/**
 * A key budget's rules, pure: what a stored budget means (defaults filled in), which thresholds a
 * month's spend has reached, who is told. Read by the API's views and validation and by the alerts.
 */

/** The thresholds a key budget may alert at, percent of its monthly amount (as the tenant's alerts). */
export const BUDGET_THRESHOLDS = [50, 80, 100] as const;

/** A key's budget as it applies: the amount, the mode and the alert rules (defaults filled in). */
export interface KeyBudget {
  amountNanoUsd: number;
  mode: KeyBudgetMode;
  alerts: KeyBudgetAlertRule[];
}

/** Who a budget alerts when its owner said nothing: the tenant's owners and the key's creator. */
export const DEFAULT_BUDGET_RECIPIENTS: BudgetRecipient[] = [{ kind: 'owner' }, { kind: 'creator' }];

/** The alert rules of a budget set without any: 50, 80 and 100%, each to the default recipients. */
export const defaultBudgetAlerts = (): KeyBudgetAlertRule[] =>
  BUDGET_THRESHOLDS.map((threshold) => ({ threshold, recipients: [...DEFAULT_BUDGET_RECIPIENTS] }));

/**
 * A key's budget from its limits, or undefined when it has no monthly amount. A cap stored before
 * budgets had modes (no `budgetMode`, no `budgetAlerts`) is a hard stop with the default alerts.
 */
export function budgetOf(limits: KeyLimits | null | undefined): KeyBudget | undefined {
  if (!limits || limits.spendCapNanoUsd === undefined) return undefined;
  return {
    amountNanoUsd: limits.spendCapNanoUsd,
    mode: limits.budgetMode ?? 'hard_stop',
    alerts: limits.budgetAlerts ?? defaultBudgetAlerts(),
  };
}

/** The thresholds of `budget` that `usedNanoUsd` has reached (exact: integer arithmetic in BigInt). */
export function reachedBudgetThresholds(budget: KeyBudget, usedNanoUsd: number): KeyBudgetAlertRule[] {
  if (budget.amountNanoUsd <= 0) return [];
  const used = BigInt(Math.max(0, Math.trunc(usedNanoUsd))) * 100n;
  return budget.alerts.filter((r) => used >= BigInt(budget.amountNanoUsd) * BigInt(r.threshold));
}

/**
 * The addresses a rule names, among the tenant's members now: the owners, the key's creator (if
 * still a member), named members (if still members). A rule that names nobody who is still a member
 * goes to the owners, so an alert is never raised in silence.
 */
export function recipientAddresses(
  recipients: BudgetRecipient[],
  members: Member[],
  createdBy: string | null | undefined,
): string[] {
  const owners = members.filter((m) => m.role === 'owner').map((m) => m.email);
  const byId = new Map(members.map((m) => [m.userId, m.email]));
  const out = new Set<string>();
  for (const r of recipients) {
    if (r.kind === 'owner') for (const o of owners) out.add(o);
    else if (r.kind === 'creator') {
      const email = createdBy ? byId.get(createdBy) : undefined;
      if (email) out.add(email);
    } else {
      const email = byId.get(r.userId);
      if (email) out.add(email);
    }
  }
  if (out.size === 0) for (const o of owners) out.add(o);
  return [...out];
}
