import { DailyChart } from '../../charts/daily-chart';
import { FlatFacts } from '../../components/flat-facts';
import { GenericTable } from '../../components/generic-table';
import { ErrorNotice, Link, Loading, PageHeader, Stat, Unavailable } from '../../components/ui';
import { get } from '../../lib/api';
import { fmtCompact, fmtDateTime, fmtInt, statusLabel } from '../../lib/format';
import type { AuditEntry, List, Tenant } from '../../lib/types';
import { useResource } from '../../lib/use-resource';

type Row = Record<string, unknown>;
const num = (r: Row, ...keys: string[]) => {
  for (const k of keys) if (r[k] !== undefined) return Number(r[k]) || 0;
  return 0;
};
const fmtMoney = (n: number) => (n < 0.01 && n > 0 ? `$${n.toPrecision(2)}` : `$${n.toFixed(2)}`);

/** Platform usage per day, top tenants and models, error rates, latency: from GET /admin/usage. */
function PlatformUsage(props: { data: Row }) {
  const d = props.data;
  const days = (Array.isArray(d.data) ? d.data : Array.isArray(d.days) ? d.days : []) as Row[];
  const sorted = [...days].sort((a, b) => String(a.date).localeCompare(String(b.date)));
  const dates = sorted.map((r) => String(r.date));
  const list = (k: string) => (Array.isArray(d[k]) ? (d[k] as Row[]) : null);
  const series = (label: string, color: string, ...keys: string[]) => [
    { label, color, values: sorted.map((r) => num(r, ...keys)) },
  ];
  return (
    <>
      {dates.length > 0 && (
        <div class="charts">
          <DailyChart
            title="Requests per day"
            days={dates}
            series={series('Requests', '#4f46e5', 'requests')}
            format={fmtCompact}
          />
          <DailyChart
            title="Tokens per day"
            days={dates}
            series={[
              { label: 'Input', color: '#4f46e5', values: sorted.map((r) => num(r, 'input_tokens')) },
              { label: 'Output', color: '#0d9488', values: sorted.map((r) => num(r, 'output_tokens')) },
            ]}
            format={fmtCompact}
          />
          <DailyChart
            title="Images per day"
            days={dates}
            series={series('Images', '#d97706', 'images')}
            format={fmtCompact}
          />
          <DailyChart
            title="Revenue per day (USD)"
            days={dates}
            series={series('Revenue', '#db2777', 'revenue_usd', 'cost_usd')}
            format={fmtMoney}
          />
        </div>
      )}
      <div class="grid-2">
        {list('top_tenants') && <GenericTable caption="Top tenants" rows={list('top_tenants')!} limit={10} />}
        {list('top_models') && <GenericTable caption="Top models" rows={list('top_models')!} limit={10} />}
      </div>
      {list('latency') && <GenericTable caption="Latency per model version (ms)" rows={list('latency')!} />}
      <FlatFacts value={d} skip={['object', 'data', 'days', 'top_tenants', 'top_models', 'latency']} />
    </>
  );
}

export default function AdminOverviewPage() {
  const usage = useResource((signal) => get<Row>('/admin/usage', { signal }), []);
  const tenants = useResource((signal) => get<List<Tenant>>('/admin/tenants?limit=100', { signal }), []);
  const audit = useResource((signal) => get<List<AuditEntry>>('/admin/audit?limit=6', { signal }), []);
  const counts = new Map<string, number>();
  if (tenants.state === 'ok')
    for (const t of tenants.data.data) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  const more = tenants.state === 'ok' && tenants.data.next_cursor;
  return (
    <>
      <PageHeader title="Platform overview" description="Usage, revenue and health across every tenant." />
      <section class="card" aria-labelledby="tenants-title">
        <h2 id="tenants-title">Tenants{more ? ' (newest 100)' : ''}</h2>
        {tenants.state === 'loading' && <Loading />}
        {tenants.state === 'error' && <ErrorNotice error={tenants.error} onRetry={tenants.reload} />}
        {tenants.state === 'ok' && (
          <div class="stats stats-inline">
            <Stat
              label="All"
              value={fmtInt(tenants.data.data.length)}
              sub={<Link href="/operator/tenants">Find a tenant</Link>}
            />
            {['active', 'pending_verification', 'past_due', 'suspended'].map((s) => (
              <Stat key={s} label={statusLabel(s)} value={fmtInt(counts.get(s) ?? 0)} />
            ))}
          </div>
        )}
      </section>
      <section class="card" aria-labelledby="usage-title">
        <h2 id="usage-title">Usage and revenue</h2>
        {usage.state === 'loading' && <Loading label="Loading platform usage…" />}
        {usage.state === 'unavailable' && (
          <Unavailable feature="Platform usage" endpoint="GET /admin/usage">
            <p>
              Requests, tokens, images and revenue per day, top tenants and models, error and refusal rates
              and latency percentiles will show here.
            </p>
          </Unavailable>
        )}
        {usage.state === 'error' && <ErrorNotice error={usage.error} onRetry={usage.reload} />}
        {usage.state === 'ok' && <PlatformUsage data={usage.data} />}
      </section>
      <section class="card" aria-labelledby="recent-title">
        <h2 id="recent-title">Recent operator actions</h2>
        {audit.state === 'loading' && <Loading />}
        {audit.state === 'error' && <ErrorNotice error={audit.error} onRetry={audit.reload} />}
        {audit.state === 'ok' &&
          (audit.data.data.length === 0 ? (
            <p class="muted">No operator actions yet.</p>
          ) : (
            <ul class="activity">
              {audit.data.data.map((e) => (
                <li key={e.id}>
                  <code>{e.action}</code> on {e.target.type} <code>{e.target.id}</code> by{' '}
                  {e.actor.email ?? e.actor.id}
                  <span class="muted"> · {fmtDateTime(e.at)}</span>
                </li>
              ))}
            </ul>
          ))}
        <Link href="/operator/audit">Full audit log</Link>
      </section>
    </>
  );
}
