import { useState } from 'preact/hooks';
import { announce, CopyButton, Dialog, ErrorNotice, Field } from '../../components/ui';
import { post } from '../../lib/api';
import { useSubmit, value } from '../../lib/forms';
import { holdPlaygroundKey } from '../../lib/key-vault';
import { navigate } from '../../lib/router';
import type { ApiKeyWithSecret, Project } from '../../lib/types';
import { emptyDraft, generalError, KeyLimitFields, type LimitDraft, limitsOf } from './key-limits';
import { emptyScope, KeyScopeFields, type ScopeDraft, scopeOf } from './key-scope';

/** The secret, shown once, with a copy button and the choice to use it in the playground. */
export function SecretReveal(props: { created: ApiKeyWithSecret; onDone: () => void }) {
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
            announce(`The playground uses “${created.name}” in this tab.`);
            props.onDone();
            navigate('/playground');
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

/** Creates a key: name, expiry, optional scope and limits; then its secret, once. */
export function CreateKeyDialog(props: {
  open: boolean;
  onClose: () => void;
  onCreated: () => void;
  mayLimit: boolean;
  /** The projects the member may make keys in; the key goes to the default project without a choice. */
  projects?: Project[];
  /** The project picked first (the keys page's filter). */
  project?: string;
}) {
  const [name, setName] = useState('');
  const [projectId, setProjectId] = useState<string | undefined>(undefined);
  const chosenProject = projectId ?? props.project ?? '';
  const [expires, setExpires] = useState('');
  const [limitDraft, setLimitDraft] = useState<LimitDraft>(emptyDraft);
  const [scopeDraft, setScopeDraft] = useState<ScopeDraft>(emptyScope);
  const [created, setCreated] = useState<ApiKeyWithSecret | null>(null);
  const form = useSubmit(async () => {
    const limits = limitsOf(limitDraft);
    const scope = scopeOf(scopeDraft);
    const key = await post<ApiKeyWithSecret>('/account/keys', {
      name,
      ...(chosenProject ? { project_id: chosenProject } : {}),
      ...(expires ? { expires_at: new Date(`${expires}T23:59:59Z`).toISOString() } : {}),
      ...(Object.keys(limits).length ? { limits } : {}),
      ...(scope ? { scope } : {}),
    });
    setCreated(key);
    props.onCreated();
    announce(`Key “${key.name}” created.`);
  });
  const close = () => {
    setCreated(null);
    setName('');
    setExpires('');
    setProjectId(undefined);
    setLimitDraft(emptyDraft);
    setScopeDraft(emptyScope);
    form.setError(null);
    props.onClose();
  };
  const other = form.error?.param?.startsWith('scope.')
    ? null
    : generalError(form.error, ['name', 'expires_at', 'project_id']);
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
          {props.projects && props.projects.length > 1 && (
            <Field
              label="Project"
              id="key-project"
              hint="A key stays in its project: its usage, limits and members’ roles are the project’s."
              error={form.fieldError('project_id')}
            >
              {(a) => (
                <select {...a} value={chosenProject} onChange={(e) => setProjectId(value(e))}>
                  {props.projects!.map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          )}
          <Field
            label="Expires on (optional)"
            id="key-expires"
            hint="Leave empty for a key that does not expire."
            error={form.fieldError('expires_at')}
          >
            {(a) => <input {...a} type="date" value={expires} onInput={(e) => setExpires(value(e))} />}
          </Field>
          <KeyScopeFields idPrefix="key" draft={scopeDraft} onChange={setScopeDraft} error={form.error} />
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
