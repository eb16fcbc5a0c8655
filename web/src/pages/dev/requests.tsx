import { useState } from 'preact/hooks';
import { Table } from '../../components/table';
import { Badge, Empty, ErrorNotice, Field, Loading, PageHeader } from '../../components/ui';
import { ApiFailure, asFailure, get, query } from '../../lib/api';
import { fmtDateTime, fmtInt, fmtUsd, keyLabel, unitsText } from '../../lib/format';
import { useSubmit, value } from '../../lib/forms';
import { requestIdFromPaste } from '../../lib/request-id';
import type { ApiKey, List, Project, RefusalCountList, RequestList, RequestRecord } from '../../lib/types';
import { useResource } from '../../lib/use-resource';

const periods = [
  { id: '1h', label: 'Last hour', ms: 3_600_000 },
  { id: '24h', label: 'Last 24 hours', ms: 86_400_000 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 - 60_000 },
];

const statusText: Record<string, string> = {
  succeeded: 'Succeeded',
  open: 'Streaming',
  void: 'Failed, not billed',
};

function usageText(r: RequestRecord): string {
  return unitsText(r.usage.input_tokens, r.usage.output_tokens, r.usage.images);
}

/** One call, as found by its id. */
function RequestDetail(props: {
  r: RequestRecord;
  keyName: string;
  projectName: string;
  onClose: () => void;
}) {
  const { r } = props;
  return (
    <section class="card" aria-labelledby="request-title" data-testid="request-detail">
      <h2 id="request-title">
        <code>{r.id}</code>
      </h2>
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <Badge status={r.status} label={statusText[r.status] ?? r.status} />
        </dd>
        <dt>Model version</dt>
        <dd>
          {r.model}@{r.version}
        </dd>
        <dt>Came in</dt>
        <dd>{fmtDateTime(r.created_at)}</dd>
        <dt>Answered</dt>
        <dd>{fmtDateTime(r.answered_at)}</dd>
        <dt>Latency</dt>
        <dd>{fmtInt(r.latency_ms)} ms</dd>
        <dt>Used</dt>
        <dd>{usageText(r)}</dd>
        <dt>Cost</dt>
        <dd>{r.cost_usd === null ? 'Shown to owners and billing members' : fmtUsd(r.cost_usd)}</dd>
        <dt>API key</dt>
        <dd>{props.keyName}</dd>
        <dt>Project</dt>
        <dd>{props.projectName}</dd>
        <dt>Channel</dt>
        <dd>{r.channel === 'batch' ? 'Batch line' : 'Online'}</dd>
      </dl>
      <p>
        <button type="button" class="btn" onClick={props.onClose}>
          Close
        </button>
      </p>
    </section>
  );
}

/**
 * The request log: a call found by the request id pasted from an error, the calls served (newest
 * first, filtered) and the refused or failed calls counted per minute, key and reason.
 */
export default function RequestsPage() {
  const [pasted, setPasted] = useState('');
  const [found, setFound] = useState<RequestRecord | null>(null);
  const [periodId, setPeriodId] = useState('24h');
  const [keyId, setKeyId] = useState('');
  const [projectId, setProjectId] = useState('');
  const [model, setModel] = useState('');
  const [status, setStatus] = useState('');
  const [reason, setReason] = useState('');
  const [more, setMore] = useState<{ rows: RequestRecord[]; after: string | null; error: ApiFailure | null }>(
    {
      rows: [],
      after: null,
      error: null,
    },
  );
  const [moreBusy, setMoreBusy] = useState(false);
  // The range is fixed when the filters change, so "Load more" pages the same range.
  const [now, setNow] = useState(() => Date.now());
  const period = periods.find((p) => p.id === periodId) ?? periods[1]!;
  const from = new Date(now - period.ms).toISOString();
  const to = new Date(now).toISOString();

  const keys = useResource((signal) => get<List<ApiKey>>('/account/keys?limit=100', { signal }), []);
  const projects = useResource((signal) => get<List<Project>>('/account/projects', { signal }), []);
  const projectName = (id: string) =>
    (projects.state === 'ok' ? projects.data.data.find((p) => p.id === id)?.name : undefined) ?? id;
  const keyName = (id: string, name?: string | null) => {
    const key = keys.state === 'ok' ? keys.data.data.find((k) => k.id === id) : undefined;
    return key ? keyLabel(key) : (name ?? id);
  };

  const filters = {
    key_id: keyId || undefined,
    project_id: projectId || undefined,
    model: model.trim() || undefined,
    status: status || undefined,
    from,
    to,
  };
  const list = useResource(
    async (signal) => {
      const page = await get<RequestList>(`/account/requests${query({ ...filters, limit: 50 })}`, { signal });
      setMore({ rows: [], after: page.has_more ? page.last_id : null, error: null });
      return page;
    },
    [JSON.stringify(filters)],
  );
  const refusalFilters = {
    key_id: keyId || undefined,
    project_id: projectId || undefined,
    reason: reason.trim() || undefined,
    from,
    to,
  };
  const refusals = useResource(
    (signal) =>
      get<RefusalCountList>(`/account/requests/refusals${query({ ...refusalFilters, limit: 200 })}`, {
        signal,
      }),
    [JSON.stringify(refusalFilters)],
  );

  const search = useSubmit(async () => {
    setFound(null);
    const id = requestIdFromPaste(pasted);
    if (!id) {
      throw new ApiFailure(400, {
        message: 'No request id in that: paste one like req_01J… from x-request-id or an error.',
        type: 'invalid_request_error',
        code: 'invalid_request',
        param: 'request_id',
      });
    }
    setPasted(id);
    setFound(await get<RequestRecord>(`/account/requests/${id}`));
  });

  const loadMore = async () => {
    if (!more.after || moreBusy) return;
    setMoreBusy(true);
    try {
      const page = await get<RequestList>(
        `/account/requests${query({ ...filters, limit: 50, after: more.after })}`,
      );
      setMore((m) => ({
        rows: [...m.rows, ...page.data],
        after: page.has_more ? page.last_id : null,
        error: null,
      }));
    } catch (err) {
      setMore((m) => ({ ...m, error: asFailure(err) }));
    } finally {
      setMoreBusy(false);
    }
  };
  const rows = list.state === 'ok' ? [...list.data.data, ...more.rows] : [];
  const refusalRows = refusals.state === 'ok' ? refusals.data.data : [];
  const refused = refusalRows.reduce((n, r) => n + r.count, 0);

  return (
    <>
      <PageHeader
        title="Requests"
        description="Any call of the last 30 days by its request id (the x-request-id of the answer, or request_id in an error), the calls your keys were served, and the calls refused or failed, counted per minute, key and reason. Bodies are never stored."
        actions={
          <button
            type="button"
            class="btn"
            onClick={() => {
              setNow(Date.now());
              list.reload();
              refusals.reload();
            }}
          >
            Refresh
          </button>
        }
      />
      <form
        class="filters"
        aria-label="Find a request"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void search.run();
        }}
      >
        <Field
          label="Request id"
          id="request-search"
          hint="Paste it as it came: quotes, spaces and a surrounding JSON fragment are fine."
          error={search.error && search.error.status !== 404 ? search.error.message : null}
        >
          {(a) => (
            <input
              {...a}
              type="search"
              placeholder="req_…"
              autoComplete="off"
              spellcheck={false}
              value={pasted}
              onInput={(e) => setPasted(value(e))}
            />
          )}
        </Field>
        <div class="form-actions">
          <button type="submit" class="btn btn-primary" disabled={search.busy || !pasted.trim()}>
            {search.busy ? 'Finding…' : 'Find'}
          </button>
        </div>
      </form>
      {search.error?.status === 404 && <ErrorNotice error={search.error} title="Not in your request log" />}
      {found && (
        <RequestDetail
          r={found}
          keyName={keyName(found.key_id, found.key_name)}
          projectName={projectName(found.project_id)}
          onClose={() => setFound(null)}
        />
      )}

      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <Field label="Period" id="requests-period">
          {(a) => (
            <select
              {...a}
              value={periodId}
              onChange={(e) => {
                setPeriodId(value(e));
                setNow(Date.now());
              }}
            >
              {periods.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="API key" id="requests-key">
          {(a) => (
            <select {...a} value={keyId} onChange={(e) => setKeyId(value(e))}>
              <option value="">All keys</option>
              {keys.state === 'ok' &&
                keys.data.data.map((k) => (
                  <option key={k.id} value={k.id}>
                    {keyLabel(k)}
                  </option>
                ))}
            </select>
          )}
        </Field>
        {projects.state === 'ok' && (
          <Field label="Project" id="requests-project">
            {(a) => (
              <select {...a} value={projectId} onChange={(e) => setProjectId(value(e))}>
                <option value="">All projects</option>
                {projects.data.data.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
        <Field label="Model or version" id="requests-model">
          {(a) => (
            <input
              {...a}
              placeholder="chat or chat@version"
              value={model}
              onChange={(e) => setModel(value(e))}
            />
          )}
        </Field>
        <Field label="Status" id="requests-status">
          {(a) => (
            <select {...a} value={status} onChange={(e) => setStatus(value(e))}>
              <option value="">Any status</option>
              <option value="succeeded">Succeeded</option>
              <option value="open">Streaming</option>
              <option value="void">Failed, not billed</option>
            </select>
          )}
        </Field>
      </form>

      <section class="card" aria-labelledby="served-title">
        <h2 id="served-title">Served calls</h2>
        {list.state === 'loading' && <Loading label="Loading calls…" />}
        {list.state === 'error' && <ErrorNotice error={list.error} onRetry={list.reload} />}
        {list.state === 'ok' &&
          (rows.length === 0 ? (
            <Empty title="No calls">No call matches these filters in this period.</Empty>
          ) : (
            <Table
              caption="Served calls, newest first"
              captionHidden
              columns={[
                'When',
                'Request id',
                'Status',
                'Model version',
                'Used',
                'Cost',
                'Latency',
                'API key',
                'Project',
                'Channel',
              ]}
            >
              {rows.map((r) => (
                <tr key={r.id}>
                  <td>{fmtDateTime(r.created_at)}</td>
                  <th scope="row">
                    <button
                      type="button"
                      class="btn btn-ghost btn-small"
                      onClick={() => {
                        setPasted(r.id);
                        setFound(r);
                      }}
                    >
                      <code>{r.id}</code>
                    </button>
                  </th>
                  <td>
                    <Badge status={r.status} label={statusText[r.status] ?? r.status} />
                  </td>
                  <td>
                    {r.model}@{r.version}
                  </td>
                  <td>{usageText(r)}</td>
                  <td>{r.cost_usd === null ? '—' : fmtUsd(r.cost_usd)}</td>
                  <td>{fmtInt(r.latency_ms)} ms</td>
                  <td>{keyName(r.key_id, r.key_name)}</td>
                  <td>{projectName(r.project_id)}</td>
                  <td>{r.channel}</td>
                </tr>
              ))}
            </Table>
          ))}
        {more.error && <ErrorNotice error={more.error} title="Could not load more" />}
        {list.state === 'ok' && more.after && (
          <p>
            <button type="button" class="btn" disabled={moreBusy} onClick={() => void loadMore()}>
              {moreBusy ? 'Loading…' : 'Load more'}
            </button>
          </p>
        )}
      </section>

      <section class="card" aria-labelledby="refusals-title" data-testid="refusals">
        <h2 id="refusals-title">Refused and failed calls</h2>
        <p class="hint">
          Counted per minute, API key and reason (the error code answered); a call with an unknown key has no
          account and is not counted. Each call's detail is in the API logs. Counts are kept 30 days.
        </p>
        <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Refusal filters">
          <Field label="Reason" id="refusals-reason">
            {(a) => (
              <input
                {...a}
                placeholder="e.g. rate_limit_requests"
                value={reason}
                onChange={(e) => setReason(value(e))}
              />
            )}
          </Field>
        </form>
        {refusals.state === 'loading' && <Loading label="Loading refusals…" />}
        {refusals.state === 'error' && <ErrorNotice error={refusals.error} onRetry={refusals.reload} />}
        {refusals.state === 'ok' &&
          (refusalRows.length === 0 ? (
            <Empty title="No refusals">
              No call was refused or failed with these filters in this period.
            </Empty>
          ) : (
            <>
              <p>
                {fmtInt(refused)} refused or failed in this period
                {refusals.data.next_cursor ? ' (first rows)' : ''}.
              </p>
              <Table
                caption="Refused and failed calls per minute, newest first"
                captionHidden
                columns={['Minute (UTC)', 'API key', 'Project', 'Reason', 'Status', 'Calls']}
              >
                {refusalRows.map((r) => (
                  <tr key={`${r.minute}-${r.key_id}-${r.reason}`}>
                    <td>{r.minute.replace('T', ' ')}</td>
                    <td>{keyName(r.key_id, r.key_name)}</td>
                    <td>{projectName(r.project_id)}</td>
                    <th scope="row">
                      <code>{r.reason}</code>
                    </th>
                    <td>{r.status}</td>
                    <td>{fmtInt(r.count)}</td>
                  </tr>
                ))}
              </Table>
            </>
          ))}
      </section>
    </>
  );
}
