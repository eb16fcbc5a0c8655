import { useState } from 'preact/hooks';
import {
  announce,
  Badge,
  CopyButton,
  Dialog,
  Empty,
  ErrorNotice,
  Field,
  Loading,
  PageHeader,
} from '../../components/ui';
import { get, post } from '../../lib/api';
import { fmtDate, fmtRelative } from '../../lib/format';
import { useSubmit, value } from '../../lib/forms';
import { holdPlaygroundKey } from '../../lib/key-vault';
import { can, session as sessionStore } from '../../lib/session';
import { useStore } from '../../lib/store';
import type { ApiKey, ApiKeyWithSecret, List } from '../../lib/types';
import { useResource } from '../../lib/use-resource';
import {
  EditLimitsDialog,
  emptyDraft,
  generalError,
  KeyLimitFields,
  type LimitDraft,
  limitsOf,
  limitsText,
} from './key-limits';

/** The secret, shown once, with a copy button and the choice to use it in the playground. */
function SecretReveal(props: { created: ApiKeyWithSecret; onDone: () => void }) {
  const { created } = props;
  return (
    <div class="secret-reveal">
      <p class="notice notice-warn">
        Copy this secret now. It is shown <strong>once</strong>: Tollgate stores only its hash.
      </p>
      <div class="secret-row">
        <input
          class="secret"
          readOnly
          aria-label="API key secret"
          value={created.secret}
          onFocus={(e) => e.currentTarget.select()}
        />
        <CopyButton text={created.secret} label="Copy secret" />
      </div>
      <p class="hint">Try it:</p>
      <pre class="code-block">
        {`curl ${location.origin}/v1/chat/completions \\\n  -H "Authorization: Bearer ${created.secret}" \\\n  -H 'content-type: application/json' \\\n  -d '{"model":"chat","messages":[{"role":"user","content":"Hello"}],"max_tokens":16}'`}
      </pre>
      <div class="dialog-actions">
        <button
          type="button"
          class="btn"
          onClick={() => {
            holdPlaygroundKey({ secret: created.secret, id: created.id, label: created.name });
            announce(`The playground will use “${created.name}” in this tab.`);
            props.onDone();
          }}
        >
          Use in the playground
        </button>
        <button type="button" class="btn btn-primary" onClick={props.onDone}>
          I have copied it
        </button>
      </div>
    </div>
  );
}

function CreateKeyDialog(props: {
  open: boolean;
  onClose: () => void;
  onCreated: () => void;
  mayLimit: boolean;
}) {
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [limitDraft, setLimitDraft] = useState<LimitDraft>(emptyDraft);
  const [created, setCreated] = useState<ApiKeyWithSecret | null>(null);
  const form = useSubmit(async () => {
    const limits = limitsOf(limitDraft);
    const key = await post<ApiKeyWithSecret>('/account/keys', {
      name,
      ...(expires ? { expires_at: new Date(`${expires}T23:59:59Z`).toISOString() } : {}),
      ...(Object.keys(limits).length ? { limits } : {}),
    });
    setCreated(key);
    props.onCreated();
    announce(`Key “${key.name}” created.`);
  });
  const close = () => {
    setCreated(null);
    setName('');
    setExpires('');
    setLimitDraft(emptyDraft);
    form.setError(null);
    props.onClose();
  };
  const other = generalError(form.error, ['name', 'expires_at']);
  return (
    <Dialog
      open={props.open}
      title={created ? 'Your new API key' : 'Create an API key'}
      onClose={close}
      wide={!!created}
    >
      {created ? (
        <SecretReveal created={created} onDone={close} />
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void form.run();
          }}
          noValidate
        >
          <Field
            label="Name"
            id="key-name"
            hint="Where it is used, e.g. “production” or “laptop”."
            error={form.fieldError('name')}
          >
            {(a) => <input {...a} required value={name} onInput={(e) => setName(value(e))} />}
          </Field>
          <Field
            label="Expires on (optional)"
            id="key-expires"
            hint="Leave empty for a key that does not expire."
            error={form.fieldError('expires_at')}
          >
            {(a) => <input {...a} type="date" value={expires} onInput={(e) => setExpires(value(e))} />}
          </Field>
          <fieldset class="fieldset" disabled={!props.mayLimit}>
            <legend>Limits for this key (optional)</legend>
            {!props.mayLimit && <p class="hint">Only owners can narrow a key's limits.</p>}
            <KeyLimitFields idPrefix="key" draft={limitDraft} onChange={setLimitDraft} error={form.error} />
          </fieldset>
          {other && <ErrorNotice error={other} title="Could not create the key" />}
          <div class="dialog-actions">
            <button type="button" class="btn" onClick={close}>
              Cancel
            </button>
            <button type="submit" class="btn btn-primary" disabled={form.busy || !name.trim()}>
              {form.busy ? 'Creating…' : 'Create key'}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

function RevokeDialog(props: { apiKey: ApiKey | null; onClose: () => void; onDone: () => void }) {
  const k = props.apiKey;
  const form = useSubmit(async () => {
    if (!k) return;
    await post(`/account/keys/${k.id}/revoke`);
    announce(`Key “${k.name}” revoked.`);
    props.onDone();
    props.onClose();
  });
  return (
    <Dialog open={!!k} title="Revoke this key?" onClose={props.onClose}>
      {k && (
        <>
          <p>
            <strong>{k.name}</strong> (<code>{k.prefix}…</code>) stops working within seconds. Anything still
            using it gets <code>401 invalid_api_key</code>. This cannot be undone.
          </p>
          {form.error && <ErrorNotice error={form.error} />}
          <div class="dialog-actions">
            <button type="button" class="btn" onClick={props.onClose}>
              Cancel
            </button>
            <button type="button" class="btn btn-danger" disabled={form.busy} onClick={() => void form.run()}>
              {form.busy ? 'Revoking…' : 'Revoke key'}
            </button>
          </div>
        </>
      )}
    </Dialog>
  );
}

const graces = [
  { seconds: 0, label: 'Immediately' },
  { seconds: 3600, label: 'After 1 hour' },
  { seconds: 86_400, label: 'After 1 day' },
  { seconds: 7 * 86_400, label: 'After 7 days' },
];

function RotateDialog(props: { apiKey: ApiKey | null; onClose: () => void; onDone: () => void }) {
  const k = props.apiKey;
  const [grace, setGrace] = useState('3600');
  const [created, setCreated] = useState<ApiKeyWithSecret | null>(null);
  const form = useSubmit(async () => {
    if (!k) return;
    const answer = await post<{ key: ApiKeyWithSecret }>(`/account/keys/${k.id}/rotate`, {
      grace_period_seconds: Number(grace),
    });
    setCreated(answer.key);
    props.onDone();
  });
  const close = () => {
    setCreated(null);
    form.setError(null);
    props.onClose();
  };
  return (
    <Dialog
      open={!!k}
      title={created ? 'Your rotated key' : 'Rotate this key?'}
      onClose={close}
      wide={!!created}
    >
      {created ? (
        <SecretReveal created={created} onDone={close} />
      ) : (
        k && (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void form.run();
            }}
          >
            <p>
              A new secret for <strong>{k.name}</strong>, with the same name, scopes and limits. The old
              secret keeps working for a grace period, so you can roll the new one out.
            </p>
            <Field label="The old secret stops working" id="rotate-grace">
              {(a) => (
                <select {...a} value={grace} onChange={(e) => setGrace(value(e))}>
                  {graces.map((g) => (
                    <option key={g.seconds} value={String(g.seconds)}>
                      {g.label}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            {form.error && <ErrorNotice error={form.error} />}
            <div class="dialog-actions">
              <button type="button" class="btn" onClick={close}>
                Cancel
              </button>
              <button type="submit" class="btn btn-primary" disabled={form.busy}>
                {form.busy ? 'Rotating…' : 'Rotate key'}
              </button>
            </div>
          </form>
        )
      )}
    </Dialog>
  );
}

export default function KeysPage() {
  const session = useStore(sessionStore);
  const keys = useResource((signal) => get<List<ApiKey>>('/account/keys', { signal }), []);
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [rotating, setRotating] = useState<ApiKey | null>(null);
  const [limiting, setLimiting] = useState<ApiKey | null>(null);
  const mayManage = can(session, 'keys:manage');
  const mayLimit = can(session, 'limits:manage');
  const data =
    keys.state === 'ok' || keys.state === 'loading' || keys.state === 'error' ? keys.data?.data : undefined;
  const suspended =
    session.status === 'user' &&
    session.account.tenant.status !== 'active' &&
    session.account.tenant.status !== 'past_due';
  return (
    <>
      <PageHeader
        title="API keys"
        description="Keys call the models under /v1. Their secrets are shown once, when created or rotated."
        actions={
          mayManage && (
            <button
              type="button"
              class="btn btn-primary"
              onClick={() => setCreating(true)}
              disabled={suspended}
            >
              Create key
            </button>
          )
        }
      />
      {suspended && (
        <p class="notice notice-warn">
          This account is not active, so new keys cannot be made and existing ones are refused.
        </p>
      )}
      {keys.state === 'loading' && !data && <Loading label="Loading keys…" />}
      {keys.state === 'error' && <ErrorNotice error={keys.error} onRetry={keys.reload} />}
      {data && data.length === 0 && (
        <Empty
          title="No API keys yet"
          action={
            mayManage && (
              <button type="button" class="btn btn-primary" onClick={() => setCreating(true)}>
                Create your first key
              </button>
            )
          }
        >
          Create a key, then call the API with it from curl, the OpenAI SDK or the playground.
        </Empty>
      )}
      {data && data.length > 0 && (
        <div class="table-wrap">
          <table class="table">
            <caption class="visually-hidden">Your API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Status</th>
                <th scope="col">Limits</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                {mayManage && (
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {data.map((k) => (
                <tr key={k.id}>
                  <th scope="row">{k.name}</th>
                  <td>
                    <code>{k.prefix}…</code>
                  </td>
                  <td>
                    <Badge status={k.status} />
                    {k.rotated_to && k.status === 'active' && <span class="hint"> rotated</span>}
                  </td>
                  <td class="muted">{limitsText(k.limits)}</td>
                  <td>{fmtDate(k.created_at)}</td>
                  <td>{fmtRelative(k.last_used_at)}</td>
                  <td>{k.expires_at ? fmtDate(k.expires_at) : 'Never'}</td>
                  {mayManage && (
                    <td class="row-actions">
                      {k.status === 'active' && mayLimit && (
                        <button
                          type="button"
                          class="btn btn-small"
                          onClick={() => setLimiting(k)}
                          aria-label={`Edit the limits of ${k.name}`}
                        >
                          Limits
                        </button>
                      )}
                      {k.status === 'active' && !k.rotated_to && (
                        <button
                          type="button"
                          class="btn btn-small"
                          onClick={() => setRotating(k)}
                          aria-label={`Rotate ${k.name}`}
                        >
                          Rotate
                        </button>
                      )}
                      {k.status === 'active' && (
                        <button
                          type="button"
                          class="btn btn-small btn-danger-ghost"
                          onClick={() => setRevoking(k)}
                          aria-label={`Revoke ${k.name}`}
                        >
                          Revoke
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <CreateKeyDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={keys.reload}
        mayLimit={mayLimit}
      />
      <RevokeDialog apiKey={revoking} onClose={() => setRevoking(null)} onDone={keys.reload} />
      <RotateDialog apiKey={rotating} onClose={() => setRotating(null)} onDone={keys.reload} />
      <EditLimitsDialog apiKey={limiting} onClose={() => setLimiting(null)} onDone={keys.reload} />
    </>
  );
}
