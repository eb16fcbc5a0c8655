import { Field } from '../../components/ui';
import type { ApiFailure } from '../../lib/api';
import { value } from '../../lib/forms';
import type { KeyLimits, UsageAlert } from '../../lib/types';

/** The thresholds a key budget may alert at (percent of its monthly amount). */
export const THRESHOLDS = [50, 80, 100] as const;
type Threshold = (typeof THRESHOLDS)[number];
export type BudgetMode = 'hard_stop' | 'alert_only';

/** A key budget's mode and alerts as the form holds them: recipients as typed, comma-separated. */
export interface BudgetDraft {
  budget_mode: BudgetMode;
  alerts: Record<Threshold, { on: boolean; recipients: string }>;
}

const DEFAULT_RECIPIENTS = 'owner, creator';

export const emptyBudgetDraft = (): BudgetDraft => ({
  budget_mode: 'hard_stop',
  alerts: { 50: on(), 80: on(), 100: on() },
});
function on(recipients = DEFAULT_RECIPIENTS) {
  return { on: true, recipients };
}

export function budgetDraftOf(l: KeyLimits | null): BudgetDraft {
  const d = emptyBudgetDraft();
  if (!l || l.monthly_spend_cap_usd === undefined) return d;
  d.budget_mode = (l.budget_mode as BudgetMode | undefined) ?? 'hard_stop';
  if (l.budget_alerts) {
    for (const t of THRESHOLDS) {
      const rule = l.budget_alerts.find((a) => a.threshold === t);
      d.alerts[t] = rule ? on(rule.recipients.join(', ')) : { on: false, recipients: DEFAULT_RECIPIENTS };
    }
  }
  return d;
}

/** The budget's fields as the API takes them (the API checks the values and names a bad one). */
export function budgetOf(d: BudgetDraft): Pick<KeyLimits, 'budget_mode' | 'budget_alerts'> {
  return {
    budget_mode: d.budget_mode,
    budget_alerts: enabled(d).map((t) => ({
      threshold: t,
      recipients: d.alerts[t].recipients
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    })),
  };
}

const enabled = (d: BudgetDraft) => THRESHOLDS.filter((t) => d.alerts[t].on);

/** The message of an API error about row `t` of the alerts (the API names it by its place among those sent). */
function rowError(d: BudgetDraft, error: ApiFailure | null, t: Threshold): string | null {
  const m = error?.param?.match(/^limits\.budget_alerts\[(\d+)\]/);
  if (!m) return null;
  return enabled(d)[Number(m[1])] === t ? error!.message : null;
}

/** A key budget in a few words, for the keys table. */
export function budgetText(l: KeyLimits): string | null {
  if (l.monthly_spend_cap_usd === undefined) return null;
  const mode = l.budget_mode === 'alert_only' ? 'alerts only' : 'hard stop';
  const at = (l.budget_alerts ?? []).map((a) => `${a.threshold}%`).join('/');
  return `$${l.monthly_spend_cap_usd}/month budget (${mode}${at ? `, alerts ${at}` : ', no alerts'})`;
}

/**
 * A key budget's mode and alerts, under the monthly amount: whether the amount refuses requests or
 * only alerts, and for each of 50/80/100% whether it alerts and whom (`owner`, `creator`, or team
 * members' addresses).
 */
export function BudgetFields(props: {
  idPrefix: string;
  draft: BudgetDraft;
  onChange: (d: BudgetDraft) => void;
  error: ApiFailure | null;
}) {
  const d = props.draft;
  const set = (t: Threshold, change: Partial<BudgetDraft['alerts'][Threshold]>) =>
    props.onChange({ ...d, alerts: { ...d.alerts, [t]: { ...d.alerts[t], ...change } } });
  const whole = props.error?.param === 'limits.budget_alerts' ? props.error.message : null;
  return (
    <div class="stack" data-testid={`${props.idPrefix}-budget`}>
      <Field
        label="When the budget is reached"
        id={`${props.idPrefix}-budget-mode`}
        error={props.error?.param === 'limits.budget_mode' ? props.error.message : null}
      >
        {(a) => (
          <select
            {...a}
            value={d.budget_mode}
            onChange={(e) => props.onChange({ ...d, budget_mode: value(e) as BudgetMode })}
          >
            <option value="hard_stop">Hard stop: refuse requests past it (429)</option>
            <option value="alert_only">Alert only: keep serving, just tell us</option>
          </select>
        )}
      </Field>
      <p class="hint">
        Alerts go once a month per threshold. Recipients: <code>owner</code> (every owner),{' '}
        <code>creator</code> (who made the key) or team members' email addresses, separated by commas.
      </p>
      {whole && <p class="field-error">{whole}</p>}
      {THRESHOLDS.map((t) => (
        <div key={t} class="budget-rule">
          <div class="field field-check">
            <label>
              <input
                type="checkbox"
                id={`${props.idPrefix}-alert-${t}`}
                checked={d.alerts[t].on}
                onChange={(e) => set(t, { on: (e.currentTarget as HTMLInputElement).checked })}
              />
              Alert at {t}%
            </label>
          </div>
          <Field
            label={`Who is told at ${t}%`}
            id={`${props.idPrefix}-alert-${t}-to`}
            error={rowError(d, props.error, t)}
          >
            {(a) => (
              <input
                {...a}
                disabled={!d.alerts[t].on}
                value={d.alerts[t].recipients}
                onInput={(e) => set(t, { recipients: value(e) })}
              />
            )}
          </Field>
        </div>
      ))}
    </div>
  );
}

/** The "Limit" cell of a key budget's alert in the alerts list: the key by name, and the mode. */
export function keyAlertLabel(a: UsageAlert): string {
  const mode = a.key?.budget_mode === 'alert_only' ? 'alert only' : 'hard stop';
  return `API key “${a.key?.name ?? a.key?.id ?? '?'}” budget (${mode})`;
}

/** Who an alert was emailed to: all of a key budget's recipients. */
export function alertRecipients(a: UsageAlert): string {
  return a.recipients.length ? a.recipients.join(', ') : (a.notified ?? '—');
}
