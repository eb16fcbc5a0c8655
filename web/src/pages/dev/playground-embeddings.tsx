import { useState } from 'preact/hooks';
import { Field } from '../../components/ui';
import { ViewCode } from '../../components/view-code';
import { ApiFailure, call } from '../../lib/api';
import { type CatalogView, choicesFor } from '../../lib/catalog';
import { value } from '../../lib/forms';
import { CallError, CallFacts, type CallMeta, metaFrom } from './call-result';

interface EmbeddingAnswer {
  model: string;
  usage: Record<string, unknown>;
  data: { index: number; embedding: number[] }[];
}

/** The vectors are unit length, so their dot product is their cosine similarity. */
function similarity(a: number[], b: number[]): number {
  return a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);
}

/** Texts in, vectors out: each vector's length and first values, and how alike the texts are. */
export function EmbeddingsPanel(props: { apiKey: string; catalog: CatalogView | null }) {
  const [model, setModel] = useState('embeddings');
  const [text, setText] = useState(
    'A cat sleeps on the sofa.\nA kitten naps on the couch.\nThe car needs new tyres.',
  );
  const [answer, setAnswer] = useState<{ lines: string[]; body: EmbeddingAnswer } | null>(null);
  const [meta, setMeta] = useState<CallMeta | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  const [busy, setBusy] = useState(false);
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const run = async () => {
    setBusy(true);
    setError(null);
    setAnswer(null);
    setMeta(null);
    try {
      const res = await call('POST', '/v1/embeddings', {
        body: { model, input: lines },
        auth: { apiKey: props.apiKey },
      });
      const json = (await res.json()) as EmbeddingAnswer;
      setAnswer({ lines, body: json });
      setMeta(metaFrom(res, json));
    } catch (err) {
      if (err instanceof ApiFailure) setError(err);
    } finally {
      setBusy(false);
    }
  };
  const vectors = answer?.body.data.map((d) => d.embedding) ?? [];
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <Field label="Model" id="embeddings-model">
        {(a) => (
          <select {...a} value={model} onChange={(e) => setModel(value(e))}>
            {choicesFor(props.catalog, 'embeddings').map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Texts, one per line" id="embeddings-input">
        {(a) => <textarea {...a} rows={4} value={text} onInput={(e) => setText(value(e))} />}
      </Field>
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled={busy || lines.length === 0}>
          {busy ? 'Embedding…' : 'Embed'}
        </button>
        <ViewCode id="embeddings" request={{ path: '/v1/embeddings', body: { model, input: lines } }} />
      </div>
      <div aria-live="polite">
        {error && <CallError error={error} />}
        {answer && (
          <>
            <ul class="result-list">
              {answer.body.data.map((d) => (
                <li key={d.index}>
                  {answer.lines[d.index]}{' '}
                  <span class="muted">
                    ({d.embedding.length} dimensions: [
                    {d.embedding
                      .slice(0, 4)
                      .map((x) => x.toFixed(3))
                      .join(', ')}
                    , …])
                  </span>
                </li>
              ))}
            </ul>
            {vectors.length > 1 && (
              <div class="table-wrap">
                <table class="table">
                  <caption>Cosine similarity (1 is the same meaning)</caption>
                  <thead>
                    <tr>
                      <th scope="col">Text</th>
                      {vectors.map((_, j) => (
                        <th key={j} scope="col">
                          {j + 1}
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {vectors.map((a, i) => (
                      <tr key={i}>
                        <th scope="row">
                          {i + 1}. {answer.lines[i]}
                        </th>
                        {vectors.map((b, j) => (
                          <td key={j}>{similarity(a, b).toFixed(2)}</td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </>
        )}
        {meta && <CallFacts meta={meta} />}
      </div>
    </form>
  );
}
