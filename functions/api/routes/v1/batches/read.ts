import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { batchOf, cancelBatch, countsOf, presentBatch } from '#api/batches/service';
import type { BatchEnv } from '#api/http/env';
import { CursorPage, cursorPage } from '#api/http/schemas';
import { errorResponses, errorsOf, v1Ok } from '#api/spec/answers';
import { BatchIdParams, BatchObject, batchExample } from './schemas';

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().max(64).optional().openapi({ description: 'A batch id: the page after it.' }),
});

const BatchList = CursorPage(BatchObject, 'BatchList');

const list = createRoute({
  method: 'get',
  path: '/v1/batches',
  tags: ['Batch'],
  summary: 'List batches',
  description: 'Newest first; `after` (a batch id) and `limit` page through them.',
  security: [{ apiKey: ['models:invoke'] }],
  request: { query: ListQuery },
  responses: {
    200: v1Ok({ description: 'A page of batches', content: { 'application/json': { schema: BatchList } } }),
    ...errorResponses('v1', [...errorsOf.apiKey, ...errorsOf.endpointRead, 'invalid_request']),
  },
});

const get = createRoute({
  method: 'get',
  path: '/v1/batches/{batch_id}',
  tags: ['Batch'],
  summary: 'One batch',
  description: '`request_counts` are live while it runs.',
  security: [{ apiKey: ['models:invoke'] }],
  request: { params: BatchIdParams },
  responses: {
    200: v1Ok({
      description: 'The batch',
      content: { 'application/json': { schema: BatchObject, example: batchExample } },
    }),
    ...errorResponses('v1', [...errorsOf.apiKey, ...errorsOf.endpointRead, 'invalid_request', 'not_found']),
  },
});

const cancel = createRoute({
  method: 'post',
  path: '/v1/batches/{batch_id}/cancel',
  tags: ['Batch'],
  summary: 'Cancel a batch',
  description:
    '`cancelling` at once: no new line starts within about a second; lines already answered are kept and billed, and it ends `cancelled` with their output. A batch already ended is answered as it is.',
  security: [{ apiKey: ['models:invoke'] }],
  request: { params: BatchIdParams },
  responses: {
    200: v1Ok({ description: 'The batch', content: { 'application/json': { schema: BatchObject } } }),
    ...errorResponses('v1', [
      ...errorsOf.apiKey,
      ...errorsOf.endpointWrite,
      'invalid_request',
      'not_found',
      'unsupported_media_type',
    ]),
  },
});

export function registerBatchReads(app: OpenAPIHono<BatchEnv>): void {
  app.openapi(list, async (c) => {
    const deps = c.get('deps');
    const { batches, hasMore } = await deps.batch.store.listBatches(
      c.get('principal').tenantId,
      c.req.valid('query'),
    );
    const data = await Promise.all(batches.map(async (b) => presentBatch(b, await countsOf(deps, b))));
    return c.json(cursorPage(data, hasMore), 200);
  });
  app.openapi(get, async (c) => {
    const deps = c.get('deps');
    const batch = await batchOf(deps, c.get('principal').tenantId, c.req.valid('param').batch_id);
    return c.json(presentBatch(batch, await countsOf(deps, batch)), 200);
  });
  app.openapi(cancel, async (c) => {
    const deps = c.get('deps');
    const batch = await cancelBatch(deps, c.get('principal').tenantId, c.req.valid('param').batch_id);
    return c.json(presentBatch(batch, await countsOf(deps, batch)), 200);
  });
}
