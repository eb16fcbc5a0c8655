import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { formatUsd } from '../../../../../shared/metering/pricing';
import type { AppEnv } from '../../../env';
import { ImageField } from '../../../image-input';
import { ErrorSchema, errorResponses, ModelRef, modelErrorResponses } from '../../../schemas';
import { serveImage } from './serve-image';

/** An image is flagged when porn + hentai + sexy together reach this probability. */
export const FLAG_THRESHOLD = 0.5;
/** A category is `true` when its own score reaches this. */
export const CATEGORY_THRESHOLD = 0.5;
const CLASSES = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'] as const;

const Request = z
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

const route = createRoute({
  method: 'post',
  path: '/v1/images/moderations',
  tags: ['Images'],
  summary: 'Classify an image as safe or not',
  description: 'Billed per image. Refused images (bad base64, wrong format, over the limits) are not billed.',
  security: [{ apiKey: [] }],
  request: { body: { required: true, content: { 'application/json': { schema: Request } } } },
  responses: {
    200: { description: 'Class scores and a verdict', content: { 'application/json': { schema: Response } } },
    ...errorResponses,
    ...modelErrorResponses,
    413: { description: 'Image over the limits', content: { 'application/json': { schema: ErrorSchema } } },
  },
});

export function registerImageModerations(app: OpenAPIHono<AppEnv>): void {
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
