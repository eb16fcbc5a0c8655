import { contextText, latencyText, priceText, VersionSampleView } from '../../components/model-facts';
import { Table } from '../../components/table';
import { announce, Badge, ErrorNotice, Loading, PageHeader, Unavailable } from '../../components/ui';
import { api, get } from '../../lib/api';
import { type CatalogView, loadCatalog } from '../../lib/catalog';
import { fmtDate } from '../../lib/format';
import { useSubmit } from '../../lib/forms';
import { playgroundKey } from '../../lib/key-vault';
import { useStore } from '../../lib/store';
import type { CatalogModel, List, ModelPin } from '../../lib/types';
import { useDraft } from '../../lib/use-draft';
import { type Resource, useResource } from '../../lib/use-resource';
import { KeyPanel } from './key-panel';

function PinControl(props: {
  model: CatalogModel;
  pins: Resource<List<ModelPin>> & { reload: () => void };
  onChanged: () => void;
}) {
  const { model, pins } = props;
  const current = pins.state === 'ok' ? pins.data.data.find((p) => p.model === model.id) : undefined;
  const [choice, setChoice] = useDraft(current?.version ?? '', (v) => v);
  const save = useSubmit(async () => {
    if (choice) {
      await api('PUT', `/account/models/pins/${encodeURIComponent(model.id)}`, { body: { version: choice } });
      announce(`${model.id} pinned to ${choice}.`);
    } else {
      await api('DELETE', `/account/models/pins/${encodeURIComponent(model.id)}`);
      announce(`${model.id} follows the default version again.`);
    }
    pins.reload();
    props.onChanged();
  });
  if (pins.state !== 'ok') return null;
  const options = [
    ...Object.keys(model.aliases ?? {}),
    ...(model.versions ?? []).map((v) => v.version ?? v.id),
  ];
  return (
    <form
      class="inline-form pin-form"
      onSubmit={(e) => {
        e.preventDefault();
        void save.run();
      }}
    >
      <label for={`pin-${model.id}`}>Pinned version</label>
      <select
        id={`pin-${model.id}`}
        value={choice}
        onChange={(e) => setChoice((e.currentTarget as HTMLSelectElement).value)}
      >
        <option value="">None: follow the default ({model.default_version ?? 'default'})</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
      <button type="submit" class="btn btn-small" disabled={save.busy || choice === (current?.version ?? '')}>
        Save pin
      </button>
      {save.error && <ErrorNotice error={save.error} />}
    </form>
  );
}

function ModelCard(props: {
  model: CatalogModel;
  detailed: boolean;
  pins: Resource<List<ModelPin>> & { reload: () => void };
  onChanged: () => void;
}) {
  const { model } = props;
  return (
    <section class="card model-card" aria-labelledby={`model-${model.id}`}>
      <div class="model-head">
        <div>
          <h2 id={`model-${model.id}`}>
            <code>{model.id}</code>
          </h2>
          {model.description && <p class="muted">{model.description}</p>}
        </div>
        <div class="model-meta">
          {model.task && <span class="badge badge-muted">{model.task}</span>}
          {model.serving_version && (
            <span class="hint">
              Your calls to <code>{model.id}</code> get <code>{model.serving_version}</code>
            </span>
          )}
        </div>
      </div>
      <Table
        caption={`Versions of ${model.id}`}
        captionHidden
        columns={[
          'Version',
          props.detailed && 'Status',
          props.detailed && 'Price',
          props.detailed && 'Context',
          props.detailed && 'Typical latency',
          props.detailed && 'Sunset',
        ]}
      >
        {(model.versions ?? []).map((v) => (
          <tr key={v.id}>
            <th scope="row">
              <code>{v.id}</code>
              {model.default_version && v.version === model.default_version && (
                <span class="badge badge-info">default</span>
              )}
              {Object.entries(model.aliases ?? {})
                .filter(([, target]) => target === v.version)
                .map(([alias]) => (
                  <span key={alias} class="badge badge-muted">
                    @{alias}
                  </span>
                ))}
              {v.available === false && (
                <>
                  <span class="badge badge-warn">not installed</span>
                  <span class="cell-note">
                    Cannot be called here{v.unavailable_reason ? `: ${v.unavailable_reason}` : ''}.
                    {v.install_command && (
                      <>
                        {' '}
                        An operator installs it with <code>{v.install_command}</code>.
                      </>
                    )}
                  </span>
                </>
              )}
              {props.detailed && <VersionSampleView version={v} />}
            </th>
            {props.detailed && <td>{v.status && <Badge status={v.status} />}</td>}
            {props.detailed && (
              <td>
                {(v.prices ?? []).map((p) => (
                  <div key={p.unit}>{priceText(p)}</div>
                ))}
              </td>
            )}
            {props.detailed && <td>{contextText(v)}</td>}
            {props.detailed && <td>{latencyText(v)}</td>}
            {props.detailed && <td>{v.sunset_at ? fmtDate(v.sunset_at) : '—'}</td>}
          </tr>
        ))}
      </Table>
      <PinControl model={model} pins={props.pins} onChanged={props.onChanged} />
    </section>
  );
}

export default function ModelsPage() {
  const held = useStore(playgroundKey);
  // Read with the session; only a server without GET /account/models needs the tab's API key.
  const catalog = useResource<CatalogView | null>(
    (signal) => loadCatalog(held?.secret ?? null, signal),
    [held?.secret],
  );
  const pins = useResource((signal) => get<List<ModelPin>>('/account/models/pins', { signal }), []);
  return (
    <>
      <PageHeader
        title="Models"
        description="What you can call, by name (the default version), name@version, or name@alias. Pin a version to keep it when the default moves."
      />
      {catalog.state === 'ok' && !catalog.data && (
        <>
          <p class="notice notice-muted">
            This server does not list the catalog by session (<code>GET /account/models</code>) yet. It can be
            read with one of your API keys through <code>GET /v1/models</code>: choose one below.
          </p>
          <KeyPanel compact />
        </>
      )}
      {pins.state === 'unavailable' && (
        <Unavailable feature="Version pins" endpoint="GET /account/models/pins">
          <p>
            Until then, name a version in each request (<code>ocr@tesseract-5</code>) to stay on it.
          </p>
        </Unavailable>
      )}
      {pins.state === 'error' && <ErrorNotice error={pins.error} onRetry={pins.reload} />}
      {catalog.state === 'loading' && <Loading label="Loading the catalog…" />}
      {catalog.state === 'error' && <ErrorNotice error={catalog.error} onRetry={catalog.reload} />}
      {catalog.state === 'ok' && catalog.data && (
        <>
          {!catalog.data.detailed && (
            <p class="hint source-note">
              This server lists model ids only; status, prices and sunsets appear here when its catalog lists
              them.
            </p>
          )}
          {catalog.data.models.map((m) => (
            <ModelCard
              key={m.id}
              model={m}
              detailed={catalog.data!.detailed}
              pins={pins}
              onChanged={catalog.reload}
            />
          ))}
        </>
      )}
    </>
  );
}
