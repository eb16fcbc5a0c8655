import { useState } from 'preact/hooks';
import { announce, CopyButton, ErrorNotice, Field } from '../../components/ui';
import { post } from '../../lib/api';
import { useSubmit, value } from '../../lib/forms';
import {
  forgetPlaygroundKey,
  type HeldKey,
  holdPlaygroundKey,
  looksLikeKey,
  playgroundKey,
} from '../../lib/key-vault';
import { can, session as sessionStore } from '../../lib/session';
import { useStore } from '../../lib/store';
import type { ApiKeyWithSecret } from '../../lib/types';

/**
 * Which API key this tab uses to call /v1: one pasted, or a "playground" key made on the spot.
 * The secret stays in this tab's sessionStorage and is forgotten on log out.
 */
export function KeyPanel(props: { compact?: boolean }) {
  const held = useStore(playgroundKey);
  const session = useStore(sessionStore);
  const [paste, setPaste] = useState('');
  const [fresh, setFresh] = useState<ApiKeyWithSecret | null>(null);
  const [pasteError, setPasteError] = useState<string | null>(null);
  const create = useSubmit(async () => {
    const key = await post<ApiKeyWithSecret>('/account/keys', { name: 'playground' });
    holdPlaygroundKey({ secret: key.secret, id: key.id, label: key.name });
    setFresh(key);
    announce('Playground key created and in use in this tab.');
  });

  if (held) {
    return (
      <section class="key-panel card" aria-label="API key in use">
        <div class="key-panel-row">
          <div>
            <div class="stat-label">Calling with</div>
            <div>
              <strong>{held.label}</strong> <code>{held.secret.slice(0, 14)}…</code>
            </div>
          </div>
          <button
            type="button"
            class="btn btn-small"
            onClick={() => {
              setFresh(null);
              forgetPlaygroundKey();
            }}
          >
            Use another key
          </button>
        </div>
        {fresh && fresh.secret === held.secret && (
          <div class="notice notice-warn">
            <p>
              This is the new key's secret, shown once. Copy it if you want it outside this tab; the console
              forgets it when the tab closes or you log out.
            </p>
            <div class="secret-row">
              <input
                class="secret"
                readOnly
                aria-label="New key secret"
                value={fresh.secret}
                onFocus={(e) => e.currentTarget.select()}
              />
              <CopyButton text={fresh.secret} label="Copy secret" />
            </div>
          </div>
        )}
      </section>
    );
  }

  const use = () => {
    if (!looksLikeKey(paste)) {
      setPasteError('That does not look like a Tollgate key (tg_live_…).');
      return;
    }
    const key: HeldKey = { secret: paste.trim(), id: null, label: 'Pasted key' };
    holdPlaygroundKey(key);
    setPaste('');
    setPasteError(null);
    announce('Key in use in this tab.');
  };
  return (
    <section
      class={`key-panel card${props.compact ? ' key-panel-compact' : ''}`}
      aria-labelledby="key-panel-title"
    >
      <h2 id="key-panel-title">Choose an API key</h2>
      <p class="hint">
        Calls go to the API with one of your keys, like any client's. The secret is kept in this tab only
        (sessionStorage) and forgotten when you log out.
      </p>
      <div class="key-panel-options">
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            use();
          }}
        >
          <Field label="Paste a key" id="paste-key" error={pasteError}>
            {(a) => (
              <input
                {...a}
                type="password"
                autoComplete="off"
                spellcheck={false}
                placeholder="tg_live_…"
                value={paste}
                onInput={(e) => setPaste(value(e))}
              />
            )}
          </Field>
          <button type="submit" class="btn">
            Use this key
          </button>
        </form>
        {can(session, 'keys:manage') && (
          <div class="or-create">
            <span class="muted">or</span>
            <button
              type="button"
              class="btn btn-primary"
              disabled={create.busy}
              onClick={() => void create.run()}
            >
              {create.busy ? 'Creating…' : 'Create a playground key'}
            </button>
          </div>
        )}
      </div>
      {create.error && <ErrorNotice error={create.error} title="Could not create a key" />}
    </section>
  );
}
