import { Table } from '../../components/table';
import { Empty, ErrorNotice, Link, Loading, LoadMore, PageHeader } from '../../components/ui';
import { fmtDateTime } from '../../lib/format';
import type { AuditEntry } from '../../lib/types';
import { usePagedList } from '../../lib/use-paged-list';

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

export default function AuditPage() {
  const list = usePagedList<AuditEntry>('/admin/audit', {});
  const { first, rows } = list;
  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every operator action, newest first: who, what, when, and the values before and after."
        actions={
          <button type="button" class="btn" onClick={first.reload}>
            Refresh
          </button>
        }
      />
      {first.state === 'loading' && <Loading />}
      {first.state === 'error' && <ErrorNotice error={first.error} onRetry={first.reload} />}
      {first.state === 'ok' && rows.length === 0 && <Empty title="No operator actions yet" />}
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
              <td>{e.actor.email ?? `${e.actor.kind} ${e.actor.id}`}</td>
              <th scope="row">
                <code>{e.action}</code>
              </th>
              <td>
                {e.target.type === 'tenant' ? (
                  <Link href={`/operator/tenants/${e.target.id}`}>
                    <code>{e.target.id}</code>
                  </Link>
                ) : (
                  <>
                    {e.target.type} <code>{e.target.id}</code>
                  </>
                )}
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
