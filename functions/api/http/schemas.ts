import { z } from '@hono/zod-openapi';
import { type ErrorCode, errorCodes } from '#shared/errors';

const codes = Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]];
const types = [...new Set(Object.values(errorCodes).map((c) => c.type))] as [string, ...string[]];

/** The error envelope, for the OpenAPI document. */
export const ErrorSchema = z
  .object({
    error: z.object({
      message: z.string().openapi({ description: 'What went wrong and what to do, for people.' }),
      type: z.enum(types).openapi({ description: 'The OpenAI error type the code belongs to.' }),
      code: z.enum(codes).openapi({
        description: 'What went wrong, for programs: each response lists the codes it can carry.',
      }),
      param: z
        .string()
        .nullable()
        .openapi({ description: 'The request field (or header) at fault, e.g. `messages[0].content`.' }),
      request_id: z.string().optional().openapi({ description: 'The `x-request-id` of the answer.' }),
    }),
  })
  .openapi('Error');

/** The `model` field every inference body has: `name`, `name@version` or `name@alias`. */
export const ModelRef = z
  .string()
  .min(1)
  .max(130)
  .openapi({ example: 'sentiment', description: 'A model name, `name@version` or `name@alias`.' });

/** OpenAI's cursor page (`after` an id, `has_more`), as the Files and Batches lists answer. */
export function CursorPage<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      object: z.literal('list'),
      data: z.array(item),
      first_id: z.string().nullable(),
      last_id: z.string().nullable(),
      has_more: z.boolean(),
    })
    .openapi(name);
}

/** One cursor page of `data` (items with ids, in order). */
export function cursorPage<T extends { id: string }>(data: T[], hasMore: boolean) {
  return {
    object: 'list' as const,
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: hasMore,
  };
}
