import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import {
  chatAdapterOf,
  invokeModel,
  modelAnswerInvalid,
  resolveTarget,
  type Target,
} from '#api/gateway/inference';
import { settle, type WorstCase, withReservation } from '#api/gateway/limits';
import { logPrompt } from '#api/gateway/prompt-log';
import type { DataEnv } from '#api/http/env';
import { errorResponses, errorsOf, idempotencyKeyParameter, v1Ok } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { formatUsd } from '#shared/metering/pricing';
import { choiceChunk, SSE_DONE, sseEvent, usageChunk } from './chunks';
import {
  ChatCompletion,
  ChatRequest,
  type ChatRequestBody,
  ModelAnswer,
  promptTokenBound,
  toModelRequest,
} from './schema';
import { streamCompletion } from './stream';

/** A real request, its completion by SmolLM2 (`chat@smollm2-135m`), and the same completion streamed. */
const example = {
  request: {
    model: 'chat@smollm2-135m',
    messages: [
      { role: 'system', content: 'You are a concise assistant.' },
      { role: 'user', content: 'Name the three primary colors.' },
    ],
    max_tokens: 64,
    temperature: 0.7,
  },
  response: {
    id: 'req_01M97D1FGJZ4P1NNSPAFZTHVAW',
    object: 'chat.completion',
    created: 1767225600,
    model: 'chat@smollm2-135m',
    system_fingerprint: null,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Red, yellow and blue.', refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 31, completion_tokens: 7, total_tokens: 38, cost_usd: '0.000005200' },
  },
} as const satisfies { request: z.input<typeof ChatRequest>; response: z.infer<typeof ChatCompletion> };

const chunk = { id: example.response.id, created: example.response.created, model: example.response.model };
const streamExample = [
  choiceChunk(chunk, { role: 'assistant', content: '' }),
  choiceChunk(chunk, { content: 'Red, yellow' }),
  choiceChunk(chunk, { content: ' and blue.' }),
  choiceChunk(chunk, {}, 'stop'),
  usageChunk(chunk, example.response.usage),
]
  .map((c) => sseEvent(JSON.stringify(c)))
  .join('')
  .concat(SSE_DONE);

const route = createRoute({
  method: 'post',
  path: '/v1/chat/completions',
  tags: ['Chat'],
  summary: 'Create a chat completion (OpenAI-compatible)',
  description:
    "Billed per input and output token, counted by the model's own tokenizer. With `stream: true` the answer is server-sent events of `chat.completion.chunk`s ending in `data: [DONE]`; `stream_options.include_usage` adds a last chunk with the usage and its cost. A failure once the stream has started arrives as an `event: error` whose data is the error envelope. A stream the client abandons is billed for the tokens generated until then; a model failure is not billed.",
  security: [{ apiKey: ['models:invoke'] }],
  parameters: [idempotencyKeyParameter],
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: ChatRequest, example: example.request } },
    },
  },
  responses: {
    200: v1Ok(
      {
        description: 'The completion, or its chunks as server-sent events when `stream` is true',
        content: {
          'application/json': { schema: ChatCompletion, example: example.response },
          'text/event-stream': {
            schema: z.string().openapi({
              description:
                'Server-sent events: `data: <chat.completion.chunk>` lines, then `data: [DONE]`; a failure mid-stream is `event: error` with the error envelope.',
            }),
            example: streamExample,
          },
        },
      },
      { model: true, replayable: true },
    ),
    ...errorResponses(
      'v1',
      [...errorsOf.apiKey, ...errorsOf.endpointWrite, ...errorsOf.v1Body, ...errorsOf.modelCall],
      { model: true },
    ),
  },
});

/** `max_tokens` (or `max_completion_tokens`) checked against the version; the limit is the default. */
function outputLimit(body: ChatRequestBody, target: Target): number {
  const limit = target.version.limits.maxOutputTokens ?? 4_096;
  const param = body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
  const asked = body.max_completion_tokens ?? body.max_tokens;
  if (asked != null && asked > limit) {
    throw new ApiError(
      'invalid_request',
      `'${param}' is ${asked}, but ${target.served} generates at most ${limit} tokens per request.`,
      { param },
    );
  }
  return asked ?? limit;
}

/** The most a chat request can use: its prompt bound plus every token it may generate. */
function worstCase(body: ChatRequestBody, target: Target, maxTokens: number): WorstCase {
  const prompt = promptTokenBound(body, target.version.limits.maxInputTokens);
  return { tokens: prompt + maxTokens, units: { input_tokens: prompt, output_tokens: maxTokens } };
}

async function complete(c: Context<DataEnv>, body: ChatRequestBody, target: Target, maxTokens: number) {
  return withReservation(c, target, worstCase(body, target, maxTokens), async (reservation) => {
    const started = performance.now();
    const adapter = chatAdapterOf(c, target);
    const modelRequest = toModelRequest(body, maxTokens, target.version.limits.maxInputTokens);
    const raw = await invokeModel(c, target, adapter.request(modelRequest, false), {
      rejectedParam: 'messages',
    });
    const latencyMs = performance.now() - started;
    const answer = ModelAnswer.safeParse(adapter.answer(raw));
    if (!answer.success) throw modelAnswerInvalid(target, 'unexpected shape');
    const { input_tokens, output_tokens } = answer.data.usage;
    const cost = await settle(c, target, reservation, { input_tokens, output_tokens }, latencyMs);
    return c.json(
      {
        id: c.get('requestId'),
        object: 'chat.completion' as const,
        created: Math.floor(c.get('deps').now().getTime() / 1000),
        model: target.served,
        system_fingerprint: null,
        choices: [
          {
            index: 0,
            message: { role: 'assistant' as const, content: answer.data.text, refusal: null },
            logprobs: null,
            finish_reason: answer.data.finish_reason,
          },
        ],
        usage: {
          prompt_tokens: input_tokens,
          completion_tokens: output_tokens,
          total_tokens: input_tokens + output_tokens,
          cost_usd: formatUsd(cost),
        },
      },
      200,
    );
  });
}

export function registerChatCompletions(app: OpenAPIHono<DataEnv>): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    if (body.stream_options != null && body.stream !== true) {
      throw new ApiError('invalid_request', "'stream_options' is only allowed when 'stream' is true.", {
        param: 'stream_options',
      });
    }
    const target = await resolveTarget(c, body.model, 'chat');
    logPrompt(
      c,
      body.messages.map((m) =>
        typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
      ),
    );
    const maxTokens = outputLimit(body, target);
    if (body.stream === true)
      return streamCompletion(c, body, target, maxTokens, worstCase(body, target, maxTokens));
    return complete(c, body, target, maxTokens);
  });
}
