import { useMemo } from 'preact/hooks';
import { DailyChart } from '../../charts/daily-chart';
import { Empty, ErrorNotice, Loading, Stat, Unavailable } from '../../components/ui';
import { get, query } from '../../lib/api';
import { fmtCompact, fmtInt, fmtUsd, unitsText, utcDay } from '../../lib/format';
import type { UsageAnswer, UsageRow } from '../../lib/types';
import { perDay } from '../../lib/usage';
import { useResource } from '../../lib/use-resource';

interface VersionTotals {
  version: string;
  requests: number;
  input: number;
  output: number;
  images: number;
  cost: number;
}

/** Rows per day x version x key, summed per model version, costliest first. */
function perVersion(rows: UsageRow[]): VersionTotals[] {
  const by = new Map<string, VersionTotals>();
  for (const r of rows) {
    const v = `${r.model}@${r.version}`;
    const t = by.get(v) ?? { version: v, requests: 0, input: 0, output: 0, images: 0, cost: 0 };
    t.requests += r.requests;
    t.input += r.input_tokens;
    t.output += r.output_tokens;
    t.images += r.images;
    t.cost += Number(r.cost_usd);
    by.set(v, t);
  }
  return [...by.values()].sort((a, b) => b.cost - a.cost || b.requests - a.requests);
}

const fmtMoney = (n: number) => (n === 0 ? '$0' : n < 0.01 ? `$${n.toPrecision(2)}` : `$${n.toFixed(2)}`);

/** A tenant's usage and cost this month, per day and per model version, as its owner sees it. */
export function TenantUsage(props: { tenantId: string }) {
  const end = utcDay(new Date());
  const start = `${end.slice(0, 8)}01`;
  const base = `/admin/tenants/${encodeURIComponent(props.tenantId)}/usage`;
  const usage = useResource(
    (signal) => get<UsageAnswer>(`${base}${query({ start_date: start, end_date: end })}`, { signal }),
    [base, start, end],
  );
  const rows = usage.state === 'ok' ? usage.data.data : [];
  const series = useMemo(() => perDay(rows, start, end), [rows, start, end]);
  const versions = useMemo(() => perVersion(rows), [rows]);

  if (usage.state === 'unavailable')
    return <Unavailable feature="Usage per tenant" endpoint="GET /admin/tenants/{tenant_id}/usage" />;
  if (usage.state === 'error') return <ErrorNotice error={usage.error} onRetry={usage.reload} />;
  if (usage.state === 'loading') return <Loading label="Loading usage…" />;
  const totals = usage.data.totals;
  return (
    <>
      <p class="hint">
        This month so far ({start} to {end}, UTC).{' '}
        <a href={`${base}${query({ start_date: start, end_date: end, format: 'csv' })}`} download>
          Download CSV
        </a>
      </p>
      {rows.length === 0 ? (
        <Empty title="No usage this month">Calls with this tenant's keys appear here within seconds.</Empty>
      ) : (
        <>
          {totals && (
            <div class="stats">
              <Stat label="Requests" value={fmtInt(totals.requests)} />
              <Stat
                label="Tokens"
                value={fmtCompact(totals.input_tokens + totals.output_tokens)}
                sub={`${fmtInt(totals.input_tokens)} in · ${fmtInt(totals.output_tokens)} out`}
              />
              <Stat label="Images" value={fmtInt(totals.images)} />
              <Stat label="Cost" value={fmtUsd(totals.cost_usd)} />
            </div>
          )}
          <div class="charts" data-testid="tenant-usage-charts">
            <DailyChart
              title="Requests per day"
              days={series.days}
              series={[{ label: 'Requests', values: series.requests, color: '#4f46e5' }]}
              format={fmtCompact}
            />
            <DailyChart
              title="Cost per day (USD)"
              days={series.days}
              series={[{ label: 'Cost', values: series.cost, color: '#db2777' }]}
              format={fmtMoney}
            />
          </div>
          <div class="table-wrap">
            <table class="table table-figures">
              <caption>Usage per model version this month</caption>
              <thead>
                <tr>
                  <th scope="col">Model version</th>
                  <th scope="col">Requests</th>
                  <th scope="col">Used</th>
                  <th scope="col">Cost</th>
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => (
                  <tr key={v.version}>
                    <th scope="row">
                      <code>{v.version}</code>
                    </th>
                    <td>{fmtInt(v.requests)}</td>
                    <td>{unitsText(v.input, v.output, v.images)}</td>
                    <td>{fmtUsd(v.cost)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  );
}
