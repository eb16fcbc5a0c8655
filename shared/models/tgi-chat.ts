import type { ChatAdapter, ChatModelRequest } from './chat-contract';
import { ModelStreamFailure } from './model-client';

/**
 * Hugging Face Text Generation Inference's Messages API (MESSAGES_API_ENABLED=true) behind
 * SageMaker, as the gateway speaks it. What this relies on, from TGI's router (v3.0.1, the tag
 * `shared/catalog/deployment.ts` pins, and main):
 *
 * - `/invocations` takes a `SagemakerRequest`, an untagged union of generate, chat and completion
 *   bodies; a body with `messages` is a `ChatRequest` (router/src/sagemaker.rs, lib.rs): `model`
 *   (`"tgi"` means the served model), `messages`, `max_tokens`, `temperature` (0 is greedy),
 *   `top_p` (must be > 0 and < 1: 1 is sent as absent), `stop` (up to 4), `stream`,
 *   `stream_options.include_usage`.
 * - The answer is a `chat.completion`: `choices[0].message.content`, `choices[0].finish_reason`
 *   (`length`, `stop` for the end-of-sequence token, `stop_sequence`: `FinishReason::format(true)`),
 *   `usage.{prompt_tokens, completion_tokens}` (`ChatCompletion::new`, lib.rs).
 * - The stream is server-sent events, `data: <chat.completion.chunk>` then `data: [DONE]`
 *   (server.rs `chat_completions`). Every chunk is one generated token (`generate_stream_internal`
 *   yields one `StreamResponse` per token; a special token, such as the end of turn, has `""` as
 *   its content). The last token's chunk has the `finish_reason`. With `include_usage` the usage
 *   comes once, at the end: on that last chunk in v3.0.1 (`create_event_from_stream_token`), in a
 *   chunk of its own with `choices: []` from v3.1 (chat.rs `ChatState::push`); both are read.
 * - A failure inside a stream, a prompt over MAX_INPUT_TOKENS included (validation runs inside the
 *   stream, after the 200), is an event `data: {"error": {"message": "...", "http_status_code":
 *   422}}` followed by `[DONE]` (infer/mod.rs `into_openai_event`, always 422): an
 *   `Input validation error: ...` before any token is the caller's 400, anything else the model's
 *   failure. Unstreamed, the same refusal is a 422 `{"error", "error_type": "validation"}`, which
 *   SageMaker wraps as a 424 ModelError (sagemaker-client.ts maps it).
 * - SageMaker's `InvokeEndpointWithResponseStream` hands the container's bytes on as `PayloadPart`s
 *   whose boundaries carry no meaning: an event, a line, a UTF-8 character may be split anywhere
 *   (AWS, "Elevating the generative AI experience: introducing streaming support in Amazon
 *   SageMaker hosting", and its `LineIterator`). So bytes are buffered up to each line end.
 */

type Finish = 'stop' | 'length';

const FINISH: Record<string, Finish> = {
  length: 'length',
  stop: 'stop',
  eos_token: 'stop',
  stop_sequence: 'stop',
};

/** Input validation errors are TGI's `InferError::ValidationError` ("Input validation error: {0}"). */
const VALIDATION = /^Input validation error\b/;

function finishOf(value: unknown): Finish | undefined {
  return typeof value === 'string' ? (FINISH[value] ?? 'stop') : undefined;
}

interface TgiUsage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
}

function usageOf(usage: TgiUsage | null | undefined) {
  if (usage == null || typeof usage !== 'object') return undefined;
  return { input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens };
}

function request(req: ChatModelRequest, stream: boolean) {
  return {
    model: 'tgi',
    messages: req.messages,
    max_tokens: req.max_tokens,
    temperature: req.temperature,
    ...(req.top_p < 1 ? { top_p: req.top_p } : {}),
    ...(req.stop.length > 0 ? { stop: req.stop } : {}),
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
  };
}

function answer(raw: unknown): unknown {
  const body = raw as {
    choices?: { message?: { content?: unknown }; finish_reason?: unknown }[];
    usage?: TgiUsage;
  } | null;
  const choice = Array.isArray(body?.choices) ? body.choices[0] : undefined;
  return {
    text: choice?.message?.content,
    finish_reason: finishOf(choice?.finish_reason),
    usage: usageOf(body?.usage),
  };
}

type Chunk = {
  choices?: { delta?: { content?: unknown }; finish_reason?: unknown }[];
  usage?: TgiUsage | null;
  error?: unknown;
};

function errorMessage(error: unknown): string {
  if (typeof error === 'string') return error;
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : JSON.stringify(error);
}

/**
 * The SSE `data` of each event, from bytes split anywhere. TGI writes one `data:` line per event;
 * a multi-line `data` is joined with `\n` as SSE says; comments (`:` keep-alives) and other
 * fields are skipped; a line may end in `\r\n`.
 */
async function* sseData(stream: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string | undefined;
  const take = (rawLine: string): string | undefined => {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line === '') {
      const event = data;
      data = undefined;
      return event;
    }
    if (line.startsWith('data:')) {
      const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      data = data === undefined ? value : `${data}\n${value}`;
    }
    return undefined;
  };
  for await (const part of stream) {
    buffer += decoder.decode(part, { stream: true });
    let start = 0;
    let newline = buffer.indexOf('\n');
    while (newline !== -1) {
      const event = take(buffer.slice(start, newline));
      if (event !== undefined) yield event;
      start = newline + 1;
      newline = buffer.indexOf('\n', start);
    }
    buffer = start === 0 ? buffer : buffer.slice(start);
  }
  buffer += decoder.decode();
  // An event the stream ended in without its blank line still counts.
  if (buffer !== '') take(buffer);
  const event = take('');
  if (event !== undefined) yield event;
}

/**
 * TGI's chunks as the platform's stream lines. Each chunk with a choice is one token: the output
 * so far is counted here (exact, since TGI sends every token, special ones as `""`). TGI says the
 * prompt's tokens only with the usage at the end, so until then lines report `promptTokenBound`
 * (what the gateway admitted: never below the real count); the last line carries TGI's own usage,
 * which is what is billed when the stream ends. A stream that ends without usage is a failure.
 */
async function* lines(stream: AsyncIterable<Uint8Array>, promptTokenBound: number): AsyncGenerator<unknown> {
  let tokens = 0;
  let finish: Finish | undefined;
  let exact: ReturnType<typeof usageOf>;
  for await (const data of sseData(stream)) {
    if (data === '[DONE]') break;
    let chunk: Chunk;
    try {
      chunk = JSON.parse(data) as Chunk;
    } catch {
      throw new ModelStreamFailure('model_error', 'the model streamed an event that is not JSON');
    }
    if (chunk.error !== undefined) {
      const message = errorMessage(chunk.error);
      throw new ModelStreamFailure(
        tokens === 0 && VALIDATION.test(message) ? 'rejected' : 'model_error',
        message,
      );
    }
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    const usage = usageOf(chunk.usage);
    exact = usage ?? exact;
    if (choice) {
      tokens++;
      const content = choice.delta?.content;
      yield {
        delta: typeof content === 'string' ? content : '',
        usage: usage ?? { input_tokens: promptTokenBound, output_tokens: tokens },
      };
      finish ??= finishOf(choice.finish_reason);
    }
    if (exact && finish) {
      yield { finish_reason: finish, usage: exact };
      return;
    }
  }
  if (finish) throw new ModelStreamFailure('model_error', 'the model ended its stream without its usage');
  if (tokens > 0)
    throw new ModelStreamFailure('model_error', 'the model ended its stream without a finish reason');
}

/** The gateway's side of TGI's Messages API. */
export const tgiMessagesAdapter: ChatAdapter = { request, answer, lines };
