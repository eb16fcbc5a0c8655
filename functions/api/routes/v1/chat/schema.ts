import { z } from '@hono/zod-openapi';
import { ModelRef } from '#api/http/schemas';
import type { ChatModelRequest } from '#shared/models/chat-contract';

const TextPart = z.object({
  type: z.literal('text', { error: "only 'text' content parts are supported by chat models" }),
  text: z.string(),
});

const Message = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant'], {
      error: "must be 'system', 'developer', 'user' or 'assistant'",
    }),
    content: z.union([z.string(), z.array(TextPart).min(1, 'must not be empty')], {
      error: 'must be a string or an array of text parts',
    }),
    name: z.string().max(64).optional(),
  })
  .openapi({ example: { role: 'user', content: 'Say hello.' } });

/** One stop sequence, alone or in the array: the same bound either way, named on `stop`. */
const StopSequence = z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters');

const TokenLimit = z.number().int().min(1, 'must be at least 1').nullish();

export const ChatRequest = z
  .object({
    model: ModelRef.openapi({ example: 'chat' }),
    messages: z.array(Message).min(1, 'must not be empty').max(256, 'must have at most 256 messages'),
    max_tokens: TokenLimit.openapi({
      description: "Most tokens to generate; at most the version's limit, which is also the default.",
    }),
    max_completion_tokens: TokenLimit.openapi({
      description: 'Same as `max_tokens` (wins if both are given).',
    }),
    temperature: z.number().min(0).max(2).nullish().openapi({ description: '0 is greedy. Default 1.' }),
    top_p: z.number().gt(0).max(1).nullish(),
    stop: z
      .union([StopSequence, z.array(StopSequence).max(4, 'must have at most 4 items')], {
        error: 'must be a string or an array of up to 4 strings',
      })
      .nullish(),
    n: z.literal(1, { error: 'only 1 choice per request is supported' }).nullish(),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
    logprobs: z.literal(false, { error: 'log probabilities are not supported' }).nullish(),
    tools: z.array(z.unknown()).max(0, 'tool calls are not supported by these models').optional(),
    response_format: z.object({ type: z.literal('text', { error: "only 'text' is supported" }) }).nullish(),
    // Accepted for compatibility and not applied: the models sample with temperature and top_p only.
    presence_penalty: z.number().min(-2).max(2).nullish(),
    frequency_penalty: z.number().min(-2).max(2).nullish(),
    seed: z.number().int().nullish(),
    user: z.string().max(256).optional(),
  })
  .openapi('ChatCompletionRequest');

export type ChatRequestBody = z.infer<typeof ChatRequest>;

const Usage = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  cost_usd: z.string().openapi({ example: '0.000004150', description: 'Exact cost in USD.' }),
});

export const ChatCompletion = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion'),
    created: z.number().int(),
    model: z.string().openapi({ example: 'chat@tiny-1', description: 'The version that served it.' }),
    system_fingerprint: z.null(),
    choices: z.array(
      z.object({
        index: z.number().int(),
        message: z.object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() }),
        logprobs: z.null(),
        finish_reason: z.enum(['stop', 'length']),
      }),
    ),
    usage: Usage,
  })
  .openapi('ChatCompletion');

export type Usage = z.infer<typeof Usage>;

/** What the runtime's chat model answers, checked: garbage is the model's failure (502). */
const ModelUsage = z.object({
  input_tokens: z.number().int().nonnegative(),
  output_tokens: z.number().int().nonnegative(),
});
export const ModelAnswer = z.object({
  text: z.string(),
  finish_reason: z.enum(['stop', 'length']),
  usage: ModelUsage,
});
export const ModelStreamLine = z.union([
  z.object({ delta: z.string(), usage: ModelUsage }),
  z.object({ finish_reason: z.enum(['stop', 'length']), usage: ModelUsage }),
]);

/** The model's own contract: roles it knows, content as text. */
export function toModelRequest(
  body: ChatRequestBody,
  maxTokens: number,
  maxInputTokens?: number,
): ChatModelRequest {
  return {
    messages: body.messages.map((m) => ({
      role: m.role === 'developer' ? ('system' as const) : m.role,
      content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('\n'),
    })),
    max_tokens: maxTokens,
    temperature: body.temperature ?? 1,
    top_p: body.top_p ?? 1,
    stop: body.stop == null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop,
    ...(maxInputTokens !== undefined ? { max_input_tokens: maxInputTokens } : {}),
  };
}

/**
 * An upper bound on the prompt's tokens, known before the model runs: byte-level and BPE
 * tokenizers never make more tokens than bytes, and the JSON of the messages is longer than what
 * the chat template adds. Capped by the version's own prompt limit (longer prompts are refused).
 */
export function promptTokenBound(body: ChatRequestBody, maxInputTokens?: number): number {
  const bound = Buffer.byteLength(JSON.stringify(body.messages)) + 16;
  return maxInputTokens === undefined ? bound : Math.min(bound, maxInputTokens);
}
