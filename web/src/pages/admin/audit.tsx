import { useState } from 'preact/hooks';
import { Empty, ErrorNotice, Link, Loading, PageHeader } from '../../components/ui';
import { get, query } from '../../lib/api';
import { fmtDateTime } from '../../lib/format';
import type { AuditEntry, List } from '../../lib/types';
import { useResource } from '../../lib/use-resource';

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
  const [more, setMore] = useState<AuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const first = useResource(async (signal) => {
    const page = await get<List<AuditEntry>>('/admin/audit?limit=50', { signal });
    setMore([]);
    setCursor(page.next_cursor ?? null);
    return page;
  }, []);
  const loadMore = async () => {
    if (!cursor) return;
    const page = await get<List<AuditEntry>>(`/admin/audit${query({ limit: 50, cursor })}`);
    setMore([...more, ...page.data]);
    setCursor(page.next_cursor ?? null);
  };
  const rows = first.state === 'ok' ? [...first.data.data, ...more] : [];
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
        <div class="table-wrap">
          <table class="table">
            <caption class="visually-hidden">Audit entries</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Change</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <tr key={e.id}>
                  <td class="nowrap">{fmtDateTime(e.at)}</td>
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
            </tbody>
          </table>
        </div>
      )}
      {cursor && (
        <p>
          <button type="button" class="btn" onClick={() => void loadMore()}>
            Load more
          </button>
        </p>
      )}
    </>
  );
}
