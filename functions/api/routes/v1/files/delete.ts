import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { fileOf } from '#api/batches/service';
import type { BatchEnv } from '#api/http/env';
import { errorResponses, errorsOf, v1Ok } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { FileIdParams } from './schemas';

const Deleted = z
  .object({ id: z.string(), object: z.literal('file'), deleted: z.literal(true) })
  .openapi('FileDeleted');

const route = createRoute({
  method: 'delete',
  path: '/v1/files/{file_id}',
  tags: ['Batch'],
  summary: 'Delete a file',
  description: 'Refused (409 `file_in_use`) while a batch that reads it has not ended.',
  security: [{ apiKey: ['models:invoke'] }],
  request: { params: FileIdParams },
  responses: {
    200: v1Ok({ description: 'Deleted', content: { 'application/json': { schema: Deleted } } }),
    ...errorResponses('v1', [
      ...errorsOf.apiKey,
      ...errorsOf.endpointWrite,
      'invalid_request',
      'not_found',
      'file_in_use',
    ]),
  },
});

export function registerFileDelete(app: OpenAPIHono<BatchEnv>): void {
  app.openapi(route, async (c) => {
    const deps = c.get('deps');
    const tenantId = c.get('principal').tenantId;
    const file = await fileOf(deps, tenantId, c.req.valid('param').file_id);
    const result = await deps.batch.store.deleteFile(tenantId, file.id);
    if (result === 'missing')
      throw new ApiError('not_found', `No such file: '${file.id}'.`, { param: 'file_id' });
    if (result === 'in_use')
      throw new ApiError(
        'file_in_use',
        `The file '${file.id}' is the input of a batch that has not ended; delete it once the batch is done.`,
        { param: 'file_id' },
      );
    // The record is gone first: the bytes, unreachable now, follow (S3's lifecycle rule if this fails).
    await deps.batch.storage.delete(file.storageKey).catch((err: unknown) => {
      c.get('log').warn(
        { err, fileId: file.id },
        'file content not deleted; the bucket lifecycle removes it',
      );
    });
    return c.json({ id: file.id, object: 'file' as const, deleted: true as const }, 200);
  });
}
