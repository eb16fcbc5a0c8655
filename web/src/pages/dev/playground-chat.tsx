import { useRef, useState } from 'preact/hooks';
import { Field } from '../../components/ui';
import { ViewCode } from '../../components/view-code';
import { ApiFailure, call } from '../../lib/api';
import { type CatalogView, choicesFor } from '../../lib/catalog';
import { value } from '../../lib/forms';
import { CallError, CallFacts, type CallMeta, metaFrom } from './call-result';
import { readSse } from './sse';

interface Message {
  role: 'user' | 'assistant';
  content: string;
}

export function ChatPanel(props: { apiKey: string; catalog: CatalogView | null }) {
  const [model, setModel] = useState('chat');
  const [system, setSystem] = useState('');
  const [input, setInput] = useState('');
  const [maxTokens, setMaxTokens] = useState('48');
  const [temperature, setTemperature] = useState('0.7');
  const [stream, setStream] = useState(true);
  const [history, setHistory] = useState<Message[]>([]);
  const [partial, setPartial] = useState<string | null>(null);
  const [meta, setMeta] = useState<CallMeta | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  const [status, setStatus] = useState('');
  const abort = useRef<AbortController | null>(null);
  const busy = partial !== null;

  /** What Send posts with these messages: the same body for the call and for "View code". */
  const bodyFor = (messages: Message[]) => ({
    model,
    messages: [...(system.trim() ? [{ role: 'system', content: system.trim() }] : []), ...messages],
    max_tokens: Number(maxTokens) || undefined,
    temperature: Number(temperature),
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });

  const send = async () => {
    const text = input.trim();
    if (!text || busy) return;
    const messages: Message[] = [...history, { role: 'user', content: text }];
    setHistory(messages);
    setInput('');
    setError(null);
    setMeta(null);
    setPartial('');
    setStatus('Waiting for the model…');
    const ctl = new AbortController();
    abort.current = ctl;
    const body = bodyFor(messages);
    let answer = '';
    try {
      const res = await call('POST', '/v1/chat/completions', {
        body,
        auth: { apiKey: props.apiKey },
        signal: ctl.signal,
      });
      if (stream && res.body) {
        let last: CallMeta = metaFrom(res);
        for await (const chunk of readSse(res.body)) {
          const delta = (chunk.choices as { delta?: { content?: string } }[] | undefined)?.[0]?.delta
            ?.content;
          if (delta) {
            answer += delta;
            setPartial(answer);
          }
          if (typeof chunk.model === 'string') last = { ...last, model: chunk.model };
          if (chunk.usage) last = { ...last, usage: chunk.usage as Record<string, unknown> };
        }
        setMeta(last);
      } else {
        const json = (await res.json()) as {
          model: string;
          usage: Record<string, unknown>;
          choices: { message: { content: string } }[];
        };
        answer = json.choices[0]?.message.content ?? '';
        setMeta(metaFrom(res, json));
      }
      setHistory([...messages, { role: 'assistant', content: answer }]);
      setStatus('Answer complete.');
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') {
        if (answer) setHistory([...messages, { role: 'assistant', content: `${answer} [stopped]` }]);
        setStatus('Stopped.');
      } else {
        if (answer) setHistory([...messages, { role: 'assistant', content: answer }]);
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
        setStatus('The call failed.');
      }
    } finally {
      setPartial(null);
      abort.current = null;
    }
  };

  return (
    <div class="chat">
      <div class="grid-4 chat-settings">
        <Field label="Model" id="chat-model">
          {(a) => (
            <select {...a} value={model} onChange={(e) => setModel(value(e))}>
              {choicesFor(props.catalog, 'chat').map((id) => (
                <option key={id} value={id}>
                  {id}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Max tokens" id="chat-max">
          {(a) => (
            <input
              {...a}
              type="number"
              min={1}
              max={2048}
              value={maxTokens}
              onInput={(e) => setMaxTokens(value(e))}
            />
          )}
        </Field>
        <Field label="Temperature" id="chat-temp">
          {(a) => (
            <input
              {...a}
              type="number"
              min={0}
              max={2}
              step="0.1"
              value={temperature}
              onInput={(e) => setTemperature(value(e))}
            />
          )}
        </Field>
        <div class="field field-check">
          <label>
            <input
              type="checkbox"
              checked={stream}
              onChange={(e) => setStream((e.currentTarget as HTMLInputElement).checked)}
            />{' '}
            Stream tokens
          </label>
        </div>
      </div>
      <Field label="System prompt (optional)" id="chat-system">
        {(a) => (
          <input
            {...a}
            value={system}
            onInput={(e) => setSystem(value(e))}
            placeholder="You are a helpful assistant."
          />
        )}
      </Field>
      <div class="transcript" role="log" aria-label="Conversation" aria-busy={busy}>
        {history.length === 0 && !busy && (
          <p class="muted">Send a message to start. The conversation stays in this page.</p>
        )}
        {history.map((m, i) => (
          <div key={i} class={`bubble bubble-${m.role}`}>
            <span class="bubble-role">{m.role === 'user' ? 'You' : 'Model'}</span>
            <p>{m.content}</p>
          </div>
        ))}
        {busy && (
          <div class="bubble bubble-assistant bubble-live" data-testid="chat-streaming">
            <span class="bubble-role">Model</span>
            <p>{partial || <span class="spinner" aria-hidden="true" />}</p>
          </div>
        )}
      </div>
      <p class="visually-hidden" role="status" aria-live="polite">
        {status}
      </p>
      {error && <CallError error={error} />}
      {meta && <CallFacts meta={meta} />}
      <form
        class="chat-input"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <label for="chat-message" class="visually-hidden">
          Message
        </label>
        <textarea
          id="chat-message"
          rows={2}
          value={input}
          placeholder="Ask something… (Enter to send, Shift+Enter for a new line)"
          onInput={(e) => setInput(value(e))}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              void send();
            }
          }}
        />
        <div class="chat-buttons">
          {busy ? (
            <button type="button" class="btn" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          ) : (
            <button type="submit" class="btn btn-primary" disabled={!input.trim()}>
              Send
            </button>
          )}
          <ViewCode
            id="chat"
            request={{
              path: '/v1/chat/completions',
              body: JSON.parse(
                JSON.stringify(bodyFor([...history, { role: 'user', content: input.trim() || 'Hello!' }])),
              ),
            }}
            note={input.trim() ? undefined : 'The message is an example until you type one.'}
          />
          {history.length > 0 && !busy && (
            <button
              type="button"
              class="btn btn-ghost"
              onClick={() => {
                setHistory([]);
                setMeta(null);
                setError(null);
              }}
            >
              Clear
            </button>
          )}
        </div>
      </form>
    </div>
  );
}
