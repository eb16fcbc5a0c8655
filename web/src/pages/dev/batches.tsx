import { useEffect, useState } from 'preact/hooks';
import { Table } from '../../components/table';
import {
  announce,
  Badge,
  Empty,
  ErrorNotice,
  Field,
  Loading,
  PageHeader,
  Unavailable,
} from '../../components/ui';
import { type ApiFailure, asFailure, call, get, post, query } from '../../lib/api';
import { fmtInt, keyLabel } from '../../lib/format';
import { useSubmit } from '../../lib/forms';
import { can, session as sessionStore } from '../../lib/session';
import { useStore } from '../../lib/store';
import type { AccountBatch, AccountBatchList, ApiKey, List } from '../../lib/types';
import { useResource } from '../../lib/use-resource';

const ENDPOINTS = [
  '/v1/chat/completions',
  '/v1/embeddings',
  '/v1/text/sentiment',
  '/v1/images/moderations',
  '/v1/images/ocr',
] as const;

/** Statuses in which a batch still changes: the list polls while one is in any of them. */
const RUNNING = new Set(['validating', 'in_progress', 'finalizing', 'cancelling']);
const POLL_MS = 2_000;

const fmtUnix = (s: number | null | undefined) =>
  s === null || s === undefined
    ? '—'
    : new Date(s * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Fetches a batch's output or error file (with the session) and saves it as a download. */
async function download(batch: AccountBatch, which: 'output' | 'errors') {
  const res = await call('GET', `/account/batches/${batch.id}/${which}`, {
    headers: { accept: 'application/jsonl' },
  });
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `${batch.id}_${which}.jsonl`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Progress(props: { batch: AccountBatch }) {
  const { total, completed, failed } = props.batch.request_counts;
  const done = completed + failed;
  const pct = total > 0 ? Math.min(100, (done / total) * 100) : 0;
  const label = `${props.batch.id}: ${fmtInt(done)} of ${fmtInt(total)} lines`;
  return (
    <div class="meter" data-testid="batch-progress">
      <div class="meter-row">
        <span>
          {fmtInt(done)} of {fmtInt(total)}
        </span>
        {failed > 0 && <span class="muted">{fmtInt(failed)} failed</span>}
      </div>
      <div
        class={`meter-bar meter-${failed > 0 ? 'warn' : 'ok'}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={done}
      >
        <span style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

/** Upload a JSONL file and create its batch in one step, billed to one of the tenant's keys. */
function CreateBatchForm(props: { keys: ApiKey[]; onCreated: (b: AccountBatch) => void }) {
  const active = props.keys.filter((k) => k.status === 'active');
  const [file, setFile] = useState<File | null>(null);
  const [endpoint, setEndpoint] = useState<string>('/v1/chat/completions');
  const [keyId, setKeyId] = useState(active[0]?.id ?? '');
  const [formKey, setFormKey] = useState(0);
  const form = useSubmit(async () => {
    const body = new FormData();
    if (file) body.set('file', file);
    body.set('endpoint', endpoint);
    body.set('key_id', keyId);
    const batch = await post<AccountBatch>('/account/batches', body);
    announce(`Batch ${batch.id} created: ${fmtInt(batch.request_counts.total)} lines.`);
    setFile(null);
    setFormKey((k) => k + 1);
    props.onCreated(batch);
  });
  if (active.length === 0)
    return (
      <Empty title="No active API key" action={<a href="/keys">Create an API key</a>}>
        A batch's lines are billed to one of your API keys.
      </Empty>
    );
  return (
    <form
      class="narrow"
      noValidate
      key={formKey}
      onSubmit={(e) => {
        e.preventDefault();
        void form.run();
      }}
    >
      <Field
        label="Input file (JSONL)"
        id="batch-file"
        hint='One request per line: {"custom_id": "...", "method": "POST", "url": "<endpoint>", "body": {...}}. Every line is checked before anything is kept.'
        error={form.fieldError('file')}
      >
        {(a) => (
          <input
            {...a}
            type="file"
            accept=".jsonl,application/jsonl,application/x-ndjson,text/plain"
            onChange={(e) => setFile((e.currentTarget as HTMLInputElement).files?.[0] ?? null)}
          />
        )}
      </Field>
      <Field label="Endpoint" id="batch-endpoint" error={form.fieldError('endpoint')}>
        {(a) => (
          <select
            {...a}
            value={endpoint}
            onChange={(e) => setEndpoint((e.currentTarget as HTMLSelectElement).value)}
          >
            {ENDPOINTS.map((ep) => (
              <option key={ep} value={ep}>
                {ep}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        label="Bill to API key"
        id="batch-key"
        hint="Its lines run as this key's requests, at the batch price (half the online price unless the operator set another)."
        error={form.fieldError('key_id')}
      >
        {(a) => (
          <select
            {...a}
            value={keyId}
            onChange={(e) => setKeyId((e.currentTarget as HTMLSelectElement).value)}
          >
            {active.map((k) => (
              <option key={k.id} value={k.id}>
                {keyLabel(k)}
              </option>
            ))}
          </select>
        )}
      </Field>
      {form.error && !['file', 'endpoint', 'key_id'].includes(form.error.param ?? '') && (
        <ErrorNotice error={form.error} />
      )}
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled={form.busy || !file || !keyId}>
          {form.busy ? 'Uploading…' : 'Upload and start'}
        </button>
      </div>
    </form>
  );
}

function BatchActions(props: { batch: AccountBatch; manage: boolean; onChanged: () => void }) {
  const b = props.batch;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiFailure | null>(null);
  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(asFailure(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="row-actions">
      {b.output_file_id && (
        <button
          type="button"
          class="btn btn-small"
          disabled={busy}
          onClick={() => void act(() => download(b, 'output'))}
        >
          Download output
        </button>
      )}
      {b.error_file_id && (
        <button
          type="button"
          class="btn btn-small"
          disabled={busy}
          onClick={() => void act(() => download(b, 'errors'))}
        >
          Download errors
        </button>
      )}
      {props.manage && b.status === 'in_progress' && (
        <button
          type="button"
          class="btn btn-small btn-danger"
          disabled={busy}
          onClick={() =>
            void act(async () => {
              await post(`/account/batches/${b.id}/cancel`);
              announce(`Batch ${b.id} is being cancelled; lines already answered are kept.`);
              props.onChanged();
            })
          }
        >
          Cancel
        </button>
      )}
      {error && <span class="field-error">{error.message}</span>}
    </div>
  );
}

/** Batch jobs: upload a file of requests, follow its progress, download the answers. */
export default function BatchesPage() {
  const session = useStore(sessionStore);
  const manage = can(session, 'batches:manage');
  const [more, setMore] = useState<AccountBatch[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [moreBusy, setMoreBusy] = useState(false);
  const batches = useResource(async (signal) => {
    const page = await get<AccountBatchList>(`/account/batches${query({ limit: 20 })}`, { signal });
    setHasMore(page.has_more);
    return page;
  }, []);
  const keys = useResource(
    (signal) => (manage ? get<List<ApiKey>>('/account/keys', { signal }) : Promise.resolve(null)),
    [manage],
  );
  const first = batches.state === 'unavailable' ? undefined : batches.data?.data;
  const rows = first ? [...first, ...more.filter((m) => !first.some((f) => f.id === m.id))] : undefined;
  const running = rows?.some((b) => RUNNING.has(b.status)) ?? false;

  // Poll while a batch runs, so its progress moves without a reload.
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => batches.reload(), POLL_MS);
    return () => clearInterval(timer);
  }, [running, batches.reload]);

  const loadMore = async () => {
    const last = rows?.at(-1)?.id;
    if (!last) return;
    setMoreBusy(true);
    try {
      const page = await get<AccountBatchList>(`/account/batches${query({ limit: 20, after: last })}`);
      setMore((m) => [...m, ...page.data]);
      setHasMore(page.has_more);
    } finally {
      setMoreBusy(false);
    }
  };

  if (batches.state === 'unavailable')
    return (
      <>
        <PageHeader title="Batches" />
        <Unavailable feature="Batches" endpoint="/account/batches" />
      </>
    );
  return (
    <>
      <PageHeader
        title="Batches"
        description="Run a file of requests to one endpoint within 24 hours at the batch price (half the online price by default), apart from your per-minute limits. The same jobs are on the OpenAI-compatible /v1/batches API."
      />
      {manage && (
        <section class="card" aria-labelledby="new-batch-title">
          <h2 id="new-batch-title">New batch</h2>
          {keys.state === 'loading' && <Loading />}
          {keys.state === 'error' && <ErrorNotice error={keys.error} onRetry={keys.reload} />}
          {keys.state === 'ok' && keys.data && (
            <CreateBatchForm
              keys={keys.data.data}
              onCreated={() => {
                setMore([]);
                batches.reload();
              }}
            />
          )}
        </section>
      )}
      <section class="card" aria-labelledby="batches-title">
        <h2 id="batches-title">Your batches</h2>
        {!rows && batches.state === 'loading' && <Loading label="Loading batches…" />}
        {batches.state === 'error' && <ErrorNotice error={batches.error} onRetry={batches.reload} />}
        {rows &&
          (rows.length === 0 ? (
            <Empty title="No batches yet">
              {manage ? 'Upload a JSONL file above to start one.' : 'Owners and developers can start one.'}
            </Empty>
          ) : (
            <Table
              caption="Batches, newest first"
              captionHidden
              testId="batches-table"
              columns={['Created', 'Batch', 'Status', 'Progress', { label: 'Actions', hidden: true }]}
            >
              {rows.map((b) => (
                <tr key={b.id} data-batch-id={b.id}>
                  <td>{fmtUnix(b.created_at)}</td>
                  <th scope="row">
                    <code>{b.id}</code>
                    <div class="muted">
                      {b.endpoint}
                      {b.models.length > 0 && ` · ${b.models.join(', ')}`}
                    </div>
                  </th>
                  <td>
                    <Badge status={b.status} />
                    {b.errors?.data[0] && <div class="muted">{b.errors.data[0].message}</div>}
                  </td>
                  <td>
                    <Progress batch={b} />
                  </td>
                  <td>
                    <BatchActions batch={b} manage={manage} onChanged={batches.reload} />
                  </td>
                </tr>
              ))}
            </Table>
          ))}
        {hasMore && (
          <p>
            <button type="button" class="btn" disabled={moreBusy} onClick={() => void loadMore()}>
              {moreBusy ? 'Loading…' : 'Load more'}
            </button>
          </p>
        )}
      </section>
    </>
  );
}
