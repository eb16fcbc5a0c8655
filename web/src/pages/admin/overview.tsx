import { useState } from 'preact/hooks';
import { DailyChart } from '../../charts/daily-chart';
import { Empty, ErrorNotice, Field, Link, Loading, PageHeader, Stat, Unavailable } from '../../components/ui';
import { UsageFreshnessNote } from '../../components/usage-freshness';
import { get, query } from '../../lib/api';
import {
  daysBetween,
  fmtCompact,
  fmtDateTime,
  fmtInt,
  fmtUsd,
  statusLabel,
  unitsText,
} from '../../lib/format';
import { value } from '../../lib/forms';
import type { AuditEntry, List, PlatformUsage, Tenant } from '../../lib/types';
import { useResource } from '../../lib/use-resource';
import { ModelHealthSection } from './model-health';

const fmtMoney = (n: number) => (n < 0.01 && n > 0 ? `$${n.toPrecision(2)}` : `$${n.toFixed(2)}`);

type Channel = PlatformUsage['by_day'][number]['channel'];

/**
 * The days of the range, each with the sums over every model version that day (zero when idle),
 * and the requests and revenue of online calls and batch lines apart.
 */
function daily(u: PlatformUsage) {
  const days = daysBetween(u.start_date, u.end_date);
  const at = new Map(days.map((d, i) => [d, i]));
  const zero = () => days.map(() => 0);
  const s = {
    days,
    requests: zero(),
    input: zero(),
    output: zero(),
    images: zero(),
    revenue: zero(),
    requestsBy: { online: zero(), batch: zero() } as Record<Channel, number[]>,
    revenueBy: { online: zero(), batch: zero() } as Record<Channel, number[]>,
  };
  for (const r of u.by_day) {
    const i = at.get(r.date);
    if (i === undefined) continue;
    s.requests[i]! += r.requests;
    s.input[i]! += r.input_tokens;
    s.output[i]! += r.output_tokens;
    s.images[i]! += r.images;
    s.revenue[i]! += Number(r.cost_usd);
    s.requestsBy[r.channel][i]! += r.requests;
    s.revenueBy[r.channel][i]! += Number(r.cost_usd);
  }
  return s;
}

const channelLabel = (c: Channel) => (c === 'batch' ? 'Batch' : 'Online');

/** Requests, tokens, images and revenue per day; top tenants and model versions: GET /admin/usage. */
function PlatformUsageView(props: { data: PlatformUsage }) {
  const u = props.data;
  const s = daily(u);
  const t = u.totals;
  const byChannel = u.totals_by_channel;
  // Online and batch as two series once both have usage in the range.
  const split = byChannel.online.requests > 0 && byChannel.batch.requests > 0;
  return (
    <>
      <p class="hint">
        {u.start_date} to {u.end_date} (UTC), every tenant, at list prices.
      </p>
      <UsageFreshnessNote freshness={u.freshness} />
      <div class="stats">
        <Stat label="Requests" value={fmtInt(t.requests)} />
        <Stat
          label="Tokens"
          value={fmtCompact(t.input_tokens + t.output_tokens)}
          sub={`${fmtInt(t.input_tokens)} in · ${fmtInt(t.output_tokens)} out`}
        />
        <Stat label="Images" value={fmtInt(t.images)} />
        <Stat
          label="Usage at list prices"
          value={fmtUsd(t.revenue_usd)}
          sub={<Link href="/operator/finance">Not what is billed: see Finance</Link>}
        />
        <Stat
          label="Batch"
          value={fmtUsd(byChannel.batch.cost_usd)}
          sub={`${fmtInt(byChannel.batch.requests)} requests · online ${fmtUsd(byChannel.online.cost_usd)}`}
        />
      </div>
      {t.requests === 0 ? (
        <Empty title="No usage in this period">
          Calls from every tenant's keys appear here within seconds.
        </Empty>
      ) : (
        <div class="charts" data-testid="platform-charts">
          <DailyChart
            title="Requests per day"
            days={s.days}
            series={
              split
                ? [
                    { label: 'Online', color: '#4f46e5', values: s.requestsBy.online },
                    { label: 'Batch', color: '#0d9488', values: s.requestsBy.batch },
                  ]
                : [{ label: 'Requests', color: '#4f46e5', values: s.requests }]
            }
            format={fmtCompact}
          />
          <DailyChart
            title="Tokens per day"
            days={s.days}
            series={[
              { label: 'Input', color: '#4f46e5', values: s.input },
              { label: 'Output', color: '#0d9488', values: s.output },
            ]}
            format={fmtCompact}
          />
          <DailyChart
            title="Images per day"
            days={s.days}
            series={[{ label: 'Images', color: '#d97706', values: s.images }]}
            format={fmtCompact}
          />
          <DailyChart
            title="Revenue per day (USD)"
            days={s.days}
            series={
              split
                ? [
                    { label: 'Online', color: '#db2777', values: s.revenueBy.online },
                    { label: 'Batch', color: '#d97706', values: s.revenueBy.batch },
                  ]
                : [{ label: 'Revenue', color: '#db2777', values: s.revenue }]
            }
            format={fmtMoney}
          />
        </div>
      )}
      <div class="stack">
        <div class="table-wrap">
          <table class="table table-figures">
            <caption>Top tenants ({u.top_tenants.months.join(', ')})</caption>
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col">Plan</th>
                <th scope="col">Requests</th>
                <th scope="col">Cost</th>
              </tr>
            </thead>
            <tbody>
              {u.top_tenants.data.length === 0 && (
                <tr>
                  <td colSpan={4} class="muted">
                    No usage yet.
                  </td>
                </tr>
              )}
              {u.top_tenants.data.map((r) => (
                <tr key={r.tenant_id}>
                  <th scope="row">
                    <Link href={`/operator/tenants/${r.tenant_id}`}>{r.name ?? r.tenant_id}</Link>
                  </th>
                  <td>{r.plan ? statusLabel(r.plan) : '—'}</td>
                  <td>{fmtInt(r.requests)}</td>
                  <td>{fmtUsd(r.cost_usd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div class="table-wrap">
          <table class="table table-figures">
            <caption>Top model versions</caption>
            <thead>
              <tr>
                <th scope="col">Model version</th>
                <th scope="col">Channel</th>
                <th scope="col">Requests</th>
                <th scope="col">Used</th>
                <th scope="col">Revenue</th>
              </tr>
            </thead>
            <tbody>
              {u.by_model.length === 0 && (
                <tr>
                  <td colSpan={5} class="muted">
                    No usage yet.
                  </td>
                </tr>
              )}
              {[...u.by_model]
                .sort((a, b) => Number(b.cost_usd) - Number(a.cost_usd) || b.requests - a.requests)
                .map((r) => (
                  <tr key={`${r.model}@${r.version}#${r.channel}`}>
                    <th scope="row">
                      <code>
                        {r.model}@{r.version}
                      </code>
                    </th>
                    <td>{channelLabel(r.channel)}</td>
                    <td>{fmtInt(r.requests)}</td>
                    <td>{unitsText(r.input_tokens, r.output_tokens, r.images)}</td>
                    <td>{fmtUsd(r.cost_usd)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      </div>
    </>
  );
}

export default function AdminOverviewPage() {
  const [channel, setChannel] = useState<'' | Channel>('');
  const usage = useResource(
    (signal) => get<PlatformUsage>(`/admin/usage${query({ channel })}`, { signal }),
    [channel],
  );
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
        <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Usage filters">
          <Field label="Channel" id="platform-channel">
            {(a) => (
              <select {...a} value={channel} onChange={(e) => setChannel(value(e) as '' | Channel)}>
                <option value="">Online and batch</option>
                <option value="online">Online calls</option>
                <option value="batch">Batch jobs</option>
              </select>
            )}
          </Field>
        </form>
        {usage.state === 'loading' && <Loading label="Loading platform usage…" />}
        {usage.state === 'unavailable' && (
          <Unavailable feature="Platform usage" endpoint="GET /admin/usage">
            <p>Requests, tokens, images and revenue per day, top tenants and models will show here.</p>
          </Unavailable>
        )}
        {usage.state === 'error' && <ErrorNotice error={usage.error} onRetry={usage.reload} />}
        {usage.state === 'ok' && <PlatformUsageView data={usage.data} />}
      </section>
      <ModelHealthSection />
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
