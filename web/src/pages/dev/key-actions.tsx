import { useState } from 'preact/hooks';
import { announce, Dialog, ErrorNotice, Field } from '../../components/ui';
import { post } from '../../lib/api';
import { useSubmit, value } from '../../lib/forms';
import type { ApiKey, ApiKeyWithSecret } from '../../lib/types';
import { SecretReveal } from './key-create';

/** Revokes a key after saying what stops working. */
export function RevokeDialog(props: { apiKey: ApiKey | null; onClose: () => void; onDone: () => void }) {
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

/** A new secret for a key; the old one keeps working for the chosen grace period. */
export function RotateDialog(props: { apiKey: ApiKey | null; onClose: () => void; onDone: () => void }) {
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
