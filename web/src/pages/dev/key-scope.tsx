import { announce, Dialog, ErrorNotice, Field } from '../../components/ui';
import { type ApiFailure, api } from '../../lib/api';
import { loadCatalog } from '../../lib/catalog';
import { useSubmit, value } from '../../lib/forms';
import type { ApiKey } from '../../lib/types';
import { useDraft } from '../../lib/use-draft';
import { useResource } from '../../lib/use-resource';

export const KEY_ENDPOINTS = [
  { id: 'chat', label: 'Chat' },
  { id: 'embeddings', label: 'Embeddings' },
  { id: 'text', label: 'Text' },
  { id: 'images', label: 'Images' },
  { id: 'batch', label: 'Files and batches' },
] as const;

/** A key's scope as the form edits it: the IP ranges as one range per line. */
export interface ScopeDraft {
  models: string[];
  endpoints: string[];
  readOnly: boolean;
  ranges: string;
}

export const emptyScope: ScopeDraft = { models: [], endpoints: [], readOnly: false, ranges: '' };

export function scopeDraftOf(scope: ApiKey['scope'] | null | undefined): ScopeDraft {
  if (!scope) return emptyScope;
  return {
    models: scope.models,
    endpoints: scope.endpoints,
    readOnly: scope.read_only,
    ranges: scope.ip_allowlist.join('\n'),
  };
}

/** The API's `scope`, or null when the draft restricts nothing. */
export function scopeOf(d: ScopeDraft) {
  const ranges = d.ranges
    .split(/[\s,]+/)
    .map((r) => r.trim())
    .filter(Boolean);
  if (d.models.length === 0 && d.endpoints.length === 0 && !d.readOnly && ranges.length === 0) return null;
  return {
    ...(d.models.length ? { models: d.models } : {}),
    ...(d.endpoints.length ? { endpoints: d.endpoints } : {}),
    ...(d.readOnly ? { read_only: true } : {}),
    ...(ranges.length ? { ip_allowlist: ranges } : {}),
  };
}

/** One line for the keys table. */
export function scopeText(scope: ApiKey['scope'] | null | undefined): string {
  if (!scope) return 'Unrestricted';
  const parts = [
    scope.read_only && 'read-only',
    scope.models.length > 0 && `models: ${scope.models.join(', ')}`,
    scope.endpoints.length > 0 && `endpoints: ${scope.endpoints.join(', ')}`,
    scope.ip_allowlist.length > 0 && `IPs: ${scope.ip_allowlist.join(', ')}`,
  ].filter(Boolean);
  return parts.length ? parts.join('; ') : 'Unrestricted';
}

/** The error of a `scope.*` field (the API names the field, e.g. `scope.ip_allowlist[1]`). */
function scopeError(error: ApiFailure | null, field: string): string | null {
  return error?.param?.startsWith(`scope.${field}`) ? error.message : null;
}

/** Models (from the catalog: each model and each of its versions), endpoints, read-only, IP ranges. */
export function KeyScopeFields(props: {
  idPrefix: string;
  draft: ScopeDraft;
  onChange: (d: ScopeDraft) => void;
  error: ApiFailure | null;
}) {
  const { draft, idPrefix } = props;
  const catalog = useResource((signal) => loadCatalog(null, signal), []);
  const ids = ('data' in catalog ? catalog.data?.ids : undefined) ?? [];
  const options = [...new Set([...ids, ...draft.models])];
  const toggle = (list: string[], item: string, on: boolean) =>
    on ? [...list, item] : list.filter((x) => x !== item);
  return (
    <fieldset class="fieldset">
      <legend>Scope (optional)</legend>
      <p class="hint">
        Calls outside the scope are refused (403) and never billed. Nothing chosen: no restriction.
      </p>
      <Field
        label="Models"
        id={`${idPrefix}-scope-models`}
        hint="A model allows all its versions; a version (name@version) only that one. Ctrl or Cmd to pick several."
        error={scopeError(props.error, 'models')}
      >
        {(a) => (
          <select
            {...a}
            multiple
            size={Math.min(8, Math.max(3, options.length))}
            onChange={(e) =>
              props.onChange({
                ...draft,
                models: [...(e.currentTarget as HTMLSelectElement).selectedOptions].map((o) => o.value),
              })
            }
          >
            {options.map((id) => (
              <option key={id} value={id} selected={draft.models.includes(id)}>
                {id}
              </option>
            ))}
          </select>
        )}
      </Field>
      <fieldset class="fieldset" aria-describedby={`${idPrefix}-scope-endpoints-hint`}>
        <legend>Endpoints</legend>
        <p class="hint" id={`${idPrefix}-scope-endpoints-hint`}>
          None checked: all.
        </p>
        {KEY_ENDPOINTS.map((ep) => (
          <label key={ep.id} class="checkbox">
            <input
              type="checkbox"
              checked={draft.endpoints.includes(ep.id)}
              onChange={(e) =>
                props.onChange({
                  ...draft,
                  endpoints: toggle(draft.endpoints, ep.id, e.currentTarget.checked),
                })
              }
            />{' '}
            {ep.label}
          </label>
        ))}
        {scopeError(props.error, 'endpoints') && (
          <p class="field-error">{scopeError(props.error, 'endpoints')}</p>
        )}
      </fieldset>
      <label class="checkbox">
        <input
          type="checkbox"
          checked={draft.readOnly}
          onChange={(e) => props.onChange({ ...draft, readOnly: e.currentTarget.checked })}
        />{' '}
        Read-only (list models and read usage; no inference, no batches)
      </label>
      <Field
        label="Allowed IP ranges"
        id={`${idPrefix}-scope-ips`}
        hint="CIDR ranges, one per line (203.0.113.0/24, 2001:db8::/32). Empty: any address."
        error={scopeError(props.error, 'ip_allowlist')}
      >
        {(a) => (
          <textarea
            {...a}
            rows={3}
            spellcheck={false}
            value={draft.ranges}
            onInput={(e) => props.onChange({ ...draft, ranges: value(e) })}
          />
        )}
      </Field>
    </fieldset>
  );
}

/** Edits a key's scope and expiry (owners and developers of its project). */
export function EditScopeDialog(props: { apiKey: ApiKey | null; onClose: () => void; onDone: () => void }) {
  const k = props.apiKey;
  const [draft, setDraft] = useDraft(k, (key) => scopeDraftOf(key?.scope));
  const [expires, setExpires] = useDraft(k, (key) => key?.expires_at?.slice(0, 10) ?? '');
  const form = useSubmit(async () => {
    if (!k) return;
    await api<ApiKey>('PATCH', `/account/keys/${k.id}`, {
      body: {
        scope: scopeOf(draft),
        ...(k.rotated_to
          ? {}
          : { expires_at: expires ? new Date(`${expires}T23:59:59Z`).toISOString() : null }),
      },
    });
    announce(`Scope of “${k.name}” saved.`);
    props.onDone();
    props.onClose();
  });
  const close = () => {
    form.setError(null);
    props.onClose();
  };
  const shown = form.error?.param?.startsWith('scope.') || form.error?.param === 'expires_at';
  return (
    <Dialog open={!!k} title="Key scope" onClose={close}>
      {k && (
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void form.run();
          }}
        >
          <p>
            Restrict <strong>{k.name}</strong> (<code>{k.prefix}…</code>). Applies within seconds.
          </p>
          <KeyScopeFields idPrefix="edit-key" draft={draft} onChange={setDraft} error={form.error} />
          {!k.rotated_to && (
            <Field
              label="Expires on"
              id="edit-key-expires"
              hint="Empty: never."
              error={form.fieldError('expires_at')}
            >
              {(a) => <input {...a} type="date" value={expires} onInput={(e) => setExpires(value(e))} />}
            </Field>
          )}
          {form.error && !shown && <ErrorNotice error={form.error} title="Could not save the scope" />}
          <div class="dialog-actions">
            <button type="button" class="btn" onClick={close}>
              Cancel
            </button>
            <button type="submit" class="btn btn-primary" disabled={form.busy}>
              {form.busy ? 'Saving…' : 'Save scope'}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
