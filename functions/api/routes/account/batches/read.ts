import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { batchOf, cancelBatch, fileOf } from '#api/batches/service';
import { sessionSecurity } from '#api/console/account-schemas';
import type { BatchEnv } from '#api/http/env';
import { CursorPage, cursorPage } from '#api/http/schemas';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { finalStatuses } from '#shared/batch/types';
import { ApiError } from '#shared/errors';
import { BatchIdParams } from '../../v1/batches/schemas';
import { AccountBatch, presentAccountBatch } from './schemas';

const ListQuery = z.object({
  limit: z.coerce.number().int('must be a whole number').min(1).max(100).default(20),
  after: z.string().max(64).optional().openapi({ description: 'A batch id: the page after it.' }),
});

const AccountBatchList = CursorPage(AccountBatch, 'AccountBatchList');

const READ = 'Every member who may see keys (owner, developer, viewer) may read batches.';

const list = createRoute({
  method: 'get',
  path: '/account/batches',
  tags: ['Batch'],
  summary: "Your tenant's batches, newest first, with live request counts",
  description: `${READ} \`after\` (a batch id, the last of the previous page) and \`limit\` page through them.`,
  security: sessionSecurity,
  middleware: [requirePermission('batches:read')] as const,
  request: { query: ListQuery },
  responses: {
    200: {
      description: 'A page of batches',
      content: { 'application/json': { schema: AccountBatchList } },
    },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request']),
  },
});

const get = createRoute({
  method: 'get',
  path: '/account/batches/{batch_id}',
  tags: ['Batch'],
  summary: 'One of your batches',
  description: `${READ} \`request_counts\` are live while it runs. Another tenant's batch is a 404.`,
  security: sessionSecurity,
  middleware: [requirePermission('batches:read')] as const,
  request: { params: BatchIdParams },
  responses: {
    200: { description: 'The batch', content: { 'application/json': { schema: AccountBatch } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
  },
});

const cancel = createRoute({
  method: 'post',
  path: '/account/batches/{batch_id}/cancel',
  tags: ['Batch'],
  summary: 'Cancel one of your batches',
  description:
    'Owners and developers (who may make keys and call models) may cancel; viewers and billing may not. `cancelling` at once: no new line starts within about a second; lines already answered are kept and billed, and it ends `cancelled` with their output. A batch already ended is answered as it is.',
  security: sessionSecurity,
  middleware: [requirePermission('batches:manage')] as const,
  request: { params: BatchIdParams },
  responses: {
    200: { description: 'The batch', content: { 'application/json': { schema: AccountBatch } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
  },
});

const download = (which: 'output' | 'errors') =>
  createRoute({
    method: 'get',
    path: `/account/batches/{batch_id}/${which}`,
    tags: ['Batch'],
    summary:
      which === 'output'
        ? "A batch's output file: one answer per line that succeeded"
        : "A batch's error file: one line per request that failed, expired or was not run",
    description: `${READ} JSONL as \`GET /v1/files/{file_id}/content\` gives it; a 404 while the batch runs, or when it has no such file (no line ${which === 'output' ? 'succeeded' : 'failed'}).`,
    security: sessionSecurity,
    middleware: [requirePermission('batches:read')] as const,
    request: { params: BatchIdParams },
    responses: {
      200: {
        description: 'The JSONL, as an attachment',
        content: { 'application/jsonl': { schema: z.string().openapi({ format: 'binary' }) } },
      },
      ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
    },
  });

export function registerAccountBatchReads(app: OpenAPIHono<BatchEnv>): void {
  app.openapi(list, async (c) => {
    const deps = c.get('deps');
    const { batches, hasMore } = await deps.batch.store.listBatches(
      userSession(c).tenantId,
      c.req.valid('query'),
    );
    const data = await Promise.all(batches.map((b) => presentAccountBatch(deps, b)));
    return c.json(cursorPage(data, hasMore), 200);
  });
  app.openapi(get, async (c) => {
    const deps = c.get('deps');
    const batch = await batchOf(deps, userSession(c).tenantId, c.req.valid('param').batch_id);
    return c.json(await presentAccountBatch(deps, batch), 200);
  });
  app.openapi(cancel, async (c) => {
    const deps = c.get('deps');
    const batch = await cancelBatch(deps, userSession(c).tenantId, c.req.valid('param').batch_id);
    return c.json(await presentAccountBatch(deps, batch), 200);
  });
  for (const which of ['output', 'errors'] as const) {
    app.openapi(download(which), async (c) => {
      const deps = c.get('deps');
      const tenantId = userSession(c).tenantId;
      const batch = await batchOf(deps, tenantId, c.req.valid('param').batch_id);
      const fileId = which === 'output' ? batch.outputFileId : batch.errorFileId;
      const none = () =>
        new ApiError(
          'not_found',
          finalStatuses.includes(batch.status)
            ? `The batch '${batch.id}' has no ${which === 'output' ? 'output' : 'error'} file.`
            : `The batch '${batch.id}' is ${batch.status}; its files are written when it ends.`,
          { param: 'batch_id' },
        );
      if (!fileId) throw none();
      const file = await fileOf(deps, tenantId, fileId);
      const bytes = await deps.batch.storage.get(file.storageKey);
      if (!bytes) throw none();
      return c.body(new Uint8Array(bytes), 200, {
        'content-type': 'application/jsonl',
        'content-disposition': `attachment; filename="${batch.id}_${which}.jsonl"`,
      });
    });
  }
}
