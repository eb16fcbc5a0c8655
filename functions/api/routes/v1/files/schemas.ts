import { z } from '@hono/zod-openapi';

export const FileObject = z
  .object({
    id: z.string().openapi({ example: 'file-01M97D1FGJZ4P1NNSPAFZTHVAW' }),
    object: z.literal('file'),
    bytes: z.number().int(),
    created_at: z.number().int().openapi({ description: 'Unix seconds.' }),
    filename: z.string(),
    purpose: z.enum(['batch', 'batch_output']),
    status: z.literal('processed'),
    expires_at: z.null(),
    status_details: z.null(),
  })
  .openapi('FileObject');

export const FileIdParams = z.object({
  file_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'file_id', in: 'path' }, example: 'file-01M97D1FGJZ4P1NNSPAFZTHVAW' }),
});

export const fileExample = {
  id: 'file-01M97D1FGJZ4P1NNSPAFZTHVAW',
  object: 'file',
  bytes: 1184,
  created_at: 1795571831,
  filename: 'reviews.jsonl',
  purpose: 'batch',
  status: 'processed',
  expires_at: null,
  status_details: null,
} as const satisfies z.infer<typeof FileObject>;
