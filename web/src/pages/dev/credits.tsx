import { useState } from 'preact/hooks';
import { ErrorNotice, Field, Loading, PageHeader, Stat } from '../../components/ui';
import { api, get, post, query } from '../../lib/api';
import { fmtDate, fmtDateTime, fmtUsd, statusLabel } from '../../lib/format';
import { useSubmit, value } from '../../lib/forms';
import { can, session as sessionStore } from '../../lib/session';
import { useStore } from '../../lib/store';
import { useResource } from '../../lib/use-resource';

/** GET /account/credits, as far as this page reads it. */
interface Credits {
  billing_mode: 'prepaid' | 'postpaid';
  balance_usd: string;
  available_usd: string;
  by_kind: { paid: string; promotional: string; trial: string };
  burn_order: string;
  grants: {
    id: string;
    kind: string;
    amount_usd: string;
    left_usd: string;
    status: string;
    created_at: string;
    expires_at: string;
    note: string | null;
    receipt_url: string | null;
  }[];
  entries: {
    id: string;
    type: string;
    at: string;
    amount_usd: string;
    kind: string | null;
    note: string | null;
  }[];
  next_cursor: string | null;
  top_up: { available: boolean; how: string };
  top_ups: {
    id: string;
    purpose: string;
    amount_usd: string;
    status: string;
    created_at: string;
    failure_reason: string | null;
  }[];
  auto_recharge: {
    enabled: boolean;
    threshold_usd: string;
    amount_usd: string;
    max_per_day: number;
    card: { brand: string; last4: string } | null;
    recharges_today: number;
    last_attempt: { status: string; amount_usd: string; at: string; reason: string | null } | null;
    disabled_reason: string | null;
  };
}

const twoPlaces = (usd: string) => Number(usd).toFixed(2);

export default function CreditsPage() {
  const session = useStore(sessionStore);
  const allowed = can(session, 'billing:read');
  const manage = can(session, 'billing:manage');
  const [cursor, setCursor] = useState<string | null>(null);
  const credits = useResource(
    (signal) => get<Credits>(`/account/credits${query({ cursor, limit: 20 })}`, { signal }),
    [cursor],
  );
  const c = credits.state === 'ok' ? credits.data : null;
  const [amount, setAmount] = useState('25.00');
  const [saveCard, setSaveCard] = useState(true);
  const topUp = useSubmit(async () => {
    const answer = await post<{ url: string }>('/account/credits/top-ups', {
      amount_usd: amount,
      save_card: saveCard,
    });
    location.assign(answer.url);
  });
  const [recharge, setRecharge] = useState<{ threshold: string; amount: string; max: string } | null>(null);
  const r = c?.auto_recharge;
  const form = recharge ?? {
    threshold: r && r.threshold_usd !== '0.000000000' ? twoPlaces(r.threshold_usd) : '5.00',
    amount: r && r.amount_usd !== '0.00' ? r.amount_usd : '20.00',
    max: String(r?.max_per_day || 2),
  };
  const saveRecharge = useSubmit(async (enabled: boolean) => {
    await api('PUT', '/account/credits/auto-recharge', {
      body: enabled
        ? { enabled, threshold_usd: form.threshold, amount_usd: form.amount, max_per_day: Number(form.max) }
        : { enabled },
    });
    setRecharge(null);
    credits.reload();
  });
  const returned = new URLSearchParams(location.search).get('top_up');

  if (!allowed) {
    return (
      <>
        <PageHeader title="Credits" />
        <p class="notice notice-muted">Your role may not see credit. Owners and billing members can.</p>
      </>
    );
  }
  return (
    <>
      <PageHeader
        title="Credits"
        description="Prepaid credit: requests are paid from this balance, and refused (429 insufficient_balance) when it cannot pay for them."
      />
      {returned === 'success' && (
        <p class="notice notice-info" role="status">
          Thank you: your payment is being credited. It appears below within seconds.
        </p>
      )}
      {returned === 'canceled' && (
        <p class="notice notice-muted">The top-up was canceled; nothing was charged.</p>
      )}
      {credits.state === 'loading' && <Loading label="Loading credit…" />}
      {credits.state === 'error' && <ErrorNotice error={credits.error} onRetry={credits.reload} />}
      {c && (
        <>
          <div class="stats">
            <Stat
              label="Balance"
              value={<span data-testid="balance">{fmtUsd(c.balance_usd)}</span>}
              sub={
                c.billing_mode === 'prepaid'
                  ? 'Prepaid: requests are paid from it'
                  : 'Postpaid: used once prepaid'
              }
            />
            <Stat label="Paid" value={fmtUsd(c.by_kind.paid)} sub="Burned last" />
            <Stat label="Promotional" value={fmtUsd(c.by_kind.promotional)} sub="Burned first" />
            <Stat label="Trial" value={fmtUsd(c.by_kind.trial)} sub="Burned first" />
          </div>
          {manage && (
            <section class="card" aria-labelledby="credits-top-up">
              <h2 id="credits-top-up">Top up</h2>
              {c.top_up.available ? (
                <form
                  onSubmit={(e) => {
                    e.preventDefault();
                    void topUp.run();
                  }}
                >
                  <Field
                    label="Amount (USD)"
                    id="top-up-amount"
                    hint="5.00 to 5000.00"
                    error={topUp.fieldError('amount_usd')}
                  >
                    {(aria) => (
                      <input
                        {...aria}
                        inputMode="decimal"
                        value={amount}
                        onInput={(e) => setAmount(value(e))}
                      />
                    )}
                  </Field>
                  <label>
                    <input
                      type="checkbox"
                      checked={saveCard}
                      onChange={(e) => setSaveCard(e.currentTarget.checked)}
                    />{' '}
                    Save the card for auto-recharge
                  </label>
                  <div class="row-actions">
                    <button type="submit" class="btn btn-primary" disabled={topUp.busy}>
                      Top up with Stripe
                    </button>
                  </div>
                  {topUp.error && !topUp.error.param && <ErrorNotice error={topUp.error} />}
                </form>
              ) : (
                <p class="notice notice-info">{c.top_up.how}</p>
              )}
            </section>
          )}
          <section class="card" aria-labelledby="credits-recharge">
            <h2 id="credits-recharge">Auto-recharge</h2>
            {c.auto_recharge.last_attempt?.status === 'failed' && (
              <p class="notice notice-warn" role="alert" data-testid="recharge-failed">
                <strong>The last auto-recharge failed</strong> ({fmtDateTime(c.auto_recharge.last_attempt.at)}
                ): {c.auto_recharge.last_attempt.reason ?? 'declined.'}{' '}
                {c.auto_recharge.disabled_reason === 'recharge_failed' &&
                  'Auto-recharge is off until you turn it on again; top up with another card if need be.'}
              </p>
            )}
            {c.auto_recharge.last_attempt?.status === 'succeeded' && (
              <p class="muted" data-testid="recharge-succeeded">
                Last recharge: {fmtUsd(c.auto_recharge.last_attempt.amount_usd)} on{' '}
                {fmtDateTime(c.auto_recharge.last_attempt.at)}.
              </p>
            )}
            <p>
              {c.auto_recharge.enabled
                ? `On: below ${fmtUsd(c.auto_recharge.threshold_usd)}, ${fmtUsd(c.auto_recharge.amount_usd)} is charged to ${c.auto_recharge.card?.brand ?? 'the card'} ending ${c.auto_recharge.card?.last4 ?? ''}, at most ${c.auto_recharge.max_per_day} a day (${c.auto_recharge.recharges_today} today).`
                : c.auto_recharge.card
                  ? `Off. Saved card: ${c.auto_recharge.card.brand} ending ${c.auto_recharge.card.last4}.`
                  : 'Off. Top up once with "Save the card" to use it.'}
            </p>
            {manage && c.auto_recharge.card && (
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  void saveRecharge.run(true);
                }}
              >
                <Field
                  label="When the balance is below (USD)"
                  id="recharge-threshold"
                  error={saveRecharge.fieldError('threshold_usd')}
                >
                  {(aria) => (
                    <input
                      {...aria}
                      inputMode="decimal"
                      value={form.threshold}
                      onInput={(e) => setRecharge({ ...form, threshold: value(e) })}
                    />
                  )}
                </Field>
                <Field
                  label="Recharge by (USD)"
                  id="recharge-amount"
                  error={saveRecharge.fieldError('amount_usd')}
                >
                  {(aria) => (
                    <input
                      {...aria}
                      inputMode="decimal"
                      value={form.amount}
                      onInput={(e) => setRecharge({ ...form, amount: value(e) })}
                    />
                  )}
                </Field>
                <Field
                  label="At most, per day"
                  id="recharge-max"
                  error={saveRecharge.fieldError('max_per_day')}
                >
                  {(aria) => (
                    <input
                      {...aria}
                      inputMode="numeric"
                      value={form.max}
                      onInput={(e) => setRecharge({ ...form, max: value(e) })}
                    />
                  )}
                </Field>
                <div class="row-actions">
                  <button type="submit" class="btn btn-primary" disabled={saveRecharge.busy}>
                    {c.auto_recharge.enabled ? 'Save auto-recharge' : 'Turn auto-recharge on'}
                  </button>
                  {c.auto_recharge.enabled && (
                    <button
                      type="button"
                      class="btn"
                      disabled={saveRecharge.busy}
                      onClick={() => void saveRecharge.run(false)}
                    >
                      Turn off
                    </button>
                  )}
                </div>
                {saveRecharge.error && !saveRecharge.error.param && (
                  <ErrorNotice error={saveRecharge.error} />
                )}
              </form>
            )}
          </section>
          <section class="card" aria-labelledby="credits-grants">
            <h2 id="credits-grants">Grants</h2>
            <p class="hint">Burn order: {c.burn_order}.</p>
            {c.grants.length === 0 ? (
              <p class="muted">No credit yet.</p>
            ) : (
              <div class="table-wrap">
                <table class="table">
                  <thead>
                    <tr>
                      <th scope="col">Kind</th>
                      <th scope="col">Amount</th>
                      <th scope="col">Left</th>
                      <th scope="col">Status</th>
                      <th scope="col">Expires</th>
                      <th scope="col">Receipt</th>
                    </tr>
                  </thead>
                  <tbody>
                    {c.grants.map((g) => (
                      <tr key={g.id}>
                        <td>
                          {statusLabel(g.kind)}
                          {g.note ? <span class="muted"> · {g.note}</span> : null}
                        </td>
                        <td>{fmtUsd(g.amount_usd)}</td>
                        <td>{fmtUsd(g.left_usd)}</td>
                        <td>{statusLabel(g.status)}</td>
                        <td>{fmtDate(g.expires_at)}</td>
                        <td>
                          {g.receipt_url ? (
                            <a href={g.receipt_url} rel="noopener noreferrer" target="_blank">
                              Receipt
                            </a>
                          ) : (
                            '—'
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          {c.top_ups.length > 0 && (
            <section class="card" aria-labelledby="credits-payments">
              <h2 id="credits-payments">Payments</h2>
              <ul>
                {c.top_ups.map((t) => (
                  <li key={t.id}>
                    {fmtDateTime(t.created_at)} · {t.purpose === 'auto_recharge' ? 'Auto-recharge' : 'Top-up'}{' '}
                    {fmtUsd(t.amount_usd)} · {statusLabel(t.status)}
                    {t.failure_reason ? ` (${t.failure_reason})` : ''}
                  </li>
                ))}
              </ul>
            </section>
          )}
          <section class="card" aria-labelledby="credits-ledger">
            <h2 id="credits-ledger">Ledger</h2>
            {c.entries.length === 0 ? (
              <p class="muted">No entries yet.</p>
            ) : (
              <div class="table-wrap">
                <table class="table">
                  <thead>
                    <tr>
                      <th scope="col">When</th>
                      <th scope="col">Entry</th>
                      <th scope="col">Amount</th>
                    </tr>
                  </thead>
                  <tbody>
                    {c.entries.map((e) => (
                      <tr key={e.id}>
                        <td>{fmtDateTime(e.at)}</td>
                        <td>
                          {statusLabel(e.type)}
                          {e.kind ? ` · ${e.kind}` : ''}
                          {e.note ? <span class="muted"> · {e.note}</span> : null}
                        </td>
                        <td>{fmtUsd(e.amount_usd)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <div class="row-actions">
              {cursor && (
                <button type="button" class="btn btn-small" onClick={() => setCursor(null)}>
                  Newest
                </button>
              )}
              {c.next_cursor && (
                <button type="button" class="btn btn-small" onClick={() => setCursor(c.next_cursor)}>
                  Older entries
                </button>
              )}
            </div>
          </section>
        </>
      )}
    </>
  );
}
