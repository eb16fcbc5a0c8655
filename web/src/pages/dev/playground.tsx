import { useEffect, useState } from 'preact/hooks';
import { PageHeader } from '../../components/ui';
import { ApiFailure } from '../../lib/api';
import { type CatalogView, loadCatalog } from '../../lib/catalog';
import { playgroundKey } from '../../lib/key-vault';
import { useStore } from '../../lib/store';
import { KeyPanel } from './key-panel';
import { ChatPanel } from './playground-chat';
import { EmbeddingsPanel } from './playground-embeddings';
import { ImagePanel } from './playground-images';
import { SentimentPanel } from './playground-sentiment';

const modes = [
  { id: 'chat', label: 'Chat' },
  { id: 'moderation', label: 'Image moderation' },
  { id: 'ocr', label: 'OCR' },
  { id: 'sentiment', label: 'Sentiment' },
  { id: 'embeddings', label: 'Embeddings' },
] as const;
type Mode = (typeof modes)[number]['id'];

export default function PlaygroundPage() {
  const held = useStore(playgroundKey);
  const [mode, setMode] = useState<Mode>('chat');
  const [catalog, setCatalog] = useState<CatalogView | null>(null);
  const [catalogError, setCatalogError] = useState<ApiFailure | null>(null);
  useEffect(() => {
    setCatalog(null);
    setCatalogError(null);
    if (!held) return;
    const ctl = new AbortController();
    loadCatalog(held.secret, ctl.signal).then(setCatalog, (err: unknown) => {
      if (err instanceof ApiFailure) setCatalogError(err);
    });
    return () => ctl.abort();
  }, [held?.secret]);

  return (
    <>
      <PageHeader
        title="Playground"
        description="Call the models with one of your keys and see exactly what the API answers: output, version served, usage and cost."
      />
      <KeyPanel />
      {held && (
        <section class="card playground" aria-label="Try a model">
          <div class="segmented" role="tablist" aria-label="Model">
            {modes.map((m, i) => (
              <button
                key={m.id}
                type="button"
                role="tab"
                id={`tab-${m.id}`}
                aria-selected={mode === m.id}
                aria-controls={`panel-${m.id}`}
                tabIndex={mode === m.id ? 0 : -1}
                onClick={() => setMode(m.id)}
                onKeyDown={(e) => {
                  const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
                  if (!step) return;
                  e.preventDefault();
                  const next = modes[(i + step + modes.length) % modes.length]!;
                  setMode(next.id);
                  document.getElementById(`tab-${next.id}`)?.focus();
                }}
              >
                {m.label}
              </button>
            ))}
          </div>
          <div role="tabpanel" id={`panel-${mode}`} aria-labelledby={`tab-${mode}`}>
            {mode === 'chat' && <ChatPanel apiKey={held.secret} catalog={catalog} />}
            {mode === 'moderation' && (
              <ImagePanel key="moderation" apiKey={held.secret} catalog={catalog} task="moderation" />
            )}
            {mode === 'ocr' && <ImagePanel key="ocr" apiKey={held.secret} catalog={catalog} task="ocr" />}
            {mode === 'sentiment' && <SentimentPanel apiKey={held.secret} catalog={catalog} />}
            {mode === 'embeddings' && <EmbeddingsPanel apiKey={held.secret} catalog={catalog} />}
          </div>
          {catalogError && (
            <p class="hint">
              The model list could not be read ({catalogError.code}): {catalogError.message}
            </p>
          )}
        </section>
      )}
    </>
  );
}
