import { useEffect, useState } from 'preact/hooks';
import { Table } from '../../components/table';
import {
  announce,
  Badge,
  Dialog,
  ErrorNotice,
  Field,
  Loading,
  PageHeader,
  Unavailable,
} from '../../components/ui';
import { api, get, post } from '../../lib/api';
import { fmtDate, fmtUsd, unitLabel } from '../../lib/format';
import { useSubmit, value } from '../../lib/forms';
import type { AdminModel, AdminModelVersion, List } from '../../lib/types';
import { useDraft } from '../../lib/use-draft';
import { useResource } from '../../lib/use-resource';

/** Prices are stored per unit in nano-USD; people read them per 1M tokens or per image. */
const PER: Record<string, number> = { input_tokens: 1_000_000, output_tokens: 1_000_000, images: 1 };
const perLabel = (unit: string) =>
  PER[unit] === 1
    ? `per ${(unitLabel[unit] ?? unit).replace(/s$/, '')}`
    : `per 1M ${unitLabel[unit] ?? unit}`;
const toDisplay = (unit: string, nano: number) => (nano * (PER[unit] ?? 1)) / 1e9;
const toNano = (unit: string, usd: number) => Math.round((usd * 1e9) / (PER[unit] ?? 1));

type Action = { kind: 'deprecate' | 'retire' | 'prices' | 'promote'; version: AdminModelVersion } | null;

/** The canary control: one slider per callable version; the share each gets is its weight over the sum. */
function TrafficForm(props: { model: AdminModel; onSaved: (m: AdminModel) => void }) {
  const { model } = props;
  const callable = model.versions.filter((v) => v.status !== 'retired');
  const initial = () =>
    Object.fromEntries(
      callable.map((v) => [
        v.version,
        Object.keys(model.traffic).length
          ? (model.traffic[v.version] ?? 0)
          : v.version === model.default_version
            ? 100
            : 0,
      ]),
    );
  const [weights, setWeights] = useDraft(model.revision, initial);
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  const save = useSubmit(async () => {
    const saved = await api<AdminModel>('PUT', `/admin/models/${encodeURIComponent(model.name)}/traffic`, {
      body: { weights: Object.fromEntries(Object.entries(weights).filter(([, w]) => w > 0)) },
    });
    announce(`Traffic for ${model.name} saved.`);
    props.onSaved(saved);
  });
  return (
    <form
      class="traffic"
      onSubmit={(e) => {
        e.preventDefault();
        void save.run();
      }}
    >
      <fieldset class="fieldset">
        <legend>Traffic for requests that name no version (sticky per tenant; pins override)</legend>
        {callable.map((v) => {
          const w = weights[v.version] ?? 0;
          const pct = total > 0 ? Math.round((w / total) * 1000) / 10 : 0;
          return (
            <div class="slider-row" key={v.version}>
              <label for={`w-${model.name}-${v.version}`}>
                <code>{v.version}</code>
              </label>
              <input
                id={`w-${model.name}-${v.version}`}
                type="range"
                min={0}
                max={100}
                step={1}
                value={w}
                aria-valuetext={`weight ${w}, ${pct}% of traffic`}
                onInput={(e) => setWeights({ ...weights, [v.version]: Number(value(e)) })}
              />
              <output for={`w-${model.name}-${v.version}`} class="slider-value">
                {pct}%
              </output>
            </div>
          );
        })}
      </fieldset>
      {total === 0 && (
        <p class="hint">All weights at zero: every such request goes to the default version.</p>
      )}
      {save.error && <ErrorNotice error={save.error} />}
      <button type="submit" class="btn btn-primary" disabled={save.busy}>
        {save.busy ? 'Saving…' : 'Save traffic'}
      </button>
    </form>
  );
}

function ActionDialog(props: {
  model: AdminModel;
  action: Action;
  onClose: () => void;
  onSaved: (m: AdminModel) => void;
}) {
  const { model, action } = props;
  const v = action?.version;
  const [sunset, setSunset] = useState('');
  const [replacement, setReplacement] = useState('');
  const [prices, setPrices] = useState<Record<string, string>>({});
  // Empty: the default, half the online prices.
  const [batch, setBatch] = useState<Record<string, string>>({});
  useEffect(() => {
    if (!v) return;
    const soon = new Date(Date.now() + 90 * 86_400_000).toISOString().slice(0, 10);
    setSunset(v.sunset_at?.slice(0, 10) ?? soon);
    setReplacement(
      model.versions.find((x) => x.version !== v.version && x.status !== 'retired')?.version ?? '',
    );
    setPrices(
      Object.fromEntries(model.units.map((u) => [u, String(toDisplay(u, v.prices_nano_usd[u] ?? 0))])),
    );
    setBatch(
      Object.fromEntries(
        model.units.map((u) => [
          u,
          v.batch_prices_default ? '' : String(toDisplay(u, v.batch_prices_nano_usd[u] ?? 0)),
        ]),
      ),
    );
  }, [v?.version, action?.kind]);
  const form = useSubmit(async () => {
    if (!v || !action) return;
    const base = `/admin/models/${encodeURIComponent(model.name)}/versions/${encodeURIComponent(v.version)}`;
    let saved: AdminModel;
    if (action.kind === 'promote') saved = await post<AdminModel>(`${base}/promote`, { default: true });
    else if (action.kind === 'deprecate')
      saved = await post<AdminModel>(`${base}/deprecate`, {
        sunset_at: new Date(`${sunset}T00:00:00Z`).toISOString(),
      });
    else if (action.kind === 'retire') saved = await post<AdminModel>(`${base}/retire`, { replacement });
    else
      saved = await api<AdminModel>('PUT', `${base}/prices`, {
        body: {
          prices_nano_usd: Object.fromEntries(
            Object.entries(prices).map(([u, usd]) => [u, toNano(u, Number(usd))]),
          ),
          batch_prices_nano_usd: Object.values(batch).every((usd) => usd.trim() === '')
            ? null
            : Object.fromEntries(
                Object.entries(batch)
                  .filter(([, usd]) => usd.trim() !== '')
                  .map(([u, usd]) => [u, toNano(u, Number(usd))]),
              ),
        },
      });
    announce(`${model.name}@${v.version}: ${action.kind} saved.`);
    props.onSaved(saved);
    props.onClose();
  });
  const titles = {
    promote: 'Make default',
    deprecate: 'Deprecate version',
    retire: 'Retire version',
    prices: 'Change prices',
  };
  return (
    <Dialog
      open={!!action}
      title={action ? `${titles[action.kind]}: ${model.name}@${v?.version}` : ''}
      onClose={props.onClose}
    >
      {action && v && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void form.run();
          }}
        >
          {action.kind === 'promote' && (
            <p>
              Requests naming only <code>{model.name}</code> (without a pin or traffic split) get this
              version.
            </p>
          )}
          {action.kind === 'deprecate' && (
            <>
              <p>
                It keeps answering, with <code>Deprecation</code> and <code>Sunset</code> headers, until the
                sunset date.
              </p>
              <Field label="Sunset date" id="deprecate-sunset" error={form.fieldError('sunset_at')}>
                {(a) => (
                  <input {...a} type="date" required value={sunset} onInput={(e) => setSunset(value(e))} />
                )}
              </Field>
            </>
          )}
          {action.kind === 'retire' && (
            <>
              <p>
                Calls to it are refused with an error naming the replacement; its aliases move to the
                replacement.
              </p>
              <Field label="Replacement" id="retire-replacement" error={form.fieldError('replacement')}>
                {(a) => (
                  <select {...a} value={replacement} onChange={(e) => setReplacement(value(e))}>
                    {model.versions
                      .filter((x) => x.version !== v.version && x.status !== 'retired')
                      .map((x) => (
                        <option key={x.version} value={x.version}>
                          {x.version}
                        </option>
                      ))}
                  </select>
                )}
              </Field>
            </>
          )}
          {action.kind === 'prices' && (
            <>
              <p>A new price book from now on; recorded usage keeps the prices it was billed at.</p>
              {model.units.map((u) => (
                <Field key={u} label={`USD ${perLabel(u)}`} id={`price-${u}`}>
                  {(a) => (
                    <input
                      {...a}
                      type="number"
                      min={0}
                      step="any"
                      required
                      value={prices[u] ?? ''}
                      onInput={(e) => setPrices({ ...prices, [u]: value(e) })}
                    />
                  )}
                </Field>
              ))}
              {model.units.map((u) => (
                <Field
                  key={`batch-${u}`}
                  label={`Batch USD ${perLabel(u)}`}
                  id={`batch-price-${u}`}
                  hint="Empty: half the online price. At most the online price."
                  error={form.fieldError(`batch_prices.${u}`)}
                >
                  {(a) => (
                    <input
                      {...a}
                      type="number"
                      min={0}
                      step="any"
                      value={batch[u] ?? ''}
                      onInput={(e) => setBatch({ ...batch, [u]: value(e) })}
                    />
                  )}
                </Field>
              ))}
            </>
          )}
          {form.error && <ErrorNotice error={form.error} />}
          <div class="dialog-actions">
            <button type="button" class="btn" onClick={props.onClose}>
              Cancel
            </button>
            <button
              type="submit"
              class={`btn ${action.kind === 'retire' ? 'btn-danger' : 'btn-primary'}`}
              disabled={form.busy}
            >
              {titles[action.kind]}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

function ModelSection(props: { initial: AdminModel }) {
  const [model, setModel] = useDraft(props.initial, (m) => m);
  const [action, setAction] = useState<Action>(null);
  return (
    <section class="card model-card" aria-labelledby={`am-${model.name}`}>
      <div class="model-head">
        <div>
          <h2 id={`am-${model.name}`}>
            <code>{model.name}</code>
          </h2>
          <p class="muted">{model.description}</p>
        </div>
        <div class="model-meta">
          <span class="badge badge-muted">{model.task}</span>
          <span class="hint">
            default <code>{model.default_version}</code>
            {Object.entries(model.aliases).map(([a, t]) => (
              <span key={a}>
                {' '}
                · @{a} → <code>{t}</code>
              </span>
            ))}
          </span>
        </div>
      </div>
      <Table
        caption={`Versions of ${model.name}`}
        captionHidden
        columns={['Version', 'Status', 'Prices', 'Sunset', { label: 'Actions', hidden: true }]}
      >
        {model.versions.map((v) => (
          <tr key={v.version}>
            <th scope="row" title={`SageMaker endpoint ${v.endpoint_name}, variant ${v.variant}`}>
              <code>{v.version}</code>
              {v.version === model.default_version && <span class="badge badge-info">default</span>}
              {v.variant !== v.version && <div class="muted">variant {v.variant}</div>}
            </th>
            <td>
              <Badge status={v.status} />
              {v.replacement && <div class="muted">→ {v.replacement}</div>}
            </td>
            <td>
              {Object.entries(v.prices_nano_usd).map(([u, nano]) => (
                <div key={u}>
                  {fmtUsd(toDisplay(u, nano))} {perLabel(u)}
                </div>
              ))}
              {Object.entries(v.batch_prices_nano_usd).map(([u, nano]) => (
                <div key={`batch-${u}`} class="muted">
                  batch {fmtUsd(toDisplay(u, nano))} {perLabel(u)}
                  {v.batch_prices_default && ' (half)'}
                </div>
              ))}
            </td>
            <td>{v.sunset_at ? fmtDate(v.sunset_at) : '—'}</td>
            <td class="row-actions">
              {v.status !== 'retired' && (
                <>
                  {v.version !== model.default_version && (
                    <button
                      type="button"
                      class="btn btn-small"
                      onClick={() => setAction({ kind: 'promote', version: v })}
                    >
                      Make default
                    </button>
                  )}
                  <button
                    type="button"
                    class="btn btn-small"
                    onClick={() => setAction({ kind: 'prices', version: v })}
                  >
                    Prices
                  </button>
                  {v.status !== 'deprecated' && (
                    <button
                      type="button"
                      class="btn btn-small"
                      onClick={() => setAction({ kind: 'deprecate', version: v })}
                    >
                      Deprecate
                    </button>
                  )}
                  {v.version !== model.default_version && (
                    <button
                      type="button"
                      class="btn btn-small btn-danger-ghost"
                      onClick={() => setAction({ kind: 'retire', version: v })}
                    >
                      Retire
                    </button>
                  )}
                </>
              )}
            </td>
          </tr>
        ))}
      </Table>
      <TrafficForm model={model} onSaved={setModel} />
      <ActionDialog model={model} action={action} onClose={() => setAction(null)} onSaved={setModel} />
    </section>
  );
}

export default function AdminModelsPage() {
  const models = useResource((signal) => get<List<AdminModel>>('/admin/models', { signal }), []);
  return (
    <>
      <PageHeader
        title="Models"
        description="Versions, canary traffic, promotion, deprecation, retirement and prices. Every change is in the audit log."
      />
      {models.state === 'loading' && <Loading label="Loading the catalog…" />}
      {models.state === 'unavailable' && (
        <Unavailable feature="Catalog administration" endpoint="GET /admin/models">
          <p>Version weights (canary), promote, deprecate, retire and prices will be managed here.</p>
        </Unavailable>
      )}
      {models.state === 'error' && <ErrorNotice error={models.error} onRetry={models.reload} />}
      {models.state === 'ok' && models.data.data.map((m) => <ModelSection key={m.name} initial={m} />)}
    </>
  );
}
