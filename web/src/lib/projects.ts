import type { Project } from './types';

/** A project's limits in a few words (none: the account's apply). */
export function limitsSummary(p: Project): string {
  const l = p.limits;
  if (!l) return 'the account’s';
  const parts = [
    l.requests_per_minute !== undefined && `${l.requests_per_minute} req/min`,
    l.tokens_per_minute !== undefined && `${l.tokens_per_minute} tokens/min`,
    l.monthly_budget_usd !== undefined &&
      `$${Number(l.monthly_budget_usd)}/month${l.budget_mode === 'alert_only' ? ' (alert only)' : ''}`,
  ].filter(Boolean);
  return parts.join(', ');
}
