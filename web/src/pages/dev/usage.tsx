import { useEffect, useMemo, useState } from 'preact/hooks';
import { DailyChart } from '../../charts/daily-chart';
import { Pager, Table } from '../../components/table';
import { Empty, ErrorNotice, Field, Loading, PageHeader } from '../../components/ui';
import { UsageFreshnessNote } from '../../components/usage-freshness';
import { UsageTotals } from '../../components/usage-totals';
import { get } from '../../lib/api';
import { fmtCompact, fmtInt, fmtUsd, fmtUsdAxis, keyLabel, utcDay } from '../../lib/format';
import { useSubmit, value } from '../../lib/forms';
import { playgroundKey } from '../../lib/key-vault';
import { useStore } from '../../lib/store';
import type { ApiKey, List, Project, UsageRow } from '../../lib/types';
import { download, loadUsage, NEEDS_KEY, perDay, sumUsage, usageCsv } from '../../lib/usage';
import { useResource } from '../../lib/use-resource';
import { KeyPanel } from './key-panel';

const ranges = [
  { id: 'month', label: 'This month' },
  { id: '7', label: 'Last 7 days' },
  { id: '30', label: 'Last 30 days' },
  { id: '90', label: 'Last 90 days' },
];

export function rangeOf(id: string): { start: string; end: string } {
  const today = new Date();
  const end = utcDay(today);
  if (id === 'month') return { start: `${end.slice(0, 8)}01`, end };
  const start = new Date(today);
  start.setUTCDate(start.getUTCDate() - (Number(id) - 1));
  return { start: utcDay(start), end };
}

type Channel = UsageRow['channel'];

const NO_ROWS: UsageRow[] = [];
const COLORS = { a: '#4f46e5', b: '#0d9488', c: '#d97706', d: '#db2777' };
const PROJECT_COLORS = ['#4f46e5', '#0d9488', '#d97706', '#db2777', '#2563eb', '#65a30d'];
/** Table rows per page. */
const ROWS = 50;

export default function UsagePage() {
  const held = useStore(playgroundKey);
  const [rangeId, setRangeId] = useState('month');
  const [version, setVersion] = useState('');
  const [keyId, setKeyId] = useState('');
  const [projectId, setProjectId] = useState('');
  const [channel, setChannel] = useState<'' | Channel>('');
  const range = rangeOf(rangeId);
  const usage = useResource(
    (signal) => loadUsage(range, held?.secret ?? null, signal),
    [rangeId, held?.secret],
  );
  const keys = useResource((signal) => get<List<ApiKey>>('/account/keys', { signal }), []);
  const projectList = useResource((signal) => get<List<Project>>('/account/projects', { signal }), []);
  const projectName = (id: string) =>
    (projectList.state === 'ok' ? projectList.data.data.find((p) => p.id === id)?.name : undefined) ?? id;
  const rows: UsageRow[] = usage.state === 'ok' ? usage.data.answer.data : NO_ROWS;
  // Name and the start of the secret: a rotated key and its successor share the name.
  const keyName = (id: string) => {
    const key = keys.state === 'ok' ? keys.data.data.find((k) => k.id === id) : undefined;
    return key ? keyLabel(key) : (rows.find((r) => r.key_id === id)?.key_name ?? id);
  };
  const versions = [...new Set(rows.map((r) => `${r.model}@${r.version}`))].sort();
  const keyIds = [...new Set(rows.map((r) => r.key_id))];
  const projectIds = [...new Set(rows.map((r) => r.project_id))];
  const shown = useMemo(
    () =>
      rows.filter(
        (r) =>
          (!version || `${r.model}@${r.version}` === version) &&
          (!keyId || r.key_id === keyId) &&
          (!projectId || r.project_id === projectId) &&
          (!channel || r.channel === channel),
      ),
    [rows, version, keyId, projectId, channel],
  );
  const series = useMemo(() => perDay(shown, range.start, range.end), [shown, range.start, range.end]);
  // Online calls and batch lines (at the batch price) as two series, when both are shown.
  const byChannel = useMemo(
    () => ({
      online: perDay(
        shown.filter((r) => r.channel === 'online'),
        range.start,
        range.end,
      ),
      batch: perDay(
        shown.filter((r) => r.channel === 'batch'),
        range.start,
        range.end,
      ),
    }),
    [shown, range.start, range.end],
  );
  const shownProjects = [...new Set(shown.map((r) => r.project_id))];
  const split = shown.some((r) => r.channel === 'batch') && shown.some((r) => r.channel === 'online');
  const totals = sumUsage(shown);
  const channelTotals = {
    online: sumUsage(shown.filter((r) => r.channel === 'online')),
    batch: sumUsage(shown.filter((r) => r.channel === 'batch')),
  };
  const [page, setPage] = useState(0);
  // Back to the first page when the rows change under it (a filter or the period).
  useEffect(() => setPage(0), [shown]);
  const sorted = useMemo(
    () => [...shown].sort((a, b) => b.date.localeCompare(a.date) || a.model.localeCompare(b.model)),
    [shown],
  );

  const needsKey = usage.state === 'error' && usage.error.code === NEEDS_KEY;
  // The server writes the file (the same ledger and filters as the table), not the browser.
  const exporting = useSubmit(async () => {
    if (usage.state !== 'ok') return;
    const file = await usageCsv(
      range,
      { model: version, keyId, projectId: projectId || undefined, channel: channel || undefined },
      usage.data.source,
      held?.secret ?? null,
    );
    download(file.name, file.text);
  });
  return (
    <>
      <PageHeader
        title="Usage"
        description="Requests, tokens, images and cost per day, per model version, key and channel (online calls or batch jobs). Days are UTC."
        actions={
          <button
            type="button"
            class="btn"
            disabled={shown.length === 0 || exporting.busy || usage.state !== 'ok'}
            onClick={() => void exporting.run()}
          >
            {exporting.busy ? 'Exporting…' : 'Export CSV'}
          </button>
        }
      />
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <Field label="Period" id="usage-range">
          {(a) => (
            <select {...a} value={rangeId} onChange={(e) => setRangeId(value(e))}>
              {ranges.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Model version" id="usage-version">
          {(a) => (
            <select {...a} value={version} onChange={(e) => setVersion(value(e))}>
              <option value="">All versions</option>
              {versions.map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Channel" id="usage-channel">
          {(a) => (
            <select {...a} value={channel} onChange={(e) => setChannel(value(e) as '' | Channel)}>
              <option value="">Online and batch</option>
              <option value="online">Online calls</option>
              <option value="batch">Batch jobs</option>
            </select>
          )}
        </Field>
        <Field label="Project" id="usage-project">
          {(a) => (
            <select {...a} value={projectId} onChange={(e) => setProjectId(value(e))}>
              <option value="">All projects</option>
              {projectIds.map((p) => (
                <option key={p} value={p}>
                  {projectName(p)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="API key" id="usage-key">
          {(a) => (
            <select {...a} value={keyId} onChange={(e) => setKeyId(value(e))}>
              <option value="">All keys</option>
              {keyIds.map((k) => (
                <option key={k} value={k}>
                  {keyName(k)}
                </option>
              ))}
            </select>
          )}
        </Field>
      </form>
      {usage.state === 'ok' && usage.data.source === 'key' && (
        <p class="hint source-note">
          Read through <code>GET /v1/usage</code> with the key this tab holds, because this server does not
          offer <code>GET /account/usage</code> yet. It is the same ledger.
        </p>
      )}
      {exporting.error && <ErrorNotice error={exporting.error} title="Could not export the CSV" />}
      {usage.state === 'loading' && <Loading label="Loading usage…" />}
      {needsKey && (
        <>
          <p class="notice notice-muted">
            This server does not offer usage by session (<code>GET /account/usage</code>) yet. Usage can be
            read with one of your API keys through <code>GET /v1/usage</code>: choose one below.
          </p>
          <KeyPanel compact />
        </>
      )}
      {usage.state === 'error' && !needsKey && <ErrorNotice error={usage.error} onRetry={usage.reload} />}
      {usage.state === 'ok' && (
        <>
          <UsageTotals totals={totals} />
          {channelTotals.batch.requests > 0 && (
            <p class="hint" data-testid="usage-by-channel">
              Online: {fmtInt(channelTotals.online.requests)} requests, {fmtUsd(channelTotals.online.cost)}.
              Batch: {fmtInt(channelTotals.batch.requests)} requests, {fmtUsd(channelTotals.batch.cost)} (at
              the batch price).
            </p>
          )}
          <UsageFreshnessNote freshness={usage.data.answer.freshness} />
          {shown.length === 0 ? (
            <Empty title="No usage in this period">
              Calls made with your keys appear here within seconds. Try the playground to make one.
            </Empty>
          ) : (
            <>
              <div class="charts" data-testid="usage-charts">
                <DailyChart
                  title="Tokens per day"
                  days={series.days}
                  series={[
                    { label: 'Input', values: series.inputTokens, color: COLORS.a },
                    { label: 'Output', values: series.outputTokens, color: COLORS.b },
                  ]}
                  format={fmtCompact}
                />
                <DailyChart
                  title="Images per day"
                  days={series.days}
                  series={[{ label: 'Images', values: series.images, color: COLORS.c }]}
                  format={fmtCompact}
                />
                <DailyChart
                  title="Requests per day"
                  days={series.days}
                  series={
                    split
                      ? [
                          { label: 'Online', values: byChannel.online.requests, color: COLORS.a },
                          { label: 'Batch', values: byChannel.batch.requests, color: COLORS.b },
                        ]
                      : [{ label: 'Requests', values: series.requests, color: COLORS.a }]
                  }
                  format={fmtCompact}
                />
                <DailyChart
                  title="Cost per day (USD)"
                  days={series.days}
                  series={
                    split
                      ? [
                          { label: 'Online', values: byChannel.online.cost, color: COLORS.d },
                          { label: 'Batch', values: byChannel.batch.cost, color: COLORS.c },
                        ]
                      : [{ label: 'Cost', values: series.cost, color: COLORS.d }]
                  }
                  format={fmtUsdAxis}
                />
                {shownProjects.length > 1 && (
                  <DailyChart
                    title="Cost per day by project (USD)"
                    days={series.days}
                    series={shownProjects.map((p, i) => ({
                      label: projectName(p),
                      values: perDay(
                        shown.filter((r) => r.project_id === p),
                        range.start,
                        range.end,
                      ).cost,
                      color: PROJECT_COLORS[i % PROJECT_COLORS.length]!,
                    }))}
                    format={fmtUsdAxis}
                  />
                )}
              </div>
              <Table
                caption="Usage per project"
                variant="numeric"
                columns={['Project', 'Requests', 'Tokens', 'Images', 'Cost']}
              >
                {projectIds
                  .filter((p) => !projectId || p === projectId)
                  .map((p) => {
                    const t = sumUsage(shown.filter((r) => r.project_id === p));
                    return (
                      <tr key={p} data-testid="usage-project-row">
                        <th scope="row">{projectName(p)}</th>
                        <td>{fmtInt(t.requests)}</td>
                        <td>{fmtInt(t.input + t.output)}</td>
                        <td>{fmtInt(t.images)}</td>
                        <td>{fmtUsd(t.cost)}</td>
                      </tr>
                    );
                  })}
              </Table>
              <Table
                caption="Usage per day, model version and key"
                variant="numeric"
                columns={[
                  'Day',
                  'Model version',
                  'Key',
                  'Project',
                  'Channel',
                  'Requests',
                  'Input tokens',
                  'Output tokens',
                  'Images',
                  'Cost',
                ]}
              >
                {sorted.slice(page * ROWS, (page + 1) * ROWS).map((r) => (
                  <tr key={`${r.date}-${r.model}-${r.version}-${r.key_id}-${r.channel}`}>
                    <td>{r.date}</td>
                    <td>
                      <code>
                        {r.model}@{r.version}
                      </code>
                    </td>
                    <td>{keyName(r.key_id)}</td>
                    <td>{projectName(r.project_id)}</td>
                    <td>{r.channel === 'batch' ? 'Batch' : 'Online'}</td>
                    <td>{fmtInt(r.requests)}</td>
                    <td>{fmtInt(r.input_tokens)}</td>
                    <td>{fmtInt(r.output_tokens)}</td>
                    <td>{fmtInt(r.images)}</td>
                    <td>{fmtUsd(r.cost_usd)}</td>
                  </tr>
                ))}
              </Table>
              <Pager page={page} size={ROWS} total={sorted.length} onPage={setPage} />
            </>
          )}
        </>
      )}
    </>
  );
}
