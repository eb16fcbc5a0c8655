import { FlatFacts } from '../../components/flat-facts';
import { Badge, ErrorNotice, Loading, PageHeader, Unavailable } from '../../components/ui';
import { get, post } from '../../lib/api';
import { useCapabilities } from '../../lib/capabilities';
import { fmtDate, fmtUsd, statusLabel } from '../../lib/format';
import { useSubmit } from '../../lib/forms';
import { can, session as sessionStore } from '../../lib/session';
import { useStore } from '../../lib/store';
import { useResource } from '../../lib/use-resource';

interface Invoice {
  id?: string;
  number?: string | null;
  status?: string;
  period_start?: string;
  period_end?: string;
  total_usd?: string;
  amount_due_usd?: string;
  created_at?: string;
  hosted_invoice_url?: string | null;
  url?: string | null;
}

const ledgerOnly = (b: Record<string, unknown>) =>
  b.mode === 'ledger' || b.mode === 'ledger_only' || b.ledger_only === true || b.stripe_configured === false;

/** Opens a Stripe-hosted page (Checkout, portal) the API hands out. */
function useRedirect(path: string) {
  return useSubmit(async () => {
    const answer = await post<{ url?: string }>(path, { return_url: `${location.origin}/billing` });
    if (answer?.url) location.assign(answer.url);
  });
}

export default function BillingPage() {
  const session = useStore(sessionStore);
  const caps = useCapabilities();
  const allowed = can(session, 'billing:read');
  const billing = useResource((signal) => get<Record<string, unknown>>('/account/billing', { signal }), []);
  const invoices = useResource(
    (signal) => get<{ data: Invoice[] }>('/account/billing/invoices', { signal }),
    [],
  );
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
  const preview = (b?.invoice_preview ?? b?.upcoming_invoice ?? null) as Record<string, unknown> | null;
  return (
    <>
      <PageHeader
        title="Billing"
        description="Usage is metered in Tollgate's ledger and charged through Stripe: add a card with Stripe Checkout, manage it and download invoices in the Stripe portal."
      />
      {tenant?.status === 'past_due' && (
        <p class="notice notice-warn" role="alert">
          <strong>Payment failed.</strong> Update your payment method to keep your keys working.
        </p>
      )}
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
          {ledgerOnly(b) && (
            <p class="notice notice-info">
              <strong>Ledger only.</strong> This server has no Stripe key, so nothing is charged: the invoice
              below is the one it would send.
            </p>
          )}
          <section class="card" aria-labelledby="billing-status">
            <h2 id="billing-status">Payment</h2>
            <div class="billing-row">
              <div>
                {typeof b.status === 'string' && <Badge status={b.status} />}{' '}
                {typeof b.payment_method === 'string'
                  ? b.payment_method
                  : b.has_payment_method
                    ? 'Card on file'
                    : 'No payment method yet'}
              </div>
              <div class="row-actions">
                {caps.has('post', '/account/billing/checkout') && (
                  <button
                    type="button"
                    class="btn btn-primary"
                    disabled={checkout.busy || ledgerOnly(b)}
                    onClick={() => void checkout.run()}
                  >
                    {b.has_payment_method ? 'Change card' : 'Add a card with Stripe'}
                  </button>
                )}
                {caps.has('post', '/account/billing/portal') && (
                  <button
                    type="button"
                    class="btn"
                    disabled={portal.busy || ledgerOnly(b)}
                    onClick={() => void portal.run()}
                  >
                    Open the billing portal
                  </button>
                )}
              </div>
            </div>
            {checkout.error && <ErrorNotice error={checkout.error} />}
            {portal.error && <ErrorNotice error={portal.error} />}
          </section>
          <section class="card" aria-labelledby="billing-preview">
            <h2 id="billing-preview">This month's invoice, so far</h2>
            {preview ? (
              <FlatFacts value={preview} skip={['object']} />
            ) : (
              <FlatFacts value={b} skip={['object', 'invoices']} />
            )}
          </section>
        </>
      )}
      {(b || invoices.state === 'ok') && (
        <section class="card" aria-labelledby="billing-invoices">
          <h2 id="billing-invoices">Past invoices</h2>
          {invoices.state === 'unavailable' && (
            <p class="muted">Past invoices are not available on this server yet.</p>
          )}
          {invoices.state === 'error' && <ErrorNotice error={invoices.error} onRetry={invoices.reload} />}
          {invoices.state === 'ok' &&
            (invoices.data.data.length === 0 ? (
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
                    {invoices.data.data.map((inv, i) => (
                      <tr key={inv.id ?? i}>
                        <td>
                          {inv.hosted_invoice_url || inv.url ? (
                            <a
                              href={(inv.hosted_invoice_url ?? inv.url)!}
                              rel="noopener noreferrer"
                              target="_blank"
                            >
                              {inv.number ?? inv.id}
                            </a>
                          ) : (
                            (inv.number ?? inv.id)
                          )}
                        </td>
                        <td>
                          {fmtDate(inv.period_start ?? inv.created_at)} – {fmtDate(inv.period_end)}
                        </td>
                        <td>{inv.status && <Badge status={inv.status} />}</td>
                        <td>{fmtUsd(inv.total_usd ?? inv.amount_due_usd)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ))}
        </section>
      )}
    </>
  );
}
