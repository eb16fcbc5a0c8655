import { useEffect, useState } from 'preact/hooks';
import { Field } from '../../components/ui';
import { ViewCode } from '../../components/view-code';
import { ApiFailure, call } from '../../lib/api';
import { useCapabilities } from '../../lib/capabilities';
import { type CatalogView, choicesFor } from '../../lib/catalog';
import { value } from '../../lib/forms';
import { CallError, CallFacts, type CallMeta, metaFrom } from './call-result';

const TASKS = {
  moderation: { path: '/v1/images/moderations', model: 'image-moderation', verb: 'Moderate image' },
  ocr: { path: '/v1/images/ocr', model: 'ocr', verb: 'Read text' },
} as const;

interface Moderation {
  results: { flagged: boolean; category_scores: Record<string, number> }[];
}
interface Ocr {
  text: string;
  lines: { text: string; confidence: number }[];
}

/** What "View code" shows in place of the upload (its base64 would fill the page). */
const IMAGE_PLACEHOLDER = 'data:image/png;base64,<your image as base64>';

const readAsDataUrl = (file: File) =>
  new Promise<string>((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });

/** Upload an image and send it, as base64, to the moderation or OCR route. */
export function ImagePanel(props: { apiKey: string; catalog: CatalogView | null; task: keyof typeof TASKS }) {
  const task = TASKS[props.task];
  const caps = useCapabilities();
  const [model, setModel] = useState<string>(task.model);
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiFailure | null>(null);
  const [result, setResult] = useState<{ meta: CallMeta; body: Moderation | Ocr } | null>(null);
  useEffect(() => {
    if (!file) return;
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);

  const run = async () => {
    if (!file) return;
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const image = await readAsDataUrl(file);
      const res = await call('POST', task.path, { body: { model, image }, auth: { apiKey: props.apiKey } });
      const body = (await res.json()) as (Moderation | Ocr) & {
        model?: string;
        usage?: Record<string, unknown>;
      };
      setResult({ meta: metaFrom(res, body), body });
    } catch (err) {
      setError(
        err instanceof ApiFailure
          ? err
          : new ApiFailure(0, {
              message: String(err),
              type: 'client_error',
              code: 'client_error',
              param: null,
            }),
      );
    } finally {
      setBusy(false);
    }
  };
  const listed = !caps.ready || caps.has('post', task.path);
  return (
    <form
      class="image-panel"
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      {!listed && (
        <p class="notice notice-muted">
          This server does not list <code>POST {task.path}</code> yet, so a call will be refused; the answer
          below shows the API's own error.
        </p>
      )}
      <div class="grid-2">
        <div>
          <Field label="Model" id={`${props.task}-model`}>
            {(a) => (
              <select {...a} value={model} onChange={(e) => setModel(value(e))}>
                {choicesFor(props.catalog, task.model).map((id) => (
                  <option key={id} value={id}>
                    {id}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Image" id={`${props.task}-file`} hint="PNG, JPEG or WebP, up to 4 MiB.">
            {(a) => (
              <input
                {...a}
                type="file"
                accept="image/png,image/jpeg,image/webp"
                onChange={(e) => {
                  setFile((e.currentTarget as HTMLInputElement).files?.[0] ?? null);
                  setResult(null);
                  setError(null);
                }}
              />
            )}
          </Field>
          <div class="form-actions">
            <button type="submit" class="btn btn-primary" disabled={!file || busy}>
              {busy ? 'Sending…' : task.verb}
            </button>
            <ViewCode
              id={props.task}
              request={{ path: task.path, body: { model, image: IMAGE_PLACEHOLDER } }}
              note="The image goes as a data URL, base64, or an https URL; the code shows a placeholder for yours."
            />
          </div>
        </div>
        <div class="image-preview">
          {preview ? (
            <img src={preview} alt="Preview of your upload" />
          ) : (
            <span class="muted">No image chosen</span>
          )}
        </div>
      </div>
      <div aria-live="polite" data-testid="image-result">
        {error && <CallError error={error} />}
        {result && 'results' in result.body && <ModerationResult body={result.body} />}
        {result && 'lines' in result.body && <OcrResult body={result.body} />}
        {result && <CallFacts meta={result.meta} />}
      </div>
    </form>
  );
}

function ModerationResult(props: { body: Moderation }) {
  const r = props.body.results[0];
  if (!r) return null;
  return (
    <div class="result">
      <p>
        <span class={`badge badge-${r.flagged ? 'bad' : 'ok'}`}>{r.flagged ? 'Flagged' : 'Not flagged'}</span>
      </p>
      <ul class="score-list">
        {Object.entries(r.category_scores).map(([k, v]) => (
          <li key={k}>
            <span>{k}</span>
            <span class="score-bar" aria-hidden="true">
              <span style={{ width: `${Math.round(v * 100)}%` }} />
            </span>
            <span>{(v * 100).toFixed(1)}%</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function OcrResult(props: { body: Ocr }) {
  return (
    <div class="result">
      <pre class="code-block">{props.body.text || '(no text found)'}</pre>
      <p class="muted">{props.body.lines.length} line(s)</p>
    </div>
  );
}
