import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { ImageField, imageExample } from '#api/gateway/image-input';
import type { DataEnv } from '#api/http/env';
import { ModelRef } from '#api/http/schemas';
import { landscapeModeration } from '#api/spec/answer-examples';
import { errorResponses, errorsOf, idempotencyKeyParameter, v1Ok } from '#api/spec/answers';
import { formatUsd } from '#shared/metering/pricing';
import { serveImage } from './serve-image';

/** An image is flagged when porn + hentai + sexy together reach this probability. */
export const FLAG_THRESHOLD = 0.5;
/** A category is `true` when its own score reaches this. */
export const CATEGORY_THRESHOLD = 0.5;
const CLASSES = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'] as const;

export const ModerationRequest = z
  .object({
    model: ModelRef.openapi({ example: 'image-moderation' }),
    image: ImageField,
  })
  .openapi('ImageModerationRequest');

const Scores = z.object(
  Object.fromEntries(CLASSES.map((k) => [k, z.number()])) as Record<(typeof CLASSES)[number], z.ZodNumber>,
);
const Flags = z.object(
  Object.fromEntries(CLASSES.map((k) => [k, z.boolean()])) as Record<(typeof CLASSES)[number], z.ZodBoolean>,
);

const Response = z
  .object({
    id: z.string(),
    object: z.literal('moderation'),
    model: z
      .string()
      .openapi({ example: 'image-moderation@mobilenet-v2', description: 'The version that served it.' }),
    results: z.array(
      z.object({
        flagged: z.boolean().openapi({
          description: `True when porn + hentai + sexy >= ${FLAG_THRESHOLD}.`,
        }),
        categories: Flags.openapi({ description: `Each class whose score is >= ${CATEGORY_THRESHOLD}.` }),
        category_scores: Scores.openapi({ description: 'Class probabilities; they sum to 1.' }),
      }),
    ),
    usage: z.object({ images: z.number().int(), cost_usd: z.string() }),
  })
  .openapi('ImageModerationResponse');

/** What the runtime's moderation models answer. */
const ModelAnswer = z.object({ scores: Scores });

/** A photo of a landscape, as the local mobilenet-v2 model scores it. */
const example = {
  request: { model: 'image-moderation', image: imageExample },
  response: {
    id: 'req_01M97D1FGJZ4P1NNSPAFZTHVAW',
    object: 'moderation',
    model: 'image-moderation@mobilenet-v2',
    results: [landscapeModeration],
    usage: { images: 1, cost_usd: '0.000500000' },
  },
} as const satisfies { request: z.input<typeof ModerationRequest>; response: z.infer<typeof Response> };

const route = createRoute({
  method: 'post',
  path: '/v1/images/moderations',
  tags: ['Images'],
  summary: 'Classify an image as safe or not',
  description:
    'Billed per image. The image is base64, a data URL or an https URL. Refused images (bad base64, a URL that cannot be fetched, wrong format, over the limits) are not billed.',
  security: [{ apiKey: ['models:invoke'] }],
  parameters: [idempotencyKeyParameter],
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: ModerationRequest, example: example.request } },
    },
  },
  responses: {
    200: v1Ok(
      {
        description: 'Class scores and a verdict',
        content: { 'application/json': { schema: Response, example: example.response } },
      },
      { model: true, replayable: true },
    ),
    ...errorResponses(
      'v1',
      [
        ...errorsOf.apiKey,
        ...errorsOf.endpointWrite,
        ...errorsOf.v1Body,
        ...errorsOf.modelCall,
        ...errorsOf.imageInput,
      ],
      { model: true },
    ),
  },
});

export function registerImageModerations(app: OpenAPIHono<DataEnv>): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    return serveImage(c, body, 'image-moderation', ModelAnswer, ({ scores }, target, cost) => {
      const categories = Object.fromEntries(
        CLASSES.map((k) => [k, scores[k] >= CATEGORY_THRESHOLD]),
      ) as Record<(typeof CLASSES)[number], boolean>;
      return c.json(
        {
          id: c.get('requestId'),
          object: 'moderation' as const,
          model: target.served,
          results: [
            {
              flagged: scores.porn + scores.hentai + scores.sexy >= FLAG_THRESHOLD,
              categories,
              category_scores: scores,
            },
          ],
          usage: { images: 1, cost_usd: formatUsd(cost) },
        },
        200,
      );
    });
  });
}
