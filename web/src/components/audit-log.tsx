import { useState } from 'preact/hooks';
import { call, query } from '../lib/api';
import { fmtDateTime } from '../lib/format';
import { useSubmit, value } from '../lib/forms';
import type { AccountAuditEntry, AuditEntry } from '../lib/types';
import { download } from '../lib/usage';
import { usePagedList } from '../lib/use-paged-list';
import { Table } from './table';
import { Empty, ErrorNotice, Field, Link, Loading, LoadMore, PageHeader } from './ui';

/** Scalar leaves of an object by dotted path (arrays kept whole), for a readable before/after. */
function leaves(v: unknown, path: string, out: Map<string, string>): Map<string, string> {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) leaves(x, path ? `${path}.${k}` : k, out);
  } else if (v !== undefined) {
    out.set(path, typeof v === 'string' ? v : JSON.stringify(v));
  }
  return out;
}

/** Only what changed: an entry that stores whole objects shows the fields that differ. */
function Change(props: { before: Record<string, unknown> | null; after: Record<string, unknown> | null }) {
  const before = leaves(props.before ?? {}, '', new Map());
  const after = leaves(props.after ?? {}, '', new Map());
  const keys = [...new Set([...before.keys(), ...after.keys()])].filter(
    (k) => before.get(k) !== after.get(k),
  );
  if (keys.length === 0) return <span class="muted">—</span>;
  return (
    <ul class="change-list">
      {keys.map((k) => (
        <li key={k}>
          <span class="muted">{k}:</span> {before.get(k) ?? '—'} → <strong>{after.get(k) ?? '—'}</strong>
        </li>
      ))}
    </ul>
  );
}

const targetTypes = ['api_key', 'member', 'project', 'tenant', 'plan', 'model', 'operator'] as const;

/** Actions offered in the filter (any other can be typed in the API's `action`). */
const actionChoices = [
  { value: '', label: 'Any action' },
  { value: 'api_key.*', label: 'Keys: any' },
  { value: 'api_key.create', label: 'Key created' },
  { value: 'api_key.revoke', label: 'Key revoked' },
  { value: 'api_key.rotate', label: 'Key rotated' },
  { value: 'api_key.limits', label: 'Key limits or budget' },
  { value: 'api_key.scope', label: 'Key scope' },
  { value: 'member.*', label: 'Members: any' },
  { value: 'project.*', label: 'Projects: any' },
  { value: 'tenant.*', label: 'Account: any' },
  { value: 'tenant.spend_cap', label: 'Spend cap' },
];

interface Filters {
  action: string;
  actor: string;
  targetType: string;
  tenantId: string;
  /** UTC days, inclusive. */
  from: string;
  to: string;
}

const none: Filters = { action: '', actor: '', targetType: '', tenantId: '', from: '', to: '' };

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString();
}

function params(f: Filters, operator: boolean): Record<string, string | undefined> {
  return {
    action: f.action || undefined,
    actor: f.actor.trim() || undefined,
    target_type: f.targetType || undefined,
    tenant_id: operator ? f.tenantId.trim() || undefined : undefined,
    from: f.from ? `${f.from}T00:00:00Z` : undefined,
    to: f.to ? nextDay(f.to) : undefined,
  };
}

/** The whole filtered log as one CSV file: the server writes it, a file of up to 5000 entries at a time. */
async function exportCsv(path: string, filters: Record<string, string | undefined>): Promise<void> {
  let text = '';
  let name = 'audit.csv';
  let cursor: string | null = null;
  for (let files = 0; files < 40; files++) {
    const res = await call(
      'GET',
      `${path}${query({ ...filters, format: 'csv', cursor: cursor ?? undefined })}`,
      {
        headers: { accept: 'text/csv' },
      },
    );
    const body = await res.text();
    name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? name;
    // Every file starts with the header row: keep the first one only.
    text += files === 0 ? body : body.slice(body.indexOf('\r\n') + 2);
    cursor = res.headers.get('x-next-cursor');
    if (!cursor) break;
  }
  download(name, text);
}

type Entry = AuditEntry | AccountAuditEntry;

function who(e: Entry): string {
  if (e.actor.kind === 'operator' && !e.actor.email) return 'Tollgate';
  return e.actor.email ?? `${e.actor.kind} ${e.actor.id ?? ''}`.trim();
}

function Target(props: { entry: Entry; operator: boolean }) {
  const t = props.entry.target as Entry['target'] & { tenant_name?: string | null };
  const label = t.name ?? t.id;
  return (
    <>
      <span class="muted">{t.type.replace('_', ' ')}</span>{' '}
      {props.operator && t.type === 'tenant' ? (
        <Link href={`/operator/tenants/${t.id}`}>{label}</Link>
      ) : (
        <span title={t.id}>{label}</span>
      )}
      {t.name && (
        <>
          {' '}
          <code class="muted">{t.id}</code>
        </>
      )}
      {props.operator && t.tenant_id && t.type !== 'tenant' && (
        <div>
          <span class="muted">in</span>{' '}
          <Link href={`/operator/tenants/${t.tenant_id}`}>{t.tenant_name ?? t.tenant_id}</Link>
        </div>
      )}
    </>
  );
}

/**
 * An audit log page: filters (applied together), the entries newest first a page at a time, and
 * the filtered log exported as CSV. Operators read everyone's (and filter by tenant); a tenant's
 * owner reads the tenant's own trail.
 */
export function AuditLogPage(props: { path: string; operator: boolean; title: string; description: string }) {
  const { operator } = props;
  const [draft, setDraft] = useState<Filters>(none);
  const [applied, setApplied] = useState<Filters>(none);
  const list = usePagedList<Entry>(props.path, params(applied, operator));
  const { first, rows } = list;
  const set = (field: keyof Filters) => (e: Event) => setDraft({ ...draft, [field]: value(e) });
  const exporting = useSubmit(() => exportCsv(props.path, params(applied, operator)));
  const filtered = JSON.stringify(applied) !== JSON.stringify(none);
  return (
    <>
      <PageHeader
        title={props.title}
        description={props.description}
        actions={
          <>
            <button type="button" class="btn" onClick={first.reload}>
              Refresh
            </button>
            <button
              type="button"
              class="btn"
              disabled={exporting.busy || rows.length === 0}
              onClick={() => void exporting.run()}
            >
              {exporting.busy ? 'Exporting…' : 'Export CSV'}
            </button>
          </>
        }
      />
      <form
        class="filters"
        aria-label="Filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(draft);
        }}
      >
        <Field label="Action" id="audit-action">
          {(a) => (
            <select {...a} value={draft.action} onChange={set('action')}>
              {actionChoices.map((c) => (
                <option key={c.value} value={c.value}>
                  {c.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Who" id="audit-actor">
          {(a) => (
            <input
              {...a}
              type="search"
              placeholder={
                operator ? 'email, id, or operator / user / system' : 'email, user id, or operator'
              }
              value={draft.actor}
              onInput={set('actor')}
            />
          )}
        </Field>
        <Field label="Target" id="audit-target">
          {(a) => (
            <select {...a} value={draft.targetType} onChange={set('targetType')}>
              <option value="">Any target</option>
              {targetTypes
                .filter((t) => operator || (t !== 'plan' && t !== 'model' && t !== 'operator'))
                .map((t) => (
                  <option key={t} value={t}>
                    {t.replace('_', ' ')}
                  </option>
                ))}
            </select>
          )}
        </Field>
        {operator && (
          <Field label="Tenant id" id="audit-tenant">
            {(a) => <input {...a} placeholder="ten_…" value={draft.tenantId} onInput={set('tenantId')} />}
          </Field>
        )}
        <Field label="From (UTC)" id="audit-from">
          {(a) => <input {...a} type="date" value={draft.from} onInput={set('from')} />}
        </Field>
        <Field label="To (UTC)" id="audit-to">
          {(a) => <input {...a} type="date" value={draft.to} onInput={set('to')} />}
        </Field>
        <div class="filter-actions">
          <button type="submit" class="btn btn-primary">
            Apply
          </button>
          {filtered && (
            <button
              type="button"
              class="btn"
              onClick={() => {
                setDraft(none);
                setApplied(none);
              }}
            >
              Clear
            </button>
          )}
        </div>
      </form>
      {exporting.error && <ErrorNotice error={exporting.error} title="Could not export" />}
      {first.state === 'loading' && <Loading />}
      {first.state === 'error' && <ErrorNotice error={first.error} onRetry={first.reload} />}
      {first.state === 'ok' && rows.length === 0 && !list.hasMore && (
        <Empty title={filtered ? 'No entries match these filters' : 'No entries yet'} />
      )}
      {rows.length > 0 && (
        <Table
          caption="Audit entries"
          captionHidden
          class="audit-table"
          columns={['When', 'Who', 'Action', 'Target', 'Change']}
        >
          {rows.map((e) => (
            <tr key={e.id}>
              <td>{fmtDateTime(e.at)}</td>
              <td>{who(e)}</td>
              <th scope="row">
                <code>{e.action}</code>
              </th>
              <td>
                <Target entry={e} operator={operator} />
              </td>
              <td>
                <Change before={e.before} after={e.after} />
              </td>
            </tr>
          ))}
        </Table>
      )}
      <LoadMore list={list} />
    </>
  );
}
