import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { invokeModel, modelAnswerInvalid, resolveTarget } from '#api/gateway/inference';
import { recordAhead, withReservation } from '#api/gateway/limits';
import { logPrompt } from '#api/gateway/prompt-log';
import type { DataEnv } from '#api/http/env';
import { ModelRef } from '#api/http/schemas';
import { errorResponses, errorsOf, idempotencyKeyParameter, v1Ok } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { formatUsd } from '#shared/metering/pricing';
import { countTextTokens } from '#shared/metering/text-tokens';

const Text = z.string().min(1, 'must not be empty').max(32_000, 'must be at most 32000 characters');

export const SentimentRequest = z
  .object({
    model: ModelRef,
    input: z
      .union([Text, z.array(Text).min(1, 'must not be empty').max(64, 'must have at most 64 items')])
      .openapi({
        description: 'A text, or up to 64 texts, to classify.',
        example: 'I love how fast this is.',
      }),
  })
  .openapi('SentimentRequest');

const SentimentResponse = z
  .object({
    id: z.string().openapi({ example: 'req_01JD0000000000000000000000' }),
    object: z.literal('list'),
    model: z
      .string()
      .openapi({ example: 'sentiment@v1', description: 'The version that served the request.' }),
    data: z.array(
      z.object({
        object: z.literal('sentiment'),
        index: z.number().int(),
        label: z.enum(['positive', 'negative', 'neutral']),
        score: z.number().openapi({ description: 'From -1 (negative) to 1 (positive).' }),
        tokens: z.number().int(),
      }),
    ),
    usage: z.object({
      input_tokens: z.number().int(),
      total_tokens: z.number().int(),
      cost_usd: z.string().openapi({ example: '0.000000500', description: 'Exact cost in USD.' }),
    }),
  })
  .openapi('SentimentResponse');

/** What the runtime's sentiment model answers (its contract, checked: garbage is a 502). */
const ModelAnswer = z.object({
  results: z.array(
    z.object({
      label: z.enum(['positive', 'negative', 'neutral']),
      score: z.number().finite(),
      tokens: z.number().int().nonnegative(),
    }),
  ),
  usage: z.object({ input_tokens: z.number().int().nonnegative() }),
});

/** A real answer of the local sentiment model (wink) to two texts. */
const example = {
  request: { model: 'sentiment', input: ['I love how fast this is.', 'The setup was confusing and slow.'] },
  response: {
    id: 'req_01M97D1FGJZ4P1NNSPAFZTHVAW',
    object: 'list',
    model: 'sentiment@v1',
    data: [
      { object: 'sentiment', index: 0, label: 'positive', score: 0.37, tokens: 7 },
      { object: 'sentiment', index: 1, label: 'negative', score: -0.437, tokens: 7 },
    ],
    usage: { input_tokens: 14, total_tokens: 14, cost_usd: '0.000001400' },
  },
} as const satisfies {
  request: z.input<typeof SentimentRequest>;
  response: z.infer<typeof SentimentResponse>;
};

const route = createRoute({
  method: 'post',
  path: '/v1/text/sentiment',
  tags: ['Text'],
  summary: 'Classify the sentiment of texts',
  description:
    "Billed per input token, counted by the platform's text token rule: each run of letters, marks and digits is one token, and so is each other character that is not whitespace.",
  security: [{ apiKey: ['models:invoke'] }],
  parameters: [idempotencyKeyParameter],
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: SentimentRequest, example: example.request } },
    },
  },
  responses: {
    200: v1Ok(
      {
        description: 'One result per input, in order',
        content: { 'application/json': { schema: SentimentResponse, example: example.response } },
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

/** Each text's billed tokens (`countTextTokens`); a text of whitespace only has none, and is refused. */
function tokensOf(inputs: string[], single: boolean): number[] {
  return inputs.map((text, i) => {
    const n = countTextTokens(text);
    if (n === 0)
      throw new ApiError('invalid_request', 'must contain text, not only whitespace', {
        param: single ? 'input' : `input[${i}]`,
      });
    return n;
  });
}

export function registerSentiment(app: OpenAPIHono<DataEnv>): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    const target = await resolveTarget(c, body.model, 'text-sentiment');
    logPrompt(c, inputs);
    // Billed by the platform's text token rule, counted here before the model runs (the model
    // reports the same count, checked), so the usage record is written while the model runs.
    const tokens = tokensOf(inputs, typeof body.input === 'string');
    const inputTokens = tokens.reduce((sum, n) => sum + n, 0);
    // The rule makes at most one token per character: the characters bound the tokens.
    const bound = inputs.reduce((sum, text) => sum + text.length, 0);
    return withReservation(
      c,
      target,
      { tokens: bound, units: { input_tokens: bound } },
      async (admission) => {
        const served = await recordAhead(c, target, admission, { input_tokens: inputTokens }, async () => {
          const raw = await invokeModel(c, target, { inputs });
          const answer = ModelAnswer.safeParse(raw);
          if (!answer.success) throw modelAnswerInvalid(target, 'unexpected shape');
          if (answer.data.results.length !== inputs.length)
            throw modelAnswerInvalid(target, 'wrong number of results');
          // The model counts by the same rule: a different count is a model that is not what
          // the gateway bills for.
          if (
            answer.data.usage.input_tokens !== inputTokens ||
            answer.data.results.some((r, i) => r.tokens !== tokens[i])
          )
            throw modelAnswerInvalid(
              target,
              `it counted ${answer.data.usage.input_tokens} input tokens, the billing rule ${inputTokens}`,
            );
          return answer.data;
        });
        return c.json(
          {
            id: c.get('requestId'),
            object: 'list' as const,
            model: target.served,
            data: served.value.results.map((r, index) => ({ object: 'sentiment' as const, index, ...r })),
            usage: {
              input_tokens: inputTokens,
              total_tokens: inputTokens,
              cost_usd: formatUsd(served.costNanoUsd),
            },
          },
          200,
        );
      },
    );
  });
}
