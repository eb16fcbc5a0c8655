import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { countsOf, createBatch, presentBatch } from '#api/batches/service';
import type { BatchEnv } from '#api/http/env';
import { errorResponses, errorsOf, idempotencyKeyParameter, v1Ok } from '#api/spec/answers';
import { batchEndpoints } from '#shared/batch/types';
import { BatchObject, batchExample } from './schemas';

export const Metadata = z
  .record(
    z.string().max(64, 'keys must be at most 64 characters'),
    z.string().max(512, 'values must be at most 512 characters'),
  )
  .refine((m) => Object.keys(m).length <= 16, 'must have at most 16 pairs')
  .nullish();

const CreateBatch = z
  .object({
    input_file_id: z.string().min(1).max(64).openapi({ example: 'file-01M97D1FGJZ4P1NNSPAFZTHVAW' }),
    endpoint: z.enum(batchEndpoints, { error: `must be one of ${batchEndpoints.join(', ')}` }),
    completion_window: z.literal('24h', { error: "must be '24h'" }),
    metadata: Metadata,
    output_expires_after: z.unknown().optional().openapi({ description: 'Accepted and not applied.' }),
  })
  .openapi('CreateBatchRequest');

const route = createRoute({
  method: 'post',
  path: '/v1/batches',
  tags: ['Batch'],
  summary: 'Create a batch',
  description:
    "Runs every line of an uploaded file against `endpoint` within 24 hours, billed at the version's batch price (half the online price unless an operator set it). Every line is validated here, body and model, and a bad line is refused naming it, creating nothing. A key with a scope needs the `batch` endpoint and the batch's own (`endpoint_not_in_key_scope`), and every line's model in its scope (`model_not_in_key_scope`, naming the line); the lines run as the key, with its scope as it is when each runs. Batch lines count against `BATCH_LINES_PER_DAY`, never against the online per-minute limits; the month's limits, spend caps and balance still hold (a line they refuse stops the batch, and the lines left are failed with that code, not billed).",
  security: [{ apiKey: ['models:invoke'] }],
  parameters: [idempotencyKeyParameter],
  request: { body: { required: true, content: { 'application/json': { schema: CreateBatch } } } },
  responses: {
    200: v1Ok(
      {
        description: 'The batch, in progress',
        content: { 'application/json': { schema: BatchObject, example: batchExample } },
      },
      { replayable: true },
    ),
    ...errorResponses('v1', [
      ...errorsOf.apiKey,
      ...errorsOf.endpointWrite,
      ...errorsOf.v1Body,
      'not_found',
      'batch_limit_reached',
      'model_not_in_key_scope',
    ]),
  },
});

export function registerBatchCreate(app: OpenAPIHono<BatchEnv>): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const { tenantId, keyId, keyScope } = c.get('principal');
    const deps = c.get('deps');
    const batch = await createBatch(
      deps,
      { tenantId, keyId, ...(keyScope ? { scope: keyScope } : {}) },
      {
        inputFileId: body.input_file_id,
        endpoint: body.endpoint,
        metadata: body.metadata ?? null,
      },
    );
    return c.json(presentBatch(batch, await countsOf(deps, batch)), 200);
  });
}
