import { useState } from 'preact/hooks';
import { Table } from '../../components/table';
import { Badge, Empty, ErrorNotice, Field, Link, Loading, LoadMore, PageHeader } from '../../components/ui';
import { query } from '../../lib/api';
import { fmtDate, statusLabel } from '../../lib/format';
import { value } from '../../lib/forms';
import type { PageProps } from '../../lib/router';
import { navigate } from '../../lib/router';
import type { Tenant } from '../../lib/types';
import { usePagedList } from '../../lib/use-paged-list';

const statuses = ['active', 'pending_verification', 'past_due', 'suspended'];

export default function TenantsPage(props: PageProps) {
  const q = props.query.get('q') ?? '';
  const status = props.query.get('status') ?? '';
  const [text, setText] = useState(q);
  const list = usePagedList<Tenant>('/admin/tenants', { q, status });
  const { first, rows } = list;
  const apply = (next: { q?: string; status?: string }) =>
    navigate(`/operator/tenants${query({ q: next.q ?? q, status: next.status ?? status })}`);
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
        <Table
          caption="Tenants"
          captionHidden
          columns={['Name', 'Id', 'Status', 'Plan', 'Contact', 'Created']}
        >
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
        </Table>
      )}
      <LoadMore list={list} />
    </>
  );
}
