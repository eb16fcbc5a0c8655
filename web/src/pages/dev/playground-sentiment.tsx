import { useState } from 'preact/hooks';
import { Field } from '../../components/ui';
import { ViewCode } from '../../components/view-code';
import { ApiFailure, call } from '../../lib/api';
import { type CatalogView, choicesFor } from '../../lib/catalog';
import { capitalize, fmtScore } from '../../lib/format';
import { value } from '../../lib/forms';
import { CallError, CallFacts, type CallMeta, metaFrom } from './call-result';

interface SentimentAnswer {
  model: string;
  usage: Record<string, unknown>;
  data: { index: number; label: string; score: number }[];
}

export function SentimentPanel(props: { apiKey: string; catalog: CatalogView | null }) {
  const [model, setModel] = useState('sentiment');
  const [text, setText] = useState('I love this console.\nThe delivery was not good.');
  const [answer, setAnswer] = useState<SentimentAnswer | null>(null);
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
      const res = await call('POST', '/v1/text/sentiment', {
        body: { model, input: lines },
        auth: { apiKey: props.apiKey },
      });
      const json = (await res.json()) as SentimentAnswer;
      setAnswer(json);
      setMeta(metaFrom(res, json));
    } catch (err) {
      if (err instanceof ApiFailure) setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <Field label="Model" id="sentiment-model">
        {(a) => (
          <select {...a} value={model} onChange={(e) => setModel(value(e))}>
            {choicesFor(props.catalog, 'sentiment').map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Sentences, one per line" id="sentiment-input">
        {(a) => <textarea {...a} rows={4} value={text} onInput={(e) => setText(value(e))} />}
      </Field>
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled={busy || lines.length === 0}>
          {busy ? 'Analysing…' : 'Analyse'}
        </button>
        <ViewCode id="sentiment" request={{ path: '/v1/text/sentiment', body: { model, input: lines } }} />
      </div>
      <div aria-live="polite">
        {error && <CallError error={error} />}
        {answer && (
          <ul class="result-list">
            {answer.data.map((d) => (
              <li key={d.index}>
                <span
                  class={`badge badge-${d.label === 'positive' ? 'ok' : d.label === 'negative' ? 'bad' : 'muted'}`}
                >
                  {capitalize(d.label)}
                </span>{' '}
                {lines[d.index]} <span class="muted">({fmtScore(d.score)})</span>
              </li>
            ))}
          </ul>
        )}
        {meta && <CallFacts meta={meta} />}
      </div>
    </form>
  );
}
