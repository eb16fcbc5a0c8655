import { useState } from 'preact/hooks';
import { ErrorNotice, Field, Link, Loading, PageHeader, Stat, Unavailable } from '../../components/ui';
import { get } from '../../lib/api';
import type { components } from '../../lib/api-types';
import { fmtDate, fmtInt, fmtUsd } from '../../lib/format';
import { useResource } from '../../lib/use-resource';

type Finance = components['schemas']['Finance'];

const thisMonth = () => new Date().toISOString().slice(0, 7);
const KINDS = ['paid', 'promotional', 'trial', 'total'] as const;

function Receivables(props: { f: Finance }) {
  const r = props.f.receivables;
  const ledger = r.source === 'invoice_previews';
  return (
    <section class="card" aria-labelledby="receivables-title" data-testid="finance-receivables">
      <h2 id="receivables-title">Receivables{ledger ? ' (invoice previews)' : ''}</h2>
      <p class="hint">{r.label}</p>
      <div class="stats">
        <Stat
          label={ledger ? 'Would invoice' : 'Invoiced'}
          value={fmtUsd(r.invoiced_usd)}
          sub={`${fmtInt(r.count)} ${ledger ? 'previews' : 'invoices'}`}
        />
        <Stat label="Collected" value={fmtUsd(r.collected_usd)} />
        <Stat label="Outstanding" value={fmtUsd(r.outstanding_usd)} />
        <Stat label="Uncollectible" value={fmtUsd(r.uncollectible_usd)} />
      </div>
      {r.truncated && <p class="notice notice-warn">More than the page reads: these totals are partial.</p>}
    </section>
  );
}

function Credit(props: { f: Finance }) {
  const c = props.f.credit;
  const rows: [string, Record<(typeof KINDS)[number], string>][] = [
    ['Sold or given', c.sold_usd],
    ['Used', c.used_usd],
    ['Expired', c.expired_usd],
    [`Outstanding at the end of ${props.f.to}`, c.outstanding_usd],
  ];
  return (
    <section class="card" aria-labelledby="credit-title">
      <h2 id="credit-title">Prepaid credit</h2>
      <p class="hint">
        From the credit ledger. Outstanding paid credit is a liability: money taken for use not yet served.
        Promotional and trial credit cost nothing to grant.
      </p>
      <div class="table-wrap">
        <table class="table table-figures" data-testid="finance-credit">
          <thead>
            <tr>
              <th scope="col">Credit</th>
              <th scope="col">Paid</th>
              <th scope="col">Promotional</th>
              <th scope="col">Trial</th>
              <th scope="col">Total</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([label, v]) => (
              <tr key={label}>
                <th scope="row">{label}</th>
                {KINDS.map((k) => (
                  <td key={k}>{fmtUsd(v[k])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {Number(c.used_usd.uncovered) > 0 && (
        <p class="hint">
          Use no grant paid for (requests that outlived their hold): {fmtUsd(c.used_usd.uncovered)}.
        </p>
      )}
    </section>
  );
}

function PastDue(props: { f: Finance }) {
  const rows = props.f.past_due;
  return (
    <section class="card" aria-labelledby="pastdue-title">
      <h2 id="pastdue-title">Past due now</h2>
      <div class="table-wrap">
        <table class="table table-figures" data-testid="finance-past-due">
          <thead>
            <tr>
              <th scope="col">Tenant</th>
              <th scope="col">Past due since</th>
              <th scope="col">Days overdue</th>
              <th scope="col">Suspended after</th>
              <th scope="col">Owed</th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && (
              <tr>
                <td colSpan={5} class="muted">
                  No tenant is past due.
                </td>
              </tr>
            )}
            {rows.map((p) => (
              <tr key={p.tenant_id}>
                <th scope="row">
                  <Link href={`/operator/tenants/${p.tenant_id}`}>{p.name ?? p.tenant_id}</Link>
                </th>
                <td>{fmtDate(p.past_due_since)}</td>
                <td>{fmtInt(p.days_overdue)}</td>
                <td>{fmtDate(p.grace_ends_at)}</td>
                <td>{p.owed_usd === null ? '—' : fmtUsd(p.owed_usd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Issued(props: { f: Finance }) {
  const { refunds, credit_notes: notes } = props.f;
  return (
    <section class="card" aria-labelledby="issued-title">
      <h2 id="issued-title">Refunds and credit notes</h2>
      <div class="stats stats-inline">
        <Stat label="Refunded" value={fmtUsd(refunds.amount_usd)} sub={`${fmtInt(refunds.count)} refunds`} />
        <Stat label="Credited" value={fmtUsd(notes.amount_usd)} sub={`${fmtInt(notes.count)} credit notes`} />
      </div>
      {(refunds.data.length > 0 || notes.data.length > 0) && (
        <div class="table-wrap">
          <table class="table table-figures">
            <thead>
              <tr>
                <th scope="col">Stripe id</th>
                <th scope="col">Against</th>
                <th scope="col">Amount</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {refunds.data.map((r) => (
                <tr key={r.id}>
                  <th scope="row">
                    <code>{r.id}</code>
                  </th>
                  <td>
                    <code>{r.payment_intent ?? '—'}</code>
                  </td>
                  <td>{fmtUsd(r.amount_usd)}</td>
                  <td>{r.status ?? '—'}</td>
                  <td>{fmtDate(r.created_at)}</td>
                </tr>
              ))}
              {notes.data.map((n) => (
                <tr key={n.id}>
                  <th scope="row">
                    <code>{n.id}</code>
                  </th>
                  <td>
                    <code>{n.invoice}</code>
                  </td>
                  <td>{fmtUsd(n.amount_usd)}</td>
                  <td>{n.status}</td>
                  <td>{fmtDate(n.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p class="hint">
        Issue them with <code>POST /admin/finance/tenants/{'{tenant_id}'}/refunds</code> and{' '}
        <code>/credit-notes</code> (Stripe only).
      </p>
    </section>
  );
}

/** Operator finance: GET /admin/finance for a month or a range of months. */
export default function AdminFinancePage() {
  const [range, setRange] = useState({ from: thisMonth(), to: thisMonth() });
  const [draft, setDraft] = useState(range);
  const finance = useResource(
    (signal) => get<Finance>(`/admin/finance?from=${range.from}&to=${range.to}`, { signal }),
    [range.from, range.to],
  );
  const f = finance.state === 'ok' ? finance.data : undefined;
  return (
    <>
      <PageHeader
        title="Finance"
        description="What was invoiced, collected and is owed; prepaid credit sold, used, expired and outstanding; MRR; who is past due; refunds and credit notes."
      />
      <form
        class="card inline-form"
        aria-label="Months"
        onSubmit={(e) => {
          e.preventDefault();
          setRange(draft);
        }}
      >
        <Field label="From" id="finance-from">
          {(aria) => (
            <input
              {...aria}
              type="month"
              required
              value={draft.from}
              onInput={(e) => setDraft({ ...draft, from: (e.target as HTMLInputElement).value })}
            />
          )}
        </Field>
        <Field label="To" id="finance-to">
          {(aria) => (
            <input
              {...aria}
              type="month"
              required
              value={draft.to}
              onInput={(e) => setDraft({ ...draft, to: (e.target as HTMLInputElement).value })}
            />
          )}
        </Field>
        <button type="submit" class="btn btn-primary">
          Show
        </button>
      </form>
      {finance.state === 'loading' && <Loading label="Loading finance…" />}
      {finance.state === 'unavailable' && <Unavailable feature="Finance" endpoint="GET /admin/finance" />}
      {finance.state === 'error' && <ErrorNotice error={finance.error} onRetry={finance.reload} />}
      {f && (
        <>
          {f.provider_unavailable && (
            <p class="notice notice-warn" role="alert">
              Stripe did not answer part of this report ({f.provider_unavailable}): those figures read zero.
            </p>
          )}
          <Receivables f={f} />
          <section class="card" aria-labelledby="mrr-title">
            <h2 id="mrr-title">MRR</h2>
            <div class="stats stats-inline" data-testid="finance-mrr">
              <Stat label={`MRR (${f.mrr.month})`} value={fmtUsd(f.mrr.mrr_usd)} />
              <Stat label="Subscriptions" value={fmtUsd(f.mrr.subscriptions_usd)} />
              <Stat label="Paid credit used" value={fmtUsd(f.mrr.paid_credit_usd)} />
            </div>
            <p class="hint">{f.mrr.definition}</p>
          </section>
          <Credit f={f} />
          <PastDue f={f} />
          <Issued f={f} />
        </>
      )}
    </>
  );
}
