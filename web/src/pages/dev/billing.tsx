import { TrialCard } from '../../components/credit-settings';
import { Table } from '../../components/table';
import { Badge, ErrorNotice, Link, Loading, PageHeader, Stat, Unavailable } from '../../components/ui';
import { get, post } from '../../lib/api';
import { fmtDate, fmtInt, fmtUsd, statusLabel, unitLabel } from '../../lib/format';
import { useSubmit } from '../../lib/forms';
import { can, session as sessionStore } from '../../lib/session';
import { useStore } from '../../lib/store';
import { useResource } from '../../lib/use-resource';

/** GET /account/billing, as far as this page reads it. */
interface Billing {
  connected: boolean;
  message: string | null;
  plan: { id: string; name: string; bills_overage: boolean; included: Record<string, number> };
  status: string;
  past_due_since: string | null;
  grace_ends_at: string | null;
  period: { month: string; start: string; end: string };
  running_cost: { total_usd: string };
  invoice_preview: {
    lines: {
      description: string;
      used: number;
      included: number;
      billable: number;
      unit_price_usd: string;
      amount_due_usd: string;
    }[];
    subtotal_usd: string;
    total_due_usd: string;
    note: string;
  };
  invoices:
    | {
        id: string;
        number: string | null;
        status: string | null;
        total: string;
        period_start: string;
        period_end: string;
        hosted_invoice_url: string | null;
      }[]
    | null;
  statements: { month: string; url: string }[];
}

/** The ledger's monthly statements (HTML pages behind the session cookie), newest first. */
function Statements({ list }: { list: { month: string; url: string }[] }) {
  if (list.length === 0) return null;
  return (
    <p class="hint" data-testid="statements">
      Monthly statements from the ledger:{' '}
      {list.map((s, i) => (
        <span key={s.month}>
          {i > 0 && ' · '}
          <a href={s.url} target="_blank" rel="noopener">
            {s.month}
          </a>
        </span>
      ))}
    </p>
  );
}

/** GET /account/credits, as far as this page reads it. */
interface Credits {
  billing_mode: 'prepaid' | 'postpaid';
  balance_usd: string;
  by_kind: { paid: string; promotional: string; trial: string };
}

/** Opens a Stripe-hosted page (Checkout, the portal) whose address the API hands out. */
function useRedirect(path: string) {
  return useSubmit(async () => {
    const answer = await post<{ url: string }>(path);
    location.assign(answer.url);
  });
}

export default function BillingPage() {
  const session = useStore(sessionStore);
  const allowed = can(session, 'billing:read');
  const manage = can(session, 'billing:manage');
  const billing = useResource((signal) => get<Billing>('/account/billing', { signal }), []);
  const credits = useResource((signal) => get<Credits>('/account/credits', { signal }), []);
  const c = credits.state === 'ok' ? credits.data : null;
  const checkout = useRedirect('/account/billing/checkout');
  const portal = useRedirect('/account/billing/portal');
  const tenant = session.status === 'user' ? session.account.tenant : null;

  if (!allowed) {
    return (
      <>
        <PageHeader title="Billing" />
        <p class="notice notice-muted">Your role may not see billing. Owners and billing members can.</p>
      </>
    );
  }
  const b = billing.state === 'ok' ? billing.data : null;
  return (
    <>
      <PageHeader
        title="Billing"
        description="Usage is metered in Tollgate's ledger and charged through Stripe: add a card with Stripe Checkout, manage it and download invoices in the Stripe portal."
      />
      {billing.state === 'loading' && <Loading label="Loading billing…" />}
      {billing.state === 'unavailable' && (
        <Unavailable feature="Billing" endpoint="GET /account/billing">
          <p>
            Your usage is still metered and priced: see <a href="/usage">Usage</a> for this month's cost.
            Plan: <strong>{statusLabel(tenant?.plan ?? '')}</strong>.
          </p>
        </Unavailable>
      )}
      {billing.state === 'error' && <ErrorNotice error={billing.error} onRetry={billing.reload} />}
      {b && (
        <>
          {!b.connected && (
            <p class="notice notice-info">
              <strong>Ledger only.</strong>{' '}
              {b.message ?? 'This platform has no Stripe key, so nothing is charged.'} The invoice below is
              the one it would send.
            </p>
          )}
          {b.status === 'past_due' && (
            <p class="notice notice-warn" role="alert">
              <strong>Payment failed{b.past_due_since ? ` on ${fmtDate(b.past_due_since)}` : ''}.</strong>{' '}
              Update your card in the billing portal
              {b.grace_ends_at ? `; the account is suspended on ${fmtDate(b.grace_ends_at)} otherwise` : ''}.
            </p>
          )}
          <div class="stats">
            <Stat
              label="Plan"
              value={b.plan.name}
              sub={
                <>
                  {b.plan.bills_overage
                    ? 'Usage past the included units is billed. '
                    : 'Stops at the included units. '}
                  <Link href="/plans">{b.plan.bills_overage ? 'Compare plans' : 'Upgrade'}</Link>
                </>
              }
            />
            <Stat
              label="Billing status"
              value={
                <Badge
                  status={b.status === 'none' ? 'pending' : b.status}
                  label={statusLabel(b.status === 'none' ? 'not started' : b.status)}
                />
              }
            />
            <Stat
              label={`Cost so far, ${b.period.month}`}
              value={fmtUsd(b.running_cost.total_usd)}
              sub={`Invoice due: ${fmtUsd(b.invoice_preview.total_due_usd)}`}
            />
            {c && (c.billing_mode === 'prepaid' || Number(c.balance_usd) > 0) && (
              <Stat
                label="Credit balance"
                value={fmtUsd(c.balance_usd)}
                sub={
                  c.billing_mode === 'prepaid'
                    ? `Prepaid: requests it cannot pay are refused (429 insufficient_balance). Promotional ${fmtUsd(c.by_kind.promotional)}, trial ${fmtUsd(c.by_kind.trial)}, paid ${fmtUsd(c.by_kind.paid)}; top up on the Credits page.`
                    : 'Used once the account is prepaid.'
                }
              />
            )}
          </div>
          <TrialCard />
          {manage && (
            <section class="card" aria-labelledby="billing-payment">
              <h2 id="billing-payment">Payment</h2>
              <div class="billing-row">
                <p class="muted">
                  {b.connected
                    ? 'Cards and invoices are handled by Stripe; Tollgate never sees card numbers.'
                    : 'Connecting a card needs Stripe, which this platform has not been given.'}
                </p>
                <div class="row-actions">
                  <button
                    type="button"
                    class="btn btn-primary"
                    disabled={!b.connected || checkout.busy}
                    onClick={() => void checkout.run()}
                  >
                    {b.status === 'none' ? 'Add a card with Stripe' : 'Start the subscription again'}
                  </button>
                  <button
                    type="button"
                    class="btn"
                    disabled={!b.connected || portal.busy}
                    onClick={() => void portal.run()}
                  >
                    Open the billing portal
                  </button>
                </div>
              </div>
              {checkout.error && <ErrorNotice error={checkout.error} />}
              {portal.error && <ErrorNotice error={portal.error} />}
            </section>
          )}
          <section class="card" aria-labelledby="billing-preview">
            <h2 id="billing-preview">This month's invoice, so far</h2>
            <p class="hint">{b.invoice_preview.note}</p>
            {b.invoice_preview.lines.length === 0 ? (
              <p class="muted">Nothing billable yet this month.</p>
            ) : (
              <Table
                caption="Invoice preview"
                captionHidden
                variant="numeric"
                columns={['Line', 'Used', 'Included', 'Billable', 'Unit price', 'Amount']}
              >
                {b.invoice_preview.lines.map((l) => (
                  <tr key={l.description}>
                    <th scope="row">{l.description}</th>
                    <td>{fmtInt(l.used)}</td>
                    <td>{fmtInt(l.included)}</td>
                    <td>{fmtInt(l.billable)}</td>
                    <td>{fmtUsd(l.unit_price_usd)}</td>
                    <td>{fmtUsd(l.amount_due_usd)}</td>
                  </tr>
                ))}
              </Table>
            )}
            <p>
              Total due: <strong>{fmtUsd(b.invoice_preview.total_due_usd)}</strong>
              <span class="muted">
                {' '}
                · included each month:{' '}
                {Object.entries(b.plan.included)
                  .map(([u, n]) => `${fmtInt(n)} ${unitLabel[u] ?? u}`)
                  .join(', ')}
              </span>
            </p>
          </section>
          <section class="card" aria-labelledby="billing-invoices">
            <h2 id="billing-invoices">Past invoices</h2>
            {b.invoices === null ? (
              <p class="muted">
                {b.connected
                  ? 'Stripe did not answer; try again later.'
                  : 'No invoices: billing is not connected, so nothing is charged. The statements below are what the ledger prices.'}
              </p>
            ) : b.invoices.length === 0 ? (
              <p class="muted">
                No invoices yet. The first one is made at the end of your first billed month.
              </p>
            ) : (
              <div class="table-wrap">
                <table class="table">
                  <thead>
                    <tr>
                      <th scope="col">Invoice</th>
                      <th scope="col">Period</th>
                      <th scope="col">Status</th>
                      <th scope="col">Total</th>
                    </tr>
                  </thead>
                  <tbody>
                    {b.invoices.map((inv) => (
                      <tr key={inv.id}>
                        <td>
                          {inv.hosted_invoice_url ? (
                            <a href={inv.hosted_invoice_url} rel="noopener noreferrer" target="_blank">
                              {inv.number ?? inv.id}
                            </a>
                          ) : (
                            (inv.number ?? inv.id)
                          )}
                        </td>
                        <td>
                          {fmtDate(inv.period_start)} – {fmtDate(inv.period_end)}
                        </td>
                        <td>{inv.status && <Badge status={inv.status} />}</td>
                        <td>{fmtUsd(inv.total)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <Statements list={b.statements} />
          </section>
        </>
      )}
    </>
  );
}
