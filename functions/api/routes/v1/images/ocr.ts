import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { ImageField, imageExample } from '#api/gateway/image-input';
import type { DataEnv } from '#api/http/env';
import { ModelRef } from '#api/http/schemas';
import { receiptOcr } from '#api/spec/answer-examples';
import { errorResponses, errorsOf, idempotencyKeyParameter, v1Ok } from '#api/spec/answers';
import { formatUsd } from '#shared/metering/pricing';
import { serveImage } from './serve-image';

export const OcrRequest = z
  .object({
    model: ModelRef.openapi({ example: 'ocr' }),
    image: ImageField,
  })
  .openapi('OcrRequest');

const Point = z.tuple([z.number(), z.number()]);
const Line = z.object({
  text: z.string(),
  confidence: z.number().openapi({ description: 'From 0 to 1.' }),
  box: z.array(Point).length(4).openapi({
    description: 'Corners in pixels: top-left, top-right, bottom-right, bottom-left.',
  }),
});

const Response = z
  .object({
    id: z.string(),
    object: z.literal('ocr'),
    model: z.string().openapi({ example: 'ocr@ppocr-v4', description: 'The version that served it.' }),
    text: z.string().openapi({ description: 'Every line, top to bottom, joined by newlines.' }),
    lines: z.array(Line),
    usage: z.object({ images: z.number().int(), cost_usd: z.string() }),
  })
  .openapi('OcrResponse');

/** What the runtime's OCR models answer. */
const ModelAnswer = z.object({
  lines: z.array(
    z.object({
      text: z.string(),
      confidence: z.number().min(0).max(1),
      box: z.array(Point).length(4),
    }),
  ),
});

/** A scanned receipt, as the local PP-OCRv4 model reads it. */
const example = {
  request: { model: 'ocr', image: imageExample },
  response: {
    id: 'req_01M97D1FGJZ4P1NNSPAFZTHVAW',
    object: 'ocr',
    model: 'ocr@ppocr-v4',
    ...receiptOcr,
    usage: { images: 1, cost_usd: '0.001500000' },
  },
} as const satisfies { request: z.input<typeof OcrRequest>; response: z.infer<typeof Response> };

const route = createRoute({
  method: 'post',
  path: '/v1/images/ocr',
  tags: ['Images'],
  summary: 'Read the text in an image',
  description:
    'Billed per image. The image is base64, a data URL or an https URL. Refused images (bad base64, a URL that cannot be fetched, wrong format, over the limits) are not billed.',
  security: [{ apiKey: ['models:invoke'] }],
  parameters: [idempotencyKeyParameter],
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: OcrRequest, example: example.request } },
    },
  },
  responses: {
    200: v1Ok(
      {
        description: 'The text, and each line',
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

export function registerImageOcr(app: OpenAPIHono<DataEnv>): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    return serveImage(c, body, 'ocr', ModelAnswer, (answer, target, cost) => {
      const lines = answer.lines as { text: string; confidence: number; box: [number, number][] }[];
      return c.json(
        {
          id: c.get('requestId'),
          object: 'ocr' as const,
          model: target.served,
          text: lines.map((l) => l.text).join('\n'),
          lines,
          usage: { images: 1, cost_usd: formatUsd(cost) },
        },
        200,
      );
    });
  });
}
