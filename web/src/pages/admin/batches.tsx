import { useEffect } from 'preact/hooks';
import { Table } from '../../components/table';
import { Empty, ErrorNotice, Link, Loading, PageHeader, Stat, Unavailable } from '../../components/ui';
import { get } from '../../lib/api';
import { fmtInt } from '../../lib/format';
import type { BatchBacklog } from '../../lib/types';
import { useResource } from '../../lib/use-resource';

const REFRESH_MS = 5_000;

const fmtUnix = (s: number) =>
  new Date(s * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** The batch backlog across tenants, and what each model version gets through. */
export default function BatchBacklogPage() {
  const backlog = useResource((signal) => get<BatchBacklog>('/admin/batches', { signal }), []);
  // Kept current while the page is open: a backlog is watched, not read once.
  useEffect(() => {
    const timer = setInterval(() => backlog.reload(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [backlog.reload]);

  if (backlog.state === 'unavailable')
    return (
      <>
        <PageHeader title="Batches" />
        <Unavailable feature="The batch backlog" endpoint="/admin/batches" />
      </>
    );
  const b = backlog.data;
  const waiting = b?.versions.reduce((n, v) => n + v.lines_waiting, 0) ?? 0;
  const lastHour = b?.versions.reduce((n, v) => n + v.answered_last_1h, 0) ?? 0;
  return (
    <>
      <PageHeader
        title="Batches"
        description="Batch jobs not yet finished, across tenants. Batch lines run at low priority on the same model versions as online calls; throughput counts the lines each version answered in the last 15 minutes and hour, of these batches and those that ended within the hour."
      />
      {!b && backlog.state === 'loading' && <Loading label="Loading the backlog…" />}
      {backlog.state === 'error' && <ErrorNotice error={backlog.error} onRetry={backlog.reload} />}
      {b && (
        <>
          <div class="stats">
            <Stat label="Active batches" value={fmtInt(b.batches.length)} />
            <Stat label="Lines waiting" value={fmtInt(waiting)} />
            <Stat label="Lines answered, last hour" value={fmtInt(lastHour)} />
            {b.queue && (
              <Stat
                label="Local queue"
                value={`${fmtInt(b.queue.waiting)} chunks`}
                sub={`${fmtInt(b.queue.dead)} set aside`}
              />
            )}
          </div>
          <section class="card" aria-labelledby="versions-title">
            <h2 id="versions-title">Per model version</h2>
            {b.versions.length === 0 ? (
              <Empty title="Nothing waiting">
                No batch lines are waiting or were answered in the last hour.
              </Empty>
            ) : (
              <Table
                caption="Lines waiting and answered per model version"
                captionHidden
                testId="backlog-versions"
                variant="numeric"
                columns={['Version', 'Lines waiting', 'Answered, last 15 min', 'Answered, last hour']}
              >
                {b.versions.map((v) => (
                  <tr key={v.version}>
                    <th scope="row">
                      <code>{v.version}</code>
                    </th>
                    <td>{fmtInt(v.lines_waiting)}</td>
                    <td>{fmtInt(v.answered_last_15m)}</td>
                    <td>{fmtInt(v.answered_last_1h)}</td>
                  </tr>
                ))}
              </Table>
            )}
          </section>
          <section class="card" aria-labelledby="active-title">
            <h2 id="active-title">Active batches</h2>
            {b.batches.length === 0 ? (
              <Empty title="No active batches" />
            ) : (
              <Table
                caption="Active batches, oldest first"
                captionHidden
                testId="backlog-batches"
                columns={['Tenant', 'Batch', 'Models', 'Lines done', 'Created', 'Expires']}
              >
                {b.batches.map((x) => (
                  <tr key={x.id}>
                    <td>
                      <Link href={`/operator/tenants/${x.tenant_id}`}>
                        <code>{x.tenant_id}</code>
                      </Link>
                    </td>
                    <th scope="row">
                      <code>{x.id}</code>
                      <div class="muted">
                        {x.endpoint} · {x.status.replace(/_/g, ' ')}
                      </div>
                    </th>
                    <td>{(x.versions.length > 0 ? x.versions : x.models).join(', ')}</td>
                    <td>
                      {fmtInt(x.lines_done)} of {fmtInt(x.lines_total)}
                    </td>
                    <td>{fmtUnix(x.created_at)}</td>
                    <td>{fmtUnix(x.expires_at)}</td>
                  </tr>
                ))}
              </Table>
            )}
          </section>
        </>
      )}
    </>
  );
}
