import { useState } from 'preact/hooks';
import { API_KEY_VARIABLE, codeSamples, type SampleRequest } from '../lib/code-samples';
import { CopyButton } from './ui';

const languages = [
  { id: 'curl', label: 'curl' },
  { id: 'javascript', label: 'JavaScript' },
  { id: 'python', label: 'Python' },
] as const;
type Language = (typeof languages)[number]['id'];

/**
 * "View code" under a playground form (and a model card's sample): the exact request, as curl,
 * JavaScript and Python, for this server's address. The key comes from an environment variable.
 */
export function ViewCode(props: { id: string; request: SampleRequest; label?: string; note?: string }) {
  const [open, setOpen] = useState(false);
  const [lang, setLang] = useState<Language>('curl');
  const panel = `${props.id}-code`;
  const samples = open ? codeSamples(location.origin, props.request) : null;
  return (
    <div class="view-code">
      <button
        type="button"
        class="btn btn-small btn-ghost"
        aria-expanded={open}
        aria-controls={panel}
        onClick={() => setOpen(!open)}
      >
        {open ? 'Hide code' : (props.label ?? 'View code')}
      </button>
      {samples && (
        <div id={panel} class="code-panel">
          <div class="segmented" role="tablist" aria-label="Language">
            {languages.map((l) => (
              <button
                key={l.id}
                type="button"
                role="tab"
                id={`${panel}-${l.id}`}
                aria-selected={lang === l.id}
                aria-controls={`${panel}-text`}
                onClick={() => setLang(l.id)}
              >
                {l.label}
              </button>
            ))}
          </div>
          <pre class="code-block" id={`${panel}-text`} role="tabpanel" aria-labelledby={`${panel}-${lang}`}>
            {samples[lang]}
          </pre>
          <div class="code-actions">
            <CopyButton text={samples[lang]} label="Copy code" />
            <span class="hint">
              Set <code>{API_KEY_VARIABLE}</code> to one of your keys first.
              {props.note ? ` ${props.note}` : ''}
            </span>
          </div>
        </div>
      )}
    </div>
  );
}
