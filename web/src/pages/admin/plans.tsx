import { useState } from 'preact/hooks';
import { announce, Empty, ErrorNotice, Field, Loading, PageHeader } from '../../components/ui';
import { api, get, post } from '../../lib/api';
import { useSubmit, value } from '../../lib/forms';
import { asText, limitParams, merge, patchOf, valueAt, wire } from '../../lib/limits';
import type { List, Plan } from '../../lib/types';
import { useResource } from '../../lib/use-resource';

const overages = [
  { id: 'hard_stop', label: 'Stop at the included units' },
  { id: 'bill', label: 'Bill past them, up to the spend cap' },
];

/** One plan's form: name, overage, every limit (an empty box removes it: unlimited, or none included). */
function PlanCard(props: { plan: Plan; onDone: () => void }) {
  const p = props.plan;
  const initial = () => ({
    name: p.name,
    overage: p.overage as string,
    ...Object.fromEntries(limitParams.map((l) => [l.param, asText(valueAt(p, l.param))])),
    trial_usd: p.trial_usd === null ? '' : String(Number(p.trial_usd)),
    trial_days: p.trial_days === null ? '' : String(p.trial_days),
  });
  const [draft, setDraft] = useState<Record<string, string>>(initial);
  const changed = Object.keys(draft).filter(
    (k) => draft[k] !== initial()[k as keyof ReturnType<typeof initial>],
  );
  const save = useSubmit(async () => {
    let patch: Record<string, unknown> = {};
    for (const k of changed) {
      const l = limitParams.find((x) => x.param === k);
      const v = draft[k] ?? '';
      if (k === 'trial_usd') patch.trial_usd = v.trim() === '' ? null : v.trim();
      else if (k === 'trial_days') patch.trial_days = v.trim() === '' ? null : Number(v);
      else patch = merge(patch, l ? patchOf(k, wire(v, l.money)) : { [k]: v });
    }
    await api<Plan>('PATCH', `/admin/plans/${encodeURIComponent(p.id)}`, { body: patch });
    announce(`Plan ${p.name} saved. Tenants on it get the new limits within seconds.`);
    props.onDone();
  });
  const set = (k: string) => (e: Event) => setDraft({ ...draft, [k]: value(e) });
  const shown = new Set(['name', 'overage', 'trial_usd', 'trial_days', ...limitParams.map((l) => l.param)]);
  return (
    <section class="card" aria-labelledby={`plan-${p.id}`}>
      <h2 id={`plan-${p.id}`}>
        {p.name} <code class="muted">{p.id}</code>
      </h2>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
      >
        <div class="grid-2">
          <Field label="Name" id={`${p.id}-name`} error={save.fieldError('name')}>
            {(a) => <input {...a} value={draft.name} onInput={set('name')} />}
          </Field>
          <Field label="Past the included units" id={`${p.id}-overage`} error={save.fieldError('overage')}>
            {(a) => (
              <select {...a} value={draft.overage} onChange={set('overage')}>
                {overages.map((o) => (
                  <option key={o.id} value={o.id}>
                    {o.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <div class="grid-3">
          {limitParams.map((l) => (
            <Field
              key={l.param}
              label={l.label}
              id={`${p.id}-${l.param.replace('.', '-')}`}
              hint={
                draft[l.param] ? undefined : l.param.startsWith('included') ? 'none included' : 'unlimited'
              }
              error={save.fieldError(l.param)}
            >
              {(a) => (
                <input
                  {...a}
                  inputMode={l.money ? 'decimal' : 'numeric'}
                  value={draft[l.param]}
                  onInput={set(l.param)}
                />
              )}
            </Field>
          ))}
        </div>
        <div class="grid-3">
          <Field
            label="Trial credit (USD)"
            id={`${p.id}-trial-usd`}
            hint={draft.trial_usd ? 'granted once when a new tenant verifies its email' : 'no trial'}
            error={save.fieldError('trial_usd')}
          >
            {(a) => <input {...a} inputMode="decimal" value={draft.trial_usd} onInput={set('trial_usd')} />}
          </Field>
          <Field label="Trial lasts (days)" id={`${p.id}-trial-days`} error={save.fieldError('trial_days')}>
            {(a) => <input {...a} inputMode="numeric" value={draft.trial_days} onInput={set('trial_days')} />}
          </Field>
        </div>
        {save.error && !shown.has(save.error.param ?? '') && <ErrorNotice error={save.error} />}
        <div class="form-actions">
          <button type="submit" class="btn btn-primary" disabled={save.busy || changed.length === 0}>
            Save {p.name}
          </button>
        </div>
      </form>
    </section>
  );
}

function NewPlan(props: { onDone: () => void }) {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [overage, setOverage] = useState('bill');
  const form = useSubmit(async () => {
    await post<Plan>('/admin/plans', { id, name, overage });
    announce(`Plan ${name} created: set its limits below, then move tenants to it.`);
    setId('');
    setName('');
    props.onDone();
  });
  return (
    <form
      class="inline-form card"
      aria-label="New plan"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void form.run();
      }}
    >
      <Field label="New plan id" id="new-plan-id" error={form.fieldError('id')}>
        {(a) => <input {...a} placeholder="e.g. team-2026" value={id} onInput={(e) => setId(value(e))} />}
      </Field>
      <Field label="Name" id="new-plan-name" error={form.fieldError('name')}>
        {(a) => <input {...a} value={name} onInput={(e) => setName(value(e))} />}
      </Field>
      <Field label="Past the included units" id="new-plan-overage" error={form.fieldError('overage')}>
        {(a) => (
          <select {...a} value={overage} onChange={(e) => setOverage(value(e))}>
            {overages.map((o) => (
              <option key={o.id} value={o.id}>
                {o.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <button type="submit" class="btn" disabled={form.busy}>
        Create plan
      </button>
      {form.error && !['id', 'name', 'overage'].includes(form.error.param ?? '') && (
        <ErrorNotice error={form.error} />
      )}
    </form>
  );
}

/** Plans: what each includes per month, its rate limits and spend cap. Prices are per model version (Models). */
export default function PlansPage() {
  const plans = useResource((signal) => get<List<Plan>>('/admin/plans', { signal }), []);
  return (
    <>
      <PageHeader
        title="Plans"
        description="Included units, rate limits and spend caps per plan. Prices are per model version, on the Models page; a tenant's own exceptions are on its page."
      />
      <NewPlan onDone={plans.reload} />
      {plans.state === 'loading' && !plans.data && <Loading label="Loading plans…" />}
      {plans.state === 'error' && <ErrorNotice error={plans.error} onRetry={plans.reload} />}
      {plans.state === 'ok' && plans.data.data.length === 0 && <Empty title="No plans" />}
      {plans.state === 'ok' &&
        plans.data.data.map((p) => (
          <PlanCard key={`${p.id}-${JSON.stringify(p)}`} plan={p} onDone={plans.reload} />
        ))}
    </>
  );
}
