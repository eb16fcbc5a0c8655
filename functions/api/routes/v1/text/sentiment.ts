import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { formatUsd } from '../../../../../shared/metering/pricing';
import type { AppEnv } from '../../../env';
import { invokeModel, modelAnswerInvalid, resolveTarget } from '../../../inference';
import { settle, withReservation } from '../../../limits';
import { logPrompt } from '../../../prompt-log';
import { ErrorSchema, errorResponses, ModelRef, modelErrorResponses } from '../../../schemas';

const Text = z.string().min(1, 'must not be empty').max(32_000, 'must be at most 32000 characters');

const SentimentRequest = z
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

const route = createRoute({
  method: 'post',
  path: '/v1/text/sentiment',
  tags: ['Text'],
  summary: 'Classify the sentiment of texts',
  description: 'Billed per input token.',
  security: [{ apiKey: [] }],
  request: { body: { required: true, content: { 'application/json': { schema: SentimentRequest } } } },
  responses: {
    200: {
      description: 'One result per input, in order',
      content: { 'application/json': { schema: SentimentResponse } },
    },
    ...errorResponses,
    ...modelErrorResponses,
    404: { description: 'Not found', content: { 'application/json': { schema: ErrorSchema } } },
  },
});

export function registerSentiment(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    const target = await resolveTarget(c, body.model, 'text-sentiment');
    logPrompt(c, inputs);
    // wink makes at most one token per character: the characters bound the tokens before the model runs.
    const bound = inputs.reduce((sum, text) => sum + text.length, 0);
    return withReservation(
      c,
      target,
      { tokens: bound, units: { input_tokens: bound } },
      async (reservation) => {
        const started = performance.now();
        const raw = await invokeModel(c, target, { inputs });
        const latencyMs = performance.now() - started;
        const answer = ModelAnswer.safeParse(raw);
        if (!answer.success) throw modelAnswerInvalid(target, 'unexpected shape');
        if (answer.data.results.length !== inputs.length)
          throw modelAnswerInvalid(target, 'wrong number of results');
        const inputTokens = answer.data.usage.input_tokens;
        const cost = await settle(c, target, reservation, { input_tokens: inputTokens }, latencyMs);
        return c.json(
          {
            id: c.get('requestId'),
            object: 'list' as const,
            model: target.served,
            data: answer.data.results.map((r, index) => ({ object: 'sentiment' as const, index, ...r })),
            usage: { input_tokens: inputTokens, total_tokens: inputTokens, cost_usd: formatUsd(cost) },
          },
          200,
        );
      },
    );
  });
}
