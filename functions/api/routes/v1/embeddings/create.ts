import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { invokeModel, modelAnswerInvalid, resolveTarget, type Target } from '#api/gateway/inference';
import { recordAhead, withReservation } from '#api/gateway/limits';
import { logPrompt } from '#api/gateway/prompt-log';
import type { DataEnv } from '#api/http/env';
import { ModelRef } from '#api/http/schemas';
import { errorResponses, errorsOf, idempotencyKeyParameter, v1Ok } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { formatUsd } from '#shared/metering/pricing';
import { countTextTokens } from '#shared/metering/text-tokens';
import { dimensionsFor, shorten, toBase64 } from './vectors';

export const EmbeddingRequest = z
  .object({
    model: ModelRef.openapi({ example: 'embeddings' }),
    input: z
      .union([z.string(), z.array(z.string())], {
        error:
          'must be a string or an array of strings (arrays of token ids are not accepted: send the text)',
      })
      .openapi({
        description:
          "A text, or an array of texts (at most the version's `max_inputs`, each at most its `max_input_tokens`). Arrays of token ids are refused.",
        example: ['The cat sat on the mat.', 'A kitten slept on the rug.'],
      }),
    encoding_format: z
      .enum(['float', 'base64'], { error: "must be 'float' or 'base64'" })
      .optional()
      .openapi({
        description: '`base64`: each vector as little-endian float32 bytes, base64. Default `float`.',
      }),
    dimensions: z.number().int('must be an integer').min(1, 'must be at least 1').optional().openapi({
      description:
        'A shorter vector (its first components, scaled back to unit length), where the version allows it (`dimensions`, `min_dimensions` in /v1/models).',
    }),
    user: z.string().max(256).optional().openapi({ description: 'Accepted and ignored.' }),
  })
  .openapi('EmbeddingRequest');

const EmbeddingResponse = z
  .object({
    object: z.literal('list'),
    data: z.array(
      z.object({
        object: z.literal('embedding'),
        index: z.number().int(),
        embedding: z.union([z.array(z.number()), z.string()]).openapi({
          description:
            'Unit length. A base64 string of little-endian float32 with `encoding_format: "base64"`.',
        }),
      }),
    ),
    model: z
      .string()
      .openapi({ example: 'embeddings@wink-100d', description: 'The version that served it.' }),
    usage: z.object({
      prompt_tokens: z.number().int(),
      total_tokens: z.number().int(),
      cost_usd: z.string().openapi({ example: '0.000000240', description: 'Exact cost in USD.' }),
    }),
  })
  .openapi('EmbeddingResponse');

/** What the runtime's embedding models answer (their contract, checked: garbage is a 502). */
const ModelAnswer = z.object({
  data: z.array(z.array(z.number().finite())),
  dimensions: z.number().int().positive(),
  usage: z.object({ input_tokens: z.number().int().nonnegative() }),
});

/** A real answer of embeddings@wink-100d, shortened to 4 dimensions (and rounded here) so the example stays readable. */
const example = {
  request: {
    model: 'embeddings',
    input: ['The cat sat on the mat.', 'A kitten slept on the rug.'],
    dimensions: 4,
  },
  response: {
    object: 'list',
    data: [
      { object: 'embedding', index: 0, embedding: [-0.3436, 0.4883, 0.3995, -0.6956] },
      { object: 'embedding', index: 1, embedding: [0.2212, 0.5062, 0.5452, -0.6305] },
    ],
    model: 'embeddings@wink-100d',
    usage: { prompt_tokens: 14, total_tokens: 14, cost_usd: '0.000000280' },
  },
} as const satisfies {
  request: z.input<typeof EmbeddingRequest>;
  response: z.infer<typeof EmbeddingResponse>;
};

const route = createRoute({
  method: 'post',
  path: '/v1/embeddings',
  tags: ['Text'],
  summary: 'Embed texts (OpenAI-compatible)',
  description:
    "OpenAI's embeddings API: the official SDKs' `embeddings.create` works unchanged. Billed per input token, counted by the platform's text token rule (each run of letters, marks and digits is one token, and so is each other character that is not whitespace), so the usage record is written while the model runs.",
  security: [{ apiKey: ['models:invoke'] }],
  parameters: [idempotencyKeyParameter],
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: EmbeddingRequest, example: example.request } },
    },
  },
  responses: {
    200: v1Ok(
      {
        description: 'One vector per input, in order',
        content: { 'application/json': { schema: EmbeddingResponse, example: example.response } },
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

/**
 * Each input's billed tokens, refusing what the version does not take, before anything is
 * reserved: no text, too many texts, a text over the version's tokens per input. Each refusal
 * names `input` or `input[i]`.
 */
function tokensOf(inputs: string[], single: boolean, target: Target): number[] {
  const { maxInputs, maxInputTokens } = target.version.limits;
  if (inputs.length === 0)
    throw new ApiError('invalid_request', "'input' must not be empty.", { param: 'input' });
  if (maxInputs !== undefined && inputs.length > maxInputs)
    throw new ApiError(
      'invalid_request',
      `'input' has ${inputs.length} texts; ${target.served} takes at most ${maxInputs} per request.`,
      { param: 'input' },
    );
  return inputs.map((text, i) => {
    const param = single ? 'input' : `input[${i}]`;
    const n = countTextTokens(text);
    if (n === 0)
      throw new ApiError('invalid_request', `'${param}' must contain text, not only whitespace.`, { param });
    if (maxInputTokens !== undefined && n > maxInputTokens)
      throw new ApiError(
        'invalid_request',
        `'${param}' has ${n} tokens; ${target.served} takes at most ${maxInputTokens} per input.`,
        { param },
      );
    return n;
  });
}

export function registerEmbeddings(app: OpenAPIHono<DataEnv>): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const single = typeof body.input === 'string';
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    const target = await resolveTarget(c, body.model, 'embeddings');
    const dimensions = dimensionsFor(body.dimensions, target.version.limits, target.served);
    const tokens = tokensOf(inputs, single, target);
    const inputTokens = tokens.reduce((sum, n) => sum + n, 0);
    logPrompt(c, inputs);
    // The tokens are exact before the model runs: reserved as they are, recorded while it runs.
    return withReservation(
      c,
      target,
      { tokens: inputTokens, units: { input_tokens: inputTokens } },
      async (admission) => {
        const served = await recordAhead(c, target, admission, { input_tokens: inputTokens }, async () => {
          const raw = await invokeModel(c, target, { inputs }, { rejectedParam: 'input' });
          const answer = ModelAnswer.safeParse(raw);
          if (!answer.success) throw modelAnswerInvalid(target, 'unexpected shape');
          const { data, usage } = answer.data;
          if (data.length !== inputs.length) throw modelAnswerInvalid(target, 'wrong number of vectors');
          if (data.some((v) => v.length !== answer.data.dimensions))
            throw modelAnswerInvalid(target, 'vectors of different lengths');
          if (dimensions !== undefined && answer.data.dimensions < dimensions)
            throw modelAnswerInvalid(target, `vectors of ${answer.data.dimensions}, not ${dimensions}`);
          // The model counts by the billing rule too: a different count is a model that is not
          // what the gateway bills for.
          if (usage.input_tokens !== inputTokens)
            throw modelAnswerInvalid(
              target,
              `it counted ${usage.input_tokens} input tokens, the billing rule ${inputTokens}`,
            );
          return data;
        });
        const base64 = body.encoding_format === 'base64';
        return c.json(
          {
            object: 'list' as const,
            data: served.value.map((vector, index) => {
              const shaped = dimensions === undefined ? vector : shorten(vector, dimensions);
              return { object: 'embedding' as const, index, embedding: base64 ? toBase64(shaped) : shaped };
            }),
            model: target.served,
            usage: {
              prompt_tokens: inputTokens,
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
