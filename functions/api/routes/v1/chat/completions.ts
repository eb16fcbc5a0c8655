import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ApiError } from '../../../../../shared/errors';
import { formatUsd } from '../../../../../shared/metering/pricing';
import type { AppEnv } from '../../../env';
import { invokeModel, modelAnswerInvalid, resolveTarget, type Target } from '../../../inference';
import { settle, type WorstCase, withReservation } from '../../../limits';
import { logPrompt } from '../../../prompt-log';
import { ErrorSchema, errorResponses, modelErrorResponses } from '../../../schemas';
import {
  ChatCompletion,
  ChatRequest,
  type ChatRequestBody,
  ModelAnswer,
  promptTokenBound,
  toModelRequest,
} from './schema';
import { streamCompletion } from './stream';

const route = createRoute({
  method: 'post',
  path: '/v1/chat/completions',
  tags: ['Chat'],
  summary: 'Create a chat completion (OpenAI-compatible)',
  description:
    "Billed per input and output token, counted by the model's own tokenizer. With `stream: true` the answer is server-sent events of `chat.completion.chunk`s ending in `data: [DONE]`; `stream_options.include_usage` adds a last chunk with the usage and its cost. A stream the client abandons is billed for the tokens generated until then; a model failure is not billed.",
  security: [{ apiKey: [] }],
  request: { body: { required: true, content: { 'application/json': { schema: ChatRequest } } } },
  responses: {
    200: {
      description: 'The completion, or its chunks as server-sent events when `stream` is true',
      content: {
        'application/json': { schema: ChatCompletion },
        'text/event-stream': {
          schema: z
            .string()
            .openapi({ example: 'data: {"object":"chat.completion.chunk",...}\n\ndata: [DONE]\n\n' }),
        },
      },
    },
    ...errorResponses,
    ...modelErrorResponses,
    404: { description: 'Not found', content: { 'application/json': { schema: ErrorSchema } } },
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

async function complete(c: Context<AppEnv>, body: ChatRequestBody, target: Target, maxTokens: number) {
  return withReservation(c, target, worstCase(body, target, maxTokens), async (reservation) => {
    const started = performance.now();
    const modelRequest = toModelRequest(body, maxTokens, target.version.limits.maxInputTokens);
    const raw = await invokeModel(c, target, modelRequest, { rejectedParam: 'messages' });
    const latencyMs = performance.now() - started;
    const answer = ModelAnswer.safeParse(raw);
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

export function registerChatCompletions(app: OpenAPIHono<AppEnv>): void {
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
