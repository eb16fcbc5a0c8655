import { useEffect, useState } from 'preact/hooks';
import { announce, Badge, Dialog, ErrorNotice, Link, Loading, PageHeader } from '../../components/ui';
import { get, post } from '../../lib/api';
import { fmtInt, fmtUsd } from '../../lib/format';
import { useSubmit } from '../../lib/forms';
import type { PageProps } from '../../lib/router';
import { can, loadSession, session as sessionStore } from '../../lib/session';
import { useStore } from '../../lib/store';
import { useResource } from '../../lib/use-resource';

/** GET /account/billing/plans. */
interface PlanOption {
  id: string;
  name: string;
  overage: 'hard_stop' | 'bill';
  included: Record<string, number | undefined>;
  requests_per_minute: number | null;
  tokens_per_minute: number | null;
  max_concurrent: number | null;
  spend_cap_usd: string | null;
  self_serve: boolean;
  current: boolean;
  price_basis: string;
}

interface PlanOptions {
  current_plan: string;
  connected: boolean;
  subscription: { plan: string | null; ends_at_period_end: boolean } | null;
  data: PlanOption[];
}

/** POST /account/billing/plan. */
interface PlanChange {
  status: 'applied' | 'checkout_required';
  plan: string;
  url: string | null;
  message: string;
}

const limit = (n: number | null) => (n === null ? 'Unlimited' : fmtInt(n));

const rows: { label: string; value: (p: PlanOption) => string }[] = [
  { label: 'Price', value: (p) => p.price_basis },
  { label: 'Included input tokens / month', value: (p) => fmtInt(p.included.input_tokens ?? 0) },
  { label: 'Included output tokens / month', value: (p) => fmtInt(p.included.output_tokens ?? 0) },
  { label: 'Included images / month', value: (p) => fmtInt(p.included.images ?? 0) },
  { label: 'Requests per minute', value: (p) => limit(p.requests_per_minute) },
  { label: 'Tokens per minute', value: (p) => limit(p.tokens_per_minute) },
  { label: 'Requests at once', value: (p) => limit(p.max_concurrent) },
  {
    label: 'Past the included units',
    value: (p) =>
      p.overage === 'hard_stop'
        ? 'Refused (429 quota_exceeded) until the month ends'
        : `Billed${p.spend_cap_usd ? `, up to a ${fmtUsd(p.spend_cap_usd)} monthly spend cap` : ''}`,
  },
];

/** How a move reads on its button and in its confirmation. */
function move(from: PlanOption | undefined, to: PlanOption, connected: boolean, ending = false) {
  const paid = to.overage === 'bill';
  const verb = !from || (from.overage === 'hard_stop' && paid) ? 'Upgrade' : paid ? 'Switch' : 'Downgrade';
  const what = !paid
    ? connected && from?.overage === 'bill'
      ? `${to.name}'s limits apply from your next request and nothing more is billed. Your Stripe subscription ends at the end of the month, with a last invoice for the usage billed before now.`
      : `${to.name}'s limits apply from your next request: past its included units, requests are refused until the month ends.`
    : connected && ending
      ? `Your Stripe subscription goes on instead of ending this month, on ${to.name}: its limits apply from your next request.`
      : connected && from?.overage === 'hard_stop'
        ? `You will add a card at Stripe Checkout; ${to.name} applies as soon as Stripe confirms the payment method. There is no monthly fee: only usage past the included units is billed.`
        : `${to.name}'s limits apply from your next request.${connected ? ' Your Stripe subscription moves to it; nothing is prorated.' : ''}`;
  return { label: `${verb} to ${to.name}`, what };
}

export default function PlansPage(props: PageProps) {
  const session = useStore(sessionStore);
  const manage = can(session, 'billing:manage');
  const allowed = can(session, 'billing:read');
  const plans = useResource((signal) => get<PlanOptions>('/account/billing/plans', { signal }), []);
  const [chosen, setChosen] = useState<PlanOption | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const returned = props.query.get('checkout');
  const [waiting, setWaiting] = useState(returned === 'success');
  const p =
    plans.state === 'ok' || plans.state === 'loading' || plans.state === 'error' ? plans.data : undefined;
  const current = p?.data.find((x) => x.current);

  // Back from Checkout: Stripe's webhook may land a moment after the browser does.
  useEffect(() => {
    if (!waiting) return;
    if (current && current.overage === 'bill') {
      setWaiting(false);
      setDone(`You are on ${current.name} now.`);
      void loadSession();
      return;
    }
    const started = Date.now();
    const timer = setInterval(() => {
      if (Date.now() - started > 60_000) {
        clearInterval(timer);
        setWaiting(false);
        return;
      }
      plans.reload();
    }, 1_500);
    return () => clearInterval(timer);
  }, [waiting, current?.id]);

  const change = useSubmit(async (to: PlanOption) => {
    const answer = await post<PlanChange>('/account/billing/plan', { plan: to.id });
    if (answer.status === 'checkout_required' && answer.url) {
      location.assign(answer.url);
      return;
    }
    setChosen(null);
    setDone(answer.message);
    announce(answer.message);
    plans.reload();
    void loadSession();
  });

  if (!allowed) {
    return (
      <>
        <PageHeader title="Plans" />
        <p class="notice notice-muted">Your role may not see plans. Owners and billing members can.</p>
      </>
    );
  }
  return (
    <>
      <PageHeader
        title="Plans"
        description={
          <>
            What each plan includes each month, its limits, and what happens past the included units. See{' '}
            <Link href="/billing">Billing</Link> for this month's cost and invoices.
          </>
        }
      />
      {plans.state === 'loading' && !p && <Loading label="Loading plans…" />}
      {plans.state === 'error' && <ErrorNotice error={plans.error} onRetry={plans.reload} />}
      {waiting && (
        <p class="notice notice-info" role="status">
          <strong>Waiting for Stripe to confirm…</strong> Your plan changes as soon as it does.
        </p>
      )}
      {returned === 'canceled' && !done && (
        <p class="notice notice-muted">Checkout was cancelled: your plan has not changed.</p>
      )}
      {done && (
        <p class="notice notice-info" role="status">
          {done}
        </p>
      )}
      {p?.subscription?.ends_at_period_end && (
        <p class="notice notice-info">
          Your Stripe subscription ends at the end of this month, with a last invoice for the usage billed
          before you moved to Free. Choosing a paid plan again keeps it going.
        </p>
      )}
      {p && (
        <section class="card" aria-labelledby="plans-compare">
          <h2 id="plans-compare">Compare plans</h2>
          <div class="table-wrap">
            <table class="table plans-table">
              <caption class="visually-hidden">Plans compared</caption>
              <thead>
                <tr>
                  <th scope="col">Plan</th>
                  {p.data.map((plan) => (
                    <th scope="col" key={plan.id} aria-current={plan.current ? 'true' : undefined}>
                      {plan.name} {plan.current && <Badge status="active" label="Current plan" />}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.label}>
                    <th scope="row">{r.label}</th>
                    {p.data.map((plan) => (
                      <td key={plan.id}>{r.value(plan)}</td>
                    ))}
                  </tr>
                ))}
                {manage && (
                  <tr>
                    <th scope="row">
                      <span class="visually-hidden">Change</span>
                    </th>
                    {p.data.map((plan) => (
                      <td key={plan.id}>
                        {plan.current ? (
                          <span class="muted">Your plan</span>
                        ) : plan.self_serve && current?.self_serve !== false ? (
                          <button
                            type="button"
                            class={`btn${plan.overage === 'bill' ? ' btn-primary' : ''}`}
                            onClick={() => {
                              change.setError(null);
                              setChosen(plan);
                            }}
                          >
                            {move(current, plan, p.connected, p.subscription?.ends_at_period_end).label}
                          </button>
                        ) : (
                          <span class="muted">Ask your operator</span>
                        )}
                      </td>
                    ))}
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          {!manage && <p class="hint">Owners and billing members change the plan.</p>}
          {current && !current.self_serve && (
            <p class="hint">Your plan was set by your platform operator: ask them to change it.</p>
          )}
        </section>
      )}
      <Dialog open={chosen !== null} title="Change plan" onClose={() => setChosen(null)}>
        {chosen && p && (
          <>
            <p>{move(current, chosen, p.connected, p.subscription?.ends_at_period_end).what}</p>
            {change.error && <ErrorNotice error={change.error} title="The plan was not changed" />}
            <div class="row-actions">
              <button
                type="button"
                class="btn btn-primary"
                disabled={change.busy}
                onClick={() => void change.run(chosen)}
              >
                {change.busy
                  ? 'Changing…'
                  : move(current, chosen, p.connected, p.subscription?.ends_at_period_end).label}
              </button>
              <button type="button" class="btn" onClick={() => setChosen(null)}>
                Keep {current?.name ?? 'my plan'}
              </button>
            </div>
          </>
        )}
      </Dialog>
    </>
  );
}
