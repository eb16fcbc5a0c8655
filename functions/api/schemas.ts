import { z } from '@hono/zod-openapi';

/** The error envelope, for the OpenAPI document. */
export const ErrorSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      code: z.string(),
      param: z.string().nullable(),
      request_id: z.string().optional(),
    }),
  })
  .openapi('Error');

/** Responses every authenticated `/v1` route may give besides its own. */
export const errorResponses = {
  400: { description: 'Invalid request', content: { 'application/json': { schema: ErrorSchema } } },
  401: {
    description: 'Missing or invalid API key',
    content: { 'application/json': { schema: ErrorSchema } },
  },
  403: { description: 'The account may not call', content: { 'application/json': { schema: ErrorSchema } } },
} as const;

export const modelErrorResponses = {
  415: { description: 'Body is not JSON', content: { 'application/json': { schema: ErrorSchema } } },
  502: {
    description: 'The model failed or is unreachable',
    content: { 'application/json': { schema: ErrorSchema } },
  },
  503: {
    description:
      'The model is at capacity (`model_busy`) or loading (`model_loading`), or usage could not be recorded; retry after `Retry-After`',
    content: { 'application/json': { schema: ErrorSchema } },
  },
  504: {
    description: 'The model did not answer in time',
    content: { 'application/json': { schema: ErrorSchema } },
  },
} as const;

/** The `model` field every inference body has: `name`, `name@version` or `name@alias`. */
export const ModelRef = z
  .string()
  .min(1)
  .max(130)
  .openapi({ example: 'sentiment', description: 'A model name, `name@version` or `name@alias`.' });
