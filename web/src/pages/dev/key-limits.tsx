import { announce, Dialog, ErrorNotice, Field } from '../../components/ui';
import { type ApiFailure, api } from '../../lib/api';
import { fmtInt } from '../../lib/format';
import { useSubmit, value } from '../../lib/forms';
import type { ApiKey, KeyLimits } from '../../lib/types';
import { useDraft } from '../../lib/use-draft';
import {
  type BudgetDraft,
  BudgetFields,
  budgetDraftOf,
  budgetOf,
  budgetText,
  emptyBudgetDraft,
} from './key-budget';

/** A key's limits in a few words, for the keys table. */
export function limitsText(l: KeyLimits | null): string {
  if (!l) return 'Account limits';
  const parts = [
    l.requests_per_minute !== undefined ? `${fmtInt(l.requests_per_minute)} req/min` : null,
    l.tokens_per_minute !== undefined ? `${fmtInt(l.tokens_per_minute)} tokens/min` : null,
    budgetText(l),
  ].filter(Boolean);
  return parts.length ? parts.join(' · ') : 'Account limits';
}

type NumberBox = 'requests_per_minute' | 'tokens_per_minute' | 'monthly_spend_cap_usd';

export interface LimitDraft {
  requests_per_minute: string;
  tokens_per_minute: string;
  /** The key's monthly budget, USD; its mode and alerts in `budget`. */
  monthly_spend_cap_usd: string;
  budget: BudgetDraft;
}

export const emptyDraft: LimitDraft = {
  requests_per_minute: '',
  tokens_per_minute: '',
  monthly_spend_cap_usd: '',
  budget: emptyBudgetDraft(),
};

export const draftOf = (l: KeyLimits | null): LimitDraft => ({
  requests_per_minute: l?.requests_per_minute?.toString() ?? '',
  tokens_per_minute: l?.tokens_per_minute?.toString() ?? '',
  monthly_spend_cap_usd: l?.monthly_spend_cap_usd?.toString() ?? '',
  budget: budgetDraftOf(l),
});

/** The boxes that hold something, as the API takes them (the API checks the values). */
export function limitsOf(d: LimitDraft): KeyLimits {
  const out: KeyLimits = {};
  for (const k of ['requests_per_minute', 'tokens_per_minute', 'monthly_spend_cap_usd'] as const) {
    if (d[k].trim() !== '') out[k] = Number(d[k]);
  }
  // A budget's mode and alerts only with its amount.
  return out.monthly_spend_cap_usd !== undefined ? { ...out, ...budgetOf(d.budget) } : out;
}

const fields: { name: NumberBox; label: string; step?: string; mode: 'numeric' | 'decimal' }[] = [
  { name: 'requests_per_minute', label: 'Requests per minute', mode: 'numeric' },
  { name: 'tokens_per_minute', label: 'Tokens per minute', mode: 'numeric' },
  { name: 'monthly_spend_cap_usd', label: 'Spend cap, USD per month', step: '0.01', mode: 'decimal' },
];

/** The three limit boxes, each showing the API's error when its `param` names that box. */
export function KeyLimitFields(props: {
  idPrefix: string;
  draft: LimitDraft;
  onChange: (d: LimitDraft) => void;
  error: ApiFailure | null;
  /** One box under another (a narrow dialog), else side by side. */
  stacked?: boolean;
}) {
  return (
    <>
      <div class={props.stacked ? 'stack' : 'grid-3'}>
        {fields.map((f) => (
          <Field
            key={f.name}
            label={f.label}
            id={`${props.idPrefix}-${f.name}`}
            error={props.error?.param === `limits.${f.name}` ? props.error.message : null}
          >
            {(a) => (
              <input
                {...a}
                type="number"
                step={f.step}
                inputMode={f.mode}
                placeholder="account limit"
                value={props.draft[f.name]}
                onInput={(e) => props.onChange({ ...props.draft, [f.name]: value(e) })}
              />
            )}
          </Field>
        ))}
      </div>
      {props.draft.monthly_spend_cap_usd.trim() !== '' && (
        <BudgetFields
          idPrefix={props.idPrefix}
          draft={props.draft.budget}
          onChange={(budget) => props.onChange({ ...props.draft, budget })}
          error={props.error}
        />
      )}
    </>
  );
}

/** An error none of the boxes shows. */
export const generalError = (e: ApiFailure | null, shown: string[] = []) =>
  e && !(e.param && (e.param.startsWith('limits.') || shown.includes(e.param))) ? e : null;

/** Changes a key's limits after creation (PATCH /account/keys/{id}); empty boxes fall back to the account's. */
export function EditLimitsDialog(props: { apiKey: ApiKey | null; onClose: () => void; onDone: () => void }) {
  const k = props.apiKey;
  const [draft, setDraft] = useDraft(k, (key) => draftOf(key?.limits ?? null));
  const form = useSubmit(async () => {
    if (!k) return;
    const limits = limitsOf(draft);
    await api<ApiKey>('PATCH', `/account/keys/${k.id}`, {
      body: { limits: Object.keys(limits).length ? limits : null },
    });
    announce(`Limits of “${k.name}” saved.`);
    props.onDone();
    props.onClose();
  });
  const close = () => {
    form.setError(null);
    props.onClose();
  };
  const other = generalError(form.error);
  return (
    <Dialog open={!!k} title="Key limits" onClose={close}>
      {k && (
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void form.run();
          }}
        >
          <p>
            Narrow <strong>{k.name}</strong> (<code>{k.prefix}…</code>) below the account's limits. Leave a
            box empty for the account's limit. Applies within seconds.
          </p>
          <KeyLimitFields idPrefix="edit-key" draft={draft} onChange={setDraft} error={form.error} stacked />
          {other && <ErrorNotice error={other} title="Could not save the limits" />}
          <div class="dialog-actions">
            <button type="button" class="btn" onClick={close}>
              Cancel
            </button>
            <button type="submit" class="btn btn-primary" disabled={form.busy}>
              {form.busy ? 'Saving…' : 'Save limits'}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
