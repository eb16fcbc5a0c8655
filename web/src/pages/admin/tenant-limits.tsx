import { Table } from '../../components/table';
import { announce, ErrorNotice, Loading } from '../../components/ui';
import { api, get } from '../../lib/api';
import { fmtInt, fmtUsd } from '../../lib/format';
import { useSubmit, value } from '../../lib/forms';
import { asText, limitParams, merge, patchOf, valueAt, wire } from '../../lib/limits';
import type { Limits } from '../../lib/types';
import { useDraft } from '../../lib/use-draft';
import { useResource } from '../../lib/use-resource';

/**
 * An operator's overrides of a tenant's plan limits: each limit beside the plan's value and the
 * effective one; an empty box means "the plan's value", Clear removes an override at once.
 */
interface Row {
  /** The field as the API names it (and as an error's `param` names it). */
  param: string;
  label: string;
  plan: string | number | null | undefined;
  override: string | number | null | undefined;
  effective: string | number | null | undefined;
  money?: boolean;
}

/** Each limit: the plan's value, this tenant's override, and what applies (effective has the same fields). */
const rowsOf = (l: Limits): Row[] =>
  limitParams.map((f) => ({
    ...f,
    plan: valueAt(l.plan, f.param),
    override: valueAt(l.overrides, f.param),
    effective: valueAt({ ...l.effective, included: nonNull(l.effective.included) }, f.param) ?? null,
  }));

/** The boxes as the server's overrides fill them: empty means "the plan's value". */
const draftOf = (l: Limits | undefined): Record<string, string> =>
  l ? Object.fromEntries(rowsOf(l).map((r) => [r.param, asText(r.override)])) : {};

const nonNull = (o: Record<string, number | null>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null)) as Record<string, number>;

const show = (v: string | number | null | undefined, money?: boolean) =>
  v === null || v === undefined ? 'unlimited' : money ? fmtUsd(v) : fmtInt(Number(v));

export function TenantLimits(props: { tenantId: string }) {
  const path = `/admin/tenants/${encodeURIComponent(props.tenantId)}/limits`;
  const limits = useResource((signal) => get<Limits>(path, { signal }), [path]);
  const current = limits.state === 'ok' || limits.state === 'error' ? limits.data : undefined;
  const rows = current ? rowsOf(current) : [];
  const [draft, setDraft] = useDraft(current, draftOf);

  const save = useSubmit(async (patch: Record<string, unknown>, what: string) => {
    await api<Limits>('PATCH', path, { body: patch });
    announce(what);
    limits.reload();
  });
  const changed = rows.filter((r) => (draft[r.param] ?? '') !== asText(r.override));

  if (!current) {
    if (limits.state === 'error') return <ErrorNotice error={limits.error} onRetry={limits.reload} />;
    return <Loading label="Loading the limits…" />;
  }
  return (
    <form
      class="limits-form"
      aria-label="Limit overrides"
      onSubmit={(e) => {
        e.preventDefault();
        const patch = changed.reduce<Record<string, unknown>>(
          (acc, r) => merge(acc, patchOf(r.param, wire(draft[r.param] ?? '', r.money))),
          {},
        );
        void save.run(patch, 'Limit overrides saved.');
      }}
    >
      <p class="hint">
        Plan <strong>{current.plan.name}</strong> (
        {current.plan.overage === 'bill' ? 'billed past included units' : 'stops at included units'}
        ). Leave a box empty to use the plan's value. The owner's own spend cap
        {current.owner_spend_cap_usd ? ` (${fmtUsd(current.owner_spend_cap_usd)})` : ''} can only lower these.
      </p>
      <Table
        caption="Limits: the plan's value, this tenant's override, and what applies"
        captionHidden
        class="limits-table"
        columns={['Limit', 'Plan', 'Override', 'Applies', { label: 'Actions', hidden: true }]}
      >
        {rows.map((r) => {
          const id = `limit-${r.param.replace('.', '-')}`;
          const err = save.fieldError(r.param);
          return (
            <tr key={r.param} class={err ? 'field-invalid' : undefined}>
              <th scope="row">
                <label for={id}>{r.label}</label>
              </th>
              <td>{show(r.plan, r.money)}</td>
              <td>
                <input
                  id={id}
                  inputMode={r.money ? 'decimal' : 'numeric'}
                  placeholder="plan's value"
                  value={draft[r.param] ?? ''}
                  aria-invalid={err ? true : undefined}
                  aria-describedby={err ? `${id}-error` : undefined}
                  onInput={(e) => setDraft({ ...draft, [r.param]: value(e) })}
                />
                {err && (
                  <p class="field-error" id={`${id}-error`}>
                    {err}
                  </p>
                )}
              </td>
              <td data-testid={`applies-${r.param}`}>{show(r.effective, r.money)}</td>
              <td>
                {r.override !== undefined && (
                  <button
                    type="button"
                    class="btn btn-small"
                    aria-label={`Clear the ${r.label.toLowerCase()} override`}
                    disabled={save.busy}
                    onClick={() =>
                      void save.run(patchOf(r.param, null), `${r.label}: the plan's value applies again.`)
                    }
                  >
                    Clear
                  </button>
                )}
              </td>
            </tr>
          );
        })}
      </Table>
      {save.error && !rows.some((r) => r.param === save.error?.param) && <ErrorNotice error={save.error} />}
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled={save.busy || changed.length === 0}>
          Save overrides
        </button>
        {changed.length > 0 && (
          <button type="button" class="btn" onClick={() => setDraft(draftOf(current))}>
            Discard changes
          </button>
        )}
      </div>
    </form>
  );
}
