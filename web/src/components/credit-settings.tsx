import { useState } from 'preact/hooks';
import { api, get } from '../lib/api';
import { fmtDate, fmtDateTime, fmtUsd } from '../lib/format';
import { useSubmit, value } from '../lib/forms';
import { can, session as sessionStore } from '../lib/session';
import { useStore } from '../lib/store';
import { useResource } from '../lib/use-resource';
import { Table } from './table';
import { announce, ErrorNotice, Field, Loading } from './ui';

/** GET /account/credits/settings. */
export interface CreditSettings {
  billing_mode: 'prepaid' | 'postpaid';
  free_only: boolean;
  balance_usd: string;
  trial: { amount_usd: string; left_usd: string; expires_at: string; status: string } | null;
  exhausted_at: string | null;
  low_balance_alerts_usd: string[];
  low_balance_notices: { threshold_usd: string; balance_usd: string; at: string; notified: string | null }[];
}

const SETTINGS = '/account/credits/settings';

/**
 * The billing page's trial card: the trial credit and its expiry, the free-only switch, and, when
 * the free credit has run out, why calls are refused and how to continue. Shown to accounts with
 * a trial or with free-only on.
 */
export function TrialCard() {
  const session = useStore(sessionStore);
  const manage = can(session, 'billing:manage');
  const settings = useResource((signal) => get<CreditSettings>(SETTINGS, { signal }), []);
  const toggle = useSubmit(async (on: boolean) => {
    await api('PATCH', SETTINGS, { body: { free_only: on } });
    announce(on ? 'Free-only is on: nothing will be charged.' : 'Free-only is off.');
    settings.reload();
  });
  if (settings.state === 'loading') return <Loading label="Loading the trial…" />;
  if (settings.state === 'error') return <ErrorNotice error={settings.error} onRetry={settings.reload} />;
  if (settings.state !== 'ok') return null;
  const s = settings.data;
  if (!s.trial && !s.free_only) return null;
  return (
    <section class="card" aria-labelledby="trial-title" data-testid="trial-card">
      <h2 id="trial-title">Free trial</h2>
      {s.exhausted_at && (
        <div class="notice notice-warn" role="alert" data-testid="trial-exhausted">
          <strong>Your free credit ran out on {fmtDateTime(s.exhausted_at)}.</strong>
          <p>
            API calls are refused with <code>429 insufficient_balance</code> (and{' '}
            <code>x-should-retry: false</code>
            ), and nothing is charged. To continue: top up credit (spent at once), or turn free-only off below
            and then add a card or upgrade your plan. We emailed the account contact.
          </p>
        </div>
      )}
      {s.trial ? (
        <p data-testid="trial-line">
          Trial credit: <strong>{fmtUsd(s.trial.left_usd)}</strong> left of {fmtUsd(s.trial.amount_usd)},{' '}
          {s.trial.status === 'active' ? `valid until ${fmtDate(s.trial.expires_at)}` : 'expired'}. Balance:{' '}
          {fmtUsd(s.balance_usd)}.
        </p>
      ) : (
        <p>Balance: {fmtUsd(s.balance_usd)}.</p>
      )}
      <p class="muted">
        {s.free_only
          ? 'Free-only is on: calls are paid from your credit only and never invoiced; when the credit runs out they are refused.'
          : s.billing_mode === 'prepaid'
            ? 'Free-only is off: calls are paid from your credit, including credit you bought.'
            : 'Free-only is off: usage is billed as your plan says.'}
      </p>
      {manage && (
        <div class="form-actions">
          <button
            type="button"
            class="btn"
            disabled={toggle.busy}
            onClick={() => void toggle.run(!s.free_only)}
          >
            {s.free_only ? 'Turn free-only off' : 'Turn free-only on'}
          </button>
          {s.free_only && (
            <span class="muted">
              Off: paid use. Credit you bought keeps being spent; without any, usage is billed by your plan.
            </span>
          )}
        </div>
      )}
      {toggle.error && <ErrorNotice error={toggle.error} />}
    </section>
  );
}

/** The alerts page's low-balance card: up to five USD thresholds, and the crossings so far. */
export function LowBalanceCard() {
  const session = useStore(sessionStore);
  const manage = can(session, 'billing:manage');
  const settings = useResource((signal) => get<CreditSettings>(SETTINGS, { signal }), []);
  const [draft, setDraft] = useState<string | null>(null);
  const save = useSubmit(async () => {
    const text = draft ?? '';
    const list = text
      .split(',')
      .map((t) => t.trim().replace(/^\$/, ''))
      .filter((t) => t !== '');
    await api('PATCH', SETTINGS, { body: { low_balance_alerts_usd: list } });
    announce(list.length ? 'Low-balance alerts saved.' : 'Low-balance alerts removed.');
    setDraft(null);
    settings.reload();
  });
  if (settings.state === 'loading') return <Loading label="Loading low-balance alerts…" />;
  if (settings.state === 'error') return <ErrorNotice error={settings.error} onRetry={settings.reload} />;
  if (settings.state !== 'ok') return null;
  const s = settings.data;
  const current = s.low_balance_alerts_usd.map((t) => String(Number(t))).join(', ');
  const fieldError = save.error?.param?.startsWith('low_balance_alerts_usd') ? save.error.message : null;
  return (
    <section class="card" aria-labelledby="low-balance-title">
      <h2 id="low-balance-title">Low-balance alerts</h2>
      <p class="muted">
        Credit balance: {fmtUsd(s.balance_usd)}. When it falls below one of these amounts you get an email and
        a notice here, once per crossing (again only after it has risen back above).
      </p>
      {manage ? (
        <form
          class="narrow"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void save.run();
          }}
        >
          <Field
            label="Alert when the balance is below (USD, up to 5, comma-separated)"
            id="low-balance-thresholds"
            hint="e.g. 10, 2.50; empty removes them"
            error={fieldError}
          >
            {(a) => (
              <input
                {...a}
                inputMode="decimal"
                value={draft ?? current}
                onInput={(e) => setDraft(value(e))}
              />
            )}
          </Field>
          {save.error && !fieldError && <ErrorNotice error={save.error} />}
          <div class="form-actions">
            <button type="submit" class="btn btn-primary" disabled={save.busy || draft === null}>
              Save alerts
            </button>
          </div>
        </form>
      ) : (
        <p>
          {current ? `Alerts at ${current} USD.` : 'No low-balance alerts.'} Owners and billing members set
          them.
        </p>
      )}
      {s.low_balance_notices.length > 0 && (
        <Table
          caption="Low-balance notices, newest first"
          columns={['When', 'Below', 'Balance then', 'Emailed to']}
        >
          {s.low_balance_notices.map((n) => (
            <tr key={`${n.at}-${n.threshold_usd}`}>
              <td>{fmtDateTime(n.at)}</td>
              <th scope="row">{fmtUsd(n.threshold_usd)}</th>
              <td>{fmtUsd(n.balance_usd)}</td>
              <td>{n.notified ?? '—'}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}
