import { useState } from 'preact/hooks';
import { LowBalanceCard } from '../../components/credit-settings';
import { Table } from '../../components/table';
import { announce, Empty, ErrorNotice, Field, Loading, PageHeader } from '../../components/ui';
import { api, get } from '../../lib/api';
import { fmtDateTime, fmtInt, fmtUsd } from '../../lib/format';
import { useSubmit, value } from '../../lib/forms';
import { asText } from '../../lib/limits';
import { can, session as sessionStore } from '../../lib/session';
import { useStore } from '../../lib/store';
import type { Limits, List, UsageAlert } from '../../lib/types';
import { useResource } from '../../lib/use-resource';
import { alertRecipients, keyAlertLabel } from './key-budget';

const metricLabel = (m: string) =>
  m === 'spend' ? 'Spend cap' : `Included ${m.slice('included_'.length).replace(/_/g, ' ')}`;

/** What a project budget's alert is about: the project by name, and the budget's mode. */
const projectAlertLabel = (p: NonNullable<UsageAlert['project']>) =>
  `Project “${p.name}” budget (${p.budget_mode === 'alert_only' ? 'alert only' : 'hard stop'})`;

const alertLabel = (a: UsageAlert) =>
  a.key ? keyAlertLabel(a) : a.project ? projectAlertLabel(a.project) : metricLabel(a.metric);
const amount = (a: UsageAlert, v: string) => (a.unit === 'usd' ? fmtUsd(v) : fmtInt(Number(v)));

/** The owner's own monthly spend cap, which alerts at 50, 80 and 100% like the plan's limits. */
function SpendCapForm(props: { limits: Limits; onDone: () => void }) {
  const [cap, setCap] = useState(asText(props.limits.owner_spend_cap_usd));
  const form = useSubmit(async (remove: boolean) => {
    await api('PATCH', '/account/limits', { body: { spend_cap_usd: remove ? null : cap } });
    announce(remove ? 'Your spend cap is removed.' : 'Spend cap saved.');
    if (remove) setCap('');
    props.onDone();
  });
  return (
    <form
      class="narrow"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void form.run(false);
      }}
    >
      <Field
        label="Your monthly spend cap (USD)"
        id="alerts-cap"
        hint={`The plan's cap: ${props.limits.plan.spend_cap_usd ? fmtUsd(props.limits.plan.spend_cap_usd) : 'none'}. Yours can only lower it.`}
        error={form.fieldError('spend_cap_usd')}
      >
        {(a) => <input {...a} inputMode="decimal" value={cap} onInput={(e) => setCap(value(e))} />}
      </Field>
      {form.error && form.error.param !== 'spend_cap_usd' && <ErrorNotice error={form.error} />}
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled={form.busy || !cap}>
          Save cap
        </button>
        {props.limits.owner_spend_cap_usd && (
          <button type="button" class="btn" disabled={form.busy} onClick={() => void form.run(true)}>
            Remove my cap
          </button>
        )}
      </div>
    </form>
  );
}

/** Usage alerts: when 50, 80 and 100% of the spend cap or of an included unit were reached. */
export default function AlertsPage() {
  const session = useStore(sessionStore);
  const alerts = useResource((signal) => get<List<UsageAlert>>('/account/alerts', { signal }), []);
  const limits = useResource((signal) => get<Limits>('/account/limits', { signal }), []);
  return (
    <>
      <PageHeader
        title="Usage alerts"
        description="An alert is raised once a month at 50%, 80% and 100% of your spend cap and of each unit your plan includes, and emailed to the account contact; an API key's budget alerts at the thresholds set on the key, to the people named there; a project's budget at 50, 80 and 100%, to the project's and the account's owners. At 100% of a hard limit requests are refused."
      />
      <section class="card" aria-labelledby="cap-title">
        <h2 id="cap-title">Spend cap</h2>
        {limits.state === 'loading' && <Loading />}
        {limits.state === 'error' && <ErrorNotice error={limits.error} onRetry={limits.reload} />}
        {limits.state === 'ok' &&
          (can(session, 'spend_cap:manage') ? (
            <SpendCapForm
              limits={limits.data}
              onDone={() => {
                limits.reload();
                alerts.reload();
              }}
            />
          ) : (
            <p>
              {limits.data.effective.spend_cap_usd
                ? `This month's cap: ${fmtUsd(limits.data.effective.spend_cap_usd)}.`
                : 'No spend cap.'}{' '}
              Owners and billing members can change it.
            </p>
          ))}
      </section>
      <LowBalanceCard />
      <section class="card" aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        {alerts.state === 'loading' && <Loading label="Loading alerts…" />}
        {alerts.state === 'error' && <ErrorNotice error={alerts.error} onRetry={alerts.reload} />}
        {alerts.state === 'ok' &&
          (alerts.data.data.length === 0 ? (
            <Empty title="No alerts yet">You will see one here when usage reaches 50% of a limit.</Empty>
          ) : (
            <Table
              caption="Usage alerts, newest first"
              captionHidden
              columns={['When', 'Limit', 'Reached', 'Used of limit', 'Emailed to']}
            >
              {alerts.data.data.map((a) => (
                <tr key={`${a.month}-${a.metric}-${a.key?.id ?? a.project?.id ?? ''}-${a.threshold}`}>
                  <td>{fmtDateTime(a.at)}</td>
                  <th scope="row">{alertLabel(a)}</th>
                  <td>{a.threshold}%</td>
                  <td>
                    {amount(a, a.used)} of {amount(a, a.limit)}
                  </td>
                  <td>{alertRecipients(a)}</td>
                </tr>
              ))}
            </Table>
          ))}
      </section>
    </>
  );
}
