import { z } from '@hono/zod-openapi';
import { batchEndpoints } from '#shared/batch/types';

const ts = () => z.number().int().nullable().openapi({ description: 'Unix seconds.' });

export const BatchObject = z
  .object({
    id: z.string().openapi({ example: 'batch_01M97D1FGJZ4P1NNSPAFZTHVAW' }),
    object: z.literal('batch'),
    endpoint: z.enum(batchEndpoints),
    errors: z
      .object({
        object: z.literal('list'),
        data: z.array(
          z.object({
            code: z.string(),
            message: z.string(),
            param: z.string().nullable(),
            line: z.number().nullable(),
          }),
        ),
      })
      .nullable()
      .openapi({
        description: "Why the remaining lines were not run (a spend cap, the balance, the month's quota).",
      }),
    input_file_id: z.string(),
    completion_window: z.literal('24h'),
    status: z.enum([
      'validating',
      'failed',
      'in_progress',
      'finalizing',
      'completed',
      'expired',
      'cancelling',
      'cancelled',
    ]),
    output_file_id: z.string().nullable(),
    error_file_id: z.string().nullable(),
    created_at: z.number().int(),
    in_progress_at: ts(),
    expires_at: z.number().int(),
    finalizing_at: ts(),
    completed_at: ts(),
    failed_at: ts(),
    expired_at: ts(),
    cancelling_at: ts(),
    cancelled_at: ts(),
    request_counts: z.object({
      total: z.number().int(),
      completed: z.number().int(),
      failed: z.number().int(),
    }),
    metadata: z.record(z.string(), z.string()).nullable(),
  })
  .openapi('Batch');

export const BatchIdParams = z.object({
  batch_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'batch_id', in: 'path' }, example: 'batch_01M97D1FGJZ4P1NNSPAFZTHVAW' }),
});

export const batchExample = {
  id: 'batch_01M97D1FGJZ4P1NNSPAFZTHVAW',
  object: 'batch',
  endpoint: '/v1/chat/completions',
  errors: null,
  input_file_id: 'file-01M97D1FGJZ4P1NNSPAFZTHVAW',
  completion_window: '24h',
  status: 'in_progress',
  output_file_id: null,
  error_file_id: null,
  created_at: 1795571831,
  in_progress_at: 1795571831,
  expires_at: 1795658231,
  finalizing_at: null,
  completed_at: null,
  failed_at: null,
  expired_at: null,
  cancelling_at: null,
  cancelled_at: null,
  request_counts: { total: 1000, completed: 412, failed: 3 },
  metadata: { job: 'nightly-reviews' },
} as const satisfies z.infer<typeof BatchObject>;
