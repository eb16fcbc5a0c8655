import { z } from 'zod';
import { jsonLines } from '../../../shared/models/json-lines';
import { type ModelHandler, ModelInputError, ModelStatusError } from '../model-handler';
import type { ChatAnswer, ChatRequest, ChatStreamLine, ChatUsage, FinishReason } from './chat-protocol';

/**
 * A chat model served in Hugging Face TGI's wire format (its Messages API on `/invocations`, as
 * the `huggingface-pytorch-tgi-inference` container serves it with MESSAGES_API_ENABLED), for the
 * versions whose container in AWS is TGI (`chatWireOf`, shared/catalog/chat-wire.ts). The model
 * underneath is the runtime's own chat model; only the request, the answer, the stream and the
 * errors are TGI's (router/src/lib.rs and server.rs at v3.0.1, the pinned image), so the gateway's
 * adapter (shared/models/tgi-chat.ts) is tested end to end against the format it meets in AWS:
 *
 * - a `chat.completion` with `id: ""`, the hub model id as `model` (TGI's `info.model_id` when
 *   the request says `"tgi"`), `usage.{prompt_tokens, completion_tokens, total_tokens}`;
 * - a stream of `data: <chat.completion.chunk>` events, one per generated token (a token that adds
 *   no text, such as the end of turn or the start of a character, has `""` as its content), the
 *   last one with `finish_reason` and, with `stream_options.include_usage`, the usage; then
 *   `data: [DONE]`;
 * - a request TGI refuses before generating (a prompt over the version's prompt limit, TGI's
 *   MAX_INPUT_TOKENS) is a 422 `{"error": "Input validation error: ...", "error_type":
 *   "validation"}` unstreamed and, streamed, an event `{"error": {"message", "http_status_code":
 *   422}}` inside the 200 (TGI validates inside the stream), then `[DONE]`; a failure after the
 *   first token is the same event.
 *
 * Where this differs from TGI: `stop_sequence` is reported as `stop` (the model underneath does not
 * tell the two apart) and a stop sequence's text is not streamed; the stream answers only
 * `InvokeEndpointWithResponseStream` with `stream: true`, and `InvokeEndpoint` only `stream: false`.
 */

/** TGI's `system_fingerprint`: `<version>-<docker label or "native">`. */
const FINGERPRINT = '3.0.1-native';
/** TGI's default `max_new_tokens` when a request names none (validation.rs DEFAULT_GENERATION_LENGTH). */
const DEFAULT_MAX_TOKENS = 1_024;

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const Request = z.object({
  model: z.string().nullish(),
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'user', 'assistant']),
        content: z.union([z.string(), z.array(TextPart)]),
      }),
    )
    .min(1),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  stop: z.array(z.string()).nullish(),
  stream: z.boolean().default(false),
  stream_options: z.object({ include_usage: z.boolean() }).nullish(),
});
type TgiRequest = z.infer<typeof Request>;

const encoder = new TextEncoder();

/** TGI's 422 (`ErrorResponse`), as its router answers a request it will not run. */
function validationError(message: string): ModelStatusError {
  return new ModelStatusError(
    422,
    JSON.stringify({ error: `Input validation error: ${message}`, error_type: 'validation' }),
  );
}

/** The body as TGI reads it, with the checks its validation makes; the model's own request. */
function parse(body: Buffer, maxInputTokens: number | undefined): { tgi: TgiRequest; request: ChatRequest } {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ModelStatusError(
      422,
      JSON.stringify({ error: 'Failed to parse the request body as JSON', error_type: 'validation' }),
    );
  }
  const parsed = Request.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join('.') || 'body';
    throw new ModelStatusError(
      422,
      JSON.stringify({
        error: `Failed to deserialize the JSON body: ${path}: ${issue?.message}`,
        error_type: 'validation',
      }),
    );
  }
  const tgi = parsed.data;
  // validation.rs: the same words TGI uses.
  if (tgi.temperature != null && tgi.temperature < 0)
    throw validationError('`temperature` must be strictly positive');
  if (tgi.top_p != null && (tgi.top_p <= 0 || tgi.top_p >= 1))
    throw validationError('`top_p` must be > 0.0 and < 1.0');
  const stop = tgi.stop ?? [];
  if (stop.length > 4)
    throw validationError(`\`stop\` supports up to 4 stop sequences. Given: ${stop.length}`);
  const request: ChatRequest = {
    messages: tgi.messages.map((m) => ({
      role: m.role,
      content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
    })),
    max_tokens: tgi.max_tokens ?? DEFAULT_MAX_TOKENS,
    temperature: tgi.temperature ?? 1,
    top_p: tgi.top_p ?? 1,
    stop: stop.filter((s) => s !== ''),
    ...(maxInputTokens !== undefined ? { max_input_tokens: maxInputTokens } : {}),
  };
  return { tgi, request };
}

const usageOf = (u: ChatUsage) => ({
  prompt_tokens: u.input_tokens,
  completion_tokens: u.output_tokens,
  total_tokens: u.input_tokens + u.output_tokens,
});

const created = () => Math.floor(Date.now() / 1000);

/** One SSE event, as axum's `Event::json_data` writes it. */
const event = (data: unknown) => encoder.encode(`data: ${JSON.stringify(data)}\n\n`);
const DONE = encoder.encode('data: [DONE]\n\n');

export function tgiMessagesHandler(
  inner: ModelHandler,
  opts: { modelId: string; maxInputTokens?: number },
): ModelHandler {
  const modelOf = (tgi: TgiRequest) => (tgi.model == null || tgi.model === 'tgi' ? opts.modelId : tgi.model);
  const chunk = (
    model: string,
    content: string,
    finish: FinishReason | null = null,
    usage: ChatUsage | null = null,
  ) =>
    event({
      object: 'chat.completion.chunk',
      id: '',
      created: created(),
      model,
      system_fingerprint: FINGERPRINT,
      choices: [{ index: 0, delta: { role: 'assistant', content }, logprobs: null, finish_reason: finish }],
      usage: usage && usageOf(usage),
    });
  const errorEvent = (message: string) => event({ error: { message, http_status_code: 422 } });
  const internal = (request: ChatRequest) => Buffer.from(JSON.stringify(request));

  return {
    name: `tgi:${inner.name}`,
    load: () => inner.load(),
    unavailable: inner.unavailable && (() => inner.unavailable?.()),
    readiness: inner.readiness && (() => inner.readiness?.() ?? { state: 'ready' }),
    close: inner.close && (() => inner.close?.() ?? Promise.resolve()),
    injectCrash: inner.injectCrash && (() => inner.injectCrash?.()),
    activity: inner.activity && (() => inner.activity?.() ?? {}),

    async invoke(body, _contentType, signal) {
      const { tgi, request } = parse(body, opts.maxInputTokens);
      if (tgi.stream)
        throw validationError('this runtime streams through InvokeEndpointWithResponseStream only');
      let answer: ChatAnswer;
      try {
        answer = (await inner.invoke(internal(request), 'application/json', signal)) as ChatAnswer;
      } catch (error) {
        if (error instanceof ModelInputError) throw validationError(error.message);
        throw error;
      }
      return {
        object: 'chat.completion',
        id: '',
        created: created(),
        model: modelOf(tgi),
        system_fingerprint: FINGERPRINT,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: answer.text },
            logprobs: null,
            finish_reason: answer.finish_reason,
          },
        ],
        usage: usageOf(answer.usage),
      };
    },

    async *invokeStream(body, _contentType, signal) {
      const { tgi, request } = parse(body, opts.maxInputTokens);
      if (!tgi.stream) throw validationError('InvokeEndpointWithResponseStream needs `stream: true`');
      const stream = inner.invokeStream;
      if (!stream) throw new Error(`${inner.name} does not stream`);
      const model = modelOf(tgi);
      const includeUsage = tgi.stream_options?.include_usage === true;
      // One chunk per token. The model underneath reports text per step with the tokens so far,
      // so tokens that added no text become `""` chunks; the last chunk is held back until it is
      // known whether it ends the answer (the finish reason and usage ride on it).
      let tokens = 0;
      let held: string | undefined;
      try {
        for await (const value of jsonLines(
          stream.call(inner, internal(request), 'application/json', signal),
        )) {
          const line = value as ChatStreamLine;
          const upTo = line.usage.output_tokens;
          if ('delta' in line && upTo <= tokens) {
            // Text released with no new token (a held-back tail at the end): it joins the last one.
            held = (held ?? '') + line.delta;
            continue;
          }
          while (tokens < upTo) {
            if (held !== undefined) yield chunk(model, held);
            tokens++;
            held = tokens === upTo && 'delta' in line ? line.delta : '';
          }
          if ('finish_reason' in line) {
            yield chunk(model, held ?? '', line.finish_reason, includeUsage ? line.usage : null);
            yield DONE;
            return;
          }
        }
      } catch (error) {
        if (signal.aborted) throw error;
        // Before any token: a refused prompt is TGI's validation event; anything else stays the
        // runtime's own HTTP error (not installed, loading), as SageMaker answers before a container.
        if (held === undefined && !(error instanceof ModelInputError)) throw error;
        if (held !== undefined) yield chunk(model, held);
        const message = error instanceof Error ? error.message : String(error);
        yield errorEvent(
          held === undefined
            ? `Input validation error: ${message}`
            : `Request failed during generation: ${message}`,
        );
        yield DONE;
        return;
      }
      throw new Error('the model ended without a finish reason');
    },
  };
}
