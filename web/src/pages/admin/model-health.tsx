import { Table } from '../../components/table';
import { Empty, ErrorNotice, Loading, Unavailable } from '../../components/ui';
import { get } from '../../lib/api';
import { fmtInt } from '../../lib/format';
import type { ModelHealth, ModelVersionHealth } from '../../lib/types';
import { useResource } from '../../lib/use-resource';

/** A fraction as a percentage; a rare nonzero one is not rounded away to 0. */
function fmtPct(f: number): string {
  if (f === 0) return '0%';
  if (f < 0.001) return '<0.1%';
  return `${(f * 100).toFixed(1)}%`;
}

const fmtMs = (ms: number | null) => (ms === null ? '—' : ms < 10 ? ms.toFixed(1) : fmtInt(Math.round(ms)));

/** `rate_limit_requests 2, quota_exceeded 1`: what the rate is made of. */
function codes(by: Record<string, number>): string {
  return Object.entries(by)
    .sort(([, a], [, b]) => b - a)
    .map(([code, n]) => `${code} ${fmtInt(n)}`)
    .join(', ');
}

function HealthRow(props: { row: ModelVersionHealth }) {
  const r = props.row;
  const refusedCodes = codes(r.refusals_by_code);
  const errorCodes = codes(r.errors_by_code);
  return (
    <tr>
      <th scope="row">
        {r.alert && <span class="badge badge-bad">failing</span>}
        {(r.errors_by_code.model_cold ?? 0) > 0 && (
          <span
            class="badge badge-muted"
            title={`${fmtInt(r.errors_by_code.model_cold ?? 0)} calls found no copy running and woke it (503 model_cold, not billed)`}
          >
            cold
          </span>
        )}
        {r.model_version === 'none' ? (
          <>
            No version <span class="muted">(refused or failed before one was resolved)</span>
          </>
        ) : (
          <code>{r.model_version}</code>
        )}
      </th>
      <td data-label="Requests">{fmtInt(r.requests)}</td>
      <td data-label="Refused">
        {fmtPct(r.refusal_rate)}
        {refusedCodes && <span class="cell-note">{refusedCodes}</span>}
      </td>
      <td data-label="Errors">
        {fmtPct(r.error_rate)}
        {errorCodes && <span class="cell-note">{errorCodes}</span>}
      </td>
      <td data-label="p50 ms">{fmtMs(r.latency_ms.p50)}</td>
      <td data-label="p90 ms">{fmtMs(r.latency_ms.p90)}</td>
      <td data-label="p99 ms">{fmtMs(r.latency_ms.p99)}</td>
    </tr>
  );
}

/**
 * Versions failing most of their calls, above the table: the local stack has no alarm to send an
 * operator (in AWS the CloudWatch alarms do), so this is where an operator learns of one.
 */
function FailingVersions(props: { rows: ModelVersionHealth[] }) {
  const failing = props.rows.filter((r) => r.alert);
  if (failing.length === 0) return null;
  return (
    <div class="notice notice-error" role="alert">
      <strong>
        {failing.length === 1 ? '1 model version is failing' : `${failing.length} model versions are failing`}
      </strong>
      <ul>
        {failing.map((r) => (
          <li key={r.model_version}>
            <code>{r.model_version}</code>: {r.alert}
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * Error and refusal rates and latency percentiles per model version: GET /admin/models/health, for
 * the same default range as the usage above (this month so far). Where the table has too little room
 * each version becomes a block of labelled figures instead of a table that scrolls sideways.
 */
export function ModelHealthSection() {
  const health = useResource((signal) => get<ModelHealth>('/admin/models/health', { signal }), []);
  return (
    <section class="card" aria-labelledby="health-title">
      <h2 id="health-title">Model health</h2>
      {health.state === 'loading' && <Loading label="Loading model health…" />}
      {health.state === 'unavailable' && (
        <Unavailable feature="Model health" endpoint="GET /admin/models/health">
          <p>Error and refusal rates and latency percentiles per model version will show here.</p>
        </Unavailable>
      )}
      {health.state === 'error' && <ErrorNotice error={health.error} onRetry={health.reload} />}
      {health.state === 'ok' && (
        <>
          <p class="hint">
            {health.data.start_date} to {health.data.end_date} (UTC). Refused: limits and quotas (429) and
            account state (403). Errors: the model or the platform failed (5xx). Latency of served requests,
            to the last byte of a stream; percentiles within 5%. Each server adds its counts every few
            seconds.
          </p>
          <FailingVersions rows={health.data.data} />
          {health.data.data.length === 0 ? (
            <Empty title="No model calls in this period">
              Calls to any model version appear here within seconds of being answered.
            </Empty>
          ) : (
            <Table
              caption="Model versions"
              columns={['Model version', 'Requests', 'Refused', 'Errors', 'p50 ms', 'p90 ms', 'p99 ms']}
              variant="figures"
              class="table-reflow"
            >
              {health.data.data.map((r) => (
                <HealthRow key={r.model_version} row={r} />
              ))}
            </Table>
          )}
        </>
      )}
    </section>
  );
}
