import { useMemo } from 'preact/hooks';
import { DailyChart } from '../../charts/daily-chart';
import { Table } from '../../components/table';
import { Empty, ErrorNotice, Loading, Unavailable } from '../../components/ui';
import { UsageFreshnessNote } from '../../components/usage-freshness';
import { UsageTotals } from '../../components/usage-totals';
import { get, query } from '../../lib/api';
import { fmtCompact, fmtInt, fmtUsd, fmtUsdAxis, unitsText, utcDay } from '../../lib/format';
import type { UsageAnswer, UsageRow } from '../../lib/types';
import { perDay, sumUsage, type UsageTotals as Totals } from '../../lib/usage';
import { useResource } from '../../lib/use-resource';

/** Rows per day x version x key x channel, summed per model version and channel, costliest first. */
function perVersion(rows: UsageRow[]): (Totals & { version: string; channel: UsageRow['channel'] })[] {
  const by = new Map<string, UsageRow[]>();
  for (const r of rows) {
    const v = `${r.model}@${r.version}#${r.channel}`;
    by.set(v, [...(by.get(v) ?? []), r]);
  }
  return [...by]
    .map(([, rs]) => ({
      version: `${rs[0]!.model}@${rs[0]!.version}`,
      channel: rs[0]!.channel,
      ...sumUsage(rs),
    }))
    .sort((a, b) => b.cost - a.cost || b.requests - a.requests);
}

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
  const byChannel = useMemo(
    () => ({
      online: perDay(
        rows.filter((r) => r.channel === 'online'),
        start,
        end,
      ),
      batch: perDay(
        rows.filter((r) => r.channel === 'batch'),
        start,
        end,
      ),
    }),
    [rows, start, end],
  );
  const hasBatch = rows.some((r) => r.channel === 'batch');
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
      <UsageFreshnessNote freshness={usage.data.freshness} />
      {rows.length === 0 ? (
        <Empty title="No usage this month">Calls with this tenant's keys appear here within seconds.</Empty>
      ) : (
        <>
          {totals && <UsageTotals totals={sumUsage([totals])} />}
          <div class="charts" data-testid="tenant-usage-charts">
            <DailyChart
              title="Requests per day"
              days={series.days}
              series={
                hasBatch
                  ? [
                      {
                        label: 'Online',
                        values: byChannel.online.requests,
                        color: '#4f46e5',
                      },
                      { label: 'Batch', values: byChannel.batch.requests, color: '#0d9488' },
                    ]
                  : [{ label: 'Requests', values: series.requests, color: '#4f46e5' }]
              }
              format={fmtCompact}
            />
            <DailyChart
              title="Cost per day (USD)"
              days={series.days}
              series={
                hasBatch
                  ? [
                      {
                        label: 'Online',
                        values: byChannel.online.cost,
                        color: '#db2777',
                      },
                      { label: 'Batch', values: byChannel.batch.cost, color: '#d97706' },
                    ]
                  : [{ label: 'Cost', values: series.cost, color: '#db2777' }]
              }
              format={fmtUsdAxis}
            />
          </div>
          <Table
            caption="Usage per model version this month"
            variant="figures"
            columns={['Model version', 'Channel', 'Requests', 'Used', 'Cost']}
          >
            {versions.map((v) => (
              <tr key={`${v.version}#${v.channel}`}>
                <th scope="row">
                  <code>{v.version}</code>
                </th>
                <td>{v.channel === 'batch' ? 'Batch' : 'Online'}</td>
                <td>{fmtInt(v.requests)}</td>
                <td>{unitsText(v.input, v.output, v.images)}</td>
                <td>{fmtUsd(v.cost)}</td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </>
  );
}
