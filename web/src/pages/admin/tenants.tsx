import { useState } from 'preact/hooks';
import type { PageProps } from '../../app';
import { Badge, Empty, ErrorNotice, Field, Link, Loading, PageHeader } from '../../components/ui';
import { get, query } from '../../lib/api';
import { fmtDate, statusLabel } from '../../lib/format';
import { value } from '../../lib/forms';
import { navigate } from '../../lib/router';
import type { List, Tenant } from '../../lib/types';
import { useResource } from '../../lib/use-resource';

const statuses = ['active', 'pending_verification', 'past_due', 'suspended'];

export default function TenantsPage(props: PageProps) {
  const q = props.query.get('q') ?? '';
  const status = props.query.get('status') ?? '';
  const [text, setText] = useState(q);
  const [pages, setPages] = useState<Tenant[][]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const first = useResource(
    async (signal) => {
      const page = await get<List<Tenant>>(`/admin/tenants${query({ q, status, limit: 50 })}`, { signal });
      setPages([]);
      setCursor(page.next_cursor ?? null);
      return page;
    },
    [q, status],
  );
  const [moreBusy, setMoreBusy] = useState(false);
  const loadMore = async () => {
    if (!cursor) return;
    setMoreBusy(true);
    try {
      const page = await get<List<Tenant>>(`/admin/tenants${query({ q, status, limit: 50, cursor })}`);
      setPages([...pages, page.data]);
      setCursor(page.next_cursor ?? null);
    } finally {
      setMoreBusy(false);
    }
  };
  const apply = (next: { q?: string; status?: string }) =>
    navigate(`/operator/tenants${query({ q: next.q ?? q, status: next.status ?? status })}`);
  const rows = first.state === 'ok' ? [first.data.data, ...pages].flat() : [];
  return (
    <>
      <PageHeader
        title="Tenants"
        description="Find a tenant by its id, a member's email address, or the start of its name."
      />
      <form
        class="filters"
        aria-label="Find tenants"
        onSubmit={(e) => {
          e.preventDefault();
          apply({ q: text.trim() });
        }}
      >
        <Field label="Search" id="tenant-search">
          {(a) => (
            <input
              {...a}
              type="search"
              placeholder="ten_…, ada@example.com or Acme"
              value={text}
              onInput={(e) => setText(value(e))}
            />
          )}
        </Field>
        <Field label="Status" id="tenant-status">
          {(a) => (
            <select {...a} value={status} onChange={(e) => apply({ status: value(e) })}>
              <option value="">Any status</option>
              {statuses.map((s) => (
                <option key={s} value={s}>
                  {statusLabel(s)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" class="btn btn-primary filters-submit">
          Search
        </button>
      </form>
      {first.state === 'loading' && <Loading label="Searching…" />}
      {first.state === 'error' && <ErrorNotice error={first.error} onRetry={first.reload} />}
      {first.state === 'ok' && rows.length === 0 && (
        <Empty title={q || status ? 'No tenant matches' : 'No tenants yet'}>
          {q
            ? 'Try the full tenant id, an exact member email, or fewer letters of the name.'
            : 'Tenants appear here as developers sign up.'}
        </Empty>
      )}
      {rows.length > 0 && (
        <div class="table-wrap">
          <table class="table">
            <caption class="visually-hidden">Tenants</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Id</th>
                <th scope="col">Status</th>
                <th scope="col">Plan</th>
                <th scope="col">Contact</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr key={t.id}>
                  <th scope="row">
                    <Link href={`/operator/tenants/${t.id}`}>{t.name}</Link>
                  </th>
                  <td>
                    <code>{t.id}</code>
                  </td>
                  <td>
                    <Badge status={t.status} />
                  </td>
                  <td>{statusLabel(t.plan)}</td>
                  <td>{t.contact_email ?? '—'}</td>
                  <td>{fmtDate(t.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cursor && (
        <p>
          <button type="button" class="btn" disabled={moreBusy} onClick={() => void loadMore()}>
            {moreBusy ? 'Loading…' : 'Load more'}
          </button>
        </p>
      )}
    </>
  );
}
